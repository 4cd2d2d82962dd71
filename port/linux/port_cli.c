/*
 * port/linux/port_cli.c - what roostd's command-line tools need of the OS
 * besides a TCP client (port.h, "command-line tools"): the program's own
 * path and standard input read to its end. Host calls only, so the lwIP
 * port (port/lwip) builds this file too.
 *
 * Implementation notes:
 * - read and readlink go through the operations table (os.c).
 * - errno never leaves this file.
 */
#include "port.h"

#include <errno.h>
#include <unistd.h>

#include "os.h"

st_t port_self_exe(char *buf, size_t cap)
{
    ssize_t r;
    if (cap < 2u) {
        return ST_TOOBIG;
    }
    r = os_readlink("/proc/self/exe", buf, cap);
    if (r <= 0) {
        return ST_IO;
    }
    if ((size_t)r >= cap) {
        return ST_TOOBIG;
    }
    buf[r] = '\0';
    return ST_OK;
}

st_t port_stdin_read(char *buf, size_t cap, size_t *n)
{
    size_t got = 0u;
    st_t st = ST_OK;
    bool done = false;
    while (!done) {
        char sink[4096];
        char *to = sink;
        size_t room = sizeof(sink);
        ssize_t r;
        if (got < cap) {
            to = &buf[got];
            room = cap - got;
        }
        r = os_read(0, to, room);
        int e = (r < 0) ? errno : 0;
        if (r > 0) {
            if (got < cap) {
                got += (size_t)r;
            } else {
                st = ST_TOOBIG;     /* keep reading to the end, dropping it */
            }
        } else if (e == EINTR) {
            /* again */
        } else {
            if ((r < 0) && (st == ST_OK)) {
                st = ST_IO;
            }
            done = true;
        }
    }
    *n = got;
    return st;
}
