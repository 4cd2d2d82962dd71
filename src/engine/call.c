/*
 * call.c - one-shot LLM calls (contract in call.h).
 *
 * Implementation notes:
 * - A slot moves FREE -> WAIT -> CALL -> (WAIT on failover) -> FREE. Calls
 *   start only from pump(), a zero-delay timer, so nothing starts a call
 *   inside a curl callback and eng_call_start never answers synchronously.
 * - A slot's body is rebuilt per candidate (the kind and model differ),
 *   and once more without response_format when an OpenAI-compatible
 *   server refuses it with HTTP 400 (as agent.c does for stream_options).
 *   out/llm collects the reply (in its slot's buffer, or in the call's own
 *   reply buffer in the chat heap, taken at start) and hands the text over
 *   in one piece at the end.
 * - A failure found while starting (no heap for the body) ends the call
 *   from the pump, which is a later turn than eng_call_start.
 */
#include "engine/call.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/timer.h"
#include "engine/agent.h"
#include "engine/provider.h"

#define MOD "engine"
#define RETRY_MS 50u
#define ERR_BYTES ((size_t)CFG_LLM_DETAIL_BYTES + 96u)

typedef enum { EC_FREE = 0, EC_WAIT, EC_CALL } ec_phase;

struct eng_call {
    ec_phase phase;
    bool lost;                 /* text dropped: no chat heap */
    eng_call_req q;
    uint8_t cand[CFG_MAX_PROVIDERS];
    uint32_t ncand;
    uint32_t cur;
    bool first_model;
    bool no_json;              /* the current candidate refused json_object */
    llm_call *call;
    chat_buf body;
    chat_buf reply;            /* out/llm collects the reply body here */
    chat_buf text;
    eng_call_done done;
    void *ctx;
    char err[ERR_BYTES];
};

_Static_assert(CFG_ENGINE_CALLS >= 1, "CFG_ENGINE_CALLS must be at least 1");

static eng_call g_calls[CFG_ENGINE_CALLS];
static eng_call_stats_t g_stats;
static timer_id g_pump = TIMER_NONE;

_Static_assert(sizeof g_calls <= ENGINE_CALL_STATIC_BYTES,
               "ENGINE_CALL_STATIC_BYTES understates the slots (call.h)");

const eng_call_stats_t *eng_call_stats(void)
{
    return &g_stats;
}

size_t eng_call_static_bytes(void)
{
    return sizeof g_calls;
}

static void pump(void *arg);

static bool schedule(uint64_t delay_ms)
{
    if (g_pump == TIMER_NONE) {
        g_pump = timer_start(delay_ms, pump, NULL);
    }
    return g_pump != TIMER_NONE;
}

static void release(eng_call *c)
{
    chat_buf_free(&c->body);
    chat_buf_free(&c->reply);
    chat_buf_free(&c->text);
    (void)memset(c, 0, sizeof *c);
    if (g_stats.active > 0u) {
        g_stats.active--;
    }
}

/* End c: the slot is freed first (done may start a call into it), then
 * done runs once with the reply text, which is freed after. */
static void finish(eng_call *c, bool ok, const char *error, const llm_result *res)
{
    eng_call_result r;
    eng_call_done done = c->done;
    void *ctx = c->ctx;
    chat_buf text = c->text;
    char err[ERR_BYTES];
    (void)memset(&r, 0, sizeof r);
    (void)snprintf(err, sizeof err, "%s", (error != NULL) ? error : "");
    r.ok = ok;
    r.text = (strv){ text.p, text.n };
    r.error = err;
    if ((res != NULL) && res->has_usage) {
        r.input_tokens = res->input_tokens;
        r.output_tokens = res->output_tokens;
    }
    if (ok) {
        g_stats.completed++;
    } else {
        g_stats.failed++;
        LOG_W(MOD, "%s failed: %s", (c->q.what != NULL) ? c->q.what : "call", err);
    }
    c->text = (chat_buf){ NULL, 0u, 0u };
    release(c);
    done(ctx, &r);
    chat_buf_free(&text);
}

static const llm_provider_conf *cand_provider(const eng_call *c, uint32_t i)
{
    return &g_chat_cfg->prov[c->cand[i]];
}

static strv cand_model(const eng_call *c, uint32_t i)
{
    if ((i == 0u) && c->first_model && (c->q.model.n > 0u)) {
        return c->q.model;
    }
    return strv_from_cstr(cand_provider(c, i)->default_model);
}

static bool on_text(void *ctx, strv text)
{
    eng_call *c = (eng_call *)ctx;
    if (!c->lost && !chat_buf_add(&c->text, text.p, text.n)) {
        c->lost = true;
    }
    return true;
}

static void failed(eng_call *c, const llm_result *res)
{
    const llm_provider_conf *p = cand_provider(c, c->cur);
    if ((p->kind == LLM_OPENAI) && c->q.json_object && !c->no_json &&
        (res->st == ST_HTTP) && (res->http_status == 400)) {
        LOG_I(MOD, "%s: %s refused response_format (HTTP 400): asking without it", c->q.what,
              p->name);
        c->no_json = true;
        c->phase = EC_WAIT;
        if (schedule(0u)) {
            return;
        }
    }
    if (engine_failover_ok(res)) {
        char reason[CFG_LLM_DETAIL_BYTES + 64u];
        engine_failover_reason(res, reason, sizeof reason);
        if ((c->cur + 1u) < c->ncand) {
            const llm_provider_conf *next = cand_provider(c, c->cur + 1u);
            LOG_W(MOD, "%s: %s failed (%s): trying %s", c->q.what, p->name, reason,
                  next->name);
            engine_failover_publish(p->name, next->name, reason);
            g_stats.failovers++;
            c->cur++;
            c->no_json = false;
            c->text.n = 0u;
            c->phase = EC_WAIT;
            if (schedule(0u)) {
                return;
            }
            (void)snprintf(c->err, sizeof c->err, "no timer to fail over");
        } else {
            (void)snprintf(c->err, sizeof c->err, "All providers failed: %s", reason);
        }
    } else {
        (void)snprintf(c->err, sizeof c->err, "%s", res->detail);
    }
    finish(c, false, c->err, res);
}

