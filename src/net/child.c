/*
 * child.c - child processes run from the loop (net/child.h).
 *
 * Implementation notes:
 * - A slot is taken by child_run and given back once its child has been
 *   reaped and its output pipes are closed. A cancelled child (child_cancel,
 *   child_stop_all, a child_run that failed after the spawn) keeps its slot,
 *   with no caller, until it is reaped: the pool counts processes that
 *   exist, and no pid is forgotten unreaped.
 * - Reading: each readiness event of stdout or stderr reads until the pipe
 *   would block, into what is left of its buffer; a full buffer is probed
 *   with one more byte, and a byte there is a flood: SIGKILL, ST_TOOBIG,
 *   the output as it was at the cut. The reads of one event are bounded by
 *   the buffer, so a child cannot hold the loop.
 * - stdin is copied into the slot at child_run and written as the pipe
 *   takes it (at once, mostly), then closed: the child sees its end. A child
 *   that closes its stdin first loses the rest (ST_CLOSED, no SIGPIPE).
 * - Ending: the port's SIGCHLD self-pipe wakes the loop; every slot whose
 *   child is not reaped yet is asked (waitpid WNOHANG). A killed child's
 *   pipes are closed at the kill and its done runs once it is reaped, so a
 *   pid is never signalled after it was reaped (it may be another
 *   process' by then). The deadline asks first, so a child that ended just
 *   before its deadline is not reported as killed.
 * - done runs only from the loop's callbacks (a pipe's, the notify
 *   socket's, the deadline timer's), all after the wait that follows
 *   child_run, never from child_run itself. The slot is free before done
 *   runs, so done may start the next child (in that very slot): the views
 *   it was given stay intact for the call, the new child's output arrives
 *   in a later turn and its stdin has a buffer of its own.
 * - A watched socket is always unwatched (net_unwatch) before it is closed,
 *   so net/'s table never keeps a socket that is gone.
 */
#include "net/child.h"

#include <string.h>

#include "core/assert.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/timer.h"
#include "net/conn.h"
#include "port.h"

#if CFG_CHILD_SLOTS > 0

_Static_assert(CFG_CHILD_SLOTS <= 0xFFFF, "a slot index fits the low half of an id");

typedef struct {
    bool used;
    bool reaped;
    uint16_t gen;               /* the high half of the id */
    int64_t pid;
    port_sock in;
    port_sock out;
    port_sock err;
    timer_id deadline;
    child_done_fn done;         /* NULL: cancelled, nobody to tell */
    void *ctx;
    st_t verdict;               /* ST_OK, ST_TIMEOUT or ST_TOOBIG */
    int code;
    int sig;
    uint64_t start_us;
    size_t in_n;
    size_t in_off;
    size_t out_n;
    size_t err_n;
    char in_buf[CFG_CHILD_IN_BYTES];
    char out_buf[CFG_CHILD_OUT_BYTES];
    char *out_big;              /* the caller's own stdout buffer, or NULL */
    size_t out_big_cap;
    char err_buf[CFG_CHILD_ERR_BYTES];
} child_slot;

static child_slot g_slots[CFG_CHILD_SLOTS];
static child_stats_t g_stats;
static bool g_ready;

_Static_assert((sizeof(g_slots) + sizeof(g_stats) + sizeof(g_ready)) <= CHILD_STATIC_BYTES,
               "CHILD_STATIC_BYTES is this module's plan");

static uint32_t slot_id(const child_slot *s)
{
    ptrdiff_t at = s - g_slots;
    return ((uint32_t)s->gen << 16) | (uint32_t)at;
}

static void pipe_close(port_sock *s)
{
    if (*s != PORT_SOCK_NONE) {
        net_unwatch(*s);
        port_close(*s);
        *s = PORT_SOCK_NONE;
    }
}

/* The child has been reaped and its output pipes are closed: give the slot
 * back, then tell the caller (if there is still one). */
static void finish(child_slot *s)
{
    child_result r;
    child_done_fn done = s->done;
    void *ctx = s->ctx;
    timer_cancel(s->deadline);
    s->deadline = TIMER_NONE;
    pipe_close(&s->in);
    pipe_close(&s->out);
    pipe_close(&s->err);
    r.st = s->verdict;
    r.code = s->code;
    r.sig = s->sig;
    r.out = (s->out_big != NULL) ? s->out_big : s->out_buf;
    r.out_n = s->out_n;
    r.err = s->err_buf;
    r.err_n = s->err_n;
    r.spent_us = clock_mono_us() - s->start_us;
    s->used = false;
    s->done = NULL;
    s->gen++;
    g_stats.running--;
    if (done != NULL) {
        if (r.st == ST_TIMEOUT) {
            g_stats.killed_deadline++;
        } else if (r.st == ST_TOOBIG) {
            g_stats.killed_flood++;
        } else if ((r.code != 0) || (r.sig != 0)) {
            g_stats.exited_nonzero++;
        } else {
            /* a clean exit */
        }
        done(ctx, &r);
    }
}

