/*
 * port/linux/port_child.c - child processes (port.h, "child processes"):
 * started without blocking or allocating, reaped without blocking, their
 * ends learnt through a SIGCHLD self-pipe; and the PATH lookup.
 *
 * Implementation notes:
 * - vfork + execve: the child borrows roost's memory and stack until it
 *   execs, so nothing is copied and nothing is allocated (glibc's
 *   posix_spawn file actions allocate). The child only makes system calls
 *   on its own locals and data the parent does not change meanwhile: dup2
 *   of its three ends to 0, 1 and 2; close_range(3, ~0U) (where the kernel
 *   lacks it, a close of every descriptor up to PORT_FD_MAX); the default
 *   disposition for every signal and an empty mask; execve; _exit(127)
 *   when anything fails, so a program that cannot be run is a child that
 *   exits 127.
 * - The parent blocks every signal around vfork, so none of roost's
 *   handlers runs in the child while it shares roost's memory (the stop
 *   handler would set roost's flag, the SIGCHLD one write the self-pipe);
 *   the child resets the dispositions before it unblocks.
 * - The three "pipes" are AF_UNIX stream socket pairs (as libuv makes
 *   them): port_recv and port_send work on the parent's ends, and a send to
 *   a child that closed its stdin is ST_CLOSED (MSG_NOSIGNAL), never a
 *   SIGPIPE. The parent's ends are non-blocking, the child's blocking; all
 *   are close-on-exec and moved above 2, so the child's dup2 never
 *   overwrites an end it has still to move.
 * - The operations table has the parent's calls: "pipe" (the socket pairs
 *   and the self-pipe), "spawn" (checked here before vfork: a wrapper
 *   could not return into the child), kill and waitpid. The child's own
 *   calls are made directly: the table's counters live in the memory the
 *   child borrows.
 * - SIGCHLD writes one byte to a non-blocking self-pipe (made, with the
 *   handler, by the first port_child_notify_sock or spawn: child_init,
 *   before the loop); the loop watches its read end. A full pipe drops the
 *   byte: it is readable all the same. port.c does not call into this file,
 *   so the tools that link port.c alone (llm_fetch, the fuzz targets) need
 *   not link it.
 * - errno never leaves this file.
 */
#include "port.h"
#include "os.h"

#include <errno.h>
#include <fcntl.h>
/* cppcheck-suppress misra-c2012-21.5 ; SIGCHLD, the signal mask and the child's dispositions are what this file is for */
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/* The self-pipe: [0] watched by the loop, [1] written by the handler. */
static int g_notify[2] = { -1, -1 };

static bool pid_valid(int64_t pid)
{
    return (pid > 0) && (pid <= (int64_t)INT32_MAX);
}

static st_t spawn_errno(int e)
{
    st_t st = ST_IO;
    if ((e == EMFILE) || (e == ENFILE) || (e == EAGAIN) || (e == ENOMEM)) {
        st = ST_NOMEM;
    }
    return st;
}

bool port_child_supported(void)
{
    return true;
}

static void on_sigchld(int sig)
{
    int saved = errno;
    char b = 'c';
    (void)sig;
    if (g_notify[1] >= 0) {
        (void)write(g_notify[1], &b, 1u);
    }
    errno = saved;
}

/* The self-pipe and the SIGCHLD handler, once. */
static st_t notify_init(void)
{
    struct sigaction sa;
    int fds[2];
    if (g_notify[0] >= 0) {
        return ST_OK;
    }
    if (os_pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        return spawn_errno(errno);
    }
    g_notify[0] = fds[0];
    g_notify[1] = fds[1];
    (void)memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigchld;
    (void)sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    if (sigaction(SIGCHLD, &sa, NULL) != 0) {
        (void)close(fds[0]);
        (void)close(fds[1]);
        g_notify[0] = -1;
        g_notify[1] = -1;
        return ST_IO;
    }
    return ST_OK;
}

port_sock port_child_notify_sock(void)
{
    (void)notify_init();
    return (g_notify[0] >= 0) ? g_notify[0] : PORT_SOCK_NONE;
}

