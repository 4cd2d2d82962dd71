/*
 * skills.c - the skill library and per-bot skills (spec/fleet.md §5.6,
 * models §2.8).
 *
 * Implementation notes:
 * - The library is <data_dir>/skills/<name>/SKILL.md, read whole into a
 *   static buffer (CFG_FLEET_SKILL_MD_BYTES) and parsed by skillmd.c. Only
 *   directory names that are valid skill names are looked at, so a name
 *   never leaves the skills directory. Symlinked skill directories are not
 *   listed (port_dir_list reports them as non-directories).
 * - No heap: GET /skills collects names into a fixed array of
 *   CFG_FLEET_SKILLS_MAX, kept sorted by insertion; with more directories
 *   the first CFG_FLEET_SKILLS_MAX names in byte order are listed and a
 *   warning is logged. Directories whose SKILL.md does not parse still take
 *   a slot.
 * - GET /skills/{name} keeps the skill in one buffer and walks its
 *   ancestors breadth-first through a second one; the queue holds every
 *   name seen once (CFG_FLEET_SKILLS_MAX), which also cuts cycles.
 * - Per-bot configuration lives in bot_skills; overrides and capabilities
 *   are JSON text validated here and emitted as they are.
 */
#include "fam/fleet/handlers.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "core/log.h"
#include "fam/fleet/api.h"
#include "fam/fleet/bot.h"
#include "fam/fleet/fleet.h"
#include "fam/fleet/skillmd.h"
#include "fam/fleet/skilllib.h"
#include "fam/fleet/sql.h"
#include "port.h"
#include "fam/shared/fam.h"
#include "store/store.h"

#define NAME_BYTES (SKILLMD_NAME_MAX + 1u)
/* Largest overrides object accepted, as compact JSON text (config.h). */
#define OVERRIDES_MAX_BYTES CFG_FLEET_SKILL_OVERRIDES_BYTES
/* Capabilities as JSON text: 8 distinct names, quoted, with commas. */
#define CAPS_JSON_BYTES 160u
#define MSG_NAME_MAX 64

static char g_md[CFG_FLEET_SKILL_MD_BYTES];       /* the skill asked for */
static char g_md_up[CFG_FLEET_SKILL_MD_BYTES];    /* its ancestors, one at a time */
static skillmd g_skill;
static skillmd g_up;
static char g_names[CFG_FLEET_SKILLS_MAX][NAME_BYTES];
static bool g_found[CFG_FLEET_SKILLS_MAX];
static size_t g_nnames;
static size_t g_dropped;
static char g_overrides[OVERRIDES_MAX_BYTES];
static char g_key[OVERRIDES_MAX_BYTES];
static fleet_bot g_bot;
_Static_assert(((sizeof g_md) + (sizeof g_md_up) + (sizeof g_skill) + (sizeof g_up) +
                (sizeof g_names) + (sizeof g_found) + (sizeof g_nnames) + (sizeof g_dropped) +
                (sizeof g_overrides) + (sizeof g_key) + (sizeof g_bot)) <=
                   FLEET_SKILLS_STATIC_BYTES,
               "FLEET_SKILLS_STATIC_BYTES is this file's share of the plan (fleet.h)");

/* ---- the library -------------------------------------------------------------- */

/* A view's text as a C string in out (a valid skill name fits). */
static bool name_copy(strv s, char out[NAME_BYTES])
{
    if (!skillmd_name_ok(s)) {
        return false;
    }
    (void)memcpy(out, s.p, s.n);
    out[s.n] = '\0';
    return true;
}

/* port_dir_list callback: insert a skill directory name in sorted order,
 * keeping the CFG_FLEET_SKILLS_MAX smallest. */
