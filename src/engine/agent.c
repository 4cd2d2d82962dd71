/*
 * agent.c - the agent engine: the agents of each request and their LLM
 * calls (spec/fleet.md §7.2 – §7.6; overview in fam/fleet/chat.h, the
 * contract with the host in agent.h).
 *
 * Implementation notes:
 * - An agent moves NEW -> WAIT -> CALL -> (KIDS -> WAIT -> CALL) -> DONE.
 *   Every call starts from pump(), a zero-delay timer: the waiting agent
 *   with the lowest wait number whose request is not blocked (budget pause,
 *   slow client) gets the next free out/llm slot. So nothing starts a call
 *   from inside a curl callback, a slot freed by a call's end is reused on
 *   the next turn, and children waiting for slots go in index order.
 *   Resuming paused calls is deferred to pump() the same way (llm_resume
 *   may deliver buffered text at once, which must not nest in another
 *   call's callback).
 * - A failover, the OpenAI stream_options retry and the sub-agent retry
 *   put the agent back to WAIT with its old wait number (it goes first).
 * - A call is charged while it streams (ceil(bytes/4) per delta) and
 *   settled at its end (the larger of that and the reported input+output).
 * - Cancelling a subtree walks the request's agents and cancels those whose
 *   parent chain reaches the cancelled agent (no recursion).
 * - After chat_finish the request and its agents may be gone: on_end does
 *   its accounting first, then decides the outcome, then touches only the
 *   request's slot (static; in_use says whether it still runs) to judge
 *   the budget, so an agent whose end crossed it counts as completed.
 * - Pausing (budget exhausted, slow client) pauses every call of the
 *   request at once (llm_pause: the next bytes are held, not parsed); the
 *   pump resumes them when the request is no longer blocked.
 */
#include "engine/agent.h"

#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/fault.h"
#include "core/log.h"
#include "core/pool.h"
#include "engine/provider.h"
#include "engine/spawn.h"
#include "json/write.h"

#define MOD "chat"
#define CYCLE_THRESHOLD 3u
#define SUMMARY_BYTES 200u
#define UPDATE_EVERY_MS 250u
#define TASK_SHOWN_BYTES 1000u

chat_agent g_chat_agents[CFG_CHAT_AGENTS];
void chat_agents_set_host(const engine_host *h)
{
    engine_host_set(h);
}

static uint64_t g_wait_seq;
static timer_id g_pump = TIMER_NONE;

static bool on_text(void *ctx, strv text);
static void on_end(void *ctx, const llm_result *res);
static const llm_sink k_sink = { on_text, on_end };

static const char k_sub_instructions[] =
    "<sub_agent_instructions>\n"
    "You are executing a focused sub-task. Respond with your result directly. Be thorough "
    "but stay focused on the task.\n"
    "</sub_agent_instructions>";
static const char k_prev_prefix[] = "Previous sub-agent result for context:\n";
static const char k_synth_tail[] =
    "\n\nBased on these sub-agent results, synthesize a cohesive response that integrates "
    "all findings. Address any gaps from failed sub-agents.";

/* ---- agents ------------------------------------------------------------------- */

void chat_agents_reset(void)
{
    static bool s_used;
    static_zero(g_chat_agents, sizeof g_chat_agents, &s_used);
    g_wait_seq = 0u;
    if (g_pump != TIMER_NONE) {
        timer_cancel(g_pump);
        g_pump = TIMER_NONE;
    }
}

static chat_agent *agent_alloc(chat_req *r, int32_t parent, uint32_t depth)
{
    size_t i;
    if (FAULT_HIT(FAULT_SLOT, "agent")) {
        return NULL;
    }
    for (i = 0u; i < (size_t)CFG_CHAT_AGENTS; i++) {
        chat_agent *a = &g_chat_agents[i];
        if (a->phase == AG_FREE) {
            (void)memset(a, 0, sizeof *a);
            if (uuid_v7(a->id) != ST_OK) {
                return NULL;
            }
            a->phase = AG_NEW;
            a->req = r;
            a->self = (int32_t)i;
            a->parent = parent;
            a->depth = depth;
            g_chat_stats.agents++;
            if (g_chat_stats.agents > g_chat_stats.agents_high) {
                g_chat_stats.agents_high = g_chat_stats.agents;
            }
            return a;
        }
    }
    return NULL;
}

static void agent_free(chat_agent *a)
{
    if (a->call != NULL) {
        llm_cancel(a->call);
        a->call = NULL;
    }
    if (a->registered) {
        engine_host_get()->agent_unregister(a->id);
    }
    chat_buf_free(&a->sys);
    chat_buf_free(&a->task);
    chat_buf_free(&a->prev);
    chat_buf_free(&a->resp);
    chat_buf_free(&a->syn);
    chat_buf_free(&a->results);
    chat_buf_free(&a->body);
    chat_buf_free(&a->err);
    heap_free(&g_chat_heap, a->kids);
    a->kids = NULL;
    a->phase = AG_FREE;
    a->req = NULL;
    g_chat_stats.agents--;
}

void chat_agents_free(const chat_req *r)
{
    size_t i;
    for (i = 0u; i < (size_t)CFG_CHAT_AGENTS; i++) {
        if ((g_chat_agents[i].phase != AG_FREE) && (g_chat_agents[i].req == r)) {
            agent_free(&g_chat_agents[i]);
        }
    }
}

static bool is_root(const chat_agent *a)
{
    return a->parent == CHAT_NONE;
}

static chat_buf *cur_text(chat_agent *a)
{
    return a->synth ? &a->syn : &a->resp;
}

static strv result_of(const chat_agent *a)
{
    strv v;
    if (a->synth) {
        v.p = a->syn.p;
        v.n = a->syn.n;
    } else {
        v.p = a->resp.p;
        v.n = a->resp.n;
    }
    if (v.p == NULL) {
        v = strv_from_cstr("");
    }
    return v;
}

/* ---- the pump ------------------------------------------------------------------ */

static void pump(void *arg);

/* false when the pump could not be scheduled (no timer free, which
 * CFG_TIMER_USERS rules out short of a bug or an injected fault): queued
 * agents then wait for the next schedule (a call ending, a cancel, a
 * resume); a request's first agent is refused instead (chat_agents_start). */
