/*
 * port/cortexm/port.c - port/port.h on a Cortex-M board without an OS.
 *
 * Every call goes to the board API (board.h): the clock, the console, the
 * file system and TCP. What a board without an OS cannot do answers as the
 * contract allows: no processes (port_proc_supported and
 * port_child_supported are false, their calls ST_UNSUPPORTED), no signals
 * (port_stop_requested and port_reload_requested stay false), no sendfile,
 * no fault injection, no command-line client. The readiness loop asks the board which watched
 * socket is ready (board_net_ready) and idles (board_idle) until one is or
 * the timeout passes. A board keeps UTC: port_utc_offset_s is 0.
 *
 * Files by handle are port_file values: the board's handle. Paths are
 * passed through; a root for port_file_open_beneath is a small table of
 * directory paths.
 */
#include "port.h"

#include <string.h>

#include "board.h"

/* ---- status -------------------------------------------------------------- */

static st_t st_of(board_rc rc)
{
    st_t st;
    switch (rc) {
    case BOARD_OK:
        st = ST_OK;
        break;
    case BOARD_NOTFOUND:
        st = ST_NOTFOUND;
        break;
    case BOARD_EXISTS:
        st = ST_EXISTS;
        break;
    case BOARD_NOSPACE:
        st = ST_NOSPACE;
        break;
    case BOARD_AGAIN:
        st = ST_AGAIN;
        break;
    case BOARD_CLOSED:
        st = ST_CLOSED;
        break;
    case BOARD_UNSUPPORTED:
        st = ST_UNSUPPORTED;
        break;
    default:
        st = ST_IO;
        break;
    }
    return st;
}

/* ---- sockets ------------------------------------------------------------- */

st_t port_listen(const char *host, uint16_t port, int backlog, port_sock *out)
{
    int32_t s = -1;
    board_rc rc;
    (void)host;
    rc = board_net_listen(port, (int32_t)backlog, &s);
    *out = (rc == BOARD_OK) ? (port_sock)s : PORT_SOCK_NONE;
    return st_of(rc);
}

st_t port_local_port(port_sock s, uint16_t *port)
{
    return st_of(board_net_local_port((int32_t)s, port));
}

st_t port_accept(port_sock listener, port_sock *out)
{
    int32_t s = -1;
    board_rc rc = board_net_accept((int32_t)listener, &s);
    *out = (rc == BOARD_OK) ? (port_sock)s : PORT_SOCK_NONE;
    return st_of(rc);
}

st_t port_recv(port_sock s, void *buf, size_t cap, size_t *n)
{
    return st_of(board_net_recv((int32_t)s, buf, cap, n));
}

st_t port_send(port_sock s, const void *buf, size_t len, size_t *n)
{
    return st_of(board_net_send((int32_t)s, buf, len, n));
}

void port_shutdown_write(port_sock s)
{
    board_net_shutdown_write((int32_t)s);
}

/* ---- readiness ------------------------------------------------------------ */

typedef struct {
    port_sock sock;      /* PORT_SOCK_NONE: free */
    uint32_t events;
    uint32_t tag;
} watch_t;

static watch_t g_watch[PORT_WATCH_MAX];

st_t port_loop_init(void)
{
    size_t i;
    for (i = 0u; i < PORT_WATCH_MAX; i++) {
        g_watch[i].sock = PORT_SOCK_NONE;
    }
    return ST_OK;
}

st_t port_watch(port_sock s, uint32_t events, uint32_t tag)
{
    size_t i;
    size_t free_at = PORT_WATCH_MAX;
    st_t st = ST_FULL;
    for (i = 0u; i < PORT_WATCH_MAX; i++) {
        if (g_watch[i].sock == s) {
            free_at = i;
            break;
        }
        if ((g_watch[i].sock == PORT_SOCK_NONE) && (free_at == PORT_WATCH_MAX)) {
            free_at = i;
        }
    }
    if (free_at < PORT_WATCH_MAX) {
        g_watch[free_at].sock = s;
        g_watch[free_at].events = events;
        g_watch[free_at].tag = tag;
        st = ST_OK;
    }
    return st;
}

void port_unwatch(port_sock s)
{
    size_t i;
    for (i = 0u; i < PORT_WATCH_MAX; i++) {
        if (g_watch[i].sock == s) {
            g_watch[i].sock = PORT_SOCK_NONE;
        }
    }
}

