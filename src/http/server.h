/*
 * server.h - HTTP/1.1 on a listener: the request lifecycle and the service
 * (one per family) that answers it.
 *
 * A family describes itself with an http_service (the app fills it from the
 * family's descriptor, fam/desc.h): its route table, how its error bodies
 * look (an envelope of its own, FastAPI's detail), its CORS style and its
 * runtime limits. The server does everything else: parsing,
 * limits (400/408/413/414/431/501/505), bodies (Content-Length, chunked,
 * 100-continue, spilling to a body slot, or streamed piece by piece to the
 * handler on a ROUTE_STREAM_BODY route: hctx_take_body), keep-alive and
 * pipelining (one
 * response in flight per connection, the next request waits in rx), HEAD,
 * CORS preflight, 404/405 and the 503 refusal when a pool is full, and
 * the diagnostics' /_echo when the service's diag_echo is set (http/diag.h).
 *
 * Handlers run synchronously and write their whole response into the
 * connection's tx buffer through hctx_* below, or turn the connection into a
 * WebSocket or SSE stream (http/stream.h), which then owns it until it
 * closes: on_readable, on_drained, deadlines, the close and the server's
 * stop all go to the stream. A handler runs only once its connection holds
 * a tx buffer (lent from the buffer pool, net/conn.h): a request read while
 * every buffer is lent waits, parsed, in rx until one is free.
 *
 * Responses larger than tx are produced into tx piece by piece, never
 * held whole across turns:
 *   - lists and other bodies of any length: a producer (hctx_end_stream)
 *     writes the next piece into tx whenever it has room, chunked;
 *   - a file: hctx_end_file hands it to net as a file segment behind the
 *     head (sendfile, no copy), or reads the next piece into tx at each
 *     drain on a port without sendfile;
 *   - a rendered response on a ROUTE_BIG_OUT route: the handler writes it
 *     as usual, into the one render scratch (CFG_RENDER_BYTES, shared,
 *     used only synchronously); what fits goes into tx. When it does not
 *     fit, the response is rendered again for each next window as tx
 *     drains: by the route's handler itself for GET and HEAD (safe methods,
 *     RFC 9110 9.2.1), by the render function the handler gave to
 *     hctx_render otherwise. The request stays in rx meanwhile. A render
 *     must be deterministic given the request and the store: timestamps and
 *     ids come from hctx_stamp (fixed on the first pass), and a body that
 *     changed between passes (length or FNV-1a hash) cuts the connection.
 */
#ifndef ROOST_HTTP_SERVER_H
#define ROOST_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "config.h"
#include "core/pool.h"
#include "core/strv.h"
#include "http/parse.h"
#include "http/resp.h"
#include "http/router.h"
#include "net/conn.h"

/* How a listener writes CORS headers (http/cors.c):
 *   TOWER    tower-http: Allow-Origin `*` for a "*" list, else the listed
 *            origin echoed with Vary; a preflight mirrors the requested
 *            method and headers (200)
 *   ECHO     the Origin echoed on every response when listed (`*` without
 *            an Origin) with the service's fixed method and header lists;
 *            a preflight is 204 with Max-Age
 *   FASTAPI  Starlette's CORSMiddleware: listed origins only, a preflight
 *            from an unlisted origin is 400 */
typedef enum { CORS_STYLE_TOWER, CORS_STYLE_ECHO, CORS_STYLE_FASTAPI } cors_style;

struct hctx;

