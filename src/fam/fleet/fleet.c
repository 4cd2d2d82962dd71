#include "fam/fleet/fleet.h"

#include <string.h>

#include "core/log.h"
#include "fam/fleet/api.h"
#include "fam/fleet/builder.h"
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

/* The whole page into buf (cap bytes); its length, 0 when it does not fit. */
static size_t metrics_page(char *buf, size_t cap)
{
    size_t n = metrics_render(buf, cap);
    if (n > 0u) {
        size_t k = fleet_events_metrics(&buf[n], cap - n);
        size_t c = (k > 0u) ? fleet_chat_metrics(&buf[n + k], cap - n - k) : 0u;
        size_t b = (c > 0u) ? builder_metrics(&buf[n + k + c], cap - n - k - c) : 0u;
        n = (b == 0u) ? 0u : (n + k + c + b);
    }
    return n;
}

/* /metrics streams in whole lines: each piece renders the page again into
 * the render scratch and takes the lines from the next one on that fit, so
 * every line is a consistent sample, however long the page grows. */
typedef struct {
    size_t line;                  /* lines sent so far */
} metrics_state;

/* Bytes of the line at p (its newline included), at most n. */
static size_t line_len(const char *p, size_t n)
{
    size_t i = 0u;
    while ((i < n) && (p[i] != '\n')) {
        i++;
    }
    if (i < n) {
        i++;      /* the newline */
    }
    return i;
}

static size_t metrics_produce(void *state, char *buf, size_t cap, bool *done)
{
    metrics_state *st = (metrics_state *)state;
    size_t scap = 0u;
    char *page = http_render_scratch(&scap);
    size_t n = metrics_page(page, scap);
    size_t at = 0u;
    size_t skipped = 0u;
    size_t out = 0u;
    *done = false;
    while ((at < n) && (skipped < st->line)) {
        at += line_len(&page[at], n - at);
        skipped++;
    }
    while (at < n) {
        size_t len = line_len(&page[at], n - at);
        if ((out + len) > cap) {
            break;
        }
        (void)memcpy(&buf[out], &page[at], len);
        out += len;
        at += len;
        st->line++;
    }
    if (at >= n) {
        *done = true;
    }
    return out;
}

static void metrics(hctx *h)
{
    metrics_state st = { 0u };
    hctx_begin(h, 200);
    hctx_header(h, "Content-Type", "text/plain; version=0.0.4");
    hctx_end_stream(h, metrics_produce, &st, sizeof st);
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
    /* §5.8 builder, §10.4 its WebSocket */
    { RM(HTTP_M_POST), V1 "/builder/sessions", builder_start, 0u },
    { RM(HTTP_M_POST), V1 "/builder/sessions/{sid}/answer", builder_answer, 0u },
    { RM(HTTP_M_POST), V1 "/builder/sessions/{sid}/assemble", builder_assemble, 0u },
    { RM(HTTP_M_POST), V1 "/builder/sessions/{sid}/create-skill", builder_create_skill, 0u },
    { RM_GET, V1 "/builder/sessions/{sid}", builder_get, BIG },
    { RM(HTTP_M_DELETE), V1 "/builder/sessions/{sid}", builder_delete, 0u },
    { RM(HTTP_M_POST), V1 "/builder/sessions/{sid}/reconfigure", builder_reconfigure, 0u },
    { RM_GET, V1 "/builder/drafts", builder_drafts, BIG },
    { RM_GET, "/ws/builder/{sid}", builder_ws, 0u },
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

const fam_routes fleet_routes = { k_routes, sizeof(k_routes) / sizeof(k_routes[0]) };

void fleet_setup(http_service *svc)
{
    svc->authorize = fleet_authorize;
    svc->fallback = g_spa.on ? fleet_spa : NULL;
}

st_t fleet_init(const fam_env *env)
{
    fleet_set_data_dir(env->data_dir);
    fleet_events_init();
    fleet_chat_init(env->llm);
    builder_init(env->str("llm.builder_provider"), env->str("llm.builder_model"),
                 (uint32_t)env->num("fleet.ws_heartbeat_ms"));
    /* Roll SOUL.md forward where a crash fell between the version's commit
     * and the file's rename (soul.c explains). */
    soul_recover();
    if (env->num("fleet.enabled") != 0u) {
        (void)fleet_set_web_dir(env->str("fleet.web_dir"));   /* before setup */
    }
    return ST_OK;
}

void fleet_streams(const fam_env *env)
{
    fleet_events_set_heartbeat_ms((uint32_t)env->num("fleet.ws_heartbeat_ms"));
}