static bool collect(const char *name, bool is_dir, void *ctx)
{
    size_t n = strlen(name);
    size_t pos = 0u;
    size_t i;
    (void)ctx;
    if (!is_dir || !skillmd_name_ok((strv){ name, n })) {
        return true;
    }
    while ((pos < g_nnames) && (strcmp(g_names[pos], name) < 0)) {
        pos++;
    }
    if (pos >= (size_t)CFG_FLEET_SKILLS_MAX) {
        g_dropped++;
        return true;
    }
    if (g_nnames == (size_t)CFG_FLEET_SKILLS_MAX) {
        g_dropped++;          /* the largest name falls off the end */
        g_nnames--;
    }
    for (i = g_nnames; i > pos; i--) {
        (void)memcpy(g_names[i], g_names[i - 1u], NAME_BYTES);
    }
    (void)memcpy(g_names[pos], name, n + 1u);
    g_nnames++;
    return true;
}

static void collect_names(void)
{
    char path[CFG_CONF_VALUE_BYTES + 16];
    int k = snprintf(path, sizeof path, "%s/skills", fleet_data_dir());
    g_nnames = 0u;
    g_dropped = 0u;
    if ((k > 0) && ((size_t)k < sizeof path)) {
        (void)port_dir_list(path, collect, NULL);
    }
    if (g_dropped > 0u) {
        LOG_W("fleet", "skill library: %lu directories beyond the first %u ignored",
              (unsigned long)g_dropped, (unsigned)CFG_FLEET_SKILLS_MAX);
    }
}

/* ---- JSON --------------------------------------------------------------------- */

static void kview(json_w *w, const char *key, strv v)
{
    if (v.p == NULL) {
        json_w_knull(w, key);
    } else {
        json_w_kstrn(w, key, v.p, v.n);
    }
}

static void klist(json_w *w, const char *key, const skillmd_list *l)
{
    size_t i;
    json_w_key(w, key);
    if (!l->present) {
        json_w_null(w);
        return;
    }
    json_w_arr_begin(w);
    for (i = 0u; i < l->n; i++) {
        json_w_str(w, l->item[i].p, l->item[i].n);
    }
    json_w_arr_end(w);
}

/* SkillManifest (§2.8). */
static void write_manifest(json_w *w, const skillmd *m)
{
    json_w_obj_begin(w);
    kview(w, "name", m->name);
    kview(w, "description", m->description);
    kview(w, "license", m->license);
    kview(w, "compatibility", m->compatibility);
    json_w_key(w, "metadata");
    if (m->has_metadata) {
        json_w_obj_begin(w);
        kview(w, "author", m->author);
        kview(w, "version", m->version);
        kview(w, "skill-type", m->skill_type);
        klist(w, "capabilities", &m->capabilities);
        klist(w, "dependencies", &m->dependencies);
        klist(w, "conflicts-with", &m->conflicts_with);
        kview(w, "trust-tier", m->trust_tier);
        klist(w, "parents", &m->parents);
        klist(w, "secrets", &m->secrets);
        klist(w, "categories", &m->categories);
        json_w_obj_end(w);
    } else {
        json_w_null(w);
    }
    kview(w, "allowed-tools", m->allowed_tools);
    json_w_obj_end(w);
}

/* A JSON column as it is, or the fallback when NULL/empty. */
static void kraw_col(json_w *w, const char *key, sqlite3_stmt *q, int col, const char *fallback)
{
    strv v = store_col_text(q, col);
    if (store_col_is_null(q, col) || (v.n == 0u)) {
        if (fallback == NULL) {
            json_w_knull(w, key);
        } else {
            json_w_kraw(w, key, fallback, strlen(fallback));
        }
    } else {
        json_w_kraw(w, key, v.p, v.n);
    }
}

/* BotSkillConfig from a BOT_SKILL_GET row. */
static void write_config(json_w *w, sqlite3_stmt *q)
{
    json_w_obj_begin(w);
    fam_kcol_str(w, "skill_name", q, 0);
    json_w_kbool(w, "enabled", store_col_int64(q, 1) != 0);
    fam_kcol_str(w, "trust_tier", q, 2);
    fam_kcol_str(w, "version", q, 3);
    kraw_col(w, "overrides", q, 4, "{}");
    kraw_col(w, "capabilities", q, 5, NULL);
    json_w_obj_end(w);
}

