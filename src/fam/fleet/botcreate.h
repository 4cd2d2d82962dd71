/*
 * botcreate.h - making a new bot (spec/fleet.md §5.1 create and clone; the
 * builder's assemble later): its slug, its files and its rows.
 *
 * Order, so that a crash at any point leaves no bot or a complete one:
 *   1. pick a free slug (the database decides what is free);
 *   2. write SOUL.md, IDENTITY.md and USER.md into bots/<slug>/, each
 *      atomically;
 *   3. one transaction: the bot row (version_count 1), soul version 1 and
 *      the caller's rows (r->rows).
 * A failure in 2 or 3 removes bots/<slug>/ again if this create made it
 * (never something else that was in the way). A crash before 3 commits
 * leaves a directory that no row names: invisible to the API, and a later
 * create that picks the same slug overwrites its three files (step 2
 * replaces files, it never needs an empty directory). The same holds for
 * the directory a crash can leave behind after a delete committed.
 */
#ifndef ROOST_FLEET_BOTCREATE_H
#define ROOST_FLEET_BOTCREATE_H

#include "core/strv.h"
#include "fam/fleet/bot.h"

typedef struct {
    const char *name;          /* trimmed, 1..100 characters */
    const char *description;
    const char *category;      /* one of the four */
    const char *tags_json;     /* JSON array text, as fleet_opt_tags writes it */
    const char *emoji;         /* NULL or "": none; else at most FLEET_EMOJI_MAX_BYTES
                                * bytes of UTF-8, checked by the caller */
    strv soul;                 /* p == NULL: the default SOUL.md for name */
    strv identity;             /* p == NULL: the default IDENTITY.md */
    strv user;                 /* p == NULL: the default USER.md */
    /* NULL, or more rows of the bot written in step 3's transaction (the
     * builder's skill rows): an error rolls the whole bot back. */
    st_t (*rows)(void *ctx, const char *bot_id);
    void *rows_ctx;
} botcreate_req;

/* The slug of a name (spec §5.1): ASCII lower case, every other character
 * '-', runs collapsed, '-' trimmed, at most FLEET_SLUG_MAX, "bot" if empty. */
void botcreate_slugify(const char *name, char out[FLEET_SLUG_MAX + 1u]);

/* Create the bot; on ST_OK *out is the stored bot (read back, or as it
 * was inserted when the read fails: once step 3 committed, the create
 * succeeded). ST_EXISTS: no free slug
 * among <slug>, <slug>-2 .. <slug>-100 (base then holds <slug>, for the
 * 409 message). Other codes: storage failures (nothing is left behind). */
st_t botcreate_run(const botcreate_req *r, fleet_bot *out, char base[FLEET_SLUG_MAX + 1u]);

#endif
