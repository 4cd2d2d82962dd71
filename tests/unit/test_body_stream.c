/*
 * test_body_stream.c - request bodies streamed to a sink (ROUTE_STREAM_BODY,
 * hctx_take_body), through the real loop and server (tiny buffers:
 * CFG_BUF_BYTES is 2048 here, so a body of a few KiB crosses many reads).
 *
 * The sink here copies what it is given, leaves the last `keep` bytes of
 * each call unused (they must come again, in front of the next ones), and
 * can stop the body at a given byte. What must hold: the sink sees exactly
 * the body, decoded, whatever the split into reads, for Content-Length and
 * chunked bodies; end runs once, after the last byte; the request after it
 * on the same connection is answered; a handler that answers at the head
 * never sees a byte and the connection closes; 100 Continue goes only to a
 * body that was taken; a sink that stops the body, bad chunked framing and
 * a client that leaves each end it exactly once (end or abort).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "t.h"
#include "thttp.h"
#include "tloop.h"

#include "app/pools.h"
#include "core/clock.h"
#include "core/timer.h"
#include "fam/shared/fam.h"
#include "http/server.h"
#include "net/conn.h"

#define BODY_MAX 65536u

static struct {
    char got[BODY_MAX];
    size_t n;
    size_t keep;           /* bytes left unused per call (not with last) */
    size_t stop_at;        /* stop once this many bytes were taken (0: never) */
    unsigned calls;
    unsigned ends;
    unsigned aborts;
    st_t end_st;
    bool last_seen;
} g_sk;

static st_t sk_data(void *state, const char *p, size_t n, bool last, size_t *used)
{
    size_t take = n;
    (void)state;
    g_sk.calls++;
    if (!last && (take > g_sk.keep)) {
        take -= g_sk.keep;
    } else if (!last) {
        take = 0u;
    } else {
        g_sk.last_seen = true;
    }
    if ((g_sk.n + take) <= BODY_MAX) {
        (void)memcpy(g_sk.got + g_sk.n, p, take);
    }
    g_sk.n += take;
    *used = take;
    if ((g_sk.stop_at > 0u) && (g_sk.n >= g_sk.stop_at)) {
        return ST_TOOBIG;
    }
    return ST_OK;
}

static void sk_end(hctx *h, void *state, st_t st)
{
    char b[32];
    size_t k;
    (void)state;
    g_sk.ends++;
    g_sk.end_st = st;
    if (st != ST_OK) {
        fam_fastapi_error(h, (st == ST_TOOBIG) ? 413 : 400, "X", "stopped");
        return;
    }
    k = (size_t)snprintf(b, sizeof b, "%zu", g_sk.n);
    hctx_send(h, 201, "text/plain", b, k);
}

static void sk_abort(void *state)
{
    (void)state;
    g_sk.aborts++;
}

static const hctx_sink k_sink = { sk_data, sk_end, sk_abort, NULL };

/* The sink's own buffer, larger than rx: a Content-Length body is read
 * straight into it once rx's bytes went. */
static char g_own[5000];
static unsigned g_own_calls;

static char *sk_buf(void *state, size_t *cap)
{
    (void)state;
    g_own_calls++;
    *cap = sizeof g_own;
    return g_own;
}

static const hctx_sink k_sink_buf = { sk_data, sk_end, sk_abort, sk_buf };

static void take_route(hctx *h)
{
    hctx_take_body(h, &k_sink, NULL);
}

static void take_buf_route(hctx *h)
{
    hctx_take_body(h, &k_sink_buf, NULL);
}

/* Refuses from the head: the body must never be read. */
static void refuse_route(hctx *h)
{
    fam_fastapi_error(h, 413, "X", "too large");
}

static void small_route(hctx *h)
{
    hctx_send(h, 200, "text/plain", "s", 1u);
}

static const route k_routes[] = {
    { RM(HTTP_M_POST), "/take", take_route, ROUTE_STREAM_BODY },
    { RM(HTTP_M_POST), "/take_buf", take_buf_route, ROUTE_STREAM_BODY },
    { RM(HTTP_M_POST), "/refuse", refuse_route, ROUTE_STREAM_BODY },
    { RM_GET, "/small", small_route, 0u },
};

static http_service g_svc;
static listener *g_l;
static char g_body[BODY_MAX];

static void reset_sink(size_t keep, size_t stop_at)
{
    (void)memset(&g_sk, 0, sizeof g_sk);
    g_sk.keep = keep;
    g_sk.stop_at = stop_at;
    g_sk.end_st = ST_INTERNAL;
}

static void send_all(int s, const char *p, size_t n)
{
    size_t off = 0u;
    while (off < n) {
        ssize_t k = send(s, p + off, n - off, MSG_DONTWAIT);
        if (k > 0) {
            off += (size_t)k;
        } else {
            net_turn(1);
        }
    }
}


