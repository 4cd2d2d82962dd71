/*
 * port/linux/port_comm.c - a process's name (port.h, port_proc_comm), for
 * the rpg family's pane classification: /proc/<pid>/comm, through the
 * operations table (os.c).
 */
#include "port.h"
#include "os.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>


st_t port_proc_comm(int64_t pid, char *buf, size_t cap)
{
    char path[40];
    size_t n;
    int fd;
    int k;
    ssize_t got;
    if ((pid <= 0) || (pid > (int64_t)INT32_MAX) || (cap < 2u)) {
        return ST_NOTFOUND;
    }
    k = snprintf(path, sizeof path, "/proc/%lld/comm", (long long)pid);
    if ((k < 0) || ((size_t)k >= sizeof path)) {
        return ST_NOTFOUND;
    }
    fd = os_open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) {
        return ST_NOTFOUND;
    }
    got = os_read(fd, buf, cap - 1u);
    (void)close(fd);
    if (got <= 0) {
        return ST_NOTFOUND;
    }
    n = (size_t)got;
    if (buf[n - 1u] == '\n') {
        n--;
    }
    buf[n] = '\0';
    return ST_OK;
}
