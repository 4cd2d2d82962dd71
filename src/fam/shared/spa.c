/*
 * spa.c - static files of a single-page app (see spa.h for what is answered).
 *
 * Implementation notes:
 * - Defence in depth: the path is checked here (segments, escapes, bytes)
 *   before the port opens it, and the port opens it beneath the root
 *   directory with the kernel refusing any escape (openat2 RESOLVE_BENEATH),
 *   so a symlink inside the tree cannot lead out of it either.
 * - The API prefixes are checked on the raw path (what the router saw) and
 *   on the decoded one ("/%61pi/x" is still the API, never the SPA page).
 * - The decoded path lives in one static buffer: the server runs one
 *   handler at a time and nothing of it is kept after spa_serve returns.
 * - Every refusal is the family's plain 404 NOT_FOUND: a client learns
 *   nothing about why a path is not served.
 */
#include "fam/shared/spa.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "http/parse.h"

#define SPA_INDEX "index.html"

typedef struct {
    const char *ext;
    const char *type;
} mime_entry;

static const mime_entry k_mime[] = {
    { "html", "text/html; charset=utf-8" },
    { "htm", "text/html; charset=utf-8" },
    { "js", "text/javascript; charset=utf-8" },
    { "mjs", "text/javascript; charset=utf-8" },
    { "css", "text/css; charset=utf-8" },
    { "json", "application/json" },
    { "map", "application/json" },
    { "webmanifest", "application/manifest+json" },
    { "svg", "image/svg+xml" },
    { "png", "image/png" },
    { "jpg", "image/jpeg" },
    { "jpeg", "image/jpeg" },
    { "gif", "image/gif" },
    { "webp", "image/webp" },
    { "ico", "image/x-icon" },
    { "woff", "font/woff" },
    { "woff2", "font/woff2" },
    { "ttf", "font/ttf" },
    { "txt", "text/plain; charset=utf-8" },
    { "wasm", "application/wasm" },
};

/* The decoded request path, then the relative path opened beneath the root
 * (room for "/index.html" after the longest target). */
static char g_path[(size_t)CFG_HTTP_MAX_TARGET_BYTES + sizeof("/" SPA_INDEX) + 1u];
_Static_assert(sizeof g_path <= SPA_STATIC_BYTES, "SPA_STATIC_BYTES is this module's plan");

/* ---- pieces ------------------------------------------------------------------ */

const char *spa_mime(strv name)
{
    const char *type = "application/octet-stream";
    size_t i = name.n;
    /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
    while ((i > 0u) && (name.p[i - 1u] != '.') && (name.p[i - 1u] != '/')) {
        i--;
    }
    /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
    if ((i > 0u) && (name.p[i - 1u] == '.')) {
        strv ext = { name.p + i, name.n - i };
        size_t k;
        for (k = 0u; k < (sizeof(k_mime) / sizeof(k_mime[0])); k++) {
            if (strv_ieq_cstr(ext, k_mime[k].ext)) {
                type = k_mime[k].type;
                break;
            }
        }
    }
    return type;
}

size_t spa_etag(uint64_t size, uint64_t mtime_ns, char *buf, size_t cap)
{
    int k = snprintf(buf, cap, "\"%llx-%llx\"", (unsigned long long)size,
                     (unsigned long long)mtime_ns);
    if ((k < 0) || ((size_t)k >= cap)) {
        if (cap > 0u) {
            buf[0] = '\0';
        }
        return 0u;
    }
    return (size_t)k;
}

bool spa_etag_match(strv if_none_match, const char *etag)
{
    strv mine = strv_from_cstr(etag);
    size_t start = 0u;
    size_t i;
    bool hit = false;
    if (strv_starts_with_cstr(mine, "W/")) {
        mine.p += 2;
        mine.n -= 2u;
    }
    for (i = 0u; (i <= if_none_match.n) && !hit; i++) {
        /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
        if ((i == if_none_match.n) || (if_none_match.p[i] == ',')) {
            strv tag = strv_trim((strv){ if_none_match.p + start, i - start });
            start = i + 1u;
            if (strv_starts_with_cstr(tag, "W/")) {
                tag.p += 2;
                tag.n -= 2u;
            }
            hit = strv_eq_cstr(tag, "*") || ((tag.n > 0u) && strv_eq(tag, mine));
        }
    }
    return hit;
}

