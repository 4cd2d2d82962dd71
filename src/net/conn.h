/*
 * conn.h - connections from the fixed pool, the buffers lent to them, and
 * the loop (net/conn.c, net/loop.c, net/listen.c).
 *
 * net/ knows bytes, not HTTP. A listener carries a protocol (conn_proto: a
 * table of callbacks) that http/ implements; the loop calls it when bytes
 * arrive, when the tx buffer drains and when a deadline passes.
 *
 * Ownership and lifetime:
 * - Every conn comes from the pool of CFG_MAX_CONNS and holds only its
 *   state (socket, deadlines, flags, buffer positions: about 100 bytes).
 *   Its rx and tx buffers are lent from one buffer pool (CFG_BUFS buffers of
 *   CFG_BUF_BYTES) while bytes are in flight: rx when bytes arrive, tx when
 *   output starts; both go back as soon as they are empty at the end of a
 *   callback (tx stays while pinned: a response still being produced).
 *   An idle keep-alive connection holds no buffer.
 * - The pool empty (written down in DESIGN.md): a connection with nothing
 *   to read into is not read (it waits in a FIFO, its socket is not polled
 *   for input, so TCP pushes back on the client); output that finds no tx
 *   buffer waits in a second FIFO and the protocol's on_drained runs once
 *   one is lent to it. The last CFG_BUF_TX_RESERVE buffers are lent only as
 *   tx, so requests already read can always be answered and the pool cannot
 *   deadlock on connections that each hold an rx and wait for a tx. While
 *   connections wait for rx, a request stalled in rx (a head incomplete
 *   CFG_RX_STALL_MS after its connection opened, a body silent that long)
 *   gets its deadline early (408) and gives its rx back, so clients that
 *   trickle requests cannot hold every rx for the whole header timeout. Waits are counted (net_stats) and logged once per episode;
 *   nothing grows and nothing is dropped silently.
 * - Errors stick: conn_fail keeps the first status and schedules the close.
 *   The close happens at the top of the next loop turn (never inside a
 *   callback), after proto->on_close has released what the protocol holds.
 * - conn_close_after_flush: write what is in tx, half-close, discard input
 *   for a short linger (so the peer reads the response instead of a reset),
 *   then close.
 * - A file segment (conn_tx_file) may follow tx's bytes: it is sent with
 *   port_send_file once they are out, and tx takes nothing more until it
 *   has gone. conn_recv_into reads the socket into a protocol's own buffer
 *   (a streamed request body).
 * - TLS (a listener with a certificate, net/tls.h): the bytes above are
 *   the plaintext; net/ runs the handshake and the records under them, so a
 *   protocol does not know. conn_tx_file is ST_UNSUPPORTED on such a conn
 *   (the protocol copies through tx, as on a port without sendfile).
 * - Zero-copy output: conn_tx_buf gives the free room at the end of tx
 *   (lending a buffer first when the conn has none), conn_tx_ack commits n
 *   bytes of it. Room 0 is backpressure: tx is full, or no buffer was free
 *   (then the conn is queued and on_drained follows when it gets one).
 * - Holding tx: a handler that answers before what it answers for is
 *   durable (an observability event, committed with the others of its
 *   loop turn at the end of the turn) holds the conn's tx
 *   (conn_tx_hold): nothing of tx is sent and the conn does not wait for
 *   writability while held; more output may be appended behind (a
 *   pipelined response). conn_tx_release(token, true) lets it go: the conn
 *   is written in the same turn, after the turn hook. With false the conn
 *   is failed (conn_fail): its held answer is never sent, the client sees
 *   the connection close without it (and retries). The token is the conn's
 *   pool index and a generation that changes at every open, so releasing
 *   a token of a conn that closed, or whose slot was taken again, does
 *   nothing. While any hold is out, the loop's wait does not sleep.
 */
#ifndef ROOST_CONN_H
#define ROOST_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "config.h"
#include "core/pool.h"
#include "core/status.h"
#include "port.h"

struct conn;
struct listener;
struct tls_srv;
struct tls_sess;

