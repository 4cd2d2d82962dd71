/*
 * port/linux/port.c - the POSIX/Linux implementation of port/port.h.
 *
 * Implementation notes:
 * - Every socket is non-blocking and close-on-exec. Writes use send() with
 *   MSG_NOSIGNAL; SIGPIPE is ignored as well for anything else.
 * - errno never leaves this file: each call maps it to an st_t.
 * - The loop's readiness set is loop_epoll.c or loop_poll.c (one is built);
 *   every OS call goes through the operations table of os.c.
 * - Signals only set a flag (sig_atomic_t); the loop reads it each turn:
 *   SIGTERM and SIGINT stop, SIGHUP asks for a reload (app_reload).
 *   SIGCHLD is port_child.c's (a self-pipe).
 */
#include "port.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "os.h"
#include "port_int.h"
#include "port_loop.h"

static st_t map_errno(int e)
{
    switch (e) {
    case EAGAIN:
/* cppcheck-suppress misra-c2012-20.9 ; false positive: the tool does not read <errno.h> */
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
    case EINTR:
        return ST_AGAIN;
    case EPIPE:
    case ECONNRESET:
    case ENOTCONN:
    case ECONNABORTED:
    case ETIMEDOUT:
        return ST_CLOSED;
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
        return ST_NOMEM;
    case EADDRINUSE:
        return ST_ADDRINUSE;
    case EACCES:
    case EPERM:
    case EROFS:
        return ST_PERM;
    case ENOENT:
    case ENOTDIR:
        return ST_NOTFOUND;
    case EEXIST:
        return ST_EXISTS;
    case EINVAL:
    case EADDRNOTAVAIL:
    case EAFNOSUPPORT:
        return ST_INVAL;
    case ENOSPC:
    case EDQUOT:
        return ST_NOSPACE;
    default:
        return ST_IO;
    }
}

static st_t set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL, 0);
    if ((fl < 0) || (fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)) {
        return map_errno(errno);
    }
    return ST_OK;
}

/* Resolve host to a sockaddr without the resolver: literals and "localhost"
 * (port_int.h). */
st_t port_host_addr(const char *host, uint16_t port, struct sockaddr_storage *ss,
                    socklen_t *len)
{
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    (void)memset(ss, 0, sizeof *ss);
    if ((strcmp(host, "localhost") == 0) || (inet_pton(AF_INET, host, &v4->sin_addr) == 1)) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        if (strcmp(host, "localhost") == 0) {
            v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        }
        *len = (socklen_t)sizeof *v4;
        return ST_OK;
    }
    {
        char tmp[64];
        const char *addr = host;
        size_t n = strlen(host);
        /* Accept "[::1]" as well as "::1". */
        if ((n >= 2u) && (host[0] == '[') && (host[n - 1u] == ']') && ((n - 2u) < sizeof(tmp))) {
            (void)memcpy(tmp, host + 1, n - 2u);
            tmp[n - 2u] = '\0';
            addr = tmp;
        }
        if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
            v6->sin6_family = AF_INET6;
            v6->sin6_port = htons(port);
            *len = (socklen_t)sizeof *v6;
            return ST_OK;
        }
    }
    return ST_INVAL;
}

st_t port_listen(const char *host, uint16_t port, int backlog, port_sock *out)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    int one = 1;
    int fd;
    st_t st = port_host_addr(host, port, &ss, &len);
    if (st != ST_OK) {
        return st;
    }
    fd = os_socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return map_errno(errno);
    }
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ss.ss_family == AF_INET6) {
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
    if ((os_bind(fd, (struct sockaddr *)&ss, len) < 0) || (os_listen(fd, backlog) < 0)) {
        st = map_errno(errno);
        (void)close(fd);
        return st;
    }
    st = set_nonblock(fd);
    if (st != ST_OK) {
        (void)close(fd);
        return st;
    }
    *out = fd;
    return ST_OK;
}

