/*
 * obs.c - the observability family's REST routes (spec/observability.md).
 *
 * Implementation notes:
 * - Validation follows pydantic v2 in model order (§1, §2.1): every problem
 *   of a body is one 422 entry. Bounded strings are decoded into fixed
 *   buffers of 4 bytes per allowed character (a decoded string that does
 *   not fit is too long by construction). Unbounded strings (error, reason,
 *   role) are never decoded: the JSON string literal is stored and returned
 *   as it came, so no buffer needs the body's size.
 * - POST /events and PATCH are ROUTE_BIG_OUT: a 422 echoes the body (the
 *   "missing" entry's input is the whole object), and PATCH writes a session
 *   of up to ~30 KiB twice. Both render through hctx_render, so an answer
 *   larger than tx is written again, window by window, from the request
 *   (the 422) or the store (the patched session).
 * - Lists are streamed (fapi_list_stream). GET /events keeps, per part, the
 *   id of one event of the session as an anchor instead of the id text.
 * - Every live update goes through obs_publish: serialized once onto the
 *   event ring, delivered to /ws clients by http/stream (a client whose
 *   queue passes observability.ws_max_buffer_bytes, or that the ring
 *   overtakes, is closed with 1013). An `event` message is built in the
 *   render scratch (it echoes a body of up to 1 MiB; nothing else uses the
 *   scratch while it is built); the session messages in a static buffer
 *   sized for the largest Session.
 * - /ws sends `init` (the sessions, as GET /sessions) as its first message,
 *   produced straight into tx like the list.
 * - Stop (§5): pid = the latest event pid of the session; the pane link of
 *   rpg (resolution step 2) is not wired yet. SIGTERM follows after the
 *   grace period through a timer held in one of CFG_OBS_STOP_SLOTS slots.
 */
#include "fam/obs/obs.h"

#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/timer.h"
#include "bus/ring.h"
#include "http/stream.h"
#include "fam/shared/fam.h"
#include "fam/shared/fapi.h"
#include "port.h"
#include "store/store.h"

/* ---- limits (§2.1, §3.5), in characters ------------------------------------ */
#define EVENT_TYPE_MAX 64u
#define SESSION_ID_MAX 256u
#define SESSION_NAME_MAX 512u
#define TIMESTAMP_MAX 64u
#define TOOL_NAME_MAX 256u
#define PROJECT_DIR_MAX 4096u
#define AGENT_NAME_MAX 256u
#define PID_MAX 2147483647

#define I64_MIN ((-INT64_MAX) - 1)

#define EVENTS_LIMIT_DEFAULT 100
#define EVENTS_LIMIT_MAX 1000

#define UTF8_BYTES(chars) (((chars) * 4u) + 1u)

static uint32_t g_stop_grace_ms = 5000u;

void obs_set_stop_grace_ms(uint32_t ms)
{
    g_stop_grace_ms = ms;
}

/* ---- the single call site of live updates -------------------------------- */

typedef enum { OBS_PUB_EVENT, OBS_PUB_SESSION_UPDATED, OBS_PUB_SESSION_DELETED } obs_pub;

static void obs_publish(obs_pub kind, const obs_event *ev, strv session_id);

/* Where obs_record serializes its `event` message: the render scratch. */
static char *g_ev_buf;
static size_t g_ev_cap;

/* ---- common -------------------------------------------------------------- */

static void not_found(hctx *h)
{
    fam_json_send(h, 404, "{\"detail\":\"Session not found\"}");
}

static void internal(hctx *h, const char *what, st_t st)
{
    LOG_E("obs", "%s: %s", what, status_str(st));
    fam_fastapi_error(h, 500, "INTERNAL_ERROR", "Internal Server Error");
}

/* The Session members (§2.3) of an OBS_SESSION_GET / _LIST row. */
static void session_members(json_w *w, sqlite3_stmt *q)
{
    fam_kcol_str(w, "session_id", q, 0);
    fam_kcol_str(w, "session_name", q, 1);
    fam_kcol_str(w, "status", q, 2);
    fam_kcol_str(w, "created_at", q, 3);
    fam_kcol_str(w, "modified_at", q, 4);
    fam_kcol_str(w, "project_dir", q, 5);
    fam_kcol_str(w, "agent_name", q, 6);
}

static void session_row(sqlite3_stmt *q, json_w *w)
{
    json_w_obj_begin(w);
    session_members(w, q);
    json_w_obj_end(w);
}