void port_child_notify_drain(void)
{
    if (g_notify[0] >= 0) {
        char buf[64];
        while (os_read(g_notify[0], buf, sizeof buf) > 0) {
            /* each byte is one SIGCHLD or more: what counts is that one came */
        }
    }
}

/* fd moved to 3 or above (close-on-exec kept); -1 when it cannot be. */
static int above_stdio(int fd)
{
    int moved = fd;
    if ((fd >= 0) && (fd <= 2)) {
        moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        (void)close(fd);
    }
    return moved;
}

static void close_pair(int pair[2])
{
    if (pair[0] >= 0) {
        (void)close(pair[0]);
        pair[0] = -1;
    }
    if (pair[1] >= 0) {
        (void)close(pair[1]);
        pair[1] = -1;
    }
}

/* One of the child's pipes: pair[0] the parent's end (non-blocking),
 * pair[1] the child's (blocking); both close-on-exec, above 2. */
static st_t make_pair(int pair[2])
{
    int sv[2];
    int fl;
    if (os_socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        return spawn_errno(errno);
    }
    pair[0] = above_stdio(sv[0]);
    pair[1] = above_stdio(sv[1]);
    if ((pair[0] < 0) || (pair[1] < 0)) {
        close_pair(pair);
        return ST_NOMEM;
    }
    fl = fcntl(pair[0], F_GETFL, 0);
    if ((fl < 0) || (fcntl(pair[0], F_SETFL, fl | O_NONBLOCK) != 0)) {
        close_pair(pair);
        return ST_IO;
    }
    return ST_OK;
}

/* The child, between vfork and execve: its pipes to 0, 1 and 2, nothing
 * else of roost's open, default signals, then the program. Never returns.
 * Only system calls on the child's own locals, in a frame of its own below
 * the parent's (never inlined: the compiler could otherwise give them the
 * stack slots of the parent's locals that are dead on the child's path,
 * such as the signal mask the parent restores). */
__attribute__((noinline))
static void child_exec(const int *ends, char *const *argv, char *const *envp)
{
    struct sigaction dfl;
    sigset_t none;
    size_t fd;
    int sig;
    for (fd = 0u; fd < 3u; fd++) {
        if (dup2(ends[fd], (int)fd) != (int)fd) {
            _exit(127);
        }
    }
    if (syscall(SYS_close_range, 3u, ~0u, 0u) != 0) {
        for (fd = 3u; fd < PORT_FD_MAX; fd++) {
            (void)close((int)fd);
        }
    }
    (void)memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    (void)sigemptyset(&dfl.sa_mask);
    for (sig = 1; sig < NSIG; sig++) {
        (void)sigaction(sig, &dfl, NULL);   /* SIGKILL, SIGSTOP: refused, already default */
    }
    (void)sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL);
    (void)execve(argv[0], argv, envp);
    _exit(127);
}

st_t port_child_spawn(const char *const *argv, const char *const *envp, port_child *out)
{
    int in[2] = { -1, -1 };
    int o[2] = { -1, -1 };
    int er[2] = { -1, -1 };
    int ends[3];
    sigset_t all;
    sigset_t old;
    pid_t pid;
    int e;
    st_t st;
    out->pid = -1;
    out->in = PORT_SOCK_NONE;
    out->out = PORT_SOCK_NONE;
    out->err = PORT_SOCK_NONE;
    if ((argv == NULL) || (argv[0] == NULL)) {
        return ST_INVAL;
    }
    st = notify_init();   /* this child's SIGCHLD must find the pipe */
    if (st == ST_OK) {
        st = make_pair(in);
    }
    if (st == ST_OK) {
        st = make_pair(o);
    }
    if (st == ST_OK) {
        st = make_pair(er);
    }
    e = (st == ST_OK) ? os_fault(OS_SPAWN) : 0;
    if ((st != ST_OK) || (e != 0)) {
        close_pair(in);
        close_pair(o);
        close_pair(er);
        return (st != ST_OK) ? st : spawn_errno(e);
    }
    ends[0] = in[1];
    ends[1] = o[1];
    ends[2] = er[1];
    (void)sigfillset(&all);
    (void)sigprocmask(SIG_SETMASK, &all, &old);
    pid = vfork();
    if (pid == 0) {
        /* cppcheck-suppress misra-c2012-11.8 ; execve's argv and envp are not const in its declaration but are only read */
        child_exec(ends, (char *const *)argv, (char *const *)((envp != NULL) ? envp : (const char *const *)environ));
        _exit(127);
    }
    e = errno;
    (void)sigprocmask(SIG_SETMASK, &old, NULL);
    (void)close(in[1]);
    (void)close(o[1]);
    (void)close(er[1]);
    if (pid < 0) {
        (void)close(in[0]);
        (void)close(o[0]);
        (void)close(er[0]);
        return spawn_errno(e);
    }
    out->pid = (int64_t)pid;
    out->in = in[0];
    out->out = o[0];
    out->err = er[0];
    return ST_OK;
}

