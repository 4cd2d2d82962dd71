/*
 * bmake.c - assemble and the current config of a bot (contract in
 * bmake.h).
 *
 * Implementation notes:
 * - The three files are rendered by bturn.c into chat-heap buffers sized
 *   for the §2.9 limits (BMAKE_TEXT_BYTES each) and handed to botcreate.
 * - Each skill of the config is looked up in the library once: found, it
 *   is attached with its version and capabilities; missing, a stub is
 *   written first and remembered, so a failure can remove exactly the stubs
 *   this assemble made (a directory that was already there, holding a
 *   SKILL.md that does not parse, gets the stub and is never removed). A
 *   name listed twice is attached once.
 */
#include "fam/fleet/bmake.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "core/log.h"
#include "fam/fleet/api.h"
#include "fam/fleet/botcreate.h"
#include "fam/fleet/botdir.h"
#include "fam/fleet/bturn.h"
#include "fam/fleet/fleet.h"
#include "fam/fleet/identity.h"
#include "fam/fleet/skilllib.h"
#include "fam/fleet/sql.h"
#include "fam/fleet/templates.h"
#include "port.h"
#include "store/store.h"

#define MOD "builder"
/* SOUL.md of the largest config: 20 traits of 50, tone 200, purpose and
 * boundaries of 2000 characters, 4 bytes each, and the template. */
#define BMAKE_TEXT_BYTES (40u * 1024u)
#define CAPS_JSON_BYTES 160u
#define VERSION_BYTES 64u
#define PATH_BYTES ((size_t)CFG_CONF_VALUE_BYTES + 96u)

typedef struct {
    char name[SKILLMD_NAME_MAX + 1u];
    char version[VERSION_BYTES];
    char caps[CAPS_JSON_BYTES];      /* "" = null */
    bool created;                    /* a stub this assemble wrote */
} bskill;

/* cppcheck-suppress misra-c2012-5.7 ; false positive: an untagged struct has no tag */
static struct {
    bskill skill[BMAKE_SKILLS_MAX];
    size_t n;
    char *md;                        /* CFG_FLEET_SKILL_MD_BYTES, chat heap */
    skillmd m;
} g_make;

static fleet_bot g_bot;
static char g_name[FLEET_NAME_BYTES];
static char g_desc[FLEET_DESC_BYTES];
static char g_tags[FLEET_TAGS_JSON_BYTES];

_Static_assert(sizeof(bskill) <= 320u, "a skill's share of FLEET_BMAKE_STATIC_BYTES");
_Static_assert((sizeof(g_make) + sizeof(g_bot) + sizeof(g_name) + sizeof(g_desc) +
                sizeof(g_tags)) <= FLEET_BMAKE_STATIC_BYTES,
               "FLEET_BMAKE_STATIC_BYTES is this file's share of the plan (fleet.h)");

static const char k_overrides[] = "{\"origin\":\"builder-created\"}";

/* A JSON string member of obj into buf (NUL-terminated); "" when absent. */
static void member(const json_doc *d, int obj, const char *key, char *buf, size_t cap)
{
    int t = json_obj_get(d, obj, key);
    size_t n = 0u;
    buf[0] = '\0';
    if ((t >= 0) && (json_type(d, t) == JSON_STRING) &&
        (json_get_str(d, t, buf, cap, &n) != ST_OK)) {
        buf[0] = '\0';
    }
}

/* The manifest's capabilities in its own order, each once (valid ones). */
static void caps_json(const skillmd *m, char out[CAPS_JSON_BYTES])
{
    json_w w;
    size_t len = 0u;
    uint32_t seen = 0u;
    size_t i;
    json_w_init(&w, out, CAPS_JSON_BYTES);
    json_w_arr_begin(&w);
    for (i = 0u; i < m->capabilities.n; i++) {
        int k = skillmd_cap_index(m->capabilities.item[i]);
        if ((k >= 0) && ((seen & (1u << (uint32_t)k)) == 0u)) {
            seen |= 1u << (uint32_t)k;
            json_w_cstr(&w, skillmd_cap_name((size_t)k));
        }
    }
    json_w_arr_end(&w);
    if (json_w_finish(&w, &len) != ST_OK) {
        out[0] = '\0';
    }
}

