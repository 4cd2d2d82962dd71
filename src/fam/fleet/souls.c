/*
 * souls.c - spec/fleet.md §5.2: the current soul, new versions, the version
 * list, one version, rollback and verify. The rows-and-file consistency
 * rules live in soul.c (its implementation notes say why the order is
 * row first, then file, and how an interrupted update is rolled forward).
 *
 * Decisions where the spec is silent:
 *   - `self` of PUT and rollback is the bot's /soul (the new version is the
 *     current one); `self` of one version is its /soul/versions/<n>.
 *   - GET /soul/versions/{version} checks the number before the bot.
 *   - A SOUL.md larger than FLEET_CONTENT_MAX_BYTES cannot match a version:
 *     verify answers valid:false with the hash of its first
 *     FLEET_CONTENT_MAX_BYTES + 1 bytes as actual_hash.
 */
#include "fam/fleet/handlers.h"

#include <stdio.h>
#include <string.h>

#include "fam/fleet/api.h"
#include "fam/fleet/bot.h"
#include "fam/fleet/soul.h"
#include "fam/fleet/sql.h"
#include "store/store.h"

#define HREF_BYTES 160u

/* The decoded `content` of a PUT body. */
static char g_content[FLEET_CONTENT_MAX_BYTES + 1u];
static fleet_bot g_bot;
static soul_row g_row;

static void soul_not_found(hctx *h)
{
    fleet_fail(h, 404, "SOUL_NOT_FOUND", "Soul not found");
}

/* Answer a Soul with links self (self_suffix), [versions], [verify], bot. */
static void answer_soul(hctx *h, const fleet_bot *b, const soul_row *r,
                        const char *self_suffix, bool verify_link)
{
    char self[HREF_BYTES];
    char versions[HREF_BYTES];
    char verify[HREF_BYTES];
    char bot[HREF_BYTES];
    const char *verify_href = bot_href(b, "/soul/verify", verify, sizeof verify);
    fleet_link links[4];
    size_t n = 0u;
    json_w w;
    links[n] = (fleet_link){ "self", bot_href(b, self_suffix, self, sizeof self) };
    n++;
    links[n] = (fleet_link){ "versions", bot_href(b, "/soul/versions", versions,
                                                  sizeof versions) };
    n++;
    if (verify_link) {
        links[n] = (fleet_link){ "verify", verify_href };
        n++;
    }
    links[n] = (fleet_link){ "bot", bot_href(b, "", bot, sizeof bot) };
    n++;
    fleet_ok_begin(h, 200, &w);
    soul_write_json(&w, r);
    fleet_ok_end(h, &w, links, n);
}

/* A new current version (PUT, rollback), rendered again from the store
 * for each window of a large answer (hctx_render). */
static void render_new_version(hctx *h, const void *state)
{
    const int64_t *version = (const int64_t *)state;
    st_t st;
    if (!bot_resolve(h, 0u, &g_bot)) {
        return;
    }
    st = soul_load(g_bot.id, *version, &g_row);
    if (st != ST_OK) {
        fleet_internal(h, "soul reload", st);
        return;
    }
    answer_soul(h, &g_bot, &g_row, "/soul", false);
}

static void answer_new_version(hctx *h, const soul_row *r)
{
    int64_t version = r->version;
    hctx_render(h, render_new_version, &version, sizeof version);
}

void souls_get(hctx *h)
{
    st_t st;
    soul_recover();
    if (!bot_resolve(h, 0u, &g_bot)) {
        return;
    }
    st = soul_load(g_bot.id, 0, &g_row);
    if (st == ST_NOTFOUND) {
        soul_not_found(h);
    } else if (st != ST_OK) {
        fleet_internal(h, "soul load", st);
    } else {
        answer_soul(h, &g_bot, &g_row, "/soul", true);
    }
}

/* `content`: required string of at most FLEET_CONTENT_MAX_BYTES bytes,
 * decoded into g_content. */
