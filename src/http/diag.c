/*
 * diag.c - the /_echo endpoints (see diag.h).
 *
 * Implementation notes:
 * - The HTTP echo is rendered (hctx_render) into the render scratch, as a
 *   ROUTE_BIG_OUT response is: a body larger than tx goes out in windows,
 *   rendered again from the request's body, which stays in rx or its body
 *   slot until the last window. Nothing is copied anywhere else.
 * - The WebSocket echo is a stream policy with on_data: the stream hands it
 *   a frame only when tx is lent and empty, and DIAG_WS_MAX_MESSAGE keeps
 *   every frame inside tx's room, so the echo of a frame always fits.
 */
#include "http/diag.h"

#include <string.h>

#include "core/assert.h"
#include "http/stream.h"

_Static_assert(DIAG_WS_MAX_MESSAGE >= 125u, "the echo must take small messages");

static void echo_frame(stream_sub *s, const ws_frame *f);

static stream_policy g_echo_ws = {
    .name = "diag /_echo",
    .topics = 0u,
    .close_code = WS_CLOSE_TRY_LATER,
    .heartbeat_ms = 30000u,
    .pong_timeout_ms = 60000u,
    .max_message = DIAG_WS_MAX_MESSAGE,
    .on_data = echo_frame,
};

static void echo_frame(stream_sub *s, const ws_frame *f)
{
    /* the stream waits for an empty tx, and every frame fits in it */
    if (NEVER(stream_send_frame(s, f->opcode, f->fin, f->payload, f->len) != ST_OK)) {
        stream_close(s, 1011u, "echo does not fit");
    }
}

/* Render the echo of the request's body (again for each later window). */
static void echo_render(hctx *h, const void *state)
{
    strv ct = http_header_get(h->req, "Content-Type");
    (void)state;
    hctx_begin(h, 200);
    if (ct.p != NULL) {
        resp_header(&h->resp, "Content-Type", ct);
    }
    if (h->body.n > 0u) {
        resp_body_append(&h->resp, h->body.p, h->body.n);
    }
    hctx_end(h);
}

bool diag_dispatch(hctx *h)
{
    bool mine = strv_eq_cstr(h->req->path, "/_echo");
    if (!mine) {
        /* not ours */
    } else if (h->req->method == HTTP_M_POST) {
        size_t cap = 0u;
        h->out_buf = http_render_scratch(&cap);
        hctx_render(h, echo_render, NULL, 0u);
        h->out_buf = NULL;
    } else if (h->req->method == HTTP_M_GET) {
        (void)hctx_ws_accept(h, &g_echo_ws);
    } else {
        h->allow = RM(HTTP_M_GET) | RM(HTTP_M_POST);
        h->svc->error(h, 405, "METHOD_NOT_ALLOWED", "Method not allowed");
    }
    return mine;
}
