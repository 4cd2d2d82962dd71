/*
 * Implementation notes.
 *
 * Ids: a timer id is gen * CFG_MAX_TIMERS + slot, where gen is the slot's
 * start count (modulo TIMER_GEN_SPAN). A slot is reused as soon as its timer
 * has fired or is cancelled, so a bare slot number kept by its owner would
 * cancel the next user of that slot; with the generation in the id, a stale
 * id (including a callback's own id, no longer live when it runs) cancels
 * nothing.
 *
 * Firing: the slot leaves the heap and stops being live before its callback
 * runs, but goes back on the free stack only when the callback returns
 * (g_firing), unless the callback re-armed it with timer_again, which gives
 * it a new generation and puts it on the pending list. So a periodic timer
 * never draws from the pool to re-arm, and the pool's count (g_used) is
 * always CFG_MAX_TIMERS minus the free stack.
 *
 * Structure: a binary min-heap of slot indices ordered by (due, seq), each
 * slot knowing its place in the heap, and a stack of free slots, as libuv
 * keeps its timers: start and cancel are O(log n), the next deadline is the
 * heap's top (O(1)), and a turn with nothing due costs one compare, however
 * many timers are armed.
 *
 * Order: timer_run fires due timers earliest first, equal due times in start
 * order (seq). Timers started while timer_run is running (by a callback)
 * wait on a pending list and join the heap when timer_run ends, so they wait
 * for the next timer_run, even with delay 0: a callback that re-arms itself
 * cannot keep the loop inside timer_run.
 */
#include "core/timer.h"

#include <stddef.h>
#include <stdbool.h>

#include "config.h"
#include "core/assert.h"
#include "core/clock.h"
#include "core/fault.h"
#include "core/log.h"

#define TIMER_GEN_SPAN ((uint32_t)INT32_MAX / (uint32_t)CFG_MAX_TIMERS)
#define NOWHERE UINT32_MAX

typedef struct {
    uint32_t gen;        /* bumped on every start; part of the id */
    uint32_t at;         /* index in the heap, or NOWHERE (free or pending) */
    uint64_t due_ms;
    uint64_t seq;        /* start order */
    timer_fn fn;
    void *arg;
    bool live;
    bool pending;        /* started by a callback during timer_run */
} timer_slot;

static timer_slot g_timers[CFG_MAX_TIMERS];
static uint32_t g_heap[CFG_MAX_TIMERS];      /* slot indices, heap-ordered */
static uint32_t g_free[CFG_MAX_TIMERS];      /* free slot indices */
static uint32_t g_pend[CFG_MAX_TIMERS];      /* started during timer_run */
_Static_assert((sizeof(g_timers) + sizeof(g_heap) + sizeof(g_free) + sizeof(g_pend)) <=
                   TIMER_STATIC_BYTES,
               "TIMER_STATIC_BYTES is this module's plan");
static uint32_t g_nheap;
static uint32_t g_nfree;
static uint32_t g_npend;
static uint32_t g_used;
static uint32_t g_high;
static uint64_t g_seq;
static bool g_running;
static uint32_t g_firing = NOWHERE;      /* the slot whose callback is running */

static bool earlier(uint32_t a, uint32_t b)
{
    const timer_slot *x = &g_timers[a];
    const timer_slot *y = &g_timers[b];
    return (x->due_ms < y->due_ms) || ((x->due_ms == y->due_ms) && (x->seq < y->seq));
}

static void place(uint32_t i, uint32_t slot)
{
    g_heap[i] = slot;
    g_timers[slot].at = i;
}

static void sift_up(uint32_t i)
{
    uint32_t at = i;
    uint32_t slot = g_heap[at];
    bool up = true;
    while (up && (at > 0u)) {
        uint32_t parent = (at - 1u) / 2u;
        up = earlier(slot, g_heap[parent]);
        if (up) {
            place(at, g_heap[parent]);
            at = parent;
        }
    }
    place(at, slot);
}

static void sift_down(uint32_t i)
{
    uint32_t at = i;
    uint32_t slot = g_heap[at];
    bool down = true;
    while (down) {
        uint32_t child = (2u * at) + 1u;
        if (child >= g_nheap) {
            down = false;
        } else {
            if (((child + 1u) < g_nheap) && earlier(g_heap[child + 1u], g_heap[child])) {
                child++;
            }
            down = earlier(g_heap[child], slot);
            if (down) {
                place(at, g_heap[child]);
                at = child;
            }
        }
    }
    place(at, slot);
}

static void heap_push(uint32_t slot)
{
    place(g_nheap, slot);
    g_nheap++;
    sift_up(g_nheap - 1u);
}

static void heap_remove(uint32_t i)
{
    uint32_t last;
    g_timers[g_heap[i]].at = NOWHERE;
    g_nheap--;
    if (i == g_nheap) {
        return;
    }
    last = g_heap[g_nheap];
    place(i, last);
    if ((i > 0u) && earlier(last, g_heap[(i - 1u) / 2u])) {
        sift_up(i);
    } else {
        sift_down(i);
    }
}