static void maybe_finish(child_slot *s)
{
    if (s->used && s->reaped && (s->out == PORT_SOCK_NONE) && (s->err == PORT_SOCK_NONE)) {
        finish(s);
    }
}

/* Kill the child for why (the first reason stays) and close its pipes: what
 * it wrote so far is what the caller gets. Done once it is reaped. */
static void kill_child(child_slot *s, st_t why)
{
    if (s->verdict == ST_OK) {
        s->verdict = why;
    }
    if (!s->reaped) {
        port_child_kill(s->pid);
    }
    timer_cancel(s->deadline);
    s->deadline = TIMER_NONE;
    pipe_close(&s->in);
    pipe_close(&s->out);
    pipe_close(&s->err);
    maybe_finish(s);
}

/* Ask the OS whether s's child has ended; reaps it if so. */
static void reap_one(child_slot *s)
{
    bool ended = false;
    int code = 0;
    int sig = 0;
    st_t st = port_child_reap(s->pid, &ended, &code, &sig);
    if (st == ST_NOTFOUND) {
        /* reaped behind our back: its status is lost */
        LOG_W("child", "pid %lld was reaped elsewhere", (long long)s->pid);
        ended = true;
        code = -1;
    }
    if (ended) {
        s->reaped = true;
        s->code = code;
        s->sig = sig;
        maybe_finish(s);
    }
}

static void on_notify(void *ctx, port_sock sock, uint32_t got)
{
    uint32_t i;
    (void)ctx;
    (void)sock;
    (void)got;
    port_child_notify_drain();
    for (i = 0u; i < (uint32_t)CFG_CHILD_SLOTS; i++) {
        child_slot *s = &g_slots[i];
        if (s->used && !s->reaped) {
            reap_one(s);
        }
    }
}

static void on_deadline(void *arg)
{
    child_slot *s = (child_slot *)arg;
    s->deadline = TIMER_NONE;    /* it fired: its timer is free already */
    if (NEVER(!s->used)) {
        return;
    }
    if (!s->reaped) {
        reap_one(s);
    }
    if (s->used) {
        kill_child(s, ST_TIMEOUT);
    }
}

static void on_output(void *ctx, port_sock sock, uint32_t got)
{
    child_slot *s = (child_slot *)ctx;
    bool is_out = (sock == s->out);
    char *buf = is_out ? ((s->out_big != NULL) ? s->out_big : s->out_buf) : s->err_buf;
    size_t cap = is_out ? ((s->out_big != NULL) ? s->out_big_cap : sizeof(s->out_buf)) :
                 sizeof(s->err_buf);
    size_t *n = is_out ? &s->out_n : &s->err_n;
    bool more = true;
    (void)got;
    while (more) {
        size_t k = 0u;
        st_t st;
        if (*n < cap) {
            st = port_recv(sock, &buf[*n], cap - *n, &k);
        } else {
            char probe;
            st = port_recv(sock, &probe, 1u, &k);
            if (st == ST_OK) {
                kill_child(s, ST_TOOBIG);   /* one byte more than its buffer */
                return;
            }
        }
        if (st == ST_OK) {
            *n += k;
        } else if (st == ST_AGAIN) {
            more = false;   /* the next readiness event */
        } else {
            /* its end (ST_CLOSED), or an error: nothing more comes */
            pipe_close(is_out ? &s->out : &s->err);
            maybe_finish(s);
            more = false;
        }
    }
}

/* Write what is left of stdin; closed once all of it is written (or the
 * child does not read it any more). */
static void feed(child_slot *s);

static void on_input(void *ctx, port_sock sock, uint32_t got)
{
    (void)sock;
    (void)got;
    feed((child_slot *)ctx);
}

static void feed(child_slot *s)
{
    bool open = true;
    while (open && (s->in_off < s->in_n)) {
        size_t k = 0u;
        st_t st = port_send(s->in, &s->in_buf[s->in_off], s->in_n - s->in_off, &k);
        if (st == ST_OK) {
            s->in_off += k;
        } else if (st == ST_AGAIN) {
            if (net_watch(s->in, PORT_EV_OUT, on_input, s) != ST_OK) {
                LOG_W("child", "pid %lld: stdin cannot be watched, closed early",
                      (long long)s->pid);
                open = false;
            } else {
                return;    /* when the pipe has room */
            }
        } else {
            open = false;  /* the child closed its stdin */
        }
    }
    pipe_close(&s->in);
}

bool child_supported(void)
{
    return port_child_supported();
}

st_t child_init(void)
{
    static bool s_used;
    port_sock ns;
    st_t st;
    static_zero(g_slots, sizeof g_slots, &s_used);
    (void)memset(&g_stats, 0, sizeof g_stats);
    g_ready = false;
    if (!port_child_supported()) {
        return ST_UNSUPPORTED;
    }
    ns = port_child_notify_sock();
    if (ns == PORT_SOCK_NONE) {
        return ST_IO;
    }
    st = net_watch(ns, PORT_EV_IN, on_notify, NULL);
    g_ready = (st == ST_OK);
    return st;
}

