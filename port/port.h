/*
 * port.h - the contract between roost's portable core (src/) and an OS.
 *
 * Only files under port/ include OS headers. Everything src/ needs from the
 * system goes through the functions below. They are event-shaped (port_poll
 * fills an array, like Redis' aeApiPoll) and never return errno: every OS
 * error is translated to an st_t here.
 *
 * Sockets are small integers (port_sock). PORT_SOCK_NONE is "no socket".
 * All sockets handed to src/ are non-blocking.
 *
 * Ports: port/linux (POSIX; the loop waits with epoll(7), or poll(2) in a
 * LOOP=poll build); port/lwip (lwIP's sockets over a TAP device, the loop
 * in lwip_poll; port/linux's files, clocks and signals); others implement
 * the same header. Every OS call of a
 * port goes through its operations table, which a test can arm to fail
 * (fault injection, at the end).
 */
#ifndef ROOST_PORT_H
#define ROOST_PORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "config.h"
#include "core/status.h"
#if defined(PORT_LWIP) && PORT_LWIP
#include "lwip/plan.h"
#endif

typedef int port_sock;
#define PORT_SOCK_NONE (-1)

/* ---- sockets ------------------------------------------------------------ */

/* Bind and listen on host:port (IPv4/IPv6 literal or "localhost"), with
 * SO_REUSEADDR, non-blocking. ST_ADDRINUSE, ST_INVAL (bad host), ST_IO. */
st_t port_listen(const char *host, uint16_t port, int backlog, port_sock *out);
/* The port actually bound (useful after binding port 0). */
st_t port_local_port(port_sock s, uint16_t *port);
/* Accept one connection, non-blocking, TCP_NODELAY set. ST_AGAIN when none
 * is pending; ST_NOMEM when the process is out of descriptors. */
st_t port_accept(port_sock listener, port_sock *out);
/* Read up to cap bytes. *n > 0 on ST_OK; ST_AGAIN; ST_CLOSED on EOF or
 * reset; ST_IO otherwise. */
st_t port_recv(port_sock s, void *buf, size_t cap, size_t *n);
/* Write up to len bytes (never raises SIGPIPE). *n >= 0 written on ST_OK;
 * ST_AGAIN when nothing could be written; ST_CLOSED when the peer is gone. */
st_t port_send(port_sock s, const void *buf, size_t len, size_t *n);
/* Half-close the write side (used for a graceful close after an error). */
void port_shutdown_write(port_sock s);
void port_close(port_sock s);

/* ---- readiness: the loop's events (after Redis' ae) ----------------------- */

#define PORT_EV_IN 0x1u
#define PORT_EV_OUT 0x2u
#define PORT_EV_ERR 0x4u   /* error or hang-up: read to find out which */

/* The one constant every size of the loop derives from: sockets watched at
 * once (every connection, every listener, every socket of another module:
 * libcurl's connections and c-ares' queries, child processes' pipes). */
#define PORT_WATCH_MAX \
    ((size_t)CFG_MAX_CONNS + (size_t)CFG_MAX_LISTENERS + (size_t)CFG_NET_WATCHES)
/* Descriptors the process holds at most: the watched sockets, a file per
 * lent buffer (a static file being sent), and 64 for the rest (sqlite's
 * files, web roots, stdio, the loop's own). port_loop_init sets the soft
 * descriptor limit to it, so running out of descriptors is accept failing
 * (EMFILE), never a socket the loop cannot watch. */
#define PORT_FD_MAX (PORT_WATCH_MAX + (size_t)CFG_BUFS + 64u)

/* One ready socket, as port_wait reports it: the tag given to port_watch
 * and what it got (PORT_EV_*). */
typedef struct {
    uint32_t tag;
    uint32_t got;
} port_event;

/* Create the loop's readiness set (an epoll instance, or the poll array)
 * and set the descriptor limit. ST_IO when the OS refuses. */
st_t port_loop_init(void);
/* Watch s for events (PORT_EV_IN | PORT_EV_OUT; 0 keeps s in the set for
 * errors only), reporting it as tag; calling it again changes events and
 * tag. Level-triggered: a socket is reported every wait while it is ready.
 * ST_FULL when s is beyond PORT_FD_MAX; ST_IO when the OS refuses. */
st_t port_watch(port_sock s, uint32_t events, uint32_t tag);
/* Stop watching s (port_close does it too). */
void port_unwatch(port_sock s);
/* Wait up to timeout_ms (-1: forever) and fill fired[0..cap) with the
 * sockets that are ready, only those. Returns how many (0 on timeout or a
 * signal). A socket unwatched or closed after the wait is never reported
 * by a later one. */
