/*
 * test_core.c - pool, arena, timer, clock, strv, status, uuid, sha256.
 *
 * Built with tests/unit/tiny_config.h: CFG_MAX_TIMERS is 12, so the timer
 * exhaustion path runs every time. Timers use the real monotonic clock; the
 * waits below are a few milliseconds of busy-waiting.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "core/arena.h"
#include "core/clock.h"
#include "core/fault.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/sha256.h"
#include "core/status.h"
#include "core/strv.h"
#include "core/timer.h"
#include "port.h"
#include "core/uuid.h"
#include "t.h"

/* ---- pool --------------------------------------------------------------- */

typedef struct {
    uint64_t a;
    char name[13];
} pobj;

#define POBJ_COUNT 3u
static pobj g_pstore[POBJ_COUNT];
static uint32_t g_pfree[POBJ_COUNT];

static void test_pool_exhaust(void)
{
    pool_t p;
    pobj *o[POBJ_COUNT];
    uint32_t i;
    pool_init(&p, "pobj", g_pstore, sizeof(pobj), POBJ_COUNT, g_pfree);
    T_EQ_INT(p.used, 0);
    T_EQ_INT(p.high, 0);
    T_EQ_INT(p.fails, 0);
    for (i = 0u; i < POBJ_COUNT; i++) {
        o[i] = pool_get(&p);
        T_CHECK(o[i] != NULL);
        /* Low indices are handed out first. */
        T_CHECK(o[i] == &g_pstore[i]);
        T_EQ_INT(pool_index(&p, o[i]), i);
    }
    T_EQ_INT(p.used, POBJ_COUNT);
    T_EQ_INT(p.high, POBJ_COUNT);
    T_CHECK(pool_get(&p) == NULL);
    T_CHECK(pool_get(&p) == NULL);
    T_EQ_INT(p.fails, 2);
    T_EQ_INT(p.used, POBJ_COUNT);
    pool_put(&p, o[1]);
    T_EQ_INT(p.used, POBJ_COUNT - 1u);
    T_EQ_INT(p.high, POBJ_COUNT);
    pool_put(&p, o[0]);
    pool_put(&p, o[2]);
    T_EQ_INT(p.used, 0);
    T_EQ_INT(p.high, POBJ_COUNT);   /* high-water mark stays */
    T_EQ_INT(p.fails, 2);
}

static void test_pool_reuse_zeroed(void)
{
    pool_t p;
    pobj *a;
    pobj *b;
    pobj *c;
    pool_init(&p, "pobj", g_pstore, sizeof(pobj), POBJ_COUNT, g_pfree);
    memset(g_pstore, 0xa5, sizeof g_pstore);   /* storage starts dirty */
    a = pool_get(&p);
    T_CHECK(a != NULL);
    T_EQ_INT(a->a, 0);
    T_EQ_INT(a->name[0], 0);
    T_EQ_INT(a->name[12], 0);
    a->a = 42u;
    memset(a->name, 'x', sizeof a->name);
    b = pool_get(&p);
    T_CHECK((b != NULL) && (b != a));
    pool_put(&p, a);
    /* The last one put back is the next one out, and it comes back zeroed. */
    c = pool_get(&p);
    T_CHECK(c == a);
    T_EQ_INT(c->a, 0);
    T_EQ_INT(c->name[5], 0);
    /* b was not touched by the reuse of a. */
    T_EQ_INT(p.used, 2);
    T_EQ_INT(p.high, 2);
}

static void test_pool_index_at(void)
{
    pool_t p;
    uint32_t i;
    pool_init(&p, "pobj", g_pstore, sizeof(pobj), POBJ_COUNT, g_pfree);
    for (i = 0u; i < POBJ_COUNT; i++) {
        void *o = pool_at(&p, i);
        T_CHECK(o == (void *)&g_pstore[i]);
        T_EQ_INT(pool_index(&p, o), i);
    }
}

static void test_pool_registry(void)
{
    static pool_t p1;
    static pool_t p2;
    size_t before = pool_registered();
    pool_init(&p1, "one", g_pstore, sizeof(pobj), POBJ_COUNT, g_pfree);
    pool_init(&p2, "two", g_pstore, sizeof(pobj), POBJ_COUNT, g_pfree);
    pool_register(&p1);
    pool_register(&p2);
    T_EQ_INT(pool_registered(), before + 2u);
    T_CHECK(pool_nth(before) == &p1);
    T_CHECK(pool_nth(before + 1u) == &p2);
    T_EQ_STR(pool_nth(before + 1u)->name, "two");
    T_CHECK(pool_nth(before + 2u) == NULL);
    T_CHECK(pool_nth((size_t)-1) == NULL);
}

/* ---- arena -------------------------------------------------------------- */

static _Alignas(16) unsigned char g_astore[64];

static size_t addr_mod(const void *p, size_t align)
{
    return (size_t)((uintptr_t)p % (uintptr_t)align);
}

static void test_arena_align(void)
{
    arena_t a;
    unsigned char *p1;
    unsigned char *p2;
    unsigned char *p8;
    unsigned char *p16;
    memset(g_astore, 0xee, sizeof g_astore);
    arena_init(&a, "t", g_astore, sizeof g_astore);
    p1 = arena_alloc(&a, 1u, 1u);
    T_CHECK(p1 == &g_astore[0]);
    T_EQ_INT(p1[0], 0);                  /* memory comes back zeroed */
    p2 = arena_alloc(&a, 3u, 2u);
    T_CHECK(p2 == &g_astore[2]);
    T_EQ_INT(addr_mod(p2, 2u), 0);
    p8 = arena_alloc(&a, 1u, 8u);
    T_CHECK(p8 == &g_astore[8]);
    T_EQ_INT(addr_mod(p8, 8u), 0);
    p16 = arena_alloc(&a, 5u, 16u);
    T_CHECK(p16 == &g_astore[16]);
    T_EQ_INT(addr_mod(p16, 16u), 0);
    T_EQ_INT(p16[4], 0);
    T_EQ_INT(g_astore[21], 0xee);        /* nothing past the allocation touched */
    T_EQ_INT(a.used, 21);
    T_EQ_INT(a.fails, 0);
}

