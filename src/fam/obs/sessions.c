/*
 * sessions.c - the observability family's sessions (spec/observability.md
 * §3.3, §3.5-§3.7, §5): GET /sessions, PATCH .../metadata (rendered through
 * hctx_render from the store, as a patched session of up to ~30 KiB may not
 * fit tx), DELETE, and stop: pid = the latest event pid of the session,
 * else the Claude process of the rpg pane the session was last linked to by
 * a hook (asked of rpg through fam/shared/xfam.h); SIGTERM follows after
 * the grace period through a timer held in one of CFG_OBS_STOP_SLOTS
 * slots. Also the answer to agents' question (Decision 8): is a session of
 * this agent running.
 */
#include "fam/obs/obs_int.h"

#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/timer.h"
#include "fam/shared/fam.h"
#include "fam/shared/xfam.h"
#include "port.h"

static uint32_t g_stop_grace_ms = 5000u;

void obs_set_stop_grace_ms(uint32_t ms)
{
    g_stop_grace_ms = ms;
}

/* ---- GET /sessions ---------------------------------------------------------- */

sqlite3_stmt *obs_sessions_query(const void *ctx, int64_t sent)
{
    sqlite3_stmt *q = obs_stmt(OBS_SQL_SESSION_LIST);
    (void)ctx;
    if ((store_bind_int64(q, 1, -1) != ST_OK) || (store_bind_int64(q, 2, sent) != ST_OK)) {
        store_done(q);
        q = NULL;
    }
    return q;
}

void obs_list_sessions(hctx *h)
{
    int none = 0;
    fapi_list_stream(h, "{\"sessions\":[", "]}", obs_sessions_query, obs_session_row, &none,
                     sizeof none);
}

/* ---- PATCH /sessions/{session_id}/metadata ---------------------------------- */

/* The metadata update; ST_NOTFOUND for an unknown session. */
static st_t update_meta(strv sid, strv name, strv dir, strv agent)
{
    sqlite3_stmt *q = obs_stmt(OBS_SQL_SESSION_META);
    st_t st = store_bind_text(q, 1, sid);
    if (st == ST_OK) {
        st = obs_bind_opt_text(q, 2, name, false);
    }
    if (st == ST_OK) {
        st = obs_bind_opt_text(q, 3, dir, false);
    }
    if (st == ST_OK) {
        st = obs_bind_opt_text(q, 4, agent, false);
    }
    if (st == ST_OK) {
        st = store_exec(q);
    }
    if ((st == ST_OK) && (store_changes() == 0u)) {
        st = ST_NOTFOUND;
    }
    return st;
}

/* One pass of PATCH (hctx_render): validate; on the first pass only, update
 * and publish; answer the session as stored. A 422 or an answer larger
 * than tx is written again from the same request for each window. */
static void patch_pass(hctx *h, const void *state)
{
    static char s_name[UTF8_BYTES(SESSION_NAME_MAX)];
    static char s_dir[UTF8_BYTES(PROJECT_DIR_MAX)];
    static char s_agent[UTF8_BYTES(AGENT_NAME_MAX)];
    strv sid = hctx_param(h, 0u);
    strv name = STRV_NULL;
    strv dir = STRV_NULL;
    strv agent = STRV_NULL;
    fapi_errs e;
    json_doc d;
    sqlite3_stmt *q = NULL;
    json_w w;
    st_t st;
    (void)state;
    fapi_errs_init(&e, h);
    if (!fapi_body_object(h, &d, &e)) {
        (void)fapi_errs_end(&e);
        return;
    }
    (void)obs_field_str(&e, &d, "session_name", false, 0u, SESSION_NAME_MAX, s_name,
                    sizeof s_name, &name);
    (void)obs_field_str(&e, &d, "project_dir", false, 0u, PROJECT_DIR_MAX, s_dir, sizeof s_dir,
                    &dir);
    (void)obs_field_str(&e, &d, "agent_name", false, 0u, AGENT_NAME_MAX, s_agent,
                    sizeof s_agent, &agent);
    json_release(&d);   /* the values live in the static buffers */
    if (fapi_errs_end(&e)) {
        return;
    }
    st = h->rerender ? ST_OK : update_meta(sid, name, dir, agent);
    if (st == ST_OK) {
        st = obs_session_get(sid, &q);
    }
    if (st == ST_NOTFOUND) {
        obs_not_found(h);
        return;
    }
    if (st != ST_OK) {
        obs_internal(h, "session metadata", st);
        return;
    }
    fam_json_begin(h, 200, &w);
    json_w_obj_begin(&w);
    json_w_kbool(&w, "ok", true);
    json_w_key(&w, "session");
    obs_session_row(q, &w);
    obs_session_members(&w, q);   /* upstream's frontend reads a Session here */
    json_w_obj_end(&w);
    store_done(q);
    fam_json_end(h, &w);
    if (!h->rerender) {
        obs_publish(OBS_PUB_SESSION_UPDATED, sid);
    }
}

