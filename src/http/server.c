/*
 * server.c - the HTTP/1.1 request lifecycle on top of net/conn.
 *
 * Implementation notes:
 * - State lives in static arrays, by what it lives as long as: per
 *   connection (g_hc, by conn_id: phase, parse position, the stream) a few
 *   bytes; per request (g_rq, by the index of the lent rx buffer: the parsed
 *   head, route match, params, body progress), which exists only while rx
 *   holds the request; per response being produced (g_rs, by the index of
 *   the lent tx buffer: producer, file or render state), which exists only
 *   while tx is pinned. So net/ stays protocol-free, nothing is allocated
 *   per request, and an idle keep-alive connection costs only g_hc and its
 *   conn.
 * - The head is parsed in place in rx (stateless re-parse on each read; the
 *   parser is fast and heads are small). Views stay valid until the request
 *   is finished because rx is only consumed after the response is written
 *   (for a response rendered in windows, after its last window).
 * - Body bytes collect in rx right after the head. When the body cannot fit
 *   there, the bytes are spilled into a body slot (CFG_BODY_SLOT_BYTES) and
 *   rx is trimmed back to the head, so the head views stay put. Chunked
 *   bodies are decoded in place the same way. Bytes of the next pipelined
 *   request stay in rx behind the body.
 * - Pipelining: every complete request in rx is answered in the same turn,
 *   into tx behind the answers before it, so a burst leaves with one write
 *   (net/ writes tx once after on_readable). A safe request (GET, HEAD,
 *   OPTIONS) goes behind pending answers when they left at least
 *   PIPE_MIN_ROOM; should its answer still not fit, nothing of it is
 *   committed and it runs again after the drain (hctx.deferred: a safe
 *   handler may run twice, as render windows already assume). A
 *   ROUTE_BIG_OUT request of any method goes behind them too: its answer
 *   is rendered into the scratch and what does not fit the room goes out
 *   in windows (rendered again by its hctx_render function, never by the
 *   handler). Any other request runs exactly once, with tx empty: what is
 *   pending is sent first (conn_tx_send_now), else it waits for the
 *   drain. While a
 *   response is being produced (a producer, a file, render windows) the
 *   requests behind it wait in rx and reading pauses when rx is full;
 *   on_drained resumes. A complete request runs its handler only with a tx
 *   buffer in hand; without one it waits in rx, and the buffer queue calls
 *   on_drained when one is lent. A request waiting for the peer to read
 *   is under the send deadline.
 * - The body timeout is a stall timeout: armed when the head is parsed and
 *   armed again whenever bytes of the body arrive (and after a 100 Continue
 *   leaves), so a body that keeps coming is never cut, however slowly.
 *   net/'s rx-stall reclaim (CFG_RX_STALL_MS, only while reads wait for
 *   buffers) measures silence the same way, from the last byte read.
 * - A failed request whose framing is lost (bad head, 413, bad chunk, a
 *   head or body timeout) is answered and the connection closes after the
 *   write (with a linger). With every buffer lent the answer waits for a
 *   tx buffer (hconn.owed), reading paused, under the send deadline: it is
 *   never dropped for want of one.
 * - A stream (hc->sub, set by http/stream.c after a 101 or an SSE head)
 *   takes over the connection's callbacks; its first message may still be
 *   coming from a producer, framed as WebSocket frames (ws), and the
 *   stream's events wait until it is out.
 * - Producers write straight into tx's free room: a chunk header's room is
 *   kept in front, the piece is produced behind it, then the header (hex
 *   length, padded with leading zeros to a fixed width, which RFC 9112 7.1
 *   allows) is written in. A WebSocket piece is framed the same way.
 * - A streamed body (ROUTE_STREAM_BODY): the handler runs once the head is
 *   in and tx is in hand (stream_open), then each read's bytes go to its
 *   sink as a view into rx (stream_feed: chunked framing decoded in place,
 *   the bytes the sink left unused moved to the front), and a
 *   Content-Length body may be read straight into the sink's own buffer
 *   (stream_direct), its unused bytes moved back into rx. The sink's end
 *   is dispatched as a handler once the body ended; reset_request aborts a
 *   sink whose connection ends first.
 * - A file body (hctx_end_file) goes to net as a file segment behind the
 *   head (conn_tx_file: sendfile), or, on a port without sendfile, is read
 *   tx-sized chunk by chunk straight into tx each time it drains. At most CFG_FILE_STREAMS files are held open
 *   across turns; the count and the descriptor are released on the last
 *   chunk or in on_close.
 * - A render (ROUTE_BIG_OUT) is written into the scratch; when larger than
 *   tx's room, the first window goes into tx and each drain renders again
 *   (the route's handler for GET/HEAD, else the hctx_render function) and
 *   copies the next window of the body, after checking that its length and
 *   hash are those of the first pass. Stamps (hctx_stamp) are carried over.
 */
#include "http/server.h"

#include <string.h>

#include "core/assert.h"
#include "core/clock.h"
#include "core/fmt.h"
#include "core/log.h"
#include "core/uuid.h"
#include "http/cors.h"
#include "http/diag.h"
#include "http/stream.h"
#include "http/ws.h"

typedef enum { HS_HEAD = 0, HS_BODY, HS_RESP } hs_phase;

/* A safe pipelined request is answered behind responses still in tx when
 * they leave at least this much room (tx_ready). */
#define PIPE_MIN_ROOM ((size_t)CFG_BUF_BYTES / 2u)

/* Per connection. */
typedef struct {
    hs_phase phase;
    bool head_started;       /* first byte of a head arrived (header deadline) */
    bool resp_on;            /* a producer, file or render is using tx (pinned) */
    uint8_t owed;            /* k_proto_err index + 1 waiting for a tx buffer */
    uint32_t head_seen;      /* rx bytes the head parser has already looked at */
    stream_sub *sub;         /* a WebSocket/SSE stream owns the connection */
} hconn;

/* Per request, with the rx buffer that holds it. */
typedef struct {
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
    bool body_done;          /* complete: waits for tx, then dispatch */
    /* ROUTE_STREAM_BODY: the handler took the body at the head */
    bool streamed;           /* the route streams its body */
    bool taken;              /* its handler ran and took it */
    const hctx_sink *sink;   /* non-NULL from the take until end or abort */
    void *sink_state;
    uint64_t got;            /* Content-Length bytes handed to the sink */
    st_t sink_st;            /* why the body ended (end's status) */
} hreq;

typedef enum { RS_NONE = 0, RS_PROD, RS_FILE, RS_RENDER, RS_LATER } rs_kind;

/* Per response being produced, with the tx buffer it is written into. */
typedef struct {
    rs_kind kind;
    /* RS_PROD */
    bool ws;                 /* frame pieces as one WebSocket text message */
    bool ws_started;         /* its first frame is out (the rest continue it) */
    bool prod_done;
    bool end_sent;           /* the last chunk / final frame is in tx */
    hctx_producer prod;
    /* RS_FILE */
    port_file file;
    uint64_t file_off;       /* next byte of the file to send */
    uint64_t file_left;      /* bytes of the body still to send */
    /* RS_RENDER */
    hctx_render_fn render;   /* NULL: the route's handler (GET/HEAD) */
    bool keep_alive;
    size_t body_len;         /* body bytes of the first pass */
    size_t body_sent;        /* body bytes in tx so far */
    uint64_t hash;           /* FNV-1a of the first pass's body */
    struct hctx_stamp stamp; /* the first pass's, for the next ones */
    /* the producer's or render's own state, 8-aligned */
    uint64_t state[(HCTX_PRODUCER_STATE_BYTES + 7u) / 8u];
} hresp;

