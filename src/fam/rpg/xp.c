/*
 * xp.c - the XP ledger (spec/rpg.md §2.7, §4.8, §8.1-§8.3).
 *
 * An award writes one ledger row (rpg_xp), adds to the running sums of
 * each entity it names (rpg_xp_days by local day, rpg_xp_cats by
 * category; kind 0 persona, 1 project), adds to the persona's and the
 * project's totals and recomputes their levels, all in the caller's
 * transaction (game.h); xp:awarded goes out after the commit. So the
 * summary reads at most six rows and the timeline at most 366, however
 * long the ledger is: both are index lookups, never a scan of the ledger.
 *
 * The timeline counts local dates (the port's zone; the spec's UTC dates
 * are the case of a host kept in UTC): days + 1 entries from today - days
 * to today, ascending, 0 where nothing was awarded.
 */
#include "fam/rpg/game.h"

#include <string.h>

#include "core/log.h"
#include "fam/rpg/rpg_int.h"
#include "fam/rpg/sql.h"
#include "http/parse.h"

/* cppcheck-suppress misra-c2012-5.7 ; false positive: an untagged struct has no tag */
static const struct {
    const char *type;
    int64_t xp;
} k_values[] = {
    { "tool:Read", 1 }, { "tool:Edit", 3 }, { "tool:Write", 5 }, { "tool:Bash", 2 },
    { "tool:Task", 5 }, { "tool:Grep", 1 }, { "tool:Glob", 1 }, { "tool:WebFetch", 2 },
    { "tool:WebSearch", 2 },
    { "git:commit", 15 }, { "git:push", 10 }, { "git:branch", 5 }, { "git:merge", 10 },
    { "git:rebase", 10 }, { "git:pr_created", 20 }, { "git:pr_merged", 50 },
    { "quest:created", 5 }, { "quest:phase_planned", 10 }, { "quest:phase_completed", 25 },
    { "quest:completed", 100 }, { "quest:phase_verified", 25 },
    { "achievement:unlocked", 25 }, { "achievement:rare", 50 },
    { "achievement:legendary", 100 },
    { "bonus:streak", 10 }, { "bonus:daily", 5 }, { "bonus:milestone", 50 },
};

int64_t rpg_xp_value(strv event_type)
{
    size_t i;
    for (i = 0u; i < (sizeof(k_values) / sizeof(k_values[0])); i++) {
        if (strv_eq_cstr(event_type, k_values[i].type)) {
            return k_values[i].xp;
        }
    }
    return strv_starts_with_cstr(event_type, "tool:") ? 2 : 1;
}

const char *rpg_xp_category(strv event_type)
{
    const char *c = "other";
    if (strv_starts_with_cstr(event_type, "tool:")) {
        c = "tool_use";
    } else if (strv_starts_with_cstr(event_type, "git:")) {
        c = "git";
    } else if (strv_starts_with_cstr(event_type, "quest:")) {
        c = "quest";
    } else if (strv_starts_with_cstr(event_type, "achievement:")) {
        c = "achievement";
    } else if (strv_starts_with_cstr(event_type, "bonus:")) {
        c = "bonus";
    } else {
        /* other */
    }
    return c;
}

static bool named(const char *id)
{
    return (id != NULL) && (id[0] != '\0');
}

static st_t bind_opt(sqlite3_stmt *s, int idx, const char *id)
{
    return named(id) ? store_bind_text(s, idx, strv_from_cstr(id)) : store_bind_null(s, idx);
}

static st_t sums(int64_t kind, const char *entity, int64_t day, const char *cat, int64_t xp)
{
    sqlite3_stmt *s = rpg_stmt(RPG_SQL_XP_DAY_ADD);
    st_t st = store_bind_int64(s, 1, kind);
    if (st == ST_OK) {
        st = store_bind_text(s, 2, strv_from_cstr(entity));
    }
    if (st == ST_OK) {
        st = store_bind_int64(s, 3, day);
    }
    if (st == ST_OK) {
        st = store_bind_int64(s, 4, xp);
    }
    if (st == ST_OK) {
        st = store_exec(s);
    }
    if (st == ST_OK) {
        s = rpg_stmt(RPG_SQL_XP_CAT_ADD);
        st = store_bind_int64(s, 1, kind);
        if (st == ST_OK) {
            st = store_bind_text(s, 2, strv_from_cstr(entity));
        }
        if (st == ST_OK) {
            st = store_bind_text(s, 3, strv_from_cstr(cat));
        }
        if (st == ST_OK) {
            st = store_bind_int64(s, 4, xp);
        }
        if (st == ST_OK) {
            st = store_exec(s);
        }
    }
    return st;
}