void obs_patch_session_meta(hctx *h)
{
    hctx_render(h, patch_pass, NULL, 0u);
}

/* ---- DELETE /sessions/{session_id} ----------------------------------------- */

void obs_delete_session(hctx *h)
{
    strv sid = hctx_param(h, 0u);
    uint64_t events = 0u;
    json_w w;
    st_t st = store_begin();
    if (st == ST_OK) {
        st = obs_exec_1(OBS_SQL_SESSION_DELETE, sid);
    }
    if ((st == ST_OK) && (store_changes() == 0u)) {
        st = ST_NOTFOUND;
    }
    if (st == ST_OK) {
        st = obs_exec_1(OBS_SQL_EVENT_DELETE_SESSION, sid);
        events = store_changes();
    }
    if (st == ST_OK) {
        st = store_commit();
    }
    if (st != ST_OK) {
        (void)store_rollback();
    }
    if (st == ST_NOTFOUND) {
        obs_not_found(h);
        return;
    }
    if (st != ST_OK) {
        obs_internal(h, "session delete", st);
        return;
    }
    fam_json_begin(h, 200, &w);
    json_w_obj_begin(&w);
    json_w_kbool(&w, "ok", true);
    json_w_kstrn(&w, "session_id", sid.p, sid.n);
    json_w_key(&w, "deleted");
    json_w_obj_begin(&w);
    json_w_kbool(&w, "session", true);
    json_w_ku64(&w, "events_count", events);
    json_w_obj_end(&w);
    json_w_obj_end(&w);
    fam_json_end(h, &w);
    obs_publish(OBS_PUB_SESSION_DELETED, sid);
}

/* ---- Decision 8: agents asks before deleting an agent ---------------------- */

st_t obs_agent_running(strv name, bool *running)
{
    sqlite3_stmt *q = obs_stmt(OBS_SQL_SESSION_RUNNING_AGENT);
    bool row = false;
    st_t st = store_bind_text(q, 1, name);
    if (st == ST_OK) {
        st = store_step(q, &row);
    }
    store_done(q);
    *running = (st == ST_OK) && row;
    return st;
}

/* ---- POST /sessions/{session_id}/stop (§3.7, §5) ---------------------------- */

typedef struct {
    bool used;
    int64_t pid;
    timer_id t;
    char sid[64];         /* for the log line (cut) */
} stop_slot;

static stop_slot g_stops[CFG_OBS_STOP_SLOTS];

/* The module's statics (the function-local ones at their sizes) are in the
 * plan (obs.h). */
_Static_assert((SESSION_MSG_BYTES + UTF8_BYTES(EVENT_TYPE_MAX) + UTF8_BYTES(SESSION_ID_MAX) +
                (3u * UTF8_BYTES(SESSION_NAME_MAX)) + UTF8_BYTES(TIMESTAMP_MAX) +
                UTF8_BYTES(TOOL_NAME_MAX) + UTF8_BYTES(PROJECT_DIR_MAX) +
                UTF8_BYTES(AGENT_NAME_MAX) + sizeof g_stops) <= OBS_STATIC_BYTES,
               "OBS_STATIC_BYTES is the plan of this module");

static void stop_grace_done(void *arg)
{
    stop_slot *s = (stop_slot *)arg;
    if (port_proc_exists(s->pid) == ST_OK) {
        const char *why = "";
        if (port_proc_signal(s->pid, PORT_SIG_TERM, &why) == ST_OK) {
            LOG_I("obs", "stop %s: SIGTERM sent to pid %lld", s->sid, (long long)s->pid);
        } else {
            LOG_W("obs", "stop %s: SIGTERM to pid %lld failed: %s", s->sid,
                  (long long)s->pid, why);
        }
    }
    s->used = false;
}

