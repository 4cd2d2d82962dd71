/*
 * obs_int.h - what the parts of the observability family share: the
 * limits of spec/observability.md §2.1, the common helpers and validation
 * (api.c), the live updates (events.c: obs_event_message, obs_publish),
 * the route handlers (events.c: POST /events, GET /events, /ws;
 * sessions.c: the /sessions routes and stop) and the Claude Code hooks
 * posted to rpg (hooks.c, Decision 9). obs.c holds the route table and the
 * descriptor's hooks; obs.h is the family's contract.
 */
#ifndef ROOST_FAM_OBS_INT_H
#define ROOST_FAM_OBS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "core/strv.h"
#include "fam/obs/obs.h"
#include "fam/obs/sql.h"
#include "fam/shared/fapi.h"
#include "fam/shared/xfam.h"
#include "http/server.h"
#include "json/read.h"
#include "json/write.h"
#include "store/store.h"

/* ---- limits (§2.1, §3.5), in characters ------------------------------------ */
#define EVENT_TYPE_MAX 64u
#define SESSION_ID_MAX 256u
#define SESSION_NAME_MAX 512u
#define TIMESTAMP_MAX 64u
#define TOOL_NAME_MAX 256u
#define PROJECT_DIR_MAX 4096u
#define AGENT_NAME_MAX 256u
#define PID_MAX 2147483647

#define I64_MIN ((-INT64_MAX) - 1)

#define EVENTS_LIMIT_DEFAULT 100
#define EVENTS_LIMIT_MAX 1000

#define UTF8_BYTES(chars) (((chars) * 4u) + 1u)

/* session_updated: a Session escapes to at most ~30 KiB (§2.1 limits). */
#define SESSION_MSG_BYTES OBS_MSG_BYTES

/* ---- api.c: common answers, rows and statements ---- */
void obs_not_found(hctx *h);
void obs_internal(hctx *h, const char *what, st_t st);
void obs_session_members(json_w *w, sqlite3_stmt *q);
void obs_session_row(sqlite3_stmt *q, json_w *w);
st_t obs_session_get(strv sid, sqlite3_stmt **out);
st_t obs_exec_1(obs_sql_id id, strv a);
st_t obs_exec_2(obs_sql_id id, strv a, strv b);

/* ---- api.c: validation in pydantic's model order (§1, §2.1) ---- */
bool obs_field_str(fapi_errs *e, const json_doc *d, const char *key, bool required,
                      size_t min, size_t max, char *buf, size_t cap, strv *out);
bool obs_field_str_raw(fapi_errs *e, const json_doc *d, const char *key, strv *out);
bool obs_field_int(fapi_errs *e, const json_doc *d, const char *key, int64_t lo,
                      int64_t hi, bool *has, int64_t *out);
bool obs_field_obj(fapi_errs *e, const json_doc *d, const char *key, strv *out);
bool obs_field_content(fapi_errs *e, const json_doc *d, strv *out);

/* ---- events.c: recording, live updates ---- */
/* The `event` message of ev (§6) into msg[0..cap): its length, or 0 when
 * it does not fit. obs_record and the batch publish it. */
size_t obs_event_message(const obs_event *ev, char *msg, size_t cap);
typedef enum { OBS_PUB_SESSION_UPDATED, OBS_PUB_SESSION_DELETED } obs_pub;
/* The session messages of live updates (§6): serialized once onto the ring. */
void obs_publish(obs_pub kind, strv session_id);
/* Is the JSON text one of Python's falsy values ({}, [], "", 0, 0.0,
 * false, null)? Those are stored as null (§2.2). */
bool obs_json_falsy(strv v);
st_t obs_bind_opt_text(sqlite3_stmt *q, int idx, strv v, bool drop_empty);

/* ---- route handlers ---- */
void obs_post_event(hctx *h);
void obs_list_events(hctx *h);
void obs_ws_connect(hctx *h);
void obs_list_sessions(hctx *h);
sqlite3_stmt *obs_sessions_query(const void *ctx, int64_t sent);
void obs_patch_session_meta(hctx *h);
void obs_delete_session(hctx *h);
void obs_stop_session(hctx *h);
/* Decision 8 (fam/shared/xfam.h): a running session with agent_name name? */
st_t obs_agent_running(strv name, bool *running);

/* ---- hooks.c: Decision 9 (fam/shared/xfam.h, spec/hooks.md §4-§7) ---- */
/* Expand observability.transcript_dirs (`~` = HOME of env->envp); at init. */
void obs_hooks_init(const fam_env *env);
/* The answer to rpg's xfam_hook_record: the hook's observability events. */
void obs_hook_record(const xfam_hook *hk);

#endif
