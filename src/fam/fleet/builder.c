/*
 * builder.c - the fleet builder's turns, drafts, REST routes and
 * WebSocket (contract in builder.h; texts in bturn.h; assemble and skill
 * installation in bmake.h).
 *
 * Implementation notes:
 * - A turn owns one of CFG_ENGINE_CALLS slots from the request that starts
 *   it until its answer is written: the draft as loaded, the prompt and
 *   messages (chat heap), the engine call, and who waits for it (a REST
 *   request parked with hctx_later, or a WebSocket subscriber, cleared
 *   when that socket closes; a `resume` on a new socket of the session
 *   while the turn still runs takes its place). The slot is found by
 *   session id to refuse a second turn of the same session.
 * - The engine calls done in a later turn; done parses the reply, retries
 *   once, then writes the draft in one transaction and answers. A REST
 *   answer is rendered by http_answer_later straight from the slot.
 * - The answers recorded in a draft are rows; the prompt shows the last
 *   five of them (with the one being recorded); Back drops the rows of the
 *   phase it returns to, whose questions Forge asks again.
 * - WebSocket messages arrive as frames (on_data); a fragmented message is
 *   joined in the chat heap. The heartbeat is one timer for every builder
 *   socket (a fixed table of CFG_BUILDER_WS).
 */
#include "fam/fleet/builder.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/timer.h"
#include "core/utf8.h"
#include "core/uuid.h"
#include "engine/agent.h"
#include "engine/call.h"
#include "fam/fleet/api.h"
#include "fam/fleet/bmake.h"
#include "fam/fleet/bot.h"
#include "fam/fleet/bturn.h"
#include "fam/fleet/fleet.h"
#include "fam/fleet/skilllib.h"
#include "fam/fleet/sql.h"
#include "fam/shared/metrics.h"
#include "http/stream.h"
#include "store/store.h"

#define MOD "builder"
#define DESC_MAX_CHARS 4000u
#define SKILL_DESC_MAX_CHARS 2000u
#define QA_SHOWN 5u
#define QA_SCAN 50
#define ERR_BYTES 640u
#define TURN_MAX_TOKENS 2048
#define TURN_TEMPERATURE 0.7
#define SKILL_MAX_TOKENS 4096
#define SKILL_TEMPERATURE 0.4
#define PROMPT_BASE_BYTES (32u * 1024u)

static const char k_no_draft_ws[] = "No active session. Send StartBot or StartSkill first.";
static const char k_busy[] = "a turn is already running for this session";
static const char k_full[] = "no builder slot free, try again";

typedef enum { TK_START = 0, TK_ANSWER, TK_RECONF, TK_SKILL } turn_kind;

typedef struct {
    bool used;
    bool retried;
    bool back;                 /* the answer is Back */
    bool record;               /* an answer is recorded with the turn */
    bool dropped;              /* the draft was deleted meanwhile: not saved */
    bool wasm;                 /* TK_SKILL */
    turn_kind kind;
    bmode mode;
    bphase phase;              /* the draft's phase before the turn */
    bphase answered_in;        /* the phase the recorded answer belongs to */
    char sid[UUID_STR_BYTES];
    char skill_name[SKILLMD_NAME_MAX + 1u];
    chat_buf history;          /* phases left behind, space-separated */
    chat_buf desc;             /* initial description */
    chat_buf config;           /* JSON object */
    chat_buf last;             /* the draft's last turn */
    chat_buf question;         /* the recorded pair */
    chat_buf answer;
    chat_buf system;
    chat_buf user;
    chat_buf bad;              /* the invalid first reply */
    chat_buf retry;            /* the retry's user message */
    chat_buf caps;             /* TK_SKILL: the capabilities asked for (JSON) */
    chat_buf out;              /* the turn as sent, or the generated SKILL.md */
    chat_buf src;              /* TK_SKILL: the generated source */
    llm_msg msgs[3];
    eng_call_req req;
    eng_call *call;
    uint32_t token;            /* REST: the parked request (0: none) */
    stream_sub *ws;            /* WebSocket: the subscriber (NULL: none) */
    bturn_info info;
    bskill_reply skill;
    int64_t count;             /* question_count after the turn */
    int status;                /* the REST error status, 0: success */
    char err[ERR_BYTES];
} bslot;

/* What a builder socket keeps (the subscriber's user area). */
typedef struct {
    char sid[UUID_STR_BYTES];
    bool skill_mode;
    int32_t index;             /* in g_ws */
    chat_buf frag;             /* a fragmented message being joined */
} bconn;

_Static_assert(sizeof(bconn) <= STREAM_USER_BYTES, "bconn must fit the user area");

typedef struct {
    uint64_t turns;
    uint64_t turn_errors;
    uint64_t retries;
    uint64_t busy;
    uint64_t refused;
    uint64_t assembled;
    uint64_t skills;
    uint64_t ws_opened;
    uint64_t ws_refused;
} bstats_t;

static bslot g_slots[CFG_ENGINE_CALLS];
static stream_sub *g_ws[CFG_BUILDER_WS];
static bstats_t g_stats;
static char g_provider[CFG_CONF_NAME_BYTES];
static char g_model[CFG_CONF_VALUE_BYTES];
static uint32_t g_heartbeat_ms = 30000u;
static timer_id g_beat = TIMER_NONE;
/* assemble's results (REST, WebSocket) and the config merge's tokens */
static bmake_result g_res;
static bmake_result g_ws_res;
static jsmntok_t g_toks[512];

_Static_assert((sizeof(g_slots) + sizeof(g_ws) + sizeof(g_stats) + sizeof(g_provider) +
                sizeof(g_model) + sizeof(g_heartbeat_ms) + sizeof(g_beat) + sizeof(g_res) +
                sizeof(g_ws_res) + sizeof(g_toks) + sizeof(stream_policy)) <=
                   FLEET_BUILDER_STATIC_BYTES,
               "FLEET_BUILDER_STATIC_BYTES is this file's share of the plan (fleet.h)");
_Static_assert(sizeof(bmake_result) <= FLEET_BMAKE_RESULT_BYTES, "FLEET_BMAKE_RESULT_BYTES");

static void ws_on_data(stream_sub *s, const ws_frame *f);
static void ws_on_close(stream_sub *s);

static stream_policy g_policy = {
    .name = "fleet /ws/builder",
    .topics = 0u,
    .priorities = false,
    .lag_skips = true,
    .pause_bytes = 0u,
    .resume_bytes = 0u,
    .max_queue_bytes = 0u,
    .close_code = WS_CLOSE_TRY_LATER,
    .heartbeat_ms = 30000u,
    .pong_timeout_ms = 60000u,
    .max_message = BUILDER_WS_MAX_MESSAGE,
    .on_text = NULL,
    .on_data = ws_on_data,
    .on_close = ws_on_close,
    .on_writable = NULL,
    .on_skip = NULL,
    .on_resume = NULL,
};

/* ---- small helpers ------------------------------------------------------------ */

/* b = p[0..n), NUL-terminated (the terminator not counted). */
static bool buf_set(chat_buf *b, const char *p, size_t n)
{
    bool ok;
    b->n = 0u;
    ok = chat_buf_add(b, (p != NULL) ? p : "", n) && chat_buf_add(b, "", 1u);
    if (ok) {
        b->n -= 1u;
    }
    return ok;
}

static bool buf_cstr(chat_buf *b, const char *s)
{
    return buf_set(b, s, strlen(s));
}

static strv view(const chat_buf *b)
{
    return (strv){ (b->p != NULL) ? b->p : "", b->n };
}

static const char *cstr(const chat_buf *b)
{
    return (b->p != NULL) ? b->p : "";
}

/* A canonical session id from path parameter 0; false: answered 400. */
static bool path_sid(hctx *h, char sid[UUID_STR_BYTES])
{
    strv p = hctx_param(h, 0u);
    uint8_t b[16];
    if (!uuid_parse(p, b)) {
        fleet_fail(h, 400, "VALIDATION_ERROR", "Invalid session_id format");
        return false;
    }
    uuid_format(b, sid);
    return true;
}

static void no_draft(hctx *h, const char *sid)
{
    char msg[96];
    (void)snprintf(msg, sizeof msg, "No draft found for session %s", sid);
    fleet_fail(h, 404, "DRAFT_NOT_FOUND", msg);
}

static bslot *slot_of(const char *sid)
{
    size_t i;
    for (i = 0u; i < (size_t)CFG_ENGINE_CALLS; i++) {
        if (g_slots[i].used && (strcmp(g_slots[i].sid, sid) == 0)) {
            return &g_slots[i];
        }
    }
    return NULL;
}

static bslot *slot_new(const char *sid)
{
    size_t i;
    for (i = 0u; i < (size_t)CFG_ENGINE_CALLS; i++) {
        if (!g_slots[i].used) {
            bslot *s = &g_slots[i];
            (void)memset(s, 0, sizeof *s);
            s->used = true;
            (void)memcpy(s->sid, sid, UUID_STR_BYTES);
            return s;
        }
    }
    g_stats.refused++;
    return NULL;
}

