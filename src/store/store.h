/*
 * store.h - the one sqlite3 database of roost, in its own fixed memory.
 *
 * sqlite runs entirely in static memory owned by this module: a heap of
 * CFG_SQLITE_HEAP_BYTES (memsys5), a page cache of CFG_SQLITE_PAGE_CACHE_PAGES
 * slots, and per-connection lookaside taken from that heap. The system heap
 * is never used (sqlite is built with SQLITE_ZERO_MALLOC, vendor/sqlite3.mk).
 *
 * The store knows no table but its own (roost_meta, api_keys). The rest of
 * the schema and the statements come from parts handed to store_add before
 * store_init (the app hands each family's, from its descriptor): a part is
 * a list of numbered migration steps and a table of statements.
 *
 * store_init opens (or creates) the database in WAL mode with an exclusive
 * lock (below), applies the
 * migration steps the database lacks (its own, store/migrations.c, and every
 * part's) and prepares the statements of store/stmts.def and of every part
 * (a part of a family not built in the profile brings its steps but no
 * statements, so a small profile's heap holds just what its families run
 * while its schema stays the one every profile writes). After that, a
 * request runs only prepared statements:
 *
 *   sqlite3_stmt *s = store_stmt(STORE_META_GET);
 *   st = store_bind_text(s, 1, key);
 *   while (st == ST_OK && (st = store_step(s, &row)) == ST_OK && row) {
 *       strv v = store_col_text(s, 0);  ...
 *   }
 *   store_done(s);
 *
 * Status codes: sqlite result codes are translated here and nowhere else.
 *   ST_NOMEM   the sqlite heap is exhausted (SQLITE_NOMEM)
 *   ST_IO      disk full, I/O error, cannot open the file (FULL, IOERR, CANTOPEN)
 *   ST_EXISTS  a constraint failed: UNIQUE, PRIMARY KEY, FOREIGN KEY, NOT NULL, CHECK
 *   ST_AGAIN   the database is locked by another process (BUSY, LOCKED)
 *   ST_TOOBIG  a string or blob above sqlite's limits (TOOBIG)
 *   ST_PERM    read-only file or not permitted (READONLY, PERM, AUTH)
 *   ST_RANGE   a parameter index that the statement does not have (RANGE)
 *   ST_DB      anything else (a bug or a corrupt file)
 * Every NOMEM, IO, PERM, RANGE and DB failure is logged once, here, with sqlite's
 * message; callers do not log it again. EXISTS and AGAIN are ordinary
 * answers and are not logged.
 *
 * Durability: WAL with synchronous = CFG_SQLITE_SYNCHRONOUS (config.h).
 * With the default NORMAL, a commit that returned ST_OK survives the process
 * being killed (kill -9); an OS crash or power loss can lose the last
 * commits, never the consistency of the file. FULL adds one fsync per commit
 * and survives power loss too.
 *
 * roost is the only user of its database file: the store opens it with
 * locking_mode=EXCLUSIVE (after WAL, so the WAL index stays in its -shm
 * file, not in the heap) and takes the lock at store_init with an empty
 * write transaction. The lock is kept until store_close, so no transaction
 * locks or unlocks anything (no fcntl per transaction), and sqlite's file
 * I/O is pread/pwrite (vendor/sqlite3.mk: no lseek per page). What it means
 * outside: while roostd runs, another process that opens the file (the
 * sqlite3 CLI, a backup script, a second roostd on the same data directory)
 * gets "database is locked" (SQLITE_BUSY) for reads and writes alike; a
 * second roostd fails at start (ST_AGAIN, logged). Stop roostd to look
 * inside, or use the HTTP APIs; after a clean stop (the WAL checkpointed
 * and truncated) or a kill, the file opens normally.
 *
 * The turn's batch: many small writes, one commit. A caller that records
 * many small independent things per loop turn (observability events) runs
 * each as a member: store_batch_join opens the batch's transaction when
 * none is open (BEGIN IMMEDIATE) and a savepoint for the member; the
 * member's statements follow; store_batch_leave keeps it (RELEASE) or
 * undoes it alone (ROLLBACK TO), so one bad member fails alone (the first
 * member of a batch needs no savepoint: it is the whole transaction, which
 * its failure rolls back; the owners hear of that batch's end then). The app's
 * turn hook calls store_batch_commit once per turn (before the streams are
 * fed), which commits and tells every owner how the batch ended through
 * the done callback it joined with: the owner answers its clients (holds
 * released, net/conn.h) and broadcasts only then. Anything else that
 * reaches for a statement (store_stmt, store_stmt_in, store_begin) while a
 * batch is open commits the batch first, so other writers never end up in
 * it and readers never see members not yet committed. When sqlite ends
 * the transaction on its own (NOMEM, IOERR, FULL during a member), the
 * batch is over: every owner is told with the error.
 *
 * Not thread-safe (one thread by design). All functions except store_init,
 * store_stats and store_is_open require an open store (ASSERT).
 */
