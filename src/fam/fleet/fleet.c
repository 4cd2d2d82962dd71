#include "fam/fleet/fleet.h"

#include <string.h>

#include "core/log.h"
#include "fam/fleet/api.h"
#include "fam/fleet/chat.h"
#include "fam/fleet/events.h"
#include "fam/fleet/handlers.h"
#include "fam/shared/auth.h"
#include "fam/shared/fam.h"
#include "fam/shared/metrics.h"
#include "fam/shared/spa.h"

/* README §6.5: never shadowed by the SPA. */
static const char *const k_api_prefixes[] = { "/api/", "/ws/", "/health", "/metrics" };
static spa_site g_spa;

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
    if (n > 0u) {
        size_t k = fleet_events_metrics(&p[n], room - n);
        size_t c = (k > 0u) ? fleet_chat_metrics(&p[n + k], room - n - k) : 0u;
        if (c == 0u) {
            n = 0u;    /* did not fit: the family's 500 */
        } else {
            n += k + c;
        }
    }
    if (n == 0u) {
        h->resp.overflow = true;
    } else {
        hctx_body_commit(h, n);
    }
    hctx_end(h);
}

#define BIG ROUTE_BIG_OUT
#define V1 "/api/v1"

static const route k_routes[] = {
    { RM_GET, "/health", health, ROUTE_OPEN },
    { RM_GET, "/metrics", metrics, BIG },
    { RM_GET, "/ws/events", fleet_events_ws, 0u },
    /* §5.1 bots */
    { RM(HTTP_M_POST), V1 "/bots", bots_create, BIG },
    { RM_GET, V1 "/bots", bots_list, BIG },
    { RM_GET, V1 "/bots/{id}", bots_get, BIG },
    { RM(HTTP_M_PUT), V1 "/bots/{id}", bots_update, BIG },
    { RM(HTTP_M_DELETE), V1 "/bots/{id}", bots_delete, 0u },
    { RM(HTTP_M_POST), V1 "/bots/{id}/clone", bots_clone, BIG },
    { RM(HTTP_M_POST), V1 "/bots/{id}/chat/stream", fleet_chat_stream, 0u },
    /* §5.2 soul */
    { RM_GET, V1 "/bots/{id}/soul", souls_get, BIG },
    { RM(HTTP_M_PUT), V1 "/bots/{id}/soul", souls_put, BIG },
    { RM_GET, V1 "/bots/{id}/soul/versions", souls_versions, BIG },
    { RM_GET, V1 "/bots/{id}/soul/versions/{version}", souls_version, BIG },
    { RM(HTTP_M_POST), V1 "/bots/{id}/soul/rollback", souls_rollback, BIG },
    { RM_GET, V1 "/bots/{id}/soul/verify", souls_verify, 0u },
    /* §5.3 identity and user files */
    { RM_GET, V1 "/bots/{id}/identity", files_identity_get, BIG },
    { RM(HTTP_M_PUT), V1 "/bots/{id}/identity", files_identity_put, BIG },
    { RM_GET, V1 "/bots/{id}/user", files_user_get, BIG },
    { RM(HTTP_M_PUT), V1 "/bots/{id}/user", files_user_put, BIG },
    /* §5.4 sessions, §5.5 stats */
    { RM_GET, V1 "/bots/{id}/sessions", sessions_list, BIG },
    { RM_GET, V1 "/sessions/{sid}", sessions_get, 0u },
    { RM_GET, V1 "/sessions/{sid}/messages", sessions_messages, BIG },
    { RM(HTTP_M_DELETE), V1 "/sessions/{sid}", sessions_delete, 0u },
    { RM(HTTP_M_POST), V1 "/sessions/{sid}/clear", sessions_clear, 0u },
    { RM_GET, V1 "/stats", sessions_stats, 0u },
    /* §5.6 skills */
    { RM_GET, V1 "/skills", skills_list, BIG },
    { RM_GET, V1 "/skills/{name}", skills_get, BIG },
    { RM_GET, V1 "/bots/{id}/skills", skills_bot_list, BIG },
    { RM(HTTP_M_POST), V1 "/bots/{id}/skills", skills_attach, 0u },
    { RM(HTTP_M_PATCH), V1 "/bots/{id}/skills/{name}", skills_patch, 0u },
    { RM(HTTP_M_DELETE), V1 "/bots/{id}/skills/{name}", skills_detach, 0u },
    /* §5.7 secrets */
    { RM_GET, V1 "/secrets", secrets_list, BIG },
    { RM(HTTP_M_PUT), V1 "/secrets/{key}", secrets_put, 0u },
    { RM(HTTP_M_DELETE), V1 "/secrets/{key}", secrets_delete, 0u },
};

/* /api/v1 always needs the key (as upstream, whatever fleet.auth says);
 * /metrics and the WebSockets follow fleet.auth; SPA files are open. */
static bool fleet_authorize(hctx *h)
{
    bool api = (h->req != NULL) && strv_starts_with_cstr(h->req->path, "/api/");
    auth_result r;
    if (!api && (!h->svc->auth_required || !h->routed)) {
        return true;
    }
    r = auth_check(h, auth_query_allowed(h));
    if (r == AUTH_OK) {
        return true;
    }
    fleet_fail(h, 401, "UNAUTHORIZED",
               (r == AUTH_MISSING)
                   ? "Missing API key. Provide via 'Authorization: Bearer <key>' or "
                     "'X-API-Key: <key>' header."
                   : "Invalid API key. Provide a valid key via 'Authorization: Bearer "
                     "<key>' or 'X-API-Key: <key>' header.");
    return false;
}

void fleet_error(hctx *h, int status, const char *code, const char *msg)
{
    fleet_fail(h, status, code, msg);
}

static void fleet_spa(hctx *h)
{
    spa_serve(&g_spa, h);
}

bool fleet_set_web_dir(const char *dir)
{
    st_t st = spa_open(&g_spa, dir, k_api_prefixes,
                       sizeof(k_api_prefixes) / sizeof(k_api_prefixes[0]));
    if (st == ST_OK) {
        LOG_I("fleet", "serving the web app from %s", dir);
    } else if (st == ST_NOTFOUND) {
        LOG_I("fleet", "no web app: %s does not exist", dir);
    } else {
        LOG_W("fleet", "web app directory %s: %s", dir, status_str(st));
    }
    return g_spa.on;
}

void fleet_setup(http_service *svc)
{
    svc->family = "fleet";
    svc->routes = k_routes;
    svc->nroutes = sizeof(k_routes) / sizeof(k_routes[0]);
    svc->error = fleet_error;
    svc->authorize = fleet_authorize;
    svc->fallback = g_spa.on ? fleet_spa : NULL;
    svc->bad_method_is_not_found = false;
    svc->cors = CORS_STYLE_FLEET;
    svc->cors_credentials = false;
}
