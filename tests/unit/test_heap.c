/*
 * test_heap.c - the TLSF heap (src/core/heap.c).
 *
 * Directed cases (alignment, n == 0, exhaustion, coalescing on both sides,
 * realloc in place / moved / shrunk / failed, calloc overflow, strdup, stats),
 * bad frees as death tests (debug builds stop at the ASSERT; the release path
 * that counts and ignores them runs in fuzz/heap.c, built with NDEBUG), and a
 * model test: 200k random operations against a shadow table, every block
 * filled with a pattern that must survive, heap_check after every operation
 * for the first 10k and every 1000 after.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/heap.h"
#include "t.h"

#define MEM_BYTES (1024u * 1024u)

_Alignas(16) static unsigned char g_mem[MEM_BYTES];
_Alignas(16) static unsigned char g_mem2[4096];

static bool aligned16(const void *p)
{
    return ((uintptr_t)p & 15u) == 0u;
}

static size_t live_blocks(const heap_t *h)
{
    heap_stats_t st;
    heap_stats(h, &st);
    return (size_t)(st.allocs - st.frees);
}

/* ---- directed ------------------------------------------------------------ */

static void test_init_and_align(void)
{
    heap_t h;
    heap_stats_t st;
    void *p[40];
    size_t i;

    heap_init(&h, "t", g_mem, 4096u);
    T_CHECK(heap_check(&h));
    heap_stats(&h, &st);
    T_EQ_INT(st.bytes, 4096);
    T_EQ_INT(st.used, 0);
    /* one free block spanning the region minus the two 8-byte fences */
    T_EQ_INT(st.largest_free, 4096 - 16 - 8);
    for (i = 0u; i < 40u; i++) {
        size_t n = i * 3u + 1u;
        p[i] = heap_alloc(&h, n);
        T_CHECK(p[i] != NULL);
        T_CHECK(aligned16(p[i]));
        T_CHECK(heap_usable(&h, p[i]) >= n);
        /* usable sizes are 8 + a multiple of 16 */
        T_EQ_INT(heap_usable(&h, p[i]) % 16u, 8);
        T_CHECK(heap_usable(&h, p[i]) < n + 16u);
        memset(p[i], 0xA5, n);
    }
    T_CHECK(heap_check(&h));
    T_EQ_INT(heap_usable(&h, NULL), 0);
    for (i = 0u; i < 40u; i++) {
        heap_free(&h, p[i]);
    }
    heap_free(&h, NULL);
    T_CHECK(heap_check(&h));
    heap_stats(&h, &st);
    T_EQ_INT(st.used, 0);
    T_EQ_INT(st.allocs, 40);
    T_EQ_INT(st.frees, 40);
    T_EQ_INT(st.largest_free, 4096 - 16 - 8);
}

static void test_zero_size(void)
{
    heap_t h;
    void *a;
    void *b;
    heap_init(&h, "t", g_mem, 4096u);
    a = heap_alloc(&h, 0u);
    b = heap_alloc(&h, 0u);
    T_CHECK((a != NULL) && (b != NULL) && (a != b));
    T_EQ_INT(heap_usable(&h, a), 8);
    heap_free(&h, a);
    heap_free(&h, b);
    T_CHECK(heap_check(&h));
    T_EQ_INT(live_blocks(&h), 0);
}

static void test_tiny_region(void)
{
    heap_t h;
    heap_stats_t st;
    heap_init(&h, "t", g_mem, 31u);
    T_CHECK(heap_check(&h));
    T_CHECK(heap_alloc(&h, 0u) == NULL);
    T_CHECK(heap_alloc(&h, 1u) == NULL);
    heap_stats(&h, &st);
    T_EQ_INT(st.fails, 2);
    T_EQ_INT(st.largest_free, 0);
    /* the smallest working region holds one minimum block */
    heap_init(&h, "t", g_mem, 32u);
    T_CHECK(heap_alloc(&h, 9u) == NULL);
    T_CHECK(heap_alloc(&h, 8u) != NULL);
    T_CHECK(heap_alloc(&h, 1u) == NULL);
    T_CHECK(heap_check(&h));
}