typedef struct http_service {
    const char *family;                 /* the family's name, for logs */
    router_table router;                /* its route table, compiled (router_compile) */
    /* Write the family's error response. code is a machine code
     * ("NOT_FOUND", "VALIDATION_ERROR", ...) the family may ignore (FastAPI
     * style prints only msg). Called for protocol errors too, when
     * h->req may be NULL. */
    void (*error)(struct hctx *h, int status, const char *code, const char *msg);
    /* Requests that match no route: SPA files etc. NULL: 404 via error(). */
    void (*fallback)(struct hctx *h);
    /* Called before the handler (and before a body is read) for every
     * request except CORS preflights and ROUTE_OPEN routes; false means it
     * answered (401). NULL: no authentication. */
    bool (*authorize)(struct hctx *h);
    /* The listener requires the key for its governed surfaces (README §3:
     * `<family>.auth`, with auto = open on loopback). */
    bool auth_required;
    /* A wrong method on a known path is answered as an unknown route. */
    bool bad_method_is_not_found;
    cors_style cors;
    bool cors_credentials;              /* Allow-Credentials: true */
    const char *cors_methods;           /* CORS_STYLE_ECHO: Allow-Methods */
    const char *cors_headers;           /* CORS_STYLE_ECHO: Allow-Headers */
    bool cors_any;                      /* the list is "*" */
    strv cors_origins[CFG_MAX_CORS_ORIGINS];
    size_t ncors_origins;
    char cors_storage[CFG_CONF_VALUE_BYTES];
    uint64_t max_body;                  /* max_json_body_bytes */
    uint64_t max_hook_body;             /* for ROUTE_HOOK_BODY routes */
    /* A request body that receives nothing this long is answered 408; each
     * body byte that arrives restarts it (a stall timeout, not a deadline).
     * 0: CFG_BODY_TIMEOUT_MS. */
    uint32_t body_timeout_ms;
    bool diag_echo;                     /* answer /_echo (http/diag.h) */
    /* Before CORS, auth and routing: a diagnostic channel the app plugs in
     * (the debug builds' /_fault); true when it answered. NULL: none. */
    bool (*intercept)(struct hctx *h);
} http_service;

typedef struct hctx {
    conn *c;
    const http_service *svc;
    const http_req *req;                /* NULL for errors before a request parsed */
    route_match_t match;
    strv body;
    uint64_t start_us;
    resp_t resp;
    bool keep_alive;
    bool responded;
    uint32_t allow;                     /* for 405: methods of the path */
    char *out_buf;                      /* the render scratch (ROUTE_BIG_OUT), or NULL: tx */
    bool routed;                        /* a route matched (path and method) */
    const char *extra_name;             /* one more header hctx_begin adds, or NULL */
    const char *extra_value;
    bool stamped;                       /* stamp is set (hctx_stamp) */
    struct hctx_stamp {
        uint64_t wall_us;               /* the response's wall clock */
        uint64_t spent_us;              /* request start to first render */
        char id[40];                    /* a request id (UUIDv7) */
    } stamp;
    /* set by hctx_render: how to render this response again */
    void (*render)(struct hctx *h, const void *state);
    const void *render_state;
    size_t render_state_len;
    bool rerender;                      /* a later pass (server.c) */
    bool rerender_done;
    /* Pipelining (server.c): a safe request answered behind responses
     * still in tx may be run again once tx drains when its answer does
     * not fit the room left; deferred says it was (nothing of it is in
     * tx, and a handler does nothing more after its end). */
    bool retry_ok;
    bool deferred;
    /* ROUTE_STREAM_BODY: the handler runs at the head (take_ok) and hands
     * the body over with hctx_take_body */
    bool take_ok;
    const struct hctx_sink *sink;
    void *sink_state;
    bool later;                         /* hctx_later: answered by http_answer_later */
} hctx;

/* Where a streamed request body goes (ROUTE_STREAM_BODY). */
typedef struct hctx_sink {
    /* The next bytes of the body, decoded (chunked framing removed), as a
     * view into rx: the bytes the last call left unused, then the new ones.
     * last: the body ends with these. Set *used <= n: the bytes not used
     * come again in front of the next ones (keep fewer than
     * CFG_BUF_BYTES - CFG_HTTP_MAX_HEAD_BYTES, or the body stops with
     * ST_TOOBIG); with last, all of them are taken as used. ST_OK goes on;
     * anything else stops the body: nothing more is read, end runs with
     * that status and the connection closes after the answer. */
    st_t (*data)(void *state, const char *p, size_t n, bool last, size_t *used);
    /* The body ended: complete (ST_OK), stopped by data (its status), or
     * its framing failed (ST_BAD: malformed chunked encoding). Write the
     * answer as a handler does (on a route that is also ROUTE_BIG_OUT,
     * into the render scratch, larger than tx through hctx_render); the
     * state is the family's again after. */
    void (*end)(hctx *h, void *state, st_t st);
    /* The connection ends before end could run (the peer left, a
     * timeout, the server stops): release the state; no answer. */
    void (*abort)(void *state);
    /* NULL, or a buffer of the sink's own (*cap bytes, larger than rx) to
     * read a Content-Length body straight into once rx's bytes are
     * handed over: data then gets views into it, fewer and larger reads
     * than rx allows. The bytes a call leaves unused move back to rx. */
    char *(*buf)(void *state, size_t *cap);
} hctx_sink;

