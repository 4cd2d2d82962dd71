/*
 * agent.h - the agent engine: the agents of a chat request and their LLM
 * calls, failover, sub-agents, budgets and cancellation (engine/agent.c),
 * and the contract with the family that runs it (its host: today fleet's
 * chat, fam/fleet/chat.c; the builder next).
 *
 * The engine sits between out/ and the families and includes neither:
 *   - what it needs of the host's registries (cancel by agent id, budget
 *     decisions, the event bus, secrets) comes through an engine_host of
 *     callbacks, set once with chat_agents_set_host;
 *   - the request side (the request slot, its output stream, persistence)
 *     is the host's: chat_req below is shared, its stream is opaque here,
 *     and the host implements the "request side" functions declared below
 *     (chat_sse, chat_event, chat_finish, ...), which the engine calls.
 */
#ifndef ROOST_ENGINE_AGENT_H
#define ROOST_ENGINE_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "core/heap.h"
#include "core/strv.h"
#include "core/timer.h"
#include "core/uuid.h"
#include "out/llm.h"
#include "out/llm_wire.h"

/* The engine's configuration: the llm.* keys (out/llm.h), one
 * llm_provider_conf per llm.provider.<name>.*. */
typedef llm_provider_conf chat_provider;
typedef llm_conf chat_config;

/* Statistics for /metrics. */
typedef struct chat_stats_t {
    uint64_t requests;          /* streams started */
    uint64_t refused;           /* 503 (slots, heap) */
    uint32_t active;            /* requests streaming now */
    uint32_t active_high;
    uint32_t agents;            /* agents in use now */
    uint32_t agents_high;
    uint64_t completed;         /* turns persisted as successful */
    uint64_t failed;            /* turns ended with an error event */
    uint64_t disconnected;      /* clients gone mid-stream, or cut by a shutdown */
    uint64_t calls;             /* LLM calls started */
    uint64_t failovers;         /* provider_failover published */
    uint64_t spawned;           /* sub-agents announced */
    uint64_t cancelled;         /* agents cancelled (user, budget, disconnect) */
    uint64_t budget_pauses;     /* budget_exhausted */
    uint64_t output_pauses;     /* provider streams paused for a slow client */
    uint64_t events_dropped;    /* SSE events lost: no heap for them */
} chat_stats_t;

/* What the engine needs of its host's registries. Every member is set. */
typedef struct engine_host {
    /* Make agent_id reachable by the host's cancel (cancel(ctx, id) once);
     * ST_OK, ST_EXISTS, ST_FULL (logged by the host). */
    st_t (*agent_register)(const char *agent_id,
                           void (*cancel)(void *ctx, const char *agent_id), void *ctx);
    void (*agent_unregister)(const char *agent_id);
    /* Wait for the client's decision on request_id's budget:
     * decide(ctx, continue) once; ST_OK, ST_EXISTS, ST_FULL. */
    st_t (*budget_pause)(const char *request_id, void (*decide)(void *ctx, bool cont),
                         void *ctx);
    void (*budget_forget)(const char *request_id);
    /* Publish one event (a JSON object) on the host's bus only. */
    st_t (*bus_publish)(const char *json, size_t n);
    /* A secret's value by name into buf (cap bytes, NUL-terminated);
     * ST_NOTFOUND when there is none. */
    st_t (*secret)(const char *name, char *buf, size_t cap, size_t *n);
} engine_host;

struct stream_sub;                /* the request's output (the host's) */

#define CHAT_NONE (-1)

/* A text in the chat heap; p NULL when empty. */
typedef struct chat_buf {
    char *p;
    size_t n;
    size_t cap;
} chat_buf;

/* A queued piece of SSE output; its bytes follow the header. */
typedef struct chat_chunk {
    struct chat_chunk *next;
    size_t n;
    size_t off;
} chat_chunk;

/* NEW: a child not started yet (sequential); WAIT: waiting for a slot (or
 * for its request to unblock); CALL: its LLM call runs; KIDS: its children
 * run; DONE: finished (status says how). */
typedef enum { AG_FREE = 0, AG_NEW, AG_WAIT, AG_CALL, AG_KIDS, AG_DONE } chat_phase;
typedef enum { AS_RUN = 0, AS_OK, AS_FAILED, AS_CANCELLED } chat_status;

typedef struct chat_req chat_req;

typedef struct chat_agent {
    chat_phase phase;
    chat_status status;
    chat_req *req;
    int32_t self;
    int32_t parent;              /* CHAT_NONE for the root */
    uint32_t depth;
    uint32_t index;
    uint32_t total;
    char id[UUID_STR_BYTES];
    bool synth;                  /* the current/next call is the synthesis */
    bool announced;              /* agent_spawned published */
    bool registered;             /* reachable by cancel_agent */
    bool retried;                /* its one retry is used */
    bool call_paused;            /* on_text returned false */
    bool no_stream_options;      /* openai 400 retry */
    bool sequential;             /* its children run one by one */
    bool truncated;              /* text beyond CFG_CHAT_TEXT_MAX dropped */
    uint64_t wait_seq;           /* order of waiting for a slot */
    uint32_t cand;               /* candidate of the current call */
    llm_call *call;
    uint64_t est;                /* estimated charge of the current call */
    uint64_t tokens;             /* charged to this agent, all its calls */
    uint64_t start_ms;
    chat_buf sys;                /* sub-agents: their system prompt */
    chat_buf task;               /* sub-agents: the task */
    chat_buf prev;               /* sequential: the previous sibling's result */
    chat_buf resp;               /* its response */
    chat_buf syn;                /* its synthesis */
    chat_buf results;            /* the <sub_agent_results> user message */
    chat_buf body;               /* the request body of the current call */
    chat_buf err;                /* why it failed */
    int32_t *kids;               /* children, in index order (heap) */
    uint32_t nkids;
    uint32_t next_kid;           /* sequential: the next to start */
} chat_agent;

