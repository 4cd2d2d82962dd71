/*
 * events.c - GET /ws/events: the fleet bus, the client commands and their
 * registries (contract in events.h, spec/fleet.md §9).
 *
 * Implementation notes:
 *   - Delivery is entirely http/stream's: one static policy (topic fleet,
 *     lag skips, no priorities, no queue cap) serves every client; this file
 *     only publishes into the ring and reads commands.
 *   - A command is parsed with the shared token pool and its id copied out
 *     as 16 bytes; the document is released before anything else happens, so
 *     a registry callback that parses JSON itself finds the pool free.
 *   - Registries are small fixed tables searched linearly (tens of entries,
 *     one lookup per command). An entry is updated before its callback runs
 *     and the callback's pointers are copied first, so the callback may
 *     change the tables freely.
 *   - Per-connection workflow subscriptions live in the subscriber's
 *     stream_user area (zeroed at accept): nothing to free on close.
 */
#include "fam/fleet/events.h"

#include <stdio.h>
#include <string.h>

#include "bus/ring.h"
#include "core/pool.h"
#include "core/log.h"
#include "core/strv.h"
#include "core/uuid.h"
#include "fam/shared/metrics.h"
#include "http/parse.h"
#include "json/read.h"

#define MOD "fleet"
#define ID_BYTES 16u
/* The longest accepted id text is urn:uuid:<36>; longer strings are invalid. */
#define ID_TEXT_BYTES 48u

_Static_assert(sizeof(fleet_events_conn) <= STREAM_USER_BYTES,
               "fleet_events_conn must fit the subscriber's user area");
_Static_assert(CFG_FLEET_WS_RUNS >= 1, "CFG_FLEET_WS_RUNS must be at least 1");
_Static_assert((CFG_FLEET_AGENT_SLOTS >= 1) && (CFG_FLEET_PAUSED_SLOTS >= 1),
               "the fleet registries need at least one slot each");

typedef struct {
    uint8_t id[ID_BYTES];
    bool used;
    bool cancelled;             /* cancel already called */
    void (*cancel)(void *ctx, const char *agent_id);
    void *ctx;
} agent_slot;

typedef struct {
    uint8_t id[ID_BYTES];
    bool used;
    void (*decide)(void *ctx, bool cont);
    void *ctx;
} paused_slot;

_Static_assert(sizeof(agent_slot) * (size_t)CFG_FLEET_AGENT_SLOTS +
                       sizeof(paused_slot) * (size_t)CFG_FLEET_PAUSED_SLOTS <=
                   FLEET_EVENTS_STATIC_BYTES,
               "FLEET_EVENTS_STATIC_BYTES understates the registries");

static agent_slot g_agents[CFG_FLEET_AGENT_SLOTS];
static paused_slot g_paused[CFG_FLEET_PAUSED_SLOTS];
static fleet_events_stats_t g_stats;

static stream_policy g_policy = {
    .name = "fleet /ws/events",
    .topics = FLEET_TOPIC,
    .priorities = false,
    .lag_skips = true,
    .pause_bytes = 0u,
    .resume_bytes = 0u,
    .max_queue_bytes = 0u,
    .close_code = WS_CLOSE_TRY_LATER,
    .heartbeat_ms = 30000u,
    .pong_timeout_ms = 60000u,
    .max_message = CFG_STREAM_MSG_BYTES,
    .on_text = fleet_events_command,
    .on_close = NULL,
};

/* ---- route ------------------------------------------------------------------ */

void fleet_events_ws(hctx *h)
{
    const http_req *rq = h->req;
    bool sse = (rq != NULL) && !rq->upgrade_websocket && (rq->method == HTTP_M_GET) &&
               strv_list_has_token(http_header_get(rq, "Accept"), "text/event-stream");
    if (sse) {
        hctx_begin(h, 200);
        (void)hctx_sse_begin(h, &g_policy);
    } else {
        (void)hctx_ws_accept(h, &g_policy);
    }
}

