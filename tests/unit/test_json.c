/*
 * test_json.c - the JSON reader and writer, built with tiny limits
 * (CFG_JSON_MAX_TOKENS 64, CFG_JSON_MAX_DEPTH 8).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "json/read.h"
#include "json/write.h"
#include "t.h"

#if CFG_JSON_MAX_TOKENS != 64 || CFG_JSON_MAX_DEPTH != 8
#error "test_json.c expects the tiny unit-test limits"
#endif

/* A literal with its length (literals below may contain NUL bytes). */
#define S(lit) (lit), (sizeof(lit) - 1u)

static jsmntok_t g_toks[CFG_JSON_MAX_TOKENS];

static st_t parse_n(json_doc *d, const char *s, size_t n, json_err *e)
{
    return json_parse_into(d, s, n, g_toks, (unsigned)CFG_JSON_MAX_TOKENS, e);
}

static st_t parse(json_doc *d, const char *s)
{
    return parse_n(d, s, strlen(s), NULL);
}

/* ---- accept / reject tables ---------------------------------------------- */

typedef struct {
    const char *s;
    size_t n;
} accept_case;

static const accept_case k_accept[] = {
    { S("[]") }, { S("{}") }, { S("0") }, { S("-0") }, { S("1") }, { S("-1") },
    { S("123") }, { S("1.5") }, { S("-1.5e10") }, { S("1E+2") }, { S("1e-2") },
    { S("0.0") }, { S("0e0") }, { S("-0.0e-0") }, { S("1E400") }, { S("true") },
    { S("false") }, { S("null") }, { S("\"\"") }, { S("\"abc\"") }, { S(" [1] ") },
    { S("\t\n\r 1 \n") }, { S("[1,2,3]") }, { S("{\"a\":1}") },
    { S("{\"a\":[1,{\"b\":null}],\"c\":\"d\"}") }, { S("[\"\\u0000\"]") },
    { S("[\"\\uD834\\uDD1E\"]") }, { S("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"") },
    { S("\"\xc3\xa9\"") }, { S("\"\xe2\x82\xac\"") }, { S("\"\xf0\x9d\x84\x9e\"") },
    { S("\"\xef\xbf\xbf\"") }, { S("\"\xf4\x8f\xbf\xbf\"") }, { S("\"\x7f\"") },
    { S("[[]]") }, { S("[{}]") }, { S("{\"\":0}") }, { S("{\"a\":1,\"a\":2}") },
    { S("\"\\u00e9\\u00E9\"") }, { S("[ 1 , 2 ]") }, { S("{ \"a\" : 1 , \"b\" : [ ] }") },
    { S("[true,false,null]") }, { S("\"/\"") }, { S("[[[[[[[[1]]]]]]]]") },
    { S("[-1.23e-45, 0.5E+3]") }, { S("\"\\u2028\\u2029\"") }, { S("{\"a\":\"}\"}") },
};

typedef struct {
    const char *s;
    size_t n;
    st_t st;
    const char *reason;
    size_t offset;
} reject_case;

#define R_VALUE "Expecting value"
#define R_EXTRA "Extra data"
#define R_COMMA "Expecting ',' delimiter"
#define R_COLON "Expecting ':' delimiter"
#define R_PROP "Expecting property name enclosed in double quotes"
#define R_UNTERM "Unterminated string starting at"
#define R_CTRL "Invalid control character at"
#define R_ESC "Invalid \\escape"
#define R_UESC "Invalid \\uXXXX escape"
#define R_SURR "Unpaired surrogate in \\u escape"
#define R_UTF8 "Invalid UTF-8"

static const reject_case k_reject[] = {
    { S(""), ST_BAD, R_VALUE, 0 },
    { S("   "), ST_BAD, R_VALUE, 3 },
    { S("["), ST_BAD, R_VALUE, 1 },
    { S("]"), ST_BAD, R_VALUE, 0 },
    { S("{"), ST_BAD, R_PROP, 1 },
    { S("[1 2]"), ST_BAD, R_COMMA, 3 },
    { S("[1,]"), ST_BAD, R_VALUE, 3 },
    { S("[,1]"), ST_BAD, R_VALUE, 1 },
    { S("[1,,2]"), ST_BAD, R_VALUE, 3 },
    { S("{\"a\":1,}"), ST_BAD, R_PROP, 7 },
    { S("{,}"), ST_BAD, R_PROP, 1 },
    { S("{\"a\" 1}"), ST_BAD, R_COLON, 5 },
    { S("{\"a\"}"), ST_BAD, R_COLON, 4 },
    { S("{\"a\":}"), ST_BAD, R_VALUE, 5 },
    { S("{1:1}"), ST_BAD, R_PROP, 1 },
    { S("{'a':1}"), ST_BAD, R_PROP, 1 },
    { S("{\"a\":1 \"b\":2}"), ST_BAD, R_COMMA, 7 },
    { S("[\"a\":1]"), ST_BAD, R_COMMA, 4 },
    { S("[1}"), ST_BAD, R_COMMA, 2 },
    { S("{\"a\":1]"), ST_BAD, R_COMMA, 6 },
    { S("{\"a\":1"), ST_BAD, R_COMMA, 6 },
    { S("01"), ST_BAD, R_EXTRA, 1 },
    { S("[01]"), ST_BAD, R_COMMA, 2 },
    { S("-01"), ST_BAD, R_EXTRA, 2 },
    { S("-"), ST_BAD, R_VALUE, 0 },
    { S("[-]"), ST_BAD, R_VALUE, 1 },
    { S("-a"), ST_BAD, R_VALUE, 0 },
    { S("1."), ST_BAD, R_EXTRA, 1 },
    { S("1.e5"), ST_BAD, R_EXTRA, 1 },
    { S(".5"), ST_BAD, R_VALUE, 0 },
    { S("1e"), ST_BAD, R_EXTRA, 1 },
    { S("1e+"), ST_BAD, R_EXTRA, 1 },
    { S("-1.0e"), ST_BAD, R_EXTRA, 4 },
    { S("+1"), ST_BAD, R_VALUE, 0 },
    { S("0x10"), ST_BAD, R_EXTRA, 1 },
    { S("123abc"), ST_BAD, R_EXTRA, 3 },
    { S("tru"), ST_BAD, R_VALUE, 0 },
    { S("truex"), ST_BAD, R_EXTRA, 4 },
    { S("[nul]"), ST_BAD, R_VALUE, 1 },
    { S("fals"), ST_BAD, R_VALUE, 0 },
    { S("True"), ST_BAD, R_VALUE, 0 },
    { S("NaN"), ST_BAD, R_VALUE, 0 },
    { S("Infinity"), ST_BAD, R_VALUE, 0 },
    { S("-Infinity"), ST_BAD, R_VALUE, 0 },
    { S("\"abc"), ST_BAD, R_UNTERM, 0 },
    { S("[\"abc"), ST_BAD, R_UNTERM, 1 },
    { S("\"\\"), ST_BAD, R_UNTERM, 0 },
    { S("\"a\\x\""), ST_BAD, R_ESC, 2 },
    { S("\"\\'\""), ST_BAD, R_ESC, 1 },
    { S("\"\\U0041\""), ST_BAD, R_ESC, 1 },
    { S("\"\\u12\""), ST_BAD, R_UESC, 2 },
    { S("\"\\u12"), ST_BAD, R_UESC, 2 },
    { S("\"\\uZZZZ\""), ST_BAD, R_UESC, 2 },
    { S("\"a\tb\""), ST_BAD, R_CTRL, 2 },
    { S("\"\x01\""), ST_BAD, R_CTRL, 1 },
    { S("\"\n\""), ST_BAD, R_CTRL, 1 },
    { S("\"\x00\""), ST_BAD, R_CTRL, 1 },
    { S("\"\\uD800\""), ST_BAD, R_SURR, 1 },
    { S("\"\\uDC00\""), ST_BAD, R_SURR, 1 },
    { S("\"\\uD800\\u0041\""), ST_BAD, R_SURR, 1 },
    { S("\"\\uD800\\uD800\""), ST_BAD, R_SURR, 1 },
    { S("\"\\uD800x\""), ST_BAD, R_SURR, 1 },
    { S("\"\\uD800\\uZ\""), ST_BAD, R_UESC, 8 },
    { S("\"\\uDBFF\\n\""), ST_BAD, R_SURR, 1 },
    { S("\"\xff\""), ST_UTF8, R_UTF8, 1 },
    { S("\"\x80\""), ST_UTF8, R_UTF8, 1 },
    { S("\"\xc0\xaf\""), ST_UTF8, R_UTF8, 1 },
    { S("\"\xc1\xbf\""), ST_UTF8, R_UTF8, 1 },
    { S("\"\xe0\x80\xaf\""), ST_UTF8, R_UTF8, 1 },
    { S("\"\xed\xa0\x80\""), ST_UTF8, R_UTF8, 1 },
    { S("\"\xf0\x80\x80\xaf\""), ST_UTF8, R_UTF8, 1 },
    { S("\"\xf4\x90\x80\x80\""), ST_UTF8, R_UTF8, 1 },
    { S("\"\xf5\x80\x80\x80\""), ST_UTF8, R_UTF8, 1 },
    { S("\"ab\xc3\""), ST_UTF8, R_UTF8, 3 },
    { S("\"\xe2\x82\""), ST_UTF8, R_UTF8, 1 },
    { S("\"\xe2\x82"), ST_UTF8, R_UTF8, 1 },
    { S("\xef\xbb\xbf[]"), ST_BAD, "Unexpected UTF-8 BOM", 0 },
    { S("\xc3\xa9"), ST_BAD, R_VALUE, 0 },
    { S("[1]x"), ST_BAD, R_EXTRA, 3 },
    { S("[1] [2]"), ST_BAD, R_EXTRA, 4 },
    { S("1 2"), ST_BAD, R_EXTRA, 2 },
    { S("{} {}"), ST_BAD, R_EXTRA, 3 },
    { S("[\x00]"), ST_BAD, R_VALUE, 1 },
    { S("[1]\x00"), ST_BAD, R_EXTRA, 3 },
    { S("1\x00"), ST_BAD, R_EXTRA, 1 },
    { S("/* c */ 1"), ST_BAD, R_VALUE, 0 },
    { S("[1]\f"), ST_BAD, R_EXTRA, 3 },
    { S("\v1"), ST_BAD, R_VALUE, 0 },
    { S("[\"a\"\"b\"]"), ST_BAD, R_COMMA, 4 },
    { S("{\"a\":1}}"), ST_BAD, R_EXTRA, 7 },
    { S("[[]]]"), ST_BAD, R_EXTRA, 4 },
    { S("[[[[[[[[[1]]]]]]]]]"), ST_TOOBIG, "nesting too deep", 8 },
    { S("{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{}}}}}}}}}"), ST_TOOBIG,
      "nesting too deep", 40 },
};

static void test_accept(void)
{
    size_t i;

    for (i = 0u; i < sizeof k_accept / sizeof k_accept[0]; i++) {
        json_doc d;
        json_err e = { 0u, NULL };
        st_t st = parse_n(&d, k_accept[i].s, k_accept[i].n, &e);
        if (st != ST_OK) {
            fprintf(stderr, "  accept[%zu] '%s': %s at %zu\n", i, k_accept[i].s,
                    e.reason ? e.reason : "?", e.offset);
        }
        T_EQ_INT(st, ST_OK);
        T_CHECK(json_root(&d) == 0);
        T_CHECK(json_type(&d, 0) != JSON_NONE);
    }
}

static void test_reject(void)
{
    size_t i;

    for (i = 0u; i < sizeof k_reject / sizeof k_reject[0]; i++) {
        const reject_case *c = &k_reject[i];
        json_doc d;
        json_err e = { 9999u, NULL };
        st_t st = parse_n(&d, c->s, c->n, &e);
        bool ok = (st == c->st) && (e.reason != NULL) && (strcmp(e.reason, c->reason) == 0) &&
                  (e.offset == c->offset);
        if (!ok) {
            fprintf(stderr, "  reject[%zu]: got %s '%s' at %zu, want %s '%s' at %zu\n", i,
                    status_str(st), e.reason ? e.reason : "(null)", e.offset,
                    status_str(c->st), c->reason, c->offset);
        }
        T_CHECK(ok);
        T_EQ_INT(json_root(&d), -1);
    }
}

/* Every top-level scalar, with and without surrounding whitespace. */
static void test_scalar_roots(void)
{
    json_doc d;
    int64_t i = 0;
    double f = 0.0;
    bool b = false;
    char buf[8];

    T_EQ_INT(parse(&d, "42"), ST_OK);
    T_EQ_INT(json_count(&d), 1);
    T_EQ_INT(json_type(&d, 0), JSON_NUMBER);
    T_EQ_INT(json_get_i64(&d, 0, &i), ST_OK);
    T_EQ_INT(i, 42);
    T_EQ_INT(parse(&d, "  -7.5e1\n"), ST_OK);
    T_EQ_INT(json_get_f64(&d, 0, &f), ST_OK);
    T_CHECK(f == -75.0);
    T_EQ_MEM(json_raw(&d, 0).p, json_raw(&d, 0).n, "-7.5e1");
    T_EQ_INT(parse(&d, "true"), ST_OK);
    T_EQ_INT(json_get_bool(&d, 0, &b), ST_OK);
    T_CHECK(b);
    T_EQ_INT(parse(&d, " null "), ST_OK);
    T_CHECK(json_is_null(&d, 0));
    T_EQ_INT(parse(&d, "\"hi\""), ST_OK);
    T_EQ_INT(json_get_str(&d, 0, buf, sizeof buf, NULL), ST_OK);
    T_EQ_STR(buf, "hi");
    T_EQ_MEM(json_raw(&d, 0).p, json_raw(&d, 0).n, "\"hi\"");
}

/* ---- pool, tokens, depth --------------------------------------------------- */

/* "[0,0,...,0]" with n elements into buf. */
static size_t make_array(char *buf, size_t cap, int n)
{
    size_t len = 0u;
    int i;

    buf[len++] = '[';
    for (i = 0; i < n; i++) {
        if (i > 0) {
            buf[len++] = ',';
        }
        buf[len++] = '0';
    }
    buf[len++] = ']';
    T_CHECK(len < cap);
    return len;
}

static void test_pool(void)
{
    json_doc d;
    json_doc d2;
    json_err e = { 0u, NULL };
    jsmntok_t own[4];

    T_CHECK(!json_pool_busy());
    T_EQ_INT(json_parse(&d, S("{\"a\":[1,2]}"), &e), ST_OK);
    T_CHECK(json_pool_busy());
    T_EQ_INT(json_arr_len(&d, json_obj_get(&d, 0, "a")), 2);
    /* A second document with its own tokens while the pooled one is live. */
    T_EQ_INT(json_parse_into(&d2, S("[true]"), own, 4u, &e), ST_OK);
    T_EQ_INT(json_type(&d2, json_arr_at(&d2, 0, 0)), JSON_TRUE);
    json_release(&d2);
    T_EQ_INT(json_root(&d2), -1);
    T_CHECK(json_pool_busy());
    json_release(&d);
    T_CHECK(!json_pool_busy());
    T_EQ_INT(json_root(&d), -1);
    T_EQ_INT(json_type(&d, 0), JSON_NONE);
    json_release(&d);   /* twice is harmless */
    T_CHECK(!json_pool_busy());
    /* A failed parse leaves the pool free. */
    T_EQ_INT(json_parse(&d, S("[1,"), &e), ST_BAD);
    T_CHECK(!json_pool_busy());
    T_EQ_INT(json_parse(&d, S("[1]"), &e), ST_OK);
    json_release(&d);
}

static void test_tokens(void)
{
    static char buf[512];
    json_doc d;
    json_err e = { 0u, NULL };
    jsmntok_t few[4];
    size_t n;

    /* 1 array + 63 elements = 64 tokens: fits the pool exactly. */
    n = make_array(buf, sizeof buf, CFG_JSON_MAX_TOKENS - 1);
    T_EQ_INT(json_parse(&d, buf, n, &e), ST_OK);
    T_EQ_INT(json_count(&d), CFG_JSON_MAX_TOKENS);
    T_EQ_INT(json_arr_len(&d, 0), CFG_JSON_MAX_TOKENS - 1);
    T_EQ_INT(json_arr_at(&d, 0, CFG_JSON_MAX_TOKENS - 2), CFG_JSON_MAX_TOKENS - 1);
    json_release(&d);
    /* One more element: the 65th token (element 64, at offset 1 + 2*63). */
    n = make_array(buf, sizeof buf, CFG_JSON_MAX_TOKENS);
    T_EQ_INT(json_parse(&d, buf, n, &e), ST_TOOBIG);
    T_EQ_STR(e.reason, "too many tokens");
    T_EQ_INT(e.offset, 1 + 2 * (CFG_JSON_MAX_TOKENS - 1));
    T_CHECK(!json_pool_busy());

    /* Keys count: {"a":1} is 3 tokens. */
    T_EQ_INT(json_parse_into(&d, S("{\"a\":1}"), few, 3u, &e), ST_OK);
    T_EQ_INT(json_parse_into(&d, S("{\"a\":1,\"b\":2}"), few, 4u, &e), ST_TOOBIG);
    T_EQ_INT(e.offset, 11);
    T_EQ_INT(json_parse_into(&d, S("{\"a\":1,\"b\":2}"), few, 3u, &e), ST_TOOBIG);
    T_EQ_INT(e.offset, 7);
    T_EQ_INT(json_parse_into(&d, S("{\"a\":[1]}"), few, 3u, &e), ST_TOOBIG);
    T_EQ_INT(e.offset, 6);
    T_EQ_INT(json_parse_into(&d, S(" 5 "), few, 1u, &e), ST_OK);
    T_EQ_INT(json_parse_into(&d, S("[5]"), few, 1u, &e), ST_TOOBIG);
    T_EQ_INT(e.offset, 1);
    /* A syntax error before the tokens run out wins; after, the token error. */
    T_EQ_INT(json_parse_into(&d, S("[1,2,x]"), few, 2u, &e), ST_TOOBIG);
    T_EQ_INT(json_parse_into(&d, S("[x,2,3]"), few, 2u, &e), ST_BAD);
}

static void test_depth(void)
{
    json_doc d;
    json_err e = { 0u, NULL };
    int t = 0;
    int depth = 0;

    T_EQ_INT(parse_n(&d, S("[[[[[[[[\"x\"]]]]]]]]"), &e), ST_OK);
    while (json_type(&d, t) == JSON_ARRAY) {
        t = json_arr_at(&d, t, 0);
        depth++;
    }
    T_EQ_INT(depth, CFG_JSON_MAX_DEPTH);
    T_EQ_INT(json_type(&d, t), JSON_STRING);
    T_EQ_INT(parse_n(&d, S("[[[[[[[[[]]]]]]]]]"), &e), ST_TOOBIG);
    T_EQ_STR(e.reason, "nesting too deep");
    T_EQ_INT(e.offset, 8);
    /* Depth is nesting, not the number of containers. */
    T_EQ_INT(parse_n(&d, S("[[],[],[],[],[],[],[],[],[],[]]"), &e), ST_OK);
    T_EQ_INT(parse_n(&d, S("[[[[[[[[]]]]]]],[[[[[[[]]]]]]]]"), &e), ST_OK);
}

static void test_text_limits(void)
{
    json_doc d;
    json_err e = { 0u, NULL };

    T_EQ_INT(parse_n(&d, NULL, 0u, &e), ST_BAD);
    T_EQ_STR(e.reason, "Expecting value");
    T_EQ_INT(parse_n(&d, "[1]", (size_t)INT32_MAX, &e), ST_TOOBIG);
    T_EQ_STR(e.reason, "document too large");
    T_EQ_INT(parse_n(&d, S("[1, 2]"), NULL), ST_OK);   /* err may be NULL */
    T_EQ_INT(parse_n(&d, S("[1, "), NULL), ST_BAD);
}

/* ---- navigation ------------------------------------------------------------ */

static void test_navigation(void)
{
    static const char *doc =
        "{\"x\":{\"ab\":1,\"q\":[1,[2,3],{\"ab\":4}]},\"a\\u0062\":2,\"arr\":[10,{\"k\":[]},\"s\",null],"
        "\"dup\":1,\"dup\":2,\"\":\"empty\",\"t\":true}";
    json_doc d;
    json_iter it = JSON_ITER_INIT;
    int k;
    int v;
    int arr;
    int n = 0;
    int64_t i = 0;
    char key[16];

    T_EQ_INT(parse(&d, doc), ST_OK);
    T_EQ_INT(json_type(&d, 0), JSON_OBJECT);
    T_EQ_INT(json_obj_len(&d, 0), 7);
    /* "ab" at the top (escaped in the text) is 2, not the nested ones. */
    T_EQ_INT(json_get_i64(&d, json_obj_get(&d, 0, "ab"), &i), ST_OK);
    T_EQ_INT(i, 2);
    T_EQ_INT(json_get_i64(&d, json_obj_get(&d, json_obj_get(&d, 0, "x"), "ab"), &i), ST_OK);
    T_EQ_INT(i, 1);
    T_EQ_INT(json_get_i64(&d, json_obj_get(&d, 0, "dup"), &i), ST_OK);
    T_EQ_INT(i, 2);
    T_CHECK(json_str_eq(&d, json_obj_get(&d, 0, ""), "empty"));
    T_EQ_INT(json_obj_get(&d, 0, "missing"), -1);
    T_EQ_INT(json_obj_get(&d, 0, "a"), -1);
    T_EQ_INT(json_obj_get(&d, 0, "abc"), -1);
    T_EQ_INT(json_obj_getn(&d, 0, "arrX", 3u), json_obj_get(&d, 0, "arr"));
    T_EQ_INT(json_obj_get(&d, -1, "x"), -1);
    T_EQ_INT(json_obj_get(&d, json_obj_get(&d, 0, "t"), "x"), -1);
    T_EQ_INT(json_obj_get(&d, 0, NULL), -1);

    arr = json_obj_get(&d, 0, "arr");
    T_EQ_INT(json_type(&d, arr), JSON_ARRAY);
    T_EQ_INT(json_arr_len(&d, arr), 4);
    T_EQ_INT(json_arr_len(&d, 0), -1);
    T_EQ_INT(json_obj_len(&d, arr), -1);
    T_EQ_INT(json_get_i64(&d, json_arr_at(&d, arr, 0), &i), ST_OK);
    T_EQ_INT(i, 10);
    T_EQ_INT(json_type(&d, json_arr_at(&d, arr, 1)), JSON_OBJECT);
    T_CHECK(json_str_eq(&d, json_arr_at(&d, arr, 2), "s"));
    T_CHECK(json_is_null(&d, json_arr_at(&d, arr, 3)));
    T_EQ_INT(json_arr_at(&d, arr, 4), -1);
    T_EQ_INT(json_arr_at(&d, arr, -1), -1);
    T_EQ_INT(json_arr_at(&d, 0, 0), -1);
    T_EQ_INT(json_arr_len(&d, json_obj_get(&d, json_arr_at(&d, arr, 1), "k")), 0);

    /* Every member in order, duplicates included. */
    while (json_obj_next(&d, 0, &it, &k, &v)) {
        T_EQ_INT(json_type(&d, k), JSON_STRING);
        n++;
    }
    T_EQ_INT(n, 7);
    T_CHECK(!json_obj_next(&d, 0, &it, &k, &v));   /* stays at the end */
    json_iter_init(&it);
    T_CHECK(json_obj_next(&d, 0, &it, &k, &v));
    T_EQ_INT(json_get_str(&d, k, key, sizeof key, NULL), ST_OK);
    T_EQ_STR(key, "x");
    T_CHECK(json_obj_next(&d, 0, &it, &k, &v));
    T_EQ_INT(json_get_str(&d, k, key, sizeof key, NULL), ST_OK);
    T_EQ_STR(key, "ab");
    T_EQ_MEM(json_raw(&d, k).p, json_raw(&d, k).n, "\"a\\u0062\"");

    json_iter_init(&it);
    n = 0;
    while (json_arr_next(&d, arr, &it, &v)) {
        n++;
    }
    T_EQ_INT(n, 4);
    json_iter_init(&it);
    T_CHECK(!json_arr_next(&d, 0, &it, &v));     /* an object is no array */
    json_iter_init(&it);
    T_CHECK(!json_obj_next(&d, arr, &it, &k, &v));
    T_CHECK(!json_obj_next(&d, -1, &it, &k, &v));

    T_EQ_MEM(json_raw(&d, json_obj_get(&d, 0, "x")).p, json_raw(&d, json_obj_get(&d, 0, "x")).n,
             "{\"ab\":1,\"q\":[1,[2,3],{\"ab\":4}]}");
    T_CHECK(json_raw(&d, -1).p == NULL);
    T_EQ_INT(json_type(&d, -1), JSON_NONE);
    T_EQ_STR(json_type_name(JSON_TRUE), "boolean");
    T_EQ_STR(json_type_name(json_type(&d, arr)), "array");
    T_EQ_STR(json_type_name(JSON_NONE), "none");

    /* Empty containers. */
    T_EQ_INT(parse(&d, "{\"a\":{},\"b\":[],\"c\":1}"), ST_OK);
    T_EQ_INT(json_obj_len(&d, json_obj_get(&d, 0, "a")), 0);
    T_EQ_INT(json_arr_len(&d, json_obj_get(&d, 0, "b")), 0);
    T_EQ_INT(json_type(&d, json_obj_get(&d, 0, "c")), JSON_NUMBER);
}

/* ---- getters ----------------------------------------------------------------- */

static void test_get_str(void)
{
    json_doc d;
    char buf[16];
    size_t n = 99u;

    T_EQ_INT(parse(&d, "[\"abc\",1,\"a\\u0000b\",\"\",\"\\uD834\\uDD1E\\u00e9\\u20AC\\n\\\"\\\\\\/\"]"),
             ST_OK);
    /* Boundary: "abc" needs 4 bytes with the terminator. */
    T_EQ_INT(json_get_str(&d, 1, buf, 3u, &n), ST_FULL);
    T_EQ_INT(n, 3);
    n = 99u;
    T_EQ_INT(json_get_str(&d, 1, buf, 4u, &n), ST_OK);
    T_EQ_INT(n, 3);
    T_EQ_STR(buf, "abc");
    T_EQ_INT(json_get_str(&d, 1, NULL, 0u, &n), ST_FULL);
    T_EQ_INT(n, 3);
    T_EQ_INT(json_get_mem(&d, 1, buf, 3u, &n), ST_OK);
    T_EQ_MEM(buf, n, "abc");
    T_EQ_INT(json_get_mem(&d, 1, buf, 2u, &n), ST_FULL);
    T_EQ_INT(n, 3);
    /* Wrong type, missing. */
    T_EQ_INT(json_get_str(&d, 2, buf, sizeof buf, &n), ST_BAD);
    T_EQ_INT(json_get_str(&d, 0, buf, sizeof buf, &n), ST_BAD);
    T_EQ_INT(json_get_str(&d, -1, buf, sizeof buf, &n), ST_NOTFOUND);
    /* U+0000: refused as a C string, kept as bytes. */
    T_EQ_INT(json_get_str(&d, 3, buf, sizeof buf, &n), ST_INVAL);
    T_EQ_INT(json_get_mem(&d, 3, buf, sizeof buf, &n), ST_OK);
    T_EQ_INT(n, 3);
    T_CHECK(memcmp(buf, "a\0b", 3u) == 0);
    T_CHECK(!json_str_eq(&d, 3, "a"));
    /* Empty string. */
    T_EQ_INT(json_get_str(&d, 4, buf, 1u, &n), ST_OK);
    T_EQ_INT(n, 0);
    T_EQ_STR(buf, "");
    T_EQ_INT(json_get_str(&d, 4, NULL, 0u, &n), ST_FULL);
    T_EQ_INT(json_get_mem(&d, 4, NULL, 0u, &n), ST_OK);
    T_CHECK(json_str_eq(&d, 4, ""));
    /* Escapes: U+1D11E U+00E9 U+20AC \n " \ / = 4+2+3+1+1+1+1 = 13 bytes. */
    T_EQ_INT(json_get_str(&d, 5, buf, sizeof buf, &n), ST_OK);
    T_EQ_INT(n, 13);
    T_EQ_MEM(buf, n, "\xf0\x9d\x84\x9e\xc3\xa9\xe2\x82\xac\n\"\\/");
    T_CHECK(json_str_eq(&d, 5, "\xf0\x9d\x84\x9e\xc3\xa9\xe2\x82\xac\n\"\\/"));
    T_CHECK(!json_str_eq(&d, 5, "\xf0\x9d\x84\x9e\xc3\xa9\xe2\x82\xac\n\"\\"));
    T_CHECK(!json_str_eq(&d, 5, "\xf0\x9d\x84\x9e\xc3\xa9\xe2\x82\xac\n\"\\//"));
    T_EQ_INT(json_get_str(&d, 5, buf, 13u, &n), ST_FULL);
    T_EQ_INT(n, 13);
    T_EQ_INT(json_get_str(&d, 5, buf, 14u, &n), ST_OK);
    T_CHECK(!json_str_eq(&d, 2, "1"));
    T_CHECK(!json_str_eq(&d, 1, NULL));
}

static void test_get_int(void)
{
    static const struct {
        const char *text;
        st_t st_i;
        int64_t i;
        st_t st_u;
        uint64_t u;
    } k[] = {
        { "0", ST_OK, 0, ST_OK, 0u },
        { "-0", ST_OK, 0, ST_OK, 0u },
        { "7", ST_OK, 7, ST_OK, 7u },
        { "-7", ST_OK, -7, ST_RANGE, 0u },
        { "9223372036854775807", ST_OK, INT64_MAX, ST_OK, 9223372036854775807u },
        { "9223372036854775808", ST_RANGE, 0, ST_OK, 9223372036854775808u },
        { "-9223372036854775808", ST_OK, INT64_MIN, ST_RANGE, 0u },
        { "-9223372036854775809", ST_RANGE, 0, ST_RANGE, 0u },
        { "18446744073709551615", ST_RANGE, 0, ST_OK, UINT64_MAX },
        { "18446744073709551616", ST_RANGE, 0, ST_RANGE, 0u },
        { "99999999999999999999999", ST_RANGE, 0, ST_RANGE, 0u },
        { "1.0", ST_BAD, 0, ST_BAD, 0u },
        { "1e3", ST_BAD, 0, ST_BAD, 0u },
        { "1E3", ST_BAD, 0, ST_BAD, 0u },
        { "-0.0", ST_BAD, 0, ST_BAD, 0u },
        { "1e99999999999999999999", ST_BAD, 0, ST_BAD, 0u },
        { "\"1\"", ST_BAD, 0, ST_BAD, 0u },
        { "true", ST_BAD, 0, ST_BAD, 0u },
        { "null", ST_BAD, 0, ST_BAD, 0u },
        { "[1]", ST_BAD, 0, ST_BAD, 0u },
    };
    size_t j;

    for (j = 0u; j < sizeof k / sizeof k[0]; j++) {
        json_doc d;
        int64_t i = 12345;
        uint64_t u = 12345u;
        st_t st;
        T_EQ_INT(parse(&d, k[j].text), ST_OK);
        st = json_get_i64(&d, 0, &i);
        if ((st != k[j].st_i) || ((st == ST_OK) && (i != k[j].i))) {
            fprintf(stderr, "  i64 '%s': %s %lld\n", k[j].text, status_str(st), (long long)i);
        }
        T_EQ_INT(st, k[j].st_i);
        if (st == ST_OK) {
            T_CHECK(i == k[j].i);
        } else {
            T_CHECK(i == 12345);   /* untouched on error */
        }
        st = json_get_u64(&d, 0, &u);
        if ((st != k[j].st_u) || ((st == ST_OK) && (u != k[j].u))) {
            fprintf(stderr, "  u64 '%s': %s %llu\n", k[j].text, status_str(st),
                    (unsigned long long)u);
        }
        T_EQ_INT(st, k[j].st_u);
        if (st == ST_OK) {
            T_CHECK(u == k[j].u);
        }
    }
}

static void test_get_f64(void)
{
    static char longnum[200];
    json_doc d;
    double f = 0.0;

    T_EQ_INT(parse(&d, "[1.5,-0.0,1e308,1e309,-1e309,1e-400,12,\"1\",5e-324,0.1]"), ST_OK);
    T_EQ_INT(json_get_f64(&d, 1, &f), ST_OK);
    T_CHECK(f == 1.5);
    T_EQ_INT(json_get_f64(&d, 2, &f), ST_OK);
    T_CHECK((f == 0.0) && signbit(f));
    T_EQ_INT(json_get_f64(&d, 3, &f), ST_OK);
    T_CHECK(f == 1e308);
    T_EQ_INT(json_get_f64(&d, 4, &f), ST_RANGE);
    T_EQ_INT(json_get_f64(&d, 5, &f), ST_RANGE);
    T_EQ_INT(json_get_f64(&d, 6, &f), ST_OK);
    T_CHECK(f == 0.0);
    T_EQ_INT(json_get_f64(&d, 7, &f), ST_OK);
    T_CHECK(f == 12.0);
    T_EQ_INT(json_get_f64(&d, 8, &f), ST_BAD);
    T_EQ_INT(json_get_f64(&d, 9, &f), ST_OK);
    T_CHECK(f == 5e-324);
    T_EQ_INT(json_get_f64(&d, 10, &f), ST_OK);
    T_CHECK(f == 0.1);
    T_EQ_INT(json_get_f64(&d, -1, &f), ST_NOTFOUND);
    /* 127 characters convert, 128 do not. */
    memset(longnum, '1', sizeof longnum);
    longnum[1] = '.';
    T_EQ_INT(parse_n(&d, longnum, 127u, NULL), ST_OK);
    T_EQ_INT(json_get_f64(&d, 0, &f), ST_OK);
    T_CHECK(fabs(f - 1.1111111111111112) < 1e-15);
    T_EQ_INT(parse_n(&d, longnum, 128u, NULL), ST_OK);
    T_EQ_INT(json_get_f64(&d, 0, &f), ST_RANGE);
}

static void test_get_bool_null(void)
{
    json_doc d;
    bool b = false;

    T_EQ_INT(parse(&d, "[true,false,null,0,\"true\"]"), ST_OK);
    T_EQ_INT(json_get_bool(&d, 1, &b), ST_OK);
    T_CHECK(b);
    T_EQ_INT(json_get_bool(&d, 2, &b), ST_OK);
    T_CHECK(!b);
    T_EQ_INT(json_get_bool(&d, 3, &b), ST_BAD);
    T_EQ_INT(json_get_bool(&d, 4, &b), ST_BAD);
    T_EQ_INT(json_get_bool(&d, 5, &b), ST_BAD);
    T_EQ_INT(json_get_bool(&d, -1, &b), ST_NOTFOUND);
    T_CHECK(json_is_null(&d, 3));
    T_CHECK(!json_is_null(&d, 4));
    T_CHECK(!json_is_null(&d, -1));
    T_EQ_INT(json_type(&d, 1), JSON_TRUE);
    T_EQ_INT(json_type(&d, 2), JSON_FALSE);
    T_EQ_INT(json_type(&d, 3), JSON_NULL);
}

static void test_fields(void)
{
    json_doc d;
    char buf[8];
    size_t n = 0u;
    int64_t i = 0;
    uint64_t u = 0u;
    double f = 0.0;
    bool b = false;

    T_EQ_INT(parse(&d, "{\"name\":\"roost\",\"long\":\"0123456789\",\"n\":-3,\"u\":3,\"f\":2.5,"
                       "\"b\":false,\"nul\":null,\"s\":\"x\"}"), ST_OK);
    T_EQ_INT(json_field_str(&d, 0, "name", buf, sizeof buf, &n), ST_OK);
    T_EQ_STR(buf, "roost");
    T_EQ_INT(n, 5);
    T_EQ_INT(json_field_str(&d, 0, "long", buf, sizeof buf, &n), ST_FULL);
    T_EQ_INT(n, 10);
    T_EQ_INT(json_field_str(&d, 0, "n", buf, sizeof buf, &n), ST_BAD);
    T_EQ_INT(json_field_str(&d, 0, "nul", buf, sizeof buf, &n), ST_BAD);
    T_EQ_INT(json_field_str(&d, 0, "nope", buf, sizeof buf, &n), ST_NOTFOUND);
    T_EQ_INT(json_field_i64(&d, 0, "n", &i), ST_OK);
    T_EQ_INT(i, -3);
    T_EQ_INT(json_field_i64(&d, 0, "f", &i), ST_BAD);
    T_EQ_INT(json_field_i64(&d, 0, "nope", &i), ST_NOTFOUND);
    T_EQ_INT(json_field_u64(&d, 0, "u", &u), ST_OK);
    T_EQ_INT(u, 3);
    T_EQ_INT(json_field_u64(&d, 0, "n", &u), ST_RANGE);
    T_EQ_INT(json_field_f64(&d, 0, "f", &f), ST_OK);
    T_CHECK(f == 2.5);
    T_EQ_INT(json_field_f64(&d, 0, "s", &f), ST_BAD);
    T_EQ_INT(json_field_bool(&d, 0, "b", &b), ST_OK);
    T_CHECK(!b);
    T_EQ_INT(json_field_bool(&d, 0, "s", &b), ST_BAD);
    T_EQ_INT(json_field_bool(&d, 0, "nope", &b), ST_NOTFOUND);
    /* Not an object. */
    T_EQ_INT(parse(&d, "[1]"), ST_OK);
    T_EQ_INT(json_field_i64(&d, 0, "n", &i), ST_INVAL);
    T_EQ_INT(json_field_str(&d, -1, "n", buf, sizeof buf, &n), ST_INVAL);
}

/* ---- writer ------------------------------------------------------------------ */

#define W_EQ(w, lit)                                                    \
    do {                                                                \
        size_t wlen_ = 0u;                                              \
        T_EQ_INT(json_w_finish((w), &wlen_), ST_OK);                    \
        T_EQ_MEM((w)->buf, wlen_, lit);                                 \
    } while (0)

static void test_writer_basic(void)
{
    char buf[256];
    json_w w;

    json_w_init(&w, buf, sizeof buf);
    json_w_obj_begin(&w);
    json_w_kstr(&w, "status", "ok");
    json_w_key(&w, "items");
    json_w_arr_begin(&w);
    json_w_i64(&w, 1);
    json_w_arr_begin(&w);
    json_w_arr_end(&w);
    json_w_obj_begin(&w);
    json_w_obj_end(&w);
    json_w_bool(&w, true);
    json_w_null(&w);
    json_w_arr_end(&w);
    json_w_ki64(&w, "neg", INT64_MIN);
    json_w_ki64(&w, "max", INT64_MAX);
    json_w_ku64(&w, "u", UINT64_MAX);
    json_w_kbool(&w, "f", false);
    json_w_knull(&w, "z");
    json_w_kstr(&w, "opt", NULL);
    json_w_kstrn(&w, "n", "ab", 1u);
    json_w_kraw(&w, "raw", S("{\"a\":[1]}"));
    json_w_kf64(&w, "pi", 0.5);
    json_w_obj_end(&w);
    W_EQ(&w, "{\"status\":\"ok\",\"items\":[1,[],{},true,null],\"neg\":-9223372036854775808,"
             "\"max\":9223372036854775807,\"u\":18446744073709551615,\"f\":false,\"z\":null,"
             "\"opt\":null,\"n\":\"a\",\"raw\":{\"a\":[1]},\"pi\":0.5}");
    T_EQ_INT(json_w_status(&w), ST_OK);

    /* Scalars at the top level. */
    json_w_init(&w, buf, sizeof buf);
    json_w_u64(&w, 0u);
    W_EQ(&w, "0");
    json_w_init(&w, buf, sizeof buf);
    json_w_cstr(&w, "");
    W_EQ(&w, "\"\"");
    json_w_init(&w, buf, sizeof buf);
    json_w_str(&w, NULL, 0u);
    W_EQ(&w, "\"\"");
    json_w_init(&w, buf, sizeof buf);
    json_w_cstr(&w, NULL);
    W_EQ(&w, "null");
    json_w_init(&w, buf, sizeof buf);
    json_w_i64(&w, -1);
    W_EQ(&w, "-1");
}

static void test_writer_escape(void)
{
    char buf[256];
    json_w w;

    json_w_init(&w, buf, sizeof buf);
    json_w_str(&w, S("a\"b\\c/d\b\f\n\r\t\x01\x1f\x7f\x00."));
    W_EQ(&w, "\"a\\\"b\\\\c/d\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\\u0000.\"");
    /* U+2028/U+2029 escaped; other multibyte characters as they are. */
    json_w_init(&w, buf, sizeof buf);
    json_w_str(&w, S("\xe2\x80\xa8|\xe2\x80\xa9|\xe2\x80\xaa|\xc3\xa9|\xf0\x9d\x84\x9e"));
    W_EQ(&w, "\"\\u2028|\\u2029|\xe2\x80\xaa|\xc3\xa9|\xf0\x9d\x84\x9e\"");
    /* Ill-formed UTF-8: one U+FFFD per maximal ill-formed subpart. */
    json_w_init(&w, buf, sizeof buf);
    json_w_str(&w, S("\xff|\xe2\x82x|\xed\xa0\x80|\xf0\x9f\x98|\xc0\xaf|\xc3"));
    W_EQ(&w, "\"\xef\xbf\xbd|\xef\xbf\xbdx|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd|"
             "\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\"");
    /* Keys are escaped the same way. */
    json_w_init(&w, buf, sizeof buf);
    json_w_obj_begin(&w);
    json_w_keyn(&w, S("k\"\x00"));
    json_w_i64(&w, 1);
    json_w_obj_end(&w);
    W_EQ(&w, "{\"k\\\"\\u0000\":1}");
}

static void test_writer_f64(void)
{
    static const double vals[] = {
        0.0, 1.0, -1.5, 0.1, 1.0 / 3.0, 1e21, 1e-7, 123456789.125, 5e-324,
        1.7976931348623157e308, 2.2250738585072014e-308, 100.0, -0.0, 9007199254740993.0,
    };
    char buf[64];
    json_w w;
    size_t i;

    json_w_init(&w, buf, sizeof buf);
    json_w_f64(&w, 0.1);
    W_EQ(&w, "0.1");
    json_w_init(&w, buf, sizeof buf);
    json_w_f64(&w, 3.0);
    W_EQ(&w, "3");
    json_w_init(&w, buf, sizeof buf);
    json_w_f64(&w, 1.0 / 3.0);
    W_EQ(&w, "0.3333333333333333");
    json_w_init(&w, buf, sizeof buf);
    json_w_arr_begin(&w);
    json_w_f64(&w, NAN);
    json_w_f64(&w, INFINITY);
    json_w_f64(&w, -INFINITY);
    json_w_arr_end(&w);
    W_EQ(&w, "[null,null,null]");
    /* Every finite value reads back to the same double. */
    for (i = 0u; i < sizeof vals / sizeof vals[0]; i++) {
        json_doc d;
        size_t len = 0u;
        double back = 42.0;
        json_w_init(&w, buf, sizeof buf);
        json_w_f64(&w, vals[i]);
        T_EQ_INT(json_w_finish(&w, &len), ST_OK);
        T_EQ_INT(parse_n(&d, buf, len, NULL), ST_OK);
        T_EQ_INT(json_get_f64(&d, 0, &back), ST_OK);
        T_CHECK(memcmp(&back, &vals[i], sizeof back) == 0);
    }
}

static void test_writer_nesting(void)
{
    char buf[64];
    json_w w;
    size_t len = 7u;
    int i;

    /* Nothing written. */
    json_w_init(&w, buf, sizeof buf);
    T_EQ_INT(json_w_finish(&w, &len), ST_INTERNAL);
    T_EQ_INT(len, 7);
    /* A second top-level value. */
    json_w_init(&w, buf, sizeof buf);
    json_w_i64(&w, 1);
    json_w_i64(&w, 2);
    T_EQ_INT(json_w_finish(&w, NULL), ST_INTERNAL);
    /* A value where a key is due, and the reverse. */
    json_w_init(&w, buf, sizeof buf);
    json_w_obj_begin(&w);
    json_w_i64(&w, 1);
    T_EQ_INT(json_w_status(&w), ST_INTERNAL);
    json_w_init(&w, buf, sizeof buf);
    json_w_arr_begin(&w);
    json_w_key(&w, "k");
    T_EQ_INT(json_w_finish(&w, NULL), ST_INTERNAL);
    json_w_init(&w, buf, sizeof buf);
    json_w_key(&w, "k");
    T_EQ_INT(json_w_finish(&w, NULL), ST_INTERNAL);
    json_w_init(&w, buf, sizeof buf);
    json_w_obj_begin(&w);
    json_w_key(&w, "k");
    json_w_key(&w, "k2");
    T_EQ_INT(json_w_finish(&w, NULL), ST_INTERNAL);
    json_w_init(&w, buf, sizeof buf);
    json_w_obj_begin(&w);
    json_w_key(&w, NULL);
    T_EQ_INT(json_w_finish(&w, NULL), ST_INTERNAL);
    /* A key without its value, mismatched ends, ends with nothing open. */
    json_w_init(&w, buf, sizeof buf);
    json_w_obj_begin(&w);
    json_w_key(&w, "k");
    json_w_obj_end(&w);
    T_EQ_INT(json_w_finish(&w, NULL), ST_INTERNAL);
    json_w_init(&w, buf, sizeof buf);
    json_w_arr_begin(&w);
    json_w_obj_end(&w);
    T_EQ_INT(json_w_finish(&w, NULL), ST_INTERNAL);
    json_w_init(&w, buf, sizeof buf);
    json_w_obj_begin(&w);
    json_w_arr_end(&w);
    T_EQ_INT(json_w_finish(&w, NULL), ST_INTERNAL);
    json_w_init(&w, buf, sizeof buf);
    json_w_arr_end(&w);
    T_EQ_INT(json_w_finish(&w, NULL), ST_INTERNAL);
    /* Still open. */
    json_w_init(&w, buf, sizeof buf);
    json_w_arr_begin(&w);
    json_w_i64(&w, 1);
    T_EQ_INT(json_w_finish(&w, NULL), ST_INTERNAL);
    /* json_w_raw needs a value; json_w_str(NULL, n>0) is a bug. */
    json_w_init(&w, buf, sizeof buf);
    json_w_raw(&w, "", 0u);
    T_EQ_INT(json_w_finish(&w, NULL), ST_INTERNAL);
    json_w_init(&w, buf, sizeof buf);
    json_w_str(&w, NULL, 3u);
    T_EQ_INT(json_w_finish(&w, NULL), ST_INTERNAL);
    /* Depth: CFG_JSON_MAX_DEPTH levels fit, one more does not. */
    json_w_init(&w, buf, sizeof buf);
    for (i = 0; i < CFG_JSON_MAX_DEPTH; i++) {
        json_w_arr_begin(&w);
    }
    for (i = 0; i < CFG_JSON_MAX_DEPTH; i++) {
        json_w_arr_end(&w);
    }
    W_EQ(&w, "[[[[[[[[]]]]]]]]");
    json_w_init(&w, buf, sizeof buf);
    for (i = 0; i <= CFG_JSON_MAX_DEPTH; i++) {
        json_w_arr_begin(&w);
    }
    T_EQ_INT(json_w_status(&w), ST_INTERNAL);
    /* The first error sticks: later calls change nothing. */
    len = json_w_len(&w);
    json_w_arr_end(&w);
    json_w_i64(&w, 5);
    T_EQ_INT(json_w_len(&w), len);
    T_EQ_INT(json_w_finish(&w, NULL), ST_INTERNAL);
}

/* Writes one fixed document exercising every call. */
static void write_sample(json_w *w)
{
    json_w_obj_begin(w);
    json_w_kstr(w, "name", "r\xc3\xb6ost \"q\"\n");
    json_w_key(w, "list");
    json_w_arr_begin(w);
    json_w_i64(w, -12);
    json_w_u64(w, 34u);
    json_w_f64(w, 0.25);
    json_w_bool(w, false);
    json_w_null(w);
    json_w_str(w, S("\x01\xff"));
    json_w_obj_begin(w);
    json_w_obj_end(w);
    json_w_arr_end(w);
    json_w_kraw(w, "raw", S("[1,2]"));
    json_w_kf64(w, "nan", NAN);
    json_w_obj_end(w);
}

static void test_writer_overflow(void)
{
    char full[256];
    char buf[256];
    json_w w;
    size_t full_len = 0u;
    size_t cap;

    json_w_init(&w, full, sizeof full);
    write_sample(&w);
    T_EQ_INT(json_w_finish(&w, &full_len), ST_OK);
    T_CHECK(full_len > 40u);
    for (cap = 0u; cap <= full_len; cap++) {
        size_t len = 999u;
        st_t st;
        memset(buf, 'Z', sizeof buf);
        json_w_init(&w, (cap == 0u) ? NULL : buf, cap);
        write_sample(&w);
        st = json_w_finish(&w, &len);
        if (cap < full_len) {
            T_EQ_INT(st, ST_FULL);
            T_EQ_INT(len, 999);
            T_CHECK(json_w_len(&w) <= cap);
            T_CHECK(memcmp(buf, full, json_w_len(&w)) == 0);
        } else {
            T_EQ_INT(st, ST_OK);
            T_EQ_INT(len, full_len);
            T_CHECK(memcmp(buf, full, full_len) == 0);
        }
        T_CHECK(buf[cap] == 'Z');   /* never a byte past cap */
    }
}

/* Strings written by the writer read back as the same bytes. */
static void test_round_trip(void)
{
    static const struct {
        const char *s;
        size_t n;
    } k[] = {
        { S("") }, { S("plain") }, { S("\"\\/\b\f\n\r\t") }, { S("\x00\x01\x1f\x7f") },
        { S("\xe2\x80\xa8\xe2\x80\xa9") }, { S("\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e\xf4\x8f\xbf\xbf") },
        { S("}],:{[\"") },
    };
    char all[128];
    static char buf[2048];
    char out[512];
    json_w w;
    json_doc d;
    json_iter it = JSON_ITER_INIT;
    size_t len = 0u;
    size_t n = 0u;
    size_t i;
    int kt;
    int vt;

    for (i = 0u; i < 128u; i++) {
        all[i] = (char)i;
    }
    json_w_init(&w, buf, sizeof buf);
    json_w_obj_begin(&w);
    for (i = 0u; i < sizeof k / sizeof k[0]; i++) {
        json_w_keyn(&w, k[i].s, k[i].n);
        json_w_str(&w, k[i].s, k[i].n);
    }
    json_w_keyn(&w, all, sizeof all);
    json_w_str(&w, all, sizeof all);
    json_w_obj_end(&w);
    T_EQ_INT(json_w_finish(&w, &len), ST_OK);
    T_EQ_INT(parse_n(&d, buf, len, NULL), ST_OK);
    T_EQ_INT(json_obj_len(&d, 0), (int)(sizeof k / sizeof k[0]) + 1);
    i = 0u;
    while (json_obj_next(&d, 0, &it, &kt, &vt)) {
        const char *want = (i < sizeof k / sizeof k[0]) ? k[i].s : all;
        size_t want_n = (i < sizeof k / sizeof k[0]) ? k[i].n : sizeof all;
        T_EQ_INT(json_get_mem(&d, kt, out, sizeof out, &n), ST_OK);
        T_CHECK((n == want_n) && (memcmp(out, want, n) == 0));
        T_EQ_INT(json_get_mem(&d, vt, out, sizeof out, &n), ST_OK);
        T_CHECK((n == want_n) && (memcmp(out, want, n) == 0));
        T_EQ_INT(json_obj_getn(&d, 0, want, want_n), vt);
        i++;
    }
    /* A parsed sub-document written back with json_w_raw. */
    T_EQ_INT(parse(&d, " { \"meta\" : {\"a\": [1, 2.5, \"x\"]} } "), ST_OK);
    json_w_init(&w, out, sizeof out);
    json_w_obj_begin(&w);
    json_w_kraw(&w, "m", json_raw(&d, json_obj_get(&d, 0, "meta")).p,
                json_raw(&d, json_obj_get(&d, 0, "meta")).n);
    json_w_obj_end(&w);
    W_EQ(&w, "{\"m\":{\"a\": [1, 2.5, \"x\"]}}");
}

/* Python's json.dumps(obj, indent=2) (ensure_ascii on): the bytes of the
 * agent files shared with the upstream tools. */
static void test_writer_pretty(void)
{
    char buf[512];
    json_w w;

    json_w_init(&w, buf, sizeof buf);
    json_w_style(&w, 2u, true);
    json_w_obj_begin(&w);
    json_w_kstr(&w, "name", "x");
    json_w_key(&w, "skills");
    json_w_arr_begin(&w);
    json_w_cstr(&w, "a");
    json_w_cstr(&w, "b");
    json_w_arr_end(&w);
    json_w_key(&w, "mcpServers");
    json_w_obj_begin(&w);
    json_w_key(&w, "s");
    json_w_obj_begin(&w);
    json_w_key(&w, "args");
    json_w_arr_begin(&w);
    json_w_arr_end(&w);
    json_w_key(&w, "env");
    json_w_obj_begin(&w);
    json_w_obj_end(&w);
    json_w_obj_end(&w);
    json_w_obj_end(&w);
    json_w_obj_end(&w);
    W_EQ(&w, "{\n  \"name\": \"x\",\n  \"skills\": [\n    \"a\",\n    \"b\"\n  ],\n"
             "  \"mcpServers\": {\n    \"s\": {\n      \"args\": [],\n      \"env\": {}\n"
             "    }\n  }\n}");
    /* Scalars and empty containers at the top. */
    json_w_init(&w, buf, sizeof buf);
    json_w_style(&w, 2u, false);
    json_w_arr_begin(&w);
    json_w_arr_end(&w);
    W_EQ(&w, "[]");
    json_w_init(&w, buf, sizeof buf);
    json_w_style(&w, 4u, false);
    json_w_arr_begin(&w);
    json_w_i64(&w, 1);
    json_w_arr_begin(&w);
    json_w_null(&w);
    json_w_arr_end(&w);
    json_w_arr_end(&w);
    W_EQ(&w, "[\n    1,\n    [\n        null\n    ]\n]");
    /* ensure_ascii: everything above U+007E (DEL too) as \uXXXX, lowercase,
     * surrogate pairs above U+FFFF, ill-formed bytes as \ufffd. */
    json_w_init(&w, buf, sizeof buf);
    json_w_style(&w, 0u, true);
    json_w_str(&w, S("a\x7f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xe2\x80\xa8\xff\x01/\"\n"));
    W_EQ(&w, "\"a\\u007f\\u00e9\\u20ac\\ud83d\\ude00\\u2028\\ufffd\\u0001/\\\"\\n\"");
    /* Keys too. */
    json_w_init(&w, buf, sizeof buf);
    json_w_style(&w, 0u, true);
    json_w_obj_begin(&w);
    json_w_keyn(&w, S("\xc3\xa9"));
    json_w_i64(&w, 1);
    json_w_obj_end(&w);
    W_EQ(&w, "{\"\\u00e9\":1}");
    /* The style is set before the first value, within range. */
    json_w_init(&w, buf, sizeof buf);
    json_w_i64(&w, 1);
    json_w_style(&w, 2u, false);
    T_EQ_INT(json_w_status(&w), ST_INTERNAL);
    json_w_init(&w, buf, sizeof buf);
    json_w_style(&w, 9u, false);
    T_EQ_INT(json_w_status(&w), ST_INTERNAL);
}

/* json_w_str_lit: a literal decoded and escaped again by this writer. */
static void test_writer_literal(void)
{
    static const char *const doc =
        "[\"plain\", \"\\u00e9\\u00E9\\u20ac \\ud83d\\ude00\", \"\\\"\\\\\\/\\b\\f\\n\\r\\t\", "
        "\"\\u0000\\u001F\\u007f\", \"\xc3\xa9\xe2\x80\xa8\", \"\"]";
    char buf[256];
    json_w w;
    json_doc d;
    int i;

    T_EQ_INT(parse(&d, doc), ST_OK);
    json_w_init(&w, buf, sizeof buf);
    json_w_arr_begin(&w);
    for (i = 0; i < json_arr_len(&d, 0); i++) {
        strv lit = json_raw(&d, json_arr_at(&d, 0, i));
        json_w_str_lit(&w, lit.p, lit.n);
    }
    json_w_arr_end(&w);
    W_EQ(&w, "[\"plain\",\"\xc3\xa9\xc3\xa9\xe2\x82\xac \xf0\x9f\x98\x80\","
             "\"\\\"\\\\/\\b\\f\\n\\r\\t\",\"\\u0000\\u001f\x7f\",\"\xc3\xa9\\u2028\",\"\"]");
    /* The same literals in Python's ensure_ascii, and as keys. */
    json_w_init(&w, buf, sizeof buf);
    json_w_style(&w, 0u, true);
    json_w_obj_begin(&w);
    for (i = 1; i < 2; i++) {
        strv lit = json_raw(&d, json_arr_at(&d, 0, i));
        json_w_key_lit(&w, lit.p, lit.n);
        json_w_str_lit(&w, lit.p, lit.n);
    }
    json_w_obj_end(&w);
    W_EQ(&w, "{\"\\u00e9\\u00e9\\u20ac \\ud83d\\ude00\":\"\\u00e9\\u00e9\\u20ac \\ud83d\\ude00\"}");
    /* What does not decode becomes U+FFFD (not something the reader gives). */
    json_w_init(&w, buf, sizeof buf);
    json_w_arr_begin(&w);
    json_w_str_lit(&w, S("\"\\ud800x\""));
    json_w_str_lit(&w, S("\"\\q\\u12\""));
    json_w_str_lit(&w, S("no quotes"));
    json_w_arr_end(&w);
    W_EQ(&w, "[\"\xef\xbf\xbdx\",\"\xef\xbf\xbd\xef\xbf\xbd" "12\",\"no quotes\"]");
    json_w_init(&w, buf, sizeof buf);
    json_w_str_lit(&w, NULL, 0u);
    T_EQ_INT(json_w_finish(&w, NULL), ST_INTERNAL);
}

/* json_escape_part: the same escaping as json_w_str, however the text and
 * the room are cut. */
static void test_escape_part(void)
{
    static const char text[] = "ab\"\\\n\x01\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
                               "\xe2\x80\xa8\xff\xc3 end";
    size_t tn = sizeof text - 1u;
    char whole[256];
    char out[256];
    json_w w;
    size_t wn = 0u;
    size_t cut;
    size_t room;

    json_w_init(&w, whole, sizeof whole);
    json_w_str(&w, text, tn);
    T_EQ_INT(json_w_finish(&w, &wn), ST_OK);
    /* without its quotes */
    wn -= 2u;
    for (cut = 1u; cut <= tn; cut++) {
        for (room = 6u; room <= 40u; room += 7u) {
            size_t at = 0u;
            size_t o = 0u;
            int guard = 0;
            while ((at < tn) && (guard < 1000)) {
                size_t used = 0u;
                /* a piece that does not end the text is at least 4 bytes */
                size_t want = (cut < 4u) ? 4u : cut;
                size_t end = ((at + want) < tn) ? (at + want) : tn;
                size_t room_left = ((o + room) <= sizeof out) ? room : (sizeof out - o);
                o += json_escape_part(text + at, end - at, end == tn, out + o, room_left,
                                      &used);
                at += used;
                guard++;
            }
            T_EQ_INT(at, tn);
            T_EQ_INT(o, wn);
            T_CHECK(memcmp(out, whole + 1, wn) == 0);
        }
    }
    /* No room for the next character: nothing written, nothing used. */
    {
        size_t used = 9u;
        T_EQ_INT(json_escape_part("\x01", 1u, true, out, 5u, &used), 0);
        T_EQ_INT(used, 0);
        T_EQ_INT(json_escape_part("\xc3\xa9", 2u, false, out, 5u, &used), 0);
        T_EQ_INT(used, 0);
        T_EQ_INT(json_escape_part("\xc3\xa9", 2u, true, out, 5u, &used), 2);
        T_EQ_INT(used, 2);
    }
}

int main(void)
{
    T_RUN(test_accept);
    T_RUN(test_reject);
    T_RUN(test_scalar_roots);
    T_RUN(test_pool);
    T_RUN(test_tokens);
    T_RUN(test_depth);
    T_RUN(test_text_limits);
    T_RUN(test_navigation);
    T_RUN(test_get_str);
    T_RUN(test_get_int);
    T_RUN(test_get_f64);
    T_RUN(test_get_bool_null);
    T_RUN(test_fields);
    T_RUN(test_writer_basic);
    T_RUN(test_writer_escape);
    T_RUN(test_writer_f64);
    T_RUN(test_writer_nesting);
    T_RUN(test_writer_overflow);
    T_RUN(test_round_trip);
    T_RUN(test_writer_pretty);
    T_RUN(test_writer_literal);
    T_RUN(test_escape_part);
    return t_done("json");
}
