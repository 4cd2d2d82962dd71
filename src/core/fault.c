/*
 * fault.c - one armed allocation fault (see fault.h). Built in every
 * flavour (a few bytes), consulted only when CFG_FAULT.
 */
#include "core/fault.h"

#include <string.h>

#define FAULT_NAME_BYTES 32u

typedef struct {
    bool armed;
    bool any_name;        /* name is "": every allocator of the kind */
    bool suspended;
    bool after;
    fault_kind kind;
    uint32_t nth;
    uint32_t calls;       /* matching calls since arming */
    uint64_t fired;
    char name[FAULT_NAME_BYTES];
} fault_state;

static fault_state g_fault;

st_t fault_arm(fault_kind kind, const char *name, uint32_t nth, bool after)
{
    size_t n = (name != NULL) ? strlen(name) : 0u;
    if ((nth == 0u) || ((unsigned)kind >= (unsigned)FAULT_KINDS) || (n >= FAULT_NAME_BYTES)) {
        return ST_INVAL;
    }
    g_fault.kind = kind;
    g_fault.nth = nth;
    g_fault.after = after;
    g_fault.calls = 0u;
    g_fault.fired = 0u;
    (void)memcpy(g_fault.name, (n > 0u) ? name : "", n + 1u);
    g_fault.any_name = (n == 0u);
    g_fault.armed = true;
    return ST_OK;
}

void fault_disarm(void)
{
    g_fault.armed = false;
}

uint64_t fault_fired(void)
{
    return g_fault.fired;
}

void fault_suspend(bool on)
{
    g_fault.suspended = on;
}

bool fault_hit(fault_kind kind, const char *name)
{
    bool hit = false;
    if (g_fault.armed && !g_fault.suspended && (kind == g_fault.kind) &&
        (g_fault.any_name || ((name != NULL) && (strcmp(name, g_fault.name) == 0)))) {
        if (g_fault.calls < UINT32_MAX) {
            g_fault.calls++;
        }
        if ((g_fault.calls == g_fault.nth) || (g_fault.after && (g_fault.calls > g_fault.nth))) {
            g_fault.fired++;
            hit = true;
            if (!g_fault.after) {
                g_fault.armed = false;   /* one-shot: spent */
            }
        }
    }
    return hit;
}

bool fault_kind_from(const char *s, size_t n, fault_kind *out)
{
    static const char *const k_names[FAULT_KINDS] = { "pool", "heap", "sqlite", "timer",
                                                             "slot" };
    size_t i;
    for (i = 0u; i < (size_t)FAULT_KINDS; i++) {
        if ((strlen(k_names[i]) == n) && (memcmp(k_names[i], s, n) == 0)) {
            *out = (fault_kind)i;
            return true;
        }
    }
    return false;
}
