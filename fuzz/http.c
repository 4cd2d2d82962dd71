/*
 * fuzz/http.c - libFuzzer target for the HTTP request parser (src/http/parse.c).
 *
 * One input exercises:
 *   - http_parse_head on the whole input and on a prefix cut at a point taken
 *     from the data: a prefix answer other than ST_AGAIN must equal the whole
 *     answer (same status, same head_len and views); every view of an ST_OK
 *     head lies inside the head; statuses are from the documented set.
 *   - a connection-like caller that reads in runs and only rescans when
 *     http_head_worth_parsing says so: same final answer as the whole.
 *   - the lookups and http_pct_decode on what was parsed.
 *   - http_chunked_decode on the bytes after a parsed head (or on the whole
 *     input), in one run, in two runs and (for short inputs) byte by byte, in
 *     a fixed static buffer: all three must agree byte for byte.
 * Built with tests/unit/tiny_config.h, so the 414/431 limits are reachable.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "http/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_BUF_BYTES 65536u

#define CHECK(c)                                                                 \
    do {                                                                         \
        if (!(c)) {                                                              \
            fprintf(stderr, "fuzz/http.c:%d: check failed: %s\n", __LINE__, #c); \
            abort();                                                             \
        }                                                                        \
    } while (0)

static http_req g_whole;
static http_req g_part;
static char g_chunk_a[FUZZ_BUF_BYTES];
static char g_chunk_b[FUZZ_BUF_BYTES];
static char g_chunk_c[FUZZ_BUF_BYTES];
static char g_pct[64];
static char g_pct_big[FUZZ_BUF_BYTES];

static bool view_in(strv v, const char *base, size_t n)
{
    if (v.p == NULL) {
        return v.n == 0u;
    }
    return (v.p >= base) && (v.n <= n) && ((size_t)(v.p - base) <= (n - v.n));
}

static bool view_same(strv a, strv b)
{
    return (a.p == b.p) && (a.n == b.n);
}

static void check_same_req(const http_req *a, const http_req *b)
{
    size_t i;
    CHECK(a->method == b->method);
    CHECK(view_same(a->method_str, b->method_str));
    CHECK(view_same(a->target, b->target));
    CHECK(view_same(a->path, b->path));
    CHECK(view_same(a->query, b->query));
    CHECK(a->minor == b->minor);
    CHECK(a->nheaders == b->nheaders);
    for (i = 0u; i < a->nheaders; i++) {
        CHECK(view_same(a->headers[i].name, b->headers[i].name));
        CHECK(view_same(a->headers[i].value, b->headers[i].value));
    }
    CHECK(view_same(a->host, b->host));
    CHECK(a->has_content_length == b->has_content_length);
    CHECK(a->content_length == b->content_length);
    CHECK(a->chunked == b->chunked);
    CHECK(a->keep_alive == b->keep_alive);
    CHECK(a->expect_continue == b->expect_continue);
    CHECK(a->upgrade_websocket == b->upgrade_websocket);
    CHECK(a->head_len == b->head_len);
}

static void check_ok_head(const http_req *r, const char *buf, size_t size)
{
    size_t i;
    size_t n = r->head_len;
    CHECK((n > 0u) && (n <= size) && (n <= (size_t)CFG_HTTP_MAX_HEAD_BYTES));
    CHECK(r->method_str.n > 0u && view_in(r->method_str, buf, n));
    CHECK(r->target.n > 0u && r->target.n <= (size_t)CFG_HTTP_MAX_TARGET_BYTES);
    CHECK(view_in(r->target, buf, n));
    CHECK(view_in(r->path, buf, n) || strv_eq_cstr(r->path, "/"));
    CHECK(r->path.n > 0u);
    CHECK(view_in(r->query, buf, n));
    CHECK((r->minor == 0) || (r->minor == 1));
    CHECK(r->nheaders <= (size_t)CFG_HTTP_MAX_HEADERS);
    for (i = 0u; i < r->nheaders; i++) {
        CHECK(r->headers[i].name.n > 0u && view_in(r->headers[i].name, buf, n));
        CHECK(r->headers[i].value.p != NULL && view_in(r->headers[i].value, buf, n));
    }
    CHECK(view_in(r->host, buf, n));
    CHECK((r->minor == 0) || (r->host.p != NULL));
    CHECK(!(r->chunked && r->has_content_length));
    CHECK(r->content_length <= (uint64_t)INT64_MAX);
    CHECK(buf[n - 1u] == '\n');
}

static void exercise_lookups(const http_req *r, const char *buf)
{
    size_t n = 0u;
    st_t st;
    strv v = http_header_get(r, "host");
    CHECK(view_in(v, buf, r->head_len));
    if (r->nheaders > 0u) {
        char name[64];
        size_t k = r->headers[0].name.n < (sizeof name - 1u) ? r->headers[0].name.n
                                                             : (sizeof name - 1u);
        memcpy(name, r->headers[0].name.p, k);
        name[k] = '\0';
        v = http_header_get(r, name);
        if (k == r->headers[0].name.n) {
            CHECK(v.p != NULL);
        }
        v = http_query_get(r->query, name);
        CHECK(view_in(v, r->query.p, r->query.n));
    }
    v = http_query_get(r->query, "a");
    CHECK((v.p == NULL) || view_in(v, r->query.p, r->query.n));
    st = http_pct_decode(r->path, g_pct, sizeof g_pct, &n);
    CHECK((st == ST_OK) || (st == ST_BAD) || (st == ST_FULL));
    CHECK(n <= sizeof g_pct);
    /* in place, on a copy */
    memcpy(g_pct_big, r->target.p, r->target.n);
    st = http_pct_decode((strv){ g_pct_big, r->target.n }, g_pct_big, r->target.n, &n);
    CHECK((st == ST_OK) || (st == ST_BAD));
    CHECK(n <= r->target.n);
}

