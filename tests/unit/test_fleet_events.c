/*
 * test_fleet_events.c - the /ws/events commands and registries
 * (src/fam/fleet/events.c), through fleet_events_handle: replies as text,
 * everything else through the callbacks and the counters.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bus/ring.h"
#include "config.h"
#include "core/status.h"
#include "fam/fleet/events.h"
#include "fam/obs/obs.h"
#include "http/stream.h"
#include "json/read.h"
#include "t.h"

#define ID_A "0194f3e1-0000-7000-8000-000000000010"
#define ID_B "0194f3e1-0000-7000-8000-000000000011"
#define ID_R "0194f3e1-0000-7000-8000-000000000000"

static fleet_events_conn g_conn;
static char g_reply[FLEET_EVENTS_REPLY_BYTES];

static void reset(void)
{
    fleet_events_init();
    (void)memset(&g_conn, 0, sizeof g_conn);
}

/* Handle a C-string command; returns the reply length. */
static size_t cmd(const char *text)
{
    (void)memset(g_reply, 0, sizeof g_reply);
    return fleet_events_handle(&g_conn, text, strlen(text), g_reply, sizeof g_reply);
}

static size_t cmd_id(const char *type, const char *field, const char *id)
{
    char text[256];
    (void)snprintf(text, sizeof text, "{\"type\":\"%s\",\"%s\":\"%s\"}", type, field, id);
    return cmd(text);
}

/* ---- callbacks ------------------------------------------------------------ */

static int g_cancel_calls;
static char g_cancel_id[64];
static void *g_cancel_ctx;
static bool g_pool_busy_in_cb;

static void on_cancel(void *ctx, const char *agent_id)
{
    g_cancel_calls++;
    g_cancel_ctx = ctx;
    (void)snprintf(g_cancel_id, sizeof g_cancel_id, "%s", agent_id);
    g_pool_busy_in_cb = json_pool_busy();
}

static void on_cancel_unregister(void *ctx, const char *agent_id)
{
    (void)ctx;
    g_cancel_calls++;
    fleet_agent_unregister(agent_id);
}

static int g_decide_calls;
static int g_decide_last = -1;
static void *g_decide_ctx;

static void on_decide(void *ctx, bool cont)
{
    g_decide_calls++;
    g_decide_last = cont ? 1 : 0;
    g_decide_ctx = ctx;
    g_pool_busy_in_cb = json_pool_busy();
}

static void on_decide_repause(void *ctx, bool cont)
{
    (void)cont;
    g_decide_calls++;
    T_EQ_INT(fleet_budget_pause(ID_R, on_decide, ctx), ST_OK);
}

static void clear_calls(void)
{
    g_cancel_calls = 0;
    g_cancel_id[0] = '\0';
    g_cancel_ctx = NULL;
    g_decide_calls = 0;
    g_decide_last = -1;
    g_decide_ctx = NULL;
    g_pool_busy_in_cb = false;
}

/* ---- cases --------------------------------------------------------------- */

static void test_policy(void)
{
    const stream_policy *p = fleet_events_policy();
    size_t i;
    bool listed = false;
    fleet_events_init();
    fleet_events_init();
    for (i = 0u; i < stream_policy_count(); i++) {
        if (stream_policy_nth(i) == p) {
            T_CHECK(!listed);
            listed = true;
        }
    }
    T_CHECK(listed);
    T_CHECK(p->topics == FLEET_TOPIC);
    T_CHECK(!p->priorities);
    T_CHECK(p->lag_skips);
    T_EQ_INT(p->max_queue_bytes, 0);
    T_EQ_INT(p->close_code, 1013);
    T_EQ_INT(p->max_message, CFG_STREAM_MSG_BYTES);
    T_CHECK(p->on_text == fleet_events_command);
    T_EQ_INT(p->heartbeat_ms, 30000);
    T_EQ_INT(p->pong_timeout_ms, 60000);
    fleet_events_set_heartbeat_ms(250u);
    T_EQ_INT(p->heartbeat_ms, 250);
    T_EQ_INT(p->pong_timeout_ms, 500);
    fleet_events_set_heartbeat_ms(0u);
    T_EQ_INT(p->heartbeat_ms, 0);
    T_EQ_INT(p->pong_timeout_ms, 0);
    fleet_events_set_heartbeat_ms(UINT32_MAX);
    T_EQ_INT(p->pong_timeout_ms, UINT32_MAX);
    fleet_events_set_heartbeat_ms(30000u);
}