#ifndef ROOST_STORE_H
#define ROOST_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "core/status.h"
#include "core/strv.h"
#include "sqlite3.h"

/* Page size of the database (SQLITE_DEFAULT_PAGE_SIZE in vendor/sqlite3.mk). */
#define STORE_PAGE_BYTES 4096u
/* Room per page-cache slot for sqlite's page header (checked at init against
 * SQLITE_CONFIG_PCACHE_HDRSZ). */
#define STORE_PCACHE_HDR_BYTES 288u
#define STORE_PCACHE_SLOT_BYTES (STORE_PAGE_BYTES + STORE_PCACHE_HDR_BYTES)
/* Static RAM of this module, for `roostd --budget`. */
#define STORE_HEAP_BYTES (CFG_SQLITE_HEAP_BYTES)
#define STORE_PCACHE_BYTES ((size_t)CFG_SQLITE_PAGE_CACHE_PAGES * STORE_PCACHE_SLOT_BYTES)

typedef enum {
#define STMT(name, sql) STORE_##name,
#include "store/stmts.def"
#undef STMT
    STORE_STMT_COUNT
} store_stmt_id;

/* One migration step: it takes the database from PRAGMA user_version
 * `version - 1` to `version`. Versions are one numbering for the whole
 * database (the store's own step is 1), so a step, once released, keeps its
 * number and its SQL forever; a new step takes the next free number. */
typedef struct {
    uint16_t version;
    const char *sql;                    /* one or more statements */
} store_migration;

/* A table of statements of one part, prepared by store_init. The owner
 * keeps it (not const): store_init writes where its statements start.
 * store_stmt_in(set, i) is statement i of sql[].
 *
 * on_demand: the part's statements are compiled once at init (a bad one
 * still stops the start) but kept prepared only while they are used: a
 * statement is prepared when store_stmt_in asks for it and finalized by
 * store_done, or by the next call that asks for any statement (store_stmt,
 * store_stmt_in, store_batch_join) when it is not running then (stepped
 * and not yet done). So a profile short of sqlite heap (small) pays for
 * the part's statements only while one of its requests runs, at the price
 * of a prepare per use. For such a part, store_stmt_in returns NULL when
 * the prepare fails (logged; every store_* function takes NULL and answers
 * an error or nothing), and a statement must not be used after another
 * was asked for, unless it was running then; store_done it before asking
 * for the next. */
typedef struct {
    const char *const *sql;             /* n statements */
    uint16_t n;
    uint16_t base;                      /* set by store_init */
    bool on_demand;
} store_stmts;

/* What a module hands to the store: its steps and its statements. */
typedef struct {
    const char *owner;                  /* for logs */
    const store_migration *steps;       /* nsteps, any order; may be NULL */
    size_t nsteps;
    store_stmts *stmts;                 /* NULL: none */
} store_part;

/* Hand a part to the store, before store_init (p must stay valid; adding
 * the same part again is a no-op). ST_INVAL: the store is open or p is
 * NULL. ST_FULL: more than CFG_STORE_MAX_PARTS parts. */
