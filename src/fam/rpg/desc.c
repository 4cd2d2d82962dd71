/*
 * desc.c - the rpg family as a descriptor (fam/desc.h): claude-rpg server-v2;
 * listener default :4011, the Origin echoed on every response.
 *
 * Compiled in every profile; what needs the family's code is behind
 * CFG_FAM_RPG.
 */
#include "fam/desc.h"

#include "config.h"
#include "fam/families.h"
#include "fam/rpg/rpg.h"

const fam_desc fam_rpg = {
    .name = "rpg",
    .prefix = "rpg",
    .about = "tmux panes running Claude Code, personas, quests, XP",
    .port = 4011u,
    .topic = 0u,
    .cors = CORS_STYLE_ECHO,
    .cors_origins = "*",
    .cors_credentials = false,
    .cors_methods = "GET, POST, PATCH, DELETE, OPTIONS",
    .cors_headers = "Content-Type, Authorization, X-API-Key",
    .store = { "rpg", NULL, 0u, NULL },
#if CFG_FAM_RPG
    .built = true,
    .routes = &rpg_routes,
    .error = rpg_error,
    .setup = rpg_setup,
#endif
};