/* One request body that does not fit in a connection's rx buffer. */
typedef struct {
    char bytes[CFG_BODY_SLOT_BYTES];
} http_body_slot;

/* Bytes of HTTP state kept per connection, and per lent buffer (a request
 * with its rx, a response being produced with its tx): static, for
 * --budget. */
size_t http_server_conn_bytes(void);
size_t http_server_buf_bytes(void);

/* body_slots: pool of CFG_BODY_SLOTS buffers of CFG_BODY_SLOT_BYTES;
 * render: the CFG_RENDER_BYTES scratch. */
void http_server_init(pool_t *body_slots, char *render);
/* The conn_proto to pass to net_listen with the service as ctx. */
const conn_proto *http_server_proto(void);
/* Parse a comma-separated origins list ("*" or origins) into the service. */
st_t http_service_set_origins(http_service *svc, const char *list);

/* ---- for handlers ---- */
/* Start a response with the family's CORS headers already added. */
void hctx_begin(hctx *h, int status);
void hctx_header(hctx *h, const char *name, const char *value);
/* Body area after hctx_begin (+ headers, incl. Content-Type). */
char *hctx_body(hctx *h, size_t *room);
void hctx_body_commit(hctx *h, size_t n);
/* Finish; on overflow the response is replaced by a 500 from the family. */
void hctx_end(hctx *h);
/* A complete response in one call. */
void hctx_send(hctx *h, int status, const char *content_type, const char *body, size_t n);
/* Finish a response begun with hctx_begin (+ headers, no body) whose body
 * is `size` bytes of file f from byte off, streamed: the head goes into tx
 * with Content-Length: size, then the file follows it straight from the
 * file (conn_tx_file: sendfile, no copy), or, on a port that cannot, is
 * read into tx each time it drains; it is never held in memory. Takes
 * ownership of f in every case: it is closed after its last byte went,
 * when the connection closes (a client that leaves mid-file), or at once
 * (HEAD, size 0, an error). A file that turns out shorter than off + size
 * cuts the connection. When CFG_FILE_STREAMS streams are busy the begun
 * response is replaced by the family's 503. Only for responses in tx (not
 * ROUTE_BIG_OUT routes). */
void hctx_end_file(hctx *h, port_file f, uint64_t off, uint64_t size);
strv hctx_param(const hctx *h, size_t i);

/* In the handler of a ROUTE_STREAM_BODY route, which runs once its head
 * has arrived (authorized, nothing of the body read, h->body empty): take
 * the body, piece by piece as it arrives, zero-copy from rx (sink above;
 * state is the handler's, passed back to each call). Only then is a 100
 * Continue sent and the body read. A handler that answers instead refuses
 * the body: it is never read and the connection closes after the answer.
 * No body limit applies but the sink's own; the body timeout is a stall
 * timeout as for every body, so an upload that keeps making progress is
 * never cut. */
void hctx_take_body(hctx *h, const hctx_sink *sink, void *state);

/* A body made piece by piece, for lists of any length: fn writes the next
 * part into buf (cap bytes of tx's free room, at least
 * HCTX_PRODUCER_MIN_ROOM), returns its length and sets *done with the last
 * part. It runs again each time tx has room, with its own copy of the state
 * handed to hctx_end_stream (kept with the connection's tx buffer). A part
 * may be empty only when it is the last, or when the producer needs more
 * room than cap for its next unit (it is called again with an empty tx). */
typedef size_t (*hctx_producer)(void *state, char *buf, size_t cap, bool *done);
#define HCTX_PRODUCER_STATE_BYTES 768u
#define HCTX_PRODUCER_MIN_ROOM 64u
/* After hctx_begin and the headers: end the head with Transfer-Encoding:
 * chunked and stream the body from fn. */
