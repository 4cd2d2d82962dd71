/*
 * test_net.c - the real loop, connection pool and HTTP lifecycle, driven turn
 * by turn in-process with tiny pools (4 connections, 2 body slots, short
 * timeouts), so reclaim, 503 refusal, body-slot exhaustion and the 408
 * deadline run on every test run; tx holds (conn_tx_hold) released in the
 * turn hook, failed, on a half-closed peer, and stale tokens; the turn
 * hook's output sent in its own turn.
 */

#define _DEFAULT_SOURCE
#include <netinet/in.h>
#include <poll.h>
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

static void ok(hctx *h)
{
    char msg[64];
    int k = snprintf(msg, sizeof msg, "{\"body\":%lu}", (unsigned long)h->body.n);
    hctx_send(h, 200, "application/json", msg, (size_t)k);
}

/* 6000 bytes of body: three times the tiny tx buffer. */
static void big(hctx *h)
{
    size_t room = 0u;
    char *p;
    size_t i;
    hctx_begin(h, 200);
    hctx_header(h, "Content-Type", "text/plain");
    p = hctx_body(h, &room);
    for (i = 0u; (i < 6000u) && (i < room); i++) {
        p[i] = (char)('a' + (char)(i % 26u));
    }
    hctx_body_commit(h, 6000u);
    hctx_end(h);
}

/* Five runs of 3000 bytes: 'A'x3000, 'B'x3000, ..., produced in pieces of
 * whatever tx has room for (a run may span pieces). */
typedef struct {
    size_t at;
} parts_state;

static size_t parts(void *state, char *buf, size_t cap, bool *done)
{
    parts_state *st = (parts_state *)state;
    size_t n = 0u;
    while ((n < cap) && (st->at < 15000u)) {
        buf[n] = (char)('A' + (int)(st->at / 3000u));
        n++;
        st->at++;
    }
    *done = (st->at == 15000u);
    return n;
}

static void stream(hctx *h)
{
    parts_state st = { 0u };
    hctx_begin(h, 200);
    hctx_header(h, "Content-Type", "text/plain");
    hctx_end_stream(h, parts, &st, sizeof st);
}

/* 300 000 bytes in parts: more than the kernel buffers of a client that
 * does not read, so its tx stays lent. */
typedef struct {
    size_t sent;
} flood_state;

#define FLOOD_BYTES 2000000u

static size_t flood(void *state, char *buf, size_t cap, bool *done)
{
    flood_state *st = (flood_state *)state;
    size_t n = FLOOD_BYTES - st->sent;
    if (n > cap) {
        n = cap;
    }
    (void)memset(buf, 'f', n);
    st->sent += n;
    *done = (st->sent == FLOOD_BYTES);
    return n;
}

static void flood_route(hctx *h)
{
    flood_state st = { 0u };
    hctx_begin(h, 200);
    hctx_header(h, "Content-Type", "text/plain");
    hctx_end_stream(h, flood, &st, sizeof st);
}

/* 6000 bytes whose letters change at every render: a response that is
 * never the same twice. */
static unsigned g_unstable_calls;

static void unstable(hctx *h)
{
    size_t room = 0u;
    char *p;
    g_unstable_calls++;
    hctx_begin(h, 200);
    hctx_header(h, "Content-Type", "text/plain");
    p = hctx_body(h, &room);
    if (room >= 6000u) {
        (void)memset(p, (int)('a' + (char)(g_unstable_calls % 26u)), 6000u);
    }
    hctx_body_commit(h, 6000u);
    hctx_end(h);
}

/* Answers 200 but holds it (hctx_hold); the token waits in g_held. */
static uint32_t g_held[4];
static size_t g_nheld;

static void held(hctx *h)
{
    uint32_t t = hctx_hold(h);
    if (g_nheld < (sizeof g_held / sizeof g_held[0])) {
        g_held[g_nheld] = t;
        g_nheld++;
    }
    hctx_send(h, 200, "application/json", "{\"held\":true}", 13u);
}

/* The turn hook of the hold tests: releases every held answer with
 * g_hook_ok, as the app's hook does after its commit. */
static bool g_hook_ok;
static unsigned g_hook_runs;

static void release_hook(void)
{
    size_t i;
    g_hook_runs++;
    for (i = 0u; i < g_nheld; i++) {
        conn_tx_release(g_held[i], g_hook_ok);
    }
    g_nheld = 0u;
}

