/*
 * countmalloc.c - LD_PRELOAD shim that proves "no system heap after init".
 *
 * Counts every call into the C heap (malloc, calloc, realloc, reallocarray,
 * free of a non-NULL pointer, posix_memalign, aligned_alloc, memalign, valloc,
 * pvalloc, strdup, strndup) and arms itself at the process's first poll()
 * (also ppoll, the _FORTIFY_SOURCE __poll_chk/__ppoll_chk entry points, and
 * epoll_wait/epoll_pwait, which the default loop backend uses):
 * calls before that are init and allowed, calls after it are counted as
 * violations. For the first SHIM_MAX_TRACES violations a backtrace is written.
 *
 * Environment:
 *   ROOST_SHIM_REPORT=path   where to write the report (required for output)
 *
 * Report (written to `path`, truncated at start):
 *   armed pid=<pid> via=<fn>                   at the first poll()
 *   alloc #<n> <fn>(<size>) ... backtrace      each early violation
 *   allocs_after_poll=N frees_after_poll=M allocs_before_poll=A frees_before_poll=F
 *   by_fn malloc=.. calloc=.. ...              the last two lines, at exit
 * The summary is written by a destructor, i.e. on exit() or return from
 * main; a process that dies by a signal or _exit() leaves no summary (the
 * test treats that as a failure).
 *
 * Implementation notes:
 * - The real functions come from dlsym(RTLD_NEXT). dlsym itself may call
 *   calloc/malloc (dlerror state); while resolving, allocations are served
 *   from a static bootstrap buffer, which free()/realloc() recognise.
 * - backtrace() loads libgcc_s and allocates on its first call: it is primed
 *   in the constructor. Allocations made by the shim itself (while `in_shim`
 *   is set) are never counted.
 * - strdup/strndup/reallocarray are implemented here on top of the real
 *   allocator, so each is counted exactly once whatever glibc does inside.
 *   (They call real_malloc, not malloc: the compiler knows malloc's builtin
 *   semantics and may move a guard-flag store across a call to it.)
 * - The constructor removes LD_PRELOAD and ROOST_SHIM_REPORT from the
 *   environment so programs the server executes are not measured, and only
 *   the process that loaded the shim writes the summary (not forked children).
 * - Output uses write(2) and a local integer formatter: stdio may allocate.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SHIM_MAX_TRACES 16
#define SHIM_TRACE_DEPTH 32
#define BOOT_BYTES (64u * 1024u)

enum { F_MALLOC, F_CALLOC, F_REALLOC, F_REALLOCARRAY, F_POSIX_MEMALIGN, F_ALIGNED_ALLOC,
       F_MEMALIGN, F_VALLOC, F_PVALLOC, F_STRDUP, F_STRNDUP, F_FREE, F_COUNT };
static const char *const fn_name[F_COUNT] = {
    "malloc", "calloc", "realloc", "reallocarray", "posix_memalign", "aligned_alloc",
    "memalign", "valloc", "pvalloc", "strdup", "strndup", "free" };

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);
static void *(*real_valloc)(size_t);
static void *(*real_pvalloc)(size_t);
static int (*real_poll)(struct pollfd *, nfds_t, int);
static int (*real_ppoll)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
static int (*real_epoll_wait)(int, struct epoll_event *, int, int);
static int (*real_epoll_pwait)(int, struct epoll_event *, int, int, const sigset_t *);

static int resolving;                 /* inside dlsym: serve from boot[] */
static int resolved;
static _Alignas(16) unsigned char boot[BOOT_BYTES];
static size_t boot_used;

static volatile int armed;
static __thread int in_shim __attribute__((tls_model("initial-exec"))); /* shim-internal */
static int report_fd = -1;
static pid_t owner_pid;
static unsigned long n_before, n_after, f_before, f_after;
static unsigned long by_fn[F_COUNT];
static unsigned long traces;

/* ---- output without stdio ---------------------------------------------- */

static void out(const char *s, size_t n)
{
    while (report_fd >= 0 && n > 0) {
        ssize_t w = write(report_fd, s, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return;
        }
        s += w;
        n -= (size_t)w;
    }
}

static void outs(const char *s) { out(s, strlen(s)); }

static void outu(unsigned long v)
{
    char b[24];
    size_t i = sizeof b;
    do {
        b[--i] = (char)('0' + (v % 10u));
        v /= 10u;
    } while (v != 0u && i > 0u);
    out(b + i, sizeof b - i);
}

/* ---- bootstrap allocator (only while dlsym runs) ------------------------ */