/* Step OBS_SESSION_GET for sid: ST_OK with the row current (the caller
 * calls store_done), ST_NOTFOUND, or a storage error. */
static st_t session_get(strv sid, sqlite3_stmt **out)
{
    sqlite3_stmt *q = store_stmt(STORE_OBS_SESSION_GET);
    bool row = false;
    st_t st = store_bind_text(q, 1, sid);
    if (st == ST_OK) {
        st = store_step(q, &row);
    }
    if ((st == ST_OK) && !row) {
        st = ST_NOTFOUND;
    }
    if (st != ST_OK) {
        store_done(q);
    }
    *out = q;
    return st;
}

static st_t exec_1(store_stmt_id id, strv a)
{
    sqlite3_stmt *q = store_stmt(id);
    st_t st = store_bind_text(q, 1, a);
    if (st == ST_OK) {
        st = store_exec(q);
    }
    return st;
}

static st_t exec_2(store_stmt_id id, strv a, strv b)
{
    sqlite3_stmt *q = store_stmt(id);
    st_t st = store_bind_text(q, 1, a);
    if (st == ST_OK) {
        st = store_bind_text(q, 2, b);
    }
    if (st == ST_OK) {
        st = store_exec(q);
    }
    return st;
}

/* ---- recording events (§3.2) --------------------------------------------- */

static bool is_ws(char ch)
{
    return (ch == ' ') || (ch == '\t') || (ch == '\n') || (ch == '\r');
}

/* Is the JSON text one of Python's falsy values ({}, [], "", 0, 0.0,
 * false, null)? Those are stored as null (§2.2). */
static bool json_text_empty(strv v)
{
    size_t a = 0u;
    size_t b = v.n;
    bool empty = false;
    while ((a < b) && is_ws(v.p[a])) {
        a++;
    }
    while ((b > a) && is_ws(v.p[b - 1u])) {
        b--;
    }
    if (b > a) {
        char first = v.p[a];
        char last = v.p[b - 1u];
        if (((first == '{') && (last == '}')) || ((first == '[') && (last == ']'))) {
            size_t i;
            empty = true;
            for (i = a + 1u; (i + 1u) < b; i++) {
                if (!is_ws(v.p[i])) {
                    empty = false;
                }
            }
        } else if (first == '"') {
            empty = ((b - a) == 2u);
        } else if ((first == 'f') || (first == 'n')) {
            empty = true;   /* false, null */
        } else if ((first == '-') || ((first >= '0') && (first <= '9'))) {
            size_t i;
            empty = true;   /* zero unless a mantissa digit is not '0' */
            bool mantissa = true;
            for (i = a; i < b; i++) {
                char ch = v.p[i];
                if ((ch == 'e') || (ch == 'E')) {
                    mantissa = false;
                }
                if (mantissa && (ch >= '1') && (ch <= '9')) {
                    empty = false;
                }
            }
        } else {
            empty = false;   /* true */
        }
    }
    return empty;
}

static st_t bind_opt_text(sqlite3_stmt *q, int idx, strv v, bool drop_empty)
{
    st_t st;
    if ((v.p == NULL) || (drop_empty && json_text_empty(v))) {
        st = store_bind_null(q, idx);
    } else {
        st = store_bind_text(q, idx, v);
    }
    return st;
}

static st_t bind_opt_int(sqlite3_stmt *q, int idx, bool has, int64_t v)
{
    return has ? store_bind_int64(q, idx, v) : store_bind_null(q, idx);
}

static st_t insert_event(const obs_event *ev)
{
    sqlite3_stmt *q = store_stmt(STORE_OBS_EVENT_INSERT);
    st_t st = store_bind_text(q, 1, ev->session_id);
    if (st == ST_OK) {
        st = store_bind_text(q, 2, ev->event_type);
    }
    if (st == ST_OK) {
        st = store_bind_text(q, 3, ev->timestamp);
    }
    if (st == ST_OK) {
        st = bind_opt_text(q, 4, ev->tool_name, false);
    }
    if (st == ST_OK) {
        st = bind_opt_text(q, 5, ev->tool_input, true);
    }
    if (st == ST_OK) {
        st = bind_opt_text(q, 6, ev->tool_output, true);
    }
    if (st == ST_OK) {
        st = bind_opt_text(q, 7, ev->error, false);
    }
    if (st == ST_OK) {
        st = bind_opt_int(q, 8, ev->has_exit_code, ev->exit_code);
    }
    if (st == ST_OK) {
        st = bind_opt_text(q, 9, ev->reason, false);
    }
    if (st == ST_OK) {
        st = bind_opt_text(q, 10, ev->role, false);
    }
    if (st == ST_OK) {
        st = bind_opt_text(q, 11, ev->content, true);
    }
    if (st == ST_OK) {
        st = bind_opt_int(q, 12, ev->has_pid, ev->pid);
    }
    if (st == ST_OK) {
        st = store_exec(q);
    }
    return st;
}

