/*
 * quest.c - quests and their phases (spec/rpg.md §2.6, §4.7, §7, §9.1
 * quests_init, §9.2 quest_update, §10 quest:status_changed).
 *
 * Storage: rpg_quests and rpg_phases (desc.c, step 5); a phase is its
 * quest's seq and its 1-based position (ord), which is its `order`. Titles,
 * descriptions and phase names never change after the create; only statuses,
 * times, retry counts and xpAwarded do.
 *
 * A change (create, a quest's or a phase's status) is one transaction: its
 * rows, its XP awards (rpg_xp_award: a ledger row with personaId null and
 * the quest's project, which is credited when there is one) and its project
 * counters (rpg_project_add); then rpg_game_after publishes the change's bus
 * events (quest:status_changed, xp:awarded) only if it committed, and only
 * then is `quest_update` broadcast. XP goes to a quest's xpAwarded also
 * when it has no project (quest:created, which the spec awards to the
 * project only, is not added: a new quest has xpAwarded 0).
 *
 * Retries (§7.2): a phase goes to `retrying` at most maxRetries (3) times;
 * the 4th is refused with UPDATE_FAILED ("Retry limit reached ..."), the
 * phase keeps its status and can still go to `failed` or `skipped`.
 *
 * Output: every quest leaves in the client format of §2.6, written by one
 * producer (qprod) in parts: the head (id, name, the opening of the
 * description), the description escaped piece by piece, the repos, each
 * phase, the tail (status, createdAt, completedAt, xpEarned). Each part is
 * read from the store when it is written (a statement is never left open
 * across parts), so a quest of any size (a 5000-character description, 50
 * phases of 200 characters) goes out through a tx buffer smaller than it,
 * and a quest changed between two parts still gives valid JSON (the parts
 * that change are read where they are written). The list (GET /api/quests,
 * the /ws quests_init) walks stored status `active`, then `planned`, each
 * by createdAt desc (seq desc among equals) with a keyset query per quest.
 * The same producer renders a single quest into the render scratch for the
 * quest_update broadcast; the answers of GET/POST/PATCH are produced
 * chunked straight into tx.
 */
#include "fam/rpg/game.h"

#include <string.h>

#include "core/clock.h"
#include "core/fmt.h"
#include "core/log.h"
#include "core/uuid.h"
#include "fam/rpg/rpg_int.h"
#include "fam/rpg/sql.h"
#include "json/read.h"

#define TITLE_MAX_CHARS 200u
#define DESC_MAX_CHARS 5000u
#define PHASES_MAX 50
#define PHASE_NAME_MAX_CHARS 200u
#define PHASE_MAX_RETRIES 3

/* ---- the state machines (§7) -------------------------------------------------- */

#define QS_COUNT 6
#define QS_PLANNED 0
#define QS_ACTIVE 1
#define QS_PAUSED 2
#define QS_COMPLETED 3
#define QS_FAILED 4
#define QS_ARCHIVED 5

#define PS_COUNT 7                      /* 0: pending */
#define PS_PLANNED 1
#define PS_EXECUTING 2
#define PS_RETRYING 3
#define PS_COMPLETED 4
#define PS_FAILED 5
#define PS_SKIPPED 6

#define NEXT_MAX 3
#define NONE (-1)

static const char *const k_qs[QS_COUNT] = {
    "planned", "active", "paused", "completed", "failed", "archived"
};
/* §7.1, in the spec's (and upstream's) order; NONE ends a list. */
static const int k_qnext[QS_COUNT][NEXT_MAX] = {
    { QS_ACTIVE, QS_ARCHIVED, NONE },
    { QS_PAUSED, QS_COMPLETED, QS_FAILED },
    { QS_ACTIVE, QS_ARCHIVED, NONE },
    { QS_ARCHIVED, NONE, NONE },
    { QS_ARCHIVED, QS_ACTIVE, NONE },
    { NONE, NONE, NONE },
};
/* §2.6: the status a client sees. */
static const char *const k_qs_client[QS_COUNT] = {
    "active", "active", "paused", "completed", "archived", "archived"
};

static const char *const k_ps[PS_COUNT] = {
    "pending", "planned", "executing", "retrying", "completed", "failed", "skipped"
};
/* §7.2 */
static const int k_pnext[PS_COUNT][NEXT_MAX] = {
    { PS_PLANNED, PS_SKIPPED, NONE },
    { PS_EXECUTING, PS_SKIPPED, NONE },
    { PS_COMPLETED, PS_FAILED, PS_RETRYING },
    { PS_EXECUTING, PS_FAILED, PS_SKIPPED },
    { NONE, NONE, NONE },
    { PS_RETRYING, PS_SKIPPED, NONE },
    { NONE, NONE, NONE },
};

/* The index of s in names[0..n), or NONE. */
static int status_index(strv s, const char *const *names, int n)
{
    int i;
    for (i = 0; i < n; i++) {
        if (strv_eq_cstr(s, names[i])) {
            return i;
        }
    }
    return NONE;
}

static bool allowed(const int *next, int to)
{
    int i;
    for (i = 0; i < NEXT_MAX; i++) {
        if (next[i] == to) {
            return true;
        }
    }
    return false;
}

/* A bounded message being built. */
typedef struct {
    char *b;
    size_t cap;
    size_t n;
} msg_t;

