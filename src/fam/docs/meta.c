/*
 * meta.c - everything of the documents family but the bytes
 * (spec/documents.md §2.1, §3.3-§3.5, §3.7, §3.8): the DocumentResponse
 * writer, GET /documents, GET /documents/tags, GET /documents/{id}/metadata,
 * PATCH and DELETE /documents/{id}.
 *
 * Implementation notes:
 * - A DocumentResponse is written from its row: tags_json and metadata_json
 *   verbatim, url from documents.public_url (its trailing slashes dropped).
 *   docs_answer_doc renders through hctx_render, so an answer larger than
 *   tx (metadata of up to 64 KiB) goes out in windows on a ROUTE_BIG_OUT
 *   route, each rendered again from the store.
 * - GET /documents is a list of any length (fam/shared/list.h): the query
 *   restarts at the next row for each part, so its filter travels in the
 *   list's context (FAM_LIST_CTX_BYTES): the filename substring and the
 *   tags as ",a,b," (no tag of a filter holds a comma: the value was split
 *   on them), with the count of distinct tags. A document matches when its
 *   doc_tags rows found in that text number that count. The walk follows
 *   the rows of the rarest of the first LIST_COUNTED tags (counted first;
 *   a tag no document has answers [] at once), so its cost follows the
 *   matches, not the number of documents. A filter too long for the
 *   context is answered as a rendered body instead (the route is
 *   ROUTE_BIG_OUT: its windows are rendered again by this handler), which
 *   holds at most CFG_RENDER_BYTES less the filter (beyond: the family's
 *   500, logged); its filter is decoded into the far end of the scratch,
 *   so the family keeps no buffer of its own for it.
 * - Query strings are decoded as Starlette does (unquote_plus: '+' is a
 *   space, a malformed %-escape stays as it is); items and PATCH tags are
 *   trimmed of what Python's str.strip() removes.
 * - PATCH validates in pydantic's order (422 for types), then 404, then the
 *   tag and description rules (400), then writes in one transaction: the
 *   description through json_set / json_remove on metadata_json (its JSON
 *   literal bound as it came, so it is never decoded here), the tags as
 *   doc_tags rows (INSERT OR IGNORE drops a duplicate, the first kept) and
 *   tags_json made from them. More than 50 distinct tags is found there,
 *   and rolled back. Only ASCII letters are lower-cased: any other letter
 *   fails the pattern whatever its case (its text in the message keeps its
 *   case). A tag whose text is longer than TAG_DECODE_BYTES is "too long"
 *   even when trimming would have made it short.
 * - Timestamps are roost's clock in naive local time (clock_local_us).
 */
#include "fam/docs/docs_int.h"

#include <string.h>

#include "core/assert.h"
#include "core/clock.h"
#include "core/log.h"
#include "fam/docs/docs.h"
#include "fam/docs/sql.h"
#include "fam/shared/fam.h"
#include "fam/shared/fapi.h"
#include "json/read.h"
#include "json/write.h"
#include "port.h"
#include "store/store.h"

#define LIST_LIMIT_DEFAULT 100
#define LIST_LIMIT_MAX 1000
#define LIST_COUNTED 8u           /* tags counted to pick the rarest */

#define TAG_MAX_CHARS 64u
#define TAGS_MAX 50
#define DESCRIPTION_MAX_CHARS 10000u
#define TAG_DECODE_BYTES 1024u

/* ---- common ------------------------------------------------------------------ */

static void not_found(hctx *h)
{
    fam_json_send(h, 404, "{\"detail\":\"Document not found\"}");
}

static void internal(hctx *h, const char *what, st_t st)
{
    LOG_E("docs", "%s: %s", what, status_str(st));
    fam_fastapi_error(h, 500, "INTERNAL_ERROR", "Internal Server Error");
}

/* Append s[0..n) at *len in buf (cap); false when it does not fit. */
static bool put(char *buf, size_t cap, size_t *len, const char *s, size_t n)
{
    bool ok = (n <= cap) && (*len <= (cap - n));
    if (ok) {
        (void)memcpy(buf + *len, s, n);
        *len += n;
    }
    return ok;
}

/* The document id of the path, NUL-terminated in out; false when it is not
 * one (^doc_[0-9a-f]{24}$). */
static bool path_id(const hctx *h, char out[DOCS_ID_LEN + 1u])
{
    strv id = hctx_param(h, 0u);
    bool ok = docs_id_valid(id);
    if (ok) {
        (void)memcpy(out, id.p, DOCS_ID_LEN);
        out[DOCS_ID_LEN] = '\0';
    }
    return ok;
}

