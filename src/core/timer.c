/*
 * Implementation notes.
 *
 * Ids: a timer id is gen * CFG_MAX_TIMERS + slot, where gen is the slot's
 * start count (modulo TIMER_GEN_SPAN). A slot is reused as soon as its timer
 * fires or is cancelled, so a bare slot number kept by its owner would cancel
 * the next user of that slot; with the generation in the id, a stale id
 * (including a callback's own id, free when it runs) cancels nothing.
 *
 * Order: timer_run fires due timers earliest first, equal due times in start
 * order (seq). Timers started while timer_run is running (by a callback)
 * wait for the next timer_run, even with delay 0: a callback that re-arms
 * itself cannot keep the loop inside timer_run. The scan is O(n^2) in
 * CFG_MAX_TIMERS per run, which is small and fixed.
 */
#include "core/timer.h"

#include <stddef.h>
#include <stdbool.h>

#include "config.h"
#include "core/clock.h"
#include "core/fault.h"
#include "core/log.h"

#define TIMER_GEN_SPAN ((uint32_t)INT32_MAX / (uint32_t)CFG_MAX_TIMERS)

typedef struct {
    bool live;
    uint32_t gen;        /* bumped on every start; part of the id */
    uint64_t due_ms;
    uint64_t seq;        /* start order */
    timer_fn fn;
    void *arg;
} timer_slot;

static timer_slot g_timers[CFG_MAX_TIMERS];
_Static_assert(sizeof g_timers <= TIMER_STATIC_BYTES, "TIMER_STATIC_BYTES is this module's plan");
static uint32_t g_used;
static uint32_t g_high;
static uint64_t g_seq;

void timer_init(void)
{
    static bool s_again;   /* the first time the slots are as loaded: none live */
    if (s_again) {
        size_t i;
        for (i = 0u; i < (size_t)CFG_MAX_TIMERS; i++) {
            g_timers[i].live = false;
        }
    }
    s_again = true;
    g_used = 0u;
    g_high = 0u;
}

timer_id timer_start(uint64_t delay_ms, timer_fn fn, void *arg)
{
    int32_t i;
    if (FAULT_HIT(FAULT_TIMER, "timer")) {
        LOG_W("timer", "timer_start failed (injected fault)");
        return TIMER_NONE;
    }
    for (i = 0; i < (int32_t)CFG_MAX_TIMERS; i++) {
        timer_slot *t = &g_timers[i];
        if (!t->live) {
            uint64_t now = clock_mono_ms();
            t->live = true;
            t->gen = (t->gen + 1u) % TIMER_GEN_SPAN;
            /* A delay past the end of the clock means "never", not "now". */
            t->due_ms = (delay_ms > (UINT64_MAX - now)) ? UINT64_MAX : (now + delay_ms);
            t->seq = g_seq;
            g_seq++;
            t->fn = fn;
            t->arg = arg;
            g_used++;
            if (g_used > g_high) {
                g_high = g_used;
            }
            return ((int32_t)t->gen * (int32_t)CFG_MAX_TIMERS) + i;
        }
    }
    LOG_W("timer", "all %d timers in use", (int)CFG_MAX_TIMERS);
    return TIMER_NONE;
}

void timer_cancel(timer_id id)
{
    if (id >= 0) {
        timer_slot *t = &g_timers[id % (int32_t)CFG_MAX_TIMERS];
        int32_t gen = id / (int32_t)CFG_MAX_TIMERS;
        if (t->live && (t->gen == (uint32_t)gen)) {
            t->live = false;
            g_used--;
        }
    }
}

int timer_next_ms(int cap_ms)
{
    uint64_t now = clock_mono_ms();
    uint64_t best = (uint64_t)cap_ms;
    size_t i;
    for (i = 0u; i < (size_t)CFG_MAX_TIMERS; i++) {
        if (g_timers[i].live) {
            uint64_t left = (g_timers[i].due_ms > now) ? (g_timers[i].due_ms - now) : 0u;
            if (left < best) {
                best = left;
            }
        }
    }
    return (int)best;
}

void timer_run(void)
{
    uint64_t now = clock_mono_ms();
    uint64_t limit = g_seq;     /* started from here on: next run */
    bool more = true;
    while (more) {
        size_t pick = (size_t)CFG_MAX_TIMERS;
        size_t i;
        for (i = 0u; i < (size_t)CFG_MAX_TIMERS; i++) {
            const timer_slot *t = &g_timers[i];
            if (t->live && (t->due_ms <= now) && (t->seq < limit) &&
                ((pick == (size_t)CFG_MAX_TIMERS) || (t->due_ms < g_timers[pick].due_ms) ||
                 ((t->due_ms == g_timers[pick].due_ms) && (t->seq < g_timers[pick].seq)))) {
                pick = i;
            }
        }
        if (pick == (size_t)CFG_MAX_TIMERS) {
            more = false;
        } else {
            timer_fn fn = g_timers[pick].fn;
            void *arg = g_timers[pick].arg;
            g_timers[pick].live = false;
            g_used--;
            fn(arg);
        }
    }
}

uint32_t timer_used(void)
{
    return g_used;
}

uint32_t timer_high(void)
{
    return g_high;
}
