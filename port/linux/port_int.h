/*
 * port/linux/port_int.h - what port.c shares with the other files of
 * port/linux (port_net.c, port_client.c).
 */
#ifndef ROOST_PORT_LINUX_INT_H
#define ROOST_PORT_LINUX_INT_H

#include <stdint.h>
#include <sys/socket.h>

#include "port.h"

/* errno e as a status (EAGAIN: ST_AGAIN, ECONNRESET: ST_CLOSED, ...). */
st_t port_map_errno(int e);

/* host as a socket address, without the resolver: an IPv4 or IPv6 literal
 * ("::1" or "[::1]") or "localhost" (127.0.0.1). ST_INVAL otherwise. */
st_t port_host_addr(const char *host, uint16_t port, struct sockaddr_storage *ss,
                    socklen_t *len);

#endif