/* Answers, and keeps its conn for a turn hook that writes to it (as
 * http/stream's hook does to a subscriber). */
static conn *g_kept;

static void keep(hctx *h)
{
    g_kept = h->c;
    hctx_send(h, 200, "text/plain", "kept", 4u);
}

static void write_hook(void)
{
    size_t room = 0u;
    char *p = conn_tx_buf(g_kept, &room);
    if ((p != NULL) && (room >= 5u)) {
        (void)memcpy(p, "hook!", 5u);
        conn_tx_ack(g_kept, 5u);
    }
}

static const route k_routes[] = {
    { RM_GET, "/held", held, 0u },
    { RM_GET, "/keep", keep, 0u },
    { RM_GET, "/unstable", unstable, ROUTE_BIG_OUT },
    { RM_GET, "/stream", stream, ROUTE_BIG_OUT },
    { RM_GET, "/flood", flood_route, 0u },
    { RM_GET | RM(HTTP_M_POST), "/ok", ok, 0u },
    { RM_GET, "/big", big, ROUTE_BIG_OUT },
};

static http_service g_svc;
static const size_t n_big = 6000u;
static listener *g_l;

static void pump(unsigned ms)
{
    tl_pump(ms);
}

static int client(void)
{
    return tl_client(g_l);
}

static void say(int s, const char *txt)
{
    T_CHECK(send(s, txt, strlen(txt), 0) == (ssize_t)strlen(txt));
}

/* Everything the server sent so far (after pumping). -1 if closed with nothing. */
static ssize_t hear(int s, char *buf, size_t cap, unsigned ms)
{
    ssize_t got = 0;
    pump(ms);
    for (;;) {
        ssize_t r = recv(s, buf + got, cap - 1u - (size_t)got, MSG_DONTWAIT);
        if (r <= 0) {
            if ((r == 0) && (got == 0)) {
                got = -1;
            }
            break;
        }
        got += r;
    }
    buf[(got > 0) ? got : 0] = '\0';
    return got;
}

static void test_basic(void)
{
    char buf[4096];
    int s = client();
    say(s, "GET /ok HTTP/1.1\r\nHost: t\r\n\r\n");
    T_CHECK(hear(s, buf, sizeof buf, 30) > 0);
    T_CHECK(strstr(buf, "HTTP/1.1 200 OK\r\n") == buf);
    T_CHECK(strstr(buf, "{\"body\":0}") != NULL);
    close(s);
    pump(20);
}

static void test_reclaim_idle(void)
{
    char buf[4096];
    int s[4];
    int extra;
    int i;
    uint64_t reclaimed = net_stats()->reclaimed;
    for (i = 0; i < 4; i++) {
        s[i] = client();
        say(s[i], "GET /ok HTTP/1.1\r\nHost: t\r\n\r\n");
        T_CHECK(hear(s[i], buf, sizeof buf, 20) > 0);
    }
    T_EQ_INT(net_conns_used(), 4);
    extra = client();
    say(extra, "GET /ok HTTP/1.1\r\nHost: t\r\n\r\n");
    T_CHECK(hear(extra, buf, sizeof buf, 30) > 0);
    T_CHECK(strstr(buf, "HTTP/1.1 200 OK\r\n") == buf);
    T_EQ_INT(net_stats()->reclaimed, reclaimed + 1u);
    /* the oldest idle one was closed */
    T_EQ_INT(hear(s[0], buf, sizeof buf, 10), -1);
    for (i = 0; i < 4; i++) {
        close(s[i]);
    }
    close(extra);
    pump(30);
    T_EQ_INT(net_conns_used(), 0);
}

static void test_refuse_when_busy(void)
{
    char buf[4096];
    int s[4];
    int extra;
    int i;
    uint64_t refused = net_stats()->refused;
    for (i = 0; i < 4; i++) {
        s[i] = client();
        say(s[i], "GET /ok HTTP/1.1\r\n");   /* head incomplete: busy */
    }
    pump(20);
    extra = client();
    T_CHECK(hear(extra, buf, sizeof buf, 20) > 0);
    T_CHECK(strstr(buf, "HTTP/1.1 503 ") == buf);
    T_CHECK(strstr(buf, "Retry-After: 1\r\n") != NULL);
    T_EQ_INT(net_stats()->refused, refused + 1u);
    close(extra);
    for (i = 0; i < 4; i++) {
        close(s[i]);
    }
    pump(30);
    T_EQ_INT(net_conns_used(), 0);
}

