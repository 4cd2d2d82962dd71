/*
 * out/mem.c - the heap of libcurl and c-ares; mbedtls' heap, clock and
 * entropy are net/tls_mem.c's (one heap for the client and the server).
 *
 * Implementation notes:
 * - The adapters have exactly the signatures the libraries declare
 *   (curl_malloc_callback & co., c-ares' amalloc/afree/arealloc),
 *   so no function pointer is ever cast.
 * - c-ares is initialised before libcurl: curl_global_init_mem calls
 *   ares_library_init, which only counts a second initialisation and keeps
 *   the allocators ares_library_init_mem installed.
 * - mbedtls is set up first (tls_mem_init): libcurl's mbedtls backend
 *   initialises inside curl_global_init_mem and allocates through it.
 * - out_mem_commit touches every page of both regions (each byte written
 *   back as it is, so the heaps stay intact): RSS includes them from the
 *   start instead of creeping up as allocations wander over the regions.
 */
#include "out/mem.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "net/tls_mem.h"

/* curl.h first: under -std=c11 it brings the fd_set that ares.h uses. */
#include <curl/curl.h>
#include <ares.h>

/* The region, 16-byte aligned as heap_init requires. */
/* cppcheck-suppress misra-c2012-1.4 ; C11 _Alignas: heap_init needs 16-byte alignment */
static _Alignas(16) unsigned char out_region[CFG_OUT_HEAP_BYTES];
static heap_t out_heap;
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

/* ---- public ------------------------------------------------------------------- */

st_t out_mem_init(void)
{
    st_t st = ST_OK;
    if (ready) {
        st = ST_EXISTS;
    } else {
        heap_init(&out_heap, "out", out_region, sizeof out_region);
        if (tls_mem_init() != ST_OK) {
            st = ST_INTERNAL;
        /* cppcheck-suppress misra-c2012-10.1 ; c-ares' own flag macro (an int bit-or) */
        } else if (ares_library_init_mem(ARES_LIB_INIT_ALL, out_malloc, out_free, out_realloc)
            != ARES_SUCCESS) {
            st = ST_INTERNAL;
        /* cppcheck-suppress misra-c2012-10.1 ; libcurl's own flag macro (an int bit-or) */
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
    }
    tls_mem_stats(&snapshot.tls);   /* set up without out/ for TLS listeners */
    return &snapshot;
}

/* Write one byte per page back as it is: the page becomes resident. */
static void touch(volatile unsigned char *p, size_t n)
{
    size_t i;
    for (i = 0u; i < n; i += 4096u) {
        /* cppcheck-suppress selfAssignment ; a volatile write: the page becomes resident */
        p[i] = p[i];
    }
}

void out_mem_commit(void)
{
    touch(out_region, sizeof out_region);
    tls_mem_commit();
}
