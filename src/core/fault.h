/*
 * fault.h - make the Nth allocation of a fixed allocator fail (tests).
 *
 * As SQLite tests itself (its fault simulator behind sqlite3_test_control),
 * a test arms one fault at a time: the nth call from now of one kind of
 * allocation, optionally restricted to one allocator by name, returns its
 * "full" answer (NULL, TIMER_NONE), and with `after` every later call too.
 * The allocator counts the failure as it counts a real one (pool_t fails,
 * heap fails, sqlite's alloc failures), so the caller cannot tell the
 * difference: what a test sees is exactly the handled failure path.
 *
 *   FAULT_POOL    pool_get            name: the pool (conns, body_slots, ...)
 *   FAULT_HEAP    heap_alloc/realloc  name: the heap (chat, out, tls)
 *   FAULT_SQLITE  sqlite3_malloc/realloc (memsys5, wrapped in store/)
 *   FAULT_TIMER   timer_start
 *   FAULT_SLOT    a fixed slot table's search: name "stream" (SSE and
 *                 WebSocket subscribers), "chat" (chat requests), "agent"
 *                 (chat agents)
 *
 * OS operations fail through port/'s operations table (port_fault_arm in
 * port.h); fam/shared/fault_ctl.c drives both at runtime.
 *
 * The allocators consult it only with CFG_FAULT (the debug flavour and the
 * unit tests); in the release build FAULT_HIT is the constant false, nothing
 * calls into this module and nothing can arm it (fam/shared/fault_ctl.c is not
 * there either).
 */
#ifndef ROOST_FAULT_H
#define ROOST_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "core/status.h"

typedef enum {
    FAULT_POOL,
    FAULT_HEAP,
    FAULT_SQLITE,
    FAULT_TIMER,
    FAULT_SLOT,
    FAULT_KINDS
} fault_kind;

/* Arm: the nth matching call from now fails (nth >= 1), and every later
 * one too when after. name NULL or "" matches every allocator of the kind;
 * it is copied. Replaces any armed fault. ST_INVAL for nth 0, an unknown
 * kind or a name longer than 31 bytes. */
st_t fault_arm(fault_kind kind, const char *name, uint32_t nth, bool after);
void fault_disarm(void);
/* Calls failed since the last fault_arm. */
uint64_t fault_fired(void);
/* Suspend (true) or resume matching: the control channel's own requests
 * run with faults suspended. */
void fault_suspend(bool on);
/* For the allocators: is this call (of kind, by allocator name) to fail? */
bool fault_hit(fault_kind kind, const char *name);
/* "pool", "heap", "sqlite", "timer", "slot" -> kind; false if unknown. */
bool fault_kind_from(const char *s, size_t n, fault_kind *out);

#if CFG_FAULT
#define FAULT_HIT(kind, name) fault_hit((kind), (name))
#else
#define FAULT_HIT(kind, name) false
#endif

#endif
