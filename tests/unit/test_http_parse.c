/*
 * test_http_parse.c - request head parser, chunked decoder, percent-decoding
 * and lookups. Built with tests/unit/tiny_config.h: head 1024 bytes, target
 * 256 bytes, 8 header fields.
 */
#include <stdio.h>
#include <string.h>

#include "t.h"

#include "config.h"
#include "http/parse.h"
#include "fuzz/ref_http_head.h"

#if (CFG_HTTP_MAX_HEAD_BYTES != 1024) || (CFG_HTTP_MAX_TARGET_BYTES != 256) || \
    (CFG_HTTP_MAX_HEADERS != 8)
#error "these tests expect tests/unit/tiny_config.h"
#endif

static http_req g_req;
static http_req g_req2;
static char g_big[4096];

static st_t parse_n(const char *s, size_t n, int *status)
{
    return http_parse_head(s, n, &g_req, status);
}

static st_t parse(const char *s, int *status)
{
    return parse_n(s, strlen(s), status);
}

/* Expect ST_BAD with `want` for the whole of s. */
static void expect_bad_n(const char *s, size_t n, int want, int line)
{
    int status = -1;
    st_t st = parse_n(s, n, &status);
    if ((st != ST_BAD) || (status != want)) {
        fprintf(stderr, "  case at line %d: st %d status %d, want ST_BAD %d\n", line, (int)st,
                status, want);
    }
    T_EQ_INT(st, ST_BAD);
    T_EQ_INT(status, want);
}

#define EXPECT_BAD(s, want) expect_bad_n((s), strlen(s), (want), __LINE__)
#define EXPECT_BAD_N(s, want) expect_bad_n((s), sizeof(s) - 1u, (want), __LINE__)

/* ---- request head ------------------------------------------------------- */

static void test_simple_get(void)
{
    const char *s = "GET /a/b?x=1&y HTTP/1.1\r\nHost: example\r\nUser-Agent: \t curl/8 x \t\r\n"
                    "X-Empty:\r\n\r\n";
    int status = -1;
    strv v;
    T_EQ_INT(parse(s, &status), ST_OK);
    T_EQ_INT(status, 0);
    T_EQ_INT(g_req.method, HTTP_M_GET);
    T_EQ_MEM(g_req.method_str.p, g_req.method_str.n, "GET");
    T_EQ_MEM(g_req.target.p, g_req.target.n, "/a/b?x=1&y");
    T_EQ_MEM(g_req.path.p, g_req.path.n, "/a/b");
    T_EQ_MEM(g_req.query.p, g_req.query.n, "x=1&y");
    T_EQ_INT(g_req.minor, 1);
    T_EQ_INT(g_req.nheaders, 3);
    T_EQ_MEM(g_req.headers[0].name.p, g_req.headers[0].name.n, "Host");
    T_EQ_MEM(g_req.headers[1].value.p, g_req.headers[1].value.n, "curl/8 x");
    T_EQ_MEM(g_req.host.p, g_req.host.n, "example");
    T_CHECK(g_req.keep_alive);
    T_CHECK(!g_req.chunked);
    T_CHECK(!g_req.has_content_length);
    T_CHECK(!g_req.expect_continue);
    T_CHECK(!g_req.upgrade_websocket);
    T_EQ_INT(g_req.head_len, strlen(s));
    /* views point into the buffer: zero-copy */
    T_CHECK(g_req.path.p == s + 4);
    v = http_header_get(&g_req, "user-agent");
    T_EQ_MEM(v.p, v.n, "curl/8 x");
    v = http_header_get(&g_req, "X-EMPTY");
    T_CHECK(v.p != NULL);
    T_EQ_INT(v.n, 0);
    v = http_header_get(&g_req, "Missing");
    T_CHECK(v.p == NULL);
    T_CHECK(http_query_get(g_req.query, "y").p != NULL);
}

static void test_no_query(void)
{
    int status = -1;
    T_EQ_INT(parse("GET /p HTTP/1.1\r\nHost: h\r\n\r\n", &status), ST_OK);
    T_CHECK(g_req.query.p == NULL);
    T_EQ_INT(g_req.query.n, 0);
    T_EQ_INT(parse("GET /p? HTTP/1.1\r\nHost: h\r\n\r\n", &status), ST_OK);
    T_CHECK(g_req.query.p != NULL);
    T_EQ_INT(g_req.query.n, 0);
    T_EQ_MEM(g_req.path.p, g_req.path.n, "/p");
}

