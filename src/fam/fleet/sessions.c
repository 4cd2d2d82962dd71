/*
 * sessions.c - chat sessions and messages (spec/fleet.md §5.4, models §2.4,
 * §2.5) and the fleet stats (§5.5).
 *
 * Sessions and messages are written by the chat stream; here they are read,
 * deleted and cleared. Rows are written to the response as they are
 * stepped; a storage error after the response began turns it into the
 * family's 500 (the half-written body is dropped).
 */
#include "fam/fleet/handlers.h"

#include <stdio.h>

#include "core/log.h"
#include "fam/fleet/api.h"
#include "fam/fleet/bot.h"
#include "fam/fleet/sql.h"
#include "fam/shared/fam.h"
#include "store/store.h"

#define SESSIONS_LIMIT_DEFAULT 50
#define MESSAGES_LIMIT_DEFAULT 100
#define PAGE_LIMIT_MAX 1000

/* ---- helpers ---------------------------------------------------------------- */

/* Any RFC 9562 UUID text -> lowercase hyphenated in out. */
static bool uuid_canonical(strv in, char out[UUID_STR_BYTES])
{
    uint8_t b[16];
    bool ok = uuid_parse(in, b);
    if (ok) {
        uuid_format(b, out);
    }
    return ok;
}

/* The {sid} path parameter as a canonical UUID; false: answered 400. */
static bool session_param(hctx *h, char sid[UUID_STR_BYTES])
{
    strv raw = hctx_param(h, 0u);
    if (!uuid_canonical(raw, sid)) {
        char msg[160];
        (void)snprintf(msg, sizeof msg, "Invalid UUID: %.*s",
                       (int)((raw.n < 100u) ? raw.n : 100u), raw.p);
        fleet_fail(h, 400, "VALIDATION_ERROR", msg);
        return false;
    }
    return true;
}

/* A ChatSession (§2.4) from a SESSION_* row. */
static void write_session(json_w *w, sqlite3_stmt *q)
{
    json_w_obj_begin(w);
    fam_kcol_str(w, "id", q, 0);
    fam_kcol_str(w, "bot_id", q, 1);
    fam_kcol_str(w, "title", q, 2);
    fam_kcol_str(w, "started_at", q, 3);
    fam_kcol_str(w, "ended_at", q, 4);
    json_w_ki64(w, "total_input_tokens", store_col_int64(q, 5));
    json_w_ki64(w, "total_output_tokens", store_col_int64(q, 6));
    json_w_ki64(w, "message_count", store_col_int64(q, 7));
    fam_kcol_str(w, "model", q, 8);
    fam_kcol_str(w, "status", q, 9);
    json_w_obj_end(w);
}

/* A ChatMessage (§2.5) from a MESSAGE_LIST row. */
static void write_message(json_w *w, sqlite3_stmt *q)
{
    json_w_obj_begin(w);
    fam_kcol_str(w, "id", q, 0);
    fam_kcol_str(w, "session_id", q, 1);
    fam_kcol_str(w, "role", q, 2);
    fam_kcol_str(w, "content", q, 3);
    fam_kcol_str(w, "created_at", q, 4);
    fam_kcol_int(w, "input_tokens", q, 5);
    fam_kcol_int(w, "output_tokens", q, 6);
    fam_kcol_str(w, "model", q, 7);
    fam_kcol_str(w, "stop_reason", q, 8);
    fam_kcol_int(w, "response_ms", q, 9);
    json_w_obj_end(w);
}

/* End a response whose rows were streamed; a storage error replaces it with
 * the family's 500. */
static void finish(hctx *h, json_w *w, st_t st, const fleet_link *links, size_t n)
{
    if (st != ST_OK) {
        LOG_E("fleet", "%s: reading rows: %s", "sessions", status_str(st));
        h->resp.overflow = true;
    }
    fleet_ok_end(h, w, links, n);
}

/* limit/offset query parameters; false: answered 400. */
static bool page_params(hctx *h, int64_t limit_default, int64_t *limit, int64_t *offset)
{
    bool present = false;
    *limit = limit_default;
    *offset = 0;
    if (!fleet_query_int(h, "limit", 1, PAGE_LIMIT_MAX, limit, &present)) {
        return false;
    }
    if (!present) {
        *limit = limit_default;
    }
    if (!fleet_query_int(h, "offset", 0, INT64_MAX, offset, &present)) {
        return false;
    }
    if (!present) {
        *offset = 0;
    }
    return true;
}

