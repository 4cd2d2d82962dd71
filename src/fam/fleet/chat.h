/*
 * chat.h - fleet's chat stream, POST /api/v1/bots/{id}/chat/stream
 * (spec/fleet.md §6 – §8): one user turn answered by the bot's LLM provider
 * as an SSE stream, with failover across providers, sub-agents, a token
 * budget and persistence of the turn.
 *
 * A request: the checks of §6 in order (each answered with the JSON
 * envelope, no stream), then a session (created when none is given), the
 * system prompt (SOUL.md, IDENTITY.md, USER.md, instructions, agent
 * capabilities) and the history, then `200 text/event-stream`:
 *
 *   session, text_delta*, usage?, [sub-agent and budget events],
 *   [synthesis_started, text_delta+, usage], error?, done
 *
 * and the connection closes after `done`. A `:` comment goes out after
 * CFG_CHAT_KEEPALIVE_MS without output.
 *
 * Engine (one thread, all in the poll loop):
 *   - Every LLM call of a request (root, sub-agents, syntheses) runs in an
 *     out/llm slot. Calls are started from one place (a zero-delay timer
 *     "pump"), lowest wait number first, so children that find every slot
 *     busy wait in index order and a slot freed by one call's end is reused
 *     on the next loop turn.
 *   - Candidates (§7.2): the identity's provider P with model M (a provider
 *     named P, else the first of kind P), then the other providers of
 *     llm.fallback_chain with their default models. A call fails over when,
 *     before its first text, it could not connect, got HTTP 429/5xx, or its
 *     stream failed; each failover is published as provider_failover. An
 *     OpenAI-compatible 400 is retried once without stream_options.
 *   - Sub-agents (§7.4): spawn blocks, depth limit, cycle detection,
 *     parallel and sequential children, one retry, synthesis. Every agent
 *     event goes to the fleet bus and to this request's SSE stream, the
 *     same object but for §8's exceptions: on the stream, agent_spawned
 *     and cycle_detected also carry the upstream alias field, and an agent
 *     spawned by the bot's own turn (depth 1) has parent_id null (the bus
 *     keeps the root's id). The engine writes each event once; the
 *     stream's copy is gathered from its bytes (chat_event, agent.h).
 *   - Budget (§7.5): every call is charged; events and enforcement start
 *     at the first spawn; at 100 % the request pauses (its provider streams
 *     stop being read, no call starts) until budget_continue, budget_stop or
 *     llm.budget_pause_timeout_ms (= stop: local assembly of the results).
 *   - cancel_agent (§7.6) aborts an agent and its descendants.
 *   - Backpressure: the SSE output waits in a per-request queue (chat
 *     heap); above CFG_CHAT_QUEUE_BYTES the request's provider streams are
 *     paused until the client reads.
 *
 * Persistence (§7.7): a successful turn stores the user and the assistant
 * message and updates session and bot counters. An `error` stores nothing.
 * A client that disconnects aborts every call of the request (running
 * sub-agents get agent_cancelled "Client disconnected"); if the root had
 * produced text, that text is stored as the assistant message with
 * stop_reason "client_disconnected" (and the user message before it). A
 * shutdown (SIGTERM) does the same with "server_stopped" (agents:
 * "Server stopping"), after sending the client `error` "Server shutting
 * down" and `done`; the chats end first (a stream stop hook), so the bus
 * clients still see those agent_cancelled events before their 1001.
 *
 * Memory: CFG_CHAT_REQS requests, CFG_CHAT_AGENTS agents, and one heap of
 * CFG_CHAT_HEAP_BYTES for prompts, history, bodies, texts and queued
 * output. A request that does not fit at its start is answered 503.
 */
#ifndef ROOST_FLEET_CHAT_H
#define ROOST_FLEET_CHAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "engine/agent.h"
#include "http/server.h"
#include "out/llm.h"
#include "out/llm_wire.h"


/* Take the configuration (the pointers must stay valid) and reset every
 * request, agent and the heap. Call once at startup after the store, the
 * stream module and out/llm are up; tests call it again between cases
 * (with nothing running). */
void fleet_chat_init(const chat_config *cfg);

/* The route handler of POST /api/v1/bots/{id}/chat/stream. */
void fleet_chat_stream(hctx *h);

/* Statistics for /metrics (chat_stats_t: engine/agent.h). */
const chat_stats_t *fleet_chat_stats(void);

/* Prometheus text (roost_chat_*), appended by /metrics: the length written
 * into buf[0..cap), or 0 when it does not fit. */
size_t fleet_chat_metrics(char *buf, size_t cap);

/* Static storage of the module, for the plan: requests (about 2.3 KiB
 * each), agents (344 B each), the heap, and the scratch that holds one
 * message at its 100,000-character limit (chat.c checks the sum). */
#define FLEET_CHAT_STATIC_BYTES                                                  \
    (((size_t)CFG_CHAT_REQS * 2400u) + ((size_t)CFG_CHAT_AGENTS * 352u) +        \
     (size_t)CFG_CHAT_HEAP_BYTES + 401408u)

#endif