static void slot_free(bslot *s)
{
    eng_call_cancel(s->call);
    chat_buf_free(&s->history);
    chat_buf_free(&s->desc);
    chat_buf_free(&s->config);
    chat_buf_free(&s->last);
    chat_buf_free(&s->question);
    chat_buf_free(&s->answer);
    chat_buf_free(&s->system);
    chat_buf_free(&s->user);
    chat_buf_free(&s->bad);
    chat_buf_free(&s->retry);
    chat_buf_free(&s->caps);
    chat_buf_free(&s->out);
    chat_buf_free(&s->src);
    (void)memset(s, 0, sizeof *s);
}

/* ---- drafts ------------------------------------------------------------------ */

static st_t bind_sid(sqlite3_stmt *q, const char *sid)
{
    return store_bind_text(q, 1, strv_from_cstr(sid));
}

static bool col_copy(sqlite3_stmt *q, int col, chat_buf *b)
{
    const char *p = (const char *)sqlite3_column_text(q, col);
    size_t n = (size_t)sqlite3_column_bytes(q, col);
    return buf_set(b, p, (p != NULL) ? n : 0u);
}

/* Load the draft of s->sid into s. ST_NOTFOUND when there is none. */
static st_t draft_load(bslot *s)
{
    sqlite3_stmt *q = fleet_stmt(FLEET_SQL_DRAFT_GET);
    bool row = false;
    st_t st = bind_sid(q, s->sid);
    if (st == ST_OK) {
        st = store_step(q, &row);
    }
    if ((st == ST_OK) && !row) {
        st = ST_NOTFOUND;
    }
    if (st == ST_OK) {
        const char *mode = (const char *)sqlite3_column_text(q, 0);
        const char *phase = (const char *)sqlite3_column_text(q, 2);
        bool skill = (mode != NULL) && (strcmp(mode, "skill") == 0);
        bool reconf = (sqlite3_column_int(q, 1) != 0);
        s->mode = BMODE_BOT;
        if (skill) {
            s->mode = BMODE_SKILL;
        } else if (reconf) {
            s->mode = BMODE_RECONFIGURE;
        } else {
            /* a new bot */
        }
        if ((phase == NULL) || !bphase_parse(strv_from_cstr(phase), &s->phase)) {
            s->phase = BPHASE_BASICS;
        }
        if (!col_copy(q, 3, &s->history) || !col_copy(q, 4, &s->desc) ||
            !col_copy(q, 5, &s->last) || !col_copy(q, 6, &s->config)) {
            st = ST_NOMEM;
        }
    }
    store_done(q);
    return st;
}

static bool draft_exists(const char *sid, bool *skill)
{
    sqlite3_stmt *q = fleet_stmt(FLEET_SQL_DRAFT_GET);
    bool row = false;
    st_t st = bind_sid(q, sid);
    if (st == ST_OK) {
        st = store_step(q, &row);
    }
    if ((st == ST_OK) && row && (skill != NULL)) {
        const char *mode = (const char *)sqlite3_column_text(q, 0);
        *skill = (mode != NULL) && (strcmp(mode, "skill") == 0);
    }
    store_done(q);
    return (st == ST_OK) && row;
}

static st_t exec_sid(fleet_sql_id id, const char *sid)
{
    sqlite3_stmt *q = fleet_stmt(id);
    st_t st = bind_sid(q, sid);
    if (st == ST_OK) {
        st = store_exec(q);
    } else {
        store_done(q);
    }
    return st;
}

static st_t draft_delete(const char *sid)
{
    bslot *s = slot_of(sid);
    if (s != NULL) {
        s->dropped = true;     /* a turn running for it will not save it again */
    }
    return exec_sid(FLEET_SQL_DRAFT_DELETE, sid);
}

static st_t answers_count(const char *sid, int64_t *n)
{
    sqlite3_stmt *q = fleet_stmt(FLEET_SQL_DRAFT_ANSWERS_COUNT);
    bool row = false;
    st_t st = bind_sid(q, sid);
    *n = 0;
    if (st == ST_OK) {
        st = store_step(q, &row);
    }
    if ((st == ST_OK) && row) {
        *n = sqlite3_column_int64(q, 0);
    }
    store_done(q);
    return st;
}

/* The phase before the current one (the last word of history; history
 * is built by history_push: names joined by single spaces). */
static bool history_last(const chat_buf *h, bphase *out)
{
    const char *start;
    if ((h->p == NULL) || (h->n == 0u)) {
        return false;
    }
    start = strrchr(h->p, (int)' ');
    start = (start != NULL) ? &start[1] : h->p;
    if (out != NULL) {
        return bphase_parse(strv_from_cstr(start), out);
    }
    return true;
}

static void history_pop(chat_buf *h)
{
    char *sp;
    if ((h->p == NULL) || (h->n == 0u)) {
        return;
    }
    sp = strrchr(h->p, (int)' ');
    if (sp != NULL) {
        ptrdiff_t at = sp - h->p;
        *sp = '\0';
        h->n = (size_t)at;
    } else {
        h->p[0] = '\0';
        h->n = 0u;
    }
}

static bool history_push(chat_buf *h, bphase p)
{
    const char *name = bphase_name(p);
    size_t old = h->n;
    bool ok = ((old == 0u) || chat_buf_add(h, " ", 1u)) && chat_buf_add(h, name, strlen(name)) &&
              chat_buf_add(h, "", 1u);
    if (ok) {
        h->n--;
    }
    return ok;
}

/* The config after a turn: a show_preview's non-empty fields replace the
 * gathered ones, a ready_to_assemble's config replaces it all. */
static bool config_update(bslot *s)
{
    json_doc turn;
    json_err e;
    chat_buf next = { NULL, 0u, 0u };
    bool ok = true;
    int src;
    if ((s->info.action != BT_PREVIEW) && (s->info.action != BT_READY)) {
        return true;
    }
    if (json_parse(&turn, s->out.p, s->out.n, &e) != ST_OK) {
        return false;
    }
    src = json_obj_get(&turn, json_root(&turn),
                       (s->info.action == BT_READY) ? "config" : "preview");
    if (src < 0) {
        json_release(&turn);
        return false;
    }
    if (s->info.action == BT_READY) {
        strv raw = json_raw(&turn, src);
        ok = buf_set(&next, raw.p, raw.n);
    } else {
        static const char *const keys[] = { "name", "description", "personality_summary",
                                            "model", "skills" };
        json_doc old;
        json_w w;
        json_iter it = JSON_ITER_INIT;
        int k;
        int v;
        size_t cap = s->config.n + s->out.n + 64u;
        next.p = (char *)heap_alloc(&g_chat_heap, cap);
        ok = (next.p != NULL) &&
             (json_parse_into(&old, cstr(&s->config), s->config.n, g_toks,
                              (unsigned)(sizeof(g_toks) / sizeof(g_toks[0])), &e) == ST_OK) &&
             (json_type(&old, json_root(&old)) == JSON_OBJECT);
        if (ok) {
            size_t i;
            next.cap = cap;
            json_w_init(&w, next.p, cap);
            json_w_obj_begin(&w);
            while (json_obj_next(&old, json_root(&old), &it, &k, &v)) {
                bool replaced = false;
                for (i = 0u; i < (sizeof(keys) / sizeof(keys[0])); i++) {
                    int nv = json_obj_get(&turn, src, keys[i]);
                    bool empty = (nv < 0) || json_is_null(&turn, nv) ||
                                 ((json_type(&turn, nv) == JSON_ARRAY) &&
                                  (json_arr_len(&turn, nv) == 0));
                    if (!empty && json_str_eq(&old, k, keys[i])) {
                        replaced = true;
                    }
                }
                if (!replaced) {
                    strv kr = json_raw(&old, k);
                    strv vr = json_raw(&old, v);
                    json_w_keyn(&w, kr.p, kr.n);
                    json_w_raw(&w, vr.p, vr.n);
                }
            }
            for (i = 0u; i < (sizeof(keys) / sizeof(keys[0])); i++) {
                int nv = json_obj_get(&turn, src, keys[i]);
                if ((nv >= 0) && !json_is_null(&turn, nv) &&
                    !((json_type(&turn, nv) == JSON_ARRAY) && (json_arr_len(&turn, nv) == 0))) {
                    strv vr = json_raw(&turn, nv);
                    json_w_key(&w, keys[i]);
                    json_w_raw(&w, vr.p, vr.n);
                }
            }
            json_w_obj_end(&w);
            ok = (json_w_finish(&w, &next.n) == ST_OK);
            json_release(&old);
        }
    }
    json_release(&turn);
    if (ok) {
        chat_buf_free(&s->config);
        s->config = next;
    } else {
        chat_buf_free(&next);
    }
    return ok;
}

