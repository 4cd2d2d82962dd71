/*
 * heap.c - two-level segregated fit (TLSF) over one region.
 *
 * Implementation notes
 *
 * Blocks. The region is a sequence of blocks between two fences. A block
 * starts at an offset o with o % 16 == 8 and has an 8-byte header:
 *
 *     o + 0   prev_size  size of the physical predecessor (0 for the first)
 *     o + 4   size|flag  whole block size (multiple of 16, >= 16); low bit 1
 *                        = free, low nibble 0 = live; other nibbles invalid
 *     o + 8   payload    16-byte aligned; when free: next and prev offsets
 *                        on the block's free list (0 = none)
 *
 * prev_size is kept for every block (not only free ones), so both neighbours
 * are one read away and a pointer can be checked against both boundary tags.
 * Offset 0..7 is the front fence (the first block starts at 8); the back
 * fence at `end` is a header with prev_size = last block's size and size 0.
 * Headers and links are read and written a byte at a time (compilers merge
 * them into word accesses): the region is the caller's storage of any
 * declared type, and byte access is what C allows on any object.
 *
 * Invariants (heap_check): blocks tile [8, end); each prev_size is its
 * predecessor's size; no two free blocks are neighbours (free merges at
 * once); each free block is on the list of its class and nowhere else.
 * When a block is merged into a neighbour its header is cleared, so a stale
 * pointer to it never looks live.
 *
 * Classes. Sizes under 256 bytes have one class per 16 bytes (first level 0).
 * Above, first level f covers [2^(f+7), 2^(f+8)) split into 16 equal second-
 * level classes. A bitmap per level finds the first non-empty class at or
 * above a size in constant time. The allocation search rounds the request up
 * to the next class boundary, so the head of any list it finds fits without
 * scanning (good fit, not best fit); when that finds nothing, the first
 * HEAP_SCAN_MAX blocks of the request's own class are tried before failing.
 * Remainders of at least 16 bytes are split off and put back.
 */
#include "core/heap.h"

#include <string.h>

#include "core/assert.h"
#include "core/fault.h"

#define HDR 8u                /* header bytes */
#define MIN_BLOCK 16u         /* header + the two free-list links */
#define FREE_BIT 1u
#define FLAG_MASK 15u
#define SMALL_BLOCK 256u      /* 16 classes of 16 bytes below this */
#define FL_SHIFT 7u           /* first level f >= 1 starts at 2^(f + FL_SHIFT) */
#define HEAP_SCAN_MAX 8u      /* blocks tried in the request's own class */
#define ALL_ONES 0xFFFFFFFFu
#define BIT(n) ((uint32_t)1u << (n))

/* ---- byte access --------------------------------------------------------- */

static uint32_t rd(const heap_t *h, uint32_t off)
{
    const unsigned char *p = &h->base[off];
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8u) | ((uint32_t)p[2] << 16u) |
           ((uint32_t)p[3] << 24u);
}

static void wr(heap_t *h, uint32_t off, uint32_t v)
{
    unsigned char *p = &h->base[off];
    p[0] = (unsigned char)(v & 0xFFu);
    p[1] = (unsigned char)((v >> 8u) & 0xFFu);
    p[2] = (unsigned char)((v >> 16u) & 0xFFu);
    p[3] = (unsigned char)((v >> 24u) & 0xFFu);
}

static uint32_t prev_size(const heap_t *h, uint32_t o)
{
    return rd(h, o);
}

static uint32_t block_size(const heap_t *h, uint32_t o)
{
    return rd(h, o + 4u) & ~FLAG_MASK;
}

static bool is_free(const heap_t *h, uint32_t o)
{
    return (rd(h, o + 4u) & FLAG_MASK) == FREE_BIT;
}

static void set_prev_size(heap_t *h, uint32_t o, uint32_t size)
{
    wr(h, o, size);
}

static void set_header(heap_t *h, uint32_t o, uint32_t size, bool free_block)
{
    wr(h, o + 4u, free_block ? (size | FREE_BIT) : size);
}

static uint32_t link_next(const heap_t *h, uint32_t o)
{
    return rd(h, o + 8u);
}

static uint32_t link_prev(const heap_t *h, uint32_t o)
{
    return rd(h, o + 12u);
}