static void msg_put(msg_t *m, const char *s)
{
    size_t k = strlen(s);
    if (k > (m->cap - 1u - m->n)) {
        k = m->cap - 1u - m->n;
    }
    (void)memcpy(m->b + m->n, s, k);
    m->n += k;
    m->b[m->n] = '\0';
}

/* 400 UPDATE_FAILED "Invalid <what> transition: <from> -> <to>. Valid: a, b"
 * (upstream's words, its list joined with ", "; empty for a terminal one). */
static void transition_error(hctx *h, const char *what, const char *const *names,
                             const int *next, int from, int to)
{
    char text[160];
    msg_t m = { text, sizeof text, 0u };
    int i;
    text[0] = '\0';
    msg_put(&m, "Invalid ");
    msg_put(&m, what);
    msg_put(&m, " transition: ");
    msg_put(&m, names[from]);
    msg_put(&m, " -> ");
    msg_put(&m, names[to]);
    msg_put(&m, ". Valid: ");
    for (i = 0; (i < NEXT_MAX) && (next[i] != NONE); i++) {
        if (i > 0) {
            msg_put(&m, ", ");
        }
        msg_put(&m, names[next[i]]);
    }
    rpg_error(h, 400, "UPDATE_FAILED", text);
}

/* ---- the client format, part by part (§2.6) ------------------------------------ */

/* What a producer writes around its quests: mode 0 must be the /ws
 * quests_init (rpg_quests_init_prod's state is zeroed by its caller). */
#define QP_LIST_WS 0u
#define QP_LIST_HTTP 1u
#define QP_ONE_HTTP 2u
#define QP_ONE_WS 3u

static const char *const k_head[4] = {
    "{\"type\":\"quests_init\",\"payload\":[",
    "{\"success\":true,\"data\":[",
    "{\"success\":true,\"data\":{\"quest\":",
    "{\"type\":\"quest_update\",\"payload\":",
};
static const char *const k_tail[4] = { "]}", "],\"ok\":true}", "},\"ok\":true}", "}" };

#define STAGE_HEAD 0u
#define STAGE_QUESTS 1u
#define STAGE_TAIL 2u
#define STAGE_DONE 3u

#define PART_HEAD 0u
#define PART_DESC 1u
#define PART_REPOS 2u
#define PART_PHASES 3u
#define PART_TAIL 4u
#define PART_DONE 5u

/* The list's groups: stored status active, then planned. */
static const char *const k_groups[2] = { "active", "planned" };

typedef struct {
    int64_t seq;                        /* the quest being written */
    int64_t key_at;                     /* list: createdAt and seq of the last */
    int64_t key_seq;                    /* quest begun in this group */
    int64_t next_ord;                   /* the next phase to look for */
    uint32_t desc_off;                  /* description bytes escaped so far */
    uint8_t mode;                       /* QP_* */
    uint8_t stage;                      /* STAGE_* */
    uint8_t group;                      /* list: 0, 1, 2 past the end */
    uint8_t part;                       /* PART_* of the quest being written */
    bool keyed;                         /* key_at/key_seq are set */
    bool in_quest;
    bool any;                           /* list: a quest is out (comma) */
    bool phase_any;                     /* a phase of it is out (comma) */
    bool failed;                        /* the store failed: no more parts */
} qprod;
_Static_assert(sizeof(qprod) <= sizeof(rpg_quests_prod), "the quests_init producer's state");
_Static_assert(sizeof(qprod) <= HCTX_PRODUCER_STATE_BYTES, "a producer's state");

static bool is_list(const qprod *p)
{
    return (p->mode == QP_LIST_WS) || (p->mode == QP_LIST_HTTP);
}

static bool put(char *buf, size_t cap, size_t *at, const char *s, size_t n)
{
    if ((cap - *at) < n) {
        return false;
    }
    (void)memcpy(buf + *at, s, n);
    *at += n;
    return true;
}

static bool put_c(char *buf, size_t cap, size_t *at, const char *s)
{
    return put(buf, cap, at, s, strlen(s));
}

static bool put_i64(char *buf, size_t cap, size_t *at, int64_t v)
{
    char num[24];
    size_t n = fmt_i64(num, sizeof num, v);
    return put(buf, cap, at, num, n);
}

/* A JSON string value. */
static bool put_str(char *buf, size_t cap, size_t *at, strv s)
{
    json_w w;
    json_w_init(&w, buf + *at, cap - *at);
    json_w_str(&w, s.p, (s.p != NULL) ? s.n : 0u);
    if (json_w_status(&w) != ST_OK) {
        return false;
    }
    *at += json_w_len(&w);
    return true;
}

/* Step statement s with ?1 = the quest's seq (and ?2 = arg2 when >= 0) to
 * its first row: ST_NOTFOUND when there is none. */
static st_t first_row(sqlite3_stmt *s, int64_t seq, int64_t arg2)
{
    bool row = false;
    st_t st = store_bind_int64(s, 1, seq);
    if ((st == ST_OK) && (arg2 >= 0)) {
        st = store_bind_int64(s, 2, arg2);
    }
    if (st == ST_OK) {
        st = store_step(s, &row);
    }
    if ((st == ST_OK) && !row) {
        st = ST_NOTFOUND;
    }
    return st;
}

