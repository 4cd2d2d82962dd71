/*
 * upload.c - POST /documents (spec/documents.md §3.2): a multipart body
 * streamed into a temporary file while its SHA-256 and size are computed,
 * then fsync, rename to documents/<id>, the row. And the sweep at start.
 *
 * Implementation notes:
 * - The route is ROUTE_STREAM_BODY: docs_upload runs when the head has
 *   arrived, before a byte of the body is read. It refuses what it can
 *   refuse from the head (not multipart: 422; a Content-Length beyond
 *   documents.max_upload_bytes + 1 MiB: 413; every upload slot busy: 503
 *   with Retry-After), each closing the connection with the body unread,
 *   or takes a slot and the body (hctx_take_body).
 * - A slot (CFG_DOCS_UPLOAD_SLOTS, static) holds the multipart parser
 *   (http/multipart.h), the SHA-256 state, the temporary file, the two
 *   text fields (tags, metadata: CFG_DOCS_TAGS_BYTES, CFG_DOCS_META_BYTES)
 *   and a chunk buffer (CFG_DOCS_CHUNK_BYTES, 64 KiB; none in the small
 *   profile): once rx's bytes are handed over, a Content-Length body is
 *   read straight into the chunk (hctx_sink.buf), at most
 *   documents.chunk_bytes per read, so a large upload costs a read and a
 *   write per chunk instead of per rx buffer. The file part's bytes go
 *   from there (or rx) to the file as they are, in writes of at most
 *   documents.chunk_bytes: never more than one chunk of the file in
 *   memory, never copied. The text fields are copied into the slot.
 * - Writeback is started every FLUSH_STEP bytes (port_file_flush_start),
 *   so the disk writes while the rest arrives and the fsync at the end
 *   waits for little.
 * - The temporary file is documents/.upload-<24 hex> (0600). A failure at
 *   any step (413, a write failing with ENOSPC or EIO, a malformed body,
 *   the client leaving, a failed fsync, rename or insert) removes it; what
 *   was renamed but not stored is removed too.
 * - Order of durability: file written, fsynced, renamed (and its
 *   directory fsynced), then the row committed. After a kill -9 there can
 *   be a temporary file (not renamed yet) or a file without its row
 *   (renamed, not committed); never a row without its file. docs_sweep at
 *   start removes both and logs them; a row whose file is gone (removed by
 *   hand) is removed too.
 * - Errors: 413 "File too large..." / "Form field too large" (also a part
 *   header beyond the parser's limits: a filename of 512 bytes or more), 400
 *   "Malformed multipart body" (also a truncated or badly chunked body),
 *   422 missing file, 400 for metadata, 507 when the disk is full
 *   (ST_NOSPACE), 500 for other I/O failures; all in the FastAPI shape.
 */
#include "fam/docs/docs_int.h"

#include <string.h>

#include "config.h"
#include "core/assert.h"
#include "core/fmt.h"
#include "core/log.h"
#include "fam/shared/fam.h"
#include "http/multipart.h"
#include "json/read.h"
#include "port.h"

/* Writeback of an upload is started every this many bytes. */
#define FLUSH_STEP (8u * 1024u * 1024u)

/* What the current part of an upload is. */
typedef enum { PART_SKIP = 0, PART_FILE, PART_TAGS, PART_META } part_kind;

/* An answer decided while the body was read, written by end. */
typedef struct {
    int status;                /* 0: none */
    const char *msg;
} verdict;

typedef struct {
    bool busy;
    mp_parser mp;
    sha256_ctx sha;
    port_file f;               /* the temporary file, PORT_FILE_NONE before the file part */
    char tmp[(size_t)CFG_CONF_VALUE_BYTES + 64u];
    uint64_t size;
    uint64_t flushed;          /* bytes whose writeback was started */
    part_kind cur;
    bool have_file;            /* the first file part started */
    bool have_tags;
    bool have_meta;
    char filename[MP_FILENAME_BYTES];
    size_t filename_len;
    char ctype[MP_CTYPE_BYTES];
    size_t ctype_len;
    size_t tags_len;
    size_t meta_len;
    verdict v;
    char tags[CFG_DOCS_TAGS_BYTES];
    char meta[CFG_DOCS_META_BYTES];
#if CFG_DOCS_CHUNK_BYTES > 0
    char chunk[CFG_DOCS_CHUNK_BYTES];  /* the body is read into it (on_buf) */
#endif
} upload;

