/*
 * desc.c - the agents family as a descriptor (fam/desc.h): agent blueprints on
 * disk; listener default :8767, FastAPI style with credentials.
 *
 * Compiled in every profile; what needs the family's code is behind
 * CFG_FAM_AGENTS.
 */
#include "fam/desc.h"

#include "config.h"
#include "fam/agents/agents.h"
#include "fam/families.h"
#include "fam/shared/fam.h"

const fam_desc fam_agents = {
    .name = "agents",
    .prefix = "agents",
    .about = "agent blueprints on disk",
    .port = 8767u,
    .topic = 0u,
    .cors = CORS_STYLE_FASTAPI,
    .cors_origins = "http://localhost:5173,http://localhost:3000",
    .cors_credentials = true,
    .cors_methods = NULL,
    .cors_headers = NULL,
    .store = { "agents", NULL, 0u, NULL },
#if CFG_FAM_AGENTS
    .built = true,
    .routes = &agents_routes,
    .error = fam_fastapi_error,
    .setup = fam_fastapi_setup,
#endif
};
