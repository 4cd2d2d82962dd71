/*
 * fuzz/heap.c - libFuzzer target for the TLSF heap (src/core/heap.c).
 *
 * The heap is compiled into this file with NDEBUG, so bad frees take the
 * release path (counted, ignored) instead of stopping at the ASSERT;
 * heap_check and the shadow table below are the oracle. Nothing else needs
 * linking (FUZZ_SRC_heap may stay at the common core).
 *
 * Input: byte 0 picks the region size (31 bytes .. 256 KiB, some not a
 * multiple of 16); then 4-byte operations [op, slot, a, b]:
 *   alloc / realloc(NULL) / calloc (sometimes with an overflowing count) /
 *   strdup / free / realloc (grow, shrink, to 0) of one of SLOTS slots,
 *   and bad frees and reallocs: a stale pointer, a pointer inside a live
 *   block, a misaligned or foreign one.
 * After every operation: heap_check; allocs - frees equals the live slots;
 * used equals their blocks; fails and bad_frees grew exactly when an
 * operation answered NULL or was given a bad pointer; a new block is 16-byte
 * aligned, inside the region and overlaps no live block; the bytes of the
 * touched block (and of every block at the end) still hold their pattern.
 * Patterns are odd bytes, so the caller's data can never look like a live
 * header (whose low nibble is 0): every bad pointer must be rejected.
 */
#define NDEBUG 1

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/heap.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_IN 16384u
#define FUZZ_MEM (256u * 1024u)
#define SLOTS 64u
#define GRAVE 32u
#define PAT_HEAD 32u

