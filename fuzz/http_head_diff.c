/*
 * fuzz/http_head_diff.c - differential target: http_parse_head
 * (src/http/parse.c) against ref_http_parse_head (fuzz/ref_http_head.h, the
 * byte-at-a-time parser it replaced). Both must give the same answer for
 * every input:
 *   - the same st_t and *status;
 *   - on ST_OK every field of http_req: method, method_str, target, path,
 *     query, minor, nheaders, every header's name and value view, host,
 *     has_content_length, content_length, chunked, keep_alive,
 *     expect_continue, upgrade_websocket, head_len. Views are compared by
 *     pointer and length (the static "/" of an absolute-form target without
 *     a path by content, each parser has its own);
 *   - http_header_get and ref_http_header_get for every header's name (as
 *     sent, upper-cased, lower-cased) and a few fixed names;
 *   - http_head_overflow_status against the reference's.
 * Each input is parsed whole, at a cut taken from its first bytes, at a few
 * more lengths (every length for short inputs), each time into an http_req
 * left dirty by the previous parse or filled with garbage (the parser must
 * not depend on what req held). It is then parsed again after an expansion
 * that turns bytes 0xE0..0xFF into pieces of HTTP ("\r\n", "Host: ",
 * " HTTP/1.1\r\n", "chunked" ...), so that random mutations reach whole
 * heads and the checks after the blank line; the raw pass keeps every byte
 * value, 0x80..0xFF included.
 * Built with tests/unit/tiny_config.h, so the 414/431 limits are reachable.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "http/parse.h"
#include "ref_http_head.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                           \
    do {                                                                                   \
        if (!(c)) {                                                                        \
            fprintf(stderr, "fuzz/http_head_diff.c:%d: check failed: %s\n", __LINE__, #c); \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

/* Room for heads past CFG_HTTP_MAX_HEAD_BYTES (the 414/431 paths). */
#define EXPAND_MAX (4u * (size_t)CFG_HTTP_MAX_HEAD_BYTES)

static http_req g_new;
static http_req g_ref;
static char g_exp[EXPAND_MAX];
static unsigned g_round;

static const char *const k_pieces[32] = {
    "\r\n",       "GET ",       " HTTP/1.1\r\n", "Host: ",     "Content-Length: ",
    "Transfer-Encoding: ",     "chunked",       "Connection: ", "close",     "keep-alive",
    "upgrade",    "Upgrade: ",  "websocket",     "Expect: ",   "100-continue",
    "http://",    "https://",   " HTTP/1.0\r\n", "OPTIONS ",   "[::1]",
    ":8080",      "%4a",        "\r\n\r\n",      ", ",         " \t",
    "/a?b=c",     "127.0.0.1",  "POST ",         "identity",   "gzip",
    "\r\nHost: h\r\n\r\n",      "GET / HTTP/1.1\r\n",
};

static bool in_buf(strv v, const char *buf, size_t n)
{
    return (v.p != NULL) && (v.p >= buf) && ((size_t)(v.p - buf) <= n) &&
           (v.n <= (n - (size_t)(v.p - buf)));
}

static void same_view(strv a, strv b, const char *buf, size_t n)
{
    if (in_buf(b, buf, n) || (b.p == NULL)) {
        CHECK(a.p == b.p);
        CHECK(a.n == b.n);
    } else {
        /* the reference's static "/" */
        CHECK(!in_buf(a, buf, n) && (a.p != NULL));
        CHECK((a.n == 1u) && (b.n == 1u) && (a.p[0] == '/') && (b.p[0] == '/'));
    }
}

static void same_lookup(const char *name)
{
    strv a = http_header_get(&g_new, name);
    strv b = ref_http_header_get(&g_ref, name);
    CHECK(a.p == b.p);
    CHECK(a.n == b.n);
}

static void check_lookups(void)
{
    static const char *const fixed[] = { "host", "Host", "HOST", "content-length", "x", "Origin",
                                         "transfer-encoding", "" };
    char name[(size_t)CFG_HTTP_MAX_HEAD_BYTES + 1u];
    size_t i;
    size_t k;

    for (i = 0u; i < (sizeof fixed / sizeof fixed[0]); i++) {
        same_lookup(fixed[i]);
    }
    for (i = 0u; i < g_ref.nheaders; i++) {
        strv nm = g_ref.headers[i].name;
        if ((nm.n >= sizeof name) || (memchr(nm.p, '\0', nm.n) != NULL)) {
            continue;
        }
        memcpy(name, nm.p, nm.n);
        name[nm.n] = '\0';
        same_lookup(name);
        for (k = 0u; k < nm.n; k++) {
            if ((name[k] >= 'a') && (name[k] <= 'z')) {
                name[k] = (char)(name[k] - 'a' + 'A');
            }
        }
        same_lookup(name);
        for (k = 0u; k < nm.n; k++) {
            if ((name[k] >= 'A') && (name[k] <= 'Z')) {
                name[k] = (char)(name[k] - 'A' + 'a');
            }
        }
        same_lookup(name);
        /* one byte short and one byte longer */
        if (nm.n > 0u) {
            name[nm.n - 1u] = '\0';
            same_lookup(name);
        }
        memcpy(name, nm.p, nm.n);
        name[nm.n] = 'x';
        name[nm.n + 1u] = '\0';
        if ((nm.n + 1u) < sizeof name) {
            same_lookup(name);
        }
    }
}

