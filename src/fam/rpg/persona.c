/*
 * persona.c - personas (spec/rpg.md §2.3, §4.5, §8.4-§8.6).
 *
 * A persona is a row of rpg_personas, found by its session id (a Claude
 * session id, or pane-%N for a placeholder: a Claude pane seen before any
 * hook, §3.4) and created on first sight. Its name (§8.6) is picked from
 * two lists of common first and last names by the §4.9 hash of the session
 * id; a placeholder, or a name another persona has, is picked at random
 * (port entropy) until unique, 500 tries, then the hashed name with a
 * suffix " 2", " 3", ...
 *
 * Health (§8.4): energy decays by floor(minutes x 0.5) since the last
 * update before each change's deltas, both clamped to 0..100; reads show
 * the stored values. Badges (§8.5) are bits, kept once earned. Status is
 * computed when written: active when a live pane session linked to it is
 * not idle, idle when the linked ones all are, offline otherwise.
 *
 * A pane session keeps a copy of what its pane shows of the persona
 * (rpg_persona_view, rpg_int.h), refreshed after every change commits.
 *
 * GET /api/personas lists by lastSeenAt desc, page by page (game.h's
 * producer), so the list has no size limit.
 */
#include "fam/rpg/game.h"

#include <string.h>

#include "core/clock.h"
#include "core/fmt.h"
#include "core/log.h"
#include "core/uuid.h"
#include "fam/rpg/sql.h"
#include "port.h"

#define NAME_TRIES 500u

/* Common first and last names ("First Last"). */
static const char *const k_first[] = {
    "Ada", "Alex", "Alice", "Amara", "Amir", "Ana", "Arjun", "Ben", "Bianca", "Caleb",
    "Carmen", "Chloe", "Daniel", "Diego", "Elena", "Eli", "Emma", "Ethan", "Farah", "Felix",
    "Fiona", "Gabriel", "Grace", "Hana", "Hannah", "Hugo", "Ian", "Imani", "Isaac", "Ivy",
    "Jack", "Jade", "Jamal", "Jasmine", "Jonah", "Julia", "Kai", "Kate", "Kenji", "Laila",
    "Leo", "Lily", "Lucas", "Luna", "Maya", "Mei", "Miguel", "Mila", "Nadia", "Nathan",
    "Nina", "Noah", "Priya", "Oliver", "Omar", "Paige", "Quinn", "Rafael", "Rosa", "Ruby",
    "Ryan", "Sam", "Sara", "Sofia", "Tariq", "Tessa", "Theo", "Uma", "Victor", "Vivian",
    "Wes", "Willow", "Xavier", "Yara", "Yusuf", "Zane", "Zoe", "Aiden", "Beatrice", "Cyrus",
    "Dalia", "Elias", "Freya", "Gideon", "Helena", "Idris", "Juno", "Kira", "Lena", "Marco",
    "Naomi", "Orla", "Pablo", "Rhea", "Silas", "Talia", "Ursula", "Vera", "Wren", "Yuki",
};
static const char *const k_last[] = {
    "Adams", "Ahmed", "Alvarez", "Anderson", "Baker", "Bennett", "Brooks", "Campbell",
    "Carter", "Castro", "Clark", "Collins", "Cooper", "Cruz", "Davis", "Diaz", "Edwards",
    "Evans", "Fischer", "Flores", "Foster", "Garcia", "Gomez", "Gray", "Green", "Hall",
    "Harris", "Hayes", "Hernandez", "Hill", "Hughes", "Ito", "Jackson", "James", "Jensen",
    "Johnson", "Jones", "Kaur", "Kelly", "Khan", "Kim", "King", "Kowalski", "Lee", "Lewis",
    "Lopez", "Martin", "Martinez", "Mendoza", "Miller", "Mitchell", "Moore", "Morales",
    "Murphy", "Nakamura", "Nguyen", "Nelson", "Novak", "Okafor", "Ortiz", "Park", "Parker",
    "Patel", "Perez", "Peterson", "Phillips", "Price", "Ramirez", "Reed", "Reyes", "Rivera",
    "Roberts", "Robinson", "Rodriguez", "Rossi", "Russell", "Sanchez", "Santos", "Schmidt",
    "Scott", "Shah", "Silva", "Singh", "Smith", "Stewart", "Sullivan", "Tanaka", "Taylor",
    "Thomas", "Thompson", "Torres", "Turner", "Chen", "Walker", "Ward", "Watson", "White",
    "Williams", "Wilson", "Wright",
};
#define NFIRST (sizeof(k_first) / sizeof(k_first[0]))
#define NLAST (sizeof(k_last) / sizeof(k_last[0]))