static void test_body_slots_exhausted(void)
{
    char buf[4096];
    int s[3];
    int i;
    /* 6000 bytes do not fit in a 2048-byte rx: each body needs a slot. */
    for (i = 0; i < 3; i++) {
        s[i] = client();
        say(s[i], "POST /ok HTTP/1.1\r\nHost: t\r\nContent-Length: 6000\r\n\r\nabc");
        pump(20);
    }
    T_EQ_INT(pool_body_slots.used, 2);
    T_CHECK(hear(s[2], buf, sizeof buf, 20) > 0);
    T_CHECK(strstr(buf, "HTTP/1.1 503 ") == buf);
    /* the first completes once the rest of its body arrives */
    {
        char body[5997];
        memset(body, 'x', sizeof body);
        T_CHECK(send(s[0], body, sizeof body, 0) == (ssize_t)sizeof body);
    }
    T_CHECK(hear(s[0], buf, sizeof buf, 40) > 0);
    T_CHECK(strstr(buf, "{\"body\":6000}") != NULL);
    for (i = 0; i < 3; i++) {
        close(s[i]);
    }
    pump(30);
    T_EQ_INT(pool_body_slots.used, 0);
    T_EQ_INT(net_conns_used(), 0);
}

static void test_header_timeout(void)
{
    char buf[4096];
    int s = client();
    say(s, "GET /ok HT");
    T_CHECK(hear(s, buf, sizeof buf, 300) > 0);
    T_CHECK(strstr(buf, "HTTP/1.1 408 ") == buf);
    T_CHECK(strstr(buf, "Connection: close\r\n") != NULL);
    close(s);
    pump(20);
}

static void test_idle_timeout(void)
{
    char buf[4096];
    int s = client();
    say(s, "GET /ok HTTP/1.1\r\nHost: t\r\n\r\n");
    T_CHECK(hear(s, buf, sizeof buf, 20) > 0);
    /* idle longer than CFG_IDLE_TIMEOUT_MS: closed without a response */
    T_EQ_INT(hear(s, buf, sizeof buf, 600), -1);
    close(s);
    pump(20);
    T_EQ_INT(net_conns_used(), 0);
}

static bool body_is_alphabet(const char *resp, size_t n)
{
    const char *b = strstr(resp, "\r\n\r\n");
    size_t i;
    if ((b == NULL) || ((size_t)((resp + n) - (b + 4)) != n_big)) {
        return false;
    }
    b += 4;
    for (i = 0u; i < n_big; i++) {
        if (b[i] != (char)('a' + (char)(i % 26u))) {
            return false;
        }
    }
    return true;
}

static void test_big_response_rendered_in_windows(void)
{
    static char buf[16384];
    int s = client();
    ssize_t n;
    /* pipelined: the second request waits until the first is fully out */
    say(s, "GET /big HTTP/1.1\r\nHost: t\r\n\r\nGET /ok HTTP/1.1\r\nHost: t\r\n\r\n");
    n = hear(s, buf, sizeof buf, 60);
    T_CHECK(n > 6000);
    T_CHECK(strstr(buf, "Content-Length: 6000\r\n") != NULL);
    {
        const char *second = strstr(buf, "{\"body\":0}");
        T_CHECK(second != NULL);
        if (second != NULL) {
            const char *next = strstr(buf + 1, "HTTP/1.1 200");
            T_CHECK((next != NULL) && body_is_alphabet(buf, (size_t)(next - buf)));
        }
    }
    T_EQ_INT(pool_bufs.used, 0);     /* nothing lent to an idle keep-alive */
    close(s);
    pump(20);
}

