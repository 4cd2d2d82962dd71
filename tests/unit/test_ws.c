/*
 * test_ws.c - SHA-1, base64, the streaming UTF-8 check and the WebSocket
 * pieces (src/http/ws.c): handshake, decoder with its message layer, encoder.
 *
 * Decoder streams are run through a small "connection": bytes are appended to
 * an rx buffer `step` at a time and ws_decode is called until it wants more,
 * with consumed bytes dropped from the front. Every stream is run whole and
 * byte by byte and the two transcripts must match.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "core/base64.h"
#include "core/sha1.h"
#include "core/status.h"
#include "core/strv.h"
#include "core/utf8.h"
#include "http/parse.h"
#include "http/ws.h"
#include "t.h"

/* ---- SHA-1 (FIPS 180-4 / RFC 3174 vectors) ---------------------------------- */

static void hex(const uint8_t *d, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;
    for (i = 0u; i < n; i++) {
        out[2u * i] = digits[d[i] >> 4];
        out[(2u * i) + 1u] = digits[d[i] & 0x0fu];
    }
    out[2u * n] = '\0';
}

static void sha1_hex_of(const void *p, size_t n, char out[41])
{
    sha1_ctx c;
    uint8_t d[SHA1_BYTES];
    sha1_init(&c);
    sha1_update(&c, p, n);
    sha1_final(&c, d);
    hex(d, sizeof d, out);
}