st_t port_child_reap(int64_t pid, bool *ended, int *code, int *sig)
{
    int status = 0;
    pid_t r;
    *ended = false;
    *code = 0;
    *sig = 0;
    if (!pid_valid(pid)) {
        return ST_NOTFOUND;
    }
    do {
        r = os_waitpid((pid_t)pid, &status, WNOHANG);
    } while ((r < 0) && (errno == EINTR));
    if (r == 0) {
        return ST_OK;
    }
    if (r < 0) {
        return (errno == ECHILD) ? ST_NOTFOUND : ST_IO;
    }
    *ended = true;
    if (WIFEXITED(status) != 0) {
        *code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status) != 0) {
        *code = -1;
        *sig = WTERMSIG(status);
    } else {
        *code = -1;   /* stopped or continued: not asked for (no WUNTRACED) */
    }
    return ST_OK;
}

void port_child_kill(int64_t pid)
{
    if (pid_valid(pid)) {
        (void)os_kill((pid_t)pid, SIGKILL);
    }
}

/* An executable regular file. */
static bool executable(const char *path)
{
    struct stat sb;
    return (stat(path, &sb) == 0) && S_ISREG(sb.st_mode) && (access(path, X_OK) == 0);
}

st_t port_path_find(const char *name, char *buf, size_t cap)
{
    const char *path;
    const char *p;
    size_t nlen = strlen(name);
    bool toobig = false;
    if (cap > 0u) {
        buf[0] = '\0';
    }
    if (nlen == 0u) {
        return ST_NOTFOUND;
    }
    if (strchr(name, '/') != NULL) {
        if (nlen >= cap) {
            return ST_TOOBIG;
        }
        (void)memcpy(buf, name, nlen + 1u);
        return ST_OK;
    }
    /* cppcheck-suppress misra-c2012-21.8 ; PATH is what the lookup is for (before the loop, port.h) */
    path = getenv("PATH");
    if ((path == NULL) || (path[0] == '\0')) {
        path = "/bin:/usr/bin";   /* glibc's execvp default (_CS_PATH) */
    }
    p = path;
    while (p != NULL) {
        const char *colon = strchr(p, ':');
        size_t dlen = strlen(p);
        if (colon != NULL) {
            ptrdiff_t span = colon - p;
            dlen = (size_t)span;
        }
        /* only absolute entries: an empty or relative one (the working
         * directory) would not give an absolute path */
        if ((dlen > 0u) && (p[0] == '/')) {
            if ((dlen + 1u + nlen + 1u) > cap) {
                toobig = true;
            } else {
                (void)memcpy(buf, p, dlen);
                buf[dlen] = '/';
                (void)memcpy(&buf[dlen + 1u], name, nlen + 1u);
                if (executable(buf)) {
                    return ST_OK;
                }
            }
        }
        p = (colon != NULL) ? &colon[1] : NULL;
    }
    if (cap > 0u) {
        buf[0] = '\0';
    }
    return toobig ? ST_TOOBIG : ST_NOTFOUND;
}