/* The peer closed: recv says 0 (or reset) within ms. */
static bool closed_by_server(int s, unsigned ms)
{
    char b[4096];
    uint64_t end = clock_mono_ms() + ms;
    while (clock_mono_ms() < end) {
        ssize_t k;
        net_turn(2);
        k = recv(s, b, sizeof b, MSG_DONTWAIT);
        if (k == 0) {
            return true;
        }
        if ((k < 0) && (errno != EAGAIN) && (errno != EWOULDBLOCK)) {
            return true;
        }
    }
    return false;
}

static void fill_body(size_t n)
{
    size_t i;
    for (i = 0u; i < n; i++) {
        g_body[i] = (char)('a' + (char)(i % 23u));
    }
}

/* A Content-Length body of 300 bytes split into two writes at every byte,
 * a GET behind it in the second write. */
static void fixed_split(const char *path)
{
    char head[256];
    char out[4096];
    size_t hn;
    size_t i;
    const size_t n = 300u;
    fill_body(n);
    hn = (size_t)snprintf(head, sizeof head,
                          "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", path, n);
    for (i = 0u; i <= n; i += 7u) {
        int s = tl_client(g_l);
        static const char next[] = "GET /small HTTP/1.1\r\nHost: x\r\n\r\n";
        reset_sink(i % 5u, 0u);
        send_all(s, head, hn);
        send_all(s, g_body, i);
        tl_pump(5);
        send_all(s, g_body + i, n - i);
        send_all(s, next, sizeof next - 1u);
        (void)tl_drain(s, out, sizeof out, 40);
        T_CHECK(strstr(out, "HTTP/1.1 201") != NULL);
        T_CHECK(strstr(out, "\r\n\r\n300") != NULL);
        T_CHECK(strstr(out, "HTTP/1.1 200") != NULL);
        T_EQ_INT(g_sk.n, n);
        T_CHECK(memcmp(g_sk.got, g_body, n) == 0);
        T_EQ_INT(g_sk.ends, 1u);
        T_EQ_INT(g_sk.aborts, 0u);
        T_CHECK(g_sk.last_seen);
        (void)close(s);
        tl_pump(2);
    }
}

/* The same body chunked (chunks of 37 bytes), the raw bytes split into
 * two writes at every byte. */
static void test_fixed_body_split_at_every_byte(void)
{
    fixed_split("/take");
}

/* The same into the sink's own buffer. */
static void test_fixed_body_split_into_the_sinks_buffer(void)
{
    fixed_split("/take_buf");
}

static void test_chunked_body_split_at_every_byte(void)
{
    static char raw[4096];
    static const char head[] = "POST /take HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    char out[4096];
    size_t rn = 0u;
    size_t off;
    size_t i;
    const size_t n = 300u;
    fill_body(n);
    for (off = 0u; off < n; off += 37u) {
        size_t c = ((n - off) < 37u) ? (n - off) : 37u;
        rn += (size_t)snprintf(raw + rn, sizeof raw - rn, "%zx;ext=1\r\n", c);
        (void)memcpy(raw + rn, g_body + off, c);
        rn += c;
        (void)memcpy(raw + rn, "\r\n", 2u);
        rn += 2u;
    }
    rn += (size_t)snprintf(raw + rn, sizeof raw - rn, "0\r\nTrailer: t\r\n\r\n");
    for (i = 0u; i <= rn; i += 5u) {
        int s = tl_client(g_l);
        reset_sink(i % 3u, 0u);
        send_all(s, head, sizeof head - 1u);
        send_all(s, raw, i);
        tl_pump(5);
        send_all(s, raw + i, rn - i);
        (void)tl_drain(s, out, sizeof out, 30);
        T_CHECK(strstr(out, "HTTP/1.1 201") != NULL);
        T_EQ_INT(g_sk.n, n);
        T_CHECK(memcmp(g_sk.got, g_body, n) == 0);
        T_EQ_INT(g_sk.ends, 1u);
        T_EQ_INT(g_sk.end_st, ST_OK);
        (void)close(s);
        tl_pump(2);
    }
}

/* A body 25 times larger than rx, in odd pieces: all of it, in order. */
static void larger_than_rx(const char *path)
{
    char head[256];
    char out[4096];
    size_t hn;
    size_t off = 0u;
    const size_t n = 50000u;
    int s = tl_client(g_l);
    fill_body(n);
    reset_sink(100u, 0u);
    hn = (size_t)snprintf(head, sizeof head,
                          "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", path, n);
    send_all(s, head, hn);
    while (off < n) {
        size_t k = ((n - off) < 1777u) ? (n - off) : 1777u;
        send_all(s, g_body + off, k);
        off += k;
        net_turn(1);
    }
    (void)tl_drain(s, out, sizeof out, 60);
    T_CHECK(strstr(out, "\r\n\r\n50000") != NULL);
    T_EQ_INT(g_sk.n, n);
    T_CHECK(memcmp(g_sk.got, g_body, n) == 0);
    T_CHECK(g_sk.calls > 10u);
    (void)close(s);
    tl_pump(5);
}

static void test_body_larger_than_rx(void)
{
    larger_than_rx("/take");
}