struct chat_req {
    bool in_use;
    bool ending;                 /* done queued: close once flushed */
    bool gone;                   /* the stream closed under us */
    bool enforce;                /* budget events started (first spawn) */
    bool paused;                 /* budget exhausted, waiting for a decision */
    bool stopping;               /* budget stop: no more calls */
    bool out_full;               /* output queue above CFG_CHAT_QUEUE_BYTES */
    bool lost;                   /* output dropped (no chat heap): the turn fails */
    const char *tail;            /* static end written after the queue, or NULL */
    size_t tail_off;             /* bytes of tail written */
    bool warned;                 /* budget_warning sent for this total */
    bool update_dirty;           /* a budget_update is owed */
    bool new_session;
    struct stream_sub *sub;      /* the host's; the engine never touches it */
    char request_id[UUID_STR_BYTES];
    char session_id[UUID_STR_BYTES];
    char bot_id[UUID_STR_BYTES];
    chat_buf bot_name;
    chat_buf model;              /* M of the identity */
    double temperature;
    int64_t max_tokens;
    uint8_t cand[CFG_MAX_PROVIDERS];   /* provider indexes, in order */
    uint32_t ncand;
    bool cand0_model;            /* cand[0] uses M (else its default model) */
    chat_buf system;             /* the root system prompt */
    chat_buf sub_base;           /* soul + identity sections, for sub-agents */
    chat_buf hist_mem;           /* history message texts */
    llm_msg *hist;               /* history + the user message (heap) */
    size_t nhist;                /* history messages (the user message follows) */
    chat_buf message;
    int32_t root;
    uint64_t start_ms;
    char started_at[40];
    uint64_t used;               /* tokens charged */
    uint64_t total;              /* budget_total */
    uint64_t last_update_ms;
    timer_id update_timer;
    timer_id pause_timer;
    uint64_t in_tokens;          /* totals of every call (reported) */
    uint64_t out_tokens;
    uint64_t cache_creation;
    uint64_t cache_read;
    bool has_usage;
    bool has_cache_creation;
    bool has_cache_read;
    chat_buf root_model;         /* the model of the root call */
    char root_stop[LLM_WIRE_REASON_BYTES];
    chat_chunk *qhead;
    chat_chunk *qtail;
    size_t qbytes;
    uint32_t ntasks;             /* cycle detection */
    chat_buf task_key[CFG_CHAT_TASKS];
    uint32_t task_count[CFG_CHAT_TASKS];
};

/* ---- the request side: implemented by the host (fam/fleet/chat.c) ---- */
extern heap_t g_chat_heap;
extern chat_stats_t g_chat_stats;
extern const chat_config *g_chat_cfg;
/* The agent-capabilities section (§7.3 item 5). */
const char *chat_capabilities(void);

/* Append to a heap text (grows; false when the heap is full). */
bool chat_buf_add(chat_buf *b, const char *p, size_t n);
void chat_buf_free(chat_buf *b);
/* A JSON string's escaped length is at most this (for buffer sizing). */
size_t chat_json_bound(const char *s, size_t n);

/* Queue one SSE event (`event: name`, `data: json`) for the request's
 * client and write what fits. */
void chat_sse(chat_req *r, const char *name, const char *json, size_t n);
/* The most parts an event's SSE copy comes in (chat_event). */
#define CHAT_SSE_PARTS 8u
/* A bus event of this request: json[0..n) published on the fleet bus, and
 * sent on this request's stream as event sse_name whose data is the
 * concatenation of sse[0..nsse) (nsse <= CHAT_SSE_PARTS; the parts may point
 * into json), or the bus object itself when sse is NULL. */
void chat_event(chat_req *r, const char *sse_name, const char *json, size_t n,
                const strv *sse, size_t nsse);
/* The usage event: the request's token totals so far. */
void chat_usage(chat_req *r);
/* A text_delta of the root. */
void chat_root_text(chat_req *r, strv text);
/* The root agent ended: ok with its final text (persisted), or failed with
 * message (error event). Sends usage/error/done and ends the stream. */
void chat_finish(chat_req *r, bool ok, strv final_text, const char *error);
/* Must calls of r hold off (budget pause, output full, stopping)? */
bool chat_req_blocked(const chat_req *r);

/* ---- the engine (engine/agent.c) ---- */
extern chat_agent g_chat_agents[CFG_CHAT_AGENTS];
/* The host's registries (h must stay valid); before any request. */
void chat_agents_set_host(const engine_host *h);
void chat_agents_reset(void);
/* Start the root agent of r (r->root set). false: no agent slot. */
bool chat_agents_start(chat_req *r);
/* The client is gone: abort every call of r (running sub-agents get
 * agent_cancelled "Client disconnected") and free r's agents. */
void chat_agents_abort(const chat_req *r, const char *reason);
/* Output has room again / the budget resumed: continue r's paused calls
 * and start its waiting ones. */
void chat_agents_resume(chat_req *r);
/* Stop reading every provider stream of r (budget pause, slow client). */
void chat_agents_pause(const chat_req *r);
/* Free every agent of r (nothing running). */
void chat_agents_free(const chat_req *r);
#endif