/* {"id":..,"name":..,"description":"  (behind a comma for a list's next) */
static st_t part_head(qprod *p, char *buf, size_t cap, size_t *at, bool *room)
{
    sqlite3_stmt *s = rpg_stmt(RPG_SQL_QUEST_HEAD);
    st_t st = first_row(s, p->seq, -1);
    if (st == ST_OK) {
        size_t mark = *at;
        bool comma = is_list(p) && p->any;
        bool ok = !comma || put(buf, cap, at, ",", 1u);
        ok = ok && put_c(buf, cap, at, "{\"id\":") && put_str(buf, cap, at, store_col_text(s, 0)) &&
             put_c(buf, cap, at, ",\"name\":") && put_str(buf, cap, at, store_col_text(s, 1)) &&
             put_c(buf, cap, at, ",\"description\":\"");
        if (ok) {
            p->any = true;
            p->part = PART_DESC;
            p->desc_off = 0u;
        } else {
            *at = mark;
            *room = false;
        }
    }
    store_done(s);
    return st;
}

/* The description ("" when null), escaped as far as it fits, and its
 * closing quote. */
static st_t part_desc(qprod *p, char *buf, size_t cap, size_t *at, bool *room)
{
    sqlite3_stmt *s = rpg_stmt(RPG_SQL_QUEST_DESC);
    st_t st = first_row(s, p->seq, -1);
    if (st == ST_OK) {
        strv d = store_col_text(s, 0);
        size_t n = (d.p != NULL) ? d.n : 0u;
        if (p->desc_off < n) {
            size_t used = 0u;
            *at += json_escape_part(d.p + p->desc_off, n - p->desc_off, true, buf + *at,
                                    cap - *at, &used);
            p->desc_off += (uint32_t)used;
        }
        if (p->desc_off < n) {
            *room = false;
        } else if (put(buf, cap, at, "\"", 1u)) {
            p->part = PART_REPOS;
        } else {
            *room = false;
        }
    }
    store_done(s);
    return st;
}

/* ,"repos":[<project name>|"unknown"],"phases":[ */
static st_t part_repos(qprod *p, char *buf, size_t cap, size_t *at, bool *room)
{
    sqlite3_stmt *s = rpg_stmt(RPG_SQL_QUEST_REPO);
    st_t st = first_row(s, p->seq, -1);
    if (st == ST_OK) {
        size_t mark = *at;
        strv name = store_col_is_null(s, 0) ? strv_from_cstr("unknown") : store_col_text(s, 0);
        if (put_c(buf, cap, at, ",\"repos\":[") && put_str(buf, cap, at, name) &&
            put_c(buf, cap, at, "],\"phases\":[")) {
            p->part = PART_PHASES;
            p->next_ord = 1;
            p->phase_any = false;
        } else {
            *at = mark;
            *room = false;
        }
    }
    store_done(s);
    return st;
}

/* The next phase (a QuestPhase), or on to the tail when none is left. */
static st_t part_phase(qprod *p, char *buf, size_t cap, size_t *at, bool *room)
{
    sqlite3_stmt *s = rpg_stmt(RPG_SQL_PHASE_NEXT);
    st_t st = first_row(s, p->seq, p->next_ord);
    if (st == ST_NOTFOUND) {
        p->part = PART_TAIL;
        st = ST_OK;
    } else if (st == ST_OK) {
        size_t mark = *at;
        int64_t ord = store_col_int64(s, 0);
        bool ok = !p->phase_any || put(buf, cap, at, ",", 1u);
        ok = ok && put_c(buf, cap, at, "{\"id\":") && put_str(buf, cap, at, store_col_text(s, 1)) &&
             put_c(buf, cap, at, ",\"name\":") && put_str(buf, cap, at, store_col_text(s, 2)) &&
             put_c(buf, cap, at, ",\"order\":") && put_i64(buf, cap, at, ord) &&
             put_c(buf, cap, at, ",\"status\":") && put_str(buf, cap, at, store_col_text(s, 3)) &&
             put_c(buf, cap, at, ",\"retryCount\":") &&
             put_i64(buf, cap, at, store_col_int64(s, 4)) &&
             put_c(buf, cap, at, ",\"maxRetries\":") && put_i64(buf, cap, at, PHASE_MAX_RETRIES);
        if (ok && !store_col_is_null(s, 5)) {
            ok = put_c(buf, cap, at, ",\"startedAt\":") && put_i64(buf, cap, at, store_col_int64(s, 5));
        }
        if (ok && !store_col_is_null(s, 6)) {
            ok = put_c(buf, cap, at, ",\"completedAt\":") &&
                 put_i64(buf, cap, at, store_col_int64(s, 6));
        }
        ok = ok && put(buf, cap, at, "}", 1u);
        if (ok) {
            p->phase_any = true;
            p->next_ord = ord + 1;
        } else {
            *at = mark;
            *room = false;
        }
    } else {
        /* the error */
    }
    store_done(s);
    return st;
}

