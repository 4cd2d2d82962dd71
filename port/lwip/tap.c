/*
 * port/lwip/tap.c - the TAP device lwIP's interface sends and receives
 * Ethernet frames through (lwip_int.h): the host's /dev/net/tun, which is
 * what a board's Ethernet driver is on Linux. Host headers only; lwIP's
 * side is netif.c.
 *
 * Implementation notes:
 * - The device is opened non-blocking, IFF_TAP | IFF_NO_PI (frames with no
 *   packet-information prefix). A device of that name made beforehand
 *   (`ip tuntap add dev NAME mode tap`) is attached to; otherwise the
 *   kernel creates it for as long as roostd holds it.
 * - tap_wait is the loop's only blocking call: poll(2) on the device.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lwip_int.h"

static int g_tap = -1;

st_t tap_open(const char *name)
{
    struct ifreq ifr;
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    st_t st = ST_OK;
    if (fd < 0) {
        /* cppcheck-suppress misra-c2012-22.10 ; deviation (MISRA.md): errno of a failed call */
        int e = errno;
        st = ST_IO;
        if (e == ENOENT) {
            st = ST_NOTFOUND;
        } else if (e == EACCES) {
            st = ST_PERM;
        } else {
            /* another failure: ST_IO */
        }
    } else {
        (void)memset(&ifr, 0, sizeof(ifr));
        ifr.ifr_flags = (short)IFF_TAP;
        ifr.ifr_flags |= (short)IFF_NO_PI;
        (void)strncpy(ifr.ifr_name, name, IFNAMSIZ - 1u);
        if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
            /* cppcheck-suppress misra-c2012-22.10 ; deviation (MISRA.md): errno of a failed call */
            int e = errno;
            st = (e == EPERM) ? ST_PERM : ST_IO;
            (void)close(fd);
        } else {
            g_tap = fd;
        }
    }
    return st;
}

bool tap_wait(int timeout_ms)
{
    struct pollfd p;
    p.fd = g_tap;
    p.events = POLLIN;
    p.revents = 0;
    return (g_tap >= 0) && (poll(&p, 1u, timeout_ms) > 0) && ((p.revents & POLLIN) != 0);
}

size_t tap_read(void *buf, size_t cap)
{
    ssize_t r = (g_tap >= 0) ? read(g_tap, buf, cap) : -1;
    return (r > 0) ? (size_t)r : 0u;
}

void tap_write(const void *buf, size_t n)
{
    if (g_tap >= 0) {
        (void)write(g_tap, buf, n);
    }
}