st_t port_local_port(port_sock s, uint16_t *port)
{
    struct sockaddr_storage ss;
    socklen_t len = (socklen_t)sizeof ss;
    if (getsockname(s, (struct sockaddr *)&ss, &len) < 0) {
        return map_errno(errno);
    }
    if (ss.ss_family == AF_INET6) {
        *port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    } else {
        *port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    return ST_OK;
}

st_t port_accept(port_sock listener, port_sock *out)
{
    int one = 1;
    int fd = os_accept4(listener, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        /* A connection reset before accept is not the listener's problem. */
        if ((e == ECONNABORTED) || (e == EPROTO)) {
            return ST_AGAIN;
        }
        return map_errno(e);
    }
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    *out = fd;
    return ST_OK;
}

st_t port_recv(port_sock s, void *buf, size_t cap, size_t *n)
{
    ssize_t r = os_recv(s, buf, cap);
    if (r > 0) {
        *n = (size_t)r;
        return ST_OK;
    }
    *n = 0u;
    if (r == 0) {
        return ST_CLOSED;
    }
    return map_errno(errno);
}

st_t port_send(port_sock s, const void *buf, size_t len, size_t *n)
{
    ssize_t r = os_send(s, buf, len);
    if (r >= 0) {
        *n = (size_t)r;
        return ST_OK;
    }
    *n = 0u;
    return map_errno(errno);
}

bool port_send_file_supported(void)
{
    return true;
}

st_t port_send_file(port_sock s, port_file f, uint64_t off, size_t len, size_t *n)
{
    off_t o = (off_t)off;
    ssize_t r;
    *n = 0u;
    if (off > (uint64_t)INT64_MAX) {
        return ST_RANGE;
    }
    r = os_sendfile(s, f, &o, len);
    if (r < 0) {
        return map_errno(errno);
    }
    if ((r == 0) && (len > 0u)) {
        return ST_IO;    /* the file ended before off + len: shorter than announced */
    }
    *n = (size_t)r;
    return ST_OK;
}

void port_shutdown_write(port_sock s)
{
    (void)shutdown(s, SHUT_WR);
}

void port_close(port_sock s)
{
    if (s >= 0) {
        port_loop_forget(s);
        (void)close(s);
    }
}

/* A jump of the monotonic clock (fault injection) moves it forward or back;
 * the value returned never goes backwards, as the contract says. */
uint64_t port_mono_us(void)
{
    static uint64_t last;
    struct timespec ts;
    int64_t v;
    (void)os_clock_gettime(CLOCK_MONOTONIC, &ts);
    v = ((int64_t)ts.tv_sec * 1000000) + ((int64_t)ts.tv_nsec / 1000) +
        os_clock_jump_us(OS_CLOCK_MONO);
    if ((v > 0) && ((uint64_t)v > last)) {
        last = (uint64_t)v;
    }
    return last;
}

uint64_t port_wall_us(void)
{
    struct timespec ts;
    int64_t v;
    (void)os_clock_gettime(CLOCK_REALTIME, &ts);
    v = ((int64_t)ts.tv_sec * 1000000) + ((int64_t)ts.tv_nsec / 1000) +
        os_clock_jump_us(OS_CLOCK_WALL);
    return (v > 0) ? (uint64_t)v : 0u;
}

st_t port_entropy(void *buf, size_t n)
{
    unsigned char *p = (unsigned char *)buf;
    size_t done = 0u;
    while (done < n) {
        ssize_t r = os_getrandom(p + done, n - done);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return ST_IO;
        }
        done += (size_t)r;
    }
    return ST_OK;
}

static volatile sig_atomic_t g_stop;
static volatile sig_atomic_t g_reload;

static void on_stop_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void on_reload_signal(int sig)
{
    (void)sig;
    g_reload = 1;
}

