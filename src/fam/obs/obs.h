/*
 * obs.h - the observability family (agent-orchestrator), default :8765:
 * GET /health, POST /events, GET /sessions, GET /events/{session_id},
 * PATCH /sessions/{id}/metadata, DELETE /sessions/{id} and
 * POST /sessions/{id}/stop (spec/observability.md §3-§5), FastAPI-style
 * errors, and the live updates on /ws (§6); also the events of the Claude
 * Code hooks posted to rpg's POST /event (Decision 9, spec/hooks.md). The
 * folder is split as fleet's: obs.c (routes, hooks), events.c, sessions.c,
 * hooks.c, api.c (obs_int.h), with the descriptor in desc.c and the SQL in
 * stmts.def.
 */
#ifndef ROOST_FAM_OBS_H
#define ROOST_FAM_OBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "core/strv.h"
#include "fam/desc.h"
#include "http/server.h"
#include "http/stream.h"

/* The family's ring topic (its descriptor's topic, fam/obs/desc.c). */
#define OBS_TOPIC 0x4u

/* Static storage of this module, for app/pools.def: the session_updated
 * message (CFG_OBS_MSG_BYTES), the fields of one hook event and session
 * decoded at their limits, the stop slots (sessions.c checks the sum), the
 * batch's stage and holds (events.c checks its part) and what hooks.c
 * keeps. */
#define OBS_MSG_BYTES CFG_OBS_MSG_BYTES
/* The turn's batch of events (events.c): their messages and holds. */
#define OBS_BATCH_STATIC_BYTES \
    (CFG_OBS_BATCH_BYTES + ((size_t)CFG_OBS_BATCH_EVENTS * 12u))
/* hooks.c: where observability.transcript_dirs and HOME are, a count. */
#define OBS_HOOKS_STATIC_BYTES 32u
#define OBS_STATIC_BYTES                                                           \
    (OBS_MSG_BYTES + 26624u + ((size_t)CFG_OBS_STOP_SLOTS * 96u) + OBS_BATCH_STATIC_BYTES + \
     OBS_HOOKS_STATIC_BYTES)

/* The descriptor's route table and hooks (fam/desc.h, desc.c): init reads
 * observability.stop_grace_ms, streams the /ws keys and registers /ws. */
extern const fam_routes obs_routes;
st_t obs_init(const fam_env *env);
void obs_streams(const fam_env *env);

/* observability.stop_grace_ms: the wait between SIGINT and SIGTERM of a
 * stop (default 5000 until set). */
void obs_set_stop_grace_ms(uint32_t ms);

/* One event to record (spec/observability.md §2.1), already valid:
 *   event_type, session_id, session_name, timestamp: decoded UTF-8 text;
 *   tool_name, error, reason, role: the JSON string literal as received
 *     (with its quotes), p NULL for null;
 *   tool_input (an object), tool_output (any JSON), content (an array of
 *     objects): JSON text, p NULL for null;
 *   exit_code, pid: when has_*; pid in 1..2147483647.
 * Views are borrowed for the call only. */
typedef struct {
    strv event_type;
    strv session_id;
    strv session_name;
    strv timestamp;
    strv tool_name;
    strv tool_input;
    strv tool_output;
    strv error;
    strv reason;
    strv role;
    strv content;
    bool has_exit_code;
    int64_t exit_code;
    bool has_pid;
    int64_t pid;
} obs_event;

/* Record ev with the effects of POST /events (§3.2): session start/stop,
 * the stored event (empty tool_input / tool_output / content stored as
 * null), modified_at and the broadcast, in a transaction of its own
 * (POST /events itself batches its events per loop turn, events.c; this
 * is its way for an event too large for the batch's stage, and the way of
 * the events of a hook posted to rpg, hooks.c). The `event` message is
 * serialized first, into msg[0..cap) (the caller's room, which must not
 * hold ev's views): ST_TOOBIG when it does not fit, and nothing is
 * written. Storage errors are returned (and logged by the store); nothing
 * is half-written. */
st_t obs_record(const obs_event *ev, char *msg, size_t cap);

/* /ws: ping period (a client silent that long after a ping is closed with
 * 1001) and send queue cap (closed with 1013 above it). */
void obs_set_ws(uint32_t heartbeat_ms, uint64_t max_buffer_bytes);
const stream_stats_t *obs_ws_stats(void);

#endif
