/*
 * store.c - the documents family's rows (docs_int.h): a document and its
 * tags stored in one transaction, what a download needs of a row, removal,
 * every id (for the sweep) and existence.
 *
 * A document's tags live twice, kept together by every write: tags_json (the
 * array returned, in order) and one doc_tags row per tag (the list's filter
 * and the counts). tags_json is made from the rows (TAGS_JSON) so that the
 * two cannot disagree.
 */
#include "fam/docs/docs_int.h"

#include <string.h>

#include "core/clock.h"
#include "fam/docs/sql.h"
#include "store/store.h"

/* Insert tags[0..n) for document seq, in order. */
static st_t add_tags(int64_t seq, const strv *tags, size_t n)
{
    st_t st = ST_OK;
    size_t i;
    for (i = 0u; (i < n) && (st == ST_OK); i++) {
        sqlite3_stmt *q = docs_stmt(DOCS_SQL_TAG_ADD);
        st = store_bind_text(q, 1, tags[i]);
        if (st == ST_OK) {
            st = store_bind_int64(q, 2, seq);
        }
        if (st == ST_OK) {
            st = store_bind_int64(q, 3, (int64_t)i);
        }
        if (st == ST_OK) {
            st = store_exec(q);
        }
    }
    if ((st == ST_OK) && (n > 0u)) {
        sqlite3_stmt *q = docs_stmt(DOCS_SQL_TAGS_JSON);
        st = store_bind_int64(q, 1, seq);
        if (st == ST_OK) {
            st = store_exec(q);
        }
    }
    return st;
}

static st_t insert_row(const docs_new *d, const char *now)
{
    static const char k_unknown[] = "unknown";
    sqlite3_stmt *q = docs_stmt(DOCS_SQL_INSERT);
    strv name = (d->filename.n > 0u) ? d->filename : (strv){ k_unknown, sizeof k_unknown - 1u };
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
    if (st == ST_OK) {
        st = store_exec(q);
    }
    return st;
}

st_t docs_store_add(const docs_new *d)
{
    char now[40];
    st_t st;
    (void)clock_format(clock_wall_us(), CLOCK_FMT_NAIVE6, now, sizeof now);
    st = store_begin();
    if (st == ST_OK) {
        st = insert_row(d, now);
    }
    if (st == ST_OK) {
        st = add_tags(store_last_rowid(), d->tags, d->ntags);
    }
    if (st == ST_OK) {
        st = store_commit();
    }
    if (st != ST_OK) {
        (void)store_rollback();
    }
    return st;
}

st_t docs_store_file(const char *id, docs_file *out)
{
    sqlite3_stmt *q = docs_stmt(DOCS_SQL_FILE);
    bool row = false;
    st_t st = store_bind_text(q, 1, strv_from_cstr(id));
    if (st == ST_OK) {
        st = store_step(q, &row);
    }
    if ((st == ST_OK) && !row) {
        st = ST_NOTFOUND;
    }
    if (st == ST_OK) {
        int64_t size = store_col_int64(q, 2);
        (void)store_col_copy(q, 0, out->filename, sizeof out->filename);
        (void)store_col_copy(q, 1, out->content_type, sizeof out->content_type);
        out->size = (size > 0) ? (uint64_t)size : 0u;
        (void)store_col_copy(q, 3, out->sha256, sizeof out->sha256);
    }
    store_done(q);
    return st;
}

st_t docs_store_remove(const char *id)
{
    strv v = strv_from_cstr(id);
    sqlite3_stmt *q;
    st_t st = store_begin();
    if (st == ST_OK) {
        q = docs_stmt(DOCS_SQL_DELETE_TAGS);
        st = store_bind_text(q, 1, v);
        if (st == ST_OK) {
            st = store_exec(q);
        }
    }
    if (st == ST_OK) {
        q = docs_stmt(DOCS_SQL_DELETE);
        st = store_bind_text(q, 1, v);
        if (st == ST_OK) {
            st = store_exec(q);
        }
    }
    if ((st == ST_OK) && (store_changes() == 0u)) {
        st = ST_NOTFOUND;
    }
    if (st == ST_OK) {
        st = store_commit();
    }
    if (st != ST_OK) {
        (void)store_rollback();
    }
    return st;
}

st_t docs_store_each(bool (*fn)(const char *id, void *ctx), void *ctx)
{
    sqlite3_stmt *q = docs_stmt(DOCS_SQL_EACH);
    bool row = true;
    bool more = true;
    st_t st = ST_OK;
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

st_t docs_store_has(const char *id)
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
    store_done(q);
    return st;
}
