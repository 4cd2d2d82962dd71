/*
 * desc.c - the rpg family as a descriptor (fam/desc.h): claude-rpg server-v2;
 * listener default :4011, the Origin echoed on every response.
 *
 * Compiled in every profile; what needs the family's code is behind
 * CFG_FAM_RPG.
 * Its config keys (fam/keys.h) are here too, outside that: their values
 * (its storage), its upstream environment names and the finish that
 * derives and cross-checks them, as a profile without the family still
 * knows its keys, to refuse them by name.
 */
#include "fam/desc.h"

#include <inttypes.h>
#include <stdio.h>

#include "config.h"
#include "fam/families.h"
#include "fam/rpg/rpg.h"

#if CFG_FAM_RPG
#include "fam/rpg/sql.h"
#define STMTS (&rpg_stmts)
#else
#define STMTS NULL
#endif

/* Its schema steps, in the one numbering of the database (store.h): a
 * released step is never edited; a change is a new step with the next free
 * number of the whole schema. */
static const store_migration k_steps[] = {
    { 5u,
    /* 5: rpg part 2 (spec/rpg.md §2.3-§2.7, §8, §10). Times are epoch ms;
     * a "day" is a local date as days since 1970-01-01 (game.h). Persona
     * badges are a bit set (game.h, RPG_BADGE_*). The XP ledger keeps every
     * award; rpg_xp_days and rpg_xp_cats are its running sums per entity
     * (kind 0 persona, 1 project) by day and by category, kept in the
     * award's transaction, so the timeline and the summary read a few rows
     * whatever the ledger's size. rpg_hooks_seen holds the duplicate keys
     * of hooks.md §7 for 5 minutes, in the hook's transaction, so a hook
     * applied before a crash is still a duplicate after the restart.
     * No column has a DEFAULT (every INSERT names every value): a default
     * is an expression sqlite keeps in memory with the schema, and the
     * small profile's heap holds the whole schema. */
    "CREATE TABLE rpg_personas("
    "  id TEXT PRIMARY KEY,"
    "  session_id TEXT NOT NULL UNIQUE,"
    "  name TEXT NOT NULL UNIQUE,"
    "  total_xp INTEGER NOT NULL,"
    "  level INTEGER NOT NULL,"
    "  badges INTEGER NOT NULL,"
    "  energy INTEGER NOT NULL,"
    "  morale INTEGER NOT NULL,"
    "  health_at INTEGER NOT NULL,"
    "  files_edited INTEGER NOT NULL,"
    "  files_written INTEGER NOT NULL,"
    "  bash_commands INTEGER NOT NULL,"
    "  tests_run INTEGER NOT NULL,"
    "  commits_created INTEGER NOT NULL,"
    "  clarity_files_edited INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  last_seen_at INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX rpg_personas_by_seen ON rpg_personas(last_seen_at, id);"
    "CREATE TABLE rpg_projects("
    "  id TEXT PRIMARY KEY,"
    "  path TEXT NOT NULL UNIQUE,"
    "  name TEXT NOT NULL,"
    "  github_url TEXT,"
    "  total_xp INTEGER NOT NULL,"
    "  level INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  last_activity_at INTEGER NOT NULL,"
    "  prompts INTEGER NOT NULL,"
    "  sessions INTEGER NOT NULL,"
    "  commits INTEGER NOT NULL,"
    "  pushes INTEGER NOT NULL,"
    "  prs_created INTEGER NOT NULL,"
    "  prs_merged INTEGER NOT NULL,"
    "  tests_run INTEGER NOT NULL,"
    "  builds_run INTEGER NOT NULL,"
    "  lints_run INTEGER NOT NULL,"
    "  clarinet_checks INTEGER NOT NULL,"
    "  clarinet_tests INTEGER NOT NULL,"
    "  q_created INTEGER NOT NULL,"
    "  q_phases INTEGER NOT NULL,"
    "  q_completed INTEGER NOT NULL,"
    "  q_retries INTEGER NOT NULL,"
    "  streak_current INTEGER NOT NULL,"
    "  streak_longest INTEGER NOT NULL,"
    "  streak_day INTEGER"
    ") STRICT;"
    "CREATE INDEX rpg_projects_by_activity ON rpg_projects(last_activity_at, id);"
    "CREATE TABLE rpg_project_tools("
    "  project_id TEXT NOT NULL,"
    "  tool TEXT NOT NULL,"
    "  n INTEGER NOT NULL,"
    "  PRIMARY KEY(project_id, tool)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TABLE rpg_quests("
    "  seq INTEGER PRIMARY KEY,"
    "  id TEXT NOT NULL UNIQUE,"
    "  project_id TEXT,"
    "  title TEXT NOT NULL,"
    "  description TEXT,"
    "  status TEXT NOT NULL,"
    "  xp_awarded INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  started_at INTEGER,"
    "  completed_at INTEGER"
    ") STRICT;"
    "CREATE INDEX rpg_quests_by_status ON rpg_quests(status, created_at, seq);"
    "CREATE TABLE rpg_phases("
    "  quest_seq INTEGER NOT NULL,"
    "  ord INTEGER NOT NULL,"
    "  id TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  retry_count INTEGER NOT NULL,"
    "  started_at INTEGER,"
    "  completed_at INTEGER,"
    "  PRIMARY KEY(quest_seq, ord)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TABLE rpg_xp("
    "  id INTEGER PRIMARY KEY,"
    "  persona_id TEXT,"
    "  project_id TEXT,"
    "  event_type TEXT NOT NULL,"
    "  xp INTEGER NOT NULL,"
    "  metadata TEXT,"
    "  created_at INTEGER NOT NULL"
    ") STRICT;"
    "CREATE TABLE rpg_xp_days("
    "  kind INTEGER NOT NULL,"
    "  entity TEXT NOT NULL,"
    "  day INTEGER NOT NULL,"
    "  xp INTEGER NOT NULL,"
    "  PRIMARY KEY(kind, entity, day)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TABLE rpg_xp_cats("
    "  kind INTEGER NOT NULL,"
    "  entity TEXT NOT NULL,"
    "  category TEXT NOT NULL,"
    "  total INTEGER NOT NULL,"
    "  n INTEGER NOT NULL,"
    "  PRIMARY KEY(kind, entity, category)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TABLE rpg_hooks_seen("
    "  key TEXT PRIMARY KEY,"
    "  at INTEGER NOT NULL"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX rpg_hooks_seen_by_at ON rpg_hooks_seen(at);"
    "CREATE TABLE rpg_events("
    "  id INTEGER PRIMARY KEY,"
    "  at INTEGER NOT NULL,"
    "  pane TEXT,"
    "  persona_id TEXT,"
    "  project_id TEXT,"
    "  type TEXT NOT NULL,"
    "  tool TEXT,"
    "  payload TEXT"
    ") STRICT;"
    "CREATE INDEX rpg_events_by_at ON rpg_events(at);" },
};

