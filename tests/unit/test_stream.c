/*
 * test_stream.c - WebSocket and SSE subscribers (http/stream) on the real
 * loop with tiny pools: 3 subscriber slots, a ring of 8 events / 512 bytes,
 * 2 KiB tx. Each policy outcome is forced deterministically by publishing
 * while the loop is not turning (so a subscriber's queue is the ring
 * backlog), then turning it once and reading what the client got.
 */

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "t.h"
#include "thttp.h"
#include "tloop.h"

#include "app/pools.h"
#include "bus/ring.h"
#include "core/clock.h"
#include "core/timer.h"
#include "fam/shared/fam.h"
#include "http/server.h"
#include "http/stream.h"
#include "http/ws.h"
#include "net/conn.h"

static char g_text[512];
static size_t g_text_n;
static int g_closes;

static void on_text(stream_sub *s, const char *text, size_t n)
{
    char reply[600];
    int k;
    g_text_n = (n < sizeof g_text) ? n : sizeof g_text - 1u;
    (void)memcpy(g_text, text, g_text_n);
    g_text[g_text_n] = '\0';
    k = snprintf(reply, sizeof reply, "echo:%.*s", (int)g_text_n, g_text);
    (void)stream_send_text(s, reply, (size_t)k);
}

static void on_close_cb(stream_sub *s)
{
    (void)s;
    g_closes++;
}

static stream_policy g_plain = {
    .name = "plain", .topics = 0x1u, .close_code = WS_CLOSE_TRY_LATER,
    .on_text = on_text, .on_close = on_close_cb,
};
static stream_policy g_skip = {
    .name = "skip", .topics = 0x1u, .lag_skips = true, .close_code = WS_CLOSE_TRY_LATER,
};
static stream_policy g_capped = {
    .name = "capped", .topics = 0x1u, .max_queue_bytes = 200u,
    .close_code = WS_CLOSE_TRY_LATER,
};
static stream_policy g_prio = {
    .name = "prio", .topics = 0x1u, .priorities = true, .pause_bytes = 150u,
    .resume_bytes = 50u, .max_queue_bytes = 400u, .close_code = WS_CLOSE_TRY_LATER,
};
static stream_policy g_beat = {
    .name = "beat", .topics = 0x1u, .close_code = WS_CLOSE_TRY_LATER,
    .heartbeat_ms = 100u, .pong_timeout_ms = 100u,
};
static stream_policy g_sse = {
    .name = "sse", .topics = 0x1u, .close_code = WS_CLOSE_TRY_LATER, .heartbeat_ms = 100u,
};

static size_t g_data_frames;

/* Echo every data frame as it came (opcode, FIN, payload). */
static void on_data(stream_sub *s, const ws_frame *f)
{
    g_data_frames++;
    T_EQ_INT(stream_send_frame(s, f->opcode, f->fin, f->payload, f->len), ST_OK);
}

static stream_policy g_data = {
    .name = "data", .topics = 0u, .close_code = WS_CLOSE_TRY_LATER,
    .max_message = 200u, .on_data = on_data,
};

static stream_policy *g_next = &g_plain;

static void ws_route(hctx *h)
{
    (void)hctx_ws_accept(h, g_next);
}

static void sse_route(hctx *h)
{
    (void)hctx_sse_begin(h, &g_sse);
}

static const route k_routes[] = {
    { RM_GET, "/ws", ws_route, 0u },
    { RM_GET, "/sse", sse_route, 0u },
};

static http_service g_svc;
static listener *g_l;

static void pump(unsigned ms)
{
    tl_pump(ms);
}

static int client(void)
{
    return tl_client(g_l);
}

static void say(int s, const void *p, size_t n)
{
    T_CHECK(send(s, p, n, 0) == (ssize_t)n);
}

/* Append what the server sent so far to buf (after pumping); returns the new
 * length; *eof set when the server closed. */
static size_t hear(int s, char *buf, size_t have, size_t cap, unsigned ms, bool *eof)
{
    pump(ms);
    *eof = false;
    for (;;) {
        ssize_t r = recv(s, buf + have, cap - have, MSG_DONTWAIT);
        if (r == 0) {
            *eof = true;
            break;
        }
        if (r < 0) {
            break;
        }
        have += (size_t)r;
    }
    return have;
}