int32_t port_utc_offset_s(int64_t wall_s)
{
    struct tm tm;
    time_t t = (time_t)wall_s;
    (void)memset(&tm, 0, sizeof tm);
    if (localtime_r(&t, &tm) == NULL) {
        return 0;
    }
    return (int32_t)tm.tm_gmtoff;
}

st_t port_signals_init(void)
{
    /* the zone is read now, off the request path (localtime_r reads
     * /etc/localtime or TZ once, with the C library's heap) */
    (void)port_utc_offset_s(0);
    struct sigaction sa;
    (void)memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    (void)sigemptyset(&sa.sa_mask);
    if ((sigaction(SIGTERM, &sa, NULL) < 0) || (sigaction(SIGINT, &sa, NULL) < 0)) {
        return ST_IO;
    }
    sa.sa_handler = on_reload_signal;
    if (sigaction(SIGHUP, &sa, NULL) < 0) {
        return ST_IO;
    }
    sa.sa_handler = SIG_IGN;
    (void)sigaction(SIGPIPE, &sa, NULL);
    return ST_OK;
}

/* Every pooled connection needs a descriptor, and every descriptor must fit
 * the loop's tables: the soft limit is PORT_FD_MAX, or the hard limit when
 * that is lower (then accept fails with EMFILE first, and the loop pauses
 * accepting). */
void port_loop_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = ((rl.rlim_max == RLIM_INFINITY) || (rl.rlim_max > (rlim_t)PORT_FD_MAX))
                          ? (rlim_t)PORT_FD_MAX : rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

bool port_stop_requested(void)
{
    return g_stop != 0;
}

bool port_reload_requested(void)
{
    bool r = g_reload != 0;
    if (r) {
        g_reload = 0;
    }
    return r;
}

st_t port_file_read(const char *path, char *buf, size_t cap, size_t *n)
{
    size_t got = 0u;
    int fd = os_open(path, O_RDONLY | O_CLOEXEC, 0);
    st_t st = ST_OK;
    if (fd < 0) {
        return map_errno(errno);
    }
    /* cppcheck-suppress misra-c2012-15.4 ; deviation (MISRA.md): one break per stop reason */
    for (;;) {
        ssize_t r;
        if (got == cap) {
            char extra;
            r = os_read(fd, &extra, 1u);
            if (r > 0) {
                st = ST_TOOBIG;
            } else if (r < 0) {
                st = map_errno(errno);
            } else {
                /* end of file right at cap: it fits */
            }
            break;
        }
        r = os_read(fd, buf + got, cap - got);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            st = ST_IO;
            break;
        }
        if (r == 0) {
            break;
        }
        got += (size_t)r;
    }
    (void)close(fd);
    *n = got;
    return st;
}

static st_t write_all(int fd, const void *data, size_t n)
{
    const char *p = (const char *)data;
    size_t done = 0u;
    while (done < n) {
        ssize_t r = os_write(fd, p + done, n - done);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return map_errno(errno);
        }
        done += (size_t)r;
    }
    return ST_OK;
}

/* fsync the directory that holds path, so a rename or a new entry in it
 * survives a power cut (best effort: a directory that cannot be opened
 * still has the entry). */
static void sync_parent(const char *path)
{
    char dir[CFG_CONF_VALUE_BYTES + 32];
    const char *slash = strrchr(path, '/');
    int k;
    if (slash == NULL) {
        k = snprintf(dir, sizeof dir, ".");
    } else if (slash == path) {
        k = snprintf(dir, sizeof dir, "/");
    } else {
        ptrdiff_t dir_len = slash - path;
        k = snprintf(dir, sizeof dir, "%.*s", (int)dir_len, path);
    }
    if ((k > 0) && ((size_t)k < sizeof dir)) {
        int dfd = os_open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        if (dfd >= 0) {
            (void)os_fsync(dfd);
            (void)close(dfd);
        }
    }
}