static upload g_up[CFG_DOCS_UPLOAD_SLOTS];
static char g_too_large[64];  /* "File too large. Maximum size is N bytes" */

_Static_assert(((sizeof g_up) + (sizeof g_too_large)) <= (size_t)DOCS_UPLOAD_STATIC_BYTES,
               "DOCS_UPLOAD_STATIC_BYTES is the plan of this module");

/* ---- the temporary file ------------------------------------------------------ */

static void tmp_drop(upload *u)
{
    if (u->f != PORT_FILE_NONE) {
        port_file_close(u->f);
        u->f = PORT_FILE_NONE;
    }
    /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
    if (u->tmp[0] != '\0') {
        (void)port_file_remove(u->tmp);
        u->tmp[0] = '\0';
    }
}

static void slot_free(upload *u)
{
    tmp_drop(u);
    u->busy = false;
}

/* A fresh random name: "doc_" + 24 hex for a document, ".upload-" + 24
 * hex for a temporary file. */
static st_t random_name(const char *prefix, char *out, size_t cap)
{
    uint8_t r[12];
    size_t pn = strlen(prefix);
    st_t st = port_entropy(r, sizeof r);
    if (st != ST_OK) {
        return st;
    }
    if ((pn + 25u) > cap) {
        return ST_TOOBIG;
    }
    (void)memcpy(out, prefix, pn);
    fmt_hex_bytes(out + pn, r, sizeof r);
    return ST_OK;
}

static void set_verdict(upload *u, int status, const char *msg)
{
    if (u->v.status == 0) {
        u->v.status = status;
        u->v.msg = msg;
    }
}

/* An I/O failure as the family answers it. */
static void io_verdict(upload *u, st_t st)
{
    if (st == ST_NOSPACE) {
        set_verdict(u, 507, "Insufficient storage: the disk is full");
    } else {
        set_verdict(u, 500, "Internal Server Error");
    }
}

static st_t file_start(upload *u)
{
    char name[40];
    st_t st = random_name(".upload-", name, sizeof name);
    if ((st == ST_OK) && !docs_path(u->tmp, sizeof u->tmp, name)) {
        st = ST_TOOBIG;
    }
    if (st == ST_OK) {
        st = port_file_create(u->tmp, 0600u, &u->f);
    }
    if (st != ST_OK) {
        u->tmp[0] = '\0';
        LOG_W("documents", "upload: cannot create its temporary file: %s", status_str(st));
        io_verdict(u, st);
        return st;
    }
    sha256_init(&u->sha);
    u->size = 0u;
    u->flushed = 0u;
    return ST_OK;
}

/* ---- the body ----------------------------------------------------------------- */

static void part_begin(upload *u)
{
    const mp_part *p = &u->mp.part;
    u->cur = PART_SKIP;
    if ((strcmp(p->name, "file") == 0) && !u->have_file) {
        u->have_file = true;
        u->cur = PART_FILE;
        (void)memcpy(u->filename, p->filename, p->filename_len + 1u);
        u->filename_len = p->has_filename ? p->filename_len : 0u;
        (void)memcpy(u->ctype, p->ctype, p->ctype_len + 1u);
        u->ctype_len = p->ctype_len;
        if (file_start(u) != ST_OK) {
            u->cur = PART_SKIP;
        }
    } else if ((strcmp(p->name, "tags") == 0) && !u->have_tags) {
        u->have_tags = true;
        u->cur = PART_TAGS;
    } else if ((strcmp(p->name, "metadata") == 0) && !u->have_meta) {
        u->have_meta = true;
        u->cur = PART_META;
    } else {
        /* read and discarded */
    }
}