static void test_big_response_with_connection_close(void)
{
    static char buf[16384];
    int s = client();
    ssize_t n;
    say(s, "GET /big HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    n = hear(s, buf, sizeof buf, 60);
    T_CHECK((n > 0) && body_is_alphabet(buf, (size_t)n));
    T_EQ_INT(pool_bufs.used, 0);
    close(s);
    pump(20);
}

/* Decode a chunked body at b (n bytes); false if malformed. */
static bool dechunk(const char *b, size_t n, char *out, size_t cap, size_t *outn)
{
    size_t i = 0u;
    *outn = 0u;
    for (;;) {
        unsigned long sz = 0u;
        while ((i < n) && (b[i] != '\r')) {
            char ch = b[i++];
            sz = (sz * 16u) + (unsigned long)((ch <= '9') ? (ch - '0') : ((ch | 0x20) - 'a' + 10));
        }
        if ((i + 2u > n) || (b[i + 1u] != '\n')) {
            return false;
        }
        i += 2u;
        if (sz == 0u) {
            return (i + 2u == n) && (b[i] == '\r');
        }
        if ((i + sz + 2u > n) || (*outn + sz > cap)) {
            return false;
        }
        (void)memcpy(out + *outn, b + i, sz);
        *outn += sz;
        i += sz + 2u;
    }
}

static void test_streamed_body_in_chunks(void)
{
    static char buf[32768];
    static char body[16384];
    size_t bn = 0u;
    int s = client();
    ssize_t n;
    const char *b;
    size_t i;
    say(s, "GET /stream HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    n = hear(s, buf, sizeof buf, 80);
    T_CHECK(n > 0);
    T_CHECK(strstr(buf, "Transfer-Encoding: chunked\r\n") != NULL);
    T_CHECK(strstr(buf, "Content-Length") == NULL);
    b = strstr(buf, "\r\n\r\n");
    T_CHECK((b != NULL) && dechunk(b + 4, (size_t)((buf + n) - (b + 4)), body, sizeof body, &bn));
    T_EQ_INT(bn, 15000);
    for (i = 0u; (i < bn) && (i < 15000u); i++) {
        if (body[i] != (char)('A' + (int)(i / 3000u))) {
            T_CHECK(false);
            break;
        }
    }
    T_EQ_INT(pool_bufs.used, 0);
    close(s);
    pump(20);
}

/* A rendered response whose body differs between its windows is cut: the
 * client gets the head and the first window, then the close, never a mix. */
static void test_render_changed_between_windows_cuts(void)
{
    static char buf[16384];
    uint64_t cuts = http_stats()->render_cuts;
    int s = client();
    ssize_t n;
    const char *body;
    say(s, "GET /unstable HTTP/1.1\r\nHost: t\r\n\r\n");
    n = hear(s, buf, sizeof buf, 60);
    T_CHECK(n > 0);
    T_CHECK(strstr(buf, "Content-Length: 6000\r\n") != NULL);
    body = strstr(buf, "\r\n\r\n");
    T_CHECK((body != NULL) && ((size_t)((buf + n) - (body + 4)) < 6000u));
    T_EQ_INT(http_stats()->render_cuts, cuts + 1u);
    T_EQ_INT(hear(s, buf, sizeof buf, 20), -1);      /* closed */
    close(s);
    pump(20);
    T_EQ_INT(pool_bufs.used, 0);
    T_EQ_INT(net_conns_used(), 0);
}

/* Read from s without blocking: bytes appended to *got (counted only). */
static size_t drain_some(int s, size_t max, bool *closed)
{
    static char sink[65536];
    size_t total = 0u;
    while (total < max) {
        size_t want = ((max - total) < sizeof sink) ? (max - total) : sizeof sink;
        ssize_t r = recv(s, sink, want, MSG_DONTWAIT);
        if (r <= 0) {
            if (r == 0) {
                *closed = true;
            }
            break;
        }
        total += (size_t)r;
    }
    return total;
}

/* Four connections, four buffers (one kept for tx): each asks for a body
 * far larger than the kernel buffers and then, pipelined, for /ok, and
 * reads nothing at first. Every buffer ends up lent, reads wait for rx,
 * and yet, read a little at a time, every connection gets both answers
 * whole, and the pool and its queues are back to empty afterwards. */
static void test_buffer_pool_exhaustion(void)
{
    int c[CFG_MAX_CONNS];
    size_t got[CFG_MAX_CONNS];
    bool closed[CFG_MAX_CONNS];
    size_t i;
    unsigned rounds;
    uint64_t rx_waits0 = net_stats()->rx_waits;
    size_t want = 0u;
    for (i = 0u; i < (size_t)CFG_MAX_CONNS; i++) {
        struct sockaddr_in a;
        int small = 4096;
        c[i] = socket(AF_INET, SOCK_STREAM, 0);
        (void)setsockopt(c[i], SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_port = htons(g_l->port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        T_CHECK(connect(c[i], (struct sockaddr *)&a, sizeof a) == 0);
        pump(10);
        got[i] = 0u;
        closed[i] = false;
        say(c[i], "GET /flood HTTP/1.1\r\nHost: t\r\n\r\n");
        pump(5);
    }
    pump(50);
    /* each flood holds its tx; the last request finds no rx (the reserve
     * is lent only as tx) and waits */
    T_EQ_INT(pool_bufs.used, CFG_BUFS - CFG_BUF_TX_RESERVE);
    T_CHECK(net_stats()->rx_waits > rx_waits0);
    T_EQ_INT(net_stats()->rx_queue, 1);
    for (i = 0u; i < (size_t)CFG_MAX_CONNS; i++) {
        say(c[i], "GET /ok HTTP/1.1\r\nHost: t\r\n\r\n");
    }
    pump(50);
    T_EQ_INT(pool_bufs.used, CFG_BUFS - CFG_BUF_TX_RESERVE);
    /* the answers: a chunked flood, then {"body":0} */
    for (rounds = 0u; rounds < 20000u; rounds++) {
        bool all = true;
        for (i = 0u; i < (size_t)CFG_MAX_CONNS; i++) {
            got[i] += drain_some(c[i], 65536u, &closed[i]);
        }
        net_turn(1);
        for (i = 0u; i < (size_t)CFG_MAX_CONNS; i++) {
            if (got[i] < FLOOD_BYTES + 200u) {
                all = false;
            }
        }
        if (all) {
            break;
        }
    }
    pump(20);
    for (i = 0u; i < (size_t)CFG_MAX_CONNS; i++) {
        got[i] += drain_some(c[i], 1u << 20, &closed[i]);
        if (want == 0u) {
            want = got[i];
        }
        /* the same bytes for everyone: both answers, whole */
        T_EQ_INT(got[i], want);
        T_CHECK(!closed[i]);
    }
    T_CHECK(want > FLOOD_BYTES + 100u);
    T_EQ_INT(pool_bufs.used, 0);
    T_EQ_INT(net_stats()->rx_queue, 0);
    T_EQ_INT(net_stats()->tx_queue, 0);
    for (i = 0u; i < (size_t)CFG_MAX_CONNS; i++) {
        close(c[i]);
    }
    pump(20);
    T_EQ_INT(net_conns_used(), 0);
}

static void test_oversize_chunked(void)
{
    char buf[4096];
    int s = client();
    /* 9000 decoded bytes > the 8192-byte body slot */
    say(s, "POST /ok HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2328\r\n");
    {
        char chunk[9000];
        memset(chunk, 'y', sizeof chunk);
        (void)send(s, chunk, sizeof chunk, 0);
    }
    T_CHECK(hear(s, buf, sizeof buf, 60) > 0);
    T_CHECK(strstr(buf, "HTTP/1.1 413 ") == buf);
    close(s);
    pump(30);
    T_EQ_INT(pool_body_slots.used, 0);
}

/* ---- watched sockets (net_watch) ---------------------------------------- */

static int g_fired;
static uint32_t g_got;

static void on_watch(void *ctx, port_sock s, uint32_t got)
{
    char buf[16];
    (void)ctx;
    g_fired++;
    g_got = got;
    if ((got & PORT_EV_IN) != 0u) {
        (void)recv(s, buf, sizeof buf, MSG_DONTWAIT);
    }
}

/* A callback that unwatches its own socket: it must not run again. */
static void on_watch_once(void *ctx, port_sock s, uint32_t got)
{
    (void)ctx;
    (void)got;
    g_fired++;
    net_unwatch(s);
}

static void test_watched_sockets(void)
{
    int a[2];
    int b[2];
    int fill[CFG_NET_WATCHES + 1];
    uint32_t nfill;
    uint32_t i;
    T_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, a) == 0);
    T_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, b) == 0);
    g_fired = 0;
    T_EQ_INT(net_watch(a[0], PORT_EV_IN, on_watch, NULL), ST_OK);
    pump(20);
    T_EQ_INT(g_fired, 0);                         /* nothing to read yet */
    T_CHECK(write(a[1], "x", 1) == 1);
    pump(20);
    T_CHECK(g_fired >= 1);
    T_CHECK((g_got & PORT_EV_IN) != 0u);
    /* change what is wanted: a socketpair end is always writable */
    g_fired = 0;
    T_EQ_INT(net_watch(a[0], PORT_EV_OUT, on_watch, NULL), ST_OK);
    T_EQ_INT(net_watches_used(), 1);
    pump(10);
    T_CHECK(g_fired >= 1);
    T_CHECK((g_got & PORT_EV_OUT) != 0u);
    /* the table is full at CFG_NET_WATCHES (quiet socket pairs fill what
     * is left); bad arguments are refused */
    T_EQ_INT(net_watch(a[1], PORT_EV_IN, on_watch, NULL), ST_OK);
    T_EQ_INT(net_watch(b[0], PORT_EV_OUT, on_watch_once, NULL), ST_OK);
    nfill = 0u;
    while (net_watches_used() < (uint32_t)CFG_NET_WATCHES) {
        if ((nfill % 2u) == 0u) {
            T_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, &fill[nfill]) == 0);
        }
        T_EQ_INT(net_watch(fill[nfill], PORT_EV_IN, on_watch, NULL), ST_OK);
        nfill++;
    }
    T_EQ_INT(net_watch(b[1], PORT_EV_IN, on_watch, NULL), ST_FULL);
    T_EQ_INT(net_watch(PORT_SOCK_NONE, PORT_EV_IN, on_watch, NULL), ST_INVAL);
    T_EQ_INT(net_watch(b[1], PORT_EV_IN, NULL, NULL), ST_INVAL);
    for (i = 0u; i < nfill; i++) {
        net_unwatch(fill[i]);
    }
    for (i = 0u; i < ((nfill + 1u) & ~1u); i++) {
        close(fill[i]);
    }
    net_unwatch(a[1]);
    net_unwatch(a[0]);
    /* a callback that unwatches itself runs once */
    g_fired = 0;
    pump(30);
    T_EQ_INT(g_fired, 1);
    T_EQ_INT(net_watches_used(), 0);
    T_EQ_INT(net_watch(b[1], PORT_EV_IN, on_watch, NULL), ST_OK);
    T_EQ_INT(net_watch(b[1], 0u, on_watch, NULL), ST_OK);   /* want 0 removes */
    T_EQ_INT(net_watches_used(), 0);
    T_EQ_INT(net_watches_high(), CFG_NET_WATCHES);
    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(b[1]);
}

