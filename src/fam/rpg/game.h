/*
 * game.h - the rpg family's game half (spec/rpg.md §2.3-§2.7, §4.5-§4.9,
 * §7, §8): personas, projects and their companions, the XP ledger, quests
 * and avatars, kept in sqlite (the family's migration step 5, desc.c).
 *
 *   persona.c  personas (§2.3, §8.4-§8.6): found or created by session id,
 *              health, badges, counters; GET /api/personas[/{id}]; the
 *              persona shown in a Claude pane (a copy kept in the pane
 *              session, refreshed when the persona changes)
 *   project.c  projects (§2.4): found by path, created from git (a child
 *              process: the working tree's root and its origin remote);
 *              companion stats and streaks (§2.5, §8.7, §8.8); GET
 *              /api/projects[/{id}]; the `companions` message
 *   xp.c       awards (§8.1-§8.3): the ledger and its running sums; GET
 *              /api/xp/summary and /api/xp/timeline
 *   quest.c    quests and phases (§2.6, §4.7, §7)
 *   avatar.c   GET /api/avatars/{seed} (§4.9)
 *
 * Writes happen inside one transaction per change (a hook, a quest
 * request): the caller opens it (store_begin), the functions below write
 * in it, and after the commit (or the rollback) the caller calls
 * rpg_game_after(committed): only then are the change's bus events
 * (xp:awarded, quest:status_changed) published and the companions
 * compared with the last broadcast, so nothing is announced that a
 * rollback took back.
 *
 * Dates: a "day" is a local date (the port's time zone, core/clock.h) as
 * days since 1970-01-01; streaks and the XP timeline count in them.
 */
#ifndef ROOST_FAM_RPG_GAME_H
#define ROOST_FAM_RPG_GAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "core/strv.h"
#include "http/server.h"
#include "fam/rpg/rpg_int.h"
#include "json/write.h"
#include "store/store.h"

#define RPG_ID_BYTES 40u                /* a uuid v4 and its NUL */

/* ---- dates ---- */

/* The local day of wall clock ms. */
int64_t rpg_day_of(uint64_t wall_ms);
/* Today (the port's clock, local zone). */
int64_t rpg_today(void);
/* "YYYY-MM-DD" of a day into out (11 bytes). */
void rpg_day_text(int64_t day, char out[11]);

/* Whether s is "" (a predicate: see MISRA.md on rule 10.4). */
bool rpg_empty(const char *s);

/* ---- levels (§8.2, §8.3) ---- */

/* threshold(L) = 50 L (L - 1) */
int64_t rpg_level_threshold(uint32_t level);
/* The largest L with total >= threshold(L) (1 for total < 100). */
uint32_t rpg_level_of(int64_t total_xp);
/* novice, apprentice, journeyman, expert, master */
const char *rpg_tier_of(uint32_t level);

/* ---- XP (xp.c) ---- */

/* §8.1: the XP of an event type, and its category. */
int64_t rpg_xp_value(strv event_type);
const char *rpg_xp_category(strv event_type);
/* Award event_type inside the caller's transaction: the ledger row, the
 * running sums, the persona's and the project's totals and levels, the
 * project's lastActivityAt; xp:awarded is published by rpg_game_after.
 * persona_id / project_id: "" or NULL for none. metadata: a JSON object's
 * text or a NULL view. *amount (may be NULL) gets the XP awarded. */
st_t rpg_xp_award(const char *persona_id, const char *project_id, strv event_type,
                  strv metadata, uint64_t wall_ms, int64_t *amount);

/* ---- personas (persona.c) ---- */

/* Badges (§8.5) as bits of rpg_personas.badges, in this order. */
#define RPG_BADGES 6u

/* A persona row (§2.3) and its counters (§8.5). */
typedef struct {
    char id[RPG_ID_BYTES];
    char sid[RPG_SID_BYTES];
    char name[RPG_NAME_BYTES];
    int64_t total_xp;
    uint32_t level;
    uint32_t badges;
    int32_t energy;
    int32_t morale;
    uint64_t health_ms;
    int64_t files_edited;
    int64_t files_written;
    int64_t bash_commands;
    int64_t tests_run;
    int64_t commits_created;
    int64_t clarity_files_edited;
    uint64_t created_ms;
    uint64_t last_seen_ms;
} rpg_persona;

/* The persona of session id sid, created when there is none (§8.6 names;
 * a sid starting "pane-" is a placeholder), in the caller's transaction.
 * ST_OK with *p; storage errors. */
st_t rpg_persona_ensure(strv sid, uint64_t wall_ms, rpg_persona *p);
/* Write back everything a hook changes (totals as they are in the row:
 * awards change total_xp and level themselves, so p's are reread first). */
st_t rpg_persona_save(rpg_persona *p);
/* §8.4: decay, then the deltas, clamped; lastUpdated now. */
void rpg_persona_health(rpg_persona *p, uint64_t wall_ms, int32_t d_energy, int32_t d_morale);
/* Recompute the badges from the counters (earned badges are kept). */
void rpg_persona_badges(rpg_persona *p);
/* The copy a pane session keeps for its Claude pane (rpg_int.h). */
void rpg_persona_view_of(const rpg_persona *p, rpg_persona_view *v);
/* Link a pane session to the persona of its session id (§3.4), creating
 * it (a placeholder for pane-%N), in a transaction of its own. */
void rpg_persona_attach(rpg_csession *cs);
/* The badge names of bits, for a JSON array. */
void rpg_w_badges(json_w *w, uint32_t bits);

/* ---- projects (project.c) ---- */