static void arm_sigterm(strv sid, int64_t pid)
{
    size_t i;
    stop_slot *s = NULL;
    for (i = 0u; (i < (size_t)CFG_OBS_STOP_SLOTS) && (s == NULL); i++) {
        if (!g_stops[i].used) {
            s = &g_stops[i];
        }
    }
    if (s == NULL) {
        LOG_W("obs", "stop: all %u grace slots busy, no SIGTERM will follow for pid %lld",
              (unsigned)CFG_OBS_STOP_SLOTS, (long long)pid);
        return;
    }
    s->pid = pid;
    (void)snprintf(s->sid, sizeof s->sid, "%.*s", (int)((sid.n < 63u) ? sid.n : 63u), sid.p);
    s->t = timer_start((uint64_t)g_stop_grace_ms, stop_grace_done, s);
    s->used = true;
    if (s->t == TIMER_NONE) {
        /* no timer for the grace period: the SIGTERM goes now */
        LOG_W("obs", "stop %s: no timer free, SIGTERM without a grace period", s->sid);
        stop_grace_done(s);
    }
}

/* §5: a candidate is used only if it is > 1, not roost itself, and the
 * process exists (kill(pid, 0) succeeds or fails with EPERM). */
static bool pid_usable(int64_t pid)
{
    return (pid > 1) && (pid != port_proc_self()) && (port_proc_exists(pid) == ST_OK);
}

/* §5 process resolution, first usable candidate wins: 1. the pid of the
 * latest event of the session that carried one; 2. the Claude process of
 * the rpg pane the session was last linked to by a hook (hooks.md §6; rpg
 * answers, ST_NOTFOUND when it is not built, the pane is gone or is not a
 * Claude pane). A candidate that is not usable counts as none and the
 * next step is asked: an old event's pid whose process ended does not hide
 * the pane's live one. 0: none. */
static int64_t stop_pid(strv sid)
{
    sqlite3_stmt *q = obs_stmt(OBS_SQL_EVENT_LAST_PID);
    bool row = false;
    int64_t pid = 0;
    if ((store_bind_text(q, 1, sid) == ST_OK) && (store_step(q, &row) == ST_OK) && row) {
        pid = store_col_int64(q, 0);
    }
    store_done(q);
    if (!pid_usable(pid)) {
        pid = 0;
        if ((xfam_session_pid(sid, &pid) != ST_OK) || !pid_usable(pid)) {
            pid = 0;
        }
    }
    return pid;
}

void obs_stop_session(hctx *h)
{
    strv sid = hctx_param(h, 0u);
    char now[40];
    char msg[160];
    char status[16];
    sqlite3_stmt *q;
    int64_t pid;
    json_w w;
    st_t st = obs_session_get(sid, &q);
    if (st == ST_NOTFOUND) {
        obs_not_found(h);
        return;
    }
    if (st != ST_OK) {
        obs_internal(h, "session stop", st);
        return;
    }
    (void)store_col_copy(q, 2, status, sizeof status);
    store_done(q);
    if (strcmp(status, "running") != 0) {
        (void)snprintf(msg, sizeof msg, "Session is not running (status: %s)", status);
        fam_fastapi_error(h, 409, "CONFLICT", msg);
        return;
    }
    (void)clock_format(clock_wall_us(), CLOCK_FMT_OFF6, now, sizeof now);
    st = obs_exec_2(OBS_SQL_SESSION_STOP, sid, strv_from_cstr(now));
    if (st != ST_OK) {
        obs_internal(h, "session stop", st);
        return;
    }
    obs_publish(OBS_PUB_SESSION_UPDATED, sid);
    pid = port_proc_supported() ? stop_pid(sid) : 0;
    if (pid == 0) {
        (void)snprintf(msg, sizeof msg, "Session marked as stopped; no process to signal");
    } else {
        const char *why = "";
        if (port_proc_signal(pid, PORT_SIG_INT, &why) == ST_OK) {
            LOG_I("obs", "stop %.*s: SIGINT sent to pid %lld", (int)((sid.n < 63u) ? sid.n : 63u),
                  sid.p, (long long)pid);
            (void)snprintf(msg, sizeof msg, "Session stopped successfully");
            arm_sigterm(sid, pid);
        } else {
            LOG_W("obs", "stop %.*s: SIGINT to pid %lld failed: %s",
                  (int)((sid.n < 63u) ? sid.n : 63u), sid.p, (long long)pid, why);
            (void)snprintf(msg, sizeof msg,
                           "Session marked as stopped; failed to signal process %lld: %s",
                           (long long)pid, why);
        }
    }
    fam_json_begin(h, 200, &w);
    json_w_obj_begin(&w);
    json_w_kbool(&w, "success", true);
    json_w_kstrn(&w, "session_id", sid.p, sid.n);
    json_w_kstr(&w, "message", msg);
    json_w_obj_end(&w);
    fam_json_end(h, &w);
}