static void test_arena_misaligned_base(void)
{
    arena_t a;
    void *p;
    /* Alignment is of the address, not of the offset into the arena. */
    arena_init(&a, "t", &g_astore[1], sizeof g_astore - 1u);
    p = arena_alloc(&a, 4u, 16u);
    T_CHECK(p == (void *)&g_astore[16]);
    T_EQ_INT(a.used, 19);
    p = arena_alloc(&a, 1u, 1u);
    T_CHECK(p == (void *)&g_astore[20]);
}

static void test_arena_exhaust(void)
{
    arena_t a;
    arena_init(&a, "t", g_astore, 32u);
    T_CHECK(arena_alloc(&a, 33u, 1u) == NULL);
    T_EQ_INT(a.fails, 1);
    T_EQ_INT(a.used, 0);
    T_CHECK(arena_alloc(&a, 31u, 1u) == &g_astore[0]);
    /* One byte left, but an aligned byte would need padding past the end. */
    T_CHECK(arena_alloc(&a, 1u, 8u) == NULL);
    T_EQ_INT(a.fails, 2);
    T_CHECK(arena_alloc(&a, 2u, 1u) == NULL);
    T_EQ_INT(a.fails, 3);
    T_CHECK(arena_alloc(&a, 1u, 1u) == &g_astore[31]);
    T_EQ_INT(a.used, 32);
    T_CHECK(arena_alloc(&a, 1u, 1u) == NULL);
    T_CHECK(arena_alloc(&a, (size_t)-1, 1u) == NULL);   /* no wrap-around */
    T_EQ_INT(a.fails, 5);
    T_EQ_INT(a.used, 32);
}

static void test_arena_seal(void)
{
    arena_t a;
    arena_init(&a, "t", g_astore, sizeof g_astore);
    T_CHECK(arena_alloc(&a, 8u, 8u) != NULL);
    arena_seal(&a);
    T_CHECK(arena_alloc(&a, 1u, 1u) == NULL);
    T_CHECK(arena_alloc(&a, 0u, 1u) == NULL);
    T_EQ_INT(a.fails, 2);
    T_EQ_INT(a.used, 8);
}

/* ---- timer -------------------------------------------------------------- */

static char g_fired[16];
static size_t g_nfired;

static void wait_ms(uint64_t ms)
{
    uint64_t until = clock_mono_ms() + ms;
    while (clock_mono_ms() < until) {
        /* busy-wait: a few milliseconds at most */
    }
}

static void record(void *arg)
{
    if (g_nfired < (sizeof g_fired - 1u)) {
        g_fired[g_nfired] = *(const char *)arg;
        g_nfired++;
        g_fired[g_nfired] = '\0';
    }
}

static void fired_reset(void)
{
    g_nfired = 0u;
    g_fired[0] = '\0';
}

/* The timers against a model, through thousands of random starts, cancels
 * and runs, with the clock moved by whole seconds through the port (a jump,
 * as the operations table makes one): every run fires exactly the timers
 * due and started before it, earliest first, equal deadlines in start
 * order; callbacks cancel a timer and start new ones (which wait for the
 * next run). */
typedef struct {
    timer_id id;
    uint64_t due_tick;
    uint64_t seq;
    bool live;
} model_timer;

static model_timer g_model[64];
static size_t g_nmodel;
static uint64_t g_tick;
static uint64_t g_mseq;
static uint32_t g_rng = 12345u;
static uint64_t g_limit;          /* started before this run: seq < g_limit */
static uint64_t g_last_tick;      /* (due, seq) of the last timer fired this run */
static uint64_t g_last_seq;
static size_t g_nfired_run;
static bool g_in_run;

static uint32_t rnd(uint32_t n)
{
    g_rng = (g_rng * 1103515245u) + 12345u;
    return (g_rng >> 8) % n;
}

static void model_fire(void *arg);

static void model_start(uint32_t d)
{
    timer_id id = timer_start((uint64_t)d * 1000u, model_fire, (void *)(uintptr_t)g_mseq);
    if (id == TIMER_NONE) {
        T_EQ_INT(timer_used(), CFG_MAX_TIMERS);
        return;
    }
    T_CHECK(g_nmodel < (sizeof g_model / sizeof g_model[0]));
    g_model[g_nmodel].id = id;
    g_model[g_nmodel].due_tick = g_tick + d;
    g_model[g_nmodel].seq = g_mseq;
    g_model[g_nmodel].live = true;
    g_mseq++;
    g_nmodel++;
}

static model_timer *model_live(size_t k)
{
    size_t i;
    for (i = 0u; i < g_nmodel; i++) {
        if (g_model[i].live) {
            if (k == 0u) {
                return &g_model[i];
            }
            k--;
        }
    }
    return NULL;
}

static size_t model_count(void)
{
    size_t n = 0u;
    size_t i;
    for (i = 0u; i < g_nmodel; i++) {
        n += g_model[i].live ? 1u : 0u;
    }
    return n;
}

static void model_cancel_one(void)
{
    size_t n = model_count();
    if (n > 0u) {
        model_timer *m = model_live(rnd((uint32_t)n));
        timer_cancel(m->id);
        m->live = false;
    }
}

static void model_fire(void *arg)
{
    uint64_t seq = (uint64_t)(uintptr_t)arg;
    model_timer *m = NULL;
    size_t i;
    for (i = 0u; i < g_nmodel; i++) {
        if (g_model[i].seq == seq) {
            m = &g_model[i];
        }
    }
    /* a live timer, due, started before this run, in (due, seq) order */
    T_CHECK(g_in_run && (m != NULL) && m->live);
    if (m != NULL) {
        T_CHECK(m->due_tick <= g_tick);
        T_CHECK(m->seq < g_limit);
        T_CHECK((g_nfired_run == 0u) || (m->due_tick > g_last_tick) ||
                ((m->due_tick == g_last_tick) && (m->seq > g_last_seq)));
        g_last_tick = m->due_tick;
        g_last_seq = m->seq;
        m->live = false;
    }
    g_nfired_run++;
    if (rnd(4u) == 0u) {
        model_cancel_one();
    }
    if (rnd(3u) == 0u) {
        model_start(rnd(3u));
    }
}

