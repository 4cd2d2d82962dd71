#include "fam/docs/docs.h"

#include "fam/shared/fam.h"

static void health(hctx *h)
{
    fam_json_send(h, 200, "{\"status\":\"healthy\",\"service\":\"document-sync-server\"}");
}

static const route k_routes[] = {
    { RM_GET, "/health", health, ROUTE_OPEN },
};

const fam_routes docs_routes = { k_routes, sizeof(k_routes) / sizeof(k_routes[0]) };
