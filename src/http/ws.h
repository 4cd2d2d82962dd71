/*
 * ws.h - RFC 6455 WebSocket pieces that are pure functions over buffers:
 * the opening handshake check and accept key, an incremental decoder of
 * client-to-server frames (with the message layer: fragmentation, UTF-8 of
 * text across fragments, the message size limit, close frame payloads), and
 * the encoder of server-to-client frames (never masked). No sockets here;
 * the connection code owns the buffers.
 *
 * Choices (RFC 6455 leaves them to the endpoint or says MUST; all written
 * down here):
 *   - Frame lengths must use the minimal encoding (5.2 "MUST"): a 16-bit
 *     length below 126 or a 64-bit length below 65536 is a protocol error
 *     (1002), as is a 64-bit length with the top bit set.
 *   - Every client frame must be masked (5.1): else 1002.
 *   - RSV1..3 must be 0 (no extension is ever negotiated): else 1002.
 *   - Opcodes 0x3-0x7 and 0xB-0xF: 1002. Control frames with FIN=0 or a
 *     payload over 125 bytes: 1002. A continuation frame with no message in
 *     progress, or a text/binary frame while one is: 1002.
 *   - A message (the sum of its fragments' payloads) over the decoder's
 *     max_message: 1009, detected from the frame header, before the payload
 *     arrives.
 *   - Text messages must be UTF-8 across fragments: an ill-formed byte fails
 *     the frame that holds it (1007) as soon as that byte has arrived, even
 *     when the rest of the frame has not (fail fast, across fragment and
 *     read boundaries); a sequence left open by the final fragment fails
 *     that fragment (1007) once it is complete.
 *   - Close frame payload: empty (code 1005 reported), or a 2-byte code and
 *     a UTF-8 reason. One byte: 1002. A code that ws_close_code_valid()
 *     refuses: 1002. A reason that is not UTF-8: 1007.
 *   - Close codes accepted (ws_close_code_valid): 1000-1003, 1007-1014
 *     (1012 service restart, 1013 try again later, 1014 bad gateway are in
 *     the IANA registry and roost itself sends 1013), 3000-4999. Refused:
 *     below 1000, 1004 (reserved), 1005/1006/1015 (never sent on the wire,
 *     7.4.1), 1016-2999 (unassigned, reserved for the RFC and its
 *     extensions), 5000 and up.
 */
#ifndef ROOST_HTTP_WS_H
#define ROOST_HTTP_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "core/status.h"
#include "core/strv.h"
#include "core/utf8.h"
#include "http/parse.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
/* The only protocol version spoken; the value of Sec-WebSocket-Version. */
#define WS_VERSION "13"
/* Sec-WebSocket-Accept value: 28 base64 characters + NUL. */
#define WS_ACCEPT_BYTES 29u
/* Largest client frame header: 2 + 8 (64-bit length) + 4 (mask key). */
#define WS_MAX_CLIENT_HEADER 14u
/* Largest server frame header (no mask). */
#define WS_MAX_SERVER_HEADER 10u
#define WS_MAX_CONTROL_PAYLOAD 125u
/* A whole server control frame (close, pong) fits in this many bytes. */
#define WS_MAX_CONTROL_FRAME (2u + WS_MAX_CONTROL_PAYLOAD)

typedef enum {
    WS_OP_CONT = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xA
} ws_opcode;

/* Close codes roost uses (RFC 6455 7.4.1 and the IANA registry). */
#define WS_CLOSE_NORMAL 1000u
#define WS_CLOSE_PROTOCOL 1002u
#define WS_CLOSE_NO_STATUS 1005u      /* reported for an empty close payload; never sent */
#define WS_CLOSE_BAD_DATA 1007u
#define WS_CLOSE_TOO_BIG 1009u

/* ---- handshake ------------------------------------------------------------ */

/*
 * Check an upgrade request (RFC 6455 4.2.1). Origin is not checked here (the
 * listener's allowed origins are the caller's business).
 *   ST_OK           *status 101: answer the handshake.
 *   ST_BAD          *status 400: not GET, not HTTP/1.1, no "Upgrade:
 *                   websocket" + "Connection: upgrade" (req->upgrade_websocket),
 *                   or Sec-WebSocket-Key missing, repeated, or not the base64
 *                   of 16 bytes (22 alphabet characters then "==").
 *   ST_UNSUPPORTED  *status 426: Sec-WebSocket-Version missing, repeated or
 *                   not exactly "13". The response must carry
 *                   "Sec-WebSocket-Version: 13" (4.4).
 * The version is checked before the key. req and status must not be NULL.
 */
st_t ws_check_upgrade(const http_req *req, int *status);

/*
 * Sec-WebSocket-Accept for a Sec-WebSocket-Key value:
 * base64(SHA-1(key + WS_GUID)), 28 characters, NUL-terminated in out.
 * key.p may be NULL only when key.n is 0. Returns ST_OK (ST_INVAL for a NULL
 * out).
 */
st_t ws_accept_key(strv client_key, char out[WS_ACCEPT_BYTES]);

