/*
 * router.h - a static route table per family.
 *
 * Patterns are literal segments and `{name}` parameters, one per segment:
 *   "/api/v1/bots/{id}/soul/versions/{version}"
 * A final segment "*" matches the rest of the path (the rest is the last param).
 * Matching runs on the raw path; parameter values are percent-decoded once
 * into a caller buffer (spec README §6.1). Methods are a bit mask so one row
 * serves GET and HEAD.
 */
#ifndef ROOST_ROUTER_H
#define ROOST_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "core/status.h"
#include "core/strv.h"
#include "http/parse.h"

#define RM(m) (1u << (unsigned)(m))
#define RM_GET (RM(HTTP_M_GET) | RM(HTTP_M_HEAD))

struct hctx;
typedef void (*route_fn)(struct hctx *h);

/* Route flags. */
#define ROUTE_HOOK_BODY 0x1u   /* body limit is max_hook_body_bytes */
#define ROUTE_OPEN 0x2u        /* never needs the API key (health) */
#define ROUTE_BIG_OUT 0x4u     /* response may exceed tx: render into the scratch */

typedef struct {
    uint32_t methods;
    const char *pattern;
    route_fn fn;
    uint32_t flags;
} route;

typedef enum { ROUTE_FOUND, ROUTE_NOT_FOUND, ROUTE_BAD_METHOD, ROUTE_BAD_PARAM } route_result;

typedef struct {
    const route *rt;
    uint32_t allow;                      /* methods allowed on the path (405) */
    strv params[CFG_HTTP_MAX_PARAMS];
    size_t nparams;
} route_match_t;

/* Find the route for (method, path). params point into pbuf (pcap bytes).
 * ROUTE_BAD_PARAM: a parameter's percent-encoding is malformed or too long. */
route_result router_match(const route *table, size_t n, http_method m, strv path,
                          char *pbuf, size_t pcap, route_match_t *out);
/* "GET, HEAD, POST" for an Allow header. Returns length written (NUL-terminated). */
size_t router_allow_str(uint32_t methods, char *buf, size_t cap);

#endif
