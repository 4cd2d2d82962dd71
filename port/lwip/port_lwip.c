/*
 * port/lwip/port_lwip.c - port.h's sockets and loop on lwIP's sockets API
 * (lwip_socket, lwip_bind, lwip_listen, lwip_accept, lwip_recv, lwip_send,
 * lwip_close, lwip_poll), on roost's one thread.
 *
 * Implementation notes:
 * - port_loop_init attaches the TAP device named by --lwip.tap and starts
 *   lwIP with --lwip.address (main.c). Until then no socket exists.
 * - Every socket is non-blocking (lwip_fcntl O_NONBLOCK); lwIP raises no
 *   SIGPIPE. errno (the C library's: LWIP_ERRNO_STDINCLUDE) never leaves
 *   this file.
 * - A board has one address: a listener binds it whatever host it is given
 *   ("localhost" and any IPv4 literal: INADDR_ANY of the one interface);
 *   an IPv6 literal is ST_INVAL (lwIP is built without IPv6).
 * - A listener's backlog is at most PORT_LWIP_BACKLOG (plan.h): lwIP drops
 *   a SYN past it, and the client sends it again.
 * - port_wait: lwIP's input and timers first, then lwip_poll(timeout 0)
 *   over the watched sockets; if none is ready, the host's poll(2) on the
 *   TAP device for at most the timeout (or until lwIP's next timer), then
 *   input, timers and lwip_poll(0) again. lwip_poll never waits, so it
 *   only ever tries lwIP's mailboxes (sys_arch.c).
 * - The interest set is port/pollset.h's, shared with port/linux's poll
 *   loop, over lwIP's own struct pollfd.
 * - No sendfile: port_send_file is ST_UNSUPPORTED and files are sent from
 *   roost's buffers.
 */
#include <string.h>

#include "lwip/opt.h"
#include "lwip/sockets.h"
#include "lwip/timeouts.h"
#include "lwip/ip4_addr.h"

#include "port.h"
#include "lwip_int.h"
#include "pollset.h"

static bool g_up;
_Static_assert(POLLSET_STATIC_BYTES <= (PORT_STATIC_BYTES - PORT_LWIP_STATIC_BYTES),
               "PORT_STATIC_BYTES is this module's plan");

static st_t map_errno(int e)
{
    st_t st;
    switch (e) {
    case EAGAIN:
    case EINTR:
        st = ST_AGAIN;
        break;
    case EPIPE:
    case ECONNRESET:
    case ENOTCONN:
    case ECONNABORTED:
    case ETIMEDOUT:
        st = ST_CLOSED;
        break;
    case ENFILE:
    case EMFILE:
    case ENOBUFS:
    case ENOMEM:
        st = ST_NOMEM;
        break;
    case EADDRINUSE:
        st = ST_ADDRINUSE;
        break;
    case EINVAL:
    case EADDRNOTAVAIL:
    case EAFNOSUPPORT:
        st = ST_INVAL;
        break;
    default:
        st = ST_IO;
        break;
    }
    return st;
}

static st_t set_nonblock(int s)
{
    return (lwip_fcntl(s, F_SETFL, O_NONBLOCK) == 0) ? ST_OK : map_errno(errno);
}

st_t port_listen(const char *host, uint16_t port, int backlog, port_sock *out)
{
    struct sockaddr_in sa;
    ip4_addr_t a;
    int one = 1;
    int s;
    st_t st = ST_OK;
    if ((strcmp(host, "localhost") != 0) && (ip4addr_aton(host, &a) == 0)) {
        return ST_INVAL;
    }
    if (!g_up) {
        return ST_IO;
    }
    (void)memset(&sa, 0, sizeof(sa));
    sa.sin_len = (u8_t)sizeof(sa);
    sa.sin_family = AF_INET;
    sa.sin_port = lwip_htons(port);
    sa.sin_addr.s_addr = PP_HTONL(INADDR_ANY);
    s = lwip_socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) {
        return map_errno(errno);
    }
    (void)lwip_setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, (socklen_t)sizeof(one));
    /* cppcheck-suppress misra-c2012-11.3 ; the sockets API takes a sockaddr_in as a sockaddr */
    if ((lwip_bind(s, (const struct sockaddr *)&sa, (socklen_t)sizeof(sa)) != 0) ||
        (lwip_listen(s, (backlog < PORT_LWIP_BACKLOG) ? backlog : PORT_LWIP_BACKLOG) != 0)) {
        st = map_errno(errno);
    } else {
        st = set_nonblock(s);
    }
    if (st != ST_OK) {
        (void)lwip_close(s);
        return st;
    }
    *out = s;
    return ST_OK;
}