/* Returns the answer for the whole input. */
static st_t fuzz_head(const char *buf, size_t size, size_t cut, size_t step)
{
    int sw = -1;
    int sp = -1;
    st_t whole = http_parse_head(buf, size, &g_whole, &sw);
    st_t part;
    size_t prev = 0u;
    size_t k;
    st_t lazy = ST_AGAIN;

    if (whole == ST_OK) {
        CHECK(sw == 0);
        check_ok_head(&g_whole, buf, size);
        exercise_lookups(&g_whole, buf);
    } else if (whole == ST_BAD) {
        CHECK((sw == 400) || (sw == 414) || (sw == 431) || (sw == 501) || (sw == 505));
    } else {
        CHECK(whole == ST_AGAIN);
        CHECK(sw == 0);
        CHECK(size < (size_t)CFG_HTTP_MAX_HEAD_BYTES);
    }

    part = http_parse_head(buf, cut, &g_part, &sp);
    if (part != ST_AGAIN) {
        CHECK(part == whole);
        CHECK(sp == sw);
        if (part == ST_OK) {
            check_same_req(&g_part, &g_whole);
        }
    } else {
        CHECK(sp == 0);
    }

    /* a caller reading `step` bytes at a time, rescanning lazily */
    for (k = 0u; (k < size) && (lazy == ST_AGAIN);) {
        size_t len = ((size - k) < step) ? size : (k + step);
        if (http_head_worth_parsing(buf, prev, len)) {
            lazy = http_parse_head(buf, len, &g_part, &sp);
        }
        prev = len;
        k = len;
    }
    if ((lazy == ST_AGAIN) && (size > 0u)) {
        lazy = http_parse_head(buf, size, &g_part, &sp);
    }
    if (size > 0u) {
        CHECK(lazy == whole);
        CHECK(sp == sw);
        if (lazy == ST_OK) {
            check_same_req(&g_part, &g_whole);
        }
    }
    return whole;
}

