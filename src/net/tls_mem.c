/*
 * net/tls_mem.c - the heap of mbedtls, its clock, entropy and random
 * generator (net/tls_mem.h).
 *
 * Implementation notes:
 * - The adapters have exactly the signatures mbedtls declares (calloc/free,
 *   the time function, f_rng), so no function pointer is ever cast.
 * - mbedtls is configured (vendor/mbedtls_config.h) with no default
 *   allocator and no clock: until tls_mem_init every allocation fails and
 *   time is 0.
 * - mbedtls_hardware_poll is mbedtls' only entropy source
 *   (MBEDTLS_ENTROPY_HARDWARE_ALT): the OS CSPRNG through port_entropy. The
 *   CTR-DRBG is seeded from it once and reseeds itself from it (every
 *   10,000 requests, mbedtls' default).
 */
#include "net/tls_mem.h"

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "port.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/entropy_poll.h>
#include <mbedtls/platform.h>
#include <mbedtls/platform_time.h>

/* 16-byte aligned, as heap_init requires. */
/* cppcheck-suppress misra-c2012-1.4 ; C11 _Alignas: heap_init needs 16-byte alignment */
static _Alignas(16) unsigned char tls_region[CFG_TLS_HEAP_BYTES];
static heap_t tls_heap;
static mbedtls_entropy_context g_entropy;
static mbedtls_ctr_drbg_context g_drbg;
static bool g_ready;

static void *tls_calloc(size_t nmemb, size_t size)
{
    return heap_calloc(&tls_heap, nmemb, size);
}

static void tls_free(void *ptr)
{
    heap_free(&tls_heap, ptr);
}

/* Seconds since the epoch (UTC); *timer gets the same when not NULL. */
static mbedtls_time_t tls_time(mbedtls_time_t *timer)
{
    mbedtls_time_t now = (mbedtls_time_t)(port_wall_us() / 1000000u);
    if (timer != NULL) {
        *timer = now;
    }
    return now;
}

/* MBEDTLS_ENTROPY_HARDWARE_ALT: fills output[0..len) or fails (non-zero). */
int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen)
{
    int rc = MBEDTLS_ERR_ENTROPY_SOURCE_FAILED;
    (void)data;
    *olen = 0u;
    if (port_entropy(output, len) == ST_OK) {
        *olen = len;
        rc = 0;
    }
    return rc;
}

st_t tls_mem_init(void)
{
    static const unsigned char pers[] = "roost tls";
    st_t st = ST_OK;
    if (!g_ready) {
        heap_init(&tls_heap, "tls", tls_region, sizeof tls_region);
        (void)mbedtls_platform_set_calloc_free(tls_calloc, tls_free);
        (void)mbedtls_platform_set_time(tls_time);
        mbedtls_entropy_init(&g_entropy);
        mbedtls_ctr_drbg_init(&g_drbg);
        if (mbedtls_ctr_drbg_seed(&g_drbg, mbedtls_entropy_func, &g_entropy, pers,
                                  sizeof pers - 1u) != 0) {
            st = ST_INTERNAL;
        } else {
            g_ready = true;
        }
    }
    return st;
}

int tls_mem_random(void *ctx, unsigned char *out, size_t len)
{
    (void)ctx;
    return mbedtls_ctr_drbg_random(&g_drbg, out, len);
}

void tls_mem_stats(heap_stats_t *out)
{
    if (g_ready) {
        heap_stats(&tls_heap, out);
    } else {
        *out = (heap_stats_t){ 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u };
    }
}

/* Write one byte per page back as it is: the page becomes resident. */
void tls_mem_commit(void)
{
    volatile unsigned char *p = tls_region;
    size_t i;
    for (i = 0u; i < sizeof tls_region; i += 4096u) {
        /* cppcheck-suppress selfAssignment ; a volatile write: the page becomes resident */
        p[i] = p[i];
    }
}
