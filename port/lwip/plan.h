/*
 * port/lwip/plan.h - the sizes of the lwIP port's static memory, for the
 * plan (port.h's PORT_STATIC_BYTES, a line of `roostd --budget`) and for
 * lwipopts.h, which sizes lwIP's heap and pools from them. Plain numbers
 * and config.h limits only: port.h includes this file and src/ sees it.
 * Plain integers, as lwIP compares them in #if. plan_check.c checks with a
 * _Static_assert that what lwIP declares
 * (its heap, each pool, the sockets, the interface) fits
 * PORT_LWIP_STATIC_BYTES.
 */
#ifndef ROOST_PORT_LWIP_PLAN_H
#define ROOST_PORT_LWIP_PLAN_H

#include "config.h"

/* lwIP's heap (MEM_SIZE): what tcp_write copies a connection's outgoing
 * bytes into, up to TCP_SND_BUF (2 segments) per connection. */
#define PORT_LWIP_HEAP_BYTES (24u * 1024u)
/* Received frames: pbufs of one full Ethernet frame each, shared by every
 * connection (a window of 4 segments each overcommits them: a frame that
 * finds the pool empty is dropped, and TCP sends it again). */
#define PORT_LWIP_RX_PBUFS 16
/* TCP control blocks: every connection and listener, and 8 more for
 * connections closed by roost that TCP still finishes (FIN_WAIT,
 * TIME_WAIT; lwIP reuses the oldest TIME_WAIT one when the pool is full). */
#define PORT_LWIP_TCP_PCBS (CFG_MAX_CONNS + 8)
/* A listener's backlog in lwIP (TCP_LISTEN_BACKLOG): connections lwIP has
 * answered (SYN_RCVD, or established and waiting in the accept mailbox)
 * that roost has not accepted yet. A SYN past it is dropped and the client
 * sends it again, as with Linux's full accept queue. Without it lwIP answers
 * every SYN and then resets an established connection it has no socket or
 * mailbox entry for: the client's connect fails with ECONNRESET. */
#define PORT_LWIP_BACKLOG 4
/* Sockets (netconns): every connection, and per listener its own, its
 * backlog and the one it accepts to park or to answer 503 while the pool
 * of connections is full. */
#define PORT_LWIP_SOCKETS (CFG_MAX_CONNS + (CFG_MAX_LISTENERS * (PORT_LWIP_BACKLOG + 2)))

/* One Ethernet frame: netif.c's buffer between lwIP and the TAP device. */
#define PORT_LWIP_FRAME_BYTES 1518u

/* What lwIP declares statically with these numbers: the heap, the pools
 * (an rx pbuf is 1,552 B, a TCP block 200, a socket's netconn with its
 * two mailboxes of 16 entries 336, a queued segment 40), the interface
 * and its frame buffer, lwIP's own globals; measured on x86-64 (plan_check.c
 * asserts the sum from lwIP's own types). The counts are spelled out
 * unsigned here: the ones above stay plain for lwIP's #if. */
#define PORT_LWIP_STATIC_BYTES \
    (PORT_LWIP_HEAP_BYTES + ((unsigned)PORT_LWIP_RX_PBUFS * 1560u) + \
     (((unsigned)CFG_MAX_CONNS + 8u) * 216u) + \
     (((unsigned)CFG_MAX_CONNS + ((unsigned)CFG_MAX_LISTENERS * ((unsigned)PORT_LWIP_BACKLOG + 2u))) * 400u) + \
     (32u * 48u) + 6144u)

#endif
