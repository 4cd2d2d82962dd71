/*
 * stream.h - connections that stay open to carry events: WebSocket
 * (RFC 6455) and SSE, fed from the event ring (bus/ring.h).
 *
 * A family's handler turns its request into a stream with hctx_ws_accept or
 * hctx_sse_begin; from then on the connection belongs to a subscriber (one
 * of CFG_STREAM_SUBS) until it closes. Every subscriber reads the ring
 * through its own cursor, the events of its policy's topics only, and
 * copies them into its connection's tx buffer as room allows, once per loop
 * turn (stream_turn) and whenever its tx drains. Nothing is copied per
 * subscriber ahead of time: an event waiting for a slow client waits in the
 * ring, published once for everyone. A subscriber's tx buffer is lent from
 * net/'s pool only while bytes are pending for it, its rx only while a
 * partial client frame is in it (conn.h); with the pool empty its events
 * wait in the ring until a buffer is lent to it.
 *
 * Queue and backpressure. A subscriber's queue is what it has not written
 * to its socket yet: the bytes pending in tx plus the ring's bytes from its
 * next event to the newest (events of other topics in that span count too,
 * so a busy neighbour family makes a slow client look slower, never
 * faster). The policy decides what a long queue means:
 *   - priorities (a watermark policy): above pause_bytes the client is paused and
 *     normal/low events are skipped for it (counted); below resume_bytes (or
 *     when everything is written) it resumes. The marks look at what is
 *     queued before an event (tx pending and the events behind it), not at
 *     the event itself, so one message larger than pause_bytes still reaches
 *     a client that keeps up. High events are always kept;
 *   - max_queue_bytes: an event that would leave more queued than this
 *     closes the client with close_code (1013) and a log line (for
 *     priorities only a high event does; a normal/low one is dropped);
 *   - overtaken by the ring (its next event was overwritten): lag_skips
 *     skips to the oldest retained event, logs and counts the loss;
 *     otherwise the client is closed with close_code. This is checked
 *     every turn even while the subscriber cannot take events (a message
 *     of the owner's in flight, events held), so a client that stops
 *     reading in the middle of such a message is closed all the same: its
 *     close frame follows the message's last byte. A client stuck in the
 *     middle of a ring event larger than tx is held to max_queue_bytes
 *     (that event and all after it) the same way, so it is closed while
 *     the event is still in the ring; one the ring overwrites first (a cap
 *     above the ring's size) can only be cut (logged, counted as lagged).
 * Per turn a subscriber writes at most its tx room (CFG_BUF_BYTES), and the
 * loop's write budget caps each socket write, so a fast client cannot
 * starve the others. Room for control frames (CFG_STREAM_CONTROL_RESERVE)
 * is kept free in tx, so a pong, a ping and the close frame always fit.
 *
 * WebSocket specifics: client frames are decoded by http/ws (mask, RSV,
 * fragmentation, UTF-8 across fragments checked as bytes arrive, the
 * endpoint's own size limit: pol->max_message), pings answered with
 * pongs, a client close answered and the connection closed; protocol
 * errors close with 1002/1007/1009. The server pings every heartbeat_ms; a
 * client that sent nothing for pong_timeout_ms after a ping is closed with
 * 1001. On shutdown every stream is closed with 1001. An event larger than
 * tx goes out as one frame written across several drains.
 *
 * SSE specifics: `data: <json>\n\n` per event (event: lines come from the
 * caller of stream_sse_send), a `:\n\n` comment when nothing was sent for
 * heartbeat_ms, body delimited by the connection's close; client EOF ends
 * the stream at once.
 *
 * One thread: everything here runs in the poll loop.
 */
#ifndef ROOST_HTTP_STREAM_H
#define ROOST_HTTP_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "http/server.h"
#include "http/ws.h"

#define WS_CLOSE_GOING_AWAY 1001u
#define WS_CLOSE_TRY_LATER 1013u

typedef struct stream_sub stream_sub;

