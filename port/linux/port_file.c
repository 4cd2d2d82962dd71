/*
 * port/linux/port_file.c - files opened beneath a root directory (port.h,
 * "files beneath a root"), for static file serving, and a path's real path.
 *
 * Implementation notes:
 * - The kernel does the containment: openat2(2) with RESOLVE_BENEATH |
 *   RESOLVE_NO_MAGICLINKS refuses (EXDEV/ELOOP) any resolution that would
 *   leave the root, through "..", an absolute symlink or a relative one,
 *   and is immune to a symlink swapped in between a check and the open.
 *   glibc has no wrapper, so it is called through syscall(2).
 * - Where openat2 is missing (kernels before 5.6 answer ENOSYS; some seccomp
 *   profiles answer EPERM) the path is walked one component at a time with
 *   openat(O_NOFOLLOW): every symlink is refused, which is stricter, never
 *   looser. Which of the two is used is decided once, by a probe when the
 *   root is opened.
 * - "." and ".." components and empty components are refused before the
 *   kernel sees the path, in both modes.
 * - Opens use O_NONBLOCK so a FIFO in the tree cannot block the loop; only
 *   regular files and directories are kept. Reads of regular files block
 *   briefly on the disk, like every other file access of the process.
 * - port_realpath (a path's real path, for a check that a path given by a
 *   client lies inside a directory) lets the kernel resolve: the path is
 *   opened with O_PATH (nothing is read, a FIFO does not block, no
 *   permission on the file itself is needed) and /proc/self/fd/N is read
 *   back with readlink(2) straight into the caller's buffer. glibc's
 *   realpath(3) is not used: it grows scratch buffers on the heap for
 *   paths or links beyond 1 KiB, even when given a PATH_MAX buffer. The
 *   open goes through the operations table (a fault of "open").
 * - errno never leaves this file.
 */
#include "port.h"
#include "os.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

typedef enum { OA2_UNKNOWN = 0, OA2_YES, OA2_NO } oa2_state;

static oa2_state g_oa2;

static st_t file_errno(int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR:
        return ST_NOTFOUND;
    case ELOOP:
    case EXDEV:
    case EACCES:
    case EPERM:
        return ST_PERM;
    case EMFILE:
    case ENFILE:
    case ENOMEM:
        return ST_NOMEM;
    case ENAMETOOLONG:
        return ST_TOOBIG;
    default:
        return ST_IO;
    }
}

static int open_how2(int dir, const char *rel, uint64_t flags)
{
    struct open_how how;
    long r;
    (void)memset(&how, 0, sizeof how);
    how.flags = flags;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    r = (long)os_fault(OS_OPEN);
    if (r != 0) {
        errno = (int)r;
        return -1;
    }
    do {
        r = syscall(SYS_openat2, dir, rel, &how, sizeof how);
    /* cppcheck-suppress misra-c2012-22.10 ; deviation (MISRA.md): errno of a failed call */
    } while ((r < 0) && (errno == EINTR));
    return (int)r;
}