static st_t put_draft(const bslot *s, const char *now)
{
    sqlite3_stmt *q = fleet_stmt(FLEET_SQL_DRAFT_PUT);
    st_t st = bind_sid(q, s->sid);
    if (st == ST_OK) {
        st = store_bind_text(q, 2, strv_from_cstr((s->mode == BMODE_SKILL) ? "skill" : "bot"));
    }
    if (st == ST_OK) {
        st = store_bind_int64(q, 3, (s->mode == BMODE_RECONFIGURE) ? 1 : 0);
    }
    if (st == ST_OK) {
        st = store_bind_text(q, 4, strv_from_cstr(bphase_name(s->phase)));
    }
    if (st == ST_OK) {
        st = store_bind_text(q, 5, view(&s->history));
    }
    if (st == ST_OK) {
        st = store_bind_text(q, 6, view(&s->desc));
    }
    if (st == ST_OK) {
        st = store_bind_text(q, 7, view(&s->out));
    }
    if (st == ST_OK) {
        st = store_bind_text(q, 8, (s->config.n > 0u) ? view(&s->config) : strv_from_cstr("{}"));
    }
    if (st == ST_OK) {
        st = store_bind_text(q, 9, strv_from_cstr(now));
    }
    if (st == ST_OK) {
        st = store_exec(q);
    } else {
        store_done(q);
    }
    return st;
}

static st_t drop_answers(const bslot *s, bphase p)
{
    sqlite3_stmt *q = fleet_stmt(FLEET_SQL_DRAFT_ANSWERS_DROP);
    st_t st = bind_sid(q, s->sid);
    if (st == ST_OK) {
        st = store_bind_text(q, 2, strv_from_cstr(bphase_name(p)));
    }
    if (st == ST_OK) {
        st = store_exec(q);
    } else {
        store_done(q);
    }
    return st;
}

static st_t add_answer(const bslot *s)
{
    sqlite3_stmt *q = fleet_stmt(FLEET_SQL_DRAFT_ANSWER_ADD);
    st_t st = bind_sid(q, s->sid);
    if (st == ST_OK) {
        st = store_bind_text(q, 2, strv_from_cstr(bphase_name(s->answered_in)));
    }
    if (st == ST_OK) {
        st = store_bind_text(q, 3, view(&s->question));
    }
    if (st == ST_OK) {
        st = store_bind_text(q, 4, view(&s->answer));
    }
    if (st == ST_OK) {
        st = store_exec(q);
    } else {
        store_done(q);
    }
    return st;
}

/* Save the draft after a successful turn, in one transaction. */
static st_t draft_save(bslot *s)
{
    char now[40];
    st_t st;
    (void)clock_format(clock_wall_us(), CLOCK_FMT_OFF6, now, sizeof now);
    if (s->back) {
        bphase prev = BPHASE_BASICS;
        (void)history_last(&s->history, &prev);
        history_pop(&s->history);
        s->phase = prev;
    }
    if (s->info.has_phase && (s->info.phase != s->phase)) {
        if (!history_push(&s->history, s->phase)) {
            return ST_NOMEM;
        }
        s->phase = s->info.phase;
    }
    if (!config_update(s)) {
        return ST_NOMEM;
    }
    st = store_begin();
    if (st != ST_OK) {
        return st;
    }
    if ((s->kind == TK_START) || (s->kind == TK_RECONF)) {
        st = exec_sid(FLEET_SQL_DRAFT_ANSWERS_CLEAR, s->sid);
    }
    if ((st == ST_OK) && s->back) {
        st = drop_answers(s, s->phase);    /* its questions are asked again */
    }
    if ((st == ST_OK) && s->record) {
        st = add_answer(s);
    }
    if (st == ST_OK) {
        st = put_draft(s, now);
    }
    if (st == ST_OK) {
        st = answers_count(s->sid, &s->count);
    }
    if (st == ST_OK) {
        st = store_commit();
    }
    if (st != ST_OK) {
        (void)store_rollback();
    }
    return st;
}

/* ---- prompts ------------------------------------------------------------------ */

/* The last recorded pairs (and the one being recorded) as views into mem. */
static st_t load_pairs(bslot *s, chat_buf *mem, bqa qa[QA_SHOWN], size_t *nqa)
{
    sqlite3_stmt *q = fleet_stmt(FLEET_SQL_DRAFT_ANSWERS_LAST);
    size_t off[QA_SHOWN][3];
    size_t len[QA_SHOWN][3];
    bphase ph[QA_SHOWN];
    size_t n = 0u;
    size_t want = QA_SHOWN;
    bphase prev = s->phase;
    bool row = true;
    st_t st = ST_OK;
    size_t i;
    *nqa = 0u;
    if (s->record) {
        want = QA_SHOWN - 1u;   /* and the pair being recorded */
    }
    if (s->kind != TK_ANSWER) {
        want = 0u;      /* a new draft has no pairs */
    }
    if (s->back) {
        (void)history_last(&s->history, &prev);
    }
    if (want > 0u) {
        st = bind_sid(q, s->sid);
        if (st == ST_OK) {
            st = store_bind_int64(q, 2, QA_SCAN);
        }
        while ((st == ST_OK) && (n < want)) {
            st = store_step(q, &row);
            if ((st != ST_OK) || !row) {
                break;
            }
            {
                const char *pn = (const char *)sqlite3_column_text(q, 0);
                bphase p = BPHASE_BASICS;
                int c;
                if ((pn == NULL) || !bphase_parse(strv_from_cstr(pn), &p) ||
                    (s->back && (p == prev))) {
                    continue;
                }
                ph[n] = p;
                for (c = 1; c <= 2; c++) {
                    const char *t = (const char *)sqlite3_column_text(q, c);
                    size_t tn = (t != NULL) ? (size_t)sqlite3_column_bytes(q, c) : 0u;
                    off[n][c] = mem->n;
                    len[n][c] = tn;
                    if (!chat_buf_add(mem, (t != NULL) ? t : "", tn)) {
                        st = ST_NOMEM;
                    }
                }
                n++;
            }
        }
    }
    store_done(q);
    if (st != ST_OK) {
        return st;
    }
    /* oldest first, then the pair being recorded */
    for (i = 0u; i < n; i++) {
        size_t k = n - 1u - i;
        qa[i].phase = ph[k];
        qa[i].question = (strv){ &mem->p[off[k][1]], len[k][1] };
        qa[i].answer = (strv){ &mem->p[off[k][2]], len[k][2] };
    }
    if (s->record) {
        qa[n].phase = s->phase;
        qa[n].question = view(&s->question);
        qa[n].answer = view(&s->answer);
        n++;
    }
    *nqa = n;
    return ST_OK;
}

static st_t build_system(bslot *s)
{
    chat_buf mem = { NULL, 0u, 0u };
    bqa qa[QA_SHOWN];
    bprompt p;
    size_t cap;
    size_t len = 0u;
    st_t st = ST_OK;
    (void)memset(&p, 0, sizeof p);
    if (s->kind == TK_SKILL) {
        cap = PROMPT_BASE_BYTES;
    } else {
        st = load_pairs(s, &mem, qa, &p.nqa);
        cap = PROMPT_BASE_BYTES + s->desc.n + s->config.n + mem.n + s->question.n +
              s->answer.n;
    }
    chat_buf_free(&s->system);
    if (st == ST_OK) {
        s->system.p = (char *)heap_alloc(&g_chat_heap, cap);
        st = (s->system.p == NULL) ? ST_NOMEM : ST_OK;
        s->system.cap = cap;
    }
    if ((st == ST_OK) && (s->kind == TK_SKILL)) {
        st = bprompt_skill_system(s->wasm, s->system.p, cap, &len);
    } else if (st == ST_OK) {
        bphase shown = s->phase;
        if (s->back) {
            (void)history_last(&s->history, &shown);
        }
        p.mode = s->mode;
        p.initial_description = view(&s->desc);
        p.phase = shown;
        p.qa = qa;
        p.config = ((s->config.n > 2u) ? view(&s->config) : STRV_NULL);
        st = bprompt_system(&p, s->system.p, cap, &len);
    } else {
        /* st set */
    }
    s->system.n = len;
    if ((st == ST_OK) && (len > 0u)) {
        char *shrunk = (char *)heap_realloc(&g_chat_heap, s->system.p, len + 1u);
        if (shrunk != NULL) {
            s->system.p = shrunk;
            s->system.cap = len + 1u;
        }
    }
    chat_buf_free(&mem);
    return st;
}

/* ---- the turn ----------------------------------------------------------------- */

static void turn_done(void *ctx, const eng_call_result *r);
static void deliver(bslot *s);

/* Start (or retry) s's call. */
static st_t call_start(bslot *s)
{
    size_t n = 1u;
    s->msgs[0].role = strv_from_cstr("user");
    s->msgs[0].content = view(&s->user);
    if (s->retried) {
        s->msgs[1].role = strv_from_cstr("assistant");
        s->msgs[1].content = view(&s->bad);
        s->msgs[2].role = strv_from_cstr("user");
        s->msgs[2].content = view(&s->retry);
        n = 3u;
    }
    (void)memset(&s->req, 0, sizeof s->req);
    s->req.provider = g_provider;
    s->req.model = strv_from_cstr(g_model);
    s->req.max_tokens = (s->kind == TK_SKILL) ? (int64_t)SKILL_MAX_TOKENS
                                              : (int64_t)TURN_MAX_TOKENS;
    s->req.temperature = (s->kind == TK_SKILL) ? SKILL_TEMPERATURE : TURN_TEMPERATURE;
    s->req.system = view(&s->system);
    s->req.msgs = s->msgs;
    s->req.nmsgs = n;
    s->req.what = (s->kind == TK_SKILL) ? "builder skill generation" : "builder turn";
    s->req.reply_bytes = 0u;
    if (s->kind == TK_SKILL) {
        s->req.reply_bytes = CFG_ENGINE_REPLY_BYTES;
    }
    s->req.json_object = true;   /* §10.1: where the provider has the mode */
    return eng_call_start(&s->req, turn_done, s, &s->call);
}