_Static_assert(HCTX_RENDER_STATE_BYTES <= HCTX_PRODUCER_STATE_BYTES,
               "render state shares the producer state's room");

static hconn g_hc[CFG_MAX_CONNS];
static hreq g_rq[CFG_BUFS];
static hresp g_rs[CFG_BUFS];
static pool_t *g_slots;
static char *g_render;       /* CFG_RENDER_BYTES, used only synchronously */
static http_stats_t g_stats;

const http_stats_t *http_stats(void)
{
    return &g_stats;
}

static hconn *hc_of(const conn *c)
{
    return &g_hc[conn_id(c)];
}

static hreq *rq_of(const conn *c)
{
    return &g_rq[conn_rx_index(c)];
}

static hresp *rs_of(const conn *c)
{
    return &g_rs[conn_tx_index(c)];
}

static const http_service *svc_of(const conn *c)
{
    return (const http_service *)c->lst->ctx;
}

/* ---- responses ------------------------------------------------------------ */

static void resp_finish(conn *c)
{
    hconn *hc = hc_of(c);
    if (hc->resp_on) {
        hresp *rs = rs_of(c);
        if (rs->kind == RS_FILE) {
            port_file_close(rs->file);
            rs->file = PORT_FILE_NONE;
            g_stats.file_streams--;
        }
        rs->kind = RS_NONE;
        hc->resp_on = false;
        conn_tx_pin(c, false);
    }
}

/* Start producing a response into tx (which the caller holds). */
static hresp *resp_start(conn *c, rs_kind kind)
{
    hresp *rs = rs_of(c);
    (void)memset(rs, 0, offsetof(hresp, state));
    rs->kind = kind;
    rs->file = PORT_FILE_NONE;
    hc_of(c)->resp_on = true;
    conn_tx_pin(c, true);
    return rs;
}

/* Chunk header room: 8 hex digits (bodies of any piece size) + CRLF. */
#define CHUNK_HDR 10u
#define CHUNK_TRL 2u

/* Let the producer write pieces into tx while it has room; frame each as a
 * chunk or a WebSocket frame; end the body after the last one. */
static void prod_pump(conn *c, hresp *rs)
{
    for (;;) {
        size_t room = 0u;
        char *p = conn_tx_buf(c, &room);
        size_t hdr = rs->ws ? (size_t)WS_MAX_SERVER_HEADER : CHUNK_HDR;
        size_t trl = rs->ws ? 0u : CHUNK_TRL;
        size_t n;
        bool done = false;
        if (p == NULL) {
            return;
        }
        if (rs->prod_done) {
            if (!rs->end_sent) {
                if (rs->ws) {
                    /* the message ends with an empty final frame */
                    if (room < 2u) {
                        return;
                    }
                    p[0] = (char)(rs->ws_started ? 0x80 : 0x81);
                    p[1] = '\0';
                    conn_tx_ack(c, 2u);
                } else {
                    if (room < 5u) {
                        return;
                    }
                    (void)memcpy(p, "0\r\n\r\n", 5u);
                    conn_tx_ack(c, 5u);
                }
                rs->end_sent = true;
            }
            resp_finish(c);
            return;
        }
        if (room < (hdr + trl + HCTX_PRODUCER_MIN_ROOM)) {
            return;              /* the next drain brings room */
        }
        n = rs->prod(rs->state, p + hdr, room - hdr - trl, &done);
        if (NEVER(n > (room - hdr - trl))) {
            n = 0u;
            done = true;
        }
        if (done) {
            rs->prod_done = true;
        }
        if (n == 0u) {
            if (!done && (conn_tx_pending(c) == 0u)) {
                /* nothing fits even an empty tx: it can never be sent */
                LOG_E("http", "%s: a producer cannot make progress: connection cut",
                      svc_of(c)->family);
                resp_finish(c);
                conn_fail(c, ST_TOOBIG);
                return;
            }
            if (!done) {
                return;          /* wants more room than tx has now */
            }
            continue;
        }
        if (rs->ws) {
            /* the piece that ends the message is its final frame */
            uint8_t fh[WS_MAX_SERVER_HEADER];
            size_t k = ws_frame_header(fh, rs->ws_started ? WS_OP_CONT : WS_OP_TEXT, done,
                                       (uint64_t)n);
            rs->end_sent = done;
            /* move the piece up to sit right behind its header */
            if (k < hdr) {
                (void)memmove(p + k, p + hdr, n);
            }
            (void)memcpy(p, fh, k);
            conn_tx_ack(c, k + n);
            rs->ws_started = true;
        } else {
            (void)fmt_hex_fixed(p, CHUNK_HDR - 2u, (uint64_t)n, CHUNK_HDR - 2u);
            (void)memcpy(p + CHUNK_HDR - 2u, "\r\n", 2u);
            (void)memcpy(p + hdr + n, "\r\n", CHUNK_TRL);
            conn_tx_ack(c, hdr + n + trl);
        }
    }
}

/* The next part of a streaming file body: handed to net as a file segment
 * behind the head (sent with port_send_file, no copy), or, on a port that
 * cannot, read into the free room of tx at each drain; finish when its
 * last byte is on its way. */
static void file_pump(conn *c, hresp *rs)
{
    size_t room = 0u;
    char *p;
    size_t want;
    size_t got = 0u;
    st_t st;
    if (rs->file_left == 0u) {
        resp_finish(c);       /* the segment went: on_drained */
        return;
    }
    if (conn_tx_file(c, rs->file, rs->file_off, rs->file_left) == ST_OK) {
        rs->file_off += rs->file_left;
        rs->file_left = 0u;   /* finished at the drain that follows it */
        return;
    }
    p = conn_tx_buf(c, &room);
    want = (rs->file_left < (uint64_t)room) ? (size_t)rs->file_left : room;
    if ((p == NULL) || (want == 0u)) {
        return;     /* tx is full: the next drain brings room */
    }
    st = port_file_read_at(rs->file, rs->file_off, p, want, &got);
    if ((st != ST_OK) || (got == 0u)) {
        /* Content-Length is already on the wire: the response can only be
         * cut, so the client sees it as incomplete. */
        LOG_W("http", "%s: file body cut after %llu bytes: %s", svc_of(c)->family,
              (unsigned long long)rs->file_off,
              (st != ST_OK) ? status_str(st) : "file shorter than announced");
        g_stats.file_cuts++;
        resp_finish(c);
        conn_fail(c, (st != ST_OK) ? st : ST_IO);
        return;
    }
    conn_tx_ack(c, got);
    rs->file_off += got;
    rs->file_left -= got;
    if (rs->file_left == 0u) {
        resp_finish(c);
    }
}