static int is_boot(const void *p)
{
    return (const unsigned char *)p >= boot && (const unsigned char *)p < boot + BOOT_BYTES;
}

static void *boot_alloc(size_t n)
{
    size_t need = ((n + 15u) & ~(size_t)15u) + 16u;
    if (need > BOOT_BYTES - boot_used) {
        return NULL;
    }
    unsigned char *p = boot + boot_used;
    memcpy(p, &n, sizeof n);          /* size header for realloc */
    boot_used += need;
    return p + 16;
}

static size_t boot_size(const void *p)
{
    size_t n;
    memcpy(&n, (const unsigned char *)p - 16, sizeof n);
    return n;
}

static void resolve(void)
{
    if (resolved || resolving) {
        return;
    }
    resolving = 1;
    real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
    real_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
    real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
    real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
    real_posix_memalign = (int (*)(void **, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
    real_aligned_alloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "aligned_alloc");
    real_memalign = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "memalign");
    real_valloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "valloc");
    real_pvalloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "pvalloc");
    real_poll = (int (*)(struct pollfd *, nfds_t, int))dlsym(RTLD_NEXT, "poll");
    real_ppoll = (int (*)(struct pollfd *, nfds_t, const struct timespec *,
                          const sigset_t *))dlsym(RTLD_NEXT, "ppoll");
    real_epoll_wait = (int (*)(int, struct epoll_event *, int, int))dlsym(RTLD_NEXT, "epoll_wait");
    real_epoll_pwait = (int (*)(int, struct epoll_event *, int, int,
                                const sigset_t *))dlsym(RTLD_NEXT, "epoll_pwait");
    resolving = 0;
    resolved = 1;
}

/* ---- counting ------------------------------------------------------------ */

static void note(int fn, size_t size)
{
    if (in_shim) {
        return;
    }
    if (!armed) {
        if (fn == F_FREE) {
            __atomic_add_fetch(&f_before, 1ul, __ATOMIC_RELAXED);
        } else {
            __atomic_add_fetch(&n_before, 1ul, __ATOMIC_RELAXED);
        }
        return;
    }
    unsigned long k;
    if (fn == F_FREE) {
        k = __atomic_add_fetch(&f_after, 1ul, __ATOMIC_RELAXED);
    } else {
        k = __atomic_add_fetch(&n_after, 1ul, __ATOMIC_RELAXED);
    }
    __atomic_add_fetch(&by_fn[fn], 1ul, __ATOMIC_RELAXED);
    if (report_fd < 0 || __atomic_add_fetch(&traces, 1ul, __ATOMIC_RELAXED) > SHIM_MAX_TRACES) {
        return;
    }
    in_shim = 1;
    void *frames[SHIM_TRACE_DEPTH];
    int depth = backtrace(frames, SHIM_TRACE_DEPTH);
    outs(fn == F_FREE ? "free #" : "alloc #");
    outu(k);
    outs(" ");
    outs(fn_name[fn]);
    outs("(");
    outu((unsigned long)size);
    outs(")\n");
    backtrace_symbols_fd(frames, depth, report_fd);
    outs("\n");
    in_shim = 0;
}

static void arm(const char *via)
{
    if (armed) {
        return;
    }
    armed = 1;
    if (owner_pid == getpid()) {
        outs("armed pid=");
        outu((unsigned long)owner_pid);
        outs(" via=");
        outs(via);
        outs("\n");
    }
}

/* ---- interposed functions ------------------------------------------------ */

void *malloc(size_t n)
{
    if (!resolved) {
        if (resolving) {
            return boot_alloc(n);
        }
        resolve();
    }
    note(F_MALLOC, n);
    return real_malloc(n);
}

void *calloc(size_t a, size_t b)
{
    if (!resolved) {
        if (resolving) {
            size_t n;
            if (__builtin_mul_overflow(a, b, &n)) {
                return NULL;
            }
            return boot_alloc(n);     /* static storage: already zero */
        }
        resolve();
    }
    note(F_CALLOC, a * b);
    return real_calloc(a, b);
}

/* realloc on the real allocator, knowing bootstrap pointers; never counts. */
static void *do_realloc(void *p, size_t n)
{
    if (p != NULL && is_boot(p)) {
        void *q = real_malloc(n);
        if (q != NULL) {
            size_t old = boot_size(p);
            memcpy(q, p, old < n ? old : n);
        }
        return q;
    }
    return real_realloc(p, n);
}