/* ],"status":..,"createdAt":..[,"completedAt":..][,"xpEarned":..]} */
static st_t part_tail(qprod *p, char *buf, size_t cap, size_t *at, bool *room)
{
    sqlite3_stmt *s = rpg_stmt(RPG_SQL_QUEST_TAIL);
    st_t st = first_row(s, p->seq, -1);
    if (st == ST_OK) {
        size_t mark = *at;
        int qs = status_index(store_col_text(s, 0), k_qs, QS_COUNT);
        int64_t xp = store_col_int64(s, 3);
        bool ok = put_c(buf, cap, at, "],\"status\":\"") &&
                  put_c(buf, cap, at, (qs == NONE) ? "archived" : k_qs_client[qs]) &&
                  put_c(buf, cap, at, "\",\"createdAt\":") &&
                  put_i64(buf, cap, at, store_col_int64(s, 1));
        if (ok && !store_col_is_null(s, 2)) {
            ok = put_c(buf, cap, at, ",\"completedAt\":") &&
                 put_i64(buf, cap, at, store_col_int64(s, 2));
        }
        if (ok && (xp != 0)) {
            ok = put_c(buf, cap, at, ",\"xpEarned\":") && put_i64(buf, cap, at, xp);
        }
        ok = ok && put(buf, cap, at, "}", 1u);
        if (ok) {
            p->part = PART_DONE;
        } else {
            *at = mark;
            *room = false;
        }
    }
    store_done(s);
    return st;
}

/* The parts of quest p->seq from p->part on, while they fit. */
static st_t quest_parts(qprod *p, char *buf, size_t cap, size_t *at, bool *room)
{
    st_t st = ST_OK;
    while ((st == ST_OK) && *room && (p->part != PART_DONE)) {
        if (p->part == PART_HEAD) {
            st = part_head(p, buf, cap, at, room);
        } else if (p->part == PART_DESC) {
            st = part_desc(p, buf, cap, at, room);
        } else if (p->part == PART_REPOS) {
            st = part_repos(p, buf, cap, at, room);
        } else if (p->part == PART_PHASES) {
            st = part_phase(p, buf, cap, at, room);
        } else {
            st = part_tail(p, buf, cap, at, room);
        }
    }
    return st;
}

/* List: the next quest after the key, in this group or the next one. */
static st_t next_quest(qprod *p)
{
    st_t st = ST_OK;
    while ((st == ST_OK) && !p->in_quest && (p->group < 2u)) {
        sqlite3_stmt *s = rpg_stmt(RPG_SQL_QUEST_NEXT);
        bool row = false;
        st = store_bind_text(s, 1, strv_from_cstr(k_groups[p->group]));
        if (st == ST_OK) {
            st = p->keyed ? store_bind_int64(s, 2, p->key_at) : store_bind_null(s, 2);
        }
        if (st == ST_OK) {
            st = store_bind_int64(s, 3, p->key_seq);
        }
        if (st == ST_OK) {
            st = store_step(s, &row);
        }
        if ((st == ST_OK) && row) {
            p->seq = store_col_int64(s, 0);
            p->key_seq = p->seq;
            p->key_at = store_col_int64(s, 1);
            p->keyed = true;
            p->in_quest = true;
            p->part = PART_HEAD;
        } else if (st == ST_OK) {
            p->group++;
            p->keyed = false;
        } else {
            /* the error */
        }
        store_done(s);
    }
    return st;
}

static size_t qprod_run(qprod *p, char *buf, size_t cap, bool *done)
{
    size_t at = 0u;
    bool room = true;
    while (!p->failed && room && (p->stage != STAGE_DONE)) {
        if (p->stage == STAGE_HEAD) {
            room = put_c(buf, cap, &at, k_head[p->mode]);
            if (room) {
                p->stage = STAGE_QUESTS;
            }
        } else if (p->stage == STAGE_QUESTS) {
            st_t st;
            if (!p->in_quest && is_list(p)) {
                st = next_quest(p);
                if ((st == ST_OK) && !p->in_quest) {
                    p->stage = STAGE_TAIL;
                }
            } else {
                st = quest_parts(p, buf, cap, &at, &room);
                if ((st == ST_OK) && (p->part == PART_DONE)) {
                    p->in_quest = false;
                    if (!is_list(p)) {
                        p->stage = STAGE_TAIL;
                    }
                }
            }
            if (st != ST_OK) {
                /* A storage error (or a quest gone) mid-answer: no more
                 * parts; the server cuts the connection. */
                LOG_W("rpg", "a quest answer stopped: %s", status_str(st));
                p->failed = true;
            }
        } else {
            room = put_c(buf, cap, &at, k_tail[p->mode]);
            if (room) {
                p->stage = STAGE_DONE;
            }
        }
    }
    *done = p->stage == STAGE_DONE;
    return at;
}

/* The producer of hctx_end_stream and stream_send_message. */
static size_t qprod_fn(void *state, char *buf, size_t cap, bool *done)
{
    qprod p;
    size_t n;
    (void)memcpy(&p, state, sizeof p);
    n = qprod_run(&p, buf, cap, done);
    (void)memcpy(state, &p, sizeof p);
    return n;
}

size_t rpg_quests_init_prod(void *state, char *buf, size_t cap, bool *done)
{
    return qprod_fn(state, buf, cap, done);
}

static void qprod_one(qprod *p, uint8_t mode, int64_t seq)
{
    (void)memset(p, 0, sizeof(*p));
    p->mode = mode;
    p->seq = seq;
    p->in_quest = true;
    p->part = PART_HEAD;
}

/* Answer 200 with {"quest": Quest}, produced into tx. */
static void answer_quest(hctx *h, int64_t seq)
{
    qprod p;
    qprod_one(&p, QP_ONE_HTTP, seq);
    hctx_begin(h, 200);
    hctx_header(h, "Content-Type", "application/json");
    hctx_end_stream(h, qprod_fn, &p, sizeof p);
}

/* Broadcast quest_update (§9.2) for quest seq, rendered in the render
 * scratch. */
