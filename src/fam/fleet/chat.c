/*
 * chat.c - the chat request: endpoint checks, session, prompt and history,
 * SSE output, the end of the turn and its persistence (see chat.h): the host
 * of the agent engine (engine/agent.h), which runs the LLM calls and gets
 * fleet's registries through k_host.
 *
 * Implementation notes:
 * - Everything a request owns beyond its slot lives in g_chat_heap (TLSF,
 *   fixed region): freed when the request ends, so the heap's use is the
 *   sum of the running requests.
 * - SSE output goes through a queue of heap chunks: chat_sse appends and
 *   writes what tx takes (stream_sse_write, partial writes allowed); the
 *   stream's on_writable writes the rest as tx drains. Above
 *   CFG_CHAT_QUEUE_BYTES the request counts as blocked and its calls pause
 *   (the engine asks chat_req_blocked); below half of it they resume.
 * - The end: `done` is queued, the request is marked ending, and once the
 *   queue is empty the stream is closed (the body ends with the
 *   connection) and the slot freed. Output that finds no chat heap is not
 *   dropped silently: the request is marked lost, nothing more is queued
 *   (no gap in the stream), and the turn ends with a static `error` and
 *   `done` written after the queue (r->tail, no allocation), or a static
 *   `done` alone when only `done` itself found no heap. stream_close calls on_close at once,
 *   which sees `ending` and does nothing more.
 * - The checks read the message into a static scratch buffer (it must be
 *   validated before the bot is looked up); the same buffer then carries
 *   each bot file while the prompt is assembled.
 */
#include "fam/fleet/chat.h"

#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/fault.h"
#include "core/log.h"
#include "core/pool.h"
#include "engine/agent.h"
#include "engine/provider.h"
#include "engine/spawn.h"
#include "fam/fleet/api.h"
#include "fam/fleet/bot.h"
#include "fam/fleet/botdir.h"
#include "fam/fleet/events.h"
#include "fam/fleet/identity.h"
#include "fam/fleet/secrets.h"
#include "fam/fleet/sql.h"
#include "fam/shared/metrics.h"
#include "store/store.h"

#define MOD "chat"
#define MESSAGE_MAX_CHARS 100000u
#define SCRATCH_BYTES ((MESSAGE_MAX_CHARS * 4u) + 16u)

heap_t g_chat_heap;
chat_stats_t g_chat_stats;
const chat_config *g_chat_cfg;

/* cppcheck-suppress misra-c2012-1.4 ; C11 _Alignas: heap_init needs 16-byte alignment */
static _Alignas(16) unsigned char g_heap_mem[CFG_CHAT_HEAP_BYTES];
static chat_req g_reqs[CFG_CHAT_REQS];
static char g_scratch[(SCRATCH_BYTES > FLEET_CONTENT_MAX_BYTES) ? SCRATCH_BYTES
                                                                : FLEET_CONTENT_MAX_BYTES];
static fleet_bot g_bot;

_Static_assert(((sizeof g_reqs) + (sizeof g_chat_agents) + (sizeof g_heap_mem) +
                (sizeof g_scratch)) <= FLEET_CHAT_STATIC_BYTES,
               "FLEET_CHAT_STATIC_BYTES is the plan of the chat module");

static void on_writable(stream_sub *s);
static void on_close(stream_sub *s);

static stream_policy g_policy = {
    .name = "fleet chat",
    .topics = 0u,
    .heartbeat_ms = CFG_CHAT_KEEPALIVE_MS,
    .on_writable = on_writable,
    .on_close = on_close,
};

const chat_stats_t *fleet_chat_stats(void)
{
    return &g_chat_stats;
}

/* ---- heap texts --------------------------------------------------------------- */

bool chat_buf_add(chat_buf *b, const char *p, size_t n)
{
    if (n == 0u) {
        return true;
    }
    if ((b->n + n) > b->cap) {
        size_t want = b->n + n;
        size_t cap = (b->cap < 256u) ? 256u : b->cap;
        char *q;
        while (cap < want) {
            cap *= 2u;
        }
        q = (char *)heap_realloc(&g_chat_heap, b->p, cap);
        if (q == NULL) {
            q = (char *)heap_realloc(&g_chat_heap, b->p, want);
            cap = want;
        }
        if (q == NULL) {
            return false;
        }
        b->p = q;
        b->cap = cap;
    }
    (void)memcpy(&b->p[b->n], p, n);
    b->n += n;
    return true;
}

void chat_buf_free(chat_buf *b)
{
    heap_free(&g_chat_heap, b->p);
    b->p = NULL;
    b->n = 0u;
    b->cap = 0u;
}

static bool buf_cstr(chat_buf *b, const char *s)
{
    return chat_buf_add(b, s, strlen(s));
}

size_t chat_json_bound(const char *s, size_t n)
{
    size_t i;
    size_t k = 2u;
    for (i = 0u; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20u) {
            k += 6u;
        } else if ((c == (unsigned char)'"') || (c == (unsigned char)'\\')) {
            k += 2u;
        } else if (c >= 0x80u) {
            k += 3u;     /* U+FFFD for a bad byte, \u2028 for three */
        } else {
            k += 1u;
        }
    }
    return k;
}

/* ---- output ------------------------------------------------------------------ */

static void release(chat_req *r);

static char *chunk_bytes(chat_chunk *q)
{
    return (char *)(void *)(q + 1);
}

