/*
 * port/linux/loop_epoll.c - the loop's readiness set on epoll(7) (port.h:
 * port_watch, port_unwatch, port_wait). The default backend of port/linux.
 *
 * Implementation notes:
 * - Level-triggered, as poll(2) is, so both backends behave the same: a
 *   socket is reported at every wait while it is ready and watched.
 * - The kernel keeps the interest set: a turn costs one epoll_ctl per
 *   socket whose interest changed and one epoll_wait, whatever the number
 *   of idle connections.
 * - g_reg[fd] remembers what each descriptor is registered for (events + 1;
 *   0: not registered), so port_watch knows ADD from MOD without asking the
 *   kernel. The kernel drops a descriptor from the set when it is closed;
 *   port_close clears its entry. A descriptor closed behind our back (a
 *   library's socket) and reused answers MOD with ENOENT: it is added.
 * - The descriptor limit is set to PORT_FD_MAX (port.h), so every
 *   descriptor fits g_reg.
 */
#include "port.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "os.h"
#include "port_loop.h"

static int g_ep = -1;
static uint8_t g_reg[PORT_FD_MAX];
static struct epoll_event g_evs[PORT_WATCH_MAX];
_Static_assert((sizeof(g_reg) + sizeof(g_evs)) <= PORT_STATIC_BYTES,
               "PORT_STATIC_BYTES is this module's plan");

st_t port_loop_init(void)
{
    if (g_ep >= 0) {
        (void)close(g_ep);
    }
    port_loop_fd_limit();
    (void)memset(g_reg, 0, sizeof g_reg);
    g_ep = epoll_create1(EPOLL_CLOEXEC);
    return (g_ep >= 0) ? ST_OK : ST_IO;
}

const char *port_loop_name(void)
{
    return "epoll";
}

static uint32_t to_epoll(uint32_t events)
{
    return (((events & PORT_EV_IN) != 0u) ? (uint32_t)EPOLLIN : 0u) |
           (((events & PORT_EV_OUT) != 0u) ? (uint32_t)EPOLLOUT : 0u);
}

static int ctl(int op, int fd, uint32_t events, uint32_t tag)
{
    struct epoll_event ev;
    int e = os_fault(OS_WATCH);
    if (e != 0) {
        errno = e;
        return -1;
    }
    ev.events = to_epoll(events);
    ev.data.u64 = (uint64_t)tag;
    return epoll_ctl(g_ep, op, fd, &ev);
}

st_t port_watch(port_sock s, uint32_t events, uint32_t tag)
{
    int r;
    if ((s < 0) || ((size_t)s >= PORT_FD_MAX)) {
        return ST_FULL;
    }
    if (g_reg[s] == 0u) {
        r = ctl(EPOLL_CTL_ADD, s, events, tag);
        if ((r < 0) && (errno == EEXIST)) {
            r = ctl(EPOLL_CTL_MOD, s, events, tag);
        }
    } else {
        r = ctl(EPOLL_CTL_MOD, s, events, tag);
        if ((r < 0) && (errno == ENOENT)) {
            r = ctl(EPOLL_CTL_ADD, s, events, tag);
        }
    }
    if (r < 0) {
        return ST_IO;
    }
    g_reg[s] = (uint8_t)(events + 1u);
    return ST_OK;
}

void port_unwatch(port_sock s)
{
    if ((s >= 0) && ((size_t)s < PORT_FD_MAX) && (g_reg[s] != 0u)) {
        g_reg[s] = 0u;
        (void)epoll_ctl(g_ep, EPOLL_CTL_DEL, s, NULL);
    }
}

void port_loop_forget(port_sock s)
{
    if ((s >= 0) && ((size_t)s < PORT_FD_MAX)) {
        g_reg[s] = 0u;
    }
}

size_t port_wait(port_event *fired, size_t cap, int timeout_ms)
{
    size_t i;
    int r;
    size_t most = (cap < PORT_WATCH_MAX) ? cap : PORT_WATCH_MAX;
    int e = os_fault(OS_WAIT);
    if (e != 0) {
        return 0u;   /* as EINTR: nothing fired (cap 0: epoll_wait refuses) */
    }
    r = epoll_wait(g_ep, g_evs, (int)most, timeout_ms);
    if (r <= 0) {
        return 0u;
    }
    for (i = 0u; i < (size_t)r; i++) {
        uint32_t ev = g_evs[i].events;
        uint32_t got = 0u;
        if ((ev & (uint32_t)EPOLLIN) != 0u) {
            got |= PORT_EV_IN;
        }
        if ((ev & (uint32_t)EPOLLOUT) != 0u) {
            got |= PORT_EV_OUT;
        }
        if ((ev & ((uint32_t)EPOLLERR | (uint32_t)EPOLLHUP)) != 0u) {
            got |= PORT_EV_ERR;
        }
        fired[i].tag = (uint32_t)g_evs[i].data.u64;
        fired[i].got = got;
    }
    return (size_t)r;
}
