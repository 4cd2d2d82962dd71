/*
 * cors.h - CORS per listener, in the header style its service names
 * (cors_style in http/server.h; spec README §5): tower-http, the Origin
 * echoed on every response, or FastAPI/Starlette. The style, the defaults
 * and the allowed origins come from the family's descriptor and config.
 */
#ifndef ROOST_CORS_H
#define ROOST_CORS_H

#include <stdbool.h>

#include "core/strv.h"

struct hctx;
struct http_service;

/* Add the family's CORS headers for an actual response (called by
 * hctx_begin, so error responses get them too). */
void cors_add_headers(struct hctx *h);
/* If the request is a CORS preflight, answer it and return true. */
bool cors_preflight(struct hctx *h);
/* The origin is on the listener's allowed list (or the list is "*"). */
bool cors_origin_allowed(const struct http_service *svc, strv origin);

#endif
