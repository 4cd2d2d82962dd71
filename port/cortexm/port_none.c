/*
 * port/cortexm/port_none.c - the parts of port/port.h a board without an OS
 * does not have, answered as the contract allows: no other processes
 * (port_proc_supported false: ST_UNSUPPORTED), no program path or
 * standard input, no fault injection (a
 * release image: ST_UNSUPPORTED) and no system-call table for sqlite (its
 * VFS is port/cortexm/vfs.c). No child processes and no blocking client
 * either, nor sendfile: port/none/, shared with the lwIP port.
 */
#include "port.h"

bool port_proc_supported(void)
{
    return false;
}

int64_t port_proc_self(void)
{
    return 1;
}

st_t port_proc_exists(int64_t pid)
{
    (void)pid;
    return ST_UNSUPPORTED;
}

st_t port_proc_signal(int64_t pid, port_sig sig, const char **reason)
{
    (void)pid;
    (void)sig;
    if (reason != NULL) {
        *reason = "not supported on this board";
    }
    return ST_UNSUPPORTED;
}

st_t port_proc_cmdline(int64_t pid, char *buf, size_t cap, size_t *n)
{
    (void)pid;
    (void)buf;
    (void)cap;
    *n = 0u;
    return ST_UNSUPPORTED;
}

st_t port_proc_comm(int64_t pid, char *buf, size_t cap)
{
    (void)pid;
    (void)buf;
    (void)cap;
    return ST_UNSUPPORTED;
}

st_t port_proc_children(int64_t pid, int64_t *pids, size_t cap, size_t *n)
{
    (void)pid;
    (void)pids;
    (void)cap;
    *n = 0u;
    return ST_UNSUPPORTED;
}

st_t port_proc_cwd(int64_t pid, char *buf, size_t cap)
{
    (void)pid;
    (void)buf;
    (void)cap;
    return ST_UNSUPPORTED;
}

st_t port_realpath(const char *path, char *buf, size_t cap)
{
    (void)path;
    (void)buf;
    (void)cap;
    return ST_UNSUPPORTED;
}

st_t port_self_exe(char *buf, size_t cap)
{
    (void)buf;
    (void)cap;
    return ST_UNSUPPORTED;
}

st_t port_stdin_read(char *buf, size_t cap, size_t *n)
{
    (void)buf;
    (void)cap;
    *n = 0u;
    return ST_UNSUPPORTED;
}

st_t port_fault_arm(const char *op, uint32_t nth, bool and_after, const char *err)
{
    (void)op;
    (void)nth;
    (void)and_after;
    (void)err;
    return ST_UNSUPPORTED;
}

void port_fault_disarm(void)
{
}

uint64_t port_fault_fired(void)
{
    return 0u;
}

const char *const *port_fault_ops(void)
{
    static const char *const k_none[] = { NULL };
    return k_none;
}

port_any_fn port_os_call(const char *name)
{
    (void)name;
    return NULL;
}