static void test_timer_heap_matches_a_model(void)
{
    int round;
    timer_init();
    g_nmodel = 0u;
    g_tick = 0u;
    for (round = 0; round < 400; round++) {
        uint32_t op = rnd(10u);
        if (op < 5u) {
            model_start(rnd(6u));
        } else if (op < 7u) {
            model_cancel_one();
        } else {
            /* a second passes (a jump of the port's clock), then a run */
            size_t i;
            g_limit = g_mseq;
            T_EQ_INT(port_fault_arm("clock_mono", 1u, false, "+1000"), ST_OK);
            g_tick++;
            g_nfired_run = 0u;
            g_in_run = true;
            timer_run();
            g_in_run = false;
            port_fault_disarm();
            /* nothing due and started before the run is left: each fired or
             * was cancelled by a callback */
            for (i = 0u; i < g_nmodel; i++) {
                T_CHECK(!(g_model[i].live && (g_model[i].due_tick <= g_tick) &&
                          (g_model[i].seq < g_limit)));
            }
        }
        T_EQ_INT(timer_used(), model_count());
        {
            /* the next deadline is the earliest live one */
            uint64_t best = UINT64_MAX;
            size_t i;
            int next = timer_next_ms(1000000);
            for (i = 0u; i < g_nmodel; i++) {
                if (g_model[i].live && (g_model[i].due_tick < best)) {
                    best = g_model[i].due_tick;
                }
            }
            if (best == UINT64_MAX) {
                T_EQ_INT(next, 1000000);
            } else if (best <= g_tick) {
                T_EQ_INT(next, 0);
            } else {
                T_CHECK((next > (int)((best - g_tick) * 1000u) - 900) &&
                        (next <= (int)((best - g_tick) * 1000u)));
            }
        }
        if (g_nmodel > 48u) {   /* compact: drop the dead */
            size_t i;
            size_t k = 0u;
            for (i = 0u; i < g_nmodel; i++) {
                if (g_model[i].live) {
                    g_model[k] = g_model[i];
                    k++;
                }
            }
            g_nmodel = k;
        }
    }
    while (model_count() > 0u) {
        model_cancel_one();
    }
    T_EQ_INT(timer_used(), 0);
}

static void test_timer_start_cancel_run(void)
{
    static const char a = 'a';
    static const char b = 'b';
    static const char c = 'c';
    timer_id ta;
    timer_id tb;
    timer_id tc;
    timer_init();
    fired_reset();
    ta = timer_start(5u, record, (void *)(uintptr_t)&a);
    tb = timer_start(0u, record, (void *)(uintptr_t)&b);
    tc = timer_start(0u, record, (void *)(uintptr_t)&c);
    T_CHECK((ta != TIMER_NONE) && (tb != TIMER_NONE) && (tc != TIMER_NONE));
    T_CHECK((ta != tb) && (tb != tc) && (ta != tc));
    T_EQ_INT(timer_used(), 3);
    timer_cancel(tc);
    timer_cancel(tc);                    /* twice is harmless */
    T_EQ_INT(timer_used(), 2);
    timer_run();
    T_EQ_STR(g_fired, "b");              /* a is not due yet, c was cancelled */
    T_EQ_INT(timer_used(), 1);
    timer_run();
    T_EQ_STR(g_fired, "b");              /* nothing fires twice */
    wait_ms(6u);
    timer_run();
    T_EQ_STR(g_fired, "ba");
    T_EQ_INT(timer_used(), 0);
    T_EQ_INT(timer_high(), 3);
    timer_cancel(ta);                    /* already fired: no-op */
    timer_cancel(TIMER_NONE);
    timer_cancel(INT32_MAX);
    T_EQ_INT(timer_used(), 0);
}

static void test_timer_due_order(void)
{
    static const char a = 'a';
    static const char b = 'b';
    static const char c = 'c';
    timer_init();
    fired_reset();
    /* Started a, b, c; due c, b, a. One run fires them earliest first. */
    (void)timer_start(4u, record, (void *)(uintptr_t)&a);
    (void)timer_start(2u, record, (void *)(uintptr_t)&b);
    (void)timer_start(0u, record, (void *)(uintptr_t)&c);
    wait_ms(5u);
    timer_run();
    T_EQ_STR(g_fired, "cba");
    /* Equal due times fire in start order. */
    fired_reset();
    (void)timer_start(0u, record, (void *)(uintptr_t)&b);
    (void)timer_start(0u, record, (void *)(uintptr_t)&a);
    timer_run();
    T_EQ_STR(g_fired, "ba");
}

static void test_timer_exhaust(void)
{
    static const char x = 'x';
    timer_id ids[CFG_MAX_TIMERS];
    size_t i;
    size_t j;
    timer_init();
    fired_reset();
    log_set_level(LOG_ERROR);            /* the "all timers in use" warning */
    for (i = 0u; i < (size_t)CFG_MAX_TIMERS; i++) {
        ids[i] = timer_start(1000u, record, (void *)(uintptr_t)&x);
        T_CHECK(ids[i] != TIMER_NONE);
        for (j = 0u; j < i; j++) {
            T_CHECK(ids[i] != ids[j]);
        }
    }
    T_EQ_INT(timer_used(), CFG_MAX_TIMERS);
    T_EQ_INT(timer_start(0u, record, (void *)(uintptr_t)&x), TIMER_NONE);
    T_EQ_INT(timer_used(), CFG_MAX_TIMERS);
    T_EQ_INT(timer_high(), CFG_MAX_TIMERS);
    timer_cancel(ids[1]);
    T_CHECK(timer_start(1000u, record, (void *)(uintptr_t)&x) != TIMER_NONE);
    T_EQ_INT(timer_start(1000u, record, (void *)(uintptr_t)&x), TIMER_NONE);
    log_set_level(LOG_INFO);
    timer_init();
    T_EQ_INT(timer_used(), 0);
    T_EQ_INT(timer_high(), 0);
    T_EQ_STR(g_fired, "");
}