static bool schedule_pump(void)
{
    if (g_pump == TIMER_NONE) {
        g_pump = timer_start(0u, pump, NULL);
        if (g_pump == TIMER_NONE) {
            LOG_W(MOD, "no timer free for the agent pump");
            return false;
        }
    }
    return true;
}

static void queue(chat_agent *a)
{
    a->phase = AG_WAIT;
    if (a->wait_seq == 0u) {
        g_wait_seq++;
        a->wait_seq = g_wait_seq;
    }
    (void)schedule_pump();
}

/* ---- events -------------------------------------------------------------------- */

/* A JSON buffer for one event, in the chat heap (extra: the bound of its
 * texts), and how the event's SSE copy differs from it (fleet.md §8): a
 * member whose value reads null there, and an upstream alias member added
 * there that repeats another member's value. Both are spans of buf, so the
 * copy is gathered from the bus object's bytes as it is queued (chat_event
 * takes it in parts), never written a second time. */
typedef struct {
    json_w w;
    char *buf;
    size_t null_at;         /* [null_at, null_end): a value, null on the stream */
    size_t null_end;        /* 0: no such member */
    const char *alias;      /* NULL: no alias; a key that needs no escaping */
    size_t alias_at;        /* [alias_at, alias_end): the value it repeats */
    size_t alias_end;
} ev_t;

static bool ev_begin(ev_t *e, size_t extra, const char *type)
{
    size_t cap = extra + 512u;
    (void)memset(e, 0, sizeof *e);
    e->buf = (char *)heap_alloc(&g_chat_heap, cap);
    if (e->buf == NULL) {
        g_chat_stats.events_dropped++;
        LOG_W(MOD, "no heap for a %s event: dropped", type);
        return false;
    }
    json_w_init(&e->w, e->buf, cap);
    json_w_obj_begin(&e->w);
    json_w_kstr(&e->w, "type", type);
    return true;
}

/* The member k = s, whose value the SSE copy reads as null when sse_null. */
static void ev_kstr_sse_null(ev_t *e, const char *k, const char *s, bool sse_null)
{
    json_w_key(&e->w, k);
    if (sse_null) {
        e->null_at = json_w_len(&e->w);
    }
    json_w_cstr(&e->w, s);
    if (sse_null) {
        e->null_end = json_w_len(&e->w);
    }
}

/* The member k = s[0..n), repeated on the SSE copy as its last member,
 * under the key alias (the upstream SSE field, fleet.md §8). */
static void ev_kstrn_alias(ev_t *e, const char *k, const char *s, size_t n, const char *alias)
{
    json_w_key(&e->w, k);
    e->alias_at = json_w_len(&e->w);
    json_w_str(&e->w, s, n);
    e->alias_end = json_w_len(&e->w);
    e->alias = alias;
}

/* Close the object: the bus object's length (0 on a writer error). */
static size_t ev_close(ev_t *e)
{
    size_t len = 0u;
    json_w_obj_end(&e->w);
    if (json_w_finish(&e->w, &len) != ST_OK) {
        len = 0u;
    }
    return len;
}

/* The SSE copy of the closed bus object buf[0..len) in parts (at most
 * CHAT_SSE_PARTS), most of them spans of buf; 0 when the copy is the bus
 * object itself. */
static size_t ev_sse_parts(const ev_t *e, size_t len, strv *parts)
{
    size_t n = 0u;
    size_t from = 0u;
    size_t to = len;
    if ((e->null_end == 0u) && (e->alias == NULL)) {
        return 0u;
    }
    if (e->null_end > 0u) {
        parts[n] = strv_make(e->buf, e->null_at);
        n++;
        parts[n] = strv_from_cstr("null");
        n++;
        from = e->null_end;
    }
    if (e->alias != NULL) {
        to = len - 1u;          /* the closing brace comes after the alias */
    }
    parts[n] = strv_make(&e->buf[from], to - from);
    n++;
    if (e->alias != NULL) {
        parts[n] = strv_from_cstr(",\"");
        n++;
        parts[n] = strv_from_cstr(e->alias);
        n++;
        parts[n] = strv_from_cstr("\":");
        n++;
        parts[n] = strv_make(&e->buf[e->alias_at], e->alias_end - e->alias_at);
        n++;
        parts[n] = strv_from_cstr("}");
        n++;
    }
    return n;
}

/* Publish e (bus + this request's stream, as sse_name) and free it. */
static void ev_send(chat_req *r, ev_t *e, const char *sse_name)
{
    size_t len = ev_close(e);
    if (len > 0u) {
        strv sse[CHAT_SSE_PARTS];
        size_t n = ev_sse_parts(e, len, sse);
        chat_event(r, sse_name, e->buf, len, (n > 0u) ? sse : NULL, n);
    }
    heap_free(&g_chat_heap, e->buf);
}

static void ev_agent_text(chat_agent *a, strv text)
{
    ev_t e;
    if (ev_begin(&e, chat_json_bound(text.p, text.n), "agent_text_delta")) {
        json_w_kstr(&e.w, "agent_id", a->id);
        json_w_kstrn(&e.w, "text", text.p, text.n);
        ev_send(a->req, &e, "agent_text_delta");
    }
}

static void ev_cancelled(chat_agent *a, const char *reason)
{
    ev_t e;
    if (ev_begin(&e, 0u, "agent_cancelled")) {
        json_w_kstr(&e.w, "agent_id", a->id);
        json_w_kstr(&e.w, "reason", reason);
        ev_send(a->req, &e, "agent_cancelled");
    }
}

static void ev_failed(chat_agent *a, const char *error, bool will_retry)
{
    ev_t e;
    if (ev_begin(&e, chat_json_bound(error, strlen(error)), "agent_failed")) {
        json_w_kstr(&e.w, "agent_id", a->id);
        json_w_kstr(&e.w, "error", error);
        json_w_kbool(&e.w, "will_retry", will_retry);
        ev_send(a->req, &e, "agent_failed");
    }
}

/* ---- budget -------------------------------------------------------------------- */

static void budget_stop(chat_req *r);

