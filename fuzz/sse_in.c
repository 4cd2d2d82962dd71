/*
 * fuzz/sse_in.c - libFuzzer target for the client-side SSE parser
 * (src/out/sse_in.c) and the provider decoders (src/out/llm_wire.c).
 *
 * Input: byte 0 picks the data buffer size and the provider kind, bytes
 * 1..4 seed the piece sizes, the rest is a provider's response body. One
 * input:
 *   - parses the stream whole, in data-derived pieces of 0..64 bytes, and
 *     (when short) byte by byte; the three transcripts (each event's name
 *     and data, the final status and idle state) must be equal, and equal to
 *     an independent whole-input reference parser written here from the
 *     WHATWG rules (including where an event or a name stops fitting);
 *   - decodes every dispatched event as Anthropic and as OpenAI with a text
 *     buffer of data.n bytes and checks the results: a documented status,
 *     a text no longer than the data that never overflows its buffer, valid
 *     UTF-8 text, a NUL-terminated valid UTF-8 detail on failures;
 *   - runs the stream again as a call does (the callback stops at the first
 *     decode failure): it must stop exactly at that event;
 *   - decodes the body directly as event data, and as a whole
 *     (non-streaming) reply of each kind with a text buffer of the body's
 *     size and with a smaller one (the same text when it fits), and extracts
 *     an error message from it with several buffer sizes (always valid
 *     UTF-8, strlen == n).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core/utf8.h"
#include "out/llm_wire.h"
#include "out/sse_in.h"
#include "ref_utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_IN 16384u
#define FUZZ_LOG_BYTES (FUZZ_MAX_IN * 16u)

#define CHECK(c)                                                                   \
    do {                                                                           \
        if (!(c)) {                                                                \
            fprintf(stderr, "fuzz/sse_in.c:%d: check failed: %s\n", __LINE__, #c); \
            abort();                                                               \
        }                                                                          \
    } while (0)

/* A transcript: each event as <u32 len><name><u32 len><data>. */
typedef struct {
    uint8_t b[FUZZ_LOG_BYTES];
    size_t n;
    size_t events;
    st_t st;
    bool idle;
} transcript;

static transcript g_t[4];
static char g_buf[4096];
static char g_ref_data[FUZZ_MAX_IN + 16u];
static char g_text[FUZZ_MAX_IN + 16u];
static llm_event g_ev;

static void log_view(transcript *t, const char *p, size_t n)
{
    uint32_t len = (uint32_t)n;
    CHECK(t->n + 4u + n <= sizeof(t->b));
    memcpy(t->b + t->n, &len, 4u);
    t->n += 4u;
    if (n > 0u) {
        memcpy(t->b + t->n, p, n);
        t->n += n;
    }
}

static void log_event(transcript *t, strv event, strv data)
{
    log_view(t, event.p, event.n);
    log_view(t, data.p, data.n);
    t->events++;
}

/* Decode one event as kind and check what comes back; returns the status. */
static st_t check_decode(llm_kind kind, strv event, strv data)
{
    st_t st = llm_wire_decode(kind, event, data, (data.n > 0u) ? g_text : NULL, data.n, &g_ev);
    CHECK((st == ST_OK) || (st == ST_IO) || (st == ST_BAD) || (st == ST_TOOBIG));
    CHECK(memchr(g_ev.stop_reason, '\0', sizeof(g_ev.stop_reason)) != NULL);
    CHECK(memchr(g_ev.detail, '\0', sizeof(g_ev.detail)) != NULL);
    if (st == ST_OK) {
        CHECK(g_ev.detail[0] == '\0');
        CHECK(g_ev.text.n <= data.n);
        if (g_ev.text.n > 0u) {
            CHECK(g_ev.text.p == g_text);
            CHECK(utf8_valid((const uint8_t *)g_ev.text.p, g_ev.text.n));
        }
        CHECK(utf8_valid((const uint8_t *)g_ev.stop_reason, strlen(g_ev.stop_reason)));
    } else {
        size_t dn = strlen(g_ev.detail);
        CHECK(dn > 0u);
        CHECK(utf8_valid((const uint8_t *)g_ev.detail, dn));
        /* a text buffer of data.n bytes always holds the text (ST_TOOBIG
         * details name a fixed event; only ST_IO ones quote the data) */
        CHECK((st != ST_TOOBIG) || (strstr(g_ev.detail, "text delta larger") == NULL));
    }
    return st;
}

