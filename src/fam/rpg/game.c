/*
 * game.c - what the game half of the rpg family shares (game.h): local
 * days, levels and tiers (§8.2, §8.3), and the end of a change: its bus
 * events published after the commit, the companions compared once a turn.
 */
#include "fam/rpg/game.h"

#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/timer.h"
#include "fam/rpg/rpg_int.h"
#include "fam/rpg/sql.h"

#define DAY_MS 86400000

int64_t rpg_day_of(uint64_t wall_ms)
{
    uint64_t local_us = clock_local_us(wall_ms * 1000u);
    uint64_t day = local_us / 1000u / (uint64_t)DAY_MS;
    return (int64_t)day;
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

bool rpg_empty(const char *s)
{
    return (s == NULL) || (*s == '\0');
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

/* Companions are compared at most this often: a burst of hooks renders
 * them a few times a second, not once per hook. */
#define COMPANIONS_GAP_MS 100u

static uint64_t g_comp_last_ms;

static void companions_due(void *arg)
{
    (void)arg;
    g_comp_timer = TIMER_NONE;
    g_comp_last_ms = clock_mono_ms();
    rpg_companions_check();
}

void rpg_companions_later(void)
{
    if (g_comp_timer == TIMER_NONE) {
        uint64_t now = clock_mono_ms();
        uint64_t wait = 0u;
        if ((g_comp_last_ms != 0u) && ((now - g_comp_last_ms) < COMPANIONS_GAP_MS)) {
            wait = COMPANIONS_GAP_MS - (now - g_comp_last_ms);
        }
        g_comp_timer = timer_start(wait, companions_due, NULL);
        if (g_comp_timer == TIMER_NONE) {
            companions_due(NULL);       /* no timer free: now */
        }
    }
}

void rpg_game_after(bool committed)
{
    if (committed) {
        uint32_t i;
        for (i = 0u; i < g_nlater; i++) {
            rpg_ws_event(g_later[i].type, g_later[i].pane, NULL);
        }
        rpg_companions_later();
    }
    g_nlater = 0u;
}

/* ---- lists page by page ---- */

#define PAGE_ROWS 32

static bool put_text(char *buf, size_t cap, size_t *at, const char *t)
{
    size_t n = strlen(t);
    if ((cap - *at) < n) {
        return false;
    }
    (void)memcpy(buf + *at, t, n);
    *at += n;
    return true;
}

/* One page from the last key: rows written until one does not fit.
 * *more: the page was full (another may follow). */
static st_t page(rpg_page_prod *st, char *buf, size_t cap, size_t *at, bool *fits, bool *more)
{
    sqlite3_stmt *s = rpg_stmt((rpg_sql_id)st->sql);
    bool row = false;
    uint32_t n = 0u;
    st_t rc = st->has_key ? store_bind_int64(s, 1, st->key_num) : store_bind_null(s, 1);
    *fits = true;
    if (rc == ST_OK) {
        rc = store_bind_text(s, 2, strv_from_cstr(st->key_id));
    }
    if (rc == ST_OK) {
        rc = store_bind_int64(s, 3, PAGE_ROWS);
    }
    bool go = (rc == ST_OK);
    while (go) {
        json_w w;
        size_t comma = st->any ? 1u : 0u;
        size_t len = 0u;
        go = (st->max_rows == 0u) || (st->rows < st->max_rows);
        if (go) {
            rc = store_step(s, &row);
            go = (rc == ST_OK) && row;
        }
        if (!go) {
            break;
        }
        n++;
        if ((cap - *at) <= comma) {
            *fits = false;
        } else {
            json_w_init(&w, buf + *at + comma, cap - *at - comma);
            st->row(s, &w);
            if (json_w_finish(&w, &len) != ST_OK) {
                *fits = false;
            } else {
                if (comma != 0u) {
                    buf[*at] = ',';
                }
                *at += comma + len;
                st->any = true;
                st->rows++;
                st->has_key = true;
                st->key_num = store_col_int64(s, st->key_num_col);
                (void)store_col_copy(s, st->key_id_col, st->key_id, sizeof st->key_id);
            }
        }
        go = *fits;
    }
    store_done(s);
    *more = (n == (uint32_t)PAGE_ROWS) || !*fits;
    if ((st->max_rows != 0u) && (st->rows >= st->max_rows)) {
        *more = false;
    }
    return rc;
}

size_t rpg_page_produce(void *state, char *buf, size_t cap, bool *done)
{
    rpg_page_prod *st = (rpg_page_prod *)state;
    size_t at = 0u;
    bool room = true;
    while (room && (st->phase < 3u)) {
        if (st->phase == 0u) {
            room = put_text(buf, cap, &at, st->head);
            if (room) {
                st->phase = 1u;
            }
        } else if (st->phase == 1u) {
            bool fits = true;
            bool more = false;
            if (page(st, buf, cap, &at, &fits, &more) != ST_OK) {
                /* a storage error (logged by the store): the list ends here,
                 * still well-formed */
                more = false;
                fits = true;
            }
            if (!fits) {
                room = false;
            } else if (!more) {
                st->phase = 2u;
            } else {
                /* the next page */
            }
        } else {
            room = put_text(buf, cap, &at, st->tail);
            if (room) {
                st->phase = 3u;
            }
        }
    }
    *done = st->phase == 3u;
    return at;
}

void rpg_page_send(hctx *h, uint16_t sql, int key_num_col, int key_id_col, rpg_row_fn row,
                   const char *head)
{
    rpg_page_prod st;
    (void)memset(&st, 0, sizeof st);
    st.sql = sql;
    st.key_num_col = key_num_col;
    st.key_id_col = key_id_col;
    st.row = row;
    st.head = head;
    st.tail = "]},\"ok\":true}";
    hctx_begin(h, 200);
    hctx_header(h, "Content-Type", "application/json");
    hctx_end_stream(h, rpg_page_produce, &st, sizeof st);
}