static bool read_content(hctx *h, const json_doc *d, int obj, size_t *n)
{
    int t = json_obj_get(d, obj, "content");
    st_t st;
    if ((t < 0) || json_is_null(d, t)) {
        fleet_bad_field(h, "content", "required");
        return false;
    }
    if (json_type(d, t) != JSON_STRING) {
        fleet_bad_field(h, "content", "expected a string");
        return false;
    }
    st = json_get_mem(d, t, g_content, FLEET_CONTENT_MAX_BYTES, n);
    if (st != ST_OK) {
        char reason[64];
        (void)snprintf(reason, sizeof reason, "must be at most %lu bytes",
                       (unsigned long)FLEET_CONTENT_MAX_BYTES);
        fleet_bad_field(h, "content", reason);
        return false;
    }
    g_content[*n] = '\0';
    return true;
}

void souls_put(hctx *h)
{
    static char message[SOUL_MESSAGE_BYTES];
    json_doc d;
    int root;
    size_t n = 0u;
    size_t mn = 0u;
    bool has_message = false;
    bool ok;
    st_t st;
    soul_recover();
    if (!bot_resolve(h, 0u, &g_bot) || !fleet_body(h, &d)) {
        return;
    }
    root = json_root(&d);
    ok = read_content(h, &d, root, &n) &&
         fleet_opt_str(h, &d, root, "message", message, sizeof message,
                       FLEET_SOUL_MESSAGE_MAX_CHARS, false, &has_message, &mn);
    json_release(&d);
    if (!ok) {
        return;
    }
    st = soul_append(&g_bot, (strv){ g_content, n }, has_message ? message : NULL, &g_row);
    if (st != ST_OK) {
        fleet_internal(h, "soul update", st);
        return;
    }
    answer_new_version(h, &g_row);
}

/* The versions list streams (fleet_list_stream): a bot's history has no
 * length limit, each version up to 256 KiB of content. */
typedef struct {
    char bot_id[UUID_STR_BYTES];
} versions_ctx;

static sqlite3_stmt *versions_query(const void *ctx, int64_t offset)
{
    const versions_ctx *vc = (const versions_ctx *)ctx;
    sqlite3_stmt *q = fleet_stmt(FLEET_SQL_SOUL_LIST);
    if ((store_bind_text(q, 1, strv_from_cstr(vc->bot_id)) != ST_OK) ||
        (store_bind_int64(q, 2, offset) != ST_OK)) {
        store_done(q);
        return NULL;
    }
    return q;
}

static void versions_row(sqlite3_stmt *q, json_w *w)
{
    strv hash = store_col_text(q, 1);
    strv content = store_col_text(q, 2);
    strv created = store_col_text(q, 3);
    json_w_obj_begin(w);
    json_w_ki64(w, "version", store_col_int64(q, 0));
    json_w_kstrn(w, "hash", hash.p, hash.n);
    json_w_kstrn(w, "content", content.p, content.n);
    json_w_kstrn(w, "created_at", created.p, created.n);
    if (store_col_is_null(q, 4)) {
        json_w_knull(w, "message");
    } else {
        strv msg = store_col_text(q, 4);
        json_w_kstrn(w, "message", msg.p, msg.n);
    }
    json_w_obj_end(w);
}

void souls_versions(hctx *h)
{
    char self[HREF_BYTES];
    char bot[HREF_BYTES];
    fleet_link links[2];
    versions_ctx vc;
    soul_recover();
    if (!bot_resolve(h, 0u, &g_bot)) {
        return;
    }
    (void)memcpy(vc.bot_id, g_bot.id, sizeof vc.bot_id);
    links[0] = (fleet_link){ "self", bot_href(&g_bot, "/soul/versions", self, sizeof self) };
    links[1] = (fleet_link){ "bot", bot_href(&g_bot, "", bot, sizeof bot) };
    fleet_list_stream(h, versions_query, versions_row, &vc, sizeof vc, links, 2u);
}