static const char *const k_badge[RPG_BADGES] = {
    "code_architect", "test_champion", "git_master", "shell_sage", "wordsmith", "clarity_coder"
};

/* ---- rows ---- */

static void from_row(sqlite3_stmt *s, rpg_persona *p)
{
    (void)store_col_copy(s, 0, p->id, sizeof p->id);
    (void)store_col_copy(s, 1, p->sid, sizeof p->sid);
    (void)store_col_copy(s, 2, p->name, sizeof p->name);
    p->total_xp = store_col_int64(s, 3);
    p->level = (uint32_t)store_col_int64(s, 4);
    p->badges = (uint32_t)store_col_int64(s, 5);
    p->energy = (int32_t)store_col_int64(s, 6);
    p->morale = (int32_t)store_col_int64(s, 7);
    p->health_ms = (uint64_t)store_col_int64(s, 8);
    p->files_edited = store_col_int64(s, 9);
    p->files_written = store_col_int64(s, 10);
    p->bash_commands = store_col_int64(s, 11);
    p->tests_run = store_col_int64(s, 12);
    p->commits_created = store_col_int64(s, 13);
    p->clarity_files_edited = store_col_int64(s, 14);
    p->created_ms = (uint64_t)store_col_int64(s, 15);
    p->last_seen_ms = (uint64_t)store_col_int64(s, 16);
}

/* The row of key (a session id with by_sid, else an id). ST_NOTFOUND. */
static st_t load(bool by_sid, strv key, rpg_persona *p)
{
    sqlite3_stmt *s = rpg_stmt(by_sid ? RPG_SQL_PERSONA_BY_SID : RPG_SQL_PERSONA_BY_ID);
    bool row = false;
    st_t st = store_bind_text(s, 1, key);
    if (st == ST_OK) {
        st = store_step(s, &row);
    }
    if ((st == ST_OK) && row) {
        from_row(s, p);
    } else if (st == ST_OK) {
        st = ST_NOTFOUND;
    } else {
        /* the error */
    }
    store_done(s);
    return st;
}

/* ---- names (§8.6) ---- */

/* h >> 8 as JavaScript's >> (arithmetic) */
static int64_t shr8(int32_t h)
{
    int64_t v = (int64_t)h;
    return (v < 0) ? -(((-v) + 255) / 256) : (v / 256);
}

static uint64_t abs64(int64_t v)
{
    return (v < 0) ? (uint64_t)(-v) : (uint64_t)v;
}

static size_t compose(char *out, size_t cap, size_t fi, size_t li)
{
    const char *f = k_first[fi % NFIRST];
    const char *l = k_last[li % NLAST];
    size_t fn = strlen(f);
    size_t ln = strlen(l);
    if ((fn + ln + 2u) > cap) {
        out[0] = '\0';
        return 0u;
    }
    (void)memcpy(out, f, fn);
    out[fn] = ' ';
    (void)memcpy(out + fn + 1u, l, ln);
    out[fn + 1u + ln] = '\0';
    return fn + 1u + ln;
}

static st_t taken(const char *name, bool *yes)
{
    sqlite3_stmt *s = rpg_stmt(RPG_SQL_PERSONA_NAME_TAKEN);
    bool row = false;
    st_t st = store_bind_text(s, 1, strv_from_cstr(name));
    if (st == ST_OK) {
        st = store_step(s, &row);
    }
    store_done(s);
    *yes = row;
    return st;
}

static st_t pick_name(const char *sid, char *out, size_t cap)
{
    int32_t h = rpg_sid_hash(sid);
    char base[RPG_NAME_BYTES];
    bool yes = true;
    uint32_t k;
    size_t n = compose(base, sizeof base, (size_t)(abs64(h) % NFIRST),
                       (size_t)(abs64(shr8(h)) % NLAST));
    st_t st = ST_OK;
    if (strncmp(sid, "pane-", 5u) != 0) {
        st = taken(base, &yes);
        if ((st == ST_OK) && !yes) {
            (void)memcpy(out, base, n + 1u);
            return ST_OK;
        }
    }
    for (k = 0u; (st == ST_OK) && yes && (k < NAME_TRIES); k++) {
        uint32_t r[2] = { 0u, 0u };
        if (port_entropy(r, sizeof r) != ST_OK) {
            r[0] = k * 7919u;
            r[1] = k * 104729u;
        }
        (void)compose(out, cap, (size_t)(r[0] % NFIRST), (size_t)(r[1] % NLAST));
        st = taken(out, &yes);
    }
    k = 2u;
    while ((st == ST_OK) && yes) {
        size_t m = n;
        (void)memcpy(out, base, n);
        out[m] = ' ';
        m++;
        m += fmt_u64(out + m, cap - m - 1u, k);
        out[m] = '\0';
        st = taken(out, &yes);
        k++;
    }
    return st;
}

