/*
 * fuzz/json.c - libFuzzer target for the JSON reader and writer
 * (src/json/read.c, src/json/write.c).
 *
 * One input exercises:
 *   - json_parse_into with a large token array and json_parse with the
 *     (tiny) pool: statuses from the documented set, err filled, the two
 *     agree except that the pool may run out of tokens first;
 *   - on an accepted document, every getter on every token, with the
 *     answers checked against the token's type; object lookups against
 *     iteration (last duplicate wins); json_arr_at against iteration;
 *   - a re-serialization of the whole document with the writer (an explicit
 *     stack, no recursion), which must re-parse to the same structure (types,
 *     sizes, decoded strings, number text) and re-serialize to the same bytes;
 *     the same output written into a smaller buffer must fail ST_FULL with a
 *     prefix of the full output;
 *   - numbers written back with json_w_f64 / json_w_i64 read back equal;
 *   - the raw input written as one JSON string (ill-formed UTF-8 replaced by
 *     U+FFFD) must parse, and decode to the input when the input is UTF-8.
 * Built with tests/unit/tiny_config.h (pool of 64 tokens, depth 8).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "json/read.h"
#include "json/write.h"
#include "ref_utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_IN 16384u
#define FUZZ_TOKS 4096u
#define FUZZ_OUT (FUZZ_MAX_IN * 6u + 64u)

#define CHECK(c)                                                                 \
    do {                                                                         \
        if (!(c)) {                                                              \
            fprintf(stderr, "fuzz/json.c:%d: check failed: %s\n", __LINE__, #c); \
            abort();                                                             \
        }                                                                        \
    } while (0)

static jsmntok_t g_toks[FUZZ_TOKS];
static jsmntok_t g_toks2[FUZZ_TOKS];
static char g_out[FUZZ_OUT];
static char g_out2[FUZZ_OUT];
static char g_small[FUZZ_OUT];
static char g_str[FUZZ_MAX_IN + 1u];
static char g_str2[FUZZ_MAX_IN + 1u];

static bool st_is_parse_status(st_t st)
{
    return (st == ST_OK) || (st == ST_BAD) || (st == ST_UTF8) || (st == ST_TOOBIG);
}

/* Every getter on token t, checked against its type. */
static void walk_token(const json_doc *d, int t, const char *text, size_t size)
{
    json_type_t ty = json_type(d, t);
    strv raw = json_raw(d, t);
    size_t n = 0u;
    size_t n2 = 0u;
    int64_t i = 0;
    uint64_t u = 0u;
    double f = 0.0;
    bool b = false;
    st_t st;

    CHECK(ty != JSON_NONE);
    CHECK((raw.p >= text) && (raw.n >= 1u) && ((size_t)(raw.p - text) + raw.n <= size));
    CHECK(strcmp(json_type_name(ty), "none") != 0);

    st = json_get_mem(d, t, g_str, sizeof g_str, &n);
    if (ty == JSON_STRING) {
        CHECK(st == ST_OK);
        CHECK(n <= raw.n - 2u);
        CHECK(utf8_valid((const unsigned char *)g_str, n));
        st = json_get_str(d, t, g_str2, sizeof g_str2, &n2);
        CHECK((st == ST_OK) || (st == ST_INVAL));
        CHECK(n2 == n);
        CHECK((st == ST_INVAL) == (memchr(g_str, 0, n) != NULL));
        if (st == ST_OK) {
            CHECK(g_str2[n] == '\0');
            CHECK(memcmp(g_str, g_str2, n) == 0);
            CHECK(json_str_eq(d, t, g_str2));
            if (n > 0u) {
                /* One byte short: ST_FULL with the same length. */
                CHECK(json_get_str(d, t, g_str2, n, &n2) == ST_FULL);
                CHECK(n2 == n);
            }
        }
    } else {
        CHECK(st == ST_BAD);
        CHECK(json_get_str(d, t, g_str2, sizeof g_str2, &n2) == ST_BAD);
        CHECK(!json_str_eq(d, t, ""));
    }

    st = json_get_i64(d, t, &i);
    if (ty == JSON_NUMBER) {
        bool is_int = (memchr(raw.p, '.', raw.n) == NULL) && (memchr(raw.p, 'e', raw.n) == NULL) &&
                      (memchr(raw.p, 'E', raw.n) == NULL);
        CHECK(is_int ? ((st == ST_OK) || (st == ST_RANGE)) : (st == ST_BAD));
        if (st == ST_OK) {
            char tmp[32];
            json_w w;
            size_t len = 0u;
            json_doc d2;
            int64_t back = 0;
            CHECK(((raw.p[0] == '-') == (i < 0)) || (i == 0));
            json_w_init(&w, tmp, sizeof tmp);
            json_w_i64(&w, i);
            CHECK(json_w_finish(&w, &len) == ST_OK);
            CHECK(json_parse_into(&d2, tmp, len, g_toks2, 1u, NULL) == ST_OK);
            CHECK(json_get_i64(&d2, 0, &back) == ST_OK);
            CHECK(back == i);
        }
        st = json_get_u64(d, t, &u);
        CHECK(is_int ? ((st == ST_OK) || (st == ST_RANGE)) : (st == ST_BAD));
        st = json_get_f64(d, t, &f);
        CHECK((st == ST_OK) || (st == ST_RANGE));
        if (st == ST_OK) {
            char tmp[40];
            json_w w;
            size_t len = 0u;
            json_doc d2;
            double back = 1.0;
            CHECK(isfinite(f));
            json_w_init(&w, tmp, sizeof tmp);
            json_w_f64(&w, f);
            CHECK(json_w_finish(&w, &len) == ST_OK);
            CHECK(json_parse_into(&d2, tmp, len, g_toks2, 1u, NULL) == ST_OK);
            CHECK(json_get_f64(&d2, 0, &back) == ST_OK);
            CHECK(memcmp(&back, &f, sizeof f) == 0);
        }
    } else {
        CHECK(st == ST_BAD);
        CHECK(json_get_u64(d, t, &u) == ST_BAD);
        CHECK(json_get_f64(d, t, &f) == ST_BAD);
    }

    st = json_get_bool(d, t, &b);
    CHECK((st == ST_OK) == ((ty == JSON_TRUE) || (ty == JSON_FALSE)));
    CHECK((st == ST_OK) || (st == ST_BAD));
    if (st == ST_OK) {
        CHECK(b == (ty == JSON_TRUE));
    }
    CHECK(json_is_null(d, t) == (ty == JSON_NULL));
    CHECK((json_obj_len(d, t) >= 0) == (ty == JSON_OBJECT));
    CHECK((json_arr_len(d, t) >= 0) == (ty == JSON_ARRAY));
    st = json_field_i64(d, t, "a", &i);
    CHECK((ty == JSON_OBJECT) ? (st != ST_INVAL) : (st == ST_INVAL));
}

