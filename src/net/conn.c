/*
 * conn.c - the connection pool and the single poll() loop.
 *
 * Implementation notes:
 * - One turn: reap closed conns -> build the poll set -> port_poll ->
 *   accept (bounded per listener) -> read/write each ready conn within its
 *   byte budgets -> timers -> deadline sweep (every 50 ms) -> turn hook.
 * - A conn with pending output is not read while its tx is full; a paused
 *   conn is not read at all; so rx never needs to grow.
 * - Buffers (conn.h): rx is lent in do_read, tx in conn_tx_buf. A conn that
 *   took one is put on the settle list; at the end of its I/O and at the
 *   end of the turn (after timers and the turn hook, which write to other
 *   conns) settle() gives back an empty rx and an empty, unpinned tx. A
 *   buffer given back goes first to the head of the tx queue (the conn is
 *   put on the grant list and its on_drained runs in the grant phase of
 *   the turn, never inside the caller that released it), else to the head
 *   of the rx queue while more than CFG_BUF_TX_RESERVE stay free, else back
 *   to the pool. A conn takes a buffer directly only when nobody waits, so
 *   the queues are served in order.
 * - Pool full on accept: close the idle keep-alive conn that has waited
 *   longest and reuse its slot; if none is idle, accept, send the
 *   protocol's refusal (503 + Retry-After) best-effort and close.
 * - Shutdown: listeners close, idle conns close, busy conns get until
 *   CFG_SHUTDOWN_GRACE_MS to finish writing.
 * - Watched sockets (net_watch) follow the conns in the poll set. Their
 *   callbacks run after the conns' I/O; each entry is looked up again by
 *   socket before its callback, so a callback that unwatched or changed
 *   another socket earlier in the turn is respected.
 */
#include "net/conn.h"

#include <stddef.h>
#include <string.h>

#include "core/assert.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/timer.h"

#define LINGER_MS 2000u
#define SWEEP_MS 50u
#define POLL_CAP_MS 1000

static pool_t *g_pool;
static pool_t *g_bufs;
static listener g_listeners[CFG_MAX_LISTENERS];
static size_t g_nlisteners;
static net_stats_t g_stats;
static bool g_stop;
static void (*g_turn_hook)(void);

typedef struct {
    port_sock sock;
    uint32_t want;
    net_watch_fn fn;
    void *ctx;
} watch_t;

static watch_t g_watch[CFG_NET_WATCHES];
static uint32_t g_nwatch;
static uint32_t g_watch_high;

#define POLL_SET_MAX (CFG_MAX_CONNS + CFG_MAX_LISTENERS + CFG_NET_WATCHES)

/* poll set, rebuilt every turn: listeners, conns, then watched sockets. */
static port_pollfd g_pfd[POLL_SET_MAX];
static conn *g_pconn[POLL_SET_MAX];
/* Conns in use, for iteration without scanning free slots. */
static conn *g_live[CFG_MAX_CONNS];
static size_t g_nlive;

/* FIFOs linked through the conns: waiting for an rx, waiting for a tx, and
 * lent a tx from that queue with on_drained due (a conn leaves the tx queue
 * before it joins the grant list, so the two share tx_next). Each kind has
 * its link field and its membership flag in the conn. */
typedef enum { Q_RX, Q_TX, Q_GRANT } q_kind;

typedef struct {
    q_kind kind;
    conn *head;
    conn *tail;
    uint32_t n;
} conn_queue;

static conn_queue g_rxq = { Q_RX, NULL, NULL, 0u };
static conn_queue g_txq = { Q_TX, NULL, NULL, 0u };
static conn_queue g_granted = { Q_GRANT, NULL, NULL, 0u };
static conn *g_touched;           /* conns that took a buffer since the last settle */
static bool g_wait_logged;        /* one log line per episode of an empty pool */

void net_init(pool_t *conns, pool_t *bufs)
{
    g_pool = conns;
    g_bufs = bufs;
    /* Buffers are written before they are read: never clear them. */
    pool_set_zero_prefix(bufs, 0u);
    g_rxq = (conn_queue){ Q_RX, NULL, NULL, 0u };
    g_txq = (conn_queue){ Q_TX, NULL, NULL, 0u };
    g_granted = (conn_queue){ Q_GRANT, NULL, NULL, 0u };
    g_touched = NULL;
    g_wait_logged = false;
    g_nlisteners = 0u;
    g_nlive = 0u;
    g_nwatch = 0u;
    g_watch_high = 0u;
    g_stop = false;
    (void)memset(&g_stats, 0, sizeof g_stats);
}

