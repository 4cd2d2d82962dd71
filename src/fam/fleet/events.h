/*
 * events.h - fleet's live event channel, GET /ws/events (spec/fleet.md §9):
 * the fleet bus delivered to every client, the client commands of §9.2, and
 * the two registries those commands reach (cancellable sub-agents, §7.6;
 * requests paused on an exhausted budget, §7.5).
 *
 * Bus. fleet_bus_publish puts one event (a JSON object with its `type`)
 * into the event ring under FLEET_TOPIC; every /ws/events client
 * (WebSocket, or SSE for an EventSource GET) reads it from its own cursor.
 * A client overtaken by the ring skips what it lost (logged, counted as lag
 * in the policy's stats). Nothing is sent on connect.
 *
 * Commands. One JSON object per text message:
 *   ping                          -> {"type":"pong"}
 *   subscribe_workflow {run_id}   -> {"type":"workflow_subscribed","run_id":…}
 *   unsubscribe_workflow {run_id} -> (no reply)
 *   cancel_agent {agent_id}       -> the agent's cancel callback (no reply)
 *   budget_continue {request_id}  -> the request's decide(ctx, true)
 *   budget_stop {request_id}      -> the request's decide(ctx, false)
 * Everything else (malformed JSON, not an object, unknown or missing type,
 * invalid UUIDs, an unknown agent, a request that is not paused) is logged
 * and ignored: no reply, the connection stays open. UUIDs are accepted in
 * the forms of RFC 9562 (hyphenated, 32 hex digits, {braced}, urn:uuid:;
 * any case) and compared as 16 bytes; replies carry the lowercase
 * hyphenated form.
 *
 * Registries. Fixed tables (CFG_FLEET_AGENT_SLOTS, CFG_FLEET_PAUSED_SLOTS),
 * keyed by UUID. Callbacks run synchronously from the poll loop while a
 * command is handled, after the command's JSON was released and with the
 * registry already updated, so a callback may register, unregister, pause
 * or forget anything (itself included).
 *
 * One thread: everything here runs in the poll loop.
 */
#ifndef ROOST_FLEET_EVENTS_H
#define ROOST_FLEET_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "core/status.h"
#include "http/server.h"
#include "http/stream.h"

/* The family's ring topic (its descriptor's topic, fam/fleet/desc.c). */
#define FLEET_TOPIC 0x1u

/* ---- route ---------------------------------------------------------------- */

/* GET /ws/events (auth already checked by the family). A WebSocket upgrade
 * becomes a subscriber (hctx_ws_accept); a GET whose Accept lists
 * text/event-stream gets the same bus as SSE (`data: <json>\n\n` per event,
 * `:\n\n` every heartbeat); anything else goes to hctx_ws_accept, which
 * answers 400/426 in the fleet envelope. */
void fleet_events_ws(hctx *h);

/* Protocol ping (SSE: comment) period from fleet.ws_heartbeat_ms; 0 turns
 * it off. The pong timeout is twice the period (saturating). Applies to
 * streams opened afterwards and, as stream.c reads the policy, to open ones.
 * Default 30000. */
void fleet_events_set_heartbeat_ms(uint32_t ms);

/* The endpoint's policy (its stats are the stream counters for /metrics). */
const stream_policy *fleet_events_policy(void);

/* Empty both registries and zero the counters, and list the policy for
 * /metrics (stream_register). Call once at startup after stream_init;
 * tests call it between cases. Registered callbacks are dropped without
 * being called. */
void fleet_events_init(void);

/* ---- bus ------------------------------------------------------------------ */

/* Publish one bus event: json[0..n) is a complete JSON object with `type`
 * (spec/fleet.md §9.1), copied into the ring. ST_OK; ST_TOOBIG when n is
 * above CFG_BUS_BYTES; ST_INVAL for json NULL or n 0 (both counted in
 * publish_failed, nothing published). */
st_t fleet_bus_publish(const char *json, size_t n);

/* ---- commands ------------------------------------------------------------- */

/* Per-connection state (kept in the subscriber's stream_user area). */
typedef struct {
    uint8_t runs[CFG_FLEET_WS_RUNS][16];   /* subscribed workflow run ids */
    uint32_t nruns;
} fleet_events_conn;

