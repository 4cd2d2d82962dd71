/*
 * llm.h - LLM calls inside the poll loop, streaming or whole.
 *
 * A fixed pool of CFG_LLM_SLOTS call slots, each one libcurl easy handle
 * made at init and reused, driven by one multi handle through curl's
 * socket API: curl tells which sockets it wants (net_watch) and when it
 * wants a timeout (core/timer), and the loop hands readiness back. Nothing
 * blocks: DNS (c-ares), connect, TLS (mbedTLS) and the transfer all advance
 * a little per loop turn. Memory: curl and c-ares use out/mem's fixed
 * heap, mbedTLS its own buffer; nothing reaches libc malloc after init.
 * Calls do not borrow from net/'s buffer pool (conn.h): their sockets are
 * curl's, their receive buffers and TLS records live in those two heaps,
 * which size per call slot, and a call's output goes to its owner (the
 * chat's queue in the chat heap, bounded per request, pausing the call
 * beyond it) before the owner's connection borrows a tx to send it.
 *
 * A call POSTs one JSON body (the caller's buffer, which must stay valid
 * until the call ends) to a provider and streams its SSE reply through the
 * provider's decoder (out/llm_wire). The caller's sink sees every text
 * delta, every usage/stop report, and exactly one end, unless it cancels.
 *
 * A whole call (llm_start_whole, for a body written with llm_req.whole)
 * reads one JSON reply instead: its 200 body is collected in the slot's
 * SSE buffer (CFG_LLM_SSE_BYTES) or the caller's and decoded when it has all arrived
 * (llm_wire_decode_whole); the sink then sees the whole text in one
 * on_text (none when the reply has no text) and the end. Until then
 * nothing is delivered, so got_text is false on every failure before the
 * complete reply (fleet.md §7.2: such calls fail over at any point).
 *
 * Ends (llm_result.st):
 *   ST_OK       the stream finished (message_stop / [DONE], or EOF after
 *               a complete reply); a whole reply arrived and decoded
 *   ST_IO       could not connect, TLS failed, the connection broke, or
 *               the provider sent an error event (a whole call: an error
 *               object with status 200); detail says which
 *   ST_TIMEOUT  no response headers within timeout_ms, or no byte for
 *               idle_ms while streaming (or while a whole reply arrives)
 *   ST_HTTP     a status other than 200: http_status and the provider's
 *               message in detail
 *   ST_BAD      the stream (the whole reply) was malformed (detail names
 *               what)
 *   ST_TOOBIG   an event (a whole call: the reply body) larger than
 *               CFG_LLM_SSE_BYTES (or half the caller's reply buffer)
 * Failures of the connection and timeouts have details starting with
 * "connect error: " (before the response headers) or "stream error: "
 * (after), in both modes. got_text says whether a text delta was delivered
 * before the end: the failover rule of fleet.md §7.2 looks at it.
 *
 * Backpressure: when the sink's on_text returns false the call is paused
 * (curl stops reading the socket, so the provider's TCP window fills) until
 * llm_resume; nothing is buffered per call beyond the SSE event in progress.
 * A whole call's one on_text comes after the reply has all arrived: its
 * return value is not looked at (nothing is left to hold back) and on_end
 * follows at once. llm_pause holds a whole call's reply as it arrives, as
 * it holds a stream.
 */
#ifndef ROOST_OUT_LLM_H
#define ROOST_OUT_LLM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "core/status.h"
#include "core/strv.h"
#include "out/llm_wire.h"

typedef struct llm_call llm_call;

/* The llm.* keys as the callers of this module use them (the app fills it
 * from its config, the chat engine reads it): the providers and the
 * fallback chain, the budgets. Plain data: it is also the type of a build
 * without the LLM stack, where nothing fills it. */
typedef struct llm_provider_conf {
    const char *name;
    llm_kind kind;
    const char *base_url;          /* no trailing '/' */
    const char *api_key_secret;    /* the secret's name, "" for none */
    const char *env_key;           /* the environment variable's value at
                                    * start, NULL when unset */
    const char *default_model;
    uint32_t timeout_ms;
} llm_provider_conf;