static void test_timer_next_ms(void)
{
    static const char x = 'x';
    int left;
    timer_id t;
    timer_init();
    fired_reset();
    T_EQ_INT(timer_next_ms(250), 250);   /* no timers: the cap */
    T_EQ_INT(timer_next_ms(0), 0);
    t = timer_start(1000u, record, (void *)(uintptr_t)&x);
    T_EQ_INT(timer_next_ms(50), 50);     /* capped */
    left = timer_next_ms(5000);
    T_CHECK((left > 950) && (left <= 1000));
    (void)timer_start(0u, record, (void *)(uintptr_t)&x);
    T_EQ_INT(timer_next_ms(5000), 0);    /* one is due */
    timer_run();
    T_EQ_STR(g_fired, "x");
    left = timer_next_ms(5000);
    T_CHECK((left > 950) && (left <= 1000));
    timer_cancel(t);
    T_EQ_INT(timer_next_ms(77), 77);
    /* A delay that would wrap the clock means "never", not "now". */
    t = timer_start(UINT64_MAX, record, (void *)(uintptr_t)&x);
    T_CHECK(t != TIMER_NONE);
    timer_run();
    T_EQ_STR(g_fired, "x");
    T_EQ_INT(timer_next_ms(100), 100);
    timer_cancel(t);
}

static timer_id g_chain_id;
static timer_id g_chain_id2;
static timer_id g_self_id;

static void chain_cb(void *arg)
{
    static const char n = 'n';
    static const char m = 'm';
    record(arg);
    /* The first reuses this timer's slot, the second takes a higher one. */
    g_chain_id = timer_start(0u, record, (void *)(uintptr_t)&n);
    g_chain_id2 = timer_start(0u, record, (void *)(uintptr_t)&m);
}

static void test_timer_callback_starts_timer(void)
{
    static const char f = 'f';
    timer_init();
    fired_reset();
    g_chain_id = TIMER_NONE;
    (void)timer_start(0u, chain_cb, (void *)(uintptr_t)&f);
    timer_run();
    /* A timer started by a callback waits for the next run, even at delay 0,
     * so a callback that re-arms itself cannot spin inside timer_run. */
    T_EQ_STR(g_fired, "f");
    T_CHECK((g_chain_id != TIMER_NONE) && (g_chain_id2 != TIMER_NONE));
    T_EQ_INT(timer_used(), 2);
    T_EQ_INT(timer_next_ms(1000), 0);
    timer_run();
    T_EQ_STR(g_fired, "fnm");
    T_EQ_INT(timer_used(), 0);
}

static void self_cancel_cb(void *arg)
{
    static const char n = 'n';
    record(arg);
    /* Start a new timer (it may reuse this timer's slot), then cancel the
     * id that just fired: the header says that id is already free, so the
     * cancel must not hit the new timer. */
    g_chain_id = timer_start(0u, record, (void *)(uintptr_t)&n);
    timer_cancel(g_self_id);
}

static void test_timer_stale_id(void)
{
    static const char s = 's';
    static const char o = 'o';
    timer_id old;
    timer_id fresh;
    timer_init();
    fired_reset();
    g_self_id = timer_start(0u, self_cancel_cb, (void *)(uintptr_t)&s);
    timer_run();
    T_EQ_STR(g_fired, "s");
    T_CHECK(g_chain_id != g_self_id);
    T_EQ_INT(timer_used(), 1);
    timer_run();
    T_EQ_STR(g_fired, "sn");
    /* A stale id kept by its owner after the timer fired does not cancel
     * the next user of the same slot. */
    fired_reset();
    old = timer_start(0u, record, (void *)(uintptr_t)&o);
    timer_run();
    fresh = timer_start(0u, record, (void *)(uintptr_t)&s);
    T_CHECK(fresh != old);
    timer_cancel(old);
    T_EQ_INT(timer_used(), 1);
    timer_run();
    T_EQ_STR(g_fired, "os");
}

/* A periodic timer re-arms itself with timer_again: in its own slot, so
 * with every other slot taken and every timer_start refused by an injected
 * fault it still fires round after round, its new id is not its old one,
 * and a stale cancel of the old id leaves it armed. */
static timer_id g_periodic;
static int g_periodic_left;
static timer_id g_periodic_old;

static void periodic_cb(void *arg)
{
    record(arg);
    g_periodic_old = g_periodic;
    g_periodic_left--;
    g_periodic = (g_periodic_left > 0) ? timer_again(0u) : TIMER_NONE;
    timer_cancel(g_periodic_old);        /* stale: no effect */
}

static void again_then_cancel_cb(void *arg)
{
    record(arg);
    timer_cancel(timer_again(1000u));    /* re-armed, then cancelled */
}

static void test_timer_again(void)
{
    static const char p = 'p';
    static const char c = 'c';
    static const char x = 'x';
    size_t i;
    timer_init();
    fired_reset();
    g_periodic_left = 3;
    g_periodic = timer_start(0u, periodic_cb, (void *)(uintptr_t)&p);
    for (i = 1u; i < (size_t)CFG_MAX_TIMERS; i++) {
        T_CHECK(timer_start(100000u, record, (void *)(uintptr_t)&x) != TIMER_NONE);
    }
    T_EQ_INT(timer_used(), CFG_MAX_TIMERS);
    log_set_level(LOG_ERROR);
    T_EQ_INT(fault_arm(FAULT_TIMER, "", 1u, true), ST_OK);
    T_EQ_INT(timer_start(0u, record, (void *)(uintptr_t)&x), TIMER_NONE);
    for (i = 0u; i < 3u; i++) {
        timer_run();
        T_EQ_INT(timer_used(), (i < 2u) ? CFG_MAX_TIMERS : (CFG_MAX_TIMERS - 1));
    }
    T_EQ_STR(g_fired, "ppp");
    T_CHECK(g_periodic == TIMER_NONE);
    fault_disarm();
    log_set_level(LOG_INFO);
    /* re-armed and cancelled inside its callback: the slot is freed once */
    timer_init();
    fired_reset();
    (void)timer_start(0u, again_then_cancel_cb, (void *)(uintptr_t)&c);
    timer_run();
    T_EQ_INT(timer_used(), 0);
    T_EQ_INT(timer_next_ms(50), 50);
    for (i = 0u; i < (size_t)CFG_MAX_TIMERS; i++) {
        T_CHECK(timer_start(100000u, record, (void *)(uintptr_t)&x) != TIMER_NONE);
    }
    log_set_level(LOG_ERROR);
    T_EQ_INT(timer_start(0u, record, (void *)(uintptr_t)&x), TIMER_NONE);
    log_set_level(LOG_INFO);
    T_EQ_STR(g_fired, "c");
    timer_init();
}