static bool prefix_hit(strv path, const char *prefix)
{
    size_t n = strlen(prefix);
    /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
    if ((n > 1u) && (prefix[n - 1u] == '/')) {
        n--;
    }
    if ((path.n < n) || !strv_eq((strv){ path.p, n }, (strv){ prefix, n })) {
        return false;
    }
    /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
    return (path.n == n) || (path.p[n] == '/');
}

bool spa_is_api(const spa_site *site, strv path)
{
    size_t i;
    for (i = 0u; i < site->napi; i++) {
        if (prefix_hit(path, site->api[i])) {
            return true;
        }
    }
    return false;
}

st_t spa_open(spa_site *site, const char *dir, const char *const *api, size_t napi)
{
    st_t st;
    site->on = false;
    site->root = PORT_FILE_NONE;
    site->api = api;
    site->napi = napi;
    st = port_root_open(dir, &site->root);
    site->on = (st == ST_OK);
    return st;
}

/* ---- the path ------------------------------------------------------------------ */

/* An encoded '/' or '\' in the raw path: a separator that would only appear
 * after decoding, the classic way around a segment check. */
static bool has_encoded_separator(strv raw)
{
    size_t i;
    bool bad = false;
    for (i = 0u; ((i + 2u) < raw.n) && !bad; i++) {
        /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
        if (raw.p[i] == '%') {
            strv esc = { raw.p + i + 1u, 2u };
            bad = strv_ieq_cstr(esc, "2f") || strv_ieq_cstr(esc, "5c");
        }
    }
    return bad;
}

/* Check the decoded path p[0..n) ("/a/b", "/", "/a/") and turn it in place
 * into the relative path to open ("a/b", "index.html", "a"); *want_dir:
 * the path ended in '/'. False: refused. */
static bool to_relative(char *p, size_t n, bool *want_dir)
{
    size_t i;
    size_t start = 1u;
    size_t end = n;
    bool ok = (n > 0u) && (p[0] == '/');
    *want_dir = false;
    for (i = 0u; (i < n) && ok; i++) {
        unsigned char ch = (unsigned char)p[i];
        if ((ch < 0x20u) || (ch == 0x7fu) || (ch == (unsigned char)'\\')) {
            ok = false;
        }
    }
    /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
    if (ok && (n > 1u) && (p[n - 1u] == '/')) {
        *want_dir = true;
        end = n - 1u;
        ok = (end > 1u);        /* a path of two slashes: an empty segment */
    }
    for (i = 1u; ok && (i <= end) && (end > 1u); i++) {
        /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
        if ((i == end) || (p[i] == '/')) {
            size_t len = i - start;
            bool dot = (len == 1u) && (p[start] == '.');
            bool dotdot = (len == 2u) && (p[start] == '.') && (p[start + 1u] == '.');
            ok = (len > 0u) && !dot && !dotdot;
            start = i + 1u;
        }
    }
    if (ok) {
        if (end <= 1u) {
            (void)memcpy(p, SPA_INDEX, sizeof SPA_INDEX);
        } else {
            (void)memmove(p, p + 1, end - 1u);
            p[end - 1u] = '\0';
        }
    }
    return ok;
}

/* ---- answers ---------------------------------------------------------------------- */

static void not_found(hctx *h)
{
    h->svc->error(h, 404, "NOT_FOUND", "Not found");
}

/* The entry page ("index.html", "<dir>/index.html"). */
static bool is_index(strv name)
{
    static const char tail[] = "/" SPA_INDEX;
    strv end;
    if (strv_eq_cstr(name, SPA_INDEX)) {
        return true;
    }
    if (name.n < sizeof tail) {
        return false;
    }
    end.p = name.p + (name.n - (sizeof(tail) - 1u));
    end.n = sizeof(tail) - 1u;
    return strv_eq_cstr(end, tail);
}