st_t obs_record(const obs_event *ev)
{
    st_t st = store_begin();
    if (st == ST_OK) {
        if (strv_eq_cstr(ev->event_type, "session_start")) {
            sqlite3_stmt *q = store_stmt(STORE_OBS_SESSION_START);
            st = store_bind_text(q, 1, ev->session_id);
            if (st == ST_OK) {
                st = store_bind_text(q, 2, ev->session_name);
            }
            if (st == ST_OK) {
                st = store_bind_text(q, 3, ev->timestamp);
            }
            if (st == ST_OK) {
                st = store_exec(q);
            }
        } else if (strv_eq_cstr(ev->event_type, "session_stop")) {
            st = exec_1(STORE_OBS_SESSION_FINISH, ev->session_id);
        } else {
            /* other types: stored and broadcast, no session effect */
        }
    }
    if (st == ST_OK) {
        st = insert_event(ev);
    }
    if (st == ST_OK) {
        st = exec_2(STORE_OBS_SESSION_TOUCH, ev->session_id, ev->timestamp);
    }
    if (st == ST_OK) {
        st = store_commit();
    }
    if (st != ST_OK) {
        (void)store_rollback();
    } else {
        obs_publish(OBS_PUB_EVENT, ev, ev->session_id);
    }
    return st;
}

/* ---- live updates (§6) -------------------------------------------------------- */

/* session_updated: a Session escapes to at most ~30 KiB (§2.1 limits). */
#define SESSION_MSG_BYTES OBS_MSG_BYTES

static stream_policy g_ws = {
    .name = "observability /ws",
    .topics = STREAM_TOPIC_OBS,
    .priorities = false,
    .lag_skips = false,
    .max_queue_bytes = 1048576u,
    .close_code = WS_CLOSE_TRY_LATER,
    .heartbeat_ms = 20000u,
    .pong_timeout_ms = 20000u,
};

void obs_set_ws(uint32_t heartbeat_ms, uint64_t max_buffer_bytes)
{
    g_ws.heartbeat_ms = heartbeat_ms;
    g_ws.pong_timeout_ms = heartbeat_ms;
    g_ws.max_queue_bytes = (size_t)max_buffer_bytes;
}

const stream_stats_t *obs_ws_stats(void)
{
    return &g_ws.stats;
}

/* key: the JSON text as received, or null */
static void kraw_or_null(json_w *w, const char *key, strv raw)
{
    if (raw.p != NULL) {
        json_w_kraw(w, key, raw.p, raw.n);
    } else {
        json_w_knull(w, key);
    }
}

static void event_message(json_w *w, const obs_event *ev)
{
    json_w_obj_begin(w);
    json_w_kstr(w, "type", "event");
    json_w_key(w, "data");
    json_w_obj_begin(w);
    json_w_kstrn(w, "event_type", ev->event_type.p, ev->event_type.n);
    json_w_kstrn(w, "session_id", ev->session_id.p, ev->session_id.n);
    json_w_kstrn(w, "session_name", ev->session_name.p, ev->session_name.n);
    json_w_kstrn(w, "timestamp", ev->timestamp.p, ev->timestamp.n);
    kraw_or_null(w, "tool_name", ev->tool_name);
    kraw_or_null(w, "tool_input", ev->tool_input);
    kraw_or_null(w, "tool_output", ev->tool_output);
    kraw_or_null(w, "error", ev->error);
    if (ev->has_exit_code) {
        json_w_ki64(w, "exit_code", ev->exit_code);
    } else {
        json_w_knull(w, "exit_code");
    }
    kraw_or_null(w, "reason", ev->reason);
    kraw_or_null(w, "role", ev->role);
    kraw_or_null(w, "content", ev->content);
    if (ev->has_pid) {
        json_w_ki64(w, "pid", ev->pid);
    } else {
        json_w_knull(w, "pid");
    }
    json_w_obj_end(w);
    json_w_obj_end(w);
}