st_t port_file_write_atomic(const char *path, const void *data, size_t n, unsigned mode)
{
    char tmp[CFG_CONF_VALUE_BYTES + 32];
    int fd;
    int k;
    st_t st;
    k = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if ((k < 0) || ((size_t)k >= sizeof tmp)) {
        return ST_TOOBIG;
    }
    fd = os_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
    if (fd < 0) {
        return map_errno(errno);
    }
    (void)fchmod(fd, (mode_t)mode);
    st = write_all(fd, data, n);
    if ((st == ST_OK) && (os_fsync(fd) < 0)) {
        st = map_errno(errno);
    }
    if ((close(fd) < 0) && (st == ST_OK)) {
        st = ST_IO;
    }
    if ((st == ST_OK) && (os_rename(tmp, path) < 0)) {
        st = map_errno(errno);
    }
    if (st != ST_OK) {
        (void)os_unlink(tmp);
        return st;
    }
    sync_parent(path);
    return ST_OK;
}

st_t port_file_create(const char *path, unsigned mode, port_file *out)
{
    int fd;
    *out = PORT_FILE_NONE;
    do {
        fd = os_open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
    /* cppcheck-suppress misra-c2012-22.10 ; deviation (MISRA.md): errno of a failed call */
    } while ((fd < 0) && (errno == EINTR));
    if (fd < 0) {
        return map_errno(errno);
    }
    *out = fd;
    return ST_OK;
}

st_t port_file_write(port_file f, const void *buf, size_t n)
{
    return write_all(f, buf, n);
}

st_t port_file_flush_start(port_file f, uint64_t off, uint64_t len)
{
    if ((off > (uint64_t)INT64_MAX) || (len > (uint64_t)INT64_MAX)) {
        return ST_RANGE;
    }
    return (sync_file_range(f, (off_t)off, (off_t)len, SYNC_FILE_RANGE_WRITE) == 0)
               ? ST_OK : map_errno(errno);
}

st_t port_file_sync(port_file f)
{
    return (os_fsync(f) == 0) ? ST_OK : map_errno(errno);
}

st_t port_file_rename(const char *from, const char *to)
{
    if (os_rename(from, to) != 0) {
        return map_errno(errno);
    }
    sync_parent(to);
    return ST_OK;
}

st_t port_file_remove(const char *path)
{
    return (os_unlink(path) == 0) ? ST_OK : map_errno(errno);
}

st_t port_file_open(const char *path, port_file *out, port_file_info *info)
{
    struct stat sb;
    int fd;
    *out = PORT_FILE_NONE;
    (void)memset(info, 0, sizeof *info);
    do {
        fd = os_open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0);
    /* cppcheck-suppress misra-c2012-22.10 ; deviation (MISRA.md): errno of a failed call */
    } while ((fd < 0) && (errno == EINTR));
    if (fd < 0) {
        return map_errno(errno);
    }
    if ((fstat(fd, &sb) != 0) || !S_ISREG(sb.st_mode)) {
        (void)close(fd);
        return ST_NOTFOUND;
    }
    info->size = (uint64_t)sb.st_size;
    info->mtime_ns = ((uint64_t)sb.st_mtim.tv_sec * 1000000000u) + (uint64_t)sb.st_mtim.tv_nsec;
    info->ctime_ns = ((uint64_t)sb.st_ctim.tv_sec * 1000000000u) + (uint64_t)sb.st_ctim.tv_nsec;
    *out = fd;
    return ST_OK;
}