st_t rpg_persona_ensure(strv sid, uint64_t wall_ms, rpg_persona *p)
{
    st_t st = load(true, sid, p);
    if (st == ST_NOTFOUND) {
        (void)memset(p, 0, sizeof *p);
        if (sid.n >= sizeof p->sid) {
            return ST_TOOBIG;
        }
        (void)memcpy(p->sid, sid.p, sid.n);
        p->sid[sid.n] = '\0';
        st = uuid_v4(p->id);
        if (st == ST_OK) {
            st = pick_name(p->sid, p->name, sizeof p->name);
        }
        if (st == ST_OK) {
            sqlite3_stmt *s = rpg_stmt(RPG_SQL_PERSONA_INSERT);
            st = store_bind_text(s, 1, strv_from_cstr(p->id));
            if (st == ST_OK) {
                st = store_bind_text(s, 2, sid);
            }
            if (st == ST_OK) {
                st = store_bind_text(s, 3, strv_from_cstr(p->name));
            }
            if (st == ST_OK) {
                st = store_bind_int64(s, 4, (int64_t)wall_ms);
            }
            if (st == ST_OK) {
                st = store_exec(s);
            }
        }
        if (st == ST_OK) {
            p->level = 1u;
            p->energy = 100;
            p->morale = 100;
            p->health_ms = wall_ms;
            p->created_ms = wall_ms;
            p->last_seen_ms = wall_ms;
        }
    }
    return st;
}

st_t rpg_persona_save(rpg_persona *p)
{
    rpg_persona cur;
    sqlite3_stmt *s;
    st_t st = load(false, strv_from_cstr(p->id), &cur);
    if (st != ST_OK) {
        return st;
    }
    /* awards wrote the total and the level: keep theirs */
    p->total_xp = cur.total_xp;
    p->level = cur.level;
    s = rpg_stmt(RPG_SQL_PERSONA_SAVE);
    st = store_bind_text(s, 1, strv_from_cstr(p->id));
    {
        const int64_t w[13] = { p->total_xp, (int64_t)p->level, (int64_t)p->badges,
                                (int64_t)p->energy, (int64_t)p->morale, (int64_t)p->health_ms,
                                p->files_edited, p->files_written, p->bash_commands,
                                p->tests_run, p->commits_created, p->clarity_files_edited,
                                (int64_t)p->last_seen_ms };
        int i;
        for (i = 0; (st == ST_OK) && (i < 13); i++) {
            st = store_bind_int64(s, i + 2, w[i]);
        }
    }
    if (st == ST_OK) {
        st = store_exec(s);
    }
    return st;
}

static int32_t clamp100(int64_t v)
{
    int32_t r = (int32_t)v;
    if (v < 0) {
        r = 0;
    } else if (v > 100) {
        r = 100;
    } else {
        /* in range */
    }
    return r;
}

void rpg_persona_health(rpg_persona *p, uint64_t wall_ms, int32_t d_energy, int32_t d_morale)
{
    uint64_t since = (wall_ms > p->health_ms) ? (wall_ms - p->health_ms) : 0u;
    uint64_t minutes_half = since / 120000u;         /* floor(minutes x 0.5) */
    int64_t decay = (int64_t)minutes_half;
    int64_t e = (int64_t)p->energy - decay;
    e = (int64_t)clamp100(e) + d_energy;
    p->energy = clamp100(e);
    p->morale = clamp100((int64_t)p->morale + d_morale);
    p->health_ms = wall_ms;
}

void rpg_persona_badges(rpg_persona *p)
{
    const bool earned[RPG_BADGES] = {
        p->files_edited >= 100, p->tests_run >= 50, p->commits_created >= 50,
        p->bash_commands >= 100, p->files_written >= 50, p->clarity_files_edited >= 10
    };
    uint32_t i;
    for (i = 0u; i < RPG_BADGES; i++) {
        if (earned[i]) {
            p->badges |= (1u << i);
        }
    }
}

