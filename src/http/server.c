/*
 * server.c - the HTTP/1.1 request lifecycle on top of net/conn.
 *
 * Implementation notes:
 * - Per-connection HTTP state lives in a static array indexed by conn_id,
 *   so net/ stays protocol-free and nothing is allocated per request.
 * - The head is parsed in place in rx (stateless re-parse on each read; the
 *   parser is fast and heads are small). Views stay valid until the request
 *   is finished because rx is only consumed after the response is written.
 * - Body bytes collect in rx right after the head. When the body cannot fit
 *   there, the bytes are spilled into a body slot (CFG_BODY_SLOT_BYTES) and
 *   rx is trimmed back to the head, so the head views stay put. Chunked
 *   bodies are decoded in place the same way. Bytes of the next pipelined
 *   request stay in rx behind the body.
 * - One response in flight: while tx holds output the next request waits in
 *   rx and reading pauses when rx is full; on_drained resumes.
 * - A failed request whose framing is lost (bad head, 413, bad chunk) is
 *   answered and the connection closes after the write (with a linger).
 * - A stream (hs->sub, set by http/stream.c after a 101 or an SSE head)
 *   takes over the connection's callbacks; its first message may still be
 *   pumping from an out slot, framed as WebSocket frames (out_ws), and the
 *   stream's events wait until it is out.
 * - A file body (hctx_end_file) streams like an out slot, but from the
 *   file: on_drained reads the next tx-sized chunk straight into tx. At
 *   most CFG_FILE_STREAMS files are held open across turns; the count and
 *   the descriptor are released on the last chunk or in on_close.
 */
#include "http/server.h"

#include <stdio.h>
#include <string.h>

#include "core/assert.h"
#include "core/clock.h"
#include "core/log.h"
#include "http/cors.h"
#include "http/stream.h"
#include "http/ws.h"

typedef enum { HS_HEAD = 0, HS_BODY } hs_phase;

typedef struct {
    hs_phase phase;
    http_req req;
    route_result rr;
    route_match_t match;
    char params[CFG_HTTP_PARAM_BYTES];
    uint64_t limit;          /* body limit for this request */
    uint64_t need;           /* Content-Length; 0 for chunked */
    size_t in_rx;            /* body bytes (decoded) held in rx after the head */
    char *slot;              /* body slot, or NULL */
    size_t slot_len;
    http_chunked ch;
    bool chunk_done;
    bool head_started;       /* first byte of a head arrived (header deadline) */
    size_t head_seen;        /* rx bytes the head parser has already looked at */
    char *out;               /* out slot still streaming into tx, or NULL */
    size_t out_len;
    size_t out_off;
    bool out_chunked;        /* out holds body data to frame as chunks */
    bool out_ws;             /* out holds one WebSocket text message to frame */
    bool ws_started;         /* its first frame is out (the rest continue it) */
    bool ws_fin_sent;        /* its last frame is out */
    hctx_producer prod;      /* refills out when it is empty, or NULL */
    bool prod_done;
    uint64_t prod_state[(HCTX_PRODUCER_STATE_BYTES + 7u) / 8u];   /* 8-aligned bytes */
    bool file_on;            /* a file body is streaming into tx */
    port_file file;
    uint64_t file_off;       /* next byte of the file to send */
    uint64_t file_left;      /* bytes of the body still to send */
    stream_sub *sub;         /* a WebSocket/SSE stream owns the connection */
} hstate;

static hstate g_hs[CFG_MAX_CONNS];
static pool_t *g_slots;
static pool_t *g_out_slots;
static http_stats_t g_stats;

const http_stats_t *http_stats(void)
{
    return &g_stats;
}

static hstate *hs_of(const conn *c)
{
    return &g_hs[conn_id(c)];
}

static const http_service *svc_of(const conn *c)
{
    return (const http_service *)c->lst->ctx;
}

/* ---- responses ------------------------------------------------------------ */

/* Copy what an out slot holds into tx, as far as tx has room: the head and a
 * fixed body verbatim, a producer's parts framed as chunks (refilling the
 * slot from the producer whenever it runs dry). The slot is released once
 * everything, the last chunk included, is in tx. */