/* Begin s's turn (s->user set). false: answered/told already (s freed). */
static st_t turn_begin(bslot *s)
{
    st_t st = build_system(s);
    if (st == ST_OK) {
        st = call_start(s);
    }
    if (st == ST_OK) {
        g_stats.turns++;
    }
    return st;
}

/* The turn failed: prefix + reason is the message. */
static void fail(bslot *s, int status, const char *prefix, const char *reason)
{
    s->status = status;
    (void)snprintf(s->err, sizeof s->err, "%s%s", prefix, reason);
    g_stats.turn_errors++;
    deliver(s);
}

static bool retry(bslot *s, strv reply, const char *reason)
{
    int k;
    if (s->retried) {
        return false;
    }
    k = snprintf(s->err, sizeof s->err,
                 "Your previous reply was not valid %s JSON (%s). Reply again with only the "
                 "JSON object.",
                 (s->kind == TK_SKILL) ? "skill" : "BuilderTurn", reason);
    if ((k <= 0) || !buf_set(&s->bad, reply.p, reply.n) || !buf_cstr(&s->retry, s->err)) {
        return false;
    }
    s->err[0] = '\0';
    s->retried = true;
    g_stats.retries++;
    return call_start(s) == ST_OK;
}

static void skill_done(bslot *s, strv reply)
{
    char reason[256];
    size_t mcap = (2u * reply.n) + 1024u;   /* bturn.h: md also keeps the description */
    st_t st;
    chat_buf_free(&s->out);
    chat_buf_free(&s->src);
    s->out.p = (char *)heap_alloc(&g_chat_heap, mcap);
    s->src.p = (char *)heap_alloc(&g_chat_heap, reply.n + 1u);
    if ((s->out.p == NULL) || (s->src.p == NULL)) {
        fail(s, 503, "", "the chat heap is full");
        return;
    }
    s->out.cap = mcap;
    s->src.cap = reply.n + 1u;
    reason[0] = '\0';
    st = bskill_parse(reply.p, reply.n, strv_from_cstr(s->skill_name), s->wasm, s->out.p, mcap,
                      s->src.p, reply.n + 1u, &s->skill, reason, sizeof reason);
    if ((st == ST_OK) && (s->skill.md_len > CFG_FLEET_SKILL_MD_BYTES)) {
        st = ST_BAD;
        (void)snprintf(reason, sizeof reason, "SKILL.md larger than %u bytes",
                       CFG_FLEET_SKILL_MD_BYTES);
    }
    if (st != ST_OK) {
        if (reason[0] == '\0') {
            (void)snprintf(reason, sizeof reason, "%s", status_str(st));
        }
        if (!retry(s, reply, reason)) {
            fail(s, 500, "Skill parse error: ", reason);
        }
        return;
    }
    s->out.n = s->skill.md_len;
    s->src.n = s->skill.src_len;
    st = skilllib_install(s->skill_name, view(&s->out),
                          s->wasm ? view(&s->src) : STRV_NULL);
    if (st != ST_OK) {
        fail(s, 500, "installing the skill failed: ", status_str(st));
        return;
    }
    (void)draft_delete(s->sid);
    g_stats.skills++;
    LOG_I(MOD, "session %s: skill %s generated (%s)", s->sid, s->skill_name,
          s->wasm ? "wasm" : "local");
    deliver(s);
}

static void turn_done(void *ctx, const eng_call_result *r)
{
    bslot *s = (bslot *)ctx;
    char reason[256];
    size_t cap = BUILDER_TURN_MAX_BYTES + 1u;
    st_t st;
    s->call = NULL;
    if (!r->ok) {
        fail(s, 500, "", r->error);
        return;
    }
    if (s->kind == TK_SKILL) {
        skill_done(s, r->text);
        return;
    }
    chat_buf_free(&s->out);
    s->out.p = (char *)heap_alloc(&g_chat_heap, cap);
    if (s->out.p == NULL) {
        fail(s, 503, "", "the chat heap is full");
        return;
    }
    s->out.cap = cap;
    reason[0] = '\0';
    st = bturn_parse(r->text.p, r->text.n, s->out.p, cap, &s->out.n, &s->info, reason,
                     sizeof reason);
    if (st == ST_TOOBIG) {
        (void)snprintf(reason, sizeof reason, "the turn is larger than %u bytes",
                       (unsigned)BUILDER_TURN_MAX_BYTES);
    }
    if (st != ST_OK) {
        if (!retry(s, r->text, reason)) {
            fail(s, 500, "Builder parse error: ", reason);
        }
        return;
    }
    if (!s->dropped) {
        st = draft_save(s);
        if (st != ST_OK) {
            fail(s, 500, "saving the draft failed: ", status_str(st));
            return;
        }
    }
    deliver(s);
}

/* ---- answers ------------------------------------------------------------------ */

static void write_turn_data(json_w *w, const bslot *s)
{
    json_w_obj_begin(w);
    if (s->kind == TK_SKILL) {
        json_w_key(w, "result");
        json_w_obj_begin(w);
        json_w_kstr(w, "name", s->skill_name);
        json_w_kstrn(w, "description", s->skill.description.p, s->skill.description.n);
        json_w_kstrn(w, "skill_md_content", s->out.p, s->out.n);
        json_w_kbool(w, "has_source_code", s->wasm);
        json_w_key(w, "suggested_capabilities");
        json_w_arr_begin(w);
        {
            size_t i;
            for (i = 0u; i < SKILLMD_CAP_COUNT; i++) {
                if ((s->skill.caps & (1u << i)) != 0u) {
                    json_w_cstr(w, skillmd_cap_name(i));
                }
            }
        }
        json_w_arr_end(w);
        json_w_obj_end(w);
    } else if (s->kind == TK_ANSWER) {
        json_w_key(w, "turn");
        json_w_raw(w, s->out.p, s->out.n);
        json_w_key(w, "state_summary");
        json_w_obj_begin(w);
        json_w_kstr(w, "phase", bphase_name(s->phase));
        json_w_ki64(w, "question_count", s->count);
        json_w_obj_end(w);
    } else {
        json_w_kstr(w, "session_id", s->sid);
        json_w_kstr(w, "mode", (s->mode == BMODE_SKILL) ? "skill" : "bot");
        json_w_key(w, "turn");
        json_w_raw(w, s->out.p, s->out.n);
    }
    json_w_obj_end(w);
}

static void rest_render(hctx *h, const void *state)
{
    const bslot *s = *(const bslot *const *)state;
    char self[96];
    char other[128];
    fleet_link links[2];
    size_t nl = 1u;
    json_w w;
    if (s->status != 0) {
        if (s->status == 503) {
            hctx_header(h, "Retry-After", "1");
        }
        fleet_fail(h, s->status, (s->status == 503) ? "SERVICE_UNAVAILABLE" : "INTERNAL_ERROR",
                   s->err);
        return;
    }
    (void)snprintf(self, sizeof self, "/api/v1/builder/sessions/%s", s->sid);
    links[0] = (fleet_link){ "self", self };
    if (s->kind == TK_START) {
        (void)snprintf(other, sizeof other, "/api/v1/builder/sessions/%s/answer", s->sid);
        links[1] = (fleet_link){ "answer", other };
        nl = 2u;
    } else if (s->kind == TK_SKILL) {
        (void)snprintf(other, sizeof other, "/api/v1/skills/%s", s->skill_name);
        links[0] = (fleet_link){ "skill", other };
    } else if (s->kind == TK_ANSWER) {
        nl = 0u;
    } else {
        /* reconfigure: self */
    }
    fleet_ok_begin(h, 200, &w);
    write_turn_data(&w, s);
    fleet_ok_end(h, &w, links, nl);
}

static void ws_send_error(stream_sub *ws, const char *msg);

/* The WebSocket message of s's outcome. */
static void ws_deliver(bslot *s)
{
    size_t cap = s->out.n + s->src.n + 2048u;
    char *buf = (char *)heap_alloc(&g_chat_heap, cap);
    json_w w;
    size_t len = 0u;
    if (s->status != 0) {
        char msg[ERR_BYTES + 32u];
        (void)snprintf(msg, sizeof msg, "%s: %s",
                       (s->kind == TK_SKILL) ? "Skill generation failed" : "Builder error",
                       s->err);
        heap_free(&g_chat_heap, buf);
        ws_send_error(s->ws, msg);
        return;
    }
    if (buf == NULL) {
        ws_send_error(s->ws, "Builder error: the chat heap is full");
        return;
    }
    json_w_init(&w, buf, cap);
    json_w_obj_begin(&w);
    if (s->kind == TK_SKILL) {
        size_t i;
        json_w_kstr(&w, "type", "skill_created");
        json_w_key(&w, "result");
        json_w_obj_begin(&w);
        json_w_kstr(&w, "name", s->skill_name);
        json_w_kstrn(&w, "description", s->skill.description.p, s->skill.description.n);
        json_w_kbool(&w, "has_source_code", s->wasm);
        json_w_key(&w, "suggested_capabilities");
        json_w_arr_begin(&w);
        for (i = 0u; i < SKILLMD_CAP_COUNT; i++) {
            if ((s->skill.caps & (1u << i)) != 0u) {
                json_w_cstr(&w, skillmd_cap_name(i));
            }
        }
        json_w_arr_end(&w);
        json_w_obj_end(&w);
    } else {
        json_w_kstr(&w, "type", "turn");
        json_w_key(&w, "turn");
        json_w_raw(&w, s->out.p, s->out.n);
    }
    json_w_obj_end(&w);
    if (json_w_finish(&w, &len) == ST_OK) {
        st_t st = stream_send_text(s->ws, buf, len);
        if (st == ST_FULL) {
            LOG_W(MOD, "session %s: no room for the answer on the socket: closing it", s->sid);
            stream_close(s->ws, WS_CLOSE_TRY_LATER, "no room for the answer");
        }
    }
    heap_free(&g_chat_heap, buf);
}

