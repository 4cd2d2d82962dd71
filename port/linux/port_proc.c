/*
 * port/linux/port_proc.c - signalling other processes (port.h, "other
 * processes"), for the observability stop procedure, and what a process is
 * (port.h, the end of "child processes": its command line, children and
 * working directory), read from /proc for the rpg family's panes.
 *
 * Implementation notes:
 * - /proc/<pid>/cmdline and /proc/<pid>/task/<pid>/children are read
 *   whole into the caller's buffer or a stack buffer (port_file_read: no
 *   stdio, no heap); the children file lists the children of the process'
 *   main thread (the kernel's CONFIG_PROC_CHILDREN: Debian's kernels have
 *   it; without it the answer is ST_UNSUPPORTED).
 * - errno never leaves this file: it is mapped to a status and a static
 *   text.
 */
#include "port.h"
#include "os.h"

#include <errno.h>
/* cppcheck-suppress misra-c2012-21.5 ; kill(2) and its signal numbers are what this file is for */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static bool pid_valid(int64_t pid)
{
    return (pid > 0) && (pid <= (int64_t)INT32_MAX);
}

bool port_proc_supported(void)
{
    return true;
}

int64_t port_proc_self(void)
{
    return (int64_t)getpid();
}

st_t port_proc_exists(int64_t pid)
{
    st_t st = ST_NOTFOUND;
    if (pid_valid(pid)) {
        if (os_kill((pid_t)pid, 0) == 0) {
            st = ST_OK;
        } else {
            int e = errno;
            if (e == EPERM) {
                st = ST_OK;   /* exists, owned by someone else */
            }
        }
    }
    return st;
}

st_t port_proc_signal(int64_t pid, port_sig sig, const char **reason)
{
    st_t st = ST_OK;
    const char *why = "";
    if (!pid_valid(pid)) {
        st = ST_NOTFOUND;
        why = "No such process";
    } else if (os_kill((pid_t)pid, (sig == PORT_SIG_INT) ? SIGINT : SIGTERM) != 0) {
        int e = errno;
        if (e == EPERM) {
            st = ST_PERM;
            why = "Operation not permitted";
        } else if (e == ESRCH) {
            st = ST_NOTFOUND;
            why = "No such process";
        } else {
            st = ST_IO;
            why = "Invalid argument";
        }
    } else {
        /* delivered */
    }
    if (reason != NULL) {
        *reason = why;
    }
    return st;
}

/* "/proc/<pid>/<leaf>" into buf; false when it does not fit. */
static bool proc_path(char *buf, size_t cap, int64_t pid, const char *leaf)
{
    int k = snprintf(buf, cap, "/proc/%lld/%s", (long long)pid, leaf);
    return (k > 0) && ((size_t)k < cap);
}

st_t port_proc_cmdline(int64_t pid, char *buf, size_t cap, size_t *n)
{
    char path[64];
    st_t st = ST_NOTFOUND;
    *n = 0u;
    if (pid_valid(pid) && proc_path(path, sizeof path, pid, "cmdline")) {
        st = port_file_read(path, buf, cap, n);
        if (st == ST_TOOBIG) {
            st = ST_OK;   /* cut at cap, as the contract says */
        } else if (st != ST_OK) {
            *n = 0u;
            st = ST_NOTFOUND;
        } else {
            /* read whole */
        }
    }
    return st;
}

st_t port_proc_children(int64_t pid, int64_t *pids, size_t cap, size_t *n)
{
    char path[96];
    char list[4096];
    size_t len = 0u;
    size_t i;
    int64_t v = 0;
    bool digits = false;
    st_t st;
    *n = 0u;
    if (!pid_valid(pid)) {
        return ST_NOTFOUND;
    }
    {
        int k = snprintf(path, sizeof path, "/proc/%lld/task/%lld/children", (long long)pid,
                         (long long)pid);
        if ((k <= 0) || ((size_t)k >= sizeof path)) {
            return ST_NOTFOUND;
        }
    }
    st = port_file_read(path, list, sizeof list, &len);
    if ((st != ST_OK) && (st != ST_TOOBIG)) {
        /* no such process, or a kernel without the children file */
        return (port_proc_exists(pid) == ST_OK) ? ST_UNSUPPORTED : ST_NOTFOUND;
    }
    /* "pid pid pid " : a number counts once its space is read, so a list
     * cut by the buffer drops its last, partial number */
    for (i = 0u; (i < len) && (*n < cap); i++) {
        char ch = list[i];
        if ((ch >= '0') && (ch <= '9')) {
            if (v <= (int64_t)INT32_MAX) {
                v = ((v * 10) + (int64_t)ch) - (int64_t)'0';
            }
            digits = true;
        } else {
            if (digits && pid_valid(v)) {
                pids[*n] = v;
                (*n)++;
            }
            v = 0;
            digits = false;
        }
    }
    if ((st == ST_OK) && digits && pid_valid(v) && (*n < cap)) {
        pids[*n] = v;   /* read whole: the last number had no space after it */
        (*n)++;
    }
    return ST_OK;
}

st_t port_proc_cwd(int64_t pid, char *buf, size_t cap)
{
    char path[64];
    ssize_t r;
    if (cap > 0u) {
        buf[0] = '\0';
    }
    if (!pid_valid(pid) || !proc_path(path, sizeof path, pid, "cwd")) {
        return ST_NOTFOUND;
    }
    if (cap == 0u) {
        return ST_TOOBIG;
    }
    r = os_readlink(path, buf, cap);
    if (r < 0) {
        return ST_NOTFOUND;
    }
    if ((size_t)r >= cap) {
        buf[0] = '\0';
        return ST_TOOBIG;   /* cut, or no room for the NUL */
    }
    buf[r] = '\0';
    return ST_OK;
}