static void serve_file(hctx *h, port_file f, const port_file_info *fi, const char *name)
{
    char etag[48];
    strv inm = http_header_get(h->req, "If-None-Match");
    strv nm = strv_from_cstr(name);
    (void)spa_etag(fi->size, fi->mtime_ns, etag, sizeof etag);
    if ((inm.p != NULL) && spa_etag_match(inm, etag)) {
        port_file_close(f);
        hctx_begin(h, 304);
        hctx_header(h, "ETag", etag);
        hctx_end(h);
        return;
    }
    hctx_begin(h, 200);
    hctx_header(h, "Content-Type", spa_mime(nm));
    hctx_header(h, "ETag", etag);
    hctx_header(h, "X-Content-Type-Options", "nosniff");
    if (is_index(nm)) {
        /* The entry page names the hashed assets of the current build: have
         * the browser revalidate it (a 304 costs little). */
        hctx_header(h, "Cache-Control", "no-cache");
    }
    hctx_end_file(h, f, 0u, fi->size);
}

/* Open rel beneath the root as a regular file; a directory becomes its
 * index.html. *name: the path the file was opened as. */
static st_t open_target(const spa_site *site, char *rel, bool want_dir, port_file *f,
                        port_file_info *fi)
{
    st_t st = port_file_open_beneath(site->root, rel, f, fi);
    if ((st == ST_OK) && fi->is_dir) {
        size_t n = strlen(rel);
        port_file_close(*f);
        *f = PORT_FILE_NONE;
        (void)memcpy(rel + n, "/" SPA_INDEX, sizeof("/" SPA_INDEX));
        st = port_file_open_beneath(site->root, rel, f, fi);
        if ((st == ST_OK) && fi->is_dir) {
            port_file_close(*f);
            *f = PORT_FILE_NONE;
            st = ST_PERM;
        }
        if (st == ST_NOTFOUND) {
            st = ST_PERM;     /* a directory without an index: never listed */
        }
    } else if ((st == ST_OK) && want_dir) {
        /* "/file.js/": not the file */
        port_file_close(*f);
        *f = PORT_FILE_NONE;
        st = ST_NOTFOUND;
    } else {
        /* the file, or an error */
    }
    return st;
}

void spa_serve(const spa_site *site, hctx *h)
{
    strv raw = h->req->path;
    size_t n = 0u;
    bool want_dir = false;
    port_file f = PORT_FILE_NONE;
    port_file_info fi;
    st_t st;
    if (!site->on || spa_is_api(site, raw) || has_encoded_separator(raw) ||
        (http_pct_decode(raw, g_path, (size_t)CFG_HTTP_MAX_TARGET_BYTES, &n) != ST_OK) ||
        spa_is_api(site, (strv){ g_path, n }) || !to_relative(g_path, n, &want_dir)) {
        not_found(h);
        return;
    }
    st = open_target(site, g_path, want_dir, &f, &fi);
    if (st == ST_NOTFOUND) {
        /* SPA fallback: the app's router owns every other path. */
        (void)memcpy(g_path, SPA_INDEX, sizeof SPA_INDEX);
        st = port_file_open_beneath(site->root, g_path, &f, &fi);
        if ((st == ST_OK) && fi.is_dir) {
            port_file_close(f);
            st = ST_NOTFOUND;
        }
    }
    if (st == ST_OK) {
        serve_file(h, f, &fi, g_path);
    } else if (st == ST_NOMEM) {
        LOG_W("spa", "%s: out of file descriptors, 503", h->svc->family);
        h->svc->error(h, 503, "SERVICE_UNAVAILABLE", "Service unavailable");
    } else if ((st == ST_NOTFOUND) || (st == ST_PERM) || (st == ST_TOOBIG) ||
               (st == ST_INVAL)) {
        not_found(h);
    } else {
        LOG_W("spa", "%s: %s: %s", h->svc->family, g_path, status_str(st));
        h->svc->error(h, 500, "INTERNAL_ERROR", "Internal server error");
    }
}
