/*
 * bmake.h - what the builder makes without the LLM (spec/fleet.md §5.8):
 * assemble (a bot from a BuilderConfig: its files, soul version 1 and its
 * skills, stub skills created in the library where missing) and the
 * current BuilderConfig of a bot for reconfigure.
 *
 * Assemble is one consistent step: stubs first (each SKILL.md written
 * atomically), then the bot through botcreate_run, whose transaction also
 * inserts the bot's skill rows. Any failure removes the stubs this
 * assemble created and whatever botcreate made, so nothing is left half
 * created; a crash in between leaves at most stub skills in the library
 * (complete, listable skills) and no bot.
 */
#ifndef ROOST_FLEET_BMAKE_H
#define ROOST_FLEET_BMAKE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/status.h"
#include "core/strv.h"
#include "engine/agent.h"
#include "fam/fleet/bot.h"
#include "fam/fleet/skillmd.h"
#include "json/read.h"
#include "json/write.h"

#define BMAKE_SKILLS_MAX 20u

typedef struct {
    fleet_bot bot;
    char base[FLEET_SLUG_MAX + 1u];      /* ST_EXISTS: the slug that was taken */
    char skills[BMAKE_SKILLS_MAX][SKILLMD_NAME_MAX + 1u];
    size_t nskills;
} bmake_result;

/* Assemble the config at cfg of d (checked by bconfig_check). ST_OK: *out
 * describes the bot. ST_EXISTS: no free slug. ST_NOMEM: no chat heap. Other
 * codes: storage failures. Nothing is left behind on failure. */
st_t bmake_assemble(const json_doc *d, int cfg, bmake_result *out);

/* The result object: bot_id, bot_slug, bot_name, with paths the three
 * absolute file paths, skills_attached. */
void bmake_write_result(json_w *w, const bmake_result *r, bool paths);

/* For reconfigure: the bot (slug or id) as a BuilderConfig JSON object
 * (config), its description (desc, the draft's initial description) and
 * the reconfigure request (user). ST_NOTFOUND: no such bot. */
st_t bmake_current(strv bot, chat_buf *config, chat_buf *desc, chat_buf *user);

#endif