void fleet_events_set_heartbeat_ms(uint32_t ms)
{
    g_policy.heartbeat_ms = ms;
    g_policy.pong_timeout_ms = (ms > (UINT32_MAX / 2u)) ? UINT32_MAX : (ms * 2u);
}

const stream_policy *fleet_events_policy(void)
{
    return &g_policy;
}

void fleet_events_init(void)
{
    stream_register(&g_policy);
    static bool s_agents_used;
    static bool s_paused_used;
    static_zero(g_agents, sizeof g_agents, &s_agents_used);
    static_zero(g_paused, sizeof g_paused, &s_paused_used);
    (void)memset(&g_stats, 0, sizeof g_stats);
}

const fleet_events_stats_t *fleet_events_stats(void)
{
    return &g_stats;
}

size_t fleet_events_metrics(char *buf, size_t cap)
{
    /* cppcheck-suppress misra-c2012-5.7 ; false positive: an untagged struct has no tag */
    const struct {
        const char *name;
        const char *type;
        const char *help;
        unsigned long long v;
    } rows[] = {
        { "roost_fleet_ws_commands_total", "counter", "/ws/events client messages handled.",
          g_stats.commands },
        { "roost_fleet_ws_pongs_total", "counter", "/ws/events ping commands answered.",
          g_stats.pongs },
        { "roost_fleet_ws_workflow_subscribed_total", "counter",
          "/ws/events subscribe_workflow commands acknowledged.", g_stats.subscribed },
        { "roost_fleet_ws_ignored_total", "counter",
          "/ws/events commands ignored (malformed, unknown, invalid or stale ids).",
          g_stats.ignored },
        { "roost_fleet_ws_cancels_total", "counter", "cancel_agent commands delivered.",
          g_stats.cancels },
        { "roost_fleet_ws_budget_continues_total", "counter",
          "budget_continue commands delivered.", g_stats.budget_continues },
        { "roost_fleet_ws_budget_stops_total", "counter", "budget_stop commands delivered.",
          g_stats.budget_stops },
        { "roost_fleet_ws_replies_dropped_total", "counter",
          "/ws/events replies dropped for lack of tx room.", g_stats.replies_dropped },
        { "roost_fleet_bus_published_total", "counter", "Events published on the fleet bus.",
          g_stats.published },
        { "roost_fleet_bus_publish_failed_total", "counter",
          "Fleet bus events refused (too large or empty).", g_stats.publish_failed },
        { "roost_fleet_registry_full_total", "counter",
          "Agents or paused requests refused: registry full.", g_stats.register_full },
        { "roost_fleet_agents_cancellable", "gauge", "Sub-agents cancel_agent can reach now.",
          g_stats.agents },
        { "roost_fleet_budget_paused", "gauge", "Requests paused on their token budget now.",
          g_stats.paused },
    };
    size_t len = 0u;
    size_t i;
    bool fits = true;
    for (i = 0u; fits && (i < (sizeof(rows) / sizeof(rows[0]))); i++) {
        size_t k = metrics_line(buf + len, cap - len, rows[i].name, rows[i].type, rows[i].help,
                                rows[i].v);
        fits = (k > 0u);
        len += k;
    }
    return fits ? len : 0u;
}

/* ---- bus ------------------------------------------------------------------- */

st_t fleet_bus_publish(const char *json, size_t n)
{
    st_t st = ST_INVAL;
    if ((json != NULL) && (n > 0u)) {
        st = ring_publish(FLEET_TOPIC, RING_PRIO_NORMAL, json, n, NULL);
    }
    if (st == ST_OK) {
        g_stats.published++;
    } else {
        g_stats.publish_failed++;
        LOG_W(MOD, "bus event of %lu bytes not published: %s", (unsigned long)n,
              status_str(st));
    }
    return st;
}

/* ---- ids ------------------------------------------------------------------- */

static bool id_parse_cstr(const char *s, uint8_t out[ID_BYTES])
{
    return (s != NULL) && uuid_parse(strv_from_cstr(s), out);
}

