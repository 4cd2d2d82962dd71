/*
 * xfam.c - the questions between families (xfam.h): one function pointer
 * per question, set by the answering family's init.
 */
#include "fam/shared/xfam.h"

#include <stddef.h>

static xfam_agent_running_fn g_agent_running;

void xfam_set_agent_running(xfam_agent_running_fn fn)
{
    g_agent_running = fn;
}

st_t xfam_agent_running(strv name, bool *running)
{
    st_t st = ST_OK;
    *running = false;
    if (g_agent_running != NULL) {
        st = g_agent_running(name, running);
        if (st != ST_OK) {
            *running = false;
        }
    }
    return st;
}