/* The percentage as a float literal even when whole ("2.0", not "2"):
 * fleet.md §9.1 says float, and upstream's serializer wrote it so. */
static void pct_write(json_w *w, double v)
{
    char buf[48];
    int n = 0;
    if ((v >= 0.0) && (v < 1e15) && (v == (double)(uint64_t)v)) {
        n = snprintf(buf, sizeof buf, "%.1f", v);
    }
    if ((n > 0) && ((size_t)n < sizeof buf)) {
        json_w_kraw(w, "percentage", buf, (size_t)n);
    } else {
        json_w_kf64(w, "percentage", v);   /* shortest form, has a '.' or 'e' */
    }
}

static void publish_update(chat_req *r)
{
    ev_t e;
    r->update_dirty = false;
    r->last_update_ms = clock_mono_ms();
    if (ev_begin(&e, 0u, "budget_update")) {
        json_w_kstr(&e.w, "request_id", r->request_id);
        json_w_ku64(&e.w, "tokens_used", r->used);
        json_w_ku64(&e.w, "budget_total", r->total);
        pct_write(&e.w, ((double)r->used * 100.0) / (double)r->total);
        ev_send(r, &e, "budget_update");
    }
}

static void update_due(void *arg)
{
    chat_req *r = (chat_req *)arg;
    r->update_timer = TIMER_NONE;
    if (r->in_use && r->update_dirty && !r->ending && !r->gone) {
        publish_update(r);
    }
}

/* Agents of r announced, by outcome, as a JSON array. */
static void agent_ids(json_w *w, const chat_req *r, bool completed)
{
    size_t i;
    json_w_arr_begin(w);
    for (i = 0u; i < (size_t)CFG_CHAT_AGENTS; i++) {
        const chat_agent *a = &g_chat_agents[i];
        if ((a->phase != AG_FREE) && (a->req == r) && a->announced) {
            bool done = (a->phase == AG_DONE);
            if ((completed && done && (a->status == AS_OK)) || (!completed && !done)) {
                json_w_cstr(w, a->id);
            }
        }
    }
    json_w_arr_end(w);
}

static void pause_timeout(void *arg)
{
    chat_req *r = (chat_req *)arg;
    r->pause_timer = TIMER_NONE;
    if (r->in_use && r->paused) {
        LOG_I(MOD, "request %s: no budget decision within %u ms: stopped", r->request_id,
              (unsigned)g_chat_cfg->budget_pause_timeout_ms);
        engine_host_get()->budget_forget(r->request_id);
        budget_stop(r);
    }
}

static void budget_decide(void *ctx, bool cont)
{
    chat_req *r = (chat_req *)ctx;
    if (!r->in_use || !r->paused) {
        return;
    }
    if (r->pause_timer != TIMER_NONE) {
        timer_cancel(r->pause_timer);
        r->pause_timer = TIMER_NONE;
    }
    if (!cont) {
        LOG_I(MOD, "request %s: budget_stop", r->request_id);
        budget_stop(r);
        return;
    }
    r->paused = false;
    r->total += g_chat_cfg->budget_tokens;
    r->warned = false;
    LOG_I(MOD, "request %s: budget_continue: budget now %llu tokens", r->request_id,
          (unsigned long long)r->total);
    publish_update(r);
    chat_agents_resume(r);
}

static void exhausted(chat_req *r)
{
    ev_t e;
    st_t st;
    r->paused = true;
    g_chat_stats.budget_pauses++;
    chat_agents_pause(r);        /* stop reading every stream of the request */
    if (ev_begin(&e, (size_t)CFG_CHAT_AGENTS * 40u, "budget_exhausted")) {
        json_w_kstr(&e.w, "request_id", r->request_id);
        json_w_ku64(&e.w, "tokens_used", r->used);
        json_w_ku64(&e.w, "budget_total", r->total);
        json_w_key(&e.w, "completed_agents");
        agent_ids(&e.w, r, true);
        json_w_key(&e.w, "incomplete_agents");
        agent_ids(&e.w, r, false);
        ev_send(r, &e, "budget_exhausted");
    }
    st = engine_host_get()->budget_pause(r->request_id, budget_decide, r);
    if (st != ST_OK) {
        /* stop, but not from here (this may run inside a call's callback) */
        LOG_W(MOD, "request %s: cannot wait for a budget decision (%s): stopped",
              r->request_id, status_str(st));
        r->pause_timer = timer_start(0u, pause_timeout, r);
        if (r->pause_timer == TIMER_NONE) {
            /* nor a timer to stop it later: it stays paused (no tokens
             * spent) until its client goes */
            LOG_W(MOD, "request %s: no timer free to stop it", r->request_id);
        }
        return;
    }
    LOG_I(MOD, "request %s: budget of %llu tokens exhausted: paused", r->request_id,
          (unsigned long long)r->total);
    r->pause_timer = timer_start(g_chat_cfg->budget_pause_timeout_ms, pause_timeout, r);
    if (r->pause_timer == TIMER_NONE) {
        /* the pause waits for the decision (or the client's going) alone */
        LOG_W(MOD, "request %s: no timer free for the budget decision's timeout",
              r->request_id);
    }
}

/* The count changed (force: an agent completed). */
static void budget_changed(chat_req *r, bool force)
{
    uint64_t now;
    if (!r->enforce || r->stopping || r->ending || r->gone) {
        return;
    }
    now = clock_mono_ms();
    if (force || ((now - r->last_update_ms) >= UPDATE_EVERY_MS)) {
        publish_update(r);
    } else {
        r->update_dirty = true;
        if (r->update_timer == TIMER_NONE) {
            /* without a timer the update stays dirty: it goes out with the
             * next charge after UPDATE_EVERY_MS or an agent's completion */
            r->update_timer = timer_start(UPDATE_EVERY_MS - (now - r->last_update_ms),
                                          update_due, r);
        }
    }
    if (!r->warned && ((r->used * 5u) >= (r->total * 4u))) {
        ev_t e;
        r->warned = true;
        if (ev_begin(&e, 0u, "budget_warning")) {
            json_w_kstr(&e.w, "request_id", r->request_id);
            json_w_ku64(&e.w, "tokens_used", r->used);
            json_w_ku64(&e.w, "budget_total", r->total);
            ev_send(r, &e, "budget_warning");
        }
    }
    if (!r->paused && (r->used >= r->total)) {
        exhausted(r);
    }
}

