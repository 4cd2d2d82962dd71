/*
 * conn.c - connections from the fixed pool and the buffers lent to them
 * (net/conn.h); the loop that drives them is loop.c, listeners listen.c.
 *
 * Implementation notes:
 * - Buffers (conn.h): rx is lent in net_do_read, tx in conn_tx_buf. A conn
 *   that took one is put on the settle list; at the end of its I/O and at
 *   the end of the turn (after timers and the turn hook, which write to
 *   other conns) settle() gives back an empty rx and an empty, unpinned tx.
 *   After the hook, the conns on the settle list with output pending are
 *   written first (net_write_fresh): what the hook gave the streams leaves
 *   in the same turn.
 *   A buffer given back goes first to the head of the tx queue (the conn is
 *   put on the grant list and its on_drained runs in the grant phase of
 *   the turn, never inside the caller that released it), else to the head
 *   of the rx queue while more than CFG_BUF_TX_RESERVE stay free, else back
 *   to the pool. A conn takes a buffer directly only when nobody waits, so
 *   the queues are served in order.
 * - Interest: what a conn waits for (net_conn_want) follows from its state
 *   (rx room, pending tx, paused, lingering). Every change of that state
 *   marks the conn dirty (net_dirty); before each wait the loop brings the
 *   dirty conns' interest up to date with one port_watch each, and only
 *   those: an idle connection costs nothing per turn. Debug builds check
 *   every conn after the flush, so a change that forgot net_dirty fails the
 *   tests.
 * - Closing: conn_fail marks a conn and puts it on the close list; it is
 *   closed and freed at the top of the next turn (net_reap), never inside
 *   a callback and never while events of its socket may still be handled.
 * - Pool full on accept (listen.c): the idle keep-alive conn that has
 *   waited longest is marked closing and the new connection waits in the
 *   listen backlog for the next turn, when the slot is free.
 */
#include "net/net_int.h"

#include <stddef.h>
#include <string.h>

#include "core/assert.h"
#include "core/clock.h"
#include "core/log.h"

#define LINGER_MS 2000u

net_state g_net;

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

/* ---- conn API for protocols ---------------------------------------------- */

void conn_fail(conn *c, st_t st)
{
    if (c->err == ST_OK) {
        c->err = st;
    }
    if (!c->closing) {
        c->closing = true;
        c->close_next = g_net.closing;
        g_net.closing = c;
    }
}

uint32_t conn_id(const conn *c)
{
    return pool_index(g_net.conns, c);
}

/* ---- tx holds -------------------------------------------------------------- */

#define HOLD_INDEX(t) ((t) & 0xFFFFu)
#define HOLD_GEN(t) ((uint16_t)((t) >> 16))

_Static_assert(CFG_MAX_CONNS <= 0xFFFF, "a conn index fits a hold token");

uint32_t conn_tx_hold(conn *c)
{
    if (c->sock == PORT_SOCK_NONE) {
        return CONN_HOLD_NONE;
    }
    ASSERT(c->tx_holds < UINT16_MAX);
    if (NEVER(c->tx_holds == UINT16_MAX)) {
        return CONN_HOLD_NONE;
    }
    c->tx_holds++;
    g_net.holds++;
    net_dirty(c);
    return ((uint32_t)c->gen << 16) | conn_id(c);
}

uint32_t conn_token(const conn *c)
{
    return ((uint32_t)c->gen << 16) | conn_id(c);
}

conn *conn_by_token(uint32_t token)
{
    conn *c = NULL;
    if ((token != CONN_HOLD_NONE) && (HOLD_INDEX(token) < g_net.conns->count)) {
        c = (conn *)pool_at(g_net.conns, HOLD_INDEX(token));
        if ((c->gen != HOLD_GEN(token)) || (c->sock == PORT_SOCK_NONE) || c->closing) {
            c = NULL;
        }
    }
    return c;
}