/* Counters of one policy (one endpoint), for /metrics. */
typedef struct {
    uint64_t opened;         /* streams accepted */
    uint64_t refused;        /* 1013 at once: no subscriber slot free */
    uint32_t active;         /* streams open now */
    uint64_t sent;           /* events written into tx */
    uint64_t skipped;        /* normal/low events skipped while paused or too large */
    uint64_t lagged;         /* events lost because the ring overtook a client */
    uint64_t lag_episodes;   /* times a client was overtaken */
    uint64_t closed_backpressure;  /* closed with close_code: queue full or overtaken */
    uint64_t closed_heartbeat;     /* closed with 1001: no answer to pings */
    uint64_t closed_protocol;      /* closed with 1002/1007/1009 */
    uint64_t pings;          /* protocol pings sent */
    uint64_t messages_in;    /* client text messages received */
} stream_stats_t;

typedef struct stream_policy {
    const char *name;                /* for logs: "observability /ws" */
    uint32_t topics;                 /* ring topics delivered (0: none); a
                                      * family's bit is its descriptor's topic */
    bool priorities;                 /* watermarks with priority skipping */
    bool lag_skips;                  /* overtaken: skip and log; else close */
    size_t pause_bytes;              /* with priorities */
    size_t resume_bytes;             /* with priorities, < pause_bytes */
    size_t max_queue_bytes;          /* 0: no cap */
    uint16_t close_code;             /* backpressure close, 1013 */
    uint32_t heartbeat_ms;           /* ping (SSE: comment) period; 0: none */
    uint32_t pong_timeout_ms;        /* WebSocket: silence after a ping that closes */
    /* The endpoint's client message limit (1009 above it): 0 means
     * CFG_WS_MAX_MESSAGE; with on_text at most CFG_STREAM_MSG_BYTES (the
     * reassembly buffer; larger is clamped). Each frame must also fit in
     * rx (CFG_BUF_BYTES less its header), else 1009 as well. */
    uint32_t max_message;
    /* A whole client text message (valid UTF-8). NULL: text is ignored. */
    void (*on_text)(stream_sub *s, const char *text, size_t n);
    /* Every client data frame (text or binary, each fragment as it comes,
     * checked by the decoder; f->msg_opcode says which), instead of on_text.
     * With on_data a frame is decoded only when tx is lent and empty, so
     * the owner can always answer a frame of up to
     * event room (CFG_BUF_BYTES - CFG_STREAM_CONTROL_RESERVE) with
     * stream_send_frame; the client waits in its socket meanwhile. */
    void (*on_data)(stream_sub *s, const ws_frame *f);
    /* The stream is closing (any reason); the subscriber is still valid. */
    void (*on_close)(stream_sub *s);
    /* tx has room again (after ring events were pumped, each turn and when
     * tx drains): the owner may write what it holds back. NULL: none. */
    void (*on_writable)(stream_sub *s);
    /* A normal/low event (its bytes, valid for the call only) was skipped
     * for this subscriber: paused, or too large for max_queue_bytes.
     * NULL: none. */
    void (*on_skip)(stream_sub *s, const char *data, size_t n);
    /* A paused subscriber was resumed (its queue fell below resume_bytes
     * or drained), after the pump that resumed it: the owner may send what
     * it skipped meanwhile (rpg re-sends its snapshots). NULL: none. */
    void (*on_resume)(stream_sub *s);
    stream_stats_t stats;
} stream_policy;

/* Empty the subscriber slots (static storage, CFG_STREAM_SUBS). */
void stream_init(void);
/* Bytes of that storage, for `roostd --budget`. */
size_t stream_static_bytes(void);

/*
 * Handle a WebSocket upgrade on the route of h: check it (ws_check_upgrade
 * and the listener's allowed origins), then answer 101 and make the
 * connection a subscriber of pol starting at the ring's head. Returns the
 * subscriber, or NULL when the request was answered otherwise: 400 (not a
 * valid upgrade), 426 with Sec-WebSocket-Version: 13, 403 (origin not
 * allowed), all in the family's error shape; or 101 followed at once by a
 * close with 1013 when no subscriber slot is free (counted in
 * pol->stats.refused, logged). pol must outlive the stream.
 */
stream_sub *hctx_ws_accept(hctx *h, stream_policy *pol);

/*
 * After hctx_ws_accept: send a first message (a snapshot such as
 * observability's init) produced part by part straight into tx (fn as for
 * hctx_end_stream), as one text message fragmented at part boundaries.
 * Events wait until it is written. Does nothing when s is NULL.
 */
void hctx_ws_snapshot(hctx *h, const stream_sub *s, hctx_producer fn, const void *state,
                      size_t state_len);