void port_close(port_sock s)
{
    if (s != PORT_SOCK_NONE) {
        port_unwatch(s);
        board_net_close((int32_t)s);
    }
}

static size_t collect(port_event *fired, size_t cap)
{
    size_t i;
    size_t n = 0u;
    for (i = 0u; (i < PORT_WATCH_MAX) && (n < cap); i++) {
        if (g_watch[i].sock != PORT_SOCK_NONE) {
            uint32_t r = board_net_ready((int32_t)g_watch[i].sock);
            uint32_t got = 0u;
            if (((r & BOARD_NET_IN) != 0u) && ((g_watch[i].events & PORT_EV_IN) != 0u)) {
                got |= PORT_EV_IN;
            }
            if (((r & BOARD_NET_OUT) != 0u) && ((g_watch[i].events & PORT_EV_OUT) != 0u)) {
                got |= PORT_EV_OUT;
            }
            if ((r & BOARD_NET_ERR) != 0u) {
                got |= PORT_EV_ERR;
            }
            if (got != 0u) {
                fired[n].tag = g_watch[i].tag;
                fired[n].got = got;
                n++;
            }
        }
    }
    return n;
}

size_t port_wait(port_event *fired, size_t cap, int timeout_ms)
{
    uint64_t start = board_mono_us();
    uint64_t limit = (timeout_ms < 0) ? UINT64_MAX : ((uint64_t)timeout_ms * 1000u);
    size_t n = collect(fired, cap);
    while (n == 0u) {
        uint64_t spent = board_mono_us() - start;
        if (spent >= limit) {
            break;
        }
        board_idle(limit - spent);
        n = collect(fired, cap);
    }
    return n;
}

const char *port_loop_name(void)
{
    return "board";
}

/* ---- time and entropy ------------------------------------------------------ */

uint64_t port_mono_us(void)
{
    return board_mono_us();
}

uint64_t port_wall_us(void)
{
    return board_wall_us();
}

int32_t port_utc_offset_s(int64_t wall_s)
{
    (void)wall_s;
    return 0;
}

st_t port_entropy(void *buf, size_t n)
{
    return st_of(board_entropy(buf, n));
}

/* ---- signals: none on a board --------------------------------------------- */

st_t port_signals_init(void)
{
    return ST_OK;
}

bool port_stop_requested(void)
{
    return false;
}

/* No SIGHUP: a board reloads by restarting. */
bool port_reload_requested(void)
{
    return false;
}

/* ---- files ------------------------------------------------------------------ */

st_t port_file_read(const char *path, char *buf, size_t cap, size_t *n)
{
    int32_t h = -1;
    uint64_t size = 0u;
    board_rc rc = board_fs_open(path, BOARD_O_READ, &h);
    *n = 0u;
    if (rc == BOARD_OK) {
        rc = board_fs_size(h, &size);
        if ((rc == BOARD_OK) && (size > (uint64_t)cap)) {
            board_fs_close(h);
            return ST_TOOBIG;
        }
        if (rc == BOARD_OK) {
            rc = board_fs_read_at(h, 0u, buf, (size_t)size, n);
        }
        board_fs_close(h);
    }
    return st_of(rc);
}

/* The temporary file's name: path with ".tmp" appended. */
static bool tmp_name(const char *path, char *out, size_t cap)
{
    size_t len = strlen(path);
    bool ok = (len + 5u) <= cap;
    if (ok) {
        (void)memcpy(out, path, len);
        (void)memcpy(&out[len], ".tmp", 5u);
    }
    return ok;
}

st_t port_file_write_atomic(const char *path, const void *data, size_t n, unsigned mode)
{
    char tmp[256];
    int32_t h = -1;
    board_rc rc;
    (void)mode;
    if (!tmp_name(path, tmp, sizeof(tmp))) {
        return ST_TOOBIG;
    }
    (void)board_fs_remove(tmp);
    rc = board_fs_open(tmp, BOARD_O_WRITE | BOARD_O_CREATE | BOARD_O_EXCL, &h);
    if (rc == BOARD_OK) {
        rc = board_fs_write_at(h, 0u, data, n);
        if (rc == BOARD_OK) {
            rc = board_fs_sync(h);
        }
        board_fs_close(h);
        if (rc == BOARD_OK) {
            rc = board_fs_rename(tmp, path);
        } else {
            (void)board_fs_remove(tmp);
        }
    }
    return st_of(rc);
}