/* ---- decoder (client -> server) ------------------------------------------- */

typedef struct {
    ws_opcode opcode;      /* of this frame (WS_OP_CONT for a continuation) */
    ws_opcode msg_opcode;  /* data frames: TEXT or BINARY of their message;
                              control frames: same as opcode */
    bool fin;
    bool msg_end;          /* a data frame that completes its message */
    uint8_t *payload;      /* unmasked, in the caller's buffer; valid while it is */
    size_t len;
    uint16_t close_code;   /* close frames: the peer's code (1005 when none), else 0 */
    strv close_reason;     /* close frames: the UTF-8 reason (may be empty), else empty */
} ws_frame;

typedef struct {
    uint64_t max_message;  /* limit on a message's total payload */
    uint64_t msg_len;      /* payload bytes of the message in progress */
    utf8_stream utf8;      /* text message in progress, up to the last whole frame */
    utf8_stream part;      /* ... and on through the frame being read (part_on) */
    size_t part_checked;   /* payload bytes of that frame fed to part */
    bool part_on;          /* part belongs to the text frame at the buffer's start */
    ws_opcode msg_opcode;  /* TEXT or BINARY while in_message */
    bool in_message;       /* a data frame with FIN=0 was seen, not yet finished */
    bool closed;           /* a close frame was returned */
    uint16_t close_code;   /* 0, or the close code to send after an error */
    st_t failed;           /* ST_OK, or the sticky error */
} ws_decoder;

/* max_message 0 means CFG_WS_MAX_MESSAGE. */
void ws_decoder_init(ws_decoder *d, uint64_t max_message);

/*
 * Decode the first frame in buf[0..len). The decoder keeps no bytes: the
 * caller keeps unconsumed bytes at the front of its buffer, appends what it
 * reads, and calls again with the same start (buf may be NULL only when len
 * is 0). A frame is returned only once all of it is in buf, so the caller's
 * buffer must hold max(max_message, 125) + WS_MAX_CLIENT_HEADER bytes (a
 * longer frame is refused from its header: data frames over the message
 * limit, control frames over 125). ST_AGAIN leaves buf untouched, so the
 * same bytes can be offered again with more appended; the payload bytes of
 * a text frame already present are UTF-8 checked then (ST_UTF8 before the
 * frame is complete), and the decoder remembers how far, so every call
 * must offer the same frame from its first byte until it is consumed.
 *
 *   ST_OK      one frame: *consumed = its size (header + payload), f filled,
 *              its payload unmasked in place. Control frames may come
 *              between the fragments of a message.
 *   ST_AGAIN   no complete frame yet and no error in the bytes so far;
 *              *consumed 0.
 *   ST_BAD     protocol error: close with 1002.
 *   ST_UTF8    invalid UTF-8 in a text message or close reason: close with 1007.
 *   ST_TOOBIG  message over max_message: close with 1009.
 *   ST_CLOSED  a close frame was already returned; nothing more is decoded.
 * On an error *consumed is 0, ws_decoder_close_code() gives the code and the
 * decoder stays failed (same answer again). Headers are checked as their
 * bytes arrive, so an error in a header is reported before the payload.
 */
st_t ws_decode(ws_decoder *d, uint8_t *buf, size_t len, size_t *consumed, ws_frame *f);

/* The close code to send after an error from ws_decode; 0 when none. */
uint16_t ws_decoder_close_code(const ws_decoder *d);

/* Whether a close frame may carry this code (see the choices above). */
bool ws_close_code_valid(uint32_t code);

/* ---- encoder (server -> client, never masked) ----------------------------- */

/*
 * Write the header of an unmasked frame with this opcode, FIN bit and
 * payload length (len < 2^63) into out; returns its size, 2, 4 or 10, using
 * the minimal length encoding. The payload follows it, unchanged.
 */
size_t ws_frame_header(uint8_t out[WS_MAX_SERVER_HEADER], ws_opcode op, bool fin, uint64_t len);

/*
 * A whole close frame into out[0..cap): code then reason. code 0 writes an
 * empty payload (no status); otherwise ws_close_code_valid(code) must hold.
 * reason.p may be NULL only when reason.n is 0; it is ignored when code is 0.
 *   ST_OK        *written = frame size (<= WS_MAX_CONTROL_FRAME)
 *   ST_INVAL     code not 0 and not valid
 *   ST_TOOBIG    reason over 123 bytes
 *   ST_UTF8      reason not UTF-8
 *   ST_FULL      cap too small
 * On an error *written is 0.
 */
st_t ws_close_frame(uint8_t *out, size_t cap, uint16_t code, strv reason, size_t *written);

/*
 * A whole pong frame echoing a ping's payload (n <= 125; p may be NULL only
 * when n is 0) into out[0..cap). ST_OK with *written; ST_TOOBIG for n > 125;
 * ST_FULL when cap is too small (*written 0 on errors).
 */
st_t ws_pong_frame(uint8_t *out, size_t cap, const uint8_t *p, size_t n, size_t *written);

#endif
