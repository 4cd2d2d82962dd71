/*
 * ws.c - see ws.h.
 *
 * Implementation notes:
 *   - ws_decode is stateless about bytes: it re-reads the header from buf[0]
 *     on every call (at most 14 bytes), so the caller's "append and call
 *     again" loop needs nothing but the buffer. Header checks run on the
 *     bytes present (byte 0, then byte 1, then the extended length), so an
 *     error is reported as soon as the byte that shows it has arrived.
 *   - Message state (in_message, msg_len, the UTF-8 stream) changes only
 *     when a whole frame is returned. The one thing a call without a frame
 *     keeps is the UTF-8 check of the text payload bytes already present
 *     (part, part_checked): each call feeds only the bytes that arrived
 *     since, unmasking them into a small stack copy (buf stays untouched),
 *     so an ill-formed byte fails the frame as soon as it is read, not when
 *     the frame is complete. The caller offers the same frame from its
 *     start on every call (it must anyway), so the count stays true.
 *   - The payload of a data frame is at most max_message bytes (checked from
 *     the header), which ws_decoder_init keeps below SIZE_MAX, so the
 *     uint64_t length converts to size_t without loss.
 */
#include "http/ws.h"

#include <string.h>

#include "core/assert.h"
#include "core/base64.h"
#include "core/sha1.h"

/* ---- handshake ------------------------------------------------------------ */

static bool b64_char(char c)
{
    return ((c >= 'A') && (c <= 'Z')) || ((c >= 'a') && (c <= 'z')) ||
           ((c >= '0') && (c <= '9')) || (c == '+') || (c == '/');
}

/* base64 of exactly 16 bytes: 22 alphabet characters then "==". */
static bool key_valid(strv key)
{
    bool ok = (key.p != NULL) && (key.n == 24u);
    size_t i;

    for (i = 0u; ok && (i < 24u); i++) {
        char c = key.p[i];
        ok = (i < 22u) ? b64_char(c) : (c == '=');
    }
    return ok;
}

/* The value of the only header named name; p==NULL when absent or repeated. */
static strv header_once(const http_req *req, const char *name)
{
    strv v = STRV_NULL;
    size_t count = 0u;
    size_t i;

    for (i = 0u; i < req->nheaders; i++) {
        if (strv_ieq_cstr(req->headers[i].name, name)) {
            v = req->headers[i].value;
            count++;
        }
    }
    if (count != 1u) {
        v = STRV_NULL;
    }
    return v;
}

st_t ws_check_upgrade(const http_req *req, int *status)
{
    st_t st = ST_OK;

    if ((req->method != HTTP_M_GET) || (req->minor != 1) || !req->upgrade_websocket) {
        st = ST_BAD;
    } else {
        strv version = header_once(req, "Sec-WebSocket-Version");
        if ((version.p == NULL) || !strv_eq_cstr(version, WS_VERSION)) {
            st = ST_UNSUPPORTED;
        } else if (!key_valid(header_once(req, "Sec-WebSocket-Key"))) {
            st = ST_BAD;
        } else {
            /* a valid opening handshake */
        }
    }
    if (st == ST_OK) {
        *status = 101;
    } else if (st == ST_UNSUPPORTED) {
        *status = 426;
    } else {
        *status = 400;
    }
    return st;
}

st_t ws_accept_key(strv client_key, char out[WS_ACCEPT_BYTES])
{
    st_t st = ST_INVAL;

    if (out != NULL) {
        sha1_ctx c;
        uint8_t digest[SHA1_BYTES];
        sha1_init(&c);
        sha1_update(&c, client_key.p, client_key.n);
        sha1_update(&c, WS_GUID, sizeof(WS_GUID) - 1u);
        sha1_final(&c, digest);
        st = base64_encode(digest, sizeof digest, out, WS_ACCEPT_BYTES, NULL);
        ASSERT(st == ST_OK);
    }
    return st;
}

/* ---- decoder -------------------------------------------------------------- */

void ws_decoder_init(ws_decoder *d, uint64_t max_message)
{
    uint64_t max = (max_message == 0u) ? (uint64_t)CFG_WS_MAX_MESSAGE : max_message;
    uint64_t ceiling = (uint64_t)(SIZE_MAX - WS_MAX_CLIENT_HEADER);

    (void)memset(d, 0, sizeof *d);
    d->max_message = (max > ceiling) ? ceiling : max;
    d->msg_len = 0u;
    utf8_stream_init(&d->utf8);
    d->msg_opcode = WS_OP_TEXT;
    d->in_message = false;
    d->closed = false;
    d->close_code = 0u;
    d->failed = ST_OK;
}