st_t port_mkdir_p(const char *path, unsigned mode)
{
    char part[256];
    size_t len = strlen(path);
    size_t i;
    board_rc rc = BOARD_OK;
    (void)mode;
    if (len >= sizeof(part)) {
        return ST_TOOBIG;
    }
    for (i = 1u; (i <= len) && ((rc == BOARD_OK) || (rc == BOARD_EXISTS)); i++) {
        if ((i == len) || (path[i] == '/')) {
            (void)memcpy(part, path, i);
            part[i] = '\0';
            rc = board_fs_mkdir(part);
        }
    }
    return (rc == BOARD_EXISTS) ? ST_OK : st_of(rc);
}

bool port_is_dir(const char *path)
{
    board_stat_t st;
    return (board_fs_stat(path, &st) == BOARD_OK) && st.is_dir;
}

st_t port_dir_list(const char *path, bool (*fn)(const char *name, bool is_dir, void *ctx),
                   void *ctx)
{
    return st_of(board_fs_list(path, fn, ctx));
}

/* Remove one level: files, and directories that board_fs_remove empties
 * (a board whose file system is flat or removes trees whole). */
typedef struct {
    const char *dir;
    board_rc rc;
} rm_ctx;

static bool rm_entry(const char *name, bool is_dir, void *ctx)
{
    rm_ctx *c = (rm_ctx *)ctx;
    char full[256];
    size_t a = strlen(c->dir);
    size_t b = strlen(name);
    (void)is_dir;
    if ((a + b + 2u) > sizeof(full)) {
        c->rc = BOARD_IO;
    } else {
        (void)memcpy(full, c->dir, a);
        full[a] = '/';
        (void)memcpy(&full[a + 1u], name, b + 1u);
        if (is_dir) {
            (void)port_remove_tree(full);
        } else {
            (void)board_fs_remove(full);
        }
    }
    return c->rc == BOARD_OK;
}

st_t port_remove_tree(const char *path)
{
    board_stat_t st;
    board_rc rc = board_fs_stat(path, &st);
    if (rc == BOARD_NOTFOUND) {
        return ST_OK;
    }
    if ((rc == BOARD_OK) && st.is_dir) {
        rm_ctx c;
        c.dir = path;
        c.rc = BOARD_OK;
        (void)board_fs_list(path, rm_entry, &c);
        rc = c.rc;
    }
    if (rc == BOARD_OK) {
        rc = board_fs_remove(path);
    }
    return st_of(rc);
}

/* ---- files beneath a root ------------------------------------------------ */

#define ROOTS_MAX 4u
#define ROOT_PATH_MAX 128u
static char g_roots[ROOTS_MAX][ROOT_PATH_MAX];
/* Root handles are negative below PORT_FILE_NONE: -2 - index. */
#define ROOT_HANDLE(i) (-2 - (int)(i))

static void info_of(const board_stat_t *st, port_file_info *info)
{
    info->size = st->is_dir ? 0u : st->size;
    info->mtime_ns = st->mtime_us * 1000u;
    info->ctime_ns = 0u;
    info->btime_ns = 0u;
    info->is_dir = st->is_dir;
}

st_t port_root_open(const char *path, port_file *out)
{
    size_t i;
    size_t len = strlen(path);
    *out = PORT_FILE_NONE;
    if (!port_is_dir(path)) {
        return ST_NOTFOUND;
    }
    if (len >= ROOT_PATH_MAX) {
        return ST_TOOBIG;
    }
    for (i = 0u; i < ROOTS_MAX; i++) {
        if (g_roots[i][0] == '\0') {
            (void)memcpy(g_roots[i], path, len + 1u);
            *out = ROOT_HANDLE(i);
            return ST_OK;
        }
    }
    return ST_NOMEM;
}

