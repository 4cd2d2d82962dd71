/*
 * builder.h - the fleet builder, "Forge" (spec/fleet.md §2.9, §5.8, §10,
 * Decision 11): guided bot and skill creation through LLM turns, over REST
 * (/api/v1/builder/...) and over the WebSocket /ws/builder/{session_id}.
 *
 * Turns. Each turn is one non-streaming LLM call of the engine's one-shot
 * pool (engine/call.h: llm.builder_provider and llm.builder_model first,
 * then the fallback chain), max_tokens 2048, temperature 0.7, with the
 * §10.1 system prompt (bturn.h). A reply that is not a valid BuilderTurn
 * gets one retry with the reason; a second failure is the error. At most
 * one turn runs per session: a second request while one runs is refused
 * (REST 503 with Retry-After: 1, WS error), never a second call. Turns run
 * in CFG_ENGINE_CALLS slots; with none free the answer is 503 (REST) or
 * an error message (WS). A turn's answer waits in the loop
 * (hctx_later): nothing blocks.
 *
 * Drafts (§10.2) are rows of the database (builder_drafts and its answers,
 * schema step 7), written in one transaction when a turn succeeds: the
 * recorded answer, the phase and its history, the last turn, the config
 * gathered so far. A failed turn changes nothing; a kill -9 loses at most
 * the turn in flight. A turn whose WebSocket client left still completes
 * and is saved; `resume` on the next connection sends the saved turn
 * again (no call is made: the draft's last turn is the current question).
 *
 * Assemble creates the bot, its files, soul version 1 and its skill rows in
 * one step (botcreate.h); stub skills it had to create are removed again
 * when any later part fails. Create-skill generates a SKILL.md (and, for
 * wasm, Rust source stored beside it and never run) and installs it in the
 * library (skilllib.h).
 *
 * Limits: a turn as sent is at most BUILDER_TURN_MAX_BYTES (a longer reply
 * counts as invalid), a WebSocket client message at most
 * BUILDER_WS_MAX_MESSAGE (each frame must fit a connection buffer), and at
 * most CFG_BUILDER_WS builder WebSockets are open at once (1013 beyond).
 */
#ifndef ROOST_FLEET_BUILDER_H
#define ROOST_FLEET_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "http/server.h"

#define BUILDER_TURN_MAX_BYTES 12288u
#define BUILDER_WS_MAX_MESSAGE (64u * 1024u)

/* §5.8 */
void builder_start(hctx *h);
void builder_answer(hctx *h);
void builder_assemble(hctx *h);
void builder_create_skill(hctx *h);
void builder_get(hctx *h);
void builder_delete(hctx *h);
void builder_reconfigure(hctx *h);
void builder_drafts(hctx *h);
/* §10.4 */
void builder_ws(hctx *h);

/* provider and model: llm.builder_provider / llm.builder_model ("" when no
 * provider is configured); heartbeat_ms: the {"type":"pong"} period. */
void builder_init(const char *provider, const char *model, uint32_t heartbeat_ms);

/* Prometheus lines of the builder (turns, refusals, WebSockets). */
size_t builder_metrics(char *buf, size_t cap);

#endif
