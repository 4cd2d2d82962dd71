/*
 * port/linux/port_net.c - port.h's sockets on the host's TCP/IP stack:
 * listen, accept, recv, send, sendfile, shutdown, close.
 *
 * Implementation notes:
 * - Every socket is non-blocking and close-on-exec. Writes use send() with
 *   MSG_NOSIGNAL; SIGPIPE is ignored as well for anything else.
 * - The loop's readiness set is loop_epoll.c or loop_poll.c (one is built);
 *   a closed socket leaves it (port_loop_forget). The lwIP port has its own
 *   sockets (port/lwip/port_lwip.c) instead of this file.
 * - Every OS call goes through the operations table of os.c; errno is
 *   mapped by port_map_errno (port.c) and never leaves port/linux.
 */
#include "port.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "os.h"
#include "port_int.h"
#include "port_loop.h"

static st_t set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL, 0);
    if ((fl < 0) || (fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)) {
        return port_map_errno(errno);
    }
    return ST_OK;
}

/* Resolve host to a sockaddr without the resolver: literals and "localhost"
 * (port_int.h). */
st_t port_host_addr(const char *host, uint16_t port, struct sockaddr_storage *ss,
                    socklen_t *len)
{
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    (void)memset(ss, 0, sizeof *ss);
    if ((strcmp(host, "localhost") == 0) || (inet_pton(AF_INET, host, &v4->sin_addr) == 1)) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        if (strcmp(host, "localhost") == 0) {
            v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        }
        *len = (socklen_t)sizeof *v4;
        return ST_OK;
    }
    {
        char tmp[64];
        const char *addr = host;
        size_t n = strlen(host);
        /* Accept "[::1]" as well as "::1". */
        if ((n >= 2u) && (host[0] == '[') && (host[n - 1u] == ']') && ((n - 2u) < sizeof(tmp))) {
            (void)memcpy(tmp, host + 1, n - 2u);
            tmp[n - 2u] = '\0';
            addr = tmp;
        }
        if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
            v6->sin6_family = AF_INET6;
            v6->sin6_port = htons(port);
            *len = (socklen_t)sizeof *v6;
            return ST_OK;
        }
    }
    return ST_INVAL;
}

st_t port_listen(const char *host, uint16_t port, int backlog, port_sock *out)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    int one = 1;
    int fd;
    st_t st = port_host_addr(host, port, &ss, &len);
    if (st != ST_OK) {
        return st;
    }
    fd = os_socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return port_map_errno(errno);
    }
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ss.ss_family == AF_INET6) {
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
    if ((os_bind(fd, (struct sockaddr *)&ss, len) < 0) || (os_listen(fd, backlog) < 0)) {
        st = port_map_errno(errno);
        (void)close(fd);
        return st;
    }
    st = set_nonblock(fd);
    if (st != ST_OK) {
        (void)close(fd);
        return st;
    }
    *out = fd;
    return ST_OK;
}

st_t port_local_port(port_sock s, uint16_t *port)
{
    struct sockaddr_storage ss;
    socklen_t len = (socklen_t)sizeof ss;
    if (getsockname(s, (struct sockaddr *)&ss, &len) < 0) {
        return port_map_errno(errno);
    }
    if (ss.ss_family == AF_INET6) {
        *port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    } else {
        *port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    return ST_OK;
}

st_t port_accept(port_sock listener, port_sock *out)
{
    int one = 1;
    int fd = os_accept4(listener, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        /* A connection reset before accept is not the listener's problem. */
        if ((e == ECONNABORTED) || (e == EPROTO)) {
            return ST_AGAIN;
        }
        return port_map_errno(e);
    }
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    *out = fd;
    return ST_OK;
}

st_t port_recv(port_sock s, void *buf, size_t cap, size_t *n)
{
    ssize_t r = os_recv(s, buf, cap);
    if (r > 0) {
        *n = (size_t)r;
        return ST_OK;
    }
    *n = 0u;
    if (r == 0) {
        return ST_CLOSED;
    }
    return port_map_errno(errno);
}

st_t port_send(port_sock s, const void *buf, size_t len, size_t *n)
{
    ssize_t r = os_send(s, buf, len);
    if (r >= 0) {
        *n = (size_t)r;
        return ST_OK;
    }
    *n = 0u;
    return port_map_errno(errno);
}

bool port_send_file_supported(void)
{
    return true;
}

st_t port_send_file(port_sock s, port_file f, uint64_t off, size_t len, size_t *n)
{
    off_t o = (off_t)off;
    ssize_t r;
    *n = 0u;
    if (off > (uint64_t)INT64_MAX) {
        return ST_RANGE;
    }
    r = os_sendfile(s, f, &o, len);
    if (r < 0) {
        return port_map_errno(errno);
    }
    if ((r == 0) && (len > 0u)) {
        return ST_IO;    /* the file ended before off + len: shorter than announced */
    }
    *n = (size_t)r;
    return ST_OK;
}

void port_shutdown_write(port_sock s)
{
    (void)shutdown(s, SHUT_WR);
}

void port_close(port_sock s)
{
    if (s >= 0) {
        port_loop_forget(s);
        (void)close(s);
    }
}
