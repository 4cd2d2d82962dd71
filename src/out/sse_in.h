/*
 * sse_in.h - the client side of Server-Sent Events: an incremental parser
 * for an event stream that arrives in pieces cut anywhere (as the HTTP
 * client hands over response body bytes), after the WHATWG HTML "event
 * stream interpretation". No I/O and no heap: the caller gives the parser
 * a buffer for the pending event's data and a callback for each event.
 *
 *   static char buf[CFG_LLM_SSE_BYTES];
 *   sse_in p;
 *   sse_in_init(&p, buf, sizeof buf, on_event, ctx);
 *   st = sse_in_feed(&p, bytes, n);      (once per piece)
 *
 * What is parsed:
 *   - lines end in "\n", "\r\n" or "\r"; a "\r" that ends one piece and a
 *     "\n" that starts the next are one line end;
 *   - a UTF-8 byte order mark at the very start of the stream is skipped;
 *   - "field: value" with at most one space after the colon removed; a line
 *     without a colon is a field with an empty value; a line starting with
 *     ':' is a comment;
 *   - `event` sets the pending event's name (last one wins); `data` appends
 *     its value to the pending data, several data lines joined with "\n";
 *     `id`, `retry` and unknown fields are ignored;
 *   - a blank line dispatches the pending event when at least one `data`
 *     line was seen (so "data:" alone dispatches empty data), then clears
 *     name and data; with no data line it only clears the name. An event
 *     without an `event` line (or with an empty one) is named "message".
 * Values are bytes as received: no UTF-8 decoding (the JSON reader that
 * decodes the data checks it).
 *
 * Limits (never a silent truncation):
 *   - the pending event's data (values of its data lines plus the "\n"
 *     between them) must fit the caller's buffer, else ST_TOOBIG;
 *   - an event name longer than CFG_LLM_SSE_NAME_BYTES - 1: ST_TOOBIG;
 *   - comment lines and ignored fields are skipped as they stream by, at
 *     any length, without using the buffer.
 * A stream that ends inside a line or with undispatched data holds an
 * incomplete event, which the standard drops; sse_in_idle() tells the
 * caller whether that happened (a provider stream cut short).
 *
 * Errors stick: after the first non-OK status (ST_TOOBIG, or whatever the
 * callback returned) every sse_in_feed returns that status and does
 * nothing.
 */
#ifndef ROOST_OUT_SSE_IN_H
#define ROOST_OUT_SSE_IN_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "core/status.h"
#include "core/strv.h"

/* One dispatched event. `event` is never empty ("message" by default);
 * both views are valid only during the call (data lies in the parser's
 * buffer, `event` in the parser). Return ST_OK to go on; any other status
 * stops the parser at this event: sse_in_feed returns it at once (the rest
 * of the piece is not parsed) and the status sticks. The callback must not
 * call sse_in_feed on the same parser. */
typedef st_t (*sse_in_fn)(void *ctx, strv event, strv data);

typedef struct {
    char *buf;               /* the caller's data buffer (not owned) */
    size_t cap;
    size_t data_len;         /* bytes of pending data in buf */
    size_t ndata;            /* data lines of the pending event */
    sse_in_fn fn;
    void *ctx;
    st_t st;                 /* first error, sticky */
    unsigned char state;     /* where in a line the parser is (sse_in.c) */
    unsigned char field;     /* which field the current line holds */
    unsigned char bom;       /* bytes of a leading BOM matched so far */
    bool after_cr;           /* the last byte was "\r": a "\n" next is skipped */
    size_t name_len;         /* bytes of the field name or event name */
    char fname[8];           /* the current line's field name, while short */
    char event[CFG_LLM_SSE_NAME_BYTES]; /* the pending event's name */
    size_t event_len;
} sse_in;

/* Start a stream. buf[0..cap) holds the pending event's data; buf may be
 * NULL only with cap 0 (then any data is ST_TOOBIG). fn must not be NULL;
 * ctx is passed to it as it is. */
void sse_in_init(sse_in *p, char *buf, size_t cap, sse_in_fn fn, void *ctx);

/* Parse the next n bytes of the stream (bytes may be NULL only when n is 0).
 * Events complete in these bytes are dispatched in order before it returns.
 * Returns ST_OK, ST_TOOBIG (an event or event name does not fit), or the
 * callback's non-OK status; errors stick. */
st_t sse_in_feed(sse_in *p, const char *bytes, size_t n);

/* True when the stream so far ends at an event boundary: no partial line
 * (a comment or ignored field in progress counts as one), and no data or
 * event name waiting for its blank line. */
bool sse_in_idle(const sse_in *p);

/* The sticky status (ST_OK while all is well). */
st_t sse_in_status(const sse_in *p);

#endif