/* Decode the body as a whole reply of kind with a text buffer of cap
 * bytes and check what comes back; returns the status. */
static st_t check_whole(llm_kind kind, strv body, size_t cap)
{
    st_t st = llm_wire_decode_whole(kind, body, (cap > 0u) ? g_text : NULL, cap, &g_ev);
    CHECK((st == ST_OK) || (st == ST_IO) || (st == ST_BAD) || (st == ST_TOOBIG));
    CHECK(memchr(g_ev.stop_reason, '\0', sizeof(g_ev.stop_reason)) != NULL);
    CHECK(memchr(g_ev.detail, '\0', sizeof(g_ev.detail)) != NULL);
    if (st == ST_OK) {
        CHECK(g_ev.done);
        CHECK(g_ev.detail[0] == '\0');
        CHECK(g_ev.text.n <= cap);
        CHECK(g_ev.text.n < body.n);
        if (g_ev.text.n > 0u) {
            CHECK(g_ev.text.p == g_text);
            CHECK(utf8_valid((const uint8_t *)g_ev.text.p, g_ev.text.n));
        }
        CHECK(utf8_valid((const uint8_t *)g_ev.stop_reason, strlen(g_ev.stop_reason)));
    } else {
        size_t dn = strlen(g_ev.detail);
        CHECK(!g_ev.done);
        CHECK(dn > 0u);
        CHECK(utf8_valid((const uint8_t *)g_ev.detail, dn));
        /* a text buffer of the body's size always holds the text */
        CHECK((st != ST_TOOBIG) || (cap < body.n) ||
              (strstr(g_ev.detail, "text larger") == NULL));
    }
    return st;
}

/* The body as a whole reply: with a buffer of its size, then a smaller one,
 * which gives the same text when it fits and otherwise ST_TOOBIG. */
static void check_whole_both(llm_kind kind, strv body)
{
    static char text[FUZZ_MAX_IN + 16u];
    size_t tn;
    st_t st = check_whole(kind, body, body.n);
    st_t st2;
    if (st != ST_OK) {
        return;
    }
    tn = g_ev.text.n;
    if (tn > 0u) {
        (void)memcpy(text, g_ev.text.p, tn);   /* no text: its pointer may be NULL */
    }
    st2 = check_whole(kind, body, body.n / 3u);
    if (tn <= (body.n / 3u)) {
        CHECK(st2 == ST_OK);
        CHECK((g_ev.text.n == tn) && ((tn == 0u) || (memcmp(g_ev.text.p, text, tn) == 0)));
    } else {
        CHECK(st2 == ST_TOOBIG);
        CHECK(strstr(g_ev.detail, "text larger") != NULL);
    }
}

typedef struct {
    transcript *t;
    int stop_kind;   /* -1: never stop; else stop at the first failure of this kind */
} sink;

static st_t on_event(void *ctx, strv event, strv data)
{
    sink *s = ctx;
    st_t a;
    st_t o;
    CHECK(event.n > 0u);
    log_event(s->t, event, data);
    a = check_decode(LLM_ANTHROPIC, event, data);
    o = check_decode(LLM_OPENAI, event, data);
    if (s->stop_kind == (int)LLM_ANTHROPIC) {
        return a;
    }
    if (s->stop_kind == (int)LLM_OPENAI) {
        return o;
    }
    return ST_OK;
}