/* Tell whoever waits, then free the slot. */
static void deliver(bslot *s)
{
    if (s->token != 0u) {
        const bslot *p = s;
        if (!http_answer_later(s->token, rest_render, &p)) {
            LOG_I(MOD, "session %s: the client left before its answer", s->sid);
        }
    } else if (s->ws != NULL) {
        ws_deliver(s);
    } else {
        LOG_I(MOD, "session %s: turn completed with no client waiting%s", s->sid,
              (s->status == 0) ? " (saved)" : "");
    }
    slot_free(s);
}

/* Refuse s's turn that could not start; s is freed. */
static void begin_failed(hctx *h, bslot *s, st_t st)
{
    if (st == ST_NOTFOUND) {
        fleet_fail(h, 500, "INTERNAL_ERROR",
                   "No LLM provider configured for the builder (llm.providers)");
    } else if ((st == ST_FULL) || (st == ST_NOMEM)) {
        hctx_header(h, "Retry-After", "1");
        fleet_fail(h, 503, "SERVICE_UNAVAILABLE",
                   (st == ST_FULL) ? "No builder slot free, try again" : "The chat heap is full");
    } else {
        fleet_internal(h, "builder turn", st);
    }
    slot_free(s);
}

/* A slot for a REST turn of sid; NULL: answered (busy or full). */
static bslot *rest_slot(hctx *h, const char *sid)
{
    bslot *s;
    if (slot_of(sid) != NULL) {
        char msg[128];
        g_stats.busy++;
        (void)snprintf(msg, sizeof msg, "A builder turn is already running for session %s",
                       sid);
        hctx_header(h, "Retry-After", "1");
        fleet_fail(h, 503, "SERVICE_UNAVAILABLE", msg);
        return NULL;
    }
    s = slot_new(sid);
    if (s == NULL) {
        hctx_header(h, "Retry-After", "1");
        fleet_fail(h, 503, "SERVICE_UNAVAILABLE", "No builder slot free, try again");
    }
    return s;
}

static void rest_begin(hctx *h, bslot *s)
{
    st_t st = turn_begin(s);
    if (st != ST_OK) {
        begin_failed(h, s, st);
        return;
    }
    s->token = hctx_later(h);
}

/* ---- request bodies ------------------------------------------------------------ */

/* A string field of 1..max characters into b; false: reason written. */
static bool text_field(const json_doc *d, int obj, const char *key, size_t max_chars,
                       chat_buf *b, char *reason, size_t rcap)
{
    int t = json_obj_get(d, obj, key);
    size_t n = 0u;
    strv raw;
    if ((t < 0) || (json_type(d, t) != JSON_STRING)) {
        (void)snprintf(reason, rcap, "Invalid field '%s': %s", key,
                       (t < 0) ? "missing" : "expected a string");
        return false;
    }
    raw = json_raw(d, t);
    chat_buf_free(b);
    b->p = (char *)heap_alloc(&g_chat_heap, raw.n + 1u);
    if ((b->p == NULL) || (json_get_str(d, t, b->p, raw.n + 1u, &n) != ST_OK)) {
        (void)snprintf(reason, rcap, "Invalid field '%s': cannot be read", key);
        return false;
    }
    b->cap = raw.n + 1u;
    b->n = n;
    if ((n == 0u) || (fleet_chars(b->p, n) > max_chars)) {
        (void)snprintf(reason, rcap, "Invalid field '%s': must be 1-%u characters", key,
                       (unsigned)max_chars);
        return false;
    }
    return true;
}

/* Read an answer into s (user message, recorded pair); false: reason.
 * d is released once the answer is out of it (the last turn is parsed
 * next, with the shared token pool): the caller must not use d after. */
static bool read_answer(bslot *s, json_doc *d, int tok, char *reason, size_t rcap)
{
    banswer a;
    char label[1024];
    size_t ln = 0u;
    size_t cap = ((size_t)BANSWER_TEXT_MAX_CHARS * 4u) + 1u;
    char *text = (char *)heap_alloc(&g_chat_heap, cap);
    st_t st;
    bool ok = false;
    if (text == NULL) {
        (void)snprintf(reason, rcap, "the chat heap is full");
        return false;
    }
    st = banswer_parse(d, tok, &a, text, cap, reason, rcap);
    json_release(d);
    if (st == ST_OK) {
        if (a.kind == BA_BACK) {
            s->back = true;
            if (!history_last(&s->history, NULL)) {
                (void)snprintf(reason, rcap, "Builder state: cannot go back from the first phase");
                st = ST_BAD;
            }
        } else if (a.kind == BA_OPTION) {
            st = bturn_option_label(s->last.p, s->last.n, a.index, label, sizeof label, &ln);
            if (st != ST_OK) {
                (void)snprintf(reason, rcap,
                               "Invalid field 'answer': option index %u is not an option of the "
                               "current question",
                               (unsigned)a.index);
                st = ST_BAD;
            }
        } else {
            /* text or confirm */
        }
    }
    if (st == ST_OK) {
        size_t mcap = cap + sizeof(label) + 64u;
        chat_buf_free(&s->user);
        s->user.p = (char *)heap_alloc(&g_chat_heap, mcap);
        s->user.cap = mcap;
        st = (s->user.p == NULL) ? ST_NOMEM
                                 : banswer_message(&a, text, (strv){ label, ln }, s->user.p, mcap,
                                                   &s->user.n);
        if (st != ST_OK) {
            (void)snprintf(reason, rcap, "the chat heap is full");
        }
    }
    if ((st == ST_OK) && !s->back) {
        size_t qcap = s->last.n + 1u;
        s->record = true;
        s->answered_in = s->phase;
        ok = buf_set(&s->answer, s->user.p, s->user.n);
        chat_buf_free(&s->question);
        s->question.p = (char *)heap_alloc(&g_chat_heap, qcap);
        s->question.cap = qcap;
        ok = ok && (s->question.p != NULL) &&
             (bturn_question(s->last.p, s->last.n, s->question.p, qcap, &s->question.n) ==
              ST_OK);
        if (!ok) {
            (void)snprintf(reason, rcap, "the chat heap is full");
        }
    } else {
        ok = (st == ST_OK);
    }
    heap_free(&g_chat_heap, text);
    return ok;
}

/* ---- REST --------------------------------------------------------------------- */

void builder_start(hctx *h)
{
    json_doc d;
    char sid[UUID_STR_BYTES];
    char reason[160];
    bslot *s = NULL;
    int mode;
    bool ok;
    if (!fleet_body(h, &d)) {
        return;
    }
    if (uuid_v7(sid) == ST_OK) {
        s = rest_slot(h, sid);
    } else {
        fleet_internal(h, "session id", ST_INTERNAL);
    }
    if (s == NULL) {
        json_release(&d);
        return;
    }
    ok = text_field(&d, json_root(&d), "description", DESC_MAX_CHARS, &s->desc, reason,
                    sizeof reason);
    mode = json_obj_get(&d, json_root(&d), "mode");
    if (ok && (mode >= 0) && !json_is_null(&d, mode) && (json_type(&d, mode) != JSON_STRING)) {
        (void)snprintf(reason, sizeof reason, "Invalid field 'mode': expected a string");
        ok = false;
    }
    s->mode = ((mode >= 0) && json_str_eq(&d, mode, "skill")) ? BMODE_SKILL : BMODE_BOT;
    json_release(&d);
    if (!ok) {
        slot_free(s);
        fleet_fail(h, 400, "VALIDATION_ERROR", reason);
        return;
    }
    s->kind = TK_START;
    s->phase = BPHASE_BASICS;
    if (!buf_set(&s->user, s->desc.p, s->desc.n) || !buf_cstr(&s->config, "{}") ||
        !buf_cstr(&s->history, "")) {
        begin_failed(h, s, ST_NOMEM);
        return;
    }
    rest_begin(h, s);
}