static void broadcast(int64_t seq)
{
    size_t cap = 0u;
    char *buf = http_render_scratch(&cap);
    size_t n = 0u;
    bool done = false;
    qprod p;
    qprod_one(&p, QP_ONE_WS, seq);
    while (!done && !p.failed) {
        size_t k = qprod_run(&p, buf + n, cap - n, &done);
        n += k;
        if (!done && (k == 0u)) {
            p.failed = true;
        }
    }
    if (done) {
        rpg_publish(buf, n, false);
    } else {
        LOG_W("rpg", "a quest_update not sent: it could not be rendered");
    }
}

/* ---- lookups ----------------------------------------------------------------- */

typedef struct {
    int64_t seq;
    int status;                         /* QS_* */
    char id[RPG_ID_BYTES];
    char project[RPG_ID_BYTES];         /* "" without one */
} quest_row;

/* The quest of path parameter id: ST_NOTFOUND when there is none. */
static st_t quest_find(strv id, quest_row *q)
{
    bool row = false;
    st_t st = ST_NOTFOUND;
    (void)memset(q, 0, sizeof(*q));
    if ((id.p != NULL) && (id.n > 0u) && (id.n < sizeof(q->id))) {
        sqlite3_stmt *s = rpg_stmt(RPG_SQL_QUEST_BY_ID);
        st = store_bind_text(s, 1, id);
        if (st == ST_OK) {
            st = store_step(s, &row);
        }
        if ((st == ST_OK) && row) {
            q->seq = store_col_int64(s, 0);
            q->status = status_index(store_col_text(s, 1), k_qs, QS_COUNT);
            (void)store_col_copy(s, 2, q->project, sizeof q->project);
            (void)memcpy(q->id, id.p, id.n);
            q->id[id.n] = '\0';
            if (q->status == NONE) {
                st = ST_BAD;
            }
        } else if (st == ST_OK) {
            st = ST_NOTFOUND;
        } else {
            /* the error */
        }
        store_done(s);
    }
    return st;
}

static bool has_project(const quest_row *q)
{
    const char *p = q->project;
    return p[0] != '\0';
}

/* Answer a failed lookup: 404 with msg, or 500. */
static void lookup_error(hctx *h, st_t st, const char *msg)
{
    if (st == ST_NOTFOUND) {
        rpg_error(h, 404, "NOT_FOUND", msg);
    } else {
        rpg_error(h, 500, "INTERNAL_ERROR", "Internal server error");
    }
}

/* ---- reading bodies -------------------------------------------------------------- */

/* String token t decoded into buf (NUL-terminated): its view, or
 * STRV_NULL when it is not a string, holds U+0000 or does not fit. */
static strv decode(const json_doc *d, int t, char *buf, size_t cap)
{
    size_t n = 0u;
    if ((json_type(d, t) != JSON_STRING) || (json_get_str(d, t, buf, cap, &n) != ST_OK)) {
        return STRV_NULL;
    }
    return strv_make(buf, n);
}

static void invalid(hctx *h, const char *msg)
{
    rpg_error(h, 400, "VALIDATION_ERROR", msg);
}

/* A status member of the root ("status"): its index in names, or NONE
 * when it answered 400. */
static int body_status(hctx *h, const json_doc *d, const char *const *names, int n,
                       const char *msg)
{
    int t = json_obj_get(d, json_root(d), "status");
    char text[16];
    strv s;
    int i;
    if ((t < 0) || json_is_null(d, t)) {
        invalid(h, "status is required");
        return NONE;
    }
    s = decode(d, t, text, sizeof text);
    i = (s.p != NULL) ? status_index(s, names, n) : NONE;
    if (i == NONE) {
        invalid(h, msg);
    }
    return i;
}

/* ---- GET /api/quests, GET /api/quests/{id} (§4.7) --------------------------------- */

void rpg_quests_list(hctx *h)
{
    qprod p;
    (void)memset(&p, 0, sizeof p);
    p.mode = QP_LIST_HTTP;
    hctx_begin(h, 200);
    hctx_header(h, "Content-Type", "application/json");
    hctx_end_stream(h, qprod_fn, &p, sizeof p);
}

void rpg_quest_get(hctx *h)
{
    quest_row q;
    st_t st = quest_find(hctx_param(h, 0u), &q);
    if (st != ST_OK) {
        lookup_error(h, st, "Quest not found");
        return;
    }
    answer_quest(h, q.seq);
}

/* ---- changes ------------------------------------------------------------------------ */

static uint64_t now_ms(void)
{
    return clock_wall_us() / 1000u;
}

/* {"questId":..[,"phaseId":..]} for an award's metadata. */
static strv award_meta(char *buf, size_t cap, const char *quest_id, const char *phase_id)
{
    json_w w;
    size_t n = 0u;
    json_w_init(&w, buf, cap);
    json_w_obj_begin(&w);
    json_w_kstr(&w, "questId", quest_id);
    if (phase_id != NULL) {
        json_w_kstr(&w, "phaseId", phase_id);
    }
    json_w_obj_end(&w);
    if (json_w_finish(&w, &n) != ST_OK) {
        return STRV_NULL;
    }
    return strv_make(buf, n);
}

/* Award event_type for quest q in the open transaction and add it to the
 * quest's xpAwarded (add false: to the project only, quest:created). */
