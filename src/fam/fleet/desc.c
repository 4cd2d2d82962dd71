/*
 * desc.c - the fleet family as a descriptor (fam/desc.h): bots, souls, chat
 * sessions, /ws/events; listener default :3000, tower-http CORS.
 *
 * Compiled in every profile; what needs the family's code is behind
 * CFG_FAM_FLEET.
 * Its config keys (fam/keys.h) are here too, outside that: their values
 * (its storage), its upstream environment names and the finish that
 * derives and cross-checks them, as a profile without the family still
 * knows its keys, to refuse them by name.
 */
#include "fam/desc.h"

#include "config.h"
#include "fam/families.h"
#include "fam/fleet/events.h"
#include "fam/fleet/fleet.h"
#include "fam/fleet/sql.h"

/* Its schema steps, in the one numbering of the database (store.h): a
 * released step is never edited; a change is a new step with the next free
 * number of the whole schema. */
#if CFG_FAM_FLEET
#define STMTS (&fleet_stmts)
#else
#define STMTS NULL
#endif

static const store_migration k_steps[] = {
    { 2u,
    /* 2: fleet. Timestamps are RFC 3339 text with 6 fractional digits (UTC,
     * 'Z'), so text order is time order. tags, overrides and capabilities
     * hold JSON text written and validated by roost. Deleting a bot
     * cascades to everything that belongs to it. */
    "CREATE TABLE bots("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  slug TEXT NOT NULL UNIQUE,"
    "  name TEXT NOT NULL,"
    "  description TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  category TEXT NOT NULL,"
    "  tags TEXT NOT NULL,"
    "  conversation_count INTEGER NOT NULL DEFAULT 0,"
    "  total_tokens_used INTEGER NOT NULL DEFAULT 0,"
    "  version_count INTEGER NOT NULL DEFAULT 0,"
    "  created_at TEXT NOT NULL,"
    "  updated_at TEXT NOT NULL,"
    "  last_active_at TEXT"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TABLE soul_versions("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  bot_id TEXT NOT NULL REFERENCES bots(id) ON DELETE CASCADE,"
    "  version INTEGER NOT NULL,"
    "  content TEXT NOT NULL,"
    "  hash TEXT NOT NULL,"
    "  message TEXT,"
    "  created_at TEXT NOT NULL,"
    "  UNIQUE(bot_id, version)"
    ") STRICT;"
    "CREATE TABLE chat_sessions("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  bot_id TEXT NOT NULL REFERENCES bots(id) ON DELETE CASCADE,"
    "  title TEXT,"
    "  started_at TEXT NOT NULL,"
    "  ended_at TEXT,"
    "  total_input_tokens INTEGER NOT NULL DEFAULT 0,"
    "  total_output_tokens INTEGER NOT NULL DEFAULT 0,"
    "  message_count INTEGER NOT NULL DEFAULT 0,"
    "  model TEXT NOT NULL,"
    "  status TEXT NOT NULL DEFAULT 'active'"
    ") STRICT;"
    "CREATE INDEX chat_sessions_by_bot ON chat_sessions(bot_id, started_at);"
    "CREATE TABLE chat_messages("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  session_id TEXT NOT NULL REFERENCES chat_sessions(id) ON DELETE CASCADE,"
    "  role TEXT NOT NULL,"
    "  content TEXT NOT NULL,"
    "  created_at TEXT NOT NULL,"
    "  input_tokens INTEGER,"
    "  output_tokens INTEGER,"
    "  model TEXT,"
    "  stop_reason TEXT,"
    "  response_ms INTEGER,"
    "  partial INTEGER NOT NULL DEFAULT 0"
    ") STRICT;"
    "CREATE INDEX chat_messages_by_session ON chat_messages(session_id, created_at, id);"
    "CREATE TABLE secrets("
    "  key TEXT PRIMARY KEY NOT NULL,"
    "  value TEXT NOT NULL,"
    "  updated_at TEXT NOT NULL"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TABLE bot_skills("
    "  bot_id TEXT NOT NULL REFERENCES bots(id) ON DELETE CASCADE,"
    "  skill_name TEXT NOT NULL,"
    "  enabled INTEGER NOT NULL DEFAULT 1,"
    "  trust_tier TEXT,"
    "  version TEXT,"
    "  overrides TEXT NOT NULL DEFAULT '{}',"
    "  capabilities TEXT,"
    "  PRIMARY KEY(bot_id, skill_name)"
    ") STRICT, WITHOUT ROWID;" },
    { 6u,
    /* 6: fleet. A bot's emoji (spec §2.1, <= 32 bytes of UTF-8; NULL: none,
     * never ""). No DEFAULT: the rows before it read NULL. */
    "ALTER TABLE bots ADD COLUMN emoji TEXT;" },
    { 7u,
    /* 7: fleet builder drafts (spec/fleet.md §10.2). mode 'bot' or 'skill';
     * reconfigure 1 for a bot reconfiguration; history holds the phases
     * left behind, oldest first, space-separated; last_turn the last
     * BuilderTurn as sent (NULL before the first); config a JSON object of
     * the config fields gathered so far; updated_at in the +00:00 form the
     * API shows. The recorded answers are rows of their own, in order. */
    "CREATE TABLE builder_drafts("
    "  session_id TEXT PRIMARY KEY NOT NULL,"
    "  mode TEXT NOT NULL,"
    "  reconfigure INTEGER NOT NULL,"
    "  phase TEXT NOT NULL,"
    "  history TEXT NOT NULL,"
    "  initial_description TEXT NOT NULL,"
    "  last_turn TEXT,"
    "  config TEXT NOT NULL,"
    "  updated_at TEXT NOT NULL"
    ") STRICT;"
    "CREATE INDEX builder_drafts_by_time ON builder_drafts(updated_at, session_id);"
    "CREATE TABLE builder_answers("
    "  session_id TEXT NOT NULL REFERENCES builder_drafts(session_id) ON DELETE CASCADE,"
    "  seq INTEGER NOT NULL,"
    "  phase TEXT NOT NULL,"
    "  question TEXT NOT NULL,"
    "  answer TEXT NOT NULL,"
    "  PRIMARY KEY(session_id, seq)"
    ") STRICT, WITHOUT ROWID;" },
};

/* Its keys (fam/keys.h), their values here; fleet.c reads them by name. */
/* cppcheck-suppress misra-c2012-5.7 ; false positive: an untagged struct has no tag */
static struct {
    char web_dir[CFG_CONF_VALUE_BYTES];    /* used only if it exists */
    uint32_t ws_heartbeat_ms;             /* /ws/events ping period */
} g_keys;
_Static_assert(sizeof(g_keys) <= FAM_KEYS_STATIC_BYTES, "the plan's room for a family's keys");

static const cfg_key_def k_keys[] = {
    FAM_KEY("fleet.web_dir", K_STR, 0u, g_keys, web_dir, 0u, 0u, "apps/web/dist", "DIR",
            "apps/web/dist (if it exists)"),
    FAM_KEY("fleet.ws_heartbeat_ms", K_UINT, 0u, g_keys, ws_heartbeat_ms, 100u, KEY_MS_DAY,
            "30000", "MS", NULL),
};

/* Spec 2.2. */
static const cfg_alias k_aliases[] = {
    { "BOTERNITY_WEB_DIR", "fleet.web_dir" },
};

const fam_desc fam_fleet = {
    .name = "fleet",
    .prefix = "fleet",
    .about = "bots, souls, chat over SSE, /ws/events, builder, web UI",
    .port = 3000u,
    .topic = FLEET_TOPIC,
    .cors = CORS_STYLE_TOWER,
    .cors_origins = "*",
    .cors_credentials = false,
    .cors_methods = NULL,
    .cors_headers = NULL,
    .keys = k_keys,
    .nkeys = sizeof(k_keys) / sizeof(k_keys[0]),
    .aliases = k_aliases,
    .naliases = sizeof(k_aliases) / sizeof(k_aliases[0]),
    .keys_finish = NULL,
    /* the steps always (one schema in every profile), the statements when built */
    .store = { "fleet", k_steps, sizeof(k_steps) / sizeof(k_steps[0]), STMTS },
#if CFG_FAM_FLEET
    .built = true,
    .routes = &fleet_routes,
    .error = fleet_error,
    .init = fleet_init,
    .streams = fleet_streams,
    .setup = fleet_setup,
#endif
};
