/*
 * port/cortexm/vfs.c - sqlite's VFS on a board (sqlite is built with
 * SQLITE_OS_OTHER=1 for this port: no os_unix.c; this file provides
 * sqlite3_os_init and sqlite3_os_end and registers the one VFS, "board").
 *
 * Files are board_fs_* handles, kept in a static table of VFS_FILES slots
 * keyed by the sqlite3_file that sqlite handed xOpen (szOsFile is
 * sizeof(sqlite3_file): sqlite's memory holds only the methods pointer), so
 * no method converts sqlite's pointer to a larger struct. The store opens
 * the database, its WAL and, while it sets journal_mode, a rollback
 * journal; an open beyond VFS_FILES fails SQLITE_CANTOPEN. One process, one
 * connection: every lock succeeds and no other connection holds one. The
 * WAL index ("shared memory", which the store's WAL mode uses until
 * locking_mode=EXCLUSIVE) is a static array of VFS_SHM_REGIONS regions of
 * 32 KiB, one database's worth; a WAL that needs more regions fails with
 * SQLITE_IOERR_SHMSIZE (the store checkpoints long before: 1 region indexes
 * about 4,000 frames). Randomness from board_entropy, time from
 * board_wall_us, no sleeping.
 */
#include <string.h>

#include "sqlite3.h"

#include "board.h"

#define VFS_SHM_REGIONS 1u
#define VFS_SHM_REGION_BYTES 32768u
#define VFS_PATH_MAX 256
#define VFS_FILES 4u

/* sqlite's extended result codes are macros that shift a signed int
 * (SQLITE_IOERR | (1<<8)), which MISRA's 10.1 reports wherever one is
 * named; the VFS names the same values as sums. sqlite keeps result codes
 * fixed across releases, and the preprocessor checks each one below. */
#define VFS_IOERR_READ       (SQLITE_IOERR + (1 * 256))
#define VFS_IOERR_SHORT_READ (SQLITE_IOERR + (2 * 256))
#define VFS_IOERR_WRITE      (SQLITE_IOERR + (3 * 256))
#define VFS_IOERR_FSYNC      (SQLITE_IOERR + (4 * 256))
#define VFS_IOERR_TRUNCATE   (SQLITE_IOERR + (6 * 256))
#define VFS_IOERR_FSTAT      (SQLITE_IOERR + (7 * 256))
#define VFS_IOERR_DELETE     (SQLITE_IOERR + (10 * 256))
#define VFS_IOERR_SHMSIZE    (SQLITE_IOERR + (19 * 256))
#if (VFS_IOERR_READ != SQLITE_IOERR_READ) || (VFS_IOERR_SHORT_READ != SQLITE_IOERR_SHORT_READ) || \
    (VFS_IOERR_WRITE != SQLITE_IOERR_WRITE) || (VFS_IOERR_FSYNC != SQLITE_IOERR_FSYNC) || \
    (VFS_IOERR_TRUNCATE != SQLITE_IOERR_TRUNCATE) || (VFS_IOERR_FSTAT != SQLITE_IOERR_FSTAT) || \
    (VFS_IOERR_DELETE != SQLITE_IOERR_DELETE) || (VFS_IOERR_SHMSIZE != SQLITE_IOERR_SHMSIZE)
#error "vfs.c: an extended result code differs from sqlite3.h's"
#endif

/* An open file: f is sqlite's handle for it, NULL for a free slot. */
typedef struct {
    const sqlite3_file *f;
    int32_t h;
} vfs_slot;

static vfs_slot g_files[VFS_FILES];
static uint8_t g_shm[VFS_SHM_REGIONS][VFS_SHM_REGION_BYTES];

/* The slot of f (a free one for NULL); NULL when there is none. */
static vfs_slot *slot_of(const sqlite3_file *f)
{
    vfs_slot *s = NULL;
    size_t i;
    for (i = 0u; (i < VFS_FILES) && (s == NULL); i++) {
        if (g_files[i].f == f) {
            s = &g_files[i];
        }
    }
    return s;
}

static int f_close(sqlite3_file *f)
{
    vfs_slot *p = slot_of(f);
    if (p != NULL) {
        board_fs_close(p->h);
        p->h = -1;
        p->f = NULL;
    }
    return SQLITE_OK;
}

static int f_read(sqlite3_file *f, void *buf, int amt, sqlite3_int64 off)
{
    const vfs_slot *p = slot_of(f);
    size_t n = 0u;
    int rc = SQLITE_OK;
    if ((p == NULL) || (board_fs_read_at(p->h, (uint64_t)off, buf, (size_t)amt, &n) != BOARD_OK)) {
        rc = VFS_IOERR_READ;
    } else if (n < (size_t)amt) {
        /* sqlite wants the rest zeroed on a short read */
        (void)memset(&((uint8_t *)buf)[n], 0, (size_t)amt - n);
        rc = VFS_IOERR_SHORT_READ;
    } else {
        /* whole */
    }
    return rc;
}

static int f_write(sqlite3_file *f, const void *buf, int amt, sqlite3_int64 off)
{
    const vfs_slot *p = slot_of(f);
    int rc = VFS_IOERR_WRITE;
    if (p != NULL) {
        board_rc brc = board_fs_write_at(p->h, (uint64_t)off, buf, (size_t)amt);
        if (brc == BOARD_OK) {
            rc = SQLITE_OK;
        } else if (brc == BOARD_NOSPACE) {
            rc = SQLITE_FULL;
        } else {
            /* VFS_IOERR_WRITE */
        }
    }
    return rc;
}

static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    const vfs_slot *p = slot_of(f);
    int rc = VFS_IOERR_TRUNCATE;
    if ((p != NULL) && (board_fs_truncate(p->h, (uint64_t)size) == BOARD_OK)) {
        rc = SQLITE_OK;
    }
    return rc;
}