/* Write r's queue into s as far as tx takes it; a chunk written whole is
 * freed. */
static void write_queue(chat_req *r, stream_sub *s)
{
    while (r->qhead != NULL) {
        chat_chunk *q = r->qhead;
        size_t w = stream_sse_write(s, &chunk_bytes(q)[q->off], q->n - q->off);
        q->off += w;
        r->qbytes -= w;
        if (q->off < q->n) {
            break;
        }
        r->qhead = q->next;
        if (r->qhead == NULL) {
            r->qtail = NULL;
        }
        heap_free(&g_chat_heap, q);
    }
}

static const char k_tail_done[] = "event: done\ndata: {}\n\n";
static const char k_tail_lost[] =
    "event: error\ndata: {\"message\":\"Internal error: the reply did not fit in memory\"}"
    "\n\nevent: done\ndata: {}\n\n";

static void flush(chat_req *r)
{
    if (!r->gone) {
        write_queue(r, r->sub);
    }
    if (r->out_full && (r->qbytes <= (CFG_CHAT_QUEUE_BYTES / 2u))) {
        r->out_full = false;
        chat_agents_resume(r);
    }
    if (r->ending && (r->qhead == NULL) && (r->tail != NULL) && !r->gone) {
        size_t n = strlen(r->tail);
        r->tail_off += stream_sse_write(r->sub, &r->tail[r->tail_off], n - r->tail_off);
        if (r->tail_off < n) {
            return;     /* the rest when tx drains (on_writable) */
        }
    }
    if (r->ending && (r->qhead == NULL) && !r->gone) {
        stream_sub *s = r->sub;
        release(r);
        stream_close(s, 0u, NULL);
    }
}

/* A chunk with room for cap bytes of output, not queued yet; NULL when the
 * heap has no room (counted, logged: the output is dropped). */
static chat_chunk *chunk_new(chat_req *r, size_t cap)
{
    chat_chunk *q = NULL;
    if (r->lost) {
        g_chat_stats.events_dropped++;     /* after a gap, nothing more */
    } else if (!r->gone) {
        q = (chat_chunk *)heap_alloc(&g_chat_heap, sizeof(chat_chunk) + cap);
        if (q == NULL) {
            g_chat_stats.events_dropped++;
            r->lost = true;
            LOG_W(MOD, "request %s: no heap for %lu bytes of output: the turn fails",
                  r->request_id, (unsigned long)cap);
        } else {
            q->next = NULL;
            q->n = 0u;
            q->off = 0u;
        }
    } else {
        /* the stream is gone: nothing is written */
    }
    return q;
}

/* Queue q (its n bytes written; the block is cut to them) and write what
 * fits. */
static void chunk_push(chat_req *r, chat_chunk *full)
{
    chat_chunk *q = (chat_chunk *)heap_realloc(&g_chat_heap, full, sizeof(chat_chunk) + full->n);
    if (q == NULL) {
        q = full;     /* shrinks in place; NULL only for a bad pointer */
    }
    if (r->qtail == NULL) {
        r->qhead = q;
    } else {
        r->qtail->next = q;
    }
    r->qtail = q;
    r->qbytes += q->n;
    if (!r->out_full && (r->qbytes > CFG_CHAT_QUEUE_BYTES)) {
        r->out_full = true;
        g_chat_stats.output_pauses++;
        chat_agents_pause(r);
    }
    flush(r);
}

/* Queue parts[0..n) as one chunk. */
static void enqueue(chat_req *r, const strv *parts, size_t nparts)
{
    size_t total = 0u;
    size_t i;
    chat_chunk *q;
    for (i = 0u; i < nparts; i++) {
        total += parts[i].n;
    }
    q = chunk_new(r, total);
    if (q != NULL) {
        for (i = 0u; i < nparts; i++) {
            (void)memcpy(&chunk_bytes(q)[q->n], parts[i].p, parts[i].n);
            q->n += parts[i].n;
        }
        chunk_push(r, q);
    }
}

/* Queue the event `name` whose data is data[0..ndata) put together (at most
 * CHAT_SSE_PARTS parts), as one chunk. */
static void queue_event(chat_req *r, const char *name, const strv *data, size_t ndata)
{
    strv parts[CHAT_SSE_PARTS + 4u];
    size_t n = 3u;
    size_t i;
    parts[0] = strv_from_cstr("event: ");
    parts[1] = strv_from_cstr(name);
    parts[2] = strv_from_cstr("\ndata: ");
    for (i = 0u; (i < ndata) && (i < CHAT_SSE_PARTS); i++) {
        parts[n] = data[i];
        n++;
    }
    parts[n] = strv_from_cstr("\n\n");
    n++;
    enqueue(r, parts, n);
}

void chat_sse(chat_req *r, const char *name, const char *json, size_t n)
{
    strv data = strv_make(json, n);
    queue_event(r, name, &data, 1u);
}

void chat_event(chat_req *r, const char *sse_name, const char *json, size_t n,
                const strv *sse, size_t nsse)
{
    (void)fleet_bus_publish(json, n);
    if (sse != NULL) {
        queue_event(r, sse_name, sse, nsse);
    } else {
        chat_sse(r, sse_name, json, n);
    }
}

