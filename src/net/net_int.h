/*
 * net_int.h - what the three parts of net/ share: conn.c (connections and
 * the buffers lent to them), loop.c (the turn: wait, dispatch, deadlines,
 * watched sockets) and listen.c (listeners, accepting, refusing). Not for
 * other layers: their contract is conn.h.
 */
#ifndef ROOST_NET_INT_H
#define ROOST_NET_INT_H

#include "net/conn.h"

/* A port tag (port_watch): the kind in the top two bits, then for watched
 * sockets a generation (so an event of a socket unwatched earlier in the
 * turn never reaches the socket that took its slot), then the index. */
#define NET_TAG_CONN 0u
#define NET_TAG_LISTENER 1u
#define NET_TAG_WATCH 2u
#define NET_TAG_KIND(t) ((t) >> 30)
#define NET_TAG_INDEX(t) ((t) & 0xFFFFu)
#define NET_TAG_GEN(t) (((t) >> 16) & 0x3FFFu)
#define NET_TAG(kind, gen, index) \
    (((uint32_t)(kind) << 30) | (((uint32_t)(gen) & 0x3FFFu) << 16) | ((uint32_t)(index) & 0xFFFFu))

/* Deadlines are checked this often (ms). */
#define NET_SWEEP_MS 50u

typedef struct {
    pool_t *conns;
    pool_t *bufs;
    net_stats_t stats;
    conn *live[CFG_MAX_CONNS];   /* conns in use (conn.live_i is the index) */
    size_t nlive;
    conn *closing;               /* conns to close at the top of the next turn */
    conn *dirty;                 /* conns whose interest may have changed */
    conn *released;              /* conns whose tx hold was released: write them */
    uint32_t holds;              /* tx holds out (conn_tx_hold) */
    /* the monotonic clock read once per turn, after the wait: what the
     * turn's deadlines and I/O stamps are measured from (ms granularity;
     * a turn is far shorter than any deadline) */
    uint64_t now_ms;
} net_state;

extern net_state g_net;

/* conn.c */
/* Output is pending on c: bytes in tx or a file segment behind them. */
bool net_tx_more(const conn *c);
void net_conns_init(pool_t *conns, pool_t *bufs);
/* c's state changed in a way that may change what it waits for: its
 * interest is brought up to date before the next wait. */
void net_dirty(conn *c);
/* What c waits for now (PORT_EV_*). */
uint32_t net_conn_want(const conn *c);
/* Bring the interest of every dirty conn up to date (before a wait). */
void net_flush_dirty(void);
/* Close and free every conn marked closing (the top of a turn). A freed
 * conn may still be on the dirty list: flush it before any conn is opened. */
void net_reap(void);
/* A new conn for socket s on listener l, or NULL when the pool is full. */
conn *net_conn_open(listener *l, port_sock s);
/* Read / write what the socket has room for, within the turn's budgets. */
void net_do_read(conn *c, bool hangup);
void net_do_write(conn *c);
/* c's I/O of this turn is done: give back what it holds empty. */
void net_settle(conn *c);
/* Conns lent a tx from the queue get their on_drained; then everything
 * touched gives back what it holds empty. */
void net_grant_and_settle(void);
/* The next conn whose tx hold was released (conn_tx_release), taken off
 * the released list; NULL when none is left. */
conn *net_released_pop(void);
/* Write the conns lent a tx since the last settle that have output
 * pending (after the turn hook: what the streams were fed), unless held,
 * closing, lingering or half-closed by the peer (those keep the usual
 * path). */
void net_write_fresh(void);
/* The oldest idle keep-alive conn, marked closing (it frees its slot at
 * the top of the next turn); false when none is idle. */
bool net_reclaim_idle(void);
/* Deadlines of every conn (every SWEEP_MS). */
void net_sweep_deadlines(uint64_t now);
/* The server stops: every conn says goodbye (proto->on_stop). */
void net_conns_stop(void);
/* Mark conns closing for the shutdown; true while some still write. */
bool net_conns_draining(bool final);

/* listen.c */
void net_listeners_init(void);
/* Sockets accepted while the pool was full become conns (the top of a
 * turn, after the reclaimed conns closed); true when any did. */
bool net_listeners_adopt(void);
/* Accept what waits on listener index i. */
void net_accept(size_t i);
/* Watch or stop watching the listeners for new connections; resume those
 * whose accept pause is over. Returns ms until the next resume, or -1. */
int net_listeners_arm(bool accepting, uint64_t now);
void net_listeners_close(void);

/* tls.c (a conn of a TLS listener; built with mbedtls, CFG_WITH_TLS) */
#if CFG_WITH_TLS
typedef struct tls_sess tls_sess;
/* A session for a new connection on l (set up with l's certificate), or
 * NULL when the limits refuse it (counted, logged once per episode). */
tls_sess *net_tls_admit(listener *l);
/* c takes ts; its handshake starts (deadline CONN_DL_TLS). */
void net_tls_attach(conn *c, tls_sess *ts);
/* c closes: its session goes back. */
void net_tls_detach(conn *c);
bool net_tls_handshaking(const conn *c);
/* What the handshake waits for (PORT_EV_IN or PORT_EV_OUT). */
uint32_t net_tls_want(const conn *c);
/* One step of the handshake; true when it is done (proto->on_open ran). A
 * failure fails the conn. */
bool net_tls_step(conn *c);
/* The handshake deadline passed: counted, the conn fails. */
void net_tls_timeout(conn *c);
/* port_recv / port_send through the session (same statuses). */
st_t net_tls_recv(conn *c, char *buf, size_t cap, size_t *n);
st_t net_tls_send(conn *c, const char *buf, size_t len, size_t *n);
/* Best-effort close_notify before a half-close. */
void net_tls_close_notify(conn *c);
/* Some conn wants input that mbedtls holds already; read each now. */
bool net_tls_any_pending(void);
void net_tls_fire_pending(void);
#endif

/* loop.c */
/* Handle readiness `got` of c as if its socket had reported it. */
void net_conn_fire(conn *c, uint32_t got);
void net_watches_init(void);
/* The callback of a watched socket that fired (tag of kind NET_TAG_WATCH). */
void net_watch_fire(uint32_t tag, uint32_t got);

#endif
