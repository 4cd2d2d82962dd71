/*
 * port/linux/loop_poll.c - the loop's readiness set on poll(2) (port.h:
 * port_watch, port_unwatch, port_wait): the portable backend. Built with
 * `make LOOP=poll`.
 *
 * Implementation notes:
 * - The interest set is port/pollset.h's, shared with the lwIP port's
 *   lwip_poll loop; this file adds the fault point and the poll(2) call.
 * - The descriptor limit is set to PORT_FD_MAX (port.h), so every
 *   descriptor fits the set.
 */
#include "port.h"

#include <poll.h>

#include "os.h"
#include "port_loop.h"
#include "pollset.h"

_Static_assert(POLLSET_STATIC_BYTES <= PORT_STATIC_BYTES, "PORT_STATIC_BYTES is this module's plan");

st_t port_loop_init(void)
{
    port_loop_fd_limit();
    pollset_reset();
    return ST_OK;
}

const char *port_loop_name(void)
{
    return "poll";
}

st_t port_watch(port_sock s, uint32_t events, uint32_t tag)
{
    if (os_fault(OS_WATCH) != 0) {
        return ((s < 0) || ((size_t)s >= PORT_FD_MAX)) ? ST_FULL : ST_IO;
    }
    return pollset_watch(s, events, tag);
}

void port_unwatch(port_sock s)
{
    pollset_unwatch(s);
}

void port_loop_forget(port_sock s)
{
    pollset_unwatch(s);
}

size_t port_wait(port_event *fired, size_t cap, int timeout_ms)
{
    if (os_poll(g_pfd, (nfds_t)g_n, timeout_ms) <= 0) {
        return 0u;
    }
    return pollset_collect(fired, cap);
}