static void probe_openat2(int root)
{
    int fd;
    if (g_oa2 != OA2_UNKNOWN) {
        return;
    }
    fd = open_how2(root, ".", (uint64_t)(O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd >= 0) {
        (void)close(fd);
        g_oa2 = OA2_YES;
    /* cppcheck-suppress misra-c2012-22.10 ; deviation (MISRA.md): errno of a failed call */
    } else if ((errno == ENOSYS) || (errno == EPERM)) {
        g_oa2 = OA2_NO;
    } else {
        /* An unrelated failure says nothing: probe again next time. */
    }
}

st_t port_root_open(const char *path, port_file *out)
{
    int fd;
    *out = PORT_FILE_NONE;
    do {
        fd = os_open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    /* cppcheck-suppress misra-c2012-22.10 ; deviation (MISRA.md): errno of a failed call */
    } while ((fd < 0) && (errno == EINTR));
    if (fd < 0) {
        return file_errno(errno);
    }
    probe_openat2(fd);
    *out = fd;
    return ST_OK;
}

/* A relative path of non-empty components, none of them "." or "..". */
static bool rel_ok(const char *rel)
{
    size_t i = 0u;
    size_t start = 0u;
    bool ok = (rel[0] != '\0') && (rel[0] != '/');
    while (ok) {
        char ch = rel[i];
        if ((ch == '/') || (ch == '\0')) {
            size_t len = i - start;
            bool dot = (len == 1u) && (rel[start] == '.');
            bool dotdot = (len == 2u) && (rel[start] == '.') && (rel[start + 1u] == '.');
            if ((len == 0u) || dot || dotdot) {
                ok = false;
            }
            start = i + 1u;
        }
        if (ch == '\0') {
            break;
        }
        i++;
    }
    return ok;
}

static bool is_symlink(int dir, const char *name)
{
    struct stat sb;
    return (fstatat(dir, name, &sb, AT_SYMLINK_NOFOLLOW) == 0) &&
           ((sb.st_mode & S_IFMT) == S_IFLNK);
}

/* Fallback: walk the components with O_NOFOLLOW (no symlink anywhere). */
static st_t walk_open(int root, const char *rel, int flags, int *out)
{
    char name[256];
    const char *p = rel;
    int dir = root;
    st_t st = ST_OK;
    bool last = false;
    *out = -1;
    while ((st == ST_OK) && !last) {
        const char *slash = strchr(p, '/');
        size_t len = strlen(p);
        int fd = -1;
        last = (slash == NULL);
        if (!last) {
            ptrdiff_t span = slash - p;
            len = (size_t)span;
        }
        if (len >= sizeof name) {
            st = ST_TOOBIG;
        } else {
            (void)memcpy(name, p, len);
            name[len] = '\0';
            do {
                fd = os_openat(dir, name, last ? (flags | O_NOFOLLOW)
                                            : (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), 0);
            /* cppcheck-suppress misra-c2012-22.10 ; deviation (MISRA.md): errno of a failed call */
            } while ((fd < 0) && (errno == EINTR));
            if (fd < 0) {
                st = file_errno(errno);
            }
            if ((st == ST_NOTFOUND) && !last && is_symlink(dir, name)) {
                st = ST_PERM;   /* O_DIRECTORY | O_NOFOLLOW says ENOTDIR for a link */
            }
        }
        if (dir != root) {
            (void)close(dir);
        }
        /* the component just opened is the next directory, or the file */
        dir = fd;
        if (!last) {
            p = slash + 1;
        }
    }
    if ((st == ST_OK) && last) {
        *out = dir;
    } else if ((dir >= 0) && (dir != root)) {
        (void)close(dir);
    } else {
        /* nothing open */
    }
    return st;
}

st_t port_file_open_beneath(port_file root, const char *relpath, port_file *out,
                            port_file_info *info)
{
    const int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
    int fd = -1;
    st_t st = ST_OK;
    struct stat sb;
    *out = PORT_FILE_NONE;
    (void)memset(info, 0, sizeof *info);
    if (!rel_ok(relpath)) {
        return ST_PERM;
    }
    probe_openat2(root);
    if (g_oa2 == OA2_YES) {
        fd = open_how2(root, relpath, (uint64_t)flags);
        if (fd < 0) {
            st = file_errno(errno);
        }
    } else {
        st = walk_open(root, relpath, flags, &fd);
    }
    if (st != ST_OK) {
        return st;
    }
    if (fstat(fd, &sb) != 0) {
        st = file_errno(errno);
    } else if ((sb.st_mode & S_IFMT) == S_IFREG) {
        info->size = (uint64_t)sb.st_size;
    } else if ((sb.st_mode & S_IFMT) == S_IFDIR) {
        info->is_dir = true;
    } else {
        st = ST_PERM;
    }
    if (st != ST_OK) {
        (void)close(fd);
        return st;
    }
    info->mtime_ns = ((uint64_t)sb.st_mtim.tv_sec * 1000000000u) + (uint64_t)sb.st_mtim.tv_nsec;
    *out = fd;
    return ST_OK;
}

st_t port_file_read_at(port_file f, uint64_t off, void *buf, size_t cap, size_t *n)
{
    ssize_t r;
    *n = 0u;
    if (off > (uint64_t)INT64_MAX) {
        return ST_RANGE;
    }
    do {
        r = os_pread(f, buf, cap, (off_t)off);
    /* cppcheck-suppress misra-c2012-22.10 ; deviation (MISRA.md): errno of a failed call */
    } while ((r < 0) && (errno == EINTR));
    if (r < 0) {
        return ST_IO;
    }
    *n = (size_t)r;
    return ST_OK;
}

void port_file_close(port_file f)
{
    if (f != PORT_FILE_NONE) {
        (void)close(f);
    }
}

/* The decimal digits of fd (>= 0) into out[0..cap); their count. */
static size_t fmt_fd(char *out, size_t cap, int fd)
{
    static const char k_digits[] = "0123456789";
    char rev[12];
    size_t n = 0u;
    size_t i;
    unsigned v = (unsigned)fd;
    do {
        rev[n] = k_digits[v % 10u];
        n++;
        v /= 10u;
    } while ((v != 0u) && (n < sizeof rev));
    if (n > cap) {
        n = 0u;
    }
    for (i = 0u; i < n; i++) {
        out[i] = rev[n - 1u - i];
    }
    return n;
}

st_t port_realpath(const char *path, char *buf, size_t cap)
{
    char link[40];
    ssize_t n;
    int fd;
    int e = 0;
    if ((buf == NULL) || (cap == 0u)) {
        return ST_TOOBIG;
    }
    buf[0] = '\0';
    do {
        fd = os_open(path, O_PATH | O_CLOEXEC, 0);
    /* cppcheck-suppress misra-c2012-22.10 ; deviation (MISRA.md): errno of a failed call */
    } while ((fd < 0) && (errno == EINTR));
    if (fd < 0) {
        st_t st = file_errno(errno);
        return (st == ST_NOMEM) ? ST_IO : st;
    }
    (void)memcpy(link, "/proc/self/fd/", 14u);
    link[14u + fmt_fd(&link[14], (sizeof link) - 15u, fd)] = '\0';
    n = readlink(link, buf, cap);
    if (n < 0) {
        e = errno;
    }
    (void)close(fd);
    if (n < 0) {
        return (e == ENOENT) ? ST_IO : file_errno(e);   /* no /proc: cannot say */
    }
    if (((size_t)n >= cap) || (buf[0] != '/')) {
        buf[0] = '\0';
        return ((size_t)n >= cap) ? ST_TOOBIG : ST_IO;
    }
    buf[n] = '\0';
    return ST_OK;
}