static void charge(chat_req *r, uint64_t n)
{
    r->used += n;
}

/* ---- cancellation ----------------------------------------------------------------- */

static void cancel_one(chat_agent *a, const char *reason, bool tell)
{
    if (a->call != NULL) {
        llm_cancel(a->call);
        a->call = NULL;
    }
    if ((a->phase == AG_DONE) || (a->phase == AG_FREE)) {
        return;
    }
    if (a->announced && tell) {
        ev_cancelled(a, reason);
    }
    if (a->announced) {
        g_chat_stats.cancelled++;
    }
    if (a->registered) {
        engine_host_get()->agent_unregister(a->id);
        a->registered = false;
    }
    a->status = AS_CANCELLED;
    a->phase = AG_DONE;
}

static bool descends_from(const chat_agent *x, int32_t anc)
{
    int32_t p = x->parent;
    uint32_t guard = 0u;
    while ((p != CHAT_NONE) && (guard < (uint32_t)CFG_CHAT_AGENTS)) {
        if (p == anc) {
            return true;
        }
        p = g_chat_agents[p].parent;
        guard++;
    }
    return false;
}

/* a and everything below it. */
static void cancel_tree(chat_agent *a, const char *reason)
{
    size_t i;
    cancel_one(a, reason, true);
    for (i = 0u; i < (size_t)CFG_CHAT_AGENTS; i++) {
        chat_agent *x = &g_chat_agents[i];
        if ((x->phase != AG_FREE) && (x->req == a->req) && descends_from(x, a->self)) {
            cancel_one(x, reason, true);
        }
    }
}

void chat_agents_abort(const chat_req *r, const char *reason)
{
    size_t i;
    for (i = 0u; i < (size_t)CFG_CHAT_AGENTS; i++) {
        chat_agent *a = &g_chat_agents[i];
        if ((a->phase != AG_FREE) && (a->req == r)) {
            cancel_one(a, reason, true);
        }
    }
}

static void kid_done(chat_agent *p);

static void cancel_cb(void *ctx, const char *agent_id)
{
    chat_agent *a = (chat_agent *)ctx;
    chat_agent *parent;
    if ((a->phase == AG_FREE) || (a->phase == AG_DONE) || (strcmp(a->id, agent_id) != 0)) {
        LOG_I(MOD, "cancel_agent %s: not running: ignored", agent_id);
        return;
    }
    LOG_I(MOD, "request %s: cancel_agent %s", a->req->request_id, agent_id);
    parent = &g_chat_agents[a->parent];
    cancel_tree(a, "Cancelled by user");
    kid_done(parent);
    (void)schedule_pump();
}

/* ---- calls ---------------------------------------------------------------------- */

static const chat_provider *cand_provider(const chat_req *r, uint32_t i)
{
    return &g_chat_cfg->prov[r->cand[i]];
}

static strv cand_model(const chat_req *r, uint32_t i)
{
    if ((i == 0u) && r->cand0_model) {
        return (strv){ r->model.p, r->model.n };
    }
    return strv_from_cstr(cand_provider(r, i)->default_model);
}

/* The sub-agent system prompt (§7.3). */
static bool sub_system(chat_agent *a)
{
    const chat_req *r = a->req;
    bool ok = true;
    if (a->sys.n > 0u) {
        return true;
    }
    if (r->sub_base.n > 0u) {
        ok = chat_buf_add(&a->sys, r->sub_base.p, r->sub_base.n) &&
             chat_buf_add(&a->sys, "\n\n", 2u);
    }
    ok = ok && chat_buf_add(&a->sys, "<task>\n", 7u) &&
         chat_buf_add(&a->sys, a->task.p, a->task.n) &&
         chat_buf_add(&a->sys, "\n</task>\n\n", 10u) &&
         chat_buf_add(&a->sys, k_sub_instructions, (sizeof k_sub_instructions) - 1u);
    if (ok && (a->depth < g_chat_cfg->max_depth)) {
        ok = chat_buf_add(&a->sys, "\n\n", 2u) &&
             chat_buf_add(&a->sys, chat_capabilities(), strlen(chat_capabilities()));
    }
    return ok;
}

/* The messages of a's current call into m (at most 4 beyond history). */
static size_t messages(chat_agent *a, llm_msg *local, const llm_msg **out)
{
    chat_req *r = a->req;
    size_t n = 0u;
    if (is_root(a)) {
        n = r->nhist + 1u;
        if (a->synth) {
            r->hist[n].role = strv_from_cstr("assistant");
            r->hist[n].content = (strv){ a->resp.p, a->resp.n };
            r->hist[n + 1u].role = strv_from_cstr("user");
            r->hist[n + 1u].content = (strv){ a->results.p, a->results.n };
            n += 2u;
        }
        *out = r->hist;
        return n;
    }
    if (a->prev.n > 0u) {
        local[n].role = strv_from_cstr("user");
        local[n].content = (strv){ a->prev.p, a->prev.n };
        n++;
    }
    local[n].role = strv_from_cstr("user");
    local[n].content = (strv){ a->task.p, a->task.n };
    n++;
    if (a->synth) {
        local[n].role = strv_from_cstr("assistant");
        local[n].content = (strv){ a->resp.p, a->resp.n };
        local[n + 1u].role = strv_from_cstr("user");
        local[n + 1u].content = (strv){ a->results.p, a->results.n };
        n += 2u;
    }
    *out = local;
    return n;
}

static void call_failed(chat_agent *a, const llm_result *res);

