/*
 * resp.h - the HTTP/1.1 response writer, straight into a connection's tx room.
 *
 * Zero-copy: the head is written first, the body at a fixed slack after it;
 * resp_end writes Content-Length into the slack and moves the body down by
 * the unused part (a short memmove of bytes already in cache), so handlers
 * never build a body elsewhere and copy it.
 *
 * Overflow is sticky: once something does not fit, every later call is a
 * no-op and resp_end returns ST_FULL; the caller answers 500 instead.
 * A response fits when cap >= head + RESP_CL_SLACK + body bytes written,
 * where head is everything written before the body (status line, Date,
 * Connection, headers). The slack is needed even when no body is written and
 * when the body is dropped (HEAD, 1xx/204/304): resp_end checks for it.
 * A header written after resp_body, or a header value holding CR, LF or NUL,
 * is treated the same way (sticky, ST_FULL).
 *
 * No printf family: a known status's line is one constant copied whole
 * ("HTTP/1.1 200 OK\r\n", made at compile time; any other status is
 * "<code> Unknown"), numbers go through core/fmt.h, and the Date line is
 * formatted once per wall-clock second and copied from its cache.
 */
#ifndef ROOST_RESP_H
#define ROOST_RESP_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"
#include "core/strv.h"

/* Room kept between head and body for "Content-Length: N\r\n\r\n". */
#define RESP_CL_SLACK 40u

typedef struct {
    char *buf;
    size_t cap;
    size_t len;          /* head bytes written so far */
    size_t body_len;
    bool in_body;
    bool overflow;
    bool head_only;      /* HEAD request, or a status that has no body */
    bool no_length;      /* 1xx / 204 / 304: no Content-Length */
    int status;
} resp_t;

/* The reason phrase of a status; "Unknown" for one without a line. */
const char *resp_reason(int status);
/* The whole "Date: <IMF-fixdate>\r\n" line of the wall-clock time wall_us
 * (microseconds since the epoch). Formatted only when its second differs from
 * the last call's, whichever way the clock moved (a jump back included); the
 * view stays valid until the next call. resp_begin writes the line of
 * clock_wall_us(). */
strv resp_date_line(uint64_t wall_us);
/* Start a response: status line, Date, Connection. */
void resp_begin(resp_t *r, char *buf, size_t cap, int status, bool keep_alive, bool head_only);
void resp_header(resp_t *r, const char *name, strv value);
void resp_header_cstr(resp_t *r, const char *name, const char *value);
void resp_header_u64(resp_t *r, const char *name, unsigned long long value);
/* Enter the body: returns where the body goes and how much room it has. */
char *resp_body(resp_t *r, size_t *room);
/* Commit n bytes written at the pointer resp_body returned (or after the
 * bytes already committed: call resp_body again for the new position). */
void resp_body_commit(resp_t *r, size_t n);
void resp_body_append(resp_t *r, const char *s, size_t n);
/* Finish: *total is the byte count of the whole response at buf. */
st_t resp_end(resp_t *r, size_t *total);

#endif