void hctx_end_stream(hctx *h, hctx_producer fn, const void *state, size_t state_len);

/* On a ROUTE_BIG_OUT route whose method is not GET or HEAD (the action is
 * done): render the response with fn(h, state) now and, when it is larger
 * than tx, again for each later window (state, at most
 * HCTX_RENDER_STATE_BYTES, is copied). fn writes a whole response as a
 * handler does (hctx_begin ... hctx_end); it must not change anything. On
 * another route fn just runs once (its answer must fit tx). */
typedef void (*hctx_render_fn)(hctx *h, const void *state);
#define HCTX_RENDER_STATE_BYTES 256u
void hctx_render(hctx *h, hctx_render_fn fn, const void *state, size_t state_len);

/* The render scratch (CFG_RENDER_BYTES, *cap), for a producer that renders
 * one unit larger than tx there and copies a window of it: only within the
 * producer's call, never across turns. Its start is aligned to 8 bytes. */
char *http_render_scratch(size_t *cap);

/* Hold the answer this handler writes until what it answers for is
 * durable (conn_tx_hold, net/conn.h): it is not sent before
 * conn_tx_release(token, true); with false the connection closes without
 * it. The next request of the connection waits meanwhile (one response in
 * flight). */
uint32_t hctx_hold(hctx *h);

/* Answer later: a handler whose answer waits for work that ends in a later
 * loop turn (a child process, net/child.h) calls this and returns without
 * answering. The request stays in rx, tx stays lent (empty) and nothing
 * more is read from the connection meanwhile; the returned token names it.
 * When the work ends, http_answer_later(token, fn, state) runs fn(h,
 * state), which writes the whole answer as a handler does (it must fit
 * tx), and the connection goes on with its next request; or fn calls
 * hctx_later again (the same token) and the request waits for a next step
 * of the work (fn sees the request, its parameters and body as the
 * handler did). It returns false
 * when the connection has gone meanwhile (the client left, a timeout: the
 * send deadline, CFG_SEND_TIMEOUT_MS, bounds the wait) and fn did not run:
 * the owner then just forgets the work. A token is never reused for
 * another connection (its generation changes at every open). */
uint32_t hctx_later(hctx *h);
bool http_answer_later(uint32_t token, hctx_render_fn fn, const void *state);

/* Timestamps and ids a response carries, fixed for all its render passes. */
const char *hctx_request_id(hctx *h);
uint64_t hctx_wall_us(hctx *h);
uint64_t hctx_spent_us(hctx *h);

typedef struct {
    uint64_t requests;
    uint64_t errors_4xx;
    uint64_t errors_5xx;
    uint64_t body_slot_waits;   /* 503 because no body slot was free */
    uint64_t continues;         /* 100 Continue sent */
    uint64_t pipelined;         /* answered behind responses still in tx */
    uint64_t pipeline_retries;  /* ... that did not fit and ran again after a drain */
    uint64_t renders;           /* render passes after the first (windows of big responses) */
    uint64_t later;             /* answers deferred with hctx_later */
    uint64_t render_cuts;       /* responses cut: the body changed between passes */
    uint64_t file_streams;      /* file bodies streaming now (<= CFG_FILE_STREAMS) */
    uint64_t file_stream_waits; /* 503 because CFG_FILE_STREAMS were busy */
    uint64_t file_cuts;         /* file responses cut: read error or short file */
} http_stats_t;
const http_stats_t *http_stats(void);

/* ---- for http/stream.c: a connection that became a stream ---- */
struct stream_sub;
/* From now on the connection's events go to the stream (sub non-NULL). */
void http_conn_attach_stream(conn *c, struct stream_sub *sub);
/* A producer is still writing into tx (the stream's first message). */
bool http_conn_out_busy(const conn *c);
/* Write one text message produced part by part (fn, as hctx_end_stream's)
 * as WebSocket frames, one per piece. */
void http_conn_ws_message(conn *c, hctx_producer fn, const void *state, size_t state_len);

#endif