st_t port_file_stat(const char *path, port_file_info *info)
{
    struct statx sx;
    (void)memset(info, 0, sizeof *info);
    if (statx(AT_FDCWD, path, AT_STATX_SYNC_AS_STAT, STATX_BASIC_STATS | STATX_BTIME, &sx) != 0) {
        return map_errno(errno);
    }
    info->is_dir = S_ISDIR(sx.stx_mode);
    info->size = info->is_dir ? 0u : (uint64_t)sx.stx_size;
    info->mtime_ns = ((uint64_t)sx.stx_mtime.tv_sec * 1000000000u) + (uint64_t)sx.stx_mtime.tv_nsec;
    info->ctime_ns = ((uint64_t)sx.stx_ctime.tv_sec * 1000000000u) + (uint64_t)sx.stx_ctime.tv_nsec;
    if ((sx.stx_mask & STATX_BTIME) != 0u) {
        info->btime_ns = ((uint64_t)sx.stx_btime.tv_sec * 1000000000u) +
                         (uint64_t)sx.stx_btime.tv_nsec;
    }
    return ST_OK;
}

st_t port_mkdir_p(const char *path, unsigned mode)
{
    char buf[CFG_CONF_VALUE_BYTES + 32];
    size_t n = strlen(path);
    size_t i;
    if ((n == 0u) || (n >= sizeof buf)) {
        return ST_INVAL;
    }
    (void)memcpy(buf, path, n + 1u);
    for (i = 1u; i <= n; i++) {
        if ((buf[i] == '/') || (buf[i] == '\0')) {
            char saved = buf[i];
            buf[i] = '\0';
            if ((os_mkdir(buf, (mode_t)mode) < 0) && (errno != EEXIST)) {
                return map_errno(errno);
            }
            buf[i] = saved;
        }
    }
    return port_is_dir(path) ? ST_OK : ST_EXISTS;
}

bool port_is_dir(const char *path)
{
    struct stat stt;
    return (stat(path, &stt) == 0) && S_ISDIR(stt.st_mode);
}

/* getdents64 fills the buffer with linux_dirent64 records: u64 d_ino at 0,
 * s64 d_off at 8, u16 d_reclen at 16, u8 d_type at 18, then the
 * NUL-terminated name at 19. The fields are read with memcpy from the byte
 * buffer (no struct with a flexible array member, no alignment needed), and
 * the buffer is on the stack so listing a directory never allocates (opendir
 * would). */
#define PORT_DIRENT_RECLEN_OFF 16
#define PORT_DIRENT_TYPE_OFF 18
#define PORT_DIRENT_NAME_OFF 19
#define PORT_DT_DIR 4u

static st_t list_fd(int fd, bool (*fn)(const char *name, bool is_dir, void *ctx), void *ctx)
{
    char buf[4096];
    for (;;) {
        long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
        long off = 0;
        if (n < 0) {
            return map_errno(errno);
        }
        if (n == 0) {
            return ST_OK;
        }
        while (off < n) {
            const char *rec = buf + off;
            const char *name = rec + PORT_DIRENT_NAME_OFF;
            unsigned char type = (unsigned char)rec[PORT_DIRENT_TYPE_OFF];
            unsigned short reclen;
            /* cppcheck-suppress misra-c2012-21.15 ; deviation (MISRA.md): u16 field from bytes */
            (void)memcpy(&reclen, rec + PORT_DIRENT_RECLEN_OFF, sizeof reclen);
            if (((long)reclen <= (long)PORT_DIRENT_NAME_OFF) || ((long)reclen > (n - off))) {
                return ST_IO;   /* the kernel never writes this; do not loop on it */
            }
            off += (long)reclen;
            if ((strcmp(name, ".") == 0) || (strcmp(name, "..") == 0)) {
                continue;
            }
            {
                bool is_dir = (type == PORT_DT_DIR);
                if (type == 0u) {
                    /* DT_UNKNOWN: the filesystem does not say; ask */
                    struct stat stt;
                    is_dir = (fstatat(fd, name, &stt, AT_SYMLINK_NOFOLLOW) == 0) &&
                             S_ISDIR(stt.st_mode);
                }
                if (!fn(name, is_dir, ctx)) {
                    return ST_OK;
                }
            }
        }
    }
}

