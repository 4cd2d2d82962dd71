/*
 * test_child.c - child processes run from the real loop (net/child.h) with
 * real programs (/bin/sh, cat, yes, sleep, ls) and the tiny pool of
 * tests/unit/tiny_config.h: 2 slots, 1000 bytes of stdout, 200 of stderr,
 * 64 of stdin. Output and exit status, a signal, a program that cannot be
 * run (127), stdin, a flood cut at exactly its buffer, a hang killed at its
 * deadline, a full pool, cancelling, what the child inherits (nothing but
 * 0, 1, 2), no zombie left behind, and the OS refusing (the operations
 * table's "spawn" and "pipe" faults) with no slot kept. done never runs
 * inside child_run.
 */

#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "t.h"
#include "tloop.h"

#include "app/pools.h"
#include "core/timer.h"
#include "net/child.h"
#include "net/conn.h"
#include "port.h"

/* What a done function saw, copied out of the views. */
typedef struct {
    int calls;
    st_t st;
    int code;
    int sig;
    char out[CFG_CHILD_OUT_BYTES + 1];
    size_t out_n;
    char err[CFG_CHILD_ERR_BYTES + 1];
    size_t err_n;
} capture;

static void on_done(void *ctx, const child_result *r)
{
    capture *c = (capture *)ctx;
    c->calls++;
    c->st = r->st;
    c->code = r->code;
    c->sig = r->sig;
    c->out_n = r->out_n;
    c->err_n = r->err_n;
    memcpy(c->out, r->out, r->out_n);
    c->out[r->out_n] = '\0';
    memcpy(c->err, r->err, r->err_n);
    c->err[r->err_n] = '\0';
}

static char g_sh[256];
static char g_yes[256];
static char g_cat[256];
static char g_sleep[256];
static char g_ls[256];

/* Turn the loop until done has run (and at most 30 s, so a broken build
 * fails instead of hanging). */
static void wait_done(const capture *c)
{
    uint64_t end = clock_mono_ms() + 30000u;
    while ((c->calls == 0) && (clock_mono_ms() < end)) {
        net_turn(50);
    }
}

/* Turn the loop until no slot is in use (cancelled children reaped). */
static void wait_idle(void)
{
    uint64_t end = clock_mono_ms() + 30000u;
    while ((child_stats()->running > 0u) && (clock_mono_ms() < end)) {
        net_turn(50);
    }
    T_EQ_INT(child_stats()->running, 0);
}

/* No child of this process is left, reaped or not. */
static void no_zombie(void)
{
    int status = 0;
    T_EQ_INT(waitpid(-1, &status, WNOHANG), -1);
    T_EQ_INT(errno, ECHILD);
}

static st_t run_sh(const char *script, const char *in, size_t in_n, uint32_t deadline_ms,
                   capture *c, uint32_t *id)
{
    const char *argv[] = { g_sh, "-c", script, NULL };
    child_spec sp;
    memset(&sp, 0, sizeof sp);
    memset(c, 0, sizeof *c);
    sp.argv = argv;
    sp.in = in;
    sp.in_n = in_n;
    sp.deadline_ms = deadline_ms;
    sp.done = on_done;
    sp.ctx = c;
    return child_run(&sp, id);
}

static st_t run_argv(const char *const *argv, uint32_t deadline_ms, capture *c, uint32_t *id)
{
    child_spec sp;
    memset(&sp, 0, sizeof sp);
    memset(c, 0, sizeof *c);
    sp.argv = argv;
    sp.deadline_ms = deadline_ms;
    sp.done = on_done;
    sp.ctx = c;
    return child_run(&sp, id);
}

static void test_output_and_exit_status(void)
{
    capture c;
    uint64_t started = child_stats()->started;
    T_EQ_INT(run_sh("printf 'hello\\nworld'; printf oops >&2; exit 3", NULL, 0u, 0u, &c, NULL),
             ST_OK);
    T_EQ_INT(c.calls, 0);            /* never inside child_run */
    wait_done(&c);
    T_EQ_INT(c.calls, 1);
    T_EQ_INT(c.st, ST_OK);
    T_EQ_INT(c.code, 3);
    T_EQ_INT(c.sig, 0);
    T_EQ_MEM(c.out, c.out_n, "hello\nworld");
    T_EQ_MEM(c.err, c.err_n, "oops");
    T_EQ_INT(run_sh("exit 0", NULL, 0u, 0u, &c, NULL), ST_OK);
    wait_done(&c);
    T_EQ_INT(c.st, ST_OK);
    T_EQ_INT(c.code, 0);
    T_EQ_INT(c.out_n, 0);
    T_EQ_INT(child_stats()->started, started + 2u);
    T_EQ_INT(child_stats()->running, 0);
    /* done ran once each: more turns change nothing */
    tl_pump(20);
    T_EQ_INT(c.calls, 1);
    no_zombie();
}