static void test_exhaustion(void)
{
    heap_t h;
    heap_stats_t st;
    void *p[64];
    size_t n = 0u;
    size_t i;

    heap_init(&h, "t", g_mem, 2048u);
    while (n < 64u) {
        p[n] = heap_alloc(&h, 100u);
        if (p[n] == NULL) {
            break;
        }
        n++;
    }
    /* 2048 - 16 bytes of blocks of 112 */
    T_EQ_INT(n, (2048 - 16) / 112);
    heap_stats(&h, &st);
    T_EQ_INT(st.fails, 1);
    T_CHECK(heap_alloc(&h, SIZE_MAX) == NULL);
    T_CHECK(heap_alloc(&h, 2048u) == NULL);
    T_CHECK(heap_calloc(&h, 1u, 4000u) == NULL);
    T_CHECK(heap_strdup(&h, "this string does not fit in what is left of the region") ==
            NULL);
    heap_stats(&h, &st);
    T_EQ_INT(st.fails, 5);
    T_EQ_INT(st.used, n * 112u);
    T_CHECK(heap_check(&h));
    for (i = 0u; i < n; i++) {
        heap_free(&h, p[i]);
    }
    T_CHECK(heap_check(&h));
    /* everything merged back: one block serves the whole span again */
    p[0] = heap_alloc(&h, 2048u - 16u - 8u);
    T_CHECK(p[0] != NULL);
    T_CHECK(heap_alloc(&h, 0u) == NULL);
    heap_free(&h, p[0]);
    T_CHECK(heap_check(&h));
}

static void test_coalesce(void)
{
    heap_t h;
    heap_stats_t st;
    unsigned char *a;
    unsigned char *b;
    unsigned char *c;
    unsigned char *d;
    unsigned char *big;

    /* a, b, c of 208-byte blocks, d takes the rest: no other free block, so
     * a merged block is the only one that can serve the larger requests */
    heap_init(&h, "t", g_mem, 4096u);
    a = heap_alloc(&h, 200u);
    b = heap_alloc(&h, 200u);
    c = heap_alloc(&h, 200u);
    d = heap_alloc(&h, 4096u - 16u - (3u * 208u) - 8u);
    T_CHECK((a != NULL) && (b != NULL) && (c != NULL) && (d != NULL));
    T_CHECK((b == a + 208) && (c == b + 208) && (d == c + 208));
    heap_stats(&h, &st);
    T_EQ_INT(st.largest_free, 0);
    /* previous side: b merges back into a */
    heap_free(&h, a);
    heap_free(&h, b);
    T_CHECK(heap_check(&h));
    big = heap_alloc(&h, 208u + 200u);
    T_CHECK(big == a);
    heap_free(&h, big);
    /* next side: a merges forward into b */
    T_CHECK(heap_alloc(&h, 200u) == a);
    T_CHECK(heap_alloc(&h, 200u) == b);
    heap_free(&h, b);
    heap_free(&h, a);
    T_CHECK(heap_check(&h));
    heap_stats(&h, &st);
    T_EQ_INT(st.largest_free, 208 + 200);
    big = heap_alloc(&h, 208u + 200u);
    T_CHECK(big == a);
    heap_free(&h, big);
    /* both sides: a and c free, then b joins them into one block */
    T_CHECK(heap_alloc(&h, 200u) == a);
    T_CHECK(heap_alloc(&h, 200u) == b);
    heap_free(&h, a);
    heap_free(&h, c);
    T_CHECK(heap_check(&h));
    T_CHECK(heap_alloc(&h, 3u * 208u - 8u) == NULL);
    heap_free(&h, b);
    T_CHECK(heap_check(&h));
    big = heap_alloc(&h, 3u * 208u - 8u);
    T_CHECK(big == a);
    T_EQ_INT(heap_usable(&h, big), 3 * 208 - 8);
    /* and everything back into one block spanning the region */
    heap_free(&h, big);
    heap_free(&h, d);
    T_CHECK(heap_check(&h));
    heap_stats(&h, &st);
    T_EQ_INT(st.used, 0);
    T_EQ_INT(st.largest_free, 4096 - 16 - 8);
    T_EQ_INT(st.fails, 1);
}

