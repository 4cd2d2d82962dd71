/*
 * server.h - HTTP/1.1 on a listener: the request lifecycle and the service
 * (one per family) that answers it.
 *
 * A family describes itself with an http_service: its route table, how its
 * error bodies look (fleet envelope, rpg envelope, FastAPI detail), its CORS
 * style and its runtime limits. The server does everything else: parsing,
 * limits (400/408/413/414/431/501/505), bodies (Content-Length, chunked,
 * 100-continue, spilling to a body slot), keep-alive and pipelining (one
 * response in flight per connection, the next request waits in rx), HEAD,
 * CORS preflight, 404/405 and the 503 refusal when a pool is full.
 *
 * Handlers run synchronously and write their whole response into the
 * connection's tx buffer through hctx_* below, or turn the connection into a
 * WebSocket or SSE stream (http/stream.h), which then owns it until it
 * closes: on_readable, on_drained, deadlines, the close and the server's
 * stop all go to the stream.
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

typedef enum { CORS_STYLE_FLEET, CORS_STYLE_RPG, CORS_STYLE_FASTAPI } cors_style;

struct hctx;

typedef struct http_service {
    const char *family;                 /* "fleet", "rpg", ... */
    const route *routes;
    size_t nroutes;
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
    /* rpg answers a wrong method on a known path as an unknown route. */
    bool bad_method_is_not_found;
    cors_style cors;
    bool cors_credentials;              /* agents: Allow-Credentials: true */
    bool cors_any;                      /* the list is "*" */
    strv cors_origins[CFG_MAX_CORS_ORIGINS];
    size_t ncors_origins;
    char cors_storage[CFG_CONF_VALUE_BYTES];
    uint64_t max_body;                  /* max_json_body_bytes */
    uint64_t max_hook_body;             /* for ROUTE_HOOK_BODY routes */
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
    char *out_buf;                      /* an out slot (ROUTE_BIG_OUT), or NULL: tx */
    bool routed;                        /* a route matched (path and method) */
    const char *extra_name;             /* one more header hctx_begin adds, or NULL */
    const char *extra_value;
} hctx;

/* One request body that does not fit in a connection's rx buffer. */
typedef struct {
    char bytes[CFG_BODY_SLOT_BYTES];
} http_body_slot;

/* One response larger than tx (routes flagged ROUTE_BIG_OUT). */
typedef struct {
    char bytes[CFG_OUT_SLOT_BYTES];
} http_out_slot;

/* Bytes of per-connection HTTP state (static, for --budget). */
size_t http_server_static_bytes(void);

/* body_slots: pool of CFG_BODY_SLOTS buffers of CFG_BODY_SLOT_BYTES;
 * out_slots: pool of CFG_OUT_SLOTS buffers of CFG_OUT_SLOT_BYTES. */
void http_server_init(pool_t *body_slots, pool_t *out_slots);
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
 * is the first `size` bytes of file f, streamed: the head goes into tx with
 * Content-Length: size, then tx is refilled from the file each time it
 * drains; the file is never held in memory. Takes ownership of f in every
 * case: it is closed after its last byte is in tx, when the connection
 * closes (a client that leaves mid-file), or at once (HEAD, size 0, an
 * error). A file that turns out shorter than size cuts the connection.
 * When CFG_FILE_STREAMS streams are busy the begun response is replaced by
 * the family's 503. Only for responses in tx (not ROUTE_BIG_OUT routes). */
void hctx_end_file(hctx *h, port_file f, uint64_t size);
/* The same in one call: status, Content-Type, ETag (each header skipped
 * when NULL), then hctx_end_file. */
void hctx_send_file(hctx *h, int status, const char *content_type, port_file f,
                    uint64_t size, const char *etag);
strv hctx_param(const hctx *h, size_t i);

/* A body made piece by piece, for lists of any length: fn writes the next
 * part into buf (cap bytes: an out slot), returns its length and sets *done
 * with the last part. It runs again each time the previous part has gone
 * into tx, with its own copy of the state handed to hctx_end_stream. */
typedef size_t (*hctx_producer)(void *state, char *buf, size_t cap, bool *done);
#define HCTX_PRODUCER_STATE_BYTES 768u
/* After hctx_begin and the headers, on a ROUTE_BIG_OUT route: end the head
 * with Transfer-Encoding: chunked and stream the body from fn. */
void hctx_end_stream(hctx *h, hctx_producer fn, const void *state, size_t state_len);

typedef struct {
    uint64_t requests;
    uint64_t errors_4xx;
    uint64_t errors_5xx;
    uint64_t body_slot_waits;   /* 503 because no body slot was free */
    uint64_t continues;         /* 100 Continue sent */
    uint64_t out_slot_waits;    /* 503 because no out slot was free */
    uint64_t file_streams;      /* file bodies streaming now (<= CFG_FILE_STREAMS) */
    uint64_t file_stream_waits; /* 503 because CFG_FILE_STREAMS were busy */
    uint64_t file_cuts;         /* file responses cut: read error or short file */
} http_stats_t;
const http_stats_t *http_stats(void);

/* ---- for http/stream.c: a connection that became a stream ---- */
struct stream_sub;
/* From now on the connection's events go to the stream (sub non-NULL). */
void http_conn_attach_stream(conn *c, struct stream_sub *sub);
/* An out slot is still being written into tx (the stream's first message). */
bool http_conn_out_busy(const conn *c);
/* Write one text message produced part by part into slot (an out slot the
 * connection now owns and releases) as WebSocket frames, one per piece. */
void http_conn_ws_message(conn *c, char *slot, hctx_producer fn, const void *state,
                          size_t state_len);

#endif
