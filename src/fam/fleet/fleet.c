#include "fam/fleet/fleet.h"

#include <stdio.h>

#include "core/clock.h"
#include "core/uuid.h"
#include "fam/shared/fam.h"
#include "fam/shared/metrics.h"

static void health(hctx *h)
{
    fam_json_send(h, 200, "{\"status\":\"ok\",\"version\":\"" ROOST_VERSION "\"}");
}

static void metrics(hctx *h)
{
    size_t room = 0u;
    char *p;
    size_t n;
    hctx_begin(h, 200);
    hctx_header(h, "Content-Type", "text/plain; version=0.0.4");
    p = hctx_body(h, &room);
    n = metrics_render(p, room);
    if (n == 0u) {
        h->resp.overflow = true;
    } else {
        hctx_body_commit(h, n);
    }
    hctx_end(h);
}

static const route k_routes[] = {
    { RM_GET, "/health", health, ROUTE_OPEN },
    { RM_GET, "/metrics", metrics, 0u },
};

/* Writes the envelope's "meta" member. */
static void write_meta(hctx *h, json_w *w)
{
    char id[UUID_STR_BYTES];
    char ts[40];
    uint64_t spent_ms = (clock_mono_us() - h->start_us) / 1000u;
    if (uuid_v7(id) != ST_OK) {
        id[0] = '\0';
    }
    (void)clock_format(clock_wall_us(), CLOCK_FMT_OFF6, ts, sizeof ts);
    json_w_key(w, "meta");
    json_w_obj_begin(w);
    json_w_kstr(w, "request_id", id);
    json_w_kstr(w, "timestamp", ts);
    json_w_ku64(w, "response_time_ms", spent_ms);
    json_w_obj_end(w);
}

void fleet_error(hctx *h, int status, const char *code, const char *msg)
{
    json_w w;
    char text[160];
    const char *ms = msg;
    if ((status == 404) && (h->req != NULL) && (code[0] == 'N')) {
        /* unknown route: name it */
        int k = snprintf(text, sizeof text, "No route for %.*s %.*s",
                         (int)h->req->method_str.n, h->req->method_str.p,
                         (int)((h->req->path.n < 100u) ? h->req->path.n : 100u),
                         h->req->path.p);
        if (k > 0) {
            ms = text;
        }
    }
    fam_json_begin(h, status, &w);
    json_w_obj_begin(&w);
    json_w_knull(&w, "data");
    write_meta(h, &w);
    json_w_key(&w, "errors");
    json_w_arr_begin(&w);
    json_w_obj_begin(&w);
    json_w_kstr(&w, "code", code);
    json_w_kstr(&w, "message", ms);
    json_w_obj_end(&w);
    json_w_arr_end(&w);
    json_w_obj_end(&w);
    fam_json_end(h, &w);
}

void fleet_setup(http_service *svc)
{
    svc->family = "fleet";
    svc->routes = k_routes;
    svc->nroutes = sizeof(k_routes) / sizeof(k_routes[0]);
    svc->error = fleet_error;
    svc->fallback = NULL;
    svc->bad_method_is_not_found = false;
    svc->cors = CORS_STYLE_FLEET;
    svc->cors_credentials = false;
}
