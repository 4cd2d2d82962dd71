#include "fam/rpg/rpg.h"

#include <stdio.h>

#include "core/clock.h"
#include "fam/shared/auth.h"
#include "fam/shared/fam.h"

static void health(hctx *h)
{
    json_w w;
    char ts[32];
    (void)clock_format(clock_wall_us(), CLOCK_FMT_Z3, ts, sizeof ts);
    fam_json_begin(h, 200, &w);
    json_w_obj_begin(&w);
    json_w_kbool(&w, "success", true);
    json_w_key(&w, "data");
    json_w_obj_begin(&w);
    json_w_kstr(&w, "status", "healthy");
    json_w_kstr(&w, "timestamp", ts);
    json_w_obj_end(&w);
    json_w_kbool(&w, "ok", true);
    json_w_obj_end(&w);
    fam_json_end(h, &w);
}

static const route k_routes[] = {
    { RM_GET, "/health", health, ROUTE_OPEN },
};

void rpg_error(hctx *h, int status, const char *code, const char *msg)
{
    json_w w;
    char text[200];
    int st = status;
    const char *cd = code;
    const char *ms = msg;
    if ((h->req != NULL) && ((status == 404) || (status == 405)) &&
        ((code[0] == 'N') || (code[0] == 'M'))) {
        int k = snprintf(text, sizeof text, "Route not found: %.*s %.*s",
                         (int)h->req->method_str.n, h->req->method_str.p,
                         (int)((h->req->path.n < 150u) ? h->req->path.n : 150u),
                         h->req->path.p);
        if (k > 0) {
            ms = text;
        }
        cd = "NOT_FOUND";
        st = 404;
    } else if (status == 500) {
        ms = "Internal server error";
    } else {
        /* as given */
    }
    fam_json_begin(h, st, &w);
    json_w_obj_begin(&w);
    json_w_kbool(&w, "success", false);
    json_w_key(&w, "error");
    json_w_obj_begin(&w);
    json_w_kstr(&w, "code", cd);
    json_w_kstr(&w, "message", ms);
    json_w_obj_end(&w);
    json_w_kbool(&w, "ok", false);
    json_w_kstr(&w, "message", ms);
    json_w_obj_end(&w);
    fam_json_end(h, &w);
}

/* Everything but /health and preflights follows rpg.auth (README §3). */
static bool rpg_authorize(hctx *h)
{
    if (!h->svc->auth_required || (auth_check(h, auth_query_allowed(h)) == AUTH_OK)) {
        return true;
    }
    rpg_error(h, 401, "UNAUTHORIZED", "Missing or invalid API key");
    return false;
}

const fam_routes rpg_routes = { k_routes, sizeof(k_routes) / sizeof(k_routes[0]) };

void rpg_setup(http_service *svc)
{
    svc->authorize = rpg_authorize;
    svc->bad_method_is_not_found = true;
}
