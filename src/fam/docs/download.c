/*
 * download.c - GET /documents/{id} (spec/documents.md §3.6): the stored
 * bytes streamed from the file (hctx_end_file: sendfile where the port has
 * it, never read whole), with the stored content_type, Content-Length,
 * Content-Disposition, a strong ETag from the SHA-256 and, beyond
 * upstream, conditional and range requests (RFC 9110 §13, §14):
 *   - If-None-Match (weak comparison, `*`, lists) -> 304 with the ETag;
 *   - one Range `bytes=a-b`, `bytes=a-` or `bytes=-n` -> 206 with
 *     Content-Range; a range that starts at or past the end (or an empty
 *     suffix) -> 416 with `Content-Range: bytes * /size` in the family's
 *     error shape; several ranges, another unit or a malformed value ->
 *     the whole file (200), as RFC 9110 §14.2 lets a server ignore Range;
 *   - If-Range with an entity tag: the range applies only when it is our
 *     strong ETag; with anything else (another tag, a date) -> 200 whole.
 * An unknown id, and a row whose file is missing, are 404 (Decision 1).
 */
#include "fam/docs/docs_int.h"

#include <string.h>

#include "core/fmt.h"
#include "core/log.h"
#include "fam/shared/fam.h"
#include "port.h"

#define ETAG_BYTES (SHA256_HEX_BYTES + 2u)

/* One entity tag of an If-None-Match list equals ours (weak comparison:
 * a W/ prefix is ignored). */
static bool none_match(strv value, const char *etag)
{
    size_t i = 0u;
    strv ours = strv_from_cstr(etag);
    strv list = strv_trim_ws(value);
    if (strv_eq_cstr(list, "*")) {
        return true;
    }
    while (i < list.n) {
        size_t start;
        strv t;
        while ((i < list.n) && ((unsigned char)list.p[i] != 0u) &&
               (strchr(" \t,", (int)(unsigned char)list.p[i]) != NULL)) {
            i++;
        }
        start = i;
        /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
        while ((i < list.n) && (list.p[i] != ',')) {
            i++;
        }
        t = strv_trim_ws((strv){ list.p + start, i - start });
        /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
        if ((t.n >= 2u) && (t.p[0] == 'W') && (t.p[1] == '/')) {
            t.p += 2;
            t.n -= 2u;
        }
        if (strv_eq(t, ours)) {
            return true;
        }
    }
    return false;
}

typedef enum { RANGE_NONE = 0, RANGE_ONE, RANGE_UNSAT } range_kind;

/* A decimal number of at most 19 digits. */
static bool num(strv s, uint64_t *out)
{
    return (s.n > 0u) && (s.n <= 19u) && strv_to_u64(s, UINT64_MAX, out);
}

/* The Range header against a file of size bytes: one satisfiable range
 * [*first, *last], unsatisfiable, or none to apply (absent, malformed,
 * several ranges, another unit). */
static range_kind range_of(strv value, uint64_t size, uint64_t *first, uint64_t *last)
{
    strv v = strv_trim_ws(value);
    strv spec;
    size_t dash = 0u;
    uint64_t a = 0u;
    uint64_t b = 0u;
    if ((v.n < 7u) || !strv_ieq((strv){ v.p, 6u }, strv_from_cstr("bytes="))) {
        return RANGE_NONE;
    }
    spec = strv_trim_ws((strv){ v.p + 6, v.n - 6u });
    /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
    while ((dash < spec.n) && (spec.p[dash] != '-')) {
        /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
        if (spec.p[dash] == ',') {
            return RANGE_NONE;
        }
        dash++;
    }
    if ((dash == spec.n) || (memchr(spec.p, ',', spec.n) != NULL)) {
        return RANGE_NONE;
    }
    if (dash == 0u) {
        /* bytes=-n: the last n bytes */
        if (!num((strv){ spec.p + 1, spec.n - 1u }, &b)) {
            return RANGE_NONE;
        }
        if ((b == 0u) || (size == 0u)) {
            return RANGE_UNSAT;
        }
        *first = (b >= size) ? 0u : (size - b);
        *last = size - 1u;
        return RANGE_ONE;
    }
    if (!num((strv){ spec.p, dash }, &a)) {
        return RANGE_NONE;
    }
    if ((dash + 1u) == spec.n) {
        b = UINT64_MAX;         /* bytes=a- */
    } else if (!num((strv){ spec.p + dash + 1u, spec.n - dash - 1u }, &b) || (b < a)) {
        return RANGE_NONE;
    } else {
        /* bytes=a-b */
    }
    if (a >= size) {
        return RANGE_UNSAT;
    }
    *first = a;
    if (b >= size) {
        *last = size - 1u;
    } else {
        *last = b;
    }
    return RANGE_ONE;
}

/* Content-Type: the stored type; a text type without a charset gets
 * "; charset=utf-8" (Starlette). */
static void content_type(char *out, size_t cap, const char *stored)
{
    strv t = strv_from_cstr(stored);
    size_t n = (t.n < cap) ? t.n : (cap - 1u);
    (void)memcpy(out, t.p, n);
    out[n] = '\0';
    if (strv_starts_with_cstr(t, "text/")) {
        bool has = false;
        size_t i;
        for (i = 0u; (i + 8u) <= t.n; i++) {
            if (strv_ieq((strv){ t.p + i, 8u }, strv_from_cstr("charset="))) {
                has = true;
            }
        }
        if (!has && ((n + 16u) < cap)) {
            (void)memcpy(out + n, "; charset=utf-8", 16u);
        }
    }
}

/* Content-Disposition: attachment; filename="x" for printable ASCII
 * without `"` or `\`, else filename*=utf-8''<percent-encoded>. */
