/*
 * port/none/client.c - the command-line tools' blocking TCP client (port.h,
 * "command-line tools") on a port that has none: the lwIP port (`roostd
 * hook` runs instead of the server, where lwIP and its interface are not
 * started) and the Cortex-M port (roostd's subcommands are not for a
 * board). Each call answers ST_UNSUPPORTED.
 */
#include "port.h"

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