/* Start a's call on its current candidate. ST_FULL: no slot (a waits). */
static st_t start_call(chat_agent *a)
{
    chat_req *r = a->req;
    const chat_provider *p = cand_provider(r, a->cand);
    llm_msg local[4];
    const llm_msg *msgs = NULL;
    size_t nmsgs;
    size_t bound;
    size_t i;
    size_t len = 0u;
    llm_req q;
    llm_target t;
    st_t st = ST_OK;
    if ((!is_root(a) && !sub_system(a)) || (a->synth && (a->results.n == 0u))) {
        st = ST_NOMEM;
    }
    nmsgs = messages(a, local, &msgs);
    (void)memset(&q, 0, sizeof q);
    q.model = cand_model(r, a->cand);
    q.max_tokens = r->max_tokens;
    q.temperature = r->temperature;
    q.system = is_root(a) ? (strv){ r->system.p, r->system.n } : (strv){ a->sys.p, a->sys.n };
    q.msgs = msgs;
    q.nmsgs = nmsgs;
    q.stream_options = !a->no_stream_options;
    bound = chat_json_bound(q.system.p, q.system.n) + chat_json_bound(q.model.p, q.model.n) +
            512u;
    for (i = 0u; i < nmsgs; i++) {
        bound += chat_json_bound(msgs[i].content.p, msgs[i].content.n) + 48u;
    }
    chat_buf_free(&a->body);
    if (st == ST_OK) {
        a->body.p = (char *)heap_alloc(&g_chat_heap, bound);
        st = (a->body.p == NULL) ? ST_NOMEM : ST_OK;
    }
    if (st == ST_OK) {
        st = llm_wire_body(p->kind, &q, a->body.p, bound, &len);
    }
    if (st == ST_OK) {
        char *shrunk = (char *)heap_realloc(&g_chat_heap, a->body.p, (len > 0u) ? len : 1u);
        if (shrunk != NULL) {
            a->body.p = shrunk;
        }
        a->body.n = len;
        a->body.cap = len;
    }
    if (st != ST_OK) {
        llm_result res;
        (void)memset(&res, 0, sizeof res);
        res.st = ST_INTERNAL;
        (void)snprintf(res.detail, sizeof res.detail, "%s",
                       (st == ST_NOMEM) ? "out of memory for the request"
                                        : "the request could not be built");
        a->phase = AG_CALL;
        call_failed(a, &res);
        return ST_OK;
    }
    engine_target(p, &t);
    st = llm_start(&t, a->body.p, a->body.n, &k_sink, a, &a->call);
    engine_target_wipe();
    if (st == ST_FULL) {
        return st;
    }
    a->phase = AG_CALL;
    a->est = 0u;
    a->call_paused = false;
    if (st != ST_OK) {
        llm_result res;
        (void)memset(&res, 0, sizeof res);
        res.st = ST_IO;
        (void)snprintf(res.detail, sizeof res.detail, "connect error: %s", status_str(st));
        a->call = NULL;
        call_failed(a, &res);
        return ST_OK;
    }
    g_chat_stats.calls++;
    if (is_root(a) && !a->synth) {
        r->root_model.n = 0u;
        (void)chat_buf_add(&r->root_model, q.model.p, q.model.n);
    }
    return ST_OK;
}

static void pump(void *arg)
{
    bool more = true;
    size_t i;
    (void)arg;
    g_pump = TIMER_NONE;
    /* resume calls paused for a slow client or a budget */
    for (i = 0u; i < (size_t)CFG_CHAT_AGENTS; i++) {
        chat_agent *a = &g_chat_agents[i];
        if ((a->phase == AG_CALL) && a->call_paused && (a->call != NULL) &&
            !chat_req_blocked(a->req)) {
            a->call_paused = false;
            llm_resume(a->call);
        }
    }
    while (more) {
        chat_agent *best = NULL;
        for (i = 0u; i < (size_t)CFG_CHAT_AGENTS; i++) {
            chat_agent *a = &g_chat_agents[i];
            if ((a->phase == AG_WAIT) && !chat_req_blocked(a->req) &&
                ((best == NULL) || (a->wait_seq < best->wait_seq))) {
                best = a;
            }
        }
        if ((best == NULL) || (start_call(best) == ST_FULL)) {
            more = false;
        }
    }
}

void chat_agents_pause(const chat_req *r)
{
    size_t i;
    for (i = 0u; i < (size_t)CFG_CHAT_AGENTS; i++) {
        chat_agent *a = &g_chat_agents[i];
        if ((a->phase == AG_CALL) && (a->req == r) && (a->call != NULL)) {
            a->call_paused = true;
            llm_pause(a->call);
        }
    }
}

void chat_agents_resume(chat_req *r)
{
    (void)r;
    (void)schedule_pump();    /* pump() resumes the calls no longer blocked */
}

/* ---- streaming ------------------------------------------------------------------ */

static bool on_text(void *ctx, strv text)
{
    chat_agent *a = (chat_agent *)ctx;
    chat_req *r = a->req;
    chat_buf *b = cur_text(a);
    uint64_t c = ((uint64_t)text.n + 3u) / 4u;
    if ((b->n + text.n) > CFG_CHAT_TEXT_MAX) {
        if (!a->truncated) {
            LOG_W(MOD, "request %s: agent %s: response over %u bytes: the rest is dropped",
                  r->request_id, a->id, (unsigned)CFG_CHAT_TEXT_MAX);
        }
        a->truncated = true;
    } else if (!chat_buf_add(b, text.p, text.n)) {
        if (!a->truncated) {
            LOG_W(MOD, "request %s: agent %s: chat heap full: the rest is dropped",
                  r->request_id, a->id);
        }
        a->truncated = true;
    } else {
        /* kept */
    }
    if (c == 0u) {
        c = 1u;
    }
    a->est += c;
    charge(r, c);
    if (is_root(a)) {
        chat_root_text(r, text);
    } else {
        ev_agent_text(a, text);
    }
    budget_changed(r, false);
    if (chat_req_blocked(r)) {
        a->call_paused = true;
        return false;
    }
    return true;
}

/* Normalised stop reason (§7.7). */
static void stop_reason(chat_req *r, const chat_agent *a, const llm_result *res)
{
    const char *s = res->stop_reason;
    const chat_provider *p = cand_provider(r, a->cand);
    if (p->kind == LLM_OPENAI) {
        s = (strcmp(s, "length") == 0) ? "max_tokens" : "end_turn";
    } else if (s[0] == '\0') {
        s = "end_turn";
    } else {
        /* Anthropic's own names */
    }
    (void)snprintf(r->root_stop, sizeof r->root_stop, "%s", s);
}