/* ---- DocumentResponse (§2.1) ------------------------------------------------------ */

static void put_url(json_w *w, strv id)
{
    static const char k_path[] = "/documents/";
    char buf[(size_t)CFG_CONF_VALUE_BYTES + (sizeof k_path) + DOCS_ID_LEN];
    const char *base = docs_public_url();
    size_t n = strlen(base);
    size_t len = 0u;
    while ((n > 0u) && (base[n - 1u] == '/')) {
        n--;
    }
    if (put(buf, sizeof buf, &len, base, n) && put(buf, sizeof buf, &len, k_path, (sizeof k_path) - 1u) &&
        put(buf, sizeof buf, &len, id.p, id.n)) {
        json_w_kstrn(w, "url", buf, len);
    } else {
        json_w_kstr(w, "url", NULL);   /* cannot happen: both are bounded */
    }
}

/* The DocumentResponse of the current row of q (columns as stmts.def says). */
static void doc_row(sqlite3_stmt *q, json_w *w)
{
    json_w_obj_begin(w);
    fam_kcol_str(w, "id", q, 0);
    fam_kcol_str(w, "filename", q, 1);
    fam_kcol_str(w, "content_type", q, 2);
    fam_kcol_int(w, "size_bytes", q, 3);
    fam_kcol_str(w, "created_at", q, 4);
    fam_kcol_str(w, "updated_at", q, 5);
    fam_kcol_raw(w, "tags", q, 6);
    fam_kcol_raw(w, "metadata", q, 7);
    put_url(w, store_col_text(q, 0));
    json_w_obj_end(w);
}

typedef struct {
    int status;
    char id[DOCS_ID_LEN + 1u];
} docs_answer;

/* One pass of docs_answer_doc: the row as stored now. */
static void answer_pass(hctx *h, const void *state)
{
    const docs_answer *a = (const docs_answer *)state;
    sqlite3_stmt *q = docs_stmt(DOCS_SQL_GET);
    bool row = false;
    json_w w;
    st_t st = store_bind_text(q, 1, strv_from_cstr(a->id));
    if (st == ST_OK) {
        st = store_step(q, &row);
    }
    if ((st == ST_OK) && row) {
        fam_json_begin(h, a->status, &w);
        doc_row(q, &w);
        store_done(q);
        fam_json_end(h, &w);
    } else {
        store_done(q);
        if (st == ST_OK) {
            not_found(h);
        } else {
            internal(h, "document", st);
        }
    }
}

void docs_answer_doc(hctx *h, int status, const char *id)
{
    docs_answer a;
    size_t n = strlen(id);
    (void)memset(&a, 0, sizeof a);
    a.status = status;
    if (n > DOCS_ID_LEN) {
        n = DOCS_ID_LEN;
    }
    (void)memcpy(a.id, id, n);
    hctx_render(h, answer_pass, &a, sizeof a);
}

/* ---- GET /documents/{id}/metadata (§3.5) ---------------------------------------- */

void docs_metadata(hctx *h)
{
    char id[DOCS_ID_LEN + 1u];
    if (!path_id(h, id)) {
        not_found(h);
    } else {
        docs_answer_doc(h, 200, id);
    }
}

/* ---- text: Python's whitespace, query decoding ---------------------------------- */

/* What Python's str.isspace() (and so str.strip()) takes for whitespace. */
static bool py_space(unsigned long cp)
{
    return ((cp >= 0x09u) && (cp <= 0x0Du)) || ((cp >= 0x1Cu) && (cp <= 0x20u)) ||
           (cp == 0x85u) || (cp == 0xA0u) || (cp == 0x1680u) ||
           ((cp >= 0x2000u) && (cp <= 0x200Au)) || (cp == 0x2028u) || (cp == 0x2029u) ||
           (cp == 0x202Fu) || (cp == 0x205Fu) || (cp == 0x3000u);
}

/* The code point that starts at s[0] (well-formed UTF-8 assumed; a stray
 * byte reads as itself) and its length. */
static unsigned long cp_at(const unsigned char *s, size_t avail, size_t *len)
{
    unsigned long cp = s[0];
    size_t need = 0u;
    size_t i;
    if ((cp & 0xE0u) == 0xC0u) {
        need = 1u;
        cp &= 0x1Fu;
    } else if ((cp & 0xF0u) == 0xE0u) {
        need = 2u;
        cp &= 0x0Fu;
    } else if ((cp & 0xF8u) == 0xF0u) {
        need = 3u;
        cp &= 0x07u;
    } else {
        /* ASCII or a stray byte */
    }
    if (need >= avail) {
        need = 0u;
        cp = s[0];
    }
    for (i = 1u; i <= need; i++) {
        cp = (cp << 6) | (unsigned long)(s[i] & 0x3Fu);
    }
    *len = need + 1u;
    return cp;
}