static st_t award(const quest_row *q, const char *event_type, const char *phase_id, bool add,
                  uint64_t now)
{
    char meta[160];
    int64_t xp = 0;
    st_t st = rpg_xp_award(NULL, q->project, strv_from_cstr(event_type),
                           award_meta(meta, sizeof meta, q->id, phase_id), now, &xp);
    if ((st == ST_OK) && add) {
        sqlite3_stmt *s = rpg_stmt(RPG_SQL_QUEST_XP_ADD);
        st = store_bind_int64(s, 1, q->seq);
        if (st == ST_OK) {
            st = store_bind_int64(s, 2, xp);
        }
        if (st == ST_OK) {
            st = store_exec(s);
        }
    }
    return st;
}

/* The project's counters, when the quest has a project. */
static st_t count(const quest_row *q, const rpg_proj_delta *d, uint64_t now)
{
    st_t st = ST_OK;
    if (has_project(q)) {
        st = rpg_project_add(q->project, d, now);
    }
    return st;
}

/* End the change's transaction (st: how its writes went), announce it
 * and answer with the quest, or 500. */
static void finish(hctx *h, st_t st, int64_t seq)
{
    st_t end = st;
    bool committed;
    if (end == ST_OK) {
        end = store_commit();
    }
    committed = end == ST_OK;
    if (!committed) {
        LOG_W("rpg", "a quest change failed: %s", status_str(end));
        (void)store_rollback();
    }
    rpg_game_after(committed);
    if (!committed) {
        rpg_error(h, 500, "INTERNAL_ERROR", "Internal server error");
        return;
    }
    broadcast(seq);
    answer_quest(h, seq);
}

/* ---- POST /api/quests (§4.7) ----------------------------------------------------------- */

typedef struct {
    strv title;
    strv desc;                          /* STRV_NULL: null */
    char project[RPG_ID_BYTES];         /* "" without one */
    int phases;                         /* the array's token, -1 without one */
    int nphases;
    char *room;                         /* the scratch left for phase names */
    size_t room_cap;
} create_req;

/* Validate the phases member (400 when false). */
static bool check_phases(hctx *h, const json_doc *d, create_req *c)
{
    int t = json_obj_get(d, json_root(d), "phases");
    json_iter it = JSON_ITER_INIT;
    int v = -1;
    c->phases = -1;
    c->nphases = 0;
    if ((t < 0) || json_is_null(d, t)) {
        return true;
    }
    if (json_type(d, t) != JSON_ARRAY) {
        invalid(h, "phases must be an array or null");
        return false;
    }
    if (json_arr_len(d, t) > PHASES_MAX) {
        invalid(h, "phases must have at most 50 items");
        return false;
    }
    while (json_arr_next(d, t, &it, &v)) {
        strv name;
        if (json_type(d, v) != JSON_OBJECT) {
            invalid(h, "each phase must be an object with a name");
            return false;
        }
        name = decode(d, json_obj_get(d, v, "name"), c->room, c->room_cap);
        if ((name.p == NULL) || (name.n == 0u) || (rpg_chars(name.p, name.n) > PHASE_NAME_MAX_CHARS)) {
            invalid(h, "each phase name must be a string of 1-200 characters");
            return false;
        }
    }
    c->phases = t;
    c->nphases = json_arr_len(d, t);
    return true;
}

/* Validate the body into c (400/404 when false): the strings are decoded
 * into the render scratch. */
static bool create_read(hctx *h, const json_doc *d, create_req *c)
{
    size_t cap = 0u;
    char *buf = http_render_scratch(&cap);
    int root = json_root(d);
    int t = json_obj_get(d, root, "title");
    size_t used;
    strv s;
    (void)memset(c, 0, sizeof(*c));
    if ((t < 0) || json_is_null(d, t)) {
        invalid(h, "title is required");
        return false;
    }
    s = decode(d, t, buf, cap);
    if (s.p == NULL) {
        invalid(h, (json_type(d, t) != JSON_STRING) ? "title must be a string" :
                "title must be 1-200 characters");
        return false;
    }
    c->title = strv_trim_ws(s);
    if ((c->title.n == 0u) || (rpg_chars(c->title.p, c->title.n) > TITLE_MAX_CHARS)) {
        invalid(h, "title must be 1-200 characters");
        return false;
    }
    used = s.n + 1u;
    c->desc = STRV_NULL;
    t = json_obj_get(d, root, "description");
    if ((t >= 0) && !json_is_null(d, t)) {
        s = decode(d, t, buf + used, cap - used);
        if (json_type(d, t) != JSON_STRING) {
            invalid(h, "description must be a string or null");
            return false;
        }
        if ((s.p == NULL) || (rpg_chars(s.p, s.n) > DESC_MAX_CHARS)) {
            invalid(h, "description must be at most 5000 characters");
            return false;
        }
        c->desc = s;
        used += s.n + 1u;
    }
    c->room = buf + used;
    c->room_cap = cap - used;
    t = json_obj_get(d, root, "projectId");
    if ((t >= 0) && !json_is_null(d, t) && (json_type(d, t) != JSON_STRING)) {
        invalid(h, "projectId must be a string or null");
        return false;
    }
    if (!check_phases(h, d, c)) {
        return false;
    }
    if ((t >= 0) && !json_is_null(d, t)) {
        st_t st = ST_NOTFOUND;
        s = decode(d, t, c->project, sizeof c->project);
        if (s.p != NULL) {
            st = rpg_project_get_name(s, NULL, 0u);
        }
        if (st != ST_OK) {
            c->project[0] = '\0';
            lookup_error(h, st, "Project not found");
            return false;
        }
    }
    return true;
}

