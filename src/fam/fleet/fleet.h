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
#include "http/server.h"

/* Static storage of the fleet handlers outside chat and the /ws/events
 * registries (which have their own lines in the plan), for app/pools.def:
 * the content buffers of files.c, soul.c and souls.c (one file each, at
 * the spec's 256 KiB), skills.c's two SKILL.md buffers and name table,
 * botcreate.c's three templates, secrets.c's value, and the bot and soul
 * rows the handlers load into. tests/integration/test_plan.py checks the
 * sum against the binary. */
#define FLEET_STATIC_BYTES                                                            \
    ((3u * ((size_t)FLEET_CONTENT_MAX_BYTES + 1u)) +                                  \
     (2u * CFG_FLEET_SKILL_MD_BYTES) + (2u * sizeof(skillmd)) +                       \
     ((size_t)CFG_FLEET_SKILLS_MAX * (SKILLMD_NAME_MAX + 1u)) +                        \
     (2u * (size_t)CFG_FLEET_SKILL_OVERRIDES_BYTES) + 256u +                          \
     (3u * (size_t)TEMPLATES_BUF_BYTES) + ((FLEET_SECRET_MAX_CHARS * 4u) + 1u) +      \
     (6u * sizeof(fleet_bot)) + (3u * sizeof(soul_row)) + SOUL_MESSAGE_BYTES +        \
     FLEET_NAME_BYTES + FLEET_DESC_BYTES + FLEET_TAGS_JSON_BYTES +                    \
     (size_t)CFG_LLM_KEY_BYTES + (2u * (size_t)CFG_CONF_VALUE_BYTES) + 32u)

/* Serve the SPA of spec/fleet.md §4 from dir (fleet.web_dir) when it
 * exists; call before fleet_setup. Returns whether it is served; when not,
 * non-API paths stay the family's 404. */
bool fleet_set_web_dir(const char *dir);
void fleet_setup(http_service *svc);
/* The fleet error envelope (also used for protocol errors). */
void fleet_error(hctx *h, int status, const char *code, const char *msg);

#endif
