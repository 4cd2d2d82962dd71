/*
 * router.h - a static route table per family, compiled once at init.
 *
 * Patterns are literal segments and `{name}` parameters, one per segment:
 *   "/api/v1/bots/{id}/soul/versions/{version}"
 * A final segment "*" matches the rest of the path (the rest is the last
 * param). Matching runs on the raw path, byte for byte: no slash folding,
 * "/a/" is not "/a", an empty segment is never a `{param}`, and a path that
 * does not start with '/' ("*" of OPTIONS) matches nothing. Parameter values
 * are percent-decoded once into a caller buffer (spec README §6.1). Methods
 * are a bit mask so one row serves GET and HEAD.
 *
 * The first row in table order whose pattern and methods both match wins:
 * order is how a literal row beats a parameter row ("/bots/new" before
 * "/bots/{id}"), and only for its own methods. A row with more parameters
 * (the tail counted) than CFG_HTTP_MAX_PARAMS never matches.
 *
 * router_compile turns a table into a router_table (no heap: its arrays are
 * sized by CFG_ROUTER_*, config.h): per depth, the rows with a parameter
 * there, with their tail there, ending there, and the distinct literals at
 * that depth, each with the set of its rows (a bit per row). router_match
 * walks the path once, segment by segment, narrowing the set of candidate
 * rows; the answer is the lowest row of the path's set that takes the
 * method. The Allow set is only gathered when none does (405).
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
#define ROUTE_STREAM_BODY 0x8u /* the handler runs at the head and takes the body
                                * piece by piece (hctx_take_body, http/server.h) */

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

/* A set of rows of one table: bit r is row r. */
#define ROUTER_WORDS ((((unsigned)CFG_ROUTER_MAX_ROUTES) + 63u) / 64u)
typedef struct {
    uint64_t w[ROUTER_WORDS];
} route_set;

/* A distinct literal segment at one depth and the rows that have it there. */
typedef struct {
    strv seg;                            /* into the row's pattern */
    route_set rows;
} route_lit;

/* A compiled table. It points into the route table it was compiled from,
 * which must outlive it (the tables are static const). Depth d is the
 * (d+1)-th segment of a path. */
typedef struct {
    const route *table;
    size_t n;
    route_set live;                      /* rows that can match at all */
    route_set param[CFG_ROUTER_MAX_SEGS];     /* a {param} at depth d */
    route_set tail[CFG_ROUTER_MAX_SEGS];      /* the '*' at depth d */
    route_set end[CFG_ROUTER_MAX_SEGS + 1];   /* exactly d segments, no '*' */
    uint16_t lit_first[CFG_ROUTER_MAX_SEGS + 1]; /* depth d: lits[first[d], first[d+1]) */
    route_lit lits[CFG_ROUTER_MAX_LITERALS];
    uint8_t nfixed[CFG_ROUTER_MAX_ROUTES];    /* a row's segments before its '*' */
} router_table;

/* Compile table[0..n) into t (overwritten; t may be used only after ST_OK).
 * Every pattern starts with '/', and "*" may only be its last segment:
 * ST_INVAL otherwise. ST_TOOBIG: more rows than CFG_ROUTER_MAX_ROUTES, a
 * pattern of more segments than CFG_ROUTER_MAX_SEGS, or more distinct
 * literals than CFG_ROUTER_MAX_LITERALS. n may be 0 (nothing matches). */
st_t router_compile(router_table *t, const route *table, size_t n);

/* Find the row for (method, path) in a compiled table. On ROUTE_FOUND,
 * out->rt is the row and out->params[0..nparams) its parameters, decoded
 * into pbuf (pcap bytes; pbuf may be NULL when pcap is 0). On
 * ROUTE_BAD_METHOD, out->allow is the union of the methods of every row
 * whose pattern matches the path. Otherwise rt is NULL and nparams and
 * allow are 0. ROUTE_BAD_PARAM: a parameter of the row found has a
 * malformed percent-encoding, or the decoded parameters exceed pcap. */
route_result router_match(const router_table *t, http_method m, strv path, char *pbuf,
                          size_t pcap, route_match_t *out);
/* "GET, HEAD, POST" for an Allow header. Returns length written (NUL-terminated). */
size_t router_allow_str(uint32_t methods, char *buf, size_t cap);

#endif