void builder_answer(hctx *h)
{
    char sid[UUID_STR_BYTES];
    char reason[256];
    json_doc d;
    bslot *s;
    int a;
    st_t st;
    if (!path_sid(h, sid)) {
        return;
    }
    if (!draft_exists(sid, NULL)) {
        no_draft(h, sid);
        return;
    }
    if (!fleet_body(h, &d)) {
        return;
    }
    s = rest_slot(h, sid);
    if (s == NULL) {
        json_release(&d);
        return;
    }
    s->kind = TK_ANSWER;
    st = draft_load(s);
    if (st != ST_OK) {
        json_release(&d);
        slot_free(s);
        if (st == ST_NOTFOUND) {
            no_draft(h, sid);
        } else {
            fleet_internal(h, "draft load", st);
        }
        return;
    }
    a = json_obj_get(&d, json_root(&d), "answer");
    if (a < 0) {
        (void)snprintf(reason, sizeof reason, "Invalid field 'answer': missing");
    }
    if ((a < 0) || !read_answer(s, &d, a, reason, sizeof reason)) {
        json_release(&d);
        slot_free(s);
        fleet_fail(h, 400, "VALIDATION_ERROR", reason);
        return;
    }
    json_release(&d);
    rest_begin(h, s);
}

void builder_reconfigure(hctx *h)
{
    char sid[UUID_STR_BYTES];
    char slug[(FLEET_SLUG_MAX * 4u) + 8u];
    json_doc d;
    size_t n = 0u;
    bslot *s;
    st_t st;
    int t;
    if (!path_sid(h, sid) || !fleet_body(h, &d)) {
        return;
    }
    t = json_obj_get(&d, json_root(&d), "bot_slug");
    if ((t < 0) || (json_type(&d, t) != JSON_STRING) ||
        (json_get_str(&d, t, slug, sizeof slug, &n) != ST_OK)) {
        json_release(&d);
        fleet_bad_field(h, "bot_slug", (t < 0) ? "missing" : "expected a bot slug or id");
        return;
    }
    json_release(&d);
    s = rest_slot(h, sid);
    if (s == NULL) {
        return;
    }
    s->kind = TK_RECONF;
    s->mode = BMODE_RECONFIGURE;
    s->phase = BPHASE_BASICS;
    st = bmake_current(strv_from_cstr(slug), &s->config, &s->desc, &s->user);
    if (st == ST_NOTFOUND) {
        slot_free(s);
        fleet_fail(h, 404, "BOT_NOT_FOUND", "Bot not found");
        return;
    }
    if ((st != ST_OK) || !buf_cstr(&s->history, "")) {
        begin_failed(h, s, (st == ST_OK) ? ST_NOMEM : st);
        return;
    }
    rest_begin(h, s);
}

/* The skill request at tok into s; false: reason. */
static bool read_skill_request(bslot *s, const json_doc *d, int tok, char *reason, size_t rcap)
{
    int t;
    int caps;
    char name[(SKILLMD_NAME_MAX * 4u) + 8u];
    size_t n = 0u;
    if ((tok < 0) || (json_type(d, tok) != JSON_OBJECT)) {
        (void)snprintf(reason, rcap, "Invalid field 'skill_request': %s",
                       (tok < 0) ? "missing" : "expected an object");
        return false;
    }
    t = json_obj_get(d, tok, "name");
    if ((t < 0) || (json_type(d, t) != JSON_STRING) ||
        (json_get_str(d, t, name, sizeof name, &n) != ST_OK) ||
        !skillmd_name_ok((strv){ name, n })) {
        (void)snprintf(reason, rcap,
                       "Invalid field 'name': must match ^[a-z0-9][a-z0-9-]{0,63}$");
        return false;
    }
    (void)memcpy(s->skill_name, name, n);
    s->skill_name[n] = '\0';
    if (!text_field(d, tok, "description", SKILL_DESC_MAX_CHARS, &s->desc, reason, rcap)) {
        return false;
    }
    t = json_obj_get(d, tok, "skill_type");
    if ((t >= 0) && !json_is_null(d, t) && (json_type(d, t) != JSON_STRING)) {
        (void)snprintf(reason, rcap, "Invalid field 'skill_type': expected a string");
        return false;
    }
    s->wasm = !((t >= 0) && json_str_eq(d, t, "local"));
    caps = json_obj_get(d, tok, "capabilities");
    if ((caps >= 0) && !json_is_null(d, caps)) {
        json_iter it = JSON_ITER_INIT;
        int v;
        strv raw;
        if (json_type(d, caps) != JSON_ARRAY) {
            (void)snprintf(reason, rcap, "Invalid field 'capabilities': expected an array");
            return false;
        }
        while (json_arr_next(d, caps, &it, &v)) {
            if (json_type(d, v) != JSON_STRING) {
                (void)snprintf(reason, rcap,
                               "Invalid field 'capabilities': expected an array of strings");
                return false;
            }
        }
        raw = json_raw(d, caps);
        if (!buf_set(&s->caps, raw.p, raw.n)) {
            (void)snprintf(reason, rcap, "the chat heap is full");
            return false;
        }
    }
    return true;
}

/* Prepare s's skill generation (the request read). */
static st_t skill_prepare(bslot *s)
{
    size_t cap = s->desc.n + s->caps.n + 2048u;
    chat_buf_free(&s->user);
    s->user.p = (char *)heap_alloc(&g_chat_heap, cap);
    if (s->user.p == NULL) {
        return ST_NOMEM;
    }
    s->user.cap = cap;
    s->kind = TK_SKILL;
    s->mode = BMODE_SKILL;
    return bprompt_skill_user(strv_from_cstr(s->skill_name), view(&s->desc), s->wasm,
                              view(&s->caps), s->user.p, cap, &s->user.n);
}

void builder_create_skill(hctx *h)
{
    char sid[UUID_STR_BYTES];
    char reason[160];
    json_doc d;
    bslot *s;
    bool ok;
    st_t st;
    if (!path_sid(h, sid) || !fleet_body(h, &d)) {
        return;
    }
    s = rest_slot(h, sid);
    if (s == NULL) {
        json_release(&d);
        return;
    }
    ok = read_skill_request(s, &d, json_obj_get(&d, json_root(&d), "skill_request"), reason,
                            sizeof reason);
    json_release(&d);
    if (!ok) {
        slot_free(s);
        fleet_fail(h, 400, "VALIDATION_ERROR", reason);
        return;
    }
    st = skill_prepare(s);
    if (st != ST_OK) {
        begin_failed(h, s, ST_NOMEM);
        return;
    }
    rest_begin(h, s);
}

void builder_assemble(hctx *h)
{
    char sid[UUID_STR_BYTES];
    bmake_result *res = &g_res;
    char reason[256];
    json_doc d;
    int cfg;
    st_t st;
    if (!path_sid(h, sid) || !fleet_body(h, &d)) {
        return;
    }
    cfg = json_obj_get(&d, json_root(&d), "config");
    if ((cfg < 0) || (json_type(&d, cfg) != JSON_OBJECT)) {
        json_release(&d);
        fleet_bad_field(h, "config", (cfg < 0) ? "missing" : "expected an object");
        return;
    }
    if (bconfig_check(&d, cfg, reason, sizeof reason) != ST_OK) {
        json_release(&d);
        fleet_fail(h, 400, "VALIDATION_ERROR", reason);
        return;
    }
    st = bmake_assemble(&d, cfg, res);
    json_release(&d);
    if (st == ST_EXISTS) {
        char msg[FLEET_SLUG_MAX + 48u];
        (void)snprintf(msg, sizeof msg, "Slug '%.64s' already exists", res->base);
        fleet_fail(h, 409, "SLUG_CONFLICT", msg);
        return;
    }
    if (st != ST_OK) {
        fleet_internal(h, "assemble", st);
        return;
    }
    (void)draft_delete(sid);
    g_stats.assembled++;
    {
        json_w w;
        char href[FLEET_SLUG_MAX + 32u];
        fleet_link link;
        (void)snprintf(href, sizeof href, "/api/v1/bots/%.64s", res->bot.slug);
        link = (fleet_link){ "bot", href };
        fleet_ok_begin(h, 200, &w);
        json_w_obj_begin(&w);
        json_w_key(&w, "result");
        bmake_write_result(&w, res, true);
        json_w_obj_end(&w);
        fleet_ok_end(h, &w, &link, 1u);
    }
}

void builder_get(hctx *h)
{
    char sid[UUID_STR_BYTES];
    char self[96];
    sqlite3_stmt *q;
    int64_t count = 0;
    bool row = false;
    st_t st;
    json_w w;
    fleet_link link;
    if (!path_sid(h, sid)) {
        return;
    }
    st = answers_count(sid, &count);
    q = fleet_stmt(FLEET_SQL_DRAFT_GET);
    if (st == ST_OK) {
        st = bind_sid(q, sid);
    }
    if (st == ST_OK) {
        st = store_step(q, &row);
    }
    if ((st != ST_OK) || !row) {
        store_done(q);
        if (st == ST_OK) {
            no_draft(h, sid);
        } else {
            fleet_internal(h, "draft read", st);
        }
        return;
    }
    (void)snprintf(self, sizeof self, "/api/v1/builder/sessions/%s", sid);
    link = (fleet_link){ "self", self };
    fleet_ok_begin(h, 200, &w);
    json_w_obj_begin(&w);
    json_w_kstr(&w, "session_id", sid);
    json_w_kstr(&w, "phase", (const char *)sqlite3_column_text(q, 2));
    json_w_kstrn(&w, "initial_description", (const char *)sqlite3_column_text(q, 4),
                 (size_t)sqlite3_column_bytes(q, 4));
    json_w_ki64(&w, "question_count", count);
    json_w_obj_end(&w);
    store_done(q);
    fleet_ok_end(h, &w, &link, 1u);
}

