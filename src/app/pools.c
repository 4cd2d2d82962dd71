#include "app/pools.h"

#include <stdio.h>

#include "bus/ring.h"
#include "config.h"
#include "fam/fleet/chat.h"
#include "fam/fleet/events.h"
#include "http/server.h"
#include "http/stream.h"
#include "json/read.h"
#include "out/llm.h"
#include "out/llm_wire.h"
#include "net/conn.h"
#include "store/store.h"

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
static char g_render_store[CFG_RENDER_BYTES];
char *const render_scratch = g_render_store;

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
    k = snprintf(buf, cap, "roost %s static memory plan (config.h)\n%-22s %25s %11s\n",
                 ROOST_VERSION, "pool/area", "slots x size", "bytes");
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
               http_server_static_bytes() / (size_t)CFG_MAX_CONNS, http_server_static_bytes());
    total += http_server_static_bytes();
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