/* ---- clock -------------------------------------------------------------- */

static void check_civil(uint64_t us, int y, int mo, int d, int h, int mi, int s, uint32_t usec)
{
    clock_civil c;
    memset(&c, 0xff, sizeof c);
    clock_to_civil(us, &c);
    T_EQ_INT(c.year, y);
    T_EQ_INT(c.month, mo);
    T_EQ_INT(c.day, d);
    T_EQ_INT(c.hour, h);
    T_EQ_INT(c.min, mi);
    T_EQ_INT(c.sec, s);
    T_EQ_INT(c.usec, usec);
}

static void test_clock_civil(void)
{
    check_civil(0u, 1970, 1, 1, 0, 0, 0, 0u);
    check_civil(951825600000005u, 2000, 2, 29, 12, 0, 0, 5u);
    check_civil(1771076232123456u, 2026, 2, 14, 13, 37, 12, 123456u);
    check_civil(946684799999999u, 1999, 12, 31, 23, 59, 59, 999999u);
    check_civil(1735689599999999u, 2024, 12, 31, 23, 59, 59, 999999u);   /* day 366 */
    check_civil(1735689600000000u, 2025, 1, 1, 0, 0, 0, 0u);
    check_civil(4107542399000000u, 2100, 2, 28, 23, 59, 59, 0u);
    check_civil(4107542400000000u, 2100, 3, 1, 0, 0, 0, 0u);              /* no Feb 29 */
    check_civil(2147483648000000u, 2038, 1, 19, 3, 14, 8, 0u);            /* past int32 s */
}

static void check_fmt(uint64_t us, clock_fmt fmt, const char *want)
{
    char buf[64];
    size_t n;
    memset(buf, 'z', sizeof buf);
    n = clock_format(us, fmt, buf, sizeof buf);
    T_EQ_INT(n, strlen(want));
    T_EQ_STR(buf, want);
}

static void test_clock_format(void)
{
    const uint64_t t = 1771076232123456u;   /* 2026-02-14T13:37:12.123456Z */
    check_fmt(t, CLOCK_FMT_Z6, "2026-02-14T13:37:12.123456Z");
    check_fmt(t, CLOCK_FMT_OFF6, "2026-02-14T13:37:12.123456+00:00");
    check_fmt(t, CLOCK_FMT_Z3, "2026-02-14T13:37:12.123Z");
    check_fmt(t, CLOCK_FMT_NAIVE6, "2026-02-14T13:37:12.123456");
    check_fmt(t, CLOCK_FMT_HTTP, "Sat, 14 Feb 2026 13:37:12 GMT");
    check_fmt(0u, CLOCK_FMT_Z6, "1970-01-01T00:00:00.000000Z");
    check_fmt(0u, CLOCK_FMT_HTTP, "Thu, 01 Jan 1970 00:00:00 GMT");
    check_fmt(951825600000005u, CLOCK_FMT_Z6, "2000-02-29T12:00:00.000005Z");
    check_fmt(951825600000005u, CLOCK_FMT_Z3, "2000-02-29T12:00:00.000Z");
    check_fmt(951825600000005u, CLOCK_FMT_HTTP, "Tue, 29 Feb 2000 12:00:00 GMT");
    check_fmt(1735689599999999u, CLOCK_FMT_Z3, "2024-12-31T23:59:59.999Z");   /* truncated */
    check_fmt(1735689599999999u, CLOCK_FMT_HTTP, "Tue, 31 Dec 2024 23:59:59 GMT");
    check_fmt(4107542399000000u, CLOCK_FMT_HTTP, "Sun, 28 Feb 2100 23:59:59 GMT");
    check_fmt(4107542400000000u, CLOCK_FMT_HTTP, "Mon, 01 Mar 2100 00:00:00 GMT");
    check_fmt(4107542400000000u, CLOCK_FMT_NAIVE6, "2100-03-01T00:00:00.000000");
    /* Python's isoformat(): no fraction when the microseconds are 0. */
    check_fmt(t, CLOCK_FMT_ISO, "2026-02-14T13:37:12.123456");
    check_fmt(4107542400000000u, CLOCK_FMT_ISO, "2100-03-01T00:00:00");
    check_fmt(951825600000005u, CLOCK_FMT_ISO, "2000-02-29T12:00:00.000005");
    check_fmt(0u, CLOCK_FMT_ISO, "1970-01-01T00:00:00");
}

static void test_clock_format_cap(void)
{
    const uint64_t t = 1771076232123456u;
    char buf[40];
    /* Each format needs its length plus the NUL. */
    T_EQ_INT(clock_format(t, CLOCK_FMT_Z6, buf, 0u), 0);
    T_EQ_INT(clock_format(t, CLOCK_FMT_Z6, buf, 27u), 0);
    T_EQ_INT(clock_format(t, CLOCK_FMT_Z6, buf, 28u), 27);
    T_EQ_INT(clock_format(t, CLOCK_FMT_OFF6, buf, 32u), 0);
    T_EQ_INT(clock_format(t, CLOCK_FMT_OFF6, buf, 33u), 32);
    T_EQ_INT(clock_format(t, CLOCK_FMT_Z3, buf, 24u), 0);
    T_EQ_INT(clock_format(t, CLOCK_FMT_Z3, buf, 25u), 24);
    T_EQ_INT(clock_format(t, CLOCK_FMT_NAIVE6, buf, 26u), 0);
    T_EQ_INT(clock_format(t, CLOCK_FMT_NAIVE6, buf, 27u), 26);
    T_EQ_INT(clock_format(t, CLOCK_FMT_ISO, buf, 26u), 0);
    T_EQ_INT(clock_format(t, CLOCK_FMT_ISO, buf, 27u), 26);
    T_EQ_INT(clock_format(0u, CLOCK_FMT_ISO, buf, 19u), 0);
    T_EQ_INT(clock_format(0u, CLOCK_FMT_ISO, buf, 20u), 19);
    T_EQ_INT(clock_format(t, CLOCK_FMT_HTTP, buf, 29u), 0);
    T_EQ_INT(clock_format(t, CLOCK_FMT_HTTP, buf, 30u), 29);
    T_EQ_INT(clock_format(t, CLOCK_FMT_HTTP, buf, 1u), 0);
}