static void remove_stubs(void)
{
    size_t i;
    for (i = 0u; i < g_make.n; i++) {
        if (g_make.skill[i].created && (skilllib_remove(g_make.skill[i].name) != ST_OK)) {
            LOG_W(MOD, "cannot remove the stub skill %s after a failed assemble",
                  g_make.skill[i].name);
        }
    }
}

/* The library skill of name, or a stub written for it. */
static st_t one_skill(bskill *k, const json_doc *d, int item)
{
    st_t st = skilllib_load(k->name, g_make.md, &g_make.m);
    if (st == ST_OK) {
        size_t vn = (g_make.m.version.p != NULL) ? g_make.m.version.n : 0u;
        if ((vn == 0u) || (vn >= VERSION_BYTES)) {
            (void)snprintf(k->version, VERSION_BYTES, "0.1.0");
        } else {
            (void)memcpy(k->version, g_make.m.version.p, vn);
            k->version[vn] = '\0';
        }
        if (g_make.m.capabilities.present) {
            caps_json(&g_make.m, k->caps);
        }
        return ST_OK;
    }
    if ((st != ST_NOTFOUND) && (st != ST_BAD)) {
        return st;     /* it may be there: never replaced on a read error */
    }
    {
        char desc[FLEET_DESC_BYTES];
        char type[32];
        size_t n = 0u;
        bool existed = skilllib_exists(k->name);   /* a directory that does not parse */
        member(d, item, "description", desc, sizeof desc);
        member(d, item, "skill_type", type, sizeof type);
        st = bskill_stub(strv_from_cstr(k->name), strv_from_cstr(desc),
                         strcmp(type, "wasm") == 0, g_make.md, CFG_FLEET_SKILL_MD_BYTES, &n);
        if (st == ST_OK) {
            st = skilllib_install(k->name, (strv){ g_make.md, n }, STRV_NULL);
        }
        /* what this assemble made goes again on failure; a directory that
         * was there (a skill that does not parse) is never removed */
        k->created = !existed;
        if ((st != ST_OK) && k->created && (skilllib_remove(k->name) != ST_OK)) {
            LOG_W(MOD, "cannot remove the stub skill %s after it failed", k->name);
        }
        if (st == ST_OK) {
            (void)snprintf(k->version, VERSION_BYTES, "0.1.0");
        }
    }
    return st;
}

/* Every skill of the config: found, or created as a stub. */
static st_t skills(const json_doc *d, int cfg)
{
    int arr = json_obj_get(d, cfg, "skills");
    json_iter it = JSON_ITER_INIT;
    int item;
    st_t st = ST_OK;
    g_make.n = 0u;
    if ((arr < 0) || (json_type(d, arr) != JSON_ARRAY)) {
        return ST_OK;
    }
    while ((st == ST_OK) && json_arr_next(d, arr, &it, &item) && (g_make.n < BMAKE_SKILLS_MAX)) {
        bskill *k = &g_make.skill[g_make.n];
        bool dup = false;
        size_t i;
        (void)memset(k, 0, sizeof *k);
        member(d, item, "name", k->name, sizeof k->name);
        for (i = 0u; i < g_make.n; i++) {
            dup = dup || (strcmp(g_make.skill[i].name, k->name) == 0);
        }
        if (dup || !skillmd_name_ok(strv_from_cstr(k->name))) {
            continue;
        }
        st = one_skill(k, d, item);
        if (st == ST_OK) {
            g_make.n++;
        }
    }
    return st;
}

