/*
 * port/linux/os.c - the operations table (os.h) and its fault arming
 * (port_fault_* of port.h).
 *
 * Implementation notes:
 * - One fault is armed at a time: an operation, the call that fails (nth,
 *   counted from 1 after arming), whether every later call fails too, and
 *   the errno. Arming resets the count; disarming stops the failures. A
 *   clock's fault is a jump: from its nth call on, the clock reads `err`
 *   milliseconds later (earlier when negative); the jump stays after
 *   disarming, as a real jump would (port_mono_us never goes backwards).
 * - send_short makes a send take half of what it was given (at least one
 *   byte): a short write, not an error.
 * - The table costs one compare per call when nothing is armed; it is in
 *   every build, so the code tested is the code shipped.
 */
#include "os.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "port.h"

static const char *const g_op_names[(size_t)OS_OP_COUNT + 1u] = {
    "socket", "bind", "listen", "accept", "recv", "send", "send_short", "wait",
    "watch", "open", "read", "write", "fsync", "rename", "mkdir", "unlink",
    "clock_mono", "clock_wall", "entropy", "kill", "spawn", "pipe", "connect", NULL
};

typedef struct {
    const char *name;
    int value;
} errno_name;

static const errno_name g_errnos[] = {
    { "EAGAIN", EAGAIN }, { "EINTR", EINTR }, { "EMFILE", EMFILE }, { "ENFILE", ENFILE },
    { "ENOBUFS", ENOBUFS }, { "ENOMEM", ENOMEM }, { "ECONNRESET", ECONNRESET },
    { "ECONNABORTED", ECONNABORTED }, { "EPIPE", EPIPE }, { "ETIMEDOUT", ETIMEDOUT },
    { "ENOSPC", ENOSPC }, { "EDQUOT", EDQUOT }, { "EIO", EIO }, { "EACCES", EACCES },
    { "EPERM", EPERM }, { "EROFS", EROFS }, { "ENOENT", ENOENT }, { "EEXIST", EEXIST },
    { "EINVAL", EINVAL }, { "EBADF", EBADF }, { "EADDRINUSE", EADDRINUSE },
    { "ESRCH", ESRCH }, { "ECONNREFUSED", ECONNREFUSED }
};

typedef struct {
    bool armed;
    os_op op;
    uint32_t nth;
    bool and_after;
    int err;              /* errno; for a clock: the jump in ms */
    uint32_t calls;       /* calls of op since arming */
    uint64_t fired;
} os_fault_state;

static os_fault_state g_fault;

static int64_t g_jump_us[2];   /* mono, wall */

int os_fault(os_op op)
{
    bool fire;
    if (!g_fault.armed || (g_fault.op != op)) {
        return 0;
    }
    g_fault.calls++;
    fire = (g_fault.calls == g_fault.nth) || (g_fault.and_after && (g_fault.calls > g_fault.nth));
    if (!fire) {
        return 0;
    }
    g_fault.fired++;
    if ((op == OS_CLOCK_MONO) || (op == OS_CLOCK_WALL)) {
        g_jump_us[(op == OS_CLOCK_MONO) ? 0 : 1] += (int64_t)g_fault.err * 1000;
        return 0;
    }
    return g_fault.err;
}

int64_t os_clock_jump_us(os_op op)
{
    (void)os_fault(op);
    return g_jump_us[(op == OS_CLOCK_MONO) ? 0 : 1];
}

st_t port_fault_arm(const char *op, uint32_t nth, bool and_after, const char *err)
{
    size_t i;
    int code = 0;
    int found = -1;
    if ((op == NULL) || (err == NULL) || (nth == 0u)) {
        return ST_INVAL;
    }
    for (i = 0u; i < (size_t)OS_OP_COUNT; i++) {
        if (strcmp(g_op_names[i], op) == 0) {
            found = (int)i;
        }
    }
    if (found < 0) {
        return ST_INVAL;
    }
    if ((found == (int)OS_CLOCK_MONO) || (found == (int)OS_CLOCK_WALL)) {
        char *end = NULL;
        long ms;
        errno = 0;
        ms = strtol(err, &end, 10);
        if ((errno != 0) || (end == err) || (*end != '\0') || (ms < -86400000L) ||
            (ms > 86400000L)) {
            return ST_INVAL;
        }
        code = (int)ms;
    } else if (found == (int)OS_SEND_SHORT) {
        code = 1;   /* not an error: the size is cut */
    } else {
        for (i = 0u; i < (sizeof(g_errnos) / sizeof(g_errnos[0])); i++) {
            if (strcmp(g_errnos[i].name, err) == 0) {
                code = g_errnos[i].value;
            }
        }
        if (code == 0) {
            return ST_INVAL;
        }
    }
    g_fault.op = (os_op)found;
    g_fault.nth = nth;
    g_fault.and_after = and_after;
    g_fault.err = code;
    g_fault.calls = 0u;
    g_fault.fired = 0u;
    g_fault.armed = true;
    return ST_OK;
}

