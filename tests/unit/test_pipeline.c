/*
 * test_pipeline.c - pipelined requests on one connection, through the real
 * loop and server (tiny buffers: CFG_BUF_BYTES is 2048 here).
 *
 * A burst of requests in one write is answered in order, in the same turn,
 * with one write; a safe request whose answer does not fit the room the
 * answers before it left runs again after the drain (its handler runs
 * twice, its answer goes out once); a request with side effects behind
 * pending answers runs exactly once; a client that never reads fills tx
 * and the server stops reading (backpressure) instead of growing anything.
 */
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

static unsigned g_big_runs;
static unsigned g_posts;

static void small_route(hctx *h)
{
    hctx_send(h, 200, "text/plain", "s", 1u);
}

/* An answer of 1500 bytes: more than half of tx, less than all of it. */
static void big_route(hctx *h)
{
    static char body[1500];
    g_big_runs++;
    (void)memset(body, 'b', sizeof body);
    hctx_send(h, 200, "text/plain", body, sizeof body);
}

/* Side effects: must run once per request. */
static void post_route(hctx *h)
{
    char b[16];
    g_posts++;
    b[0] = (char)('0' + (char)(g_posts % 10u));
    hctx_send(h, 201, "text/plain", b, 1u);
}

static unsigned g_renders;

/* One pass of the rendered answer (again for each later window). */
static void render_pass(hctx *h, const void *state)
{
    static char body[1500];
    (void)state;
    (void)memset(body, 'r', sizeof body);
    hctx_send(h, 201, "text/plain", body, sizeof body);
}

/* Side effects, then an answer rendered into the scratch (ROUTE_BIG_OUT):
 * behind pending answers, what does not fit goes out in windows. */
static void render_route(hctx *h)
{
    g_renders++;
    hctx_render(h, render_pass, NULL, 0u);
}

static const route k_routes[] = {
    { RM(HTTP_M_POST), "/render", render_route, ROUTE_BIG_OUT },
    { RM_GET, "/small", small_route, 0u },
    { RM_GET, "/big", big_route, 0u },
    { RM(HTTP_M_POST), "/post", post_route, 0u },
};

static http_service g_svc;
static listener *g_l;

static void say(int s, const char *p)
{
    size_t n = strlen(p);
    T_CHECK(send(s, p, n, 0) == (ssize_t)n);
}


/* The status codes of the responses in buf, in order ("200 200 404"). */
static void statuses(const char *buf, size_t n, char *out, size_t cap)
{
    const char *p = buf;
    size_t len = 0u;
    out[0] = '\0';
    while ((p != NULL) && (p < (buf + n))) {
        p = strstr(p, "HTTP/1.1 ");
        if (p != NULL) {
            if ((len + 5u) < cap) {
                (void)memcpy(out + len, p + 9, 3u);
                out[len + 3u] = ' ';
                len += 4u;
                out[len] = '\0';
            }
            p += 9;
        }
    }
}

