/*
 * heap.h - a general-purpose allocator over one caller-provided region.
 *
 * For third-party libraries that need malloc/free/realloc/calloc semantics
 * (libcurl through curl_global_init_mem, c-ares through
 * ares_library_init_mem). roost has no system heap after init: such a library
 * gets its memory only from a heap_t whose region is sized in config.h. The
 * region never grows; a request that does not fit is answered NULL and
 * counted (heap_stats: fails), never by taking memory from elsewhere.
 *
 * Cost: heap_alloc, heap_free and heap_realloc are O(1) in the number of
 * blocks (two-level segregated fit: size classes found with bitmaps, free
 * neighbours merged at once through boundary tags); no call walks the block
 * list except heap_check. heap_realloc copies at most the old block.
 *
 * Layout (see heap.c): every block has an 8-byte header; payloads are
 * 16-byte aligned and their usable size is 8 + a multiple of 16 (8, 24, 40,
 * ...), so a request of n bytes takes a block of round_up(n + 8, 16) bytes,
 * 16 at least. Of the region, 16 bytes are fences (one before the first block,
 * one after the last).
 *
 * Bad pointers: heap_free and heap_realloc check in O(1) that a pointer is the
 * start of a live block of this heap (in the region, aligned, its header and
 * its neighbours' boundary tags agree). A pointer that fails is a bug in the
 * caller: debug builds stop at an ASSERT; release builds count it (bad_frees)
 * and leave the heap untouched. A double free and a pointer from another heap
 * are always caught; a pointer into the middle of a live block is caught
 * unless the caller's own bytes there happen to forge a consistent header
 * and both neighbouring tags.
 *
 * Not thread-safe: roost has one thread, and a heap belongs to it.
 */
#ifndef ROOST_HEAP_H
#define ROOST_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Second-level classes per power of two, and first-level classes (sizes up
 * to HEAP_MAX_BYTES). Internal, exposed for the struct's size only. */
#define HEAP_SL_LOG2 4u
#define HEAP_SL_COUNT 16u
#define HEAP_FL_COUNT 25u
/* Largest region one heap manages (offsets are 32-bit); a larger region
 * passed to heap_init is used up to this size. */
#define HEAP_MAX_BYTES 0x80000000u
/* Alignment of every pointer the heap returns. */
#define HEAP_ALIGN 16u

/* Defined here so a heap can be static storage; the members are private to
 * heap.c (read them through heap_stats). 1792 bytes on 64-bit targets. */
typedef struct heap {
    const char *name;
    unsigned char *base;        /* the region, 16-byte aligned */
    size_t bytes;               /* region size given to heap_init */
    uint32_t end;               /* offset of the closing fence header */
    size_t max_request;         /* largest n that could ever be served */
    size_t used;                /* bytes in live blocks, headers included */
    size_t high;                /* high-water mark of used */
    uint64_t allocs;
    uint64_t frees;
    uint64_t fails;
    uint64_t bad_frees;
    uint32_t fl_map;                              /* bit f: some sl_map[f] != 0 */
    uint32_t sl_map[HEAP_FL_COUNT];               /* bit s: head[f][s] != 0 */
    uint32_t head[HEAP_FL_COUNT][HEAP_SL_COUNT];  /* free lists, 0 = empty */
} heap_t;

typedef struct {
    size_t bytes;         /* region size given to heap_init */
    size_t used;          /* bytes in live blocks, their 8-byte headers included */
    size_t high;          /* high-water mark of used since heap_init */
    size_t largest_free;  /* usable bytes of the largest free block, 0 when none */
    uint64_t allocs;      /* blocks handed out (alloc, calloc, strdup, realloc
                             of NULL or that moved) */
    uint64_t frees;       /* blocks taken back (free, realloc to 0 or that moved);
                             allocs - frees = live blocks */
    uint64_t fails;       /* requests answered NULL: no room, or calloc overflow */
    uint64_t bad_frees;   /* pointers rejected by heap_free / heap_realloc */
} heap_stats_t;

/* Take over [mem, mem + bytes). mem must be 16-byte aligned (ASSERT); bytes is
 * used rounded down to a multiple of 16 and at most HEAP_MAX_BYTES. A region
 * under 32 bytes gives a heap where every allocation fails. name is kept (not
 * copied) for logs and metrics. The heap owns the region until it is no
 * longer used; there is no heap_fini (drop the whole region instead). */
void heap_init(heap_t *h, const char *name, void *mem, size_t bytes);

/* A 16-byte aligned block of at least n bytes, uninitialised, or NULL when no
 * free block is large enough (counted in fails). n == 0 returns a valid,
 * unique pointer (a minimum block, 8 usable bytes) that must be freed. */
void *heap_alloc(heap_t *h, size_t n);

/* heap_alloc(count * size) cleared to zero; NULL (counted) when the product
 * overflows size_t or does not fit. */
void *heap_calloc(heap_t *h, size_t count, size_t size);

/* C realloc semantics:
 *   p NULL:  heap_alloc(h, n);
 *   n 0:     heap_free(h, p), returns NULL;
 *   else:    a block of at least n bytes holding the first min(n, old) bytes of
 *            p. Shrinks in place (the tail goes back to the heap); grows in
 *            place when the following block is free and large enough;
 *            otherwise allocates, copies and frees p. On failure returns NULL
 *            (counted) and p is unchanged and still owned by the caller.
 * A bad p is handled as in heap_free (returns NULL). */
void *heap_realloc(heap_t *h, void *p, size_t n);

/* Give back a block. NULL is a no-op. A pointer that is not a live block of h
 * (never allocated here, already freed, interior) is caught: ASSERT in debug
 * builds; in release builds it is counted in bad_frees and ignored. */
void heap_free(heap_t *h, void *p);

/* A copy of the NUL-terminated s (must not be NULL), or NULL (counted). */
char *heap_strdup(heap_t *h, const char *s);

/* Bytes the caller may use at p (>= what was asked for); 0 for NULL or a
 * pointer that is not a live block of h (which also fails an ASSERT). */
size_t heap_usable(const heap_t *h, const void *p);

void heap_stats(const heap_t *h, heap_stats_t *out);

/* Walk every block and every free list: boundary tags agree, sizes valid, no
 * two free neighbours, each free block on exactly the list of its class,
 * bitmaps match the lists, used matches the live blocks. O(blocks): for tests
 * and fuzzing, not for the running server. true when everything holds. */
bool heap_check(const heap_t *h);

#endif