#define CHECK(c)                                                                 \
    do {                                                                         \
        if (!(c)) {                                                              \
            fprintf(stderr, "fuzz/heap.c:%d: check failed: %s\n", __LINE__, #c); \
            abort();                                                             \
        }                                                                        \
    } while (0)

typedef struct {
    unsigned char *p;
    size_t n;
    unsigned char tag;
} slot;

_Alignas(16) static unsigned char g_mem[FUZZ_MEM];
_Alignas(16) static unsigned char g_foreign[64];
static heap_t g_h;
static slot g_s[SLOTS];
static unsigned char *g_grave[GRAVE];   /* pointers freed earlier */
static size_t g_ngrave;
static char g_str[4096];

static const size_t k_regions[8] = { 31u, 32u, 100u, 1024u, 4000u, 16384u, 65536u,
                                     FUZZ_MEM };

static size_t fuzz_size(uint8_t a, uint8_t b)
{
    size_t v = ((size_t)a << 8) | b;
    switch (a >> 6) {
    case 0:
        return v & 0x3Fu;            /* 0..63 */
    case 1:
        return v & 0x3FFu;           /* 0..1023 */
    case 2:
        return v & 0x1FFFu;          /* 0..8191 */
    default:
        return (v & 0x3FFFu) << 2;   /* 0..64K */
    }
}

/* Pattern byte i of a block tagged tag: a varying head, then one value
 * (checked with an overlapping memcmp, fast under ASan). Always odd. */
static unsigned char pat(unsigned char tag, size_t i)
{
    return (unsigned char)(((i < PAT_HEAD) ? (tag + i) : tag) | 1u);
}

static void fill(slot *s)
{
    size_t h = (s->n < PAT_HEAD) ? s->n : PAT_HEAD;
    size_t i;
    for (i = 0u; i < h; i++) {
        s->p[i] = pat(s->tag, i);
    }
    if (s->n > h) {
        memset(s->p + h, pat(s->tag, h), s->n - h);
    }
}

static bool intact(const slot *s, size_t n)
{
    size_t h = (n < PAT_HEAD) ? n : PAT_HEAD;
    size_t i;
    for (i = 0u; i < h; i++) {
        if (s->p[i] != pat(s->tag, i)) {
            return false;
        }
    }
    if (n > h) {
        if (s->p[h] != pat(s->tag, h)) {
            return false;
        }
        if ((n > h + 1u) && (memcmp(s->p + h, s->p + h + 1u, n - h - 1u) != 0)) {
            return false;
        }
    }
    return true;
}

static bool is_live(const unsigned char *p)
{
    size_t i;
    for (i = 0u; i < SLOTS; i++) {
        if (g_s[i].p == p) {
            return true;
        }
    }
    return false;
}

static void bury(unsigned char *p)
{
    g_grave[g_ngrave % GRAVE] = p;
    g_ngrave++;
}

/* A new block: aligned, inside the region, overlapping no live block. */
static void placed(size_t self, const unsigned char *p, size_t n, size_t region)
{
    size_t u = heap_usable(&g_h, p);
    size_t i;
    CHECK(((uintptr_t)p & 15u) == 0u);
    CHECK(u >= n);
    CHECK((u & 15u) == 8u);
    CHECK((p >= g_mem + 16) && (p + u <= g_mem + region - 8));
    for (i = 0u; i < SLOTS; i++) {
        const slot *s = &g_s[i];
        if ((i != self) && (s->p != NULL)) {
            size_t su = heap_usable(&g_h, s->p);
            CHECK((p + u <= s->p) || (s->p + su <= p));
        }
    }
}

static void consistent(uint64_t fails, uint64_t bad)
{
    heap_stats_t st;
    size_t live = 0u;
    size_t used = 0u;
    size_t i;
    CHECK(heap_check(&g_h));
    for (i = 0u; i < SLOTS; i++) {
        if (g_s[i].p != NULL) {
            live++;
            used += heap_usable(&g_h, g_s[i].p) + 8u;
        }
    }
    heap_stats(&g_h, &st);
    CHECK(st.allocs - st.frees == live);
    CHECK(st.used == used);
    CHECK(st.high >= st.used);
    CHECK(st.fails == fails);
    CHECK(st.bad_frees == bad);
    CHECK(st.used + st.largest_free + 24u <= st.bytes || st.largest_free == 0u);
}

/* A pointer that is not a live block of g_h, chosen by b. NULL if none. */
static unsigned char *pick_bad(uint8_t a, uint8_t b)
{
    const slot *s = &g_s[a % SLOTS];
    switch (b & 3u) {
    case 0:
        if (g_ngrave > 0u) {
            return g_grave[(size_t)a % ((g_ngrave < GRAVE) ? g_ngrave : GRAVE)];
        }
        return NULL;
    case 1:
        /* inside a live block, its would-be header in the filled bytes */
        if ((s->p != NULL) && (s->n >= 16u)) {
            size_t k = 1u + ((size_t)(b >> 2) % (s->n / 16u));
            return s->p + (16u * k);
        }
        return NULL;
    case 2:
        return (s->p != NULL) ? (s->p + 1u + (b >> 4)) : (g_mem + 8);
    default:
        return g_foreign + (16u * (b >> 7));
    }
}

static unsigned char *bad_pointer(uint8_t a, uint8_t b)
{
    unsigned char *p = pick_bad(a, b);
    return ((p != NULL) && is_live(p)) ? NULL : p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t region;
    size_t i;
    uint64_t fails = 0u;
    uint64_t bad = 0u;

    if ((size < 1u) || (size > FUZZ_MAX_IN)) {
        return 0;
    }
    region = k_regions[data[0] & 7u];
    memset(g_mem, 0, region);   /* the same start for every input (replay = fuzz) */
    heap_init(&g_h, "fuzz", g_mem, region);
    memset(g_s, 0, sizeof g_s);
    g_ngrave = 0u;
    consistent(0u, 0u);
    for (i = 1u; i + 4u <= size; i += 4u) {
        uint8_t op = data[i];
        size_t k = data[i + 1u] % SLOTS;
        uint8_t a = data[i + 2u];
        uint8_t b = data[i + 3u];
        slot *s = &g_s[k];
        size_t n = fuzz_size(a, b);
        unsigned char *p;

        switch (op % 10u) {
        case 0:
        case 1:
        case 2:
            if (s->p == NULL) {
                p = (op % 10u == 2u) ? heap_realloc(&g_h, NULL, n) : heap_alloc(&g_h, n);
                if (p == NULL) {
                    fails++;
                } else {
                    placed(k, p, n, region);
                    s->p = p;
                    s->n = n;
                    s->tag = b;
                    fill(s);
                }
            }
            break;
        case 3:
            if (s->p == NULL) {
                size_t each = (op >= 200u) ? (n | 2u) : (size_t)b;
                size_t count = (op >= 200u) ? ((SIZE_MAX / each) + 1u) : (size_t)(a & 15u);
                p = heap_calloc(&g_h, count, each);
                if (p == NULL) {
                    fails++;
                } else {
                    size_t j;
                    CHECK(op < 200u);
                    placed(k, p, count * each, region);
                    for (j = 0u; j < count * each; j++) {
                        CHECK(p[j] == 0u);
                    }
                    s->p = p;
                    s->n = count * each;
                    s->tag = a;
                    fill(s);
                }
            }
            break;
        case 4:
            if (s->p == NULL) {
                size_t len = n % sizeof g_str;
                size_t j;
                for (j = 0u; j < len; j++) {
                    g_str[j] = (char)pat(a, j);
                }
                g_str[len] = '\0';
                p = (unsigned char *)heap_strdup(&g_h, g_str);
                if (p == NULL) {
                    fails++;
                } else {
                    placed(k, p, len + 1u, region);
                    CHECK(memcmp(p, g_str, len + 1u) == 0);
                    s->p = p;
                    s->n = len;   /* the NUL is not part of the pattern */
                    s->tag = a;
                    CHECK(intact(s, len));
                }
            }
            break;
        case 5:
        case 6:
            if (s->p != NULL) {
                CHECK(intact(s, s->n));
                heap_free(&g_h, s->p);
                bury(s->p);
                s->p = NULL;
            } else {
                heap_free(&g_h, NULL);
            }
            break;
        case 7:
        case 8:
            if (s->p != NULL) {
                size_t old = s->n;
                unsigned char *was = s->p;
                CHECK(intact(s, s->n));
                if (op % 10u == 8u) {
                    n = old + (n & 255u);   /* small growth: in place when it can */
                }
                if (n == 0u) {
                    CHECK(heap_realloc(&g_h, s->p, 0u) == NULL);   /* a free */
                    bury(s->p);
                    s->p = NULL;
                    break;
                }
                p = heap_realloc(&g_h, s->p, n);
                if (p == NULL) {
                    fails++;
                    CHECK(intact(s, old) && (heap_usable(&g_h, s->p) >= old));
                } else {
                    s->p = p;
                    CHECK(intact(s, (n < old) ? n : old));
                    if (p != was) {
                        bury(was);
                    }
                    placed(k, p, n, region);
                    s->n = n;
                    fill(s);
                }
            }
            break;
        default:
            p = bad_pointer(a, b);
            if (p != NULL) {
                if ((op & 1u) != 0u) {
                    heap_free(&g_h, p);
                } else {
                    CHECK(heap_realloc(&g_h, p, n) == NULL);
                }
                CHECK(heap_usable(&g_h, p) == 0u);
                bad++;
            }
            break;
        }
        consistent(fails, bad);
        if (s->p != NULL) {
            CHECK(intact(s, s->n));
        }
    }
    for (i = 0u; i < SLOTS; i++) {
        if (g_s[i].p != NULL) {
            CHECK(intact(&g_s[i], g_s[i].n));
            heap_free(&g_h, g_s[i].p);
            g_s[i].p = NULL;
        }
    }
    consistent(fails, bad);
    {
        heap_stats_t st;
        heap_stats(&g_h, &st);
        CHECK(st.used == 0u);
        CHECK(st.largest_free == ((region >= 32u) ? ((region & ~(size_t)15u) - 24u) : 0u));
    }
    return 0;
}