static void test_signal_ends_it(void)
{
    capture c;
    T_EQ_INT(run_sh("printf before; kill -TERM $$; printf after", NULL, 0u, 0u, &c, NULL), ST_OK);
    wait_done(&c);
    T_EQ_INT(c.st, ST_OK);
    T_EQ_INT(c.code, -1);
    T_EQ_INT(c.sig, SIGTERM);
    T_EQ_MEM(c.out, c.out_n, "before");
    no_zombie();
}

static void test_exec_failure_is_127(void)
{
    const char *argv[] = { "/nonexistent/roost-no-such-program", "x", NULL };
    capture c;
    T_EQ_INT(run_argv(argv, 0u, &c, NULL), ST_OK);
    T_EQ_INT(c.calls, 0);
    wait_done(&c);
    T_EQ_INT(c.st, ST_OK);
    T_EQ_INT(c.code, 127);
    T_EQ_INT(c.sig, 0);
    no_zombie();
}

static void test_stdin_copied(void)
{
    const char *argv[] = { g_cat, NULL };
    char in[CFG_CHILD_IN_BYTES + 1];
    child_spec sp;
    capture c;
    size_t i;
    for (i = 0u; i < sizeof in; i++) {
        in[i] = (char)('a' + (char)(i % 26u));
    }
    memset(&sp, 0, sizeof sp);
    memset(&c, 0, sizeof c);
    sp.argv = argv;
    sp.in = in;
    sp.in_n = CFG_CHILD_IN_BYTES;
    sp.done = on_done;
    sp.ctx = &c;
    T_EQ_INT(child_run(&sp, NULL), ST_OK);
    wait_done(&c);
    T_EQ_INT(c.st, ST_OK);
    T_EQ_INT(c.code, 0);
    T_EQ_INT(c.out_n, CFG_CHILD_IN_BYTES);
    T_CHECK(memcmp(c.out, in, CFG_CHILD_IN_BYTES) == 0);
    /* one byte more than a slot holds; bad specs */
    sp.in_n = CFG_CHILD_IN_BYTES + 1u;
    T_EQ_INT(child_run(&sp, NULL), ST_TOOBIG);
    sp.in_n = 1u;
    sp.in = NULL;
    T_EQ_INT(child_run(&sp, NULL), ST_INVAL);
    sp.in_n = 0u;
    sp.done = NULL;
    T_EQ_INT(child_run(&sp, NULL), ST_INVAL);
    T_EQ_INT(child_run(NULL, NULL), ST_INVAL);
    T_EQ_INT(child_stats()->running, 0);
    no_zombie();
}

/* yes writes forever: killed at its buffer, the output cut exactly there. */
static void test_flood_cut_at_the_buffer(void)
{
    const char *argv[] = { g_yes, NULL };
    capture c;
    size_t i;
    bool all_y = true;
    uint64_t floods = child_stats()->killed_flood;
    T_EQ_INT(run_argv(argv, 0u, &c, NULL), ST_OK);
    wait_done(&c);
    T_EQ_INT(c.st, ST_TOOBIG);
    T_EQ_INT(c.sig, SIGKILL);
    T_EQ_INT(c.code, -1);
    T_EQ_INT(c.out_n, CFG_CHILD_OUT_BYTES);
    for (i = 0u; i < c.out_n; i++) {
        all_y = all_y && (c.out[i] == (((i % 2u) == 0u) ? 'y' : '\n'));
    }
    T_CHECK(all_y);
    T_EQ_INT(child_stats()->killed_flood, floods + 1u);
    /* stderr has its own, smaller buffer */
    T_EQ_INT(run_sh("exec yes >&2", NULL, 0u, 0u, &c, NULL), ST_OK);
    wait_done(&c);
    T_EQ_INT(c.st, ST_TOOBIG);
    T_EQ_INT(c.err_n, CFG_CHILD_ERR_BYTES);
    T_EQ_INT(c.out_n, 0);
    no_zombie();
}