/* s without the leading and trailing whitespace of str.strip(). */
static strv py_strip(strv s)
{
    const unsigned char *p = (const unsigned char *)s.p;
    size_t a = 0u;
    size_t b = s.n;
    bool more = true;
    while (more && (a < b)) {
        size_t len = 0u;
        unsigned long cp = cp_at(p + a, b - a, &len);
        more = py_space(cp);
        if (more) {
            a += len;
        }
    }
    more = true;
    while (more && (b > a)) {
        size_t start = b - 1u;
        size_t len = 0u;
        unsigned long cp;
        while ((start > a) && ((p[start] & 0xC0u) == 0x80u)) {
            start--;
        }
        cp = cp_at(p + start, b - start, &len);
        more = py_space(cp) && ((start + len) == b);
        if (more) {
            b = start;
        }
    }
    return (strv){ s.p + a, b - a };
}

static strv query_raw(const hctx *h, const char *name)
{
    return (h->req != NULL) ? http_query_get(h->req->query, name) : STRV_NULL;
}

/* Query parameter `name` decoded as urllib's unquote_plus ('+' a space, a
 * %-escape that is not one kept as it is) into dst[0..cap); false when
 * absent. The decoded text is never longer than the raw one. */
static bool query_text(const hctx *h, const char *name, char *dst, size_t cap, strv *out)
{
    strv raw = query_raw(h, name);
    size_t i = 0u;
    size_t n = 0u;
    if (raw.p == NULL) {
        return false;
    }
    while ((i < raw.n) && (n < cap)) {
        char c = raw.p[i];
        int hi = ((c == '%') && ((i + 2u) < raw.n))
                     ? strv_hex_digit((unsigned char)raw.p[i + 1u]) : -1;
        int lo = (hi >= 0) ? strv_hex_digit((unsigned char)raw.p[i + 2u]) : -1;
        if (lo >= 0) {
            dst[n] = (char)((hi * 16) + lo);
            i += 3u;
        } else {
            dst[n] = (c == '+') ? ' ' : c;
            i++;
        }
        n++;
    }
    *out = (strv){ dst, n };
    return true;
}

/* ---- GET /documents (§3.3) ------------------------------------------------------ */

/* What a list filters on. name.p NULL: any filename; ntags 0: any tags.
 * tags is ",a,b," (distinct, trimmed, non-empty); first one of them, the
 * rows walked. */
typedef struct {
    strv name;
    strv first;
    strv tags;
    int64_t ntags;
} docs_filter;

/* The filter as the list context holds it (copied with the list; the
 * views of docs_filter are rebuilt from it at each part). */
#define LIST_TEXT_BYTES (FAM_LIST_CTX_BYTES - 32u)
typedef struct {
    int64_t limit;
    int64_t offset;
    int64_t ntags;
    uint16_t name_len;           /* 0xFFFF: no filename filter */
    uint16_t first_off;
    uint16_t first_len;
    uint16_t tags_len;
    char text[LIST_TEXT_BYTES];  /* name, then tags */
} docs_lctx;

_Static_assert(sizeof(docs_lctx) <= FAM_LIST_CTX_BYTES, "a list's context");

#define NO_NAME 0xFFFFu

static st_t bind_text_or_null(sqlite3_stmt *q, int idx, strv v)
{
    return (v.p == NULL) ? store_bind_null(q, idx) : store_bind_text(q, idx, v);
}

/* The list's statement for f, bound for limit rows from offset; NULL on
 * an error (logged by the store). */
static sqlite3_stmt *list_bind(const docs_filter *f, int64_t limit, int64_t offset)
{
    sqlite3_stmt *q;
    st_t st;
    if (f->ntags == 0) {
        q = docs_stmt(DOCS_SQL_LIST);
        st = bind_text_or_null(q, 1, f->name);
        if (st == ST_OK) {
            st = store_bind_int64(q, 2, limit);
        }
        if (st == ST_OK) {
            st = store_bind_int64(q, 3, offset);
        }
    } else {
        q = docs_stmt(DOCS_SQL_LIST_TAGGED);
        st = store_bind_text(q, 1, f->first);
        if (st == ST_OK) {
            st = bind_text_or_null(q, 2, f->name);
        }
        if (st == ST_OK) {
            st = store_bind_text(q, 3, f->tags);
        }
        if (st == ST_OK) {
            st = store_bind_int64(q, 4, limit);
        }
        if (st == ST_OK) {
            st = store_bind_int64(q, 5, offset);
        }
        if (st == ST_OK) {
            st = store_bind_int64(q, 6, f->ntags);
        }
    }
    if (st != ST_OK) {
        store_done(q);
        q = NULL;
    }
    return q;
}

