/*
 * project.c - projects and their companions (spec/rpg.md §2.4, §2.5,
 * §4.6, §8.7, §8.8).
 */
#include "fam/rpg/game.h"

#include <string.h>

#include "core/log.h"
#include "fam/rpg/rpg_int.h"
#include "fam/rpg/sql.h"

st_t rpg_project_add(const char *project_id, const rpg_proj_delta *d, uint64_t wall_ms)
{
    const int64_t v[15] = { d->prompts, d->sessions, d->commits, d->pushes, d->prs_created,
                            d->prs_merged, d->tests_run, d->builds_run, d->lints_run,
                            d->clarinet_checks, d->clarinet_tests, d->q_created, d->q_phases,
                            d->q_completed, d->q_retries };
    sqlite3_stmt *s = rpg_stmt(RPG_SQL_PROJECT_ADD);
    st_t st = store_bind_text(s, 1, strv_from_cstr(project_id));
    int i;
    for (i = 0; (st == ST_OK) && (i < 15); i++) {
        st = store_bind_int64(s, i + 2, v[i]);
    }
    if (st == ST_OK) {
        st = store_bind_int64(s, 17, (int64_t)wall_ms);
    }
    if (st == ST_OK) {
        st = store_exec(s);
    }
    if ((st == ST_OK) && (store_changes() == 0u)) {
        st = ST_NOTFOUND;
    }
    return st;
}

st_t rpg_project_get_name(strv id, char *name, size_t cap)
{
    sqlite3_stmt *s = rpg_stmt(RPG_SQL_PROJECT_BY_ID);
    bool row = false;
    st_t st = store_bind_text(s, 1, id);
    if (st == ST_OK) {
        st = store_step(s, &row);
    }
    if ((st == ST_OK) && !row) {
        st = ST_NOTFOUND;
    } else if ((st == ST_OK) && (name != NULL) && (cap > 0u)) {
        (void)store_col_copy(s, 2, name, cap);
    } else {
        /* an error, or only asked whether it exists */
    }
    store_done(s);
    return st;
}

void rpg_projects_list(hctx *h)
{
    rpg_ok_raw(h, "{\"projects\":[]}");
}

void rpg_project_get(hctx *h)
{
    rpg_error(h, 404, "NOT_FOUND", "Project not found");
}

void rpg_companions_check(void)
{
}

size_t rpg_companions_prod(void *state, char *buf, size_t cap, bool *done)
{
    static const char k_c[] = "{\"type\":\"companions\",\"payload\":[]}";
    (void)state;
    *done = cap >= (sizeof(k_c) - 1u);
    if (!*done) {
        return 0u;
    }
    (void)memcpy(buf, k_c, sizeof(k_c) - 1u);
    return sizeof(k_c) - 1u;
}