static void test_hang_killed_at_its_deadline(void)
{
    const char *argv[] = { g_sleep, "60", NULL };
    capture c;
    uint64_t deadlines = child_stats()->killed_deadline;
    T_EQ_INT(run_argv(argv, 100u, &c, NULL), ST_OK);
    wait_done(&c);
    T_EQ_INT(c.st, ST_TIMEOUT);
    T_EQ_INT(c.sig, SIGKILL);
    T_EQ_INT(child_stats()->killed_deadline, deadlines + 1u);
    T_EQ_INT(timer_used(), 0);
    no_zombie();
}

/* The child exits at once but leaves a process holding its stdout: it is
 * done at its deadline, with its exit status. */
static void test_output_held_by_a_grandchild(void)
{
    capture c;
    T_EQ_INT(run_sh("sleep 2 & exit 4", NULL, 0u, 200u, &c, NULL), ST_OK);
    wait_done(&c);
    T_EQ_INT(c.st, ST_TIMEOUT);
    T_EQ_INT(c.code, 4);
    T_EQ_INT(c.sig, 0);
    T_EQ_INT(child_stats()->running, 0);
}

static void test_pool_full_and_cancel(void)
{
    const char *argv[] = { g_sleep, "60", NULL };
    capture c[CFG_CHILD_SLOTS + 1];
    uint32_t id[CFG_CHILD_SLOTS + 1];
    uint64_t refused = child_stats()->refused_full;
    size_t i;
    for (i = 0u; i < (size_t)CFG_CHILD_SLOTS; i++) {
        T_EQ_INT(run_argv(argv, 0u, &c[i], &id[i]), ST_OK);
    }
    T_EQ_INT(child_stats()->running, CFG_CHILD_SLOTS);
    T_EQ_INT(run_argv(argv, 0u, &c[CFG_CHILD_SLOTS], &id[CFG_CHILD_SLOTS]), ST_FULL);
    T_EQ_INT(child_stats()->refused_full, refused + 1u);
    T_EQ_INT(child_stats()->running_high, CFG_CHILD_SLOTS);
    /* cancelled: killed, reaped, the slots free again, done never runs */
    for (i = 0u; i < (size_t)CFG_CHILD_SLOTS; i++) {
        child_cancel(id[i]);
        child_cancel(id[i]);       /* twice: nothing more */
    }
    wait_idle();
    tl_pump(20);
    for (i = 0u; i < (size_t)CFG_CHILD_SLOTS; i++) {
        T_EQ_INT(c[i].calls, 0);
    }
    T_EQ_INT(timer_used(), 0);
    T_EQ_INT(net_watches_used(), 1);   /* the SIGCHLD pipe only */
    no_zombie();
    /* a stale id does nothing to the child that took its slot */
    T_EQ_INT(run_sh("printf ok", NULL, 0u, 0u, &c[0], NULL), ST_OK);
    child_cancel(id[0]);
    child_cancel(id[1]);
    wait_done(&c[0]);
    T_EQ_INT(c[0].st, ST_OK);
    T_EQ_MEM(c[0].out, c[0].out_n, "ok");
    /* stop_all: the same as cancelling each */
    T_EQ_INT(run_argv(argv, 0u, &c[0], NULL), ST_OK);
    T_EQ_INT(run_argv(argv, 0u, &c[1], NULL), ST_OK);
    child_stop_all();
    wait_idle();
    T_EQ_INT(c[0].calls + c[1].calls, 0);
    no_zombie();
}

/* Nothing of the parent's is open in the child: ls lists 0, 1, 2 and the
 * directory it opened to list (3). */
static void test_nothing_inherited(void)
{
    const char *argv[] = { g_ls, "/proc/self/fd", NULL };
    int sv[2];
    int f = open("/dev/null", O_RDONLY);       /* not close-on-exec */
    capture c;
    T_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    T_CHECK(f >= 0);
    T_EQ_INT(run_argv(argv, 0u, &c, NULL), ST_OK);
    wait_done(&c);
    T_EQ_INT(c.st, ST_OK);
    T_EQ_INT(c.code, 0);
    T_EQ_MEM(c.out, c.out_n, "0\n1\n2\n3\n");
    close(sv[0]);
    close(sv[1]);
    close(f);
    no_zombie();
}