/* ---- bit scans and classes ------------------------------------------------ */

/* Bit scans without branches or compiler built-ins: a power of two times a
 * de Bruijn constant has a distinct top 5 bits, looked up in a table. */
static const uint8_t k_debruijn[32] = {
    0u,  1u,  28u, 2u,  29u, 14u, 24u, 3u, 30u, 22u, 20u, 15u, 25u, 17u, 4u,  8u,
    31u, 27u, 13u, 23u, 21u, 19u, 16u, 7u, 26u, 12u, 18u, 6u,  11u, 5u,  10u, 9u
};

static uint32_t log2_pow2(uint32_t x)
{
    return k_debruijn[(uint32_t)(x * 0x077CB531u) >> 27u];
}

/* Index of the highest set bit; x != 0. */
static uint32_t fls32(uint32_t x)
{
    uint32_t v = x;
    v |= v >> 1u;
    v |= v >> 2u;
    v |= v >> 4u;
    v |= v >> 8u;
    v |= v >> 16u;
    return log2_pow2(v - (v >> 1u));
}

/* Index of the lowest set bit; x != 0. */
static uint32_t ffs32(uint32_t x)
{
    return log2_pow2(x & (~x + 1u));
}

static void mapping(uint32_t size, uint32_t *fl, uint32_t *sl)
{
    if (size < SMALL_BLOCK) {
        *fl = 0u;
        *sl = size >> 4u;
    } else {
        uint32_t t = fls32(size);
        *sl = (size >> (t - HEAP_SL_LOG2)) ^ HEAP_SL_COUNT;
        *fl = t - FL_SHIFT;
    }
}

/* ---- free lists ------------------------------------------------------------ */

static void list_insert(heap_t *h, uint32_t o, uint32_t size)
{
    uint32_t fl;
    uint32_t sl;
    uint32_t first;
    mapping(size, &fl, &sl);
    first = h->head[fl][sl];
    set_header(h, o, size, true);
    wr(h, o + 8u, first);
    wr(h, o + 12u, 0u);
    if (first != 0u) {
        wr(h, first + 12u, o);
    }
    h->head[fl][sl] = o;
    h->fl_map |= BIT(fl);
    h->sl_map[fl] |= BIT(sl);
}

static void list_remove(heap_t *h, uint32_t o, uint32_t size)
{
    uint32_t fl;
    uint32_t sl;
    uint32_t next = link_next(h, o);
    uint32_t prev = link_prev(h, o);
    mapping(size, &fl, &sl);
    if (next != 0u) {
        wr(h, next + 12u, prev);
    }
    if (prev != 0u) {
        wr(h, prev + 8u, next);
    } else {
        ASSERT(h->head[fl][sl] == o);
        h->head[fl][sl] = next;
        if (next == 0u) {
            h->sl_map[fl] &= ~BIT(sl);
            if (h->sl_map[fl] == 0u) {
                h->fl_map &= ~BIT(fl);
            }
        }
    }
}

/* First free block of at least `size` bytes, or 0. */
static uint32_t find_block(const heap_t *h, uint32_t size)
{
    uint32_t target = size;
    uint32_t fl;
    uint32_t sl;
    uint32_t found = 0u;
    uint32_t n = 0u;
    uint32_t o;

    if (size >= SMALL_BLOCK) {
        target += BIT(fls32(size) - HEAP_SL_LOG2) - 1u;
    }
    mapping(target, &fl, &sl);
    if (fl < HEAP_FL_COUNT) {
        uint32_t slm = h->sl_map[fl] & (ALL_ONES << sl);
        if (slm == 0u) {
            uint32_t flm = ((fl + 1u) < HEAP_FL_COUNT) ? (h->fl_map & (ALL_ONES << (fl + 1u))) : 0u;
            if (flm != 0u) {
                fl = ffs32(flm);
                slm = h->sl_map[fl];
            }
        }
        if (slm != 0u) {
            found = h->head[fl][ffs32(slm)];
        }
    }
    /* Nothing in a class that surely fits: try a few of the request's own. */
    mapping(size, &fl, &sl);
    o = (found == 0u) ? h->head[fl][sl] : 0u;
    while ((o != 0u) && (n < HEAP_SCAN_MAX)) {
        if (block_size(h, o) >= size) {
            found = o;
            o = 0u;
        } else {
            o = link_next(h, o);
            n++;
        }
    }
    return found;
}