static void test_realloc(void)
{
    heap_t h;
    heap_stats_t st;
    unsigned char *a;
    unsigned char *b;
    unsigned char *c;
    unsigned char *r;
    size_t i;

    heap_init(&h, "t", g_mem, 8192u);
    /* NULL: an alloc */
    a = heap_realloc(&h, NULL, 100u);
    T_CHECK(a != NULL);
    for (i = 0u; i < 100u; i++) {
        a[i] = (unsigned char)i;
    }
    b = heap_alloc(&h, 100u);
    c = heap_alloc(&h, 100u);
    T_CHECK((b == a + 112) && (c == b + 112));
    /* grow in place into a free neighbour (b), the remainder split off */
    heap_free(&h, b);
    r = heap_realloc(&h, a, 150u);
    T_CHECK(r == a);
    T_EQ_INT(heap_usable(&h, r), 152);
    T_CHECK(heap_check(&h));
    /* grow in place taking the whole neighbour (no remainder) */
    r = heap_realloc(&h, a, 210u);
    T_CHECK(r == a);
    T_EQ_INT(heap_usable(&h, r), 216);
    T_CHECK(heap_check(&h));
    for (i = 0u; i < 100u; i++) {
        T_EQ_INT(r[i], i);
    }
    /* grow with a live neighbour: moves, content kept, old block freed */
    r = heap_realloc(&h, a, 1000u);
    T_CHECK((r != NULL) && (r != a));
    for (i = 0u; i < 100u; i++) {
        T_EQ_INT(r[i], i);
    }
    T_CHECK(heap_check(&h));
    a = r;
    /* shrink in place: same pointer, the tail is reusable at once */
    r = heap_realloc(&h, a, 40u);
    T_CHECK(r == a);
    T_EQ_INT(heap_usable(&h, r), 40);
    for (i = 0u; i < 40u; i++) {
        T_EQ_INT(r[i], i);
    }
    T_CHECK(heap_check(&h));
    b = heap_alloc(&h, 900u);
    T_CHECK(b == a + 48);
    heap_free(&h, b);
    /* shrink by less than a minimum block: nothing to split */
    r = heap_realloc(&h, a, 33u);
    T_CHECK(r == a);
    T_EQ_INT(heap_usable(&h, r), 40);
    /* failure: NULL, counted, the block is untouched and still owned */
    heap_stats(&h, &st);
    r = heap_realloc(&h, a, 100000u);
    T_CHECK(r == NULL);
    r = heap_realloc(&h, a, 7900u);
    T_CHECK(r == NULL);
    {
        heap_stats_t st2;
        heap_stats(&h, &st2);
        T_EQ_INT(st2.fails, st.fails + 2u);
    }
    for (i = 0u; i < 33u; i++) {
        T_EQ_INT(a[i], i);
    }
    T_CHECK(heap_check(&h));
    /* n 0: a free, returns NULL */
    T_CHECK(heap_realloc(&h, a, 0u) == NULL);
    heap_free(&h, c);
    T_CHECK(heap_check(&h));
    heap_stats(&h, &st);
    T_EQ_INT(st.used, 0);
    T_EQ_INT(st.allocs, st.frees);
}

static void test_calloc_strdup(void)
{
    heap_t h;
    heap_stats_t st;
    unsigned char *p;
    char *s;
    size_t i;

    heap_init(&h, "t", g_mem, 8192u);
    p = heap_alloc(&h, 512u);
    memset(p, 0xEE, 512u);
    heap_free(&h, p);
    p = heap_calloc(&h, 16u, 32u);
    T_CHECK(p != NULL);
    for (i = 0u; i < 512u; i++) {
        T_EQ_INT(p[i], 0);
    }
    heap_free(&h, p);
    T_CHECK(heap_calloc(&h, SIZE_MAX / 2u + 2u, 2u) == NULL);
    T_CHECK(heap_calloc(&h, 2u, SIZE_MAX / 2u + 2u) == NULL);
    T_CHECK(heap_calloc(&h, SIZE_MAX, SIZE_MAX) == NULL);
    heap_stats(&h, &st);
    T_EQ_INT(st.fails, 3);
    p = heap_calloc(&h, 0u, 12u);
    T_CHECK(p != NULL);
    heap_free(&h, p);
    s = heap_strdup(&h, "roost");
    T_EQ_STR(s, "roost");
    T_EQ_INT(heap_usable(&h, s), 8);
    heap_free(&h, s);
    s = heap_strdup(&h, "");
    T_EQ_STR(s, "");
    heap_free(&h, s);
    T_CHECK(heap_check(&h));
    T_EQ_INT(live_blocks(&h), 0);
}

static void test_stats_high(void)
{
    heap_t h;
    heap_stats_t st;
    void *a;
    void *b;

    heap_init(&h, "t", g_mem, 8192u);
    a = heap_alloc(&h, 1000u);   /* block 1008 */
    b = heap_alloc(&h, 2000u);   /* block 2016 */
    heap_stats(&h, &st);
    T_EQ_INT(st.used, 1008 + 2016);
    T_EQ_INT(st.high, 1008 + 2016);
    heap_free(&h, b);
    b = heap_alloc(&h, 10u);     /* block 32 */
    heap_stats(&h, &st);
    T_EQ_INT(st.used, 1008 + 32);
    T_EQ_INT(st.high, 1008 + 2016);
    heap_free(&h, a);
    heap_free(&h, b);
    heap_stats(&h, &st);
    T_EQ_INT(st.used, 0);
    T_EQ_INT(st.high, 1008 + 2016);
    T_EQ_INT(st.allocs, 3);
    T_EQ_INT(st.frees, 3);
    T_EQ_INT(st.fails, 0);
    T_EQ_INT(st.bad_frees, 0);
}