static void out_pump(conn *c, hstate *s)
{
    for (;;) {
        size_t room = 0u;
        char *p = conn_tx_buf(c, &room);
        size_t left = s->out_len - s->out_off;
        size_t n;
        if (left == 0u) {
            if ((s->prod != NULL) && !s->prod_done) {
                s->out_len = s->prod(s->prod_state, s->out, CFG_OUT_SLOT_BYTES, &s->prod_done);
                s->out_off = 0u;
                s->out_chunked = !s->out_ws;
                if (s->out_len == 0u) {
                    s->prod_done = true;   /* an empty part ends the body */
                }
                continue;
            }
            if (s->out_chunked) {
                if (room < 5u) {
                    return;               /* the last chunk waits for room */
                }
                (void)memcpy(p, "0\r\n\r\n", 5u);
                conn_tx_ack(c, 5u);
            }
            if (s->out_ws && !s->ws_fin_sent) {
                /* the message ends with an empty final frame */
                if (room < 2u) {
                    return;
                }
                p[0] = (char)(s->ws_started ? 0x80 : 0x81);
                p[1] = '\0';
                conn_tx_ack(c, 2u);
                s->ws_fin_sent = true;
            }
            pool_put(g_out_slots, s->out);
            s->out = NULL;
            s->out_chunked = false;
            s->out_ws = false;
            s->prod = NULL;
            return;
        }
        if (s->out_ws) {
            /* each piece is one frame of the message; the piece that ends
             * the producer's last part is its final frame */
            uint8_t hdr[WS_MAX_SERVER_HEADER];
            bool fin;
            size_t k;
            if (room <= WS_MAX_SERVER_HEADER) {
                return;
            }
            n = (left < (room - WS_MAX_SERVER_HEADER)) ? left : (room - WS_MAX_SERVER_HEADER);
            fin = (n == left) && ((s->prod == NULL) || s->prod_done);
            k = ws_frame_header(hdr, s->ws_started ? WS_OP_CONT : WS_OP_TEXT, fin, (uint64_t)n);
            (void)memcpy(p, hdr, k);
            (void)memcpy(p + k, s->out + s->out_off, n);
            conn_tx_ack(c, k + n);
            s->out_off += n;
            s->ws_started = true;
            s->ws_fin_sent = fin;
        } else if (!s->out_chunked) {
            /* tx (CFG_TX_BYTES) is far smaller than an out slot: most parts
             * take several passes, each ending when tx is full */
            bool tx_full = (room < left);
            n = tx_full ? room : left;
            (void)memcpy(p, s->out + s->out_off, n);
            conn_tx_ack(c, n);
            s->out_off += n;
            if (tx_full) {
                return;
            }
        } else {
            char hdr[24];
            int k;
            if (room < 32u) {
                return;
            }
            n = (left < (room - 24u)) ? left : (room - 24u);
            k = snprintf(hdr, sizeof hdr, "%lx\r\n", (unsigned long)n);
            (void)memcpy(p, hdr, (size_t)k);
            (void)memcpy(p + k, s->out + s->out_off, n);
            (void)memcpy(p + (size_t)k + n, "\r\n", 2u);
            conn_tx_ack(c, (size_t)k + n + 2u);
            s->out_off += n;
        }
    }
}

static void out_release(hstate *s)
{
    if (s->out != NULL) {
        pool_put(g_out_slots, s->out);
        s->out = NULL;
    }
    s->out_chunked = false;
    s->out_ws = false;
    s->prod = NULL;
}

static void file_release(hstate *s)
{
    if (s->file_on) {
        port_file_close(s->file);
        s->file = PORT_FILE_NONE;
        s->file_on = false;
        g_stats.file_streams--;
    }
}

/* Read the next part of a streaming file body into the free room of tx;
 * release the file when its last byte is in tx. */
static void file_pump(conn *c, hstate *s)
{
    size_t room = 0u;
    char *p = conn_tx_buf(c, &room);
    size_t want = (s->file_left < (uint64_t)room) ? (size_t)s->file_left : room;
    size_t got = 0u;
    st_t st;
    if (want == 0u) {
        return;     /* tx is full: the next drain brings room */
    }
    st = port_file_read_at(s->file, s->file_off, p, want, &got);
    if ((st != ST_OK) || (got == 0u)) {
        /* Content-Length is already on the wire: the response can only be
         * cut, so the client sees it as incomplete. */
        LOG_W("http", "%s: file body cut after %llu bytes: %s", svc_of(c)->family,
              (unsigned long long)s->file_off,
              (st != ST_OK) ? status_str(st) : "file shorter than announced");
        g_stats.file_cuts++;
        file_release(s);
        conn_fail(c, (st != ST_OK) ? st : ST_IO);
        return;
    }
    conn_tx_ack(c, got);
    s->file_off += got;
    s->file_left -= got;
    if (s->file_left == 0u) {
        file_release(s);
    }
}

