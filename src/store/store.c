/*
 * store.c - sqlite3 in its fixed heap.
 *
 * Implementation notes
 * - sqlite3_config only works before sqlite3_initialize (or after
 *   sqlite3_shutdown). We configure once per process, on the first
 *   store_init, and never shut sqlite down: store_close/store_init then open
 *   and close connections freely over the same configured heap. Order:
 *   HEAP (installs memsys5 over g_heap), GETMALLOC + MALLOC (wrap memsys5 to
 *   count failed allocations), PAGECACHE, LOOKASIDE, MEMSTATUS, LOG, then
 *   sqlite3_initialize. If anything started sqlite earlier, sqlite3_config
 *   answers SQLITE_MISUSE and store_init fails with ST_INTERNAL (sqlite
 *   itself is built with SQLITE_ZERO_MALLOC, so that early start could not
 *   have touched the system heap either).
 * - The page cache gets its own static slots: a page plus its header does
 *   not fit a power-of-two memsys5 block without wasting almost half of it.
 *   cache_size is set to the slot count, so in steady state pages come from
 *   the slots; a transaction that needs more pages overflows into the heap
 *   (visible as pcache_overflow).
 * - Statements are prepared with SQLITE_PREPARE_PERSISTENT (kept out of the
 *   lookaside, which is for short-lived allocations).
 * - A part's statements may be on demand (store_stmts.on_demand): compiled
 *   and finalized at init, then prepared in their slot of g_stmts when asked
 *   for (NULL while not), finalized by store_done or by the next request for
 *   any statement when idle (not running). g_live_lazy counts the prepared
 *   ones; while there are on-demand parts, store_done looks a statement up
 *   before it resets it, so a statement finalized already is left alone.
 * - Every sqlite result code goes through map_rc, which also logs.
 * - Locking: locking_mode=EXCLUSIVE is set after journal_mode=WAL (set
 *   before, the WAL index would live in our heap: 32 KiB per 4096 WAL
 *   frames); an empty BEGIN IMMEDIATE / COMMIT at open takes the file's
 *   lock, which sqlite then keeps until close.
 * - The batch: g_batch.open while its transaction is; in_member between
 *   join and leave. The first member of a batch runs without a savepoint
 *   (it is the whole transaction: its failure rolls that back), the others
 *   each in one: in WAL mode a savepoint keeps a copy of every page its
 *   member changes (in the heap, TEMP_STORE=3), which a batch of one never
 *   needs. A join finds the batch too large when the page cache
 *   has overflowed into the heap (its dirty pages stay until the commit)
 *   and commits it first, so a batch never takes more than the static
 *   page cache plus one member's pages (the small profile has 4 slots). store_stmt and store_stmt_in (every statement of every
 *   caller) commit an open batch unless a member is running; the batch's
 *   own statements go through stmt_at, which does not. After every member
 *   sqlite3_get_autocommit says whether sqlite ended the transaction on its
 *   own, in which case the batch ends with the error.
 */
#include "store/store.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/assert.h"
#include "core/fault.h"
#include "core/log.h"
#include "port.h"
#include "store/migrations.h"

_Static_assert((int)STORE_STMT_COUNT <= CFG_STORE_MAX_STMTS,
               "store/stmts.def has more statements than CFG_STORE_MAX_STMTS");
_Static_assert((CFG_STORE_MAX_STMTS <= 65535) && (CFG_STORE_MAX_PARTS > 0),
               "statement indexes are 16-bit");
_Static_assert(CFG_SQLITE_HEAP_BYTES <= (unsigned)INT_MAX, "sqlite heap size must fit an int");
_Static_assert(CFG_SQLITE_HEAP_BYTES >= (128u * 1024u), "sqlite needs a heap of at least 128 KiB");
_Static_assert((CFG_SQLITE_HEAP_BYTES % 8u) == 0u, "sqlite heap size is a multiple of 8");
_Static_assert(CFG_SQLITE_MIN_ALLOC >= 8, "memsys5 atoms are at least 8 bytes");
_Static_assert(CFG_SQLITE_PAGE_CACHE_PAGES <= 1048576, "page cache slot count out of range");
_Static_assert((CFG_SQLITE_LOOKASIDE_SLOT <= 65536) && (CFG_SQLITE_LOOKASIDE_COUNT <= 65536),
               "lookaside out of range");
_Static_assert((CFG_SQLITE_SYNCHRONOUS >= 0) && (CFG_SQLITE_SYNCHRONOUS <= 3),
               "CFG_SQLITE_SYNCHRONOUS is a PRAGMA synchronous level 0..3");
_Static_assert((STORE_PCACHE_SLOT_BYTES % 8u) == 0u, "page cache slots are 8-byte multiples");

#define MOD "store"

/* uint64_t elements: memsys5 and the page cache want 8-byte alignment. */
static uint64_t g_heap[CFG_SQLITE_HEAP_BYTES / 8u];
#if CFG_SQLITE_PAGE_CACHE_PAGES > 0
static uint64_t g_pcache[STORE_PCACHE_BYTES / 8u];
#endif