static void test_ping(void)
{
    size_t n;
    reset();
    n = cmd("{\"type\":\"ping\"}");
    T_EQ_MEM(g_reply, n, "{\"type\":\"pong\"}");
    n = cmd(" { \"extra\" : [1, {\"x\": null}], \"type\" : \"ping\" } ");
    T_EQ_MEM(g_reply, n, "{\"type\":\"pong\"}");
    T_EQ_INT(fleet_events_stats()->commands, 2);
    T_EQ_INT(fleet_events_stats()->pongs, 2);
    T_EQ_INT(fleet_events_stats()->ignored, 0);
    T_CHECK(!json_pool_busy());
    /* no room for a reply: nothing written, still counted */
    T_EQ_INT(fleet_events_handle(&g_conn, "{\"type\":\"ping\"}", 15u, g_reply, 10u), 0);
    T_EQ_INT(fleet_events_stats()->pongs, 3);
}

static void test_ignored(void)
{
    static const char *const bad[] = {
        "",
        "   ",
        "{",
        "{\"type\":\"ping\"",
        "{\"type\":\"ping\"} x",
        "{'type':'ping'}",
        "[{\"type\":\"ping\"}]",
        "\"ping\"",
        "null",
        "42",
        "{}",
        "{\"type\":null}",
        "{\"type\":7}",
        "{\"type\":[\"ping\"]}",
        "{\"type\":\"PING\"}",
        "{\"type\":\"pong\"}",
        "{\"type\":\"memory_created\"}",
        "{\"type\":\"subscribe_workflow\"}",
        "{\"type\":\"subscribe_workflow\",\"run_id\":null}",
        "{\"type\":\"subscribe_workflow\",\"run_id\":42}",
        "{\"type\":\"subscribe_workflow\",\"run_id\":\"\"}",
        "{\"type\":\"subscribe_workflow\",\"run_id\":\"not-a-uuid\"}",
        "{\"type\":\"subscribe_workflow\",\"run_id\":\"0194f3e1-0000-7000-8000-00000000001\"}",
        "{\"type\":\"subscribe_workflow\",\"run_id\":\"0194f3e1-0000-7000-8000-0000000000100\"}",
        "{\"type\":\"subscribe_workflow\",\"run_id\":\"0194f3e10-000-7000-8000-000000000010\"}",
        "{\"type\":\"subscribe_workflow\",\"run_id\":\"0194f3e1-0000-7000-8000-00000000001g\"}",
        "{\"type\":\"subscribe_workflow\",\"run_id\":\"0194f3e1+0000-7000-8000-000000000010\"}",
        "{\"type\":\"subscribe_workflow\",\"run_id\":\"{0194f3e1-0000-7000-8000-000000000010\"}",
        "{\"type\":\"subscribe_workflow\",\"run_id\":\" 0194f3e1-0000-7000-8000-000000000010\"}",
        "{\"type\":\"subscribe_workflow\",\"run_id\":\"0194f3e1-0000-7000-8000-000000000010"
        "0194f3e1-0000-7000-8000-000000000010\"}",
        "{\"type\":\"subscribe_workflow\",\"agent_id\":\"" ID_A "\"}",
        "{\"type\":\"cancel_agent\",\"run_id\":\"" ID_A "\"}",
        "{\"type\":\"cancel_agent\",\"agent_id\":\"" ID_A "\\u0000\"}",
        "{\"type\":\"budget_stop\"}",
        "{\"type\":\"budget_continue\",\"request_id\":true}",
        "{\"type\":\"ping\",\"type\":\"nope\"}",
        "\xef\xbb\xbf{\"type\":\"ping\"}",
    };
    size_t i;
    reset();
    for (i = 0u; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = cmd(bad[i]);
        if (n != 0u) {
            (void)printf("  unexpected reply to %s: %s\n", bad[i], g_reply);
        }
        T_EQ_INT(n, 0);
        T_CHECK(!json_pool_busy());
    }
    T_EQ_INT(fleet_events_stats()->ignored, sizeof bad / sizeof bad[0]);
    T_EQ_INT(fleet_events_stats()->commands, sizeof bad / sizeof bad[0]);
    T_EQ_INT(fleet_events_stats()->pongs, 0);
    T_EQ_INT(fleet_events_stats()->subscribed, 0);
    T_EQ_INT(g_conn.nruns, 0);
    /* NULL text with n 0 is an empty message */
    T_EQ_INT(fleet_events_handle(&g_conn, NULL, 0u, g_reply, sizeof g_reply), 0);
    T_EQ_INT(fleet_events_stats()->ignored, (sizeof bad / sizeof bad[0]) + 1u);
    /* the last duplicate key wins */
    T_EQ_INT(cmd("{\"type\":\"nope\",\"type\":\"ping\"}") > 0u, 1);
}