void hctx_begin(hctx *h, int status)
{
    size_t room = CFG_OUT_SLOT_BYTES;
    char *p = h->out_buf;
    if (p == NULL) {
        p = conn_tx_buf(h->c, &room);
    }
    bool head = (h->req != NULL) && (h->req->method == HTTP_M_HEAD);
    resp_begin(&h->resp, p, room, status, h->keep_alive, head);
    cors_add_headers(h);
    if (h->extra_name != NULL) {
        resp_header_cstr(&h->resp, h->extra_name, h->extra_value);
    }
    h->responded = true;
    if (status >= 500) {
        g_stats.errors_5xx++;
    } else if (status >= 400) {
        g_stats.errors_4xx++;
    } else {
        /* not an error */
    }
}

void hctx_header(hctx *h, const char *name, const char *value)
{
    resp_header_cstr(&h->resp, name, value);
}

char *hctx_body(hctx *h, size_t *room)
{
    return resp_body(&h->resp, room);
}

void hctx_body_commit(hctx *h, size_t n)
{
    resp_body_commit(&h->resp, n);
}

/* Finish the response in h; false when it did not fit and was replaced by
 * a 500. */
static bool end_response(hctx *h)
{
    size_t total = 0u;
    if (resp_end(&h->resp, &total) != ST_OK) {
        static const char msg[] = "HTTP/1.1 500 Internal Server Error\r\n"
                                  "Content-Length: 0\r\nConnection: close\r\n\r\n";
        int status = h->resp.status;
        size_t cap = (h->out_buf != NULL) ? (size_t)CFG_OUT_SLOT_BYTES : (size_t)CFG_TX_BYTES;
        LOG_E("http", "%s: response %d does not fit (%lu bytes)", h->svc->family, status,
              (unsigned long)cap);
        h->keep_alive = false;
        if (status != 500) {
            /* Retry once as the family's 500, which is small. */
            h->svc->error(h, 500, "INTERNAL_ERROR", "Internal server error");
            return false;
        }
        {
            size_t room = 0u;
            char *p = conn_tx_buf(h->c, &room);
            h->out_buf = NULL;
            if (room >= (sizeof(msg) - 1u)) {
                (void)memcpy(p, msg, sizeof(msg) - 1u);
                conn_tx_ack(h->c, sizeof(msg) - 1u);
            }
        }
        return false;
    }
    if (h->out_buf != NULL) {
        hstate *s = hs_of(h->c);
        s->out = h->out_buf;
        s->out_len = total;
        s->out_off = 0u;
        s->out_chunked = false;
        h->out_buf = NULL;
        out_pump(h->c, s);
    } else {
        conn_tx_ack(h->c, total);
    }
    return true;
}

void hctx_end(hctx *h)
{
    (void)end_response(h);
}

void hctx_end_stream(hctx *h, hctx_producer fn, const void *state, size_t state_len)
{
    hstate *s = hs_of(h->c);
    bool body = !h->resp.head_only;
    ASSERT((h->out_buf != NULL) && (state_len <= HCTX_PRODUCER_STATE_BYTES));
    if (NEVER((h->out_buf == NULL) || (state_len > HCTX_PRODUCER_STATE_BYTES))) {
        h->resp.overflow = true;   /* answered as the family's 500 */
        (void)end_response(h);
        return;
    }
    resp_header_cstr(&h->resp, "Transfer-Encoding", "chunked");
    h->resp.no_length = true;
    h->resp.head_only = true;
    /* The producer is armed before the head goes out: out_pump calls it
     * once the head has left the slot. */
    s->prod = body ? fn : NULL;
    s->prod_done = !body;
    (void)memcpy(s->prod_state, state, state_len);
    if (!end_response(h)) {
        s->prod = NULL;
    }
}

void hctx_send(hctx *h, int status, const char *content_type, const char *body, size_t n)
{
    hctx_begin(h, status);
    if (content_type != NULL) {
        hctx_header(h, "Content-Type", content_type);
    }
    if (n > 0u) {
        resp_body_append(&h->resp, body, n);
    }
    hctx_end(h);
}