/* total += xp, then the level from the new total. */
static st_t credit(rpg_sql_id add, rpg_sql_id level, const char *id, int64_t xp, uint64_t now)
{
    sqlite3_stmt *s = rpg_stmt(add);
    bool row = false;
    st_t st = store_bind_text(s, 1, strv_from_cstr(id));
    if (st == ST_OK) {
        st = store_bind_int64(s, 2, xp);
    }
    if ((st == ST_OK) && (add == RPG_SQL_XP_PROJECT_ADD)) {
        st = store_bind_int64(s, 3, (int64_t)now);
    }
    if (st == ST_OK) {
        st = store_step(s, &row);
    }
    if ((st == ST_OK) && row) {
        int64_t total = store_col_int64(s, 0);
        store_done(s);
        s = rpg_stmt(level);
        st = store_bind_text(s, 1, strv_from_cstr(id));
        if (st == ST_OK) {
            st = store_bind_int64(s, 2, (int64_t)rpg_level_of(total));
        }
        if (st == ST_OK) {
            st = store_exec(s);
        }
    } else if (st == ST_OK) {
        st = ST_NOTFOUND;
    } else {
        /* the error */
    }
    return st;
}

st_t rpg_xp_award(const char *persona_id, const char *project_id, strv event_type,
                  strv metadata, uint64_t wall_ms, int64_t *amount)
{
    int64_t xp = rpg_xp_value(event_type);
    const char *cat = rpg_xp_category(event_type);
    int64_t day = rpg_day_of(wall_ms);
    sqlite3_stmt *s = rpg_stmt(RPG_SQL_XP_INSERT);
    st_t st = bind_opt(s, 1, persona_id);
    if (st == ST_OK) {
        st = bind_opt(s, 2, project_id);
    }
    if (st == ST_OK) {
        st = store_bind_text(s, 3, event_type);
    }
    if (st == ST_OK) {
        st = store_bind_int64(s, 4, xp);
    }
    if (st == ST_OK) {
        st = (metadata.p != NULL) ? store_bind_text(s, 5, metadata) : store_bind_null(s, 5);
    }
    if (st == ST_OK) {
        st = store_bind_int64(s, 6, (int64_t)wall_ms);
    }
    if (st == ST_OK) {
        st = store_exec(s);
    }
    if ((st == ST_OK) && named(persona_id)) {
        st = sums(0, persona_id, day, cat, xp);
        if (st == ST_OK) {
            st = credit(RPG_SQL_XP_PERSONA_ADD, RPG_SQL_XP_PERSONA_LEVEL, persona_id, xp, wall_ms);
        }
    }
    if ((st == ST_OK) && named(project_id)) {
        st = sums(1, project_id, day, cat, xp);
        if (st == ST_OK) {
            st = credit(RPG_SQL_XP_PROJECT_ADD, RPG_SQL_XP_PROJECT_LEVEL, project_id, xp, wall_ms);
        }
    }
    if (st == ST_OK) {
        rpg_game_event_later("xp:awarded", RPG_NO_PANE);
        if (amount != NULL) {
            *amount = xp;
        }
    }
    return st;
}

/* ---- GET /api/xp/summary, /api/xp/timeline (§4.8) ---- */

/* type and id of the query: *kind 0 persona, 1 project; false when it
 * answered (400 or 404). */
static bool entity_of(hctx *h, int64_t *kind, char *id, size_t cap)
{
    strv q = (h->req != NULL) ? h->req->query : STRV_NULL;
    strv type = http_query_get(q, "type");
    strv raw = http_query_get(q, "id");
    size_t n = 0u;
    sqlite3_stmt *s;
    bool row = false;
    st_t st;
    *kind = 0;
    if ((type.p != NULL) && !strv_eq_cstr(type, "persona")) {
        if (!strv_eq_cstr(type, "project")) {
            rpg_error(h, 400, "INVALID_PARAM", "Invalid type parameter: must be persona or project");
            return false;
        }
        *kind = 1;
    }
    if ((raw.p == NULL) || (raw.n == 0u) ||
        (http_pct_decode(raw, id, cap - 1u, &n) != ST_OK) || (n == 0u)) {
        if ((raw.p == NULL) || (raw.n == 0u)) {
            rpg_error(h, 400, "MISSING_PARAM", "Missing id parameter");
        } else {
            rpg_error(h, 404, "NOT_FOUND", (*kind == 0) ? "Persona not found" : "Project not found");
        }
        return false;
    }
    id[n] = '\0';
    s = rpg_stmt((*kind == 0) ? RPG_SQL_XP_PERSONA_EXISTS : RPG_SQL_XP_PROJECT_EXISTS);
    st = store_bind_text(s, 1, strv_make(id, n));
    if (st == ST_OK) {
        st = store_step(s, &row);
    }
    store_done(s);
    if (st != ST_OK) {
        rpg_error(h, 500, "INTERNAL_ERROR", "Internal server error");
        return false;
    }
    if (!row) {
        rpg_error(h, 404, "NOT_FOUND", (*kind == 0) ? "Persona not found" : "Project not found");
        return false;
    }
    return true;
}