static void test_subscribe(void)
{
    size_t n;
    uint32_t i;
    reset();
    n = cmd_id("subscribe_workflow", "run_id", ID_A);
    T_EQ_MEM(g_reply, n, "{\"type\":\"workflow_subscribed\",\"run_id\":\"" ID_A "\"}");
    T_EQ_INT(g_conn.nruns, 1);
    /* the same id in other forms: acknowledged in canonical form, kept once */
    n = cmd_id("subscribe_workflow", "run_id", "0194F3E1-0000-7000-8000-000000000010");
    T_EQ_MEM(g_reply, n, "{\"type\":\"workflow_subscribed\",\"run_id\":\"" ID_A "\"}");
    n = cmd_id("subscribe_workflow", "run_id", "{0194f3e1-0000-7000-8000-000000000010}");
    T_EQ_MEM(g_reply, n, "{\"type\":\"workflow_subscribed\",\"run_id\":\"" ID_A "\"}");
    n = cmd_id("subscribe_workflow", "run_id", "urn:uuid:0194f3e1-0000-7000-8000-000000000010");
    T_EQ_MEM(g_reply, n, "{\"type\":\"workflow_subscribed\",\"run_id\":\"" ID_A "\"}");
    n = cmd_id("subscribe_workflow", "run_id", "0194f3e1000070008000000000000010");
    T_EQ_MEM(g_reply, n, "{\"type\":\"workflow_subscribed\",\"run_id\":\"" ID_A "\"}");
    T_EQ_INT(g_conn.nruns, 1);
    n = cmd_id("subscribe_workflow", "run_id", ID_B);
    T_EQ_MEM(g_reply, n, "{\"type\":\"workflow_subscribed\",\"run_id\":\"" ID_B "\"}");
    T_EQ_INT(g_conn.nruns, 2);
    /* unsubscribe: removed, no reply; unknown: nothing */
    T_EQ_INT(cmd_id("unsubscribe_workflow", "run_id", ID_A), 0);
    T_EQ_INT(g_conn.nruns, 1);
    T_EQ_INT(memcmp(g_conn.runs[0], "\x01\x94\xf3\xe1\x00\x00\x70\x00\x80\x00\x00\x00\x00\x00"
                                    "\x00\x11", 16u), 0);
    T_EQ_INT(cmd_id("unsubscribe_workflow", "run_id", ID_A), 0);
    T_EQ_INT(g_conn.nruns, 1);
    T_EQ_INT(cmd_id("unsubscribe_workflow", "run_id", ID_B), 0);
    T_EQ_INT(g_conn.nruns, 0);
    T_EQ_INT(fleet_events_stats()->ignored, 0);
    /* full table: still acknowledged */
    for (i = 0u; i < (uint32_t)CFG_FLEET_WS_RUNS + 3u; i++) {
        char id[40];
        char want[96];
        (void)snprintf(id, sizeof id, "0194f3e1-0000-7000-8000-%012x", (unsigned)i);
        (void)snprintf(want, sizeof want,
                       "{\"type\":\"workflow_subscribed\",\"run_id\":\"%s\"}", id);
        n = cmd_id("subscribe_workflow", "run_id", id);
        T_EQ_STR(g_reply, want);
        T_EQ_INT(n, strlen(want));
    }
    T_EQ_INT(g_conn.nruns, CFG_FLEET_WS_RUNS);
    T_EQ_INT(fleet_events_stats()->subscribed, 6u + CFG_FLEET_WS_RUNS + 3u);
    /* unsubscribing one makes room again */
    T_EQ_INT(cmd_id("unsubscribe_workflow", "run_id", "0194f3e1-0000-7000-8000-000000000000"),
             0);
    T_EQ_INT(g_conn.nruns, CFG_FLEET_WS_RUNS - 1);
    (void)cmd_id("subscribe_workflow", "run_id", ID_A);
    T_EQ_INT(g_conn.nruns, CFG_FLEET_WS_RUNS);
}

