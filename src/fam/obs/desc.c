/*
 * desc.c - the observability family as a descriptor (fam/desc.h): hook events and
 * sessions, /ws; listener default :8765, FastAPI style.
 *
 * Compiled in every profile; what needs the family's code is behind
 * CFG_FAM_OBS.
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
#if CFG_FAM_OBS
    .store = { "observability", k_steps, sizeof(k_steps) / sizeof(k_steps[0]), &obs_stmts },
    .built = true,
    .routes = &obs_routes,
    .error = fam_fastapi_error,
    .init = obs_init,
    .streams = obs_streams,
    .setup = fam_fastapi_setup,
#else
    .store = { "observability", k_steps, sizeof(k_steps) / sizeof(k_steps[0]), NULL },
    .built = false,
#endif
};