size_t port_wait(port_event *fired, size_t cap, int timeout_ms);
/* The backend this build waits with ("epoll", "poll"). */
const char *port_loop_name(void);

/* Static bytes of the backend, for the plan (app/pools.def). The build
 * says which backend it links: -DPORT_LOOP_POLL=1 for poll. */
#ifndef PORT_LOOP_POLL
#define PORT_LOOP_POLL 0
#endif
#ifndef PORT_LWIP
#define PORT_LWIP 0
#endif
#if PORT_LWIP
/* The lwIP port (-DPORT_LWIP=1): its pollfd set, as poll's, and lwIP's
 * own heap, pools and interface (port/lwip/plan.h, included above). */
#define PORT_STATIC_BYTES ((PORT_WATCH_MAX * 12u) + (PORT_FD_MAX * 4u) + PORT_LWIP_STATIC_BYTES)
#elif PORT_LOOP_POLL
#define PORT_STATIC_BYTES ((PORT_WATCH_MAX * 12u) + (PORT_FD_MAX * 4u))
#else
/* One ready event of the epoll backend: the kernel's struct epoll_event is
 * packed to 12 bytes on x86-64 only; elsewhere (aarch64) it is 16. */
#if defined(__x86_64__)
#define PORT_EPOLL_EVENT_BYTES 12u
#else
#define PORT_EPOLL_EVENT_BYTES 16u
#endif
#define PORT_STATIC_BYTES ((PORT_WATCH_MAX * PORT_EPOLL_EVENT_BYTES) + PORT_FD_MAX)
#endif

/* ---- time and entropy --------------------------------------------------- */

/* Monotonic clock, microseconds since an arbitrary origin. */
uint64_t port_mono_us(void);
/* Wall clock, microseconds since the Unix epoch (UTC). */
uint64_t port_wall_us(void);
/* The local time zone's offset from UTC, in seconds, at wall_s (seconds
 * since the epoch): what a naive local timestamp adds to UTC. 0 on a port
 * without a zone (a board keeps UTC). The first call loads the zone (it
 * may allocate): port_signals_init makes it, before the loop. */
int32_t port_utc_offset_s(int64_t wall_s);
/* Fill buf with n bytes from the system CSPRNG. ST_IO on failure. */
st_t port_entropy(void *buf, size_t n);

/* ---- signals ------------------------------------------------------------ */

/* Install handlers for SIGTERM/SIGINT (set a flag) and SIGHUP (set another),
 * ignore SIGPIPE. (SIGCHLD is port_child_notify_sock's.) */
st_t port_signals_init(void);
/* True once SIGTERM or SIGINT has arrived. */
bool port_stop_requested(void);
/* True once for each burst of SIGHUP: the first call after it answers true
 * and clears the flag (signals that arrive together are one reload). A port
 * without signals answers false. */
bool port_reload_requested(void);

/* ---- files -------------------------------------------------------------- */

/* Read a whole file into buf (at most cap bytes). ST_NOTFOUND, ST_TOOBIG
 * (file larger than cap), ST_PERM, ST_IO. */
st_t port_file_read(const char *path, char *buf, size_t cap, size_t *n);
/* Atomically replace path with data: temp file in the same directory,
 * fsync, rename, fsync directory. The file gets `mode` (e.g. 0600). */
st_t port_file_write_atomic(const char *path, const void *data, size_t n, unsigned mode);
/* Create a directory (and missing parents) with mode. ST_OK if it exists. */
st_t port_mkdir_p(const char *path, unsigned mode);
/* True if path exists and is a directory. */
bool port_is_dir(const char *path);
/* Call fn(name, is_dir, ctx) for each entry of directory path (not "." or
 * ".."), in no particular order; fn returns false to stop early. Names of
 * symlinks are reported with is_dir false. No allocation. ST_NOTFOUND if
 * path does not exist. */
st_t port_dir_list(const char *path, bool (*fn)(const char *name, bool is_dir, void *ctx),
                   void *ctx);
/* Remove path and, if it is a directory, everything below it (symlinks are
 * removed, never followed). ST_OK if path does not exist. */
st_t port_remove_tree(const char *path);

/* ---- files beneath a root (static files) ---------------------------------- */

/* An open file or directory. PORT_FILE_NONE is "none". A port_file is a
 * descriptor: whoever opened it closes it, exactly once. */
typedef int port_file;
#define PORT_FILE_NONE (-1)