/* The quest's row and its phases, in the open transaction. */
static st_t create_write(const json_doc *d, create_req *c, quest_row *q, uint64_t now)
{
    sqlite3_stmt *s = rpg_stmt(RPG_SQL_QUEST_INSERT);
    json_iter it = JSON_ITER_INIT;
    int v = -1;
    int64_t ord = 0;
    st_t st = store_bind_text(s, 1, strv_from_cstr(q->id));
    if (st == ST_OK) {
        if (has_project(q)) {
            st = store_bind_text(s, 2, strv_from_cstr(q->project));
        } else {
            st = store_bind_null(s, 2);
        }
    }
    if (st == ST_OK) {
        st = store_bind_text(s, 3, c->title);
    }
    if (st == ST_OK) {
        st = (c->desc.p != NULL) ? store_bind_text(s, 4, c->desc) : store_bind_null(s, 4);
    }
    if (st == ST_OK) {
        st = store_bind_int64(s, 5, (int64_t)now);
    }
    if (st == ST_OK) {
        st = store_exec(s);
    }
    q->seq = store_last_rowid();
    while ((st == ST_OK) && (c->phases >= 0) && json_arr_next(d, c->phases, &it, &v)) {
        char pid[UUID_STR_BYTES];
        strv name = decode(d, json_obj_get(d, v, "name"), c->room, c->room_cap);
        ord++;
        st = uuid_v4(pid);
        if (st == ST_OK) {
            s = rpg_stmt(RPG_SQL_PHASE_INSERT);
            st = store_bind_int64(s, 1, q->seq);
        }
        if (st == ST_OK) {
            st = store_bind_int64(s, 2, ord);
        }
        if (st == ST_OK) {
            st = store_bind_text(s, 3, strv_from_cstr(pid));
        }
        if (st == ST_OK) {
            st = store_bind_text(s, 4, name);
        }
        if (st == ST_OK) {
            st = store_exec(s);
        }
    }
    return st;
}

void rpg_quest_create(hctx *h)
{
    json_doc d;
    create_req c;
    quest_row q;
    uint64_t now = now_ms();
    st_t st;
    if (!rpg_body_obj(h, &d)) {
        return;
    }
    if (!create_read(h, &d, &c)) {
        json_release(&d);
        return;
    }
    (void)memset(&q, 0, sizeof q);
    (void)memcpy(q.project, c.project, sizeof q.project);
    st = uuid_v4(q.id);
    if (st == ST_OK) {
        st = store_begin();
    }
    if (st != ST_OK) {
        json_release(&d);
        rpg_error(h, 500, "INTERNAL_ERROR", "Internal server error");
        return;
    }
    st = create_write(&d, &c, &q, now);
    json_release(&d);
    if ((st == ST_OK) && has_project(&q)) {
        rpg_proj_delta delta;
        (void)memset(&delta, 0, sizeof delta);
        delta.q_created = 1;
        st = award(&q, "quest:created", NULL, false, now);
        if (st == ST_OK) {
            st = count(&q, &delta, now);
        }
    }
    finish(h, st, q.seq);
}

/* ---- PATCH /api/quests/{id} (§4.7, §7.1) ---------------------------------------------- */

static const char k_qs_msg[] =
    "status must be one of: planned, active, paused, completed, failed, archived";

/* The status the body asks for: {"status": s} or {"action": "archive"};
 * NONE when it answered 400. */
static int quest_target(hctx *h, const json_doc *d)
{
    int t = json_obj_get(d, json_root(d), "action");
    if ((t >= 0) && !json_is_null(d, t)) {
        if (!json_str_eq(d, t, "archive")) {
            invalid(h, "action must be archive");
            return NONE;
        }
        return QS_ARCHIVED;
    }
    return body_status(h, d, k_qs, QS_COUNT, k_qs_msg);
}

void rpg_quest_update(hctx *h)
{
    json_doc d;
    quest_row q;
    int to;
    uint64_t now = now_ms();
    st_t st;
    if (!rpg_body_obj(h, &d)) {
        return;
    }
    to = quest_target(h, &d);
    json_release(&d);
    if (to == NONE) {
        return;
    }
    st = quest_find(hctx_param(h, 0u), &q);
    if (st != ST_OK) {
        lookup_error(h, st, "Quest not found");
        return;
    }
    if (to == q.status) {
        answer_quest(h, q.seq);         /* the same status: nothing changes */
        return;
    }
    if (!allowed(k_qnext[q.status], to)) {
        transition_error(h, "quest", k_qs, k_qnext[q.status], q.status, to);
        return;
    }
    if (store_begin() != ST_OK) {
        rpg_error(h, 500, "INTERNAL_ERROR", "Internal server error");
        return;
    }
    {
        sqlite3_stmt *s = rpg_stmt(RPG_SQL_QUEST_SET);
        st = store_bind_int64(s, 1, q.seq);
        if (st == ST_OK) {
            st = store_bind_text(s, 2, strv_from_cstr(k_qs[to]));
        }
        if (st == ST_OK) {
            st = store_bind_int64(s, 3, (int64_t)now);
        }
        if (st == ST_OK) {
            st = (to == QS_COMPLETED) ? store_bind_int64(s, 4, (int64_t)now) :
                 store_bind_null(s, 4);
        }
        if (st == ST_OK) {
            st = store_bind_int64(s, 5, 0);
        }
        if (st == ST_OK) {
            st = store_exec(s);
        }
    }
    if (st == ST_OK) {
        rpg_game_event_later("quest:status_changed", RPG_NO_PANE);
    }
    if ((st == ST_OK) && (to == QS_COMPLETED)) {
        rpg_proj_delta delta;
        (void)memset(&delta, 0, sizeof delta);
        delta.q_completed = 1;
        st = award(&q, "quest:completed", NULL, true, now);
        if (st == ST_OK) {
            st = count(&q, &delta, now);
        }
    }
    finish(h, st, q.seq);
}