/* ---- blocks ---------------------------------------------------------------- */

/* Block size for a request of n bytes (n <= h->max_request). */
static uint32_t size_for(size_t n)
{
    size_t b = (n + HDR + 15u) & ~(size_t)15u;
    return (b < MIN_BLOCK) ? MIN_BLOCK : (uint32_t)b;
}

/* Put the block at o (no longer live) back: merge with free neighbours,
 * then onto its list. */
static void release(heap_t *h, uint32_t o, uint32_t size)
{
    uint32_t start = o;
    uint32_t total = size;
    uint32_t ps = prev_size(h, o);
    uint32_t next = o + size;

    if ((ps != 0u) && is_free(h, o - ps)) {
        start = o - ps;
        list_remove(h, start, ps);
        wr(h, o, 0u);
        wr(h, o + 4u, 0u);
        total += ps;
    }
    if (is_free(h, next)) {
        uint32_t ns = block_size(h, next);
        list_remove(h, next, ns);
        wr(h, next, 0u);
        wr(h, next + 4u, 0u);
        total += ns;
    }
    set_prev_size(h, start + total, total);
    list_insert(h, start, total);
}

/* Cut a live block at o down to `keep` bytes; a tail of at least MIN_BLOCK
 * goes back to the heap. Returns the block's new size. */
static uint32_t trim(heap_t *h, uint32_t o, uint32_t size, uint32_t keep)
{
    uint32_t result = size;
    if ((size - keep) >= MIN_BLOCK) {
        uint32_t tail = o + keep;
        set_header(h, o, keep, false);
        set_prev_size(h, tail, keep);
        set_header(h, tail, size - keep, false);
        release(h, tail, size - keep);
        result = keep;
    }
    return result;
}

/* The address as an integer, to place a pointer inside the region. */
static uintptr_t addr(const unsigned char *p)
{
    /* cppcheck-suppress misra-c2012-11.4 ; deviation: measured only (region bounds, alignment) */
    return (uintptr_t)p;
}

/* Offset of the live block whose payload is p, or 0 when p is not one. */
static uint32_t live_block(const heap_t *h, const void *p)
{
    uintptr_t a = addr(p);
    uintptr_t b = addr(h->base);
    uintptr_t d;
    uint32_t o;
    uint32_t hdr;
    uint32_t ps;

    if ((h->end == 0u) || (a < b)) {
        return 0u;
    }
    d = a - b;
    if ((d < (2u * HDR)) || (d > ((uintptr_t)h->end - HDR)) || ((d & 15u) != 0u)) {
        return 0u;
    }
    o = (uint32_t)d - HDR;
    hdr = rd(h, o + 4u);
    if (((hdr & FLAG_MASK) != 0u) || (hdr < MIN_BLOCK) || (hdr > (h->end - o))) {
        return 0u;
    }
    if (prev_size(h, o + hdr) != hdr) {
        return 0u;
    }
    ps = prev_size(h, o);
    if (ps == 0u) {
        return (o == HDR) ? o : 0u;
    }
    if ((ps > (o - HDR)) || ((ps & FLAG_MASK) != 0u) || (block_size(h, o - ps) != ps)) {
        return 0u;
    }
    return o;
}

static void note_used(heap_t *h, uint32_t grow)
{
    h->used += grow;
    if (h->used > h->high) {
        h->high = h->used;
    }
}

/* ---- API -------------------------------------------------------------------- */

void heap_init(heap_t *h, const char *name, void *mem, size_t bytes)
{
    size_t usable = (bytes > (size_t)HEAP_MAX_BYTES) ? (size_t)HEAP_MAX_BYTES : bytes;
    uint32_t span;

    ASSERT((mem != NULL) || (bytes == 0u));
    ASSERT((addr(mem) & (HEAP_ALIGN - 1u)) == 0u);
    (void)memset(h, 0, sizeof(*h));
    h->name = name;
    h->base = (unsigned char *)mem;
    h->bytes = bytes;
    usable &= ~(size_t)15u;
    if ((mem == NULL) || (usable < ((2u * HDR) + MIN_BLOCK))) {
        return;     /* end stays 0: every allocation fails */
    }
    h->end = (uint32_t)usable - HDR;
    span = h->end - HDR;
    h->max_request = (size_t)span - HDR;
    set_prev_size(h, HDR, 0u);
    set_prev_size(h, h->end, span);
    set_header(h, h->end, 0u, false);
    list_insert(h, HDR, span);
}