static void on_end(void *ctx, const llm_result *res)
{
    eng_call *c = (eng_call *)ctx;
    c->call = NULL;
    if (res->st != ST_OK) {
        failed(c, res);
    } else if (c->lost) {
        finish(c, false, "out of memory for the reply", res);
    } else {
        finish(c, true, NULL, res);
    }
}

static const llm_sink k_sink = { on_text, on_end };

/* Build c's body for its current candidate. */
static st_t build_body(eng_call *c)
{
    const llm_provider_conf *p = cand_provider(c, c->cur);
    llm_req q;
    size_t bound;
    size_t len = 0u;
    size_t i;
    st_t st;
    (void)memset(&q, 0, sizeof q);
    q.model = cand_model(c, c->cur);
    q.max_tokens = c->q.max_tokens;
    q.temperature = c->q.temperature;
    q.system = c->q.system;
    q.msgs = c->q.msgs;
    q.nmsgs = c->q.nmsgs;
    q.whole = true;
    q.json_object = c->q.json_object && !c->no_json;
    bound = chat_json_bound(q.system.p, q.system.n) + chat_json_bound(q.model.p, q.model.n) +
            512u;
    for (i = 0u; i < q.nmsgs; i++) {
        bound += chat_json_bound(q.msgs[i].content.p, q.msgs[i].content.n) + 48u;
    }
    chat_buf_free(&c->body);
    c->body.p = (char *)heap_alloc(&g_chat_heap, bound);
    if (c->body.p == NULL) {
        return ST_NOMEM;
    }
    c->body.cap = bound;
    st = llm_wire_body(p->kind, &q, c->body.p, bound, &len);
    c->body.n = len;
    return st;
}

/* Start c's current candidate; false when out/llm has no slot (c waits). */
static bool start(eng_call *c)
{
    llm_target t;
    llm_result res;
    st_t st = build_body(c);
    if (st != ST_OK) {
        (void)snprintf(c->err, sizeof c->err, "%s",
                       (st == ST_NOMEM) ? "out of memory for the request"
                                        : "the request could not be built");
        finish(c, false, c->err, NULL);
        return true;
    }
    engine_target(cand_provider(c, c->cur), &t);
    st = llm_start_whole(&t, c->body.p, c->body.n, c->reply.p, c->reply.cap, &k_sink, c,
                         &c->call);
    engine_target_wipe();
    if (st == ST_FULL) {
        return false;
    }
    if (st != ST_OK) {
        (void)memset(&res, 0, sizeof res);
        res.st = ST_IO;
        (void)snprintf(res.detail, sizeof res.detail, "connect error: %s", status_str(st));
        c->call = NULL;
        failed(c, &res);
        return true;
    }
    c->phase = EC_CALL;
    return true;
}

static void pump(void *arg)
{
    bool waiting = false;
    size_t i;
    (void)arg;
    g_pump = TIMER_NONE;
    for (i = 0u; i < (size_t)CFG_ENGINE_CALLS; i++) {
        eng_call *c = &g_calls[i];
        if ((c->phase == EC_WAIT) && !start(c)) {
            waiting = true;
        }
    }
    if (waiting && !schedule(RETRY_MS)) {
        LOG_W(MOD, "no timer for the one-shot call pump");
    }
}

st_t eng_call_start(const eng_call_req *q, eng_call_done done, void *ctx, eng_call **out)
{
    eng_call *c = NULL;
    int32_t primary;
    size_t i;
    *out = NULL;
    for (i = 0u; (i < (size_t)CFG_ENGINE_CALLS) && (c == NULL); i++) {
        if (g_calls[i].phase == EC_FREE) {
            c = &g_calls[i];
        }
    }
    if (c == NULL) {
        g_stats.refused++;
        return ST_FULL;
    }
    if (g_chat_cfg == NULL) {
        return ST_NOTFOUND;
    }
    (void)memset(c, 0, sizeof *c);
    primary = ((q->provider != NULL) && (strlen(q->provider) > 0u))
                  ? engine_find_provider(g_chat_cfg, strv_from_cstr(q->provider))
                  : CHAT_NONE;
    c->ncand = engine_candidates(g_chat_cfg, primary, c->cand, &c->first_model);
    if (c->ncand == 0u) {
        return ST_NOTFOUND;
    }
    if (q->reply_bytes > 0u) {
        c->reply.p = (char *)heap_alloc(&g_chat_heap, q->reply_bytes);
        if (c->reply.p == NULL) {
            return ST_NOMEM;
        }
        c->reply.cap = q->reply_bytes;
    }
    if (!schedule(0u)) {
        chat_buf_free(&c->reply);
        (void)memset(c, 0, sizeof *c);
        return ST_NOMEM;
    }
    c->q = *q;
    c->done = done;
    c->ctx = ctx;
    c->phase = EC_WAIT;
    g_stats.started++;
    g_stats.active++;
    if (g_stats.active > g_stats.active_high) {
        g_stats.active_high = g_stats.active;
    }
    *out = c;
    return ST_OK;
}

void eng_call_cancel(eng_call *c)
{
    if ((c == NULL) || (c->phase == EC_FREE)) {
        return;
    }
    if (c->call != NULL) {
        llm_cancel(c->call);
    }
    release(c);
}
