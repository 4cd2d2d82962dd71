/*
 * timer.h - one-shot timers in a fixed array (CFG_MAX_TIMERS).
 *
 * The loop asks timer_next_ms() how long poll() may sleep and calls
 * timer_run() each turn. Callbacks run from timer_run only, never from
 * timer_start; a callback may start or cancel timers (its own id is already
 * stale when it runs: cancelling it is a no-op).
 *
 * A timer keeps its slot until its callback returns, so a periodic timer
 * re-arms itself with timer_again, which takes nothing from the pool and
 * cannot fail: housekeeping (a retention prune, a heartbeat, the tmux poll)
 * never stops because the pool was full or a fault was injected at the
 * moment it re-armed. timer_start is for everything else.
 *
 * Ids are opaque and carry a per-slot generation (an id repeats only after
 * about 2^31 / CFG_MAX_TIMERS starts in the same slot): cancelling an id whose
 * timer already fired or was cancelled is a no-op, even when its slot holds a
 * new timer.
 * timer_run fires due timers earliest first (equal due times in start
 * order); a timer started by a callback waits for the next timer_run, even
 * with delay 0.
 */
#ifndef ROOST_TIMER_H
#define ROOST_TIMER_H

#include <stdint.h>

#include "config.h"
#include "core/status.h"

/* Static storage per timer (its slot, its heap, free and pending entries),
 * for app/pools.def. */
#define TIMER_SLOT_BYTES 60u
#define TIMER_STATIC_BYTES ((size_t)CFG_MAX_TIMERS * TIMER_SLOT_BYTES)

typedef void (*timer_fn)(void *arg);
typedef int32_t timer_id;    /* -1 is "no timer" */
#define TIMER_NONE (-1)

void timer_init(void);
/* Fire fn(arg) once, delay_ms from now (monotonic). TIMER_NONE and a log line
 * when all CFG_MAX_TIMERS are in use. */
timer_id timer_start(uint64_t delay_ms, timer_fn fn, void *arg);
/* From inside a timer's callback only: fire the same fn(arg) again delay_ms
 * from now, in the slot the callback's timer holds. Returns the new id; never
 * TIMER_NONE there. Outside a callback, or a second time in one, it returns
 * TIMER_NONE (a bug: debug builds stop). */
timer_id timer_again(uint64_t delay_ms);
void timer_cancel(timer_id id);
/* Milliseconds until the earliest timer, capped at cap_ms (>= 0); 0 if one
 * is due. */
int timer_next_ms(int cap_ms);
/* Run every timer that was due when timer_run was called and started
 * before it was called. */
void timer_run(void);
uint32_t timer_used(void);
uint32_t timer_high(void);

#endif