/* Serialize the message once and put it on the ring for every /ws client
 * (§6). OBS_PUB_EVENT: ev as received; the session kinds: the session as
 * stored now. A message that cannot be built is logged and not sent. */
static void obs_publish(obs_pub kind, const obs_event *ev, strv session_id)
{
    static char s_msg[SESSION_MSG_BYTES];
    json_w w;
    size_t n = 0u;
    st_t st = ST_OK;
    if (kind == OBS_PUB_EVENT) {
        if ((g_ev_buf == NULL) || (ev == NULL)) {
            return;
        }
        json_w_init(&w, g_ev_buf, g_ev_cap);
        event_message(&w, ev);
    } else if (kind == OBS_PUB_SESSION_DELETED) {
        json_w_init(&w, s_msg, sizeof s_msg);
        json_w_obj_begin(&w);
        json_w_kstr(&w, "type", "session_deleted");
        json_w_kstrn(&w, "session_id", session_id.p, session_id.n);
        json_w_obj_end(&w);
    } else {
        sqlite3_stmt *q;
        json_w_init(&w, s_msg, sizeof s_msg);
        st = session_get(session_id, &q);
        if (st == ST_OK) {
            json_w_obj_begin(&w);
            json_w_kstr(&w, "type", "session_updated");
            json_w_key(&w, "session");
            session_row(q, &w);
            json_w_obj_end(&w);
            store_done(q);
        }
    }
    if (st == ST_OK) {
        st = json_w_finish(&w, &n);
    }
    if (st == ST_OK) {
        st = ring_publish(STREAM_TOPIC_OBS, RING_PRIO_NORMAL,
                          (kind == OBS_PUB_EVENT) ? g_ev_buf : s_msg, n, NULL);
    }
    if (st != ST_OK) {
        LOG_W("obs", "live update for session %.*s not sent: %s",
              (int)((session_id.n < 64u) ? session_id.n : 64u), session_id.p, status_str(st));
    }
}

/* ---- GET /ws ------------------------------------------------------------------ */

static sqlite3_stmt *sessions_query(const void *ctx, int64_t sent);

static void ws_connect(hctx *h)
{
    int none = 0;
    stream_sub *s = hctx_ws_accept(h, &g_ws);
    fapi_list_ws_snapshot(h, s, "{\"type\":\"init\",\"sessions\":[", "]}", sessions_query,
                          session_row, &none, sizeof none);
}

/* ---- validation ----------------------------------------------------------- */

/* A string field decoded into buf (cap = UTF8_BYTES(max)). required: absent
 * is "missing", null is string_type; otherwise absent or null leave
 * out->p NULL. false: an entry was added. */
static bool field_str(fapi_errs *e, const json_doc *d, const char *key, bool required,
                      size_t min, size_t max, char *buf, size_t cap, strv *out)
{
    int t = json_obj_get(d, json_root(d), key);
    size_t n = 0u;
    bool ok = true;
    *out = STRV_NULL;
    if (t < 0) {
        if (required) {
            fapi_err_missing(e, d, key);
            ok = false;
        }
    } else if (json_is_null(d, t) && !required) {
        /* null */
    } else if (json_type(d, t) != JSON_STRING) {
        fapi_err_type(e, d, t, key, -1, "string_type", "Input should be a valid string");
        ok = false;
    } else {
        st_t st = json_get_mem(d, t, buf, cap - 1u, &n);
        if ((st != ST_OK) || (fapi_chars(buf, n) > max)) {
            fapi_err_len(e, d, t, key, true, max);
            ok = false;
        } else if (fapi_chars(buf, n) < min) {
            fapi_err_len(e, d, t, key, false, min);
            ok = false;
        } else {
            buf[n] = '\0';
            *out = (strv){ buf, n };
        }
    }
    return ok;
}

/* An optional string kept as its JSON literal (no length limit). */
static bool field_str_raw(fapi_errs *e, const json_doc *d, const char *key, strv *out)
{
    int t = json_obj_get(d, json_root(d), key);
    bool ok = true;
    *out = STRV_NULL;
    if ((t < 0) || json_is_null(d, t)) {
        /* null */
    } else if (json_type(d, t) != JSON_STRING) {
        fapi_err_type(e, d, t, key, -1, "string_type", "Input should be a valid string");
        ok = false;
    } else {
        *out = json_raw(d, t);
    }
    return ok;
}