static int f_sync(sqlite3_file *f, int flags)
{
    const vfs_slot *p = slot_of(f);
    int rc = VFS_IOERR_FSYNC;
    (void)flags;
    if ((p != NULL) && (board_fs_sync(p->h) == BOARD_OK)) {
        rc = SQLITE_OK;
    }
    return rc;
}

static int f_size(sqlite3_file *f, sqlite3_int64 *size)
{
    const vfs_slot *p = slot_of(f);
    uint64_t s = 0u;
    int rc = VFS_IOERR_FSTAT;
    if ((p != NULL) && (board_fs_size(p->h, &s) == BOARD_OK)) {
        *size = (sqlite3_int64)s;
        rc = SQLITE_OK;
    }
    return rc;
}

static int f_lock(sqlite3_file *f, int lock)
{
    (void)f;
    (void)lock;
    return SQLITE_OK;
}

static int f_check_reserved(sqlite3_file *f, int *out)
{
    (void)f;
    *out = 0;
    return SQLITE_OK;
}

static int f_control(sqlite3_file *f, int op, void *arg)
{
    (void)f;
    (void)op;
    (void)arg;
    return SQLITE_NOTFOUND;
}

static int f_sector(sqlite3_file *f)
{
    (void)f;
    return 4096;
}

static int f_chars(sqlite3_file *f)
{
    (void)f;
    return 0;
}

static int f_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **pp)
{
    int rc = SQLITE_OK;
    (void)f;
    (void)extend;
    if ((region < 0) || ((unsigned)region >= VFS_SHM_REGIONS) ||
        (size != (int)VFS_SHM_REGION_BYTES)) {
        *pp = NULL;
        rc = VFS_IOERR_SHMSIZE;
    } else {
        *pp = g_shm[region];
    }
    return rc;
}

static int f_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    (void)f;
    (void)offset;
    (void)n;
    (void)flags;
    return SQLITE_OK;
}

static void f_shm_barrier(sqlite3_file *f)
{
    (void)f;
}

static int f_shm_unmap(sqlite3_file *f, int del)
{
    (void)f;
    if (del != 0) {
        (void)memset(g_shm, 0, sizeof(g_shm));
    }
    return SQLITE_OK;
}

static const sqlite3_io_methods k_io = {
    2, f_close, f_read, f_write, f_truncate, f_sync, f_size, f_lock, f_lock,
    f_check_reserved, f_control, f_sector, f_chars, f_shm_map, f_shm_lock, f_shm_barrier,
    f_shm_unmap, NULL, NULL
};

static int v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
    vfs_slot *p = slot_of(NULL);
    uint32_t bf = BOARD_O_READ;
    int32_t h = -1;
    (void)vfs;
    f->pMethods = NULL;
    if ((name == NULL) || (p == NULL)) {
        return SQLITE_CANTOPEN;   /* no temporary files (SQLITE_TEMP_STORE=3), or no free slot */
    }
    if ((flags & SQLITE_OPEN_READWRITE) != 0) {
        bf |= BOARD_O_WRITE;
    }
    if ((flags & SQLITE_OPEN_CREATE) != 0) {
        bf |= BOARD_O_CREATE;
    }
    if ((flags & SQLITE_OPEN_EXCLUSIVE) != 0) {
        bf |= BOARD_O_EXCL;
    }
    if (board_fs_open(name, bf, &h) != BOARD_OK) {
        return SQLITE_CANTOPEN;
    }
    p->f = f;
    p->h = h;
    f->pMethods = &k_io;
    if (out != NULL) {
        *out = flags;
    }
    return SQLITE_OK;
}

static int v_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    board_rc rc = board_fs_remove(name);
    int out = VFS_IOERR_DELETE;
    (void)vfs;
    (void)sync_dir;
    if ((rc == BOARD_OK) || (rc == BOARD_NOTFOUND)) {
        out = SQLITE_OK;
    }
    return out;
}

static int v_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    board_stat_t st;
    (void)vfs;
    (void)flags;
    *out = 0;
    if (board_fs_stat(name, &st) == BOARD_OK) {
        *out = 1;
    }
    return SQLITE_OK;
}

static int v_full(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    size_t len = strlen(name);
    (void)vfs;
    if ((n <= 0) || (len >= (size_t)n)) {
        return SQLITE_CANTOPEN;
    }
    (void)memcpy(out, name, len + 1u);
    return SQLITE_OK;
}

static int v_random(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    (void)board_entropy(out, (size_t)n);
    return n;
}

static int v_sleep(sqlite3_vfs *vfs, int us)
{
    (void)vfs;
    return us;
}

static int v_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    /* Julian day number in milliseconds */
    uint64_t unix_ms = board_wall_us() / 1000u;
    (void)vfs;
    *out = (sqlite3_int64)unix_ms + (sqlite3_int64)210866760000000;
    return SQLITE_OK;
}

static int v_time(sqlite3_vfs *vfs, double *out)
{
    sqlite3_int64 ms = 0;
    (void)v_time64(vfs, &ms);
    *out = (double)ms / 86400000.0;
    return SQLITE_OK;
}

static int v_last_error(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    (void)n;
    (void)out;
    return 0;
}

static sqlite3_vfs g_vfs = {
    2, (int)sizeof(sqlite3_file), VFS_PATH_MAX, NULL, "board", NULL, v_open, v_delete, v_access,
    v_full, NULL, NULL, NULL, NULL, v_random, v_sleep, v_time, v_last_error, v_time64,
    NULL, NULL, NULL
};

int sqlite3_os_init(void)
{
    return sqlite3_vfs_register(&g_vfs, 1);
}

int sqlite3_os_end(void)
{
    return SQLITE_OK;
}