void conn_tx_release(uint32_t token, bool ok)
{
    conn *c;
    if ((token == CONN_HOLD_NONE) || (HOLD_INDEX(token) >= g_net.conns->count)) {
        return;
    }
    c = (conn *)pool_at(g_net.conns, HOLD_INDEX(token));
    if ((c->gen != HOLD_GEN(token)) || (c->sock == PORT_SOCK_NONE) || (c->tx_holds == 0u)) {
        return;     /* stale: that conn closed (its holds went with it) */
    }
    c->tx_holds--;
    g_net.holds--;
    if (!ok) {
        conn_fail(c, ST_IO);
    } else if ((c->tx_holds == 0u) && !c->closing && !c->released) {
        net_dirty(c);
        c->released = true;
        c->release_next = g_net.released;
        g_net.released = c;
    } else {
        /* still held, or closing */
    }
}

uint32_t net_tx_holds(void)
{
    return g_net.holds;
}

conn *net_released_pop(void)
{
    conn *c = g_net.released;
    if (c != NULL) {
        g_net.released = c->release_next;
        c->release_next = NULL;
        c->released = false;
    }
    return c;
}

void net_dirty(conn *c)
{
    /* (a conn without a socket is a stand-in: http's refusal renders into one) */
    if (!c->dirty && (c->sock != PORT_SOCK_NONE)) {
        c->dirty = true;
        c->dirty_next = g_net.dirty;
        g_net.dirty = c;
    }
}

uint32_t net_conn_want(const conn *c)
{
    uint32_t want = 0u;
#if CFG_WITH_TLS
    if ((c->tls != NULL) && net_tls_handshaking(c)) {
        return net_tls_want(c);
    }
#endif
    if (c->lingering ||
        (!c->read_paused && !c->peer_closed && !c->rx_waiting &&
         (c->rx_len < (uint32_t)CFG_BUF_BYTES))) {
        want |= PORT_EV_IN;
    }
    if (net_tx_more(c) && (c->tx_holds == 0u)) {
        want |= PORT_EV_OUT;
    }
    return want;
}

static void rewatch(conn *c)
{
    uint32_t want = net_conn_want(c);
    if ((uint32_t)c->watched != (want + 1u)) {
        st_t st = port_watch(c->sock, want, NET_TAG(NET_TAG_CONN, 0u, conn_id(c)));
        if (st == ST_OK) {
            c->watched = (uint8_t)(want + 1u);
        } else {
            /* The OS refused (out of memory): the conn cannot be served. */
            LOG_W("net", "%s: cannot watch a connection: %s", c->lst->name, status_str(st));
            conn_fail(c, st);
        }
    }
}

void net_flush_dirty(void)
{
    while (g_net.dirty != NULL) {
        conn *c = g_net.dirty;
        g_net.dirty = c->dirty_next;
        c->dirty_next = NULL;
        c->dirty = false;
        if (!c->closing) {
            rewatch(c);
        }
    }
#ifndef NDEBUG
    {
        size_t i;
        for (i = 0u; i < g_net.nlive; i++) {
            const conn *c = g_net.live[i];
            /* a state change without net_dirty would leave a stale interest,
             * a conn still marked dirty would never be flushed again */
            ASSERT(c->closing || ((uint32_t)c->watched == (net_conn_want(c) + 1u)));
            ASSERT(c->closing || !c->dirty);
        }
    }
#endif
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
    net_dirty(c);
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
    net_dirty(c);
    if (!c->touched) {
        c->touched = true;
        c->touch_next = g_touched;
        g_touched = c;
    }
}

static uint32_t bufs_free(void)
{
    return g_net.bufs->count - g_net.bufs->used;
}