/* done may start the next child at once, in the slot it just left. */
static capture g_second;

static void on_done_then_run(void *ctx, const child_result *r)
{
    on_done(ctx, r);
    T_EQ_INT(run_sh("printf second", NULL, 0u, 0u, &g_second, NULL), ST_OK);
    /* the views are intact while done runs */
    T_EQ_MEM(r->out, r->out_n, "first");
}

static void test_done_starts_the_next(void)
{
    const char *argv[] = { g_sh, "-c", "printf first", NULL };
    child_spec sp;
    capture c;
    memset(&sp, 0, sizeof sp);
    memset(&c, 0, sizeof c);
    sp.argv = argv;
    sp.done = on_done_then_run;
    sp.ctx = &c;
    T_EQ_INT(child_run(&sp, NULL), ST_OK);
    wait_done(&c);
    T_EQ_MEM(c.out, c.out_n, "first");
    wait_done(&g_second);
    T_EQ_INT(g_second.calls, 1);
    T_EQ_MEM(g_second.out, g_second.out_n, "second");
    no_zombie();
}

/* The OS refuses: vfork (EAGAIN) or the pipes (EMFILE, EIO). child_run
 * answers, counts and logs it; no slot, timer or watch is kept, done never
 * runs, and the next child runs. */
static void test_os_refuses(void)
{
    capture c;
    uint64_t failed = child_stats()->spawn_failed;
    uint32_t watches = net_watches_used();
    T_EQ_INT(port_fault_arm("spawn", 1u, false, "EAGAIN"), ST_OK);
    T_EQ_INT(run_sh("exit 0", NULL, 0u, 0u, &c, NULL), ST_NOMEM);
    T_EQ_INT(port_fault_fired(), 1);
    T_EQ_INT(port_fault_arm("pipe", 1u, false, "EMFILE"), ST_OK);
    T_EQ_INT(run_sh("exit 0", NULL, 0u, 0u, &c, NULL), ST_NOMEM);
    T_EQ_INT(port_fault_arm("pipe", 3u, false, "EIO"), ST_OK);   /* stderr's */
    T_EQ_INT(run_sh("exit 0", NULL, 0u, 0u, &c, NULL), ST_IO);
    T_EQ_INT(port_fault_fired(), 1);
    port_fault_disarm();
    T_EQ_INT(child_stats()->spawn_failed, failed + 3u);
    T_EQ_INT(child_stats()->running, 0);
    T_EQ_INT(timer_used(), 0);
    T_EQ_INT(net_watches_used(), watches);
    tl_pump(20);
    T_EQ_INT(c.calls, 0);
    T_EQ_INT(run_sh("printf fine", NULL, 0u, 0u, &c, NULL), ST_OK);
    wait_done(&c);
    T_EQ_MEM(c.out, c.out_n, "fine");
    no_zombie();
}

int main(void)
{
    pools_init();
    timer_init();
    net_init(&pool_conns, &pool_bufs);
    T_CHECK(port_child_supported());
    if ((child_init() != ST_OK) || (port_path_find("sh", g_sh, sizeof g_sh) != ST_OK) ||
        (port_path_find("yes", g_yes, sizeof g_yes) != ST_OK) ||
        (port_path_find("cat", g_cat, sizeof g_cat) != ST_OK) ||
        (port_path_find("sleep", g_sleep, sizeof g_sleep) != ST_OK) ||
        (port_path_find("ls", g_ls, sizeof g_ls) != ST_OK)) {
        printf("child: cannot set up (child_init, or sh/yes/cat/sleep/ls not on PATH)\n");
        return 1;
    }
    T_RUN(test_output_and_exit_status);
    T_RUN(test_signal_ends_it);
    T_RUN(test_exec_failure_is_127);
    T_RUN(test_stdin_copied);
    T_RUN(test_flood_cut_at_the_buffer);
    T_RUN(test_hang_killed_at_its_deadline);
    T_RUN(test_output_held_by_a_grandchild);
    T_RUN(test_pool_full_and_cancel);
    T_RUN(test_nothing_inherited);
    T_RUN(test_done_starts_the_next);
    T_RUN(test_os_refuses);
    return t_done("child");
}
