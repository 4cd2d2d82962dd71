/*
 * rpg.c - the rpg family's routes (spec/rpg.md §4.1-§4.4, §9), its
 * envelope (§1.1-§1.3: success/data/error plus the upstream client's ok
 * and message), authorization (rpg.auth, README §3), the SPA of
 * rpg.web_dir, and the descriptor's hooks: init starts the tmux poller
 * (state.c) and registers the family's answers between families (the
 * pane of a Claude session, for observability's stop), streams registers
 * /ws, shutdown stops the poller.
 */
#include "fam/rpg/rpg_int.h"

#include "fam/rpg/game.h"

#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "fam/shared/auth.h"
#include "fam/shared/fam.h"
#include "fam/shared/spa.h"
#include "json/read.h"
#include "net/child.h"
#include "port.h"

static spa_site g_spa;
static const char *const k_api_prefixes[] = { "/api/", "/ws", "/health", "/event" };

/* A WebSocket upgrade is accepted on /ws only (§9, Decision 5): on any
 * other route it is answered as an unknown route. True when it answered. */
static bool upgrade_elsewhere(hctx *h)
{
    if ((h->req == NULL) ||
        !strv_ieq_cstr(http_header_get(h->req, "Upgrade"), "websocket")) {
        return false;
    }
    h->routed = false;
    rpg_error(h, 404, "NOT_FOUND", "Not found");
    return true;
}

static void health(hctx *h)
{
    json_w w;
    char ts[32];
    if (upgrade_elsewhere(h)) {
        return;
    }
    (void)clock_format(clock_wall_us(), CLOCK_FMT_Z3, ts, sizeof ts);
    rpg_ok_begin(h, &w);
    json_w_obj_begin(&w);
    json_w_kstr(&w, "status", "healthy");
    json_w_kstr(&w, "timestamp", ts);
    json_w_obj_end(&w);
    rpg_ok_end(h, &w);
}

static const route k_routes[] = {
    { RM_GET, "/health", health, ROUTE_OPEN },
    { RM(HTTP_M_POST), "/event", rpg_post_event, ROUTE_HOOK_BODY },
    { RM_GET, "/ws", rpg_ws_connect, 0u },
    { RM_GET, "/api/windows", rpg_get_windows, 0u },
    { RM(HTTP_M_POST), "/api/windows/create", rpg_window_create, 0u },
    { RM(HTTP_M_POST), "/api/windows/{id}/rename", rpg_window_rename, 0u },
    { RM(HTTP_M_POST), "/api/windows/{id}/close", rpg_window_close, 0u },
    { RM(HTTP_M_POST), "/api/windows/{id}/new-pane", rpg_window_new_pane, 0u },
    { RM(HTTP_M_POST), "/api/windows/{id}/new-claude", rpg_window_new_claude, 0u },
    { RM(HTTP_M_POST), "/api/panes/{id}/prompt", rpg_pane_prompt, 0u },
    { RM(HTTP_M_POST), "/api/panes/{id}/signal", rpg_pane_signal, 0u },
    { RM(HTTP_M_POST), "/api/panes/{id}/dismiss", rpg_pane_dismiss, 0u },
    { RM(HTTP_M_POST), "/api/panes/{id}/refresh", rpg_pane_refresh, 0u },
    { RM(HTTP_M_POST), "/api/panes/{id}/close", rpg_pane_close, 0u },
    { RM_GET, "/api/personas", rpg_personas_list, 0u },
    { RM_GET, "/api/personas/{id}", rpg_persona_get, 0u },
    { RM_GET, "/api/projects", rpg_projects_list, 0u },
    { RM_GET, "/api/projects/{id}", rpg_project_get, 0u },
    { RM_GET, "/api/quests", rpg_quests_list, 0u },
    { RM(HTTP_M_POST), "/api/quests", rpg_quest_create, 0u },
    { RM_GET, "/api/quests/{id}", rpg_quest_get, 0u },
    { RM(HTTP_M_PATCH), "/api/quests/{id}", rpg_quest_update, 0u },
    { RM(HTTP_M_PATCH), "/api/quests/{id}/phases/{phase}", rpg_phase_update, 0u },
    { RM_GET, "/api/xp/summary", rpg_xp_summary, 0u },
    { RM_GET, "/api/xp/timeline", rpg_xp_timeline, 0u },
    { RM_GET, "/api/avatars/{seed}", rpg_avatar_get, 0u },
};

/* ---- the envelope (§1.1) ------------------------------------------------------- */

