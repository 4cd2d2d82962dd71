/*
 * port/none/child.c - child processes (port.h, "child processes") on a
 * port that has none: the lwIP port (a board runs no other programs, and a
 * child's pipes would be host descriptors that lwIP's port_recv cannot
 * read) and the Cortex-M port (no OS). Every call answers ST_UNSUPPORTED,
 * so what needs them reports `unsupported` (net/child.h). Those ports
 * compile this file beside their own (Makefile, PORT_SRC).
 */
#include "port.h"

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
    if (cap > 0u) {
        buf[0] = '\0';
    }
    return ST_UNSUPPORTED;
}