typedef struct {
    uint64_t size;       /* bytes (0 for a directory) */
    uint64_t mtime_ns;   /* last modification, nanoseconds since the epoch */
    uint64_t ctime_ns;   /* last status change (0 where not filled) */
    uint64_t btime_ns;   /* birth (port_file_stat), 0 when the filesystem does not say */
    bool is_dir;
} port_file_info;

/* Open the directory path as a root for port_file_open_beneath (kept open
 * for the life of the process, or until port_file_close). ST_NOTFOUND when
 * it does not exist or is not a directory; ST_PERM; ST_NOMEM (descriptors). */
st_t port_root_open(const char *path, port_file *out);
/* Open relpath read-only beneath root: relative ("a/b.js", no leading '/'),
 * NUL-terminated. Resolution never leaves root: "..", absolute symlinks,
 * symlinks that resolve outside and /proc magic links are refused (ST_PERM);
 * symlinks that stay inside are followed. (Where openat2(2) is missing every
 * symlink is refused.) Only regular files and directories open: a FIFO,
 * device or socket is ST_PERM, and opening never blocks. ST_NOTFOUND when a
 * component is missing or not a directory; ST_NOMEM when out of descriptors.
 * On ST_OK, *out and *info are set and the caller owns *out. */
st_t port_file_open_beneath(port_file root, const char *relpath, port_file *out,
                            port_file_info *info);
/* Read up to cap bytes at byte offset off. On ST_OK, *n <= cap and *n == 0
 * means end of file. ST_IO on failure. */
st_t port_file_read_at(port_file f, uint64_t off, void *buf, size_t cap, size_t *n);
/* Close f; PORT_FILE_NONE is ignored. */
void port_file_close(port_file f);

/* ---- files by path: written in pieces, renamed, removed ------------------- */

/* Create path for writing, exclusively (it must not exist), with mode.
 * ST_EXISTS, ST_NOTFOUND (no such directory), ST_PERM, ST_NOMEM
 * (descriptors), ST_NOSPACE, ST_IO. */
st_t port_file_create(const char *path, unsigned mode, port_file *out);
/* Append all n bytes to f (retrying short writes). ST_NOSPACE when the
 * device or the quota is full, ST_IO otherwise. */
st_t port_file_write(port_file f, const void *buf, size_t n);
/* Start writing bytes [off, off + len) of f to the device now, without
 * waiting (Linux: sync_file_range WRITE), so that a later port_file_sync
 * has little left to wait for. A hint: ST_OK on a port that cannot. */
st_t port_file_flush_start(port_file f, uint64_t off, uint64_t len);
/* Make what was written to f durable (fsync). ST_NOSPACE, ST_IO. */
st_t port_file_sync(port_file f);
/* Rename from to to (replacing to), then make the directory entry durable
 * (fsync of to's directory). ST_NOTFOUND, ST_PERM, ST_NOSPACE, ST_IO. */
st_t port_file_rename(const char *from, const char *to);
/* Remove the file path. ST_NOTFOUND when it does not exist. */
st_t port_file_remove(const char *path);
/* Open the regular file path read-only; *info gets its size, mtime and
 * ctime. ST_NOTFOUND (also for anything but a regular file), ST_PERM,
 * ST_NOMEM. */
st_t port_file_open(const char *path, port_file *out, port_file_info *info);
/* What path is, without opening it: size, is_dir, mtime, ctime and, where
 * the filesystem keeps it, the birth time. ST_NOTFOUND, ST_PERM, ST_IO. */
st_t port_file_stat(const char *path, port_file_info *info);
/* Send len bytes of file f from byte off straight to s, without a copy
 * through roost's buffers (sendfile(2)); *n as port_send. ST_AGAIN when
 * nothing could be written, ST_CLOSED, ST_IO (also when the file ends
 * before off + len), ST_UNSUPPORTED on a port that cannot (the caller
 * reads the file into its buffer and sends that). */
st_t port_send_file(port_sock s, port_file f, uint64_t off, size_t len, size_t *n);
/* Whether port_send_file works on this port (false: it answers
 * ST_UNSUPPORTED). */
bool port_send_file_supported(void);

/* ---- process ------------------------------------------------------------ */

/* The working directory, NUL-terminated. ST_TOOBIG if it does not fit. */
st_t port_getcwd(char *buf, size_t cap);

/* Write to stdout / stderr (whole buffer, retrying short writes). */
void port_stdout(const char *s, size_t n);
void port_stderr(const char *s, size_t n);
/* Number of threads of this process (0 if unknown); used by self-checks. */
unsigned port_thread_count(void);
/* Current resident set size in KiB (0 if unknown), for /metrics. */
uint64_t port_rss_kib(void);