void builder_delete(hctx *h)
{
    char sid[UUID_STR_BYTES];
    json_w w;
    st_t st;
    if (!path_sid(h, sid)) {
        return;
    }
    if (!draft_exists(sid, NULL)) {
        no_draft(h, sid);
        return;
    }
    st = draft_delete(sid);
    if (st != ST_OK) {
        fleet_internal(h, "draft delete", st);
        return;
    }
    fleet_ok_begin(h, 200, &w);
    json_w_obj_begin(&w);
    json_w_kbool(&w, "deleted", true);
    json_w_kstr(&w, "session_id", sid);
    json_w_obj_end(&w);
    fleet_ok_end(h, &w, NULL, 0u);
}

void builder_drafts(hctx *h)
{
    sqlite3_stmt *q = fleet_stmt(FLEET_SQL_DRAFT_LIST);
    fleet_link link = { "self", "/api/v1/builder/drafts" };
    bool row = true;
    st_t st = ST_OK;
    json_w w;
    fleet_ok_begin(h, 200, &w);
    json_w_arr_begin(&w);
    while (st == ST_OK) {
        st = store_step(q, &row);
        if ((st != ST_OK) || !row) {
            break;
        }
        json_w_obj_begin(&w);
        json_w_kstr(&w, "session_id", (const char *)sqlite3_column_text(q, 0));
        json_w_kstrn(&w, "initial_description", (const char *)sqlite3_column_text(q, 1),
                     (size_t)sqlite3_column_bytes(q, 1));
        json_w_kstr(&w, "phase", (const char *)sqlite3_column_text(q, 2));
        json_w_kstr(&w, "updated_at", (const char *)sqlite3_column_text(q, 3));
        json_w_obj_end(&w);
    }
    store_done(q);
    json_w_arr_end(&w);
    if (st != ST_OK) {
        fleet_internal(h, "draft list", st);
        return;
    }
    fleet_ok_end(h, &w, &link, 1u);
}

/* ---- WebSocket ------------------------------------------------------------------ */

static void ws_send_error(stream_sub *ws, const char *msg)
{
    char buf[ERR_BYTES + 128u];
    json_w w;
    size_t len = 0u;
    if (ws == NULL) {
        return;
    }
    json_w_init(&w, buf, sizeof buf);
    json_w_obj_begin(&w);
    json_w_kstr(&w, "type", "error");
    json_w_kstr(&w, "message", msg);
    json_w_obj_end(&w);
    if (json_w_finish(&w, &len) == ST_OK) {
        (void)stream_send_text(ws, buf, len);
    }
}

static void beat(void *arg)
{
    static const char pong[] = "{\"type\":\"pong\"}";
    bool any = false;
    size_t i;
    (void)arg;
    g_beat = TIMER_NONE;
    for (i = 0u; i < (size_t)CFG_BUILDER_WS; i++) {
        if (g_ws[i] != NULL) {
            (void)stream_send_text(g_ws[i], pong, sizeof(pong) - 1u);
            any = true;
        }
    }
    if (any) {
        g_beat = timer_again(g_heartbeat_ms);
    }
}

void builder_ws(hctx *h)
{
    char sid[UUID_STR_BYTES];
    stream_sub *s;
    bconn *c;
    bool skill = false;
    int32_t slot = -1;
    size_t i;
    if (!path_sid(h, sid)) {
        return;
    }
    s = hctx_ws_accept(h, &g_policy);
    if (s == NULL) {
        return;
    }
    c = (bconn *)stream_user(s);
    (void)memcpy(c->sid, sid, UUID_STR_BYTES);
    c->skill_mode = draft_exists(sid, &skill) && skill;
    for (i = 0u; (i < (size_t)CFG_BUILDER_WS) && (slot < 0); i++) {
        if (g_ws[i] == NULL) {
            slot = (int32_t)i;
        }
    }
    c->index = slot;
    if (slot < 0) {
        g_stats.ws_refused++;
        LOG_W(MOD, "all %u builder sockets in use: refusing one",
              (unsigned)CFG_BUILDER_WS);
        stream_close(s, WS_CLOSE_TRY_LATER, "too many builder connections");
        return;
    }
    g_ws[slot] = s;
    g_stats.ws_opened++;
    if (g_beat == TIMER_NONE) {
        g_beat = timer_start(g_heartbeat_ms, beat, NULL);
    }
}

static void ws_on_close(stream_sub *s)
{
    bconn *c = (bconn *)stream_user(s);
    size_t i;
    if ((c->index >= 0) && (c->index < (int32_t)CFG_BUILDER_WS) && (g_ws[c->index] == s)) {
        g_ws[c->index] = NULL;
    }
    for (i = 0u; i < (size_t)CFG_ENGINE_CALLS; i++) {
        if (g_slots[i].used && (g_slots[i].ws == s)) {
            g_slots[i].ws = NULL;    /* the turn completes and is saved */
        }
    }
    chat_buf_free(&c->frag);
}

/* A slot for a WebSocket turn; NULL: the error was sent. */
static bslot *ws_slot(stream_sub *ws, const bconn *c)
{
    bslot *s;
    char msg[128];
    if (slot_of(c->sid) != NULL) {
        g_stats.busy++;
        (void)snprintf(msg, sizeof msg, "Builder error: %s", k_busy);
        ws_send_error(ws, msg);
        return NULL;
    }
    s = slot_new(c->sid);
    if (s == NULL) {
        (void)snprintf(msg, sizeof msg, "Builder error: %s", k_full);
        ws_send_error(ws, msg);
    }
    return s;
}

static void ws_begin(stream_sub *ws, bslot *s)
{
    st_t st = turn_begin(s);
    char msg[160];
    if (st == ST_OK) {
        s->ws = ws;
        return;
    }
    (void)snprintf(msg, sizeof msg, "%s: %s",
                   (s->kind == TK_SKILL) ? "Skill generation failed" : "Builder error",
                   (st == ST_NOTFOUND) ? "no LLM provider is configured"
                   : (st == ST_FULL)   ? k_full
                                       : status_str(st));
    slot_free(s);
    ws_send_error(ws, msg);
}

static void ws_start(stream_sub *ws, bconn *c, const json_doc *d, bool skill)
{
    char reason[160];
    bslot *s = ws_slot(ws, c);
    if (s == NULL) {
        return;
    }
    if (!text_field(d, json_root(d), "description", DESC_MAX_CHARS, &s->desc, reason,
                    sizeof reason)) {
        char msg[200];
        slot_free(s);
        (void)snprintf(msg, sizeof msg, "Invalid message: %s", reason);
        ws_send_error(ws, msg);
        return;
    }
    s->kind = TK_START;
    s->mode = skill ? BMODE_SKILL : BMODE_BOT;
    s->phase = BPHASE_BASICS;
    if (!buf_set(&s->user, s->desc.p, s->desc.n) || !buf_cstr(&s->config, "{}") ||
        !buf_cstr(&s->history, "")) {
        slot_free(s);
        ws_send_error(ws, "Builder error: the chat heap is full");
        return;
    }
    c->skill_mode = skill;
    ws_begin(ws, s);
}

static void ws_answer(stream_sub *ws, const bconn *c, json_doc *d)
{
    char reason[256];
    bslot *s;
    int a;
    if (!draft_exists(c->sid, NULL)) {
        ws_send_error(ws, k_no_draft_ws);
        return;
    }
    s = ws_slot(ws, c);
    if (s == NULL) {
        return;
    }
    s->kind = TK_ANSWER;
    if (draft_load(s) != ST_OK) {
        slot_free(s);
        ws_send_error(ws, k_no_draft_ws);
        return;
    }
    a = json_obj_get(d, json_root(d), "answer");
    if (a < 0) {
        (void)snprintf(reason, sizeof reason, "Invalid field 'answer': missing");
    }
    if ((a < 0) || !read_answer(s, d, a, reason, sizeof reason)) {
        char msg[320];
        slot_free(s);
        (void)snprintf(msg, sizeof msg, "%s: %s",
                       (strncmp(reason, "Builder state", 13u) == 0) ? "Builder error"
                                                                    : "Invalid message",
                       reason);
        ws_send_error(ws, msg);
        return;
    }
    ws_begin(ws, s);
}