static void release(uint32_t slot)
{
    g_timers[slot].live = false;
    g_free[g_nfree] = slot;
    g_nfree++;
    g_used--;
}

void timer_init(void)
{
    uint32_t i;
    g_nfree = 0u;
    /* highest first on the stack: slot 0 is taken first */
    for (i = (uint32_t)CFG_MAX_TIMERS; i > 0u; i--) {
        g_timers[i - 1u].live = false;
        g_timers[i - 1u].pending = false;
        g_timers[i - 1u].at = NOWHERE;
        g_free[g_nfree] = i - 1u;
        g_nfree++;
    }
    g_nheap = 0u;
    g_npend = 0u;
    g_used = 0u;
    g_high = 0u;
    g_running = false;
    g_firing = NOWHERE;
}

/* Give slot (taken, not in the heap) a new generation and a due time, in
 * the heap or, during timer_run, on the pending list; its id. */
static timer_id arm(uint32_t slot, uint64_t delay_ms, timer_fn fn, void *arg)
{
    timer_slot *t = &g_timers[slot];
    uint64_t now = clock_mono_ms();
    t->live = true;
    t->gen = (t->gen + 1u) % TIMER_GEN_SPAN;
    /* A delay past the end of the clock means "never", not "now". */
    t->due_ms = (delay_ms > (UINT64_MAX - now)) ? UINT64_MAX : (now + delay_ms);
    t->seq = g_seq;
    g_seq++;
    t->fn = fn;
    t->arg = arg;
    if (g_running) {
        t->pending = true;
        t->at = NOWHERE;
        g_pend[g_npend] = slot;
        g_npend++;
    } else {
        heap_push(slot);
    }
    return ((int32_t)t->gen * (int32_t)CFG_MAX_TIMERS) + (int32_t)slot;
}

timer_id timer_start(uint64_t delay_ms, timer_fn fn, void *arg)
{
    uint32_t slot;
    if (FAULT_HIT(FAULT_TIMER, "timer")) {
        LOG_W("timer", "timer_start failed (injected fault)");
        return TIMER_NONE;
    }
    if (g_nfree == 0u) {
        LOG_W("timer", "all %d timers in use", (int)CFG_MAX_TIMERS);
        return TIMER_NONE;
    }
    g_nfree--;
    slot = g_free[g_nfree];
    g_used++;
    if (g_used > g_high) {
        g_high = g_used;
    }
    return arm(slot, delay_ms, fn, arg);
}

timer_id timer_again(uint64_t delay_ms)
{
    /* outside a callback, or a second time in one */
    if (NEVER((g_firing == NOWHERE) || g_timers[g_firing].live)) {
        return TIMER_NONE;
    }
    return arm(g_firing, delay_ms, g_timers[g_firing].fn, g_timers[g_firing].arg);
}

void timer_cancel(timer_id id)
{
    if (id >= 0) {
        int32_t rem = id % (int32_t)CFG_MAX_TIMERS;
        uint32_t slot = (uint32_t)rem;
        timer_slot *t = &g_timers[slot];
        int32_t gen = id / (int32_t)CFG_MAX_TIMERS;
        if (t->live && (t->gen == (uint32_t)gen)) {
            if (t->pending) {
                uint32_t i;
                for (i = 0u; i < g_npend; i++) {
                    if (g_pend[i] == slot) {
                        g_npend--;
                        g_pend[i] = g_pend[g_npend];
                        break;
                    }
                }
                t->pending = false;
            } else {
                heap_remove(t->at);
            }
            if (slot == g_firing) {
                t->live = false;     /* re-armed, then cancelled, in its own
                                      * callback: timer_run frees the slot */
            } else {
                release(slot);
            }
        }
    }
}

int timer_next_ms(int cap_ms)
{
    uint64_t now;
    uint64_t due;
    if (g_nheap == 0u) {
        return cap_ms;
    }
    due = g_timers[g_heap[0]].due_ms;
    now = clock_mono_ms();
    if (due <= now) {
        return 0;
    }
    {
        uint64_t left = due - now;
        return (left < (uint64_t)cap_ms) ? (int)left : cap_ms;
    }
}

void timer_run(void)
{
    uint64_t now = clock_mono_ms();
    uint32_t i;
    g_running = true;
    while ((g_nheap > 0u) && (g_timers[g_heap[0]].due_ms <= now)) {
        uint32_t slot = g_heap[0];
        timer_fn fn = g_timers[slot].fn;
        void *arg = g_timers[slot].arg;
        heap_remove(0u);
        g_timers[slot].live = false;     /* its id is stale from here */
        g_firing = slot;
        fn(arg);
        g_firing = NOWHERE;
        if (!g_timers[slot].live) {      /* not re-armed by timer_again */
            release(slot);
        }
    }
    g_running = false;
    for (i = 0u; i < g_npend; i++) {
        g_timers[g_pend[i]].pending = false;
        heap_push(g_pend[i]);
    }
    g_npend = 0u;
}

uint32_t timer_used(void)
{
    return g_used;
}

uint32_t timer_high(void)
{
    return g_high;
}