void port_fault_disarm(void)
{
    g_fault.armed = false;
}

uint64_t port_fault_fired(void)
{
    return g_fault.fired;
}

const char *const *port_fault_ops(void)
{
    return g_op_names;
}

/* ---- sqlite's system calls ---------------------------------------------------- */

/* open as sqlite's unix VFS declares it (the mode an int). */
static int sq_open(const char *path, int flags, int mode)
{
    return os_open(path, flags, (mode_t)mode);
}

/* sqlite3.c is compiled with _FILE_OFFSET_BITS=64: its pread and pwrite
 * (and the pread64/pwrite64 variants) pass a 64-bit offset. */
_Static_assert(sizeof(off_t) == sizeof(int64_t), "off_t is the 64-bit offset sqlite passes");

static ssize_t sq_pread(int fd, void *buf, size_t cap, int64_t off)
{
    return os_pread(fd, buf, cap, (off_t)off);
}

static ssize_t sq_pwrite(int fd, const void *buf, size_t n, int64_t off)
{
    return os_pwrite(fd, buf, n, (off_t)off);
}

port_any_fn port_os_call(const char *name)
{
    port_any_fn fn = NULL;
    if (strcmp(name, "open") == 0) {
        /* cppcheck-suppress misra-c2012-11.1 ; deviation (MISRA.md): sqlite calls it with its own type */
        fn = (port_any_fn)sq_open;
    } else if (strcmp(name, "read") == 0) {
        /* cppcheck-suppress misra-c2012-11.1 ; deviation (MISRA.md): sqlite calls it with its own type */
        fn = (port_any_fn)os_read;
    } else if ((strcmp(name, "pread") == 0) || (strcmp(name, "pread64") == 0)) {
        /* cppcheck-suppress misra-c2012-11.1 ; deviation (MISRA.md): sqlite calls it with its own type */
        fn = (port_any_fn)sq_pread;
    } else if (strcmp(name, "write") == 0) {
        /* cppcheck-suppress misra-c2012-11.1 ; deviation (MISRA.md): sqlite calls it with its own type */
        fn = (port_any_fn)os_write;
    } else if ((strcmp(name, "pwrite") == 0) || (strcmp(name, "pwrite64") == 0)) {
        /* cppcheck-suppress misra-c2012-11.1 ; deviation (MISRA.md): sqlite calls it with its own type */
        fn = (port_any_fn)sq_pwrite;
    } else if (strcmp(name, "unlink") == 0) {
        /* cppcheck-suppress misra-c2012-11.1 ; deviation (MISRA.md): sqlite calls it with its own type */
        fn = (port_any_fn)os_unlink;
    } else {
        /* not in the table */
    }
    return fn;
}

/* ---- the table ------------------------------------------------------------ */

static int failed(int e)
{
    errno = e;
    return -1;
}

int os_socket(int domain, int type, int proto)
{
    int e = os_fault(OS_SOCKET);
    return (e != 0) ? failed(e) : socket(domain, type, proto);
}

int os_bind(int fd, const struct sockaddr *sa, socklen_t len)
{
    int e = os_fault(OS_BIND);
    return (e != 0) ? failed(e) : bind(fd, sa, len);
}

int os_listen(int fd, int backlog)
{
    int e = os_fault(OS_LISTEN);
    return (e != 0) ? failed(e) : listen(fd, backlog);
}

int os_accept4(int fd, int flags)
{
    int e = os_fault(OS_ACCEPT);
    return (e != 0) ? failed(e) : accept4(fd, NULL, NULL, flags);
}

ssize_t os_recv(int fd, void *buf, size_t cap)
{
    int e = os_fault(OS_RECV);
    return (e != 0) ? (ssize_t)failed(e) : recv(fd, buf, cap, 0);
}

