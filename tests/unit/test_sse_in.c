/*
 * test_sse_in.c - the client-side SSE parser (src/out/sse_in.c).
 *
 * Every stream is fed whole, byte by byte, and in pseudo-random pieces
 * (empty pieces included) under several seeds; each run's transcript of
 * dispatched events, final status and idle state must equal the expected
 * one.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "core/status.h"
#include "core/strv.h"
#include "out/sse_in.h"
#include "t.h"

#define TRANSCRIPT_BYTES 4096u

typedef struct {
    char out[TRANSCRIPT_BYTES];
    size_t n;
    int events;
    int stop_at;  /* return ST_CLOSED from this event on (0: never) */
} rec;

static void rec_put(rec *r, const char *s, size_t n)
{
    if ((n > 0u) && (n <= (sizeof(r->out) - 1u - r->n))) {
        memcpy(r->out + r->n, s, n);
        r->n += n;
        r->out[r->n] = '\0';
    }
}

/* Each event as "<event>=<data>|" (data may hold "\n"). */
static st_t on_event(void *ctx, strv event, strv data)
{
    rec *r = ctx;
    T_CHECK(event.n > 0u);
    rec_put(r, event.p, event.n);
    rec_put(r, "=", 1u);
    rec_put(r, data.p, data.n);
    rec_put(r, "|", 1u);
    r->events++;
    if ((r->stop_at > 0) && (r->events >= r->stop_at)) {
        return ST_CLOSED;
    }
    return ST_OK;
}

