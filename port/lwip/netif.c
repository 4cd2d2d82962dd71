/*
 * port/lwip/netif.c - lwIP's Ethernet interface over the TAP device
 * (lwip_int.h): start the stack, bring the interface up with the address
 * main.c was given, move frames between the device and lwIP.
 *
 * Implementation notes:
 * - One frame buffer, static: an outgoing pbuf chain is copied into it and
 *   written; an incoming frame is read into it and copied into a pbuf of
 *   lwIP's rx pool (a frame that finds the pool empty is dropped, as a
 *   full ring would drop it).
 * - Input goes straight to ethernet_input (LWIP_TCPIP_CORE_LOCKING_INPUT:
 *   no tcpip_thread mailbox in between), at most NETIF_RX_BURST frames a
 *   turn so the loop's own sockets are served in between.
 * - The MAC is locally administered (02:...) and ends in the address's
 *   last two bytes, so two roostd on one segment differ.
 * - port_lwip_tcp_inpacket is lwIP's TCP input hook (lwip_hooks.h): a SYN
 *   reopening a four-tuple that is in TIME_WAIT ends the TIME_WAIT.
 */
#include <string.h>

#include "lwip/opt.h"
#include "lwip/init.h"
#include "lwip/etharp.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "netif/ethernet.h"

#include "lwip_int.h"
#include "lwip_hooks.h"

#define NETIF_FRAME_BYTES PORT_LWIP_FRAME_BYTES
#define NETIF_RX_BURST 32u

port_lwip_conf g_port_lwip_conf;

static struct netif g_netif;
static uint8_t g_frame[NETIF_FRAME_BYTES];

static err_t tap_linkoutput(struct netif *nif, struct pbuf *p)
{
    u16_t n;
    (void)nif;
    n = pbuf_copy_partial(p, g_frame, (u16_t)sizeof(g_frame), 0u);
    tap_write(g_frame, (size_t)n);
    return ERR_OK;
}

static err_t tap_netif_init(struct netif *nif)
{
    const port_lwip_conf *c = &g_port_lwip_conf;
    nif->name[0] = 't';
    nif->name[1] = 'p';
    nif->output = etharp_output;
    nif->linkoutput = tap_linkoutput;
    nif->mtu = 1500u;
    nif->hwaddr_len = 6u;
    nif->hwaddr[0] = 0x02u;
    nif->hwaddr[1] = 0x00u;
    nif->hwaddr[2] = 0x00u;
    nif->hwaddr[3] = 0x00u;
    nif->hwaddr[4] = c->addr[2];
    nif->hwaddr[5] = c->addr[3];
    nif->flags = (u8_t)(NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET |
                        NETIF_FLAG_LINK_UP);
    return ERR_OK;
}

/* Four bytes in network order as a host-order number. */
static uint32_t be32(const uint8_t b[4])
{
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | (uint32_t)b[3];
}

st_t netif_start(void)
{
    const port_lwip_conf *c = &g_port_lwip_conf;
    ip4_addr_t addr;
    ip4_addr_t mask;
    ip4_addr_t gw;
    uint32_t m = (c->prefix == 0u) ? 0u : (0xffffffffu << (32u - (uint32_t)c->prefix));
    st_t st = ST_OK;
    lwip_init();
    addr.addr = lwip_htonl(be32(c->addr));
    mask.addr = lwip_htonl(m);
    gw.addr = lwip_htonl(be32(c->gw));
    if (netif_add(&g_netif, &addr, &mask, &gw, NULL, tap_netif_init, ethernet_input) == NULL) {
        st = ST_IO;
    } else {
        netif_set_default(&g_netif);
        netif_set_up(&g_netif);
    }
    return st;
}

bool netif_input_all(void)
{
    unsigned k;
    bool any = false;
    for (k = 0u; k < NETIF_RX_BURST; k++) {
        size_t n = tap_read(g_frame, sizeof(g_frame));
        struct pbuf *p;
        if (n == 0u) {
            break;
        }
        any = true;
        p = pbuf_alloc(PBUF_RAW, (u16_t)n, PBUF_POOL);
        if (p != NULL) {
            (void)pbuf_take(p, g_frame, (u16_t)n);
            if (g_netif.input(p, &g_netif) != (err_t)ERR_OK) {
                (void)pbuf_free(p);
            }
        }
    }
    return any;
}

/* lwip_hooks.h: called by tcp_input for the pcb a segment matched, with the
 * header's numbers already in host order. */
err_t port_lwip_tcp_inpacket(struct tcp_pcb *pcb, const struct tcp_hdr *hdr)
{
    err_t r = ERR_OK;
    u16_t fl = (u16_t)TCPH_FLAGS(hdr);
    u32_t ahead = hdr->seqno - pcb->rcv_nxt;   /* past rcv_nxt: 1 .. 2^31 - 1 */
    bool syn_only = ((fl & (u16_t)TCP_SYN) != 0u) && ((fl & (u16_t)TCP_ACK) == 0u) &&
                    ((fl & (u16_t)TCP_RST) == 0u);
    if ((pcb->state == TIME_WAIT) && syn_only && (ahead != 0u) && (ahead < 0x80000000u)) {
        tcp_abort(pcb);   /* a TIME_WAIT pcb is freed, no RST sent */
        r = ERR_ABRT;
    }
    return r;
}
