#include "fam/obs/obs.h"

#include "fam/shared/fam.h"

static void health(hctx *h)
{
    fam_json_send(h, 200, "{\"status\":\"healthy\",\"service\":\"observability\"}");
}

static const route k_routes[] = {
    { RM_GET, "/health", health, ROUTE_OPEN },
};

void obs_setup(http_service *svc)
{
    fam_fastapi_setup(svc, "observability", k_routes, sizeof(k_routes) / sizeof(k_routes[0]),
                      false);
}