/* An optional integer in [lo, hi] (pydantic lax: 2.0 is 2; strings and
 * booleans are refused). */
static bool field_int(fapi_errs *e, const json_doc *d, const char *key, int64_t lo,
                      int64_t hi, bool *has, int64_t *out)
{
    int t = json_obj_get(d, json_root(d), key);
    bool ok = true;
    *has = false;
    if ((t < 0) || json_is_null(d, t)) {
        /* null */
    } else if (json_type(d, t) != JSON_NUMBER) {
        fapi_err_type(e, d, t, key, -1, "int_type", "Input should be a valid integer");
        ok = false;
    } else {
        int64_t v = 0;
        bool clamped = false;
        st_t st = json_get_i64(d, t, &v);
        if (st == ST_BAD) {
            /* written with '.', 'e' or 'E': integral values are accepted */
            double f = 0.0;
            st = json_get_f64(d, t, &f);
            if ((st == ST_OK) && ((f <= -9.2e18) || (f >= 9.2e18))) {
                st = ST_RANGE;
            }
            if ((st == ST_OK) && ((double)(int64_t)f != f)) {
                fapi_err_type(e, d, t, key, -1, "int_from_float",
                              "Input should be a valid integer, got a number with a "
                              "fractional part");
                ok = false;
            } else if (st == ST_OK) {
                v = (int64_t)f;
            } else {
                /* out of range: below */
            }
        }
        if (ok && (st == ST_RANGE)) {
            double f = 0.0;
            (void)json_get_f64(d, t, &f);   /* only its sign matters here */
            v = (f < 0.0) ? I64_MIN : INT64_MAX;
            clamped = true;
        }
        if (ok && clamped && (v >= lo) && (v <= hi)) {
            fapi_err_type(e, d, t, key, -1, "int_type", "Input should be a valid integer");
            ok = false;
        }
        if (ok) {
            fapi_err x;
            char msg[96];
            (void)memset(&x, 0, sizeof x);
            x.loc0 = "body";
            x.field = key;
            x.index = -1;
            x.input_json = json_raw(d, t);
            x.msg = msg;
            if (v < lo) {
                (void)snprintf(msg, sizeof msg,
                               "Input should be greater than or equal to %lld", (long long)lo);
                x.type = "greater_than_equal";
                x.ctx_key = "ge";
                x.ctx_val = lo;
                fapi_err_add(e, &x);
                ok = false;
            } else if (v > hi) {
                (void)snprintf(msg, sizeof msg,
                               "Input should be less than or equal to %lld", (long long)hi);
                x.type = "less_than_equal";
                x.ctx_key = "le";
                x.ctx_val = hi;
                fapi_err_add(e, &x);
                ok = false;
            } else {
                *has = true;
                *out = v;
            }
        }
    }
    return ok;
}

/* tool_input: object | null. */
static bool field_obj(fapi_errs *e, const json_doc *d, const char *key, strv *out)
{
    int t = json_obj_get(d, json_root(d), key);
    bool ok = true;
    *out = STRV_NULL;
    if ((t < 0) || json_is_null(d, t)) {
        /* null */
    } else if (json_type(d, t) != JSON_OBJECT) {
        fapi_err_type(e, d, t, key, -1, "dict_type", "Input should be a valid dictionary");
        ok = false;
    } else {
        *out = json_raw(d, t);
    }
    return ok;
}

/* content: array of objects | null; one entry per item that is not one. */
static bool field_content(fapi_errs *e, const json_doc *d, strv *out)
{
    int t = json_obj_get(d, json_root(d), "content");
    bool ok = true;
    *out = STRV_NULL;
    if ((t < 0) || json_is_null(d, t)) {
        /* null */
    } else if (json_type(d, t) != JSON_ARRAY) {
        fapi_err_type(e, d, t, "content", -1, "list_type", "Input should be a valid list");
        ok = false;
    } else {
        json_iter it = JSON_ITER_INIT;
        int v = -1;
        int i = 0;
        while (json_arr_next(d, t, &it, &v)) {
            if (json_type(d, v) != JSON_OBJECT) {
                fapi_err_type(e, d, v, "content", i, "dict_type",
                              "Input should be a valid dictionary");
                ok = false;
            }
            i++;
        }
        if (ok) {
            *out = json_raw(d, t);
        }
    }
    return ok;
}

/* ---- POST /events ----------------------------------------------------------- */