/* Upgrade; returns the socket with the 101 read, or -1. */
static int ws_open(stream_policy *pol)
{
    static const char req[] = "GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n"
                              "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                              "Sec-WebSocket-Version: 13\r\n\r\n";
    static const char want[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                               "Connection: Upgrade\r\n"
                               "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    char buf[256];
    bool eof = false;
    size_t n;
    int s = client();
    g_next = pol;
    say(s, req, sizeof req - 1u);
    n = hear(s, buf, 0u, sizeof want - 1u, 20, &eof);
    T_EQ_INT((long)n, (long)(sizeof want - 1u));
    T_CHECK(memcmp(buf, want, sizeof want - 1u) == 0);
    return s;
}

typedef struct {
    uint8_t op;
    bool fin;
    size_t len;
    const char *payload;
} sframe;

/* Split server frames out of buf[0..n); returns the count. */
static size_t frames(const char *buf, size_t n, sframe *out, size_t max)
{
    size_t at = 0u;
    size_t k = 0u;
    while ((at + 2u <= n) && (k < max)) {
        const uint8_t *b = (const uint8_t *)buf + at;
        size_t len = b[1] & 0x7fu;
        size_t hl = 2u;
        T_CHECK((b[1] & 0x80u) == 0u);   /* never masked */
        if (len == 126u) {
            len = ((size_t)b[2] << 8) | b[3];
            hl = 4u;
        } else if (len == 127u) {
            break;   /* not used in these tests */
        }
        if (at + hl + len > n) {
            break;
        }
        out[k].op = b[0] & 0x0fu;
        out[k].fin = (b[0] & 0x80u) != 0u;
        out[k].len = len;
        out[k].payload = buf + at + hl;
        k++;
        at += hl + len;
    }
    return k;
}

static uint16_t close_code(const sframe *f)
{
    uint16_t code = 0u;
    if (f->len >= 2u) {
        code = (uint16_t)(((unsigned)(uint8_t)f->payload[0] << 8) | (uint8_t)f->payload[1]);
    }
    return code;
}

/* A masked client frame. */
static size_t cframe(uint8_t *out, uint8_t b0, const char *p, size_t n)
{
    static const uint8_t key[4] = { 1, 2, 3, 4 };
    size_t i;
    out[0] = b0;
    out[1] = (uint8_t)(0x80u | n);
    memcpy(out + 2, key, 4);
    for (i = 0u; i < n; i++) {
        out[6 + i] = (uint8_t)(p[i] ^ key[i % 4u]);
    }
    return 6u + n;
}

/* {"<key>":i} plus a pad of `pad` dots */
static void publish(uint32_t topics, ring_prio prio, const char *key, int i, int pad)
{
    char m[128];
    int k = snprintf(m, sizeof m, "{\"%s\":%d,\"p\":\"%.*s\"}", key, i, pad,
                     "..................................................................");
    T_EQ_INT(ring_publish(topics, prio, m, (size_t)k, NULL), ST_OK);
}

static void settle(void)
{
    pump(60);
    T_EQ_INT(stream_totals()->subs, 0);
}

static void test_events_in_order_and_topics(void)
{
    char buf[4096];
    sframe f[16];
    bool eof = false;
    size_t n;
    int s = ws_open(&g_plain);
    int i;
    for (i = 0; i < 3; i++) {
        publish(0x1u, RING_PRIO_NORMAL, "n", i, 0);
        publish(0x2u, RING_PRIO_NORMAL, "other", i, 0);   /* not this topic */
        pump(10);
    }
    n = hear(s, buf, 0u, sizeof buf, 20, &eof);
    T_EQ_INT((long)frames(buf, n, f, 16), 3);
    T_CHECK((f[0].op == 1u) && f[0].fin && (memcmp(f[0].payload, "{\"n\":0,", 7) == 0));
    T_CHECK(memcmp(f[2].payload, "{\"n\":2,", 7) == 0);
    close(s);
    settle();
}

/* Events published in one turn reach each subscriber in one write, all of
 * them, in order (the ring holds 8 here: 6 events). */
static void test_events_of_a_turn_in_one_write(void)
{
    char buf[4096];
    sframe f[32];
    bool eof = false;
    size_t n;
    uint64_t sends;
    int a = ws_open(&g_plain);
    int b = ws_open(&g_plain);
    int i;
    pump(10);
    sends = net_stats()->sends;
    for (i = 0; i < 6; i++) {
        publish(0x1u, RING_PRIO_NORMAL, "n", i, 0);
    }
    pump(20);
    T_EQ_INT((long)(net_stats()->sends - sends), 2);     /* one per subscriber */
    n = hear(a, buf, 0u, sizeof buf, 10, &eof);

    T_EQ_INT((long)frames(buf, n, f, 32), 6);
    for (i = 0; i < 6; i++) {
        char want[16];
        int k = snprintf(want, sizeof want, "{\"n\":%d,", i);
        T_CHECK(memcmp(f[i].payload, want, (size_t)k) == 0);
    }
    n = hear(b, buf, 0u, sizeof buf, 10, &eof);
    T_EQ_INT((long)frames(buf, n, f, 32), 6);
    close(a);
    close(b);
    settle();
}

static void test_ping_pong_text_and_close(void)
{
    char buf[4096];
    uint8_t out[256];
    sframe f[8];
    bool eof = false;
    size_t n;
    size_t k;
    int s = ws_open(&g_plain);
    int closes = g_closes;
    /* fragmented text with a ping in between */
    k = cframe(out, 0x01u, "hel", 3u);
    say(s, out, k);
    k = cframe(out, 0x89u, "pp", 2u);
    say(s, out, k);
    k = cframe(out, 0x80u, "lo", 2u);
    say(s, out, k);
    n = hear(s, buf, 0u, sizeof buf, 30, &eof);
    T_EQ_INT((long)frames(buf, n, f, 8), 2);
    T_CHECK((f[0].op == 0xAu) && (f[0].len == 2u) && (memcmp(f[0].payload, "pp", 2) == 0));
    T_CHECK((f[1].op == 0x1u) && (f[1].len == 10u) && (memcmp(f[1].payload, "echo:hello", 10) == 0));
    T_EQ_STR(g_text, "hello");
    /* client close 1000 -> the same code back, then EOF */
    k = cframe(out, 0x88u, "\x03\xe8", 2u);
    say(s, out, k);
    n = hear(s, buf, 0u, sizeof buf, 40, &eof);
    T_EQ_INT((long)frames(buf, n, f, 8), 1);
    T_EQ_INT(f[0].op, 0x8);
    T_EQ_INT(close_code(&f[0]), 1000);
    (void)shutdown(s, SHUT_WR);
    (void)hear(s, buf, 0u, sizeof buf, 40, &eof);
    T_CHECK(eof);
    T_EQ_INT(g_closes, closes + 1);
    close(s);
    settle();
}

static void test_protocol_errors_close(void)
{
    static const struct {
        uint8_t b0;
        bool masked;
        uint16_t code;
    } cases[] = {
        { 0x81u, false, 1002u },   /* unmasked */
        { 0xC1u, true, 1002u },    /* RSV1 */
        { 0x83u, true, 1002u },    /* reserved opcode */
    };
    size_t i;
    for (i = 0u; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[512];
        uint8_t out[64];
        sframe f[4];
        bool eof = false;
        size_t n;
        size_t k;
        int s = ws_open(&g_plain);
        k = cframe(out, cases[i].b0, "hi", 2u);
        if (!cases[i].masked) {
            out[1] &= 0x7fu;
            memmove(out + 2, "hi", 2);
            k = 4u;
        }
        say(s, out, k);
        n = hear(s, buf, 0u, sizeof buf, 40, &eof);
        T_EQ_INT((long)frames(buf, n, f, 4), 1);
        T_EQ_INT(f[0].op, 0x8);
        T_EQ_INT(close_code(&f[0]), cases[i].code);
        close(s);
    }
    {   /* invalid UTF-8 split across fragments: 1007 */
        char buf[512];
        uint8_t out[64];
        sframe f[4];
        bool eof = false;
        size_t n;
        int s = ws_open(&g_plain);
        size_t k = cframe(out, 0x01u, "a\xe2\x82", 3u);
        say(s, out, k);
        k = cframe(out, 0x80u, "(", 1u);
        say(s, out, k);
        n = hear(s, buf, 0u, sizeof buf, 40, &eof);
        T_EQ_INT((long)frames(buf, n, f, 4), 1);
        T_EQ_INT(close_code(&f[0]), 1007);
        close(s);
    }
    settle();
}

/* Overtaken by the ring: the skip policy loses the oldest and goes on. */
static void test_lag_skips(void)
{
    char buf[4096];
    sframe f[16];
    bool eof = false;
    size_t n;
    int i;
    int s = ws_open(&g_skip);
    uint64_t lagged = g_skip.stats.lagged;
    for (i = 0; i < 12; i++) {   /* 12 events, ring of 8: 4 lost */
        publish(0x1u, RING_PRIO_NORMAL, "n", i, 0);
    }
    n = hear(s, buf, 0u, sizeof buf, 30, &eof);
    T_EQ_INT((long)frames(buf, n, f, 16), 8);
    T_CHECK(memcmp(f[0].payload, "{\"n\":4,", 7) == 0);
    T_CHECK(memcmp(f[7].payload, "{\"n\":11,", 8) == 0);
    T_EQ_INT((long)(g_skip.stats.lagged - lagged), 4);
    T_CHECK(!eof);
    close(s);
    settle();
}

/* The plain policy closes an overtaken client with 1013. */
static void test_lag_closes(void)
{
    char buf[4096];
    sframe f[16];
    bool eof = false;
    size_t n;
    size_t k;
    int i;
    int s = ws_open(&g_plain);
    uint64_t closed = g_plain.stats.closed_backpressure;
    for (i = 0; i < 12; i++) {
        publish(0x1u, RING_PRIO_NORMAL, "n", i, 0);
    }
    n = hear(s, buf, 0u, sizeof buf, 40, &eof);
    k = frames(buf, n, f, 16);
    T_EQ_INT((long)k, 1);
    T_EQ_INT(close_code(&f[0]), 1013);
    T_EQ_INT((long)(g_plain.stats.closed_backpressure - closed), 1);
    close(s);
    settle();
}

/* Queue over max_queue_bytes: closed with 1013 before anything is sent. */
static void test_queue_cap_closes(void)
{
    char buf[4096];
    sframe f[16];
    bool eof = false;
    size_t n;
    int i;
    int s = ws_open(&g_capped);
    for (i = 0; i < 5; i++) {   /* 5 x 60 bytes = 300 > 200 */
        publish(0x1u, RING_PRIO_NORMAL, "n", i, 50);
    }
    n = hear(s, buf, 0u, sizeof buf, 40, &eof);
    T_EQ_INT((long)frames(buf, n, f, 16), 1);
    T_EQ_INT(f[0].op, 0x8);
    T_EQ_INT(close_code(&f[0]), 1013);
    close(s);
    settle();
}

/* Priorities: above pause_bytes normal events are skipped, high ones kept. */
static void test_priorities_pause(void)
{
    char buf[4096];
    sframe f[16];
    bool eof = false;
    size_t n;
    int i;
    int s = ws_open(&g_prio);
    uint64_t skipped = g_prio.stats.skipped;
    for (i = 0; i < 5; i++) {   /* 5 x ~60 bytes normal, then 1 high */
        publish(0x1u, RING_PRIO_NORMAL, "n", i, 50);
    }
    publish(0x1u, RING_PRIO_HIGH, "high", 0, 0);
    n = hear(s, buf, 0u, sizeof buf, 30, &eof);
    /* The watermarks look at what is queued before each event (the ones
     * behind it in the ring, not the event itself): n0..n3 find more than
     * pause_bytes (or stay paused between the marks) and are skipped; n4
     * finds only the high one behind it, below resume_bytes, and goes. */
    T_EQ_INT((long)frames(buf, n, f, 16), 2);
    T_CHECK(memcmp(f[0].payload, "{\"n\":4,", 7) == 0);
    T_CHECK(memcmp(f[1].payload, "{\"high\":0,", 10) == 0);
    T_EQ_INT((long)(g_prio.stats.skipped - skipped), 4);
    /* everything written: resumed, normal events flow again */
    publish(0x1u, RING_PRIO_NORMAL, "n", 99, 0);
    n = hear(s, buf, 0u, sizeof buf, 30, &eof);
    T_EQ_INT((long)frames(buf, n, f, 16), 1);
    T_CHECK(memcmp(f[0].payload, "{\"n\":99,", 8) == 0);
    close(s);
    settle();
}

static void test_heartbeat(void)
{
    char buf[512];
    sframe f[8];
    bool eof = false;
    size_t n;
    int s = ws_open(&g_beat);
    uint64_t closed = g_beat.stats.closed_heartbeat;
    n = hear(s, buf, 0u, sizeof buf, 350, &eof);
    T_EQ_INT((long)frames(buf, n, f, 8), 2);
    T_EQ_INT(f[0].op, 0x9);
    T_EQ_INT(f[1].op, 0x8);
    T_EQ_INT(close_code(&f[1]), 1001);
    T_EQ_INT((long)(g_beat.stats.closed_heartbeat - closed), 1);
    close(s);
    settle();
}

static void test_slots_full(void)
{
    char buf[512];
    sframe f[4];
    bool eof = false;
    size_t n;
    int s[CFG_STREAM_SUBS];
    int extra;
    int i;
    for (i = 0; i < CFG_STREAM_SUBS; i++) {
        s[i] = ws_open(&g_plain);
    }
    T_EQ_INT(stream_totals()->subs, CFG_STREAM_SUBS);
    extra = ws_open(&g_plain);
    n = hear(extra, buf, 0u, sizeof buf, 30, &eof);
    T_EQ_INT((long)frames(buf, n, f, 4), 1);
    T_EQ_INT(close_code(&f[0]), 1013);
    close(extra);
    {   /* SSE gets the family's 503 */
        int e = client();
        say(e, "GET /sse HTTP/1.1\r\nHost: t\r\n\r\n", 31u);
        n = hear(e, buf, 0u, sizeof buf - 1u, 30, &eof);
        buf[n] = '\0';
        T_CHECK(strstr(buf, "HTTP/1.1 503 ") == buf);
        close(e);
    }
    for (i = 0; i < CFG_STREAM_SUBS; i++) {
        close(s[i]);
    }
    settle();
}

static void test_sse(void)
{
    char buf[2048];
    bool eof = false;
    size_t n;
    int s = client();
    say(s, "GET /sse HTTP/1.1\r\nHost: t\r\n\r\n", 31u);
    n = hear(s, buf, 0u, sizeof buf - 1u, 20, &eof);
    buf[n] = '\0';
    T_CHECK(strstr(buf, "HTTP/1.1 200 OK\r\n") == buf);
    T_CHECK(strstr(buf, "Content-Type: text/event-stream\r\n") != NULL);
    T_CHECK(strstr(buf, "Content-Length") == NULL);
    publish(0x1u, RING_PRIO_NORMAL, "n", 7, 0);
    n = hear(s, buf, 0u, sizeof buf - 1u, 20, &eof);
    buf[n] = '\0';
    T_EQ_STR(buf, "data: {\"n\":7,\"p\":\"\"}\n\n");
    n = hear(s, buf, 0u, sizeof buf - 1u, 160, &eof);   /* heartbeat 100 ms */
    buf[n] = '\0';
    T_CHECK(strstr(buf, ":\n\n") == buf);
    T_EQ_INT(stream_totals()->subs, 1);
    close(s);   /* noticed at once */
    settle();
}

static void test_shutdown_closes_1001(void)
{
    char buf[512];
    sframe f[4];
    bool eof = false;
    size_t n;
    int s = ws_open(&g_plain);
    stream_stop_all();
    n = hear(s, buf, 0u, sizeof buf, 30, &eof);
    T_EQ_INT((long)frames(buf, n, f, 4), 1);
    T_EQ_INT(close_code(&f[0]), 1001);
    close(s);
    settle();
}

/* Hear until `want` whole frames are in buf or the server stops sending
 * (a bounded number of pumps: a busy machine is slow, not wrong). */
static size_t hear_frames(int s, char *buf, size_t cap, size_t want)
{
    sframe f[16];
    bool eof = false;
    size_t n = 0u;
    int tries;
    for (tries = 0; (tries < 50) && !eof && (frames(buf, n, f, 16) < want); tries++) {
        n = hear(s, buf, n, cap, 20, &eof);
    }
    return n;
}

/* on_data gets every data frame, text and binary, fragments as they come;
 * frames that arrive together are each answered (the stream reads the next
 * one when tx has drained); the endpoint's own message limit holds. */
static void test_on_data_frames_and_limit(void)
{
    char buf[4096];
    uint8_t out[1024];
    sframe f[16];
    size_t n;
    size_t k = 0u;
    size_t i;
    int s = ws_open(&g_data);
    g_data_frames = 0u;
    k += cframe(out + k, 0x82u, "\x00\xff", 2u);
    k += cframe(out + k, 0x01u, "ab", 2u);
    k += cframe(out + k, 0x89u, "pp", 2u);
    k += cframe(out + k, 0x80u, "\xc3\xa9", 2u);
    for (i = 0u; i < 4u; i++) {
        k += cframe(out + k, 0x81u, "0123456789012345678901234567890123456789", 40u);
    }
    say(s, out, k);
    n = hear_frames(s, buf, sizeof buf, 8u);
    T_EQ_INT((long)frames(buf, n, f, 16), 8);
    T_EQ_INT((long)g_data_frames, 7);
    T_CHECK((f[0].op == 0x2u) && f[0].fin && (f[0].len == 2u) &&
            (memcmp(f[0].payload, "\x00\xff", 2) == 0));
    T_CHECK((f[1].op == 0x1u) && !f[1].fin && (memcmp(f[1].payload, "ab", 2) == 0));
    T_CHECK((f[2].op == 0xAu) && (memcmp(f[2].payload, "pp", 2) == 0));
    T_CHECK((f[3].op == 0x0u) && f[3].fin && (memcmp(f[3].payload, "\xc3\xa9", 2) == 0));
    for (i = 4u; i < 8u; i++) {
        T_CHECK((f[i].op == 0x1u) && f[i].fin && (f[i].len == 40u));
    }
    /* 120 + 90 bytes: over this endpoint's 200, under CFG_WS_MAX_MESSAGE */
    k = cframe(out, 0x02u, buf, 120u);
    k += cframe(out + k, 0x80u, buf, 90u);
    say(s, out, k);
    n = hear_frames(s, buf, sizeof buf, 2u);
    T_EQ_INT((long)frames(buf, n, f, 16), 2);
    T_CHECK((f[0].op == 0x2u) && !f[0].fin && (f[0].len == 120u));
    T_EQ_INT(f[1].op, 0x8);
    T_EQ_INT(close_code(&f[1]), 1009);
    close(s);
    settle();
}

int main(void)
{
    pools_init();
    timer_init();
    net_init(&pool_conns, &pool_bufs);
    http_server_init(&pool_body_slots, render_scratch);
    ring_init();
    stream_init();
    net_set_turn_hook(stream_turn);
    if (!th_service("stream", &g_svc, k_routes, sizeof k_routes / sizeof k_routes[0], &g_l)) {
        return 1;
    }
    T_RUN(test_events_in_order_and_topics);
    T_RUN(test_events_of_a_turn_in_one_write);
    T_RUN(test_ping_pong_text_and_close);
    T_RUN(test_protocol_errors_close);
    T_RUN(test_lag_skips);
    T_RUN(test_lag_closes);
    T_RUN(test_queue_cap_closes);
    T_RUN(test_priorities_pause);
    T_RUN(test_heartbeat);
    T_RUN(test_slots_full);
    T_RUN(test_sse);
    T_RUN(test_shutdown_closes_1001);
    T_RUN(test_on_data_frames_and_limit);
    return t_done("stream");
}