static void test_sha1_vectors(void)
{
    char h[41];
    sha1_ctx c;
    uint8_t d[SHA1_BYTES];
    char block[1000];
    unsigned i;

    sha1_hex_of("abc", 3u, h);
    T_EQ_STR(h, "a9993e364706816aba3e25717850c26c9cd0d89d");
    sha1_hex_of(NULL, 0u, h);
    T_EQ_STR(h, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    sha1_hex_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56u, h);
    T_EQ_STR(h, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    /* one million 'a', fed in uneven pieces */
    memset(block, 'a', sizeof block);
    sha1_init(&c);
    for (i = 0u; i < 1000u; i++) {
        sha1_update(&c, block, 999u);
    }
    sha1_update(&c, block, 1000u);
    T_EQ_INT(c.b.total, 1000000);
    sha1_final(&c, d);
    hex(d, sizeof d, h);
    T_EQ_STR(h, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    /* 55, 56, 63, 64 bytes: the padding boundaries */
    sha1_hex_of(block, 64u, h);
    T_EQ_STR(h, "0098ba824b5c16427bd7a1122a5a442a25ec644d");
}

/* ---- base64 (RFC 4648 section 10) ------------------------------------------ */

static void test_base64_vectors(void)
{
    static const char *const in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
    static const char *const out[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
                                       "Zm9vYmFy" };
    char buf[16];
    size_t n = 99u;
    unsigned i;

    for (i = 0u; i < 7u; i++) {
        size_t len = strlen(in[i]);
        T_EQ_INT(base64_encode(in[i], len, buf, sizeof buf, &n), ST_OK);
        T_EQ_STR(buf, out[i]);
        T_EQ_INT(n, strlen(out[i]));
        T_EQ_INT(BASE64_ENC_LEN(len), strlen(out[i]));
    }
    /* exact room (8 + NUL) fits; one less does not and writes nothing */
    T_EQ_INT(base64_encode("foob", 4u, buf, 9u, NULL), ST_OK);
    memset(buf, 'x', sizeof buf);
    T_EQ_INT(base64_encode("foob", 4u, buf, 8u, &n), ST_FULL);
    T_CHECK(buf[0] == 'x');
    T_EQ_INT(base64_encode("", 0u, NULL, 0u, &n), ST_FULL);
    {
        const uint8_t bin[3] = { 0xfbu, 0xffu, 0x00u };
        T_EQ_INT(base64_encode(bin, 3u, buf, sizeof buf, &n), ST_OK);
        T_EQ_STR(buf, "+/8A");
    }
}

/* ---- streaming UTF-8 ------------------------------------------------------- */

static bool whole_valid(const unsigned char *s, size_t n)
{
    size_t i = 0u;
    bool ok = true;
    while (ok && (i < n)) {
        if (s[i] < 0x80u) {
            i++;
        } else {
            i += utf8_scan(s + i, n - i, &ok);
        }
    }
    return ok;
}

static void check_stream_splits(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    bool want = whole_valid(s, n);
    size_t a;
    size_t b;

    for (a = 0u; a <= n; a++) {
        for (b = a; b <= n; b++) {
            utf8_stream u;
            bool ok;
            utf8_stream_init(&u);
            ok = utf8_stream_feed(&u, s, a);
            ok = utf8_stream_feed(&u, s + a, b - a) && ok;
            ok = utf8_stream_feed(&u, s + b, n - b) && ok;
            T_CHECK((ok && utf8_stream_done(&u)) == want);
        }
    }
}

static void test_utf8_stream(void)
{
    static const char *const cases[] = {
        "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", /* kosme */
        "hello",
        "\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\xef\xbf\xbf\xed\x9f\xbf",
        "\xed\xa0\x80",          /* surrogate */
        "\xf4\x90\x80\x80",      /* above U+10FFFF */
        "\xc0\xaf",              /* overlong */
        "\xe0\x80\xaf",          /* overlong */
        "\xf0\x8f\xbf\xbf",      /* overlong */
        "\xe2\x82",              /* truncated */
        "a\x80",                 /* lone continuation */
        "\xf5\x80\x80\x80",
        "\xfe\xff",
        ("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80" "edited"),
    };
    utf8_stream u;
    unsigned i;

    for (i = 0u; i < sizeof cases / sizeof cases[0]; i++) {
        check_stream_splits(cases[i], strlen(cases[i]));
    }
    /* fail fast: the bad byte is reported when fed, before the end */
    utf8_stream_init(&u);
    T_CHECK(utf8_stream_feed(&u, (const unsigned char *)"\xce\xba\xf4", 3u));
    T_CHECK(!utf8_stream_done(&u));
    T_CHECK(!utf8_stream_feed(&u, (const unsigned char *)"\x90", 1u));
    T_CHECK(!utf8_stream_feed(&u, (const unsigned char *)"a", 1u)); /* sticky */
    T_CHECK(!utf8_stream_done(&u));
    utf8_stream_init(&u);
    T_CHECK(utf8_stream_feed(&u, NULL, 0u));
    T_CHECK(utf8_stream_done(&u));
}

/* ---- handshake ------------------------------------------------------------- */

static void test_accept_key(void)
{
    char out[WS_ACCEPT_BYTES];
    T_EQ_INT(ws_accept_key(STRV_LIT("dGhlIHNhbXBsZSBub25jZQ=="), out), ST_OK);
    T_EQ_STR(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    T_EQ_INT(strlen(out), 28);
}

static int upgrade_status(const char *head)
{
    static http_req req;
    int hs = -1;
    int status = -1;
    st_t st;

    T_EQ_INT(http_parse_head(head, strlen(head), &req, &hs), ST_OK);
    st = ws_check_upgrade(&req, &status);
    T_CHECK((st == ST_OK) == (status == 101));
    T_CHECK((st == ST_UNSUPPORTED) == (status == 426));
    T_CHECK((st == ST_BAD) == (status == 400));
    return status;
}

#define H_OK "Host: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
#define H_KEY "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define H_V13 "Sec-WebSocket-Version: 13\r\n"

static void test_check_upgrade(void)
{
    T_EQ_INT(upgrade_status("GET /ws HTTP/1.1\r\n" H_OK H_KEY H_V13 "\r\n"), 101);
    T_EQ_INT(upgrade_status("GET /ws HTTP/1.1\r\nhost: x\r\nupgrade: WebSocket\r\n"
                            "connection: upgrade\r\nsec-websocket-key: "
                            "AAAAAAAAAAAAAAAAAAAAAA==\r\nsec-websocket-version: 13\r\n\r\n"),
             101);
    /* not GET / not 1.1 / no upgrade headers: 400 */
    T_EQ_INT(upgrade_status("POST /ws HTTP/1.1\r\n" H_OK H_KEY H_V13 "\r\n"), 400);
    T_EQ_INT(upgrade_status("GET /ws HTTP/1.0\r\n" H_OK H_KEY H_V13 "\r\n"), 400);
    T_EQ_INT(upgrade_status("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n" H_KEY H_V13
                            "\r\n"),
             400);
    T_EQ_INT(upgrade_status("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                            "Connection: keep-alive\r\n" H_KEY H_V13 "\r\n"),
             400);
    /* version: missing, other, repeated: 426 */
    T_EQ_INT(upgrade_status("GET /ws HTTP/1.1\r\n" H_OK H_KEY "\r\n"), 426);
    T_EQ_INT(upgrade_status("GET /ws HTTP/1.1\r\n" H_OK H_KEY "Sec-WebSocket-Version: 8\r\n\r\n"),
             426);
    T_EQ_INT(upgrade_status("GET /ws HTTP/1.1\r\n" H_OK H_KEY H_V13 H_V13 "\r\n"), 426);
    T_EQ_INT(upgrade_status("GET /ws HTTP/1.1\r\n" H_OK H_KEY "Sec-WebSocket-Version: 13, 8\r\n\r\n"),
             426);
    /* key: missing, wrong length, bad character, no padding, repeated: 400 */
    T_EQ_INT(upgrade_status("GET /ws HTTP/1.1\r\n" H_OK H_V13 "\r\n"), 400);
    T_EQ_INT(upgrade_status("GET /ws HTTP/1.1\r\n" H_OK H_V13
                            "Sec-WebSocket-Key: dGhlIHNhbXBsZQ==\r\n\r\n"),
             400);
    T_EQ_INT(upgrade_status("GET /ws HTTP/1.1\r\n" H_OK H_V13
                            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZ*==\r\n\r\n"),
             400);
    T_EQ_INT(upgrade_status("GET /ws HTTP/1.1\r\n" H_OK H_V13
                            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQAA\r\n\r\n"),
             400);
    T_EQ_INT(upgrade_status("GET /ws HTTP/1.1\r\n" H_OK H_V13 H_KEY H_KEY "\r\n"), 400);
    T_EQ_INT(upgrade_status("GET /ws HTTP/1.1\r\n" H_OK H_V13 "Sec-WebSocket-Key:\r\n\r\n"), 400);
}

/* ---- decoder --------------------------------------------------------------- */

#define STREAM_CAP (70u * 1024u)
static uint8_t g_stream[STREAM_CAP];
static uint8_t g_rx[STREAM_CAP];
static char g_log[2][4096];

static const uint8_t k_key[4] = { 0x37u, 0xfau, 0x21u, 0x3du };

/* Append a masked client frame to g_stream at *at (minimal length encoding
 * unless ext forces 2 or 8 extended bytes). */
static void put_frame_ext(size_t *at, uint8_t b0, bool masked, const void *payload, size_t n,
                          unsigned ext)
{
    uint8_t *o = g_stream + *at;
    size_t h = 2u;
    size_t i;
    uint8_t mbit = masked ? 0x80u : 0u;

    o[0] = b0;
    if ((ext == 0u) && (n < 126u)) {
        o[1] = (uint8_t)(mbit | n);
    } else if ((ext == 2u) || ((ext == 0u) && (n <= 0xFFFFu))) {
        o[1] = (uint8_t)(mbit | 126u);
        o[2] = (uint8_t)(n >> 8);
        o[3] = (uint8_t)n;
        h = 4u;
    } else {
        o[1] = (uint8_t)(mbit | 127u);
        for (i = 0u; i < 8u; i++) {
            o[2u + i] = (uint8_t)((uint64_t)n >> (56u - (8u * i)));
        }
        h = 10u;
    }
    if (masked) {
        memcpy(o + h, k_key, 4u);
        h += 4u;
    }
    for (i = 0u; i < n; i++) {
        uint8_t b = ((const uint8_t *)payload)[i];
        o[h + i] = masked ? (uint8_t)(b ^ k_key[i & 3u]) : b;
    }
    *at += h + n;
}

static void put_frame(size_t *at, uint8_t b0, const void *payload, size_t n)
{
    put_frame_ext(at, b0, true, payload, n, 0u);
}

static void put_raw(size_t *at, const void *p, size_t n)
{
    memcpy(g_stream + *at, p, n);
    *at += n;
}

static void logf_frame(char *log, size_t cap, const ws_frame *f)
{
    size_t used = strlen(log);
    size_t show = (f->len > 16u) ? 16u : f->len;
    (void)snprintf(log + used, cap - used, "[op%d m%d f%d e%d n%zu '%.*s' c%u '%.*s']",
                   (int)f->opcode, (int)f->msg_opcode, (int)f->fin, (int)f->msg_end, f->len,
                   (int)show, (const char *)f->payload, (unsigned)f->close_code,
                   (int)f->close_reason.n, f->close_reason.p ? f->close_reason.p : "");
}

/* Run g_stream[0..n) through a decoder, step bytes per read; transcript in
 * g_log[slot]; returns the final status (ST_AGAIN when everything was
 * consumed without an error or close). */
static st_t run_steps(uint64_t max, size_t n, size_t step, int slot, ws_decoder *out_d)
{
    ws_decoder d;
    size_t have = 0u;
    size_t fed = 0u;
    st_t st = ST_AGAIN;
    char *log = g_log[slot];

    log[0] = '\0';
    ws_decoder_init(&d, max);
    while ((st == ST_AGAIN) || (st == ST_OK)) {
        size_t take = (n - fed < step) ? (n - fed) : step;
        size_t consumed = 99u;
        ws_frame f;
        if ((st == ST_AGAIN) && (take == 0u)) {
            break;
        }
        if (st == ST_AGAIN) {
            memcpy(g_rx + have, g_stream + fed, take);
            have += take;
            fed += take;
        }
        st = ws_decode(&d, g_rx, have, &consumed, &f);
        if (st == ST_OK) {
            T_CHECK((consumed > 0u) && (consumed <= have));
            logf_frame(log, sizeof g_log[0], &f);
            memmove(g_rx, g_rx + consumed, have - consumed);
            have -= consumed;
        } else {
            T_EQ_INT(consumed, 0);
        }
    }
    {
        size_t used = strlen(log);
        (void)snprintf(log + used, sizeof g_log[0] - used, "=%d/%u left %zu", (int)st,
                       (unsigned)ws_decoder_close_code(&d), (size_t)(n - fed) + have);
    }
    if (out_d != NULL) {
        *out_d = d;
    }
    return st;
}

/* Whole vs byte by byte: same transcript. Returns the whole run's status. */
/* The transcripts of two runs agree; after an invalid UTF-8 byte the
 * byte-by-byte run stops earlier (fail fast), so "left" may differ then. */
static void same_log(void)
{
    const char *l0 = strstr(g_log[0], " left ");
    const char *l1 = strstr(g_log[1], " left ");
    T_CHECK((l0 != NULL) && (l1 != NULL));
    if ((l0 != NULL) && (l1 != NULL) && (strstr(g_log[0], "/1007 left") != NULL)) {
        T_EQ_INT(l0 - g_log[0], l1 - g_log[1]);
        T_CHECK(strncmp(g_log[0], g_log[1], (size_t)(l0 - g_log[0])) == 0);
    } else {
        T_EQ_STR(g_log[0], g_log[1]);
    }
}

static st_t run(uint64_t max, size_t n)
{
    st_t a = run_steps(max, n, n + 1u, 0, NULL);
    st_t b = run_steps(max, n, 1u, 1, NULL);
    T_EQ_INT(a, b);
    same_log();
    (void)run_steps(max, n, 7u, 1, NULL);
    same_log();
    return a;
}

/* Feed g_stream[0..n) step bytes per read to one decoder (consuming whole
 * frames); returns how many bytes had been read when it first failed, 0 if
 * it never did. */
static size_t fail_point(size_t n, size_t step)
{
    ws_decoder d;
    size_t have = 0u;
    size_t fed = 0u;
    size_t at = 0u;
    ws_decoder_init(&d, 0u);
    while ((at == 0u) && (fed < n)) {
        size_t take = (n - fed < step) ? (n - fed) : step;
        st_t st = ST_OK;
        memcpy(g_rx + have, g_stream + fed, take);
        have += take;
        fed += take;
        while (st == ST_OK) {
            size_t used = 0u;
            ws_frame f;
            st = ws_decode(&d, g_rx, have, &used, &f);
            if (st == ST_OK) {
                memmove(g_rx, g_rx + used, have - used);
                have -= used;
            } else if (st != ST_AGAIN) {
                T_EQ_INT(st, ST_UTF8);
                T_EQ_INT(ws_decoder_close_code(&d), WS_CLOSE_BAD_DATA);
                at = fed;
            } else {
                /* more bytes */
            }
        }
    }
    return at;
}

/* An invalid byte fails the frame as soon as it is read (1007), before the
 * rest of the frame, across reads and across fragments. */
static void test_utf8_fail_fast(void)
{
    static uint8_t big[200];
    size_t at = 0u;
    size_t k;
    /* single frame, byte by byte: fails on the byte after "ab" (2+4+3) */
    put_frame(&at, 0x81, "ab\xff" "cdefgh", 9u);
    T_EQ_INT(fail_point(at, 1u), 9);
    /* a lead byte then a bad continuation: fails on the bad one */
    at = 0u;
    put_frame(&at, 0x81, "xx\xe2\x28yyyy", 8u);
    T_EQ_INT(fail_point(at, 1u), 6 + 4);
    /* across fragments: "\xce" ends fragment 1, "x" starts fragment 2 */
    at = 0u;
    put_frame(&at, 0x01, "\xce", 1u);
    put_frame(&at, 0x80, "x-and-more", 10u);
    T_EQ_INT(fail_point(at, 1u), 7 + 6 + 1);
    /* a control frame between the fragments changes nothing */
    at = 0u;
    put_frame(&at, 0x01, "\xe2", 1u);
    put_frame(&at, 0x89, "ping", 4u);
    put_frame(&at, 0x80, "\x82\xac!!!", 5u);
    T_EQ_INT(fail_point(at, 1u), 0);              /* U+20AC split is fine */
    at = 0u;
    put_frame(&at, 0x01, "\xe2", 1u);
    put_frame(&at, 0x89, "ping", 4u);
    put_frame(&at, 0x80, "\x82\x28!!!", 5u);
    T_EQ_INT(fail_point(at, 1u), 7 + 10 + 6 + 2);
    /* across reads of a larger frame (16-bit length): read in 100s, the
     * bad byte at payload 150 fails the second read, the frame incomplete */
    for (k = 0u; k < sizeof big; k++) {
        big[k] = (uint8_t)'a';
    }
    big[150] = 0xC1u;
    at = 0u;
    put_frame(&at, 0x81, big, sizeof big);
    T_EQ_INT(at, 208);
    T_EQ_INT(fail_point(at, 100u), 200);
    /* the same with a valid two-byte sequence split by the read boundary */
    big[150] = 'a';
    big[91] = 0xC3u;
    big[92] = 0xA9u;
    at = 0u;
    put_frame(&at, 0x81, big, sizeof big);
    T_EQ_INT(fail_point(at, 100u), 0);
    /* binary data is never checked */
    big[150] = 0xC1u;
    at = 0u;
    put_frame(&at, 0x82, big, sizeof big);
    T_EQ_INT(fail_point(at, 1u), 0);
}

static void test_rfc_examples(void)
{
    static const uint8_t masked_hello[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f,
                                            0x9f, 0x4d, 0x51, 0x58 };
    static const uint8_t masked_pong[] = { 0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f,
                                           0x9f, 0x4d, 0x51, 0x58 };
    static const uint8_t unmasked_hello[] = { 0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f };
    size_t at = 0u;

    /* 5.7: a single-frame masked text message */
    put_raw(&at, masked_hello, sizeof masked_hello);
    T_EQ_INT(run(0u, at), ST_AGAIN);
    T_EQ_STR(g_log[0], "[op1 m1 f1 e1 n5 'Hello' c0 '']=-1/0 left 0");

    /* 5.7: fragmented "Hel" + "lo", here masked as a client must */
    at = 0u;
    put_frame(&at, 0x01, "Hel", 3u);
    put_frame(&at, 0x80, "lo", 2u);
    T_EQ_INT(run(0u, at), ST_AGAIN);
    T_EQ_STR(g_log[0], "[op1 m1 f0 e0 n3 'Hel' c0 ''][op0 m1 f1 e1 n2 'lo' c0 '']=-1/0 left 0");

    /* 5.7: a masked pong (the RFC's bytes), and a ping */
    at = 0u;
    put_raw(&at, masked_pong, sizeof masked_pong);
    put_frame(&at, 0x89, "Hello", 5u);
    T_EQ_INT(run(0u, at), ST_AGAIN);
    T_EQ_STR(g_log[0], "[op10 m10 f1 e0 n5 'Hello' c0 ''][op9 m9 f1 e0 n5 'Hello' c0 '']=-1/0 left 0");

    /* 5.7: the unmasked single-frame text from a client is a protocol error */
    at = 0u;
    put_raw(&at, unmasked_hello, sizeof unmasked_hello);
    T_EQ_INT(run(0u, at), ST_BAD);
    T_EQ_STR(g_log[0], "=-5/1002 left 7");
}

static void test_lengths(void)
{
    static uint8_t big[65536];
    size_t at = 0u;
    size_t i;
    ws_decoder d;

    for (i = 0u; i < sizeof big; i++) {
        big[i] = (uint8_t)('a' + (i % 26u));
    }
    /* 256 bytes: 16-bit length; 65536 bytes: 64-bit length */
    put_frame(&at, 0x82, big, 256u);
    T_EQ_INT(g_stream[1], 0xFE);
    T_EQ_INT(g_stream[2], 0x01);
    T_EQ_INT(g_stream[3], 0x00);
    put_frame(&at, 0x82, big, 65536u);
    T_EQ_INT(run_steps(65536u, at, at + 1u, 0, &d), ST_AGAIN);
    T_EQ_STR(g_log[0], "[op2 m2 f1 e1 n256 'abcdefghijklmnop' c0 '']"
                       "[op2 m2 f1 e1 n65536 'abcdefghijklmnop' c0 '']=-1/0 left 0");
    T_EQ_INT(run_steps(65536u, at, 1000u, 1, NULL), ST_AGAIN);
    T_EQ_STR(g_log[0], g_log[1]);
    /* 125 / 126 / 65535 boundaries */
    at = 0u;
    put_frame(&at, 0x82, big, 125u);
    put_frame(&at, 0x82, big, 126u);
    put_frame(&at, 0x82, big, 65535u);
    put_frame(&at, 0x82, big, 0u);
    T_EQ_INT(run_steps(65536u, at, at + 1u, 0, NULL), ST_AGAIN);
    T_EQ_STR(g_log[0], "[op2 m2 f1 e1 n125 'abcdefghijklmnop' c0 '']"
                       "[op2 m2 f1 e1 n126 'abcdefghijklmnop' c0 '']"
                       "[op2 m2 f1 e1 n65535 'abcdefghijklmnop' c0 '']"
                       "[op2 m2 f1 e1 n0 '' c0 '']=-1/0 left 0");
    /* non-minimal 16-bit and 64-bit lengths: 1002 from the header */
    at = 0u;
    put_frame_ext(&at, 0x82, true, big, 5u, 2u);
    T_EQ_INT(run(0u, at), ST_BAD);
    T_EQ_STR(g_log[0], "=-5/1002 left 13");
    at = 0u;
    put_frame_ext(&at, 0x82, true, big, 300u, 8u);
    T_EQ_INT(run(0u, at), ST_BAD);
    /* 64-bit length with the top bit set */
    {
        static const uint8_t top[] = { 0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4 };
        at = 0u;
        put_raw(&at, top, sizeof top);
        T_EQ_INT(run(0u, at), ST_BAD);
        T_EQ_STR(g_log[0], "=-5/1002 left 14");
    }
}

static void test_fragments_with_ping(void)
{
    size_t at = 0u;
    /* "κόσμε" split inside a multi-byte sequence, with a ping and a pong
     * between the fragments */
    put_frame(&at, 0x01, "\xce\xba\xe1", 3u);
    put_frame(&at, 0x89, "p1", 2u);
    put_frame(&at, 0x00, "\xbd\xb9\xcf\x83\xce", 5u);
    put_frame(&at, 0x8A, "", 0u);
    put_frame(&at, 0x80, "\xbc\xce\xb5", 3u);
    put_frame(&at, 0x82, "b", 1u);
    T_EQ_INT(run(0u, at), ST_AGAIN);
    T_CHECK(strstr(g_log[0], "[op9 m9 f1 e0 n2 'p1' c0 '']") != NULL);
    T_CHECK(strstr(g_log[0], "[op0 m1 f1 e1 n3") != NULL);
    T_CHECK(strstr(g_log[0], "[op2 m2 f1 e1 n1 'b' c0 '']=-1/0 left 0") != NULL);

    /* binary fragments are not UTF-8 checked */
    at = 0u;
    put_frame(&at, 0x02, "\xff", 1u);
    put_frame(&at, 0x80, "\xfe", 1u);
    T_EQ_INT(run(0u, at), ST_AGAIN);
    T_CHECK(strstr(g_log[0], "=-1/0 left 0") != NULL);
}

static void test_invalid_utf8(void)
{
    size_t at = 0u;
    /* a surrogate split across two fragments: the second fails, 1007 */
    put_frame(&at, 0x01, "ok\xed", 3u);
    put_frame(&at, 0x80, "\xa0\x80", 2u);
    T_EQ_INT(run(0u, at), ST_UTF8);
    T_EQ_STR(g_log[0], "[op1 m1 f0 e0 n3 'ok\xed' c0 '']=-15/1007 left 8");
    /* fail fast: the bad frame is a non-final fragment */
    at = 0u;
    put_frame(&at, 0x01, "\xc0\xaf", 2u);
    put_frame(&at, 0x80, "x", 1u);
    T_EQ_INT(run(0u, at), ST_UTF8);
    /* a sequence left open by the final fragment */
    at = 0u;
    put_frame(&at, 0x01, "a", 1u);
    put_frame(&at, 0x80, "\xe2\x82", 2u);
    T_EQ_INT(run(0u, at), ST_UTF8);
    /* single frame */
    at = 0u;
    put_frame(&at, 0x81, "\xf4\x90\x80\x80", 4u);
    T_EQ_INT(run(0u, at), ST_UTF8);
    /* a new message after a complete one starts a fresh UTF-8 state */
    at = 0u;
    put_frame(&at, 0x81, "\xce\xba", 2u);
    put_frame(&at, 0x81, "\xce\xba", 2u);
    T_EQ_INT(run(0u, at), ST_AGAIN);
}

static void test_protocol_errors(void)
{
    size_t at;
    unsigned rsv;
    unsigned op;

    /* reserved bits */
    for (rsv = 0x10u; rsv <= 0x40u; rsv <<= 1) {
        at = 0u;
        put_frame(&at, (uint8_t)(0x81u | rsv), "x", 1u);
        T_EQ_INT(run(0u, at), ST_BAD);
        T_EQ_STR(g_log[0], "=-5/1002 left 7");
    }
    /* unknown opcodes */
    for (op = 3u; op <= 15u; op++) {
        if ((op >= 8u) && (op <= 10u)) {
            continue;
        }
        at = 0u;
        put_frame(&at, (uint8_t)(0x80u | op), "", 0u);
        T_EQ_INT(run(0u, at), ST_BAD);
    }
    /* unmasked frames (data and control) */
    at = 0u;
    put_frame_ext(&at, 0x89, false, "", 0u, 0u);
    T_EQ_INT(run(0u, at), ST_BAD);
    /* fragmented control frame; control payload of 126 */
    at = 0u;
    put_frame(&at, 0x09, "", 0u);
    T_EQ_INT(run(0u, at), ST_BAD);
    {
        static uint8_t p[126];
        at = 0u;
        put_frame(&at, 0x89, p, 125u);
        T_EQ_INT(run(0u, at), ST_AGAIN);
        at = 0u;
        put_frame(&at, 0x89, p, 126u);
        T_EQ_INT(run(0u, at), ST_BAD);
        T_EQ_STR(g_log[0], "=-5/1002 left 134");
    }
    /* continuation with no message */
    at = 0u;
    put_frame(&at, 0x80, "x", 1u);
    T_EQ_INT(run(0u, at), ST_BAD);
    /* a new data frame while a message is in progress */
    at = 0u;
    put_frame(&at, 0x01, "a", 1u);
    put_frame(&at, 0x81, "b", 1u);
    T_EQ_INT(run(0u, at), ST_BAD);
    T_EQ_STR(g_log[0], "[op1 m1 f0 e0 n1 'a' c0 '']=-5/1002 left 7");
    /* the error is sticky */
    {
        ws_decoder d;
        size_t c = 5u;
        ws_frame f;
        at = 0u;
        put_frame(&at, 0xC1, "x", 1u);
        ws_decoder_init(&d, 0u);
        T_EQ_INT(ws_decode(&d, g_stream, 1u, &c, &f), ST_BAD); /* fails on byte 0 */
        at = 0u;
        put_frame(&at, 0x81, "x", 1u);
        T_EQ_INT(ws_decode(&d, g_stream, at, &c, &f), ST_BAD);
        T_EQ_INT(c, 0);
        T_EQ_INT(ws_decoder_close_code(&d), 1002);
        ws_decoder_init(&d, 0u);
        T_EQ_INT(ws_decode(&d, NULL, 0u, &c, &f), ST_AGAIN);
        T_EQ_INT(ws_decoder_close_code(&d), 0);
    }
}

static void test_oversize(void)
{
    static uint8_t p[64];
    size_t at = 0u;
    ws_decoder d;
    size_t c = 5u;
    ws_frame f;

    /* limit 16: 16 fits, 17 is 1009 from the header alone */
    put_frame(&at, 0x82, p, 16u);
    T_EQ_INT(run(16u, at), ST_AGAIN);
    at = 0u;
    put_frame(&at, 0x82, p, 17u);
    T_EQ_INT(run(16u, at), ST_TOOBIG);
    T_EQ_STR(g_log[0], "=-6/1009 left 23");
    ws_decoder_init(&d, 16u);
    T_EQ_INT(ws_decode(&d, g_stream, 2u, &c, &f), ST_TOOBIG);
    /* across fragments: 10 + 6 fits, 10 + 7 does not; control frames do not count */
    at = 0u;
    put_frame(&at, 0x01, p, 10u);
    put_frame(&at, 0x89, p, 60u);
    put_frame(&at, 0x80, p, 6u);
    T_EQ_INT(run(16u, at), ST_AGAIN);
    at = 0u;
    put_frame(&at, 0x01, p, 10u);
    put_frame(&at, 0x00, p, 7u);
    put_frame(&at, 0x80, p, 0u);
    T_EQ_INT(run(16u, at), ST_TOOBIG);
    /* a 64-bit length far over the limit */
    {
        static const uint8_t huge[] = { 0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };
        at = 0u;
        put_raw(&at, huge, sizeof huge);
        T_EQ_INT(run(0u, at), ST_TOOBIG);
    }
    /* a new message after a finished one starts from 0 */
    at = 0u;
    put_frame(&at, 0x82, p, 16u);
    put_frame(&at, 0x82, p, 16u);
    T_EQ_INT(run(16u, at), ST_AGAIN);
}

static void close_case(const void *payload, size_t n, st_t want, unsigned code)
{
    size_t at = 0u;
    ws_decoder d;
    put_frame(&at, 0x88, payload, n);
    put_frame(&at, 0x81, "after", 5u);
    T_EQ_INT(run_steps(0u, at, at + 1u, 0, &d), want);
    T_EQ_INT(run_steps(0u, at, 1u, 1, NULL), want);
    T_EQ_STR(g_log[0], g_log[1]);
    T_EQ_INT(ws_decoder_close_code(&d), code);
}

static void test_close_frames(void)
{
    static const unsigned valid[] = { 1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
                                      1012, 1013, 1014, 3000, 3999, 4000, 4999 };
    static const unsigned invalid[] = { 0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000,
                                        2999, 5000, 65535 };
    unsigned i;

    for (i = 0u; i < sizeof valid / sizeof valid[0]; i++) {
        uint8_t p[2] = { (uint8_t)(valid[i] >> 8), (uint8_t)valid[i] };
        char want[64];
        T_CHECK(ws_close_code_valid(valid[i]));
        close_case(p, 2u, ST_CLOSED, 0u);
        T_CHECK(strncmp(g_log[0], "[op8 m8 f1 e0 n2 '", 18u) == 0);
        (void)snprintf(want, sizeof want, "c%u '']=-2/0 left 11", valid[i]);
        T_CHECK(strstr(g_log[0], want) != NULL);
    }
    for (i = 0u; i < sizeof invalid / sizeof invalid[0]; i++) {
        uint8_t p[2] = { (uint8_t)(invalid[i] >> 8), (uint8_t)invalid[i] };
        T_CHECK(!ws_close_code_valid(invalid[i]));
        close_case(p, 2u, ST_BAD, 1002u);
    }
    /* empty: 1005 reported; one byte: 1002; reason UTF-8 checked (1007) */
    close_case("", 0u, ST_CLOSED, 0u);
    T_EQ_STR(g_log[0], "[op8 m8 f1 e0 n0 '' c1005 '']=-2/0 left 11");
    close_case("\x03", 1u, ST_BAD, 1002u);
    close_case("\x03\xe8" "bye \xce\xba", 8u, ST_CLOSED, 0u);
    T_CHECK(strstr(g_log[0], "c1000 'bye \xce\xba']") != NULL);
    close_case("\x03\xe8" "bye \xce", 7u, ST_UTF8, 1007u);
    close_case("\x03\xe8\xed\xa0\x80", 5u, ST_UTF8, 1007u);
    /* close between fragments */
    {
        size_t at = 0u;
        put_frame(&at, 0x01, "a", 1u);
        put_frame(&at, 0x88, "\x03\xe9", 2u);
        T_EQ_INT(run(0u, at), ST_CLOSED);
        T_CHECK(strstr(g_log[0], "c1001 '']=-2/0") != NULL);
    }
}

static void test_decode_again_is_pure(void)
{
    size_t at = 0u;
    size_t k;
    ws_decoder d;
    ws_frame f;
    size_t c;
    uint8_t copy[32];

    put_frame(&at, 0x81, "Hello", 5u);
    memcpy(copy, g_stream, at);
    ws_decoder_init(&d, 0u);
    for (k = 0u; k < at; k++) {
        c = 9u;
        T_EQ_INT(ws_decode(&d, g_stream, k, &c, &f), ST_AGAIN);
        T_EQ_INT(c, 0);
        T_CHECK(memcmp(copy, g_stream, at) == 0);
    }
    T_EQ_INT(ws_decode(&d, g_stream, at, &c, &f), ST_OK);
    T_EQ_INT(c, at);
    T_EQ_MEM(f.payload, f.len, "Hello");
}

/* ---- encoder --------------------------------------------------------------- */

static void test_encoder(void)
{
    uint8_t h[WS_MAX_SERVER_HEADER];
    uint8_t out[WS_MAX_CONTROL_FRAME];
    size_t n = 99u;
    static uint8_t p[200];

    /* 5.7 examples, server side */
    T_EQ_INT(ws_frame_header(h, WS_OP_TEXT, true, 5u), 2);
    T_CHECK((h[0] == 0x81) && (h[1] == 0x05));
    T_EQ_INT(ws_frame_header(h, WS_OP_TEXT, false, 3u), 2);
    T_CHECK((h[0] == 0x01) && (h[1] == 0x03));
    T_EQ_INT(ws_frame_header(h, WS_OP_CONT, true, 2u), 2);
    T_CHECK((h[0] == 0x80) && (h[1] == 0x02));
    T_EQ_INT(ws_frame_header(h, WS_OP_PING, true, 5u), 2);
    T_CHECK((h[0] == 0x89) && (h[1] == 0x05));
    T_EQ_INT(ws_frame_header(h, WS_OP_BINARY, true, 256u), 4);
    T_CHECK((h[0] == 0x82) && (h[1] == 0x7E) && (h[2] == 0x01) && (h[3] == 0x00));
    T_EQ_INT(ws_frame_header(h, WS_OP_BINARY, true, 65536u), 10);
    {
        static const uint8_t want[10] = { 0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0 };
        T_CHECK(memcmp(h, want, 10u) == 0);
    }
    T_EQ_INT(ws_frame_header(h, WS_OP_BINARY, true, 125u), 2);
    T_EQ_INT(ws_frame_header(h, WS_OP_BINARY, true, 126u), 4);
    T_EQ_INT(ws_frame_header(h, WS_OP_BINARY, true, 65535u), 4);
    T_EQ_INT(ws_frame_header(h, WS_OP_BINARY, true, 0x7FFFFFFFFFFFFFFFull), 10);
    T_CHECK((h[1] == 0x7F) && (h[2] == 0x7F) && (h[9] == 0xFF));

    /* close frames */
    T_EQ_INT(ws_close_frame(out, sizeof out, 1000u, STRV_LIT("bye"), &n), ST_OK);
    T_EQ_INT(n, 7);
    T_CHECK(memcmp(out, "\x88\x05\x03\xe8" "bye", 7u) == 0);
    T_EQ_INT(ws_close_frame(out, sizeof out, 1013u, STRV_NULL, &n), ST_OK);
    T_CHECK((n == 4u) && (memcmp(out, "\x88\x02\x03\xf5", 4u) == 0));
    T_EQ_INT(ws_close_frame(out, sizeof out, 0u, STRV_LIT("ignored"), &n), ST_OK);
    T_CHECK((n == 2u) && (out[0] == 0x88) && (out[1] == 0x00));
    T_EQ_INT(ws_close_frame(out, sizeof out, 1005u, STRV_NULL, &n), ST_INVAL);
    T_EQ_INT(n, 0);
    T_EQ_INT(ws_close_frame(out, sizeof out, 1000u, (strv){ (const char *)p, 124u }, &n),
             ST_TOOBIG);
    memset(p, 'r', sizeof p);
    T_EQ_INT(ws_close_frame(out, sizeof out, 1000u, (strv){ (const char *)p, 123u }, &n), ST_OK);
    T_EQ_INT(n, 127);
    T_EQ_INT(ws_close_frame(out, sizeof out, 1000u, STRV_LIT("\xff"), &n), ST_UTF8);
    T_EQ_INT(ws_close_frame(out, 6u, 1000u, STRV_LIT("bye"), &n), ST_FULL);
    T_EQ_INT(n, 0);

    /* pong echoes the ping payload */
    T_EQ_INT(ws_pong_frame(out, sizeof out, (const uint8_t *)"Hello", 5u, &n), ST_OK);
    T_CHECK((n == 7u) && (memcmp(out, "\x8a\x05Hello", 7u) == 0));
    T_EQ_INT(ws_pong_frame(out, sizeof out, NULL, 0u, &n), ST_OK);
    T_CHECK((n == 2u) && (out[0] == 0x8a) && (out[1] == 0x00));
    T_EQ_INT(ws_pong_frame(out, sizeof out, p, 126u, &n), ST_TOOBIG);
    T_EQ_INT(ws_pong_frame(out, sizeof out, p, 125u, &n), ST_OK);
    T_EQ_INT(n, 127);
    T_EQ_INT(ws_pong_frame(out, 4u, p, 5u, &n), ST_FULL);
}

int main(void)
{
    T_RUN(test_sha1_vectors);
    T_RUN(test_base64_vectors);
    T_RUN(test_utf8_stream);
    T_RUN(test_accept_key);
    T_RUN(test_check_upgrade);
    T_RUN(test_rfc_examples);
    T_RUN(test_lengths);
    T_RUN(test_fragments_with_ping);
    T_RUN(test_invalid_utf8);
    T_RUN(test_utf8_fail_fast);
    T_RUN(test_protocol_errors);
    T_RUN(test_oversize);
    T_RUN(test_close_frames);
    T_RUN(test_decode_again_is_pure);
    T_RUN(test_encoder);
    return t_done("ws");
}