/* The list's statement is done: close the array and the data, answer. */
static void finish(hctx *h, json_w *w, sqlite3_stmt *s, st_t st)
{
    store_done(s);
    json_w_arr_end(w);
    json_w_obj_end(w);
    if (st != ST_OK) {
        rpg_error(h, 500, "INTERNAL_ERROR", "Internal server error");
        return;
    }
    rpg_ok_end(h, w);
}

void rpg_xp_summary(hctx *h)
{
    char id[RPG_ID_BYTES + 64u];
    int64_t kind = 0;
    json_w w;
    sqlite3_stmt *s;
    bool row = false;
    st_t st;
    if (!entity_of(h, &kind, id, sizeof id)) {
        return;
    }
    s = rpg_stmt(RPG_SQL_XP_SUMMARY);
    st = store_bind_int64(s, 1, kind);
    if (st == ST_OK) {
        st = store_bind_text(s, 2, strv_from_cstr(id));
    }
    rpg_ok_begin(h, &w);
    json_w_obj_begin(&w);
    json_w_key(&w, "summary");
    json_w_arr_begin(&w);
    while (st == ST_OK) {
        strv cat;
        st = store_step(s, &row);
        if ((st != ST_OK) || !row) {
            break;
        }
        cat = store_col_text(s, 0);
        json_w_obj_begin(&w);
        json_w_kstrn(&w, "category", cat.p, cat.n);
        json_w_ki64(&w, "total", store_col_int64(s, 1));
        json_w_ki64(&w, "count", store_col_int64(s, 2));
        json_w_obj_end(&w);
    }
    finish(h, &w, s, st);
}

void rpg_xp_timeline(hctx *h)
{
    char id[RPG_ID_BYTES + 64u];
    int64_t kind = 0;
    uint64_t days = 30u;
    strv q = (h->req != NULL) ? h->req->query : STRV_NULL;
    strv dv = http_query_get(q, "days");
    json_w w;
    sqlite3_stmt *s;
    bool row = false;
    st_t st;
    int64_t today;
    int64_t d;
    int64_t next_day = 0;
    int64_t next_xp = 0;
    bool have = false;
    if (!entity_of(h, &kind, id, sizeof id)) {
        return;
    }
    if ((dv.p != NULL) && (!strv_to_u64(dv, 365u, &days) || (days < 1u))) {
        rpg_error(h, 400, "INVALID_PARAM", "Invalid days parameter: must be 1-365");
        return;
    }
    today = rpg_today();
    s = rpg_stmt(RPG_SQL_XP_TIMELINE);
    st = store_bind_int64(s, 1, kind);
    if (st == ST_OK) {
        st = store_bind_text(s, 2, strv_from_cstr(id));
    }
    if (st == ST_OK) {
        st = store_bind_int64(s, 3, today - (int64_t)days);
    }
    if (st == ST_OK) {
        st = store_bind_int64(s, 4, today);
    }
    rpg_ok_begin(h, &w);
    json_w_obj_begin(&w);
    json_w_key(&w, "timeline");
    json_w_arr_begin(&w);
    for (d = today - (int64_t)days; (st == ST_OK) && (d <= today); d++) {
        char text[11];
        int64_t xp = 0;
        if (!have) {
            st = store_step(s, &row);
            if ((st == ST_OK) && row) {
                next_day = store_col_int64(s, 0);
                next_xp = store_col_int64(s, 1);
            } else {
                next_day = today + 1;   /* no more rows */
            }
            have = true;
        }
        if (have && (next_day == d)) {
            xp = next_xp;
            have = false;
        }
        rpg_day_text(d, text);
        json_w_obj_begin(&w);
        json_w_kstr(&w, "date", text);
        json_w_ki64(&w, "xp", xp);
        json_w_obj_end(&w);
    }
    finish(h, &w, s, st);
}