/* ---- bad frees: the ASSERT stops a debug build --------------------------- */

/* Runs fn in a child; true when the child died of SIGABRT (the ASSERT). */
static bool aborts(void (*fn)(void))
{
    int status = 0;
    pid_t pid = fork();
    if (pid == 0) {
        (void)close(2);   /* the assertion message is expected */
        fn();
        _exit(0);
    }
    if ((pid < 0) || (waitpid(pid, &status, 0) != pid)) {
        return false;
    }
    return WIFSIGNALED(status) && (WTERMSIG(status) == SIGABRT);
}

static heap_t g_bh;

static unsigned char *bad_setup(void)
{
    unsigned char *p;
    heap_init(&g_bh, "t", g_mem, 4096u);
    p = heap_alloc(&g_bh, 100u);
    (void)heap_alloc(&g_bh, 100u);
    return p;
}

static void bad_double(void)
{
    unsigned char *p = bad_setup();
    heap_free(&g_bh, p);
    heap_free(&g_bh, p);
}

static void bad_double_merged(void)
{
    unsigned char *p = bad_setup();
    unsigned char *q = heap_alloc(&g_bh, 100u);
    heap_free(&g_bh, p);
    heap_free(&g_bh, q - 112);   /* merges into p's block */
    heap_free(&g_bh, q - 112);
}

static void bad_interior(void)
{
    unsigned char *p = bad_setup();
    heap_free(&g_bh, p + 16);
}

static void bad_misaligned(void)
{
    unsigned char *p = bad_setup();
    heap_free(&g_bh, p + 1);
}

static void bad_foreign(void)
{
    (void)bad_setup();
    heap_free(&g_bh, g_mem2 + 16);
}

static void bad_realloc(void)
{
    unsigned char *p = bad_setup();
    heap_free(&g_bh, p);
    (void)heap_realloc(&g_bh, p, 10u);
}

static void good_free(void)
{
    unsigned char *p = bad_setup();
    heap_free(&g_bh, p);
}

static void test_bad_free(void)
{
    T_CHECK(!aborts(good_free));
    T_CHECK(aborts(bad_double));
    T_CHECK(aborts(bad_double_merged));
    T_CHECK(aborts(bad_interior));
    T_CHECK(aborts(bad_misaligned));
    T_CHECK(aborts(bad_foreign));
    T_CHECK(aborts(bad_realloc));
}

/* ---- model: random operations against a shadow table --------------------- */

#define SLOTS 256u
#define MODEL_OPS 200000u
#define CHECK_EVERY_OP 10000u

typedef struct {
    unsigned char *p;
    size_t n;
    unsigned char tag;
} shadow;

static shadow g_sh[SLOTS];
static uint64_t g_rng = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 32);
}

/* 1..8 KiB mostly, a long tail up to 64 KiB, some tiny ones. */
static size_t rnd_size(void)
{
    uint32_t k = rnd() % 100u;
    if (k < 20u) {
        return 1u + (size_t)(rnd() % 64u);
    }
    if (k < 92u) {
        return 1u + (size_t)(rnd() % 8192u);
    }
    return 1u + (size_t)(rnd() % 65536u);
}

static void fill(const shadow *s)
{
    size_t i;
    for (i = 0u; i < s->n; i++) {
        s->p[i] = (unsigned char)((s->tag + i) | 1u);
    }
}

static bool intact(const shadow *s, size_t n)
{
    size_t i;
    for (i = 0u; i < n; i++) {
        if (s->p[i] != (unsigned char)((s->tag + i) | 1u)) {
            return false;
        }
    }
    return true;
}

/* p's usable range inside the region and clear of every other live block. */
static bool placed_ok(const heap_t *h, size_t self, const unsigned char *p, size_t n)
{
    size_t u = heap_usable(h, p);
    size_t i;
    if (!aligned16(p) || (u < n) || (p < g_mem + 16) || (p + u > g_mem + MEM_BYTES - 8)) {
        return false;
    }
    for (i = 0u; i < SLOTS; i++) {
        const shadow *s = &g_sh[i];
        if ((i != self) && (s->p != NULL)) {
            size_t su = heap_usable(h, s->p);
            if ((p < s->p + su) && (s->p < p + u)) {
                return false;
            }
        }
    }
    return true;
}