uint16_t ws_decoder_close_code(const ws_decoder *d)
{
    return d->close_code;
}

bool ws_close_code_valid(uint32_t code)
{
    return ((code >= WS_CLOSE_NORMAL) && (code <= 1003u)) || ((code >= 1007u) && (code <= 1014u)) ||
           ((code >= 3000u) && (code <= 4999u));
}

static st_t fail(ws_decoder *d, st_t st)
{
    d->failed = st;
    if (st == ST_UTF8) {
        d->close_code = WS_CLOSE_BAD_DATA;
    } else if (st == ST_TOOBIG) {
        d->close_code = WS_CLOSE_TOO_BIG;
    } else {
        d->close_code = WS_CLOSE_PROTOCOL;
    }
    return st;
}

static bool is_control(unsigned op)
{
    return (op & 0x8u) != 0u;
}

/* Byte 0: FIN, RSV, opcode against the message state. */
static bool byte0_ok(const ws_decoder *d, uint8_t b0)
{
    unsigned op = (unsigned)b0 & 0x0Fu;
    bool fin = (b0 & 0x80u) != 0u;
    bool ok = (b0 & 0x70u) == 0u;

    if (ok) {
        if (op == (unsigned)WS_OP_CONT) {
            ok = d->in_message;
        } else if ((op == (unsigned)WS_OP_TEXT) || (op == (unsigned)WS_OP_BINARY)) {
            ok = !d->in_message;
        } else if ((op == (unsigned)WS_OP_CLOSE) || (op == (unsigned)WS_OP_PING) ||
                   (op == (unsigned)WS_OP_PONG)) {
            ok = fin;
        } else {
            ok = false;
        }
    }
    return ok;
}

/*
 * Parse the header in buf[0..len): ST_OK with *hdr (header size) and *plen,
 * ST_AGAIN when more header bytes are needed, or an error status.
 */
static st_t parse_header(const ws_decoder *d, const uint8_t *buf, size_t len, size_t *hdr,
                         uint64_t *plen)
{
    st_t st = ST_AGAIN;

    if (len >= 1u) {
        st = byte0_ok(d, buf[0]) ? ST_AGAIN : ST_BAD;
    }
    if ((st == ST_AGAIN) && (len >= 2u)) {
        uint64_t n = (uint64_t)buf[1] & 0x7Fu;
        size_t ext = 0u;
        if ((buf[1] & 0x80u) == 0u) {
            st = ST_BAD;
        } else if (is_control((unsigned)buf[0] & 0x0Fu) && (n > WS_MAX_CONTROL_PAYLOAD)) {
            st = ST_BAD;
        } else if (n == 126u) {
            ext = 2u;
        } else if (n == 127u) {
            ext = 8u;
        } else {
            /* 7-bit length */
        }
        if ((st == ST_AGAIN) && (ext > 0u) && (len >= (2u + ext))) {
            size_t i;
            n = 0u;
            for (i = 0u; i < ext; i++) {
                n = (n << 8) | (uint64_t)buf[2u + i];
            }
            if ((ext == 2u) && (n < 126u)) {
                st = ST_BAD;
            } else if ((ext == 8u) && ((n < 65536u) || ((n >> 63) != 0u))) {
                st = ST_BAD;
            } else {
                /* minimal encoding */
            }
        }
        if ((st == ST_AGAIN) && (len >= (2u + ext))) {
            uint64_t room = d->max_message - (d->in_message ? d->msg_len : 0u);
            if (!is_control((unsigned)buf[0] & 0x0Fu) && (n > room)) {
                st = ST_TOOBIG;
            } else if (len >= (2u + ext + 4u)) {
                *hdr = 2u + ext + 4u;
                *plen = n;
                st = ST_OK;
            } else {
                /* waiting for the mask key */
            }
        }
    }
    return st;
}

/* The opcode of byte 0, already checked by byte0_ok. */
static ws_opcode opcode_of(uint8_t b0)
{
    unsigned op = (unsigned)b0 & 0x0Fu;
    ws_opcode r = WS_OP_CONT;

    if (op == 0x1u) {
        r = WS_OP_TEXT;
    } else if (op == 0x2u) {
        r = WS_OP_BINARY;
    } else if (op == 0x8u) {
        r = WS_OP_CLOSE;
    } else if (op == 0x9u) {
        r = WS_OP_PING;
    } else if (op == 0xAu) {
        r = WS_OP_PONG;
    } else {
        ASSERT(op == 0x0u);
    }
    return r;
}