/* ---- PATCH /api/quests/{id}/phases/{phaseId} (§4.7, §7.2) ------------------------------ */

static const char k_ps_msg[] =
    "status must be one of: pending, planned, executing, retrying, completed, failed, skipped";

/* The phase's change in the open transaction: its row, awards, counters. */
static st_t phase_write(const quest_row *q, int64_t ord, const char *phase_id, int to,
                        uint64_t now)
{
    sqlite3_stmt *s = rpg_stmt(RPG_SQL_PHASE_SET);
    rpg_proj_delta delta;
    st_t st = store_bind_int64(s, 1, q->seq);
    (void)memset(&delta, 0, sizeof delta);
    if (st == ST_OK) {
        st = store_bind_int64(s, 2, ord);
    }
    if (st == ST_OK) {
        st = store_bind_text(s, 3, strv_from_cstr(k_ps[to]));
    }
    if (st == ST_OK) {
        st = store_bind_int64(s, 4, (int64_t)now);
    }
    if (st == ST_OK) {
        st = (to == PS_COMPLETED) ? store_bind_int64(s, 5, (int64_t)now) : store_bind_null(s, 5);
    }
    if (st == ST_OK) {
        st = store_bind_int64(s, 6, (to == PS_RETRYING) ? 1 : 0);
    }
    if (st == ST_OK) {
        st = store_exec(s);
    }
    if ((st == ST_OK) && (to == PS_PLANNED)) {
        st = award(q, "quest:phase_planned", phase_id, true, now);
    } else if ((st == ST_OK) && (to == PS_RETRYING)) {
        delta.q_retries = 1;
        st = count(q, &delta, now);
    } else if ((st == ST_OK) && (to == PS_COMPLETED)) {
        delta.q_phases = 1;
        st = award(q, "quest:phase_completed", phase_id, true, now);
        if (st == ST_OK) {
            st = count(q, &delta, now);
        }
    } else {
        /* no award, no counter */
    }
    return st;
}

void rpg_phase_update(hctx *h)
{
    json_doc d;
    quest_row q;
    strv pid = hctx_param(h, 1u);
    char phase_id[RPG_ID_BYTES];
    bool row = false;
    int to;
    int from = NONE;
    int64_t ord = 0;
    int64_t retries = 0;
    uint64_t now = now_ms();
    st_t st;
    if (!rpg_body_obj(h, &d)) {
        return;
    }
    to = body_status(h, &d, k_ps, PS_COUNT, k_ps_msg);
    json_release(&d);
    if (to == NONE) {
        return;
    }
    st = quest_find(hctx_param(h, 0u), &q);
    if (st != ST_OK) {
        lookup_error(h, st, "Quest not found");
        return;
    }
    st = ST_NOTFOUND;
    if ((pid.p != NULL) && (pid.n > 0u) && (pid.n < sizeof phase_id)) {
        sqlite3_stmt *s = rpg_stmt(RPG_SQL_PHASE_BY_ID);
        (void)memcpy(phase_id, pid.p, pid.n);
        phase_id[pid.n] = '\0';
        st = store_bind_int64(s, 1, q.seq);
        if (st == ST_OK) {
            st = store_bind_text(s, 2, pid);
        }
        if (st == ST_OK) {
            st = store_step(s, &row);
        }
        if ((st == ST_OK) && row) {
            ord = store_col_int64(s, 0);
            from = status_index(store_col_text(s, 1), k_ps, PS_COUNT);
            retries = store_col_int64(s, 2);
            st = (from == NONE) ? ST_BAD : ST_OK;
        } else if (st == ST_OK) {
            st = ST_NOTFOUND;
        } else {
            /* the error */
        }
        store_done(s);
    }
    if (st != ST_OK) {
        lookup_error(h, st, "Phase not found");
        return;
    }
    if ((q.status != QS_PLANNED) && (q.status != QS_ACTIVE)) {
        rpg_error(h, 400, "UPDATE_FAILED", "Quest is not active");
        return;
    }
    if (to == from) {
        answer_quest(h, q.seq);         /* the same status: nothing changes */
        return;
    }
    if (!allowed(k_pnext[from], to)) {
        transition_error(h, "phase", k_ps, k_pnext[from], from, to);
        return;
    }
    if ((to == PS_RETRYING) && (retries >= PHASE_MAX_RETRIES)) {
        rpg_error(h, 400, "UPDATE_FAILED",
                  "Retry limit reached: the phase was retried 3 times (maxRetries 3)");
        return;
    }
    if (store_begin() != ST_OK) {
        rpg_error(h, 500, "INTERNAL_ERROR", "Internal server error");
        return;
    }
    finish(h, phase_write(&q, ord, phase_id, to, now), q.seq);
}