void hctx_end_file(hctx *h, port_file f, uint64_t size)
{
    hstate *s = hs_of(h->c);
    bool stream = !h->resp.head_only && (size > 0u);
    ASSERT(h->out_buf == NULL);
    ASSERT(!s->file_on && (s->out == NULL));
    if (stream && (g_stats.file_streams >= (uint64_t)CFG_FILE_STREAMS)) {
        /* Nothing of the begun response is in tx yet: the 503 replaces it. */
        port_file_close(f);
        g_stats.file_stream_waits++;
        LOG_W("http", "%s: all %u file streams busy, 503", h->svc->family,
              (unsigned)CFG_FILE_STREAMS);
        h->svc->error(h, 503, "SERVICE_UNAVAILABLE", "Service unavailable");
        return;
    }
    /* The body bypasses the writer: announce its length, then end the head
     * the way a body-less response ends (resp_end adds no length then). */
    if (!h->resp.no_length) {
        resp_header_u64(&h->resp, "Content-Length", (unsigned long long)size);
    }
    h->resp.no_length = true;
    h->resp.head_only = true;
    if (!end_response(h) || !stream) {
        port_file_close(f);
        return;
    }
    s->file = f;
    s->file_on = true;
    s->file_off = 0u;
    s->file_left = size;
    g_stats.file_streams++;
    file_pump(h->c, s);
}

void hctx_send_file(hctx *h, int status, const char *content_type, port_file f,
                    uint64_t size, const char *etag)
{
    hctx_begin(h, status);
    if (content_type != NULL) {
        hctx_header(h, "Content-Type", content_type);
    }
    if (etag != NULL) {
        hctx_header(h, "ETag", etag);
    }
    hctx_end_file(h, f, size);
}

strv hctx_param(const hctx *h, size_t i)
{
    return (i < h->match.nparams) ? h->match.params[i] : STRV_NULL;
}

static void hctx_init(hctx *h, conn *c, const http_req *req)
{
    (void)memset(h, 0, sizeof *h);
    h->c = c;
    h->svc = svc_of(c);
    h->req = req;
    h->start_us = clock_mono_us();
    h->keep_alive = (req != NULL) && req->keep_alive;
}

/* ---- request end, errors ---------------------------------------------------- */

static void release_slot(hstate *s)
{
    if (s->slot != NULL) {
        pool_put(g_slots, s->slot);
        s->slot = NULL;
        s->slot_len = 0u;
    }
}

static void reset_request(hstate *s)
{
    release_slot(s);
    s->phase = HS_HEAD;
    s->in_rx = 0u;
    s->need = 0u;
    s->chunk_done = false;
    s->head_started = false;
    s->head_seen = 0u;
}

/* Answer an error that ends the connection (framing lost or peer misbehaves). */
static void fail_request(conn *c, const http_req *req, int status, const char *code,
                         const char *msg)
{
    hstate *s = hs_of(c);
    hctx h;
    hctx_init(&h, c, req);
    h.keep_alive = false;
    /* tx only ever holds whole messages (a response, a 100 Continue), so the
     * error can follow whatever is still pending. */
    h.svc->error(&h, status, code, msg);
    reset_request(s);
    c->rx_len = 0u;
    conn_close_after_flush(c);
    conn_set_deadline(c, CONN_DL_SEND, CFG_SEND_TIMEOUT_MS);
}

/* Status code -> (code, message) for protocol errors. */
static void fail_status(conn *c, const http_req *req, int status)
{
    const char *code = "VALIDATION_ERROR";
    const char *msg = "Bad request";
    switch (status) {
    case 408: code = "REQUEST_TIMEOUT"; msg = "Request timeout"; break;
    case 413: code = "PAYLOAD_TOO_LARGE"; msg = "Request body too large"; break;
    case 414: code = "URI_TOO_LONG"; msg = "Request target too long"; break;
    case 431: code = "HEADERS_TOO_LARGE"; msg = "Request header fields too large"; break;
    case 501: code = "NOT_IMPLEMENTED"; msg = "Unsupported transfer coding"; break;
    case 505: code = "HTTP_VERSION_NOT_SUPPORTED"; msg = "HTTP version not supported"; break;
    case 503: code = "SERVICE_UNAVAILABLE"; msg = "Service unavailable"; break;
    default: break;
    }
    fail_request(c, req, status, code, msg);
}