/* step 0: whole; 1: byte by byte; 2: pieces of 0..64 bytes from seed. */
static void run(const char *s, size_t n, size_t cap, int step, uint32_t seed, int stop_kind,
                transcript *t)
{
    sse_in p;
    sink k;
    size_t off = 0u;
    st_t st = ST_OK;

    t->n = 0u;
    t->events = 0u;
    k.t = t;
    k.stop_kind = stop_kind;
    sse_in_init(&p, g_buf, cap, on_event, &k);
    while ((off < n) && (st == ST_OK)) {
        size_t take = n - off;
        if (step == 1) {
            take = 1u;
        } else if (step == 2) {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            take = (size_t)(seed % 65u);
            if (take > n - off) {
                take = n - off;
            }
        } else {
            /* whole */
        }
        st = sse_in_feed(&p, s + off, take);
        off += take;
    }
    CHECK(sse_in_feed(&p, NULL, 0u) == st);
    CHECK(sse_in_status(&p) == st);
    t->st = st;
    t->idle = (st == ST_OK) ? sse_in_idle(&p) : false;
}

/* ---- the reference: whole input, line by line, from the WHATWG text ---- */

typedef struct {
    transcript *t;
    size_t cap;
    size_t data_len;
    size_t ndata;
    char event[CFG_LLM_SSE_NAME_BYTES + 64u];
    size_t event_len;
    bool event_big;
    st_t st;
} ref;

static bool ref_eq(const char *p, size_t n, const char *lit)
{
    return (strlen(lit) == n) && (memcmp(p, lit, n) == 0);
}

/* One line (no line end). `whole`: a line end followed it; a partial last
 * line is only checked for overflow, as the incremental parser sees it. */
static void ref_line(ref *r, const char *l, size_t n, bool whole)
{
    const char *colon = memchr(l, ':', n);
    size_t fn = (colon != NULL) ? (size_t)(colon - l) : n;
    const char *v = (colon != NULL) ? (colon + 1) : (l + n);
    size_t vn = (colon != NULL) ? (n - fn - 1u) : 0u;

    if (!whole && (colon == NULL)) {
        return;
    }
    if ((n == 0u) || (fn == 0u)) {
        if ((n == 0u) && whole) {
            if (r->ndata > 0u) {
                strv ev = (r->event_len > 0u) ? (strv){ r->event, r->event_len }
                                              : (strv){ "message", 7u };
                log_event(r->t, ev, (strv){ g_ref_data, r->data_len });
            }
            r->data_len = 0u;
            r->ndata = 0u;
            r->event_len = 0u;
        }
        return;
    }
    if ((vn > 0u) && (v[0] == ' ')) {
        v++;
        vn--;
    }
    if (ref_eq(l, fn, "data")) {
        size_t add = vn + ((r->ndata > 0u) ? 1u : 0u);
        if (r->data_len + add > r->cap) {
            r->st = ST_TOOBIG;
            return;
        }
        if (r->ndata > 0u) {
            g_ref_data[r->data_len] = '\n';
            r->data_len++;
        }
        memcpy(g_ref_data + r->data_len, v, vn);
        r->data_len += vn;
        r->ndata++;
    } else if (ref_eq(l, fn, "event")) {
        if (vn > (size_t)CFG_LLM_SSE_NAME_BYTES - 1u) {
            r->st = ST_TOOBIG;
            return;
        }
        memcpy(r->event, v, vn);
        r->event_len = vn;
    } else {
        /* id, retry, others: ignored */
    }
}

static void run_ref(const char *s, size_t n, size_t cap, transcript *t)
{
    static ref r;
    size_t i = 0u;
    bool partial = false;

    memset(&r, 0, sizeof(r));
    r.t = t;
    r.cap = cap;
    r.st = ST_OK;
    t->n = 0u;
    t->events = 0u;
    if ((n >= 3u) && (memcmp(s, "\xEF\xBB\xBF", 3u) == 0)) {
        i = 3u;
    }
    while ((i < n) && (r.st == ST_OK)) {
        size_t j = i;
        while ((j < n) && (s[j] != '\r') && (s[j] != '\n')) {
            j++;
        }
        if (j == n) {
            ref_line(&r, s + i, j - i, false);
            partial = true;
            i = n;
        } else {
            ref_line(&r, s + i, j - i, true);
            i = j + 1u;
            if ((s[j] == '\r') && (i < n) && (s[i] == '\n')) {
                i++;
            }
        }
    }
    t->st = r.st;
    /* idle: at a line start (a CR at the very end counts: its LF may still
     * come and is then dropped), no data or event name waiting, and not in
     * the middle of a leading BOM */
    t->idle = (r.st == ST_OK) && !partial && (r.ndata == 0u) && (r.event_len == 0u) &&
              !((n > 0u) && (n < 3u) && (memcmp(s, "\xEF\xBB\xBF", n) == 0));
}

