/*
 * loop.c - the single event loop (net/conn.h: net_init, net_turn, net_run)
 * and the sockets it watches for other modules (net_watch).
 *
 * Implementation notes:
 * - One turn: close what was marked closing (net_reap) -> flush (a freed
 *   conn leaves the dirty list before its slot can be taken again) ->
 *   sockets parked for a reclaimed slot become conns -> bring the
 *   interest of the conns whose state changed up to date (net_flush_dirty)
 *   -> port_wait, which reports only what fired -> for each: accept, or a
 *   conn's read and write within its byte budgets, or a watched socket's
 *   callback -> grant and settle buffers -> timers -> turn hook (the app's:
 *   commit the store's batch, send the answers it released, feed the
 *   streams) -> write what the timers and the hook produced into tx they
 *   were lent in this turn (the streams' events: out in this turn, with no
 *   interest change and no wake-up for writability when the socket takes
 *   it) and the conns whose tx hold was released -> grant and settle
 *   again; every NET_SWEEP_MS the deadlines. Nothing in a turn walks every
 *   connection except the deadline sweep.
 * - TLS input that mbedtls holds but the socket no longer shows (net/tls.c)
 *   keeps the wait from sleeping; the conns it belongs to are read after
 *   the wait, as if their sockets had fired.
 * - Holds (conn_tx_hold): an answer written in this turn but held until
 *   the hook has committed what it answers for goes out as soon as it is
 *   released (the hook calls net_send_released right after its commit,
 *   before the streams are fed; the loop again after the hook). A hold
 *   taken after the hook (a request served in the last grant phase) makes
 *   the next wait return at once (timeout 0), so the next turn's hook is
 *   never delayed by a sleep.
 * - Closing and reclaiming happen only at the top of a turn: a conn freed
 *   there has no event left in the turn's fired array, so an event is
 *   never applied to a conn that took the slot of another.
 * - Sizes derive from PORT_WATCH_MAX (port.h): the fired array holds every
 *   socket that can be watched, so nothing that fired waits for a later
 *   turn for lack of room.
 * - Watched sockets live in slots with a generation in their tag: a
 *   callback that unwatched another socket earlier in the turn is
 *   respected, and a slot taken again in the same turn does not get the
 *   old socket's event.
 */
#include "net/net_int.h"

#include <stddef.h>
#include <string.h>

#include "core/assert.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/timer.h"

#define WAIT_CAP_MS 1000

typedef struct {
    port_sock sock;
    uint32_t want;
    net_watch_fn fn;
    void *ctx;
    uint16_t gen;
    bool used;
} watch_t;

static watch_t g_watch[CFG_NET_WATCHES];
static uint32_t g_nwatch;
static uint32_t g_watch_high;
static port_event g_fired[PORT_WATCH_MAX];
static bool g_stop;
static void (*g_turn_hook)(void);

_Static_assert(CFG_NET_WATCHES <= 0xFFFF, "a watch index fits its tag");

void net_watches_init(void)
{
    (void)memset(g_watch, 0, sizeof g_watch);
    g_nwatch = 0u;
    g_watch_high = 0u;
}

void net_init(pool_t *conns, pool_t *bufs)
{
    st_t st = port_loop_init();
    if (st != ST_OK) {
        LOG_E("net", "the loop's readiness set (%s): %s", port_loop_name(), status_str(st));
    }
    g_net.now_ms = clock_mono_ms();
    net_conns_init(conns, bufs);
    net_listeners_init();
    net_watches_init();
    g_stop = false;
}

void net_set_turn_hook(void (*fn)(void))
{
    g_turn_hook = fn;
}

void net_stop(void)
{
    g_stop = true;
}

static watch_t *watch_find(port_sock s)
{
    uint32_t i;
    for (i = 0u; i < (uint32_t)CFG_NET_WATCHES; i++) {
        if (g_watch[i].used && (g_watch[i].sock == s)) {
            return &g_watch[i];
        }
    }
    return NULL;
}

void net_unwatch(port_sock s)
{
    watch_t *w = watch_find(s);
    if (w != NULL) {
        port_unwatch(s);
        w->used = false;
        w->gen = (uint16_t)((w->gen + 1u) & 0x3FFFu);
        g_nwatch--;
    }
}

st_t net_watch(port_sock s, uint32_t want, net_watch_fn fn, void *ctx)
{
    watch_t *w;
    if (want == 0u) {
        net_unwatch(s);
        return ST_OK;
    }
    if ((s == PORT_SOCK_NONE) || (fn == NULL)) {
        return ST_INVAL;
    }
    w = watch_find(s);
    if (w == NULL) {
        uint32_t i;
        for (i = 0u; (i < (uint32_t)CFG_NET_WATCHES) && (w == NULL); i++) {
            if (!g_watch[i].used) {
                w = &g_watch[i];
            }
        }
        if (w == NULL) {
            return ST_FULL;
        }
        w->sock = s;
        w->want = 0u;
    }
    /* Registered again even when nothing seems to change: the socket may be
     * a new one that took the number of one closed behind our back (c-ares
     * closes its sockets before curl says so), which the kernel dropped. */
    {
        ptrdiff_t at = w - g_watch;
        uint32_t index = (uint32_t)at;
        st_t st = port_watch(s, want, NET_TAG(NET_TAG_WATCH, w->gen, index));
        if (st != ST_OK) {
            return st;
        }
    }
    if (!w->used) {
        w->used = true;
        g_nwatch++;
        if (g_nwatch > g_watch_high) {
            g_watch_high = g_nwatch;
        }
    }
    w->want = want;
    w->fn = fn;
    w->ctx = ctx;
    return ST_OK;
}