/* ---- library handlers ----------------------------------------------------------- */

void skills_list(hctx *h)
{
    json_w w;
    size_t i;
    collect_names();
    fleet_ok_begin(h, 200, &w);
    json_w_arr_begin(&w);
    for (i = 0u; i < g_nnames; i++) {
        if (skilllib_load(g_names[i], g_md, &g_skill) == ST_OK) {
            json_w_obj_begin(&w);
            json_w_kstr(&w, "name", g_names[i]);
            kview(&w, "description", g_skill.description);
            kview(&w, "skill_type", g_skill.skill_type);
            kview(&w, "trust_tier", g_skill.trust_tier);
            kview(&w, "version", g_skill.version);
            json_w_key(&w, "source");
            json_w_obj_begin(&w);
            json_w_kstr(&w, "type", "local");
            json_w_obj_end(&w);
            json_w_kbool(&w, "installed", true);
            json_w_obj_end(&w);
        }
    }
    json_w_arr_end(&w);
    {
        fleet_link links[] = { { "self", "/api/v1/skills" } };
        fleet_ok_end(h, &w, links, 1u);
    }
}

/* Queue parent `p` of the BFS unless it is the root, already queued, not a
 * valid name, or the queue is full. */
static void queue_parent(strv p, const char *root)
{
    size_t i;
    bool seen = !skillmd_name_ok(p) || strv_eq_cstr(p, root);
    for (i = 0u; (i < g_nnames) && !seen; i++) {
        seen = strv_eq_cstr(p, g_names[i]);
    }
    if (seen) {
        return;
    }
    if (g_nnames >= (size_t)CFG_FLEET_SKILLS_MAX) {
        g_dropped++;
        return;
    }
    (void)name_copy(p, g_names[g_nnames]);
    g_found[g_nnames] = false;
    g_nnames++;
}

static void queue_parents(const skillmd *m, const char *root)
{
    if (m->parents.present) {
        size_t i;
        for (i = 0u; i < m->parents.n; i++) {
            queue_parent(m->parents.item[i], root);
        }
    }
}

/* Breadth-first over metadata.parents from g_skill; returns the union of
 * capabilities; g_names[i] with g_found[i] is the parent chain. */
static uint32_t resolve_parents(const char *root)
{
    uint32_t caps = skillmd_cap_mask(&g_skill);
    size_t head = 0u;
    g_nnames = 0u;
    g_dropped = 0u;
    queue_parents(&g_skill, root);
    while (head < g_nnames) {
        if (skilllib_load(g_names[head], g_md_up, &g_up) == ST_OK) {
            g_found[head] = true;
            caps |= skillmd_cap_mask(&g_up);
            queue_parents(&g_up, root);
        }
        head++;
    }
    if (g_dropped > 0u) {
        LOG_W("fleet", "skill %s: parent chain longer than %u skills, cut", root,
              (unsigned)CFG_FLEET_SKILLS_MAX);
    }
    return caps;
}

static void skill_not_found(hctx *h, strv name, const char *suffix)
{
    char msg[160];
    (void)snprintf(msg, sizeof msg, "Skill '%.*s'%s",
                   (int)((name.n < (size_t)MSG_NAME_MAX) ? name.n : (size_t)MSG_NAME_MAX),
                   name.p, suffix);
    fleet_fail(h, 404, "SKILL_NOT_FOUND", msg);
}