typedef struct llm_conf {
    const llm_provider_conf *prov; /* nprov entries, in llm.providers order */
    uint32_t nprov;
    const uint8_t *chain;          /* llm.fallback_chain as indexes into prov */
    uint32_t nchain;
    uint64_t budget_tokens;        /* llm.request_budget_tokens (>= 10000) */
    uint32_t budget_pause_timeout_ms;
    uint32_t max_depth;
    uint32_t history_max_messages;
} llm_conf;

/* Static RAM of the slots (for app/pools.def): each slot's SSE buffer (a
 * whole call's reply) and bookkeeping, and one shared decoded-text buffer. */
#define LLM_STATIC_BYTES                                                          \
    (((size_t)CFG_LLM_SLOTS * ((size_t)CFG_LLM_SSE_BYTES + 8192u)) + (size_t)CFG_LLM_SSE_BYTES)

/* cppcheck-suppress misra-c2012-2.4 ; false positive: an untagged struct has no tag */
typedef struct {
    st_t st;
    int http_status;              /* 0 when no response */
    bool got_text;
    uint64_t input_tokens;        /* as reported (0 when not) */
    uint64_t output_tokens;
    uint64_t cache_creation_input_tokens;
    uint64_t cache_read_input_tokens;
    bool has_usage;
    bool has_cache_creation;
    bool has_cache_read;
    char stop_reason[LLM_WIRE_REASON_BYTES];
    char detail[CFG_LLM_DETAIL_BYTES];
} llm_result;

typedef struct {
    /* A text delta, decoded; always taken whole. Returning false pauses the
     * call after it, until llm_resume (not a whole call: see above). */
    bool (*on_text)(void *ctx, strv text);
    /* The call ended (not called after llm_cancel). The slot is free again
     * when this returns. */
    void (*on_end)(void *ctx, const llm_result *r);
} llm_sink;

typedef struct {
    llm_kind kind;
    const char *url;              /* base_url + llm_wire_path(kind) */
    strv key;                     /* may be empty */
    uint32_t timeout_ms;          /* connect + first byte */
    uint32_t idle_ms;             /* silence while streaming (while a whole
                                     reply arrives) */
} llm_target;

/* After out_mem_init: make the multi handle and the slots' easy handles
 * (ST_NOMEM when the heap is too small: nothing works then), then parse the
 * PEM bundle ca_file once; every https connection is verified against it.
 * A bundle that cannot be read (ST_NOTFOUND, ST_IO, ST_TOOBIG) or parsed
 * (ST_BAD) is returned too, but calls work: plain http ones normally, https
 * ones fail verification (never unverified). */
st_t llm_init(const char *ca_file);

/* Start a call. ST_FULL when every slot is busy (nothing started);
 * ST_NOMEM when no header or timer could be had (nothing started);
 * ST_INVAL for bad arguments. body[0..n) must stay valid until on_end or
 * llm_cancel. */
st_t llm_start(const llm_target *t, const char *body, size_t n, const llm_sink *sink,
               void *ctx, llm_call **out);

/* The same for a whole (non-streaming) call: body says "stream":false
 * (llm_req.whole) and the reply is one JSON body (see above). A function
 * of its own rather than a member of llm_target: callers fill llm_target
 * member by member, so a new member would be read uninitialized.
 * reply: NULL for the slot's SSE buffer (a reply of at most
 * CFG_LLM_SSE_BYTES); else the caller's buffer of cap bytes, valid until
 * the end, whose first half collects the reply body and second half its
 * decoded text (a longer reply: a skill generated by the builder). */
st_t llm_start_whole(const llm_target *t, const char *body, size_t n, char *reply, size_t cap,
                     const llm_sink *sink, void *ctx, llm_call **out);

/* Abort: the connection is closed, on_end is not called, the slot is free. */
void llm_cancel(llm_call *c);

/* Pause a call from outside its sink (a request paused on its budget):
 * the next bytes curl reads for it are held, not parsed, until llm_resume;
 * curl then stops reading its socket. Safe from any callback; a no-op for
 * NULL or a call that is not running. */
void llm_pause(llm_call *c);

/* Continue a call paused by on_text returning false or by llm_pause. */
void llm_resume(llm_call *c);

typedef struct {
    uint32_t slots_used;
    uint32_t slots_high;
    uint64_t started;
    uint64_t completed;
    uint64_t failed;
    uint64_t cancelled;
    uint64_t slot_waits;          /* ST_FULL */
} llm_stats_t;
const llm_stats_t *llm_stats(void);

#endif