/* ---- other processes (port_proc.c) --------------------------------------- */

/* Signals roost sends to another process (observability stop). */
typedef enum { PORT_SIG_INT, PORT_SIG_TERM } port_sig;

/* Whether this build can signal processes at all (false: every call below
 * answers ST_UNSUPPORTED). */
bool port_proc_supported(void);
/* roost's own process id. */
int64_t port_proc_self(void);
/* Does process pid exist? ST_OK when kill(pid, 0) succeeds or fails with
 * EPERM; ST_NOTFOUND otherwise (also for pid <= 0 or above INT32_MAX). */
st_t port_proc_exists(int64_t pid);
/* Send sig to pid. ST_OK; ST_PERM (EPERM), ST_NOTFOUND (ESRCH, or pid
 * <= 0 / above INT32_MAX), ST_IO (anything else). *reason (may be NULL)
 * receives a static text of the OS error on failure ("Operation not
 * permitted"), "" on success. */
st_t port_proc_signal(int64_t pid, port_sig sig, const char **reason);

/* ---- child processes (port_child.c) --------------------------------------- */

/* A child process as the port started it: its id and the parent's ends of
 * its three pipes (non-blocking, close-on-exec; PORT_SOCK_NONE once the
 * caller closed one with port_close). The ends are sockets to port_recv
 * and port_send (Linux: AF_UNIX socket pairs): ST_AGAIN, ST_CLOSED at the
 * child's end, and never a SIGPIPE when it stopped reading its stdin. The
 * caller closes each (port_close) and reaps the pid. */
typedef struct {
    int64_t pid;
    port_sock in;       /* the child's stdin: roost writes */
    port_sock out;      /* its stdout: roost reads */
    port_sock err;      /* its stderr: roost reads */
} port_child;

/* Whether this build can run child processes (false: every call below
 * answers ST_UNSUPPORTED, port_child_notify_sock PORT_SOCK_NONE). */
bool port_child_supported(void);
/* Start argv[0] (an absolute path: port_path_find resolves a name first)
 * with argv and envp (NULL: roost's own environment), its stdin, stdout
 * and stderr the pipes of *out, nothing else of roost's open in it, the
 * default disposition and an empty mask for every signal. Never blocks
 * and never allocates (vfork + execve); argv and envp are read only
 * during the call. ST_OK; ST_INVAL (no argv[0]); ST_NOMEM (out of
 * descriptors or processes: EMFILE, ENFILE, EAGAIN); ST_IO otherwise, with
 * nothing left open. A program that cannot be executed is a child that
 * exits with 127. The operations table's "pipe" and "spawn" faults make
 * the pipes and the fork fail. */
st_t port_child_spawn(const char *const *argv, const char *const *envp, port_child *out);
/* Has child pid ended? Never blocks (waitpid WNOHANG). ST_OK with *ended
 * false while it runs; with *ended true, *code is its exit status (0-255)
 * or -1 when a signal ended it, *sig that signal's number (0 if none); the
 * pid is then reaped. ST_NOTFOUND for a pid that is not roost's child. */
st_t port_child_reap(int64_t pid, bool *ended, int *code, int *sig);
/* Kill child pid at once (SIGKILL); it is still to be reaped. */
void port_child_kill(int64_t pid);
/* A socket the loop watches for input: readable when a child may have
 * ended (SIGCHLD, through a self-pipe made, with the handler, by the first
 * call here or of port_child_spawn: net/child.h's child_init, before the
 * loop). PORT_SOCK_NONE when the OS refuses. port_child_notify_drain
 * empties it; then reap every running child. */
port_sock port_child_notify_sock(void);
void port_child_notify_drain(void);
/* Find a program on PATH (as execvp would; a name with a '/' is taken as
 * is) and write its absolute path into buf. ST_NOTFOUND, ST_TOOBIG.
 * Before the loop (it reads the environment). */
st_t port_path_find(const char *name, char *buf, size_t cap);

/* What a process is, read from the OS (/proc on Linux), for the rpg
 * family's pane classification. Each is ST_NOTFOUND for a process that
 * does not exist or cannot be read, ST_UNSUPPORTED without processes. */
/* Its command line: the arguments, each ended by a NUL, cut at cap (*n
 * bytes written). Empty (*n 0) for a zombie, and for a moment for a
 * program just started (the kernel is still setting up its arguments). */
st_t port_proc_cmdline(int64_t pid, char *buf, size_t cap, size_t *n);
/* Its name as the OS keeps it (Linux: comm, at most 15 bytes; a script
 * run through its #! line has the script's own name), NUL-terminated. */
