/* test_store.c - the store: init, migrations, WAL and the exclusive lock,
 * meta, transactions, the turn's batch, constraint and heap-exhaustion
 * answers, stats. Runs in a temp directory. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "core/fault.h"
#include "store/migrations.h"
#include "store/store.h"
#include "t.h"

#include "port.h"

static char g_dir[64];
static char g_path[128];

static void path_in_dir(char *buf, size_t cap, const char *name)
{
    (void)snprintf(buf, cap, "%s/%s", g_dir, name);
}

/* A second, raw connection to the same file (sqlite is configured by then,
 * so this one lives in the store's heap too). */
static long long raw_query_int(const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    long long v = -1;

    if (sqlite3_open_v2(g_path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
        v = sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

static void raw_text(const char *sql, char *buf, size_t cap)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;

    buf[0] = '\0';
    if (sqlite3_open_v2(g_path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
        (void)snprintf(buf, cap, "%s", (const char *)sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
}

static int raw_exec(const char *sql)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(g_path, &db, SQLITE_OPEN_READWRITE, NULL);

    if (rc == SQLITE_OK) {
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    }
    sqlite3_close(db);
    return rc;
}

static void test_init_and_errors(void)
{
    char bad[160];

    T_EQ_INT(store_init(NULL), ST_INVAL);
    T_EQ_INT(store_init(""), ST_INVAL);
    path_in_dir(bad, sizeof bad, "no/such/dir/roost.db");
    T_EQ_INT(store_init(bad), ST_IO);
    T_CHECK(!store_is_open());

    T_EQ_INT(store_init(g_path), ST_OK);
    T_CHECK(store_is_open());
    T_CHECK(access(g_path, F_OK) == 0);
    T_EQ_INT(store_init(g_path), ST_INVAL);   /* already open */
}

/* The store is the only user of its file: while it is open, another
 * connection can neither read nor write it (locking_mode=EXCLUSIVE, the
 * lock taken at open); once closed, the file opens as any other. */
static void test_wal_and_schema(void)
{
    char mode[16];
    char wal[160];

    T_EQ_INT(store_meta_set("probe", "1"), ST_OK);
    path_in_dir(wal, sizeof wal, "roost.db-wal");
    T_CHECK(access(wal, F_OK) == 0);
    T_EQ_INT(raw_exec("SELECT count(*) FROM roost_meta"), SQLITE_BUSY);
    T_EQ_INT(raw_exec("INSERT INTO roost_meta(key, value) VALUES ('other', 'x')"), SQLITE_BUSY);
    store_close();
    raw_text("PRAGMA journal_mode", mode, sizeof mode);
    T_EQ_STR(mode, "wal");
    T_EQ_INT(raw_query_int("PRAGMA user_version"), store_migration_count());
    T_EQ_INT(raw_query_int("SELECT count(*) FROM sqlite_schema WHERE name='api_keys'"), 1);
    T_EQ_INT(raw_query_int("SELECT count(*) FROM roost_meta WHERE key='probe'"), 1);
    /* and the other way round: a file another connection holds is refused */
    {
        sqlite3 *db = NULL;
        T_EQ_INT(sqlite3_open_v2(g_path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        T_EQ_INT(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
        T_EQ_INT(store_init(g_path), ST_AGAIN);
        T_CHECK(!store_is_open());
        (void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close(db);
    }
    T_EQ_INT(store_init(g_path), ST_OK);
}

static void test_meta(void)
{
    char buf[32];
    char small[4];
    size_t n = 99;

    T_EQ_INT(store_meta_get("missing", buf, sizeof buf, &n), ST_NOTFOUND);
    T_EQ_INT(n, 0);
    T_EQ_INT(store_meta_set("instance", "roost-1"), ST_OK);
    T_EQ_INT(store_meta_get("instance", buf, sizeof buf, &n), ST_OK);
    T_EQ_STR(buf, "roost-1");
    T_EQ_INT(n, 7);
    T_EQ_INT(store_meta_set("instance", "roost-2"), ST_OK);   /* upsert */
    T_EQ_INT(store_meta_get("instance", buf, sizeof buf, NULL), ST_OK);
    T_EQ_STR(buf, "roost-2");
    T_EQ_INT(store_meta_set("empty", ""), ST_OK);
    T_EQ_INT(store_meta_get("empty", buf, sizeof buf, &n), ST_OK);
    T_EQ_INT(n, 0);
    T_EQ_STR(buf, "");
    T_EQ_INT(store_meta_get("instance", small, sizeof small, &n), ST_TOOBIG);
    T_EQ_STR(small, "");
}

static void test_transactions(void)
{
    char buf[32];

    T_EQ_INT(store_rollback(), ST_OK);   /* nothing open */
    T_EQ_INT(store_begin(), ST_OK);
    T_EQ_INT(store_meta_set("tx", "gone"), ST_OK);
    T_EQ_INT(store_rollback(), ST_OK);
    T_EQ_INT(store_meta_get("tx", buf, sizeof buf, NULL), ST_NOTFOUND);

    T_EQ_INT(store_begin(), ST_OK);
    T_EQ_INT(store_meta_set("tx", "kept"), ST_OK);
    T_EQ_INT(store_commit(), ST_OK);
    T_EQ_INT(store_meta_get("tx", buf, sizeof buf, NULL), ST_OK);
    T_EQ_STR(buf, "kept");
}

static void test_statements(void)
{
    sqlite3_stmt *s;
    bool row = false;
    int rows = 0;

    s = store_stmt(STORE_APIKEY_INSERT);
    T_EQ_INT(store_bind_text(s, 1, STRV_LIT("ab12")), ST_OK);
    T_EQ_INT(store_bind_text(s, 2, STRV_LIT("2025-01-01T00:00:00Z")), ST_OK);
    T_EQ_INT(store_exec(s), ST_OK);
    T_EQ_INT(store_changes(), 1);
    T_CHECK(store_last_rowid() > 0);

    /* UNIQUE(key_hash) */
    s = store_stmt(STORE_APIKEY_INSERT);
    T_EQ_INT(store_bind_text(s, 1, STRV_LIT("ab12")), ST_OK);
    T_EQ_INT(store_bind_text(s, 2, STRV_LIT("2025-01-01T00:00:01Z")), ST_OK);
    T_EQ_INT(store_exec(s), ST_EXISTS);
    /* NOT NULL(created_at): a NULL bind is a constraint failure too */
    s = store_stmt(STORE_APIKEY_INSERT);
    T_EQ_INT(store_bind_text(s, 1, STRV_LIT("cd34")), ST_OK);
    T_EQ_INT(store_bind_null(s, 2), ST_OK);
    T_EQ_INT(store_exec(s), ST_EXISTS);
    T_EQ_INT(store_bind_int64(s, 9, 1), ST_RANGE);   /* no ?9 */

    s = store_stmt(STORE_APIKEY_COUNT);
    T_EQ_INT(store_step(s, &row), ST_OK);
    T_CHECK(row);
    T_EQ_INT(store_col_int64(s, 0), 1);
    store_done(s);

    s = store_stmt(STORE_APIKEY_LIST);
    while (store_step(s, &row) == ST_OK && row) {
        strv h = store_col_text(s, 1);
        T_EQ_MEM(h.p, h.n, "ab12");
        T_CHECK(!store_col_is_null(s, 0));
        rows++;
    }
    T_EQ_INT(rows, 1);
}

/* The database's own writes go through the port's operations table: a
 * write that fails (ENOSPC, then EIO) fails the statement, nothing half
 * written shows, and the store works again once the disk does. */
static void test_write_faults(void)
{
    char buf[32];
    T_EQ_INT(store_meta_set("fault", "before"), ST_OK);
    T_EQ_INT(port_fault_arm("write", 1u, true, "ENOSPC"), ST_OK);
    T_CHECK(store_meta_set("fault", "during") != ST_OK);
    T_CHECK(port_fault_fired() > 0u);
    T_EQ_INT(port_fault_arm("write", 1u, false, "EIO"), ST_OK);
    T_CHECK(store_meta_set("fault", "during") != ST_OK);
    T_EQ_INT(port_fault_fired(), 1);
    port_fault_disarm();
    T_EQ_INT(store_meta_get("fault", buf, sizeof buf, NULL), ST_OK);
    T_EQ_STR(buf, "before");
    T_EQ_INT(store_meta_set("fault", "after"), ST_OK);
    T_EQ_INT(store_meta_get("fault", buf, sizeof buf, NULL), ST_OK);
    T_EQ_STR(buf, "after");
}

/* A value bigger than the whole sqlite heap: the insert must fail with
 * ST_NOMEM and the store must keep working. */
static char g_big[CFG_SQLITE_HEAP_BYTES + 1024u * 1024u];

static void test_heap_exhaustion(void)
{
    store_stats_t before;
    store_stats_t after;
    char buf[32];

    store_stats(&before);
    memset(g_big, 'x', sizeof g_big - 1u);
    g_big[sizeof g_big - 1u] = '\0';
    T_EQ_INT(store_meta_set("big", g_big), ST_NOMEM);
    store_stats(&after);
    T_CHECK(after.alloc_failures > before.alloc_failures);
    T_CHECK(after.nomem_errors > before.nomem_errors);

    /* inside a transaction too: the caller rolls back, nothing is left */
    T_EQ_INT(store_begin(), ST_OK);
    T_EQ_INT(store_meta_set("small", "ok"), ST_OK);
    T_EQ_INT(store_meta_set("big", g_big), ST_NOMEM);
    T_EQ_INT(store_rollback(), ST_OK);
    T_EQ_INT(store_meta_get("small", buf, sizeof buf, NULL), ST_NOTFOUND);

    T_EQ_INT(store_meta_get("big", buf, sizeof buf, NULL), ST_NOTFOUND);
    T_EQ_INT(store_meta_set("after", "fine"), ST_OK);
    T_EQ_INT(store_meta_get("after", buf, sizeof buf, NULL), ST_OK);
    T_EQ_STR(buf, "fine");
}

/* ---- the turn's batch ---- */

static int g_done_calls;
static st_t g_done_st;

static void batch_done(st_t st)
{
    g_done_calls++;
    g_done_st = st;
}

static st_t meta_set_member(const char *key, const char *value)
{
    st_t st = store_batch_join(batch_done);
    if (st == ST_OK) {
        st = store_batch_leave(store_meta_set(key, value));
    }
    return st;
}

/* APIKEY_INSERT as a member: a duplicate key_hash fails (UNIQUE). */
static st_t key_member(const char *hash)
{
    st_t st = store_batch_join(batch_done);
    if (st == ST_OK) {
        sqlite3_stmt *s = store_stmt(STORE_APIKEY_INSERT);
        st = store_bind_text(s, 1, strv_from_cstr(hash));
        if (st == ST_OK) {
            st = store_bind_text(s, 2, STRV_LIT("2025-01-01T00:00:00Z"));
        }
        if (st == ST_OK) {
            st = store_exec(s);
        }
        st = store_batch_leave(st);
    }
    return st;
}

/* Members share one transaction; a member that fails is undone alone and
 * the others commit; the owner hears once, after the commit. */
static void test_batch_members(void)
{
    char buf[32];
    store_stats_t before;
    store_stats_t after;

    store_stats(&before);
    g_done_calls = 0;
    T_CHECK(!store_batch_open());
    T_EQ_INT(store_batch_commit(), ST_OK);            /* none open: no-op */
    T_EQ_INT(g_done_calls, 0);
    T_EQ_INT(key_member("batch-1"), ST_OK);
    T_CHECK(store_batch_open());
    T_EQ_INT(key_member("batch-2"), ST_OK);
    T_EQ_INT(key_member("batch-1"), ST_EXISTS);       /* fails alone */
    T_EQ_INT(meta_set_member("batch", "kept"), ST_OK);
    T_EQ_INT(g_done_calls, 0);
    T_EQ_INT(store_batch_commit(), ST_OK);
    T_EQ_INT(g_done_calls, 1);
    T_EQ_INT(g_done_st, ST_OK);
    T_CHECK(!store_batch_open());
    T_EQ_INT(store_meta_get("batch", buf, sizeof buf, NULL), ST_OK);
    T_EQ_STR(buf, "kept");
    {
        sqlite3_stmt *s = store_stmt(STORE_APIKEY_COUNT);
        bool row = false;
        T_EQ_INT(store_step(s, &row), ST_OK);
        T_EQ_INT(store_col_int64(s, 0), 3);           /* ab12, batch-1, batch-2 */
        store_done(s);
    }
    store_stats(&after);
    T_EQ_INT(after.batch_commits - before.batch_commits, 1);
    T_EQ_INT(after.batch_members - before.batch_members, 3);
}

/* Anything else that uses the store commits an open batch first: it never
 * runs inside it, and reads only what is committed. */
static void test_batch_settled_by_others(void)
{
    char buf[32];

    g_done_calls = 0;
    T_EQ_INT(meta_set_member("settle", "member"), ST_OK);
    T_EQ_INT(g_done_calls, 0);
    T_EQ_INT(store_meta_get("settle", buf, sizeof buf, NULL), ST_OK);   /* a read */
    T_EQ_INT(g_done_calls, 1);
    T_EQ_INT(g_done_st, ST_OK);
    T_EQ_STR(buf, "member");
    T_EQ_INT(meta_set_member("settle", "again"), ST_OK);
    T_EQ_INT(store_begin(), ST_OK);                   /* another transaction */
    T_EQ_INT(g_done_calls, 2);
    T_EQ_INT(store_meta_set("settle", "theirs"), ST_OK);
    T_EQ_INT(store_rollback(), ST_OK);                /* theirs only */
    T_EQ_INT(store_meta_get("settle", buf, sizeof buf, NULL), ST_OK);
    T_EQ_STR(buf, "again");
    /* a batch open at close is committed */
    T_EQ_INT(meta_set_member("settle", "at close"), ST_OK);
    store_close();
    T_EQ_INT(g_done_calls, 3);
    T_EQ_INT(g_done_st, ST_OK);
    T_EQ_INT(store_init(g_path), ST_OK);
    T_EQ_INT(store_meta_get("settle", buf, sizeof buf, NULL), ST_OK);
    T_EQ_STR(buf, "at close");
}

/* A commit that fails (the disk refuses the WAL write): the owner hears
 * the error, none of the members is there, and the store works after. */
static void test_batch_commit_fails(void)
{
    char buf[32];

    g_done_calls = 0;
    T_EQ_INT(meta_set_member("doomed-1", "x"), ST_OK);
    T_EQ_INT(meta_set_member("doomed-2", "x"), ST_OK);
    T_EQ_INT(port_fault_arm("write", 1u, true, "EIO"), ST_OK);
    T_EQ_INT(store_batch_commit(), ST_IO);
    T_CHECK(port_fault_fired() > 0u);
    port_fault_disarm();
    T_EQ_INT(g_done_calls, 1);
    T_EQ_INT(g_done_st, ST_IO);
    T_CHECK(!store_batch_open());
    T_EQ_INT(store_meta_get("doomed-1", buf, sizeof buf, NULL), ST_NOTFOUND);
    T_EQ_INT(store_meta_get("doomed-2", buf, sizeof buf, NULL), ST_NOTFOUND);
    T_EQ_INT(meta_set_member("survivor", "y"), ST_OK);
    T_EQ_INT(store_batch_commit(), ST_OK);
    T_EQ_INT(g_done_st, ST_OK);
    T_EQ_INT(store_meta_get("survivor", buf, sizeof buf, NULL), ST_OK);
}

static void test_stats(void)
{
    store_stats_t st;

    store_stats(&st);
    T_EQ_INT(st.heap_bytes, CFG_SQLITE_HEAP_BYTES);
    T_EQ_INT(st.pcache_slots, CFG_SQLITE_PAGE_CACHE_PAGES);
    T_CHECK(st.heap_used > 0u);
    T_CHECK(st.heap_high >= st.heap_used);
    T_CHECK(st.heap_high <= st.heap_bytes);
    T_CHECK(st.heap_allocs > 0u);
    T_CHECK(st.pcache_high > 0u);
    T_CHECK(st.pcache_used <= st.pcache_slots);
    T_CHECK(st.largest_request > 0u);
    T_CHECK(st.lookaside_high > 0u);
}

static void test_reopen(void)
{
    char buf[32];
    char wal[160];

    store_close();
    T_CHECK(!store_is_open());
    store_close();   /* no-op */
    path_in_dir(wal, sizeof wal, "roost.db-wal");
    T_CHECK(access(wal, F_OK) != 0);   /* checkpointed and removed on close */

    T_EQ_INT(store_init(g_path), ST_OK);   /* migrations already applied */
    T_EQ_INT(store_meta_get("instance", buf, sizeof buf, NULL), ST_OK);
    T_EQ_STR(buf, "roost-2");
    store_close();
    T_EQ_INT(raw_query_int("PRAGMA user_version"), store_migration_count());
    T_EQ_INT(store_init(g_path), ST_OK);
    T_EQ_INT(store_meta_get("tx", buf, sizeof buf, NULL), ST_OK);
    store_close();
}

static void test_newer_schema(void)
{
    char buf[32];

    T_EQ_INT(raw_exec("PRAGMA user_version=999"), SQLITE_OK);
    T_EQ_INT(store_init(g_path), ST_UNSUPPORTED);
    T_CHECK(!store_is_open());
    {
        char sql[64];
        (void)snprintf(sql, sizeof sql, "PRAGMA user_version=%u", store_migration_count());
        T_EQ_INT(raw_exec(sql), SQLITE_OK);
    }
    T_EQ_INT(store_init(g_path), ST_OK);
    T_EQ_INT(store_meta_get("instance", buf, sizeof buf, NULL), ST_OK);
    store_close();
}

/* Parts handed to store_add: their steps continue the one numbering (the
 * store's own is 1), their statements are prepared and reached through
 * store_stmt_in; a gap or a step defined twice is refused at init. */
static const store_migration k_part_a_steps[] = {
    { 3u, "CREATE TABLE part_a2(x INTEGER);" },
    { 2u, "CREATE TABLE part_a(x INTEGER);" },
};
static const char *const k_part_a_sql[] = {
    "INSERT INTO part_a(x) VALUES (?1)",
    "SELECT count(*) FROM part_a",
};
static store_stmts g_part_a_stmts = { k_part_a_sql, 2u, 0u, false };
static const store_part k_part_a = { "part_a", k_part_a_steps, 2u, &g_part_a_stmts };
static const store_migration k_part_b_steps[] = {
    { 5u, "CREATE TABLE part_b(x INTEGER);" },
};
static const store_part k_part_b = { "part_b", k_part_b_steps, 1u, NULL };
static const store_migration k_part_c_steps[] = {
    { 4u, "CREATE TABLE part_c(x INTEGER);" },
};
static const store_part k_part_c = { "part_c", k_part_c_steps, 1u, NULL };

static void test_parts(void)
{
    sqlite3_stmt *s;
    bool row = false;

    T_EQ_INT(store_add(NULL), ST_INVAL);
    T_EQ_INT(store_add(&k_part_a), ST_OK);
    T_EQ_INT(store_add(&k_part_a), ST_OK);            /* again: no-op */
    T_EQ_INT(store_add(&k_part_b), ST_OK);
    T_EQ_INT((int)store_schema_version(), 5);
    T_EQ_INT(store_init(g_path), ST_INTERNAL);        /* step 4 is missing */
    T_CHECK(!store_is_open());
    T_EQ_INT(store_add(&k_part_c), ST_OK);
    T_EQ_INT(store_init(g_path), ST_OK);
    T_EQ_INT(store_add(&k_part_c), ST_INVAL);         /* the store is open */
    s = store_stmt_in(&g_part_a_stmts, 0u);
    T_EQ_INT(store_bind_int64(s, 1, 7), ST_OK);
    T_EQ_INT(store_exec(s), ST_OK);
    s = store_stmt_in(&g_part_a_stmts, 1u);
    T_EQ_INT(store_step(s, &row), ST_OK);
    T_CHECK(row);
    T_EQ_INT(store_col_int64(s, 0), 1);
    store_done(s);
    store_close();
    T_EQ_INT(raw_query_int("PRAGMA user_version"), 5);
    T_EQ_INT(raw_query_int("SELECT count(*) FROM sqlite_master WHERE name LIKE 'part_%'"), 4);
    T_EQ_INT(store_init(g_path), ST_OK);              /* nothing left to migrate */
    store_close();
    T_EQ_INT(raw_query_int("PRAGMA user_version"), 5);
}

/* An on-demand part (store_stmts.on_demand): its statements take heap only
 * while used, a running one survives requests for others, a finalized one
 * is left alone by store_done, and a prepare that fails gives NULL, which
 * every function takes. */
static const char *const k_part_d_sql[] = {
    "SELECT count(*) FROM part_a",
    "INSERT INTO part_a(x) VALUES (?1)",
};
static store_stmts g_part_d_stmts = { k_part_d_sql, 2u, 0u, true };
static const store_part k_part_d = { "part_d", NULL, 0u, &g_part_d_stmts };

static void test_on_demand_use(void)
{
    store_stats_t idle;
    store_stats_t busy;
    store_stats_t after;
    sqlite3_stmt *s;
    sqlite3_stmt *q;
    bool row = false;
    char buf[16];

    T_EQ_INT(store_add(&k_part_d), ST_OK);
    T_EQ_INT(store_init(g_path), ST_OK);
    store_stats(&idle);
    s = store_stmt_in(&g_part_d_stmts, 1u);
    T_CHECK(s != NULL);
    T_EQ_INT(store_bind_int64(s, 1, 9), ST_OK);
    T_EQ_INT(store_exec(s), ST_OK);
    store_stats(&busy);
    T_CHECK(busy.heap_used > idle.heap_used);         /* prepared while used */
    s = store_stmt_in(&g_part_d_stmts, 0u);           /* the idle INSERT goes */
    T_EQ_INT(store_step(s, &row), ST_OK);
    T_CHECK(row);
    T_EQ_INT(store_col_int64(s, 0), 2);
    /* running: it stays while another statement is asked for */
    T_EQ_INT(store_meta_get("nothing", buf, sizeof buf, NULL), ST_NOTFOUND);
    T_EQ_INT(store_col_int64(s, 0), 2);
    store_done(s);
    store_done(s);                                    /* finalized already: nothing */
    store_stats(&after);
    T_CHECK(after.heap_used <= idle.heap_used);
    /* a prepare that fails */
    T_EQ_INT(fault_arm(FAULT_SQLITE, "sqlite", 1u, true), ST_OK);
    q = store_stmt_in(&g_part_d_stmts, 0u);
    fault_disarm();
    T_CHECK(q == NULL);
    T_EQ_INT(store_bind_int64(q, 1, 1), ST_NOMEM);
    T_EQ_INT(store_bind_text(q, 1, STRV_LIT("x")), ST_NOMEM);
    T_EQ_INT(store_bind_null(q, 1), ST_NOMEM);
    T_EQ_INT(store_step(q, &row), ST_NOMEM);
    T_CHECK(!row);
    T_EQ_INT(store_exec(q), ST_NOMEM);
    store_done(q);
    /* and the next asks prepare again */
    s = store_stmt_in(&g_part_d_stmts, 0u);
    T_EQ_INT(store_step(s, &row), ST_OK);
    T_EQ_INT(store_col_int64(s, 0), 2);
    store_done(s);
    store_close();
}

static void cleanup(void)
{
    static const char *const names[] = { "roost.db", "roost.db-wal", "roost.db-shm" };
    char p[160];
    size_t i;

    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        path_in_dir(p, sizeof p, names[i]);
        (void)unlink(p);
    }
    (void)rmdir(g_dir);
}

int main(void)
{
    (void)snprintf(g_dir, sizeof g_dir, "/tmp/roost-store-XXXXXX");
    if (mkdtemp(g_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    path_in_dir(g_path, sizeof g_path, "roost.db");

    T_RUN(test_init_and_errors);
    T_RUN(test_wal_and_schema);
    T_RUN(test_meta);
    T_RUN(test_transactions);
    T_RUN(test_statements);
    T_RUN(test_heap_exhaustion);
    T_RUN(test_write_faults);
    T_RUN(test_batch_members);
    T_RUN(test_batch_settled_by_others);
    T_RUN(test_batch_commit_fails);
    T_RUN(test_stats);
    T_RUN(test_reopen);
    T_RUN(test_newer_schema);
    T_RUN(test_parts);
    T_RUN(test_on_demand_use);
    cleanup();
    return t_done("store");
}
