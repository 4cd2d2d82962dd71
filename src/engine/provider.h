/*
 * provider.h - what every LLM call of the agent engine shares (spec/fleet.md
 * §7.1, §7.2): the host's registries, the candidate list of a call, the
 * target (URL and key) of one candidate, the failover rule and its event.
 * Used by the chat's agents (engine/agent.c) and by one-shot calls
 * (engine/call.c), so both fail over the same way.
 */
#ifndef ROOST_ENGINE_PROVIDER_H
#define ROOST_ENGINE_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "core/strv.h"
#include "engine/agent.h"
#include "out/llm.h"

/* The host's registries (agent.h), set by chat_agents_set_host. */
const engine_host *engine_host_get(void);
void engine_host_set(const engine_host *h);

/* The provider named p, else the first of kind p ("anthropic",
 * "openai-compatible"); CHAT_NONE when none. */
int32_t engine_find_provider(const llm_conf *cfg, strv p);

/* The §7.2 candidate list for provider index primary (CHAT_NONE: none):
 * primary first (with the caller's model: *first_model true), then every
 * other provider of llm.fallback_chain with its own default model. Returns
 * the number of candidates written to cand. */
uint32_t engine_candidates(const llm_conf *cfg, int32_t primary,
                           uint8_t cand[CFG_MAX_PROVIDERS], bool *first_model);

/* The target of provider p: its URL and key (the fleet secret named by
 * api_key_secret, else the environment variable's value), in static
 * buffers valid until the next call; engine_target_wipe clears the key
 * once llm_start has copied it. */
void engine_target(const llm_provider_conf *p, llm_target *t);
void engine_target_wipe(void);

/* Does a failed call fail over (§7.2): could not connect, timed out,
 * broke, a malformed stream, 429 or >= 500? (Before its first text; the
 * caller checks that.) */
bool engine_failover_ok(const llm_result *res);
/* Its reason: "connect error: <detail>", "HTTP <status>" or "stream error
 * before first token: <detail>". */
void engine_failover_reason(const llm_result *res, char *buf, size_t cap);
/* Publish provider_failover on the host's bus (never on the SSE, §7.2). */
void engine_failover_publish(const char *from, const char *to, const char *reason);

#endif
