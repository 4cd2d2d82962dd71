/*
 * cors.h - CORS per listener, in the header style of the upstream family
 * (spec README §5): fleet (tower-http style), rpg (echo the Origin on every
 * response), FastAPI/Starlette style for observability, documents, agents.
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
