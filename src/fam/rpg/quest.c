/*
 * quest.c - quests and their phases (spec/rpg.md §2.6, §4.7, §7).
 * Not built yet: every route answers 404.
 */
#include "fam/rpg/game.h"

#include <string.h>

#include "fam/rpg/rpg_int.h"

void rpg_quests_list(hctx *h)
{
    rpg_ok_raw(h, "[]");
}

void rpg_quest_get(hctx *h)
{
    rpg_error(h, 404, "NOT_FOUND", "Quest not found");
}

void rpg_quest_create(hctx *h)
{
    rpg_error(h, 404, "NOT_FOUND", "Quest not found");
}

void rpg_quest_update(hctx *h)
{
    rpg_error(h, 404, "NOT_FOUND", "Quest not found");
}

void rpg_phase_update(hctx *h)
{
    rpg_error(h, 404, "NOT_FOUND", "Quest not found");
}

size_t rpg_quests_init_prod(void *state, char *buf, size_t cap, bool *done)
{
    static const char k_q[] = "{\"type\":\"quests_init\",\"payload\":[]}";
    (void)state;
    *done = true;
    if (cap < (sizeof(k_q) - 1u)) {
        *done = false;
        return 0u;
    }
    (void)memcpy(buf, k_q, sizeof(k_q) - 1u);
    return sizeof(k_q) - 1u;
}