/* botcreate's extra rows: one bot_skills row per skill. */
static st_t skill_rows(void *ctx, const char *bot_id)
{
    st_t st = ST_OK;
    size_t i;
    (void)ctx;
    for (i = 0u; (i < g_make.n) && (st == ST_OK); i++) {
        const bskill *k = &g_make.skill[i];
        sqlite3_stmt *q = fleet_stmt(FLEET_SQL_BOT_SKILL_ATTACH_AS);
        st = store_bind_text(q, 1, strv_from_cstr(bot_id));
        if (st == ST_OK) {
            st = store_bind_text(q, 2, strv_from_cstr(k->name));
        }
        if (st == ST_OK) {
            st = store_bind_text(q, 3, strv_from_cstr("local"));
        }
        if (st == ST_OK) {
            st = store_bind_text(q, 4, strv_from_cstr(k->version));
        }
        if (st == ST_OK) {
            st = store_bind_text(q, 5, strv_from_cstr(k_overrides));
        }
        if (st == ST_OK) {
            st = (strlen(k->caps) > 0u) ? store_bind_text(q, 6, strv_from_cstr(k->caps))
                                      : store_bind_null(q, 6);
        }
        if (st == ST_OK) {
            st = store_exec(q);
        } else {
            store_done(q);
        }
    }
    return st;
}

/* The tags array of the config as JSON text (checked: strings). */
static void tags_json(const json_doc *d, int cfg, char *out, size_t cap)
{
    int arr = json_obj_get(d, cfg, "tags");
    strv raw = STRV_NULL;
    if ((arr >= 0) && (json_type(d, arr) == JSON_ARRAY)) {
        raw = json_raw(d, arr);
    }
    if ((raw.n == 0u) || (raw.n >= cap)) {
        (void)snprintf(out, cap, "[]");
    } else {
        (void)memcpy(out, raw.p, raw.n);
        out[raw.n] = '\0';
    }
}

static void trim(char *s)
{
    size_t n = strlen(s);
    size_t a = 0u;
    while ((s[a] == ' ') || (s[a] == '\t') || (s[a] == '\n') || (s[a] == '\r')) {
        a++;
    }
    while ((n > a) && ((s[n - 1u] == ' ') || (s[n - 1u] == '\t') || (s[n - 1u] == '\n') ||
                       (s[n - 1u] == '\r'))) {
        n--;
    }
    (void)memmove(s, &s[a], n - a);
    s[n - a] = '\0';
}

static const char *first_provider(void)
{
    if ((g_chat_cfg != NULL) && (g_chat_cfg->nchain > 0u)) {
        return g_chat_cfg->prov[g_chat_cfg->chain[0]].name;
    }
    return TEMPLATES_DEFAULT_PROVIDER;
}