/* ---- dispatch --------------------------------------------------------------- */

static void dispatch(conn *c, hstate *s)
{
    hctx h;
    size_t consumed;
    const http_service *svc = svc_of(c);
    hctx_init(&h, c, &s->req);
    h.match = s->match;
    if (s->slot != NULL) {
        h.body.p = s->slot;
        h.body.n = s->slot_len;
    } else {
        h.body.p = c->rx + s->req.head_len;
        h.body.n = s->in_rx;
    }
    g_stats.requests++;
    conn_set_idle(c, false);
    h.routed = (s->rr == ROUTE_FOUND);
    if (cors_preflight(&h)) {
        /* answered */
    } else if ((svc->authorize != NULL) &&
               !(h.routed && ((s->match.rt->flags & ROUTE_OPEN) != 0u)) &&
               !svc->authorize(&h)) {
        /* answered 401 */
    } else if (s->rr == ROUTE_FOUND) {
        if ((s->match.rt->flags & ROUTE_BIG_OUT) != 0u) {
            /* Taken before the handler runs: a full pool must never turn a
             * request that already changed something into a 503. */
            h.out_buf = (char *)pool_get(g_out_slots);
            if ((h.out_buf == NULL) && s->req.upgrade_websocket) {
                /* a WebSocket that cannot be served is closed with 1013
                 * after its upgrade (hctx_ws_snapshot), not refused here */
                g_stats.out_slot_waits++;
            } else if (h.out_buf == NULL) {
                g_stats.out_slot_waits++;
                LOG_W("http", "%s: all %u out slots busy, 503", svc->family,
                      (unsigned)CFG_OUT_SLOTS);
                svc->error(&h, 503, "SERVICE_UNAVAILABLE", "Service unavailable");
            } else {
                /* the slot is the handler's */
            }
        }
        if (!h.responded) {
            s->match.rt->fn(&h);
        }
        if (h.out_buf != NULL) {
            /* the handler did not end its response: give the slot back */
            pool_put(g_out_slots, h.out_buf);
            h.out_buf = NULL;
        }
    } else if (s->rr == ROUTE_BAD_PARAM) {
        svc->error(&h, 400, "VALIDATION_ERROR", "Malformed percent-encoding in path");
    } else if ((s->rr == ROUTE_BAD_METHOD) && !svc->bad_method_is_not_found) {
        h.allow = s->match.allow;
        svc->error(&h, 405, "METHOD_NOT_ALLOWED", "Method not allowed");
    } else if ((svc->fallback != NULL) &&
               ((s->req.method == HTTP_M_GET) || (s->req.method == HTTP_M_HEAD))) {
        svc->fallback(&h);
    } else {
        svc->error(&h, 404, "NOT_FOUND", "Not found");
    }
    if (!h.responded) {
        LOG_E("http", "%s: handler gave no response", svc->family);
        svc->error(&h, 500, "INTERNAL_ERROR", "Internal server error");
    }
    /* The request is done: drop its head and the body bytes it kept in rx;
     * bytes of a pipelined request stay. */
    consumed = s->req.head_len + s->in_rx;
    reset_request(s);
    conn_rx_consume(c, consumed);
    if (s->sub != NULL) {
        return;     /* the stream owns the connection and its deadlines now */
    }
    if (!h.keep_alive) {
        conn_close_after_flush(c);
    }
    conn_set_deadline(c, CONN_DL_SEND, CFG_SEND_TIMEOUT_MS);
}

/* ---- body ------------------------------------------------------------------- */

/* Move body bytes held in rx into the body slot, keeping any bytes after
 * `body_bytes` (the next request) in rx after the head. */
static bool spill(conn *c, hstate *s, size_t body_bytes)
{
    char *src = c->rx + s->req.head_len;
    size_t tail = c->rx_len - s->req.head_len - body_bytes;
    if (s->slot == NULL) {
        s->slot = (char *)pool_get(g_slots);
        if (s->slot == NULL) {
            g_stats.body_slot_waits++;
            LOG_W("http", "%s: all %u body slots busy, 503", svc_of(c)->family,
                  (unsigned)CFG_BODY_SLOTS);
            fail_status(c, &s->req, 503);
            return false;
        }
    }
    if (body_bytes > (CFG_BODY_SLOT_BYTES - s->slot_len)) {
        fail_status(c, &s->req, 413);
        return false;
    }
    (void)memcpy(s->slot + s->slot_len, src, body_bytes);
    s->slot_len += body_bytes;
    (void)memmove(src, src + body_bytes, tail);
    c->rx_len = s->req.head_len + tail;
    s->in_rx = 0u;
    return true;
}

