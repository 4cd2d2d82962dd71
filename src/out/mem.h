/*
 * out/mem.h - memory and platform hooks of the outbound HTTP stack.
 *
 * libcurl, c-ares and mbedtls never touch the system heap, the clock or the
 * OS entropy source on their own. This module owns one static heap and
 * gives it to the libraries:
 *
 *   "out"  CFG_OUT_HEAP_BYTES  libcurl (curl_global_init_mem) and c-ares
 *                              (ares_library_init_mem)
 *
 * mbedtls' heap ("tls", CFG_TLS_HEAP_BYTES: the parsed CA bundle and every
 * TLS context, client and server), clock and entropy are net/tls_mem.h's,
 * set up by out_mem_init through tls_mem_init; both are reported here.
 *
 * Order at init: out_mem_init before any other libcurl, c-ares or mbedtls
 * call (before anything creates a curl handle or parses a certificate). The
 * heaps are never torn down: curl_global_cleanup is not called.
 *
 * Not thread-safe (one thread, DESIGN.md).
 */
#ifndef ROOST_OUT_MEM_H
#define ROOST_OUT_MEM_H

#include "core/heap.h"
#include "core/status.h"

typedef struct {
    heap_stats_t out;   /* libcurl + c-ares */
    heap_stats_t tls;   /* mbedtls */
} out_mem_stats_t;

/* Set up mbedtls (tls_mem_init) and the out heap, install the allocators
 * (c-ares first, then libcurl's curl_global_init_mem, which initialises
 * c-ares and mbedtls through them). Call once; a second call returns ST_EXISTS and changes
 * nothing. ST_INTERNAL when a library refuses (curl_global_init_mem or
 * ares_library_init_mem fails), ST_OK otherwise. */
st_t out_mem_init(void);

/* Make both regions resident (the tls one through tls_mem_commit) now (every page touched, contents kept). The
 * libraries' allocation patterns differ from one burst of calls to the
 * next, so their blocks land on pages no earlier burst touched and RSS
 * would creep up (within the regions) for a long time; committed at start,
 * it stays flat. roostd calls this when LLM providers are configured. */
void out_mem_commit(void);

/* Current statistics of both heaps (used, high-water mark, failures), for
 * /metrics and `roostd --budget`. The pointer is to a static snapshot that
 * the next call overwrites; zeros before out_mem_init. Never NULL. */
const out_mem_stats_t *out_mem_stats(void);

#endif