static void disposition(char *out, size_t cap, const char *name)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(name);
    bool plain = true;
    size_t i;
    size_t o;
    for (i = 0u; i < n; i++) {
        unsigned char ch = (unsigned char)name[i];
        if ((ch < 0x20u) || (ch > 0x7Eu) || (ch == (unsigned char)'"') ||
            (ch == (unsigned char)'\\')) {
            plain = false;
        }
    }
    if (plain && ((n + 24u) < cap)) {
        (void)memcpy(out, "attachment; filename=\"", 22u);
        (void)memcpy(out + 22u, name, n);
        (void)memcpy(out + 22u + n, "\"", 2u);
        return;
    }
    (void)memcpy(out, "attachment; filename*=utf-8''", 29u);
    o = 29u;
    for (i = 0u; (i < n) && ((o + 4u) < cap); i++) {
        unsigned char ch = (unsigned char)name[i];
        bool keep = ((ch >= (unsigned char)'a') && (ch <= (unsigned char)'z')) ||
                    ((ch >= (unsigned char)'A') && (ch <= (unsigned char)'Z')) ||
                    ((ch >= (unsigned char)'0') && (ch <= (unsigned char)'9')) ||
                    (strchr("!#$&+-.^_`|~", (int)ch) != NULL);
        if (keep && (ch != 0u)) {
            out[o] = (char)ch;
            o++;
        } else {
            out[o] = '%';
            out[o + 1u] = hex[ch >> 4];
            out[o + 2u] = hex[ch & 0x0Fu];
            o += 3u;
        }
    }
    out[o] = '\0';
}

static void not_found(hctx *h)
{
    fam_fastapi_error(h, 404, "DOCUMENTS", "Document not found");
}

void docs_download(hctx *h)
{
    static docs_file df;        /* one request at a time: off the stack */
    char path[(size_t)CFG_CONF_VALUE_BYTES + 64u];
    char etag[ETAG_BYTES + 1u];
    char ctype[sizeof df.content_type + 16u];
    char disp[(sizeof df.filename * 3u) + 32u];
    char num_buf[80];
    strv id = hctx_param(h, 0u);
    port_file f = PORT_FILE_NONE;
    port_file_info fi;
    uint64_t first = 0u;
    uint64_t last = 0u;
    range_kind rk = RANGE_NONE;
    strv inm;
    strv range;
    strv if_range;
    char idz[DOCS_ID_LEN + 1u];
    st_t st;
    if (!docs_id_valid(id)) {
        not_found(h);
        return;
    }
    (void)memcpy(idz, id.p, DOCS_ID_LEN);
    idz[DOCS_ID_LEN] = '\0';
    st = docs_store_file(idz, &df);
    if (st == ST_NOTFOUND) {
        not_found(h);
        return;
    }
    if (st != ST_OK) {
        fam_fastapi_error(h, 500, "INTERNAL_ERROR", "Internal Server Error");
        return;
    }
    if (!docs_path(path, sizeof path, idz)) {
        not_found(h);
        return;
    }
    st = port_file_open(path, &f, &fi);
    if (st != ST_OK) {
        if (st != ST_NOTFOUND) {
            LOG_W("documents", "%s: its file cannot be opened: %s", idz, status_str(st));
        }
        not_found(h);
        return;
    }
    etag[0] = '"';
    (void)memcpy(etag + 1, df.sha256, SHA256_HEX_BYTES - 1u);
    etag[SHA256_HEX_BYTES] = '"';
    etag[SHA256_HEX_BYTES + 1u] = '\0';
    inm = http_header_get(h->req, "If-None-Match");
    if ((inm.p != NULL) && none_match(inm, etag)) {
        port_file_close(f);
        hctx_begin(h, 304);
        hctx_header(h, "ETag", etag);
        hctx_end(h);
        return;
    }
    range = http_header_get(h->req, "Range");
    if_range = http_header_get(h->req, "If-Range");
    if ((range.p != NULL) &&
        ((if_range.p == NULL) || strv_eq_cstr(strv_trim_ws(if_range), etag))) {
        rk = range_of(range, fi.size, &first, &last);
    }
    if (rk == RANGE_UNSAT) {
        size_t k;
        port_file_close(f);
        (void)memcpy(num_buf, "bytes */", 8u);
        k = fmt_u64(num_buf + 8, (sizeof num_buf) - 8u, fi.size);
        num_buf[8u + k] = '\0';
        h->extra_name = "Content-Range";
        h->extra_value = num_buf;
        fam_fastapi_error(h, 416, "DOCUMENTS", "Requested range not satisfiable");
        return;
    }
    content_type(ctype, sizeof ctype, df.content_type);
    disposition(disp, sizeof disp, df.filename);
    hctx_begin(h, (rk == RANGE_ONE) ? 206 : 200);
    hctx_header(h, "Content-Type", ctype);
    hctx_header(h, "Content-Disposition", disp);
    hctx_header(h, "ETag", etag);
    hctx_header(h, "Accept-Ranges", "bytes");
    if (rk == RANGE_ONE) {
        size_t k = 6u;
        (void)memcpy(num_buf, "bytes ", 6u);
        k += fmt_u64(num_buf + k, (sizeof num_buf) - k, first);
        num_buf[k] = '-';
        k++;
        k += fmt_u64(num_buf + k, (sizeof num_buf) - k, last);
        num_buf[k] = '/';
        k++;
        k += fmt_u64(num_buf + k, (sizeof num_buf) - k, fi.size);
        num_buf[k] = '\0';
        hctx_header(h, "Content-Range", num_buf);
        hctx_end_file(h, f, first, (last - first) + 1u);
    } else {
        hctx_end_file(h, f, 0u, fi.size);
    }
}