void skills_get(hctx *h)
{
    strv param = hctx_param(h, 0u);
    char name[NAME_BYTES];
    char self[32u + NAME_BYTES];
    uint32_t caps;
    size_t i;
    json_w w;
    if (!name_copy(param, name) || (skilllib_load(name, g_md, &g_skill) != ST_OK)) {
        skill_not_found(h, param, " not found");
        return;
    }
    caps = resolve_parents(name);
    (void)snprintf(self, sizeof self, "/api/v1/skills/%s", name);
    fleet_ok_begin(h, 200, &w);
    json_w_obj_begin(&w);
    json_w_key(&w, "manifest");
    write_manifest(&w, &g_skill);
    json_w_kstrn(&w, "body", g_skill.body.p, g_skill.body.n);
    json_w_key(&w, "resolved_capabilities");
    json_w_arr_begin(&w);
    for (i = 0u; i < SKILLMD_CAP_COUNT; i++) {
        if ((caps & ((uint32_t)1u << i)) != 0u) {
            json_w_cstr(&w, skillmd_cap_pascal(i));
        }
    }
    json_w_arr_end(&w);
    json_w_key(&w, "parent_chain");
    json_w_arr_begin(&w);
    for (i = 0u; i < g_nnames; i++) {
        if (g_found[i]) {
            json_w_cstr(&w, g_names[i]);
        }
    }
    json_w_arr_end(&w);
    json_w_key(&w, "conflicts_with");
    json_w_arr_begin(&w);
    for (i = 0u; i < g_skill.conflicts_with.n; i++) {
        json_w_str(&w, g_skill.conflicts_with.item[i].p, g_skill.conflicts_with.item[i].n);
    }
    json_w_arr_end(&w);
    json_w_obj_end(&w);
    {
        fleet_link links[] = { { "self", self } };
        fleet_ok_end(h, &w, links, 1u);
    }
}

/* ---- per-bot handlers --------------------------------------------------------------- */

void skills_bot_list(hctx *h)
{
    strv given = hctx_param(h, 0u);
    char self[48 + CFG_HTTP_PARAM_BYTES];
    char name[NAME_BYTES];
    sqlite3_stmt *q;
    bool row = false;
    json_w w;
    st_t st;
    if (!bot_resolve(h, 0u, &g_bot)) {
        return;
    }
    (void)snprintf(self, sizeof self, "/api/v1/bots/%.*s/skills", (int)given.n, given.p);
    q = fleet_stmt(FLEET_SQL_BOT_SKILL_LIST);
    st = store_bind_text(q, 1, strv_from_cstr(g_bot.id));
    if (st != ST_OK) {
        store_done(q);
        fleet_internal(h, "bot skills list", st);
        return;
    }
    fleet_ok_begin(h, 200, &w);
    json_w_arr_begin(&w);
    st = store_step(q, &row);
    while ((st == ST_OK) && row) {
        strv sname = store_col_text(q, 0);
        bool lib = name_copy(sname, name) && (skilllib_load(name, g_md, &g_skill) == ST_OK);
        json_w_obj_begin(&w);
        json_w_kstrn(&w, "name", sname.p, sname.n);
        if (lib) {
            kview(&w, "description", g_skill.description);
            kview(&w, "skill_type", g_skill.skill_type);
        } else {
            json_w_kstr(&w, "description", "");
            json_w_knull(&w, "skill_type");
        }
        fam_kcol_str(&w, "trust_tier", q, 2);
        json_w_kbool(&w, "enabled", store_col_int64(q, 1) != 0);
        kraw_col(&w, "overrides", q, 3, "{}");
        json_w_obj_end(&w);
        st = store_step(q, &row);
    }
    store_done(q);
    json_w_arr_end(&w);
    if (st != ST_OK) {
        h->resp.overflow = true;   /* the family's 500 (store logged why) */
    }
    {
        fleet_link links[] = { { "self", self } };
        fleet_ok_end(h, &w, links, 1u);
    }
}

/* overrides: {string: string} | null into g_overrides as compact JSON text
 * (a repeated key: the last one wins). *given false when absent or null.
 * false: answered 400. */