static sqlite3_stmt *list_query(const void *ctx, int64_t sent)
{
    const docs_lctx *c = (const docs_lctx *)ctx;
    docs_filter f;
    size_t tags_at = (c->name_len == NO_NAME) ? 0u : (size_t)c->name_len;
    int64_t offset = ((INT64_MAX - c->offset) < sent) ? INT64_MAX : (c->offset + sent);
    f.name = (c->name_len == NO_NAME) ? STRV_NULL : (strv){ c->text, c->name_len };
    f.tags = (strv){ c->text + tags_at, c->tags_len };
    f.first = (strv){ c->text + tags_at + c->first_off, c->first_len };
    f.ntags = c->ntags;
    return list_bind(&f, c->limit - sent, offset);
}

/* Is ",tag," in list[0..len)? */
static bool list_has(const char *list, size_t len, strv tag)
{
    size_t i;
    bool found = false;
    for (i = 0u; !found && ((i + tag.n + 2u) <= len); i++) {
        found = (list[i] == ',') && (list[i + tag.n + 1u] == ',') &&
                (memcmp(list + i + 1u, tag.p, tag.n) == 0);
    }
    return found;
}

/* The tags text at t + 1 (len bytes) rewritten in place from t as
 * ",a,b,": items split on ',', stripped, empty ones and duplicates
 * dropped. t[0] and t[len + 1] are the caller's spare bytes (an item never
 * grows, so the rewrite stays behind what it reads). Returns the length, 0
 * when no tag is left; *n the distinct tags. */
static size_t tags_compact(char *t, size_t len, int64_t *n)
{
    size_t out = 1u;
    size_t i = 1u;
    size_t end = len + 1u;
    *n = 0;
    t[0] = ',';
    while (i <= end) {
        size_t j = i;
        strv item;
        while ((j < end) && (t[j] != ',')) {
            j++;
        }
        item = py_strip((strv){ t + i, j - i });
        if ((item.n > 0u) && !list_has(t, out, item)) {
            (void)memmove(t + out, item.p, item.n);
            out += item.n;
            t[out] = ',';
            out++;
            (*n)++;
        }
        i = j + 1u;
    }
    return (*n > 0) ? out : 0u;
}

/* Documents carrying tag (-1 on an error). */
static int64_t tag_count(strv tag)
{
    sqlite3_stmt *q = docs_stmt(DOCS_SQL_TAG_COUNT);
    bool row = false;
    int64_t n = -1;
    if ((store_bind_text(q, 1, tag) == ST_OK) && (store_step(q, &row) == ST_OK)) {
        n = row ? store_col_int64(q, 0) : 0;
    }
    store_done(q);
    return n;
}

/* Pick f->first: the rarest of the first LIST_COUNTED tags. ST_NOTFOUND
 * when one of them has no document (the list is empty). */
static st_t pick_first(docs_filter *f)
{
    size_t i = 1u;
    size_t counted = 0u;
    int64_t best = -1;
    st_t st = ST_OK;
    while ((st == ST_OK) && (i < f->tags.n) && (counted < LIST_COUNTED)) {
        size_t j = i;
        int64_t n;
        strv tag;
        char ch = f->tags.p[j];
        while (ch != ',') {
            j++;
            ch = f->tags.p[j];
        }
        tag = (strv){ f->tags.p + i, j - i };
        n = tag_count(tag);
        if (n < 0) {
            st = ST_DB;
        } else if (n == 0) {
            st = ST_NOTFOUND;
        } else if ((best < 0) || (n < best)) {
            best = n;
            f->first = tag;
        } else {
            /* not rarer */
        }
        counted++;
        i = j + 1u;
    }
    return st;
}

/* limit and offset of the request; false when it answered (422). */
static bool list_limits(hctx *h, int64_t *limit, int64_t *offset)
{
    fapi_errs e;
    fapi_errs_init(&e, h);
    (void)fapi_query_int(h, &e, "limit", 0, LIST_LIMIT_MAX, LIST_LIMIT_DEFAULT, limit);
    (void)fapi_query_int(h, &e, "offset", 0, INT64_MAX, 0, offset);
    return !fapi_errs_end(&e);
}

