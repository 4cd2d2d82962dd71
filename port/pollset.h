/*
 * port/pollset.h - the interest set of the two poll-shaped loops
 * (port.h's port_watch, port_unwatch and port_wait): port/linux/loop_poll.c
 * over poll(2) and port/lwip/port_lwip.c over lwip_poll. Each includes it
 * once, after the header that defines its struct pollfd and the POLL* bits
 * (<poll.h>, lwip/sockets.h), and so has its own copy of what is here.
 *
 * - The pollfd array is the interest set itself, kept between waits: a
 *   watch changes one entry, an unwatch moves the last entry into the hole.
 *   g_slot[s] is the entry of socket s (index + 1; 0: none).
 * - A wait hands the kernel (or lwIP) the whole array, then
 *   pollset_collect scans it for what fired: its cost grows with the number
 *   of sockets watched (epoll's does not).
 * - Every socket number is below PORT_FD_MAX (port.h), so it fits g_slot;
 *   one that is not is ST_FULL.
 */
#ifndef ROOST_PORT_POLLSET_H
#define ROOST_PORT_POLLSET_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "port.h"

static struct pollfd g_pfd[PORT_WATCH_MAX];
static uint32_t g_tag[PORT_WATCH_MAX];
static uint32_t g_slot[PORT_FD_MAX];
static size_t g_n;

/* Static storage of the set, for the including file's plan check. */
#define POLLSET_STATIC_BYTES (sizeof(g_pfd) + sizeof(g_tag) + sizeof(g_slot))

static void pollset_reset(void)
{
    (void)memset(g_slot, 0, sizeof g_slot);
    g_n = 0u;
}

static st_t pollset_watch(port_sock s, uint32_t events, uint32_t tag)
{
    size_t i;
    int ev = 0;
    if ((s < 0) || ((size_t)s >= PORT_FD_MAX)) {
        return ST_FULL;
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
    if ((events & PORT_EV_IN) != 0u) {
        ev |= (int)POLLIN;
    }
    if ((events & PORT_EV_OUT) != 0u) {
        ev |= (int)POLLOUT;
    }
    g_pfd[i].events = (short)ev;
    g_pfd[i].revents = 0;
    g_tag[i] = tag;
    return ST_OK;
}

static void pollset_unwatch(port_sock s)
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

/* After a poll over g_pfd[0..g_n): what fired, at most cap of it. */
static size_t pollset_collect(port_event *fired, size_t cap)
{
    size_t i;
    size_t k = 0u;
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

#endif