/* Containers: lookups and indexing agree with iteration. */
static void walk_container(const json_doc *d, int t)
{
    json_iter it = JSON_ITER_INIT;
    int k;
    int v;
    int count = 0;

    if (json_type(d, t) == JSON_OBJECT) {
        while (json_obj_next(d, t, &it, &k, &v)) {
            size_t n = 0u;
            int found;
            CHECK(json_type(d, k) == JSON_STRING);
            CHECK(v == k + 1);
            CHECK(json_get_mem(d, k, g_str, sizeof g_str, &n) == ST_OK);
            if (count < 64) {   /* each lookup is a scan: keep it linear-ish */
                found = json_obj_getn(d, t, g_str, n);
                CHECK(found >= v);
                if (found != v) {
                    size_t n2 = 0u;
                    CHECK(json_get_mem(d, found - 1, g_str2, sizeof g_str2, &n2) == ST_OK);
                    CHECK((n2 == n) && (memcmp(g_str, g_str2, n) == 0));
                }
            }
            count++;
        }
        CHECK(count == json_obj_len(d, t));
    } else if (json_type(d, t) == JSON_ARRAY) {
        while (json_arr_next(d, t, &it, &v)) {
            if (count < 32) {
                CHECK(json_arr_at(d, t, count) == v);
            }
            count++;
        }
        CHECK(count == json_arr_len(d, t));
        CHECK(json_arr_at(d, t, count) == -1);
    } else {
        CHECK(!json_obj_next(d, t, &it, &k, &v));
    }
}