static void test_methods(void)
{
    static const struct {
        const char *line;
        http_method m;
    } cases[] = {
        { "GET / HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_M_GET },
        { "HEAD / HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_M_HEAD },
        { "POST / HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_M_POST },
        { "PUT / HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_M_PUT },
        { "PATCH / HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_M_PATCH },
        { "DELETE / HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_M_DELETE },
        { "OPTIONS / HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_M_OPTIONS },
        { "BREW / HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_M_OTHER },
        { "get / HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_M_OTHER },
        { "GETS / HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_M_OTHER },
    };
    size_t i;
    int status = -1;
    for (i = 0u; i < sizeof cases / sizeof cases[0]; i++) {
        T_EQ_INT(parse(cases[i].line, &status), ST_OK);
        T_EQ_INT(g_req.method, cases[i].m);
    }
    T_EQ_INT(parse("BREW /pot HTTP/1.1\r\nHost: h\r\n\r\n", &status), ST_OK);
    T_EQ_MEM(g_req.method_str.p, g_req.method_str.n, "BREW");
}

static void test_versions_keep_alive(void)
{
    int status = -1;
    T_EQ_INT(parse("GET / HTTP/1.0\r\n\r\n", &status), ST_OK);
    T_EQ_INT(g_req.minor, 0);
    T_CHECK(!g_req.keep_alive);
    T_CHECK(g_req.host.p == NULL);
    T_EQ_INT(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &status), ST_OK);
    T_CHECK(g_req.keep_alive);
    T_EQ_INT(parse("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", &status), ST_OK);
    T_CHECK(!g_req.keep_alive);
    T_EQ_INT(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", &status), ST_OK);
    T_CHECK(!g_req.keep_alive);
    T_EQ_INT(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo\r\nConnection: Close\r\n\r\n",
                   &status),
             ST_OK);
    T_CHECK(!g_req.keep_alive);
    T_EQ_INT(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n", &status), ST_OK);
    T_CHECK(g_req.keep_alive);
}

static void test_flags(void)
{
    int status = -1;
    T_EQ_INT(parse("POST /u HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-Continue\r\n\r\n",
                   &status),
             ST_OK);
    T_CHECK(g_req.expect_continue);
    T_CHECK(g_req.has_content_length);
    T_EQ_INT(g_req.content_length, 5);
    T_EQ_INT(parse("POST /u HTTP/1.0\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n", &status),
             ST_OK);
    T_CHECK(!g_req.expect_continue);
    T_EQ_INT(parse("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: WebSocket\r\n"
                   "Connection: keep-alive, Upgrade\r\n\r\n",
                   &status),
             ST_OK);
    T_CHECK(g_req.upgrade_websocket);
    T_CHECK(g_req.keep_alive);
    T_EQ_INT(parse("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n", &status), ST_OK);
    T_CHECK(!g_req.upgrade_websocket);
    T_EQ_INT(parse("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nConnection: upgrade\r\n\r\n",
                   &status),
             ST_OK);
    T_CHECK(!g_req.upgrade_websocket);
    T_EQ_INT(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n", &status),
             ST_OK);
    T_CHECK(g_req.chunked);
    T_CHECK(!g_req.has_content_length);
}

static void test_leading_empty_lines(void)
{
    int status = -1;
    const char *s = "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
    T_EQ_INT(parse(s, &status), ST_OK);
    T_EQ_INT(g_req.head_len, strlen(s));
    T_EQ_MEM(g_req.method_str.p, g_req.method_str.n, "GET");
    T_EQ_INT(parse("\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", &status), ST_OK);
    EXPECT_BAD("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    EXPECT_BAD("\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    EXPECT_BAD(" GET / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
}

static void test_absolute_and_asterisk(void)
{
    int status = -1;
    T_EQ_INT(parse("GET http://Example.com:8080/p/q?x=1 HTTP/1.1\r\nHost: other\r\n\r\n", &status),
             ST_OK);
    T_EQ_MEM(g_req.host.p, g_req.host.n, "Example.com:8080");
    T_EQ_MEM(g_req.path.p, g_req.path.n, "/p/q");
    T_EQ_MEM(g_req.query.p, g_req.query.n, "x=1");
    T_EQ_INT(parse("GET HTTPS://h HTTP/1.1\r\nHost: h\r\n\r\n", &status), ST_OK);
    T_EQ_MEM(g_req.path.p, g_req.path.n, "/");
    T_EQ_MEM(g_req.host.p, g_req.host.n, "h");
    T_EQ_INT(parse("GET http://h?a=b HTTP/1.1\r\nHost: h\r\n\r\n", &status), ST_OK);
    T_EQ_MEM(g_req.path.p, g_req.path.n, "/");
    T_EQ_MEM(g_req.query.p, g_req.query.n, "a=b");
    T_EQ_INT(parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", &status), ST_OK);
    T_EQ_MEM(g_req.path.p, g_req.path.n, "*");
    EXPECT_BAD("GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    EXPECT_BAD("GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    EXPECT_BAD("GET http://u@h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    EXPECT_BAD("GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    EXPECT_BAD("CONNECT example.com:443 HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    EXPECT_BAD("GET http://h/ HTTP/1.1\r\n\r\n", 400); /* still needs Host */
}

static void test_bad_syntax_400(void)
{
    /* request line */
    EXPECT_BAD("GET / HTTP/1.1\nHost: a\r\n\r\n", 400);
    EXPECT_BAD("GET / HTTP/1.1\rHost: a\r\n\r\n", 400);
    EXPECT_BAD("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    EXPECT_BAD("GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    EXPECT_BAD("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400);
    EXPECT_BAD("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    EXPECT_BAD("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    EXPECT_BAD("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    EXPECT_BAD("GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    EXPECT_BAD("GET /\x80 HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    EXPECT_BAD("GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    EXPECT_BAD("GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    EXPECT_BAD("GET / http/1.1\r\nHost: a\r\n\r\n", 400);
    EXPECT_BAD("GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400);
    EXPECT_BAD("GET / HTTP/11\r\nHost: a\r\n\r\n", 400);
    EXPECT_BAD("GET / HTTP/1.x\r\nHost: a\r\n\r\n", 400);
    EXPECT_BAD("GET /\r\n\r\n", 400);
    EXPECT_BAD("GET\r\n\r\n", 400);
    EXPECT_BAD_N("GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    /* header fields */
    EXPECT_BAD("GET / HTTP/1.1\r\nHost: a\n\r\n", 400);
    EXPECT_BAD("GET / HTTP/1.1\r\nHost: a\r\n\n", 400);
    EXPECT_BAD("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400);
    EXPECT_BAD("GET / HTTP/1.1\r\nHost: a\r\n\rX", 400);
    EXPECT_BAD("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400);
    EXPECT_BAD("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400);
    EXPECT_BAD("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n  c\r\n\r\n", 400);   /* obs-fold */
    EXPECT_BAD("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tc\r\n\r\n", 400);   /* obs-fold */
    EXPECT_BAD("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400);
    EXPECT_BAD("GET / HTTP/1.1\r\n: v\r\nHost: a\r\n\r\n", 400);
    EXPECT_BAD("GET / HTTP/1.1\r\nHost a\r\n\r\n", 400);
    EXPECT_BAD("GET / HTTP/1.1\r\nX\x80: v\r\nHost: a\r\n\r\n", 400);
    EXPECT_BAD("GET / HTTP/1.1\r\nX-A: b\x7f\r\nHost: a\r\n\r\n", 400);
    EXPECT_BAD("GET / HTTP/1.1\r\nX-A: b\x01\r\nHost: a\r\n\r\n", 400);
    EXPECT_BAD_N("GET / HTTP/1.1\r\nX-A: b\0c\r\nHost: a\r\n\r\n", 400);
    /* semantics */
    EXPECT_BAD("GET / HTTP/1.1\r\n\r\n", 400);
    EXPECT_BAD("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400);
    EXPECT_BAD("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
               400);
    EXPECT_BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\n",
               400);
    EXPECT_BAD("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
    EXPECT_BAD("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400);
}

static void test_content_length(void)
{
    static const char *const bad[] = {
        "", "abc", "-1", "+5", "5, 5", "1 2", "0x10", "5a", "9223372036854775808",
        "18446744073709551616", "99999999999999999999999",
    };
    char buf[256];
    size_t i;
    int status = -1;
    for (i = 0u; i < sizeof bad / sizeof bad[0]; i++) {
        int k = snprintf(buf, sizeof buf, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %s\r\n\r\n",
                         bad[i]);
        expect_bad_n(buf, (size_t)k, 400, __LINE__);
    }
    T_EQ_INT(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775807\r\n\r\n",
                   &status),
             ST_OK);
    T_CHECK(g_req.content_length == 9223372036854775807ull);
    T_EQ_INT(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:  12 \r\nContent-length: 012\r\n\r\n",
                   &status),
             ST_OK);
    T_CHECK(g_req.has_content_length);
    T_EQ_INT(g_req.content_length, 12);
    T_EQ_INT(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", &status), ST_OK);
    T_CHECK(g_req.has_content_length);
    T_EQ_INT(g_req.content_length, 0);
}

static size_t fill_target(char *buf, size_t target_len, bool complete)
{
    size_t n = 0u;
    size_t i;
    memcpy(buf, "GET /", 5u);
    n = 5u;
    for (i = 1u; i < target_len; i++) {
        buf[n++] = 'a';
    }
    if (complete) {
        static const char tail[] = " HTTP/1.1\r\nHost: h\r\n\r\n";
        memcpy(buf + n, tail, sizeof tail - 1u);
        n += sizeof tail - 1u;
    }
    return n;
}

static void test_414(void)
{
    int status = -1;
    size_t n = fill_target(g_big, CFG_HTTP_MAX_TARGET_BYTES, true);
    T_EQ_INT(parse_n(g_big, n, &status), ST_OK);
    T_EQ_INT(g_req.target.n, CFG_HTTP_MAX_TARGET_BYTES);
    n = fill_target(g_big, CFG_HTTP_MAX_TARGET_BYTES + 1u, true);
    T_EQ_INT(parse_n(g_big, n, &status), ST_BAD);
    T_EQ_INT(status, 414);
    /* known before the target ends */
    n = fill_target(g_big, CFG_HTTP_MAX_TARGET_BYTES + 1u, false);
    T_EQ_INT(parse_n(g_big, n, &status), ST_BAD);
    T_EQ_INT(status, 414);
    T_EQ_INT(parse_n(g_big, n - 1u, &status), ST_AGAIN);
    /* a bad byte before the length is reached is still 400 */
    g_big[100] = '\x7f';
    T_EQ_INT(parse_n(g_big, n, &status), ST_BAD);
    T_EQ_INT(status, 400);
}

static void test_431_count(void)
{
    int status = -1;
    const char *ok8 = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\n"
                      "G: 7\r\n\r\n";
    const char *bad9 = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\n"
                       "G: 7\r\nH: 8\r\n\r\n";
    T_EQ_INT(parse(ok8, &status), ST_OK);
    T_EQ_INT(g_req.nheaders, 8);
    T_EQ_INT(parse(bad9, &status), ST_BAD);
    T_EQ_INT(status, 431);
}

/* A head of exactly `total` bytes: request line, Host, then X-Pad filler. */
static size_t fill_head(char *buf, size_t total)
{
    static const char start[] = "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: ";
    static const char end[] = "\r\n\r\n";
    size_t n = sizeof start - 1u;
    memcpy(buf, start, n);
    while (n < total - (sizeof end - 1u)) {
        buf[n++] = 'p';
    }
    memcpy(buf + n, end, sizeof end - 1u);
    return n + sizeof end - 1u;
}

static void test_431_size(void)
{
    int status = -1;
    size_t n = fill_head(g_big, CFG_HTTP_MAX_HEAD_BYTES);
    T_EQ_INT(n, CFG_HTTP_MAX_HEAD_BYTES);
    T_EQ_INT(parse_n(g_big, n, &status), ST_OK);
    T_EQ_INT(g_req.head_len, CFG_HTTP_MAX_HEAD_BYTES);
    T_EQ_INT(parse_n(g_big, n - 1u, &status), ST_AGAIN);

    n = fill_head(g_big, CFG_HTTP_MAX_HEAD_BYTES + 1u);
    T_EQ_INT(parse_n(g_big, n - 2u, &status), ST_AGAIN);
    T_EQ_INT(parse_n(g_big, CFG_HTTP_MAX_HEAD_BYTES, &status), ST_BAD);
    T_EQ_INT(status, 431);
    T_EQ_INT(parse_n(g_big, n, &status), ST_BAD);
    T_EQ_INT(status, 431);
    T_EQ_INT(http_head_overflow_status(g_big, CFG_HTTP_MAX_HEAD_BYTES), 431);
}

static void test_overflow_status(void)
{
    int status = -1;
    size_t i;
    /* a request line that never ends: a giant method */
    for (i = 0u; i < CFG_HTTP_MAX_HEAD_BYTES; i++) {
        g_big[i] = 'M';
    }
    T_EQ_INT(parse_n(g_big, CFG_HTTP_MAX_HEAD_BYTES - 1u, &status), ST_AGAIN);
    T_EQ_INT(parse_n(g_big, CFG_HTTP_MAX_HEAD_BYTES, &status), ST_BAD);
    T_EQ_INT(status, 414);
    T_EQ_INT(http_head_overflow_status(g_big, CFG_HTTP_MAX_HEAD_BYTES), 414);
    T_EQ_INT(http_head_overflow_status(g_big, CFG_HTTP_MAX_TARGET_BYTES + 32u), 431);
    T_EQ_INT(http_head_overflow_status(g_big, CFG_HTTP_MAX_TARGET_BYTES + 33u), 414);
    memcpy(g_big, "\r\n\r\n", 4u);
    T_EQ_INT(http_head_overflow_status(g_big, CFG_HTTP_MAX_TARGET_BYTES + 36u), 431);
    T_EQ_INT(http_head_overflow_status(g_big, CFG_HTTP_MAX_TARGET_BYTES + 37u), 414);
    T_EQ_INT(http_head_overflow_status("GET / HTTP/1.1\r\nX: y", 20u), 431);
    T_EQ_INT(http_head_overflow_status(NULL, 0u), 431);
}

/* Transfer-Encoding (RFC 9112 6.1, 6.3, 7): chunked must be the one final
 * coding over every field; a coding before it roost cannot decode. */
static void test_transfer_encoding(void)
{
    int status = -1;
    /* chunked not final, or twice, or nothing: the length is unknown, 400 */
    EXPECT_BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400);
    EXPECT_BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
               400);
    EXPECT_BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400);
    EXPECT_BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
               "Transfer-Encoding: chunked\r\n\r\n",
               400);
    EXPECT_BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
               "Transfer-Encoding: identity\r\n\r\n",
               400);
    EXPECT_BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked,chunked\r\n\r\n",
               400);
    EXPECT_BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", 400);
    EXPECT_BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,\r\n\r\n", 400);
    EXPECT_BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;x=1\r\n\r\n", 400);
    /* chunked final after a coding roost does not decode: 501 */
    EXPECT_BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501);
    EXPECT_BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n"
               "Transfer-Encoding: chunked\r\n\r\n",
               501);
    /* one chunked, empty list items and case aside */
    T_EQ_INT(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , CHUNKED ,\r\n\r\n",
                   &status),
             ST_OK);
    T_EQ_INT(g_req.chunked, 1);
    T_EQ_INT(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n",
                   &status),
             ST_OK);
    T_EQ_INT(g_req.chunked, 1);
}

static void test_505(void)
{
    int status = -1;
    EXPECT_BAD("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505);
    EXPECT_BAD("GET / HTTP/0.9\r\n\r\n", 505);
    EXPECT_BAD("GET / HTTP/3.1\r\n", 505); /* known at the end of the line */
    /* a higher 1.x minor is served as 1.1 (RFC 9110 2.5) */
    T_EQ_INT(parse("GET / HTTP/1.2\r\nHost: a\r\n\r\n", &status), ST_OK);
    T_EQ_INT(g_req.minor, 1);
    T_EQ_INT(g_req.keep_alive, 1);
    T_EQ_INT(parse("GET / HTTP/1.9\r\nHost: a\r\nConnection: close\r\n\r\n", &status), ST_OK);
    T_EQ_INT(g_req.minor, 1);
    T_EQ_INT(g_req.keep_alive, 0);
    EXPECT_BAD("GET / HTTP/1.2\r\n\r\n", 400); /* and needs Host as 1.1 does */
}

/* Host (RFC 9112 3.2): one, present in 1.1, and uri-host [":" port]. */
static void test_host(void)
{
    static const char *const bad[] = {
        "", "a b", "a/b", "a?b", "u@h", "h:8x", "h:80:1", ":80", "[::1", "[]", "[::1]x",
        "h%4", "h%zz", "a\\b", "\"h\"",
    };
    static const char *const good[] = {
        "h", "example.com", "example.com:8080", "h:", "127.0.0.1:1", "[::1]", "[::1]:80",
        "[v1.x]", "a-b_c~d!$&'()*+,;=", "h%41", "xn--bcher-kva.example",
    };
    char buf[256];
    size_t i;
    int status = -1;
    for (i = 0u; i < sizeof bad / sizeof bad[0]; i++) {
        int n = snprintf(buf, sizeof buf, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", bad[i]);
        expect_bad_n(buf, (size_t)n, 400, __LINE__);
        n = snprintf(buf, sizeof buf, "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", bad[i]);
        expect_bad_n(buf, (size_t)n, 400, __LINE__);
    }
    for (i = 0u; i < sizeof good / sizeof good[0]; i++) {
        int n = snprintf(buf, sizeof buf, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", good[i]);
        T_EQ_INT(parse_n(buf, (size_t)n, &status), ST_OK);
        T_CHECK(strv_eq_cstr(g_req.host, good[i]));
    }
    EXPECT_BAD("GET / HTTP/1.1\r\n\r\n", 400);
    EXPECT_BAD("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400);
    EXPECT_BAD("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 400);
    EXPECT_BAD("GET http://a b/ HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    EXPECT_BAD("GET http://h:x/ HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    EXPECT_BAD("GET http://h/ HTTP/1.1\r\nHost: a b\r\n\r\n", 400); /* the field too */
    T_EQ_INT(parse("GET / HTTP/1.0\r\n\r\n", &status), ST_OK);     /* 1.0 may omit it */
}

/* Feeding any prefix gives ST_AGAIN or the final answer, and the first
 * non-AGAIN answer equals the answer for the whole input. */
static void check_incremental(const char *s, size_t n)
{
    int whole_status = -1;
    int status = -1;
    st_t whole = http_parse_head(s, n, &g_req2, &whole_status);
    size_t whole_len = g_req2.head_len;
    size_t k;
    size_t prev = 0u;
    bool settled = false;
    st_t lazy = ST_AGAIN;
    int lazy_status = 0;

    for (k = 0u; k <= n; k++) {
        st_t st = http_parse_head(s, k, &g_req, &status);
        if (st == ST_AGAIN) {
            T_CHECK(!settled);
            T_CHECK(k < CFG_HTTP_MAX_HEAD_BYTES);
            continue;
        }
        settled = true;
        T_EQ_INT(st, whole);
        T_EQ_INT(status, whole_status);
        if (st == ST_OK) {
            T_EQ_INT(g_req.head_len, whole_len);
            T_EQ_INT(g_req.nheaders, g_req2.nheaders);
            T_CHECK(g_req.path.p == g_req2.path.p);
            T_EQ_INT(g_req.path.n, g_req2.path.n);
        }
    }
    if (whole == ST_AGAIN) {
        T_CHECK(!settled);
    }
    /* the caller that only rescans when http_head_worth_parsing says so */
    for (k = 1u; (k <= n) && (lazy == ST_AGAIN); k++) {
        if (http_head_worth_parsing(s, prev, k)) {
            lazy = http_parse_head(s, k, &g_req, &lazy_status);
        }
        prev = k;
    }
    if ((lazy == ST_AGAIN) && (n > 0u)) {
        lazy = http_parse_head(s, n, &g_req, &lazy_status);
    }
    if (n > 0u) {
        T_EQ_INT(lazy, whole);
        T_EQ_INT(lazy_status, whole_status);
    }
}

static void test_incremental(void)
{
    static const char *const cases[] = {
        "GET /a/b?x=1 HTTP/1.1\r\nHost: example\r\nAccept: */*\r\n\r\n",
        "\r\nPOST /u HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
        "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET / HTTP/2.0\r\nHost: a\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "GET / HTTP/1.2\r\nHost: a b\r\n\r\n",
        "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\nG: 7\r\nH: 8\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\nb\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n",
    };
    size_t i;
    for (i = 0u; i < sizeof cases / sizeof cases[0]; i++) {
        check_incremental(cases[i], strlen(cases[i]));
    }
    check_incremental(g_big, fill_target(g_big, CFG_HTTP_MAX_TARGET_BYTES + 10u, true));
    check_incremental(g_big, fill_head(g_big, CFG_HTTP_MAX_HEAD_BYTES));
    check_incremental(g_big, fill_head(g_big, CFG_HTTP_MAX_HEAD_BYTES + 100u));
}

static void test_pipelined(void)
{
    const char *s = "GET /one HTTP/1.1\r\nHost: h\r\n\r\nGET /two HTTP/1.1\r\nHost: h\r\n"
                    "Connection: close\r\n\r\nGET /thr";
    int status = -1;
    size_t first;
    size_t second;
    T_EQ_INT(parse(s, &status), ST_OK);
    first = g_req.head_len;
    T_EQ_INT(first, strlen("GET /one HTTP/1.1\r\nHost: h\r\n\r\n"));
    T_EQ_MEM(g_req.path.p, g_req.path.n, "/one");
    T_CHECK(g_req.keep_alive);
    T_EQ_INT(parse(s + first, &status), ST_OK);
    second = g_req.head_len;
    T_EQ_MEM(g_req.path.p, g_req.path.n, "/two");
    T_CHECK(!g_req.keep_alive);
    T_EQ_INT(parse(s + first + second, &status), ST_AGAIN);
    T_EQ_INT(status, 0);
}

static void test_worth_parsing(void)
{
    const char *s = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
    T_CHECK(!http_head_worth_parsing(s, 0u, 0u));
    T_CHECK(http_head_worth_parsing(s, 0u, 3u));
    T_CHECK(!http_head_worth_parsing(s, 3u, 10u));
    T_CHECK(http_head_worth_parsing(s, 10u, 16u));
    T_CHECK(!http_head_worth_parsing(s, 16u, 20u));
    T_CHECK(http_head_worth_parsing(s, 20u, 19u));
    memset(g_big, 'a', CFG_HTTP_MAX_HEAD_BYTES);
    T_CHECK(http_head_worth_parsing(g_big, 10u, CFG_HTTP_MAX_HEAD_BYTES));
}

/* ---- chunked ------------------------------------------------------------ */

static char g_body[4096];

/* Feed in[0..n) as runs cut at the given offsets (ascending, < n), the way
 * the connection does: decoded output stays at the front of g_body and each
 * run is appended right after it. */
static st_t chunk_feed(const char *in, size_t n, const size_t *cuts, size_t ncuts, uint64_t max,
                       size_t *decoded, size_t *rest)
{
    http_chunked d;
    size_t off = 0u;
    size_t c = 0u;
    st_t st = ST_AGAIN;
    http_chunked_init(&d, max);
    *decoded = 0u;
    *rest = 0u;
    while ((st == ST_AGAIN) && (off < n)) {
        size_t end = (c < ncuts) ? cuts[c] : n;
        size_t run;
        c++;
        if (end <= off) {
            continue;
        }
        run = end - off;
        memcpy(g_body + *decoded, in + off, run);
        st = http_chunked_decode(&d, g_body + *decoded, &run, rest);
        *decoded += run;
        off = end;
    }
    if (st == ST_OK) {
        /* rest covers the run's tail; the runs after it are still unread */
        memcpy(g_body + *decoded + *rest, in + off, n - off);
        *rest += n - off;
    }
    return st;
}

static st_t chunk_whole(const char *in, size_t n, uint64_t max, size_t *decoded, size_t *rest)
{
    return chunk_feed(in, n, NULL, 0u, max, decoded, rest);
}

static void test_chunked_basic(void)
{
    const char *in = "4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n";
    size_t dec = 0u;
    size_t rest = 99u;
    T_EQ_INT(chunk_whole(in, strlen(in), 1000u, &dec, &rest), ST_OK);
    T_EQ_MEM(g_body, dec, "Wikipedia in\r\n\r\nchunks.");
    T_EQ_INT(rest, 0);
    in = "0\r\n\r\n";
    T_EQ_INT(chunk_whole(in, strlen(in), 0u, &dec, &rest), ST_OK);
    T_EQ_INT(dec, 0);
    in = "000A\r\n0123456789\r\n00\r\n\r\n";
    T_EQ_INT(chunk_whole(in, strlen(in), 10u, &dec, &rest), ST_OK);
    T_EQ_MEM(g_body, dec, "0123456789");
    in = "a\r\n0123456789\r\n0\r\n";
    T_EQ_INT(chunk_whole(in, strlen(in), 10u, &dec, &rest), ST_AGAIN);
    T_EQ_INT(dec, 10);
}

static void test_chunked_splits(void)
{
    const char *in = "4;a=b\r\nWiki\r\n5 ; ext=\"q s\"\r\npedia\r\n1\r\n!\r\n0\r\nX-T: 1\r\n\r\n";
    size_t n = strlen(in);
    size_t k;
    size_t j;
    size_t dec = 0u;
    size_t rest = 0u;
    size_t cuts[2];
    size_t every[128];
    for (k = 0u; k <= n; k++) {
        cuts[0] = k;
        T_EQ_INT(chunk_feed(in, n, cuts, 1u, 100u, &dec, &rest), ST_OK);
        T_EQ_MEM(g_body, dec, "Wikipedia!");
        T_EQ_INT(rest, 0);
        for (j = k; j <= n; j++) {
            cuts[1] = j;
            T_EQ_INT(chunk_feed(in, n, cuts, 2u, 100u, &dec, &rest), ST_OK);
            T_EQ_MEM(g_body, dec, "Wikipedia!");
        }
    }
    for (k = 0u; k < n; k++) {
        every[k] = k + 1u;
    }
    T_EQ_INT(chunk_feed(in, n, every, n, 100u, &dec, &rest), ST_OK);
    T_EQ_MEM(g_body, dec, "Wikipedia!");
    T_EQ_INT(rest, 0);
}

static void test_chunked_trailers(void)
{
    const char *in = "3\r\nabc\r\n0\r\nX-Checksum: 12\r\nX-Other:  two words \r\n\r\n";
    size_t dec = 0u;
    size_t rest = 0u;
    T_EQ_INT(chunk_whole(in, strlen(in), 100u, &dec, &rest), ST_OK);
    T_EQ_MEM(g_body, dec, "abc");
    T_EQ_INT(rest, 0);
    in = "3\r\nabc\r\n0\r\nX-Checksum: 12\r\n folded\r\n\r\n";
    T_EQ_INT(chunk_whole(in, strlen(in), 100u, &dec, &rest), ST_BAD);
    in = "3\r\nabc\r\n0\r\nX-Checksum: 1\n\r\n";
    T_EQ_INT(chunk_whole(in, strlen(in), 100u, &dec, &rest), ST_BAD);
}

static void test_chunked_pipelined(void)
{
    const char *next = "GET /next HTTP/1.1\r\nHost: h\r\n\r\n";
    char in[256];
    size_t n;
    size_t k;
    size_t dec = 0u;
    size_t rest = 0u;
    size_t cuts[1];
    int status = -1;
    n = (size_t)snprintf(in, sizeof in, "5\r\nhello\r\n0\r\n\r\n%s", next);
    for (k = 0u; k <= n; k++) {
        cuts[0] = k;
        T_EQ_INT(chunk_feed(in, n, cuts, 1u, 5u, &dec, &rest), ST_OK);
        T_EQ_MEM(g_body, dec, "hello");
        T_EQ_INT(rest, strlen(next));
        T_EQ_MEM(g_body + dec, rest, "GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
    }
    T_EQ_INT(http_parse_head(g_body + dec, rest, &g_req, &status), ST_OK);
    T_EQ_MEM(g_req.path.p, g_req.path.n, "/next");
}

static void test_chunked_after_done(void)
{
    http_chunked d;
    char buf[32];
    size_t n;
    size_t rest = 0u;
    memcpy(buf, "0\r\n\r\nXY", 7u);
    n = 7u;
    http_chunked_init(&d, 10u);
    T_EQ_INT(http_chunked_decode(&d, buf, &n, &rest), ST_OK);
    T_EQ_INT(n, 0);
    T_EQ_INT(rest, 2);
    T_EQ_MEM(buf, 2u, "XY");
    memcpy(buf, "ZZZ", 3u);
    n = 3u;
    T_EQ_INT(http_chunked_decode(&d, buf, &n, &rest), ST_OK);
    T_EQ_INT(n, 0);
    T_EQ_INT(rest, 3);
}

static void test_chunked_max(void)
{
    const char *in;
    size_t dec = 0u;
    size_t rest = 0u;
    http_chunked d;
    char buf[64];
    size_t n;
    in = "9\r\n123456789\r\n0\r\n\r\n";
    T_EQ_INT(chunk_whole(in, strlen(in), 8u, &dec, &rest), ST_TOOBIG);
    T_EQ_INT(chunk_whole(in, strlen(in), 9u, &dec, &rest), ST_OK);
    in = "5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n";
    T_EQ_INT(chunk_whole(in, strlen(in), 9u, &dec, &rest), ST_TOOBIG);
    T_EQ_INT(dec, 5);
    T_EQ_INT(chunk_whole(in, strlen(in), 10u, &dec, &rest), ST_OK);
    /* reported on the digit that crosses the limit, before any data */
    http_chunked_init(&d, 100u);
    memcpy(buf, "10", 2u);
    n = 2u;
    T_EQ_INT(http_chunked_decode(&d, buf, &n, &rest), ST_AGAIN);
    memcpy(buf, "0", 1u);
    n = 1u;
    T_EQ_INT(http_chunked_decode(&d, buf, &n, &rest), ST_TOOBIG);
    /* sticky */
    memcpy(buf, "\r\n", 2u);
    n = 2u;
    T_EQ_INT(http_chunked_decode(&d, buf, &n, &rest), ST_TOOBIG);
    /* the largest size that fits in 64 bits with max unlimited: AGAIN */
    in = "FFFFFFFFFFFFFFFF\r\nabc";
    T_EQ_INT(chunk_whole(in, strlen(in), UINT64_MAX, &dec, &rest), ST_AGAIN);
    T_EQ_INT(dec, 3);
}

static void test_chunked_bad(void)
{
    static const char *const bad[] = {
        "x\r\n",                     /* bad hex */
        "\r\n",                      /* no digits */
        ";a\r\n",                    /* no digits */
        "4\r\nWikiX\r\n",            /* missing CRLF after data */
        "4\r\nWiki\rX",              /* missing LF after data */
        "4\nWiki\r\n",               /* bare LF after size */
        "4\rWiki\r\n",               /* bare CR after size */
        "4 \r\nWiki\r\n0\r\n\r\n",   /* BWS without extension */
        "4;a\x01\r\n",               /* control byte in extension */
        "4;a\nWiki",                 /* bare LF in extension */
        "-4\r\n",
        "0x4\r\n",
        "1FFFFFFFFFFFFFFFF\r\n",     /* 17 digits */
        "00000000000000001\r\n",     /* 17 digits */
        "0\r\n\r\r",                 /* bad final CRLF */
        "0\r\n X: y\r\n\r\n",        /* trailer starting with whitespace */
        "0\r\nX: \x7f\r\n\r\n",
    };
    size_t i;
    size_t dec = 0u;
    size_t rest = 0u;
    for (i = 0u; i < sizeof bad / sizeof bad[0]; i++) {
        st_t st = chunk_whole(bad[i], strlen(bad[i]), UINT64_MAX, &dec, &rest);
        if (st != ST_BAD) {
            fprintf(stderr, "  chunked case %u: st %d\n", (unsigned)i, (int)st);
        }
        T_EQ_INT(st, ST_BAD);
    }
}

static void test_chunked_overhead_limit(void)
{
    static char in[3 * CFG_HTTP_MAX_HEAD_BYTES];
    size_t n = 0u;
    size_t dec = 0u;
    size_t rest = 0u;
    in[n++] = '1';
    in[n++] = ';';
    while (n < (CFG_HTTP_MAX_HEAD_BYTES + 10u)) {
        in[n++] = 'e';
    }
    memcpy(in + n, "\r\nx\r\n0\r\n\r\n", 10u);
    n += 10u;
    T_EQ_INT(chunk_whole(in, n, 100u, &dec, &rest), ST_BAD);
    /* a trailer section over the limit */
    n = 0u;
    memcpy(in, "0\r\nX: ", 6u);
    n = 6u;
    while (n < (CFG_HTTP_MAX_HEAD_BYTES + 10u)) {
        in[n++] = 'v';
    }
    memcpy(in + n, "\r\n\r\n", 4u);
    n += 4u;
    T_EQ_INT(chunk_whole(in, n, 100u, &dec, &rest), ST_BAD);
    /* just under: fine */
    n = 0u;
    memcpy(in, "1;", 2u);
    n = 2u;
    while (n < (CFG_HTTP_MAX_HEAD_BYTES + 1u)) {
        in[n++] = 'e';
    }
    memcpy(in + n, "\r\nx\r\n0\r\n\r\n", 10u);
    n += 10u;
    T_EQ_INT(chunk_whole(in, n, 100u, &dec, &rest), ST_OK);
    T_EQ_MEM(g_body, dec, "x");
}

/* ---- percent-decoding and query lookup ------------------------------------ */

static void test_pct_decode(void)
{
    char out[32];
    char inplace[16];
    size_t n = 0u;
    T_EQ_INT(http_pct_decode(STRV_LIT("/a%20b%2Fc+d"), out, sizeof out, &n), ST_OK);
    T_EQ_MEM(out, n, "/a b/c+d");
    T_EQ_INT(http_pct_decode(STRV_LIT("%e2%9C%93"), out, sizeof out, &n), ST_OK);
    T_EQ_MEM(out, n, "\xe2\x9c\x93");
    T_EQ_INT(http_pct_decode(STRV_LIT("%253"), out, sizeof out, &n), ST_OK);
    T_EQ_MEM(out, n, "%3");
    T_EQ_INT(http_pct_decode(STRV_LIT(""), NULL, 0u, &n), ST_OK);
    T_EQ_INT(n, 0);
    T_EQ_INT(http_pct_decode(STRV_LIT("%"), out, sizeof out, &n), ST_BAD);
    T_EQ_INT(http_pct_decode(STRV_LIT("ab%2"), out, sizeof out, &n), ST_BAD);
    T_EQ_INT(n, 2);
    T_EQ_INT(http_pct_decode(STRV_LIT("%zz"), out, sizeof out, &n), ST_BAD);
    T_EQ_INT(http_pct_decode(STRV_LIT("%2g"), out, sizeof out, &n), ST_BAD);
    T_EQ_INT(http_pct_decode(STRV_LIT("a%00b"), out, sizeof out, &n), ST_BAD);
    T_EQ_INT(http_pct_decode((strv){ "a\0b", 3u }, out, sizeof out, &n), ST_BAD);
    T_EQ_INT(http_pct_decode(STRV_LIT("abcd"), out, 3u, &n), ST_FULL);
    T_EQ_INT(n, 3);
    T_EQ_INT(http_pct_decode(STRV_LIT("abc"), out, 3u, &n), ST_OK);
    T_EQ_INT(http_pct_decode(STRV_LIT("%41%42"), out, 1u, &n), ST_FULL);
    T_EQ_MEM(out, n, "A");
    memcpy(inplace, "x%41%42y", 8u);
    T_EQ_INT(http_pct_decode((strv){ inplace, 8u }, inplace, sizeof inplace, &n), ST_OK);
    T_EQ_MEM(inplace, n, "xABy");
}

static void test_query_get(void)
{
    strv q = STRV_LIT("a=1&b=two%20x&c&d=&a=3&api_key=k+y&=z");
    strv v;
    v = http_query_get(q, "a");
    T_EQ_MEM(v.p, v.n, "1");
    v = http_query_get(q, "b");
    T_EQ_MEM(v.p, v.n, "two%20x");
    v = http_query_get(q, "c");
    T_CHECK(v.p != NULL);
    T_EQ_INT(v.n, 0);
    v = http_query_get(q, "d");
    T_CHECK(v.p != NULL);
    T_EQ_INT(v.n, 0);
    v = http_query_get(q, "api_key");
    T_EQ_MEM(v.p, v.n, "k+y");
    v = http_query_get(q, "A");
    T_CHECK(v.p == NULL);
    v = http_query_get(q, "e");
    T_CHECK(v.p == NULL);
    v = http_query_get(q, "api");
    T_CHECK(v.p == NULL);
    v = http_query_get(STRV_NULL, "a");
    T_CHECK(v.p == NULL);
    v = http_query_get(STRV_LIT(""), "a");
    T_CHECK(v.p == NULL);
}

/* ---- the head parser against the one it replaced (fuzz/ref_http_head.h) -- */

static http_req g_ref;
static char g_var[2048];
static unsigned g_ref_mismatches;

static bool ref_view_same(strv a, strv b, const char *buf, size_t n)
{
    bool a_in = (a.p != NULL) && (a.p >= buf) && (a.p <= (buf + n));
    bool b_in = (b.p != NULL) && (b.p >= buf) && (b.p <= (buf + n));
    if (b_in || (b.p == NULL)) {
        return (a.p == b.p) && (a.n == b.n);
    }
    /* each parser has its own static "/" for an absolute-form target */
    return !a_in && (a.p != NULL) && (a.n == 1u) && (b.n == 1u) && (a.p[0] == '/') &&
           (b.p[0] == '/');
}

static bool ref_lookup_same(const char *name)
{
    strv a = http_header_get(&g_req, name);
    strv b = ref_http_header_get(&g_ref, name);
    return (a.p == b.p) && (a.n == b.n);
}

/* Parse buf[0..n) with both parsers; true when every result is the same. */
static bool same_as_ref(const char *buf, size_t n)
{
    int sa = -1;
    int sb = -1;
    st_t a = http_parse_head(buf, n, &g_req, &sa);
    st_t b = ref_http_parse_head(buf, n, &g_ref, &sb);
    bool ok = (a == b) && (sa == sb) &&
              (http_head_overflow_status(buf, n) == ref_http_head_overflow_status(buf, n));
    size_t i;

    if (ok && (a == ST_OK)) {
        ok = (g_req.method == g_ref.method) && (g_req.minor == g_ref.minor) &&
             (g_req.nheaders == g_ref.nheaders) &&
             (g_req.has_content_length == g_ref.has_content_length) &&
             (g_req.content_length == g_ref.content_length) && (g_req.chunked == g_ref.chunked) &&
             (g_req.keep_alive == g_ref.keep_alive) &&
             (g_req.expect_continue == g_ref.expect_continue) &&
             (g_req.upgrade_websocket == g_ref.upgrade_websocket) &&
             (g_req.head_len == g_ref.head_len) &&
             ref_view_same(g_req.method_str, g_ref.method_str, buf, n) &&
             ref_view_same(g_req.target, g_ref.target, buf, n) &&
             ref_view_same(g_req.path, g_ref.path, buf, n) &&
             ref_view_same(g_req.query, g_ref.query, buf, n) &&
             ref_view_same(g_req.host, g_ref.host, buf, n);
        for (i = 0u; ok && (i < g_ref.nheaders); i++) {
            ok = ref_view_same(g_req.headers[i].name, g_ref.headers[i].name, buf, n) &&
                 ref_view_same(g_req.headers[i].value, g_ref.headers[i].value, buf, n);
        }
        ok = ok && ref_lookup_same("host") && ref_lookup_same("CONTENT-LENGTH") &&
             ref_lookup_same("x-a") && ref_lookup_same("Upgrade") && ref_lookup_same("");
    }
    if (!ok && (g_ref_mismatches < 5u)) {
        g_ref_mismatches++;
        fprintf(stderr, "  differs from the reference (len %zu): st %d/%d status %d/%d: ", n,
                (int)a, (int)b, sa, sb);
        for (i = 0u; i < n; i++) {
            unsigned char c = (unsigned char)buf[i];
            if ((c >= 0x20u) && (c < 0x7Fu) && (c != (unsigned char)'\\')) {
                fputc((int)c, stderr);
            } else {
                fprintf(stderr, "\\x%02x", (unsigned)c);
            }
        }
        fputc('\n', stderr);
    }
    return ok;
}

static const char *const k_ref_heads[] = {
    "GET /a/b?x=1&y HTTP/1.1\r\nHost: example:80\r\nUser-Agent: \t curl/8 x \t\r\n"
    "X-Empty:\r\n\r\n",
    "\r\nPOST http://h.example:8080/p?q HTTP/1.0\r\nContent-Length: 12\r\n"
    "Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nExpect: 100-continue\r\n\r\n",
    "PUT / HTTP/1.1\r\nHost: [::1]:8080\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    "OPTIONS * HTTP/1.1\r\nHost: a%41b\r\nConnection: close\r\nX-A: \xc3\xa9t\xe9\t\r\n\r\n",
    "GET https://h HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n",
    "DELETE /x HTTP/1.2\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
    "\r\n\r\n\r\n\r\nPATCH /p?a?b HTTP/1.1\r\nHOST:h:\r\nExpect:100-CONTINUE\r\n\r\n",
};

/* Every byte value at every position (replaced, inserted), every deletion,
 * every length of each head: the same answer as the reference. */
static void test_ref_every_byte(void)
{
    size_t t;
    unsigned bad = 0u;
    for (t = 0u; t < (sizeof k_ref_heads / sizeof k_ref_heads[0]); t++) {
        const char *h = k_ref_heads[t];
        size_t n = strlen(h);
        size_t k;
        unsigned b;
        for (k = 0u; k <= n; k++) {
            bad += same_as_ref(h, k) ? 0u : 1u;
        }
        for (k = 0u; k < n; k++) {
            memcpy(g_var, h, n);
            for (b = 0u; b < 256u; b++) {
                g_var[k] = (char)b;
                bad += same_as_ref(g_var, n) ? 0u : 1u;
                bad += same_as_ref(g_var, k + 1u) ? 0u : 1u;
            }
            memcpy(g_var, h, k);
            memcpy(g_var + k + 1u, h + k, n - k);
            for (b = 0u; b < 256u; b++) {
                g_var[k] = (char)b;
                bad += same_as_ref(g_var, n + 1u) ? 0u : 1u;
            }
            memcpy(g_var, h, k);
            memcpy(g_var + k, h + k + 1u, n - k - 1u);
            bad += same_as_ref(g_var, n - 1u) ? 0u : 1u;
        }
    }
    T_EQ_INT(bad, 0);
}

/* Heads at and around the limits, and runs long enough for the scanners'
 * multi-byte steps, every length of each (split heads re-parsed). */
static void test_ref_limits(void)
{
    unsigned bad = 0u;
    size_t n;
    size_t k;
    size_t sizes[] = { CFG_HTTP_MAX_HEAD_BYTES - 1u, CFG_HTTP_MAX_HEAD_BYTES,
                       CFG_HTTP_MAX_HEAD_BYTES + 1u, CFG_HTTP_MAX_HEAD_BYTES + 2u, 100u };
    size_t targets[] = { CFG_HTTP_MAX_TARGET_BYTES - 1u, CFG_HTTP_MAX_TARGET_BYTES,
                         CFG_HTTP_MAX_TARGET_BYTES + 1u, CFG_HTTP_MAX_TARGET_BYTES + 2u };
    size_t i;

    for (i = 0u; i < (sizeof sizes / sizeof sizes[0]); i++) {
        n = fill_head(g_big, sizes[i]);
        for (k = 0u; k <= n; k++) {
            bad += same_as_ref(g_big, k) ? 0u : 1u;
        }
        /* a bad byte, a tab, obs-text, a bare CR late in the long value */
        g_big[n - 7u] = '\t';
        g_big[n - 9u] = '\xff';
        bad += same_as_ref(g_big, n) ? 0u : 1u;
        g_big[n - 11u] = '\x7f';
        bad += same_as_ref(g_big, n) ? 0u : 1u;
        g_big[n - 11u] = '\r';
        bad += same_as_ref(g_big, n) ? 0u : 1u;
    }
    for (i = 0u; i < (sizeof targets / sizeof targets[0]); i++) {
        n = fill_target(g_big, targets[i], true);
        for (k = 0u; k <= n; k++) {
            bad += same_as_ref(g_big, k) ? 0u : 1u;
        }
        /* a '?' at, before and after the length limit */
        for (k = targets[i] - 3u; k < (targets[i] + 4u); k++) {
            n = fill_target(g_big, targets[i], true);
            g_big[k] = '?';
            bad += same_as_ref(g_big, n) ? 0u : 1u;
            g_big[k] = '#';
            bad += same_as_ref(g_big, n) ? 0u : 1u;
            g_big[k] = ' ';
            bad += same_as_ref(g_big, n) ? 0u : 1u;
        }
    }
    /* leading empty lines: up to the limit and one more */
    for (i = 0u; i <= (HTTP_MAX_LEADING_EMPTY_LINES + 1u); i++) {
        n = 0u;
        for (k = 0u; k < i; k++) {
            memcpy(g_big + n, "\r\n", 2u);
            n += 2u;
        }
        memcpy(g_big + n, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 27u);
        n += 27u;
        for (k = 0u; k <= n; k++) {
            bad += same_as_ref(g_big, k) ? 0u : 1u;
        }
    }
    T_EQ_INT(bad, 0);
}

/* Field values: obs-text, tabs inside and around, empty values (with and
 * without OWS), every control byte rejected. */
static void test_field_values(void)
{
    int status = -1;
    unsigned c;
    char buf[64];
    static const char pre[] = "GET / HTTP/1.1\r\nHost: h\r\nX: a";
    static const char post[] = "b\r\n\r\n";

    T_EQ_INT(parse("GET / HTTP/1.1\r\nHost: h\r\nX: \xc3\xa9\x80\xff\r\n\r\n", &status), ST_OK);
    T_EQ_MEM(g_req.headers[1].value.p, g_req.headers[1].value.n, "\xc3\xa9\x80\xff");
    T_EQ_INT(parse("GET / HTTP/1.1\r\nHost: h\r\nX:\ta\t \tb\t \r\n\r\n", &status), ST_OK);
    T_EQ_MEM(g_req.headers[1].value.p, g_req.headers[1].value.n, "a\t \tb");
    /* empty values: a view at the CR, p != NULL */
    T_EQ_INT(parse("GET / HTTP/1.1\r\nHost: h\r\nX: \t \r\nY:\r\n\r\n", &status), ST_OK);
    T_EQ_INT(g_req.headers[1].value.n, 0);
    T_CHECK(g_req.headers[1].value.p != NULL);
    T_EQ_INT(*g_req.headers[1].value.p, '\r');
    T_EQ_INT(g_req.headers[2].value.n, 0);
    T_EQ_INT(*g_req.headers[2].value.p, '\r');
    /* obs-text is not a name byte */
    EXPECT_BAD("GET / HTTP/1.1\r\nHost: h\r\nX\xe9: 1\r\n\r\n", 400);
    /* every byte value between 'a' and 'b' in a value */
    for (c = 0u; c < 256u; c++) {
        size_t n = sizeof pre - 1u;
        st_t st;
        bool want;
        memcpy(buf, pre, n);
        buf[n] = (char)c;
        n++;
        memcpy(buf + n, post, sizeof post - 1u);
        n += sizeof post - 1u;
        st = parse_n(buf, n, &status);
        want = (c == 0x09u) || (c == 0x20u) || ((c > 0x20u) && (c != 0x7Fu));
        T_EQ_INT(st, want ? ST_OK : ST_BAD);
        if (want) {
            T_EQ_INT(g_req.headers[1].value.n, 3);
        } else {
            T_EQ_INT(status, 400);
        }
    }
}

/* http_header_get: names compared by length and then case-insensitively. */
static void test_header_get(void)
{
    int status = -1;
    strv v;
    T_EQ_INT(parse("GET / HTTP/1.1\r\nHost: h\r\nX-Ab: 1\r\nx-ab: 2\r\nX-A: 3\r\nX-Abc: 4\r\n"
                   "~: 5\r\n\r\n",
                   &status),
             ST_OK);
    v = http_header_get(&g_req, "x-AB");
    T_EQ_MEM(v.p, v.n, "1");
    v = http_header_get(&g_req, "X-A");
    T_EQ_MEM(v.p, v.n, "3");
    v = http_header_get(&g_req, "X-ABC");
    T_EQ_MEM(v.p, v.n, "4");
    v = http_header_get(&g_req, "~");
    T_EQ_MEM(v.p, v.n, "5");
    /* '^' is '~' with the case bit: no match */
    T_CHECK(http_header_get(&g_req, "^").p == NULL);
    T_CHECK(http_header_get(&g_req, "X-Abcd").p == NULL);
    T_CHECK(http_header_get(&g_req, "").p == NULL);
    T_CHECK(http_header_get(&g_req, NULL).p == NULL);
    T_CHECK(ref_http_header_get(&g_req, NULL).p == NULL);
}

int main(void)
{
    T_RUN(test_simple_get);
    T_RUN(test_no_query);
    T_RUN(test_methods);
    T_RUN(test_versions_keep_alive);
    T_RUN(test_flags);
    T_RUN(test_leading_empty_lines);
    T_RUN(test_absolute_and_asterisk);
    T_RUN(test_bad_syntax_400);
    T_RUN(test_content_length);
    T_RUN(test_414);
    T_RUN(test_431_count);
    T_RUN(test_431_size);
    T_RUN(test_overflow_status);
    T_RUN(test_transfer_encoding);
    T_RUN(test_host);
    T_RUN(test_505);
    T_RUN(test_incremental);
    T_RUN(test_pipelined);
    T_RUN(test_worth_parsing);
    T_RUN(test_chunked_basic);
    T_RUN(test_chunked_splits);
    T_RUN(test_chunked_trailers);
    T_RUN(test_chunked_pipelined);
    T_RUN(test_chunked_after_done);
    T_RUN(test_chunked_max);
    T_RUN(test_chunked_bad);
    T_RUN(test_chunked_overhead_limit);
    T_RUN(test_pct_decode);
    T_RUN(test_query_get);
    T_RUN(test_ref_every_byte);
    T_RUN(test_ref_limits);
    T_RUN(test_field_values);
    T_RUN(test_header_get);
    return t_done("http_parse");
}
