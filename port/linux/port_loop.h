/*
 * port/linux/port_loop.h - what the readiness backends (loop_epoll.c,
 * loop_poll.c: one is built) share with the rest of port/linux.
 */
#ifndef ROOST_PORT_LINUX_LOOP_H
#define ROOST_PORT_LINUX_LOOP_H

#include "port.h"

/* s is being closed: forget it without a system call (the kernel drops a
 * closed descriptor from an epoll set by itself). */
void port_loop_forget(port_sock s);
/* Set the soft descriptor limit to PORT_FD_MAX (or the hard limit when it
 * is lower): every descriptor the process gets is below PORT_FD_MAX. */
void port_loop_fd_limit(void);

#endif