/* The whole document through the writer, iteratively. Tokens are in
 * pre-order; rem[] counts the child slots left per open container (an
 * object has two per member: key, value). */
static st_t rewrite(const json_doc *d, char *out, size_t cap, size_t *len, size_t *written)
{
    int rem[CFG_JSON_MAX_DEPTH];
    json_type_t kind[CFG_JSON_MAX_DEPTH];
    int sp = 0;
    int t;
    json_w w;

    json_w_init(&w, out, cap);
    for (t = 0; t < json_count(d); t++) {
        json_type_t ty = json_type(d, t);
        size_t n = 0u;
        bool is_key;
        while ((sp > 0) && (rem[sp - 1] == 0)) {
            sp--;
            if (kind[sp] == JSON_OBJECT) {
                json_w_obj_end(&w);
            } else {
                json_w_arr_end(&w);
            }
        }
        is_key = (sp > 0) && (kind[sp - 1] == JSON_OBJECT) && ((rem[sp - 1] % 2) == 0);
        if (sp > 0) {
            rem[sp - 1]--;
        }
        if (is_key) {
            CHECK(json_get_mem(d, t, g_str, sizeof g_str, &n) == ST_OK);
            json_w_keyn(&w, g_str, n);
            continue;
        }
        switch (ty) {
        case JSON_OBJECT:
        case JSON_ARRAY:
            CHECK(sp < CFG_JSON_MAX_DEPTH);
            kind[sp] = ty;
            if (ty == JSON_OBJECT) {
                rem[sp] = 2 * json_obj_len(d, t);
                json_w_obj_begin(&w);
            } else {
                rem[sp] = json_arr_len(d, t);
                json_w_arr_begin(&w);
            }
            sp++;
            break;
        case JSON_STRING:
            CHECK(json_get_mem(d, t, g_str, sizeof g_str, &n) == ST_OK);
            json_w_str(&w, g_str, n);
            break;
        case JSON_NUMBER: {
            strv raw = json_raw(d, t);
            json_w_raw(&w, raw.p, raw.n);
            break;
        }
        case JSON_TRUE:
        case JSON_FALSE:
            json_w_bool(&w, ty == JSON_TRUE);
            break;
        case JSON_NULL:
            json_w_null(&w);
            break;
        default:
            CHECK(0);
            break;
        }
    }
    while (sp > 0) {
        sp--;
        if (kind[sp] == JSON_OBJECT) {
            json_w_obj_end(&w);
        } else {
            json_w_arr_end(&w);
        }
    }
    CHECK(json_w_len(&w) <= cap);
    *written = json_w_len(&w);
    return json_w_finish(&w, len);
}

static void check_same(const json_doc *a, const json_doc *b)
{
    int t;

    CHECK(json_count(a) == json_count(b));
    for (t = 0; t < json_count(a); t++) {
        json_type_t ty = json_type(a, t);
        CHECK(json_type(b, t) == ty);
        CHECK(a->toks[t].size == b->toks[t].size);
        CHECK(a->toks[t].parent == b->toks[t].parent);
        if (ty == JSON_STRING) {
            size_t na = 0u;
            size_t nb = 0u;
            CHECK(json_get_mem(a, t, g_str, sizeof g_str, &na) == ST_OK);
            CHECK(json_get_mem(b, t, g_str2, sizeof g_str2, &nb) == ST_OK);
            CHECK((na == nb) && (memcmp(g_str, g_str2, na) == 0));
        } else if (ty == JSON_NUMBER) {
            strv ra = json_raw(a, t);
            strv rb = json_raw(b, t);
            CHECK((ra.n == rb.n) && (memcmp(ra.p, rb.p, ra.n) == 0));
        } else {
            /* containers and literals: type and size say it all */
        }
    }
}