static bool g_configured;
static sqlite3 *g_db;
/* The store's own statements first, then each part's, in the order added. */
static sqlite3_stmt *g_stmts[CFG_STORE_MAX_STMTS];
static size_t g_nstmts;
static const store_part *g_parts[CFG_STORE_MAX_PARTS];
static size_t g_nparts;
static bool g_any_lazy;                 /* a part's statements are on demand */
static size_t g_live_lazy;              /* on-demand statements prepared now */
static sqlite3_mem_methods g_mem5;
static uint64_t g_alloc_failures;
static uint64_t g_nomem_errors;
static uint64_t g_db_errors;

/* The turn's batch (store_batch_*): one transaction, a savepoint per
 * member, the owners to tell when it ends. */
typedef struct store_batch_state {
    bool open;                          /* BEGIN ran: COMMIT is due */
    bool in_member;                     /* between store_batch_join and _leave */
    bool member_sp;                     /* the member runs in a savepoint (not the first) */
    size_t ndone;                       /* owners in g_batch_owners */
    uint64_t commits;                   /* batches committed */
    uint64_t members;                   /* members kept in them */
    uint32_t kept;                      /* members kept in the open batch */
} store_batch_state;

static store_batch_state g_batch;
/* The owners of the open batch (their done callbacks), in joining order. */
typedef struct {
    store_batch_fn done;
} store_batch_owner;
static store_batch_owner g_batch_owners[CFG_STORE_BATCH_OWNERS];

/* ---- memory: memsys5 with a failure counter ------------------------------ */

static void *mem_malloc(int n)
{
    void *p = FAULT_HIT(FAULT_SQLITE, "sqlite") ? NULL : g_mem5.xMalloc(n);

    if (p == NULL) {
        g_alloc_failures++;
    }
    return p;
}

static void *mem_realloc(void *old, int n)
{
    void *p = FAULT_HIT(FAULT_SQLITE, "sqlite") ? NULL : g_mem5.xRealloc(old, n);

    if (p == NULL) {
        g_alloc_failures++;
    }
    return p;
}

/* sqlite's own error log (SQLITE_CONFIG_LOG): formatted by sqlite on its
 * stack. Statement failures are already logged by map_rc; keep the rest. */
static void sqlite_log(void *arg, int code, const char *msg)
{
    int prim = code & 0xff;

    (void)arg;
    if ((prim == SQLITE_CORRUPT) || (prim == SQLITE_NOTICE) || (prim == SQLITE_WARNING) ||
        (prim == SQLITE_CANTOPEN) || (prim == SQLITE_IOERR)) {
        LOG_W(MOD, "sqlite (%d): %s", code, msg);
    } else {
        LOG_D(MOD, "sqlite (%d): %s", code, msg);
    }
}

/* The database's own file I/O goes through the port's operations table,
 * where a test can make it fail (port_fault_arm), as the rest of the I/O.
 * sqlite is built with pread/pwrite (vendor/sqlite3.mk): those carry the
 * database, WAL and journal I/O; read and write are routed too for what
 * still uses them. A call this sqlite does not use (its slot is empty, as
 * pread64 is) is left alone. */
static void route_os_calls(void)
{
    static const char *const k_calls[] = { "open", "read", "pread", "pread64", "write",
                                           "pwrite", "pwrite64", "unlink" };
    sqlite3_vfs *vfs = sqlite3_vfs_find(NULL);
    size_t i;
    if ((vfs == NULL) || (vfs->iVersion < 3) || (vfs->xSetSystemCall == NULL) ||
        (vfs->xGetSystemCall == NULL)) {
        return;
    }
    for (i = 0u; i < (sizeof(k_calls) / sizeof(k_calls[0])); i++) {
        port_any_fn fn = port_os_call(k_calls[i]);
        if ((fn != NULL) && (vfs->xGetSystemCall(vfs, k_calls[i]) != NULL)) {
            (void)vfs->xSetSystemCall(vfs, k_calls[i], fn);
        }
    }
}