static void test_burst_answered_with_one_write(void)
{
    char req[2048];
    char out[8192];
    char st[256];
    size_t len = 0u;
    uint64_t sends;
    uint64_t piped;
    int s = tl_client(g_l);
    int i;
    for (i = 0; i < 4; i++) {
        len += (size_t)snprintf(req + len, sizeof req - len, "GET /small HTTP/1.1\r\nHost: x\r\n\r\n");
    }
    len += (size_t)snprintf(req + len, sizeof req - len, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
    len += (size_t)snprintf(req + len, sizeof req - len, "HEAD /small HTTP/1.1\r\nHost: x\r\n\r\n");
    len += (size_t)snprintf(req + len, sizeof req - len, "GET /small HTTP/1.1\r\nHost: x\r\n\r\n");
    tl_pump(20);
    sends = net_stats()->sends;
    piped = http_stats()->pipelined;
    T_CHECK(send(s, req, len, 0) == (ssize_t)len);
    (void)tl_drain(s, out, sizeof out, 150);
    statuses(out, strlen(out), st, sizeof st);
    T_EQ_STR(st, "200 200 200 200 404 200 200 ");
    T_EQ_INT(net_stats()->sends - sends, 1u);           /* one write for the burst */
    T_EQ_INT(http_stats()->pipelined - piped, 6u);     /* all but the first behind */
    (void)close(s);
    tl_pump(10);
}

static void test_safe_request_that_does_not_fit_runs_after_the_drain(void)
{
    char out[16384];
    char st[256];
    size_t n;
    uint64_t retries = http_stats()->pipeline_retries;
    int s = tl_client(g_l);
    g_big_runs = 0u;
    tl_pump(20);
    /* six small answers leave more than half of tx, less than a /big */
    say(s, "GET /small HTTP/1.1\r\nHost: x\r\n\r\nGET /small HTTP/1.1\r\nHost: x\r\n\r\n"
           "GET /small HTTP/1.1\r\nHost: x\r\n\r\nGET /small HTTP/1.1\r\nHost: x\r\n\r\n"
           "GET /small HTTP/1.1\r\nHost: x\r\n\r\nGET /small HTTP/1.1\r\nHost: x\r\n\r\n"
           "GET /big HTTP/1.1\r\nHost: x\r\n\r\n"
           "GET /big HTTP/1.1\r\nHost: x\r\n\r\n"
           "GET /small HTTP/1.1\r\nHost: x\r\n\r\n");
    n = tl_drain(s, out, sizeof out, 300);
    statuses(out, n, st, sizeof st);
    T_EQ_STR(st, "200 200 200 200 200 200 200 200 200 ");
    T_CHECK(n > (2u * 1500u));
    T_CHECK(http_stats()->pipeline_retries > retries);  /* a /big ran again */
    T_CHECK(g_big_runs > 2u);
    (void)close(s);
    tl_pump(10);
}

static void test_side_effects_run_once_behind_pending_answers(void)
{
    char out[16384];
    char st[256];
    size_t n;
    int s = tl_client(g_l);
    g_posts = 0u;
    tl_pump(20);
    say(s, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n"
           "POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab"
           "GET /small HTTP/1.1\r\nHost: x\r\n\r\n"
           "POST /post HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
           "1\r\na\r\n0\r\n\r\n"
           "GET /big HTTP/1.1\r\nHost: x\r\n\r\n"
           "POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    n = tl_drain(s, out, sizeof out, 300);
    statuses(out, n, st, sizeof st);
    T_EQ_STR(st, "200 201 200 201 200 201 ");
    T_EQ_INT(g_posts, 3u);
    (void)close(s);
    tl_pump(10);
}

static void test_rendered_answers_behind_pending_ones(void)
{
    char out[16384];
    char st[256];
    size_t n;
    uint64_t sends;
    int s = tl_client(g_l);
    g_renders = 0u;
    tl_pump(20);
    sends = net_stats()->sends;
    say(s, "GET /small HTTP/1.1\r\nHost: x\r\n\r\n"
           "POST /render HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
           "POST /render HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
           "GET /small HTTP/1.1\r\nHost: x\r\n\r\n");
    n = tl_drain(s, out, sizeof out, 300);
    statuses(out, n, st, sizeof st);
    T_EQ_STR(st, "200 201 201 200 ");
    T_EQ_INT(g_renders, 2u);
    T_CHECK(n > (2u * 1500u));
    T_CHECK((net_stats()->sends - sends) >= 2u);    /* windows: tx is 2048 here */
    (void)close(s);
    tl_pump(10);
}

/* A body that straddles reads, then the next request in the same read as
 * its end; a 100-continue request whose body follows the interim answer. */
static void test_bodies_across_reads_stay_in_sync(void)
{
    char out[8192];
    char st[256];
    size_t n;
    int s = tl_client(g_l);
    g_posts = 0u;
    tl_pump(20);
    say(s, "GET /small HTTP/1.1\r\nHost: x\r\n\r\nPOST /post HTTP/1.1\r\nHost: x\r\n"
           "Content-Length: 10\r\n\r\n01234");
    tl_pump(20);
    say(s, "56789GET /small HTTP/1.1\r\nHost: x\r\n\r\n"
           "POST /post HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
    tl_pump(30);
    say(s, "abcGET /small HTTP/1.1\r\nHost: x\r\n\r\n");
    n = tl_drain(s, out, sizeof out, 150);
    statuses(out, n, st, sizeof st);
    T_EQ_STR(st, "200 201 200 100 201 200 ");
    T_EQ_INT(g_posts, 2u);
    (void)close(s);
    tl_pump(10);
}

/* A 4xx that loses the framing ends the pipeline there: what came before
 * is answered, nothing after. */
static void test_framing_error_in_the_middle(void)
{
    char out[8192];
    char st[256];
    size_t n;
    int s = tl_client(g_l);
    tl_pump(20);
    say(s, "GET /small HTTP/1.1\r\nHost: x\r\n\r\n"
           "GET /small HTTP/1.1\r\nHost: x\r\n\r\n"
           "GET /bad path HTTP/1.1\r\nHost: x\r\n\r\n"
           "GET /small HTTP/1.1\r\nHost: x\r\n\r\n");
    n = tl_drain(s, out, sizeof out, 150);
    statuses(out, n, st, sizeof st);
    T_EQ_STR(st, "200 200 400 ");
    (void)close(s);
    tl_pump(10);
}

/* A client that pipelines without reading: the kernel's buffers fill, tx
 * fills, the server stops reading (it holds one rx and one tx, nothing
 * grows); once the client reads, every answer comes, in order. */
static void test_client_that_does_not_read(void)
{
    static const char one[] = "GET /big HTTP/1.1\r\nHost: x\r\n\r\n";
    enum { N = 6000 };
    static char buf[65536];
    size_t sent = 0u;
    size_t total = (size_t)N * (sizeof one - 1u);
    size_t got = 0u;
    size_t count = 0u;
    unsigned stuck = 0u;
    char tail[8] = "";
    int s = tl_client(g_l);
    int rcv = 131072;
    /* a fixed receive buffer, so the kernel does not grow it to megabytes
     * (and larger than loopback's MSS, so TCP does not crawl on window
     * probes) */
    (void)setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    tl_pump(20);
    /* write without reading until the server stops taking requests */
    while ((sent < total) && (stuck < 50u)) {
        size_t off = sent % (sizeof one - 1u);
        ssize_t k = send(s, one + off, sizeof one - 1u - off, MSG_DONTWAIT);
        if (k > 0) {
            sent += (size_t)k;
            stuck = 0u;
        } else {
            net_turn(2);
            stuck++;
        }
    }
    /* tx is full and nobody reads it: the server stops reading (no read in
     * 50 ms of turns) and holds one rx and one tx; nothing grew */
    tl_pump(50);
    {
        uint64_t reads = net_stats()->reads;
        tl_pump(50);
        T_EQ_INT(net_stats()->reads, reads);
    }
    T_CHECK(net_stats()->bufs_used <= 2u);
    /* now read everything, sending the rest as the server takes it */
    stuck = 0u;
    while ((count < (size_t)N) && (stuck < 2000u)) {
        ssize_t k;
        if (sent < total) {
            size_t off = sent % (sizeof one - 1u);
            k = send(s, one + off, sizeof one - 1u - off, MSG_DONTWAIT);
            if (k > 0) {
                sent += (size_t)k;
            }
        }
        net_turn(1);
        k = recv(s, buf, sizeof buf, MSG_DONTWAIT);
        if (k > 0) {
            ssize_t i;
            stuck = 0u;
            got += (size_t)k;
            /* count status lines, also across reads */
            for (i = 0; i < k; i++) {
                (void)memmove(tail, tail + 1, 6u);
                tail[6] = buf[i];
                tail[7] = '\0';
                if (memcmp(tail, "1.1 200", 7u) == 0) {
                    count++;
                }
            }
        } else {
            stuck++;
        }
    }
    T_EQ_INT(count, N);
    T_CHECK(got >= ((size_t)(N - 1) * 1500u));
    (void)close(s);
    tl_pump(10);
}

int main(void)
{
    pools_init();
    timer_init();
    net_init(&pool_conns, &pool_bufs);
    http_server_init(&pool_body_slots, render_scratch);
    if (!th_service("pipeline", &g_svc, k_routes, sizeof k_routes / sizeof k_routes[0], &g_l)) {
        return 1;
    }
    T_RUN(test_burst_answered_with_one_write);
    T_RUN(test_safe_request_that_does_not_fit_runs_after_the_drain);
    T_RUN(test_side_effects_run_once_behind_pending_answers);
    T_RUN(test_rendered_answers_behind_pending_ones);
    T_RUN(test_bodies_across_reads_stay_in_sync);
    T_RUN(test_framing_error_in_the_middle);
    T_RUN(test_client_that_does_not_read);
    return t_done("pipeline");
}