static void finish_agent(chat_agent *a, chat_status status);
static void spawn(chat_agent *a, const spawn_block *b);

static void call_ok(chat_agent *a, const llm_result *res)
{
    chat_req *r = a->req;
    spawn_block b;
    strv text = { a->resp.p, a->resp.n };
    if (a->synth) {
        finish_agent(a, AS_OK);
        return;
    }
    if (is_root(a)) {
        stop_reason(r, a, res);
        if (res->has_usage) {
            chat_usage(r);
        }
    }
    if ((text.p != NULL) && spawn_find(text, &b)) {
        spawn(a, &b);
    } else {
        finish_agent(a, AS_OK);
    }
}

static void call_failed(chat_agent *a, const llm_result *res)
{
    chat_req *r = a->req;
    const chat_provider *p = cand_provider(r, a->cand);
    char msg[CFG_LLM_DETAIL_BYTES + 96u];
    bool retryable = engine_failover_ok(res);
    a->call = NULL;
    if ((p->kind == LLM_OPENAI) && (res->st == ST_HTTP) && (res->http_status == 400) &&
        !a->no_stream_options && !res->got_text) {
        LOG_I(MOD, "request %s: %s refused the request (HTTP 400): retrying without "
                   "stream_options", r->request_id, p->name);
        a->no_stream_options = true;
        cur_text(a)->n = 0u;
        queue(a);
        return;
    }
    if (retryable && !res->got_text) {
        char reason[CFG_LLM_DETAIL_BYTES + 64u];
        engine_failover_reason(res, reason, sizeof reason);
        if ((a->cand + 1u) < r->ncand) {
            const chat_provider *next = cand_provider(r, a->cand + 1u);
            LOG_W(MOD, "request %s: %s failed (%s): trying %s", r->request_id, p->name, reason,
                  next->name);
            engine_failover_publish(p->name, next->name, reason);   /* bus only (§7.2) */
            g_chat_stats.failovers++;
            a->cand++;
            a->no_stream_options = false;
            cur_text(a)->n = 0u;
            queue(a);
            return;
        }
        (void)snprintf(msg, sizeof msg, "All providers failed: %s", reason);
    } else {
        (void)snprintf(msg, sizeof msg, "%s", res->detail);
    }
    if (is_root(a)) {
        a->phase = AG_DONE;
        a->status = AS_FAILED;
        chat_finish(r, false, STRV_NULL, msg);
        return;
    }
    if (!a->retried) {
        ev_failed(a, msg, true);
        a->retried = true;
        a->cand = 0u;
        a->no_stream_options = false;
        cur_text(a)->n = 0u;
        queue(a);
        return;
    }
    ev_failed(a, msg, false);
    a->err.n = 0u;
    (void)chat_buf_add(&a->err, msg, strlen(msg));
    finish_agent(a, AS_FAILED);
}

static void on_end(void *ctx, const llm_result *res)
{
    chat_agent *a = (chat_agent *)ctx;
    chat_req *r = a->req;
    uint64_t reported = res->has_usage ? (res->input_tokens + res->output_tokens) : 0u;
    uint64_t bill = (reported > a->est) ? reported : a->est;
    charge(r, bill - a->est);
    a->tokens += bill;
    if (res->has_usage) {
        r->has_usage = true;
        r->in_tokens += res->input_tokens;
        r->out_tokens += res->output_tokens;
    } else {
        r->out_tokens += a->est;
    }
    if (res->has_cache_creation) {
        r->has_cache_creation = true;
        r->cache_creation += res->cache_creation_input_tokens;
    }
    if (res->has_cache_read) {
        r->has_cache_read = true;
        r->cache_read += res->cache_read_input_tokens;
    }
    a->est = 0u;
    a->call = NULL;
    a->call_paused = false;
    (void)schedule_pump();
    if (res->st == ST_OK) {
        call_ok(a, res);
    } else {
        call_failed(a, res);
    }
    /* a may be freed now, and r released (then in_use is false); the
     * budget is judged after the outcome, so an agent whose end crossed it
     * counts as completed */
    if (r->in_use && !r->ending && !r->gone) {
        budget_changed(r, false);
    }
}

/* ---- sub-agents ----------------------------------------------------------------- */

/* Count task key k for r; returns its count (0 when the table is full). */
static uint32_t count_task(chat_req *r, strv k)
{
    uint32_t i;
    for (i = 0u; i < r->ntasks; i++) {
        if ((r->task_key[i].n == k.n) && (memcmp(r->task_key[i].p, k.p, k.n) == 0)) {
            r->task_count[i]++;
            return r->task_count[i];
        }
    }
    if ((r->ntasks < (uint32_t)CFG_CHAT_TASKS) && chat_buf_add(&r->task_key[r->ntasks], k.p, k.n)) {
        r->task_count[r->ntasks] = 1u;
        r->ntasks++;
        return 1u;
    }
    return 0u;
}

static void announce(chat_agent *k)
{
    chat_req *r = k->req;
    const chat_agent *p = &g_chat_agents[k->parent];
    ev_t e;
    st_t st;
    strv task = { k->task.p, k->task.n };
    k->announced = true;
    k->start_ms = clock_mono_ms();
    g_chat_stats.spawned++;
    if (ev_begin(&e, chat_json_bound(task.p, task.n), "agent_spawned")) {
        json_w_kstr(&e.w, "agent_id", k->id);
        /* on the stream, an agent of the bot's own turn (depth 1) has no
         * parent: the upstream frontend draws only those (fleet.md §8) */
        ev_kstr_sse_null(&e, "parent_id", p->id, is_root(p));
        ev_kstrn_alias(&e, "task_description", task.p, task.n, "task");
        json_w_ku64(&e.w, "depth", k->depth);
        json_w_ku64(&e.w, "index", k->index);
        json_w_ku64(&e.w, "total", k->total);
        ev_send(r, &e, "agent_spawned");
    }
    st = engine_host_get()->agent_register(k->id, cancel_cb, k);
    k->registered = (st == ST_OK);
    if (st != ST_OK) {
        LOG_W(MOD, "agent %s cannot be cancelled: %s", k->id, status_str(st));
    }
}