void *heap_alloc(heap_t *h, size_t n)
{
    uint32_t need;
    uint32_t o;
    uint32_t size;

    if ((n > h->max_request) || FAULT_HIT(FAULT_HEAP, h->name)) {
        h->fails++;
        return NULL;
    }
    need = size_for(n);
    o = find_block(h, need);
    if (o == 0u) {
        h->fails++;
        return NULL;
    }
    size = block_size(h, o);
    list_remove(h, o, size);
    if ((size - need) >= MIN_BLOCK) {
        uint32_t rest = o + need;
        set_prev_size(h, rest, need);
        set_prev_size(h, o + size, size - need);
        list_insert(h, rest, size - need);
        size = need;
    }
    set_header(h, o, size, false);
    note_used(h, size);
    h->allocs++;
    return &h->base[o + HDR];
}

void *heap_calloc(heap_t *h, size_t count, size_t size)
{
    void *p;
    if ((size != 0u) && (count > (SIZE_MAX / size))) {
        h->fails++;
        return NULL;
    }
    p = heap_alloc(h, count * size);
    if (p != NULL) {
        (void)memset(p, 0, count * size);
    }
    return p;
}

void heap_free(heap_t *h, void *p)
{
    uint32_t o;
    uint32_t size;

    if (p == NULL) {
        return;
    }
    o = live_block(h, p);
    if (o == 0u) {
        h->bad_frees++;
        ASSERT(o != 0u);
        return;
    }
    size = block_size(h, o);
    h->used -= size;
    h->frees++;
    release(h, o, size);
}

void *heap_realloc(heap_t *h, void *p, size_t n)
{
    uint32_t o;
    uint32_t size;
    uint32_t need;
    uint32_t next;
    void *q;

    if (p == NULL) {
        return heap_alloc(h, n);
    }
    if (n == 0u) {
        heap_free(h, p);
        return NULL;
    }
    o = live_block(h, p);
    if (o == 0u) {
        h->bad_frees++;
        ASSERT(o != 0u);
        return NULL;
    }
    if ((n > h->max_request) || FAULT_HIT(FAULT_HEAP, h->name)) {
        h->fails++;
        return NULL;
    }
    size = block_size(h, o);
    need = size_for(n);
    if (need <= size) {
        uint32_t kept = trim(h, o, size, need);
        h->used -= (size_t)size - kept;
        return p;
    }
    next = o + size;
    if (is_free(h, next) && ((size + block_size(h, next)) >= need)) {
        uint32_t total = size + block_size(h, next);
        uint32_t kept = total;
        list_remove(h, next, block_size(h, next));
        wr(h, next, 0u);
        wr(h, next + 4u, 0u);
        if ((total - need) >= MIN_BLOCK) {
            /* the tail's next neighbour is live: it followed a free block */
            kept = need;
            set_prev_size(h, o + need, need);
            list_insert(h, o + need, total - need);
            set_prev_size(h, o + total, total - need);
        } else {
            set_prev_size(h, o + total, total);
        }
        set_header(h, o, kept, false);
        note_used(h, kept - size);
        return p;
    }
    q = heap_alloc(h, n);
    if (q != NULL) {
        (void)memcpy(q, p, (size_t)size - HDR);
        h->used -= size;
        h->frees++;
        release(h, o, size);
    }
    return q;
}

char *heap_strdup(heap_t *h, const char *s)
{
    size_t n;
    char *d;

    ASSERT(s != NULL);
    if (s == NULL) {
        return NULL;
    }
    n = strlen(s) + 1u;
    d = (char *)heap_alloc(h, n);
    if (d != NULL) {
        (void)memcpy(d, s, n);
    }
    return d;
}