/* What the filter takes decoded, at most (decoding never grows a value),
 * with tags_compact's two spare bytes. */
static size_t filter_bytes(const hctx *h)
{
    return query_raw(h, "filename").n + query_raw(h, "tags").n + 2u;
}

/* The filter of the request, decoded into buf (cap >= filter_bytes). */
static void filter_parse(const hctx *h, docs_filter *f, char *buf, size_t cap)
{
    size_t used = 0u;
    strv v;
    (void)memset(f, 0, sizeof *f);
    if (query_text(h, "filename", buf, cap, &v) && (v.n > 0u)) {
        f->name = v;      /* "" filters nothing, as upstream's `if filename:` */
        used = v.n;
    }
    /* the tags between two spare bytes (tags_compact's) */
    if (((used + 2u) <= cap) &&
        query_text(h, "tags", buf + used + 1u, cap - used - 2u, &v)) {
        size_t n = tags_compact(buf + used, v.n, &f->ntags);
        f->tags = (strv){ buf + used, n };
    }
}

/* The list rendered whole, for a filter too long for a list context: on
 * this ROUTE_BIG_OUT route its windows are rendered again by the handler.
 * The filter is decoded at the far end of the body's room (the render
 * scratch), the answer written before it. */
static void list_render(hctx *h, int64_t limit, int64_t offset)
{
    size_t need = filter_bytes(h);
    size_t room = 0u;
    bool row = false;
    sqlite3_stmt *q = NULL;
    docs_filter f;
    json_w w;
    char *p;
    st_t st = ST_OK;
    hctx_begin(h, 200);
    hctx_header(h, "Content-Type", "application/json");
    p = hctx_body(h, &room);
    if (NEVER((p == NULL) || (need >= room))) {
        h->resp.overflow = true;   /* the family's 500 */
        hctx_end(h);
        return;
    }
    filter_parse(h, &f, p + (room - need), need);
    if (f.ntags > 0) {
        st = pick_first(&f);
    }
    json_w_init(&w, p, room - need);
    json_w_arr_begin(&w);
    if (st == ST_OK) {
        q = list_bind(&f, limit, offset);
        row = (q != NULL);
        st = row ? ST_OK : ST_DB;
    }
    while (row) {
        st = store_step(q, &row);
        if ((st == ST_OK) && row) {
            doc_row(q, &w);
        } else {
            row = false;
        }
    }
    store_done(q);
    json_w_arr_end(&w);
    if ((st != ST_OK) && (st != ST_NOTFOUND)) {
        h->resp.overflow = true;   /* the family's 500 */
    } else if (json_w_status(&w) != ST_OK) {
        LOG_W("docs", "a list with a long filter is larger than the render scratch");
    } else {
        /* whole (a tag no document has: []) */
    }
    fam_json_end(h, &w);
}

/* The list context of f (its text fits: the caller checked filter_bytes). */
static bool list_ctx_fill(docs_lctx *c, const docs_filter *f, int64_t limit, int64_t offset,
                          size_t *len)
{
    size_t used = 0u;
    size_t head = offsetof(docs_lctx, text);
    bool ok = true;
    (void)memset(c, 0, sizeof *c);
    c->limit = limit;
    c->offset = offset;
    c->ntags = f->ntags;
    c->name_len = NO_NAME;
    if (f->name.p != NULL) {
        ok = (f->name.n < NO_NAME) && put(c->text, sizeof c->text, &used, f->name.p, f->name.n);
        c->name_len = (uint16_t)f->name.n;
    }
    if (ok && (f->ntags > 0)) {
        ptrdiff_t at = f->first.p - f->tags.p;
        ok = put(c->text, sizeof c->text, &used, f->tags.p, f->tags.n);
        c->tags_len = (uint16_t)f->tags.n;
        c->first_off = (uint16_t)at;
        c->first_len = (uint16_t)f->first.n;
    }
    *len = head + used;
    return ok;
}

void docs_list(hctx *h)
{
    char text[LIST_TEXT_BYTES];
    docs_filter f;
    docs_lctx c;
    size_t len = 0u;
    int64_t limit = 0;
    int64_t offset = 0;
    st_t st = ST_OK;
    if (!list_limits(h, &limit, &offset)) {
        return;
    }
    if (filter_bytes(h) > sizeof text) {
        list_render(h, limit, offset);
        return;
    }
    filter_parse(h, &f, text, sizeof text);
    if (f.ntags > 0) {
        st = pick_first(&f);
    }
    if (st == ST_NOTFOUND) {
        fam_json_send(h, 200, "[]");
    } else if (st != ST_OK) {
        internal(h, "documents list", st);
    } else if (ALWAYS(list_ctx_fill(&c, &f, limit, offset, &len))) {
        fapi_list_stream(h, "[", "]", list_query, doc_row, &c, len);
    } else {
        list_render(h, limit, offset);
    }
}

