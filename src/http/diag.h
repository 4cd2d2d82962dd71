/*
 * diag.h - diagnostics endpoints for conformance runs: /_echo on every
 * listener, only when the runtime key diag.echo is true (off by default;
 * the configuration is refused, exit 2, unless every enabled listener is
 * bound to a loopback address).
 *
 *   POST /_echo   200 with the request body back, as received after
 *                 de-framing (Content-Length or chunked), under the
 *                 request's Content-Type (none when it had none). The
 *                 listener's own limits apply: max_json_body_bytes (413),
 *                 body slots (503), the body stall timeout (408).
 *   GET /_echo    a WebSocket upgrade (400/426 otherwise) that echoes every
 *                 data frame back as it arrives: same opcode, same FIN, same
 *                 payload, so a fragmented message comes back fragmented the
 *                 same way and a whole one whole. Pings are answered, a
 *                 close is answered and ends it, protocol errors close with
 *                 1002/1007/1009 as on any endpoint. The message limit is
 *                 DIAG_WS_MAX_MESSAGE.
 *   other methods 405 (Allow: GET, POST).
 *
 * The endpoint runs before authentication and before the family's routes:
 * it is loopback-only and echoes only what its caller sent.
 */
#ifndef ROOST_HTTP_DIAG_H
#define ROOST_HTTP_DIAG_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "http/server.h"
#include "http/ws.h"

/* The echo's client message limit: the default, unless a frame of it would
 * not fit in tx beside the control reserve (the echo of a frame is written
 * at once, whole). */
#define DIAG_WS_ROOM \
    ((uint32_t)CFG_BUF_BYTES - (uint32_t)CFG_STREAM_CONTROL_RESERVE - (uint32_t)WS_MAX_SERVER_HEADER)
#define DIAG_WS_MAX_MESSAGE \
    (((uint32_t)CFG_WS_MAX_MESSAGE < DIAG_WS_ROOM) ? (uint32_t)CFG_WS_MAX_MESSAGE : DIAG_WS_ROOM)

/* The request of h is for /_echo: answer it and return true; false for any
 * other path. Called by the server only when the listener's diag_echo is
 * set. */
bool diag_dispatch(hctx *h);

#endif
