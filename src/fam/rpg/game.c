/*
 * game.c - what the game half of the rpg family shares (game.h): local
 * days, levels and tiers (§8.2, §8.3), and the end of a change: its bus
 * events published after the commit, the companions compared once a turn.
 */
#include "fam/rpg/game.h"

#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "fam/rpg/rpg_int.h"
#include "core/timer.h"

#define DAY_MS 86400000

int64_t rpg_day_of(uint64_t wall_ms)
{
    uint64_t local_us = clock_local_us(wall_ms * 1000u);
    return (int64_t)(local_us / 1000u / (uint64_t)DAY_MS);
}

int64_t rpg_today(void)
{
    return rpg_day_of(clock_wall_us() / 1000u);
}

void rpg_day_text(int64_t day, char out[11])
{
    char ts[40];
    uint64_t d = (day > 0) ? (uint64_t)day : 0u;
    if (clock_format(d * (uint64_t)DAY_MS * 1000u, CLOCK_FMT_Z3, ts, sizeof ts) >= 10u) {
        (void)memcpy(out, ts, 10u);
    } else {
        (void)memcpy(out, "1970-01-01", 10u);
    }
    out[10] = '\0';
}

int64_t rpg_level_threshold(uint32_t level)
{
    int64_t l = (int64_t)level;
    return (l < 1) ? 0 : (50 * l * (l - 1));
}

uint32_t rpg_level_of(int64_t total_xp)
{
    uint32_t lo = 1u;
    uint32_t hi = 1u;
    /* grow hi past the answer, then bisect: threshold is increasing */
    while ((hi < 0x7FFFFFFFu) && (rpg_level_threshold(hi) <= total_xp)) {
        lo = hi;
        hi = (hi > 0x3FFFFFFFu) ? 0x7FFFFFFFu : (hi * 2u);
    }
    while ((hi - lo) > 1u) {
        uint32_t mid = lo + ((hi - lo) / 2u);
        if (rpg_level_threshold(mid) <= total_xp) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return lo;
}

const char *rpg_tier_of(uint32_t level)
{
    const char *t = "master";
    if (level <= 4u) {
        t = "novice";
    } else if (level <= 9u) {
        t = "apprentice";
    } else if (level <= 14u) {
        t = "journeyman";
    } else if (level <= 19u) {
        t = "expert";
    } else {
        /* 20+ */
    }
    return t;
}

/* ---- after a change ---- */

/* cppcheck-suppress misra-c2012-5.7 ; false positive: an untagged struct has no tag */
static struct {
    const char *type;
    uint32_t pane;
} g_later[RPG_LATER_EVENTS];
static uint32_t g_nlater;
static uint64_t g_later_dropped;
static timer_id g_comp_timer = TIMER_NONE;

void rpg_game_event_later(const char *event_type, uint32_t pane)
{
    if (g_nlater >= RPG_LATER_EVENTS) {
        g_later_dropped++;
        return;
    }
    g_later[g_nlater].type = event_type;
    g_later[g_nlater].pane = pane;
    g_nlater++;
}

static void companions_due(void *arg)
{
    (void)arg;
    g_comp_timer = TIMER_NONE;
    rpg_companions_check();
}

void rpg_companions_later(void)
{
    if (g_comp_timer == TIMER_NONE) {
        g_comp_timer = timer_start(0u, companions_due, NULL);
        if (g_comp_timer == TIMER_NONE) {
            rpg_companions_check();     /* no timer free: now */
        }
    }
}

void rpg_game_after(bool committed)
{
    uint32_t i;
    if (committed) {
        for (i = 0u; i < g_nlater; i++) {
            rpg_ws_event(g_later[i].type, g_later[i].pane, NULL);
        }
        rpg_companions_later();
    }
    g_nlater = 0u;
}