static uint32_t next_rand(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

/* mode 0: whole; 1: byte by byte; 2: random pieces of 0..13 bytes. */
static st_t run(const char *s, size_t n, size_t cap, int mode, uint32_t seed, int stop_at, rec *r,
                bool *idle)
{
    static char buf[256];
    sse_in p;
    size_t off = 0u;
    st_t st = ST_OK;

    memset(r, 0, sizeof(*r));
    r->stop_at = stop_at;
    T_CHECK(cap <= sizeof(buf));
    sse_in_init(&p, (cap > 0u) ? buf : NULL, cap, on_event, r);
    while (off < n) {
        size_t k = n - off;
        if (mode == 1) {
            k = 1u;
        } else if (mode == 2) {
            size_t want = (size_t)(next_rand(&seed) % 14u);
            k = (want < k) ? want : k;
        } else {
            /* whole */
        }
        st = sse_in_feed(&p, s + off, k);
        off += k;
    }
    T_EQ_INT(sse_in_feed(&p, NULL, 0u), st);
    T_EQ_INT(sse_in_status(&p), st);
    *idle = sse_in_idle(&p);
    return st;
}

static void check_n(const char *s, size_t n, size_t cap, int stop_at, const char *want,
                    st_t want_st, bool want_idle)
{
    static const uint32_t seeds[] = { 1u, 7u, 42u, 1234567u, 0x9E3779B9u, 31337u };
    rec r;
    bool idle = false;
    size_t i;
    st_t st;

    st = run(s, n, cap, 0, 1u, stop_at, &r, &idle);
    T_EQ_INT(st, want_st);
    T_EQ_STR(r.out, want);
    if (want_st == ST_OK) {
        T_EQ_INT(idle, want_idle);
    }
    st = run(s, n, cap, 1, 1u, stop_at, &r, &idle);
    T_EQ_INT(st, want_st);
    T_EQ_STR(r.out, want);
    if (want_st == ST_OK) {
        T_EQ_INT(idle, want_idle);
    }
    for (i = 0u; i < (sizeof(seeds) / sizeof(seeds[0])); i++) {
        st = run(s, n, cap, 2, seeds[i], stop_at, &r, &idle);
        T_EQ_INT(st, want_st);
        T_EQ_STR(r.out, want);
        if (want_st == ST_OK) {
            T_EQ_INT(idle, want_idle);
        }
    }
}

static void check(const char *s, const char *want)
{
    check_n(s, strlen(s), 256u, 0, want, ST_OK, true);
}

static void test_line_ends(void)
{
    check("data: a\n\n", "message=a|");
    check("data: a\r\n\r\n", "message=a|");
    check("data: a\r\r", "message=a|");
    check("data: a\r\n\n", "message=a|");
    check("data: a\n\r", "message=a|");
    check("event: x\rdata: 1\r\ndata: 2\n\r\n", "x=1\n2|");
    /* CR CR LF: the first CR ends the data line, CR LF is the blank line */
    check("data: a\r\r\n", "message=a|");
    /* LF CR LF: LF ends the line, CR LF is the blank line; then LF blank */
    check("data: a\n\r\n\n", "message=a|");
    check("\n\n\r\n\r\rdata: b\n\n\n\n", "message=b|");
    check("data: 1\n\ndata: 2\r\rdata: 3\r\n\r\n", "message=1|message=2|message=3|");
}

static void test_fields(void)
{
    check("data:a\n\n", "message=a|");
    check("data:  a\n\n", "message= a|");
    check("data: a \n\n", "message=a |");
    check("data: a:b: c\n\n", "message=a:b: c|");
    check("data\n\n", "message=|");
    check("data:\n\n", "message=|");
    check("data: \n\n", "message=|");
    check("data\ndata\n\n", "message=\n|");
    check("data: a\ndata:\ndata: b\n\n", "message=a\n\nb|");
    check("event: foo\n\n", "");
    check("event: foo\n\ndata: x\n\n", "message=x|");
    check("event: foo\nevent: bar\ndata: x\n\n", "bar=x|");
    check("event\ndata: x\n\n", "message=x|");
    check("event:\ndata: x\n\n", "message=x|");
    check("data: x\nevent: late\n\n", "late=x|");
    check("id: 1\nretry: 100\ndata: x\nid\n\n", "message=x|");
    check("foo: bar\ndataX: y\ndatum: z\nDATA: w\n dat: v\nverylongfieldname: q\n\n", "");
    check("verylongfieldname\ndata: ok\n\n", "message=ok|");
    check(": comment\n:\n: data: no\ndata: yes\n\n", "message=yes|");
    check(":only a comment\n\n", "");
    check("data: multi\ndata: line\ndata: value\n\n", "message=multi\nline\nvalue|");
    check("event: content_block_delta\ndata: {\"a\":1}\n\n", "content_block_delta={\"a\":1}|");
}

static void test_bom(void)
{
    check("\xEF\xBB\xBF" "data: a\n\n", "message=a|");
    check("\xEF\xBB\xBF" "\xEF\xBB\xBF" "data: a\n\ndata: b\n\n", "message=b|");
    check("\xEF" "data: x\n\ndata: y\n\n", "message=y|");
    check("\xEF\xBB" "data: x\n\ndata: y\n\n", "message=y|");
    check("\xEF\xBB\n" "data: y\n\n", "message=y|");
    check("\xEF\n" "data: y\n\n", "message=y|");
    check("data: \xEF\xBB\xBF\n\n", "message=\xEF\xBB\xBF|");
    check_n("\xEF\xBB", 2u, 256u, 0, "", ST_OK, false);
    check_n("", 0u, 256u, 0, "", ST_OK, true);
}

static void test_incomplete(void)
{
    check_n("data: a\n", 8u, 256u, 0, "", ST_OK, false);
    check_n("data: a", 7u, 256u, 0, "", ST_OK, false);
    check_n("data: a\n\ndata: b", 16u, 256u, 0, "message=a|", ST_OK, false);
    check_n("event: x\n", 9u, 256u, 0, "", ST_OK, false);
    check_n(": partial comment", 17u, 256u, 0, "", ST_OK, false);
    check_n("data: a\n\n: done\n", 16u, 256u, 0, "message=a|", ST_OK, true);
    check_n("data: a\r", 8u, 256u, 0, "", ST_OK, false);
    check_n("data: a\n\r", 9u, 256u, 0, "message=a|", ST_OK, true);
}

static void test_bytes(void)
{
    static const char s[] = "data: a\0b\n\n";
    static const char utf[] = "data: caf\xC3\xA9 \xF0\x9F\x98\x80\n\n";
    check_n(s, sizeof(s) - 1u, 256u, 0, "message=a", ST_OK, true); /* transcript stops at NUL */
    check(utf, "message=caf\xC3\xA9 \xF0\x9F\x98\x80|");
    check("data: \xFF\xFE bytes as they are\n\n", "message=\xFF\xFE bytes as they are|");
}

static void test_limits(void)
{
    char name[CFG_LLM_SSE_NAME_BYTES + 32u];
    char big[512];
    size_t k;

    /* data exactly at capacity, then one byte more */
    check_n("data: 12345678\n\n", 16u, 8u, 0, "message=12345678|", ST_OK, true);
    check_n("data: 123456789\n\n", 17u, 8u, 0, "", ST_TOOBIG, false);
    check_n("data: 1234\ndata: 567\n\n", 22u, 8u, 0, "message=1234\n567|", ST_OK, true);
    check_n("data: 1234\ndata: 5678\n\n", 23u, 8u, 0, "", ST_TOOBIG, false);
    check_n("data: 1234\ndata: 5678\n\n", 23u, 9u, 0, "message=1234\n5678|", ST_OK, true);
    /* the buffer is reused after each event */
    check_n("data: 12345678\n\ndata: abcdefgh\n\n", 32u, 8u, 0, "message=12345678|message=abcdefgh|",
            ST_OK, true);
    /* no buffer at all: data lines need one, comments and events without data do not */
    check_n("data\n\n", 6u, 0u, 0, "message=|", ST_OK, true);
    check_n("data: x\n\n", 9u, 0u, 0, "", ST_TOOBIG, false);
    check_n("data\ndata\n\n", 11u, 0u, 0, "", ST_TOOBIG, false);
    /* ignored lines of any length do not use the buffer */
    memset(big, 'c', sizeof(big));
    big[0] = ':';
    big[sizeof(big) - 2u] = '\n';
    big[sizeof(big) - 1u] = '\n';
    check_n(big, sizeof(big), 4u, 0, "", ST_OK, true);
    memcpy(big, "id: ", 4u);
    check_n(big, sizeof(big), 4u, 0, "", ST_OK, true);
    /* event names: the longest kept, and one byte more */
    memcpy(name, "event: ", 7u);
    for (k = 0u; k < (CFG_LLM_SSE_NAME_BYTES - 1u); k++) {
        name[7u + k] = 'e';
    }
    memcpy(name + 7u + k, "\ndata: x\n\n", 10u);
    {
        char want[CFG_LLM_SSE_NAME_BYTES + 8u];
        memset(want, 'e', CFG_LLM_SSE_NAME_BYTES - 1u);
        memcpy(want + (CFG_LLM_SSE_NAME_BYTES - 1u), "=x|", 4u);
        check_n(name, 7u + k + 10u, 16u, 0, want, ST_OK, true);
    }
    memcpy(name + 7u + k, "e\ndata: x\n\n", 11u);
    check_n(name, 7u + k + 11u, 16u, 0, "", ST_TOOBIG, false);
}

static void test_callback_stop(void)
{
    static const char s[] = "data: 1\n\ndata: 2\n\ndata: 3\n\n";
    check_n(s, sizeof(s) - 1u, 64u, 1, "message=1|", ST_CLOSED, false);
    check_n(s, sizeof(s) - 1u, 64u, 2, "message=1|message=2|", ST_CLOSED, false);
    check_n(s, sizeof(s) - 1u, 64u, 4, "message=1|message=2|message=3|", ST_OK, true);
}

/* Errors stick: more bytes after a failure change nothing. */
static void test_sticky(void)
{
    static char buf[4];
    rec r;
    sse_in p;
    memset(&r, 0, sizeof(r));
    sse_in_init(&p, buf, sizeof(buf), on_event, &r);
    T_EQ_INT(sse_in_feed(&p, "data: toolong\n\n", 15u), ST_TOOBIG);
    T_EQ_INT(sse_in_feed(&p, "data: a\n\n", 9u), ST_TOOBIG);
    T_EQ_INT(r.events, 0);
    T_EQ_INT(sse_in_status(&p), ST_TOOBIG);
}

int main(void)
{
    T_RUN(test_line_ends);
    T_RUN(test_fields);
    T_RUN(test_bom);
    T_RUN(test_incomplete);
    T_RUN(test_bytes);
    T_RUN(test_limits);
    T_RUN(test_callback_stop);
    T_RUN(test_sticky);
    return t_done("sse_in");
}
