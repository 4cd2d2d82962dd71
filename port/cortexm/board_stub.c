/*
 * board_stub.c - weak, trivial definitions of the board API (board.h), so
 * that the firmware image links without a board: a clock that only moves
 * when read, no real time, no random source, a silent console, no file
 * system and no network. A board defines the same functions (strong
 * symbols win at link time); what each must do is in port/cortexm/README.
 * This image starts, finds no file system and stops: it is built to be
 * measured (make PORT=cortexm size), not run.
 */
#include "board.h"

#define BOARD_WEAK __attribute__((weak))

static uint64_t g_ticks;

BOARD_WEAK uint64_t board_mono_us(void)
{
    g_ticks += 1000u;
    return g_ticks;
}

BOARD_WEAK uint64_t board_wall_us(void)
{
    return 0u;
}

BOARD_WEAK board_rc board_entropy(void *buf, size_t n)
{
    (void)buf;
    (void)n;
    return BOARD_UNSUPPORTED;
}

BOARD_WEAK void board_console_write(int fd, const char *s, size_t n)
{
    (void)fd;
    (void)s;
    (void)n;
}

BOARD_WEAK void board_idle(uint64_t max_us)
{
    g_ticks += max_us;
}

BOARD_WEAK board_rc board_fs_open(const char *path, uint32_t flags, int32_t *out)
{
    (void)path;
    (void)flags;
    *out = -1;
    return BOARD_UNSUPPORTED;
}

BOARD_WEAK board_rc board_fs_read_at(int32_t h, uint64_t off, void *buf, size_t cap, size_t *n)
{
    (void)h;
    (void)off;
    (void)buf;
    (void)cap;
    *n = 0u;
    return BOARD_IO;
}

BOARD_WEAK board_rc board_fs_write_at(int32_t h, uint64_t off, const void *buf, size_t n)
{
    (void)h;
    (void)off;
    (void)buf;
    (void)n;
    return BOARD_IO;
}

BOARD_WEAK board_rc board_fs_size(int32_t h, uint64_t *size)
{
    (void)h;
    *size = 0u;
    return BOARD_IO;
}

BOARD_WEAK board_rc board_fs_truncate(int32_t h, uint64_t size)
{
    (void)h;
    (void)size;
    return BOARD_IO;
}

BOARD_WEAK board_rc board_fs_sync(int32_t h)
{
    (void)h;
    return BOARD_IO;
}

BOARD_WEAK void board_fs_close(int32_t h)
{
    (void)h;
}

BOARD_WEAK board_rc board_fs_stat(const char *path, board_stat_t *st)
{
    (void)path;
    st->size = 0u;
    st->mtime_us = 0u;
    st->is_dir = false;
    return BOARD_NOTFOUND;
}

BOARD_WEAK board_rc board_fs_remove(const char *path)
{
    (void)path;
    return BOARD_NOTFOUND;
}

BOARD_WEAK board_rc board_fs_rename(const char *from, const char *to)
{
    (void)from;
    (void)to;
    return BOARD_NOTFOUND;
}

BOARD_WEAK board_rc board_fs_mkdir(const char *path)
{
    (void)path;
    return BOARD_UNSUPPORTED;
}

BOARD_WEAK board_rc board_fs_list(const char *path,
                                  bool (*fn)(const char *name, bool is_dir, void *ctx),
                                  void *ctx)
{
    (void)path;
    /* cppcheck-suppress misra-c2012-11.1 ; false positive: a function pointer cast to void is 11.1's exception 2 */
    (void)fn;
    (void)ctx;
    return BOARD_NOTFOUND;
}

BOARD_WEAK board_rc board_net_listen(uint16_t port, int32_t backlog, int32_t *out)
{
    (void)port;
    (void)backlog;
    *out = -1;
    return BOARD_UNSUPPORTED;
}

BOARD_WEAK board_rc board_net_local_port(int32_t s, uint16_t *port)
{
    (void)s;
    *port = 0u;
    return BOARD_UNSUPPORTED;
}

BOARD_WEAK board_rc board_net_accept(int32_t listener, int32_t *out)
{
    (void)listener;
    *out = -1;
    return BOARD_AGAIN;
}

BOARD_WEAK board_rc board_net_recv(int32_t s, void *buf, size_t cap, size_t *n)
{
    (void)s;
    (void)buf;
    (void)cap;
    *n = 0u;
    return BOARD_CLOSED;
}

BOARD_WEAK board_rc board_net_send(int32_t s, const void *buf, size_t len, size_t *n)
{
    (void)s;
    (void)buf;
    (void)len;
    *n = 0u;
    return BOARD_CLOSED;
}

BOARD_WEAK void board_net_shutdown_write(int32_t s)
{
    (void)s;
}

BOARD_WEAK void board_net_close(int32_t s)
{
    (void)s;
}

BOARD_WEAK uint32_t board_net_ready(int32_t s)
{
    (void)s;
    return 0u;
}