/* Content-Length body: true when complete. */
static bool body_fixed(conn *c, hstate *s)
{
    size_t avail = c->rx_len - s->req.head_len;
    uint64_t have = (uint64_t)s->slot_len + s->in_rx;
    uint64_t want = s->need - have;
    size_t take = avail - s->in_rx;
    if (take > want) {
        take = (size_t)want;
    }
    s->in_rx += take;
    if (((uint64_t)s->slot_len + s->in_rx) == s->need) {
        if (s->slot != NULL) {
            return spill(c, s, s->in_rx);
        }
        return true;
    }
    /* Not complete: if the body cannot complete inside rx, spill now. */
    if ((s->slot != NULL) ||
        ((s->req.head_len + s->need) > (uint64_t)sizeof c->rx)) {
        (void)spill(c, s, s->in_rx);
    }
    return false;
}

/* Chunked body: true when complete. Decoded bytes collect like fixed ones. */
static bool body_chunked(conn *c, hstate *s)
{
    char *raw = c->rx + s->req.head_len + s->in_rx;
    size_t len = c->rx_len - s->req.head_len - s->in_rx;
    size_t rest = 0u;
    st_t st;
    if (len == 0u) {
        return false;
    }
    st = http_chunked_decode(&s->ch, raw, &len, &rest);
    if (st == ST_TOOBIG) {
        fail_status(c, &s->req, 413);
        return false;
    }
    if (st == ST_BAD) {
        fail_request(c, &s->req, 400, "VALIDATION_ERROR", "Malformed chunked body");
        return false;
    }
    s->in_rx += len;
    if (st == ST_OK) {
        c->rx_len = s->req.head_len + s->in_rx + rest;
        if (s->slot != NULL) {
            return spill(c, s, s->in_rx);
        }
        return true;
    }
    c->rx_len = s->req.head_len + s->in_rx;
    if ((s->slot != NULL) || (c->rx_len >= (sizeof c->rx - 64u))) {
        (void)spill(c, s, s->in_rx);
    }
    return false;
}

/* ---- head ------------------------------------------------------------------- */

/* Returns false when the request failed (already answered). */
static bool start_body(conn *c, hstate *s)
{
    const http_service *svc = svc_of(c);
    http_req *r = &s->req;
    s->limit = svc->max_body;
    if ((s->rr == ROUTE_FOUND) && ((s->match.rt->flags & ROUTE_HOOK_BODY) != 0u)) {
        s->limit = svc->max_hook_body;
    }
    if (s->limit > CFG_BODY_SLOT_BYTES) {
        s->limit = CFG_BODY_SLOT_BYTES;
    }
    if (r->chunked) {
        http_chunked_init(&s->ch, s->limit);
    } else if (r->has_content_length && (r->content_length > s->limit)) {
        fail_status(c, r, 413);
        return false;
    } else {
        s->need = r->has_content_length ? r->content_length : 0u;
    }
    s->phase = HS_BODY;
    if (r->expect_continue && (r->chunked || (s->need > 0u)) &&
        (c->rx_len == r->head_len)) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        size_t room = 0u;
        char *p = conn_tx_buf(c, &room);
        if (room >= (sizeof(cont) - 1u)) {
            (void)memcpy(p, cont, sizeof(cont) - 1u);
            conn_tx_ack(c, sizeof(cont) - 1u);
            g_stats.continues++;
        }
    }
    conn_set_deadline(c, CONN_DL_BODY, CFG_BODY_TIMEOUT_MS);
    return true;
}