static st_t configure(void)
{
    int rc;
    int hdr = 0;
    sqlite3_mem_methods wrapped;

    rc = sqlite3_config(SQLITE_CONFIG_HEAP, (void *)g_heap, (int)sizeof g_heap,
                        (int)CFG_SQLITE_MIN_ALLOC);
    if (rc == SQLITE_OK) {
        rc = sqlite3_config(SQLITE_CONFIG_GETMALLOC, &g_mem5);
    }
    if (rc == SQLITE_OK) {
        wrapped = g_mem5;
        wrapped.xMalloc = mem_malloc;
        wrapped.xRealloc = mem_realloc;
        rc = sqlite3_config(SQLITE_CONFIG_MALLOC, &wrapped);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_config(SQLITE_CONFIG_PCACHE_HDRSZ, &hdr);
    }
    if ((rc == SQLITE_OK) && ((hdr < 0) || ((unsigned)hdr > STORE_PCACHE_HDR_BYTES))) {
        LOG_E(MOD, "sqlite page header is %d bytes, STORE_PCACHE_HDR_BYTES is %u", hdr,
              STORE_PCACHE_HDR_BYTES);
        return ST_INTERNAL;
    }
#if CFG_SQLITE_PAGE_CACHE_PAGES > 0
    if (rc == SQLITE_OK) {
        rc = sqlite3_config(SQLITE_CONFIG_PAGECACHE, (void *)g_pcache,
                            (int)STORE_PAGE_BYTES + (int)STORE_PCACHE_HDR_BYTES,
                            (int)CFG_SQLITE_PAGE_CACHE_PAGES);
    }
#endif
    if (rc == SQLITE_OK) {
        rc = sqlite3_config(SQLITE_CONFIG_LOOKASIDE, (int)CFG_SQLITE_LOOKASIDE_SLOT,
                            (int)CFG_SQLITE_LOOKASIDE_COUNT);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 1);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_config(SQLITE_CONFIG_LOG, sqlite_log, (void *)NULL);
    }
    if (rc == SQLITE_MISUSE) {
        LOG_E(MOD, "sqlite was started before its memory was configured");
        return ST_INTERNAL;
    }
    if (rc != SQLITE_OK) {
        LOG_E(MOD, "sqlite3_config: %s (%d)", sqlite3_errstr(rc), rc);
        return ST_INTERNAL;
    }
    rc = sqlite3_initialize();
    if (rc != SQLITE_OK) {
        LOG_E(MOD, "sqlite3_initialize: %s (%d)", sqlite3_errstr(rc), rc);
        return (rc == SQLITE_NOMEM) ? ST_NOMEM : ST_INTERNAL;
    }
    route_os_calls();
    g_configured = true;
    return ST_OK;
}

/* ---- result codes ---------------------------------------------------------- */

/* Translate rc; log failures that are not ordinary answers. `what` names the
 * operation, `sql` (may be NULL) the statement. */
static st_t map_rc(int rc, const char *what, const char *sql)
{
    st_t st;
    const char *msg = (g_db != NULL) ? sqlite3_errmsg(g_db) : sqlite3_errstr(rc);

    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return ST_OK;
    case SQLITE_NOMEM:
        st = ST_NOMEM;
        break;
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
        st = ST_IO;
        break;
    case SQLITE_CONSTRAINT:
        return ST_EXISTS;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return ST_AGAIN;
    case SQLITE_TOOBIG:
        return ST_TOOBIG;
    case SQLITE_RANGE:
        st = ST_RANGE;
        break;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
        st = ST_PERM;
        break;
    default:
        st = ST_DB;
        break;
    }
    if (st == ST_NOMEM) {
        g_nomem_errors++;
    } else {
        g_db_errors++;
    }
    LOG_E(MOD, "%s: %s (%d)%s%.80s", what, msg, rc, (sql != NULL) ? " in: " : "",
          (sql != NULL) ? sql : "");
    return st;
}

/* ---- init-time helpers (may prepare on the fly) ------------------------------ */

static st_t exec_sql(const char *sql)
{
    int rc = sqlite3_exec(g_db, sql, NULL, NULL, NULL);

    return map_rc(rc, "exec", sql);
}

/* Run a one-row query and return column 0 as an integer (*val) or copy it as
 * text into txt (when txt != NULL). */
static st_t query_one(const char *sql, int64_t *val, char *txt, size_t cap)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(g_db, sql, -1, &s, NULL);
    st_t st = map_rc(rc, "prepare", sql);

    if (st == ST_OK) {
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            if (val != NULL) {
                *val = sqlite3_column_int64(s, 0);
            }
            if ((txt != NULL) && (cap > 0u)) {
                const unsigned char *t = sqlite3_column_text(s, 0);
                (void)snprintf(txt, cap, "%s", (t != NULL) ? (const char *)t : "");
            }
        } else if (rc == SQLITE_DONE) {
            st = ST_NOTFOUND;
        } else {
            st = map_rc(rc, "step", sql);
        }
    }
    (void)sqlite3_finalize(s);
    return st;
}