st_t port_dir_list(const char *path, bool (*fn)(const char *name, bool is_dir, void *ctx),
                   void *ctx)
{
    st_t st;
    int fd = os_open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd < 0) {
        return map_errno(errno);
    }
    st = list_fd(fd, fn, ctx);
    (void)close(fd);
    return st;
}

/* Depth-first removal without recursion: each pass removes what it can in
 * the deepest directory it finds, until the top is empty. Bounded by
 * PORT_TREE_MAX_PASSES so a directory that keeps growing cannot hold the
 * loop forever. */
#define PORT_TREE_MAX_PASSES 4096
typedef struct {
    char path[CFG_CONF_VALUE_BYTES + 256];
    bool descended;
} tree_walk;

static bool tree_entry(const char *name, bool is_dir, void *ctx)
{
    tree_walk *w = (tree_walk *)ctx;
    size_t n = strlen(w->path);
    if ((n + 1u + strlen(name) + 1u) > sizeof w->path) {
        return true;   /* too deep to name: left for the caller to see */
    }
    w->path[n] = '/';
    (void)strcpy(w->path + n + 1u, name);
    if (is_dir) {
        w->descended = true;
        return false;   /* continue the walk from inside this directory */
    }
    (void)os_unlink(w->path);
    w->path[n] = '\0';
    return true;
}

st_t port_remove_tree(const char *path)
{
    tree_walk w;
    int passes;
    struct stat stt;
    if (lstat(path, &stt) != 0) {
        return (errno == ENOENT) ? ST_OK : map_errno(errno);
    }
    if (!S_ISDIR(stt.st_mode)) {
        return (os_unlink(path) == 0) ? ST_OK : map_errno(errno);
    }
    if (strlen(path) >= sizeof w.path) {
        return ST_TOOBIG;
    }
    for (passes = 0; passes < PORT_TREE_MAX_PASSES; passes++) {
        (void)strcpy(w.path, path);
        for (;;) {
            st_t st;
            w.descended = false;
            st = port_dir_list(w.path, tree_entry, &w);
            if ((st != ST_OK) || !w.descended) {
                break;
            }
        }
        /* w.path is the deepest directory reached, now emptied of files */
        if (rmdir(w.path) != 0) {
            return map_errno(errno);
        }
        if (strcmp(w.path, path) == 0) {
            return ST_OK;
        }
    }
    return ST_IO;
}

static void write_fd_all(int fd, const char *s, size_t n)
{
    (void)write_all(fd, s, n);
}

void port_stdout(const char *s, size_t n)
{
    write_fd_all(1, s, n);
}

void port_stderr(const char *s, size_t n)
{
    write_fd_all(2, s, n);
}

st_t port_getcwd(char *buf, size_t cap)
{
    if (getcwd(buf, cap) == NULL) {
        return (errno == ERANGE) ? ST_TOOBIG : map_errno(errno);
    }
    return ST_OK;
}

/* A numeric field ("Threads:", "VmRSS:") of /proc/self/status; 0 if absent.
 * Read with open/read into a stack buffer: no stdio, no heap. */
static uint64_t proc_status_field(const char *field)
{
    char buf[4096];
    size_t n = 0u;
    const char *p;
    uint64_t v = 0u;
    st_t st = port_file_read("/proc/self/status", buf, sizeof(buf) - 1u, &n);
    if ((st != ST_OK) && (st != ST_TOOBIG)) {
        return 0u;
    }
    buf[n] = '\0';
    p = strstr(buf, field);
    if (p == NULL) {
        return 0u;
    }
    p += strlen(field);
    while ((*p == ' ') || (*p == '\t')) {
        p++;
    }
    while ((*p >= '0') && (*p <= '9')) {
        v = (v * 10u) + (uint64_t)(*p - '0');
        p++;
    }
    return v;
}

unsigned port_thread_count(void)
{
    return (unsigned)proc_status_field("Threads:");
}

uint64_t port_rss_kib(void)
{
    return proc_status_field("VmRSS:");
}
