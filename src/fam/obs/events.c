/*
 * events.c - the observability family's events (spec/observability.md §3.2,
 * §3.4, §6): recording (obs_record), POST /events, GET /events/{id} and the
 * live updates to /ws.
 *
 * Implementation notes:
 * - POST /events is ROUTE_BIG_OUT: a 422 echoes the body (the "missing"
 *   entry's input is the whole object), rendered through hctx_render, so an
 *   answer larger than tx is written again, window by window.
 * - GET /events keeps, per part, the id of one event of the session as an
 *   anchor instead of the id text (fapi_list_stream).
 * - POST /events share the loop turn's transaction (store.h, the turn's
 *   batch): each event is one member (a savepoint: an event whose writes
 *   fail is answered 500 at once and the others go on), its `event`
 *   message is serialized into the stage (CFG_OBS_BATCH_BYTES) and its
 *   200 is written but held (hctx_hold). When the batch ends (the app's
 *   turn hook commits it; anything else using the store commits it
 *   earlier) batch_done publishes the staged messages in order and
 *   releases the answers; a batch that did not commit publishes nothing
 *   and closes its posters' connections unanswered: a client sees a 200
 *   only for an event that is committed, and retries the others. A full
 *   stage (or CFG_OBS_BATCH_EVENTS events) commits the batch early; an
 *   event whose message is larger than the whole stage is recorded alone
 *   (obs_record: its own transaction, after the batch's commit, its
 *   message in the render scratch, answered at once; a message larger
 *   than the scratch is refused 413 before anything is written, so every
 *   recorded event is broadcast).
 * - obs_record is also how hooks.c records the events of a Claude Code
 *   hook posted to rpg (Decision 9), its messages in the part of the
 *   render scratch hooks.c gives it.
 * - Every live update is serialized once onto the event ring, delivered to
 *   /ws clients by http/stream (a client whose queue passes
 *   observability.ws_max_buffer_bytes, or that the ring overtakes, is
 *   closed with 1013): an `event` message by obs_record or the batch, in
 *   the caller's room (it echoes a body of up to 1 MiB), the session
 *   messages by obs_publish, in a static buffer sized for the largest
 *   Session.
 * - /ws sends `init` (the sessions, as GET /sessions) as its first message,
 *   produced straight into tx like the list.
 */
#include "fam/obs/obs_int.h"

#include <string.h>

#include "bus/ring.h"
#include "core/log.h"
#include "net/conn.h"
#include "fam/shared/fam.h"
#include "http/stream.h"

/* ---- recording events (§3.2) --------------------------------------------- */

static bool is_ws(char ch)
{
    return (ch == ' ') || (ch == '\t') || (ch == '\n') || (ch == '\r');
}

bool obs_json_falsy(strv v)
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

