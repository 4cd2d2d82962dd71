/*
 * desc.c - the agents family as a descriptor (fam/desc.h): agent blueprints on
 * disk; listener default :8767, FastAPI style with credentials.
 *
 * Compiled in every profile; what needs the family's code is behind
 * CFG_FAM_AGENTS.
 * Its config keys (fam/keys.h) are here too, outside that: their values
 * (its storage), its upstream environment names and the finish that
 * derives and cross-checks them, as a profile without the family still
 * knows its keys, to refuse them by name.
 */
#include "fam/desc.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "fam/agents/agents.h"
#include "fam/families.h"
#include "fam/shared/fam.h"

/* Its keys (fam/keys.h), their values here. */
/* cppcheck-suppress misra-c2012-5.7 ; false positive: an untagged struct has no tag */
static struct {
    char dir[CFG_CONF_VALUE_BYTES];
    char project_dir[CFG_CONF_VALUE_BYTES];
} g_keys;
_Static_assert(sizeof(g_keys) <= FAM_KEYS_STATIC_BYTES, "the plan's room for a family's keys");

static const cfg_key_def k_keys[] = {
    FAM_KEY("agents.dir", K_STR, F_NONEMPTY, g_keys, dir, 0u, 0u, NULL, "DIR",
            "<project_dir>/.agent-orchestrator/agents"),
    FAM_KEY("agents.project_dir", K_STR, F_NONEMPTY, g_keys, project_dir, 0u, 0u, NULL, "DIR",
            "the working directory"),
};

/* Spec 2.2: the upstream agent manager's names. */
static const cfg_alias k_aliases[] = {
    { "AGENT_MANAGER_HOST", "agents.host" },
    { "AGENT_MANAGER_PORT", "agents.port" },
    { "AGENT_ORCHESTRATOR_AGENTS_DIR", "agents.dir" },
    { "AGENT_ORCHESTRATOR_PROJECT_DIR", "agents.project_dir" },
};

/* agents.project_dir defaults to the working directory, agents.dir to
 * <project_dir>/.agent-orchestrator/agents. */
static st_t finish_keys(const fam_keys_env *env)
{
    static const char sub[] = "/.agent-orchestrator/agents";
    st_t st = ST_OK;
    bool fail = false;
    if (!env->set("agents.project_dir")) {
        const char *cwd = env->cwd;
        if ((cwd == NULL) || (cwd[0] == '\0')) {
            fail = true;
            st = ST_INVAL;
            if ((env->err != NULL) && (env->errcap > 0u)) {
                (void)snprintf(env->err, env->errcap,
                               "agents.project_dir: working directory unknown, set it");
            }
        } else if (strlen(cwd) >= sizeof g_keys.project_dir) {
            fail = true;
            st = ST_TOOBIG;
            if ((env->err != NULL) && (env->errcap > 0u)) {
                (void)snprintf(env->err, env->errcap, "agents.project_dir: working directory "
                               "path too long (at most %zu bytes)",
                               sizeof g_keys.project_dir - 1u);
            }
        } else {
            (void)memcpy(g_keys.project_dir, cwd, strlen(cwd) + 1u);
        }
    }
    if (!fail && !env->set("agents.dir")) {
        size_t pn = strlen(g_keys.project_dir);
        /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
        while ((pn > 0u) && (g_keys.project_dir[pn - 1u] == '/')) {
            pn--;
        }
        if ((pn + sizeof sub) > sizeof g_keys.dir) {
            st = ST_TOOBIG;
            if ((env->err != NULL) && (env->errcap > 0u)) {
                (void)snprintf(env->err, env->errcap,
                               "agents.dir: %.*s%s is too long (at most %zu bytes)", (int)pn,
                               g_keys.project_dir, sub, sizeof g_keys.dir - 1u);
            }
        } else {
            (void)memcpy(g_keys.dir, g_keys.project_dir, pn);
            (void)memcpy(g_keys.dir + pn, sub, sizeof sub);
        }
    }
    return st;
}

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
    .keys = k_keys,
    .nkeys = sizeof(k_keys) / sizeof(k_keys[0]),
    .aliases = k_aliases,
    .naliases = sizeof(k_aliases) / sizeof(k_aliases[0]),
    .keys_finish = finish_keys,
    .store = { "agents", NULL, 0u, NULL },
#if CFG_FAM_AGENTS
    .built = true,
    .routes = &agents_routes,
    .error = fam_fastapi_error,
    .init = agents_init,
    .setup = fam_fastapi_setup,
#endif
};