/* One pass of POST /events (hctx_render): validation writes a 422 entry by
 * entry, so a 422 larger than tx is written again from the same body for
 * each window; only a first pass that validates records the event. */
static void post_event_pass(hctx *h, const void *state)
{
    (void)state;
    static char s_type[UTF8_BYTES(EVENT_TYPE_MAX)];
    static char s_sid[UTF8_BYTES(SESSION_ID_MAX)];
    static char s_name[UTF8_BYTES(SESSION_NAME_MAX)];
    static char s_ts[UTF8_BYTES(TIMESTAMP_MAX)];
    static char s_tool[UTF8_BYTES(TOOL_NAME_MAX)];
    fapi_errs e;
    json_doc d;
    obs_event ev;
    strv tool_name = STRV_NULL;
    int t;
    st_t st;
    fapi_errs_init(&e, h);
    (void)memset(&ev, 0, sizeof ev);
    if (!fapi_body_object(h, &d, &e)) {
        (void)fapi_errs_end(&e);
        return;
    }
    /* model order; each call adds its own entries */
    (void)field_str(&e, &d, "event_type", true, 0u, EVENT_TYPE_MAX, s_type, sizeof s_type,
                    &ev.event_type);
    (void)field_str(&e, &d, "session_id", true, 1u, SESSION_ID_MAX, s_sid, sizeof s_sid,
                    &ev.session_id);
    (void)field_str(&e, &d, "session_name", true, 0u, SESSION_NAME_MAX, s_name,
                    sizeof s_name, &ev.session_name);
    (void)field_str(&e, &d, "timestamp", true, 0u, TIMESTAMP_MAX, s_ts, sizeof s_ts,
                    &ev.timestamp);
    /* tool_name is bounded, so decoded to check its length, but kept as
     * received like the other optional strings */
    if (field_str(&e, &d, "tool_name", false, 0u, TOOL_NAME_MAX, s_tool, sizeof s_tool,
                  &tool_name) && (tool_name.p != NULL)) {
        ev.tool_name = json_raw(&d, json_obj_get(&d, json_root(&d), "tool_name"));
    }
    (void)field_obj(&e, &d, "tool_input", &ev.tool_input);
    t = json_obj_get(&d, json_root(&d), "tool_output");
    if ((t >= 0) && !json_is_null(&d, t)) {
        ev.tool_output = json_raw(&d, t);
    }
    (void)field_str_raw(&e, &d, "error", &ev.error);
    (void)field_int(&e, &d, "exit_code", I64_MIN, INT64_MAX, &ev.has_exit_code,
                    &ev.exit_code);
    (void)field_str_raw(&e, &d, "reason", &ev.reason);
    (void)field_str_raw(&e, &d, "role", &ev.role);
    (void)field_content(&e, &d, &ev.content);
    (void)field_int(&e, &d, "pid", 1, PID_MAX, &ev.has_pid, &ev.pid);
    if (fapi_errs_end(&e)) {
        json_release(&d);
        return;
    }
    if (h->rerender) {
        /* a later pass of an answer that was not a 422: cannot happen */
        json_release(&d);
        internal(h, "event validation", ST_INVAL);
        return;
    }
    g_ev_buf = http_render_scratch(&g_ev_cap);   /* free until the answer is written */
    st = obs_record(&ev);
    g_ev_buf = NULL;
    json_release(&d);
    if (st != ST_OK) {
        internal(h, "recording an event", st);
        return;
    }
    fam_json_send(h, 200, "{\"ok\":true}");
}

static void post_event(hctx *h)
{
    hctx_render(h, post_event_pass, NULL, 0u);
}

/* ---- GET /sessions ---------------------------------------------------------- */

static sqlite3_stmt *sessions_query(const void *ctx, int64_t sent)
{
    sqlite3_stmt *q = store_stmt(STORE_OBS_SESSION_LIST);
    (void)ctx;
    if ((store_bind_int64(q, 1, -1) != ST_OK) || (store_bind_int64(q, 2, sent) != ST_OK)) {
        store_done(q);
        q = NULL;
    }
    return q;
}

static void list_sessions(hctx *h)
{
    int none = 0;
    fapi_list_stream(h, "{\"sessions\":[", "]}", sessions_query, session_row, &none,
                     sizeof none);
}

/* ---- GET /events/{session_id} ---------------------------------------------- */

typedef struct {
    int64_t anchor;       /* id of one event of the session */
    int64_t limit;
    int64_t offset;
} events_ctx;