/* Does session sid exist? ST_OK / ST_NOTFOUND / storage error. */
static st_t session_exists(const char *sid)
{
    sqlite3_stmt *q = fleet_stmt(FLEET_SQL_SESSION_GET);
    bool row = false;
    st_t st = store_bind_text(q, 1, strv_from_cstr(sid));
    if (st == ST_OK) {
        st = store_step(q, &row);
    }
    store_done(q);
    if ((st == ST_OK) && !row) {
        st = ST_NOTFOUND;
    }
    return st;
}

/* Answer 404/500 for a session_exists result; true when it exists. */
static bool session_found(hctx *h, st_t st)
{
    if (st == ST_NOTFOUND) {
        fleet_fail(h, 404, "SESSION_NOT_FOUND", "Session not found");
        return false;
    }
    if (st != ST_OK) {
        fleet_internal(h, "session lookup", st);
        return false;
    }
    return true;
}

/* ---- handlers --------------------------------------------------------------- */

void sessions_list(hctx *h)
{
    static fleet_bot b;
    int64_t limit = 0;
    int64_t offset = 0;
    sqlite3_stmt *q;
    json_w w;
    bool row = false;
    st_t st;
    if (!bot_resolve(h, 0u, &b) || !page_params(h, SESSIONS_LIMIT_DEFAULT, &limit, &offset)) {
        return;
    }
    q = fleet_stmt(FLEET_SQL_SESSION_LIST_BY_BOT);
    st = store_bind_text(q, 1, strv_from_cstr(b.id));
    if (st == ST_OK) {
        st = store_bind_int64(q, 2, limit);
    }
    if (st == ST_OK) {
        st = store_bind_int64(q, 3, offset);
    }
    if (st != ST_OK) {
        store_done(q);
        fleet_internal(h, "sessions list", st);
        return;
    }
    fleet_ok_begin(h, 200, &w);
    json_w_arr_begin(&w);
    st = store_step(q, &row);
    while ((st == ST_OK) && row) {
        write_session(&w, q);
        st = store_step(q, &row);
    }
    store_done(q);
    json_w_arr_end(&w);
    {
        char self[96];
        fleet_link links[] = { { "self", bot_href(&b, "/sessions", self, sizeof self) } };
        finish(h, &w, st, links, 1u);
    }
}

void sessions_get(hctx *h)
{
    char sid[UUID_STR_BYTES];
    char self[80];
    char msgs[96];
    sqlite3_stmt *q;
    json_w w;
    bool row = false;
    st_t st;
    if (!session_param(h, sid)) {
        return;
    }
    q = fleet_stmt(FLEET_SQL_SESSION_GET);
    st = store_bind_text(q, 1, strv_from_cstr(sid));
    if (st == ST_OK) {
        st = store_step(q, &row);
    }
    if ((st == ST_OK) && !row) {
        st = ST_NOTFOUND;
    }
    if (!session_found(h, st)) {
        store_done(q);
        return;
    }
    (void)snprintf(self, sizeof self, "/api/v1/sessions/%s", sid);
    (void)snprintf(msgs, sizeof msgs, "/api/v1/sessions/%s/messages", sid);
    fleet_ok_begin(h, 200, &w);
    write_session(&w, q);
    store_done(q);
    {
        fleet_link links[] = { { "self", self }, { "messages", msgs } };
        fleet_ok_end(h, &w, links, 2u);
    }
}

/* Messages stream (fleet_list_stream): up to 1000 per page, each of any
 * length the chat produced. */
typedef struct {
    char sid[UUID_STR_BYTES];
    int64_t limit;
    int64_t offset;
} messages_ctx;

static sqlite3_stmt *messages_query(const void *ctx, int64_t sent)
{
    const messages_ctx *mc = (const messages_ctx *)ctx;
    sqlite3_stmt *q = fleet_stmt(FLEET_SQL_MESSAGE_LIST);
    if ((store_bind_text(q, 1, strv_from_cstr(mc->sid)) != ST_OK) ||
        (store_bind_int64(q, 2, mc->limit - sent) != ST_OK) ||
        (store_bind_int64(q, 3, mc->offset + sent) != ST_OK)) {
        store_done(q);
        return NULL;
    }
    return q;
}

static void messages_row(sqlite3_stmt *q, json_w *w)
{
    write_message(w, q);
}