static void test_cancel(void)
{
    int ctx = 0;
    reset();
    clear_calls();
    T_EQ_INT(fleet_agent_register(ID_A, on_cancel, &ctx), ST_OK);
    T_EQ_INT(fleet_events_stats()->agents, 1);
    /* unknown agent: ignored */
    T_EQ_INT(cmd_id("cancel_agent", "agent_id", ID_B), 0);
    T_EQ_INT(g_cancel_calls, 0);
    T_EQ_INT(fleet_events_stats()->ignored, 1);
    /* registered (named in upper case): called once with the canonical id */
    T_EQ_INT(cmd_id("cancel_agent", "agent_id", "0194F3E1-0000-7000-8000-000000000010"), 0);
    T_EQ_INT(g_cancel_calls, 1);
    T_EQ_STR(g_cancel_id, ID_A);
    T_CHECK(g_cancel_ctx == &ctx);
    T_CHECK(!g_pool_busy_in_cb);
    T_EQ_INT(fleet_events_stats()->cancels, 1);
    /* still registered, but a second cancel is ignored */
    T_EQ_INT(fleet_events_stats()->agents, 1);
    T_EQ_INT(fleet_agent_register(ID_A, on_cancel, &ctx), ST_EXISTS);
    T_EQ_INT(cmd_id("cancel_agent", "agent_id", ID_A), 0);
    T_EQ_INT(g_cancel_calls, 1);
    T_EQ_INT(fleet_events_stats()->ignored, 2);
    /* unregistered: unknown again; registered anew: cancellable anew */
    fleet_agent_unregister(ID_A);
    fleet_agent_unregister(ID_A);
    T_EQ_INT(fleet_events_stats()->agents, 0);
    T_EQ_INT(cmd_id("cancel_agent", "agent_id", ID_A), 0);
    T_EQ_INT(g_cancel_calls, 1);
    T_EQ_INT(fleet_agent_register("{" ID_A "}", on_cancel, NULL), ST_OK);
    T_EQ_INT(cmd_id("cancel_agent", "agent_id", ID_A), 0);
    T_EQ_INT(g_cancel_calls, 2);
    T_EQ_INT(fleet_events_stats()->cancels, 2);
    /* a callback that unregisters its own agent */
    T_EQ_INT(fleet_agent_register(ID_B, on_cancel_unregister, NULL), ST_OK);
    T_EQ_INT(fleet_events_stats()->agents, 2);
    T_EQ_INT(cmd_id("cancel_agent", "agent_id", ID_B), 0);
    T_EQ_INT(g_cancel_calls, 3);
    T_EQ_INT(fleet_events_stats()->agents, 1);
    /* bad arguments */
    T_EQ_INT(fleet_agent_register(NULL, on_cancel, NULL), ST_INVAL);
    T_EQ_INT(fleet_agent_register("nope", on_cancel, NULL), ST_INVAL);
    T_EQ_INT(fleet_agent_register(ID_R, NULL, NULL), ST_INVAL);
    fleet_agent_unregister(NULL);
    fleet_agent_unregister("nope");
    T_EQ_INT(fleet_events_stats()->agents, 1);
    /* init drops everything without calling back */
    fleet_events_init();
    T_EQ_INT(fleet_events_stats()->agents, 0);
    T_EQ_INT(cmd_id("cancel_agent", "agent_id", ID_A), 0);
    T_EQ_INT(g_cancel_calls, 3);
}

static void test_agent_slots_full(void)
{
    char id[40];
    uint32_t i;
    reset();
    clear_calls();
    for (i = 0u; i < (uint32_t)CFG_FLEET_AGENT_SLOTS; i++) {
        (void)snprintf(id, sizeof id, "0194f3e1-0000-7000-9000-%012x", (unsigned)i);
        T_EQ_INT(fleet_agent_register(id, on_cancel, NULL), ST_OK);
    }
    T_EQ_INT(fleet_agent_register(ID_A, on_cancel, NULL), ST_FULL);
    T_EQ_INT(fleet_events_stats()->register_full, 1);
    T_EQ_INT(fleet_events_stats()->agents, CFG_FLEET_AGENT_SLOTS);
    /* an existing one is still found when the table is full */
    (void)snprintf(id, sizeof id, "0194f3e1-0000-7000-9000-%012x",
                   (unsigned)CFG_FLEET_AGENT_SLOTS - 1u);
    T_EQ_INT(fleet_agent_register(id, on_cancel, NULL), ST_EXISTS);
    T_EQ_INT(cmd_id("cancel_agent", "agent_id", id), 0);
    T_EQ_INT(g_cancel_calls, 1);
    T_EQ_STR(g_cancel_id, id);
    /* a freed slot is reused */
    fleet_agent_unregister("0194f3e1-0000-7000-9000-000000000000");
    T_EQ_INT(fleet_agent_register(ID_A, on_cancel, NULL), ST_OK);
    T_EQ_INT(cmd_id("cancel_agent", "agent_id", ID_A), 0);
    T_EQ_INT(g_cancel_calls, 2);
    T_EQ_STR(g_cancel_id, ID_A);
}