static bool parse_overrides(hctx *h, const json_doc *d, int obj, bool *given)
{
    int t = json_obj_get(d, obj, "overrides");
    json_iter it = JSON_ITER_INIT;
    int kt;
    int vt;
    json_w w;
    size_t len = 0u;
    *given = false;
    if ((t < 0) || json_is_null(d, t)) {
        return true;
    }
    if (json_type(d, t) != JSON_OBJECT) {
        fleet_bad_field(h, "overrides", "expected an object of strings");
        return false;
    }
    json_w_init(&w, g_overrides, (sizeof g_overrides) - 1u);
    json_w_obj_begin(&w);
    while (json_obj_next(d, t, &it, &kt, &vt)) {
        size_t kn = 0u;
        if (json_type(d, vt) != JSON_STRING) {
            fleet_bad_field(h, "overrides", "expected an object of strings");
            return false;
        }
        if (json_get_mem(d, kt, g_key, sizeof g_key, &kn) != ST_OK) {
            fleet_bad_field(h, "overrides", "too large");
            return false;
        }
        if (json_obj_getn(d, t, g_key, kn) == vt) {
            strv raw = json_raw(d, vt);
            json_w_keyn(&w, g_key, kn);
            json_w_raw(&w, raw.p, raw.n);
        }
    }
    json_w_obj_end(&w);
    if (json_w_finish(&w, &len) != ST_OK) {
        fleet_bad_field(h, "overrides", "too large (at most 8192 bytes as JSON)");
        return false;
    }
    g_overrides[len] = '\0';
    *given = true;
    return true;
}

/* capabilities: Capability[] | null into caps (JSON text, repeats dropped).
 * *given false when absent or null. false: answered 400. */
static bool parse_caps(hctx *h, const json_doc *d, int obj, char caps[CAPS_JSON_BYTES],
                       bool *given)
{
    int t = json_obj_get(d, obj, "capabilities");
    json_iter it = JSON_ITER_INIT;
    uint32_t seen = 0u;
    char reason[96];
    int v;
    json_w w;
    size_t len = 0u;
    *given = false;
    if ((t < 0) || json_is_null(d, t)) {
        return true;
    }
    if (json_type(d, t) != JSON_ARRAY) {
        fleet_bad_field(h, "capabilities", "expected an array of capabilities");
        return false;
    }
    json_w_init(&w, caps, CAPS_JSON_BYTES - 1u);
    json_w_arr_begin(&w);
    while (json_arr_next(d, t, &it, &v)) {
        char s[32];
        size_t n = 0u;
        int k = -1;
        if (json_type(d, v) != JSON_STRING) {
            fleet_bad_field(h, "capabilities", "expected an array of capabilities");
            return false;
        }
        if (json_get_mem(d, v, s, sizeof s, &n) == ST_OK) {
            k = skillmd_cap_index((strv){ s, n });
        }
        if (k < 0) {
            strv raw = json_raw(d, v);
            (void)snprintf(reason, sizeof reason, "unknown capability %.*s",
                           (int)((raw.n < 40u) ? raw.n : 40u), raw.p);
            fleet_bad_field(h, "capabilities", reason);
            return false;
        }
        if ((seen & ((uint32_t)1u << (unsigned)k)) == 0u) {
            seen |= (uint32_t)1u << (unsigned)k;
            json_w_cstr(&w, skillmd_cap_name((size_t)k));
        }
    }
    json_w_arr_end(&w);
    if (json_w_finish(&w, &len) != ST_OK) {
        fleet_internal(h, "capabilities text", ST_FULL);
        return false;
    }
    caps[len] = '\0';
    *given = true;
    return true;
}

/* The attach body; false: answered 400. name[0..*name_n) gets skill_name
 * (a name too long for it is cut: it cannot be valid and is reported as not
 * found with its first characters). */