st_t bmake_assemble(const json_doc *d, int cfg, bmake_result *out)
{
    char *name = g_name;
    char *desc = g_desc;
    char *tags = g_tags;
    char *text = (char *)heap_alloc(&g_chat_heap, 3u * BMAKE_TEXT_BYTES);
    size_t ns = 0u;
    g_make.md = (char *)heap_alloc(&g_chat_heap, CFG_FLEET_SKILL_MD_BYTES);
    size_t ni = 0u;
    size_t nu = 0u;
    botcreate_req r;
    st_t st;
    (void)memset(out, 0, sizeof *out);
    if ((text == NULL) || (g_make.md == NULL)) {
        heap_free(&g_chat_heap, text);
        heap_free(&g_chat_heap, g_make.md);
        g_make.md = NULL;
        return ST_NOMEM;
    }
    member(d, cfg, "name", name, sizeof(g_name));
    trim(name);
    member(d, cfg, "description", desc, sizeof(g_desc));
    if (strlen(desc) == 0u) {
        (void)snprintf(desc, sizeof(g_desc), "A bot named %s", name);
    }
    tags_json(d, cfg, tags, sizeof(g_tags));
    st = bconfig_soul(d, cfg, text, BMAKE_TEXT_BYTES, &ns);
    if (st == ST_OK) {
        st = bconfig_identity(d, cfg, first_provider(), &text[BMAKE_TEXT_BYTES],
                              BMAKE_TEXT_BYTES, &ni);
    }
    if (st == ST_OK) {
        st = bconfig_user(d, cfg, &text[2u * BMAKE_TEXT_BYTES], BMAKE_TEXT_BYTES, &nu);
    }
    if (st == ST_OK) {
        st = skills(d, cfg);
    }
    if (st == ST_OK) {
        (void)memset(&r, 0, sizeof r);
        r.name = name;
        r.description = desc;
        r.category = bconfig_category(d, cfg);
        r.tags_json = tags;
        r.soul = (strv){ text, ns };
        r.identity = (strv){ &text[BMAKE_TEXT_BYTES], ni };
        r.user = (strv){ &text[2u * BMAKE_TEXT_BYTES], nu };
        r.rows = skill_rows;
        r.rows_ctx = NULL;
        st = botcreate_run(&r, &out->bot, out->base);
    }
    heap_free(&g_chat_heap, text);
    heap_free(&g_chat_heap, g_make.md);
    g_make.md = NULL;
    if (st != ST_OK) {
        remove_stubs();
        g_make.n = 0u;
        return st;
    }
    {
        size_t i;
        for (i = 0u; i < g_make.n; i++) {
            (void)memcpy(out->skills[i], g_make.skill[i].name, sizeof out->skills[i]);
        }
        out->nskills = g_make.n;
    }
    LOG_I(MOD, "assembled bot %s with %u skill(s)", out->bot.slug, (unsigned)out->nskills);
    return ST_OK;
}

static void path_field(json_w *w, const char *key, const char *slug, const char *file)
{
    char rel[PATH_BYTES];
    char abs[PATH_BYTES];
    if (!fleet_bot_path(slug, file, rel, sizeof rel)) {
        json_w_knull(w, key);
        return;
    }
    if (port_realpath(rel, abs, sizeof abs) != ST_OK) {
        (void)snprintf(abs, sizeof abs, "%s", rel);
    }
    json_w_kstr(w, key, abs);
}

void bmake_write_result(json_w *w, const bmake_result *r, bool paths)
{
    size_t i;
    json_w_obj_begin(w);
    json_w_kstr(w, "bot_id", r->bot.id);
    json_w_kstr(w, "bot_slug", r->bot.slug);
    json_w_kstr(w, "bot_name", r->bot.name);
    if (paths) {
        path_field(w, "soul_path", r->bot.slug, BOTDIR_SOUL);
        path_field(w, "identity_path", r->bot.slug, BOTDIR_IDENTITY);
        path_field(w, "user_path", r->bot.slug, BOTDIR_USER);
    }
    json_w_key(w, "skills_attached");
    json_w_arr_begin(w);
    for (i = 0u; i < r->nskills; i++) {
        json_w_cstr(w, r->skills[i]);
    }
    json_w_arr_end(w);
    json_w_obj_end(w);
}

/* ---- reconfigure ---------------------------------------------------------------- */

static bool buf_alloc(chat_buf *b, size_t cap)
{
    chat_buf_free(b);
    b->p = (char *)heap_alloc(&g_chat_heap, cap);
    b->cap = (b->p != NULL) ? cap : 0u;
    b->n = 0u;
    return b->p != NULL;
}

