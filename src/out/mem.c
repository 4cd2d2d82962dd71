/*
 * out/mem.c - the heaps of libcurl, c-ares and mbedtls, and mbedtls' clock
 * and entropy.
 *
 * Implementation notes:
 * - The adapters have exactly the signatures the libraries declare
 *   (curl_malloc_callback & co., c-ares' amalloc/afree/arealloc, mbedtls'
 *   calloc/free), so no function pointer is ever cast.
 * - c-ares is initialised before libcurl: curl_global_init_mem calls
 *   ares_library_init, which only counts a second initialisation and keeps
 *   the allocators ares_library_init_mem installed.
 * - mbedtls is configured (vendor/mbedtls_config.h) with no default
 *   allocator and no clock: until out_mem_init every allocation fails and
 *   time is 0, so certificates look not yet valid. Both fail closed.
 * - out_mem_commit touches every page of both regions (each byte written
 *   back as it is, so the heaps stay intact): RSS includes them from the
 *   start instead of creeping up as allocations wander over the regions.
 * - mbedtls_hardware_poll is mbedtls' only entropy source
 *   (MBEDTLS_ENTROPY_HARDWARE_ALT): the OS CSPRNG through port_entropy.
 */
#include "out/mem.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "port.h"

/* curl.h first: under -std=c11 it brings the fd_set that ares.h uses. */
#include <curl/curl.h>
#include <ares.h>
#include <mbedtls/entropy.h>
#include <mbedtls/entropy_poll.h>
#include <mbedtls/platform.h>
#include <mbedtls/platform_time.h>

/* The regions, 16-byte aligned as heap_init requires. */
static _Alignas(16) unsigned char out_region[CFG_OUT_HEAP_BYTES];
static _Alignas(16) unsigned char tls_region[CFG_TLS_HEAP_BYTES];
static heap_t out_heap;
static heap_t tls_heap;
static out_mem_stats_t snapshot;
static bool ready;

/* ---- libcurl and c-ares ---------------------------------------------------- */

static void *out_malloc(size_t size)
{
    return heap_alloc(&out_heap, size);
}

static void out_free(void *ptr)
{
    heap_free(&out_heap, ptr);
}

static void *out_realloc(void *ptr, size_t size)
{
    return heap_realloc(&out_heap, ptr, size);
}

static char *out_strdup(const char *str)
{
    return heap_strdup(&out_heap, str);
}

static void *out_calloc(size_t nmemb, size_t size)
{
    return heap_calloc(&out_heap, nmemb, size);
}

/* ---- mbedtls ---------------------------------------------------------------- */

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

/* ---- public ------------------------------------------------------------------- */

st_t out_mem_init(void)
{
    st_t st = ST_OK;
    if (ready) {
        st = ST_EXISTS;
    } else {
        heap_init(&out_heap, "out", out_region, sizeof out_region);
        heap_init(&tls_heap, "tls", tls_region, sizeof tls_region);
        (void)mbedtls_platform_set_calloc_free(tls_calloc, tls_free);
        (void)mbedtls_platform_set_time(tls_time);
        if (ares_library_init_mem(ARES_LIB_INIT_ALL, out_malloc, out_free, out_realloc)
            != ARES_SUCCESS) {
            st = ST_INTERNAL;
        } else if (curl_global_init_mem(CURL_GLOBAL_DEFAULT, out_malloc, out_free, out_realloc,
                                        out_strdup, out_calloc) != CURLE_OK) {
            st = ST_INTERNAL;
        } else {
            ready = true;
        }
    }
    return st;
}

const out_mem_stats_t *out_mem_stats(void)
{
    if (ready) {
        heap_stats(&out_heap, &snapshot.out);
        heap_stats(&tls_heap, &snapshot.tls);
    }
    return &snapshot;
}

/* Write one byte per page back as it is: the page becomes resident. */
static void touch(volatile unsigned char *p, size_t n)
{
    size_t i;
    for (i = 0u; i < n; i += 4096u) {
        p[i] = p[i];
    }
}

void out_mem_commit(void)
{
    touch(out_region, sizeof out_region);
    touch(tls_region, sizeof tls_region);
}