/* The faults of a send (OS_SEND fails it, OS_SEND_SHORT halves it): the
 * errno to fail with, or 0 and the length to send in *n. */
static int send_fault(size_t len, size_t *n)
{
    int e = os_fault(OS_SEND);
    *n = len;
    if ((e == 0) && (os_fault(OS_SEND_SHORT) != 0) && (len > 1u)) {
        *n = len / 2u;
    }
    return e;
}

ssize_t os_send(int fd, const void *buf, size_t len)
{
    size_t n = 0u;
    int e = send_fault(len, &n);
    if (e != 0) {
        return (ssize_t)failed(e);
    }
    return send(fd, buf, n, MSG_NOSIGNAL);
}

ssize_t os_sendfile(int fd, int file, off_t *off, size_t len)
{
    size_t n = 0u;
    int e = send_fault(len, &n);
    if (e != 0) {
        return (ssize_t)failed(e);
    }
    return sendfile(fd, file, off, n);
}

int os_poll(struct pollfd *fds, nfds_t n, int timeout_ms)
{
    int e = os_fault(OS_WAIT);
    return (e != 0) ? failed(e) : poll(fds, n, timeout_ms);
}

int os_open(const char *path, int flags, mode_t mode)
{
    int e = os_fault(OS_OPEN);
    return (e != 0) ? failed(e) : open(path, flags, mode);
}

int os_openat(int dir, const char *path, int flags, mode_t mode)
{
    int e = os_fault(OS_OPEN);
    return (e != 0) ? failed(e) : openat(dir, path, flags, mode);
}

ssize_t os_read(int fd, void *buf, size_t cap)
{
    int e = os_fault(OS_READ);
    return (e != 0) ? (ssize_t)failed(e) : read(fd, buf, cap);
}

ssize_t os_pread(int fd, void *buf, size_t cap, off_t off)
{
    int e = os_fault(OS_READ);
    return (e != 0) ? (ssize_t)failed(e) : pread(fd, buf, cap, off);
}

ssize_t os_write(int fd, const void *buf, size_t n)
{
    int e = os_fault(OS_WRITE);
    return (e != 0) ? (ssize_t)failed(e) : write(fd, buf, n);
}

ssize_t os_pwrite(int fd, const void *buf, size_t n, off_t off)
{
    int e = os_fault(OS_WRITE);
    return (e != 0) ? (ssize_t)failed(e) : pwrite(fd, buf, n, off);
}

int os_fsync(int fd)
{
    int e = os_fault(OS_FSYNC);
    return (e != 0) ? failed(e) : fsync(fd);
}

int os_rename(const char *from, const char *to)
{
    int e = os_fault(OS_RENAME);
    return (e != 0) ? failed(e) : rename(from, to);
}

int os_mkdir(const char *path, mode_t mode)
{
    int e = os_fault(OS_MKDIR);
    return (e != 0) ? failed(e) : mkdir(path, mode);
}

int os_unlink(const char *path)
{
    int e = os_fault(OS_UNLINK);
    return (e != 0) ? failed(e) : unlink(path);
}

int os_clock_gettime(clockid_t id, struct timespec *ts)
{
    return clock_gettime(id, ts);
}

ssize_t os_getrandom(void *buf, size_t n)
{
    int e = os_fault(OS_ENTROPY);
    return (e != 0) ? (ssize_t)failed(e) : getrandom(buf, n, 0);
}

int os_kill(pid_t pid, int sig)
{
    int e = os_fault(OS_KILL);
    return (e != 0) ? failed(e) : kill(pid, sig);
}

int os_socketpair(int domain, int type, int proto, int sv[2])
{
    int e = os_fault(OS_PIPE);
    return (e != 0) ? failed(e) : socketpair(domain, type, proto, sv);
}

int os_pipe2(int fds[2], int flags)
{
    int e = os_fault(OS_PIPE);
    return (e != 0) ? failed(e) : pipe2(fds, flags);
}

pid_t os_waitpid(pid_t pid, int *status, int options)
{
    return waitpid(pid, status, options);
}

ssize_t os_readlink(const char *path, char *buf, size_t cap)
{
    return readlink(path, buf, cap);
}

int os_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
    int e = os_fault(OS_CONNECT);
    return (e != 0) ? failed(e) : connect(fd, sa, len);
}