typedef enum {
    CONN_DL_NONE = 0,
    CONN_DL_IDLE,       /* keep-alive, waiting for the next request */
    CONN_DL_HEADER,     /* request head incomplete */
    CONN_DL_BODY,       /* request body stalled */
    CONN_DL_SEND,       /* peer not reading our output */
    CONN_DL_LINGER,     /* half-closed, discarding input before close */
    CONN_DL_PROTO,      /* protocol-defined (streams, pings) */
    CONN_DL_TLS         /* TLS handshake not done (net's own: the protocol never sees it) */
} conn_deadline;

typedef struct {
    /* A new connection was accepted on this listener (on a TLS listener:
     * its handshake is done; until then no callback below runs for it,
     * on_close included). */
    void (*on_open)(struct conn *c);
    /* New bytes are in rx (or the peer half-closed: conn_peer_closed()). */
    void (*on_readable)(struct conn *c);
    /* tx became empty after pending output was written. */
    void (*on_drained)(struct conn *c);
    /* A deadline set with conn_set_deadline passed. */
    void (*on_deadline)(struct conn *c, conn_deadline which);
    /* The conn is about to be closed and freed: release protocol resources. */
    void (*on_close)(struct conn *c);
    /* The pool is full and nothing could be reclaimed: write a short refusal
     * into buf (at most cap bytes) and return its length; it is sent
     * best-effort on the raw socket, which is then closed. */
    size_t (*on_refuse)(const struct listener *l, char *buf, size_t cap);
    /* The server is stopping: say goodbye (a WebSocket close 1001) before
     * the remaining output is flushed. NULL: nothing to say. */
    void (*on_stop)(struct conn *c);
} conn_proto;

typedef struct listener {
    port_sock sock;
    uint8_t index;            /* position in the listener table */
    uint16_t port;            /* bound port (after port 0 resolution) */
    const conn_proto *proto;
    void *ctx;                /* protocol's per-listener data (the service) */
    char name[16];            /* family name for logs */
    uint64_t accepted;
    uint64_t refused;         /* 503 on a full pool */
    uint64_t reclaimed;       /* idle keep-alive conns closed to make room */
    uint64_t accept_pauses;   /* accepting paused: out of descriptors */
    uint64_t paused_until_ms; /* not accepting before this (0: accepting) */
    bool watched;             /* watched for new connections now */
    port_sock parked;         /* accepted, waiting for a reclaimed slot */
    struct tls_srv *tls;      /* its certificate (net/tls.h), NULL: plain TCP */
} listener;

typedef struct conn {
    port_sock sock;
    listener *lst;
    st_t err;                 /* sticky first error, ST_OK while healthy */
    bool closing;             /* reap at the top of the next turn */
    bool close_after_flush;
    bool lingering;
    bool peer_closed;         /* read side saw EOF */
    bool read_paused;         /* protocol does not want more input now */
    bool idle;                /* reclaimable: between keep-alive requests */
    bool tx_pinned;           /* keep tx while empty (a response is being produced) */
    bool rx_waiting;          /* queued for an rx buffer */
    bool tx_waiting;          /* queued for a tx buffer */
    bool touched;             /* took a buffer since the last settle */
    bool granted;             /* got a tx buffer from the queue: on_drained due */
    bool dirty;               /* interest to bring up to date before the next wait */
    uint8_t watched;          /* interest registered with the port, + 1 (0: none) */
    uint32_t live_i;          /* index in the live list */
    conn_deadline dl_kind;
    uint64_t dl_at_ms;
    uint64_t last_io_ms;
    uint64_t opened_ms;
    char *rx;                 /* lent rx buffer (CFG_BUF_BYTES), or NULL */
    char *tx;                 /* lent tx buffer (CFG_BUF_BYTES), or NULL */
    uint32_t rx_len;
    uint32_t tx_off;          /* first unsent byte */
    uint32_t tx_len;          /* end of pending output */
    /* After tx's bytes: a file segment sent straight from the file
     * (conn_tx_file); the protocol owns the file. */
    port_file tx_file;
    uint64_t tx_file_off;
    uint64_t tx_file_left;
    struct conn *rx_next;     /* rx wait queue */
    struct conn *tx_next;     /* tx wait queue, then the grant list */
    struct conn *touch_next;  /* settle list */
    struct conn *dirty_next;  /* dirty list */
    struct conn *close_next;  /* close list */
    struct conn *release_next; /* released list (conn_tx_release) */
    uint16_t tx_holds;        /* conn_tx_hold calls not released yet: tx is not sent */
    bool released;            /* on the released list: written after the turn hook */
    bool proto_open;          /* proto->on_open ran (a TLS conn: once its handshake is done) */
    struct tls_sess *tls;     /* its TLS session (net/tls.h), NULL: plain TCP */
    /* Last, and not cleared when the conn is taken from the pool: the
     * generation of the slot, incremented at every open (never 0), which
     * makes a hold token of an earlier conn of this slot stale. */
    uint16_t gen;
} conn;

