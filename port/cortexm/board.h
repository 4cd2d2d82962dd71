/*
 * board.h - what a Cortex-M board gives the cortexm port (port/cortexm).
 *
 * The port implements port/port.h over these functions; a real board
 * provides them (its clock, its flash file system, its network stack).
 * board_stub.c defines every one weakly with a trivial body (a clock that
 * counts calls, an empty file system, no network) so that the image links
 * and its size can be measured; a board's own definitions replace them.
 * port/cortexm/README says what each must do.
 *
 * All calls are made from roost's one thread (the main loop); none is
 * called from an interrupt. None may block longer than it says.
 */
#ifndef ROOST_BOARD_H
#define ROOST_BOARD_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* What a board call answers. */
typedef enum {
    BOARD_OK = 0,
    BOARD_NOTFOUND,      /* no such file, directory or socket */
    BOARD_EXISTS,        /* exclusive create of an existing file */
    BOARD_NOSPACE,       /* the device is full */
    BOARD_AGAIN,         /* nothing to read / no room to write now */
    BOARD_CLOSED,        /* the peer closed (sockets) */
    BOARD_UNSUPPORTED,   /* the board has no such thing */
    BOARD_IO             /* anything else */
} board_rc;

/* ---- clock, entropy, console, idle --------------------------------------- */

/* Microseconds since reset, monotonic (a hardware timer). */
uint64_t board_mono_us(void);
/* Microseconds since the Unix epoch (an RTC); 0 while unknown. */
uint64_t board_wall_us(void);
/* n bytes from a true random source (an RNG peripheral). */
board_rc board_entropy(void *buf, size_t n);
/* Write n bytes to the console (a UART); fd 1 stdout, 2 stderr. */
void board_console_write(int fd, const char *s, size_t n);
/* Sleep (WFI) until an interrupt or at most max_us: the loop waits here
 * when no socket is ready. */
void board_idle(uint64_t max_us);

/* ---- file system: paths are NUL-terminated, '/'-separated ------------------ */

#define BOARD_O_READ 0x1u
#define BOARD_O_WRITE 0x2u
#define BOARD_O_CREATE 0x4u   /* create when missing */
#define BOARD_O_EXCL 0x8u     /* with CREATE: fail BOARD_EXISTS when present */

typedef struct {
    uint64_t size;
    uint64_t mtime_us;   /* 0 where the file system keeps no times */
    bool is_dir;
} board_stat_t;

/* Open path; *out is a handle >= 0, valid until board_fs_close. */
board_rc board_fs_open(const char *path, uint32_t flags, int32_t *out);
board_rc board_fs_read_at(int32_t h, uint64_t off, void *buf, size_t cap, size_t *n);
/* Write all n bytes at off (the file grows as needed). */
board_rc board_fs_write_at(int32_t h, uint64_t off, const void *buf, size_t n);
board_rc board_fs_size(int32_t h, uint64_t *size);
board_rc board_fs_truncate(int32_t h, uint64_t size);
/* Make what was written durable (flash). */
board_rc board_fs_sync(int32_t h);
void board_fs_close(int32_t h);
board_rc board_fs_stat(const char *path, board_stat_t *st);
board_rc board_fs_remove(const char *path);   /* a file or an empty directory */
/* Rename from to to, replacing to, atomically where the file system can. */
board_rc board_fs_rename(const char *from, const char *to);
board_rc board_fs_mkdir(const char *path);    /* BOARD_EXISTS when present */
/* fn(name, is_dir, ctx) per entry of directory path; fn false stops. */
board_rc board_fs_list(const char *path, bool (*fn)(const char *name, bool is_dir, void *ctx),
                       void *ctx);

/* ---- network: TCP over the board's stack (lwIP's raw API fits) ------------ */

#define BOARD_NET_IN 0x1u
#define BOARD_NET_OUT 0x2u
#define BOARD_NET_ERR 0x4u

/* Listen on TCP port (0.0.0.0); *out a socket number >= 0. */
board_rc board_net_listen(uint16_t port, int32_t backlog, int32_t *out);
board_rc board_net_local_port(int32_t s, uint16_t *port);
/* BOARD_AGAIN when no connection is pending. */
board_rc board_net_accept(int32_t listener, int32_t *out);
/* BOARD_AGAIN, BOARD_CLOSED (end of stream), BOARD_IO. Never blocks. */
board_rc board_net_recv(int32_t s, void *buf, size_t cap, size_t *n);
board_rc board_net_send(int32_t s, const void *buf, size_t len, size_t *n);
void board_net_shutdown_write(int32_t s);
void board_net_close(int32_t s);
/* What socket s is ready for now (BOARD_NET_*), without waiting. */
uint32_t board_net_ready(int32_t s);

#endif