static agent_slot *agent_find(const uint8_t id[ID_BYTES])
{
    agent_slot *hit = NULL;
    size_t i;
    for (i = 0u; (hit == NULL) && (i < (size_t)CFG_FLEET_AGENT_SLOTS); i++) {
        if (g_agents[i].used && (memcmp(g_agents[i].id, id, ID_BYTES) == 0)) {
            hit = &g_agents[i];
        }
    }
    return hit;
}

static paused_slot *paused_find(const uint8_t id[ID_BYTES])
{
    paused_slot *hit = NULL;
    size_t i;
    for (i = 0u; (hit == NULL) && (i < (size_t)CFG_FLEET_PAUSED_SLOTS); i++) {
        if (g_paused[i].used && (memcmp(g_paused[i].id, id, ID_BYTES) == 0)) {
            hit = &g_paused[i];
        }
    }
    return hit;
}

/* ---- registries ------------------------------------------------------------ */

st_t fleet_agent_register(const char *agent_id,
                          void (*cancel)(void *ctx, const char *agent_id), void *ctx)
{
    uint8_t id[ID_BYTES];
    agent_slot *free_slot = NULL;
    size_t i;
    if ((cancel == NULL) || !id_parse_cstr(agent_id, id)) {
        return ST_INVAL;
    }
    if (agent_find(id) != NULL) {
        return ST_EXISTS;
    }
    for (i = 0u; (free_slot == NULL) && (i < (size_t)CFG_FLEET_AGENT_SLOTS); i++) {
        if (!g_agents[i].used) {
            free_slot = &g_agents[i];
        }
    }
    if (free_slot == NULL) {
        g_stats.register_full++;
        LOG_W(MOD, "agent %s cannot be cancelled: all %d agent slots in use", agent_id,
              (int)CFG_FLEET_AGENT_SLOTS);
        return ST_FULL;
    }
    (void)memcpy(free_slot->id, id, ID_BYTES);
    free_slot->used = true;
    free_slot->cancelled = false;
    free_slot->cancel = cancel;
    free_slot->ctx = ctx;
    g_stats.agents++;
    return ST_OK;
}

void fleet_agent_unregister(const char *agent_id)
{
    uint8_t id[ID_BYTES];
    agent_slot *a = id_parse_cstr(agent_id, id) ? agent_find(id) : NULL;
    if (a != NULL) {
        (void)memset(a, 0, sizeof *a);
        g_stats.agents--;
    }
}

st_t fleet_budget_pause(const char *request_id, void (*decide)(void *ctx, bool cont),
                        void *ctx)
{
    uint8_t id[ID_BYTES];
    paused_slot *free_slot = NULL;
    size_t i;
    if ((decide == NULL) || !id_parse_cstr(request_id, id)) {
        return ST_INVAL;
    }
    if (paused_find(id) != NULL) {
        return ST_EXISTS;
    }
    for (i = 0u; (free_slot == NULL) && (i < (size_t)CFG_FLEET_PAUSED_SLOTS); i++) {
        if (!g_paused[i].used) {
            free_slot = &g_paused[i];
        }
    }
    if (free_slot == NULL) {
        g_stats.register_full++;
        LOG_W(MOD, "request %s cannot wait for a budget decision: all %d pause slots in use",
              request_id, (int)CFG_FLEET_PAUSED_SLOTS);
        return ST_FULL;
    }
    (void)memcpy(free_slot->id, id, ID_BYTES);
    free_slot->used = true;
    free_slot->decide = decide;
    free_slot->ctx = ctx;
    g_stats.paused++;
    return ST_OK;
}

void fleet_budget_forget(const char *request_id)
{
    uint8_t id[ID_BYTES];
    paused_slot *p = id_parse_cstr(request_id, id) ? paused_find(id) : NULL;
    if (p != NULL) {
        (void)memset(p, 0, sizeof *p);
        g_stats.paused--;
    }
}

/* ---- commands -------------------------------------------------------------- */

typedef enum {
    CMD_IGNORED = 0,
    CMD_PING,
    CMD_SUBSCRIBE,
    CMD_UNSUBSCRIBE,
    CMD_CANCEL,
    CMD_CONTINUE,
    CMD_STOP
} cmd_kind;

