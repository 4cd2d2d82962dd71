/*
 * obs.c - the observability family (spec/observability.md): its route table
 * and the descriptor's hooks (desc.c). The routes live in events.c and
 * sessions.c, the common helpers and validation in api.c (obs_int.h), the
 * hooks rpg passes on in hooks.c. Its init also registers, through
 * fam/shared/xfam.h, the answer agents asks for (Decision 8: whether a
 * session of an agent is running) and the recorder rpg asks for every hook
 * posted to its POST /event (Decision 9).
 */
#include "fam/obs/obs.h"

#include "fam/obs/obs_int.h"
#include "fam/shared/fam.h"
#include "fam/shared/xfam.h"

/* ---- routes ------------------------------------------------------------------ */

static void health(hctx *h)
{
    fam_json_send(h, 200, "{\"status\":\"healthy\",\"service\":\"observability\"}");
}

static const route k_routes[] = {
    { RM_GET, "/health", health, ROUTE_OPEN },
    { RM(HTTP_M_POST), "/events", obs_post_event, ROUTE_HOOK_BODY | ROUTE_BIG_OUT },
    { RM_GET, "/sessions", obs_list_sessions, ROUTE_BIG_OUT },
    { RM_GET, "/events/{session_id}", obs_list_events, ROUTE_BIG_OUT },
    { RM(HTTP_M_PATCH), "/sessions/{session_id}/metadata", obs_patch_session_meta, ROUTE_BIG_OUT },
    { RM(HTTP_M_DELETE), "/sessions/{session_id}", obs_delete_session, 0u },
    { RM(HTTP_M_POST), "/sessions/{session_id}/stop", obs_stop_session, 0u },
    { RM_GET, "/ws", obs_ws_connect, ROUTE_BIG_OUT },
};

const fam_routes obs_routes = { k_routes, sizeof(k_routes) / sizeof(k_routes[0]) };

st_t obs_init(const fam_env *env)
{
    obs_set_stop_grace_ms((uint32_t)env->num("observability.stop_grace_ms"));
    obs_hooks_init(env);
    xfam_set_agent_running(obs_agent_running);
    xfam_set_hook_record(obs_hook_record);
    return ST_OK;
}