size_t heap_usable(const heap_t *h, const void *p)
{
    uint32_t o;
    if (p == NULL) {
        return 0u;
    }
    o = live_block(h, p);
    ASSERT(o != 0u);
    return (o == 0u) ? 0u : ((size_t)block_size(h, o) - HDR);
}

void heap_stats(const heap_t *h, heap_stats_t *out)
{
    size_t largest = 0u;

    (void)memset(out, 0, sizeof(*out));
    out->bytes = h->bytes;
    out->used = h->used;
    out->high = h->high;
    out->allocs = h->allocs;
    out->frees = h->frees;
    out->fails = h->fails;
    out->bad_frees = h->bad_frees;
    if (h->fl_map != 0u) {
        uint32_t fl = fls32(h->fl_map);
        uint32_t sl = fls32(h->sl_map[fl]);
        uint32_t o = h->head[fl][sl];
        /* the top class holds the largest blocks; not a hot path */
        while (o != 0u) {
            size_t s = (size_t)block_size(h, o) - HDR;
            if (s > largest) {
                largest = s;
            }
            o = link_next(h, o);
        }
    }
    out->largest_free = largest;
}

/* Every free list: nodes are free blocks of the list's class, back links
 * agree, the bitmaps match. Counts the nodes and adds up their offsets. */
static bool check_lists(const heap_t *h, uint32_t nfree, uint32_t *count, uint64_t *sum)
{
    bool ok = true;
    uint32_t fl;
    uint32_t sl;

    for (fl = 0u; fl < HEAP_FL_COUNT; fl++) {
        bool fl_bit = (h->fl_map & BIT(fl)) != 0u;
        bool fl_used = h->sl_map[fl] != 0u;
        ok = ok && (fl_bit == fl_used);
        ok = ok && ((h->sl_map[fl] >> HEAP_SL_COUNT) == 0u);
        for (sl = 0u; sl < HEAP_SL_COUNT; sl++) {
            uint32_t o = h->head[fl][sl];
            uint32_t prev = 0u;
            bool sl_bit = (h->sl_map[fl] & BIT(sl)) != 0u;
            bool sl_used = o != 0u;
            ok = ok && (sl_bit == sl_used);
            while (ok && (o != 0u)) {
                uint32_t f2 = 0u;
                uint32_t s2 = 0u;
                ok = (*count < nfree) && (o >= HDR) && (o < h->end) && ((o & 15u) == HDR) &&
                     is_free(h, o) && (link_prev(h, o) == prev);
                if (ok) {
                    mapping(block_size(h, o), &f2, &s2);
                    ok = (f2 == fl) && (s2 == sl);
                    *count += 1u;
                    *sum += o;
                    prev = o;
                    o = link_next(h, o);
                }
            }
        }
    }
    return ok;
}

bool heap_check(const heap_t *h)
{
    bool ok = true;
    bool prev_free = false;
    uint32_t o = HDR;
    uint32_t prev = 0u;
    uint32_t nfree = 0u;
    uint32_t listed = 0u;
    uint64_t sum_walk = 0u;
    uint64_t sum_lists = 0u;
    size_t used = 0u;

    if (h->end == 0u) {
        return (h->fl_map == 0u) && (h->used == 0u);
    }
    while (ok && (o < h->end)) {
        uint32_t word = rd(h, o + 4u);
        uint32_t size = word & ~FLAG_MASK;
        uint32_t flags = word & FLAG_MASK;
        ok = (prev_size(h, o) == prev) && ((flags == 0u) || (flags == FREE_BIT)) &&
             (size >= MIN_BLOCK) && (size <= (h->end - o));
        if (ok) {
            if (flags == FREE_BIT) {
                ok = !prev_free;
                nfree++;
                sum_walk += o;
                prev_free = true;
            } else {
                used += size;
                prev_free = false;
            }
            prev = size;
            o += size;
        }
    }
    ok = ok && (o == h->end) && (prev_size(h, o) == prev) && (rd(h, o + 4u) == 0u);
    ok = ok && (used == h->used) && (h->high >= h->used);
    ok = ok && check_lists(h, nfree, &listed, &sum_lists);
    return ok && (listed == nfree) && (sum_lists == sum_walk);
}
