/*
 * port/linux/port_client.c - the blocking TCP client with a deadline that
 * roostd's command-line tools use (port.h, "command-line tools"; the
 * program's own path and standard input are port_cli.c's, which the lwIP
 * port shares).
 *
 * Implementation notes:
 * - The client's socket is non-blocking; every wait is a poll(2) bounded
 *   by what is left of the caller's deadline, so a peer that never
 *   accepts, never reads or never answers costs the deadline, no more.
 * - connect, recv, send, poll, read and readlink go through the operations
 *   table (os.c), so the tests can make them fail like the server's calls.
 * - errno never leaves this file.
 */
#include "port.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "os.h"
#include "port_int.h"

static st_t client_errno(int e)
{
    st_t st;
    switch (e) {
    case ECONNREFUSED:
    case ECONNRESET:
    case EPIPE:
    case ENOTCONN:
    case ECONNABORTED:
    case ENETUNREACH:
    case EHOSTUNREACH:
        st = ST_CLOSED;
        break;
    case ETIMEDOUT:
        st = ST_TIMEOUT;
        break;
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
        st = ST_NOMEM;
        break;
    case EINVAL:
    case EAFNOSUPPORT:
    case EADDRNOTAVAIL:
        st = ST_INVAL;
        break;
    default:
        st = ST_IO;
        break;
    }
    return st;
}

/* Wait until s is ready for events or the deadline passes: ST_OK (ready, or
 * an error the next call will report), ST_TIMEOUT, ST_IO. */
static st_t wait_for(int s, short events, uint64_t deadline_us)
{
    st_t st = ST_AGAIN;
    while (st == ST_AGAIN) {
        uint64_t now = port_mono_us();
        if (now >= deadline_us) {
            st = ST_TIMEOUT;
        } else {
            struct pollfd pfd;
            uint64_t ms = ((deadline_us - now) + 999u) / 1000u;
            int r;
            pfd.fd = s;
            pfd.events = events;
            pfd.revents = 0;
            int e;
            r = os_poll(&pfd, 1u, (ms > 60000u) ? 60000 : (int)ms);
            e = (r < 0) ? errno : 0;
            if (r > 0) {
                st = ST_OK;
            } else if ((r < 0) && (e != EINTR)) {
                st = ST_IO;
            } else {
                /* timed out or interrupted: look at the clock again */
            }
        }
    }
    return st;
}

st_t port_client_connect(const char *host, uint16_t port, uint64_t deadline_us,
                         port_sock *out)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    int one = 1;
    int fd;
    st_t st = port_host_addr(host, port, &ss, &len);
    *out = PORT_SOCK_NONE;
    if (st != ST_OK) {
        return st;
    }
    fd = os_socket((int)ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return client_errno(errno);
    }
    if (os_connect(fd, (const struct sockaddr *)&ss, len) != 0) {
        int e = errno;
        if ((e == EINPROGRESS) || (e == EINTR)) {
            st = wait_for(fd, POLLOUT, deadline_us);
            if (st == ST_OK) {
                int soerr = 0;
                socklen_t sl = (socklen_t)sizeof soerr;
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0) {
                    st = ST_IO;
                } else if (soerr != 0) {
                    st = client_errno(soerr);
                } else {
                    /* connected */
                }
            }
        } else {
            st = client_errno(e);
        }
    }
    if (st != ST_OK) {
        (void)close(fd);
        return st;
    }
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    *out = fd;
    return ST_OK;
}

st_t port_client_send(port_sock s, const void *buf, size_t n, uint64_t deadline_us)
{
    const char *p = (const char *)buf;
    size_t done = 0u;
    st_t st = ST_OK;
    while ((st == ST_OK) && (done < n)) {
        ssize_t r = os_send(s, p + done, n - done);
        int e = (r < 0) ? errno : 0;
        if (r >= 0) {
            done += (size_t)r;
        } else if (e == EAGAIN) {       /* EWOULDBLOCK on Linux */
            st = wait_for(s, POLLOUT, deadline_us);
        } else if (e == EINTR) {
            /* again */
        } else {
            st = client_errno(e);
        }
    }
    return st;
}

st_t port_client_recv(port_sock s, void *buf, size_t cap, size_t *n, uint64_t deadline_us)
{
    st_t st = ST_AGAIN;
    *n = 0u;
    while (st == ST_AGAIN) {
        ssize_t r = os_recv(s, buf, cap);
        int e = (r < 0) ? errno : 0;
        if (r > 0) {
            *n = (size_t)r;
            st = ST_OK;
        } else if (r == 0) {
            st = ST_CLOSED;
        } else if (e == EAGAIN) {       /* EWOULDBLOCK on Linux */
            st = wait_for(s, POLLIN, deadline_us);
            if (st == ST_OK) {
                st = ST_AGAIN;
            }
        } else if (e == EINTR) {
            /* again */
        } else {
            st = client_errno(e);
        }
    }
    return st;
}
