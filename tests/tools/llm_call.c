/*
 * llm_call - one LLM call through roost's engine (src/out/llm), driven by
 * roost's own poll loop (net_turn), for test_llm_engine.py.
 *
 *   llm_call [--kind anthropic|openai] [--key K] [--ca FILE] [--timeout-ms N]
 *            [--idle-ms N] [--cancel-after N] [--pause-ms N] [--calls N]
 *            [--whole] [--reply-bytes N] URL BODY
 *
 * stdout, one line each: `text <json string>` per delta, then
 * `end st=<status> http=<n> got_text=<0|1> in=<n> out=<n> stop=<reason>
 * detail=<text>` (or `cancelled` after --cancel-after N deltas). --pause-ms:
 * the sink refuses after each delta (the call pauses) and resumes it that
 * many ms later. --calls N: the same call N times one after the other (a
 * slot and its connection are reused). --whole: a whole (non-streaming)
 * call, llm_start_whole; BODY should then say "stream": false.
 * --reply-bytes N: the whole call's reply buffer is the caller's, N bytes
 * (at most 1 MiB; half for the body, half for its text). The malloc
 * shim arms at the first poll(), so everything after init is counted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/pools.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/timer.h"
#include "net/conn.h"
#include "out/llm.h"
#include "out/mem.h"

static int g_deltas;
static int g_cancel_after = -1;
static unsigned g_pause_ms;
static bool g_done;
static llm_call *g_call;
static timer_id g_resume = TIMER_NONE;
static char g_reply[1024u * 1024u];

static void put_json_string(strv t)
{
    size_t i;
    putchar('"');
    for (i = 0; i < t.n; i++) {
        unsigned char ch = (unsigned char)t.p[i];
        if ((ch == '"') || (ch == '\\')) {
            printf("\\%c", ch);
        } else if (ch < 0x20u) {
            printf("\\u%04x", ch);
        } else {
            putchar(ch);
        }
    }
    putchar('"');
}

static void resume(void *arg)
{
    (void)arg;
    g_resume = TIMER_NONE;
    llm_resume(g_call);
}

static bool on_text(void *ctx, strv text)
{
    (void)ctx;
    printf("text ");
    put_json_string(text);
    printf("\n");
    fflush(stdout);
    g_deltas++;
    if (g_deltas == g_cancel_after) {
        llm_cancel(g_call);
        printf("cancelled\n");
        fflush(stdout);
        g_done = true;
        return true;
    }
    if (g_pause_ms > 0u) {
        g_resume = timer_start(g_pause_ms, resume, NULL);
        return false;
    }
    return true;
}

static void on_end(void *ctx, const llm_result *r)
{
    (void)ctx;
    printf("end st=%s http=%d got_text=%d in=%llu out=%llu stop=%s detail=%s\n",
           status_str(r->st), r->http_status, r->got_text ? 1 : 0,
           (unsigned long long)r->input_tokens, (unsigned long long)r->output_tokens,
           (r->stop_reason[0] != '\0') ? r->stop_reason : "-", r->detail);
    fflush(stdout);
    g_done = true;
}

int main(int argc, char **argv)
{
    static const llm_sink sink = { on_text, on_end };
    llm_target t;
    const char *ca = "/etc/ssl/certs/ca-certificates.crt";
    const char *url = NULL;
    const char *body = NULL;
    int calls = 1;
    bool whole = false;
    size_t reply_bytes = 0u;
    int i;
    st_t st;
    memset(&t, 0, sizeof t);
    t.kind = LLM_ANTHROPIC;
    t.timeout_ms = 5000u;
    t.idle_ms = 5000u;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if ((strcmp(a, "--kind") == 0) && (i + 1 < argc)) {
            t.kind = (strcmp(argv[++i], "openai") == 0) ? LLM_OPENAI : LLM_ANTHROPIC;
        } else if ((strcmp(a, "--key") == 0) && (i + 1 < argc)) {
            t.key = strv_from_cstr(argv[++i]);
        } else if ((strcmp(a, "--ca") == 0) && (i + 1 < argc)) {
            ca = argv[++i];
        } else if ((strcmp(a, "--timeout-ms") == 0) && (i + 1 < argc)) {
            t.timeout_ms = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else if ((strcmp(a, "--idle-ms") == 0) && (i + 1 < argc)) {
            t.idle_ms = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else if ((strcmp(a, "--cancel-after") == 0) && (i + 1 < argc)) {
            g_cancel_after = atoi(argv[++i]);
        } else if ((strcmp(a, "--pause-ms") == 0) && (i + 1 < argc)) {
            g_pause_ms = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if ((strcmp(a, "--calls") == 0) && (i + 1 < argc)) {
            calls = atoi(argv[++i]);
        } else if ((strcmp(a, "--reply-bytes") == 0) && ((i + 1) < argc)) {
            reply_bytes = (size_t)strtoul(argv[++i], NULL, 10);
            if (reply_bytes > sizeof g_reply) {
                reply_bytes = sizeof g_reply;
            }
        } else if (strcmp(a, "--whole") == 0) {
            whole = true;
        } else if (url == NULL) {
            url = a;
        } else {
            body = a;
        }
    }
    if ((url == NULL) || (body == NULL)) {
        fprintf(stderr, "usage: llm_call [options] URL BODY\n");
        return 2;
    }
    t.url = url;
    /* stdio would allocate its buffer at the first printf, after init: the
     * shim must see roost's allocations only */
    {
        static char outbuf[1u << 16];
        (void)setvbuf(stdout, outbuf, _IOLBF, sizeof outbuf);
    }
    log_set_level(LOG_WARN);
    pools_init();
    timer_init();
    net_init(&pool_conns, &pool_bufs);
    if (out_mem_init() != ST_OK) {
        fprintf(stderr, "llm_call: out_mem_init failed\n");
        return 1;
    }
    st = llm_init(ca);
    if (st != ST_OK) {
        fprintf(stderr, "llm_call: CA bundle %s: %s\n", ca, status_str(st));
    }
    for (i = 0; i < calls; i++) {
        uint64_t end = clock_mono_ms() + 60000u;
        g_done = false;
        g_deltas = 0;
        st = whole ? llm_start_whole(&t, body, strlen(body), (reply_bytes > 0u) ? g_reply : NULL,
                                    reply_bytes, &sink, NULL, &g_call)
                   : llm_start(&t, body, strlen(body), &sink, NULL, &g_call);
        if (st != ST_OK) {
            printf("start %s\n", status_str(st));
            return 1;
        }
        while (!g_done && (clock_mono_ms() < end)) {
            net_turn(50);
        }
        if (!g_done) {
            printf("hung\n");
            return 1;
        }
    }
    printf("slots_high=%u used=%u\n", (unsigned)llm_stats()->slots_high,
           (unsigned)llm_stats()->slots_used);
    return 0;
}