void chat_root_text(chat_req *r, strv text)
{
    /* the event is written straight into its queue chunk (a token's path) */
    static const char k_head[] = "event: text_delta\ndata: ";
    size_t hl = (sizeof k_head) - 1u;
    size_t cap = hl + chat_json_bound(text.p, text.n) + 16u;
    chat_chunk *q = chunk_new(r, cap);
    json_w w;
    size_t len = 0u;
    if (q == NULL) {
        return;
    }
    (void)memcpy(chunk_bytes(q), k_head, hl);
    json_w_init(&w, &chunk_bytes(q)[hl], cap - hl - 2u);
    json_w_obj_begin(&w);
    json_w_kstrn(&w, "text", text.p, text.n);
    json_w_obj_end(&w);
    if (json_w_finish(&w, &len) != ST_OK) {
        heap_free(&g_chat_heap, q);
        return;
    }
    (void)memcpy(&chunk_bytes(q)[hl + len], "\n\n", 2u);
    q->n = hl + len + 2u;
    chunk_push(r, q);
}

bool chat_req_blocked(const chat_req *r)
{
    return r->paused || r->out_full || r->stopping || r->gone || r->ending;
}

static void on_writable(stream_sub *s)
{
    chat_req *r = *(chat_req **)stream_user(s);
    if ((r != NULL) && r->in_use) {
        flush(r);
    }
}

/* ---- persistence ---------------------------------------------------------------- */

static st_t bind_strv(sqlite3_stmt *q, int i, strv v)
{
    return (v.p == NULL) ? store_bind_null(q, i) : store_bind_text(q, i, v);
}

static st_t insert_message(const chat_req *r, const char *role, strv content,
                           const char *created_at, bool assistant, const char *stop,
                           bool partial)
{
    sqlite3_stmt *q = fleet_stmt(FLEET_SQL_CHAT_MESSAGE_INSERT);
    char id[UUID_STR_BYTES];
    st_t st = uuid_v7(id);
    if (st != ST_OK) {
        return st;
    }
    (void)store_bind_text(q, 1, strv_from_cstr(id));
    (void)store_bind_text(q, 2, strv_from_cstr(r->session_id));
    (void)store_bind_text(q, 3, strv_from_cstr(role));
    (void)store_bind_text(q, 4, (content.p == NULL) ? strv_from_cstr("") : content);
    (void)store_bind_text(q, 5, strv_from_cstr(created_at));
    if (assistant) {
        strv model = { r->root_model.p, r->root_model.n };
        uint64_t ms = clock_mono_ms() - r->start_ms;
        (void)store_bind_int64(q, 6, (int64_t)r->in_tokens);
        (void)store_bind_int64(q, 7, (int64_t)r->out_tokens);
        (void)bind_strv(q, 8, model);
        (void)bind_strv(q, 9, (stop[0] != '\0') ? strv_from_cstr(stop) : STRV_NULL);
        (void)store_bind_int64(q, 10, (int64_t)ms);
    } else {
        (void)store_bind_null(q, 6);
        (void)store_bind_null(q, 7);
        (void)store_bind_null(q, 8);
        (void)store_bind_null(q, 9);
        (void)store_bind_null(q, 10);
    }
    (void)store_bind_int64(q, 11, partial ? 1 : 0);
    return store_exec(q);
}

/* Store the turn: user message, assistant message, counters. */
static void persist(chat_req *r, strv text, const char *stop, bool partial)
{
    char now[40];
    strv msg = { r->message.p, r->message.n };
    sqlite3_stmt *q;
    st_t st = store_begin();
    fleet_now(now);
    if (st == ST_OK) {
        st = insert_message(r, "user", msg, r->started_at, false, "", false);
    }
    if (st == ST_OK) {
        st = insert_message(r, "assistant", text, now, true, stop, partial);
    }
    if (st == ST_OK) {
        q = fleet_stmt(FLEET_SQL_CHAT_SESSION_ADD);
        (void)store_bind_text(q, 1, strv_from_cstr(r->session_id));
        (void)store_bind_int64(q, 2, 2);
        (void)store_bind_int64(q, 3, (int64_t)r->in_tokens);
        (void)store_bind_int64(q, 4, (int64_t)r->out_tokens);
        st = store_exec(q);
    }
    if (st == ST_OK) {
        q = fleet_stmt(FLEET_SQL_CHAT_BOT_ADD);
        (void)store_bind_text(q, 1, strv_from_cstr(r->bot_id));
        (void)store_bind_int64(q, 2, (int64_t)r->in_tokens);
        (void)store_bind_int64(q, 3, (int64_t)r->out_tokens);
        if (partial) {
            (void)store_bind_null(q, 4);
        } else {
            (void)store_bind_text(q, 4, strv_from_cstr(now));
        }
        st = store_exec(q);
    }
    if (st == ST_OK) {
        st = store_commit();
    }
    if (st != ST_OK) {
        (void)store_rollback();
        LOG_E(MOD, "request %s: the turn was not stored: %s", r->request_id, status_str(st));
    }
}

/* ---- the end ------------------------------------------------------------------ */