static void test_model(void)
{
    heap_t h;
    heap_stats_t st;
    uint32_t op;
    uint32_t bad = 0u;
    uint32_t nulls = 0u;
    uint32_t in_place = 0u;
    uint32_t reallocs = 0u;
    size_t i;

    memset(g_sh, 0, sizeof g_sh);
    heap_init(&h, "model", g_mem, MEM_BYTES);
    for (op = 0u; op < MODEL_OPS; op++) {
        size_t k = (size_t)(rnd() % SLOTS);
        shadow *s = &g_sh[k];
        uint32_t what = rnd() % 10u;
        if (s->p == NULL) {
            size_t n = rnd_size();
            unsigned char *p;
            if (what == 0u) {
                p = heap_calloc(&h, 1u, n);
                if ((p != NULL) && (p[0] != 0u || p[n - 1u] != 0u)) {
                    bad++;
                }
            } else if (what == 1u) {
                p = heap_realloc(&h, NULL, n);
            } else {
                p = heap_alloc(&h, n);
            }
            if (p == NULL) {
                nulls++;
            } else {
                if (!placed_ok(&h, k, p, n)) {
                    bad++;
                }
                s->p = p;
                s->n = n;
                s->tag = (unsigned char)rnd();
                fill(s);
            }
        } else if (what < 5u) {
            if (!intact(s, s->n)) {
                bad++;
            }
            heap_free(&h, s->p);
            s->p = NULL;
        } else {
            size_t n = rnd_size();
            unsigned char *p;
            if (what == 9u) {
                n = s->n + 1u + (size_t)(rnd() % 256u);   /* small growth, often in place */
            }
            reallocs++;
            p = heap_realloc(&h, s->p, n);
            if (p == NULL) {
                nulls++;
                if (!intact(s, s->n) || (heap_usable(&h, s->p) < s->n)) {
                    bad++;
                }
            } else {
                if (p == s->p) {
                    in_place++;
                }
                s->p = p;
                if (!intact(s, (n < s->n) ? n : s->n) || !placed_ok(&h, k, p, n)) {
                    bad++;
                }
                s->n = n;
                fill(s);
            }
        }
        if ((op < CHECK_EVERY_OP) || ((op % 1000u) == 0u)) {
            size_t live = 0u;
            size_t used = 0u;
            if (!heap_check(&h)) {
                bad++;
            }
            for (i = 0u; i < SLOTS; i++) {
                if (g_sh[i].p != NULL) {
                    live++;
                    used += heap_usable(&h, g_sh[i].p) + 8u;
                    if ((op % 1000u == 0u) && !intact(&g_sh[i], g_sh[i].n)) {
                        bad++;
                    }
                }
            }
            heap_stats(&h, &st);
            if ((live != (size_t)(st.allocs - st.frees)) || (used != st.used)) {
                bad++;
            }
        }
        if (bad != 0u) {
            break;
        }
    }
    T_EQ_INT(bad, 0);
    T_EQ_INT(op, MODEL_OPS);
    /* the region is small enough for exhaustion to happen, and not dominate */
    T_CHECK(nulls > 100u);
    T_CHECK(nulls < MODEL_OPS / 10u);
    T_CHECK(in_place > reallocs / 20u);
    heap_stats(&h, &st);
    T_EQ_INT(st.fails, nulls);
    T_EQ_INT(st.bad_frees, 0);
    T_CHECK(st.high > MEM_BYTES / 2u);
    for (i = 0u; i < SLOTS; i++) {
        if (g_sh[i].p != NULL) {
            T_CHECK(intact(&g_sh[i], g_sh[i].n));
            heap_free(&h, g_sh[i].p);
            g_sh[i].p = NULL;
        }
    }
    T_CHECK(heap_check(&h));
    heap_stats(&h, &st);
    T_EQ_INT(st.used, 0);
    T_EQ_INT(st.allocs, st.frees);
    T_EQ_INT(st.largest_free, MEM_BYTES - 16u - 8u);
}

int main(void)
{
    T_RUN(test_init_and_align);
    T_RUN(test_zero_size);
    T_RUN(test_tiny_region);
    T_RUN(test_exhaustion);
    T_RUN(test_coalesce);
    T_RUN(test_realloc);
    T_RUN(test_calloc_strdup);
    T_RUN(test_stats_high);
    T_RUN(test_bad_free);
    T_RUN(test_model);
    return t_done("heap");
}