/* One lent buffer (app/pools.def: X(bufs, net_buf, CFG_BUFS)). */
typedef struct {
    char bytes[CFG_BUF_BYTES];
} net_buf;

/* ---- used by protocols ---- */
void conn_fail(conn *c, st_t st);
void conn_close_after_flush(conn *c);
/* One read from c's socket straight into buf (a protocol's own buffer:
 * a streamed request body), counted as net's reads are. ST_OK with *n > 0;
 * ST_AGAIN when the socket is empty; ST_CLOSED at the end of input (the
 * conn is peer_closed); another error fails the conn. */
st_t conn_recv_into(conn *c, char *buf, size_t cap, size_t *n);
/* Drop the first n bytes of rx (a request was consumed). */
void conn_rx_consume(conn *c, size_t n);
/* Free room at the end of tx, lending a buffer when the conn holds none;
 * NULL with room 0 when none is free (the conn is queued: on_drained runs
 * once it has one). */
char *conn_tx_buf(conn *c, size_t *room);
void conn_tx_ack(conn *c, size_t n);
size_t conn_tx_pending(const conn *c);
/* After what tx holds, send `len` bytes of file f from byte off straight
 * from the file (port_send_file: no copy through tx, in writes of at most
 * CFG_WRITE_BUDGET_BYTES). The protocol keeps f open until on_drained (all
 * of it went) or on_close; until then nothing more goes into tx
 * (conn_tx_buf gives room 0) and conn_tx_pending counts the segment. A
 * file that ends early fails the conn. ST_UNSUPPORTED when the port cannot
 * send from a file (port_send_file_supported): the protocol copies the
 * file through tx itself. tx must be lent (and pinned). */
st_t conn_tx_file(conn *c, port_file f, uint64_t off, uint64_t len);
/* Send what tx holds now, without waiting for the loop and without any
 * callback (on_drained does not run): for a protocol that needs an empty
 * tx before it can go on (a pipelined request that must not be answered
 * into the rest of the room). Returns the bytes still pending; a socket
 * error fails the conn (the close follows as usual). */
size_t conn_tx_send_now(conn *c);
/* Keep tx lent while it is empty: a response producer refills it at each
 * drain (its state is kept per tx buffer, see conn_tx_index). */
void conn_tx_pin(conn *c, bool pinned);
/* Index of the lent rx / tx buffer in [0, CFG_BUFS): protocols keep state
 * that lives exactly as long as a buffer (a request, a response producer)
 * in arrays indexed by it. The buffer must be lent. */
uint32_t conn_rx_index(const conn *c);
uint32_t conn_tx_index(const conn *c);
void conn_set_deadline(conn *c, conn_deadline kind, uint64_t ms_from_now);
void conn_pause_read(conn *c, bool paused);
void conn_set_idle(conn *c, bool idle);
uint32_t conn_id(const conn *c);
/* Hold c's tx (see the top of this file); returns the token to release it
 * with, never CONN_HOLD_NONE except for a conn without a socket (a
 * stand-in, nothing to hold). Holds nest: tx goes when the last is
 * released. */