st_t port_local_port(port_sock s, uint16_t *port)
{
    struct sockaddr_in sa;
    socklen_t len = (socklen_t)sizeof(sa);
    /* cppcheck-suppress misra-c2012-11.3 ; the sockets API takes a sockaddr_in as a sockaddr */
    if (lwip_getsockname(s, (struct sockaddr *)&sa, &len) != 0) {
        return map_errno(errno);
    }
    *port = lwip_ntohs(sa.sin_port);
    return ST_OK;
}

st_t port_accept(port_sock listener, port_sock *out)
{
    int one = 1;
    int s = lwip_accept(listener, NULL, NULL);
    if (s < 0) {
        int e = errno;
        return (e == ECONNABORTED) ? ST_AGAIN : map_errno(e);
    }
    if (set_nonblock(s) != ST_OK) {
        (void)lwip_close(s);
        return ST_IO;
    }
    (void)lwip_setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, (socklen_t)sizeof(one));
    *out = s;
    return ST_OK;
}

st_t port_recv(port_sock s, void *buf, size_t cap, size_t *n)
{
    ssize_t r = lwip_recv(s, buf, cap, MSG_DONTWAIT);
    *n = 0u;
    if (r > 0) {
        *n = (size_t)r;
        return ST_OK;
    }
    return (r == 0) ? ST_CLOSED : map_errno(errno);
}

st_t port_send(port_sock s, const void *buf, size_t len, size_t *n)
{
    ssize_t r = lwip_send(s, buf, len, MSG_DONTWAIT);
    *n = 0u;
    if (r >= 0) {
        *n = (size_t)r;
        return ST_OK;
    }
    return map_errno(errno);
}

void port_shutdown_write(port_sock s)
{
    (void)lwip_shutdown(s, SHUT_WR);
}

void port_close(port_sock s)
{
    if (s >= 0) {
        port_unwatch(s);
        (void)lwip_close(s);
    }
}

/* ---- the loop ----------------------------------------------------------- */

st_t port_loop_init(void)
{
    st_t st = ST_OK;
    pollset_reset();
    if (!g_up) {
        if (strlen(g_port_lwip_conf.tap) == 0u) {
            port_stderr("roostd: lwIP: no TAP device (--lwip.tap=NAME)\n", 47u);
            st = ST_INVAL;
        } else {
            st = tap_open(g_port_lwip_conf.tap);
            if (st == ST_OK) {
                st = netif_start();
            } else {
                port_stderr("roostd: lwIP: cannot attach the TAP device\n", 43u);
            }
        }
        g_up = (st == ST_OK);
    }
    return st;
}

const char *port_loop_name(void)
{
    return "lwip_poll";
}

st_t port_watch(port_sock s, uint32_t events, uint32_t tag)
{
    return pollset_watch(s, events, tag);
}

void port_unwatch(port_sock s)
{
    pollset_unwatch(s);
}

void port_lwip_pump(int timeout_ms)
{
    if ((timeout_ms == 0) || tap_wait(timeout_ms)) {
        (void)netif_input_all();
    }
    sys_check_timeouts();
}

static size_t collect(port_event *fired, size_t cap)
{
    if ((g_n == 0u) || (lwip_poll(g_pfd, (nfds_t)g_n, 0) <= 0)) {
        return 0u;
    }
    return pollset_collect(fired, cap);
}

size_t port_wait(port_event *fired, size_t cap, int timeout_ms)
{
    size_t k;
    port_lwip_pump(0);
    k = collect(fired, cap);
    if (k == 0u) {
        u32_t next = sys_timeouts_sleeptime();
        int ms = timeout_ms;
        /* UINT32_MAX: lwIP's SYS_TIMEOUTS_SLEEPTIME_INFINITE, no timer */
        if ((next != UINT32_MAX) &&
            ((ms < 0) || ((u32_t)ms > next))) {
            ms = (int)next;
        }
        port_lwip_pump(ms);
        k = collect(fired, cap);
    }
    return k;
}