static st_t field_add(upload *u, char *buf, size_t cap, size_t *len, strv d)
{
    if (d.n > (cap - *len)) {
        set_verdict(u, 413, "Form field too large");
        return ST_TOOBIG;
    }
    (void)memcpy(buf + *len, d.p, d.n);
    *len += d.n;
    return ST_OK;
}

static st_t part_data(upload *u, strv d)
{
    st_t st = ST_OK;
    if (u->cur == PART_FILE) {
        u->size += d.n;
        if (u->size > docs_max_upload()) {
            set_verdict(u, 413, g_too_large);
            return ST_TOOBIG;
        }
        sha256_update(&u->sha, d.p, d.n);
        while ((st == ST_OK) && (d.n > 0u)) {
            /* writes of at most documents.chunk_bytes */
            size_t k = (d.n < (size_t)docs_chunk_bytes()) ? d.n : (size_t)docs_chunk_bytes();
            st = port_file_write(u->f, d.p, k);
            d.p += k;
            d.n -= k;
        }
        if (st != ST_OK) {
            LOG_W("documents", "upload: writing %s failed: %s", u->tmp, status_str(st));
            io_verdict(u, st);
        } else if ((u->size - u->flushed) >= FLUSH_STEP) {
            /* the device writes while the next bytes arrive: the fsync at
             * the end has little left to wait for */
            (void)port_file_flush_start(u->f, u->flushed, u->size - u->flushed);
            u->flushed = u->size;
        } else {
            /* written */
        }
    } else if (u->cur == PART_TAGS) {
        st = field_add(u, u->tags, sizeof u->tags, &u->tags_len, d);
    } else if (u->cur == PART_META) {
        st = field_add(u, u->meta, sizeof u->meta, &u->meta_len, d);
    } else {
        /* discarded */
    }
    return st;
}

static st_t on_data(void *state, const char *p, size_t n, bool last, size_t *used)
{
    upload *u = (upload *)state;
    size_t off = 0u;
    st_t st = ST_OK;
    while (st == ST_OK) {
        size_t k = 0u;
        strv d = STRV_NULL;
        mp_event ev = mp_next(&u->mp, p + off, n - off, last, &k, &d);
        off += k;
        if (ev == MP_NEED) {
            break;
        }
        if (ev == MP_PART) {
            part_begin(u);
            if (u->v.status != 0) {
                st = ST_IO;
            }
        } else if (ev == MP_DATA) {
            st = part_data(u, d);
        } else if (ev == MP_PART_END) {
            u->cur = PART_SKIP;
        } else if (ev == MP_ERROR) {
            if (u->mp.err == MP_ERR_TOOBIG) {
                /* a part's header line, a count or a value (a filename of
                 * more than MP_FILENAME_BYTES - 1 bytes) beyond its limit */
                set_verdict(u, 413, "Form field too large");
            } else {
                set_verdict(u, 400, "Malformed multipart body");
            }
            st = ST_BAD;
        } else {
            /* MP_END: what follows is the epilogue */
        }
    }
    *used = off;
    return st;
}

/* ---- the end ------------------------------------------------------------------ */

/* The tags field: comma-separated, trimmed, empty items dropped,
 * duplicates dropped (first kept). */
static size_t tags_split(upload *u, strv *out, size_t cap)
{
    size_t n = 0u;
    size_t start = 0u;
    size_t i;
    for (i = 0u; i <= u->tags_len; i++) {
        /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
        if ((i == u->tags_len) || (u->tags[i] == ',')) {
            strv t = strv_trim((strv){ u->tags + start, i - start });
            bool dup = false;
            size_t j;
            start = i + 1u;
            for (j = 0u; (j < n) && !dup; j++) {
                dup = strv_eq(out[j], t);
            }
            if ((t.n > 0u) && !dup && (n < cap)) {
                out[n] = t;
                n++;
            }
        }
    }
    return n;
}

