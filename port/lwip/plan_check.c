/*
 * port/lwip/plan_check.c - the lwIP port's plan against lwIP's own types:
 * what lwIP declares with plan.h's numbers (its heap, the rx pbufs, the TCP
 * blocks, the sockets with their netconns, the queued segments, the
 * interface and its frame buffer) fits PORT_LWIP_STATIC_BYTES, the line of
 * `roostd --budget` (port.h's PORT_STATIC_BYTES). A compile-time check
 * only: no code, no data.
 */
#include <stddef.h>

#include "lwip/opt.h"
#include "lwip/api.h"
#include "lwip/memp.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/priv/sockets_priv.h"
#include "lwip/priv/tcp_priv.h"

#include "plan.h"

_Static_assert(((size_t)MEM_SIZE +
                ((size_t)PBUF_POOL_SIZE * ((size_t)PBUF_POOL_BUFSIZE + sizeof(struct pbuf))) +
                ((size_t)MEMP_NUM_TCP_PCB * sizeof(struct tcp_pcb)) +
                ((size_t)MEMP_NUM_NETCONN * (sizeof(struct netconn) + sizeof(struct lwip_sock))) +
                ((size_t)MEMP_NUM_TCP_SEG * sizeof(struct tcp_seg)) + sizeof(struct netif) +
                (size_t)PORT_LWIP_FRAME_BYTES) <= (size_t)PORT_LWIP_STATIC_BYTES,
               "PORT_LWIP_STATIC_BYTES (port/lwip/plan.h) is lwIP's plan");