/* cppcheck-suppress misra-c2012-5.7 ; false positive: an untagged struct has no tag */
static const struct {
    const char *type;
    cmd_kind kind;
    const char *id_field;       /* NULL: no id */
} k_cmds[] = {
    { "ping", CMD_PING, NULL },
    { "subscribe_workflow", CMD_SUBSCRIBE, "run_id" },
    { "unsubscribe_workflow", CMD_UNSUBSCRIBE, "run_id" },
    { "cancel_agent", CMD_CANCEL, "agent_id" },
    { "budget_continue", CMD_CONTINUE, "request_id" },
    { "budget_stop", CMD_STOP, "request_id" },
};

#define NCMDS (sizeof(k_cmds) / sizeof(k_cmds[0]))

/* Classify text[0..n) and copy its id out; the document is released on
 * return. CMD_IGNORED (logged) for anything §9.2 says to ignore. */
static cmd_kind command_parse(const char *text, size_t n, uint8_t id[ID_BYTES])
{
    json_doc d;
    json_err e;
    cmd_kind kind = CMD_IGNORED;
    int root;
    int type_tok;
    size_t i;
    size_t which = NCMDS;
    if (json_parse(&d, text, n, &e) != ST_OK) {
        LOG_D(MOD, "/ws/events: ignored a message that is not JSON (%s at %lu)", e.reason,
              (unsigned long)e.offset);
        return CMD_IGNORED;
    }
    root = json_root(&d);
    type_tok = json_obj_get(&d, root, "type");
    for (i = 0u; (which == NCMDS) && (type_tok >= 0) && (i < NCMDS); i++) {
        if (json_str_eq(&d, type_tok, k_cmds[i].type)) {
            which = i;
        }
    }
    if (json_type(&d, root) != JSON_OBJECT) {
        LOG_D(MOD, "/ws/events: ignored a message of type %s (commands are objects)",
              json_type_name(json_type(&d, root)));
    } else if (which == NCMDS) {
        LOG_D(MOD, "/ws/events: ignored a command with %s type",
              (type_tok < 0) ? "no" : "an unknown");
    } else if (k_cmds[which].id_field == NULL) {
        kind = k_cmds[which].kind;
    } else {
        char buf[ID_TEXT_BYTES];
        size_t len = 0u;
        st_t st = json_field_str(&d, root, k_cmds[which].id_field, buf, sizeof buf, &len);
        if ((st == ST_OK) && uuid_parse((strv){ buf, len }, id)) {
            kind = k_cmds[which].kind;
        } else {
            LOG_D(MOD, "/ws/events: ignored %s: %s is not a UUID", k_cmds[which].type,
                  k_cmds[which].id_field);
        }
    }
    json_release(&d);
    return kind;
}

static size_t reply_text(char *reply, size_t cap, const char *text)
{
    int k = snprintf(reply, cap, "%s", text);
    return ((k > 0) && ((size_t)k < cap)) ? (size_t)k : 0u;
}

/* Remember run id (once) in cs; a full table is logged, not an error. */
static void on_subscribe(fleet_events_conn *cs, const uint8_t id[ID_BYTES], const char *text)
{
    uint32_t i;
    bool have = false;
    for (i = 0u; !have && (i < cs->nruns); i++) {
        have = (memcmp(cs->runs[i], id, ID_BYTES) == 0);
    }
    if (!have) {
        if (cs->nruns < (uint32_t)CFG_FLEET_WS_RUNS) {
            (void)memcpy(cs->runs[cs->nruns], id, ID_BYTES);
            cs->nruns++;
        } else {
            LOG_I(MOD, "/ws/events: workflow %s acknowledged, not kept: %d subscriptions "
                       "per connection at most", text, (int)CFG_FLEET_WS_RUNS);
        }
    }
    g_stats.subscribed++;
}

