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
 * connection's tx buffer through hctx_* below.
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
strv hctx_param(const hctx *h, size_t i);

typedef struct {
    uint64_t requests;
    uint64_t errors_4xx;
    uint64_t errors_5xx;
    uint64_t body_slot_waits;   /* 503 because no body slot was free */
    uint64_t continues;         /* 100 Continue sent */
    uint64_t out_slot_waits;    /* 503 because no out slot was free */
} http_stats_t;
const http_stats_t *http_stats(void);

#endif
