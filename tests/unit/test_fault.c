/*
 * test_fault.c - core/fault: the Nth allocation of a pool, a heap or the
 * timers fails (once, or from then on), counted as the allocator counts a
 * real failure; name filters; disarm and suspend. Unit tests are debug
 * builds, so CFG_FAULT is 1.
 */
#include <stdint.h>
#include <string.h>

#include "config.h"
#include "core/fault.h"
#include "core/heap.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/timer.h"
#include "tests/unit/t.h"

typedef struct {
    int v;
} fobj;

static fobj g_store[4];
static uint32_t g_free[4];
static _Alignas(16) unsigned char g_region[4096];

static void nop(void *arg)
{
    (void)arg;
}

static void test_pool_nth(void)
{
    pool_t p;
    pool_init(&p, "fobj", g_store, sizeof(fobj), 4u, g_free);
    T_EQ_INT(fault_arm(FAULT_POOL, "fobj", 2u, false), ST_OK);
    T_CHECK(pool_get(&p) != NULL);
    T_CHECK(pool_get(&p) == NULL);       /* the 2nd */
    T_EQ_INT(p.fails, 1);
    T_EQ_INT(fault_fired(), 1);
    T_CHECK(pool_get(&p) != NULL);       /* one-shot: spent */
    T_EQ_INT(p.used, 2);
    fault_disarm();
}

static void test_pool_after_and_names(void)
{
    pool_t p;
    pool_init(&p, "fobj", g_store, sizeof(fobj), 4u, g_free);
    T_EQ_INT(fault_arm(FAULT_POOL, "other", 1u, true), ST_OK);
    T_CHECK(pool_get(&p) != NULL);       /* another pool's name: no match */
    T_EQ_INT(fault_arm(FAULT_POOL, "", 2u, true), ST_OK);
    T_CHECK(pool_get(&p) != NULL);
    T_CHECK(pool_get(&p) == NULL);
    T_CHECK(pool_get(&p) == NULL);       /* and every later one */
    T_EQ_INT(fault_fired(), 2);
    fault_suspend(true);
    T_CHECK(pool_get(&p) != NULL);       /* suspended: not counted */
    fault_suspend(false);
    T_CHECK(pool_get(&p) == NULL);
    fault_disarm();
    T_CHECK(pool_get(&p) != NULL);
    T_EQ_INT(p.used, 4);
}

static void test_heap_and_timer(void)
{
    heap_t h;
    heap_stats_t s;
    void *a;
    timer_id t;
    heap_init(&h, "fh", g_region, sizeof g_region);
    T_EQ_INT(fault_arm(FAULT_HEAP, "fh", 1u, false), ST_OK);
    T_CHECK(heap_alloc(&h, 10u) == NULL);
    a = heap_alloc(&h, 10u);
    T_CHECK(a != NULL);
    T_EQ_INT(fault_arm(FAULT_HEAP, NULL, 1u, false), ST_OK);
    T_CHECK(heap_realloc(&h, a, 200u) == NULL);   /* a is still the caller's */
    heap_free(&h, a);
    heap_stats(&h, &s);
    T_EQ_INT(s.fails, 2);
    T_EQ_INT(s.used, 0);
    timer_init();
    log_set_level(LOG_ERROR);
    T_EQ_INT(fault_arm(FAULT_TIMER, "", 1u, false), ST_OK);
    T_EQ_INT(timer_start(0u, nop, NULL), TIMER_NONE);
    log_set_level(LOG_INFO);
    t = timer_start(0u, nop, NULL);
    T_CHECK(t != TIMER_NONE);
    timer_cancel(t);
    fault_disarm();
}

static void test_arm_rejects(void)
{
    fault_kind k = FAULT_POOL;
    T_EQ_INT(fault_arm(FAULT_POOL, "", 0u, false), ST_INVAL);
    T_EQ_INT(fault_arm(FAULT_KINDS, "", 1u, false), ST_INVAL);
    T_EQ_INT(fault_arm(FAULT_POOL, "a-name-that-is-longer-than-31-bytes", 1u, false), ST_INVAL);
    T_CHECK(fault_kind_from("sqlite", 6u, &k) && (k == FAULT_SQLITE));
    T_CHECK(!fault_kind_from("os", 2u, &k));
}

int main(void)
{
    T_RUN(test_pool_nth);
    T_RUN(test_pool_after_and_names);
    T_RUN(test_heap_and_timer);
    T_RUN(test_arm_rejects);
    return t_done("fault");
}