/*
 * Answer 200 text/event-stream (Cache-Control: no-cache, X-Accel-Buffering:
 * no, Connection: close; the body ends when the connection closes) and make
 * the connection an SSE subscriber of pol from the ring's head (pol->topics
 * 0: only what stream_send_text sends). Returns NULL when the request was
 * answered otherwise: the family's 503 when no subscriber slot is free, or
 * the headers alone for HEAD.
 */
stream_sub *hctx_sse_begin(hctx *h, stream_policy *pol);

/* Send one text message (WebSocket) or one raw SSE block (the caller's
 * `event:`/`data:` lines and blank line) to this subscriber only, ahead of
 * queued ring events. ST_FULL when tx lacks room now (nothing written;
 * the caller drops it or retries), ST_CLOSED when the stream is closing. */
st_t stream_send_text(stream_sub *s, const char *text, size_t n);

/* WebSocket only: send one frame (op WS_OP_TEXT, WS_OP_BINARY or
 * WS_OP_CONT; fin as given) of p[0..n) to this subscriber, ahead of queued
 * ring events. ST_FULL when tx lacks room now (nothing written),
 * ST_CLOSED when the stream is closing or is SSE. */
st_t stream_send_frame(stream_sub *s, ws_opcode op, bool fin, const uint8_t *p, size_t n);

/* WebSocket only: send one text message produced part by part (fn, as
 * hctx_end_stream's; state copied, at most HCTX_PRODUCER_STATE_BYTES)
 * straight into tx, ahead of queued ring events, which wait until it is
 * written; for a message larger than tx (a snapshot). ST_FULL when another
 * such message is still being written (nothing started; retry from
 * on_writable), ST_CLOSED when the stream is closing or is SSE. */
st_t stream_send_message(stream_sub *s, hctx_producer fn, const void *state, size_t state_len);
/* While held, ring events wait in the ring for this subscriber (its
 * cursor stays): the owner sends several messages of its own in order
 * (rpg's on-connect snapshots, each produced across drains) before any
 * event; it lets go from on_writable once the last is out. */
void stream_hold_events(stream_sub *s, bool hold);
/* A message started with stream_send_message (or the accept's snapshot)
 * is still being written. */
bool stream_message_busy(const stream_sub *s);

/* SSE only: append up to n bytes of data[0..n) to the body, as much as tx
 * has room for now (the body is a byte stream, so a block may be written
 * across several calls); returns the bytes taken, 0 when tx is full, the
 * stream is closing or s is a WebSocket. */
size_t stream_sse_write(stream_sub *s, const char *data, size_t n);

/* Close the stream: WebSocket close frame with code and reason (then the
 * connection closes once it is written), SSE: end of the body. */
void stream_close(stream_sub *s, uint16_t code, const char *reason);

/* Subscribers' per-connection data for the family (zeroed at accept). */
#define STREAM_USER_BYTES 256u
void *stream_user(stream_sub *s);
uint32_t stream_id(const stream_sub *s);
const stream_policy *stream_policy_of(const stream_sub *s);

/* List a policy for /metrics (each once, at setup; at most
 * STREAM_MAX_POLICIES, later ones are not listed). */
#define STREAM_MAX_POLICIES 8u
void stream_register(stream_policy *pol);
size_t stream_policy_count(void);
const stream_policy *stream_policy_nth(size_t i);

/* Deliver ring events to every subscriber; the loop's turn hook. */
void stream_turn(void);

/* fn runs once, when shutdown reaches the first stream, before any stream
 * is closed (so what it publishes still reaches every subscriber). */
void stream_set_stop_hook(void (*fn)(void));

/* Close every stream with 1001 (shutdown; the loop's stop does the same
 * per connection through stream_on_stop). From then on stream_stopping()
 * is true, so an on_close can tell a shutdown from a client leaving. */
void stream_stop_all(void);
bool stream_stopping(void);

typedef struct {
    uint32_t subs;           /* subscribers now */
    uint32_t subs_high;
    uint64_t paused;         /* subscribers paused now */
} stream_totals_t;
const stream_totals_t *stream_totals(void);

/* ---- for server.c ---- */
struct conn;
void stream_on_readable(stream_sub *s);
void stream_on_drained(stream_sub *s);
void stream_on_deadline(stream_sub *s);
void stream_on_close(stream_sub *s);
void stream_on_stop(stream_sub *s);

#endif