static sqlite3_stmt *events_query(const void *ctx, int64_t sent)
{
    const events_ctx *ec = (const events_ctx *)ctx;
    sqlite3_stmt *q = store_stmt(STORE_OBS_EVENT_LIST);
    if ((store_bind_int64(q, 1, ec->anchor) != ST_OK) ||
        (store_bind_int64(q, 2, ec->limit - sent) != ST_OK) ||
        (store_bind_int64(q, 3, ec->offset + sent) != ST_OK)) {
        store_done(q);
        q = NULL;
    }
    return q;
}

static void event_row(sqlite3_stmt *q, json_w *w)
{
    json_w_obj_begin(w);
    fam_kcol_int(w, "id", q, 0);
    fam_kcol_str(w, "session_id", q, 1);
    fam_kcol_str(w, "event_type", q, 2);
    fam_kcol_str(w, "timestamp", q, 3);
    fam_kcol_raw(w, "tool_name", q, 4);
    fam_kcol_raw(w, "tool_input", q, 5);
    fam_kcol_raw(w, "tool_output", q, 6);
    fam_kcol_raw(w, "error", q, 7);
    fam_kcol_int(w, "exit_code", q, 8);
    fam_kcol_raw(w, "reason", q, 9);
    fam_kcol_raw(w, "role", q, 10);
    fam_kcol_raw(w, "content", q, 11);
    fam_kcol_int(w, "pid", q, 12);
    json_w_obj_end(w);
}

static void list_events(hctx *h)
{
    strv sid = hctx_param(h, 0u);
    events_ctx ec;
    fapi_errs e;
    sqlite3_stmt *q;
    bool row = false;
    bool session = false;
    st_t st;
    (void)memset(&ec, 0, sizeof ec);
    fapi_errs_init(&e, h);
    (void)fapi_query_int(h, &e, "limit", 1, EVENTS_LIMIT_MAX, EVENTS_LIMIT_DEFAULT, &ec.limit);
    (void)fapi_query_int(h, &e, "offset", 0, INT64_MAX, 0, &ec.offset);
    if (fapi_errs_end(&e)) {
        return;
    }
    st = session_get(sid, &q);
    if (st == ST_OK) {
        store_done(q);
        session = true;
    } else if (st == ST_NOTFOUND) {
        st = ST_OK;
    } else {
        /* storage error */
    }
    if (st == ST_OK) {
        q = store_stmt(STORE_OBS_EVENT_ANY);
        st = store_bind_text(q, 1, sid);
        if (st == ST_OK) {
            st = store_step(q, &row);
        }
        if ((st == ST_OK) && row) {
            ec.anchor = store_col_int64(q, 0);
        }
        store_done(q);
    }
    if (st != ST_OK) {
        internal(h, "events list", st);
    } else if (!row && !session) {
        not_found(h);
    } else if (!row) {
        fam_json_send(h, 200, "{\"events\":[]}");
    } else {
        fapi_list_stream(h, "{\"events\":[", "]}", events_query, event_row, &ec, sizeof ec);
    }
}

/* ---- PATCH /sessions/{session_id}/metadata ---------------------------------- */

