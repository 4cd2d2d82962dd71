/*
 * fuzz/ws.c - libFuzzer target for the WebSocket frame decoder and encoder
 * (src/http/ws.c) and the streaming UTF-8 check.
 *
 * Input: byte 0 picks the message limit, bytes 1..4 seed the read sizes,
 * the rest is a client byte stream. One input:
 *   - decodes the stream delivered whole and again in data-derived pieces
 *     (reads of 1..64 bytes appended to an rx buffer, consumed bytes dropped
 *     from the front, as a connection does); the two transcripts (status,
 *     opcode, FIN, message end, length, payload bytes, close code) must be
 *     equal;
 *   - checks every frame: consumed within the buffer, payload inside the
 *     frame, ws_frame_header re-encodes byte 0 and the length bytes exactly
 *     (lengths are minimal), control payloads <= 125, close codes valid,
 *     error statuses carry their close code;
 *   - assembles text messages and checks them with an independent UTF-8
 *     decoder when the decoder says they are complete;
 *   - echoes pings through ws_pong_frame and a close through ws_close_frame,
 *     then decodes those (masked again) with a fresh decoder.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core/base64.h"
#include "core/utf8.h"
#include "http/ws.h"
#include "ref_utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_IN 65536u
#define FUZZ_MAX_EVENTS 4096u

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "fuzz/ws.c:%d: check failed: %s\n", __LINE__, #c); \
            abort();                                                           \
        }                                                                      \
    } while (0)

typedef struct {
    st_t st;
    int op;
    bool fin;
    bool end;
    size_t len;
    uint32_t hash;
    uint16_t code;
} event;

static uint8_t g_rx[FUZZ_MAX_IN + 16u];
static event g_ev[2][FUZZ_MAX_EVENTS];
static size_t g_nev[2];
static uint8_t g_msg[FUZZ_MAX_IN];

static uint32_t fnv(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    size_t i;
    for (i = 0u; i < n; i++) {
        h = (h ^ p[i]) * 16777619u;
    }
    return h;
}

static void check_frame(const uint8_t *frame, size_t consumed, const ws_frame *f, size_t *msg_n,
                        int slot)
{
    uint8_t h[WS_MAX_SERVER_HEADER];
    size_t hn = ws_frame_header(h, f->opcode, f->fin, (uint64_t)f->len);
    size_t i;

    CHECK(hn + 4u + f->len == consumed);
    CHECK(f->payload == frame + hn + 4u);
    CHECK(h[0] == frame[0]);
    CHECK((uint8_t)(h[1] | 0x80u) == frame[1]);
    for (i = 2u; i < hn; i++) {
        CHECK(h[i] == frame[i]);
    }
    if (((unsigned)f->opcode & 0x8u) != 0u) {
        CHECK(f->fin && !f->msg_end && (f->len <= WS_MAX_CONTROL_PAYLOAD));
        CHECK(f->msg_opcode == f->opcode);
    } else {
        CHECK((f->msg_opcode == WS_OP_TEXT) || (f->msg_opcode == WS_OP_BINARY));
        CHECK(f->msg_end == f->fin);
    }
    if (f->opcode == WS_OP_CLOSE) {
        CHECK((f->len == 0u) ? (f->close_code == WS_CLOSE_NO_STATUS)
                             : ws_close_code_valid(f->close_code));
        CHECK(utf8_valid((const uint8_t *)f->close_reason.p, f->close_reason.n));
    } else {
        CHECK(f->close_code == 0u);
    }
    /* text messages assembled (slot 0 only) */
    if ((slot == 0) && (f->msg_opcode == WS_OP_TEXT) && (((unsigned)f->opcode & 0x8u) == 0u)) {
        if (f->opcode == WS_OP_TEXT) {
            *msg_n = 0u;
        }
        CHECK(*msg_n + f->len <= sizeof g_msg);
        memcpy(g_msg + *msg_n, f->payload, f->len);
        *msg_n += f->len;
        if (f->msg_end) {
            CHECK(utf8_valid(g_msg, *msg_n));
        }
    }
}

/* A server control frame, masked again as a client would send it, must
 * decode to the same opcode and payload. */
static void reflect(const uint8_t *frame, size_t n, ws_opcode op, const uint8_t *payload, size_t len)
{
    uint8_t c[WS_MAX_CONTROL_FRAME + 4u];
    ws_decoder d;
    ws_frame f;
    size_t consumed = 0u;
    size_t i;

    CHECK((n >= 2u) && (n == 2u + len) && (frame[1] == len));
    c[0] = frame[0];
    c[1] = (uint8_t)(frame[1] | 0x80u);
    c[2] = 0x11u;
    c[3] = 0x22u;
    c[4] = 0x33u;
    c[5] = 0x44u;
    for (i = 0u; i < len; i++) {
        c[6u + i] = (uint8_t)(frame[2u + i] ^ c[2u + (i & 3u)]);
    }
    ws_decoder_init(&d, 16u);
    CHECK(ws_decode(&d, c, n + 4u, &consumed, &f) == ST_OK);
    CHECK((consumed == n + 4u) && (f.opcode == op) && (f.len == len));
    CHECK((len == 0u) || (memcmp(f.payload, payload, len) == 0));
}