void rpg_w_badges(json_w *w, uint32_t bits)
{
    uint32_t i;
    json_w_arr_begin(w);
    for (i = 0u; i < RPG_BADGES; i++) {
        if ((bits & (1u << i)) != 0u) {
            json_w_str(w, k_badge[i], strlen(k_badge[i]));
        }
    }
    json_w_arr_end(w);
}

void rpg_persona_view_of(const rpg_persona *p, rpg_persona_view *v)
{
    (void)memcpy(v->id, p->id, sizeof v->id);
    (void)memcpy(v->name, p->name, sizeof v->name);
    v->level = p->level;
    v->badges = p->badges;
    v->energy = p->energy;
    v->morale = p->morale;
    v->health_ms = p->health_ms;
}

void rpg_persona_attach(rpg_csession *cs)
{
    rpg_persona p;
    st_t st = store_begin();
    if (st == ST_OK) {
        st = rpg_persona_ensure(strv_from_cstr(cs->sid), clock_wall_us() / 1000u, &p);
    }
    if (st == ST_OK) {
        st = store_commit();
    }
    if (st != ST_OK) {
        (void)store_rollback();
        LOG_W("rpg", "pane %%%u: persona of %s not linked: %s", (unsigned)cs->pane, cs->sid,
              status_str(st));
        return;
    }
    rpg_persona_view_of(&p, &cs->pv);
}

/* ---- GET /api/personas (§4.5) ---- */

static const char *status_of(const char *id)
{
    uint32_t i;
    bool linked = false;
    for (i = 0u; i < (uint32_t)CFG_RPG_CLAUDE; i++) {
        const rpg_csession *cs = &g_rpg_cs[i];
        if (cs->used && (strcmp(cs->pv.id, id) == 0)) {
            if (cs->status != RPG_ST_IDLE) {
                return "active";
            }
            linked = true;
        }
    }
    return linked ? "idle" : "offline";
}

static void w_persona(json_w *w, const rpg_persona *p)
{
    char url[RPG_AVATAR_URL_BYTES];
    rpg_avatar_url(p->sid, url);
    json_w_obj_begin(w);
    json_w_kstr(w, "id", p->id);
    json_w_kstr(w, "sessionId", p->sid);
    json_w_kstr(w, "name", p->name);
    json_w_kstr(w, "avatarUrl", url);
    json_w_kstr(w, "status", status_of(p->id));
    json_w_ki64(w, "totalXp", p->total_xp);
    json_w_ku64(w, "level", p->level);
    json_w_kstr(w, "tier", rpg_tier_of(p->level));
    json_w_key(w, "badges");
    rpg_w_badges(w, p->badges);
    json_w_key(w, "health");
    json_w_obj_begin(w);
    json_w_ki64(w, "energy", p->energy);
    json_w_ki64(w, "morale", p->morale);
    rpg_w_iso(w, "lastUpdated", p->health_ms);
    json_w_obj_end(w);
    rpg_w_iso(w, "createdAt", p->created_ms);
    rpg_w_iso(w, "lastSeenAt", p->last_seen_ms);
    json_w_obj_end(w);
}

static void persona_row(sqlite3_stmt *s, json_w *w)
{
    rpg_persona p;
    from_row(s, &p);
    w_persona(w, &p);
}

void rpg_personas_list(hctx *h)
{
    rpg_page_send(h, (uint16_t)RPG_SQL_PERSONA_PAGE, 16, 0, persona_row,
                  "{\"success\":true,\"data\":{\"personas\":[");
}

void rpg_persona_get(hctx *h)
{
    rpg_persona p;
    json_w w;
    st_t st = load(false, hctx_param(h, 0u), &p);
    if (st == ST_NOTFOUND) {
        rpg_error(h, 404, "NOT_FOUND", "Persona not found");
        return;
    }
    if (st != ST_OK) {
        rpg_error(h, 500, "INTERNAL_ERROR", "Internal server error");
        return;
    }
    rpg_ok_begin(h, &w);
    json_w_obj_begin(&w);
    json_w_key(&w, "persona");
    w_persona(&w, &p);
    json_w_obj_end(&w);
    rpg_ok_end(h, &w);
}
