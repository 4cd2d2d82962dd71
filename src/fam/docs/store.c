/*
 * store.c - the documents family's rows (docs_int.h): a document and its
 * tags stored in one transaction, what a download needs of a row, removal,
 * every id (for the sweep), existence, and the tag writes PATCH makes.
 *
 * A document's tags live twice, kept together by every write: tags_json (the
 * array returned, in order) and one doc_tags row per tag (the list's filter
 * and the counts). tags_json is made from the rows (TAGS_JSON) so that the
 * two cannot disagree. The statements are few on purpose (stmts.def): GET
 * serves every look-up of one row, LIST every walk.
 */
#include "fam/docs/docs_int.h"

#include <string.h>

#include "core/clock.h"
#include "fam/docs/sql.h"
#include "store/store.h"

/* ---- tags ------------------------------------------------------------------ */

/* Run q, bound with status st, to its end, and let it go. */
static st_t run(sqlite3_stmt *q, st_t st)
{
    st_t r = st;
    if (r == ST_OK) {
        r = store_exec(q);
    }
    store_done(q);
    return r;
}

st_t docs_store_tags_clear(int64_t seq)
{
    sqlite3_stmt *q = docs_stmt(DOCS_SQL_TAGS_OF);
    bool row = true;
    st_t st = store_bind_int64(q, 1, seq);
    while ((st == ST_OK) && row) {
        st = store_step(q, &row);
        if ((st == ST_OK) && row) {
            sqlite3_stmt *down = docs_stmt(DOCS_SQL_COUNT_DOWN);
            st = run(down, store_bind_text(down, 1, store_col_text(q, 0)));
        }
    }
    store_done(q);
    if (st == ST_OK) {
        st = run(docs_stmt(DOCS_SQL_COUNT_PRUNE), ST_OK);
    }
    if (st == ST_OK) {
        q = docs_stmt(DOCS_SQL_TAGS_CLEAR);
        st = run(q, store_bind_int64(q, 1, seq));
    }
    return st;
}

st_t docs_store_tag_add(int64_t seq, strv tag, int64_t pos, bool *added)
{
    sqlite3_stmt *q = docs_stmt(DOCS_SQL_TAG_ADD);
    st_t st = store_bind_text(q, 1, tag);
    *added = false;
    if (st == ST_OK) {
        st = store_bind_int64(q, 2, seq);
    }
    if (st == ST_OK) {
        st = store_bind_int64(q, 3, pos);
    }
    st = run(q, st);
    if (st == ST_OK) {
        *added = (store_changes() > 0u);
    }
    if (*added) {
        q = docs_stmt(DOCS_SQL_COUNT_UP);
        st = run(q, store_bind_text(q, 1, tag));
    }
    return st;
}

st_t docs_store_tags_json(int64_t seq)
{
    sqlite3_stmt *q = docs_stmt(DOCS_SQL_TAGS_JSON);
    return run(q, store_bind_int64(q, 1, seq));
}

/* ---- one document ------------------------------------------------------------ */

static st_t insert_row(const docs_new *d, const char *now)
{
    static const char k_unknown[] = "unknown";
    sqlite3_stmt *q = docs_stmt(DOCS_SQL_INSERT);
    strv name = (d->filename.n > 0u) ? d->filename : (strv){ k_unknown, (sizeof k_unknown) - 1u };
    strv meta = (d->metadata.n > 0u) ? d->metadata : strv_from_cstr("{}");
    st_t st = store_bind_text(q, 1, (strv){ d->id, DOCS_ID_LEN });
    if (st == ST_OK) {
        st = store_bind_text(q, 2, name);
    }
    if (st == ST_OK) {
        st = store_bind_text(q, 3, d->content_type);
    }
    if (st == ST_OK) {
        st = store_bind_int64(q, 4, (int64_t)d->size);
    }
    if (st == ST_OK) {
        st = store_bind_text(q, 5, strv_from_cstr(d->sha256));
    }
    if (st == ST_OK) {
        st = store_bind_text(q, 6, strv_from_cstr(now));
    }
    if (st == ST_OK) {
        st = store_bind_text(q, 7, meta);
    }
    return run(q, st);
}

