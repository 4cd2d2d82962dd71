/*
 * desc.c - the observability family as a descriptor (fam/desc.h): hook events and
 * sessions, /ws; listener default :8765, FastAPI style.
 *
 * Compiled in every profile; what needs the family's code is behind
 * CFG_FAM_OBS.
 * Its config keys (fam/keys.h) are here too, outside that: their values
 * (its storage), its upstream environment names and the finish that
 * derives and cross-checks them, as a profile without the family still
 * knows its keys, to refuse them by name.
 */
#include "fam/desc.h"

#include "config.h"
#include "fam/families.h"
#include "fam/obs/obs.h"
#include "fam/obs/sql.h"
#include "fam/shared/fam.h"

/* Its schema steps, in the one numbering of the database (store.h): a
 * released step is never edited; a change is a new step with the next free
 * number of the whole schema. */
#if CFG_FAM_OBS
#define STMTS (&obs_stmts)
#else
#define STMTS NULL
#endif

static const store_migration k_steps[] = {
    { 3u,
    /* 3: observability (spec/observability.md §2). Timestamps are client
     * text stored verbatim (modified_at may be roost's clock). seq is the
     * creation order of a session (GET /sessions breaks created_at ties by
     * it). Events keep their own rows for session ids without a session;
     * tool_input, tool_output and content hold JSON text (NULL for the
     * "empty" values), and tool_name, error, reason and role hold the JSON
     * string literal as received (quotes and escapes), so they are returned
     * byte for byte without decoding. */
    "CREATE TABLE obs_sessions("
    "  seq INTEGER PRIMARY KEY,"
    "  session_id TEXT NOT NULL UNIQUE,"
    "  session_name TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  created_at TEXT NOT NULL,"
    "  modified_at TEXT NOT NULL,"
    "  project_dir TEXT,"
    "  agent_name TEXT"
    ") STRICT;"
    "CREATE INDEX obs_sessions_by_created ON obs_sessions(created_at, seq);"
    "CREATE TABLE obs_events("
    "  id INTEGER PRIMARY KEY,"
    "  session_id TEXT NOT NULL,"
    "  event_type TEXT NOT NULL,"
    "  timestamp TEXT NOT NULL,"
    "  tool_name_json TEXT,"
    "  tool_input TEXT,"
    "  tool_output TEXT,"
    "  error_json TEXT,"
    "  exit_code INTEGER,"
    "  reason_json TEXT,"
    "  role_json TEXT,"
    "  content TEXT,"
    "  pid INTEGER"
    ") STRICT;"
    "CREATE INDEX obs_events_by_session ON obs_events(session_id, timestamp, id);" },
};

/* Its keys (fam/keys.h), their values here; obs.c and events.c read them
 * by name. */
/* cppcheck-suppress misra-c2012-5.7 ; false positive: an untagged struct has no tag */
static struct {
    uint32_t stop_grace_ms;
    uint32_t ws_heartbeat_ms;             /* /ws ping period and pong timeout */
    uint64_t ws_max_buffer_bytes;         /* /ws send queue cap (close 1013) */
    char transcript_dirs[CFG_CONF_VALUE_BYTES]; /* list; hooks.c expands `~` at init */
} g_keys;
_Static_assert(sizeof(g_keys) <= FAM_KEYS_STATIC_BYTES, "the plan's room for a family's keys");

static const cfg_key_def k_keys[] = {
    FAM_KEY("observability.stop_grace_ms", K_UINT, 0u, g_keys, stop_grace_ms, 0u, 3600000u,
            "5000", "MS", NULL),
    FAM_KEY("observability.ws_heartbeat_ms", K_UINT, 0u, g_keys, ws_heartbeat_ms, 100u,
            KEY_MS_DAY, "20000", "MS", NULL),
    FAM_KEY("observability.ws_max_buffer_bytes", K_UINT, 0u, g_keys, ws_max_buffer_bytes,
            4096u, KEY_MAX_U32, "1048576", "N", NULL),
    FAM_KEY("observability.transcript_dirs", K_LIST, 0u, g_keys, transcript_dirs, 0u, 0u,
            "~/.claude/projects", "LIST", NULL),
};

/* Spec 2.2: the upstream server's CORS list (documents reads it too). */
static const cfg_alias k_aliases[] = {
    { "CORS_ORIGINS", "observability.cors_origins" },
};

const fam_desc fam_obs = {
    .name = "observability",
    .prefix = "observability",
    .about = "Claude Code hook events and sessions, /ws",
    .port = 8765u,
    .topic = OBS_TOPIC,
    .cors = CORS_STYLE_FASTAPI,
    .cors_origins = "http://localhost:5173,http://localhost:3000",
    .cors_credentials = false,
    .cors_methods = NULL,
    .cors_headers = NULL,
    .keys = k_keys,
    .nkeys = sizeof(k_keys) / sizeof(k_keys[0]),
    .aliases = k_aliases,
    .naliases = sizeof(k_aliases) / sizeof(k_aliases[0]),
    .keys_finish = NULL,
    /* the steps always (one schema in every profile), the statements when built */
    .store = { "observability", k_steps, sizeof(k_steps) / sizeof(k_steps[0]), STMTS },
#if CFG_FAM_OBS
    .built = true,
    .routes = &obs_routes,
    .error = fam_fastapi_error,
    .init = obs_init,
    .streams = obs_streams,
    .setup = fam_fastapi_setup,
#endif
};