void net_set_turn_hook(void (*fn)(void))
{
    g_turn_hook = fn;
}

static watch_t *watch_find(port_sock s)
{
    uint32_t i;
    for (i = 0u; i < g_nwatch; i++) {
        if (g_watch[i].sock == s) {
            return &g_watch[i];
        }
    }
    return NULL;
}

void net_unwatch(port_sock s)
{
    watch_t *w = watch_find(s);
    if (w != NULL) {
        *w = g_watch[g_nwatch - 1u];
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
        if (g_nwatch >= (uint32_t)CFG_NET_WATCHES) {
            return ST_FULL;
        }
        w = &g_watch[g_nwatch];
        g_nwatch++;
        if (g_nwatch > g_watch_high) {
            g_watch_high = g_nwatch;
        }
    }
    w->sock = s;
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

const net_stats_t *net_stats(void)
{
    g_stats.bufs_used = g_bufs->used;
    g_stats.bufs_high = g_bufs->high;
    g_stats.rx_queue = g_rxq.n;
    g_stats.tx_queue = g_txq.n;
    return &g_stats;
}

uint32_t net_conns_used(void)
{
    return g_pool->used;
}

uint32_t net_conns_high(void)
{
    return g_pool->high;
}

size_t net_listener_count(void)
{
    return g_nlisteners;
}

const listener *net_listener_at(size_t i)
{
    return (i < g_nlisteners) ? &g_listeners[i] : NULL;
}

void net_stop(void)
{
    g_stop = true;
}

uint32_t conn_id(const conn *c)
{
    return pool_index(g_pool, c);
}

st_t net_listen(const char *name, const char *host, uint16_t port,
                const conn_proto *proto, void *ctx, listener **out)
{
    listener *l;
    st_t st;
    if (g_nlisteners >= (size_t)CFG_MAX_LISTENERS) {
        return ST_NOMEM;
    }
    l = &g_listeners[g_nlisteners];
    (void)memset(l, 0, sizeof *l);
    st = port_listen(host, port, CFG_LISTEN_BACKLOG, &l->sock);
    if (st != ST_OK) {
        return st;
    }
    (void)port_local_port(l->sock, &l->port);
    l->index = (uint8_t)g_nlisteners;
    l->proto = proto;
    l->ctx = ctx;
    (void)strncpy(l->name, name, sizeof l->name - 1u);
    g_nlisteners++;
    *out = l;
    return ST_OK;
}

/* ---- conn API for protocols ---------------------------------------------- */

void conn_fail(conn *c, st_t st)
{
    if (c->err == ST_OK) {
        c->err = st;
    }
    c->closing = true;
}

void conn_close_after_flush(conn *c)
{
    c->close_after_flush = true;
    c->idle = false;
}

/* ---- buffers ---------------------------------------------------------------- */

static conn **q_link(const conn_queue *q, conn *c)
{
    return (q->kind == Q_RX) ? &c->rx_next : &c->tx_next;
}

static void q_mark(const conn_queue *q, conn *c, bool in)
{
    if (q->kind == Q_RX) {
        c->rx_waiting = in;
    } else if (q->kind == Q_TX) {
        c->tx_waiting = in;
    } else {
        c->granted = in;
    }
}

static void q_push(conn_queue *q, conn *c)
{
    *q_link(q, c) = NULL;
    q_mark(q, c, true);
    if (q->tail != NULL) {
        *q_link(q, q->tail) = c;
    } else {
        q->head = c;
    }
    q->tail = c;
    q->n++;
}

static conn *q_pop(conn_queue *q)
{
    conn *c = q->head;
    if (c != NULL) {
        q->head = *q_link(q, c);
        if (q->head == NULL) {
            q->tail = NULL;
        }
        *q_link(q, c) = NULL;
        q->n--;
        q_mark(q, c, false);
    }
    return c;
}

/* Take c out of q (it closes). */
static void q_remove(conn_queue *q, conn *c)
{
    conn *prev = NULL;
    conn *it = q->head;
    while ((it != NULL) && (it != c)) {
        prev = it;
        it = *q_link(q, it);
    }
    if (it != NULL) {
        if (prev == NULL) {
            q->head = *q_link(q, c);
        } else {
            *q_link(q, prev) = *q_link(q, c);
        }
        if (q->tail == c) {
            q->tail = prev;
        }
        *q_link(q, c) = NULL;
        q->n--;
        q_mark(q, c, false);
    }
}

static void touch(conn *c)
{
    if (!c->touched) {
        c->touched = true;
        c->touch_next = g_touched;
        g_touched = c;
    }
}

static uint32_t bufs_free(void)
{
    return g_bufs->count - g_bufs->used;
}

static void note_wait(const conn *c, const char *what)
{
    if (!g_wait_logged) {
        g_wait_logged = true;
        LOG_W("net", "%s: %u of %u buffers lent, %s waits its turn (logged once until the "
              "queues empty)", c->lst->name, (unsigned)g_bufs->used, (unsigned)CFG_BUFS, what);
    }
}

/* Give buffer b back: to the first conn waiting for a tx, else to the first
 * waiting for an rx while more than the reserve stay free, else the pool. */
static void buf_give_back(char *b)
{
    conn *w = q_pop(&g_txq);
    if (w != NULL) {
        w->tx = b;
        w->tx_off = 0u;
        w->tx_len = 0u;
        touch(w);
        q_push(&g_granted, w);     /* on_drained runs in the grant phase */
        return;
    }
    if ((g_rxq.head != NULL) && (bufs_free() >= (uint32_t)CFG_BUF_TX_RESERVE)) {
        /* not on the settle list: it keeps the buffer until it has read */
        w = q_pop(&g_rxq);
        w->rx = b;
        w->rx_len = 0u;
        return;
    }
    pool_put(g_bufs, b);
    if ((g_rxq.n == 0u) && (g_txq.n == 0u)) {
        g_wait_logged = false;
    }
}

/* Lend rx to c; false (c queued) when none may be lent now. */
static bool rx_take(conn *c)
{
    char *b = NULL;
    if (c->rx != NULL) {
        return true;
    }
    if (!c->rx_waiting && (g_rxq.head == NULL) && (g_txq.head == NULL) &&
        (bufs_free() > (uint32_t)CFG_BUF_TX_RESERVE)) {
        b = (char *)pool_get(g_bufs);
    }
    if (b == NULL) {
        if (!c->rx_waiting) {
            q_push(&g_rxq, c);
            g_stats.rx_waits++;
            note_wait(c, "a read");
        }
        return false;
    }
    c->rx = b;
    c->rx_len = 0u;
    touch(c);
    return true;
}

static void rx_release(conn *c)
{
    if (c->rx != NULL) {
        char *b = c->rx;
        c->rx = NULL;
        c->rx_len = 0u;
        buf_give_back(b);
    }
}

static void tx_release(conn *c)
{
    if (c->tx != NULL) {
        char *b = c->tx;
        c->tx = NULL;
        c->tx_off = 0u;
        c->tx_len = 0u;
        buf_give_back(b);
    }
}

/* Give back what c holds empty. */
static void settle(conn *c)
{
    if ((c->rx != NULL) && (c->rx_len == 0u)) {
        rx_release(c);
    }
    if ((c->tx != NULL) && (c->tx_off == c->tx_len) && !c->tx_pinned && !c->granted) {
        tx_release(c);
    }
}

static void settle_touched(void)
{
    while (g_touched != NULL) {
        conn *c = g_touched;
        g_touched = c->touch_next;
        c->touched = false;
        c->touch_next = NULL;
        if (!c->closing) {
            settle(c);
        }
    }
}

void conn_rx_consume(conn *c, size_t n)
{
    ASSERT(n <= c->rx_len);
    if (n >= c->rx_len) {
        c->rx_len = 0u;
    } else {
        (void)memmove(c->rx, c->rx + n, c->rx_len - n);
        c->rx_len -= (uint32_t)n;
    }
}

char *conn_tx_buf(conn *c, size_t *room)
{
    if (c->tx == NULL) {
        char *b = NULL;
        if (!c->tx_waiting && (g_txq.head == NULL)) {
            b = (char *)pool_get(g_bufs);
        }
        if (b == NULL) {
            if (!c->tx_waiting && !c->closing) {
                q_push(&g_txq, c);
                g_stats.tx_waits++;
                note_wait(c, "a response");
            }
            *room = 0u;
            return NULL;
        }
        c->tx = b;
        c->tx_off = 0u;
        c->tx_len = 0u;
        touch(c);
    }
    if ((c->tx_off > 0u) && (c->tx_off == c->tx_len)) {
        c->tx_off = 0u;
        c->tx_len = 0u;
    }
    *room = (size_t)CFG_BUF_BYTES - c->tx_len;
    return c->tx + c->tx_len;
}

void conn_tx_ack(conn *c, size_t n)
{
    ASSERT((c->tx != NULL) && (n <= ((size_t)CFG_BUF_BYTES - c->tx_len)));
    c->tx_len += (uint32_t)n;
}

size_t conn_tx_pending(const conn *c)
{
    return (size_t)c->tx_len - c->tx_off;
}

void conn_tx_pin(conn *c, bool pinned)
{
    c->tx_pinned = pinned;
    if (!pinned) {
        touch(c);      /* settled at the end of the turn when empty */
    }
}

uint32_t conn_rx_index(const conn *c)
{
    ASSERT(c->rx != NULL);
    return pool_index(g_bufs, c->rx);
}

uint32_t conn_tx_index(const conn *c)
{
    ASSERT(c->tx != NULL);
    return pool_index(g_bufs, c->tx);
}

void conn_set_deadline(conn *c, conn_deadline kind, uint64_t ms_from_now)
{
    c->dl_kind = kind;
    c->dl_at_ms = (kind == CONN_DL_NONE) ? 0u : (clock_mono_ms() + ms_from_now);
}

void conn_pause_read(conn *c, bool paused)
{
    c->read_paused = paused;
}

void conn_set_idle(conn *c, bool idle)
{
    c->idle = idle;
}

/* ---- internals ------------------------------------------------------------ */

static void conn_free(conn *c, size_t live_index)
{
    if (c->lst->proto->on_close != NULL) {
        c->lst->proto->on_close(c);
    }
    if (c->rx_waiting) {
        q_remove(&g_rxq, c);
    }
    if (c->tx_waiting) {
        q_remove(&g_txq, c);
    }
    if (c->granted) {
        q_remove(&g_granted, c);
    }
    if (c->touched) {
        /* unlink from the settle list */
        conn **pp = &g_touched;
        while ((*pp != NULL) && (*pp != c)) {
            pp = &(*pp)->touch_next;
        }
        if (*pp == c) {
            *pp = c->touch_next;
        }
        c->touched = false;
    }
    c->tx_pinned = false;
    rx_release(c);
    tx_release(c);
    port_close(c->sock);
    g_live[live_index] = g_live[g_nlive - 1u];
    g_nlive--;
    g_stats.closed++;
    pool_put(g_pool, c);
}

static void reap(void)
{
    size_t i = 0u;
    while (i < g_nlive) {
        if (g_live[i]->closing) {
            conn_free(g_live[i], i);   /* moves the last entry into i */
        } else {
            i++;
        }
    }
}

static conn *reclaim_idle(void)
{
    conn *oldest = NULL;
    size_t oldest_i = 0u;
    size_t i;
    for (i = 0u; i < g_nlive; i++) {
        conn *c = g_live[i];
        if (c->idle && !c->closing &&
            ((oldest == NULL) || (c->last_io_ms < oldest->last_io_ms))) {
            oldest = c;
            oldest_i = i;
        }
    }
    if (oldest == NULL) {
        return NULL;
    }
    oldest->lst->reclaimed++;
    g_stats.reclaimed++;
    conn_free(oldest, oldest_i);
    return (conn *)pool_get(g_pool);
}

static void refuse(listener *l, port_sock s)
{
    char buf[1024];
    size_t n = 0u;
    size_t sent = 0u;
    if (l->proto->on_refuse != NULL) {
        n = l->proto->on_refuse(l, buf, sizeof buf);
    }
    if (n > 0u) {
        (void)port_send(s, buf, n, &sent);
    }
    port_shutdown_write(s);
    port_close(s);
    l->refused++;
    g_stats.refused++;
}

static void accept_some(listener *l)
{
    unsigned k;
    for (k = 0u; k < (unsigned)CFG_ACCEPT_BUDGET; k++) {
        port_sock s = PORT_SOCK_NONE;
        conn *c;
        st_t st = port_accept(l->sock, &s);
        if (st == ST_AGAIN) {
            return;
        }
        if (st != ST_OK) {
            LOG_W("net", "%s: accept failed: %s", l->name, status_str(st));
            return;
        }
        c = (conn *)pool_get(g_pool);
        if (c == NULL) {
            c = reclaim_idle();
        }
        if (c == NULL) {
            LOG_W("net", "%s: connection pool full (%u), refused", l->name,
                  (unsigned)CFG_MAX_CONNS);
            refuse(l, s);
            continue;
        }
        c->sock = s;
        c->lst = l;
        c->err = ST_OK;
        c->opened_ms = clock_mono_ms();
        c->last_io_ms = c->opened_ms;
        g_live[g_nlive] = c;
        g_nlive++;
        l->accepted++;
        g_stats.accepted++;
        l->proto->on_open(c);
    }
}

static void do_read(conn *c, bool hangup)
{
    size_t budget = CFG_READ_BUDGET_BYTES;
    /* cppcheck-suppress misra-c2012-15.4 ; deviation (MISRA.md): one break per stop reason */
    while ((budget > 0u) && !c->closing) {
        size_t n = 0u;
        size_t room = (size_t)CFG_BUF_BYTES - c->rx_len;
        st_t st;
        if (c->lingering) {
            char sink[512];
            st = port_recv(c->sock, sink, sizeof sink, &n);
            if (st == ST_OK) {
                if (n < budget) {
                    budget -= n;
                } else {
                    budget = 0u;
                }
                continue;
            }
            if (st != ST_AGAIN) {
                conn_fail(c, ST_CLOSED);
            }
            return;
        }
        if (room == 0u) {
            break;
        }
        if (c->rx == NULL) {
            if (!rx_take(c)) {
                /* queued: polled for input again once it has one. A hang-up
                 * (poll reports it whatever is asked) would wake every turn
                 * until then, and nobody can be answered on it: close. */
                if (hangup) {
                    conn_fail(c, ST_CLOSED);
                }
                return;
            }
            room = (size_t)CFG_BUF_BYTES;
        }
        st = port_recv(c->sock, c->rx + c->rx_len, (room < budget) ? room : budget, &n);
        if (st == ST_AGAIN) {
            break;
        }
        if (st == ST_CLOSED) {
            c->peer_closed = true;
            break;
        }
        if (st != ST_OK) {
            conn_fail(c, st);
            return;
        }
        c->rx_len += (uint32_t)n;
        budget -= n;
        g_stats.bytes_in += n;
        c->last_io_ms = clock_mono_ms();
    }
    if (!c->lingering && !c->closing) {
        c->lst->proto->on_readable(c);
    }
}

static void start_linger(conn *c)
{
    port_shutdown_write(c->sock);
    c->lingering = true;
    c->rx_len = 0u;
    c->tx_pinned = false;
    touch(c);
    conn_set_deadline(c, CONN_DL_LINGER, LINGER_MS);
}

static void do_write(conn *c)
{
    size_t budget = CFG_WRITE_BUDGET_BYTES;
    while ((c->tx_off < c->tx_len) && (budget > 0u)) {
        size_t left = c->tx_len - c->tx_off;
        size_t n = 0u;
        st_t st = port_send(c->sock, c->tx + c->tx_off, (left < budget) ? left : budget, &n);
        if (st == ST_AGAIN) {
            return;
        }
        if (st != ST_OK) {
            conn_fail(c, st);
            return;
        }
        c->tx_off += (uint32_t)n;
        budget -= n;
        g_stats.bytes_out += n;
        c->last_io_ms = clock_mono_ms();
    }
    if (c->tx_off == c->tx_len) {
        c->tx_off = 0u;
        c->tx_len = 0u;
        /* The protocol may have more to send (a response streaming from a
         * slot), even on a connection that closes after it. */
        if ((c->lst->proto->on_drained != NULL) && !c->lingering) {
            c->lst->proto->on_drained(c);
        }
        if (c->close_after_flush && !c->lingering && (c->tx_len == 0u)) {
            start_linger(c);
        }
    }
}

/* Connections wait for rx and none is free: a request stalled in rx gets
 * its deadline now (the protocol answers 408 and closes), so that a crowd
 * of clients that trickle their requests cannot keep every rx buffer for
 * the whole header timeout. Stalled means: a head still incomplete on a
 * connection open for CFG_RX_STALL_MS with nothing new this sweep (a head
 * is sent whole by any client that means it; one that waited its turn in
 * the queue has used up its time there), or a body with nothing new for
 * CFG_RX_STALL_MS. At most as many as wait, per sweep. */
static bool rx_stalled(const conn *c, uint64_t now)
{
    bool head = (c->dl_kind == CONN_DL_HEADER) &&
                ((now - c->opened_ms) >= (uint64_t)CFG_RX_STALL_MS) &&
                ((now - c->last_io_ms) >= (uint64_t)SWEEP_MS);
    bool body = (c->dl_kind == CONN_DL_BODY) &&
                ((now - c->last_io_ms) >= (uint64_t)CFG_RX_STALL_MS);
    return head || body;
}

static void reclaim_stalled(uint64_t now)
{
    uint32_t want = g_rxq.n;
    size_t i;
    for (i = 0u; (i < g_nlive) && (want > 0u); i++) {
        conn *c = g_live[i];
        if ((c->rx != NULL) && (c->tx == NULL) && !c->tx_waiting && !c->closing &&
            rx_stalled(c, now)) {
            conn_deadline kind = c->dl_kind;
            c->dl_kind = CONN_DL_NONE;
            g_stats.rx_reclaimed++;
            want--;
            c->lst->proto->on_deadline(c, kind);
        }
    }
}

static void sweep_deadlines(uint64_t now)
{
    size_t i;
    if ((g_rxq.n > 0u) && (bufs_free() <= (uint32_t)CFG_BUF_TX_RESERVE)) {
        reclaim_stalled(now);
    }
    for (i = 0u; i < g_nlive; i++) {
        conn *c = g_live[i];
        if ((c->dl_kind != CONN_DL_NONE) && !c->closing && (now >= c->dl_at_ms)) {
            conn_deadline kind = c->dl_kind;
            c->dl_kind = CONN_DL_NONE;
            g_stats.timeouts++;
            if (kind == CONN_DL_LINGER) {
                conn_fail(c, ST_TIMEOUT);
            } else {
                c->lst->proto->on_deadline(c, kind);
            }
        }
    }
}

static size_t build_poll_set(bool accepting)
{
    size_t n = 0u;
    size_t i;
    if (accepting) {
        for (i = 0u; i < g_nlisteners; i++) {
            g_pfd[n].sock = g_listeners[i].sock;
            g_pfd[n].want = PORT_EV_IN;
            g_pconn[n] = NULL;
            n++;
        }
    }
    for (i = 0u; i < g_nlive; i++) {
        conn *c = g_live[i];
        uint32_t want = 0u;
        if (c->closing) {
            continue;
        }
        if (c->lingering ||
            (!c->read_paused && !c->peer_closed && !c->rx_waiting &&
             (c->rx_len < (uint32_t)CFG_BUF_BYTES))) {
            want |= PORT_EV_IN;
        }
        if (c->tx_off < c->tx_len) {
            want |= PORT_EV_OUT;
        }
        g_pfd[n].sock = c->sock;
        g_pfd[n].want = want;
        g_pconn[n] = c;
        n++;
    }
    for (i = 0u; i < g_nwatch; i++) {
        g_pfd[n].sock = g_watch[i].sock;
        g_pfd[n].want = g_watch[i].want;
        g_pconn[n] = NULL;
        n++;
    }
    return n;
}

/* Callbacks of the watched sockets that got something this turn. */
static void run_watches(size_t from, size_t n)
{
    size_t i;
    for (i = from; i < n; i++) {
        uint32_t got = g_pfd[i].got;
        if (got != 0u) {
            const watch_t *w = watch_find(g_pfd[i].sock);
            if (w != NULL) {
                w->fn(w->ctx, w->sock, got);
            }
        }
    }
}

/* Conns lent a tx from the queue get their on_drained; what they leave
 * empty goes back (and may be lent on), until nothing is due. */
static void grant_and_settle(void)
{
    for (;;) {
        conn *c;
        settle_touched();
        c = q_pop(&g_granted);
        if (c == NULL) {
            break;
        }
        touch(c);
        if (!c->closing && (c->lst->proto->on_drained != NULL) && !c->lingering) {
            c->lst->proto->on_drained(c);
        }
    }
}

static void one_turn(bool accepting, int timeout_ms)
{
    size_t n;
    size_t i;
    size_t first_conn = accepting ? g_nlisteners : 0u;
    reap();
    n = build_poll_set(accepting);
    (void)port_poll(g_pfd, n, timeout_ms);
    g_stats.turns++;
    for (i = 0u; i < first_conn; i++) {
        if ((g_pfd[i].got & PORT_EV_IN) != 0u) {
            accept_some(&g_listeners[i]);
        }
    }
    for (i = first_conn; i < n; i++) {
        conn *c = g_pconn[i];
        uint32_t got = g_pfd[i].got;
        if (c == NULL) {
            run_watches(i, n);   /* the watched sockets close the set */
            break;
        }
        if ((got == 0u) || c->closing) {
            continue;
        }
        if ((got & (PORT_EV_IN | PORT_EV_ERR)) != 0u) {
            do_read(c, ((got & PORT_EV_ERR) != 0u) && ((got & PORT_EV_IN) == 0u));
        }
        if (!c->closing && ((got & (PORT_EV_OUT | PORT_EV_ERR)) != 0u)) {
            do_write(c);
        }
        /* A response produced by on_readable goes out in the same turn when
         * the socket has room: most requests finish in one turn. */
        if (!c->closing && (c->tx_off < c->tx_len) && ((got & PORT_EV_OUT) == 0u)) {
            do_write(c);
        }
        if (!c->closing && c->peer_closed && (c->tx_off == c->tx_len) && !c->lingering) {
            c->lst->proto->on_readable(c);
            if (!c->closing && (c->tx_off == c->tx_len)) {
                conn_fail(c, ST_CLOSED);
            }
        }
        if (!c->closing) {
            settle(c);
        }
    }
    grant_and_settle();
    timer_run();
    if (g_turn_hook != NULL) {
        g_turn_hook();
    }
    grant_and_settle();
}

void net_turn(int timeout_ms)
{
    static uint64_t last_sweep;
    uint64_t now;
    int timeout = timer_next_ms(timeout_ms);
    if ((g_nlive > 0u) && (timeout > (int)SWEEP_MS)) {
        timeout = (int)SWEEP_MS;
    }
    one_turn(true, timeout);
    now = clock_mono_ms();
    if ((now - last_sweep) >= SWEEP_MS) {
        last_sweep = now;
        sweep_deadlines(now);
    }
}

void net_run(void (*on_first_turn)(void))
{
    uint64_t grace_end;
    size_t i;
    if (on_first_turn != NULL) {
        on_first_turn();
    }
    while (!g_stop && !port_stop_requested()) {
        net_turn(POLL_CAP_MS);
    }
    LOG_I("net", "stopping: closing listeners, finishing %u connection(s)",
          (unsigned)g_nlive);
    for (i = 0u; i < g_nlisteners; i++) {
        port_close(g_listeners[i].sock);
    }
    for (i = 0u; i < g_nlive; i++) {
        conn *c = g_live[i];
        if (!c->closing && !c->lingering && (c->lst->proto->on_stop != NULL)) {
            c->lst->proto->on_stop(c);
        }
    }
    grace_end = clock_mono_ms() + (uint64_t)CFG_SHUTDOWN_GRACE_MS;
    for (;;) {
        bool busy = false;
        for (i = 0u; i < g_nlive; i++) {
            conn *c = g_live[i];
            if ((c->tx_off == c->tx_len) || c->lingering) {
                c->closing = true;
            } else {
                c->close_after_flush = true;
                busy = true;
            }
        }
        reap();
        if (!busy || (clock_mono_ms() >= grace_end)) {
            break;
        }
        one_turn(false, (int)SWEEP_MS);
    }
    for (i = 0u; i < g_nlive; i++) {
        g_live[i]->closing = true;
    }
    reap();
}
