/*
 * net/tls_mem.h - the one heap of mbedtls, and its clock, entropy and
 * random generator.
 *
 * mbedtls' calloc/free (mbedtls_platform_set_calloc_free) is one pair for
 * the whole process, so both users of mbedtls share this heap: the TLS
 * server of the listeners (net/tls.c: the certificates, every session's
 * record buffers and handshake state) and libcurl's TLS client to the LLM
 * providers (out/: the parsed CA bundle, each call's context). It lives in
 * net/ because that is the lowest layer both can reach (out/ may include
 * net/, net/ may not include out/).
 *
 *   "tls"  CFG_TLS_HEAP_BYTES  (config.h; static storage, never grows)
 *
 * mbedtls also gets its clock (port_wall_us) and its only entropy source
 * (mbedtls_hardware_poll, defined here, reads port_entropy), and the server
 * a CTR-DRBG seeded from it (tls_mem_random).
 *
 * Order at init: tls_mem_init before any other mbedtls call (out_mem_init
 * calls it too; the second call changes nothing). Before it every mbedtls
 * allocation fails and time is 0, so certificates look not yet valid: both
 * fail closed. Built with mbedtls only (CFG_WITH_TLS).
 *
 * Not thread-safe (one thread, DESIGN.md).
 */
#ifndef ROOST_TLS_MEM_H
#define ROOST_TLS_MEM_H

#include <stddef.h>

#include "core/heap.h"
#include "core/status.h"

/* Set up the heap, install it and the clock in mbedtls, seed the random
 * generator. ST_OK (also when already done), ST_INTERNAL when the generator
 * cannot be seeded (no entropy). */
st_t tls_mem_init(void);

/* Make the whole region resident now (every page touched, contents kept),
 * so RSS does not creep up as allocations wander over it. */
void tls_mem_commit(void);

/* Statistics of the heap (zeros before tls_mem_init). */
void tls_mem_stats(heap_stats_t *out);

/* The CTR-DRBG, with the signature of mbedtls' f_rng (ctx unused). */
int tls_mem_random(void *ctx, unsigned char *out, size_t len);

#endif
