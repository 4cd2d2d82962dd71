#include "fam/shared/fam.h"

#include "fam/shared/auth.h"
#include "store/store.h"

#include <string.h>

void fam_json_begin(hctx *h, int status, json_w *w)
{
    size_t room = 0u;
    char *p;
    hctx_begin(h, status);
    hctx_header(h, "Content-Type", "application/json");
    fam_error_headers(h, status);
    p = hctx_body(h, &room);
    json_w_init(w, p, room);
}

void fam_json_end(hctx *h, json_w *w)
{
    size_t n = 0u;
    if (json_w_finish(w, &n) != ST_OK) {
        h->resp.overflow = true;   /* hctx_end answers the family's 500 */
    } else {
        hctx_body_commit(h, n);
    }
    hctx_end(h);
}

void fam_json_send(hctx *h, int status, const char *json)
{
    hctx_begin(h, status);
    hctx_header(h, "Content-Type", "application/json");
    fam_error_headers(h, status);
    resp_body_append(&h->resp, json, strlen(json));
    hctx_end(h);
}

void fam_error_headers(hctx *h, int status)
{
    if ((status == 405) && (h->allow != 0u)) {
        char allow[80];
        (void)router_allow_str(h->allow, allow, sizeof allow);
        hctx_header(h, "Allow", allow);
    } else if (status == 503) {
        hctx_header(h, "Retry-After", "1");
    } else {
        /* no extra headers */
    }
}

void fam_fastapi_error(hctx *h, int status, const char *code, const char *msg)
{
    json_w w;
    const char *detail = msg;
    /* The server's own codes get Starlette's exact texts; a handler's
     * resource message ("Session not found") is kept. */
    if (strcmp(code, "NOT_FOUND") == 0) {
        detail = "Not Found";
    } else if (strcmp(code, "METHOD_NOT_ALLOWED") == 0) {
        detail = "Method Not Allowed";
    } else if (strcmp(code, "PAYLOAD_TOO_LARGE") == 0) {
        detail = "Request body too large";
    } else if (strcmp(code, "INTERNAL_ERROR") == 0) {
        detail = "Internal Server Error";
    } else if (strcmp(code, "SERVICE_UNAVAILABLE") == 0) {
        detail = "Service unavailable";
    } else {
        /* keep msg */
    }
    fam_json_begin(h, status, &w);
    json_w_obj_begin(&w);
    json_w_kstr(&w, "detail", detail);
    json_w_obj_end(&w);
    fam_json_end(h, &w);
}

/* FastAPI families: routes follow <family>.auth; an unknown path stays 404
 * (no dependency runs when no route matched). */
static bool fastapi_authorize(hctx *h)
{
    if (!h->svc->auth_required || !h->routed ||
        (auth_check(h, auth_query_allowed(h)) == AUTH_OK)) {
        return true;
    }
    hctx_begin(h, 401);
    hctx_header(h, "Content-Type", "application/json");
    hctx_header(h, "WWW-Authenticate", "Bearer");
    resp_body_append(&h->resp, "{\"detail\":\"Not authenticated\"}",
                     sizeof("{\"detail\":\"Not authenticated\"}") - 1u);
    hctx_end(h);
    return false;
}

void fam_fastapi_setup(http_service *svc)
{
    svc->authorize = fastapi_authorize;
}

void fam_kcol_str(json_w *w, const char *key, sqlite3_stmt *q, int col)
{
    if (store_col_is_null(q, col)) {
        json_w_knull(w, key);
    } else {
        strv v = store_col_text(q, col);
        json_w_kstrn(w, key, v.p, v.n);
    }
}

void fam_kcol_int(json_w *w, const char *key, sqlite3_stmt *q, int col)
{
    if (store_col_is_null(q, col)) {
        json_w_knull(w, key);
    } else {
        json_w_ki64(w, key, store_col_int64(q, col));
    }
}

void fam_kcol_raw(json_w *w, const char *key, sqlite3_stmt *q, int col)
{
    if (store_col_is_null(q, col)) {
        json_w_knull(w, key);
    } else {
        strv v = store_col_text(q, col);
        json_w_kraw(w, key, v.p, v.n);
    }
}