static child_slot *free_slot(void)
{
    uint32_t i;
    for (i = 0u; i < (uint32_t)CFG_CHILD_SLOTS; i++) {
        if (!g_slots[i].used) {
            return &g_slots[i];
        }
    }
    return NULL;
}

/* Watch the child's output; false when the table refused (the child is
 * then cancelled by the caller). */
static bool watch_output(child_slot *s)
{
    return (net_watch(s->out, PORT_EV_IN, on_output, s) == ST_OK) &&
           (net_watch(s->err, PORT_EV_IN, on_output, s) == ST_OK);
}

st_t child_run(const child_spec *spec, uint32_t *id)
{
    child_slot *s;
    port_child pc;
    timer_id t;
    st_t st;
    if (!port_child_supported()) {
        return ST_UNSUPPORTED;
    }
    if ((spec == NULL) || (spec->argv == NULL) || (spec->argv[0] == NULL) ||
        (spec->done == NULL) || ((spec->in == NULL) && (spec->in_n > 0u))) {
        return ST_INVAL;
    }
    if (spec->in_n > (size_t)CFG_CHILD_IN_BYTES) {
        return ST_TOOBIG;
    }
    if (!g_ready) {
        return ST_IO;
    }
    s = free_slot();
    if ((s == NULL) || ((net_watches_used() + 3u) > (uint32_t)CFG_NET_WATCHES)) {
        if (s != NULL) {
            LOG_W("child", "%s: no watched socket left (CFG_NET_WATCHES)", spec->argv[0]);
        }
        g_stats.refused_full++;
        return ST_FULL;
    }
    t = timer_start((spec->deadline_ms != 0u) ? (uint64_t)spec->deadline_ms
                                               : (uint64_t)CFG_CHILD_DEADLINE_MS,
                    on_deadline, s);
    if (t == TIMER_NONE) {
        LOG_W("child", "%s: no timer for its deadline", spec->argv[0]);
        g_stats.refused_full++;
        return ST_FULL;
    }
    st = port_child_spawn(spec->argv, spec->envp, &pc);
    if (st != ST_OK) {
        timer_cancel(t);
        g_stats.spawn_failed++;
        LOG_W("child", "%s: cannot start: %s", spec->argv[0], status_str(st));
        return st;
    }
    s->used = true;
    s->reaped = false;
    s->pid = pc.pid;
    s->in = pc.in;
    s->out = pc.out;
    s->err = pc.err;
    s->deadline = t;
    s->done = NULL;             /* set once it is certain to run */
    s->ctx = spec->ctx;
    s->verdict = ST_OK;
    s->code = 0;
    s->sig = 0;
    s->start_us = clock_mono_us();
    s->in_n = spec->in_n;
    s->in_off = 0u;
    s->out_n = 0u;
    s->out_big = spec->out_buf;
    s->out_big_cap = (spec->out_buf != NULL) ? spec->out_cap : 0u;
    s->err_n = 0u;
    if (spec->in_n > 0u) {
        (void)memcpy(s->in_buf, spec->in, spec->in_n);
    }
    g_stats.running++;
    if (g_stats.running > g_stats.running_high) {
        g_stats.running_high = g_stats.running;
    }
    if (!watch_output(s)) {
        LOG_W("child", "%s: its pipes cannot be watched", spec->argv[0]);
        g_stats.spawn_failed++;
        kill_child(s, ST_IO);   /* no caller: its slot is free once it is reaped */
        return ST_IO;
    }
    feed(s);
    s->done = spec->done;
    g_stats.started++;
    if (id != NULL) {
        *id = slot_id(s);
    }
    return ST_OK;
}

void child_cancel(uint32_t id)
{
    uint32_t i = id & 0xFFFFu;
    if (i < (uint32_t)CFG_CHILD_SLOTS) {
        child_slot *s = &g_slots[i];
        if (s->used && (s->gen == (uint16_t)(id >> 16)) && (s->done != NULL)) {
            s->done = NULL;
            kill_child(s, ST_OK);
        }
    }
}

void child_stop_all(void)
{
    uint32_t i;
    for (i = 0u; i < (uint32_t)CFG_CHILD_SLOTS; i++) {
        child_slot *s = &g_slots[i];
        if (s->used) {
            s->done = NULL;
            kill_child(s, ST_OK);
        }
    }
}

const child_stats_t *child_stats(void)
{
    return &g_stats;
}

size_t child_static_bytes(void)
{
    return CHILD_STATIC_BYTES;
}

#else /* CFG_CHILD_SLOTS == 0: no processes in this build */

bool child_supported(void)
{
    return false;
}

st_t child_init(void)
{
    return ST_UNSUPPORTED;
}

st_t child_run(const child_spec *spec, uint32_t *id)
{
    (void)spec;
    (void)id;
    return ST_UNSUPPORTED;
}

void child_cancel(uint32_t id)
{
    (void)id;
}

void child_stop_all(void)
{
}

const child_stats_t *child_stats(void)
{
    static const child_stats_t k_none = { 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u };
    return &k_none;
}

size_t child_static_bytes(void)
{
    return 0u;
}

#endif