/* ---- GET /documents/tags (§3.4) ----------------------------------------------- */

static sqlite3_stmt *tags_query(const void *ctx, int64_t sent)
{
    sqlite3_stmt *q = docs_stmt(DOCS_SQL_TAG_COUNTS);
    (void)ctx;
    if (store_bind_int64(q, 1, sent) != ST_OK) {
        store_done(q);
        q = NULL;
    }
    return q;
}

static void tag_row(sqlite3_stmt *q, json_w *w)
{
    json_w_obj_begin(w);
    fam_kcol_str(w, "name", q, 0);
    fam_kcol_int(w, "count", q, 1);
    json_w_obj_end(w);
}

void docs_tags(hctx *h)
{
    int none = 0;
    fapi_list_stream(h, "{\"tags\":[", "]}", tags_query, tag_row, &none, sizeof none);
}

/* ---- PATCH /documents/{id} (§3.7) ---------------------------------------------- */

typedef enum { TAG_OK, TAG_LONG, TAG_BAD } docs_tag_verdict;

/* Is t ^[a-z0-9][a-z0-9-]*$ ? */
static bool tag_pattern(strv t)
{
    size_t i;
    char first = '-';               /* empty: not a tag */
    bool ok;
    if (t.n > 0u) {
        first = t.p[0];
    }
    ok = (first != '-');
    for (i = 0u; ok && (i < t.n); i++) {
        char c = t.p[i];
        ok = ((c >= 'a') && (c <= 'z')) || ((c >= '0') && (c <= '9')) || (c == '-');
    }
    return ok;
}

/* Item tok of the tags array: stripped and lower-cased (ASCII) into buf
 * (TAG_DECODE_BYTES), *out its view; then judged: longer than
 * TAG_MAX_CHARS, not the pattern, or good. */
static docs_tag_verdict tag_norm(const json_doc *d, int tok, char *buf, strv *out)
{
    size_t n = 0u;
    size_t i;
    strv t;
    *out = STRV_NULL;
    if (json_get_mem(d, tok, buf, TAG_DECODE_BYTES, &n) != ST_OK) {
        return TAG_LONG;
    }
    t = py_strip((strv){ buf, n });
    for (i = 0u; i < t.n; i++) {
        char c = t.p[i];
        if ((c >= 'A') && (c <= 'Z')) {
            /* cppcheck-suppress misra-c2012-10.8 ; false positive: char plus an offset is char */
            buf[(size_t)(t.p - buf) + i] = (char)(c + ('a' - 'A'));
        }
    }
    *out = t;
    if (fapi_chars(t.p, t.n) > TAG_MAX_CHARS) {
        return TAG_LONG;
    }
    return tag_pattern(t) ? TAG_OK : TAG_BAD;
}

/* Characters of the string a JSON string literal (quotes included, valid)
 * stands for: an escape is one (a surrogate pair one), UTF-8 one per lead
 * byte. */
static size_t literal_chars(strv lit)
{
    size_t i = 1u;
    size_t k = 0u;
    size_t end = (lit.n > 0u) ? (lit.n - 1u) : 0u;
    while (i < end) {
        unsigned char c = (unsigned char)lit.p[i];
        if (c == (unsigned char)'\\') {
            /* an escape: \uD800-\uDBFF starts a pair of two (the parser
             * let no half alone through) */
            char kind = lit.p[i + 1u];
            bool pair = false;
            if ((kind == 'u') && ((i + 11u) < lit.n)) {
                char d0 = lit.p[i + 2u];
                int d1 = strv_hex_digit((unsigned char)lit.p[i + 3u]);
                pair = ((d0 == 'd') || (d0 == 'D')) && (d1 >= 8) && (d1 <= 11);
            }
            if (kind != 'u') {
                i += 2u;
            } else if (pair) {
                i += 12u;
            } else {
                i += 6u;
            }
            k++;
        } else {
            if ((c & 0xC0u) != 0x80u) {
                k++;
            }
            i++;
        }
    }
    return k;
}

/* A 400 {"detail": a + b + c}. */
static void bad_request(hctx *h, const char *a, strv b, const char *c)
{
    char msg[(TAG_MAX_CHARS * 4u) + 128u];
    size_t len = 0u;
    (void)put(msg, (sizeof msg) - 1u, &len, a, strlen(a));
    (void)put(msg, (sizeof msg) - 1u, &len, b.p, b.n);
    (void)put(msg, (sizeof msg) - 1u, &len, c, strlen(c));
    msg[len] = '\0';
    fam_fastapi_error(h, 400, "BAD_REQUEST", msg);
}

