/*
 * pools.c - the storage of every pool of pools.def, the static plan of
 * `roostd --budget` and the limits of `roostd --limits`. The families' own
 * lines come through fam/plan.def, so nothing here names a family.
 */
#include "app/pools.h"

#include <stdio.h>

#include "app/app.h"
#include "app/cfg.h"
#include "bus/ring.h"
#include "config.h"
#include "core/timer.h"
#include "fam/families.h"
#include "fam/shared/list.h"
#include "fam/shared/spa.h"
#include "http/server.h"
#include "http/stream.h"
#include "json/read.h"
#include "net/child.h"
#include "net/net_int.h"
#include "port.h"
#include "store/store.h"
#if CFG_WITH_LLM
#include "out/llm.h"
#include "out/llm_wire.h"
#endif
#if CFG_WITH_TLS
#include "net/tls.h"
#endif
/* The headers the families' plan lines need (fam/plan.def). */
#define FAM_PLAN_HEADERS
#include "fam/plan.def"
#undef FAM_PLAN_HEADERS

/* net/'s own arrays (its state with the live list, listeners, watched
 * sockets, the fired array), mirrored here; test_plan.py catches a drift. */
#define NET_STATIC_BYTES                                                              \
    (sizeof(net_state) + ((size_t)CFG_MAX_LISTENERS * sizeof(listener)) +             \
     ((size_t)CFG_NET_WATCHES * 32u) + (PORT_WATCH_MAX * sizeof(port_event)) + 256u)
/* http/server.c's spare connection (a conn-sized static) and the SPA path. */
#define HTTP_MISC_STATIC_BYTES (sizeof(conn) + SPA_STATIC_BYTES)

#define X(name, type, count)                          \
    static type g_##name##_store[count];              \
    static uint32_t g_##name##_free[count];           \
    pool_t pool_##name;
#define A(name, bytes)
#include "app/pools.def"
#undef X
#undef A

static unsigned char g_init_arena_store[CFG_INIT_ARENA_BYTES];
arena_t init_arena;
/* 8-byte words, so the scratch is aligned for any object of up to 8 bytes
 * (a caller may lay an array of structs in it: http/server.h). */
static uint64_t g_render_store[(CFG_RENDER_BYTES + 7u) / 8u];
char *const render_scratch = (char *)g_render_store;

/* The whole plan as one struct whose size is the sum of every pool and area:
 * the build fails when it exceeds CFG_RAM_BUDGET_BYTES. */
struct roost_static_plan {
#define X(name, type, count) \
    unsigned char plan_##name[(size_t)(count) * (sizeof(type) + sizeof(uint32_t))];
#define A(name, bytes) unsigned char plan_##name[(bytes)];
#include "app/pools.def"
#undef X
#undef A
};
_Static_assert(sizeof(struct roost_static_plan) <= CFG_RAM_BUDGET_BYTES,
               "the pools of config.h exceed CFG_RAM_BUDGET_BYTES");