st_t docs_store_add(const docs_new *d)
{
    char now[40];
    int64_t seq;
    size_t i;
    st_t st;
    (void)clock_format(clock_local_us(clock_wall_us()), CLOCK_FMT_NAIVE6, now, sizeof now);
    st = store_begin();
    if (st == ST_OK) {
        st = insert_row(d, now);
    }
    seq = store_last_rowid();
    for (i = 0u; (i < d->ntags) && (st == ST_OK); i++) {
        bool added = false;
        st = docs_store_tag_add(seq, d->tags[i], (int64_t)i, &added);
    }
    if ((st == ST_OK) && (d->ntags > 0u)) {
        st = docs_store_tags_json(seq);
    }
    if (st == ST_OK) {
        st = store_commit();
    }
    if (st != ST_OK) {
        (void)store_rollback();
    }
    return st;
}

/* Step GET for id: ST_OK with the row current, ST_NOTFOUND, or a storage
 * error; the caller calls store_done in every case. */
static st_t get_row(const char *id, sqlite3_stmt **out)
{
    sqlite3_stmt *q = docs_stmt(DOCS_SQL_GET);
    bool row = false;
    st_t st = store_bind_text(q, 1, strv_from_cstr(id));
    if (st == ST_OK) {
        st = store_step(q, &row);
    }
    if ((st == ST_OK) && !row) {
        st = ST_NOTFOUND;
    }
    *out = q;
    return st;
}

st_t docs_store_seq(const char *id, int64_t *seq)
{
    sqlite3_stmt *q = NULL;
    st_t st = get_row(id, &q);
    if (st == ST_OK) {
        *seq = store_col_int64(q, DOCS_COL_SEQ);
    }
    store_done(q);
    return st;
}

st_t docs_store_has(const char *id)
{
    int64_t seq = 0;
    return docs_store_seq(id, &seq);
}

st_t docs_store_file(const char *id, docs_file *out)
{
    sqlite3_stmt *q = NULL;
    st_t st = get_row(id, &q);
    if (st == ST_OK) {
        int64_t size = store_col_int64(q, 3);
        (void)store_col_copy(q, 1, out->filename, sizeof out->filename);
        (void)store_col_copy(q, 2, out->content_type, sizeof out->content_type);
        out->size = (size > 0) ? (uint64_t)size : 0u;
        (void)store_col_copy(q, DOCS_COL_SHA256, out->sha256, sizeof out->sha256);
    }
    store_done(q);
    return st;
}

st_t docs_store_remove(const char *id)
{
    int64_t seq = 0;
    st_t st = store_begin();
    if (st == ST_OK) {
        st = docs_store_seq(id, &seq);
    }
    if (st == ST_OK) {
        st = docs_store_tags_clear(seq);
    }
    if (st == ST_OK) {
        sqlite3_stmt *q = docs_stmt(DOCS_SQL_DELETE);
        st = run(q, store_bind_int64(q, 1, seq));
    }
    if (st == ST_OK) {
        st = store_commit();
    }
    if (st != ST_OK) {
        (void)store_rollback();
    }
    return st;
}

/* ---- every document ------------------------------------------------------------ */

st_t docs_store_each(bool (*fn)(const char *id, void *ctx), void *ctx)
{
    sqlite3_stmt *q = docs_stmt(DOCS_SQL_LIST);
    bool row = false;
    bool more = true;
    st_t st = store_bind_null(q, 1);
    if (st == ST_OK) {
        st = store_bind_int64(q, 2, -1);
    }
    if (st == ST_OK) {
        st = store_bind_int64(q, 3, 0);
    }
    while (more && (st == ST_OK)) {
        st = store_step(q, &row);
        if ((st == ST_OK) && row) {
            char id[DOCS_ID_LEN + 1u];
            (void)store_col_copy(q, 0, id, sizeof id);
            more = fn(id, ctx);
        } else {
            more = false;
        }
    }
    store_done(q);
    return st;
}