static void unmask(uint8_t *p, size_t n, const uint8_t key[4])
{
    size_t i;

    for (i = 0u; i < n; i++) {
        p[i] = (uint8_t)(p[i] ^ key[i & 3u]);
    }
}

/* Check a complete close payload; fill f->close_code / close_reason. */
static st_t close_payload(ws_frame *f)
{
    st_t st = ST_OK;
    utf8_stream u;

    f->close_code = WS_CLOSE_NO_STATUS;
    f->close_reason = (strv){ (const char *)f->payload, 0u };
    if (f->len == 1u) {
        st = ST_BAD;
    } else if (f->len >= 2u) {
        uint32_t code = ((uint32_t)f->payload[0] << 8) | (uint32_t)f->payload[1];
        if (!ws_close_code_valid(code)) {
            st = ST_BAD;
        } else {
            utf8_stream_init(&u);
            if (!utf8_stream_feed(&u, f->payload + 2u, f->len - 2u) || !utf8_stream_done(&u)) {
                st = ST_UTF8;
            } else {
                f->close_code = (uint16_t)code;
                f->close_reason = (strv){ (const char *)(f->payload + 2u), f->len - 2u };
            }
        }
    } else {
        /* empty: no status */
    }
    return st;
}

/* Whether the data frame whose byte 0 is b0 (already checked) carries text. */
static bool frame_is_text(const ws_decoder *d, uint8_t b0)
{
    unsigned op = (unsigned)b0 & 0x0Fu;
    return (op == (unsigned)WS_OP_TEXT) ||
           ((op == (unsigned)WS_OP_CONT) && (d->msg_opcode == WS_OP_TEXT));
}

/* Feed the text payload bytes [part_checked, avail) of the frame at buf[0]
 * (header hdr bytes, mask key last) to the frame's UTF-8 check, starting it
 * from the message's state at the frame's first bytes. masked: the payload
 * is still masked in buf (unmasked into a stack copy), else it is plain. */
static bool text_check(ws_decoder *d, const uint8_t *buf, size_t hdr, size_t avail, bool masked)
{
    const uint8_t *key = buf + (hdr - 4u);
    const uint8_t *pay = buf + hdr;
    bool ok = true;

    if (!d->part_on) {
        d->part_on = true;
        d->part_checked = 0u;
        if (((unsigned)buf[0] & 0x0Fu) == (unsigned)WS_OP_CONT) {
            d->part = d->utf8;
        } else {
            utf8_stream_init(&d->part);
        }
    }
    while (ok && (d->part_checked < avail)) {
        uint8_t tmp[64];
        size_t n = avail - d->part_checked;
        size_t i;
        if (n > sizeof tmp) {
            n = sizeof tmp;
        }
        for (i = 0u; i < n; i++) {
            size_t at = d->part_checked + i;
            tmp[i] = masked ? (uint8_t)(pay[at] ^ key[at & 3u]) : pay[at];
        }
        ok = utf8_stream_feed(&d->part, tmp, n);
        d->part_checked += n;
    }
    return ok;
}

/* A complete data frame (payload unmasked): run the message layer. */
static st_t data_frame(ws_decoder *d, const uint8_t *buf, size_t hdr, ws_frame *f)
{
    st_t st = ST_OK;

    if (f->opcode != WS_OP_CONT) {
        d->msg_opcode = f->opcode;
        d->msg_len = 0u;
    }
    d->msg_len += (uint64_t)f->len;
    f->msg_opcode = d->msg_opcode;
    if (d->msg_opcode == WS_OP_TEXT) {
        if (!text_check(d, buf, hdr, f->len, false)) {
            st = ST_UTF8;
        } else if (f->fin && !utf8_stream_done(&d->part)) {
            st = ST_UTF8;
        } else {
            d->utf8 = d->part;   /* well-formed so far */
        }
    }
    d->part_on = false;
    d->part_checked = 0u;
    d->in_message = !f->fin;
    f->msg_end = f->fin;
    return st;
}

