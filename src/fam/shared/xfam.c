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

static xfam_hook_fn g_hook_record;

void xfam_set_hook_record(xfam_hook_fn fn)
{
    g_hook_record = fn;
}

void xfam_hook_record(const xfam_hook *hk)
{
    if (g_hook_record != NULL) {
        g_hook_record(hk);
    }
}

static xfam_session_pid_fn g_session_pid;

void xfam_set_session_pid(xfam_session_pid_fn fn)
{
    g_session_pid = fn;
}

st_t xfam_session_pid(strv sid, int64_t *pid)
{
    st_t st = ST_NOTFOUND;
    *pid = 0;
    if (g_session_pid != NULL) {
        st = g_session_pid(sid, pid);
        if (st != ST_OK) {
            *pid = 0;
        }
    }
    return st;
}