static void launch(chat_agent *k)
{
    announce(k);
    queue(k);
}

static void spawn(chat_agent *a, const spawn_block *b)
{
    chat_req *r = a->req;
    strv text = { a->resp.p, a->resp.n };
    size_t pos = 0u;
    strv raw;
    uint32_t n = 0u;
    uint32_t i;
    int32_t kids[CFG_CHAT_TASKS];
    if ((a->depth + 1u) > g_chat_cfg->max_depth) {
        ev_t e;
        if (ev_begin(&e, 0u, "depth_limit_reached")) {
            json_w_kstr(&e.w, "agent_id", a->id);
            json_w_ku64(&e.w, "attempted_depth", a->depth + 1u);
            json_w_ku64(&e.w, "max_depth", g_chat_cfg->max_depth);
            ev_send(r, &e, "depth_limit");
        }
        finish_agent(a, AS_OK);
        return;
    }
    while (spawn_next_task(text, b, &pos, &raw) && (n < (uint32_t)CFG_CHAT_TASKS)) {
        chat_agent *k;
        /* the decoded task, then its cycle key behind it */
        char *dec = (char *)heap_alloc(&g_chat_heap, (raw.n > 0u) ? (2u * raw.n) : 1u);
        strv task;
        strv key;
        uint32_t seen;
        if (dec == NULL) {
            LOG_W(MOD, "request %s: no heap for a task: skipped", r->request_id);
            continue;
        }
        task = spawn_trim((strv){ dec, spawn_decode(raw, dec, raw.n) });
        if (task.n == 0u) {
            heap_free(&g_chat_heap, dec);
            continue;
        }
        key.p = &dec[raw.n];
        key.n = spawn_normalise(task, &dec[raw.n], raw.n);
        seen = count_task(r, key);
        if (seen > CYCLE_THRESHOLD) {
            ev_t e;
            char desc[TASK_SHOWN_BYTES + 96u];
            size_t kn = spawn_cut(key, TASK_SHOWN_BYTES);
            (void)snprintf(desc, sizeof desc,
                           "Task '%.*s' has been attempted %u times (threshold: %u)", (int)kn,
                           key.p, (unsigned)seen, (unsigned)CYCLE_THRESHOLD);
            if (ev_begin(&e, chat_json_bound(desc, strlen(desc)), "cycle_detected")) {
                json_w_kstr(&e.w, "agent_id", a->id);
                ev_kstrn_alias(&e, "cycle_description", desc, strlen(desc), "description");
                ev_send(r, &e, "cycle_detected");
            }
            heap_free(&g_chat_heap, dec);
            continue;
        }
        k = agent_alloc(r, a->self, a->depth + 1u);
        if ((k == NULL) || !chat_buf_add(&k->task, task.p, task.n)) {
            LOG_W(MOD, "request %s: no agent slot or heap for a sub-agent: task skipped",
                  r->request_id);
            if (k != NULL) {
                agent_free(k);
            }
            heap_free(&g_chat_heap, dec);
            continue;
        }
        heap_free(&g_chat_heap, dec);
        kids[n] = k->self;
        n++;
    }
    if (n == 0u) {
        finish_agent(a, AS_OK);
        return;
    }
    a->kids = (int32_t *)heap_alloc(&g_chat_heap, (size_t)n * sizeof(int32_t));
    if (a->kids == NULL) {
        for (i = 0u; i < n; i++) {
            agent_free(&g_chat_agents[kids[i]]);
        }
        LOG_W(MOD, "request %s: no heap for the sub-agents: none spawned", r->request_id);
        finish_agent(a, AS_OK);
        return;
    }
    for (i = 0u; i < n; i++) {
        chat_agent *k = &g_chat_agents[kids[i]];
        k->index = i;
        k->total = n;
        a->kids[i] = kids[i];
    }
    a->nkids = n;
    a->sequential = b->sequential;
    a->phase = AG_KIDS;
    if (!r->enforce) {
        r->enforce = true;
        budget_changed(r, true);    /* may pause (exhausted at once) */
    }
    if (r->stopping) {
        return;
    }
    if (a->sequential) {
        a->next_kid = 1u;
        launch(&g_chat_agents[a->kids[0]]);
    } else {
        a->next_kid = n;
        for (i = 0u; i < n; i++) {
            launch(&g_chat_agents[a->kids[i]]);
        }
    }
}

static const char *status_name(chat_status s)
{
    const char *n = "completed";
    if (s == AS_FAILED) {
        n = "failed";
    } else if (s == AS_CANCELLED) {
        n = "cancelled";
    } else {
        /* completed */
    }
    return n;
}

/* The <sub_agent_results> message of p from its children. */
static bool results_message(chat_agent *p)
{
    chat_buf *m = &p->results;
    bool ok = true;
    uint32_t i;
    m->n = 0u;
    ok = chat_buf_add(m, "<sub_agent_results>\n", 20u);
    for (i = 0u; ok && (i < p->nkids); i++) {
        const chat_agent *k = &g_chat_agents[p->kids[i]];
        strv task = { k->task.p, k->task.n };
        size_t xl = spawn_xml_len(task);
        char *x = (char *)heap_alloc(&g_chat_heap, (xl > 0u) ? xl : 1u);
        strv res = result_of(k);
        const char *st = status_name(k->status);
        if (x == NULL) {
            ok = false;
            break;
        }
        (void)spawn_xml_escape(task, x, xl);
        ok = chat_buf_add(m, "  <result task=\"", 16u) && chat_buf_add(m, x, xl) &&
             chat_buf_add(m, "\" status=\"", 10u) && chat_buf_add(m, st, strlen(st)) &&
             chat_buf_add(m, "\">\n    ", 7u);
        heap_free(&g_chat_heap, x);
        if (ok && (k->status == AS_FAILED)) {
            ok = chat_buf_add(m, "Error: ", 7u) && chat_buf_add(m, k->err.p, k->err.n);
        } else if (ok && (k->status == AS_OK) && (res.n > 0u)) {
            ok = chat_buf_add(m, res.p, res.n);
        } else if (ok) {
            ok = chat_buf_add(m, "(no output)", 11u);
        } else {
            /* no heap */
        }
        ok = ok && chat_buf_add(m, "\n  </result>\n", 13u);
    }
    ok = ok && chat_buf_add(m, "</sub_agent_results>", 20u) &&
         chat_buf_add(m, k_synth_tail, (sizeof k_synth_tail) - 1u);
    return ok;
}

