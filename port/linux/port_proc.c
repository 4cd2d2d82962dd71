/*
 * port/linux/port_proc.c - signalling other processes (port.h, "other
 * processes"), for the observability stop procedure.
 *
 * errno never leaves this file: it is mapped to a status and a static text.
 */
#include "port.h"
#include "os.h"

#include <errno.h>
/* cppcheck-suppress misra-c2012-21.5 ; kill(2) and its signal numbers are what this file is for */
#include <signal.h>
#include <stdint.h>
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
