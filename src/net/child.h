/*
 * child.h - child processes run from the loop (the rpg family's tmux and
 * git commands), with no thread and nothing blocking.
 *
 * A fixed pool of CFG_CHILD_SLOTS slots (config.h); each slot has its own
 * fixed buffers: stdin (CFG_CHILD_IN_BYTES, copied from the caller at
 * child_run), stdout (CFG_CHILD_OUT_BYTES) and stderr (CFG_CHILD_ERR_BYTES).
 * The child's pipes are non-blocking and watched by the loop (net_watch);
 * its end is learnt through the port's SIGCHLD self-pipe
 * (port_child_notify_sock) and reaped without blocking. The caller's done
 * function runs exactly once per child_run that returned ST_OK, in a later
 * loop turn (never inside child_run), once the child has ended and both of
 * its output pipes are closed, or, when it was killed, once it has been
 * reaped (its pipes are closed at the kill):
 *   - a child whose stdout or stderr would overflow its buffer is killed at
 *     once (SIGKILL): ST_TOOBIG, with the output it wrote up to the cut
 *     (exactly the buffer);
 *   - a child still running at its deadline is killed: ST_TIMEOUT;
 *   - a child that ended while a process it started still holds its
 *     output open (`cmd &`) is done at its deadline: ST_TIMEOUT, with its
 *     exit status;
 *   - otherwise ST_OK with its exit status (127: it could not be executed).
 * A full pool is ST_FULL from child_run: the caller answers it (a 503, a
 * skipped poll); nothing waits in a queue. A slot is in use from child_run
 * until its child has been reaped, cancelled children included, so the
 * pool never holds more processes than it has slots. On a port without
 * processes (port_child_supported false) or a build with CFG_CHILD_SLOTS
 * 0, child_run is ST_UNSUPPORTED (and that build has no static bytes
 * here).
 *
 * Sizes: each slot watches up to 3 sockets (its pipes) and the pool one
 * more (the SIGCHLD pipe), counted in CFG_NET_WATCHES, and holds one
 * deadline timer, counted in CFG_TIMER_USERS (config.h checks both).
 *
 * One thread: everything here runs in the loop.
 */
#ifndef ROOST_NET_CHILD_H
#define ROOST_NET_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "core/status.h"

/* How a child ended, as its done function sees it. The output views point
 * into the slot's buffers and are valid only during the call. */
typedef struct {
    st_t st;            /* ST_OK: it exited or a signal ended it; ST_TIMEOUT:
                         * killed at its deadline; ST_TOOBIG: killed for
                         * flooding its output buffer */
    int code;           /* exit status 0-255; -1 when a signal ended it */
    int sig;            /* the signal that ended it, 0 if none */
    const char *out;    /* stdout as captured */
    size_t out_n;
    const char *err;    /* stderr as captured */
    size_t err_n;
    uint64_t spent_us;  /* from child_run to the end */
} child_result;

typedef void (*child_done_fn)(void *ctx, const child_result *r);

typedef struct {
    const char *const *argv;    /* NULL-terminated; argv[0] an absolute path
                                 * (port_path_find); used only during
                                 * child_run */
    const char *const *envp;    /* NULL: roost's environment */
    const char *in;             /* bytes for its stdin (then closed), or NULL */
    size_t in_n;                /* <= CFG_CHILD_IN_BYTES, else ST_TOOBIG */
    uint32_t deadline_ms;       /* 0: CFG_CHILD_DEADLINE_MS */
    /* NULL, or a buffer of the caller's own (out_cap bytes, larger than
     * CFG_CHILD_OUT_BYTES) for its stdout instead of the slot's: for one
     * known child whose output is larger (rpg's poll with its captures);
     * it must stay untouched until done ran. */
    char *out_buf;
    size_t out_cap;
    child_done_fn done;         /* required */
    void *ctx;
} child_spec;

/* Counters, for /metrics and the tests. */
typedef struct {
    uint64_t started;
    uint64_t refused_full;      /* child_run: ST_FULL */
    uint64_t spawn_failed;      /* child_run: the OS refused */
    uint64_t killed_deadline;   /* ended ST_TIMEOUT */
    uint64_t killed_flood;      /* ended ST_TOOBIG */
    uint64_t exited_nonzero;    /* ended ST_OK with code != 0 or a signal */
    uint32_t running;           /* slots in use now */
    uint32_t running_high;
} child_stats_t;

/* Static bytes of the pool (app/pools.def): per slot its three buffers
 * and its state. */
#define CHILD_SLOT_BYTES (CFG_CHILD_OUT_BYTES + CFG_CHILD_ERR_BYTES + CFG_CHILD_IN_BYTES + 128u)
#define CHILD_STATIC_BYTES (((size_t)CFG_CHILD_SLOTS * CHILD_SLOT_BYTES) + 128u)

/* Whether children can run here at all: the port has processes and the
 * build has child slots. */
bool child_supported(void);
/* Empty the pool and watch the port's notify socket (before the loop,
 * after net_init, which empties the table of watched sockets). ST_OK;
 * ST_UNSUPPORTED without processes; ST_FULL or ST_IO when the notify
 * socket cannot be watched (then child_run answers ST_IO). */
st_t child_init(void);
/* Start a child. ST_OK: *id (may be NULL) names it for child_cancel and
 * spec->done will run once; ST_FULL: every slot is in use (also: no
 * deadline timer or watched socket left, logged); ST_TOOBIG: in_n too
 * large; ST_INVAL: no argv[0] or no done; ST_UNSUPPORTED: no processes
 * here; ST_NOMEM (out of descriptors or processes) / ST_IO: the OS
 * refused (counted in spawn_failed, logged). done never runs when
 * child_run fails. */
st_t child_run(const child_spec *spec, uint32_t *id);
/* Kill the child and forget its caller: done will not run. An id of a
 * child that already ended (or was cancelled) does nothing. Its slot is
 * free once the killed child has been reaped (a later turn). */
void child_cancel(uint32_t id);
/* Kill every child (shutdown); their done functions do not run. What the
 * loop does not reap any more, the process' exit hands to init. */
void child_stop_all(void);
const child_stats_t *child_stats(void);
/* Static bytes of the pool, for `roostd --budget`. */
size_t child_static_bytes(void);

#endif