/* Read into the sink's own buffer: all of it, in order, with the bytes
 * each call leaves unused carried over. */
static void test_body_read_into_the_sinks_buffer(void)
{
    g_own_calls = 0u;
    larger_than_rx("/take_buf");
    T_CHECK(g_own_calls > 0u);
}

/* Refused at the head: no 100 Continue, no byte to a sink, the answer,
 * then the server closes. A taken body with Expect gets its 100. */
static void test_refused_at_head_and_continue(void)
{
    char out[4096];
    int s = tl_client(g_l);
    static const char refuse[] = "POST /refuse HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                                 "Content-Length: 1000000\r\n\r\n";
    static const char take[] = "POST /take HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                               "Content-Length: 3\r\n\r\n";
    reset_sink(0u, 0u);
    send_all(s, refuse, sizeof refuse - 1u);
    (void)tl_drain(s, out, sizeof out, 40);
    T_CHECK(strstr(out, "100 Continue") == NULL);
    T_CHECK(strstr(out, "HTTP/1.1 413") != NULL);
    T_CHECK(strstr(out, "Connection: close") != NULL);
    T_CHECK(closed_by_server(s, 300));
    T_EQ_INT(g_sk.calls, 0u);
    (void)close(s);
    s = tl_client(g_l);
    send_all(s, take, sizeof take - 1u);
    (void)tl_drain(s, out, sizeof out, 30);
    T_CHECK(strstr(out, "HTTP/1.1 100 Continue") != NULL);
    send_all(s, "xyz", 3u);
    (void)tl_drain(s, out, sizeof out, 30);
    T_CHECK(strstr(out, "HTTP/1.1 201") != NULL);
    T_EQ_INT(g_sk.n, 3u);
    (void)close(s);
    tl_pump(5);
}

/* The sink stops the body (reading into its own buffer): end once with
 * its status, nothing more read, closed after the answer. */
static void test_sink_stops_the_body(void)
{
    char head[256];
    char out[4096];
    size_t hn;
    const size_t n = 20000u;
    int s = tl_client(g_l);
    fill_body(n);
    reset_sink(0u, 3000u);
    hn = (size_t)snprintf(head, sizeof head,
                          "POST /take_buf HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n",
                          n);
    send_all(s, head, hn);
    send_all(s, g_body, 8000u);
    (void)tl_drain(s, out, sizeof out, 40);
    T_CHECK(strstr(out, "HTTP/1.1 413") != NULL);
    T_EQ_INT(g_sk.ends, 1u);
    T_EQ_INT(g_sk.end_st, ST_TOOBIG);
    T_EQ_INT(g_sk.aborts, 0u);
    T_CHECK(g_sk.n < 8000u);
    T_CHECK(closed_by_server(s, 300));
    (void)close(s);
    tl_pump(5);
}

/* Malformed chunked framing: end with ST_BAD, 400, closed. */
static void test_bad_chunked_framing(void)
{
    char out[4096];
    int s = tl_client(g_l);
    static const char req[] = "POST /take HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "5\r\nhello\r\nzz\r\n";
    reset_sink(0u, 0u);
    send_all(s, req, sizeof req - 1u);
    (void)tl_drain(s, out, sizeof out, 40);
    T_CHECK(strstr(out, "HTTP/1.1 400") != NULL);
    T_EQ_INT(g_sk.ends, 1u);
    T_EQ_INT(g_sk.end_st, ST_BAD);
    T_CHECK(closed_by_server(s, 300));
    (void)close(s);
    tl_pump(5);
}

/* A client that leaves mid-body (read into the sink's buffer): abort
 * once, end never. */
static void test_client_leaves_mid_body(void)
{
    static const char req[] = "POST /take_buf HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n";
    int s = tl_client(g_l);
    fill_body(1000u);
    reset_sink(0u, 0u);
    send_all(s, req, sizeof req - 1u);
    send_all(s, g_body, 1000u);
    tl_pump(20);
    (void)close(s);
    tl_pump(30);
    T_EQ_INT(g_sk.aborts, 1u);
    T_EQ_INT(g_sk.ends, 0u);
    T_EQ_INT(g_sk.n, 1000u);
}

int main(void)
{
    pools_init();
    timer_init();
    net_init(&pool_conns, &pool_bufs);
    http_server_init(&pool_body_slots, render_scratch);
    if (!th_service("body_stream", &g_svc, k_routes, sizeof k_routes / sizeof k_routes[0],
                    &g_l)) {
        return 1;
    }
    T_RUN(test_fixed_body_split_at_every_byte);
    T_RUN(test_fixed_body_split_into_the_sinks_buffer);
    T_RUN(test_chunked_body_split_at_every_byte);
    T_RUN(test_body_larger_than_rx);
    T_RUN(test_body_read_into_the_sinks_buffer);
    T_RUN(test_refused_at_head_and_continue);
    T_RUN(test_sink_stops_the_body);
    T_RUN(test_bad_chunked_framing);
    T_RUN(test_client_leaves_mid_body);
    return t_done("body_stream");
}