static void same(const transcript *a, const transcript *b)
{
    CHECK(a->st == b->st);
    CHECK(a->events == b->events);
    CHECK(a->n == b->n);
    CHECK(memcmp(a->b, b->b, a->n) == 0);
    CHECK(a->idle == b->idle);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t caps[4] = { 0u, 8u, 64u, sizeof(g_buf) };
    static const char *const names[8] = { "message_start", "content_block_delta", "message_delta",
                                          "message_stop",  "error",               "message",
                                          "ping",          "other" };
    const char *s;
    size_t n;
    size_t cap;
    uint32_t seed;
    int stop_kind;
    static char msg[512];
    size_t i;

    if ((size < 5u) || (size > FUZZ_MAX_IN + 5u)) {
        return 0;
    }
    cap = caps[data[0] & 3u];
    stop_kind = ((data[0] & 4u) != 0u) ? (int)LLM_OPENAI : (int)LLM_ANTHROPIC;
    seed = ((uint32_t)data[1] << 24) | ((uint32_t)data[2] << 16) | ((uint32_t)data[3] << 8) |
           (uint32_t)data[4];
    if (seed == 0u) {
        seed = 1u;
    }
    s = (const char *)data + 5;
    n = size - 5u;

    run(s, n, cap, 0, seed, -1, &g_t[0]);
    run(s, n, cap, 2, seed, -1, &g_t[1]);
    same(&g_t[0], &g_t[1]);
    if (n <= 2048u) {
        run(s, n, cap, 1, seed, -1, &g_t[1]);
        same(&g_t[0], &g_t[1]);
    }
    run_ref(s, n, cap, &g_t[2]);
    same(&g_t[0], &g_t[2]);

    /* as a call: stop at the first decode failure of one kind */
    run(s, n, cap, 2, seed ^ 0x5bd1e995u, stop_kind, &g_t[3]);
    CHECK(g_t[3].events <= g_t[0].events);
    CHECK(g_t[3].n <= g_t[0].n);
    CHECK(memcmp(g_t[3].b, g_t[0].b, g_t[3].n) == 0);
    if (g_t[3].st == ST_OK) {
        CHECK(g_t[3].events == g_t[0].events);
    } else if (g_t[3].st != g_t[0].st) {
        CHECK((g_t[3].st == ST_IO) || (g_t[3].st == ST_BAD) || (g_t[3].st == ST_TOOBIG));
        CHECK(g_t[3].events >= 1u);
    } else {
        /* the same failure (e.g. ST_TOOBIG from the parser) or a decode
         * failure of that status: either way a prefix */
    }

    /* the body straight into the decoders and the error message reader */
    (void)check_decode(LLM_ANTHROPIC, strv_from_cstr(names[data[0] >> 5]), (strv){ s, n });
    (void)check_decode(LLM_OPENAI, strv_from_cstr(names[data[0] >> 5]), (strv){ s, n });
    check_whole_both(LLM_ANTHROPIC, (strv){ s, n });
    check_whole_both(LLM_OPENAI, (strv){ s, n });
    for (i = 1u; i <= sizeof(msg); i += 170u) {
        size_t got = llm_wire_error_message((strv){ s, n }, msg, i);
        CHECK(got < i);
        CHECK(strlen(msg) == got);
        CHECK(utf8_valid((const uint8_t *)msg, got));
    }
    return 0;
}