/* Decode in[0..n) into out as runs of `step` bytes (step 0: one run), the
 * way a connection does: each run is appended right after the decoded bytes. */
static st_t chunk_runs(const char *in, size_t n, size_t step, uint64_t max, char *out,
                       size_t *decoded, size_t *rest)
{
    http_chunked d;
    size_t off = 0u;
    st_t st = ST_AGAIN;
    http_chunked_init(&d, max);
    *decoded = 0u;
    *rest = 0u;
    while ((st == ST_AGAIN) && (off < n)) {
        size_t run = ((step == 0u) || ((n - off) < step)) ? (n - off) : step;
        size_t got = run;
        memcpy(out + *decoded, in + off, run);
        st = http_chunked_decode(&d, out + *decoded, &got, rest);
        CHECK(got + *rest <= run);
        CHECK((st == ST_OK) || (*rest == 0u));
        *decoded += got;
        off += run;
    }
    if (st == ST_OK) {
        /* the tail of the last run is at out[*decoded..]; append the unread input */
        memcpy(out + *decoded + *rest, in + off, n - off);
        *rest += n - off;
    }
    return st;
}

static void fuzz_chunked(const char *in, size_t n, uint64_t max, size_t cut)
{
    size_t da = 0u;
    size_t ra = 0u;
    size_t db = 0u;
    size_t rb = 0u;
    size_t dc = 0u;
    size_t rc = 0u;
    st_t a;
    st_t b;
    http_chunked d;
    size_t run;

    if (n > FUZZ_BUF_BYTES) {
        n = FUZZ_BUF_BYTES;
    }
    if (cut > n) {
        cut = n;
    }
    a = chunk_runs(in, n, 0u, max, g_chunk_a, &da, &ra);
    CHECK(da <= max);
    CHECK(da + ra <= n);
    if (a == ST_OK) {
        CHECK(memcmp(g_chunk_a + da, in + (n - ra), ra) == 0);
    }

    /* two runs, cut inside */
    http_chunked_init(&d, max);
    run = cut;
    memcpy(g_chunk_b, in, run);
    b = http_chunked_decode(&d, g_chunk_b, &run, &rb);
    db = run;
    if (b == ST_AGAIN) {
        run = n - cut;
        memcpy(g_chunk_b + db, in + cut, run);
        b = http_chunked_decode(&d, g_chunk_b + db, &run, &rb);
        db += run;
    } else if (b == ST_OK) {
        memcpy(g_chunk_b + db + rb, in + cut, n - cut);
        rb += n - cut;
    } else {
        /* failed in the first run */
    }
    if (b != ST_OK) {
        rb = 0u;
    }
    CHECK(b == a);
    CHECK(db == da);
    CHECK(rb == ra);
    CHECK(memcmp(g_chunk_a, g_chunk_b, da + ra) == 0);

    if (n <= 512u) {
        st_t c = chunk_runs(in, n, 1u, max, g_chunk_c, &dc, &rc);
        CHECK(c == a);
        CHECK(dc == da);
        CHECK(rc == ra);
        CHECK(memcmp(g_chunk_a, g_chunk_c, da + ra) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    size_t cut = 0u;
    size_t step = 1u;
    uint64_t max = UINT64_MAX;
    const char *body = buf;
    size_t body_n = size;

    if (size >= 2u) {
        cut = (((size_t)data[0] << 8) | (size_t)data[1]) % (size + 1u);
        step = 1u + ((size_t)data[size - 1u] % 64u);
        if ((data[size - 2u] & 1u) != 0u) {
            max = (uint64_t)data[size - 2u] * 4u;
        }
    }
    if (fuzz_head(buf, size, cut, step) == ST_OK) {
        /* decode what follows the head */
        body = buf + g_whole.head_len;
        body_n = size - g_whole.head_len;
    }
    fuzz_chunked(body, body_n, max, (body_n > 0u) ? (cut % (body_n + 1u)) : 0u);
    return 0;
}