static void test_clock_now(void)
{
    uint64_t m1 = clock_mono_us();
    uint64_t m2 = clock_mono_us();
    uint64_t w = clock_wall_us();
    T_CHECK(m2 >= m1);
    T_CHECK(clock_mono_ms() >= (m2 / 1000u));
    T_CHECK(w > 1704067200000000u);           /* after 2024-01-01 */
}

/* ---- strv --------------------------------------------------------------- */

static strv sv(const char *s)
{
    return strv_from_cstr(s);
}

static void test_strv_eq(void)
{
    const char buf[] = "HelloHELLO";
    strv a = { buf, 5u };
    strv b = { buf + 5, 5u };
    T_CHECK(strv_eq(sv("abc"), STRV_LIT("abc")));
    T_CHECK(!strv_eq(sv("abc"), sv("abd")));
    T_CHECK(!strv_eq(sv("abc"), sv("ab")));
    T_CHECK(strv_eq(STRV_NULL, sv("")));
    T_CHECK(strv_eq(STRV_NULL, STRV_NULL));
    T_CHECK(strv_eq_cstr(a, "Hello"));
    T_CHECK(!strv_eq_cstr(a, "hello"));
    T_CHECK(strv_eq_cstr(STRV_NULL, ""));
    T_CHECK(strv_ieq(a, b));
    T_CHECK(strv_ieq_cstr(b, "hello"));
    T_CHECK(strv_ieq_cstr(sv("Content-Length"), "content-length"));
    T_CHECK(!strv_ieq_cstr(sv("Content-Length"), "content-lengt"));
    T_CHECK(!strv_ieq_cstr(sv("a"), "b"));
    /* Only ASCII letters fold: '@' (0x40) and '`' (0x60) differ by 0x20 too. */
    T_CHECK(!strv_ieq_cstr(sv("@"), "`"));
    T_CHECK(!strv_ieq_cstr(sv("["), "{"));
    T_CHECK(strv_ieq(STRV_NULL, sv("")));
    T_EQ_INT(strv_from_cstr(NULL).n, 0);
}

static void test_strv_trim_prefix(void)
{
    strv t = strv_trim(sv(" \t a b \t "));
    T_EQ_MEM(t.p, t.n, "a b");
    t = strv_trim(sv(" \t "));
    T_EQ_INT(t.n, 0);
    t = strv_trim(sv(""));
    T_EQ_INT(t.n, 0);
    t = strv_trim(sv("x"));
    T_EQ_MEM(t.p, t.n, "x");
    t = strv_trim(sv("\r\nx\n"));         /* only SP and HTAB are trimmed */
    T_EQ_MEM(t.p, t.n, "\r\nx\n");
    T_CHECK(strv_starts_with_cstr(sv("/api/v1/bots"), "/api/"));
    T_CHECK(strv_starts_with_cstr(sv("/api/"), "/api/"));
    T_CHECK(!strv_starts_with_cstr(sv("/api"), "/api/"));
    T_CHECK(!strv_starts_with_cstr(sv("/API/x"), "/api/"));
    T_CHECK(strv_starts_with_cstr(sv("abc"), ""));
    T_CHECK(strv_starts_with_cstr(STRV_NULL, ""));
    T_CHECK(!strv_starts_with_cstr(STRV_NULL, "a"));
}

static void test_strv_to_u64(void)
{
    uint64_t v = 7u;
    T_CHECK(strv_to_u64(sv("0"), UINT64_MAX, &v) && (v == 0u));
    T_CHECK(strv_to_u64(sv("007"), UINT64_MAX, &v) && (v == 7u));
    T_CHECK(strv_to_u64(sv("12345"), UINT64_MAX, &v) && (v == 12345u));
    T_CHECK(strv_to_u64(sv("18446744073709551615"), UINT64_MAX, &v) && (v == UINT64_MAX));
    T_CHECK(!strv_to_u64(sv("18446744073709551616"), UINT64_MAX, &v));     /* MAX + 1 */
    T_CHECK(!strv_to_u64(sv("18446744073709551620"), UINT64_MAX, &v));
    T_CHECK(!strv_to_u64(sv("99999999999999999999"), UINT64_MAX, &v));
    T_CHECK(!strv_to_u64(sv("184467440737095516150"), UINT64_MAX, &v));
    T_CHECK(strv_to_u64(sv("100"), 100u, &v) && (v == 100u));
    T_CHECK(!strv_to_u64(sv("101"), 100u, &v));
    T_CHECK(!strv_to_u64(sv("1000"), 100u, &v));
    T_CHECK(strv_to_u64(sv("65535"), 65535u, &v) && (v == 65535u));
    T_CHECK(!strv_to_u64(sv("65536"), 65535u, &v));
    /* A single digit above a small max. */
    T_CHECK(strv_to_u64(sv("5"), 5u, &v) && (v == 5u));
    T_CHECK(!strv_to_u64(sv("7"), 5u, &v));
    T_CHECK(!strv_to_u64(sv("1"), 0u, &v));
    T_CHECK(strv_to_u64(sv("0"), 0u, &v) && (v == 0u));
    T_CHECK(!strv_to_u64(sv("19"), 15u, &v));
    T_CHECK(strv_to_u64(sv("15"), 15u, &v) && (v == 15u));
    v = 99u;
    T_CHECK(!strv_to_u64(sv(""), UINT64_MAX, &v));
    T_CHECK(!strv_to_u64(STRV_NULL, UINT64_MAX, &v));
    T_CHECK(!strv_to_u64(sv("12a"), UINT64_MAX, &v));
    T_CHECK(!strv_to_u64(sv("a12"), UINT64_MAX, &v));
    T_CHECK(!strv_to_u64(sv("-1"), UINT64_MAX, &v));
    T_CHECK(!strv_to_u64(sv("+1"), UINT64_MAX, &v));
    T_CHECK(!strv_to_u64(sv(" 1"), UINT64_MAX, &v));
    T_CHECK(!strv_to_u64(sv("1 "), UINT64_MAX, &v));
    T_CHECK(!strv_to_u64(sv("1.0"), UINT64_MAX, &v));
    T_CHECK(!strv_to_u64(sv("0x10"), UINT64_MAX, &v));
    T_EQ_INT(v, 99);                     /* untouched on failure */
}