uint32_t net_watches_used(void)
{
    return g_nwatch;
}

uint32_t net_watches_high(void)
{
    return g_watch_high;
}

void net_watch_fire(uint32_t tag, uint32_t got)
{
    uint32_t i = NET_TAG_INDEX(tag);
    if (i < (uint32_t)CFG_NET_WATCHES) {
        const watch_t *w = &g_watch[i];
        if (w->used && (w->gen == NET_TAG_GEN(tag))) {
            w->fn(w->ctx, w->sock, got);
        }
    }
}

static void conn_event(uint32_t index, uint32_t got)
{
    net_conn_fire((conn *)pool_at(g_net.conns, index), got);
}

void net_conn_fire(conn *c, uint32_t got)
{
    if (c->closing || (c->sock == PORT_SOCK_NONE)) {
        return;
    }
    if ((got & (PORT_EV_IN | PORT_EV_ERR)) != 0u) {
        net_do_read(c, ((got & PORT_EV_ERR) != 0u) && ((got & PORT_EV_IN) == 0u));
    }
    if (!c->closing && ((got & (PORT_EV_OUT | PORT_EV_ERR)) != 0u)) {
        net_do_write(c);
    }
    /* A response produced by on_readable goes out in the same turn when
     * the socket has room: most requests finish in one turn. */
    if (!c->closing && net_tx_more(c) && ((got & PORT_EV_OUT) == 0u)) {
        net_do_write(c);
    }
    if (!c->closing && c->peer_closed && !net_tx_more(c) && !c->lingering) {
        if (c->proto_open) {
            c->lst->proto->on_readable(c);
        }
        if (!c->closing && !net_tx_more(c)) {
            conn_fail(c, ST_CLOSED);
        }
    }
    if (!c->closing) {
        net_settle(c);
    }
}

/* Answers whose hold was released (by the turn hook's commit, mostly) go
 * out now, as if their sockets had reported room. */
void net_send_released(void)
{
    conn *c = net_released_pop();
    while (c != NULL) {
        conn_event(conn_id(c), PORT_EV_OUT);
        c = net_released_pop();
    }
}

static void one_turn(bool accepting, int timeout_ms)
{
    size_t n;
    size_t i;
    int timeout = timeout_ms;
    int resume;
    net_reap();
    /* before a freed slot can be taken again (adopt, accept): a conn freed
     * while still on the dirty list must leave it first */
    net_flush_dirty();
    if (net_listeners_adopt()) {
        net_flush_dirty();
    }
    resume = net_listeners_arm(accepting, clock_mono_ms());
    if ((resume >= 0) && ((timeout < 0) || (resume < timeout))) {
        timeout = resume;
    }
    if (g_net.holds > 0u) {
        timeout = 0;    /* an answer waits for the turn hook (conn_tx_hold) */
    }
#if CFG_WITH_TLS
    if (net_tls_any_pending()) {
        timeout = 0;    /* mbedtls holds input its socket no longer shows */
    }
#endif
    n = port_wait(g_fired, PORT_WATCH_MAX, timeout);
    g_net.now_ms = clock_mono_ms();
    g_net.stats.turns++;
    for (i = 0u; i < n; i++) {
        uint32_t tag = g_fired[i].tag;
        uint32_t got = g_fired[i].got;
        if (NET_TAG_KIND(tag) == NET_TAG_CONN) {
            conn_event(NET_TAG_INDEX(tag), got);
        } else if (NET_TAG_KIND(tag) == NET_TAG_LISTENER) {
            if (accepting) {
                net_accept(NET_TAG_INDEX(tag));
            }
        } else {
            net_watch_fire(tag, got);
        }
    }
#if CFG_WITH_TLS
    net_tls_fire_pending();
#endif
    net_grant_and_settle();
    timer_run();
    if (g_turn_hook != NULL) {
        g_turn_hook();
    }
    net_write_fresh();
    net_send_released();
    net_grant_and_settle();
}

void net_turn(int timeout_ms)
{
    static uint64_t last_sweep;
    uint64_t now;
    int timeout = timer_next_ms(timeout_ms);
    if ((g_net.nlive > 0u) && ((timeout < 0) || (timeout > (int)NET_SWEEP_MS))) {
        timeout = (int)NET_SWEEP_MS;
    }
    one_turn(true, timeout);
    now = clock_mono_ms();
    if ((now - last_sweep) >= NET_SWEEP_MS) {
        last_sweep = now;
        net_sweep_deadlines(now);
    }
}

void net_run(void (*on_first_turn)(void))
{
    uint64_t grace_end;
    if (on_first_turn != NULL) {
        on_first_turn();
    }
    while (!g_stop && !port_stop_requested()) {
        net_turn(WAIT_CAP_MS);
    }
    LOG_I("net", "stopping: closing listeners, finishing %u connection(s)",
          (unsigned)g_net.nlive);
    net_listeners_close();
    net_conns_stop();
    grace_end = clock_mono_ms() + (uint64_t)CFG_SHUTDOWN_GRACE_MS;
    while (net_conns_draining(false) && (clock_mono_ms() < grace_end)) {
        one_turn(false, (int)NET_SWEEP_MS);
    }
    (void)net_conns_draining(true);
}