static void note_wait(const conn *c, const char *what)
{
    if (!g_wait_logged) {
        g_wait_logged = true;
        LOG_W("net", "%s: %u of %u buffers lent, %s waits its turn (logged once until the "
              "queues empty)", c->lst->name, (unsigned)g_net.bufs->used, (unsigned)CFG_BUFS, what);
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
    pool_put(g_net.bufs, b);
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
        b = (char *)pool_get(g_net.bufs);
    }
    if (b == NULL) {
        if (!c->rx_waiting) {
            q_push(&g_rxq, c);
            g_net.stats.rx_waits++;
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
        net_dirty(c);
        char *b = c->rx;
        c->rx = NULL;
        c->rx_len = 0u;
        buf_give_back(b);
    }
}

static void tx_release(conn *c)
{
    if (c->tx != NULL) {
        net_dirty(c);
        char *b = c->tx;
        c->tx = NULL;
        c->tx_off = 0u;
        c->tx_len = 0u;
        c->tx_file = PORT_FILE_NONE;
        c->tx_file_left = 0u;
        buf_give_back(b);
    }
}

/* Give back what c holds empty. */
void net_settle(conn *c)
{
    if ((c->rx != NULL) && (c->rx_len == 0u)) {
        rx_release(c);
    }
    if ((c->tx != NULL) && !net_tx_more(c) && !c->tx_pinned && !c->granted) {
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
            net_settle(c);
        }
    }
}

static bool fresh_output(const conn *c)
{
    return !c->closing && !c->lingering && !c->peer_closed && (c->tx_holds == 0u) &&
           (c->tx != NULL) && net_tx_more(c);
}

void net_write_fresh(void)
{
    conn *c = g_touched;
    /* conns touched meanwhile join at the head: the walk goes on from where
     * it was */
    while (c != NULL) {
        /* A drain refills tx (a stream's next events, from the ring, which
         * nothing adds to meanwhile): write again while the socket takes
         * bytes, so a turn's events leave in this turn. */
        while (fresh_output(c)) {
            uint64_t sent = g_net.stats.bytes_out;
            net_do_write(c);
            if (g_net.stats.bytes_out == sent) {
                break;      /* the socket is full: it waits for writability */
            }
        }
        c = c->touch_next;
    }
}

