/*
 * port/lwip/lwip_hooks.h - lwIP's hooks (LWIP_HOOK_FILENAME, lwipopts.h).
 *
 * LWIP_HOOK_TCP_INPACKET_PCB: a new connection's SYN that finds a pcb in
 * TIME_WAIT for the same four numbers (roostd closed first; the client,
 * which closed second, holds no TIME_WAIT and may take the same port again
 * at once) ends that TIME_WAIT when its sequence number is past the old
 * connection's (RFC 1122 4.2.2.13, as Linux does). lwIP itself answers such
 * a SYN with an ACK and ignores the client's RST (RFC 1337) for the whole
 * 2 MSL, so the client's connect times out. The SYN is dropped; its
 * retransmission finds the listener.
 */
#ifndef ROOST_PORT_LWIP_HOOKS_H
#define ROOST_PORT_LWIP_HOOKS_H

#include "lwip/tcp.h"
#include "lwip/prot/tcp.h"

err_t port_lwip_tcp_inpacket(struct tcp_pcb *pcb, const struct tcp_hdr *hdr);

#endif