static void compare(const char *buf, size_t len)
{
    int sn = -7;
    int sr = -7;
    st_t a;
    st_t b;
    size_t i;

    g_round++;
    if ((g_round % 3u) == 0u) {
        memset(&g_new, 0xA5, sizeof g_new);
    }
    a = http_parse_head(buf, len, &g_new, &sn);
    b = ref_http_parse_head(buf, len, &g_ref, &sr);
    if ((a != b) || (sn != sr)) {
        fprintf(stderr, "len %zu: new st %d status %d, reference st %d status %d\n", len, (int)a,
                sn, (int)b, sr);
    }
    CHECK(a == b);
    CHECK(sn == sr);
    CHECK(http_head_overflow_status(buf, len) == ref_http_head_overflow_status(buf, len));
    if (a != ST_OK) {
        return;
    }
    CHECK(g_new.method == g_ref.method);
    same_view(g_new.method_str, g_ref.method_str, buf, len);
    same_view(g_new.target, g_ref.target, buf, len);
    same_view(g_new.path, g_ref.path, buf, len);
    same_view(g_new.query, g_ref.query, buf, len);
    CHECK(g_new.minor == g_ref.minor);
    CHECK(g_new.nheaders == g_ref.nheaders);
    for (i = 0u; i < g_ref.nheaders; i++) {
        same_view(g_new.headers[i].name, g_ref.headers[i].name, buf, len);
        same_view(g_new.headers[i].value, g_ref.headers[i].value, buf, len);
    }
    same_view(g_new.host, g_ref.host, buf, len);
    CHECK(g_new.has_content_length == g_ref.has_content_length);
    CHECK(g_new.content_length == g_ref.content_length);
    CHECK(g_new.chunked == g_ref.chunked);
    CHECK(g_new.keep_alive == g_ref.keep_alive);
    CHECK(g_new.expect_continue == g_ref.expect_continue);
    CHECK(g_new.upgrade_websocket == g_ref.upgrade_websocket);
    CHECK(g_new.head_len == g_ref.head_len);
    check_lookups();
}

/* The whole buffer, a cut from the data, every length of a short buffer,
 * a few lengths around the end of the head and of the limits. */
static void compare_lengths(const char *buf, size_t size, size_t cut)
{
    size_t k;
    size_t head = 0u;

    compare(buf, size);
    if (g_ref.head_len <= size) {
        head = g_ref.head_len;
    }
    compare(buf, cut % (size + 1u));
    if (size <= 160u) {
        for (k = 0u; k < size; k++) {
            compare(buf, k);
        }
    } else {
        compare(buf, size / 2u);
        compare(buf, size - 1u);
        if (head > 2u) {
            compare(buf, head - 1u);
            compare(buf, head - 2u);
        }
        if (size > (size_t)CFG_HTTP_MAX_HEAD_BYTES) {
            compare(buf, (size_t)CFG_HTTP_MAX_HEAD_BYTES);
            compare(buf, (size_t)CFG_HTTP_MAX_HEAD_BYTES - 1u);
        }
    }
}

static size_t expand(const uint8_t *data, size_t size, char *out, size_t cap)
{
    size_t n = 0u;
    size_t i;
    for (i = 0u; i < size; i++) {
        uint8_t c = data[i];
        if (c >= 0xE0u) {
            const char *piece = k_pieces[c - 0xE0u];
            size_t pn = strlen(piece);
            if (pn > (cap - n)) {
                break;
            }
            memcpy(out + n, piece, pn);
            n += pn;
        } else {
            if (n == cap) {
                break;
            }
            out[n] = (char)c;
            n++;
        }
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t cut = 0u;
    size_t n;

    if (size >= 2u) {
        cut = ((size_t)data[0] << 8) | (size_t)data[1];
    }
    compare_lengths((const char *)data, size, cut);
    n = expand(data, size, g_exp, sizeof g_exp);
    compare_lengths(g_exp, n, cut);
    return 0;
}