static void run(const uint8_t *s, size_t n, uint64_t max, uint32_t seed, int slot)
{
    ws_decoder d;
    size_t have = 0u;
    size_t fed = 0u;
    size_t msg_n = 0u;
    st_t st = ST_AGAIN;

    g_nev[slot] = 0u;
    ws_decoder_init(&d, max);
    for (;;) {
        size_t consumed = 7u;
        ws_frame f;
        if (st == ST_AGAIN) {
            size_t take = n - fed;
            if (slot == 1) {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                take = 1u + (size_t)(seed % 64u);
                if (take > n - fed) {
                    take = n - fed;
                }
            }
            if (take == 0u) {
                break;
            }
            memcpy(g_rx + have, s + fed, take);
            have += take;
            fed += take;
        }
        st = ws_decode(&d, g_rx, have, &consumed, &f);
        CHECK((st == ST_OK) || (st == ST_AGAIN) || (st == ST_BAD) || (st == ST_UTF8) ||
              (st == ST_TOOBIG) || (st == ST_CLOSED));
        if (st != ST_OK) {
            CHECK(consumed == 0u);
        }
        if (st == ST_AGAIN) {
            CHECK(ws_decoder_close_code(&d) == 0u);
            /* a frame still waiting for bytes always fits the documented bound */
            CHECK(have < ((d.max_message > WS_MAX_CONTROL_PAYLOAD) ? d.max_message
                                                                    : WS_MAX_CONTROL_PAYLOAD) +
                             WS_MAX_CLIENT_HEADER);
            continue;
        }
        CHECK(g_nev[slot] < FUZZ_MAX_EVENTS);
        {
            event *e = &g_ev[slot][g_nev[slot]];
            g_nev[slot]++;
            memset(e, 0, sizeof *e);
            e->st = st;
            e->code = ws_decoder_close_code(&d);
            if (st == ST_OK) {
                CHECK((consumed >= 6u) && (consumed <= have));
                check_frame(g_rx, consumed, &f, &msg_n, slot);
                e->op = (int)f.opcode;
                e->fin = f.fin;
                e->end = f.msg_end;
                e->len = f.len;
                e->hash = fnv(f.payload, f.len);
                if (f.close_code != 0u) {
                    e->code = f.close_code;
                }
                if ((slot == 0) && (f.opcode == WS_OP_PING)) {
                    uint8_t out[WS_MAX_CONTROL_FRAME];
                    size_t w = 0u;
                    CHECK(ws_pong_frame(out, sizeof out, f.payload, f.len, &w) == ST_OK);
                    reflect(out, w, WS_OP_PONG, f.payload, f.len);
                }
                if ((slot == 0) && (f.opcode == WS_OP_CLOSE) && (f.len >= 2u)) {
                    uint8_t out[WS_MAX_CONTROL_FRAME];
                    size_t w = 0u;
                    CHECK(ws_close_frame(out, sizeof out, f.close_code, f.close_reason, &w) ==
                          ST_OK);
                    reflect(out, w, WS_OP_CLOSE, f.payload, f.len);
                }
                memmove(g_rx, g_rx + consumed, have - consumed);
                have -= consumed;
            } else {
                if (st == ST_BAD) {
                    CHECK(e->code == 1002u);
                } else if (st == ST_UTF8) {
                    CHECK(e->code == 1007u);
                } else if (st == ST_TOOBIG) {
                    CHECK(e->code == 1009u);
                } else {
                    CHECK(e->code == 0u);
                }
                /* sticky */
                CHECK(ws_decode(&d, g_rx, have, &consumed, &f) == st);
                break;
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint64_t limits[4] = { 0u, 16u, 200u, 4096u };
    uint64_t max;
    uint32_t seed;
    size_t i;

    if ((size < 5u) || (size > FUZZ_MAX_IN)) {
        return 0;
    }
    max = limits[data[0] & 3u];
    seed = ((uint32_t)data[1] << 24) | ((uint32_t)data[2] << 16) | ((uint32_t)data[3] << 8) |
           (uint32_t)data[4];
    if (seed == 0u) {
        seed = 1u;
    }
    run(data + 5, size - 5u, max, seed, 0);
    run(data + 5, size - 5u, max, seed, 1);
    CHECK(g_nev[0] == g_nev[1]);
    for (i = 0u; i < g_nev[0]; i++) {
        const event *a = &g_ev[0][i];
        const event *b = &g_ev[1][i];
        CHECK((a->st == b->st) && (a->op == b->op) && (a->fin == b->fin) && (a->end == b->end) &&
              (a->len == b->len) && (a->hash == b->hash) && (a->code == b->code));
    }
    /* the handshake helpers take any bytes */
    {
        char acc[WS_ACCEPT_BYTES];
        char b64[64];
        size_t take = (size > 40u) ? 40u : size;
        CHECK(ws_accept_key((strv){ (const char *)data, take }, acc) == ST_OK);
        CHECK(strlen(acc) == 28u);
        CHECK(base64_encode(data, take, b64, sizeof b64, NULL) == ST_OK);
        CHECK(strlen(b64) == BASE64_ENC_LEN(take));
    }
    return 0;
}