/* Its keys (fam/keys.h), their values here; rpg.c reads them by name. */
/* cppcheck-suppress misra-c2012-5.7 ; false positive: an untagged struct has no tag */
static struct {
    char web_dir[CFG_CONF_VALUE_BYTES];
    uint32_t poll_interval_ms;
    uint32_t terminal_capture_lines;      /* 50..500 */
    uint32_t ws_heartbeat_ms;
    uint64_t ws_pause_bytes;              /* resume < pause <= max_buffer */
    uint64_t ws_resume_bytes;
    uint64_t ws_max_buffer_bytes;
    uint32_t events_retention_days;
} g_keys;
_Static_assert(sizeof(g_keys) <= FAM_KEYS_STATIC_BYTES, "the plan's room for a family's keys");

static const cfg_key_def k_keys[] = {
    FAM_KEY("rpg.web_dir", K_STR, 0u, g_keys, web_dir, 0u, 0u, "dist/client", "DIR",
            "dist/client (if it exists)"),
    FAM_KEY("rpg.poll_interval_ms", K_UINT, 0u, g_keys, poll_interval_ms, 10u, 3600000u, "250",
            "MS", NULL),
    FAM_KEY("rpg.terminal_capture_lines", K_UINT, F_CLAMP, g_keys, terminal_capture_lines, 50u,
            500u, "150", "N", "150 (clamped to 50..500)"),
    FAM_KEY("rpg.ws_heartbeat_ms", K_UINT, 0u, g_keys, ws_heartbeat_ms, 100u, KEY_MS_DAY,
            "30000", "MS", NULL),
    FAM_KEY("rpg.ws_pause_bytes", K_UINT, 0u, g_keys, ws_pause_bytes, 1u, KEY_MAX_U32, "65536",
            "N", NULL),
    FAM_KEY("rpg.ws_resume_bytes", K_UINT, 0u, g_keys, ws_resume_bytes, 0u, KEY_MAX_U32,
            "16384", "N", NULL),
    FAM_KEY("rpg.ws_max_buffer_bytes", K_UINT, 0u, g_keys, ws_max_buffer_bytes, 1u,
            KEY_MAX_U32, "4194304", "N", NULL),
    FAM_KEY("rpg.events_retention_days", K_UINT, 0u, g_keys, events_retention_days, 1u, 36500u,
            "7", "DAYS", NULL),
};