static void test_strv_list_has_token(void)
{
    T_CHECK(strv_list_has_token(sv("keep-alive, Upgrade"), "upgrade"));
    T_CHECK(strv_list_has_token(sv("keep-alive, Upgrade"), "keep-alive"));
    T_CHECK(!strv_list_has_token(sv("keep-alive, Upgrade"), "close"));
    T_CHECK(strv_list_has_token(sv("CLOSE"), "close"));
    T_CHECK(strv_list_has_token(sv(" \tclose\t "), "close"));
    T_CHECK(strv_list_has_token(sv("a,,b"), "b"));
    T_CHECK(strv_list_has_token(sv("a,b,"), "b"));
    T_CHECK(!strv_list_has_token(sv("closed"), "close"));
    T_CHECK(!strv_list_has_token(sv("xclose"), "close"));
    T_CHECK(!strv_list_has_token(sv("close-x, y"), "close"));
    T_CHECK(!strv_list_has_token(sv("clo se"), "close"));
    T_CHECK(!strv_list_has_token(sv(""), "close"));
    T_CHECK(!strv_list_has_token(STRV_NULL, "close"));
}

/* ---- status ------------------------------------------------------------- */

static void test_status_str(void)
{
    T_EQ_STR(status_str(ST_OK), "ok");
    T_EQ_STR(status_str(ST_FULL), "buffer full");
    T_EQ_STR(status_str(ST_NOTFOUND), "not found");
    T_EQ_STR(status_str(ST_INTERNAL), "internal error");
    T_EQ_STR(status_str((st_t)5), "unknown status");
    T_EQ_STR(status_str((st_t)-1000), "unknown status");
    T_CHECK(ST_OK == 0);
    T_CHECK(ST_AGAIN < 0);
    T_CHECK(ST_INTERNAL < 0);
}

/* ---- uuid --------------------------------------------------------------- */

static int hex_nibble(char c)
{
    if ((c >= '0') && (c <= '9')) {
        return c - '0';
    }
    if ((c >= 'a') && (c <= 'f')) {
        return (c - 'a') + 10;
    }
    return -1;
}

/* 36 chars, lowercase hex, hyphens at 8, 13, 18, 23, version, RFC variant. */
static bool uuid_shape_ok(const char *u, int version)
{
    size_t i;
    bool ok = (strlen(u) == 36u);
    for (i = 0u; ok && (i < 36u); i++) {
        if ((i == 8u) || (i == 13u) || (i == 18u) || (i == 23u)) {
            ok = (u[i] == '-');
        } else {
            ok = (hex_nibble(u[i]) >= 0);
        }
    }
    if (ok) {
        ok = (hex_nibble(u[14]) == version) && ((hex_nibble(u[19]) & 0xc) == 0x8);
    }
    return ok;
}

static uint64_t uuid_v7_ms(const char *u)
{
    uint64_t ms = 0u;
    size_t i;
    for (i = 0u; i < 13u; i++) {
        if (i != 8u) {
            ms = (ms << 4) | (uint64_t)hex_nibble(u[i]);
        }
    }
    return ms;
}

static void test_uuid_format(void)
{
    static const uint8_t b[16] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
                                   0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10 };
    char out[UUID_STR_BYTES];
    memset(out, 'z', sizeof out);
    uuid_format(b, out);
    T_EQ_STR(out, "01234567-89ab-cdef-fedc-ba9876543210");
}

static void test_uuid_v4(void)
{
    char a[UUID_STR_BYTES];
    char b[UUID_STR_BYTES];
    int i;
    for (i = 0; i < 200; i++) {
        T_EQ_INT(uuid_v4(a), ST_OK);
        T_CHECK(uuid_shape_ok(a, 4));
    }
    T_EQ_INT(uuid_v4(b), ST_OK);
    T_CHECK(strcmp(a, b) != 0);
}

static void test_uuid_v7(void)
{
    char prev[UUID_STR_BYTES];
    char cur[UUID_STR_BYTES];
    uint64_t before = clock_wall_us() / 1000u;
    uint64_t after;
    int i;
    int bad_shape = 0;
    int not_increasing = 0;
    T_EQ_INT(uuid_v7(prev), ST_OK);
    T_CHECK(uuid_shape_ok(prev, 7));
    for (i = 0; i < 10000; i++) {
        T_EQ_INT(uuid_v7(cur), ST_OK);
        if (!uuid_shape_ok(cur, 7)) {
            bad_shape++;
        }
        if (strcmp(prev, cur) >= 0) {
            not_increasing++;
        }
        memcpy(prev, cur, sizeof cur);
    }
    after = clock_wall_us() / 1000u;
    T_EQ_INT(bad_shape, 0);
    T_EQ_INT(not_increasing, 0);
    /* The timestamp is the wall clock in ms (a counter wrap may borrow a few
     * milliseconds ahead). */
    T_CHECK(uuid_v7_ms(prev) >= before);
    T_CHECK(uuid_v7_ms(prev) <= (after + 100u));
}

/* ---- sha256 (FIPS 180-4 vectors; lengths around the padding boundary) ----
 * Every check runs on both paths: the portable C (sha256_force_portable(true))
 * and what CPUID allows (false: the x86 SHA extensions where the CPU has
 * them; elsewhere the portable C again, and test_sha256_paths says so). */

