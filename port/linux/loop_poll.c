/*
 * port/linux/loop_poll.c - the loop's readiness set on poll(2) (port.h:
 * port_watch, port_unwatch, port_wait): the portable backend, the shape
 * the lwIP port's lwip_poll uses too. Built with `make LOOP=poll`.
 *
 * Implementation notes:
 * - The pollfd array is the interest set itself, kept between waits: a
 *   watch changes one entry, an unwatch moves the last entry into the
 *   hole. g_slot[fd] is the entry of each descriptor (index + 1; 0: none).
 * - A wait hands the kernel the whole array and scans it for what fired:
 *   its cost grows with the number of sockets watched (epoll's does not).
 * - The descriptor limit is set to PORT_FD_MAX (port.h), so every
 *   descriptor fits g_slot.
 */
#include "port.h"

#include <errno.h>
#include <poll.h>
#include <string.h>

#include "os.h"
#include "port_loop.h"

static struct pollfd g_pfd[PORT_WATCH_MAX];
static uint32_t g_tag[PORT_WATCH_MAX];
static uint32_t g_slot[PORT_FD_MAX];
static size_t g_n;
_Static_assert((sizeof(g_pfd) + sizeof(g_tag) + sizeof(g_slot)) <= PORT_STATIC_BYTES,
               "PORT_STATIC_BYTES is this module's plan");

st_t port_loop_init(void)
{
    port_loop_fd_limit();
    (void)memset(g_slot, 0, sizeof g_slot);
    g_n = 0u;
    return ST_OK;
}

const char *port_loop_name(void)
{
    return "poll";
}

st_t port_watch(port_sock s, uint32_t events, uint32_t tag)
{
    size_t i;
    int e = os_fault(OS_WATCH);
    if ((s < 0) || ((size_t)s >= PORT_FD_MAX)) {
        return ST_FULL;
    }
    if (e != 0) {
        return ST_IO;
    }
    if (g_slot[s] == 0u) {
        if (g_n >= PORT_WATCH_MAX) {
            return ST_FULL;
        }
        i = g_n;
        g_n++;
        g_slot[s] = (uint32_t)i + 1u;
        g_pfd[i].fd = s;
    } else {
        i = (size_t)g_slot[s] - 1u;
    }
    g_pfd[i].events = (short)((((events & PORT_EV_IN) != 0u) ? POLLIN : 0) |
                              (((events & PORT_EV_OUT) != 0u) ? POLLOUT : 0));
    g_pfd[i].revents = 0;
    g_tag[i] = tag;
    return ST_OK;
}

void port_unwatch(port_sock s)
{
    if ((s >= 0) && ((size_t)s < PORT_FD_MAX) && (g_slot[s] != 0u)) {
        size_t i = (size_t)g_slot[s] - 1u;
        size_t last = g_n - 1u;
        g_slot[s] = 0u;
        if (i != last) {
            g_pfd[i] = g_pfd[last];
            g_tag[i] = g_tag[last];
            g_slot[g_pfd[i].fd] = (uint32_t)i + 1u;
        }
        g_n = last;
    }
}

void port_loop_forget(port_sock s)
{
    port_unwatch(s);
}

size_t port_wait(port_event *fired, size_t cap, int timeout_ms)
{
    size_t i;
    size_t k = 0u;
    int r = os_poll(g_pfd, (nfds_t)g_n, timeout_ms);
    if (r <= 0) {
        return 0u;
    }
    for (i = 0u; (i < g_n) && (k < cap); i++) {
        short re = g_pfd[i].revents;
        if (re != 0) {
            uint32_t got = 0u;
            if ((re & POLLIN) != 0) {
                got |= PORT_EV_IN;
            }
            if ((re & POLLOUT) != 0) {
                got |= PORT_EV_OUT;
            }
            if ((re & (POLLERR | POLLHUP | POLLNVAL)) != 0) {
                got |= PORT_EV_ERR;
            }
            fired[k].tag = g_tag[i];
            fired[k].got = got;
            k++;
        }
    }
    return k;
}
