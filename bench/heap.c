/*
 * bench/heap.c - ns per operation of the TLSF heap (src/core/heap.c) against
 * the C library's malloc, on a size mix like libcurl's and c-ares's.
 *
 * Size mix (per allocation): 50% 16..128 bytes (strings, list nodes, DNS
 * records), 30% 128..1024 (headers, small structs), 15% 1..4 KiB (connection
 * and easy-handle parts), 5% 16 KiB (CURL_MAX_WRITE_SIZE receive buffers).
 * Three patterns, the same pre-drawn sequence for both allocators:
 *   churn   a working set of 512 live blocks; each step frees a random one
 *           and allocates a new one in its slot (one alloc/free pair);
 *   lifo    allocate, write a byte, free at once (one pair);
 *   grow    a buffer grown by doubling realloc from 64 bytes to 16 KiB, then
 *           freed, as curl's dynbuf does (ns per realloc).
 * Every block gets one byte written so neither allocator's work is elided.
 * Each figure is the best of 5 runs. Outside src/: the no-heap rule does not
 * apply here, that is the point of the comparison.
 *
 * Build and run:  make bench-heap   (or see bench/README.md)
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/heap.h"

#define REGION (8u * 1024u * 1024u)
#define LIVE 512u
#define STEPS 2000000u
#define GROWS 100000u
#define RUNS 5

_Alignas(16) static unsigned char g_region[REGION];
static heap_t g_heap;
static uint32_t g_size[STEPS];
static uint32_t g_slot[STEPS];
static void *g_live[LIVE];
static volatile unsigned g_sink;

typedef struct {
    const char *name;
    void *(*alloc)(size_t n);
    void *(*realloc_)(void *p, size_t n);
    void (*free_)(void *p);
    void (*reset)(void);
} allocator;

static void *h_alloc(size_t n) { return heap_alloc(&g_heap, n); }
static void *h_realloc(void *p, size_t n) { return heap_realloc(&g_heap, p, n); }
static void h_free(void *p) { heap_free(&g_heap, p); }
static size_t g_high;
static uint64_t g_fails;
static void h_reset(void)
{
    if (g_heap.high > g_high) {
        g_high = g_heap.high;
    }
    g_fails += g_heap.fails;
    heap_init(&g_heap, "bench", g_region, sizeof g_region);
}
static void *c_alloc(size_t n) { return malloc(n); }
static void *c_realloc(void *p, size_t n) { return realloc(p, n); }
static void c_free(void *p) { free(p); }
static void c_reset(void) { }

static uint64_t now_ns(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return ((uint64_t)ts.tv_sec * 1000000000u) + (uint64_t)ts.tv_nsec;
}

static uint64_t g_rng = 0x2545F4914F6CDD1Dull;

static uint32_t rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 32);
}

static uint32_t curl_size(void)
{
    uint32_t k = rnd() % 100u;
    if (k < 50u) {
        return 16u + (rnd() % 113u);
    }
    if (k < 80u) {
        return 128u + (rnd() % 897u);
    }
    if (k < 95u) {
        return 1024u + (rnd() % 3073u);
    }
    return 16384u;
}

static void touch(void *p)
{
    if (p == NULL) {
        fprintf(stderr, "bench/heap: allocation failed\n");
        exit(1);
    }
    *(volatile unsigned char *)p = 1u;
}

static double churn(const allocator *a)
{
    uint64_t t0;
    uint64_t t1;
    uint32_t i;
    a->reset();
    for (i = 0u; i < LIVE; i++) {
        g_live[i] = a->alloc(g_size[i]);
        touch(g_live[i]);
    }
    t0 = now_ns();
    for (i = 0u; i < STEPS; i++) {
        uint32_t k = g_slot[i];
        a->free_(g_live[k]);
        g_live[k] = a->alloc(g_size[i]);
        touch(g_live[k]);
    }
    t1 = now_ns();
    for (i = 0u; i < LIVE; i++) {
        a->free_(g_live[i]);
    }
    return (double)(t1 - t0) / (double)STEPS;
}

static double lifo(const allocator *a)
{
    uint64_t t0;
    uint64_t t1;
    uint32_t i;
    a->reset();
    t0 = now_ns();
    for (i = 0u; i < STEPS; i++) {
        void *p = a->alloc(g_size[i]);
        touch(p);
        g_sink += *(unsigned char *)p;
        a->free_(p);
    }
    t1 = now_ns();
    return (double)(t1 - t0) / (double)STEPS;
}

static double grow(const allocator *a)
{
    uint64_t t0;
    uint64_t t1;
    uint32_t i;
    uint32_t ops = 0u;
    a->reset();
    /* a few live neighbours so growth is sometimes in place, sometimes not */
    for (i = 0u; i < 64u; i++) {
        g_live[i] = a->alloc(g_size[i]);
        touch(g_live[i]);
    }
    t0 = now_ns();
    for (i = 0u; i < GROWS; i++) {
        size_t n = 64u;
        void *p = a->alloc(n);
        touch(p);
        while (n < 16384u) {
            n *= 2u;
            p = a->realloc_(p, n);
            touch(p);
            ops++;
        }
        a->free_(p);
        if ((i & 7u) == 0u) {
            uint32_t k = g_slot[i] % 64u;
            a->free_(g_live[k]);
            g_live[k] = a->alloc(g_size[i]);
            touch(g_live[k]);
        }
    }
    t1 = now_ns();
    for (i = 0u; i < 64u; i++) {
        a->free_(g_live[i]);
    }
    return (double)(t1 - t0) / (double)ops;
}

typedef double (*pattern)(const allocator *a);

static double best(pattern f, const allocator *a)
{
    double b = 1e30;
    int r;
    for (r = 0; r < RUNS; r++) {
        double v = f(a);
        if (v < b) {
            b = v;
        }
    }
    return b;
}

int main(void)
{
    static const allocator heap = { "heap (TLSF)", h_alloc, h_realloc, h_free, h_reset };
    static const allocator libc = { "libc malloc", c_alloc, c_realloc, c_free, c_reset };
    static const struct {
        const char *name;
        pattern f;
    } pats[3] = { { "churn (pair)", churn }, { "lifo (pair)", lifo }, { "grow (realloc)", grow } };
    uint32_t i;
    int k;

    for (i = 0u; i < STEPS; i++) {
        g_size[i] = curl_size();
        g_slot[i] = rnd() % LIVE;
    }
    printf("%-16s %14s %14s\n", "ns/op", heap.name, libc.name);
    for (k = 0; k < 3; k++) {
        double hv = best(pats[k].f, &heap);
        double cv = best(pats[k].f, &libc);
        printf("%-16s %14.1f %14.1f\n", pats[k].name, hv, cv);
    }
    h_reset();
    printf("heap region %u bytes, highest use %zu, failed allocations %llu\n", REGION, g_high,
           (unsigned long long)g_fails);
    return (g_fails == 0u) ? 0 : 1;
}