void hctx_begin(hctx *h, int status)
{
    size_t room = CFG_RENDER_BYTES;
    char *p = h->out_buf;
    bool head = (h->req != NULL) && (h->req->method == HTTP_M_HEAD);
    if (p == NULL) {
        p = conn_tx_buf(h->c, &room);
    }
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

static void stamp_fix(hctx *h)
{
    if (!h->stamped) {
        h->stamped = true;
        h->stamp.wall_us = clock_wall_us();
        h->stamp.spent_us = clock_mono_us() - h->start_us;
        if (uuid_v7(h->stamp.id) != ST_OK) {
            h->stamp.id[0] = '\0';
        }
    }
}

const char *hctx_request_id(hctx *h)
{
    stamp_fix(h);
    return h->stamp.id;
}

uint64_t hctx_wall_us(hctx *h)
{
    stamp_fix(h);
    return h->stamp.wall_us;
}

uint64_t hctx_spent_us(hctx *h)
{
    stamp_fix(h);
    return h->stamp.spent_us;
}

/* The scratch holds a whole response of `total` bytes whose body is the
 * last body_len of them: copy what fits into tx; keep rendering the rest
 * in windows when it does not fit. */
static void render_first(hctx *h, size_t total, size_t body_len)
{
    conn *c = h->c;
    size_t room = 0u;
    char *p = conn_tx_buf(c, &room);
    hresp *rs;
    size_t head_len = total - body_len;
    if (NEVER(p == NULL) || (total <= room)) {
        if (p != NULL) {
            (void)memcpy(p, h->out_buf, total);
            conn_tx_ack(c, total);
        }
        return;
    }
    if ((h->render == NULL) && (h->req != NULL) && (h->req->method != HTTP_M_GET) &&
        (h->req->method != HTTP_M_HEAD) && (conn_tx_pending(c) > 0u) &&
        (total <= (size_t)CFG_BUF_BYTES) && (conn_tx_send_now(c) == 0u)) {
        /* behind answers that have left now: the whole of tx is its room */
        p = conn_tx_buf(c, &room);
        if (ALWAYS((p != NULL) && (total <= room))) {
            (void)memcpy(p, h->out_buf, total);
            conn_tx_ack(c, total);
            return;
        }
    }
    /* Larger than tx's room: the head and the first part of the body now. */
    if ((h->render == NULL) && (h->req != NULL) && (h->req->method != HTTP_M_GET) &&
        (h->req->method != HTTP_M_HEAD)) {
        /* only a safe method may be rendered again by its handler */
        LOG_E("http", "%s: a %d response of %lu bytes is larger than tx and has no "
              "render function (hctx_render): answered 500", h->svc->family,
              h->resp.status, (unsigned long)total);
        h->keep_alive = false;
        h->svc->error(h, 500, "INTERNAL_ERROR", "Internal server error");
        return;
    }
    if (NEVER(head_len >= room)) {
        LOG_E("http", "%s: response head larger than tx", h->svc->family);
        conn_fail(c, ST_TOOBIG);
        return;
    }
    (void)memcpy(p, h->out_buf, room);
    conn_tx_ack(c, room);
    rs = resp_start(c, RS_RENDER);
    rs->render = h->render;
    if ((h->render != NULL) && (h->render_state_len > 0u)) {
        (void)memcpy(rs->state, h->render_state, h->render_state_len);
    }
    rs->keep_alive = h->keep_alive;
    rs->body_len = body_len;
    rs->body_sent = room - head_len;
    rs->hash = strv_fnv1a(h->out_buf + head_len, body_len);
    stamp_fix(h);
    rs->stamp = h->stamp;
    hc_of(c)->phase = HS_RESP;   /* the request stays for the next passes */
}

/* Finish the response in h; false when it did not fit and was replaced by
 * a 500. */
static bool end_response(hctx *h)
{
    size_t total = 0u;
    if (h->rerender) {
        /* a later pass: render_next checks and copies the window */
        h->rerender_done = (h->out_buf != NULL);
        return true;
    }
    if (h->deferred) {
        return false;     /* a handler that answers twice after a deferral */
    }
    if ((resp_end(&h->resp, &total) != ST_OK) && h->retry_ok && (h->out_buf == NULL)) {
        /* Pipelined behind responses still in tx and larger than the room
         * they left: nothing was acknowledged; it runs again once tx has
         * drained (a safe method). */
        h->deferred = true;
        return false;
    }
    if (h->resp.overflow) {
        static const char msg[] = "HTTP/1.1 500 Internal Server Error\r\n"
                                  "Content-Length: 0\r\nConnection: close\r\n\r\n";
        int status = h->resp.status;
        size_t cap = (h->out_buf != NULL) ? (size_t)CFG_RENDER_BYTES : (size_t)CFG_BUF_BYTES;
        LOG_E("http", "%s: response %d does not fit (%lu bytes)", h->svc->family, status,
              (unsigned long)cap);
        h->keep_alive = false;
        h->render = NULL;
        if (status != 500) {
            /* Retry once as the family's 500, which is small. */
            h->svc->error(h, 500, "INTERNAL_ERROR", "Internal server error");
            return false;
        }
        {
            size_t room = 0u;
            char *p = conn_tx_buf(h->c, &room);
            h->out_buf = NULL;
            if ((p != NULL) && (room >= (sizeof(msg) - 1u))) {
                (void)memcpy(p, msg, sizeof(msg) - 1u);
                conn_tx_ack(h->c, sizeof(msg) - 1u);
            }
        }
        return false;
    }
    if (h->out_buf != NULL) {
        size_t body_len = h->resp.head_only ? 0u : h->resp.body_len;
        render_first(h, total, body_len);
        h->out_buf = NULL;
    } else {
        conn_tx_ack(h->c, total);
    }
    return true;
}

void hctx_end(hctx *h)
{
    (void)end_response(h);
}

void hctx_render(hctx *h, hctx_render_fn fn, const void *state, size_t state_len)
{
    if (NEVER(state_len > HCTX_RENDER_STATE_BYTES)) {
        h->svc->error(h, 500, "INTERNAL_ERROR", "Internal server error");
        return;
    }
    if (h->out_buf != NULL) {
        /* a ROUTE_BIG_OUT route: windows can be rendered again */
        h->render = fn;
        h->render_state = state;
        h->render_state_len = state_len;
    }
    fn(h, state);
}

void hctx_end_stream(hctx *h, hctx_producer fn, const void *state, size_t state_len)
{
    bool body = !h->resp.head_only;
    ASSERT(state_len <= HCTX_PRODUCER_STATE_BYTES);
    if (NEVER(state_len > HCTX_PRODUCER_STATE_BYTES)) {
        h->resp.overflow = true;   /* answered as the family's 500 */
        (void)end_response(h);
        return;
    }
    if (h->rerender) {
        return;     /* not what the first pass did: render_next cuts */
    }
    resp_header_cstr(&h->resp, "Transfer-Encoding", "chunked");
    h->resp.no_length = true;
    h->resp.head_only = true;
    h->render = NULL;
    if (end_response(h) && body && !h->c->closing) {
        hresp *rs = resp_start(h->c, RS_PROD);
        rs->prod = fn;
        (void)memcpy(rs->state, state, state_len);
        prod_pump(h->c, rs);
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

void hctx_end_file(hctx *h, port_file f, uint64_t off, uint64_t size)
{
    bool stream = !h->resp.head_only && (size > 0u);
    hresp *rs;
    if (h->rerender) {
        port_file_close(f);
        return;     /* not what the first pass did: render_next cuts */
    }
    ASSERT(!hc_of(h->c)->resp_on);
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
    h->render = NULL;
    if (!end_response(h) || !stream || h->c->closing) {
        port_file_close(f);
        return;
    }
    rs = resp_start(h->c, RS_FILE);
    rs->file = f;
    rs->file_off = off;
    rs->file_left = size;
    g_stats.file_streams++;
    file_pump(h->c, rs);
}

uint32_t hctx_hold(hctx *h)
{
    return conn_tx_hold(h->c);
}

uint32_t hctx_later(hctx *h)
{
    h->later = true;
    return conn_token(h->c);
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

/* The request in rx is over (answered, or its framing lost): give back its
 * body slot; the next head starts from scratch. */
static void reset_request(conn *c)
{
    hconn *hc = hc_of(c);
    if ((hc->phase != HS_HEAD) && (c->rx != NULL)) {
        hreq *rq = rq_of(c);
        if (rq->sink != NULL) {
            /* a streamed body that never reached its end */
            const hctx_sink *sink = rq->sink;
            rq->sink = NULL;
            sink->abort(rq->sink_state);
        }
        if (rq->slot != NULL) {
            pool_put(g_slots, rq->slot);
            rq->slot = NULL;
            rq->slot_len = 0u;
        }
        rq->in_rx = 0u;
    }
    hc->phase = HS_HEAD;
    hc->head_started = false;
    hc->head_seen = 0u;
}

/* The protocol errors that end a connection: fail_status's by status (the
 * first entry of a status), MALFORMED_CHUNK by index. */
typedef struct {
    int status;
    const char *code;
    const char *msg;
} proto_err;

static const proto_err k_proto_err[] = {
    { 400, "VALIDATION_ERROR", "Bad request" },
    { 400, "VALIDATION_ERROR", "Malformed chunked body" },
    { 408, "REQUEST_TIMEOUT", "Request timeout" },
    { 413, "PAYLOAD_TOO_LARGE", "Request body too large" },
    { 414, "URI_TOO_LONG", "Request target too long" },
    { 431, "HEADERS_TOO_LARGE", "Request header fields too large" },
    { 501, "NOT_IMPLEMENTED", "Unsupported transfer coding" },
    { 505, "HTTP_VERSION_NOT_SUPPORTED", "HTTP version not supported" },
    { 503, "SERVICE_UNAVAILABLE", "Service unavailable" },
};
#define MALFORMED_CHUNK 1u
_Static_assert((sizeof(k_proto_err) / sizeof(k_proto_err[0])) < 255u, "hconn.owed is a uint8_t");

/* Answer an error that ends the connection (framing lost or peer
 * misbehaves): k_proto_err[e]. Without a tx buffer (every one lent) the
 * connection is queued for one and stops reading; on_drained answers when
 * it is lent, under the send deadline. */
static void fail_request(conn *c, const http_req *req, size_t e)
{
    size_t room = 0u;
    if (conn_tx_buf(c, &room) != NULL) {
        hctx h;
        hctx_init(&h, c, req);
        h.keep_alive = false;
        /* tx only ever holds whole messages (a response, a 100 Continue), so
         * the error can follow whatever is still pending. */
        h.svc->error(&h, k_proto_err[e].status, k_proto_err[e].code, k_proto_err[e].msg);
        conn_close_after_flush(c);
    } else {
        hc_of(c)->owed = (uint8_t)(e + 1u);
        conn_pause_read(c, true);
    }
    reset_request(c);
    c->rx_len = 0u;
    conn_set_deadline(c, CONN_DL_SEND, CFG_SEND_TIMEOUT_MS);
}

/* A protocol error by its status code (400 for one not in the table). */
static void fail_status(conn *c, const http_req *req, int status)
{
    size_t e = 0u;
    size_t i;
    for (i = 0u; i < (sizeof(k_proto_err) / sizeof(k_proto_err[0])); i++) {
        if (k_proto_err[i].status == status) {
            e = i;
            break;
        }
    }
    fail_request(c, req, e);
}

/* ---- dispatch --------------------------------------------------------------- */

/* The body of the request in rx, for a handler. */
static strv request_body(const conn *c, const hreq *rq)
{
    strv b;
    if (rq->slot != NULL) {
        b.p = rq->slot;
        b.n = rq->slot_len;
    } else {
        b.p = c->rx + rq->req.head_len;
        b.n = rq->in_rx;
    }
    return b;
}

/* The response is all in tx (or on its way from a producer or a file): drop
 * the request's head and the body bytes it kept in rx; bytes of a
 * pipelined request stay. */
static void request_done(conn *c, bool keep_alive)
{
    hreq *rq = rq_of(c);
    size_t consumed = rq->req.head_len + rq->in_rx;
    reset_request(c);
    conn_rx_consume(c, consumed);
    if (hc_of(c)->sub != NULL) {
        return;     /* the stream owns the connection and its deadlines now */
    }
    if (!keep_alive) {
        conn_close_after_flush(c);
    }
    conn_set_deadline(c, CONN_DL_SEND, CFG_SEND_TIMEOUT_MS);
}

/* A method whose handler may run twice (GET, HEAD: windows are rendered by
 * running it again too) and OPTIONS (answered by CORS). */
static bool safe_method(http_method m)
{
    return (m == HTTP_M_GET) || (m == HTTP_M_HEAD) || (m == HTTP_M_OPTIONS);
}

/* Answer the request in rq into tx; false when it was deferred (behind,
 * it did not fit the room the responses before it left: it runs again
 * after the drain). */
static bool dispatch(conn *c, hreq *rq, bool behind)
{
    hctx h;
    const http_service *svc = svc_of(c);
    hctx_init(&h, c, &rq->req);
    h.match = rq->match;
    h.body = request_body(c, rq);
    h.retry_ok = behind && safe_method(rq->req.method);
    g_stats.requests++;
    conn_set_idle(c, false);
    h.routed = (rq->rr == ROUTE_FOUND);
    if (rq->streamed) {
        /* a streamed body ended: its sink answers (authorized at the head) */
        const hctx_sink *sink = rq->sink;
        rq->sink = NULL;
        if (rq->sink_st != ST_OK) {
            h.keep_alive = false;
        }
        if ((rq->match.rt->flags & ROUTE_BIG_OUT) != 0u) {
            h.out_buf = g_render;   /* windows rendered by its hctx_render */
        }
        if (ALWAYS(sink != NULL)) {
            sink->end(&h, rq->sink_state, rq->sink_st);
        }
        h.out_buf = NULL;
    } else if ((svc->intercept != NULL) && svc->intercept(&h)) {
        /* answered: a diagnostic channel (debug builds' /_fault) */
    } else if (cors_preflight(&h)) {
        /* answered */
    } else if (svc->diag_echo && diag_dispatch(&h)) {
        /* answered */
    } else if ((svc->authorize != NULL) &&
               !(h.routed && ((rq->match.rt->flags & ROUTE_OPEN) != 0u)) &&
               !svc->authorize(&h)) {
        /* answered 401 */
    } else if (rq->rr == ROUTE_FOUND) {
        if ((rq->match.rt->flags & ROUTE_BIG_OUT) != 0u) {
            h.out_buf = g_render;
        }
        rq->match.rt->fn(&h);
        h.out_buf = NULL;
    } else if (rq->rr == ROUTE_BAD_PARAM) {
        svc->error(&h, 400, "VALIDATION_ERROR", "Malformed percent-encoding in path");
    } else if ((rq->rr == ROUTE_BAD_METHOD) && !svc->bad_method_is_not_found) {
        h.allow = rq->match.allow;
        svc->error(&h, 405, "METHOD_NOT_ALLOWED", "Method not allowed");
    } else if ((svc->fallback != NULL) &&
               ((rq->req.method == HTTP_M_GET) || (rq->req.method == HTTP_M_HEAD))) {
        svc->fallback(&h);
    } else {
        svc->error(&h, 404, "NOT_FOUND", "Not found");
    }
    if (h.deferred) {
        g_stats.requests--;
        g_stats.pipeline_retries++;
        return false;
    }
    if (h.later && !h.responded) {
        /* answered later (hctx_later): the request stays in rx, tx stays
         * lent and empty, nothing more is read meanwhile */
        (void)resp_start(c, RS_LATER);
        hc_of(c)->phase = HS_RESP;
        g_stats.later++;
        conn_set_deadline(c, CONN_DL_SEND, CFG_SEND_TIMEOUT_MS);
        return true;
    }
    if (!h.responded) {
        LOG_E("http", "%s: handler gave no response", svc->family);
        svc->error(&h, 500, "INTERNAL_ERROR", "Internal server error");
    }
    if (behind) {
        g_stats.pipelined++;
    }
    if (hc_of(c)->phase == HS_RESP) {
        /* rendered in windows: the request stays until the last one */
        conn_set_deadline(c, CONN_DL_SEND, CFG_SEND_TIMEOUT_MS);
        return true;
    }
    request_done(c, h.keep_alive);
    return true;
}


static void on_readable(conn *c);

bool http_answer_later(uint32_t token, hctx_render_fn fn, const void *state)
{
    conn *c = conn_by_token(token);
    hconn *hc;
    hreq *rq;
    hctx h;
    if ((c == NULL) || c->close_after_flush) {
        return false;
    }
    hc = hc_of(c);
    if (!hc->resp_on || (rs_of(c)->kind != RS_LATER) || (hc->sub != NULL) ||
        NEVER(c->rx == NULL)) {
        return false;
    }
    rq = rq_of(c);
    hctx_init(&h, c, &rq->req);
    h.match = rq->match;
    h.body = request_body(c, rq);
    h.routed = true;
    fn(&h, state);
    if (h.later && !h.responded) {
        return true;    /* parked again: a next step of the work */
    }
    if (!h.responded) {
        LOG_E("http", "%s: a later answer gave no response", svc_of(c)->family);
        svc_of(c)->error(&h, 500, "INTERNAL_ERROR", "Internal server error");
    }
    resp_finish(c);
    request_done(c, h.keep_alive);
    (void)conn_tx_send_now(c);
    if (!c->close_after_flush && !c->closing && (conn_tx_pending(c) == 0u)) {
        conn_pause_read(c, false);
        if (c->rx_len > 0u) {
            on_readable(c);     /* a pipelined request behind it */
        }
    }
    return true;
}

/* A route whose answer is rendered into the scratch first (ROUTE_BIG_OUT):
 * what does not fit tx's room goes out in windows, rendered again by a
 * render function (hctx_render) for any method, never by the handler. */
static bool big_out(const hreq *rq)
{
    return (rq->rr == ROUTE_FOUND) && ((rq->match.rt->flags & ROUTE_BIG_OUT) != 0u);
}

/* tx can take the answer of rq now. With nothing pending, any request; a
 * safe one also behind the responses still in tx (*behind) when they left
 * at least PIPE_MIN_ROOM, so that a pipelined burst is answered in one
 * turn and leaves with one send. Any other request (its handler must run
 * exactly once, with the whole of tx as its room) first sends what is
 * pending; false while some of it stays (on_drained comes back). */
static bool tx_ready(conn *c, const hreq *rq, bool *behind)
{
    size_t room = 0u;
    *behind = false;
    if (conn_tx_buf(c, &room) == NULL) {
        return false;   /* queued for a buffer: on_drained follows */
    }
    if (conn_tx_pending(c) == 0u) {
        return true;
    }
    if ((safe_method(rq->req.method) || big_out(rq)) && (room >= PIPE_MIN_ROOM)) {
        *behind = true;
        return true;
    }
    return conn_tx_send_now(c) == 0u;
}

/* Render the response of the request in rx again and copy its next window
 * into tx; the request is done after the last one. */
static void render_next(conn *c, hresp *rs)
{
    hreq *rq = rq_of(c);
    hctx h;
    size_t total = 0u;
    size_t room = 0u;
    size_t n;
    const char *body;
    char *p = conn_tx_buf(c, &room);
    if (p == NULL) {
        return;
    }
    hctx_init(&h, c, &rq->req);
    h.match = rq->match;
    h.body = request_body(c, rq);
    h.keep_alive = rs->keep_alive;
    h.routed = true;
    h.out_buf = g_render;
    h.stamped = true;
    h.stamp = rs->stamp;
    h.rerender = true;
    if (rs->render != NULL) {
        rs->render(&h, rs->state);
    } else {
        rq->match.rt->fn(&h);
    }
    g_stats.renders++;
    if (!h.rerender_done || h.resp.overflow || (resp_end(&h.resp, &total) != ST_OK) ||
        (h.resp.body_len != rs->body_len) || (total < rs->body_len) ||
        (strv_fnv1a(g_render + (total - rs->body_len), rs->body_len) != rs->hash)) {
        LOG_W("http", "%s: a response changed while it was being sent: connection cut",
              svc_of(c)->family);
        g_stats.render_cuts++;
        resp_finish(c);
        conn_fail(c, ST_IO);
        return;
    }
    body = g_render + (total - rs->body_len);
    n = rs->body_len - rs->body_sent;
    if (n > room) {
        n = room;
    }
    (void)memcpy(p, body + rs->body_sent, n);
    conn_tx_ack(c, n);
    rs->body_sent += n;
    if (rs->body_sent == rs->body_len) {
        bool keep = rs->keep_alive;
        resp_finish(c);
        request_done(c, keep);
    }
}

/* ---- body ------------------------------------------------------------------- */

/* The body's stall timer (re)starts: at the head, and whenever body bytes
 * arrive, so a slow body that keeps coming is never cut. */
static void body_deadline(conn *c)
{
    uint32_t ms = svc_of(c)->body_timeout_ms;
    conn_set_deadline(c, CONN_DL_BODY, (ms != 0u) ? (uint64_t)ms : (uint64_t)CFG_BODY_TIMEOUT_MS);
}

/* Move body bytes held in rx into the body slot, keeping any bytes after
 * `body_bytes` (the next request) in rx after the head. */
static bool spill(conn *c, hreq *rq, size_t body_bytes)
{
    char *src = c->rx + rq->req.head_len;
    size_t tail = c->rx_len - rq->req.head_len - body_bytes;
    if (rq->slot == NULL) {
        rq->slot = (char *)pool_get(g_slots);
        if (rq->slot == NULL) {
            g_stats.body_slot_waits++;
            LOG_W("http", "%s: all %u body slots busy, 503", svc_of(c)->family,
                  (unsigned)CFG_BODY_SLOTS);
            fail_status(c, &rq->req, 503);
            return false;
        }
    }
    if (body_bytes > (CFG_BODY_SLOT_BYTES - rq->slot_len)) {
        fail_status(c, &rq->req, 413);
        return false;
    }
    (void)memcpy(rq->slot + rq->slot_len, src, body_bytes);
    rq->slot_len += body_bytes;
    (void)memmove(src, src + body_bytes, tail);
    c->rx_len = (uint32_t)(rq->req.head_len + tail);
    rq->in_rx = 0u;
    return true;
}

/* Content-Length body: true when complete. */
static bool body_fixed(conn *c, hreq *rq)
{
    size_t avail = c->rx_len - rq->req.head_len;
    uint64_t have = (uint64_t)rq->slot_len + rq->in_rx;
    uint64_t want = rq->need - have;
    size_t take = avail - rq->in_rx;
    if (take > want) {
        take = (size_t)want;
    }
    rq->in_rx += take;
    if (((uint64_t)rq->slot_len + rq->in_rx) == rq->need) {
        if (rq->slot != NULL) {
            return spill(c, rq, rq->in_rx);
        }
        return true;
    }
    /* Not complete: if the body cannot complete inside rx, spill now. */
    if ((rq->slot != NULL) ||
        ((rq->req.head_len + rq->need) > (uint64_t)CFG_BUF_BYTES)) {
        (void)spill(c, rq, rq->in_rx);
    }
    return false;
}

/* Chunked body: true when complete. Decoded bytes collect like fixed ones. */
static bool body_chunked(conn *c, hreq *rq)
{
    char *raw = c->rx + rq->req.head_len + rq->in_rx;
    size_t len = c->rx_len - rq->req.head_len - rq->in_rx;
    size_t rest = 0u;
    st_t st;
    if (len == 0u) {
        return false;
    }
    st = http_chunked_decode(&rq->ch, raw, &len, &rest);
    if (st == ST_TOOBIG) {
        fail_status(c, &rq->req, 413);
        return false;
    }
    if (st == ST_BAD) {
        fail_request(c, &rq->req, MALFORMED_CHUNK);
        return false;
    }
    rq->in_rx += len;
    if (st == ST_OK) {
        c->rx_len = (uint32_t)(rq->req.head_len + rq->in_rx + rest);
        if (rq->slot != NULL) {
            return spill(c, rq, rq->in_rx);
        }
        return true;
    }
    c->rx_len = (uint32_t)(rq->req.head_len + rq->in_rx);
    if ((rq->slot != NULL) || (c->rx_len >= ((uint32_t)CFG_BUF_BYTES - 64u))) {
        (void)spill(c, rq, rq->in_rx);
    }
    return false;
}

/* A 100 Continue for a request that expects one, whose body is about to
 * be read and has not started arriving (RFC 9110 10.1.1). */
static void send_continue(conn *c, const hreq *rq)
{
    const http_req *r = &rq->req;
    if (r->expect_continue && (r->chunked || (rq->need > 0u)) && (c->rx_len == r->head_len)) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        size_t room = 0u;
        char *p = conn_tx_buf(c, &room);
        if ((p != NULL) && (room >= (sizeof(cont) - 1u))) {
            (void)memcpy(p, cont, sizeof(cont) - 1u);
            conn_tx_ack(c, sizeof(cont) - 1u);
            g_stats.continues++;
        }
    }
}

/* ---- streamed bodies (ROUTE_STREAM_BODY) ---------------------------------- */

void hctx_take_body(hctx *h, const hctx_sink *sink, void *state)
{
    ASSERT(h->take_ok && (h->sink == NULL) && !h->responded);
    if (NEVER(!h->take_ok)) {
        return;
    }
    h->sink = sink;
    h->sink_state = state;
}

/* The request's body is refused or stopped: nothing more of it is read,
 * and the connection closes after the answer. */
static void stream_stop(conn *c, hreq *rq, st_t st)
{
    rq->sink_st = st;
    rq->body_done = true;
    c->rx_len = (uint32_t)rq->req.head_len;
    rq->in_rx = 0u;
    conn_pause_read(c, true);
}

/* Run the handler of a streamed route at the head (tx in hand): it takes
 * the body, or answers and the body is never read. False when it answered
 * or failed. */
static bool stream_open(conn *c, hreq *rq)
{
    hctx h;
    const http_service *svc = svc_of(c);
    http_req *r = &rq->req;
    hctx_init(&h, c, r);
    h.match = rq->match;
    h.routed = true;
    h.keep_alive = false;      /* an answer here leaves the body unread */
    conn_set_idle(c, false);
    if ((svc->authorize != NULL) && ((rq->match.rt->flags & ROUTE_OPEN) == 0u) &&
        !svc->authorize(&h)) {
        /* answered 401 */
    } else {
        h.take_ok = true;
        rq->match.rt->fn(&h);
        h.take_ok = false;
    }
    if (!h.responded && (h.sink == NULL)) {
        LOG_E("http", "%s: a streamed route neither took its body nor answered", svc->family);
        svc->error(&h, 500, "INTERNAL_ERROR", "Internal server error");
    }
    if (h.responded) {
        /* refused before its body: the body is never read */
        ASSERT(h.sink == NULL);
        g_stats.requests++;
        h.sink = NULL;
        reset_request(c);
        c->rx_len = 0u;
        conn_close_after_flush(c);
        conn_set_deadline(c, CONN_DL_SEND, CFG_SEND_TIMEOUT_MS);
        return false;
    }
    rq->taken = true;
    rq->sink = h.sink;
    rq->sink_state = h.sink_state;
    send_continue(c, rq);
    body_deadline(c);
    return true;
}

/* A Content-Length body read straight into the sink's own buffer, after
 * rx's bytes went (stream_feed): the bytes the last call left unused (in
 * rx, after the head) first, then reads of the socket behind them, up to
 * the read budget or until the socket is empty; what a call leaves unused
 * goes back to rx. True when the body has ended. */
static bool stream_direct(conn *c, hreq *rq)
{
    size_t base = rq->req.head_len;
    size_t budget = CFG_READ_BUDGET_BYTES;
    /* cppcheck-suppress misra-c2012-15.4 ; deviation (MISRA.md): one break per stop reason */
    while (budget > 0u) {
        size_t cap = 0u;
        char *buf = rq->sink->buf(rq->sink_state, &cap);
        size_t keep = rq->in_rx;
        size_t want;
        size_t n = 0u;
        size_t used = 0u;
        bool last;
        st_t st;
        if ((buf == NULL) || (cap <= keep)) {
            break;
        }
        want = cap - keep;
        if ((uint64_t)want > (rq->need - rq->got)) {
            want = (size_t)(rq->need - rq->got);
        }
        (void)memcpy(buf, c->rx + base, keep);
        if (conn_recv_into(c, buf + keep, want, &n) != ST_OK) {
            /* empty, the end of input or a failure: back to the loop;
             * the kept bytes are still in rx */
            break;
        }
        body_deadline(c);        /* progress */
        rq->got += n;
        last = (rq->got == rq->need);
        st = rq->sink->data(rq->sink_state, buf, keep + n, last, &used);
        if (NEVER(used > (keep + n)) || last) {
            used = keep + n;
        }
        rq->in_rx = (keep + n) - used;
        if (rq->in_rx >= ((size_t)CFG_BUF_BYTES - base)) {
            stream_stop(c, rq, ST_TOOBIG);
            return true;
        }
        (void)memcpy(c->rx + base, buf + used, rq->in_rx);
        c->rx_len = (uint32_t)(base + rq->in_rx);
        if (st != ST_OK) {
            stream_stop(c, rq, st);
            return true;
        }
        if (last) {
            rq->body_done = true;
            rq->sink_st = ST_OK;
            return true;
        }
        if ((n < want) || (n >= budget)) {
            budget = 0u;         /* the socket is empty, or enough for one event */
        } else {
            budget -= n;
        }
    }
    return false;
}

/* Hand the body bytes that arrived to the sink. True when the body has
 * ended (complete or stopped): the sink's end runs next. */
static bool stream_feed(conn *c, hreq *rq)
{
    size_t base = rq->req.head_len;
    size_t avail = (size_t)c->rx_len - base;   /* kept bytes, then new raw ones */
    size_t n;
    size_t fresh;
    size_t tail;
    size_t used = 0u;
    bool last;
    st_t st;
    if (rq->req.chunked) {
        size_t len = avail - rq->in_rx;
        size_t rest = 0u;
        st_t dst = ST_AGAIN;
        if (len > 0u) {
            dst = http_chunked_decode(&rq->ch, c->rx + base + rq->in_rx, &len, &rest);
        }
        if ((dst != ST_OK) && (dst != ST_AGAIN)) {
            stream_stop(c, rq, ST_BAD);
            return true;
        }
        fresh = len;
        last = (dst == ST_OK);
        tail = last ? rest : 0u;
        n = rq->in_rx + fresh;
        c->rx_len = (uint32_t)(base + n + tail);
    } else {
        uint64_t want = rq->need - rq->got;
        fresh = avail - rq->in_rx;
        if ((uint64_t)fresh > want) {
            fresh = (size_t)want;
        }
        rq->got += fresh;
        last = (rq->got == rq->need);
        n = rq->in_rx + fresh;
        tail = avail - n;
    }
    if ((fresh == 0u) && !last) {
        return false;
    }
    st = rq->sink->data(rq->sink_state, c->rx + base, n, last, &used);
    if (NEVER(used > n) || last) {
        used = n;
    }
    (void)memmove(c->rx + base, c->rx + base + used, (n - used) + tail);
    c->rx_len -= (uint32_t)used;
    rq->in_rx = n - used;
    if (st != ST_OK) {
        stream_stop(c, rq, st);
        return true;
    }
    if (last) {
        rq->body_done = true;
        rq->sink_st = ST_OK;
        return true;
    }
    if (rq->in_rx >= ((size_t)CFG_BUF_BYTES - base)) {
        /* the sink keeps all rx holds: it can never make progress */
        stream_stop(c, rq, ST_TOOBIG);
        return true;
    }
    if ((rq->sink->buf != NULL) && !rq->req.chunked && (tail == 0u)) {
        return stream_direct(c, rq);
    }
    return false;
}

/* on_readable for a streamed request: its handler at the head once tx is
 * in hand, then the body into the sink. True when the sink's end may run
 * (the body ended); false while it waits (tx, more bytes) or failed. */
static bool stream_body(conn *c, hreq *rq)
{
    if (!rq->taken) {
        bool behind = false;
        if (c->closing || !tx_ready(c, rq, &behind)) {
            conn_pause_read(c, true);
            if (conn_tx_pending(c) > 0u) {
                conn_set_deadline(c, CONN_DL_SEND, CFG_SEND_TIMEOUT_MS);
            }
            return false;
        }
        if (!stream_open(c, rq)) {
            return false;
        }
    }
    if (!rq->body_done) {
        if (c->rx_len > (rq->req.head_len + rq->in_rx)) {
            body_deadline(c);    /* new body bytes: progress */
        }
        if (!stream_feed(c, rq)) {
            if (c->peer_closed && !c->closing && !c->close_after_flush) {
                conn_fail(c, ST_CLOSED);   /* on_close aborts the sink */
            }
            return false;
        }
    }
    return true;
}

/* ---- head ------------------------------------------------------------------- */

/* Returns false when the request failed (already answered). */
static bool start_body(conn *c, hreq *rq)
{
    const http_service *svc = svc_of(c);
    http_req *r = &rq->req;
    rq->limit = svc->max_body;
    if ((rq->rr == ROUTE_FOUND) && ((rq->match.rt->flags & ROUTE_HOOK_BODY) != 0u)) {
        rq->limit = svc->max_hook_body;
    }
    if (rq->limit > CFG_BODY_SLOT_BYTES) {
        rq->limit = CFG_BODY_SLOT_BYTES;
    }
    if (rq->streamed) {
        /* Its handler runs first (stream_open) and takes the body or
         * refuses it; the sink sets the limits. */
        if (r->chunked) {
            http_chunked_init(&rq->ch, UINT64_MAX);
        }
        rq->need = r->has_content_length ? r->content_length : 0u;
        hc_of(c)->phase = HS_BODY;
        body_deadline(c);
        return true;
    }
    if (r->chunked) {
        http_chunked_init(&rq->ch, rq->limit);
    } else if (r->has_content_length && (r->content_length > rq->limit)) {
        fail_status(c, r, 413);
        return false;
    } else {
        rq->need = r->has_content_length ? r->content_length : 0u;
    }
    hc_of(c)->phase = HS_BODY;
    send_continue(c, rq);
    body_deadline(c);
    return true;
}

static bool parse_head(conn *c, hconn *hc)
{
    int status = 400;
    const http_service *svc = svc_of(c);
    hreq *rq = rq_of(c);
    st_t st = ST_AGAIN;
    /* Re-parse only when a new line (or the limit) arrived: a client that
     * sends one byte at a time costs one scan per line, not per byte. */
    if (http_head_worth_parsing(c->rx, hc->head_seen, c->rx_len)) {
        st = http_parse_head(c->rx, c->rx_len, &rq->req, &status);
    }
    hc->head_seen = c->rx_len;
    if (st == ST_AGAIN) {
        if (c->rx_len >= (size_t)CFG_HTTP_MAX_HEAD_BYTES) {
            fail_status(c, NULL, http_head_overflow_status(c->rx, c->rx_len));
        } else if (c->peer_closed) {
            conn_fail(c, ST_CLOSED);
        } else if (!hc->head_started) {
            hc->head_started = true;
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
    rq->limit = 0u;
    rq->need = 0u;
    rq->in_rx = 0u;
    rq->slot = NULL;
    rq->slot_len = 0u;
    rq->body_done = false;
    rq->rr = router_match(&svc->router, rq->req.method, rq->req.path, rq->params,
                          sizeof rq->params, &rq->match);
    rq->streamed = (rq->rr == ROUTE_FOUND) &&
                   ((rq->match.rt->flags & ROUTE_STREAM_BODY) != 0u);
    rq->taken = false;
    rq->sink = NULL;
    rq->sink_state = NULL;
    rq->got = 0u;
    rq->sink_st = ST_OK;
    return start_body(c, rq);
}

static void on_readable(conn *c)
{
    hconn *hc = hc_of(c);
    while (!c->closing && !c->close_after_flush) {
        hreq *rq;
        if (hc->sub != NULL) {
            stream_on_readable(hc->sub);
            return;
        }
        if (hc->resp_on) {
            /* A response is being produced into tx: the requests behind it
             * wait in rx; its body may still be read (behind a 100
             * Continue). */
            if (hc->phase != HS_BODY) {
                conn_pause_read(c, c->rx_len >= (uint32_t)CFG_BUF_BYTES);
                return;
            }
        }
        if (hc->phase == HS_HEAD) {
            if ((c->rx_len == 0u) || !parse_head(c, hc)) {
                /* answers still in tx (held, or the socket full) go first:
                 * net/ closes a half-closed conn once tx is empty */
                if (c->peer_closed && (c->rx_len == 0u) && (conn_tx_pending(c) == 0u)) {
                    conn_fail(c, ST_CLOSED);
                }
                return;
            }
        }
        if (hc->phase != HS_BODY) {
            return;
        }
        rq = rq_of(c);
        if (rq->streamed) {
            if (!stream_body(c, rq)) {
                return;
            }
        } else if (!rq->body_done) {
            if (c->rx_len > (rq->req.head_len + rq->in_rx)) {
                body_deadline(c);    /* new body bytes: progress */
            }
            rq->body_done = rq->req.chunked ? body_chunked(c, rq) : body_fixed(c, rq);
            if (!rq->body_done) {
                if (c->peer_closed && !c->closing && !c->close_after_flush) {
                    conn_fail(c, ST_CLOSED);
                }
                return;
            }
        } else {
            /* complete: it waits for tx */
        }
        {
            bool behind = false;
            if (c->closing || !tx_ready(c, rq, &behind) || !dispatch(c, rq, behind)) {
                /* the request waits in rx for tx (a buffer, or room):
                 * on_drained comes back to it. Waiting for the peer to
                 * read what is pending is the send deadline's to judge. */
                conn_pause_read(c, true);
                if (conn_tx_pending(c) > 0u) {
                    conn_set_deadline(c, CONN_DL_SEND, CFG_SEND_TIMEOUT_MS);
                }
                return;
            }
        }
    }
}

static void on_open(conn *c)
{
    hconn *hc = hc_of(c);
    (void)memset(hc, 0, sizeof *hc);
    /* Not reclaimable yet: its first request may already be in the socket
     * buffer. Only a connection that finished a request and waits for the
     * next one counts as an idle keep-alive. One that sends nothing is
     * closed (silently) after the header timeout. */
    conn_set_idle(c, false);
    conn_set_deadline(c, CONN_DL_IDLE, CFG_HEADER_TIMEOUT_MS);
}

/* A response being produced takes the room tx has again. */
static void resp_pump(conn *c)
{
    hresp *rs = rs_of(c);
    if (rs->kind == RS_PROD) {
        prod_pump(c, rs);
    } else if (rs->kind == RS_FILE) {
        file_pump(c, rs);
    } else if (rs->kind == RS_RENDER) {
        render_next(c, rs);
    } else if (rs->kind == RS_LATER) {
        /* waits for http_answer_later */
    } else {
        resp_finish(c);
    }
}

static void on_drained(conn *c)
{
    hconn *hc = hc_of(c);
    if (hc->owed != 0u) {
        size_t e = (size_t)hc->owed - 1u;   /* a tx buffer for fail_request */
        hc->owed = 0u;
        fail_request(c, NULL, e);
        return;
    }
    if (hc->sub != NULL) {
        if (hc->resp_on) {
            resp_pump(c);       /* the stream's first message */
        }
        if (!hc->resp_on) {
            stream_on_drained(hc->sub);
        }
        return;
    }
    if (hc->resp_on) {
        resp_pump(c);
        conn_set_deadline(c, CONN_DL_SEND, CFG_SEND_TIMEOUT_MS);
        if (http_conn_out_busy(c) || (conn_tx_pending(c) > 0u)) {
            return;     /* more of the response to come */
        }
    }
    if (c->close_after_flush) {
        return;     /* the loop lingers and closes */
    }
    conn_pause_read(c, false);
    if ((hc->phase == HS_HEAD) && (c->rx_len == 0u)) {
        conn_set_idle(c, true);
        conn_set_deadline(c, CONN_DL_IDLE, CFG_IDLE_TIMEOUT_MS);
    } else if ((hc->phase == HS_BODY) && !rq_of(c)->body_done) {
        body_deadline(c);
    } else {
        /* the head timer keeps running */
    }
    if (c->rx_len > 0u) {
        on_readable(c);
    }
}

static void on_deadline(conn *c, conn_deadline which)
{
    hconn *hc = hc_of(c);
    if (hc->sub != NULL) {
        stream_on_deadline(hc->sub);
        return;
    }
    switch (which) {
    case CONN_DL_HEADER:
        fail_status(c, NULL, 408);
        break;
    case CONN_DL_BODY:
        fail_status(c, (c->rx != NULL) ? &rq_of(c)->req : NULL, 408);
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
    hconn *hc = hc_of(c);
    if (hc->sub != NULL) {
        stream_on_close(hc->sub);
        hc->sub = NULL;
    }
    reset_request(c);
    resp_finish(c);
}

static size_t on_refuse(const listener *l, char *buf, size_t cap)
{
    /* The family's 503 body, rendered through its error writer into buf
     * (the render scratch stands in for the tx buffer of a conn that was
     * never made). */
    static conn fake;
    hctx h;
    size_t n;
    (void)memset(&h, 0, sizeof h);
    /* cppcheck-suppress misra-c2012-11.4 ; deviation (MISRA.md): lst is only read */
    fake.lst = (listener *)(uintptr_t)l;
    fake.sock = PORT_SOCK_NONE;   /* not a connection of the loop */
    fake.tx = g_render;
    fake.tx_len = 0u;
    fake.tx_off = 0u;
    h.c = &fake;
    h.svc = (const http_service *)l->ctx;
    h.keep_alive = false;
    h.start_us = clock_mono_us();
    h.svc->error(&h, 503, "SERVICE_UNAVAILABLE", "Service unavailable");
    n = (fake.tx_len < cap) ? fake.tx_len : 0u;
    (void)memcpy(buf, fake.tx, n);
    fake.tx = NULL;
    return n;
}

static void on_stop(conn *c)
{
    hconn *hc = hc_of(c);
    if (hc->sub != NULL) {
        stream_on_stop(hc->sub);
    }
}

static const conn_proto g_proto = {
    on_open, on_readable, on_drained, on_deadline, on_close, on_refuse, on_stop,
};

/* ---- for http/stream.c ------------------------------------------------------ */

void http_conn_attach_stream(conn *c, stream_sub *sub)
{
    hc_of(c)->sub = sub;
}

bool http_conn_out_busy(const conn *c)
{
    return hc_of(c)->resp_on;
}

void http_conn_ws_message(conn *c, hctx_producer fn, const void *state, size_t state_len)
{
    hresp *rs;
    size_t room = 0u;
    ASSERT(!hc_of(c)->resp_on && (state_len <= HCTX_PRODUCER_STATE_BYTES));
    if (NEVER((conn_tx_buf(c, &room) == NULL) || (state_len > HCTX_PRODUCER_STATE_BYTES))) {
        conn_fail(c, ST_FULL);
        return;
    }
    rs = resp_start(c, RS_PROD);
    rs->ws = true;
    rs->prod = fn;
    (void)memcpy(rs->state, state, state_len);
    prod_pump(c, rs);
}

void http_server_init(pool_t *body_slots, char *render)
{
    g_slots = body_slots;
    g_render = render;
    /* Slots are written before they are read: clearing 1 MiB per request
     * would cost more than the request (see bench/README.md). */
    pool_set_zero_prefix(body_slots, 0u);
    (void)memset(&g_stats, 0, sizeof g_stats);
}

size_t http_server_conn_bytes(void)
{
    return sizeof g_hc;
}

size_t http_server_buf_bytes(void)
{
    return (sizeof g_rq) + (sizeof g_rs);
}

char *http_render_scratch(size_t *cap)
{
    *cap = CFG_RENDER_BYTES;
    return g_render;
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