static bool parse_head(conn *c, hstate *s)
{
    int status = 400;
    const http_service *svc = svc_of(c);
    st_t st = ST_AGAIN;
    /* Re-parse only when a new line (or the limit) arrived: a client that
     * sends one byte at a time costs one scan per line, not per byte. */
    if (http_head_worth_parsing(c->rx, s->head_seen, c->rx_len)) {
        st = http_parse_head(c->rx, c->rx_len, &s->req, &status);
    }
    s->head_seen = c->rx_len;
    if (st == ST_AGAIN) {
        if (c->rx_len >= (size_t)CFG_HTTP_MAX_HEAD_BYTES) {
            fail_status(c, NULL, http_head_overflow_status(c->rx, c->rx_len));
        } else if (c->peer_closed) {
            conn_fail(c, ST_CLOSED);
        } else if (!s->head_started) {
            s->head_started = true;
            conn_set_idle(c, false);
            conn_set_deadline(c, CONN_DL_HEADER, CFG_HEADER_TIMEOUT_MS);
        } else {
            /* wait for more of the head */
        }
        return false;
    }
    if (st != ST_OK) {
        fail_status(c, NULL, status);
        return false;
    }
    s->rr = router_match(svc->routes, svc->nroutes, s->req.method, s->req.path,
                         s->params, sizeof s->params, &s->match);
    return start_body(c, s);
}

static void on_readable(conn *c)
{
    hstate *s = hs_of(c);
    while (!c->closing && !c->close_after_flush) {
        if (s->sub != NULL) {
            stream_on_readable(s->sub);
            return;
        }
        if ((conn_tx_pending(c) > 0u) || (s->out != NULL) || s->file_on) {
            /* One response in flight; the rest waits in rx. A 100 Continue
             * is the exception: the body may be read behind it. */
            if (s->phase != HS_BODY) {
                conn_pause_read(c, c->rx_len >= sizeof c->rx);
                return;
            }
        }
        if (s->phase == HS_HEAD) {
            if ((c->rx_len == 0u) || !parse_head(c, s)) {
                if (c->peer_closed && (c->rx_len == 0u)) {
                    conn_fail(c, ST_CLOSED);
                }
                return;
            }
        }
        if (s->phase == HS_BODY) {
            bool done = s->req.chunked ? body_chunked(c, s) : body_fixed(c, s);
            if (!done) {
                if (c->peer_closed && !c->closing && !c->close_after_flush) {
                    conn_fail(c, ST_CLOSED);
                }
                return;
            }
            if (conn_tx_pending(c) > 0u) {
                /* Wait for the 100 Continue to leave before answering. */
                conn_pause_read(c, true);
                return;
            }
            dispatch(c, s);
        }
    }
}

static void on_open(conn *c)
{
    hstate *s = hs_of(c);
    (void)memset(s, 0, sizeof *s);
    s->file = PORT_FILE_NONE;
    /* Not reclaimable yet: its first request may already be in the socket
     * buffer. Only a connection that finished a request and waits for the
     * next one counts as an idle keep-alive. One that sends nothing is
     * closed (silently) after the header timeout. */
    conn_set_idle(c, false);
    conn_set_deadline(c, CONN_DL_IDLE, CFG_HEADER_TIMEOUT_MS);
}

static void on_drained(conn *c)
{
    hstate *s = hs_of(c);
    if (s->sub != NULL) {
        if (s->out != NULL) {
            out_pump(c, s);     /* the stream's first message */
        }
        if (s->out == NULL) {
            stream_on_drained(s->sub);
        }
        return;
    }
    if (s->out != NULL) {
        out_pump(c, s);
        conn_set_deadline(c, CONN_DL_SEND, CFG_SEND_TIMEOUT_MS);
        return;
    }
    if (s->file_on) {
        file_pump(c, s);
        conn_set_deadline(c, CONN_DL_SEND, CFG_SEND_TIMEOUT_MS);
        return;
    }
    if (c->close_after_flush) {
        return;     /* the loop lingers and closes */
    }
    conn_pause_read(c, false);
    if ((s->phase == HS_HEAD) && (c->rx_len == 0u)) {
        conn_set_idle(c, true);
        conn_set_deadline(c, CONN_DL_IDLE, CFG_IDLE_TIMEOUT_MS);
    } else if (s->phase == HS_BODY) {
        conn_set_deadline(c, CONN_DL_BODY, CFG_BODY_TIMEOUT_MS);
    } else {
        /* the head timer keeps running */
    }
    if (c->rx_len > 0u) {
        on_readable(c);
    }
}