st_t port_file_open_beneath(port_file root, const char *relpath, port_file *out,
                            port_file_info *info)
{
    char full[256];
    int idx = -2 - root;
    size_t a;
    size_t b = strlen(relpath);
    board_stat_t st;
    board_rc rc;
    int32_t h = -1;
    *out = PORT_FILE_NONE;
    if ((idx < 0) || (idx >= (int)ROOTS_MAX) || (relpath[0] == '/') ||
        (strstr(relpath, "..") != NULL)) {
        return ST_PERM;
    }
    a = strlen(g_roots[idx]);
    if ((a + b + 2u) > sizeof(full)) {
        return ST_NOTFOUND;
    }
    (void)memcpy(full, g_roots[idx], a);
    full[a] = '/';
    (void)memcpy(&full[a + 1u], relpath, b + 1u);
    rc = board_fs_stat(full, &st);
    if (rc == BOARD_OK) {
        info_of(&st, info);
        rc = st.is_dir ? BOARD_UNSUPPORTED : board_fs_open(full, BOARD_O_READ, &h);
    }
    if (rc == BOARD_OK) {
        *out = (port_file)h;
    }
    return (rc == BOARD_UNSUPPORTED) ? ST_PERM : st_of(rc);
}

st_t port_file_read_at(port_file f, uint64_t off, void *buf, size_t cap, size_t *n)
{
    return st_of(board_fs_read_at((int32_t)f, off, buf, cap, n));
}

void port_file_close(port_file f)
{
    if (f >= 0) {
        board_fs_close((int32_t)f);
    } else if ((f < PORT_FILE_NONE) && ((-2 - f) < (int)ROOTS_MAX)) {
        g_roots[-2 - f][0] = '\0';
    } else {
        /* PORT_FILE_NONE */
    }
}

/* ---- files by path -------------------------------------------------------- */

/* The write position of each open file (board_fs_write_at takes one). */
#define OPEN_MAX 16
static uint64_t g_wpos[OPEN_MAX];

st_t port_file_create(const char *path, unsigned mode, port_file *out)
{
    int32_t h = -1;
    board_rc rc = board_fs_open(path, BOARD_O_WRITE | BOARD_O_CREATE | BOARD_O_EXCL, &h);
    (void)mode;
    *out = PORT_FILE_NONE;
    if ((rc == BOARD_OK) && ((h < 0) || (h >= OPEN_MAX))) {
        board_fs_close(h);
        rc = BOARD_IO;
    }
    if (rc == BOARD_OK) {
        g_wpos[h] = 0u;
        *out = (port_file)h;
    }
    return st_of(rc);
}

st_t port_file_write(port_file f, const void *buf, size_t n)
{
    board_rc rc = BOARD_IO;
    if ((f >= 0) && (f < OPEN_MAX)) {
        rc = board_fs_write_at((int32_t)f, g_wpos[f], buf, n);
        if (rc == BOARD_OK) {
            g_wpos[f] += (uint64_t)n;
        }
    }
    return st_of(rc);
}

st_t port_file_flush_start(port_file f, uint64_t off, uint64_t len)
{
    (void)f;
    (void)off;
    (void)len;
    return ST_OK;
}

st_t port_file_sync(port_file f)
{
    return st_of(board_fs_sync((int32_t)f));
}

st_t port_file_rename(const char *from, const char *to)
{
    return st_of(board_fs_rename(from, to));
}

st_t port_file_remove(const char *path)
{
    return st_of(board_fs_remove(path));
}

st_t port_file_open(const char *path, port_file *out, port_file_info *info)
{
    board_stat_t st;
    int32_t h = -1;
    board_rc rc = board_fs_stat(path, &st);
    *out = PORT_FILE_NONE;
    if ((rc == BOARD_OK) && st.is_dir) {
        rc = BOARD_NOTFOUND;
    }
    if (rc == BOARD_OK) {
        info_of(&st, info);
        rc = board_fs_open(path, BOARD_O_READ, &h);
    }
    if (rc == BOARD_OK) {
        *out = (port_file)h;
    }
    return st_of(rc);
}

st_t port_file_stat(const char *path, port_file_info *info)
{
    board_stat_t st;
    board_rc rc = board_fs_stat(path, &st);
    if (rc == BOARD_OK) {
        info_of(&st, info);
    }
    return st_of(rc);
}


/* ---- process ----------------------------------------------------------------- */

st_t port_getcwd(char *buf, size_t cap)
{
    st_t st = ST_TOOBIG;
    if (cap >= 2u) {
        buf[0] = '/';
        buf[1] = '\0';
        st = ST_OK;
    }
    return st;
}

void port_stdout(const char *s, size_t n)
{
    board_console_write(1, s, n);
}

void port_stderr(const char *s, size_t n)
{
    board_console_write(2, s, n);
}

unsigned port_thread_count(void)
{
    return 1u;
}

uint64_t port_rss_kib(void)
{
    return 0u;
}