static void ws_assemble(stream_sub *ws, const bconn *c, const json_doc *d)
{
    bmake_result *res = &g_ws_res;
    char reason[256];
    char msg[320];
    int cfg = json_obj_get(d, json_root(d), "config");
    st_t st;
    if (c->skill_mode) {
        ws_send_error(ws, "AssembleBot is only valid in bot creation mode.");
        return;
    }
    if ((cfg < 0) || (json_type(d, cfg) != JSON_OBJECT)) {
        ws_send_error(ws, "Invalid message: Invalid field 'config': expected an object");
        return;
    }
    if (bconfig_check(d, cfg, reason, sizeof reason) != ST_OK) {
        (void)snprintf(msg, sizeof msg, "Assembly failed: %s", reason);
        ws_send_error(ws, msg);
        return;
    }
    st = bmake_assemble(d, cfg, res);
    if (st != ST_OK) {
        if (st == ST_EXISTS) {
            (void)snprintf(msg, sizeof msg, "Assembly failed: Slug '%.64s' already exists",
                           res->base);
        } else {
            (void)snprintf(msg, sizeof msg, "Assembly failed: %s", status_str(st));
        }
        ws_send_error(ws, msg);
        return;
    }
    (void)draft_delete(c->sid);
    g_stats.assembled++;
    {
        char buf[4096];
        json_w w;
        size_t len = 0u;
        json_w_init(&w, buf, sizeof buf);
        json_w_obj_begin(&w);
        json_w_kstr(&w, "type", "bot_assembled");
        json_w_key(&w, "result");
        bmake_write_result(&w, res, false);
        json_w_obj_end(&w);
        if (json_w_finish(&w, &len) == ST_OK) {
            (void)stream_send_text(ws, buf, len);
        }
    }
}

static void ws_create_skill(stream_sub *ws, const bconn *c, const json_doc *d)
{
    char reason[160];
    bslot *s;
    if (!c->skill_mode) {
        ws_send_error(ws, "CreateSkill is only valid in skill creation mode.");
        return;
    }
    s = ws_slot(ws, c);
    if (s == NULL) {
        return;
    }
    if (!read_skill_request(s, d, json_obj_get(d, json_root(d), "skill_request"), reason,
                            sizeof reason)) {
        char msg[200];
        slot_free(s);
        (void)snprintf(msg, sizeof msg, "Invalid message: %s", reason);
        ws_send_error(ws, msg);
        return;
    }
    if (skill_prepare(s) != ST_OK) {
        slot_free(s);
        ws_send_error(ws, "Skill generation failed: the chat heap is full");
        return;
    }
    ws_begin(ws, s);
}

static void ws_resume(stream_sub *ws, const bconn *c)
{
    sqlite3_stmt *q;
    bool row = false;
    st_t st;
    bslot *running = slot_of(c->sid);
    if ((running != NULL) && (running->kind != TK_SKILL) && (running->token == 0u) &&
        (running->ws == NULL)) {
        /* its client left mid-turn: this one gets the turn when it ends */
        running->ws = ws;
        return;
    }
    q = fleet_stmt(FLEET_SQL_DRAFT_GET);
    st = bind_sid(q, c->sid);
    if (st == ST_OK) {
        st = store_step(q, &row);
    }
    if ((st == ST_OK) && row && (sqlite3_column_type(q, 5) != SQLITE_NULL)) {
        const char *t = (const char *)sqlite3_column_text(q, 5);
        size_t n = (size_t)sqlite3_column_bytes(q, 5);
        size_t cap = n + 64u;
        char *buf = (char *)heap_alloc(&g_chat_heap, cap);
        if (buf != NULL) {
            int k = snprintf(buf, cap, "{\"type\":\"turn\",\"turn\":%.*s}", (int)n, t);
            if ((k > 0) && ((size_t)k < cap)) {
                (void)stream_send_text(ws, buf, (size_t)k);
            }
            heap_free(&g_chat_heap, buf);
        } else {
            ws_send_error(ws, "Builder error: the chat heap is full");
        }
    } else {
        ws_send_error(ws, "No draft found to resume.");
    }
    store_done(q);
}

/* One whole client message. */
static void ws_message(stream_sub *ws, const char *text, size_t n)
{
    bconn *c = (bconn *)stream_user(ws);
    json_doc d;
    json_err e;
    char msg[160];
    int t;
    if (json_parse(&d, text, n, &e) != ST_OK) {
        (void)snprintf(msg, sizeof msg, "Invalid message: %s at byte %u", e.reason,
                       (unsigned)e.offset);
        ws_send_error(ws, msg);
        return;
    }
    t = (json_type(&d, json_root(&d)) == JSON_OBJECT) ? json_obj_get(&d, json_root(&d), "type")
                                                       : -1;
    if ((t < 0) || (json_type(&d, t) != JSON_STRING)) {
        ws_send_error(ws, "Invalid message: missing field `type`");
    } else if (json_str_eq(&d, t, "ping")) {
        static const char pong[] = "{\"type\":\"pong\"}";
        (void)stream_send_text(ws, pong, sizeof(pong) - 1u);
    } else if (json_str_eq(&d, t, "start_bot") || json_str_eq(&d, t, "start_skill")) {
        ws_start(ws, c, &d, json_str_eq(&d, t, "start_skill"));
    } else if (json_str_eq(&d, t, "answer")) {
        ws_answer(ws, c, &d);
    } else if (json_str_eq(&d, t, "assemble_bot")) {
        ws_assemble(ws, c, &d);
    } else if (json_str_eq(&d, t, "create_skill")) {
        ws_create_skill(ws, c, &d);
    } else if (json_str_eq(&d, t, "resume")) {
        ws_resume(ws, c);
    } else {
        strv ty = json_raw(&d, t);
        (void)snprintf(msg, sizeof msg, "Invalid message: unknown variant `%.*s`",
                       (int)((ty.n < 64u) ? ty.n : 64u), ty.p);
        ws_send_error(ws, msg);
    }
    json_release(&d);
}

static void ws_on_data(stream_sub *s, const ws_frame *f)
{
    bconn *c = (bconn *)stream_user(s);
    if (f->msg_opcode != WS_OP_TEXT) {
        if (f->msg_end) {
            ws_send_error(s, "Invalid message: expected a text message");
        }
        return;
    }
    if (f->msg_end && (c->frag.n == 0u)) {
        ws_message(s, (const char *)f->payload, f->len);
        return;
    }
    if (!chat_buf_add(&c->frag, (const char *)f->payload, f->len)) {
        chat_buf_free(&c->frag);
        stream_close(s, 1009u, "no room for the message");
        return;
    }
    if (f->msg_end) {
        ws_message(s, c->frag.p, c->frag.n);
        chat_buf_free(&c->frag);
    }
}

/* ---- init, metrics ---------------------------------------------------------------- */

void builder_init(const char *provider, const char *model, uint32_t heartbeat_ms)
{
    (void)snprintf(g_provider, sizeof g_provider, "%s", (provider != NULL) ? provider : "");
    (void)snprintf(g_model, sizeof g_model, "%s", (model != NULL) ? model : "");
    g_heartbeat_ms = (heartbeat_ms > 0u) ? heartbeat_ms : 30000u;
    g_policy.heartbeat_ms = g_heartbeat_ms;
    g_policy.pong_timeout_ms = g_heartbeat_ms * 2u;
    (void)memset(g_slots, 0, sizeof g_slots);
    (void)memset(g_ws, 0, sizeof g_ws);
    (void)memset(&g_stats, 0, sizeof g_stats);
    (void)memset(&g_policy.stats, 0, sizeof g_policy.stats);
    stream_register(&g_policy);
}

size_t builder_metrics(char *buf, size_t cap)
{
    const eng_call_stats_t *e = eng_call_stats();
    /* cppcheck-suppress misra-c2012-5.7 ; false positive: an untagged struct has no tag */
    const struct {
        const char *name;
        const char *type;
        const char *help;
        unsigned long long v;
    } rows[] = {
        { "roost_fleet_builder_turns_total", "counter", "Builder LLM turns started.",
          g_stats.turns },
        { "roost_fleet_builder_turn_errors_total", "counter",
          "Builder turns that ended with an error.", g_stats.turn_errors },
        { "roost_fleet_builder_retries_total", "counter",
          "Builder replies that were not valid and were asked again.", g_stats.retries },
        { "roost_fleet_builder_busy_total", "counter",
          "Builder requests refused: a turn of the session was running.", g_stats.busy },
        { "roost_fleet_builder_refused_total", "counter",
          "Builder requests refused: no builder slot free.", g_stats.refused },
        { "roost_fleet_builder_assembled_total", "counter", "Bots assembled by the builder.",
          g_stats.assembled },
        { "roost_fleet_builder_skills_total", "counter", "Skills generated by the builder.",
          g_stats.skills },
        { "roost_fleet_builder_ws_opened_total", "counter", "Builder WebSockets opened.",
          g_stats.ws_opened },
        { "roost_fleet_builder_ws_refused_total", "counter",
          "Builder WebSockets refused: all CFG_BUILDER_WS in use.", g_stats.ws_refused },
        { "roost_engine_calls_active", "gauge", "One-shot LLM calls running.", e->active },
        { "roost_engine_call_failovers_total", "counter",
          "One-shot LLM calls that failed over to the next provider.", e->failovers },
    };
    size_t len = 0u;
    size_t i;
    bool fits = true;
    for (i = 0u; fits && (i < (sizeof(rows) / sizeof(rows[0]))); i++) {
        size_t k = metrics_line(buf + len, cap - len, rows[i].name, rows[i].type, rows[i].help,
                                rows[i].v);
        fits = (k > 0u);
        len += k;
    }
    return fits ? len : 0u;
}
