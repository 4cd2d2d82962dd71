/*
 * port/linux/os.h - the operations table: every OS call of port/linux.
 *
 * Each os_* function is the system call of the same name, reached through
 * one entry of the table, so that a test can make the Nth call of an
 * operation (or every call after it) fail as the OS would, with the errno
 * it names (port_fault_arm in port.h), as SQLite's test VFS does with its
 * system calls. Unarmed, an entry costs a compare and a counter.
 *
 * Only port/linux includes this header. The wrappers keep the calls'
 * signatures and errno convention (-1 and errno) so the code using them
 * reads as the plain calls would.
 */
#ifndef ROOST_PORT_LINUX_OS_H
#define ROOST_PORT_LINUX_OS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <poll.h>
#include <time.h>

typedef enum {
    OS_SOCKET,
    OS_BIND,
    OS_LISTEN,
    OS_ACCEPT,
    OS_RECV,
    OS_SEND,
    OS_SEND_SHORT,  /* a send that takes only part of what it was given */
    OS_WAIT,        /* epoll_wait / poll */
    OS_WATCH,       /* epoll_ctl */
    OS_OPEN,        /* open, openat, openat2 */
    OS_READ,        /* read, pread */
    OS_WRITE,       /* write, pwrite */
    OS_FSYNC,
    OS_RENAME,
    OS_MKDIR,
    OS_UNLINK,
    OS_CLOCK_MONO,  /* a jump of the monotonic clock */
    OS_CLOCK_WALL,  /* a jump of the wall clock */
    OS_ENTROPY,
    OS_KILL,
    OS_SPAWN,       /* vfork of a child process (port_child.c checks it: a
                     * wrapper cannot return into the child) */
    OS_PIPE,        /* socketpair / pipe2: a child's pipes, the SIGCHLD pipe */
    OS_CONNECT,     /* a client's connect (the command-line tools) */
    OS_OP_COUNT
} os_op;

/* The errno the current call of op fails with, or 0 (it goes to the OS).
 * Counts the call. */
int os_fault(os_op op);
/* Microseconds the clock of op (OS_CLOCK_MONO / OS_CLOCK_WALL) has jumped
 * so far; a call of the clock counts as a call of op. */
int64_t os_clock_jump_us(os_op op);

int os_socket(int domain, int type, int proto);
int os_bind(int fd, const struct sockaddr *sa, socklen_t len);
int os_listen(int fd, int backlog);
int os_accept4(int fd, int flags);
ssize_t os_recv(int fd, void *buf, size_t cap);
ssize_t os_send(int fd, const void *buf, size_t len);
/* sendfile(2); a fault of OS_SEND / OS_SEND_SHORT, as a send. */
ssize_t os_sendfile(int fd, int file, off_t *off, size_t len);
int os_poll(struct pollfd *fds, nfds_t n, int timeout_ms);
int os_open(const char *path, int flags, mode_t mode);
int os_openat(int dir, const char *path, int flags, mode_t mode);
ssize_t os_read(int fd, void *buf, size_t cap);
ssize_t os_pread(int fd, void *buf, size_t cap, off_t off);
ssize_t os_write(int fd, const void *buf, size_t n);
ssize_t os_pwrite(int fd, const void *buf, size_t n, off_t off);
int os_fsync(int fd);
int os_rename(const char *from, const char *to);
int os_mkdir(const char *path, mode_t mode);
int os_unlink(const char *path);
int os_clock_gettime(clockid_t id, struct timespec *ts);
ssize_t os_getrandom(void *buf, size_t n);
int os_kill(pid_t pid, int sig);
int os_socketpair(int domain, int type, int proto, int sv[2]);
int os_pipe2(int fds[2], int flags);
/* waitpid and readlink: entries of the table with no fault of their own. */
pid_t os_waitpid(pid_t pid, int *status, int options);
ssize_t os_readlink(const char *path, char *buf, size_t cap);
int os_connect(int fd, const struct sockaddr *sa, socklen_t len);

#endif
