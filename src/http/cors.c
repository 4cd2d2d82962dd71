#include "http/cors.h"

#include "http/server.h"

static strv origin_of(const hctx *h)
{
    return (h->req != NULL) ? http_header_get(h->req, "Origin") : STRV_NULL;
}

bool cors_origin_allowed(const struct http_service *svc, strv origin)
{
    size_t i;
    if (svc->cors_any) {
        return true;
    }
    for (i = 0u; i < svc->ncors_origins; i++) {
        if (strv_eq(svc->cors_origins[i], origin)) {
            return true;
        }
    }
    return false;
}

/* CORS_STYLE_ECHO's fixed lists, from the service (its descriptor). */
static void echo_lists(hctx *h)
{
    const http_service *svc = h->svc;
    if (svc->cors_methods != NULL) {
        resp_header_cstr(&h->resp, "Access-Control-Allow-Methods", svc->cors_methods);
    }
    if (svc->cors_headers != NULL) {
        resp_header_cstr(&h->resp, "Access-Control-Allow-Headers", svc->cors_headers);
    }
}

void cors_add_headers(hctx *h)
{
    const http_service *svc = h->svc;
    strv origin = origin_of(h);
    bool has_origin = (origin.p != NULL);
    switch (svc->cors) {
    case CORS_STYLE_TOWER:
        if (svc->cors_any) {
            resp_header_cstr(&h->resp, "Access-Control-Allow-Origin", "*");
        } else if (has_origin && cors_origin_allowed(svc, origin)) {
            resp_header(&h->resp, "Access-Control-Allow-Origin", origin);
            resp_header_cstr(&h->resp, "Vary", "Origin");
        } else {
            /* unlisted origin: no header */
        }
        break;
    case CORS_STYLE_ECHO:
        if (!has_origin) {
            resp_header_cstr(&h->resp, "Access-Control-Allow-Origin", "*");
            echo_lists(h);
        } else if (cors_origin_allowed(svc, origin)) {
            resp_header(&h->resp, "Access-Control-Allow-Origin", origin);
            echo_lists(h);
        } else {
            /* unlisted origin: no CORS headers */
        }
        break;
    case CORS_STYLE_FASTAPI:
    default:
        if (has_origin && cors_origin_allowed(svc, origin)) {
            resp_header(&h->resp, "Access-Control-Allow-Origin", origin);
            if (svc->cors_credentials) {
                resp_header_cstr(&h->resp, "Access-Control-Allow-Credentials", "true");
            }
            resp_header_cstr(&h->resp, "Vary", "Origin");
        }
        break;
    }
}

bool cors_preflight(hctx *h)
{
    const http_service *svc = h->svc;
    strv origin = origin_of(h);
    strv req_method;
    strv req_headers;
    if ((h->req == NULL) || (h->req->method != HTTP_M_OPTIONS)) {
        return false;
    }
    req_method = http_header_get(h->req, "Access-Control-Request-Method");
    if (req_method.p == NULL) {
        return false;
    }
    req_headers = http_header_get(h->req, "Access-Control-Request-Headers");
    switch (svc->cors) {
    case CORS_STYLE_TOWER:
        hctx_begin(h, 200);   /* adds Allow-Origin as for any response */
        resp_header(&h->resp, "Access-Control-Allow-Methods",
                    (req_method.n > 0u) ? req_method : STRV_LIT("*"));
        resp_header(&h->resp, "Access-Control-Allow-Headers",
                    (req_headers.p != NULL) ? req_headers : STRV_LIT("*"));
        hctx_end(h);
        return true;
    case CORS_STYLE_ECHO:
        hctx_begin(h, 204);   /* allow-origin only when allowed */
        if ((origin.p != NULL) && !cors_origin_allowed(svc, origin)) {
            echo_lists(h);
        }
        resp_header_cstr(&h->resp, "Access-Control-Max-Age", "86400");
        hctx_end(h);
        return true;
    case CORS_STYLE_FASTAPI:
    default:
        if (origin.p == NULL) {
            return false;     /* not a CORS request: routed normally (405) */
        }
        if (!cors_origin_allowed(svc, origin)) {
            hctx_send(h, 400, "text/plain; charset=utf-8", "Disallowed CORS origin",
                      sizeof "Disallowed CORS origin" - 1u);
            return true;
        }
        hctx_begin(h, 200);
        resp_header_cstr(&h->resp, "Access-Control-Allow-Methods",
                         "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT");
        if (req_headers.p != NULL) {
            resp_header(&h->resp, "Access-Control-Allow-Headers", req_headers);
        }
        resp_header_cstr(&h->resp, "Access-Control-Max-Age", "600");
        resp_header_cstr(&h->resp, "Content-Type", "text/plain; charset=utf-8");
        resp_body_append(&h->resp, "OK", 2u);
        hctx_end(h);
        return true;
    }
}