void pools_init(void)
{
#define X(name, type, count)                                                    \
    pool_init(&pool_##name, #name, g_##name##_store, sizeof(type), (uint32_t)(count), \
              g_##name##_free);                                                 \
    pool_register(&pool_##name);
#define A(name, bytes)
#include "app/pools.def"
#undef X
#undef A
    arena_init(&init_arena, "init_arena", g_init_arena_store, sizeof g_init_arena_store);
}

static size_t line(char *buf, size_t cap, size_t len, const char *name, size_t count,
                   size_t size, size_t bytes)
{
    int k;
    if (len >= cap) {
        return len;
    }
    if (count > 0u) {
        k = snprintf(buf + len, cap - len, "%-22s %8lu x %9lu B = %11lu B (%7.1f KiB)\n", name,
                     (unsigned long)count, (unsigned long)size, (unsigned long)bytes,
                     (double)bytes / 1024.0);
    } else {
        k = snprintf(buf + len, cap - len, "%-22s %25s %11lu B (%7.1f KiB)\n", name, "",
                     (unsigned long)bytes, (double)bytes / 1024.0);
    }
    return ((k > 0) && ((size_t)k < (cap - len))) ? (len + (size_t)k) : cap;
}

size_t pools_budget(char *buf, size_t cap)
{
    size_t len = 0u;
    size_t total = 0u;
    int k;
    k = snprintf(buf, cap,
                 "roost %s static memory plan, profile %s (profiles/%s.h, config.h)\n"
                 "%-22s %25s %11s\n",
                 ROOST_VERSION, CFG_PROFILE_NAME, CFG_PROFILE_NAME, "pool/area",
                 "slots x size", "bytes");
    len = ((k > 0) && ((size_t)k < cap)) ? (size_t)k : 0u;
#define X(name, type, count)                                                          \
    len = line(buf, cap, len, #name, (size_t)(count), sizeof(type) + sizeof(uint32_t), \
               (size_t)(count) * (sizeof(type) + sizeof(uint32_t)));                   \
    total += (size_t)(count) * (sizeof(type) + sizeof(uint32_t));
#define A(name, bytes)                                   \
    len = line(buf, cap, len, #name, 0u, 0u, (bytes)); \
    total += (bytes);
#include "app/pools.def"
#undef X
#undef A
    len = line(buf, cap, len, "http_conn_state", (size_t)CFG_MAX_CONNS,
               http_server_conn_bytes() / (size_t)CFG_MAX_CONNS, http_server_conn_bytes());
    total += http_server_conn_bytes();
    len = line(buf, cap, len, "http_buf_state", (size_t)CFG_BUFS,
               http_server_buf_bytes() / (size_t)CFG_BUFS, http_server_buf_bytes());
    total += http_server_buf_bytes();
    len = line(buf, cap, len, "stream_subs", (size_t)CFG_STREAM_SUBS,
               stream_static_bytes() / (size_t)CFG_STREAM_SUBS, stream_static_bytes());
    total += stream_static_bytes();
    if (len < cap) {
        k = snprintf(buf + len, cap - len, "%-22s %25s %11lu B (%7.1f MiB)\n", "total", "",
                     (unsigned long)total, (double)total / (1024.0 * 1024.0));
        len = ((k > 0) && ((size_t)k < (cap - len))) ? (len + (size_t)k) : cap;
    }
    return (len < cap) ? len : (cap - 1u);
}

/* `roostd --limits`: the compile-time limits a client (the integration
 * tests) may need, as KEY=VALUE lines. */
size_t pools_limits(char *buf, size_t cap)
{
    static const struct limit_line {
        const char *key;
        unsigned long long v;
    } k_lim[] = {
        { "CFG_MAX_CONNS", CFG_MAX_CONNS },
        { "CFG_BODY_SLOTS", CFG_BODY_SLOTS },
        { "CFG_BODY_SLOT_BYTES", CFG_BODY_SLOT_BYTES },
        { "CFG_BUFS", CFG_BUFS },
        { "CFG_BUF_BYTES", CFG_BUF_BYTES },
        { "CFG_BUF_TX_RESERVE", CFG_BUF_TX_RESERVE },
        { "CFG_RENDER_BYTES", CFG_RENDER_BYTES },
        { "CFG_FILE_STREAMS", CFG_FILE_STREAMS },
        { "CFG_HTTP_MAX_HEAD_BYTES", CFG_HTTP_MAX_HEAD_BYTES },
        { "CFG_HTTP_MAX_TARGET_BYTES", CFG_HTTP_MAX_TARGET_BYTES },
        { "CFG_HTTP_MAX_HEADERS", CFG_HTTP_MAX_HEADERS },
        { "CFG_WS_MAX_MESSAGE", CFG_WS_MAX_MESSAGE },
        { "CFG_BODY_TIMEOUT_MS", CFG_BODY_TIMEOUT_MS },
        { "CFG_JSON_MAX_TOKENS", CFG_JSON_MAX_TOKENS },
        { "CFG_JSON_MAX_DEPTH", CFG_JSON_MAX_DEPTH },
        { "CFG_MAX_TIMERS", CFG_MAX_TIMERS },
        { "CFG_BUS_SLOTS", CFG_BUS_SLOTS },
        { "CFG_BUS_BYTES", CFG_BUS_BYTES },
        { "CFG_STREAM_SUBS", CFG_STREAM_SUBS },
        { "CFG_STREAM_MSG_BYTES", CFG_STREAM_MSG_BYTES },
        { "CFG_SQLITE_HEAP_BYTES", CFG_SQLITE_HEAP_BYTES },
        { "CFG_SQLITE_PAGE_CACHE_PAGES", CFG_SQLITE_PAGE_CACHE_PAGES },
        { "CFG_LLM_SLOTS", CFG_LLM_SLOTS },
#if CFG_WITH_TLS
        { "CFG_TLS_SESSIONS", CFG_TLS_SESSIONS },
        { "CFG_TLS_HANDSHAKES", CFG_TLS_HANDSHAKES },
        { "CFG_TLS_HEAP_BYTES", CFG_TLS_HEAP_BYTES },
#endif
        { "CFG_NET_WATCHES", CFG_NET_WATCHES },
        { "CFG_CHILD_SLOTS", CFG_CHILD_SLOTS },
        { "CFG_CHILD_OUT_BYTES", CFG_CHILD_OUT_BYTES },
        { "CFG_CHAT_REQS", CFG_CHAT_REQS },
        { "CFG_CHAT_AGENTS", CFG_CHAT_AGENTS },
        { "CFG_CHAT_HEAP_BYTES", CFG_CHAT_HEAP_BYTES },
        { "CFG_HOOK_BODY_BYTES", CFG_HOOK_BODY_BYTES },
        { "CFG_HOOK_TIMEOUT_MS", CFG_HOOK_TIMEOUT_MS },
        { "CFG_HOOKS_SETTINGS_BYTES", CFG_HOOKS_SETTINGS_BYTES },
        { "CFG_HOOKS_SETTINGS_TOKENS", CFG_HOOKS_SETTINGS_TOKENS },
/* a family's own limits (fam/plan.def) */
#define FAM_PLAN_LIMITS
#define L(key) { #key, (key) },
#include "fam/plan.def"
#undef L
#undef FAM_PLAN_LIMITS
        { "CFG_RAM_BUDGET_BYTES", CFG_RAM_BUDGET_BYTES },
    };
    size_t len = 0u;
    size_t i;
    const char *sep = "";
    int k = snprintf(buf, cap, "profile=%s\nllm=%d\nfamilies=", CFG_PROFILE_NAME,
                     (CFG_WITH_LLM != 0) ? 1 : 0);
    len = ((k > 0) && ((size_t)k < cap)) ? (size_t)k : cap;
    for (i = 0u; (i < (size_t)FAM_COUNT) && (len < cap); i++) {
        if (fam_list[i]->built) {
            k = snprintf(buf + len, cap - len, "%s%s", sep, fam_list[i]->name);
            len = ((k > 0) && ((size_t)k < (cap - len))) ? (len + (size_t)k) : cap;
            sep = ",";
        }
    }
    if (len < cap) {
        k = snprintf(buf + len, cap - len, "\n");
        len = ((k > 0) && ((size_t)k < (cap - len))) ? (len + (size_t)k) : cap;
    }
    for (i = 0u; (i < (sizeof(k_lim) / sizeof(k_lim[0]))) && (len < cap); i++) {
        k = snprintf(buf + len, cap - len, "%s=%llu\n", k_lim[i].key, k_lim[i].v);
        len = ((k > 0) && ((size_t)k < (cap - len))) ? (len + (size_t)k) : cap;
    }
    return (len < cap) ? len : (cap - 1u);
}