void chat_usage(chat_req *r)
{
    char buf[256];
    json_w w;
    size_t len = 0u;
    json_w_init(&w, buf, sizeof buf);
    json_w_obj_begin(&w);
    json_w_ku64(&w, "input_tokens", r->in_tokens);
    json_w_ku64(&w, "output_tokens", r->out_tokens);
    if (r->has_cache_creation) {
        json_w_ku64(&w, "cache_creation_input_tokens", r->cache_creation);
    }
    if (r->has_cache_read) {
        json_w_ku64(&w, "cache_read_input_tokens", r->cache_read);
    }
    json_w_obj_end(&w);
    if (json_w_finish(&w, &len) == ST_OK) {
        chat_sse(r, "usage", buf, len);
    }
}

void chat_finish(chat_req *r, bool ok, strv final_text, const char *error)
{
    const chat_agent *root = &g_chat_agents[r->root];
    bool lost_before = r->lost;
    if (r->ending || r->gone) {
        return;
    }
    if (lost_before) {
        g_chat_stats.failed++;
        LOG_I(MOD, "request %s: output was lost: ends with an error", r->request_id);
    } else if (ok) {
        if (root->synth || r->stopping) {
            chat_usage(r);     /* totals of the whole request */
        }
        if (final_text.n > 0u) {
            persist(r, final_text, r->root_stop, false);
            g_chat_stats.completed++;
        } else {
            LOG_W(MOD, "request %s: the reply was empty: nothing stored", r->request_id);
        }
    } else {
        char buf[CFG_LLM_DETAIL_BYTES + 64u];
        json_w w;
        size_t len = 0u;
        json_w_init(&w, buf, sizeof buf);
        json_w_obj_begin(&w);
        json_w_kstr(&w, "message", error);
        json_w_obj_end(&w);
        if (json_w_finish(&w, &len) == ST_OK) {
            chat_sse(r, "error", buf, len);
        }
        g_chat_stats.failed++;
        LOG_I(MOD, "request %s: %s", r->request_id, error);
    }
    chat_agents_free(r);
    if (r->lost) {
        r->tail = k_tail_lost;     /* before done, something was dropped */
    } else {
        chat_sse(r, "done", "{}", 2u);
        if (r->lost) {
            r->tail = k_tail_done;
        }
    }
    r->ending = true;
    flush(r);
}

/* Free the slot and everything it holds (its agents are freed already). */
static void release(chat_req *r)
{
    size_t i;
    while (r->qhead != NULL) {
        chat_chunk *q = r->qhead;
        r->qhead = q->next;
        heap_free(&g_chat_heap, q);
    }
    if (r->update_timer != TIMER_NONE) {
        timer_cancel(r->update_timer);
    }
    if (r->pause_timer != TIMER_NONE) {
        timer_cancel(r->pause_timer);
    }
    if (r->paused) {
        fleet_budget_forget(r->request_id);
    }
    chat_buf_free(&r->bot_name);
    chat_buf_free(&r->model);
    chat_buf_free(&r->system);
    chat_buf_free(&r->sub_base);
    chat_buf_free(&r->hist_mem);
    chat_buf_free(&r->message);
    chat_buf_free(&r->root_model);
    heap_free(&g_chat_heap, r->hist);
    for (i = 0u; i < r->ntasks; i++) {
        chat_buf_free(&r->task_key[i]);
    }
    if (r->sub != NULL) {
        *(chat_req **)stream_user(r->sub) = NULL;
    }
    r->in_use = false;
    g_chat_stats.active--;
}

/* The client went away, or the server stops: abort every call, keep what
 * was said (marked by why), and on a shutdown tell the client. */
static void on_close(stream_sub *s)
{
    chat_req *r = *(chat_req **)stream_user(s);
    const chat_agent *root;
    bool stop = stream_stopping();
    const char *why = stop ? "server_stopped" : "client_disconnected";
    if ((r == NULL) || !r->in_use) {
        return;
    }
    if (r->ending) {
        /* the turn is over (stored or failed); write what tx takes of the
         * tail (a shutdown flushes it), drop the rest */
        write_queue(r, s);
        r->gone = true;
        release(r);
        return;
    }
    if (stop) {
        static const char k_bye[] = "{\"message\":\"Server shutting down\"}";
        chat_sse(r, "error", k_bye, (sizeof k_bye) - 1u);
        chat_sse(r, "done", "{}", 2u);     /* into tx; the close flushes it */
    }
    r->gone = true;
    g_chat_stats.disconnected++;
    root = &g_chat_agents[r->root];
    if (root->resp.n > 0u) {
        strv text = { root->resp.p, root->resp.n };
        if (root->synth && (root->syn.n > 0u)) {
            text.p = root->syn.p;
            text.n = root->syn.n;
        }
        persist(r, text, why, true);
    }
    LOG_I(MOD, "request %s: %s: calls aborted%s", r->request_id,
          stop ? "the server stops" : "the client went away",
          (root->resp.n > 0u) ? ", partial turn stored" : "");
    chat_agents_abort(r, stop ? "Server stopping" : "Client disconnected");
    chat_agents_free(r);
    release(r);
}

/* ---- prompt -------------------------------------------------------------------- */

static const char k_instructions[] =
    "<instructions>\n"
    "You are %s. Always stay in character as defined in your soul.\n"
    "Express your personality strongly in every response.\n"
    "Reference past conversations naturally without saying \"I remember\".\n"
    "When uncertain, acknowledge it honestly.\n"
    "</instructions>";