/* The metadata field: a JSON object whose values are all strings. */
static bool meta_ok(upload *u)
{
    json_doc d;
    json_iter it;
    int k = -1;
    int v = -1;
    bool ok = true;
    st_t st;
    if (u->meta_len == 0u) {
        set_verdict(u, 400, "Invalid JSON in metadata parameter");
        return false;
    }
    st = json_parse(&d, u->meta, u->meta_len, NULL);
    if (st == ST_TOOBIG) {
        set_verdict(u, 413, "Form field too large");
        return false;
    }
    if (st != ST_OK) {
        set_verdict(u, 400, "Invalid JSON in metadata parameter");
        return false;
    }
    if (json_type(&d, 0) != JSON_OBJECT) {
        ok = false;
    } else {
        json_iter_init(&it);
        while (ok && json_obj_next(&d, 0, &it, &k, &v)) {
            ok = (json_type(&d, v) == JSON_STRING);
        }
    }
    json_release(&d);
    if (!ok) {
        set_verdict(u, 400, "metadata must be a JSON object with string values");
    }
    return ok;
}

/* The body is complete and well-formed: make the file durable, name it,
 * store the row. */
static st_t finish(upload *u, docs_new *dn)
{
    char path[(size_t)CFG_CONF_VALUE_BYTES + 64u];
    uint8_t digest[SHA256_BYTES];
    st_t st = port_file_sync(u->f);
    port_file_close(u->f);
    u->f = PORT_FILE_NONE;
    if (st == ST_OK) {
        st = random_name("doc_", dn->id, sizeof dn->id);
    }
    if ((st == ST_OK) && !docs_path(path, sizeof path, dn->id)) {
        st = ST_TOOBIG;
    }
    if (st == ST_OK) {
        st = port_file_rename(u->tmp, path);
    }
    if (st != ST_OK) {
        LOG_W("documents", "upload: %s could not be made durable: %s", u->tmp,
              status_str(st));
        io_verdict(u, st);
        return st;
    }
    u->tmp[0] = '\0';             /* renamed: the document's own file now */
    sha256_final(&u->sha, digest);
    sha256_to_hex(digest, dn->sha256);
    dn->size = u->size;
    st = docs_store_add(dn);
    if (st != ST_OK) {
        LOG_W("documents", "upload: storing %s failed: %s; its file is removed", dn->id,
              status_str(st));
        (void)port_file_remove(path);
        io_verdict(u, st);
    }
    return st;
}

/* Content type from the filename's extension (spec §3.2). */
static const char *guess_type(strv name)
{
    /* cppcheck-suppress misra-c2012-5.7 ; false positive: an untagged struct has no tag */
    static const struct {
        const char *ext;
        const char *type;
    } k_types[] = {
        { ".md", "text/markdown" }, { ".markdown", "text/markdown" },
        { ".txt", "text/plain" }, { ".yaml", "text/yaml" }, { ".yml", "text/yaml" },
        { ".json", "application/json" }, { ".jsonl", "application/jsonl" },
        { ".toml", "application/toml" }, { ".ini", "text/plain" }, { ".conf", "text/plain" },
        { ".log", "text/plain" }, { ".csv", "text/csv" }, { ".html", "text/html" },
        { ".htm", "text/html" }, { ".css", "text/css" }, { ".js", "text/javascript" },
        { ".xml", "application/xml" }, { ".pdf", "application/pdf" },
        { ".png", "image/png" }, { ".jpg", "image/jpeg" }, { ".jpeg", "image/jpeg" },
        { ".gif", "image/gif" }, { ".svg", "image/svg+xml" }, { ".zip", "application/zip" },
        { ".gz", "application/gzip" }, { ".tar", "application/x-tar" },
        { ".py", "text/x-python" }, { ".sh", "application/x-sh" },
    };
    size_t dot = name.n;
    /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
    while ((dot > 0u) && (name.p[dot - 1u] != '.') && (name.p[dot - 1u] != '/')) {
        dot--;
    }
    /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
    if ((dot > 0u) && (name.p[dot - 1u] == '.')) {
        strv ext = { name.p + dot - 1u, name.n - dot + 1u };
        size_t i;
        for (i = 0u; i < ((sizeof k_types) / (sizeof k_types[0])); i++) {
            if (strv_ieq_cstr(ext, k_types[i].ext)) {
                return k_types[i].type;
            }
        }
    }
    return "application/octet-stream";
}