/* Spec 2.2: server-v2's own environment names. */
static const cfg_alias k_aliases[] = {
    { "PORT", "rpg.port" },
    { "POLL_INTERVAL", "rpg.poll_interval_ms" },
    { "WS_HEARTBEAT_INTERVAL", "rpg.ws_heartbeat_ms" },
    { "WS_BACKPRESSURE_HIGH", "rpg.ws_pause_bytes" },
    { "WS_BACKPRESSURE_LOW", "rpg.ws_resume_bytes" },
    { "EVENTS_RETENTION_DAYS", "rpg.events_retention_days" },
    { "TERMINAL_CAPTURE_LINES", "rpg.terminal_capture_lines" },
};

/* The WebSocket watermarks: resume < pause <= max_buffer. */
static st_t finish_keys(const fam_keys_env *env)
{
    st_t st = ST_OK;
    bool say = (env->err != NULL) && (env->errcap > 0u);
    if (g_keys.ws_resume_bytes >= g_keys.ws_pause_bytes) {
        st = ST_INVAL;
        if (say) {
            (void)snprintf(env->err, env->errcap, "rpg.ws_resume_bytes (%" PRIu64 ") must be "
                           "below rpg.ws_pause_bytes (%" PRIu64 ")", g_keys.ws_resume_bytes,
                           g_keys.ws_pause_bytes);
        }
    } else if (g_keys.ws_pause_bytes > g_keys.ws_max_buffer_bytes) {
        st = ST_INVAL;
        if (say) {
            (void)snprintf(env->err, env->errcap, "rpg.ws_pause_bytes (%" PRIu64 ") must not "
                           "exceed rpg.ws_max_buffer_bytes (%" PRIu64 ")", g_keys.ws_pause_bytes,
                           g_keys.ws_max_buffer_bytes);
        }
    } else {
        /* consistent */
    }
    return st;
}

const fam_desc fam_rpg = {
    .name = "rpg",
    .prefix = "rpg",
    .about = "tmux panes running Claude Code, personas, quests, XP",
    .port = 4011u,
    .hook_path = "/event",              /* hooks.md §1: the rpg hook script's target */
    .topic = RPG_TOPIC,
    .cors = CORS_STYLE_ECHO,
    .cors_origins = "*",
    .cors_credentials = false,
    .cors_methods = "GET, POST, PATCH, DELETE, OPTIONS",
    .cors_headers = "Content-Type, Authorization, X-API-Key",
    .keys = k_keys,
    .nkeys = sizeof(k_keys) / sizeof(k_keys[0]),
    .aliases = k_aliases,
    .naliases = sizeof(k_aliases) / sizeof(k_aliases[0]),
    .keys_finish = finish_keys,
    .store = { "rpg", k_steps, sizeof(k_steps) / sizeof(k_steps[0]), STMTS },
#if CFG_FAM_RPG
    .built = true,
    .routes = &rpg_routes,
    .error = rpg_error,
    .init = rpg_init,
    .streams = rpg_streams,
    .setup = rpg_setup,
    .shutdown = rpg_shutdown,
#endif
};