static void test_budget(void)
{
    int ctx = 0;
    reset();
    clear_calls();
    /* not paused: ignored */
    T_EQ_INT(cmd_id("budget_continue", "request_id", ID_R), 0);
    T_EQ_INT(cmd_id("budget_stop", "request_id", ID_R), 0);
    T_EQ_INT(g_decide_calls, 0);
    T_EQ_INT(fleet_events_stats()->ignored, 2);
    /* continue: decide(true) once, entry gone */
    T_EQ_INT(fleet_budget_pause(ID_R, on_decide, &ctx), ST_OK);
    T_EQ_INT(fleet_budget_pause(ID_R, on_decide, &ctx), ST_EXISTS);
    T_EQ_INT(fleet_events_stats()->paused, 1);
    T_EQ_INT(cmd_id("budget_continue", "request_id", ID_R), 0);
    T_EQ_INT(g_decide_calls, 1);
    T_EQ_INT(g_decide_last, 1);
    T_CHECK(g_decide_ctx == &ctx);
    T_CHECK(!g_pool_busy_in_cb);
    T_EQ_INT(fleet_events_stats()->paused, 0);
    T_EQ_INT(fleet_events_stats()->budget_continues, 1);
    T_EQ_INT(cmd_id("budget_continue", "request_id", ID_R), 0);
    T_EQ_INT(cmd_id("budget_stop", "request_id", ID_R), 0);
    T_EQ_INT(g_decide_calls, 1);
    T_EQ_INT(fleet_events_stats()->ignored, 4);
    /* stop: decide(false) */
    T_EQ_INT(fleet_budget_pause(ID_R, on_decide, NULL), ST_OK);
    T_EQ_INT(cmd_id("budget_stop", "request_id", "0194F3E1000070008000000000000000"), 0);
    T_EQ_INT(g_decide_calls, 2);
    T_EQ_INT(g_decide_last, 0);
    T_EQ_INT(fleet_events_stats()->budget_stops, 1);
    /* forget: no decision */
    T_EQ_INT(fleet_budget_pause(ID_R, on_decide, NULL), ST_OK);
    fleet_budget_forget(ID_R);
    fleet_budget_forget(ID_R);
    fleet_budget_forget(NULL);
    T_EQ_INT(fleet_events_stats()->paused, 0);
    T_EQ_INT(cmd_id("budget_stop", "request_id", ID_R), 0);
    T_EQ_INT(g_decide_calls, 2);
    /* a decision that pauses the same request again */
    T_EQ_INT(fleet_budget_pause(ID_R, on_decide_repause, &ctx), ST_OK);
    T_EQ_INT(cmd_id("budget_continue", "request_id", ID_R), 0);
    T_EQ_INT(g_decide_calls, 3);
    T_EQ_INT(fleet_events_stats()->paused, 1);
    T_EQ_INT(cmd_id("budget_stop", "request_id", ID_R), 0);
    T_EQ_INT(g_decide_calls, 4);
    T_EQ_INT(g_decide_last, 0);
    T_EQ_INT(fleet_events_stats()->paused, 0);
    /* bad arguments */
    T_EQ_INT(fleet_budget_pause(NULL, on_decide, NULL), ST_INVAL);
    T_EQ_INT(fleet_budget_pause("0194f3e1", on_decide, NULL), ST_INVAL);
    T_EQ_INT(fleet_budget_pause(ID_R, NULL, NULL), ST_INVAL);
    /* an agent id is not a paused request, nor the other way round */
    T_EQ_INT(fleet_agent_register(ID_A, on_cancel, NULL), ST_OK);
    T_EQ_INT(cmd_id("budget_stop", "request_id", ID_A), 0);
    T_EQ_INT(fleet_budget_pause(ID_B, on_decide, NULL), ST_OK);
    T_EQ_INT(cmd_id("cancel_agent", "agent_id", ID_B), 0);
    T_EQ_INT(g_decide_calls, 4);
    T_EQ_INT(g_cancel_calls, 0);
}

