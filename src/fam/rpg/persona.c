/*
 * persona.c - personas (spec/rpg.md §2.3, §4.5, §8.4-§8.6).
 */
#include "fam/rpg/game.h"

#include "fam/rpg/rpg_int.h"

void rpg_personas_list(hctx *h)
{
    rpg_ok_raw(h, "{\"personas\":[]}");
}

void rpg_persona_get(hctx *h)
{
    rpg_error(h, 404, "NOT_FOUND", "Persona not found");
}
