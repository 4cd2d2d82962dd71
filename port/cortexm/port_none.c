/*
 * port/cortexm/port_none.c - the parts of port/port.h a board without an OS
 * does not have, answered as the contract allows: no other processes and
 * no child processes (port_proc_supported, port_child_supported false:
 * ST_UNSUPPORTED), no program path or standard input, no blocking client
 * (roostd's subcommands are not for a board), no fault injection (a
 * release image: ST_UNSUPPORTED) and no system-call table for sqlite (its
 * VFS is port/cortexm/vfs.c).
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

bool port_child_supported(void)
{
    return false;
}

st_t port_child_spawn(const char *const *argv, const char *const *envp, port_child *out)
{
    (void)argv;
    (void)envp;
    out->pid = 0;
    out->in = PORT_SOCK_NONE;
    out->out = PORT_SOCK_NONE;
    out->err = PORT_SOCK_NONE;
    return ST_UNSUPPORTED;
}

st_t port_child_reap(int64_t pid, bool *ended, int *code, int *sig)
{
    (void)pid;
    *ended = false;
    *code = 0;
    *sig = 0;
    return ST_UNSUPPORTED;
}

void port_child_kill(int64_t pid)
{
    (void)pid;
}

port_sock port_child_notify_sock(void)
{
    return PORT_SOCK_NONE;
}

void port_child_notify_drain(void)
{
}

st_t port_path_find(const char *name, char *buf, size_t cap)
{
    (void)name;
    (void)buf;
    (void)cap;
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

st_t port_client_connect(const char *host, uint16_t port, uint64_t deadline_us,
                         port_sock *out)
{
    (void)host;
    (void)port;
    (void)deadline_us;
    *out = PORT_SOCK_NONE;
    return ST_UNSUPPORTED;
}

st_t port_client_send(port_sock s, const void *buf, size_t n, uint64_t deadline_us)
{
    (void)s;
    (void)buf;
    (void)n;
    (void)deadline_us;
    return ST_UNSUPPORTED;
}

st_t port_client_recv(port_sock s, void *buf, size_t cap, size_t *n, uint64_t deadline_us)
{
    (void)s;
    (void)buf;
    (void)cap;
    (void)deadline_us;
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