st_t store_add(const store_part *p);
/* The schema version this binary writes: the highest step of the store and
 * the parts added. */
unsigned store_schema_version(void);

/* Configure sqlite's memory (first call in the process only), open db_path
 * (created if missing; its directory must exist), set WAL, the exclusive
 * lock, synchronous, foreign keys and cache size, apply migrations, prepare
 * all statements. ST_INVAL: already open or db_path NULL/empty. ST_AGAIN:
 * another process has the file open (logged). ST_UNSUPPORTED: the database
 * has a newer schema than this binary knows (logged). ST_INTERNAL: the
 * steps of the store and its parts are not exactly 1..N, each once, or the
 * statements exceed CFG_STORE_MAX_STMTS (a bug, logged). ST_INTERNAL: sqlite
 * was started before its memory could be configured. Other codes as above.
 * On failure nothing stays open; store_init may be called again. */
st_t store_init(const char *db_path);
/* Commit an open batch, finalize the statements, checkpoint the WAL into
 * the database (TRUNCATE) and close (the file's lock goes with it). No-op
 * when not open. store_init may be called again after. */
void store_close(void);
bool store_is_open(void);

/* The prepared statement id, reset and with its bindings cleared. Valid
 * until the next store_stmt(id) or store_close. */
sqlite3_stmt *store_stmt(store_stmt_id id);
/* Statement i of a part's table, the same way (the part was added before
 * store_init). */
sqlite3_stmt *store_stmt_in(const store_stmts *set, unsigned i);
/* Run one step. *row is true when a row is available (read it with the
 * store_col_* functions), false when the statement is done. On done and on
 * any error the statement is reset; after reading only some rows, call
 * store_done (an unreset SELECT keeps its read transaction open, which holds
 * back WAL checkpoints). */
st_t store_step(sqlite3_stmt *stmt, bool *row);
/* Reset a statement: ends its read transaction. Safe on a reset statement. */
void store_done(sqlite3_stmt *stmt);
/* Run a statement to completion, ignoring rows (INSERT/UPDATE/DELETE). */
st_t store_exec(sqlite3_stmt *stmt);

/* Bind parameter idx (1-based). Text is bound without copying: v's bytes
 * must stay valid until the statement is reset (store_step reaching done,
 * store_done or the next store_stmt). An empty view binds '' (not NULL);
 * STRV_NULL with p == NULL also binds ''. ST_RANGE: bad idx; ST_TOOBIG. */
st_t store_bind_text(sqlite3_stmt *stmt, int idx, strv v);
st_t store_bind_int64(sqlite3_stmt *stmt, int idx, int64_t v);
st_t store_bind_null(sqlite3_stmt *stmt, int idx);

/* Column col (0-based) of the current row. The text view points into
 * sqlite's row buffer and is valid until the next step or reset; SQL NULL
 * (and a conversion that ran out of memory) gives STRV_NULL. */
strv store_col_text(sqlite3_stmt *stmt, int col);
int64_t store_col_int64(sqlite3_stmt *stmt, int col);
bool store_col_is_null(sqlite3_stmt *stmt, int col);
/* Column col as a NUL-terminated string in dst (cap >= 1 bytes), cut to
 * cap - 1 bytes when longer; NULL gives "". Returns the bytes copied. */
size_t store_col_copy(sqlite3_stmt *stmt, int col, char *dst, size_t cap);

/* Rowid of the last successful INSERT, and rows changed by the last
 * INSERT/UPDATE/DELETE. */
int64_t store_last_rowid(void);
uint64_t store_changes(void);

/* A number that changes whenever a write transaction commits (sqlite's
 * commit hook: every INSERT, UPDATE or DELETE that reaches the database,
 * in any table, through any statement; a turn's batch moves it once, at
 * its commit). Equal values mean the database holds what it held: a
 * rendering of rows made at one value may be served again at the same
 * value. */
uint64_t store_generation(void);