static const char k_capabilities[] =
    "<agent_capabilities>\n"
    "You can decompose complex tasks by spawning sub-agents. To do this, include a spawn "
    "block in your response:\n"
    "\n"
    "For parallel execution (tasks run simultaneously):\n"
    "<spawn_agents mode=\"parallel\">\n"
    "  <agent task=\"Description of sub-task 1\" />\n"
    "  <agent task=\"Description of sub-task 2\" />\n"
    "</spawn_agents>\n"
    "\n"
    "For sequential execution (each task sees the previous result):\n"
    "<spawn_agents mode=\"sequential\">\n"
    "  <agent task=\"First step description\" />\n"
    "  <agent task=\"Second step description\" />\n"
    "</spawn_agents>\n"
    "\n"
    "Guidelines:\n"
    "- Only spawn sub-agents when the task genuinely benefits from decomposition\n"
    "- Each task description should be specific and self-contained\n"
    "- Sub-agents inherit your personality and respond in character\n"
    "- You may include text before the spawn block to explain your approach\n"
    "- After sub-agents complete, you will receive their results and should synthesize a "
    "cohesive response\n"
    "- Sub-agents can spawn their own sub-agents up to 3 levels deep\n"
    "</agent_capabilities>";

const char *chat_capabilities(void)
{
    return k_capabilities;
}

/* A bot file, trimmed, into the scratch buffer (empty when missing). */
static st_t read_file(const char *file, strv *out)
{
    size_t n = 0u;
    st_t st = botdir_read(g_bot.slug, file, g_scratch, sizeof g_scratch, &n);
    out->p = g_scratch;
    out->n = 0u;
    if (st == ST_NOTFOUND) {
        return ST_OK;
    }
    if (st == ST_OK) {
        *out = spawn_trim((strv){ g_scratch, n });
    }
    return st;
}

/* "<tag>\ntext\n</tag>" appended, with a blank line before it unless b is
 * empty. */
static bool section(chat_buf *b, const char *tag, strv text)
{
    bool ok = true;
    if (b->n > 0u) {
        ok = buf_cstr(b, "\n\n");
    }
    ok = ok && buf_cstr(b, "<") && buf_cstr(b, tag) && buf_cstr(b, ">\n") &&
         chat_buf_add(b, text.p, text.n) && buf_cstr(b, "\n</") && buf_cstr(b, tag) &&
         buf_cstr(b, ">");
    return ok;
}

static void candidates(chat_req *r, strv provider)
{
    int32_t primary = engine_find_provider(g_chat_cfg, provider);
    if (primary == CHAT_NONE) {
        LOG_W(MOD, "bot %s: provider '%.*s' is not configured; using llm.fallback_chain",
              g_bot.slug, (int)provider.n, provider.p);
    }
    r->ncand = engine_candidates(g_chat_cfg, primary, r->cand, &r->cand0_model);
}

/* System prompts, identity settings and candidates of r. */
static st_t assemble(chat_req *r)
{
    strv soul;
    strv ident;
    strv user;
    identity_fm fm;
    char provider[CFG_CONF_VALUE_BYTES];
    size_t plen;
    bool ok = true;
    st_t st = read_file(BOTDIR_SOUL, &soul);
    if (st != ST_OK) {
        return st;
    }
    if (soul.n > 0u) {
        ok = section(&r->system, "soul", soul) && section(&r->sub_base, "soul", soul);
    }
    st = read_file(BOTDIR_IDENTITY, &ident);
    if ((st != ST_OK) || !ok) {
        return (st != ST_OK) ? st : ST_NOMEM;
    }
    (void)identity_parse(ident, &fm);
    plen = (fm.provider.n < ((sizeof provider) - 1u)) ? fm.provider.n : ((sizeof provider) - 1u);
    (void)memcpy(provider, fm.provider.p, plen);
    provider[plen] = '\0';
    r->temperature = fm.temperature;
    r->max_tokens = fm.max_tokens;
    ok = chat_buf_add(&r->model, fm.model.p, fm.model.n);
    if (ok && (ident.n > 0u)) {
        ok = section(&r->system, "identity", ident) && section(&r->sub_base, "identity", ident);
    } else if (ok) {
        chat_buf t = { NULL, 0u, 0u };
        ok = buf_cstr(&t, "Name: ") && chat_buf_add(&t, r->bot_name.p, r->bot_name.n) &&
             buf_cstr(&t, "\nModel: ") && chat_buf_add(&t, r->model.p, r->model.n);
        if (ok) {
            strv tv = { t.p, t.n };
            ok = section(&r->system, "identity", tv) && section(&r->sub_base, "identity", tv);
        }
        chat_buf_free(&t);
    } else {
        /* no heap */
    }
    candidates(r, (strv){ provider, plen });
    st = read_file(BOTDIR_USER, &user);
    if ((st != ST_OK) || !ok) {
        return (st != ST_OK) ? st : ST_NOMEM;
    }
    if (user.n > 0u) {
        ok = section(&r->system, "user_context", user);
    }
    if (ok) {
        int n = snprintf(g_scratch, sizeof g_scratch, k_instructions, g_bot.name);
        ok = (n > 0) && buf_cstr(&r->system, "\n\n") &&
             chat_buf_add(&r->system, g_scratch, (size_t)n);
    }
    if (ok && (g_chat_cfg->max_depth > 0u)) {
        ok = buf_cstr(&r->system, "\n\n") && buf_cstr(&r->system, k_capabilities);
    }
    return ok ? ST_OK : ST_NOMEM;
}

