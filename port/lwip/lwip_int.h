/*
 * port/lwip/lwip_int.h - what the files of port/lwip share: the stack's
 * configuration (set by main.c from the command line), the TAP device
 * (tap.c: host calls only) and the loop's pump (port_lwip.c), which the
 * single-threaded sys_arch.c calls where lwIP would block a thread.
 */
#ifndef ROOST_PORT_LWIP_INT_H
#define ROOST_PORT_LWIP_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "port.h"

/* The interface: TAP device name, IPv4 address, prefix length, gateway
 * (0.0.0.0: none), as bytes in network order. */
typedef struct {
    char tap[16];
    uint8_t addr[4];
    uint8_t prefix;
    uint8_t gw[4];
} port_lwip_conf;

/* main.c's flags land here before app_main runs. */
extern port_lwip_conf g_port_lwip_conf;

/* ---- tap.c: the TAP device, with the host's calls ----------------------- */
/* Attach to TAP device name (it exists, or is created non-persistent).
 * ST_OK, ST_NOTFOUND (no /dev/net/tun), ST_PERM, ST_IO. */
st_t tap_open(const char *name);
/* Wait up to timeout_ms (-1: forever) for a frame. True when one is there. */
bool tap_wait(int timeout_ms);
/* Read one frame into buf: its length, 0 when none is waiting. */
size_t tap_read(void *buf, size_t cap);
/* Send one frame (dropped when the device refuses it, as a wire would). */
void tap_write(const void *buf, size_t n);

/* ---- netif.c: lwIP's side of the interface ------------------------------ */
/* lwip_init, then the interface up with g_port_lwip_conf. ST_IO. */
st_t netif_start(void);
/* Hand every frame waiting on the TAP device to lwIP (at most a bounded
 * number per call); true when at least one was taken. */
bool netif_input_all(void);

/* ---- port_lwip.c: the loop's pump --------------------------------------- */
/* Wait up to timeout_ms for a frame, then run lwIP's input and timers. */
void port_lwip_pump(int timeout_ms);

#endif
