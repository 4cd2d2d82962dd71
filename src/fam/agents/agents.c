#include "fam/agents/agents.h"

#include "fam/shared/fam.h"

static void health(hctx *h)
{
    fam_json_send(h, 200, "{\"status\":\"healthy\"}");
}

static const route k_routes[] = {
    { RM_GET, "/health", health, ROUTE_OPEN },
};

void agents_setup(http_service *svc)
{
    fam_fastapi_setup(svc, "agents", k_routes, sizeof(k_routes) / sizeof(k_routes[0]), true);
}