void conn_rx_consume(conn *c, size_t n)
{
    ASSERT(n <= c->rx_len);
    net_dirty(c);
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
            b = (char *)pool_get(g_net.bufs);
        }
        if (b == NULL) {
            if (!c->tx_waiting && !c->closing) {
                q_push(&g_txq, c);
                g_net.stats.tx_waits++;
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
    /* a file segment still going: nothing may follow it yet */
    *room = (c->tx_file_left > 0u) ? 0u : ((size_t)CFG_BUF_BYTES - c->tx_len);
    return c->tx + c->tx_len;
}

void conn_tx_ack(conn *c, size_t n)
{
    ASSERT((c->tx != NULL) && (n <= ((size_t)CFG_BUF_BYTES - c->tx_len)));
    c->tx_len += (uint32_t)n;
    net_dirty(c);
}

size_t conn_tx_pending(const conn *c)
{
    size_t n = (size_t)c->tx_len - c->tx_off;
    if (c->tx_file_left > 0u) {
        n += (c->tx_file_left > (uint64_t)CFG_BUF_BYTES) ? (size_t)CFG_BUF_BYTES
                                                         : (size_t)c->tx_file_left;
    }
    return n;
}

bool net_tx_more(const conn *c)
{
    return (c->tx_off < c->tx_len) || (c->tx_file_left > 0u);
}

st_t conn_tx_file(conn *c, port_file f, uint64_t off, uint64_t len)
{
    ASSERT((c->tx != NULL) && (c->tx_file_left == 0u));
    if (!port_send_file_supported() || (c->tls != NULL)) {
        return ST_UNSUPPORTED;
    }
    if (NEVER(c->tx == NULL)) {
        return ST_INVAL;
    }
    c->tx_file = f;
    c->tx_file_off = off;
    c->tx_file_left = len;
    net_dirty(c);
    return ST_OK;
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
    return pool_index(g_net.bufs, c->rx);
}

uint32_t conn_tx_index(const conn *c)
{
    ASSERT(c->tx != NULL);
    return pool_index(g_net.bufs, c->tx);
}

void conn_set_deadline(conn *c, conn_deadline kind, uint64_t ms_from_now)
{
    c->dl_kind = kind;
    c->dl_at_ms = (kind == CONN_DL_NONE) ? 0u : (g_net.now_ms + ms_from_now);
}

void conn_pause_read(conn *c, bool paused)
{
    if (c->read_paused != paused) {
        net_dirty(c);
    }
    c->read_paused = paused;
}

void conn_set_idle(conn *c, bool idle)
{
    c->idle = idle;
}

/* ---- internals ------------------------------------------------------------ */

static void conn_free(conn *c)
{
    size_t i = c->live_i;
    if (c->proto_open && (c->lst->proto->on_close != NULL)) {
        c->lst->proto->on_close(c);
    }
#if CFG_WITH_TLS
    if (c->tls != NULL) {
        net_tls_detach(c);
    }
#endif
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
    if (c->released) {
        /* unlink from the released list */
        conn **pp = &g_net.released;
        while ((*pp != NULL) && (*pp != c)) {
            pp = &(*pp)->release_next;
        }
        if (*pp == c) {
            *pp = c->release_next;
        }
        c->released = false;
    }
    /* its holds go with it (a release of their tokens is stale now) */
    g_net.holds -= c->tx_holds;
    c->tx_holds = 0u;
    c->tx_pinned = false;
    rx_release(c);
    tx_release(c);
    port_close(c->sock);
    c->sock = PORT_SOCK_NONE;
    g_net.nlive--;
    g_net.live[i] = g_net.live[g_net.nlive];
    g_net.live[i]->live_i = (uint32_t)i;
    g_net.stats.closed++;
    pool_put(g_net.conns, c);
}

void net_reap(void)
{
    while (g_net.closing != NULL) {
        conn *c = g_net.closing;
        g_net.closing = c->close_next;
        c->close_next = NULL;
        conn_free(c);
    }
}

conn *net_conn_open(listener *l, port_sock s)
{
    conn *c = (conn *)pool_get(g_net.conns);
    if (c == NULL) {
        return NULL;
    }
    c->sock = s;
    c->lst = l;
    c->err = ST_OK;
    c->tx_file = PORT_FILE_NONE;
    c->tx_file_left = 0u;
    /* never 0: a token is never CONN_HOLD_NONE */
    c->gen = (c->gen == UINT16_MAX) ? (uint16_t)1u : (uint16_t)(c->gen + 1u);
    c->opened_ms = g_net.now_ms;
    c->last_io_ms = c->opened_ms;
    c->live_i = (uint32_t)g_net.nlive;
    g_net.live[g_net.nlive] = c;
    g_net.nlive++;
    net_dirty(c);
    return c;
}

bool net_reclaim_idle(void)
{
    conn *oldest = NULL;
    size_t i;
    for (i = 0u; i < g_net.nlive; i++) {
        conn *c = g_net.live[i];
        if (c->idle && !c->closing &&
            ((oldest == NULL) || (c->last_io_ms < oldest->last_io_ms))) {
            oldest = c;
        }
    }
    if (oldest == NULL) {
        return false;
    }
    oldest->lst->reclaimed++;
    g_net.stats.reclaimed++;
    conn_fail(oldest, ST_CLOSED);
    return true;
}

/* One read or write of plaintext: through the TLS session when c has one. */
static st_t io_recv(conn *c, char *buf, size_t cap, size_t *n)
{
#if CFG_WITH_TLS
    if (c->tls != NULL) {
        return net_tls_recv(c, buf, cap, n);
    }
#endif
    return port_recv(c->sock, buf, cap, n);
}

static st_t io_send(conn *c, const char *buf, size_t len, size_t *n)
{
#if CFG_WITH_TLS
    if (c->tls != NULL) {
        return net_tls_send(c, buf, len, n);
    }
#endif
    return port_send(c->sock, buf, len, n);
}

void net_do_read(conn *c, bool hangup)
{
    net_dirty(c);
#if CFG_WITH_TLS
    if ((c->tls != NULL) && !c->lingering && net_tls_handshaking(c) && !net_tls_step(c)) {
        return;     /* the handshake goes on (or failed) */
    }
#endif
    size_t budget = CFG_READ_BUDGET_BYTES;
    /* cppcheck-suppress misra-c2012-15.4 ; deviation (MISRA.md): one break per stop reason */
    while ((budget > 0u) && !c->closing) {
        size_t n = 0u;
        size_t room = (size_t)CFG_BUF_BYTES - c->rx_len;
        size_t ask;
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
        ask = (room < budget) ? room : budget;
        st = io_recv(c, c->rx + c->rx_len, ask, &n);
        g_net.stats.reads++;
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
        g_net.stats.bytes_in += n;
        c->last_io_ms = g_net.now_ms;
        if (n < ask) {
            /* The socket had less than was asked: it is empty now (the
             * common case, one read per readiness event). The loop's wait
             * is level-triggered: bytes that arrive later, or a FIN, wake
             * it again. */
            break;
        }
    }
    if (!c->lingering && !c->closing) {
        c->lst->proto->on_readable(c);
    }
}

st_t conn_recv_into(conn *c, char *buf, size_t cap, size_t *n)
{
    st_t st = io_recv(c, buf, cap, n);
    g_net.stats.reads++;
    if (st == ST_OK) {
        g_net.stats.bytes_in += *n;
        c->last_io_ms = g_net.now_ms;
    } else if (st == ST_CLOSED) {
        c->peer_closed = true;
        net_dirty(c);
    } else if (st != ST_AGAIN) {
        conn_fail(c, st);
    } else {
        /* empty: the next readiness event */
    }
    return st;
}

static void start_linger(conn *c)
{
#if CFG_WITH_TLS
    if (c->tls != NULL) {
        net_tls_close_notify(c);
    }
#endif
    port_shutdown_write(c->sock);
    net_dirty(c);
    c->lingering = true;
    c->rx_len = 0u;
    c->tx_pinned = false;
    touch(c);
    conn_set_deadline(c, CONN_DL_LINGER, LINGER_MS);
}

/* Send from tx until it is empty, the socket is full or budget bytes went;
 * false when the socket failed (the conn is failed). */
static bool send_pending(conn *c, size_t budget)
{
    size_t left_budget = budget;
    while ((c->tx_off < c->tx_len) && (left_budget > 0u)) {
        size_t left = c->tx_len - c->tx_off;
        size_t n = 0u;
        st_t st = io_send(c, c->tx + c->tx_off, (left < left_budget) ? left : left_budget, &n);
        if (st == ST_AGAIN) {
            return true;
        }
        if (st != ST_OK) {
            conn_fail(c, st);
            return false;
        }
        c->tx_off += (uint32_t)n;
        left_budget -= n;
        g_net.stats.bytes_out += n;
        g_net.stats.sends++;
        c->last_io_ms = g_net.now_ms;
    }
    /* then the file segment, once tx's bytes are out */
    while ((c->tx_off == c->tx_len) && (c->tx_file_left > 0u) && (left_budget > 0u)) {
        size_t want = (c->tx_file_left < (uint64_t)left_budget) ? (size_t)c->tx_file_left
                                                                 : left_budget;
        size_t n = 0u;
        st_t st = port_send_file(c->sock, c->tx_file, c->tx_file_off, want, &n);
        if (st == ST_AGAIN) {
            return true;
        }
        if (st != ST_OK) {
            conn_fail(c, st);
            return false;
        }
        c->tx_file_off += n;
        c->tx_file_left -= n;
        left_budget -= n;
        g_net.stats.bytes_out += n;
        g_net.stats.sends++;
        c->last_io_ms = g_net.now_ms;
    }
    return true;
}

size_t conn_tx_send_now(conn *c)
{
    net_dirty(c);
    if ((c->tx != NULL) && !c->closing && !c->lingering && (c->tx_holds == 0u) &&
        send_pending(c, CFG_BUF_BYTES) && !net_tx_more(c)) {
        c->tx_off = 0u;
        c->tx_len = 0u;
    }
    return conn_tx_pending(c);
}

void net_do_write(conn *c)
{
#if CFG_WITH_TLS
    if ((c->tls != NULL) && net_tls_handshaking(c)) {
        (void)net_tls_step(c);
        return;     /* the request comes once it is done: a readiness event */
    }
#endif
    if (c->tx_holds > 0u) {
        return;     /* held: sent once released (conn_tx_release) */
    }
    net_dirty(c);
    if (!send_pending(c, CFG_WRITE_BUDGET_BYTES) || net_tx_more(c)) {
        return;
    }
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
                ((now - c->last_io_ms) >= (uint64_t)NET_SWEEP_MS);
    bool body = (c->dl_kind == CONN_DL_BODY) &&
                ((now - c->last_io_ms) >= (uint64_t)CFG_RX_STALL_MS);
    return head || body;
}

static void reclaim_stalled(uint64_t now)
{
    uint32_t want = g_rxq.n;
    size_t i;
    for (i = 0u; (i < g_net.nlive) && (want > 0u); i++) {
        conn *c = g_net.live[i];
        if ((c->rx != NULL) && (c->tx == NULL) && !c->tx_waiting && !c->closing &&
            rx_stalled(c, now)) {
            conn_deadline kind = c->dl_kind;
            c->dl_kind = CONN_DL_NONE;
            g_net.stats.rx_reclaimed++;
            want--;
            net_dirty(c);
            c->lst->proto->on_deadline(c, kind);
        }
    }
}

void net_sweep_deadlines(uint64_t now)
{
    size_t i;
    if ((g_rxq.n > 0u) && (bufs_free() <= (uint32_t)CFG_BUF_TX_RESERVE)) {
        reclaim_stalled(now);
    }
    for (i = 0u; i < g_net.nlive; i++) {
        conn *c = g_net.live[i];
        if ((c->dl_kind != CONN_DL_NONE) && !c->closing && (now >= c->dl_at_ms)) {
            conn_deadline kind = c->dl_kind;
            c->dl_kind = CONN_DL_NONE;
            g_net.stats.timeouts++;
            if (kind == CONN_DL_LINGER) {
                conn_fail(c, ST_TIMEOUT);
#if CFG_WITH_TLS
            } else if (kind == CONN_DL_TLS) {
                net_tls_timeout(c);
#endif
            } else {
                net_dirty(c);
                c->lst->proto->on_deadline(c, kind);
            }
        }
    }
}


void net_grant_and_settle(void)
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

void net_conns_init(pool_t *conns, pool_t *bufs)
{
    g_net.conns = conns;
    g_net.bufs = bufs;
    /* Buffers are written before they are read: never clear them. A conn's
     * generation outlives it (the tail of conn, left as it was). */
    pool_set_zero_prefix(bufs, 0u);
    pool_set_zero_prefix(conns, offsetof(conn, gen));
    g_rxq = (conn_queue){ Q_RX, NULL, NULL, 0u };
    g_txq = (conn_queue){ Q_TX, NULL, NULL, 0u };
    g_granted = (conn_queue){ Q_GRANT, NULL, NULL, 0u };
    g_touched = NULL;
    g_wait_logged = false;
    g_net.nlive = 0u;
    g_net.closing = NULL;
    g_net.dirty = NULL;
    g_net.released = NULL;
    g_net.holds = 0u;
    (void)memset(&g_net.stats, 0, sizeof g_net.stats);
}

const net_stats_t *net_stats(void)
{
    g_net.stats.bufs_used = g_net.bufs->used;
    g_net.stats.bufs_high = g_net.bufs->high;
    g_net.stats.rx_queue = g_rxq.n;
    g_net.stats.tx_queue = g_txq.n;
    return &g_net.stats;
}

uint32_t net_conns_used(void)
{
    return g_net.conns->used;
}

uint32_t net_conns_high(void)
{
    return g_net.conns->high;
}

void net_conns_stop(void)
{
    size_t i;
    for (i = 0u; i < g_net.nlive; i++) {
        conn *c = g_net.live[i];
        if (!c->closing && !c->lingering && c->proto_open && (c->lst->proto->on_stop != NULL)) {
            net_dirty(c);
            c->lst->proto->on_stop(c);
        }
    }
}

bool net_conns_draining(bool final)
{
    bool busy = false;
    size_t i;
    for (i = 0u; i < g_net.nlive; i++) {
        conn *c = g_net.live[i];
        if (final || !net_tx_more(c) || c->lingering) {
            conn_fail(c, ST_CLOSED);
        } else {
            c->close_after_flush = true;
            busy = true;
        }
    }
    net_reap();
    return busy;
}