/* BEGIN IMMEDIATE / COMMIT (an open batch is committed first, as by any
 * statement). store_rollback is safe when sqlite already rolled back on
 * its own (after NOMEM or IO errors) or no transaction is open. */
st_t store_begin(void);
st_t store_commit(void);
st_t store_rollback(void);

/* ---- the turn's batch (see the top of this file) ----
 * done(st) runs once when the batch ends: ST_OK when it committed, else
 * the error that rolled it back (every member kept is gone). It runs inside
 * whatever call ended the batch (store_batch_commit, a store_stmt of
 * another caller, store_close) and must not use the store. */
typedef void (*store_batch_fn)(st_t st);
/* Start a member: BEGIN IMMEDIATE when no batch is open, then SAVEPOINT.
 * done joins the batch's owners (once per batch; at most
 * CFG_STORE_BATCH_OWNERS, one more commits the batch first). The member's
 * statements follow; then store_batch_leave, always, before anything else
 * uses the store. A batch whose pages no longer fit the static page cache
 * (sqlite took page memory from the heap) is committed first and a new one
 * starts. On an error no member was started (nothing to leave);
 * when sqlite ended the transaction, the owners were told already. */
st_t store_batch_join(store_batch_fn done);
/* End the member: st is how its statements went. ST_OK keeps its writes
 * (RELEASE) and returns ST_OK; any other st undoes them alone (ROLLBACK TO)
 * and is returned. When sqlite ended the whole transaction meanwhile (its
 * error, or ST_IO), every owner's done was called with that error before
 * this returns it. */
st_t store_batch_leave(st_t st);
/* Commit the open batch (no-op, ST_OK, when none is open), then call every
 * owner's done with the outcome (a failed COMMIT is rolled back). The
 * loop's turn hook calls it (app.c); anyone may, to end a batch early. */
st_t store_batch_commit(void);
bool store_batch_open(void);

/* roost_meta: small key/value settings of roost itself.
 * store_meta_get copies the value NUL-terminated into buf (cap bytes, > 0)
 * and sets *n to its length (n may be NULL). ST_NOTFOUND: no such key.
 * ST_TOOBIG: the value needs more than cap - 1 bytes (buf holds ""). */
st_t store_meta_get(const char *key, char *buf, size_t cap, size_t *n);
/* The general form: statement s (from store_stmt or store_stmt_in) takes
 * the key as ?1 and selects one text column; same copy rules and statuses
 * as store_meta_get. */
st_t store_get_text(sqlite3_stmt *s, strv key, char *buf, size_t cap, size_t *n);
st_t store_meta_set(const char *key, const char *value);

typedef struct {
    uint64_t heap_bytes;           /* size of the static heap */
    uint64_t heap_used;            /* bytes handed out now (block sizes) */
    uint64_t heap_high;            /* high-water mark of heap_used */
    uint64_t heap_allocs;          /* allocations outstanding now */
    uint64_t largest_request;      /* largest single request seen, bytes */
    uint64_t alloc_failures;       /* requests the heap could not satisfy */
    uint64_t pcache_slots;         /* slots in the static page cache */
    uint64_t pcache_used;          /* slots in use now */
    uint64_t pcache_high;          /* high-water mark of pcache_used */
    uint64_t pcache_overflow;      /* page bytes taken from the heap now */
    uint64_t pcache_overflow_high; /* high-water mark of pcache_overflow */
    uint64_t lookaside_used;       /* lookaside slots in use now (0 if closed) */
    uint64_t lookaside_high;
    uint64_t lookaside_miss_full;  /* allocations that found lookaside full */
    uint64_t nomem_errors;         /* ST_NOMEM answers given */
    uint64_t db_errors;            /* ST_IO, ST_PERM and ST_DB answers given */
    uint64_t batch_commits;        /* turn's batches committed */
    uint64_t batch_members;        /* members kept in them */
} store_stats_t;

/* Fill *out; works whether the store is open or not. */
void store_stats(store_stats_t *out);

#endif