/* The last history_max_messages messages of the session, then room for
 * the user message and a synthesis' two more. */
static st_t load_history(chat_req *r)
{
    sqlite3_stmt *q = fleet_stmt(FLEET_SQL_CHAT_HISTORY);
    size_t count = 0u;
    size_t i = 0u;
    size_t off = 0u;
    bool row = false;
    st_t st;
    (void)store_bind_text(q, 1, strv_from_cstr(r->session_id));
    (void)store_bind_int64(q, 2, (int64_t)g_chat_cfg->history_max_messages);
    st = store_step(q, &row);
    while ((st == ST_OK) && row) {
        strv c = store_col_text(q, 1);
        if (!chat_buf_add(&r->hist_mem, c.p, c.n)) {
            st = ST_NOMEM;
        } else {
            count++;
            st = store_step(q, &row);
        }
    }
    store_done(q);
    if (st != ST_OK) {
        return st;
    }
    r->hist = (llm_msg *)heap_calloc(&g_chat_heap, count + 3u, sizeof(llm_msg));
    if (r->hist == NULL) {
        return ST_NOMEM;
    }
    /* second pass: the views (the texts no longer move) */
    (void)store_bind_text(q, 1, strv_from_cstr(r->session_id));
    (void)store_bind_int64(q, 2, (int64_t)g_chat_cfg->history_max_messages);
    st = store_step(q, &row);
    while ((st == ST_OK) && row && (i < count)) {
        strv role = store_col_text(q, 0);
        strv c = store_col_text(q, 1);
        r->hist[i].role = strv_eq_cstr(role, "assistant") ? strv_from_cstr("assistant")
                                                          : strv_from_cstr("user");
        r->hist[i].content.p = (r->hist_mem.p != NULL) ? &r->hist_mem.p[off] : "";
        r->hist[i].content.n = c.n;
        off += c.n;
        i++;
        st = store_step(q, &row);
    }
    store_done(q);
    r->nhist = i;
    return st;
}

/* ---- the endpoint -------------------------------------------------------------- */

static chat_req *req_alloc(void)
{
    size_t i;
    if (FAULT_HIT(FAULT_SLOT, "chat")) {
        return NULL;
    }
    for (i = 0u; i < (size_t)CFG_CHAT_REQS; i++) {
        if (!g_reqs[i].in_use) {
            chat_req *r = &g_reqs[i];
            (void)memset(r, 0, sizeof *r);
            r->in_use = true;
            r->root = CHAT_NONE;
            r->update_timer = TIMER_NONE;
            r->pause_timer = TIMER_NONE;
            g_chat_stats.active++;
            if (g_chat_stats.active > g_chat_stats.active_high) {
                g_chat_stats.active_high = g_chat_stats.active;
            }
            return r;
        }
    }
    return NULL;
}

static void unavailable(hctx *h, const char *why)
{
    g_chat_stats.refused++;
    LOG_W(MOD, "chat refused (503): %s", why);
    fleet_fail(h, 503, "SERVICE_UNAVAILABLE", "Service unavailable");
}

/* The message field into the scratch buffer; false: answered 400. */
static bool read_message(hctx *h, const json_doc *d, int root, size_t *n)
{
    int t = json_obj_get(d, root, "message");
    if ((t < 0) || (json_type(d, t) != JSON_STRING)) {
        fleet_fail(h, 400, "VALIDATION_ERROR",
                   (t < 0) ? "Invalid field 'message': required"
                           : "Invalid field 'message': must be a string");
        return false;
    }
    if ((json_get_mem(d, t, g_scratch, sizeof g_scratch, n) != ST_OK) ||
        (fleet_chars(g_scratch, *n) > MESSAGE_MAX_CHARS)) {
        fleet_fail(h, 400, "VALIDATION_ERROR",
                   "Invalid field 'message': must be at most 100000 characters");
        return false;
    }
    if (*n == 0u) {
        fleet_fail(h, 400, "VALIDATION_ERROR", "Invalid field 'message': must not be empty");
        return false;
    }
    return true;
}

/* session_id: absent/null -> new (sid ""); false: answered. */
static bool read_session(hctx *h, const json_doc *d, int root, char sid[UUID_STR_BYTES])
{
    int t = json_obj_get(d, root, "session_id");
    uint8_t b[16];
    char text[64];
    size_t n = 0u;
    sid[0] = '\0';
    if ((t < 0) || json_is_null(d, t)) {
        return true;
    }
    if ((json_type(d, t) != JSON_STRING) ||
        (json_get_str(d, t, text, sizeof text, &n) != ST_OK) ||
        !uuid_parse((strv){ text, n }, b)) {
        fleet_fail(h, 400, "VALIDATION_ERROR", "Invalid session_id format");
        return false;
    }
    uuid_format(b, sid);
    return true;
}

/* Session sid of this bot? false: answered 404 (or 500). */
static bool check_session(hctx *h, const char *sid)
{
    sqlite3_stmt *q = fleet_stmt(FLEET_SQL_SESSION_GET);
    bool row = false;
    bool mine = false;
    st_t st;
    (void)store_bind_text(q, 1, strv_from_cstr(sid));
    st = store_step(q, &row);
    if ((st == ST_OK) && row) {
        mine = strv_eq_cstr(store_col_text(q, 1), g_bot.id);
    }
    store_done(q);
    if (st != ST_OK) {
        fleet_internal(h, "reading the session", st);
        return false;
    }
    if (!mine) {
        fleet_fail(h, 404, "SESSION_NOT_FOUND", "Session not found");
    }
    return mine;
}