/* Longest reply of fleet_events_handle, NUL included. */
#define FLEET_EVENTS_REPLY_BYTES 96u

/* The policy's on_text: handle one client text message of subscriber s
 * (its fleet_events_conn is stream_user(s)) and send the reply, if any,
 * with stream_send_text (a reply that does not fit tx now is dropped and
 * counted). */
void fleet_events_command(stream_sub *s, const char *text, size_t n);

/* The same without a stream (the part fleet_events_command wraps; unit
 * tests call it): handle text[0..n) for the connection state cs (not NULL),
 * write the reply into reply[0..cap) NUL-terminated and return its length,
 * or 0 when there is no reply (ignored commands, cancel_agent, budget_*,
 * unsubscribe_workflow, or cap < FLEET_EVENTS_REPLY_BYTES). Counts into
 * fleet_events_stats() like a real command. text may be NULL only when n
 * is 0. */
size_t fleet_events_handle(fleet_events_conn *cs, const char *text, size_t n, char *reply,
                           size_t cap);

/* ---- registries ----------------------------------------------------------- */

/* Make agent_id (a UUID, see above) reachable by cancel_agent: the first
 * cancel_agent naming it calls cancel(ctx, agent_id) once, with agent_id in
 * lowercase hyphenated form (valid during the call only); the agent stays
 * registered (a second cancel_agent is ignored) until
 * fleet_agent_unregister. ST_OK; ST_INVAL for a NULL/invalid id or NULL
 * cancel; ST_EXISTS when agent_id is registered already; ST_FULL when all
 * CFG_FLEET_AGENT_SLOTS are in use (logged). */
st_t fleet_agent_register(const char *agent_id,
                          void (*cancel)(void *ctx, const char *agent_id), void *ctx);
/* Forget agent_id (finished, failed, cancelled); unknown ids are a no-op. */
void fleet_agent_unregister(const char *agent_id);

/* Mark request_id paused on its budget: the next budget_continue or
 * budget_stop naming it removes the entry and then calls decide(ctx, true)
 * or decide(ctx, false). ST_OK; ST_INVAL for a NULL/invalid id or NULL
 * decide; ST_EXISTS when it is paused already; ST_FULL when all
 * CFG_FLEET_PAUSED_SLOTS are in use (logged). */
st_t fleet_budget_pause(const char *request_id, void (*decide)(void *ctx, bool cont),
                        void *ctx);
/* Remove a pause without a decision (timeout, request gone); unknown ids
 * are a no-op. */
void fleet_budget_forget(const char *request_id);

/* ---- metrics -------------------------------------------------------------- */

typedef struct {
    uint64_t commands;          /* client text messages handled */
    uint64_t pongs;             /* {"type":"pong"} replies */
    uint64_t subscribed;        /* workflow_subscribed replies */
    uint64_t ignored;           /* commands logged and ignored */
    uint64_t cancels;           /* cancel callbacks called */
    uint64_t budget_continues;  /* decide(ctx, true) called */
    uint64_t budget_stops;      /* decide(ctx, false) called */
    uint64_t replies_dropped;   /* replies that found no room in tx */
    uint64_t published;         /* events put on the bus */
    uint64_t publish_failed;    /* fleet_bus_publish refusals */
    uint64_t register_full;     /* ST_FULL from register/pause */
    uint32_t agents;            /* agents registered now */
    uint32_t paused;            /* requests paused now */
} fleet_events_stats_t;

/* Never NULL. */
const fleet_events_stats_t *fleet_events_stats(void);

/* Prometheus text (0.0.4) of these counters (roost_fleet_ws_*,
 * roost_fleet_bus_*, ...), appended by GET /metrics; the stream counters of
 * the endpoint are stream.c's (roost_stream_*{stream="fleet /ws/events"}). Returns the length written into buf[0..cap), or 0 when
 * it does not fit (buf contents then unspecified). */
size_t fleet_events_metrics(char *buf, size_t cap);

/* Static storage of the registries, for app/pools.def. */
#define FLEET_EVENTS_STATIC_BYTES                                                 \
    (((size_t)CFG_FLEET_AGENT_SLOTS * (24u + (2u * sizeof(void *)))) +            \
     ((size_t)CFG_FLEET_PAUSED_SLOTS * (24u + (2u * sizeof(void *)))))

#endif