st_t obs_bind_opt_text(sqlite3_stmt *q, int idx, strv v, bool drop_empty)
{
    st_t st;
    if ((v.p == NULL) || (drop_empty && obs_json_falsy(v))) {
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
    sqlite3_stmt *q = obs_stmt(OBS_SQL_EVENT_INSERT);
    st_t st = store_bind_text(q, 1, ev->session_id);
    if (st == ST_OK) {
        st = store_bind_text(q, 2, ev->event_type);
    }
    if (st == ST_OK) {
        st = store_bind_text(q, 3, ev->timestamp);
    }
    if (st == ST_OK) {
        st = obs_bind_opt_text(q, 4, ev->tool_name, false);
    }
    if (st == ST_OK) {
        st = obs_bind_opt_text(q, 5, ev->tool_input, true);
    }
    if (st == ST_OK) {
        st = obs_bind_opt_text(q, 6, ev->tool_output, true);
    }
    if (st == ST_OK) {
        st = obs_bind_opt_text(q, 7, ev->error, false);
    }
    if (st == ST_OK) {
        st = bind_opt_int(q, 8, ev->has_exit_code, ev->exit_code);
    }
    if (st == ST_OK) {
        st = obs_bind_opt_text(q, 9, ev->reason, false);
    }
    if (st == ST_OK) {
        st = obs_bind_opt_text(q, 10, ev->role, false);
    }
    if (st == ST_OK) {
        st = obs_bind_opt_text(q, 11, ev->content, true);
    }
    if (st == ST_OK) {
        st = bind_opt_int(q, 12, ev->has_pid, ev->pid);
    }
    if (st == ST_OK) {
        st = store_exec(q);
    }
    return st;
}

/* What recording ev writes (§3.2): the session's start or stop, the event,
 * modified_at. Inside a transaction the caller opened. */
static st_t record_writes(const obs_event *ev)
{
    st_t st = ST_OK;
    if (strv_eq_cstr(ev->event_type, "session_start")) {
        sqlite3_stmt *q = obs_stmt(OBS_SQL_SESSION_START);
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
        st = obs_exec_1(OBS_SQL_SESSION_FINISH, ev->session_id);
    } else {
        /* other types: stored and broadcast, no session effect */
    }
    if (st == ST_OK) {
        st = insert_event(ev);
    }
    if (st == ST_OK) {
        st = obs_exec_2(OBS_SQL_SESSION_TOUCH, ev->session_id, ev->timestamp);
    }
    return st;
}

static void event_message(json_w *w, const obs_event *ev);

size_t obs_event_message(const obs_event *ev, char *msg, size_t cap)
{
    json_w w;
    size_t n = 0u;
    json_w_init(&w, msg, cap);
    event_message(&w, ev);
    if (json_w_finish(&w, &n) != ST_OK) {
        n = 0u;
    }
    return n;
}

st_t obs_record(const obs_event *ev, char *msg, size_t cap)
{
    size_t n = obs_event_message(ev, msg, cap);
    st_t st;
    if (n == 0u) {
        return ST_TOOBIG;   /* nothing written: every recorded event is broadcast */
    }
    st = store_begin();
    if (st == ST_OK) {
        st = record_writes(ev);
    }
    if (st == ST_OK) {
        st = store_commit();
    }
    if (st != ST_OK) {
        (void)store_rollback();
    } else {
        st_t pst = ring_publish(OBS_TOPIC, RING_PRIO_NORMAL, msg, n, NULL);
        if (pst != ST_OK) {
            LOG_W("obs", "live update of an event not sent: %s", status_str(pst));
        }
    }
    return st;
}

/* ---- the turn's batch ------------------------------------------------------ */

/* One event of the open batch: the hold on its poster's answer and its
 * `event` message in the stage. */
typedef struct {
    uint32_t hold;
    uint32_t off;
    uint32_t n;
} batch_event;

static char g_stage[CFG_OBS_BATCH_BYTES];
static size_t g_stage_used;
static batch_event g_batch[CFG_OBS_BATCH_EVENTS];
static size_t g_nbatch;

_Static_assert(((sizeof g_stage) + (sizeof g_batch)) <= OBS_BATCH_STATIC_BYTES,
               "OBS_BATCH_STATIC_BYTES is the plan of the batch");
_Static_assert(CFG_OBS_BATCH_BYTES <= 0xFFFFFFFFu, "stage offsets are 32-bit");

/* The store's word on the batch (store_batch_fn): committed, every event
 * is broadcast, in the order received, and its answer let go; rolled back,
 * every poster's connection is closed unanswered (the client retries). */
static void batch_done(st_t st)
{
    size_t i;
    for (i = 0u; i < g_nbatch; i++) {
        const batch_event *b = &g_batch[i];
        if (st == ST_OK) {
            st_t pst = ring_publish(OBS_TOPIC, RING_PRIO_NORMAL, g_stage + b->off, b->n, NULL);
            if (pst != ST_OK) {
                LOG_W("obs", "live update of an event not sent: %s", status_str(pst));
            }
        }
        conn_tx_release(b->hold, st == ST_OK);
    }
    if ((st != ST_OK) && (g_nbatch > 0u)) {
        LOG_W("obs", "%u event(s) not committed (%s): their connections close unanswered",
              (unsigned)g_nbatch, status_str(st));
    }
    g_nbatch = 0u;
    g_stage_used = 0u;
}

/* Serialize ev's `event` message into the stage's free room: its length,
 * or 0 when it does not fit. */
static size_t stage_message(const obs_event *ev)
{
    return obs_event_message(ev, g_stage + g_stage_used, (sizeof g_stage) - g_stage_used);
}

/* Record ev as a member of the turn's batch and hold h's answer until the
 * batch commits (batch_done). ST_TOOBIG: its message does not fit even an
 * empty stage (the caller records it alone). Other errors: ev is not
 * stored (the batch goes on without it). */
static st_t record_in_batch(hctx *h, const obs_event *ev)
{
    size_t n = 0u;
    size_t at;
    st_t st;
    if (g_nbatch < (size_t)CFG_OBS_BATCH_EVENTS) {
        n = stage_message(ev);
    }
    if ((n == 0u) && (g_nbatch > 0u)) {
        /* the stage is full: this batch ends here, a new one starts */
        (void)store_batch_commit();
        n = stage_message(ev);
    }
    if (n == 0u) {
        return ST_TOOBIG;
    }
    at = g_stage_used;
    st = store_batch_join(batch_done);
    if (st == ST_OK) {
        st = store_batch_leave(record_writes(ev));
    }
    if (st == ST_OK) {
        if (g_stage_used != at) {
            /* the batch it was staged for ended at the join (the store
             * commits early when its owner list is full): the stage was
             * emptied, the message moves to the front of the new batch */
            (void)memmove(g_stage + g_stage_used, g_stage + at, n);
        }
        uint32_t hold = hctx_hold(h);
        g_batch[g_nbatch].hold = hold;
        g_batch[g_nbatch].off = (uint32_t)g_stage_used;
        g_batch[g_nbatch].n = (uint32_t)n;
        g_nbatch++;
        g_stage_used += n;
        if (hold == CONN_HOLD_NONE) {
            /* nothing to hold the answer with: it may only follow a commit */
            st = store_batch_commit();
        }
    }
    return st;
}

/* ---- live updates (§6) -------------------------------------------------------- */

static stream_policy g_ws = {
    .name = "observability /ws",
    .topics = OBS_TOPIC,
    .priorities = false,
    .lag_skips = false,
    .max_queue_bytes = 1048576u,
    .close_code = WS_CLOSE_TRY_LATER,
    .heartbeat_ms = 20000u,
    .pong_timeout_ms = 20000u,
    .max_message = CFG_WS_MAX_MESSAGE,  /* the client sends nothing it needs */
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
 * (§6): the session as stored now, or its deletion. A message that cannot
 * be built is logged and not sent. */
void obs_publish(obs_pub kind, strv session_id)
{
    static char s_msg[SESSION_MSG_BYTES];
    json_w w;
    size_t n = 0u;
    st_t st = ST_OK;
    if (kind == OBS_PUB_SESSION_DELETED) {
        json_w_init(&w, s_msg, sizeof s_msg);
        json_w_obj_begin(&w);
        json_w_kstr(&w, "type", "session_deleted");
        json_w_kstrn(&w, "session_id", session_id.p, session_id.n);
        json_w_obj_end(&w);
    } else {
        sqlite3_stmt *q;
        json_w_init(&w, s_msg, sizeof s_msg);
        st = obs_session_get(session_id, &q);
        if (st == ST_OK) {
            json_w_obj_begin(&w);
            json_w_kstr(&w, "type", "session_updated");
            json_w_key(&w, "session");
            obs_session_row(q, &w);
            json_w_obj_end(&w);
            store_done(q);
        }
    }
    if (st == ST_OK) {
        st = json_w_finish(&w, &n);
    }
    if (st == ST_OK) {
        st = ring_publish(OBS_TOPIC, RING_PRIO_NORMAL, s_msg, n, NULL);
    }
    if (st != ST_OK) {
        LOG_W("obs", "live update for session %.*s not sent: %s",
              (int)((session_id.n < 64u) ? session_id.n : 64u), session_id.p, status_str(st));
    }
}

/* ---- GET /ws ------------------------------------------------------------------ */

sqlite3_stmt *obs_sessions_query(const void *ctx, int64_t sent);

void obs_ws_connect(hctx *h)
{
    int none = 0;
    stream_sub *s = hctx_ws_accept(h, &g_ws);
    fapi_list_ws_snapshot(h, s, "{\"type\":\"init\",\"sessions\":[", "]}", obs_sessions_query,
                          obs_session_row, &none, sizeof none);
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
    (void)obs_field_str(&e, &d, "event_type", true, 0u, EVENT_TYPE_MAX, s_type, sizeof s_type,
                    &ev.event_type);
    (void)obs_field_str(&e, &d, "session_id", true, 1u, SESSION_ID_MAX, s_sid, sizeof s_sid,
                    &ev.session_id);
    (void)obs_field_str(&e, &d, "session_name", true, 0u, SESSION_NAME_MAX, s_name,
                    sizeof s_name, &ev.session_name);
    (void)obs_field_str(&e, &d, "timestamp", true, 0u, TIMESTAMP_MAX, s_ts, sizeof s_ts,
                    &ev.timestamp);
    /* tool_name is bounded, so decoded to check its length, but kept as
     * received like the other optional strings */
    if (obs_field_str(&e, &d, "tool_name", false, 0u, TOOL_NAME_MAX, s_tool, sizeof s_tool,
                  &tool_name) && (tool_name.p != NULL)) {
        ev.tool_name = json_raw(&d, json_obj_get(&d, json_root(&d), "tool_name"));
    }
    (void)obs_field_obj(&e, &d, "tool_input", &ev.tool_input);
    t = json_obj_get(&d, json_root(&d), "tool_output");
    if ((t >= 0) && !json_is_null(&d, t)) {
        ev.tool_output = json_raw(&d, t);
    }
    (void)obs_field_str_raw(&e, &d, "error", &ev.error);
    (void)obs_field_int(&e, &d, "exit_code", I64_MIN, INT64_MAX, &ev.has_exit_code,
                    &ev.exit_code);
    (void)obs_field_str_raw(&e, &d, "reason", &ev.reason);
    (void)obs_field_str_raw(&e, &d, "role", &ev.role);
    (void)obs_field_content(&e, &d, &ev.content);
    (void)obs_field_int(&e, &d, "pid", 1, PID_MAX, &ev.has_pid, &ev.pid);
    if (fapi_errs_end(&e)) {
        json_release(&d);
        return;
    }
    if (h->rerender) {
        /* a later pass of an answer that was not a 422: cannot happen */
        json_release(&d);
        obs_internal(h, "event validation", ST_INVAL);
        return;
    }
    st = record_in_batch(h, &ev);
    if (st == ST_TOOBIG) {
        /* larger than the stage: alone, in a transaction of its own, after
         * the batch (committed by store_begin), its message built in the
         * render scratch (free until the answer is written) */
        size_t cap = 0u;
        char *msg = http_render_scratch(&cap);
        st = obs_record(&ev, msg, cap);
    }
    json_release(&d);
    if (st == ST_TOOBIG) {
        fam_fastapi_error(h, 413, "PAYLOAD_TOO_LARGE", "Request body too large");
        return;
    }
    if (st != ST_OK) {
        obs_internal(h, "recording an event", st);
        return;
    }
    fam_json_send(h, 200, "{\"ok\":true}");
}

void obs_post_event(hctx *h)
{
    hctx_render(h, post_event_pass, NULL, 0u);
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
    sqlite3_stmt *q = obs_stmt(OBS_SQL_EVENT_LIST);
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

void obs_list_events(hctx *h)
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
    st = obs_session_get(sid, &q);
    if (st == ST_OK) {
        store_done(q);
        session = true;
    } else if (st == ST_NOTFOUND) {
        st = ST_OK;
    } else {
        /* storage error */
    }
    if (st == ST_OK) {
        q = obs_stmt(OBS_SQL_EVENT_ANY);
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
        obs_internal(h, "events list", st);
    } else if (!row && !session) {
        obs_not_found(h);
    } else if (!row) {
        fam_json_send(h, 200, "{\"events\":[]}");
    } else {
        fapi_list_stream(h, "{\"events\":[", "]}", events_query, event_row, &ec, sizeof ec);
    }
}

void obs_streams(const fam_env *env)
{
    obs_set_ws((uint32_t)env->num("observability.ws_heartbeat_ms"),
               env->num("observability.ws_max_buffer_bytes"));
    stream_register(&g_ws);
}