st_t port_proc_comm(int64_t pid, char *buf, size_t cap);
/* Its direct children's pids (at most cap of them, *n written; a list
 * longer than 4 KiB of text is cut). ST_UNSUPPORTED where the kernel does
 * not list children (Linux without CONFIG_PROC_CHILDREN). */
st_t port_proc_children(int64_t pid, int64_t *pids, size_t cap, size_t *n);
/* Its working directory, NUL-terminated. ST_TOOBIG when it does not fit. */
st_t port_proc_cwd(int64_t pid, char *buf, size_t cap);
/* The real path of path (symlinks, `.` and `..` resolved), NUL-terminated,
 * without allocating. ST_NOTFOUND, ST_TOOBIG, ST_PERM, ST_IO. */
st_t port_realpath(const char *path, char *buf, size_t cap);

/* ---- command-line tools (port_client.c) ----------------------------------- */

/* For roostd's subcommands (`roostd hook`, `roostd hooks install`), which
 * run instead of the server: these block (up to a deadline), and the loop
 * never calls them. Deadlines are port_mono_us() values. */

/* The absolute path of the running program (Linux: /proc/self/exe),
 * NUL-terminated. ST_TOOBIG when it does not fit; ST_UNSUPPORTED on a port
 * that cannot say; ST_IO. */
st_t port_self_exe(char *buf, size_t cap);
/* Read standard input to its end into buf[0..cap): *n bytes. More than cap
 * bytes: ST_TOOBIG with *n = cap, the rest read and thrown away (so the
 * writer never blocks on a full pipe nor sees it broken). ST_IO. */
st_t port_stdin_read(char *buf, size_t cap, size_t *n);
/* A TCP connection to host:port (an IPv4 or IPv6 literal, "[::1]" too, or
 * "localhost"; no resolver), by the deadline. ST_OK with *out (close it
 * with port_close); ST_INVAL (host), ST_CLOSED (refused: nobody listens),
 * ST_TIMEOUT, ST_NOMEM (descriptors), ST_IO. */
st_t port_client_connect(const char *host, uint16_t port, uint64_t deadline_us,
                         port_sock *out);
/* Send all n bytes by the deadline. ST_OK; ST_TIMEOUT (part may have left);
 * ST_CLOSED (the peer is gone); ST_IO. */
st_t port_client_send(port_sock s, const void *buf, size_t n, uint64_t deadline_us);
/* Wait by the deadline for bytes and read up to cap of them: ST_OK with
 * *n > 0; ST_CLOSED at the end of the stream (or a reset); ST_TIMEOUT;
 * ST_IO. */
st_t port_client_recv(port_sock s, void *buf, size_t cap, size_t *n, uint64_t deadline_us);

/* ---- fault injection (tests) --------------------------------------------- */

/* Every OS call of a port goes through its operations table; a test arms one
 * fault at a time, as SQLite's test VFS does. op names an operation of the
 * table ("accept", "recv", "send", "send_short", "open", "write", "fsync",
 * "rename", "clock_mono", "clock_wall", "spawn", "pipe", "connect", ...;
 * port_fault_ops lists them), nth counts its calls from 1 after arming: the
 * nth call fails (and every later one too when and_after). err is an errno
 * name ("EMFILE", "ECONNRESET", "EINTR", ...) the call fails with as the OS
 * would have; for the clocks it is a signed jump in milliseconds ("+60000"). ST_INVAL for an unknown op or
 * error name, ST_UNSUPPORTED in a build without fault injection. */
st_t port_fault_arm(const char *op, uint32_t nth, bool and_after, const char *err);
/* Disarm; the table is back to the OS calls. */
void port_fault_disarm(void);
/* Faults injected since the last arm. */
uint64_t port_fault_fired(void);
/* The operation names, NULL-terminated. */
const char *const *port_fault_ops(void);

/* A function of any type, as sqlite's VFS stores its system calls. */
typedef void (*port_any_fn)(void);
/* The entry of the operations table that stands for the system call sqlite's
 * unix VFS knows as `name` ("open", "read", "pread", "pread64", "write",
 * "pwrite", "pwrite64", "unlink"; a pread counts as a read, a pwrite as a
 * write), with the
 * signature sqlite calls it with, for sqlite3_vfs.xSetSystemCall: the
 * database's own I/O then goes through the table and can be made to fail
 * like the rest. NULL for a call the table does not have, and on ports
 * whose sqlite has no such VFS. */
port_any_fn port_os_call(const char *name);

#endif
