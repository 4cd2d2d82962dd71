/*
 * skilllib.h - the skill library on disk (spec/fleet.md §2.8):
 * <data_dir>/skills/<name>/SKILL.md, and for a generated wasm skill its
 * source beside it in src/lib.rs (Decision 11: stored, never compiled or
 * run). Read by the skill routes (skills.c), written by the builder
 * (builder.c: assemble's stubs, create-skill).
 *
 * Names must be valid skill names (skillmd_name_ok), so a path never leaves
 * the skills directory. Every file is written atomically (port's
 * write-then-rename), so a crash leaves the old SKILL.md or the new one.
 */
#ifndef ROOST_FLEET_SKILLLIB_H
#define ROOST_FLEET_SKILLLIB_H

#include "core/status.h"
#include "core/strv.h"
#include "fam/fleet/skillmd.h"

/* Load and parse skill name into buf (CFG_FLEET_SKILL_MD_BYTES) and *m.
 * ST_OK; ST_NOTFOUND when it is missing; ST_BAD when it is too large or
 * does not parse (not a skill of the library either); another code when it
 * could not be read (the disk's error: it may well be there). */
st_t skilllib_load(const char *name, char *buf, skillmd *m);

/* Write skill name: SKILL.md = md; src.p != NULL: src/lib.rs = src, else
 * an old src/ of the skill is removed (a replaced wasm skill becomes a
 * prompt skill without its source). */
st_t skilllib_install(const char *name, strv md, strv src);

/* Is there a directory for skill name (valid or not)? */
bool skilllib_exists(const char *name);

/* Remove skill name's directory and everything in it. */
st_t skilllib_remove(const char *name);

#endif