static void on_deadline(conn *c, conn_deadline which)
{
    hstate *s = hs_of(c);
    if (s->sub != NULL) {
        stream_on_deadline(s->sub);
        return;
    }
    switch (which) {
    case CONN_DL_HEADER:
        fail_status(c, NULL, 408);
        break;
    case CONN_DL_BODY:
        fail_status(c, &s->req, 408);
        break;
    case CONN_DL_IDLE:
    case CONN_DL_SEND:
    default:
        conn_fail(c, ST_TIMEOUT);
        break;
    }
}

static void on_close(conn *c)
{
    hstate *s = hs_of(c);
    if (s->sub != NULL) {
        stream_on_close(s->sub);
        s->sub = NULL;
    }
    release_slot(s);
    out_release(s);
    file_release(s);
}

static size_t on_refuse(const listener *l, char *buf, size_t cap)
{
    /* The family's 503 body, rendered through its error writer into buf. */
    static conn fake;
    hctx h;
    size_t n;
    (void)memset(&h, 0, sizeof h);
    /* cppcheck-suppress misra-c2012-11.4 ; deviation (MISRA.md): lst is only read */
    fake.lst = (listener *)(uintptr_t)l;
    fake.tx_len = 0u;
    fake.tx_off = 0u;
    h.c = &fake;
    h.svc = (const http_service *)l->ctx;
    h.keep_alive = false;
    h.start_us = clock_mono_us();
    h.svc->error(&h, 503, "SERVICE_UNAVAILABLE", "Service unavailable");
    n = (fake.tx_len < cap) ? fake.tx_len : 0u;
    (void)memcpy(buf, fake.tx, n);
    return n;
}

static void on_stop(conn *c)
{
    hstate *s = hs_of(c);
    if (s->sub != NULL) {
        stream_on_stop(s->sub);
    }
}

static const conn_proto g_proto = {
    on_open, on_readable, on_drained, on_deadline, on_close, on_refuse, on_stop,
};

/* ---- for http/stream.c ------------------------------------------------------ */

void http_conn_attach_stream(conn *c, stream_sub *sub)
{
    hs_of(c)->sub = sub;
}

bool http_conn_out_busy(const conn *c)
{
    return hs_of(c)->out != NULL;
}

void http_conn_ws_message(conn *c, char *slot, hctx_producer fn, const void *state,
                          size_t state_len)
{
    hstate *s = hs_of(c);
    ASSERT((s->out == NULL) && (state_len <= HCTX_PRODUCER_STATE_BYTES));
    s->out = slot;
    s->out_len = 0u;
    s->out_off = 0u;
    s->out_chunked = false;
    s->out_ws = true;
    s->ws_started = false;
    s->ws_fin_sent = false;
    s->prod = fn;
    s->prod_done = false;
    (void)memcpy(s->prod_state, state, state_len);
    out_pump(c, s);
}

void http_server_init(pool_t *body_slots, pool_t *out_slots)
{
    g_slots = body_slots;
    g_out_slots = out_slots;
    /* Slots are written before they are read: clearing 1-2 MiB per request
     * would cost more than the request (see bench/README.md). */
    pool_set_zero_prefix(body_slots, 0u);
    pool_set_zero_prefix(out_slots, 0u);
    (void)memset(&g_stats, 0, sizeof g_stats);
}

size_t http_server_static_bytes(void)
{
    return sizeof g_hs;
}

const conn_proto *http_server_proto(void)
{
    return &g_proto;
}

st_t http_service_set_origins(http_service *svc, const char *list)
{
    size_t n = strlen(list);
    size_t start = 0u;
    size_t i;
    if (n >= sizeof svc->cors_storage) {
        return ST_TOOBIG;
    }
    (void)memcpy(svc->cors_storage, list, n + 1u);
    svc->ncors_origins = 0u;
    svc->cors_any = false;
    for (i = 0u; i <= n; i++) {
        /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
        if ((i == n) || (svc->cors_storage[i] == ',')) {
            strv item = strv_trim((strv){ svc->cors_storage + start, i - start });
            start = i + 1u;
            if (item.n == 0u) {
                continue;
            }
            if (strv_eq_cstr(item, "*")) {
                svc->cors_any = true;
            } else if (svc->ncors_origins < (size_t)CFG_MAX_CORS_ORIGINS) {
                svc->cors_origins[svc->ncors_origins] = item;
                svc->ncors_origins++;
            } else {
                return ST_NOMEM;
            }
        }
    }
    return ST_OK;
}