void rpg_ok_begin(hctx *h, json_w *w)
{
    fam_json_begin(h, 200, w);
    json_w_obj_begin(w);
    json_w_kbool(w, "success", true);
    json_w_key(w, "data");
}

void rpg_ok_end(hctx *h, json_w *w)
{
    json_w_kbool(w, "ok", true);
    json_w_obj_end(w);
    fam_json_end(h, w);
}

void rpg_ok_raw(hctx *h, const char *data)
{
    json_w w;
    rpg_ok_begin(h, &w);
    json_w_raw(&w, data, strlen(data));
    rpg_ok_end(h, &w);
}

void rpg_error(hctx *h, int status, const char *code, const char *msg)
{
    json_w w;
    char text[200];
    int st = status;
    const char *cd = code;
    const char *ms = msg;
    if ((h->req != NULL) && ((status == 404) || (status == 405)) &&
        ((code[0] == 'N') || (code[0] == 'M')) && !h->routed) {
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

bool rpg_body_obj(hctx *h, json_doc *d)
{
    json_err e;
    if ((h->body.n == 0u) || (json_parse(d, h->body.p, h->body.n, &e) != ST_OK)) {
        rpg_error(h, 400, "INVALID_JSON", "Invalid JSON body");
        return false;
    }
    if (json_type(d, json_root(d)) != JSON_OBJECT) {
        json_release(d);
        rpg_error(h, 400, "INVALID_JSON", "Invalid JSON body");
        return false;
    }
    return true;
}

size_t rpg_chars(const char *s, size_t n)
{
    size_t c = 0u;
    size_t i;
    for (i = 0u; i < n; i++) {
        if ((((unsigned char)s[i]) & 0xC0u) != 0x80u) {
            c++;
        }
    }
    return c;
}

/* Everything but /health and preflights follows rpg.auth (README §3). */
static bool rpg_authorize(hctx *h)
{
    if (h->routed && (h->match.rt->fn != rpg_ws_connect) && upgrade_elsewhere(h)) {
        return false;
    }
    if (!h->svc->auth_required || (auth_check(h, auth_query_allowed(h)) == AUTH_OK)) {
        return true;
    }
    rpg_error(h, 401, "UNAUTHORIZED", "Missing or invalid API key");
    return false;
}

static void rpg_spa(hctx *h)
{
    if (upgrade_elsewhere(h)) {
        return;
    }
    spa_serve(&g_spa, h);
}

const fam_routes rpg_routes = { k_routes, sizeof(k_routes) / sizeof(k_routes[0]) };

void rpg_setup(http_service *svc)
{
    svc->authorize = rpg_authorize;
    svc->bad_method_is_not_found = true;
    svc->fallback = g_spa.on ? rpg_spa : NULL;
}

st_t rpg_init(const fam_env *env)
{
    static char s_tmux[256];
    static char s_git[256];
    const char *dir = env->str("rpg.web_dir");
    st_t st = spa_open(&g_spa, dir, k_api_prefixes,
                       sizeof(k_api_prefixes) / sizeof(k_api_prefixes[0]));
    if (st == ST_OK) {
        LOG_I("rpg", "serving the web app from %s", dir);
    } else if (st != ST_NOTFOUND) {
        LOG_W("rpg", "web app directory %s: %s", dir, status_str(st));
    } else {
        /* no web app */
    }
    rpg_hooks_init((uint32_t)env->num("rpg.events_retention_days"));
    rpg_avatar_init(env->data_dir);
    if (env->num("rpg.enabled") == 0u) {
        return ST_OK;       /* no listener: no poller either */
    }
    if (!child_supported()) {
        LOG_I("rpg", "no child processes in this build: windows and panes are unsupported");
        return ST_OK;
    }
    if (port_path_find("tmux", s_tmux, sizeof s_tmux) != ST_OK) {
        s_tmux[0] = '\0';
    }
    if (port_path_find("git", s_git, sizeof s_git) != ST_OK) {
        s_git[0] = '\0';
    }
    rpg_projects_init(s_git);
    rpg_state_start((uint32_t)env->num("rpg.poll_interval_ms"),
                    (uint32_t)env->num("rpg.terminal_capture_lines"), s_tmux);
    return ST_OK;
}

void rpg_streams(const fam_env *env)
{
    rpg_ws_streams((uint32_t)env->num("rpg.ws_heartbeat_ms"), env->num("rpg.ws_pause_bytes"),
                   env->num("rpg.ws_resume_bytes"), env->num("rpg.ws_max_buffer_bytes"));
}

void rpg_shutdown(void)
{
    rpg_state_stop();
}