static void test_paused_slots_full(void)
{
    char id[40];
    uint32_t i;
    reset();
    clear_calls();
    for (i = 0u; i < (uint32_t)CFG_FLEET_PAUSED_SLOTS; i++) {
        (void)snprintf(id, sizeof id, "0194f3e1-0000-7000-9000-%012x", (unsigned)i);
        T_EQ_INT(fleet_budget_pause(id, on_decide, NULL), ST_OK);
    }
    T_EQ_INT(fleet_budget_pause(ID_A, on_decide, NULL), ST_FULL);
    T_EQ_INT(fleet_events_stats()->register_full, 1);
    T_EQ_INT(fleet_events_stats()->paused, CFG_FLEET_PAUSED_SLOTS);
    /* a decision frees a slot */
    T_EQ_INT(cmd_id("budget_continue", "request_id", "0194f3e1-0000-7000-9000-000000000000"),
             0);
    T_EQ_INT(g_decide_calls, 1);
    T_EQ_INT(fleet_budget_pause(ID_A, on_decide, NULL), ST_OK);
    T_EQ_INT(fleet_events_stats()->paused, CFG_FLEET_PAUSED_SLOTS);
}

static void test_publish(void)
{
    static const char ev[] = "{\"type\":\"synthesis_started\",\"request_id\":\"" ID_R "\"}";
    static char big[CFG_BUS_BYTES + 1u];
    uint64_t cur;
    uint64_t missed = 0u;
    ring_event e;
    reset();
    ring_init();
    cur = ring_head_seq();
    T_EQ_INT(fleet_bus_publish(ev, sizeof ev - 1u), ST_OK);
    T_EQ_INT(ring_publish(OBS_TOPIC, RING_PRIO_NORMAL, "{}", 2u, NULL), ST_OK);
    T_EQ_INT(ring_read(&cur, FLEET_TOPIC, &e, &missed), ST_OK);
    T_EQ_MEM(e.data, e.n, "{\"type\":\"synthesis_started\",\"request_id\":\"" ID_R "\"}");
    T_CHECK(e.topics == FLEET_TOPIC);
    T_CHECK(e.prio == RING_PRIO_NORMAL);
    T_EQ_INT(ring_read(&cur, FLEET_TOPIC, &e, &missed), ST_AGAIN);
    T_EQ_INT(fleet_events_stats()->published, 1);
    T_EQ_INT(fleet_bus_publish(NULL, 3u), ST_INVAL);
    T_EQ_INT(fleet_bus_publish(ev, 0u), ST_INVAL);
    (void)memset(big, ' ', sizeof big);
    T_EQ_INT(fleet_bus_publish(big, sizeof big), ST_TOOBIG);
    T_EQ_INT(fleet_events_stats()->publish_failed, 3);
    T_EQ_INT(fleet_events_stats()->published, 1);
    ring_init();
}

static void test_metrics(void)
{
    static char buf[4096];
    size_t n;
    reset();
    (void)cmd("{\"type\":\"ping\"}");
    (void)cmd("{\"type\":\"nope\"}");
    (void)cmd("{\"type\":\"ping\"}");
    n = fleet_events_metrics(buf, sizeof buf);
    T_CHECK(n > 0u);
    T_CHECK(n < sizeof buf);
    T_EQ_INT(strlen(buf), n);
    T_CHECK(strstr(buf, "\nroost_fleet_ws_commands_total 3\n") != NULL);
    T_CHECK(strstr(buf, "\nroost_fleet_ws_pongs_total 2\n") != NULL);
    T_CHECK(strstr(buf, "\nroost_fleet_ws_ignored_total 1\n") != NULL);
    T_CHECK(strstr(buf, "# TYPE roost_fleet_budget_paused gauge\nroost_fleet_budget_paused 0\n")
            != NULL);
    T_CHECK(buf[n - 1u] == '\n');
    /* too small: 0 */
    T_EQ_INT(fleet_events_metrics(buf, n), 0);
    T_EQ_INT(fleet_events_metrics(buf, 10u), 0);
    T_EQ_INT(fleet_events_metrics(buf, n + 1u), n);
}

int main(void)
{
    T_RUN(test_policy);
    T_RUN(test_ping);
    T_RUN(test_ignored);
    T_RUN(test_subscribe);
    T_RUN(test_cancel);
    T_RUN(test_agent_slots_full);
    T_RUN(test_budget);
    T_RUN(test_paused_slots_full);
    T_RUN(test_publish);
    T_RUN(test_metrics);
    return t_done("fleet_events");
}