static bool attach_body(hctx *h, const json_doc *d, char *name, size_t cap, size_t *name_n,
                        char caps[CAPS_JSON_BYTES], bool *caps_given)
{
    int root = json_root(d);
    int t = json_obj_get(d, root, "skill_name");
    bool ov = false;
    size_t n = 0u;
    st_t st;
    if ((t < 0) || json_is_null(d, t)) {
        fleet_bad_field(h, "skill_name", "field required");
        return false;
    }
    if (json_type(d, t) != JSON_STRING) {
        fleet_bad_field(h, "skill_name", "expected a string");
        return false;
    }
    st = json_get_mem(d, t, name, cap - 1u, &n);
    if (st != ST_OK) {
        strv raw = json_raw(d, t);   /* with its quotes */
        n = (raw.n >= 2u) ? (raw.n - 2u) : 0u;
        if (n > (cap - 1u)) {
            n = cap - 1u;
        }
        if (n > 0u) {
            (void)memcpy(name, raw.p + 1, n);
        }
    }
    name[n] = '\0';
    *name_n = n;
    if (!parse_caps(h, d, root, caps, caps_given) || !parse_overrides(h, d, root, &ov)) {
        return false;
    }
    if (!ov) {
        (void)memcpy(g_overrides, "{}", 3u);
    }
    return true;
}

/* Answer a BotSkillConfig read back from the store. */
static void answer_config(hctx *h, int status, const char *name)
{
    sqlite3_stmt *q = fleet_stmt(FLEET_SQL_BOT_SKILL_GET);
    bool row = false;
    json_w w;
    st_t st = store_bind_text(q, 1, strv_from_cstr(g_bot.id));
    if (st == ST_OK) {
        st = store_bind_text(q, 2, strv_from_cstr(name));
    }
    if (st == ST_OK) {
        st = store_step(q, &row);
    }
    if ((st == ST_OK) && !row) {
        st = ST_DB;
    }
    if (st != ST_OK) {
        store_done(q);
        fleet_internal(h, "bot skill read back", st);
        return;
    }
    fleet_ok_begin(h, status, &w);
    write_config(&w, q);
    store_done(q);
    fleet_ok_end(h, &w, NULL, 0u);
}

void skills_attach(hctx *h)
{
    char name[NAME_BYTES + 1u];
    char caps[CAPS_JSON_BYTES];
    size_t name_n = 0u;
    bool caps_given = false;
    bool ok;
    json_doc d;
    sqlite3_stmt *q;
    st_t st;
    if (!bot_resolve(h, 0u, &g_bot) || !fleet_body(h, &d)) {
        return;
    }
    ok = attach_body(h, &d, name, sizeof name, &name_n, caps, &caps_given);
    json_release(&d);
    if (!ok) {
        return;
    }
    if (!skillmd_name_ok((strv){ name, name_n }) ||
        (skilllib_load(name, g_md, &g_skill) != ST_OK)) {
        skill_not_found(h, (strv){ name, name_n }, " not found in global store");
        return;
    }
    q = fleet_stmt(FLEET_SQL_BOT_SKILL_ATTACH);
    st = store_bind_text(q, 1, strv_from_cstr(g_bot.id));
    if (st == ST_OK) {
        st = store_bind_text(q, 2, strv_from_cstr(name));
    }
    if (st == ST_OK) {
        st = store_bind_text(q, 3, strv_from_cstr(g_overrides));
    }
    if (st == ST_OK) {
        st = caps_given ? store_bind_text(q, 4, strv_from_cstr(caps)) : store_bind_null(q, 4);
    }
    if (st == ST_OK) {
        st = store_exec(q);
    } else {
        store_done(q);
    }
    if (st != ST_OK) {
        fleet_internal(h, "bot skill attach", st);
        return;
    }
    answer_config(h, 201, name);
}