static st_t set_pragmas(void)
{
    char sql[64];
    char mode[16];
    st_t st;

    (void)sqlite3_db_config(g_db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
    (void)sqlite3_db_config(g_db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
    st = query_one("PRAGMA journal_mode=WAL", NULL, mode, sizeof mode);
    if ((st == ST_OK) && (strcmp(mode, "wal") != 0)) {
        LOG_E(MOD, "journal_mode is '%s', not wal", mode);
        st = ST_UNSUPPORTED;
    }
    /* After WAL is open (a new file becomes WAL at its next read; set
     * before, the WAL index would live in our heap, 32 KiB per 4096 WAL
     * frames, instead of its shared-memory file): the file's lock, once
     * taken, is kept until close, and no transaction locks or unlocks
     * anything. Taken now by an empty write transaction, so a second
     * process fails here, at its start. */
    if (st == ST_OK) {
        int64_t n = 0;
        st = query_one("SELECT count(*) FROM sqlite_schema", &n, NULL, 0u);
    }
    if (st == ST_OK) {
        st = query_one("PRAGMA locking_mode=EXCLUSIVE", NULL, mode, sizeof mode);
    }
    if ((st == ST_OK) && (strcmp(mode, "exclusive") != 0)) {
        LOG_E(MOD, "locking_mode is '%s', not exclusive", mode);
        st = ST_UNSUPPORTED;
    }
    if (st == ST_OK) {
        st = exec_sql("BEGIN IMMEDIATE; COMMIT");   /* ST_AGAIN: another process has it */
    }
    if (st == ST_OK) {
        (void)snprintf(sql, sizeof sql, "PRAGMA synchronous=%d", (int)CFG_SQLITE_SYNCHRONOUS);
        st = exec_sql(sql);
    }
    if (st == ST_OK) {
        st = exec_sql("PRAGMA foreign_keys=ON");
    }
#if CFG_SQLITE_PAGE_CACHE_PAGES > 0
    if (st == ST_OK) {
        (void)snprintf(sql, sizeof sql, "PRAGMA cache_size=%d", (int)CFG_SQLITE_PAGE_CACHE_PAGES);
        st = exec_sql(sql);
    }
#endif
    return st;
}

/* The SQL of step version (1-based) from the store or a part; NULL when no
 * one has it. *owner names who does. */
static const char *step_sql(unsigned version, const char **owner)
{
    const char *sql = NULL;
    size_t i;
    size_t j;

    if ((version >= 1u) && (version <= store_migration_count())) {
        *owner = "store";
        sql = store_migration_sql(version - 1u);
    }
    for (i = 0u; (i < g_nparts) && (sql == NULL); i++) {
        for (j = 0u; (j < g_parts[i]->nsteps) && (sql == NULL); j++) {
            if (g_parts[i]->steps[j].version == version) {
                *owner = g_parts[i]->owner;
                sql = g_parts[i]->steps[j].sql;
            }
        }
    }
    return sql;
}

unsigned store_schema_version(void)
{
    unsigned top = store_migration_count();
    size_t i;
    size_t j;

    for (i = 0u; i < g_nparts; i++) {
        for (j = 0u; j < g_parts[i]->nsteps; j++) {
            if (g_parts[i]->steps[j].version > top) {
                top = g_parts[i]->steps[j].version;
            }
        }
    }
    return top;
}

/* Every version 1..top exactly once among the store and its parts. */
static st_t check_steps(unsigned top)
{
    st_t st = ST_OK;
    unsigned v;

    for (v = 1u; (v <= top) && (st == ST_OK); v++) {
        unsigned seen = 0u;
        size_t i;
        size_t j;
        if (v <= store_migration_count()) {
            seen++;
        }
        for (i = 0u; i < g_nparts; i++) {
            for (j = 0u; j < g_parts[i]->nsteps; j++) {
                if (g_parts[i]->steps[j].version == v) {
                    seen++;
                }
            }
        }
        if (seen != 1u) {
            LOG_E(MOD, "schema step %u is defined %u times (steps are 1..%u, each once)", v,
                  seen, top);
            st = ST_INTERNAL;
        }
    }
    return st;
}

static st_t migrate(void)
{
    int64_t have = 0;
    char sql[48];
    unsigned top = store_schema_version();
    st_t st = check_steps(top);
    unsigned v;

    if (st == ST_OK) {
        st = query_one("PRAGMA user_version", &have, NULL, 0u);
    }
    if (st != ST_OK) {
        return st;
    }
    if ((have < 0) || (have > (int64_t)top)) {
        LOG_E(MOD, "database schema version %lld is newer than this roost knows (%u)",
              (long long)have, top);
        return ST_UNSUPPORTED;
    }
    for (v = (unsigned)have; (v < top) && (st == ST_OK); v++) {
        const char *owner = "";
        const char *step = step_sql(v + 1u, &owner);
        st = exec_sql("BEGIN IMMEDIATE");
        if (st == ST_OK) {
            st = exec_sql(step);
            if (st == ST_OK) {
                (void)snprintf(sql, sizeof sql, "PRAGMA user_version=%u", v + 1u);
                st = exec_sql(sql);
            }
            if (st == ST_OK) {
                st = exec_sql("COMMIT");
            }
            if ((st != ST_OK) && (sqlite3_get_autocommit(g_db) == 0)) {
                (void)sqlite3_exec(g_db, "ROLLBACK", NULL, NULL, NULL);
            }
        }
        if (st == ST_OK) {
            LOG_I(MOD, "schema migrated to version %u (%s)", v + 1u, owner);
        }
    }
    return st;
}

/* Prepare sql into the next slot; an on-demand statement (keep false) is
 * only compiled, to refuse a bad one at init, and its slot left empty. */
static st_t prepare(const char *sql, bool keep)
{
    int rc;
    sqlite3_stmt **slot;

    if (g_nstmts >= (size_t)CFG_STORE_MAX_STMTS) {
        LOG_E(MOD, "more statements than CFG_STORE_MAX_STMTS (%u)", (unsigned)CFG_STORE_MAX_STMTS);
        return ST_INTERNAL;
    }
    slot = &g_stmts[g_nstmts];
    rc = sqlite3_prepare_v3(g_db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL);
    g_nstmts++;
    if (!keep) {
        (void)sqlite3_finalize(*slot);
        *slot = NULL;
    }
    return map_rc(rc, "prepare", sql);
}

static st_t prepare_all(void)
{
    static const char *const k_sql[STORE_STMT_COUNT] = {
#define STMT(name, sql) sql,
#include "store/stmts.def"
#undef STMT
    };
    st_t st = ST_OK;
    size_t i;
    size_t j;

    g_nstmts = 0u;
    g_any_lazy = false;
    g_live_lazy = 0u;
    for (i = 0; (i < (size_t)STORE_STMT_COUNT) && (st == ST_OK); i++) {
        st = prepare(k_sql[i], true);
    }
    for (i = 0u; (i < g_nparts) && (st == ST_OK); i++) {
        store_stmts *set = g_parts[i]->stmts;
        if (set != NULL) {
            set->base = (uint16_t)g_nstmts;
            g_any_lazy = g_any_lazy || set->on_demand;
            for (j = 0u; (j < (size_t)set->n) && (st == ST_OK); j++) {
                st = prepare(set->sql[j], !set->on_demand);
            }
        }
    }
    return st;
}

/* The part whose statements include slot k; NULL for the store's own. */
static const store_stmts *part_of(size_t k)
{
    const store_stmts *found = NULL;
    size_t i;

    for (i = 0u; (i < g_nparts) && (found == NULL); i++) {
        const store_stmts *set = g_parts[i]->stmts;
        if ((set != NULL) && (k >= (size_t)set->base) && (k < ((size_t)set->base + set->n))) {
            found = set;
        }
    }
    return found;
}

static bool lazy_at(size_t k)
{
    const store_stmts *set = part_of(k);
    return (set != NULL) && set->on_demand;
}

static void lazy_finalize(size_t k)
{
    (void)sqlite3_finalize(g_stmts[k]);
    g_stmts[k] = NULL;
    g_live_lazy--;
}

/* Finalize the on-demand statements that are not running, but slot keep. */
static void lazy_release_idle(size_t keep)
{
    size_t k;

    for (k = 0u; (k < g_nstmts) && (g_live_lazy > 0u); k++) {
        if ((k != keep) && (g_stmts[k] != NULL) && (sqlite3_stmt_busy(g_stmts[k]) == 0) &&
            lazy_at(k)) {
            lazy_finalize(k);
        }
    }
}

static void finalize_all(void)
{
    size_t i;

    for (i = 0; i < g_nstmts; i++) {
        (void)sqlite3_finalize(g_stmts[i]);
        g_stmts[i] = NULL;
    }
    g_nstmts = 0u;
    g_live_lazy = 0u;
}

static void close_db(void)
{
    int rc;

    finalize_all();
    rc = sqlite3_close(g_db);
    if (rc != SQLITE_OK) {
        LOG_E(MOD, "close: %s (%d)", sqlite3_errmsg(g_db), rc);
    }
    g_db = NULL;
}

/* ---- public ------------------------------------------------------------------------ */

st_t store_add(const store_part *p)
{
    size_t i;

    if ((p == NULL) || (g_db != NULL)) {
        return ST_INVAL;
    }
    for (i = 0u; i < g_nparts; i++) {
        if (g_parts[i] == p) {
            return ST_OK;
        }
    }
    if (g_nparts >= (size_t)CFG_STORE_MAX_PARTS) {
        return ST_FULL;
    }
    g_parts[g_nparts] = p;
    g_nparts++;
    return ST_OK;
}

static uint64_t g_generation;

/* Every commit of a write transaction (read-only ones do not call it). */
static int on_commit(void *arg)
{
    (void)arg;
    g_generation++;
    return 0;     /* 0: let the commit go on */
}

uint64_t store_generation(void)
{
    return g_generation;
}

st_t store_init(const char *db_path)
{
    st_t st = ST_OK;

    if ((db_path == NULL) || (db_path[0] == '\0') || (g_db != NULL)) {
        return ST_INVAL;
    }
    if (!g_configured) {
        st = configure();
    }
    if (st == ST_OK) {
        int rc = sqlite3_open_v2(db_path, &g_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
        if ((rc == SQLITE_OK) && (g_db != NULL)) {
            (void)sqlite3_extended_result_codes(g_db, 1);
            (void)sqlite3_commit_hook(g_db, on_commit, NULL);
        }
        st = map_rc(rc, "open", db_path);
        if ((st == ST_OK) && (g_db == NULL)) {
            st = ST_NOMEM;
        }
    }
    if (st == ST_OK) {
        st = set_pragmas();
    }
    if (st == ST_OK) {
        st = migrate();
    }
    if (st == ST_OK) {
        st = prepare_all();
    }
    if (st != ST_OK) {
        if (g_db != NULL) {
            close_db();
        }
        return st;
    }
    LOG_I(MOD, "opened %s (schema %u, heap %u KiB, page cache %u pages)", db_path,
          store_schema_version(), CFG_SQLITE_HEAP_BYTES / 1024u,
          (unsigned)CFG_SQLITE_PAGE_CACHE_PAGES);
    return ST_OK;
}

void store_close(void)
{
    if (g_db == NULL) {
        return;
    }
    (void)store_batch_commit();
    finalize_all();
    if (sqlite3_get_autocommit(g_db) == 0) {
        LOG_W(MOD, "closing with a transaction open: rolled back");
        (void)sqlite3_exec(g_db, "ROLLBACK", NULL, NULL, NULL);
    }
    (void)exec_sql("PRAGMA wal_checkpoint(TRUNCATE)");
    {
        /* The high waters that size a profile's heap and page cache (a
         * profile without /metrics has only this line). */
        store_stats_t s;
        store_stats(&s);
        LOG_I(MOD, "sqlite heap high water %llu of %u bytes, page cache %llu of %u pages",
              (unsigned long long)s.heap_high, (unsigned)CFG_SQLITE_HEAP_BYTES,
              (unsigned long long)s.pcache_high, (unsigned)CFG_SQLITE_PAGE_CACHE_PAGES);
    }
    close_db();
}

bool store_is_open(void)
{
    return g_db != NULL;
}

/* Statement k, reset and with its bindings cleared (no batch check); an
 * on-demand one prepared first (NULL when that fails). */
static sqlite3_stmt *stmt_at(size_t k)
{
    sqlite3_stmt *s = g_stmts[k];

    if (s == NULL) {
        const store_stmts *set = part_of(k);
        if (NEVER(set == NULL)) {
            return NULL;
        }
        if (map_rc(sqlite3_prepare_v3(g_db, set->sql[k - (size_t)set->base], -1, 0u, &s, NULL),
                   "prepare", set->sql[k - (size_t)set->base]) != ST_OK) {
            (void)sqlite3_finalize(s);
            return NULL;
        }
        g_stmts[k] = s;
        g_live_lazy++;
    }
    (void)sqlite3_reset(s);
    (void)sqlite3_clear_bindings(s);
    return s;
}

/* Anything that is not a member of the open batch commits it first: it
 * never runs inside the batch's transaction (its writes would be committed
 * with the batch, after its own answer; its reads would see members not
 * yet committed). */
static void batch_settle(void)
{
    if (g_batch.open && !g_batch.in_member) {
        (void)store_batch_commit();
    }
}

sqlite3_stmt *store_stmt(store_stmt_id id)
{
    ASSERT(g_db != NULL);
    ASSERT((unsigned)id < (unsigned)STORE_STMT_COUNT);
    if (NEVER((unsigned)id >= (unsigned)STORE_STMT_COUNT)) {
        return NULL;
    }
    batch_settle();
    lazy_release_idle(SIZE_MAX);
    return stmt_at((size_t)id);
}

sqlite3_stmt *store_stmt_in(const store_stmts *set, unsigned i)
{
    sqlite3_stmt *s;
    size_t k;

    ASSERT(g_db != NULL);
    ASSERT((set != NULL) && (i < (unsigned)set->n));
    if (NEVER((set == NULL) || (i >= (unsigned)set->n))) {
        return NULL;
    }
    k = (size_t)set->base + (size_t)i;
    if (NEVER(k >= g_nstmts)) {
        return NULL;
    }
    batch_settle();
    lazy_release_idle(k);
    s = stmt_at(k);
    return s;
}

st_t store_step(sqlite3_stmt *stmt, bool *row)
{
    int rc;
    st_t st;

    ASSERT(row != NULL);
    *row = false;
    if (stmt == NULL) {
        return ST_NOMEM;   /* an on-demand statement that could not be prepared */
    }
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *row = true;
        return ST_OK;
    }
    st = (rc == SQLITE_DONE) ? ST_OK : map_rc(rc, "step", sqlite3_sql(stmt));
    (void)sqlite3_reset(stmt);
    return st;
}

void store_done(sqlite3_stmt *stmt)
{
    size_t k;
    bool known = !g_any_lazy;

    if (stmt == NULL) {
        return;
    }
    for (k = 0u; (k < g_nstmts) && !known; k++) {
        if (g_stmts[k] == stmt) {
            known = true;
            if (lazy_at(k)) {
                lazy_finalize(k);
                return;
            }
        }
    }
    if (known) {
        (void)sqlite3_reset(stmt);   /* else: an on-demand one, finalized already */
    }
}

st_t store_exec(sqlite3_stmt *stmt)
{
    bool row = true;
    st_t st = ST_OK;

    while ((st == ST_OK) && row) {
        st = store_step(stmt, &row);
    }
    return st;
}

st_t store_bind_text(sqlite3_stmt *stmt, int idx, strv v)
{
    if (stmt == NULL) {
        return ST_NOMEM;
    }
    if (v.n > (size_t)INT_MAX) {
        return ST_TOOBIG;
    }
    return map_rc(sqlite3_bind_text(stmt, idx, (v.p != NULL) ? v.p : "", (int)v.n, SQLITE_STATIC),
                  "bind", sqlite3_sql(stmt));
}

st_t store_bind_int64(sqlite3_stmt *stmt, int idx, int64_t v)
{
    if (stmt == NULL) {
        return ST_NOMEM;
    }
    return map_rc(sqlite3_bind_int64(stmt, idx, (sqlite3_int64)v), "bind", sqlite3_sql(stmt));
}

st_t store_bind_null(sqlite3_stmt *stmt, int idx)
{
    if (stmt == NULL) {
        return ST_NOMEM;
    }
    return map_rc(sqlite3_bind_null(stmt, idx), "bind", sqlite3_sql(stmt));
}

strv store_col_text(sqlite3_stmt *stmt, int col)
{
    const unsigned char *t = sqlite3_column_text(stmt, col);
    int n = sqlite3_column_bytes(stmt, col);
    strv v = STRV_NULL;

    if ((t != NULL) && (n >= 0)) {
        v.p = (const char *)t;
        v.n = (size_t)n;
    }
    return v;
}

size_t store_col_copy(sqlite3_stmt *stmt, int col, char *dst, size_t cap)
{
    strv v = store_col_text(stmt, col);
    size_t n = (v.n < cap) ? v.n : (cap - 1u);
    if (n > 0u) {
        (void)memcpy(dst, v.p, n);
    }
    dst[n] = '\0';
    return n;
}

int64_t store_col_int64(sqlite3_stmt *stmt, int col)
{
    return (int64_t)sqlite3_column_int64(stmt, col);
}

bool store_col_is_null(sqlite3_stmt *stmt, int col)
{
    return sqlite3_column_type(stmt, col) == SQLITE_NULL;
}

int64_t store_last_rowid(void)
{
    ASSERT(g_db != NULL);
    return (int64_t)sqlite3_last_insert_rowid(g_db);
}

uint64_t store_changes(void)
{
    sqlite3_int64 n;

    ASSERT(g_db != NULL);
    n = sqlite3_changes64(g_db);
    return (n > 0) ? (uint64_t)n : 0u;
}

st_t store_begin(void)
{
    return store_exec(store_stmt(STORE_BEGIN));
}

st_t store_commit(void)
{
    return store_exec(store_stmt(STORE_COMMIT));
}

st_t store_rollback(void)
{
    ASSERT(g_db != NULL);
    if (sqlite3_get_autocommit(g_db) != 0) {
        return ST_OK;   /* nothing open: sqlite already rolled back */
    }
    return store_exec(store_stmt(STORE_ROLLBACK));
}

/* ---- the turn's batch ------------------------------------------------------ */

/* Run one of the store's own statements inside the batch (no settle). */
static st_t batch_exec(store_stmt_id id)
{
    return store_exec(stmt_at((size_t)id));
}

/* The batch is over (committed: st ST_OK; rolled back: the error): tell
 * every owner, in the order they joined. */
static void batch_end(st_t st)
{
    size_t i;
    size_t n = g_batch.ndone;

    g_batch.open = false;
    g_batch.in_member = false;
    g_batch.ndone = 0u;
    if (st == ST_OK) {
        g_batch.commits++;
        g_batch.members += g_batch.kept;
    }
    g_batch.kept = 0u;
    for (i = 0u; i < n; i++) {
        g_batch_owners[i].done(st);
    }
}

/* sqlite ended the transaction on its own (after NOMEM, IOERR, FULL...):
 * the batch is gone with every member kept so far. */
static bool batch_lost(void)
{
    return sqlite3_get_autocommit(g_db) != 0;
}

/* The open batch's pages no longer fit the static page cache: sqlite has
 * taken page memory from the heap (a transaction's dirty pages stay
 * until its commit). */
static bool batch_cache_full(void)
{
    sqlite3_int64 cur = 0;
    sqlite3_int64 high = 0;

    (void)sqlite3_status64(SQLITE_STATUS_PAGECACHE_OVERFLOW, &cur, &high, 0);
    return cur > 0;
}

st_t store_batch_join(store_batch_fn done)
{
    st_t st = ST_OK;
    size_t i;
    bool known = false;

    ASSERT((g_db != NULL) && (done != NULL) && !g_batch.in_member);
    if (NEVER(g_batch.in_member) || (done == NULL)) {
        return ST_INVAL;
    }
    lazy_release_idle(SIZE_MAX);   /* the heap for the batch's pages */
    if (g_batch.open && batch_cache_full()) {
        /* a batch as large as the page cache ends here: its pages are
         * written and the heap stays for what needs it */
        st = store_batch_commit();
        if (st != ST_OK) {
            return st;
        }
    }
    for (i = 0u; i < g_batch.ndone; i++) {
        if (g_batch_owners[i].done == done) {
            known = true;
        }
    }
    if (!known && (g_batch.ndone >= (size_t)CFG_STORE_BATCH_OWNERS)) {
        /* more owners than the list holds: this batch ends here */
        st = store_batch_commit();
        if (st != ST_OK) {
            return st;
        }
    }
    g_batch.member_sp = g_batch.open;
    if (!g_batch.open) {
        st = batch_exec(STORE_BEGIN);
        if (st != ST_OK) {
            return st;
        }
        g_batch.open = true;
    }
    if (!known) {
        g_batch_owners[g_batch.ndone].done = done;
        g_batch.ndone++;
    }
    g_batch.in_member = true;
    if (g_batch.member_sp) {
        st = batch_exec(STORE_BATCH_MEMBER);
    }
    if (st != ST_OK) {
        g_batch.in_member = false;
        if (batch_lost()) {
            batch_end(st);
        }
    }
    return st;
}

st_t store_batch_leave(st_t st)
{
    st_t out = st;

    ASSERT(g_batch.open && g_batch.in_member);
    if (NEVER(!g_batch.open || !g_batch.in_member)) {
        return ST_INVAL;
    }
    if ((out == ST_OK) && g_batch.member_sp && !batch_lost()) {
        out = batch_exec(STORE_BATCH_KEEP);
    }
    if ((out != ST_OK) && !batch_lost()) {
        if (g_batch.member_sp) {
            /* undo this member alone (the savepoint stays after ROLLBACK TO) */
            if (batch_exec(STORE_BATCH_UNDO) == ST_OK) {
                (void)batch_exec(STORE_BATCH_KEEP);
            }
        } else {
            /* the first member is the whole transaction: undone with it */
            (void)batch_exec(STORE_ROLLBACK);
        }
    }
    g_batch.in_member = false;
    if (batch_lost()) {
        /* the transaction is over (sqlite ended it, or the first member
         * failed): every member kept so far is gone */
        if (out == ST_OK) {
            out = ST_IO;
        }
        batch_end(out);
    } else if (out == ST_OK) {
        g_batch.kept++;
    } else {
        /* this member alone failed; the batch goes on */
    }
    return out;
}

st_t store_batch_commit(void)
{
    st_t st;

    if (!g_batch.open) {
        return ST_OK;
    }
    ASSERT(!g_batch.in_member);
    if (NEVER(g_batch.in_member)) {
        (void)store_batch_leave(ST_INVAL);
        if (!g_batch.open) {
            return ST_OK;
        }
    }
    st = batch_exec(STORE_COMMIT);
    if ((st != ST_OK) && !batch_lost()) {
        (void)batch_exec(STORE_ROLLBACK);
    }
    batch_end(st);
    return st;
}

bool store_batch_open(void)
{
    return g_batch.open;
}

st_t store_get_text(sqlite3_stmt *s, strv key, char *buf, size_t cap, size_t *n)
{
    bool row = false;
    st_t st;

    ASSERT((buf != NULL) && (cap > 0u));
    buf[0] = '\0';
    if (n != NULL) {
        *n = 0u;
    }
    st = store_bind_text(s, 1, key);
    if (st == ST_OK) {
        st = store_step(s, &row);
    }
    if ((st == ST_OK) && !row) {
        st = ST_NOTFOUND;
    }
    if ((st == ST_OK) && row) {
        strv v = store_col_text(s, 0);

        if (v.n >= cap) {
            st = ST_TOOBIG;
        } else {
            if (v.n > 0u) {
                (void)memcpy(buf, v.p, v.n);
            }
            buf[v.n] = '\0';
            if (n != NULL) {
                *n = v.n;
            }
        }
    }
    store_done(s);
    return st;
}

st_t store_meta_get(const char *key, char *buf, size_t cap, size_t *n)
{
    ASSERT(key != NULL);
    return store_get_text(store_stmt(STORE_META_GET), strv_from_cstr(key), buf, cap, n);
}

st_t store_meta_set(const char *key, const char *value)
{
    sqlite3_stmt *s = store_stmt(STORE_META_SET);
    st_t st;

    ASSERT((key != NULL) && (value != NULL));
    st = store_bind_text(s, 1, strv_from_cstr(key));
    if (st == ST_OK) {
        st = store_bind_text(s, 2, strv_from_cstr(value));
    }
    if (st == ST_OK) {
        st = store_exec(s);
    }
    store_done(s);
    return st;
}

static void status_pair(int op, uint64_t *cur, uint64_t *high)
{
    sqlite3_int64 c = 0;
    sqlite3_int64 h = 0;

    (void)sqlite3_status64(op, &c, &h, 0);
    if (cur != NULL) {
        *cur = (c > 0) ? (uint64_t)c : 0u;
    }
    if (high != NULL) {
        *high = (h > 0) ? (uint64_t)h : 0u;
    }
}

void store_stats(store_stats_t *out)
{
    int c = 0;
    int h = 0;

    ASSERT(out != NULL);
    (void)memset(out, 0, sizeof *out);
    out->heap_bytes = (uint64_t)sizeof g_heap;
    out->pcache_slots = (uint64_t)CFG_SQLITE_PAGE_CACHE_PAGES;
    out->alloc_failures = g_alloc_failures;
    out->nomem_errors = g_nomem_errors;
    out->db_errors = g_db_errors;
    out->batch_commits = g_batch.commits;
    out->batch_members = g_batch.members;
    status_pair(SQLITE_STATUS_MEMORY_USED, &out->heap_used, &out->heap_high);
    status_pair(SQLITE_STATUS_MALLOC_COUNT, &out->heap_allocs, NULL);
    status_pair(SQLITE_STATUS_MALLOC_SIZE, NULL, &out->largest_request);
    status_pair(SQLITE_STATUS_PAGECACHE_USED, &out->pcache_used, &out->pcache_high);
    status_pair(SQLITE_STATUS_PAGECACHE_OVERFLOW, &out->pcache_overflow,
                &out->pcache_overflow_high);
    if (g_db != NULL) {
        (void)sqlite3_db_status(g_db, SQLITE_DBSTATUS_LOOKASIDE_USED, &c, &h, 0);
        out->lookaside_used = (c > 0) ? (uint64_t)c : 0u;
        out->lookaside_high = (h > 0) ? (uint64_t)h : 0u;
        (void)sqlite3_db_status(g_db, SQLITE_DBSTATUS_LOOKASIDE_MISS_FULL, &c, &h, 0);
        out->lookaside_miss_full = (h > 0) ? (uint64_t)h : 0u;
    }
}