void sessions_messages(hctx *h)
{
    char self[96];
    char sess[80];
    messages_ctx mc;
    if (!session_param(h, mc.sid) ||
        !page_params(h, MESSAGES_LIMIT_DEFAULT, &mc.limit, &mc.offset)) {
        return;
    }
    if (!session_found(h, session_exists(mc.sid))) {
        return;
    }
    (void)snprintf(self, sizeof self, "/api/v1/sessions/%s/messages", mc.sid);
    (void)snprintf(sess, sizeof sess, "/api/v1/sessions/%s", mc.sid);
    {
        fleet_link links[] = { { "self", self }, { "session", sess } };
        fleet_list_stream(h, messages_query, messages_row, &mc, sizeof mc, links, 2u);
    }
}

void sessions_delete(hctx *h)
{
    char sid[UUID_STR_BYTES];
    sqlite3_stmt *q;
    json_w w;
    st_t st;
    if (!session_param(h, sid)) {
        return;
    }
    /* chat_messages cascade with the session (foreign keys are on); one
     * statement, so nothing is ever half-deleted. */
    q = fleet_stmt(FLEET_SQL_SESSION_DELETE);
    st = store_bind_text(q, 1, strv_from_cstr(sid));
    if (st == ST_OK) {
        st = store_exec(q);
    }
    if ((st == ST_OK) && (store_changes() == 0u)) {
        st = ST_NOTFOUND;
    }
    if (!session_found(h, st)) {
        return;
    }
    fleet_ok_begin(h, 200, &w);
    json_w_obj_begin(&w);
    json_w_kbool(&w, "deleted", true);
    json_w_obj_end(&w);
    fleet_ok_end(h, &w, NULL, 0u);
}

/* Messages gone and message_count 0, in one transaction; token totals kept. */
static st_t clear_session(const char *sid)
{
    sqlite3_stmt *q;
    st_t st = store_begin();
    if (st != ST_OK) {
        return st;
    }
    q = fleet_stmt(FLEET_SQL_SESSION_CLEAR_COUNT);
    st = store_bind_text(q, 1, strv_from_cstr(sid));
    if (st == ST_OK) {
        st = store_exec(q);
    }
    if ((st == ST_OK) && (store_changes() == 0u)) {
        st = ST_NOTFOUND;
    }
    if (st == ST_OK) {
        q = fleet_stmt(FLEET_SQL_MESSAGE_DELETE_SESSION);
        st = store_bind_text(q, 1, strv_from_cstr(sid));
        if (st == ST_OK) {
            st = store_exec(q);
        }
    }
    if (st == ST_OK) {
        st = store_commit();
    }
    if (st != ST_OK) {
        (void)store_rollback();
    }
    return st;
}

void sessions_clear(hctx *h)
{
    char sid[UUID_STR_BYTES];
    json_w w;
    if (!session_param(h, sid)) {
        return;
    }
    if (!session_found(h, clear_session(sid))) {
        return;
    }
    fleet_ok_begin(h, 200, &w);
    json_w_obj_begin(&w);
    json_w_kbool(&w, "cleared", true);
    json_w_kstr(&w, "session_id", sid);
    json_w_obj_end(&w);
    fleet_ok_end(h, &w, NULL, 0u);
}

void sessions_stats(hctx *h)
{
    static const char *const k_keys[7] = {
        "total_bots", "active_bots", "disabled_bots", "archived_bots",
        "total_sessions", "active_sessions", "total_messages",
    };
    int64_t v[7] = { 0, 0, 0, 0, 0, 0, 0 };
    sqlite3_stmt *q = fleet_stmt(FLEET_SQL_STATS);
    bool row = false;
    json_w w;
    size_t i;
    st_t st = store_step(q, &row);
    if ((st == ST_OK) && !row) {
        st = ST_DB;
    }
    if (st == ST_OK) {
        for (i = 0u; i < 7u; i++) {
            v[i] = store_col_int64(q, (int)i);
        }
    }
    store_done(q);
    if (st != ST_OK) {
        fleet_internal(h, "stats", st);
        return;
    }
    fleet_ok_begin(h, 200, &w);
    json_w_obj_begin(&w);
    for (i = 0u; i < 7u; i++) {
        json_w_ki64(&w, k_keys[i], v[i]);
    }
    json_w_obj_end(&w);
    fleet_ok_end(h, &w, NULL, 0u);
}
