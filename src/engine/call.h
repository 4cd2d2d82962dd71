/*
 * call.h - one-shot LLM calls of the agent engine: one non-streaming call
 * (out/llm's whole mode) that fails over along the §7.2 candidate list and
 * hands its whole reply text back at the end. The fleet builder's turns
 * and skill generation (spec/fleet.md §10) run on these, beside the chat's
 * agents (agent.h), with the same providers, keys, candidates, failover
 * rule and provider_failover event (engine/provider.h).
 *
 * Slots: a fixed pool of CFG_ENGINE_CALLS; eng_call_start answers ST_FULL
 * when every slot is busy, and the caller refuses its request (503): there
 * is no queue. Memory: the request body and the reply text live in the
 * chat heap (g_chat_heap) while the call runs, and so does the reply
 * itself when the caller asks for a buffer larger than out/llm's
 * (reply_bytes). A call whose out/llm slot
 * is not free yet waits for one (retried by the pump every 50 ms).
 *
 * Failover (§7.2, non-streaming): a candidate that cannot be reached,
 * times out, breaks, sends a malformed body, answers 429 or >= 500 gives
 * way to the next, any time before the whole reply has arrived; each
 * failover publishes provider_failover on the host's bus. Any other HTTP
 * status ends the call with "HTTP <status>: <message>"; the last
 * candidate's failure ends it with "All providers failed: <reason>".
 *
 * Every call starts from a zero-delay timer (the pump), never from inside
 * a curl callback, so the caller may start a call from its done callback
 * (a retry). done runs exactly once per started call, always in a later
 * loop turn than eng_call_start, unless the call is cancelled first.
 */
#ifndef ROOST_ENGINE_CALL_H
#define ROOST_ENGINE_CALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "core/status.h"
#include "core/strv.h"
#include "out/llm_wire.h"

typedef struct eng_call eng_call;

typedef struct {
    const char *provider;      /* P: a provider name (or kind); "" or NULL:
                                * the fallback chain only */
    strv model;                /* M, used with P */
    int64_t max_tokens;
    double temperature;
    strv system;
    const llm_msg *msgs;       /* at least one */
    size_t nmsgs;
    const char *what;          /* for logs: "builder turn" */
    bool json_object;          /* ask for a JSON object reply where the
                                * provider has such a mode (OpenAI-compatible
                                * response_format); a provider that refuses
                                * it (HTTP 400) is asked again without */
    size_t reply_bytes;        /* 0: the reply fits out/llm's slot buffer
                                * (CFG_LLM_SSE_BYTES); else a buffer of this
                                * many bytes in the chat heap, half for the
                                * reply body, half for its text */
} eng_call_req;

typedef struct {
    bool ok;
    strv text;                 /* ok: the reply's text, valid during done */
    const char *error;         /* !ok: why, valid during done */
    uint64_t input_tokens;     /* as reported by the provider (0 when not) */
    uint64_t output_tokens;
} eng_call_result;

typedef void (*eng_call_done)(void *ctx, const eng_call_result *r);

/*
 * Start a call; *q, its texts and its messages must stay valid until done
 * runs (or eng_call_cancel). ST_FULL: no slot free. ST_NOTFOUND: no
 * candidate (P is not configured and llm.fallback_chain is empty).
 * ST_NOMEM: no timer for the pump, or no chat heap for the reply buffer.
 * Nothing is started on failure.
 */
st_t eng_call_start(const eng_call_req *q, eng_call_done done, void *ctx, eng_call **out);

/* Abort a call (its connection closes); done will not run. NULL is a
 * no-op. */
void eng_call_cancel(eng_call *c);

typedef struct {
    uint64_t started;
    uint64_t completed;
    uint64_t failed;
    uint64_t refused;          /* ST_FULL */
    uint64_t failovers;
    uint32_t active;
    uint32_t active_high;
} eng_call_stats_t;
const eng_call_stats_t *eng_call_stats(void);

/* Static RAM of the slots, for the plan (fam/fleet/plan.def): a slot is
 * its request copy, candidates, buffers' bookkeeping and error text. */
#define ENGINE_CALL_STATIC_BYTES ((size_t)CFG_ENGINE_CALLS * ((size_t)CFG_LLM_DETAIL_BYTES + 400u))
size_t eng_call_static_bytes(void);

#endif