#define CONN_HOLD_NONE 0u
uint32_t conn_tx_hold(conn *c);
/* A token naming c as it is now (its pool index and open generation, the
 * form of a hold token), and the conn a token names: NULL when that conn
 * closed or its slot was opened again since (stale). */
uint32_t conn_token(const conn *c);
conn *conn_by_token(uint32_t token);
/* Release a hold: ok lets tx go (written in this turn after the turn
 * hook), !ok fails the conn (closed at the top of the next turn, what was
 * held is never sent). A stale token (the conn closed, the slot reused,
 * CONN_HOLD_NONE) does nothing. */
void conn_tx_release(uint32_t token, bool ok);
/* Holds out now (over every conn). */
uint32_t net_tx_holds(void);

/* ---- the loop ---- */
typedef struct {
    uint64_t turns;
    uint64_t accepted;
    uint64_t closed;
    uint64_t refused;
    uint64_t reclaimed;
    uint64_t timeouts;
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t sends;             /* send calls that wrote bytes */
    uint64_t reads;             /* recv calls on client sockets */
    uint64_t rx_waits;        /* reads deferred: no rx buffer free */
    uint64_t tx_waits;        /* outputs queued: no tx buffer free */
    uint64_t rx_reclaimed;    /* stalled requests ended early to lend their rx */
    uint64_t accept_pauses;   /* accepting paused for CFG_ACCEPT_PAUSE_MS: no descriptors */
    uint32_t bufs_used;       /* buffers lent now */
    uint32_t bufs_high;
    uint32_t rx_queue;        /* conns waiting for rx now */
    uint32_t tx_queue;        /* conns waiting for tx now */
} net_stats_t;

/* conns: the pool of CFG_MAX_CONNS conn objects; bufs: CFG_BUFS net_buf
 * (both declared in app/pools.def). */
void net_init(pool_t *conns, pool_t *bufs);
/* Open a listener; ST_ADDRINUSE etc. from the port; ST_NOMEM when
 * CFG_MAX_LISTENERS are open. */
st_t net_listen(const char *name, const char *host, uint16_t port,
                const conn_proto *proto, void *ctx, listener **out);
/* Run until the port reports a stop signal; then stop accepting, let
 * in-flight responses finish for up to CFG_SHUTDOWN_GRACE_MS, close all.
 * `on_first_turn` runs once just before the first poll (the ready line). */
void net_run(void (*on_first_turn)(void));
/* One turn of the loop (wait up to timeout_ms, I/O, timers, deadlines):
 * what net_run repeats; unit tests drive the loop with it. */
void net_turn(int timeout_ms);
/* Ask the loop to stop (as a signal would). */
void net_stop(void);
const net_stats_t *net_stats(void);
uint32_t net_conns_used(void);
uint32_t net_conns_high(void);
size_t net_listener_count(void);
const listener *net_listener_at(size_t i);
/* Register a hook called once per turn after I/O (bus delivery, out/ driving). */
void net_set_turn_hook(void (*fn)(void));
/* Write the conns whose tx hold was released (conn_tx_release) now. The
 * loop does it after the turn hook; a hook that releases holds calls it
 * itself to send those answers before its other work. Not from inside a
 * protocol callback. */
void net_send_released(void);

/* Sockets the loop watches for another module (outbound HTTP: libcurl's
 * connections and c-ares' queries), at most CFG_NET_WATCHES at once. The
 * callback runs in the turn the socket is ready, with what it got
 * (PORT_EV_IN / PORT_EV_OUT / PORT_EV_ERR). want 0 removes the socket (as
 * net_unwatch). ST_OK, or ST_FULL when the table is full (nothing changed);
 * ST_INVAL for PORT_SOCK_NONE or a NULL callback with want != 0. A callback
 * may watch, change or unwatch any socket, its own included. */
typedef void (*net_watch_fn)(void *ctx, port_sock s, uint32_t got);
st_t net_watch(port_sock s, uint32_t want, net_watch_fn fn, void *ctx);
void net_unwatch(port_sock s);
/* Sockets watched now, and the most ever. */
uint32_t net_watches_used(void);
uint32_t net_watches_high(void);

#endif