/* Is skill {name} (path parameter 1) attached to g_bot? false: answered. */
static bool attached(hctx *h, char name[NAME_BYTES])
{
    strv param = hctx_param(h, 1u);
    bool row = false;
    st_t st = ST_NOTFOUND;
    if (name_copy(param, name)) {
        sqlite3_stmt *q = fleet_stmt(FLEET_SQL_BOT_SKILL_GET);
        st = store_bind_text(q, 1, strv_from_cstr(g_bot.id));
        if (st == ST_OK) {
            st = store_bind_text(q, 2, strv_from_cstr(name));
        }
        if (st == ST_OK) {
            st = store_step(q, &row);
        }
        store_done(q);
        if ((st == ST_OK) && !row) {
            st = ST_NOTFOUND;
        }
    }
    if (st == ST_NOTFOUND) {
        skill_not_found(h, param, " is not attached to this bot");
        return false;
    }
    if (st != ST_OK) {
        fleet_internal(h, "bot skill lookup", st);
        return false;
    }
    return true;
}

/* The PATCH body: enabled (-1 absent, 0, 1) and overrides. false: 400. */
static bool patch_body(hctx *h, const json_doc *d, int *enabled, bool *ov)
{
    int root = json_root(d);
    int t = json_obj_get(d, root, "enabled");
    bool b = false;
    *enabled = -1;
    if ((t >= 0) && !json_is_null(d, t)) {
        if (json_get_bool(d, t, &b) != ST_OK) {
            fleet_bad_field(h, "enabled", "expected a boolean");
            return false;
        }
        *enabled = 0;
        if (b) {
            *enabled = 1;
        }
    }
    return parse_overrides(h, d, root, ov);
}

void skills_patch(hctx *h)
{
    char name[NAME_BYTES];
    int enabled = -1;
    bool ov = false;
    bool ok;
    json_doc d;
    sqlite3_stmt *q;
    st_t st;
    if (!bot_resolve(h, 0u, &g_bot) || !attached(h, name) || !fleet_body(h, &d)) {
        return;
    }
    ok = patch_body(h, &d, &enabled, &ov);
    json_release(&d);
    if (!ok) {
        return;
    }
    q = fleet_stmt(FLEET_SQL_BOT_SKILL_UPDATE);
    st = store_bind_text(q, 1, strv_from_cstr(g_bot.id));
    if (st == ST_OK) {
        st = store_bind_text(q, 2, strv_from_cstr(name));
    }
    if (st == ST_OK) {
        st = (enabled < 0) ? store_bind_null(q, 3) : store_bind_int64(q, 3, (int64_t)enabled);
    }
    if (st == ST_OK) {
        st = ov ? store_bind_text(q, 4, strv_from_cstr(g_overrides)) : store_bind_null(q, 4);
    }
    if (st == ST_OK) {
        st = store_exec(q);
    } else {
        store_done(q);
    }
    if (st != ST_OK) {
        fleet_internal(h, "bot skill patch", st);
        return;
    }
    answer_config(h, 200, name);
}

void skills_detach(hctx *h)
{
    strv param;
    char name[NAME_BYTES];
    json_w w;
    st_t st = ST_NOTFOUND;
    if (!bot_resolve(h, 0u, &g_bot)) {
        return;
    }
    param = hctx_param(h, 1u);
    if (name_copy(param, name)) {
        sqlite3_stmt *q = fleet_stmt(FLEET_SQL_BOT_SKILL_DETACH);
        st = store_bind_text(q, 1, strv_from_cstr(g_bot.id));
        if (st == ST_OK) {
            st = store_bind_text(q, 2, strv_from_cstr(name));
        }
        if (st == ST_OK) {
            st = store_exec(q);
        } else {
            store_done(q);
        }
        if ((st == ST_OK) && (store_changes() == 0u)) {
            st = ST_NOTFOUND;
        }
    }
    if (st == ST_NOTFOUND) {
        skill_not_found(h, param, " is not attached to this bot");
        return;
    }
    if (st != ST_OK) {
        fleet_internal(h, "bot skill detach", st);
        return;
    }
    fleet_ok_begin(h, 200, &w);
    json_w_obj_begin(&w);
    json_w_kbool(&w, "detached", true);
    json_w_kstr(&w, "skill_name", name);
    json_w_obj_end(&w);
    fleet_ok_end(h, &w, NULL, 0u);
}