/* The tags rules, in item order (§3.7); false when answered 400. */
static bool tags_valid(hctx *h, const json_doc *d, int arr)
{
    char buf[TAG_DECODE_BYTES];
    json_iter it = JSON_ITER_INIT;
    int v = -1;
    bool ok = true;
    while (ok && json_arr_next(d, arr, &it, &v)) {
        strv t;
        docs_tag_verdict verdict = tag_norm(d, v, buf, &t);
        if (verdict == TAG_LONG) {
            fam_fastapi_error(h, 400, "BAD_REQUEST", "Tag too long: at most 64 characters");
            ok = false;
        } else if (verdict == TAG_BAD) {
            bad_request(h, "Invalid tag '", t, "': tags must match ^[a-z0-9][a-z0-9-]*$");
            ok = false;
        } else {
            /* good */
        }
    }
    return ok;
}

/* The document's tags replaced by the items of arr (valid), in order,
 * duplicates dropped; ST_FULL when more than TAGS_MAX remain. */
static st_t tags_write(const json_doc *d, int arr, int64_t seq)
{
    char buf[TAG_DECODE_BYTES];
    json_iter it = JSON_ITER_INIT;
    int v = -1;
    int64_t pos = 0;
    int64_t kept = 0;
    st_t st = docs_store_tags_clear(seq);
    while ((st == ST_OK) && json_arr_next(d, arr, &it, &v)) {
        strv t;
        bool added = false;
        (void)tag_norm(d, v, buf, &t);
        st = docs_store_tag_add(seq, t, pos, &added);
        pos++;
        kept += added ? 1 : 0;
    }
    if ((st == ST_OK) && (kept > TAGS_MAX)) {
        st = ST_FULL;
    }
    if (st == ST_OK) {
        st = docs_store_tags_json(seq);
    }
    return st;
}

/* updated_at, metadata.description (desc: its JSON literal, STRV_NULL to
 * keep it, "" to remove it) and the tags (arr < 0: kept). */
static st_t patch_write(hctx *h, const json_doc *d, int64_t seq, int arr, strv desc)
{
    char now[40];
    sqlite3_stmt *q = docs_stmt(DOCS_SQL_PATCH);
    int64_t mode = 2;              /* set it */
    st_t st;
    if (desc.p == NULL) {
        mode = 0;                  /* keep it */
    } else if (desc.n == 2u) {
        mode = 1;                  /* "": remove it */
    } else {
        /* set */
    }
    (void)clock_format(clock_local_us(hctx_wall_us(h)), CLOCK_FMT_NAIVE6, now, sizeof now);
    st = store_bind_int64(q, 1, seq);
    if (st == ST_OK) {
        st = store_bind_text(q, 2, strv_from_cstr(now));
    }
    if (st == ST_OK) {
        st = store_bind_int64(q, 3, mode);
    }
    if ((st == ST_OK) && (mode == 2)) {
        st = store_bind_text(q, 4, desc);
    }
    if (st == ST_OK) {
        st = store_exec(q);
    }
    store_done(q);
    if ((st == ST_OK) && (arr >= 0)) {
        st = tags_write(d, arr, seq);
    }
    return st;
}

/* The types of the body (pydantic: tags list of str | null, description
 * str | null); false when an entry was added. */
static bool patch_types(fapi_errs *e, const json_doc *d, int tags, int desc)
{
    bool ok = true;
    if ((tags >= 0) && !json_is_null(d, tags)) {
        if (json_type(d, tags) != JSON_ARRAY) {
            fapi_err_type(e, d, tags, "tags", -1, "list_type", "Input should be a valid list");
            ok = false;
        } else {
            json_iter it = JSON_ITER_INIT;
            int v = -1;
            int i = 0;
            while (json_arr_next(d, tags, &it, &v)) {
                if (json_type(d, v) != JSON_STRING) {
                    fapi_err_type(e, d, v, "tags", i, "string_type",
                                  "Input should be a valid string");
                    ok = false;
                }
                i++;
            }
        }
    }
    if ((desc >= 0) && !json_is_null(d, desc) && (json_type(d, desc) != JSON_STRING)) {
        fapi_err_type(e, d, desc, "description", -1, "string_type",
                      "Input should be a valid string");
        ok = false;
    }
    return ok;
}