/* The input bytes as one JSON string value. */
static void string_round_trip(const uint8_t *data, size_t size)
{
    json_w w;
    json_doc d;
    size_t len = 0u;
    size_t n = 0u;

    json_w_init(&w, g_out2, sizeof g_out2);
    json_w_str(&w, (const char *)data, size);
    CHECK(json_w_finish(&w, &len) == ST_OK);
    CHECK(utf8_valid((const unsigned char *)g_out2, len));
    CHECK(json_parse_into(&d, g_out2, len, g_toks2, 1u, NULL) == ST_OK);
    CHECK(json_type(&d, 0) == JSON_STRING);
    CHECK(json_get_mem(&d, 0, g_str, sizeof g_str, &n) == ST_OK);
    if (utf8_valid(data, size)) {
        CHECK((n == size) && ((size == 0u) || (memcmp(g_str, data, size) == 0)));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    json_doc d;
    json_doc dp;
    json_doc d2;
    json_err e = { 0u, NULL };
    json_err ep = { 0u, NULL };
    size_t len = 0u;
    size_t len2 = 0u;
    size_t wr = 0u;
    st_t st;
    st_t stp;
    int t;

    if (size > FUZZ_MAX_IN) {
        return 0;
    }
    string_round_trip(data, size);

    st = json_parse_into(&d, text, size, g_toks, FUZZ_TOKS, &e);
    CHECK(st_is_parse_status(st));
    if (st != ST_OK) {
        CHECK(e.reason != NULL);
        CHECK(e.offset <= size);
        CHECK(json_root(&d) == -1);
    }

    /* The pool: same answer unless its 64 tokens run out first. */
    CHECK(!json_pool_busy());
    stp = json_parse(&dp, text, size, &ep);
    if ((stp == ST_TOOBIG) && (strcmp(ep.reason, "too many tokens") == 0) &&
        !((st == ST_TOOBIG) && (strcmp(e.reason, "too many tokens") == 0))) {
        CHECK((st == ST_OK) ? (json_count(&d) > CFG_JSON_MAX_TOKENS) : (ep.offset <= e.offset));
    } else {
        CHECK(stp == st);
        if (st != ST_OK) {
            CHECK((ep.offset == e.offset) && (strcmp(ep.reason, e.reason) == 0));
        } else {
            CHECK(json_pool_busy());
            CHECK(json_count(&dp) == json_count(&d));
        }
    }
    json_release(&dp);
    CHECK(!json_pool_busy());

    if (st != ST_OK) {
        return 0;
    }
    CHECK(json_root(&d) == 0);
    for (t = 0; t < json_count(&d); t++) {
        walk_token(&d, t, text, size);
        walk_container(&d, t);
    }

    CHECK(rewrite(&d, g_out, sizeof g_out, &len, &wr) == ST_OK);
    CHECK(json_parse_into(&d2, g_out, len, g_toks2, FUZZ_TOKS, &e) == ST_OK);
    check_same(&d, &d2);
    /* Writing the re-parsed document gives the same bytes. */
    CHECK(rewrite(&d2, g_out2, sizeof g_out2, &len2, &wr) == ST_OK);
    CHECK((len2 == len) && (memcmp(g_out, g_out2, len) == 0));
    /* A buffer one size short (chosen from the data) fails ST_FULL. */
    if (len > 0u) {
        size_t cap = (size_t)data[0] % len;
        size_t len3 = 12345u;
        memset(g_small, 0x5A, cap + 1u);
        CHECK(rewrite(&d, (cap == 0u) ? NULL : g_small, cap, &len3, &wr) == ST_FULL);
        CHECK(len3 == 12345u);
        CHECK((wr <= cap) && (memcmp(g_small, g_out, wr) == 0));
        CHECK(g_small[cap] == 0x5A);
    }
    json_release(&d);
    return 0;
}