/* A decimal integer >= 1 (digits only). */
static bool parse_version(strv s, int64_t *out)
{
    uint64_t v = 0u;
    size_t i;
    bool ok = (s.n > 0u) && (s.n <= 18u);
    for (i = 0u; ok && (i < s.n); i++) {
        char ch = s.p[i];
        ok = (ch >= '0') && (ch <= '9');
        if (ok) {
            v = (v * 10u) + ((uint64_t)ch - (uint64_t)'0');
        }
    }
    ok = ok && (v >= 1u);
    *out = ok ? (int64_t)v : 0;
    return ok;
}

void souls_version(hctx *h)
{
    char suffix[48];
    int64_t version = 0;
    st_t st;
    soul_recover();
    if (!parse_version(hctx_param(h, 1u), &version)) {
        fleet_fail(h, 400, "VALIDATION_ERROR", "Invalid version");
        return;
    }
    if (!bot_resolve(h, 0u, &g_bot)) {
        return;
    }
    st = soul_load(g_bot.id, version, &g_row);
    if (st == ST_NOTFOUND) {
        soul_not_found(h);
    } else if (st != ST_OK) {
        fleet_internal(h, "soul version", st);
    } else {
        (void)snprintf(suffix, sizeof suffix, "/soul/versions/%lld", (long long)version);
        answer_soul(h, &g_bot, &g_row, suffix, false);
    }
}

void souls_rollback(hctx *h)
{
    static soul_row target;
    json_doc d;
    int t;
    int64_t version = 0;
    bool ok = true;
    st_t st;
    soul_recover();
    if (!bot_resolve(h, 0u, &g_bot) || !fleet_body(h, &d)) {
        return;
    }
    t = json_obj_get(&d, json_root(&d), "version");
    if ((t < 0) || json_is_null(&d, t)) {
        fleet_bad_field(h, "version", "required");
        ok = false;
    } else if ((json_get_i64(&d, t, &version) != ST_OK) || (version < 1)) {
        fleet_bad_field(h, "version", "expected an integer >= 1");
        ok = false;
    } else {
        /* a valid version number */
    }
    json_release(&d);
    if (!ok) {
        return;
    }
    st = soul_load(g_bot.id, version, &target);
    if (st == ST_NOTFOUND) {
        soul_not_found(h);
        return;
    }
    if (st == ST_OK) {
        char message[48];
        (void)snprintf(message, sizeof message, "Rollback to version %lld",
                       (long long)version);
        /* target.content lives in soul.c's buffer, which soul_append leaves alone */
        st = soul_append(&g_bot, target.content, message, &g_row);
    }
    if (st != ST_OK) {
        fleet_internal(h, "soul rollback", st);
        return;
    }
    answer_new_version(h, &g_row);
}

void souls_verify(hctx *h)
{
    char soul[HREF_BYTES];
    char bot[HREF_BYTES];
    char actual[SHA256_HEX_BYTES];
    fleet_link links[2];
    bool present = false;
    json_w w;
    st_t st;
    soul_recover();
    if (!bot_resolve(h, 0u, &g_bot)) {
        return;
    }
    st = soul_load(g_bot.id, 0, &g_row);
    if (st == ST_NOTFOUND) {
        soul_not_found(h);
        return;
    }
    if (st == ST_OK) {
        st = soul_file_hash(g_bot.slug, actual, &present);
    }
    if (st != ST_OK) {
        fleet_internal(h, "soul verify", st);
        return;
    }
    links[0] = (fleet_link){ "soul", bot_href(&g_bot, "/soul", soul, sizeof soul) };
    links[1] = (fleet_link){ "bot", bot_href(&g_bot, "", bot, sizeof bot) };
    fleet_ok_begin(h, 200, &w);
    json_w_obj_begin(&w);
    json_w_kbool(&w, "valid", present && (strcmp(actual, g_row.hash) == 0));
    json_w_kstr(&w, "expected_hash", g_row.hash);
    json_w_kstr(&w, "actual_hash", actual);
    json_w_ki64(&w, "version", g_row.version);
    json_w_obj_end(&w);
    fleet_ok_end(h, &w, links, 2u);
}