static void answer_verdict(hctx *h, const verdict *v)
{
    fam_fastapi_error(h, v->status, "DOCUMENTS", v->msg);
}

static void answer_missing_file(hctx *h)
{
    fam_json_send(h, 422, "{\"detail\":[{\"type\":\"missing\",\"loc\":[\"body\",\"file\"],"
                          "\"msg\":\"Field required\",\"input\":null}]}");
}

static void on_end(hctx *h, void *state, st_t st)
{
    upload *u = (upload *)state;
    strv tags[DOCS_MAX_TAGS_UPLOAD];
    docs_new dn;
    (void)memset(&dn, 0, sizeof dn);
    if ((st != ST_OK) && (u->v.status == 0)) {
        /* the server stopped the body: bad chunked framing, or stuck */
        set_verdict(u, 400, "Malformed multipart body");
    }
    if ((u->v.status == 0) && !u->mp.ended) {
        set_verdict(u, 400, "Malformed multipart body");
    }
    if (u->v.status != 0) {
        answer_verdict(h, &u->v);
    } else if (!u->have_file || (u->f == PORT_FILE_NONE)) {
        answer_missing_file(h);
    } else if (u->have_meta && !meta_ok(u)) {
        answer_verdict(h, &u->v);
    } else {
        dn.filename = (strv){ u->filename, u->filename_len };
        dn.content_type = (u->ctype_len > 0u) ? (strv){ u->ctype, u->ctype_len }
                                              : strv_from_cstr(guess_type(dn.filename));
        dn.tags = tags;
        dn.ntags = tags_split(u, tags, DOCS_MAX_TAGS_UPLOAD);
        dn.metadata = u->have_meta ? (strv){ u->meta, u->meta_len } : STRV_NULL;
        if (finish(u, &dn) == ST_OK) {
            docs_answer_doc(h, 201, dn.id);
        } else {
            answer_verdict(h, &u->v);
        }
    }
    slot_free(u);
}

static void on_abort(void *state)
{
    slot_free((upload *)state);
}

#if CFG_DOCS_CHUNK_BYTES > 0
/* The slot's chunk buffer, for reads of the body straight into it: at
 * most documents.chunk_bytes of it. */
static char *on_buf(void *state, size_t *cap)
{
    upload *u = (upload *)state;
    size_t n = (size_t)docs_chunk_bytes();
    *cap = (n < sizeof u->chunk) ? n : sizeof u->chunk;
    return u->chunk;
}
#define ON_BUF on_buf
#else
#define ON_BUF NULL
#endif

static const hctx_sink k_sink = { on_data, on_end, on_abort, ON_BUF };