/* Validate and write; answers every error itself. true: written (on a
 * later pass only checked), the answer is the document. */
static bool patch_apply(hctx *h, const json_doc *d, const char *id)
{
    int tags = json_obj_get(d, json_root(d), "tags");
    int dtok = json_obj_get(d, json_root(d), "description");
    strv desc = STRV_NULL;
    int64_t seq = 0;
    st_t st = docs_store_seq(id, &seq);
    if (st == ST_NOTFOUND) {
        not_found(h);
        return false;
    }
    if (st != ST_OK) {
        internal(h, "document patch", st);
        return false;
    }
    if ((tags >= 0) && json_is_null(d, tags)) {
        tags = -1;
    }
    if ((tags >= 0) && !tags_valid(h, d, tags)) {
        return false;
    }
    if ((dtok >= 0) && !json_is_null(d, dtok)) {
        desc = json_raw(d, dtok);
        if (literal_chars(desc) > DESCRIPTION_MAX_CHARS) {
            fam_fastapi_error(h, 400, "BAD_REQUEST",
                              "Description too long: at most 10000 characters");
            return false;
        }
    }
    st = store_begin();
    if (st == ST_OK) {
        st = patch_write(h, d, seq, tags, desc);
    }
    if ((st == ST_OK) && !h->rerender) {
        st = store_commit();
    }
    if ((st != ST_OK) || h->rerender) {
        (void)store_rollback();   /* an error, or a later pass: nothing changes */
    }
    if (st == ST_FULL) {
        fam_fastapi_error(h, 400, "BAD_REQUEST", "Too many tags: at most 50 allowed");
    } else if (st != ST_OK) {
        internal(h, "document patch", st);
    } else {
        /* written */
    }
    return st == ST_OK;
}

/* One pass of PATCH (hctx_render): a 422 and a 400 are rendered again from
 * the request; once written, the answer is docs_answer_doc's, whose passes
 * render the document as stored. */
static void patch_pass(hctx *h, const void *state)
{
    char id[DOCS_ID_LEN + 1u];
    fapi_errs e;
    json_doc d;
    bool ok;
    (void)state;
    fapi_errs_init(&e, h);
    if (!fapi_body_object(h, &d, &e)) {
        (void)fapi_errs_end(&e);
        return;
    }
    ok = patch_types(&e, &d, json_obj_get(&d, json_root(&d), "tags"),
                     json_obj_get(&d, json_root(&d), "description"));
    if (!ok) {
        json_release(&d);
        (void)fapi_errs_end(&e);
        return;
    }
    if (!path_id(h, id)) {
        json_release(&d);
        not_found(h);
        return;
    }
    ok = patch_apply(h, &d, id);
    json_release(&d);
    if (ok) {
        docs_answer_doc(h, 200, id);
    }
}

void docs_patch(hctx *h)
{
    hctx_render(h, patch_pass, NULL, 0u);
}

/* ---- DELETE /documents/{id} (§3.8) ---------------------------------------------- */

void docs_delete(hctx *h)
{
    static const char k_msg[] = "Document ";
    static const char k_done[] = " deleted successfully";
    char id[DOCS_ID_LEN + 1u];
    char path[DOCS_DIR_BYTES + DOCS_ID_LEN + 2u];
    char msg[(sizeof k_msg) + DOCS_ID_LEN + (sizeof k_done)];
    size_t len = 0u;
    json_w w;
    st_t st;
    if (!path_id(h, id)) {
        not_found(h);
        return;
    }
    st = docs_store_remove(id);
    if (st == ST_NOTFOUND) {
        not_found(h);
        return;
    }
    if (st != ST_OK) {
        internal(h, "document delete", st);
        return;
    }
    /* the row is gone: a file left behind is the sweep's at the next start */
    if (docs_path(path, sizeof path, id)) {
        st = port_file_remove(path);
        if ((st != ST_OK) && (st != ST_NOTFOUND)) {
            LOG_W("docs", "delete %s: the file stays: %s", id, status_str(st));
        }
    }
    (void)put(msg, sizeof msg, &len, k_msg, (sizeof k_msg) - 1u);
    (void)put(msg, sizeof msg, &len, id, DOCS_ID_LEN);
    (void)put(msg, sizeof msg, &len, k_done, (sizeof k_done) - 1u);
    fam_json_begin(h, 200, &w);
    json_w_obj_begin(&w);
    json_w_kbool(&w, "success", true);
    json_w_kstrn(&w, "message", msg, len);
    json_w_kstr(&w, "document_id", id);
    json_w_obj_end(&w);
    fam_json_end(h, &w);
}