/* A slot freed at the top of a turn and taken again there (a parked
 * connection adopted) while the freed conn is still on the list of conns
 * whose interest must be brought up to date: the other conns on that list
 * still get their interest updated (debug builds check every conn after
 * the flush), and every client is answered. */
static void test_slot_reused_at_the_top_of_a_turn(void)
{
    char buf[4096];
    int s[4];
    int extra;
    int i;
    struct linger lg = { 1, 0 };
    for (i = 0; i < 4; i++) {
        s[i] = client();
        say(s[i], "GET /ok HTTP/1.1\r\nHost: t\r\n\r\n");
        T_CHECK(hear(s[i], buf, sizeof buf, 20) > 0);
    }
    T_EQ_INT(net_conns_used(), 4);
    /* in one turn: s[2] sends a request (dirty), s[3] resets (its conn is
     * dirty and closing), a new client arrives to a full pool (the
     * oldest idle conn is reclaimed, the new socket parked) */
    say(s[2], "GET /ok HTTP/1.1\r\nHost: t\r\n\r\n");
    usleep(5000);
    (void)setsockopt(s[3], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(s[3]);
    extra = client();
    usleep(20000);
    net_turn(0);
    net_turn(0);
    say(extra, "GET /ok HTTP/1.1\r\nHost: t\r\n\r\n");
    T_CHECK(hear(s[2], buf, sizeof buf, 40) > 0);
    T_CHECK(strstr(buf, "HTTP/1.1 200 OK\r\n") == buf);
    T_CHECK(hear(extra, buf, sizeof buf, 40) > 0);
    T_CHECK(strstr(buf, "HTTP/1.1 200 OK\r\n") == buf);
    /* the conns left still answer */
    say(s[1], "GET /ok HTTP/1.1\r\nHost: t\r\n\r\n");
    T_CHECK(hear(s[1], buf, sizeof buf, 40) > 0);
    for (i = 0; i < 3; i++) {
        close(s[i]);
    }
    close(extra);
    pump(30);
}

/* Out of descriptors: accept fails with EMFILE. The listener pauses for
 * CFG_ACCEPT_PAUSE_MS at a time instead of waking the loop at every turn
 * (the backlog stays readable), each pause is counted, and once accept
 * works again the waiting client is served. */
static void test_accept_pause_does_not_spin(void)
{
    char buf[4096];
    uint64_t pauses = net_stats()->accept_pauses;
    uint64_t turns;
    uint64_t fired;
    int s;
    T_EQ_INT(port_fault_arm("accept", 1u, true, "EMFILE"), ST_OK);
    s = client();
    say(s, "GET /ok HTTP/1.1\r\nHost: t\r\n\r\n");
    turns = net_stats()->turns;
    {
        /* the loop waits as long as it may: no timer, nothing else to do */
        uint64_t end = clock_mono_ms() + 350u;
        while (clock_mono_ms() < end) {
            net_turn(1000);
        }
    }
    fired = port_fault_fired();
    port_fault_disarm();
    /* 350 ms: about 4 pauses of 100 ms, a handful of turns per pause */
    T_CHECK(fired >= 2u);
    T_CHECK(fired <= 6u);
    T_EQ_INT(net_stats()->accept_pauses - pauses, fired);
    T_CHECK((net_stats()->turns - turns) < 60u);
    T_CHECK(hear(s, buf, sizeof buf, 400) > 0);
    T_CHECK(strstr(buf, "HTTP/1.1 200 OK\r\n") == buf);
    close(s);
    pump(30);
}

/* ---- tx holds ---------------------------------------------------------- */

/* A held answer is not sent, however long the loop turns; a pipelined
 * request behind it is answered behind it, held with it; released in the
 * turn hook, both leave in that same turn, in order. */
static void test_hold_release(void)
{
    char buf[4096];
    int s = client();
    unsigned runs;
    say(s, "GET /held HTTP/1.1\r\nHost: t\r\n\r\nGET /ok HTTP/1.1\r\nHost: t\r\n\r\n");
    T_EQ_INT(hear(s, buf, sizeof buf, 30), 0);        /* nothing yet */
    T_EQ_INT(g_nheld, 1);
    T_CHECK(g_held[0] != CONN_HOLD_NONE);
    T_EQ_INT(net_tx_holds(), 1);
    g_hook_ok = true;
    runs = g_hook_runs;
    net_set_turn_hook(release_hook);
    net_turn(0);                                      /* one turn: the hook releases */
    net_set_turn_hook(NULL);
    T_EQ_INT(g_hook_runs, runs + 1u);
    T_EQ_INT(net_tx_holds(), 0);
    {
        ssize_t r = recv(s, buf, sizeof buf - 1u, MSG_DONTWAIT);   /* sent in that turn */
        const char *held_at;
        const char *ok_at;
        T_CHECK(r > 0);
        buf[(r > 0) ? r : 0] = '\0';
        T_CHECK(strstr(buf, "HTTP/1.1 200 OK\r\n") == buf);
        held_at = strstr(buf, "{\"held\":true}");
        ok_at = strstr(buf, "{\"body\":0}");
        T_CHECK((held_at != NULL) && (ok_at != NULL) && (held_at < ok_at));
    }
    T_EQ_INT(hear(s, buf, sizeof buf, 30), 0);        /* nothing more */
    close(s);
    pump(30);
    T_EQ_INT(net_conns_used(), 0);
}

/* Released with !ok: the held answer is never sent, the connection closes. */
static void test_hold_release_fails(void)
{
    char buf[4096];
    int s = client();
    say(s, "GET /held HTTP/1.1\r\nHost: t\r\n\r\n");
    T_EQ_INT(hear(s, buf, sizeof buf, 30), 0);
    g_hook_ok = false;
    net_set_turn_hook(release_hook);
    net_turn(0);
    net_set_turn_hook(NULL);
    T_EQ_INT(hear(s, buf, sizeof buf, 30), -1);       /* closed, nothing said */
    T_EQ_INT(net_tx_holds(), 0);
    close(s);
    pump(30);
    T_EQ_INT(net_conns_used(), 0);
}

/* The peer half-closes while its answer is held: the answer still goes
 * once released, then the connection closes. */
static void test_hold_peer_half_closes(void)
{
    char buf[4096];
    int s = client();
    say(s, "GET /held HTTP/1.1\r\nHost: t\r\n\r\n");
    pump(20);
    T_CHECK(shutdown(s, SHUT_WR) == 0);
    T_EQ_INT(hear(s, buf, sizeof buf, 30), 0);
    T_EQ_INT(net_conns_used(), 1);                    /* kept for its answer */
    g_hook_ok = true;
    net_set_turn_hook(release_hook);
    net_turn(0);
    net_set_turn_hook(NULL);
    T_CHECK(hear(s, buf, sizeof buf, 30) > 0);
    T_CHECK(strstr(buf, "HTTP/1.1 200 OK\r\n") == buf);
    T_EQ_INT(hear(s, buf, sizeof buf, 30), -1);       /* then closed */
    close(s);
    pump(30);
    T_EQ_INT(net_conns_used(), 0);
}

/* A token outlives its conn harmlessly: the peer reset while its answer
 * was held and the conn closed (here at its send deadline: nothing
 * released it) with its hold, a new conn took the slot; releasing the old
 * token, even as a failure, touches nothing, and neither do CONN_HOLD_NONE
 * or an index out of range. */
static void test_hold_stale_token(void)
{
    char buf[4096];
    struct linger lg = { 1, 0 };
    uint32_t old;
    uint32_t cur;
    int a = client();
    int b;
    say(a, "GET /held HTTP/1.1\r\nHost: t\r\n\r\n");
    pump(20);
    T_EQ_INT(g_nheld, 1);
    old = g_held[0];
    g_nheld = 0u;
    (void)setsockopt(a, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(a);                                         /* a reset */
    pump(CFG_SEND_TIMEOUT_MS + 150u);
    T_EQ_INT(net_conns_used(), 0);
    T_EQ_INT(net_tx_holds(), 0);
    b = client();
    say(b, "GET /held HTTP/1.1\r\nHost: t\r\n\r\n");
    pump(20);
    T_EQ_INT(g_nheld, 1);
    cur = g_held[0];
    T_EQ_INT(cur & 0xFFFFu, old & 0xFFFFu);           /* the same slot */
    T_CHECK(cur != old);                              /* another generation */
    conn_tx_release(old, false);
    conn_tx_release(old, true);
    conn_tx_release(CONN_HOLD_NONE, false);
    conn_tx_release((cur & 0xFFFF0000u) | 0xFFFFu, false);
    T_EQ_INT(net_tx_holds(), 1);
    T_EQ_INT(hear(b, buf, sizeof buf, 30), 0);        /* still held, still open */
    T_EQ_INT(net_conns_used(), 1);
    g_hook_ok = true;
    net_set_turn_hook(release_hook);
    net_turn(0);
    net_set_turn_hook(NULL);
    T_CHECK(hear(b, buf, sizeof buf, 30) > 0);
    T_CHECK(strstr(buf, "HTTP/1.1 200 OK\r\n") == buf);
    close(b);
    pump(30);
    T_EQ_INT(net_conns_used(), 0);
}

/* What the turn hook writes into a conn's tx (a stream's events) goes out
 * in that same turn, not when a later wait reports the socket writable. */
static void test_hook_output_sent_in_its_turn(void)
{
    char buf[4096];
    ssize_t r;
    int s = client();
    say(s, "GET /keep HTTP/1.1\r\nHost: t\r\n\r\n");
    T_CHECK(hear(s, buf, sizeof buf, 30) > 0);
    T_CHECK(strstr(buf, "kept") != NULL);
    net_set_turn_hook(write_hook);
    net_turn(0);
    net_set_turn_hook(NULL);
    r = recv(s, buf, sizeof buf - 1u, MSG_DONTWAIT);
    T_EQ_INT(r, 5);
    T_CHECK(memcmp(buf, "hook!", 5u) == 0);
    close(s);
    pump(30);
    T_EQ_INT(net_conns_used(), 0);
}

int main(void)
{
    pools_init();
    timer_init();
    net_init(&pool_conns, &pool_bufs);
    http_server_init(&pool_body_slots, render_scratch);
    if (!th_service("net", &g_svc, k_routes, sizeof k_routes / sizeof k_routes[0], &g_l)) {
        return 1;
    }
    T_RUN(test_basic);
    T_RUN(test_reclaim_idle);
    T_RUN(test_refuse_when_busy);
    T_RUN(test_body_slots_exhausted);
    T_RUN(test_header_timeout);
    T_RUN(test_idle_timeout);
    T_RUN(test_oversize_chunked);
    T_RUN(test_big_response_rendered_in_windows);
    T_RUN(test_big_response_with_connection_close);
    T_RUN(test_streamed_body_in_chunks);
    T_RUN(test_buffer_pool_exhaustion);
    T_RUN(test_render_changed_between_windows_cuts);
    T_RUN(test_watched_sockets);
    T_RUN(test_accept_pause_does_not_spin);
    T_RUN(test_slot_reused_at_the_top_of_a_turn);
    T_RUN(test_hold_release);
    T_RUN(test_hold_release_fails);
    T_RUN(test_hold_peer_half_closes);
    T_RUN(test_hold_stale_token);
    T_RUN(test_hook_output_sent_in_its_turn);
    return t_done("net");
}