void docs_upload(hctx *h)
{
    strv ctype = http_header_get(h->req, "Content-Type");
    strv boundary = STRV_NULL;
    upload *u = NULL;
    size_t i;
    uint64_t max = docs_max_upload();
    if (g_too_large[0] == '\0') {
        char num[24];
        size_t k = fmt_u64(num, sizeof num, max);
        (void)memcpy(g_too_large, "File too large. Maximum size is ", 32u);
        (void)memcpy(g_too_large + 32u, num, k);
        (void)memcpy(g_too_large + 32u + k, " bytes", 7u);
    }
    if ((ctype.p == NULL) || (mp_boundary(ctype, &boundary) != ST_OK)) {
        answer_missing_file(h);
        return;
    }
    if (h->req->has_content_length &&
        (h->req->content_length > (max + (1024u * 1024u)))) {
        fam_fastapi_error(h, 413, "DOCUMENTS", g_too_large);
        return;
    }
    for (i = 0u; (i < (size_t)CFG_DOCS_UPLOAD_SLOTS) && (u == NULL); i++) {
        if (!g_up[i].busy) {
            u = &g_up[i];
        }
    }
    if (u == NULL) {
        LOG_W("documents", "all %u upload slots busy: 503", (unsigned)CFG_DOCS_UPLOAD_SLOTS);
        fam_fastapi_error(h, 503, "DOCUMENTS", "Too many uploads in progress; retry later");
        return;
    }
    u->busy = true;
    mp_init(&u->mp, boundary);
    u->f = PORT_FILE_NONE;
    u->tmp[0] = '\0';
    u->size = 0u;
    u->cur = PART_SKIP;
    u->have_file = false;
    u->have_tags = false;
    u->have_meta = false;
    u->filename_len = 0u;
    u->filename[0] = '\0';
    u->ctype_len = 0u;
    u->tags_len = 0u;
    u->meta_len = 0u;
    u->v.status = 0;
    u->v.msg = NULL;
    hctx_take_body(h, &k_sink, u);
}

/* ---- the sweep at start --------------------------------------------------------- */

#define SWEEP_BATCH 16u

typedef struct {
    char names[SWEEP_BATCH][40];
    size_t n;
    bool more;                  /* the batch filled up: another pass */
} sweep_batch;

/* Temporary files and files without a row, collected per pass. */
static bool sweep_file(const char *name, bool is_dir, void *ctx)
{
    sweep_batch *b = (sweep_batch *)ctx;
    strv nm = strv_from_cstr(name);
    bool tmp = strv_starts_with_cstr(nm, ".upload-") && (nm.n < 40u);
    if (is_dir || (!tmp && !docs_id_valid(nm))) {
        return true;            /* not ours */
    }
    if (!tmp && (docs_store_has(name) != ST_NOTFOUND)) {
        return true;            /* a document (or the store cannot say: keep it) */
    }
    if (b->n == SWEEP_BATCH) {
        b->more = true;
        return false;
    }
    (void)memcpy(b->names[b->n], name, nm.n + 1u);
    b->n++;
    return true;
}

/* Rows whose file is gone. */
static bool sweep_row(const char *id, void *ctx)
{
    sweep_batch *b = (sweep_batch *)ctx;
    char path[(size_t)CFG_CONF_VALUE_BYTES + 64u];
    port_file_info fi;
    if (docs_path(path, sizeof path, id) && (port_file_stat(path, &fi) == ST_NOTFOUND)) {
        if (b->n == SWEEP_BATCH) {
            b->more = true;
            return false;
        }
        (void)memcpy(b->names[b->n], id, DOCS_ID_LEN + 1u);
        b->n++;
    }
    return true;
}

st_t docs_sweep(void)
{
    static sweep_batch b;       /* init only: off the stack */
    char path[(size_t)CFG_CONF_VALUE_BYTES + 64u];
    size_t i;
    st_t st = ST_OK;
    do {
        b.n = 0u;
        b.more = false;
        st = port_dir_list(docs_dir(), sweep_file, &b);
        for (i = 0u; i < b.n; i++) {
            /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
            bool tmp = (b.names[i][0] == '.');
            if (docs_path(path, sizeof path, b.names[i])) {
                (void)port_file_remove(path);
            }
            LOG_W("documents", "start: removed %s %s (an upload that did not finish)",
                  tmp ? "temporary file" : "unstored file", b.names[i]);
        }
    } while ((st == ST_OK) && b.more);
    do {
        b.n = 0u;
        b.more = false;
        if (st == ST_OK) {
            st = docs_store_each(sweep_row, &b);
        }
        for (i = 0u; i < b.n; i++) {
            (void)docs_store_remove(b.names[i]);
            LOG_W("documents", "start: removed document %s: its file is missing", b.names[i]);
        }
    } while ((st == ST_OK) && b.more);
    return st;
}