/* The attached skills as BuilderConfig skills. */
static void current_skills(json_w *w, const fleet_bot *bot)
{
    sqlite3_stmt *q = fleet_stmt(FLEET_SQL_BOT_SKILL_LIST);
    bool row = true;
    st_t st = store_bind_text(q, 1, strv_from_cstr(bot->id));
    json_w_key(w, "skills");
    json_w_arr_begin(w);
    while (st == ST_OK) {
        const char *name;
        st = store_step(q, &row);
        if ((st != ST_OK) || !row) {
            break;
        }
        name = (const char *)sqlite3_column_text(q, 0);
        json_w_obj_begin(w);
        json_w_kstr(w, "name", name);
        if ((name != NULL) && (g_make.md != NULL) &&
            (skilllib_load(name, g_make.md, &g_make.m) == ST_OK)) {
            json_w_kstrn(w, "description", g_make.m.description.p, g_make.m.description.n);
            json_w_kstr(w, "skill_type",
                        strv_eq_cstr(g_make.m.skill_type, "tool") ? "wasm" : "local");
        } else {
            json_w_kstr(w, "description", "");
            json_w_kstr(w, "skill_type", "local");
        }
        json_w_obj_end(w);
    }
    store_done(q);
    json_w_arr_end(w);
}

st_t bmake_current(strv bot, chat_buf *config, chat_buf *desc, chat_buf *user)
{
    fleet_bot *b = &g_bot;
    char *ident;
    identity_fm fm;
    size_t n = 0u;
    size_t cap;
    json_w w;
    st_t st = bot_load(bot, b);
    if (st != ST_OK) {
        return st;
    }
    ident = (char *)heap_alloc(&g_chat_heap, FLEET_CONTENT_MAX_BYTES);
    g_make.md = (char *)heap_alloc(&g_chat_heap, CFG_FLEET_SKILL_MD_BYTES);
    cap = 16384u + ((size_t)BMAKE_SKILLS_MAX * 8192u);
    if ((ident == NULL) || !buf_alloc(config, cap) ||
        !buf_alloc(desc, strlen(b->description) + 1u) ||
        !buf_alloc(user, strlen(b->name) + 160u)) {
        heap_free(&g_chat_heap, ident);
        heap_free(&g_chat_heap, g_make.md);
        g_make.md = NULL;
        return ST_NOMEM;
    }
    if (botdir_read(b->slug, BOTDIR_IDENTITY, ident, FLEET_CONTENT_MAX_BYTES, &n) != ST_OK) {
        n = 0u;
    }
    (void)identity_parse((strv){ ident, n }, &fm);
    json_w_init(&w, config->p, cap);
    json_w_obj_begin(&w);
    json_w_kstr(&w, "name", b->name);
    json_w_kstr(&w, "description", b->description);
    json_w_kstr(&w, "category", b->category);
    json_w_kraw(&w, "tags", b->tags, strlen(b->tags));
    json_w_key(&w, "personality");
    json_w_obj_begin(&w);
    json_w_kstr(&w, "tone", "adaptive");
    json_w_key(&w, "traits");
    json_w_arr_begin(&w);
    json_w_arr_end(&w);
    json_w_kstr(&w, "purpose", b->description);
    json_w_knull(&w, "boundaries");
    json_w_obj_end(&w);
    json_w_key(&w, "model_config");
    json_w_obj_begin(&w);
    json_w_kstrn(&w, "model", fm.model.p, fm.model.n);
    json_w_kf64(&w, "temperature", fm.temperature);
    json_w_ki64(&w, "max_tokens", fm.max_tokens);
    json_w_obj_end(&w);
    current_skills(&w, b);
    json_w_obj_end(&w);
    st = json_w_finish(&w, &config->n);
    heap_free(&g_chat_heap, ident);
    heap_free(&g_chat_heap, g_make.md);
    g_make.md = NULL;
    if (st != ST_OK) {
        return ST_NOMEM;
    }
    (void)memcpy(desc->p, b->description, strlen(b->description) + 1u);
    desc->n = strlen(b->description);
    {
        int k = snprintf(user->p, user->cap,
                         "I want to reconfigure my bot \"%s\". Show me the current "
                         "configuration and ask what I'd like to adjust.",
                         b->name);
        user->n = ((k > 0) && ((size_t)k < user->cap)) ? (size_t)k : 0u;
    }
    return ST_OK;
}
