/*
 * docs.c - the documents family (spec/documents.md): its route table, the
 * descriptor's init hook (the documents directory under the data directory,
 * then the sweep of what an interrupted upload left) and the paths and ids
 * the other files share (docs_int.h).
 *
 * Route order matters (router.h: the first row that matches wins): the
 * literal /documents/tags comes before /documents/{id}, for GET only, so a
 * PATCH or DELETE of /documents/tags reaches {id} and is a 404 "Document
 * not found" as any id outside ^doc_[0-9a-f]{24}$ is (§1, Decision 1).
 */
#include "fam/docs/docs.h"

#include <string.h>

#include "config.h"
#include "core/log.h"
#include "fam/docs/docs_int.h"
#include "fam/shared/fam.h"
#include "port.h"

#define DOCS_SUBDIR "/documents"

/* <data_dir>/documents, set by docs_init. */
static char g_dir[(size_t)CFG_CONF_VALUE_BYTES + sizeof(DOCS_SUBDIR)];

_Static_assert(sizeof(g_dir) <= DOCS_DIR_BYTES, "DOCS_DIR_BYTES is the plan of docs.c");

/* ---- routes ------------------------------------------------------------------ */

static void health(hctx *h)
{
    fam_json_send(h, 200, "{\"status\":\"healthy\",\"service\":\"document-sync-server\"}");
}

static const route k_routes[] = {
    { RM_GET, "/health", health, ROUTE_OPEN },
    { RM_GET, "/documents", docs_list, ROUTE_BIG_OUT },
    { RM(HTTP_M_POST), "/documents", docs_upload, ROUTE_STREAM_BODY | ROUTE_BIG_OUT },
    { RM_GET, "/documents/tags", docs_tags, ROUTE_BIG_OUT },
    { RM_GET, "/documents/{id}/metadata", docs_metadata, ROUTE_BIG_OUT },
    { RM_GET, "/documents/{id}", docs_download, 0u },
    { RM(HTTP_M_PATCH), "/documents/{id}", docs_patch, ROUTE_BIG_OUT },
    { RM(HTTP_M_DELETE), "/documents/{id}", docs_delete, 0u },
};

const fam_routes docs_routes = { k_routes, sizeof(k_routes) / sizeof(k_routes[0]) };

/* ---- init ---------------------------------------------------------------------- */

st_t docs_init(const fam_env *env)
{
    size_t n = strlen(env->data_dir);
    st_t st;
    if ((n + sizeof(DOCS_SUBDIR)) > sizeof g_dir) {
        LOG_E("docs", "data_dir too long for the documents directory");
        return ST_TOOBIG;
    }
    (void)memcpy(g_dir, env->data_dir, n);
    (void)memcpy(g_dir + n, DOCS_SUBDIR, sizeof(DOCS_SUBDIR));   /* with its NUL */
    st = port_mkdir_p(g_dir, 0700u);
    if (st != ST_OK) {
        LOG_E("docs", "cannot create %s: %s", g_dir, status_str(st));
        return st;
    }
    return docs_sweep();
}

/* ---- ids and paths ----------------------------------------------------------------- */

bool docs_id_valid(strv id)
{
    size_t i;
    bool ok = (id.n == DOCS_ID_LEN) && strv_starts_with_cstr(id, "doc_");
    for (i = 4u; ok && (i < id.n); i++) {
        char c = id.p[i];
        ok = ((c >= '0') && (c <= '9')) || ((c >= 'a') && (c <= 'f'));
    }
    return ok;
}

const char *docs_dir(void)
{
    return g_dir;
}

bool docs_path(char *buf, size_t cap, const char *name)
{
    size_t d = strlen(g_dir);
    size_t n = strlen(name);
    if ((cap == 0u) || ((d + 1u + n) >= cap)) {
        return false;
    }
    (void)memcpy(buf, g_dir, d);
    buf[d] = '/';
    (void)memcpy(buf + d + 1u, name, n);
    buf[d + 1u + n] = '\0';
    return true;
}
