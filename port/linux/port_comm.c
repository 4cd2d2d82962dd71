/*
 * port/linux/port_comm.c - a process's name (port.h, port_proc_comm), for
 * the rpg family's pane classification: /proc/<pid>/comm, through the
 * operations table (os.c).
 */
#include "port.h"
#include "os.h"

#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>


st_t port_proc_comm(int64_t pid, char *buf, size_t cap)
{
    char path[40] = "/proc/";
    size_t n = 6u;
    int fd;
    ssize_t got;
    if ((pid <= 0) || (pid > (int64_t)INT32_MAX) || (cap < 2u)) {
        return ST_NOTFOUND;
    }
    {
        char d[12];
        size_t k = 0u;
        uint64_t v = (uint64_t)pid;
        do {
            d[k++] = (char)('0' + (int)(v % 10u));
            v /= 10u;
        } while (v != 0u);
        while (k > 0u) {
            path[n++] = d[--k];
        }
    }
    path[n] = '/';
    path[n + 1u] = 'c';
    path[n + 2u] = 'o';
    path[n + 3u] = 'm';
    path[n + 4u] = 'm';
    path[n + 5u] = '\0';
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