static void on_unsubscribe(fleet_events_conn *cs, const uint8_t id[ID_BYTES])
{
    uint32_t i;
    for (i = 0u; i < cs->nruns; i++) {
        if (memcmp(cs->runs[i], id, ID_BYTES) == 0) {
            cs->nruns--;
            if (i != cs->nruns) {
                (void)memcpy(cs->runs[i], cs->runs[cs->nruns], ID_BYTES);
            }
            (void)memset(cs->runs[cs->nruns], 0, ID_BYTES);
            break;
        }
    }
}

static void on_cancel(const uint8_t id[ID_BYTES])
{
    char text[UUID_STR_BYTES];
    agent_slot *a = agent_find(id);
    uuid_format(id, text);
    if ((a == NULL) || a->cancelled) {
        g_stats.ignored++;
        LOG_I(MOD, "cancel_agent %s ignored: %s", text,
              (a == NULL) ? "no such running agent" : "already cancelled");
    } else {
        void (*cancel)(void *ctx, const char *agent_id) = a->cancel;
        void *ctx = a->ctx;
        a->cancelled = true;
        g_stats.cancels++;
        LOG_I(MOD, "cancel_agent %s", text);
        cancel(ctx, text);
    }
}

static void on_budget(const uint8_t id[ID_BYTES], bool cont)
{
    char text[UUID_STR_BYTES];
    paused_slot *p = paused_find(id);
    const char *what = cont ? "budget_continue" : "budget_stop";
    uuid_format(id, text);
    if (p == NULL) {
        g_stats.ignored++;
        LOG_I(MOD, "%s %s ignored: the request is not paused", what, text);
    } else {
        void (*decide)(void *ctx, bool c) = p->decide;
        void *ctx = p->ctx;
        (void)memset(p, 0, sizeof *p);
        g_stats.paused--;
        if (cont) {
            g_stats.budget_continues++;
        } else {
            g_stats.budget_stops++;
        }
        LOG_I(MOD, "%s %s", what, text);
        decide(ctx, cont);
    }
}

size_t fleet_events_handle(fleet_events_conn *cs, const char *text, size_t n, char *reply,
                           size_t cap)
{
    uint8_t id[ID_BYTES];
    size_t len = 0u;
    bool room = (reply != NULL) && (cap >= FLEET_EVENTS_REPLY_BYTES);
    cmd_kind kind;
    g_stats.commands++;
    (void)memset(id, 0, sizeof id);
    kind = command_parse(text, n, id);
    switch (kind) {
    case CMD_PING:
        g_stats.pongs++;
        if (room) {
            len = reply_text(reply, cap, "{\"type\":\"pong\"}");
        }
        break;
    case CMD_SUBSCRIBE: {
        char run[UUID_STR_BYTES];
        uuid_format(id, run);
        on_subscribe(cs, id, run);
        if (room) {
            int k = snprintf(reply, cap,
                             "{\"type\":\"workflow_subscribed\",\"run_id\":\"%s\"}", run);
            len = ((k > 0) && ((size_t)k < cap)) ? (size_t)k : 0u;
        }
        break;
    }
    case CMD_UNSUBSCRIBE:
        on_unsubscribe(cs, id);
        break;
    case CMD_CANCEL:
        on_cancel(id);
        break;
    case CMD_CONTINUE:
        on_budget(id, true);
        break;
    case CMD_STOP:
        on_budget(id, false);
        break;
    case CMD_IGNORED:
    default:
        g_stats.ignored++;
        break;
    }
    return len;
}

void fleet_events_command(stream_sub *s, const char *text, size_t n)
{
    char reply[FLEET_EVENTS_REPLY_BYTES];
    fleet_events_conn *cs = (fleet_events_conn *)stream_user(s);
    size_t len = fleet_events_handle(cs, text, n, reply, sizeof reply);
    if (len > 0u) {
        st_t st = stream_send_text(s, reply, len);
        if (st != ST_OK) {
            g_stats.replies_dropped++;
            LOG_D(MOD, "/ws/events: reply dropped for stream %u: %s", (unsigned)stream_id(s),
                  status_str(st));
        }
    }
}