st_t ws_decode(ws_decoder *d, uint8_t *buf, size_t len, size_t *consumed, ws_frame *f)
{
    st_t st;
    size_t hdr = 0u;
    uint64_t plen = 0u;

    *consumed = 0u;
    if (d->failed != ST_OK) {
        st = d->failed;
    } else if (d->closed) {
        st = ST_CLOSED;
    } else {
        st = parse_header(d, buf, len, &hdr, &plen);
        if ((st == ST_OK) && (plen > (uint64_t)(len - hdr))) {
            /* incomplete: check the text bytes that are here (fail fast) */
            st = ST_AGAIN;
            if (!is_control((unsigned)buf[0] & 0x0Fu) && frame_is_text(d, buf[0]) &&
                !text_check(d, buf, hdr, len - hdr, true)) {
                st = ST_UTF8;
            }
        }
        if (st == ST_OK) {
            size_t n = (size_t)plen;
            (void)memset(f, 0, sizeof *f);
            f->opcode = opcode_of(buf[0]);
            f->msg_opcode = f->opcode;
            f->fin = (buf[0] & 0x80u) != 0u;
            f->payload = buf + hdr;
            f->len = n;
            f->close_reason = (strv){ (const char *)f->payload, 0u };
            unmask(f->payload, n, buf + (hdr - 4u));
            if (f->opcode == WS_OP_CLOSE) {
                st = close_payload(f);
                d->closed = (st == ST_OK);
            } else if (!is_control((unsigned)f->opcode)) {
                st = data_frame(d, buf, hdr, f);
            } else {
                /* ping, pong: nothing more to check */
            }
            if (st == ST_OK) {
                *consumed = hdr + n;
            }
        }
        if ((st != ST_OK) && (st != ST_AGAIN)) {
            st = fail(d, st);
        }
    }
    return st;
}

/* ---- encoder -------------------------------------------------------------- */

size_t ws_frame_header(uint8_t out[WS_MAX_SERVER_HEADER], ws_opcode op, bool fin, uint64_t len)
{
    size_t n;
    size_t i;

    ASSERT((len >> 63) == 0u);
    out[0] = (uint8_t)((fin ? 0x80u : 0u) | ((unsigned)op & 0x0Fu));
    if (len < 126u) {
        out[1] = (uint8_t)len;
        n = 2u;
    } else if (len <= 0xFFFFu) {
        out[1] = 126u;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        n = 4u;
    } else {
        out[1] = 127u;
        for (i = 0u; i < 8u; i++) {
            out[2u + i] = (uint8_t)(len >> (56u - (8u * i)));
        }
        n = 10u;
    }
    return n;
}

st_t ws_close_frame(uint8_t *out, size_t cap, uint16_t code, strv reason, size_t *written)
{
    st_t st = ST_OK;
    size_t plen = 0u;
    utf8_stream u;

    *written = 0u;
    if (code != 0u) {
        utf8_stream_init(&u);
        if (!ws_close_code_valid(code)) {
            st = ST_INVAL;
        } else if (reason.n > (WS_MAX_CONTROL_PAYLOAD - 2u)) {
            st = ST_TOOBIG;
        } else if (!utf8_stream_feed(&u, (const unsigned char *)reason.p, reason.n) ||
                   !utf8_stream_done(&u)) {
            st = ST_UTF8;
        } else {
            plen = 2u + reason.n;
        }
    }
    if ((st == ST_OK) && ((out == NULL) || (cap < (2u + plen)))) {
        st = ST_FULL;
    }
    if (st == ST_OK) {
        size_t h = ws_frame_header(out, WS_OP_CLOSE, true, (uint64_t)plen);
        if (plen > 0u) {
            out[h] = (uint8_t)(code >> 8);
            out[h + 1u] = (uint8_t)code;
            if (reason.n > 0u) {
                (void)memcpy(out + h + 2u, reason.p, reason.n);
            }
        }
        ASSERT((h + plen) <= WS_MAX_CONTROL_FRAME);
        *written = h + plen;
    }
    return st;
}

st_t ws_pong_frame(uint8_t *out, size_t cap, const uint8_t *p, size_t n, size_t *written)
{
    st_t st = ST_OK;

    *written = 0u;
    if (n > WS_MAX_CONTROL_PAYLOAD) {
        st = ST_TOOBIG;
    } else if ((out == NULL) || (cap < (2u + n))) {
        st = ST_FULL;
    } else {
        size_t h = ws_frame_header(out, WS_OP_PONG, true, (uint64_t)n);
        if (n > 0u) {
            (void)memcpy(out + h, p, n);
        }
        *written = h + n;
    }
    return st;
}