void *realloc(void *p, size_t n)
{
    if (!resolved) {
        if (resolving) {
            void *q = boot_alloc(n);
            if (q != NULL && p != NULL) {
                size_t old = boot_size(p);
                memcpy(q, p, old < n ? old : n);
            }
            return q;
        }
        resolve();
    }
    note(F_REALLOC, n);
    return do_realloc(p, n);
}

void *reallocarray(void *p, size_t a, size_t b)
{
    size_t n;
    if (__builtin_mul_overflow(a, b, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    if (!resolved) {
        resolve();
    }
    note(F_REALLOCARRAY, n);
    return do_realloc(p, n);
}

void free(void *p)
{
    if (p == NULL || is_boot(p)) {
        return;
    }
    if (!resolved) {
        resolve();
    }
    note(F_FREE, 0);
    real_free(p);
}

int posix_memalign(void **out_p, size_t align, size_t n)
{
    if (!resolved) {
        resolve();
    }
    note(F_POSIX_MEMALIGN, n);
    return real_posix_memalign(out_p, align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
    if (!resolved) {
        resolve();
    }
    note(F_ALIGNED_ALLOC, n);
    return real_aligned_alloc(align, n);
}

void *memalign(size_t align, size_t n)
{
    if (!resolved) {
        resolve();
    }
    note(F_MEMALIGN, n);
    return real_memalign(align, n);
}

void *valloc(size_t n)
{
    if (!resolved) {
        resolve();
    }
    note(F_VALLOC, n);
    return real_valloc(n);
}

void *pvalloc(size_t n)
{
    if (!resolved) {
        resolve();
    }
    note(F_PVALLOC, n);
    return real_pvalloc(n);
}

char *strdup(const char *s)
{
    size_t n = strlen(s) + 1u;
    if (!resolved) {
        resolve();
    }
    note(F_STRDUP, n);
    char *d = real_malloc(n);         /* not malloc(): counted once, as strdup */
    if (d != NULL) {
        memcpy(d, s, n);
    }
    return d;
}

char *strndup(const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    if (!resolved) {
        resolve();
    }
    note(F_STRNDUP, n + 1u);
    char *d = real_malloc(n + 1u);
    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

int poll(struct pollfd *fds, nfds_t n, int timeout)
{
    if (!resolved) {
        resolve();
    }
    arm("poll");
    return real_poll(fds, n, timeout);
}

int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
    if (!resolved) {
        resolve();
    }
    arm("ppoll");
    return real_ppoll(fds, n, ts, mask);
}

int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen);
int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen)
{
    (void)fdslen;
    return poll(fds, n, timeout);
}

int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *ts,
                const sigset_t *mask, size_t fdslen);
int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *ts,
                const sigset_t *mask, size_t fdslen)
{
    (void)fdslen;
    return ppoll(fds, n, ts, mask);
}

int epoll_wait(int epfd, struct epoll_event *ev, int n, int timeout)
{
    if (!resolved) {
        resolve();
    }
    arm("epoll_wait");
    return real_epoll_wait(epfd, ev, n, timeout);
}

int epoll_pwait(int epfd, struct epoll_event *ev, int n, int timeout, const sigset_t *mask)
{
    if (!resolved) {
        resolve();
    }
    arm("epoll_pwait");
    return real_epoll_pwait(epfd, ev, n, timeout, mask);
}

/* ---- load / exit --------------------------------------------------------- */

__attribute__((constructor)) static void shim_init(void)
{
    resolve();
    in_shim = 1;
    owner_pid = getpid();
    const char *path = getenv("ROOST_SHIM_REPORT");
    if (path != NULL && path[0] != '\0') {
        report_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    }
    /* Children the server executes are not part of the measurement. */
    unsetenv("LD_PRELOAD");
    unsetenv("ROOST_SHIM_REPORT");
    /* backtrace() allocates once (loads libgcc_s): do it now, uncounted. */
    void *frames[4];
    (void)backtrace(frames, 4);
    in_shim = 0;
}

__attribute__((destructor)) static void shim_fini(void)
{
    if (owner_pid != getpid()) {
        return;
    }
    in_shim = 1;
    outs("allocs_after_poll=");
    outu(n_after);
    outs(" frees_after_poll=");
    outu(f_after);
    outs(" allocs_before_poll=");
    outu(n_before);
    outs(" frees_before_poll=");
    outu(f_before);
    outs(armed ? " armed=1\nby_fn" : " armed=0\nby_fn");
    for (int i = 0; i < F_COUNT; i++) {
        outs(" ");
        outs(fn_name[i]);
        outs("=");
        outu(by_fn[i]);
    }
    outs("\n");
    in_shim = 0;
}