/* Counter deltas of a project (§2.5 CompanionStats; §8.7). */
typedef struct {
    int64_t prompts;
    int64_t sessions;
    int64_t commits;
    int64_t pushes;
    int64_t prs_created;
    int64_t prs_merged;
    int64_t tests_run;
    int64_t builds_run;
    int64_t lints_run;
    int64_t clarinet_checks;
    int64_t clarinet_tests;
    int64_t q_created;
    int64_t q_phases;
    int64_t q_completed;
    int64_t q_retries;
} rpg_proj_delta;

/* Add d to project id's counters (and its lastActivityAt) in the caller's
 * transaction. ST_NOTFOUND when there is no such project. */
st_t rpg_project_add(const char *project_id, const rpg_proj_delta *d, uint64_t wall_ms);
/* After each poll: find the project of each pane session whose cwd is
 * new (a known project containing it, else git through a child process:
 * the working tree's root and origin remote; one git at a time). */
void rpg_projects_poll(void);
/* rpg_init: git's path ("" or NULL: projects are never created). */
void rpg_projects_init(const char *git_path);
/* The project containing path (the deepest), id into out. ST_NOTFOUND. */
st_t rpg_project_of_path(const char *path, char out[RPG_ID_BYTES]);
/* §8.8: the streak of project id at the local day of wall_ms. */
st_t rpg_project_streak(const char *project_id, uint64_t wall_ms);
/* toolsUsed.<tool> += 1 */
st_t rpg_project_tool(const char *project_id, strv tool);
/* Whether project id exists; its name into name (cap bytes, may be NULL).
 * ST_OK, ST_NOTFOUND, or a storage error. */
st_t rpg_project_get_name(strv id, char *name, size_t cap);

/* ---- after a change ---- */

/* A bus event of the change (§10) to publish once it committed: a static
 * event type ("xp:awarded", "quest:status_changed"), the pane or
 * RPG_NO_PANE. At most RPG_LATER_EVENTS per change (more are dropped,
 * counted). */
#define RPG_LATER_EVENTS 16u
void rpg_game_event_later(const char *event_type, uint32_t pane);
/* The change ended: committed publishes its events and schedules the
 * companions comparison (once per loop turn); otherwise they are dropped. */
void rpg_game_after(bool committed);
/* Compare the companions with the last broadcast in a later turn (once,
 * however often it is asked before), and now (project.c): broadcast
 * `companions` when they differ (§9.2). */
void rpg_companions_later(void);
void rpg_companions_check(void);
/* project.c: the current `companions` message for one /ws client (§9.1,
 * §9.4's resend), a producer for stream_send_message; state points to an
 * rpg_comp_prod zeroed by the caller. */
typedef struct {
    uint8_t opaque[256];
} rpg_comp_prod;
size_t rpg_companions_prod(void *state, char *buf, size_t cap, bool *done);

/* ---- lists rendered page by page (game.c) ---- */

/* A list from sqlite as a producer (hctx_producer, http/server.h): the
 * head, every row of a keyset page statement (bound ?1 the last row's
 * number key or NULL, ?2 its id, ?3 a page size), the tail. Each call runs
 * the page statement again from the last row written, so no statement
 * stays open between pieces and the list may be of any length; a row is
 * written whole or not at all (row() renders it with a json_w that fails
 * when it does not fit). max_rows > 0 stops after that many rows. */
typedef void (*rpg_row_fn)(sqlite3_stmt *s, json_w *w);
typedef struct {
    uint8_t phase;                      /* 0 head, 1 rows, 2 tail, 3 done */
    bool any;
    bool has_key;
    uint16_t sql;                       /* rpg_sql_id of the page statement */
    int64_t key_num;
    uint32_t rows;
    uint32_t max_rows;
    int key_num_col;
    int key_id_col;
    rpg_row_fn row;
    const char *head;                   /* static text */
    const char *tail;
    char key_id[RPG_ID_BYTES];
} rpg_page_prod;
size_t rpg_page_produce(void *state, char *buf, size_t cap, bool *done);
/* Answer 200 with such a list: head (static text, ending in '['), the
 * rows, "]},\"ok\":true}". */
void rpg_page_send(hctx *h, uint16_t sql, int key_num_col, int key_id_col, rpg_row_fn row,
                   const char *head);

/* ---- handlers and hooks ---- */

void rpg_personas_list(hctx *h);        /* persona.c */
void rpg_persona_get(hctx *h);
void rpg_projects_list(hctx *h);        /* project.c */
void rpg_project_get(hctx *h);
void rpg_xp_summary(hctx *h);           /* xp.c */
void rpg_xp_timeline(hctx *h);
void rpg_quests_list(hctx *h);          /* quest.c */
void rpg_quest_get(hctx *h);
void rpg_quest_create(hctx *h);
void rpg_quest_update(hctx *h);
void rpg_phase_update(hctx *h);
void rpg_avatar_get(hctx *h);           /* avatar.c */
/* rpg_init: where avatars are cached (<data_dir>/rpg/avatars, made when
 * missing). A failure is logged; avatars are then generated per request. */
void rpg_avatar_init(const char *data_dir);

/* quest.c: the quests_init message of /ws (§9.1: the list of GET
 * /api/quests) piece by piece, a producer for stream_send_message
 * (http/stream.h): state points to an rpg_quests_prod zeroed by the
 * caller. */
typedef struct {
    uint8_t opaque[512];
} rpg_quests_prod;
size_t rpg_quests_init_prod(void *state, char *buf, size_t cap, bool *done);

#endif