/* The metadata update; ST_NOTFOUND for an unknown session. */
static st_t update_meta(strv sid, strv name, strv dir, strv agent)
{
    sqlite3_stmt *q = store_stmt(STORE_OBS_SESSION_META);
    st_t st = store_bind_text(q, 1, sid);
    if (st == ST_OK) {
        st = bind_opt_text(q, 2, name, false);
    }
    if (st == ST_OK) {
        st = bind_opt_text(q, 3, dir, false);
    }
    if (st == ST_OK) {
        st = bind_opt_text(q, 4, agent, false);
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
    (void)field_str(&e, &d, "session_name", false, 0u, SESSION_NAME_MAX, s_name,
                    sizeof s_name, &name);
    (void)field_str(&e, &d, "project_dir", false, 0u, PROJECT_DIR_MAX, s_dir, sizeof s_dir,
                    &dir);
    (void)field_str(&e, &d, "agent_name", false, 0u, AGENT_NAME_MAX, s_agent,
                    sizeof s_agent, &agent);
    json_release(&d);   /* the values live in the static buffers */
    if (fapi_errs_end(&e)) {
        return;
    }
    st = h->rerender ? ST_OK : update_meta(sid, name, dir, agent);
    if (st == ST_OK) {
        st = session_get(sid, &q);
    }
    if (st == ST_NOTFOUND) {
        not_found(h);
        return;
    }
    if (st != ST_OK) {
        internal(h, "session metadata", st);
        return;
    }
    fam_json_begin(h, 200, &w);
    json_w_obj_begin(&w);
    json_w_kbool(&w, "ok", true);
    json_w_key(&w, "session");
    session_row(q, &w);
    session_members(&w, q);   /* upstream's frontend reads a Session here */
    json_w_obj_end(&w);
    store_done(q);
    fam_json_end(h, &w);
    if (!h->rerender) {
        obs_publish(OBS_PUB_SESSION_UPDATED, NULL, sid);
    }
}

static void patch_session_meta(hctx *h)
{
    hctx_render(h, patch_pass, NULL, 0u);
}

/* ---- DELETE /sessions/{session_id} ----------------------------------------- */

static void delete_session(hctx *h)
{
    strv sid = hctx_param(h, 0u);
    uint64_t events = 0u;
    json_w w;
    st_t st = store_begin();
    if (st == ST_OK) {
        st = exec_1(STORE_OBS_SESSION_DELETE, sid);
    }
    if ((st == ST_OK) && (store_changes() == 0u)) {
        st = ST_NOTFOUND;
    }
    if (st == ST_OK) {
        st = exec_1(STORE_OBS_EVENT_DELETE_SESSION, sid);
        events = store_changes();
    }
    if (st == ST_OK) {
        st = store_commit();
    }
    if (st != ST_OK) {
        (void)store_rollback();
    }
    if (st == ST_NOTFOUND) {
        not_found(h);
        return;
    }
    if (st != ST_OK) {
        internal(h, "session delete", st);
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
    obs_publish(OBS_PUB_SESSION_DELETED, NULL, sid);
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

/* §5 process resolution: the latest event pid, if usable; 0: none. */
static int64_t stop_pid(strv sid)
{
    sqlite3_stmt *q = store_stmt(STORE_OBS_EVENT_LAST_PID);
    bool row = false;
    int64_t pid = 0;
    if ((store_bind_text(q, 1, sid) == ST_OK) && (store_step(q, &row) == ST_OK) && row) {
        pid = store_col_int64(q, 0);
    }
    store_done(q);
    /* Resolution step 2 (the rpg pane's Claude process) is not wired yet. */
    if ((pid <= 1) || (pid == port_proc_self()) || (port_proc_exists(pid) != ST_OK)) {
        pid = 0;
    }
    return pid;
}

static void stop_session(hctx *h)
{
    strv sid = hctx_param(h, 0u);
    char now[40];
    char msg[160];
    char status[16];
    sqlite3_stmt *q;
    int64_t pid;
    json_w w;
    st_t st = session_get(sid, &q);
    if (st == ST_NOTFOUND) {
        not_found(h);
        return;
    }
    if (st != ST_OK) {
        internal(h, "session stop", st);
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
    st = exec_2(STORE_OBS_SESSION_STOP, sid, strv_from_cstr(now));
    if (st != ST_OK) {
        internal(h, "session stop", st);
        return;
    }
    obs_publish(OBS_PUB_SESSION_UPDATED, NULL, sid);
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

/* ---- routes ------------------------------------------------------------------ */

static void health(hctx *h)
{
    fam_json_send(h, 200, "{\"status\":\"healthy\",\"service\":\"observability\"}");
}

static const route k_routes[] = {
    { RM_GET, "/health", health, ROUTE_OPEN },
    { RM(HTTP_M_POST), "/events", post_event, ROUTE_HOOK_BODY | ROUTE_BIG_OUT },
    { RM_GET, "/sessions", list_sessions, ROUTE_BIG_OUT },
    { RM_GET, "/events/{session_id}", list_events, ROUTE_BIG_OUT },
    { RM(HTTP_M_PATCH), "/sessions/{session_id}/metadata", patch_session_meta, ROUTE_BIG_OUT },
    { RM(HTTP_M_DELETE), "/sessions/{session_id}", delete_session, 0u },
    { RM(HTTP_M_POST), "/sessions/{session_id}/stop", stop_session, 0u },
    { RM_GET, "/ws", ws_connect, ROUTE_BIG_OUT },
};

void obs_setup(http_service *svc)
{
    fam_fastapi_setup(svc, "observability", k_routes, sizeof(k_routes) / sizeof(k_routes[0]),
                      false);
    stream_register(&g_ws);
}
