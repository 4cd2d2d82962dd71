/*
 * port/lwip/lwipopts.h - roost's lwIP options: IPv4 TCP over one Ethernet
 * (TAP) interface, the sockets API on one thread, static memory only.
 *
 * NO_SYS=0 (the sockets and netconn APIs exist only then) with
 * LWIP_TCPIP_CORE_LOCKING=1 and no tcpip_thread: the caller of an API
 * function runs it at once under a lock that is a no-op (sys_arch.c), and
 * roost's loop feeds received frames and runs lwIP's timers itself
 * (port/lwip/README). Sizes come from plan.h, which the plan counts.
 */
#ifndef ROOST_LWIPOPTS_H
#define ROOST_LWIPOPTS_H

#include "plan.h"

#define NO_SYS                          0
#define LWIP_TCPIP_CORE_LOCKING         1
#define LWIP_TCPIP_CORE_LOCKING_INPUT   1
#define SYS_LIGHTWEIGHT_PROT            0
#define LWIP_NETCONN_SEM_PER_THREAD     0
#define LWIP_NETCONN_FULLDUPLEX         0
#define LWIP_COMPAT_MUTEX               0

/* ---- memory: static, counted by the plan -------------------------------- */
#define MEM_LIBC_MALLOC                 0
#define MEMP_MEM_MALLOC                 0
#define MEM_ALIGNMENT                   8
#define MEM_SIZE                        PORT_LWIP_HEAP_BYTES
#define PBUF_POOL_SIZE                  PORT_LWIP_RX_PBUFS
#define MEMP_NUM_TCP_PCB                PORT_LWIP_TCP_PCBS
#define MEMP_NUM_TCP_PCB_LISTEN         CFG_MAX_LISTENERS
#define MEMP_NUM_NETCONN                PORT_LWIP_SOCKETS
#define MEMP_NUM_TCP_SEG                32
#define MEMP_NUM_UDP_PCB                1
#define MEMP_NUM_RAW_PCB                0
#define MEMP_NUM_NETBUF                 2
#define MEMP_NUM_PBUF                   8
#define MEMP_NUM_ARP_QUEUE              4
#define MEMP_NUM_SELECT_CB              1
#define MEMP_NUM_TCPIP_MSG_API          1
#define MEMP_NUM_TCPIP_MSG_INPKT        1
#define MEMP_NUM_SYS_TIMEOUT            (LWIP_NUM_SYS_TIMEOUT_INTERNAL + 1)
#define ARP_TABLE_SIZE                  4

/* ---- protocols ----------------------------------------------------------- */
#define LWIP_IPV4                       1
#define LWIP_IPV6                       0
#define LWIP_ARP                        1
#define LWIP_ETHERNET                   1
#define LWIP_TCP                        1
#define LWIP_UDP                        1
#define LWIP_RAW                        0
#define LWIP_ICMP                       1
#define LWIP_DHCP                       0
#define LWIP_AUTOIP                     0
#define LWIP_IGMP                       0
#define LWIP_DNS                        0
#define IP_REASSEMBLY                   0
#define IP_FRAG                         0
#define LWIP_NETIF_LOOPBACK             0
#define LWIP_HAVE_LOOPIF                0
#define LWIP_STATS                      0
#define LWIP_NETIF_STATUS_CALLBACK      0
#define LWIP_NETIF_LINK_CALLBACK        0

/* ---- TCP ----------------------------------------------------------------- */
#define TCP_MSS                         1460
#define TCP_WND                         (4 * TCP_MSS)
#define TCP_SND_BUF                     (2 * TCP_MSS)
#define TCP_SND_QUEUELEN                8
/* The fast timer (delayed ACKs) every 40 ms, as Linux's shortest delayed
 * ACK, not 250: a client that sends a request in two writes with Nagle on
 * waits for that ACK (the slow timer and every TCP timeout scale with it). */
#define TCP_TMR_INTERVAL                40
/* Out-of-order segments are dropped (the peer sends them again), so the
 * shared rx pool is never held by one connection's holes; freeing them
 * when the pool runs dry would need tcpip_thread's callbacks. */
#define TCP_QUEUE_OOSEQ                 0
#define LWIP_TCP_KEEPALIVE              0
/* A SYN reopening a 4-tuple in TIME_WAIT ends the TIME_WAIT (lwip_hooks.h). */
#define LWIP_HOOK_FILENAME              "lwip_hooks.h"
#define LWIP_HOOK_TCP_INPACKET_PCB(pcb, hdr, optlen, opt1len, opt2, p) \
    port_lwip_tcp_inpacket((pcb), (hdr))
#define SO_REUSE                        1

/* ---- sockets ------------------------------------------------------------- */
#define LWIP_SOCKET                     1
#define LWIP_NETCONN                    1
#define LWIP_COMPAT_SOCKETS             0
#define LWIP_POSIX_SOCKETS_IO_NAMES     0
#define LWIP_SOCKET_OFFSET              0
#define LWIP_SOCKET_SELECT              0
#define LWIP_SOCKET_POLL                1
#define LWIP_SO_SNDTIMEO                0
#define LWIP_SO_RCVTIMEO                0
#define LWIP_SO_RCVBUF                  0
#define LWIP_SO_LINGER                  0
#define LWIP_TIMEVAL_PRIVATE            0
#define DEFAULT_TCP_RECVMBOX_SIZE       16
/* The accept mailbox holds a listener's backlog (plan.h) and as many
 * out-of-blocks notices: it never overflows (an overflow resets). */
#define DEFAULT_ACCEPTMBOX_SIZE         (2 * PORT_LWIP_BACKLOG)
#define TCP_LISTEN_BACKLOG              1
#define TCP_DEFAULT_LISTEN_BACKLOG      PORT_LWIP_BACKLOG
#define DEFAULT_UDP_RECVMBOX_SIZE       4
#define DEFAULT_RAW_RECVMBOX_SIZE       4
#define TCPIP_MBOX_SIZE                 4
/* Host errno values: lwIP's set_errno sets the C library's errno. */
#define LWIP_ERRNO_STDINCLUDE           1
#define LWIP_DONT_PROVIDE_BYTEORDER_FUNCTIONS 1

#define LWIP_DEBUG                      0

#endif
