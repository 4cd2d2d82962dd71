/*
 * fleet.h - the fleet family (boternity backend), listener default :3000.
 * Foundation scope: GET /health, GET /metrics, the error envelope of
 * spec/fleet.md §1.2 for every error, unknown /api/ routes as NOT_FOUND.
 */
#ifndef ROOST_FAM_FLEET_H
#define ROOST_FAM_FLEET_H

#include "config.h"
#include "fam/fleet/api.h"
#include "fam/fleet/bot.h"
#include "fam/fleet/skillmd.h"
#include "fam/fleet/soul.h"
#include "fam/fleet/templates.h"
#include "fam/desc.h"
#include "http/server.h"

/* Static storage of the fleet handlers outside chat and the /ws/events
 * registries (which have their own lines in the plan), for app/pools.def,
 * one share per file; files.c, soul.c, souls.c, skills.c, botcreate.c,
 * secrets.c, builder.c and bmake.c each check theirs with a _Static_assert, and
 * tests/integration/test_plan.py checks the sum against the binary. */
/* files.c: one file's content at the spec's 256 KiB, the bot it is of */
#define FLEET_FILES_STATIC_BYTES (((size_t)FLEET_CONTENT_MAX_BYTES + 1u) + sizeof(fleet_bot))
/* soul.c: the SOUL.md being written or recovered */
#define FLEET_SOUL_STATIC_BYTES (((size_t)FLEET_CONTENT_MAX_BYTES + 1u) + sizeof(bool))
/* souls.c: a soul version's content, two rows, a message, the bot */
#define FLEET_SOULS_STATIC_BYTES                                              \
    (((size_t)FLEET_CONTENT_MAX_BYTES + 1u) + (2u * sizeof(soul_row)) +       \
     SOUL_MESSAGE_BYTES + sizeof(fleet_bot))
/* skills.c: two SKILL.md texts, their parses, the name table, overrides */
#define FLEET_SKILLS_STATIC_BYTES                                                       \
    ((2u * CFG_FLEET_SKILL_MD_BYTES) + (2u * sizeof(skillmd)) +                         \
     ((size_t)CFG_FLEET_SKILLS_MAX * (SKILLMD_NAME_MAX + 2u)) +                         \
     (2u * (size_t)CFG_FLEET_SKILL_OVERRIDES_BYTES) + sizeof(fleet_bot) + (2u * sizeof(size_t)))
/* botcreate.c: the three rendered templates */
#define FLEET_BOTCREATE_STATIC_BYTES (3u * (size_t)TEMPLATES_BUF_BYTES)
/* secrets.c: one secret value at the spec's limit */
#define FLEET_SECRETS_STATIC_BYTES ((FLEET_SECRET_MAX_CHARS * 4u) + 1u)
/* bots.c (a bot's name, description, tags, the bot, a soul row),
 * sessions.c and chat.c (a bot each), engine/agent.c (a provider's key and
 * URL), api.c (the data directory): function-local statics among them */
#define FLEET_OTHER_STATIC_BYTES                                                       \
    (FLEET_NAME_BYTES + FLEET_DESC_BYTES + FLEET_TAGS_JSON_BYTES +                     \
     (3u * sizeof(fleet_bot)) + sizeof(soul_row) + (size_t)CFG_LLM_KEY_BYTES +          \
     (2u * (size_t)CFG_CONF_VALUE_BYTES) + 32u)
/* builder.c: its turn slots (CFG_ENGINE_CALLS, about 1.4 KiB each), its
 * sockets (CFG_BUILDER_WS), two assemble results, the config merge's
 * tokens, counters and names */
#define FLEET_BMAKE_RESULT_BYTES                                              \
    (sizeof(fleet_bot) + ((size_t)FLEET_SLUG_MAX + 1u) + (20u * (SKILLMD_NAME_MAX + 1u)) + 16u)
#define FLEET_BUILDER_STATIC_BYTES                                            \
    (((size_t)CFG_ENGINE_CALLS * 1600u) + ((size_t)CFG_BUILDER_WS * sizeof(void *)) + \
     (2u * FLEET_BMAKE_RESULT_BYTES) + (512u * 16u) + (size_t)CFG_CONF_VALUE_BYTES +  \
     1024u)
/* bmake.c: the skills of one assemble, a parsed SKILL.md, a bot, the
 * config's name, description and tags */
#define FLEET_BMAKE_STATIC_BYTES                                              \
    ((20u * 320u) + sizeof(skillmd) + sizeof(fleet_bot) + FLEET_NAME_BYTES +  \
     FLEET_DESC_BYTES + FLEET_TAGS_JSON_BYTES + 64u)
#define FLEET_STATIC_BYTES                                                    \
    (FLEET_FILES_STATIC_BYTES + FLEET_SOUL_STATIC_BYTES + FLEET_SOULS_STATIC_BYTES + \
     FLEET_SKILLS_STATIC_BYTES + FLEET_BOTCREATE_STATIC_BYTES +              \
     FLEET_SECRETS_STATIC_BYTES + FLEET_OTHER_STATIC_BYTES +                 \
     FLEET_BUILDER_STATIC_BYTES + FLEET_BMAKE_STATIC_BYTES)

/* Serve the SPA of spec/fleet.md §4 from dir (fleet.web_dir) when it
 * exists; call before fleet_setup. Returns whether it is served; when not,
 * non-API paths stay the family's 404. */
bool fleet_set_web_dir(const char *dir);
/* The descriptor's route table and hooks (fam/desc.h, desc.c). init: the
 * data directory, the /ws/events registries, the chat engine (env->llm),
 * SOUL.md recovery, the web app; streams: /ws/events' heartbeat; setup:
 * authorization and the SPA fallback. */
extern const fam_routes fleet_routes;
st_t fleet_init(const fam_env *env);
void fleet_streams(const fam_env *env);
void fleet_setup(http_service *svc);
/* The fleet error envelope (also used for protocol errors). */
void fleet_error(hctx *h, int status, const char *code, const char *msg);

#endif
