/*
 * avatar.c - GET /api/avatars/{seed} (spec/rpg.md §4.9). Not built yet.
 */
#include "fam/rpg/game.h"

#include "fam/rpg/rpg_int.h"

void rpg_avatar_init(const char *data_dir)
{
    (void)data_dir;
}

void rpg_avatar_get(hctx *h)
{
    rpg_error(h, 404, "NOT_FOUND", "Not found");
}