static void synthesise(chat_agent *p)
{
    chat_req *r = p->req;
    if (!results_message(p)) {
        p->results.n = 0u;     /* start_call fails it: out of memory */
    }
    if (is_root(p)) {
        ev_t e;
        if (ev_begin(&e, 0u, "synthesis_started")) {
            json_w_kstr(&e.w, "request_id", r->request_id);
            ev_send(r, &e, "synthesis_started");
        }
    }
    p->synth = true;
    p->cand = 0u;
    p->no_stream_options = false;
    p->syn.n = 0u;
    queue(p);
}

/* One of p's children finished (any status). */
static void kid_done(chat_agent *p)
{
    chat_req *r = p->req;
    uint32_t i;
    if ((p->phase != AG_KIDS) || r->stopping || r->gone || r->ending) {
        return;
    }
    if (p->sequential && (p->next_kid < p->nkids)) {
        const chat_agent *prev = &g_chat_agents[p->kids[p->next_kid - 1u]];
        chat_agent *k = &g_chat_agents[p->kids[p->next_kid]];
        strv res = result_of(prev);
        if (prev->phase != AG_DONE) {
            return;     /* the running one is not finished */
        }
        p->next_kid++;
        if ((prev->status == AS_OK) && (res.n > 0u)) {
            (void)(chat_buf_add(&k->prev, k_prev_prefix, (sizeof k_prev_prefix) - 1u) &&
                   chat_buf_add(&k->prev, res.p, res.n));
        }
        launch(k);
        return;
    }
    for (i = 0u; i < p->nkids; i++) {
        const chat_agent *k = &g_chat_agents[p->kids[i]];
        if ((k->phase != AG_DONE) && (k->phase != AG_NEW)) {
            return;
        }
    }
    for (i = 0u; i < p->nkids; i++) {
        chat_agent *k = &g_chat_agents[p->kids[i]];
        if (k->phase == AG_NEW) {
            k->phase = AG_DONE;     /* never started (a sequential tail) */
            k->status = AS_CANCELLED;
        }
    }
    synthesise(p);
}

static void finish_agent(chat_agent *a, chat_status status)
{
    chat_req *r = a->req;
    a->status = status;
    a->phase = AG_DONE;
    if (is_root(a)) {
        chat_finish(r, true, result_of(a), NULL);
        return;
    }
    if (a->registered) {
        engine_host_get()->agent_unregister(a->id);
        a->registered = false;
    }
    if (status == AS_OK) {
        ev_t e;
        strv res = result_of(a);
        size_t cut = spawn_cut(res, SUMMARY_BYTES);
        if (ev_begin(&e, chat_json_bound(res.p, cut) + 8u, "agent_completed")) {
            char sum[SUMMARY_BYTES + 4u];
            (void)memcpy(sum, res.p, cut);
            if (cut < res.n) {
                (void)memcpy(&sum[cut], "...", 3u);
                cut += 3u;
            }
            json_w_kstr(&e.w, "agent_id", a->id);
            json_w_kstrn(&e.w, "result_summary", sum, cut);
            json_w_ku64(&e.w, "tokens_used", a->tokens);
            json_w_ku64(&e.w, "duration_ms", clock_mono_ms() - a->start_ms);
            ev_send(r, &e, "agent_completed");
        }
        budget_changed(r, true);
    }
    kid_done(&g_chat_agents[a->parent]);
}

/* ---- the start and the budget's stop ------------------------------------------------ */

bool chat_agents_start(chat_req *r)
{
    chat_agent *a = agent_alloc(r, CHAT_NONE, 0u);
    if (a == NULL) {
        return false;
    }
    r->root = a->self;
    a->start_ms = r->start_ms;
    queue(a);
    if (g_pump == TIMER_NONE) {
        agent_free(a);
        r->root = CHAT_NONE;
        return false;
    }
    return true;
}

static void budget_stop(chat_req *r)
{
    chat_agent *root = &g_chat_agents[r->root];
    chat_buf text = { NULL, 0u, 0u };
    strv head = { root->resp.p, root->resp.n };
    spawn_block b;
    size_t i;
    ev_t e;
    r->paused = false;
    r->stopping = true;
    for (i = 0u; i < (size_t)CFG_CHAT_AGENTS; i++) {
        chat_agent *a = &g_chat_agents[i];
        if ((a->phase != AG_FREE) && (a->req == r) && !is_root(a)) {
            cancel_one(a, "Budget exhausted", true);
        }
    }
    if (root->call != NULL) {
        llm_cancel(root->call);
        root->call = NULL;
    }
    if ((head.p != NULL) && spawn_find(head, &b)) {
        head.n = b.start;
    }
    head = spawn_trim((head.p != NULL) ? head : strv_from_cstr(""));
    (void)chat_buf_add(&text, head.p, head.n);
    for (i = 0u; i < root->nkids; i++) {
        const chat_agent *k = &g_chat_agents[root->kids[i]];
        if (k->status == AS_OK) {
            strv res = result_of(k);
            (void)(chat_buf_add(&text, "\n\n### ", 6u) &&
                   chat_buf_add(&text, k->task.p, k->task.n) &&
                   chat_buf_add(&text, "\n\n", 2u) && chat_buf_add(&text, res.p, res.n));
        }
    }
    if (ev_begin(&e, 0u, "synthesis_started")) {
        json_w_kstr(&e.w, "request_id", r->request_id);
        ev_send(r, &e, "synthesis_started");
    }
    chat_root_text(r, (strv){ (text.p != NULL) ? text.p : "", text.n });
    root->phase = AG_DONE;
    root->status = AS_OK;
    chat_finish(r, true, (strv){ (text.p != NULL) ? text.p : "", text.n }, NULL);
    chat_buf_free(&text);
}