static st_t create_session(chat_req *r)
{
    sqlite3_stmt *q = fleet_stmt(FLEET_SQL_CHAT_SESSION_CREATE);
    st_t st = uuid_v7(r->session_id);
    if (st == ST_OK) {
        (void)store_bind_text(q, 1, strv_from_cstr(r->session_id));
        (void)store_bind_text(q, 2, strv_from_cstr(r->bot_id));
        (void)store_bind_text(q, 3, strv_from_cstr(r->started_at));
        (void)store_bind_text(q, 4, (strv){ r->model.p, r->model.n });
        st = store_exec(q);
    }
    if (st == ST_OK) {
        q = fleet_stmt(FLEET_SQL_CHAT_BOT_CONVERSATION);
        (void)store_bind_text(q, 1, strv_from_cstr(r->bot_id));
        st = store_exec(q);
    }
    return st;
}

static void free_unstarted(chat_req *r)
{
    r->sub = NULL;
    release(r);
}

/* Everything after the checks: slot, prompt, session, stream, root call. */
static void start(hctx *h, size_t msg_n, const char *sid)
{
    chat_req *r;
    st_t st;
    char json[96];
    int n;
    /* No LLM slot free is no refusal: the root call waits its turn in the
     * pump like a sub-agent (CFG_CHAT_REQS streams over CFG_LLM_SLOTS
     * provider connections); the stream's keep-alive comments cover the
     * wait. */
    r = req_alloc();
    if (r == NULL) {
        unavailable(h, "every chat request slot is busy");
        return;
    }
    r->start_ms = clock_mono_ms();
    fleet_now(r->started_at);
    (void)memcpy(r->bot_id, g_bot.id, sizeof r->bot_id);
    if (!chat_buf_add(&r->message, g_scratch, msg_n) ||
        !buf_cstr(&r->bot_name, g_bot.name) || (uuid_v7(r->request_id) != ST_OK)) {
        free_unstarted(r);
        unavailable(h, "the chat heap is full");
        return;
    }
    st = assemble(r);
    r->new_session = (sid[0] == '\0');
    if ((st == ST_OK) && !r->new_session) {
        (void)memcpy(r->session_id, sid, sizeof r->session_id);
        st = load_history(r);
    } else if (st == ST_OK) {
        r->hist = (llm_msg *)heap_calloc(&g_chat_heap, 3u, sizeof(llm_msg));
        st = (r->hist == NULL) ? ST_NOMEM : ST_OK;
    } else {
        /* st says why */
    }
    if (st == ST_OK) {
        r->hist[r->nhist].role = strv_from_cstr("user");
        r->hist[r->nhist].content = (strv){ r->message.p, r->message.n };
    }
    if (st == ST_NOMEM) {
        free_unstarted(r);
        unavailable(h, "the chat heap is full");
        return;
    }
    if (st != ST_OK) {
        free_unstarted(r);
        fleet_internal(h, "preparing the chat", st);
        return;
    }
    if (r->ncand == 0u) {
        /* the identity's provider is not configured and the chain is empty */
        free_unstarted(r);
        fleet_fail(h, 500, "INTERNAL_ERROR",
                   "No usable LLM provider: the bot's provider is not configured and "
                   "llm.fallback_chain is empty");
        return;
    }
    st = store_begin();
    if ((st == ST_OK) && r->new_session) {
        st = create_session(r);
    }
    if (st != ST_OK) {
        (void)store_rollback();
        free_unstarted(r);
        fleet_internal(h, "creating the session", st);
        return;
    }
    r->sub = hctx_sse_begin(h, &g_policy);
    if (r->sub == NULL) {
        (void)store_rollback();
        free_unstarted(r);
        g_chat_stats.refused++;
        return;
    }
    st = store_commit();
    *(chat_req **)stream_user(r->sub) = r;
    g_chat_stats.requests++;
    r->total = g_chat_cfg->budget_tokens;
    n = snprintf(json, sizeof json, "{\"session_id\":\"%s\"}", r->session_id);
    chat_sse(r, "session", json, (size_t)n);
    if (st != ST_OK) {
        (void)store_rollback();
        LOG_E(MOD, "request %s: creating the session: %s", r->request_id, status_str(st));
        r->root = CHAT_NONE;
    }
    if ((st != ST_OK) || !chat_agents_start(r)) {
        /* no root agent: end at once */
        const char *e = (st != ST_OK)
                            ? "{\"message\":\"Internal error: the session was not stored\"}"
                            : "{\"message\":\"Service unavailable: no agent slot\"}";
        chat_sse(r, "error", e, strlen(e));
        chat_sse(r, "done", "{}", 2u);
        g_chat_stats.failed++;
        r->ending = true;
        flush(r);
        return;
    }
    LOG_I(MOD, "request %s: bot %s, session %s%s", r->request_id, g_bot.slug, r->session_id,
          r->new_session ? " (new)" : "");
}