static void sha256_vectors(void)
{
    static const struct {
        size_t n;
        const char *hex;
    } xs[] = {
        { 55u, "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072" },
        { 56u, "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e" },
        { 63u, "75220b47218278e656f2013bb8f0c455a25eaf01e86c64924e9d48d89776d6f2" },
        { 64u, "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c" },
        { 119u, "000b48d4edf0fa7bee3c6236ecd2785baa5db4eeb8bb54341b029e0d9fa5fb0c" },
    };
    static char xbuf[128];
    char hex[SHA256_HEX_BYTES];
    size_t i;
    sha256_hex("", 0u, hex);
    T_EQ_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha256_hex("abc", 3u, hex);
    T_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* FIPS 180-2 appendix B.2 (448 bits) and the 896-bit message */
    sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56u, hex);
    T_EQ_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
               "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
               112u, hex);
    T_EQ_STR(hex, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    memset(xbuf, 'x', sizeof xbuf);
    for (i = 0u; i < (sizeof xs / sizeof xs[0]); i++) {
        sha256_hex(xbuf, xs[i].n, hex);
        T_EQ_STR(hex, xs[i].hex);
    }
}

static void sha256_incremental(void)
{
    /* a million 'a' in uneven pieces */
    static char chunk[1000];
    sha256_ctx c;
    uint8_t d[SHA256_BYTES];
    char hex[SHA256_HEX_BYTES];
    size_t left = 1000000u;
    size_t step = 1u;
    memset(chunk, 'a', sizeof chunk);
    sha256_init(&c);
    while (left > 0u) {
        size_t n = (step < left) ? step : left;
        sha256_update(&c, chunk, n);
        left -= n;
        step = (step % (sizeof(chunk) - 13u)) + 13u;   /* 13..999 */
    }
    sha256_final(&c, d);
    sha256_to_hex(d, hex);
    T_EQ_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_sha256_vectors(void)
{
    sha256_force_portable(true);
    T_CHECK(!sha256_accelerated());
    sha256_vectors();
    sha256_incremental();
    sha256_force_portable(false);
    sha256_vectors();
    sha256_incremental();
}

static uint32_t g_sha_rng = 0x9e3779b9u;

static uint32_t sha_rand(void)
{
    g_sha_rng ^= g_sha_rng << 13;
    g_sha_rng ^= g_sha_rng >> 17;
    g_sha_rng ^= g_sha_rng << 5;
    return g_sha_rng;
}

#define SHA_DATA_BYTES 5000u
static uint8_t g_sha_data[SHA_DATA_BYTES];

static void sha256_of(bool portable, const uint8_t *p, size_t n, uint8_t out[SHA256_BYTES])
{
    sha256_ctx c;
    sha256_force_portable(portable);
    sha256_init(&c);
    sha256_update(&c, p, n);
    sha256_final(&c, out);
}

static void test_sha256_paths(void)
{
    uint8_t want[SHA256_BYTES];
    uint8_t got[SHA256_BYTES];
    size_t n;
    unsigned trial;
    unsigned bad = 0u;
    for (n = 0u; n < SHA_DATA_BYTES; n++) {
        g_sha_data[n] = (uint8_t)sha_rand();
    }
    sha256_force_portable(false);
    if (!sha256_accelerated()) {
        (void)fprintf(stderr, "test_sha256_paths: no accelerated SHA-256 on this CPU or "
                              "build; the portable C is compared with itself\n");
    }
    /* every length 0..1000, each from an offset that moves (alignment) */
    for (n = 0u; n <= 1000u; n++) {
        const uint8_t *p = g_sha_data + (n % 61u);
        sha256_of(true, p, n, want);
        sha256_of(false, p, n, got);
        if (memcmp(want, got, sizeof want) != 0) {
            bad++;
        }
    }
    T_EQ_INT(bad, 0);
    /* random splits of random lengths; the path may change between updates
     * (both keep the state in the same form) */
    for (trial = 0u; trial < 300u; trial++) {
        size_t len = (size_t)(sha_rand() % SHA_DATA_BYTES);
        size_t off = 0u;
        bool mixed = (trial % 3u) == 2u;
        sha256_ctx c;
        sha256_of(true, g_sha_data, len, want);
        sha256_force_portable(false);
        sha256_init(&c);
        while (off < len) {
            /* pieces of 0..300 bytes, now and then a long run of blocks */
            size_t take = (size_t)(sha_rand() % 301u);
            if ((sha_rand() % 8u) == 0u) {
                take = (size_t)(sha_rand() % 2000u);
            }
            if (take > (len - off)) {
                take = len - off;
            }
            if (mixed) {
                sha256_force_portable((sha_rand() % 2u) == 0u);
            }
            sha256_update(&c, g_sha_data + off, take);
            off += take;
        }
        sha256_final(&c, got);
        if (memcmp(want, got, sizeof want) != 0) {
            bad++;
        }
    }
    T_EQ_INT(bad, 0);
    sha256_force_portable(false);
}

int main(void)
{
    T_RUN(test_sha256_vectors);
    T_RUN(test_sha256_paths);
    T_RUN(test_pool_exhaust);
    T_RUN(test_pool_reuse_zeroed);
    T_RUN(test_pool_index_at);
    T_RUN(test_pool_registry);
    T_RUN(test_arena_align);
    T_RUN(test_arena_misaligned_base);
    T_RUN(test_arena_exhaust);
    T_RUN(test_arena_seal);
    T_RUN(test_timer_start_cancel_run);
    T_RUN(test_timer_due_order);
    T_RUN(test_timer_exhaust);
    T_RUN(test_timer_next_ms);
    T_RUN(test_timer_callback_starts_timer);
    T_RUN(test_timer_stale_id);
    T_RUN(test_timer_again);
    T_RUN(test_timer_heap_matches_a_model);
    T_RUN(test_clock_civil);
    T_RUN(test_clock_format);
    T_RUN(test_clock_format_cap);
    T_RUN(test_clock_now);
    T_RUN(test_strv_eq);
    T_RUN(test_strv_trim_prefix);
    T_RUN(test_strv_to_u64);
    T_RUN(test_strv_list_has_token);
    T_RUN(test_status_str);
    T_RUN(test_uuid_format);
    T_RUN(test_uuid_v4);
    T_RUN(test_uuid_v7);
    return t_done("core");
}
