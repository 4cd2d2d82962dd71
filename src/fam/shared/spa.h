/*
 * spa.h - the static files of a single-page app (spec README §6.5), shared
 * by the listeners that serve one (fleet: fleet.web_dir, rpg: rpg.web_dir).
 *
 * A family keeps one spa_site, opens it at startup with its web directory
 * and its API prefixes, and installs a fallback (http_service.fallback,
 * called for GET/HEAD that match no route) that calls spa_serve.
 *
 * What spa_serve answers:
 *   - a path under an API prefix: the family's 404 NOT_FOUND (the SPA never
 *     shadows the API);
 *   - "/" -> index.html; "/dir/" or "/dir" -> dir/index.html; a file ->
 *     the file, Content-Type from its extension, a strong ETag built from
 *     size and mtime, 304 when If-None-Match matches;
 *   - a path that names nothing -> index.html with 200 (SPA fallback);
 *   - refused with the family's 404: "." / ".." segments, empty segments,
 *     encoded '/' or '\' (%2f, %5c), a backslash, NUL or any control byte,
 *     malformed %-escapes, symlinks that lead out of the directory, a
 *     directory without index.html (no listing), FIFOs and devices;
 *   - 503 when CFG_FILE_STREAMS files are already streaming or the process
 *     is out of descriptors; 500 on an I/O error.
 * Bodies are streamed from the file through the connection's tx buffer
 * (hctx_end_file); nothing is loaded whole.
 */
#ifndef ROOST_FAM_SPA_H
#define ROOST_FAM_SPA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "core/strv.h"
#include "http/server.h"
#include "port.h"

/* Static storage of this module (the path being resolved), for the plan. */
#define SPA_STATIC_BYTES ((size_t)CFG_HTTP_MAX_TARGET_BYTES + 64u)

typedef struct {
    bool on;                       /* the web directory exists and is open */
    port_file root;
    const char *const *api;        /* API prefixes, e.g. "/api/", "/health" */
    size_t napi;
} spa_site;

/* Open dir as the site's root and remember the API prefixes (the array
 * must outlive the site). A prefix matches the path equal to it without a
 * trailing '/' and everything below it: "/api/" matches "/api" and
 * "/api/x"; "/health" matches "/health" and "/health/x", not "/healthz".
 * ST_OK: site->on. ST_NOTFOUND when dir does not exist or is not a
 * directory, other codes from port_root_open: site->on false. */
st_t spa_open(spa_site *site, const char *dir, const char *const *api, size_t napi);
/* True when the raw request path lies under one of the API prefixes. */
bool spa_is_api(const spa_site *site, strv path);
/* Answer a GET/HEAD that no route matched (see above). h->req != NULL. */
void spa_serve(const spa_site *site, hctx *h);

/* Content-Type for a file name, by its extension (ASCII case-insensitive);
 * "application/octet-stream" when unknown. Never NULL. */
const char *spa_mime(strv name);
/* The ETag of a file: "\"<size hex>-<mtime ns hex>\"" into buf (NUL
 * terminated); returns its length, 0 when cap is too small. */
size_t spa_etag(uint64_t size, uint64_t mtime_ns, char *buf, size_t cap);
/* Whether an If-None-Match value ("*" or a list of entity tags, weak or
 * strong) matches etag, by the weak comparison of RFC 9110 §13.1.2. */
bool spa_etag_match(strv if_none_match, const char *etag);

#endif