void fleet_chat_stream(hctx *h)
{
    json_doc d;
    int root;
    size_t msg_n = 0u;
    char sid[UUID_STR_BYTES];
    bool ok;
    if (!fleet_body(h, &d)) {
        return;
    }
    root = json_root(&d);
    ok = read_message(h, &d, root, &msg_n);
    if (ok) {
        ok = bot_resolve(h, 0u, &g_bot);
    }
    if (ok && (strcmp(g_bot.status, "active") != 0)) {
        char msg[FLEET_NAME_BYTES + 64u];
        (void)snprintf(msg, sizeof msg, "Bot '%s' is %s and cannot chat", g_bot.name,
                       g_bot.status);
        fleet_fail(h, 400, "VALIDATION_ERROR", msg);
        ok = false;
    }
    if (ok) {
        ok = read_session(h, &d, root, sid);
    }
    json_release(&d);
    if (ok && (sid[0] != '\0')) {
        ok = check_session(h, sid);
    }
    if (ok && ((g_chat_cfg == NULL) || (g_chat_cfg->nprov == 0u))) {
        fleet_fail(h, 500, "INTERNAL_ERROR", "No LLM provider configured");
        ok = false;
    }
    if (ok) {
        start(h, msg_n, sid);
    }
}

/* ---- setup and metrics ----------------------------------------------------------- */

/* Shutdown: end every open chat before the bus clients are closed, so the
 * agent_cancelled events of the running sub-agents still reach them. */
static void stop_all(void)
{
    size_t i;
    for (i = 0u; i < (size_t)CFG_CHAT_REQS; i++) {
        chat_req *r = &g_reqs[i];
        if (r->in_use && (r->sub != NULL) && !r->gone) {
            stream_close(r->sub, 0u, NULL);   /* on_close: error, done, store */
        }
    }
}

/* The engine's view of fleet's registries (fam/fleet/events.h, secrets.h). */
static const engine_host k_host = {
    .agent_register = fleet_agent_register,
    .agent_unregister = fleet_agent_unregister,
    .budget_pause = fleet_budget_pause,
    .budget_forget = fleet_budget_forget,
    .bus_publish = fleet_bus_publish,
    .secret = secrets_lookup,
};

void fleet_chat_init(const chat_config *cfg)
{
    g_chat_cfg = cfg;
    chat_agents_set_host(&k_host);
    static bool s_used;
    static_zero(g_reqs, sizeof g_reqs, &s_used);
    (void)memset(&g_chat_stats, 0, sizeof g_chat_stats);
    heap_init(&g_chat_heap, "chat", g_heap_mem, sizeof g_heap_mem);
    chat_agents_reset();
    (void)memset(&g_policy.stats, 0, sizeof g_policy.stats);
    stream_register(&g_policy);
    stream_set_stop_hook(stop_all);
}

typedef struct {
    const char *name;
    const char *type;
    const char *help;
    unsigned long long v;
} metric_row;

size_t fleet_chat_metrics(char *buf, size_t cap)
{
    heap_stats_t hs;
    size_t n = 0u;
    const chat_stats_t *c = &g_chat_stats;
    heap_stats(&g_chat_heap, &hs);
    {
        const metric_row rows[] = {
            { "roost_chat_requests_total", "counter", "Chat streams started.", c->requests },
            { "roost_chat_refused_total", "counter", "Chat requests answered 503.", c->refused },
            { "roost_chat_active", "gauge", "Chat requests streaming now.", c->active },
            { "roost_chat_active_high_water", "gauge", "Most chat requests at once.",
              c->active_high },
            { "roost_chat_agents", "gauge", "Agents in use now.", c->agents },
            { "roost_chat_agents_high_water", "gauge", "Most agents at once.", c->agents_high },
            { "roost_chat_completed_total", "counter", "Turns stored as successful.",
              c->completed },
            { "roost_chat_failed_total", "counter", "Turns ended with an error event.",
              c->failed },
            { "roost_chat_disconnected_total", "counter", "Clients gone mid-stream.",
              c->disconnected },
            { "roost_chat_llm_calls_total", "counter", "LLM calls started.", c->calls },
            { "roost_chat_failovers_total", "counter", "Provider failovers.", c->failovers },
            { "roost_chat_agents_spawned_total", "counter", "Sub-agents spawned.", c->spawned },
            { "roost_chat_agents_cancelled_total", "counter", "Agents cancelled.",
              c->cancelled },
            { "roost_chat_budget_pauses_total", "counter", "Requests paused on their budget.",
              c->budget_pauses },
            { "roost_chat_output_pauses_total", "counter",
              "Provider streams paused for a slow client.", c->output_pauses },
            { "roost_chat_events_dropped_total", "counter", "SSE events lost for want of heap.",
              c->events_dropped },
            { "roost_chat_heap_bytes", "gauge", "Size of the chat heap.", hs.bytes },
            { "roost_chat_heap_used_bytes", "gauge", "Chat heap in use.", hs.used },
            { "roost_chat_heap_high_water_bytes", "gauge", "Most chat heap ever in use.",
              hs.high },
            { "roost_chat_heap_failures_total", "counter", "Chat heap allocations refused.",
              hs.fails },
        };
        size_t i;
        for (i = 0u; i < ((sizeof rows) / (sizeof rows[0])); i++) {
            size_t k = metrics_line(&buf[n], cap - n, rows[i].name, rows[i].type, rows[i].help,
                                    rows[i].v);
            if (k == 0u) {
                return 0u;
            }
            n += k;
        }
    }
    return n;
}
