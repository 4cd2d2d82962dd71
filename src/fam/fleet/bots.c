/*
 * bots.c - spec/fleet.md §5.1: create, list, get, update, delete, clone.
 *
 * Implementation notes:
 *   - Creation (and clone) is botcreate_run: files first, then the bot row
 *     and soul version 1 in one transaction (botcreate.h says why).
 *   - Delete: the rows go in one transaction (the schema cascades to soul
 *     versions, sessions, messages and skill attachments), then bots/<slug>/
 *     is removed. A crash or a failing removal after the commit leaves an
 *     orphan directory no row names: invisible to the API, and a later
 *     create that takes the same slug overwrites its files.
 *   - Decisions where the spec is silent: category and status values in
 *     bodies are exact (lower case, as upstream's serde enums); only the
 *     list filters are case-insensitive. A description is stored as given
 *     (not trimmed). The list's `sort` and `order` values are exact.
 *   - emoji (a compatibility field, §2.1): stored as given (not trimmed,
 *     not checked to be one emoji), at most 32 bytes of UTF-8. An empty
 *     string means none, on create as on update, where it is the way to
 *     clear one (null or absent leaves it as it is): a bot's emoji is
 *     never "", it is null. Clone keeps the source's.
 */
#include "fam/fleet/handlers.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "fam/fleet/api.h"
#include "fam/fleet/bot.h"
#include "fam/fleet/botcreate.h"
#include "fam/fleet/botdir.h"
#include "fam/fleet/soul.h"
#include "fam/fleet/sql.h"
#include "store/store.h"

#define HREF_BYTES 128u

static const char *const k_categories[] = { "assistant", "creative", "research", "utility",
                                            NULL };
static const char *const k_statuses[] = { "active", "disabled", "archived", NULL };

/* Request fields, shared by create and update (one handler at a time). */
static char g_name[FLEET_NAME_BYTES];
static char g_desc[FLEET_DESC_BYTES];
static char g_tags[FLEET_TAGS_JSON_BYTES];
static char g_emoji[FLEET_EMOJI_MAX_BYTES + 1u];
static fleet_bot g_bot;

/* Optional enum field: absent/null -> *out unchanged. Not a string or not
 * one of `allowed` -> answered 400, false. Else *out = that allowed[i]. */
static bool opt_enum(hctx *h, const json_doc *d, int obj, const char *key,
                     const char *const *allowed, const char *expect, const char **out)
{
    int t = json_obj_get(d, obj, key);
    size_t i;
    const char *hit = NULL;
    if ((t < 0) || json_is_null(d, t)) {
        return true;
    }
    if (json_type(d, t) != JSON_STRING) {
        fleet_bad_field(h, key, "expected a string");
        return false;
    }
    for (i = 0u; (allowed[i] != NULL) && (hit == NULL); i++) {
        if (json_str_eq(d, t, allowed[i])) {
            hit = allowed[i];
        }
    }
    if (hit == NULL) {
        char reason[96];
        (void)snprintf(reason, sizeof reason, "must be one of %s", expect);
        fleet_bad_field(h, key, reason);
        return false;
    }
    *out = hit;
    return true;
}

static bool is_ascii_alnum(char c)
{
    return ((c >= '0') && (c <= '9')) || ((c >= 'a') && (c <= 'z')) ||
           ((c >= 'A') && (c <= 'Z'));
}

/* A name needs something a slug can be made of (spec §5.1). */
static bool name_has_slug_char(const char *s)
{
    bool ok = false;
    size_t i;
    for (i = 0u; (s[i] != '\0') && !ok; i++) {
        ok = is_ascii_alnum(s[i]) || (((unsigned char)s[i]) >= 0x80u);
    }
    return ok;
}

/* name (trimmed, 1..100). required: absence is an error. */
static bool read_name(hctx *h, const json_doc *d, int obj, bool required, bool *present)
{
    size_t n = 0u;
    if (!fleet_opt_str(h, d, obj, "name", g_name, sizeof g_name, FLEET_NAME_MAX_CHARS, true,
                       present, &n)) {
        return false;
    }
    if (!*present) {
        if (required) {
            fleet_bad_field(h, "name", "required");
        }
        return !required;
    }
    if (n == 0u) {
        fleet_bad_field(h, "name", "must not be empty");
        return false;
    }
    return true;
}

/* emoji (string | null) into g_emoji: absent or null -> *present false;
 * "" is present and empty (none). Not a string, more than
 * FLEET_EMOJI_MAX_BYTES bytes or a U+0000 -> answered 400, false. */
static bool read_emoji(hctx *h, const json_doc *d, int obj, bool *present)
{
    int t = json_obj_get(d, obj, "emoji");
    size_t n = 0u;
    st_t st;
    *present = false;
    g_emoji[0] = '\0';
    if ((t < 0) || json_is_null(d, t)) {
        return true;
    }
    if (json_type(d, t) != JSON_STRING) {
        fleet_bad_field(h, "emoji", "expected a string");
        return false;
    }
    st = json_get_str(d, t, g_emoji, sizeof g_emoji, &n);
    if (st == ST_FULL) {
        char reason[48];
        (void)snprintf(reason, sizeof reason, "must be at most %u bytes of UTF-8",
                       (unsigned)FLEET_EMOJI_MAX_BYTES);
        fleet_bad_field(h, "emoji", reason);
        return false;
    }
    if (st != ST_OK) {
        g_emoji[0] = '\0';
        fleet_bad_field(h, "emoji", "must not contain U+0000");
        return false;
    }
    *present = true;
    return true;
}

static void write_bot(hctx *h, int status, const fleet_bot *b, bool soul_link,
                      bool secrets_link)
{
    char self[HREF_BYTES];
    char soul[HREF_BYTES];
    const char *soul_href = bot_href(b, "/soul", soul, sizeof soul);
    fleet_link links[3];
    size_t n = 0u;
    json_w w;
    links[n] = (fleet_link){ "self", bot_href(b, "", self, sizeof self) };
    n++;
    if (soul_link) {
        links[n] = (fleet_link){ "soul", soul_href };
        n++;
    }
    if (secrets_link) {
        links[n] = (fleet_link){ "secrets", "/api/v1/secrets" };
        n++;
    }
    fleet_ok_begin(h, status, &w);
    bot_write_json(&w, b);
    fleet_ok_end(h, &w, links, n);
}

/* What renders a bot answered after a change again (hctx_render): the bot
 * as stored now. */
typedef struct {
    char id[UUID_STR_BYTES];
    int status;
    bool soul_link;
    bool secrets_link;
} bot_render_state;

static void render_bot(hctx *h, const void *state)
{
    static fleet_bot b;
    const bot_render_state *rs = (const bot_render_state *)state;
    st_t st = bot_load(strv_from_cstr(rs->id), &b);
    if (st != ST_OK) {
        fleet_internal(h, "bot reload", st);
        return;
    }
    write_bot(h, rs->status, &b, rs->soul_link, rs->secrets_link);
}

static void answer_bot(hctx *h, int status, const fleet_bot *b, bool soul_link,
                       bool secrets_link)
{
    if ((h->req != NULL) && (h->req->method != HTTP_M_GET) && (h->req->method != HTTP_M_HEAD)) {
        bot_render_state rs;
        (void)memset(&rs, 0, sizeof rs);
        (void)memcpy(rs.id, b->id, sizeof rs.id);
        rs.status = status;
        rs.soul_link = soul_link;
        rs.secrets_link = secrets_link;
        hctx_render(h, render_bot, &rs, sizeof rs);
    } else {
        write_bot(h, status, b, soul_link, secrets_link);
    }
}

static void answer_created(hctx *h, st_t st, const char *base, const fleet_bot *b,
                           bool soul_link)
{
    if (st == ST_EXISTS) {
        char msg[FLEET_SLUG_MAX + 40u];
        (void)snprintf(msg, sizeof msg, "Slug '%s' already exists", base);
        fleet_fail(h, 409, "SLUG_CONFLICT", msg);
    } else if (st != ST_OK) {
        fleet_internal(h, "bot create", st);
    } else {
        answer_bot(h, 200, b, soul_link, false);
    }
}

void bots_create(hctx *h)
{
    json_doc d;
    int root;
    bool present = false;
    bool ok;
    size_t n = 0u;
    const char *category = k_categories[0];
    char base[FLEET_SLUG_MAX + 1u];
    botcreate_req r;
    st_t st;
    if (!fleet_body(h, &d)) {
        return;
    }
    root = json_root(&d);
    ok = read_name(h, &d, root, true, &present);
    if (ok && !name_has_slug_char(g_name)) {
        fleet_bad_field(h, "name", "must contain a letter or digit");
        ok = false;
    }
    ok = ok && fleet_opt_str(h, &d, root, "description", g_desc, sizeof g_desc,
                             FLEET_DESC_MAX_CHARS, false, &present, &n);
    if (ok && !present) {
        (void)snprintf(g_desc, sizeof g_desc, "A bot named %s", g_name);
    }
    ok = ok && opt_enum(h, &d, root, "category", k_categories,
                        "assistant, creative, research, utility", &category);
    ok = ok && fleet_opt_tags(h, &d, root, g_tags, sizeof g_tags, &present);
    if (ok && !present) {
        (void)snprintf(g_tags, sizeof g_tags, "[]");
    }
    ok = ok && read_emoji(h, &d, root, &present);
    json_release(&d);
    if (!ok) {
        return;
    }
    r = (botcreate_req){ .name = g_name, .description = g_desc, .category = category,
                         .tags_json = g_tags, .emoji = g_emoji, .soul = STRV_NULL,
                         .identity = STRV_NULL, .user = STRV_NULL };
    st = botcreate_run(&r, &g_bot, base);
    answer_created(h, st, base, &g_bot, true);
}

/* A list filter: absent -> NULL; one of allowed, case-insensitive -> that
 * value; anything else -> answered 400, false. */
static bool list_filter(hctx *h, const char *name, const char *const *allowed,
                        const char *expect, const char **out)
{
    char buf[32];
    *out = NULL;
    if ((h->req == NULL) || (http_query_get(h->req->query, name).p == NULL)) {
        return true;
    }
    if (fleet_query_str(h, name, buf, sizeof buf)) {
        size_t i;
        for (i = 0u; (allowed[i] != NULL) && (*out == NULL); i++) {
            if (strv_ieq_cstr(strv_from_cstr(buf), allowed[i])) {
                *out = allowed[i];
            }
        }
    }
    if (*out == NULL) {
        char msg[128];
        (void)snprintf(msg, sizeof msg, "Invalid query parameter '%s': expected %s", name,
                       expect);
        fleet_fail(h, 400, "VALIDATION_ERROR", msg);
        return false;
    }
    return true;
}

/* The list streams (fleet_list_stream): with no limit it is every bot. */
typedef struct {
    char status[12];        /* "" = any */
    char category[12];
    char sort[24];
    bool asc;
    int64_t limit;          /* -1 = no limit */
    int64_t offset;
} list_ctx;

static sqlite3_stmt *list_query(const void *ctx, int64_t sent)
{
    const list_ctx *lc = (const list_ctx *)ctx;
    sqlite3_stmt *q = fleet_stmt(FLEET_SQL_BOT_LIST);
    strv status = strv_from_cstr(lc->status);
    strv category = strv_from_cstr(lc->category);
    st_t st = (status.n > 0u) ? store_bind_text(q, 1, status) : store_bind_null(q, 1);
    if (st == ST_OK) {
        st = (category.n > 0u) ? store_bind_text(q, 2, category) : store_bind_null(q, 2);
    }
    if (st == ST_OK) {
        st = store_bind_text(q, 3, strv_from_cstr(lc->sort));
    }
    if (st == ST_OK) {
        st = store_bind_int64(q, 4, lc->asc ? 1 : 0);
    }
    if (st == ST_OK) {
        st = store_bind_int64(q, 5, (lc->limit < 0) ? -1 : (lc->limit - sent));
    }
    if (st == ST_OK) {
        st = store_bind_int64(q, 6, lc->offset + sent);
    }
    if (st != ST_OK) {
        LOG_E("fleet", "bot list: %s", status_str(st));
        store_done(q);
        return NULL;
    }
    return q;
}

static void list_row(sqlite3_stmt *q, json_w *w)
{
    bot_from_row(q, &g_bot);
    bot_write_json(w, &g_bot);
}

void bots_list(hctx *h)
{
    const char *status = NULL;
    const char *category = NULL;
    char order[8];
    bool present = false;
    list_ctx lc;
    fleet_link link = { "self", "/api/v1/bots" };
    (void)memset(&lc, 0, sizeof lc);
    lc.limit = -1;
    if (!list_filter(h, "status", k_statuses, "active, disabled or archived", &status) ||
        !list_filter(h, "category", k_categories,
                     "assistant, creative, research or utility", &category) ||
        !fleet_query_int(h, "limit", 1, 1000, &lc.limit, &present) ||
        !fleet_query_int(h, "offset", 0, INT64_MAX, &lc.offset, &present)) {
        return;
    }
    /* absent limit/offset leave -1 (no limit) and 0; `fields` is ignored;
     * an unknown (or absent) sort key means created_at (BOT_LIST) */
    if (!fleet_query_str(h, "sort", lc.sort, sizeof lc.sort)) {
        lc.sort[0] = '\0';
    }
    if (!fleet_query_str(h, "order", order, sizeof order)) {
        order[0] = '\0';
    }
    lc.asc = (strcmp(order, "asc") == 0);
    (void)snprintf(lc.status, sizeof lc.status, "%s", (status != NULL) ? status : "");
    (void)snprintf(lc.category, sizeof lc.category, "%s", (category != NULL) ? category : "");
    fleet_list_stream(h, list_query, list_row, &lc, sizeof lc, &link, 1u);
}

void bots_get(hctx *h)
{
    if (bot_resolve(h, 0u, &g_bot)) {
        answer_bot(h, 200, &g_bot, true, true);
    }
}

static st_t store_update(const fleet_bot *b)
{
    sqlite3_stmt *q = fleet_stmt(FLEET_SQL_BOT_UPDATE);
    st_t st = store_bind_text(q, 1, strv_from_cstr(b->id));
    if (st == ST_OK) {
        st = store_bind_text(q, 2, strv_from_cstr(b->name));
    }
    if (st == ST_OK) {
        st = store_bind_text(q, 3, strv_from_cstr(b->description));
    }
    if (st == ST_OK) {
        st = store_bind_text(q, 4, strv_from_cstr(b->status));
    }
    if (st == ST_OK) {
        st = store_bind_text(q, 5, strv_from_cstr(b->category));
    }
    if (st == ST_OK) {
        st = store_bind_text(q, 6, strv_from_cstr(b->tags));
    }
    if (st == ST_OK) {
        st = store_bind_text(q, 7, strv_from_cstr(b->updated_at));
    }
    if (st == ST_OK) {
        /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
        st = (b->emoji[0] == '\0') ? store_bind_null(q, 8)
                                    : store_bind_text(q, 8, strv_from_cstr(b->emoji));
    }
    if (st == ST_OK) {
        st = store_exec(q);
    } else {
        store_done(q);
    }
    return st;
}

void bots_update(hctx *h)
{
    json_doc d;
    int root;
    bool present = false;
    bool ok;
    size_t n = 0u;
    const char *status = NULL;
    const char *category = NULL;
    st_t st;
    if (!bot_resolve(h, 0u, &g_bot) || !fleet_body(h, &d)) {
        return;
    }
    root = json_root(&d);
    ok = read_name(h, &d, root, false, &present);
    if (ok && present) {
        (void)snprintf(g_bot.name, sizeof g_bot.name, "%s", g_name);
    }
    ok = ok && fleet_opt_str(h, &d, root, "description", g_desc, sizeof g_desc,
                             FLEET_DESC_MAX_CHARS, false, &present, &n);
    if (ok && present) {
        (void)snprintf(g_bot.description, sizeof g_bot.description, "%s", g_desc);
    }
    ok = ok && opt_enum(h, &d, root, "status", k_statuses, "active, disabled, archived",
                        &status);
    if (ok && (status != NULL)) {
        (void)snprintf(g_bot.status, sizeof g_bot.status, "%s", status);
    }
    ok = ok && opt_enum(h, &d, root, "category", k_categories,
                        "assistant, creative, research, utility", &category);
    if (ok && (category != NULL)) {
        (void)snprintf(g_bot.category, sizeof g_bot.category, "%s", category);
    }
    ok = ok && fleet_opt_tags(h, &d, root, g_tags, sizeof g_tags, &present);
    if (ok && present) {
        (void)snprintf(g_bot.tags, sizeof g_bot.tags, "%s", g_tags);
    }
    ok = ok && read_emoji(h, &d, root, &present);
    if (ok && present) {
        (void)snprintf(g_bot.emoji, sizeof g_bot.emoji, "%s", g_emoji);   /* "": none */
    }
    json_release(&d);
    if (!ok) {
        return;
    }
    fleet_now(g_bot.updated_at);
    st = store_update(&g_bot);
    if (st != ST_OK) {
        fleet_internal(h, "bot update", st);
        return;
    }
    answer_bot(h, 200, &g_bot, false, false);
}

static st_t delete_rows(const char *id)
{
    st_t st = store_begin();
    if (st == ST_OK) {
        sqlite3_stmt *q = fleet_stmt(FLEET_SQL_BOT_DELETE);
        st = store_bind_text(q, 1, strv_from_cstr(id));
        if (st == ST_OK) {
            st = store_exec(q);
        } else {
            store_done(q);
        }
        if (st == ST_OK) {
            st = store_commit();
        }
        if (st != ST_OK) {
            (void)store_rollback();
        }
    }
    return st;
}

void bots_delete(hctx *h)
{
    json_w w;
    st_t st;
    if (!bot_resolve(h, 0u, &g_bot)) {
        return;
    }
    st = delete_rows(g_bot.id);
    if (st != ST_OK) {
        fleet_internal(h, "bot delete", st);
        return;
    }
    st = botdir_remove(g_bot.slug);
    if (st != ST_OK) {
        /* the bot is gone for the API; the directory is an orphan that a
         * later create with this slug overwrites */
        LOG_W("fleet", "bot %s deleted, but removing bots/%s failed: %s", g_bot.slug,
              g_bot.slug, status_str(st));
    }
    fleet_ok_begin(h, 200, &w);
    json_w_obj_begin(&w);
    json_w_kbool(&w, "deleted", true);
    json_w_kstr(&w, "slug", g_bot.slug);
    json_w_obj_end(&w);
    fleet_ok_end(h, &w, NULL, 0u);
}

/* "<name> (Clone)", cut to FLEET_NAME_MAX_CHARS characters. */
static void clone_name(const char *src, char *out, size_t cap)
{
    size_t chars = 0u;
    size_t i = 0u;
    char full[FLEET_NAME_BYTES + 16u];
    bool room = true;
    (void)snprintf(full, sizeof full, "%s (Clone)", src);
    while ((i < (cap - 1u)) && (full[i] != '\0') && room) {
        if ((((unsigned char)full[i]) & 0xC0u) != 0x80u) {
            room = chars < FLEET_NAME_MAX_CHARS;    /* a character starts here */
            chars++;
        }
        if (room) {
            out[i] = full[i];
            i++;
        }
    }
    out[i] = '\0';
}

void bots_clone(hctx *h)
{
    static soul_row src_soul;
    char category[16];      /* g_bot is overwritten by the new bot */
    char base[FLEET_SLUG_MAX + 1u];
    botcreate_req r;
    strv soul = STRV_NULL;
    st_t st;
    if (!bot_resolve(h, 0u, &g_bot)) {
        return;
    }
    clone_name(g_bot.name, g_name, sizeof g_name);
    (void)snprintf(g_desc, sizeof g_desc, "%s", g_bot.description);
    (void)snprintf(g_tags, sizeof g_tags, "%s", g_bot.tags);
    (void)snprintf(category, sizeof category, "%s", g_bot.category);
    (void)snprintf(g_emoji, sizeof g_emoji, "%s", g_bot.emoji);
    st = soul_load(g_bot.id, 0, &src_soul);
    if (st == ST_OK) {
        soul = src_soul.content;
    } else if (st != ST_NOTFOUND) {
        fleet_internal(h, "clone: source soul", st);
        return;
    } else {
        /* decision: a source without soul versions gives the default soul */
    }
    r = (botcreate_req){ .name = g_name, .description = g_desc, .category = category,
                         .tags_json = g_tags, .emoji = g_emoji, .soul = soul,
                         .identity = STRV_NULL, .user = STRV_NULL };
    st = botcreate_run(&r, &g_bot, base);
    answer_created(h, st, base, &g_bot, false);
}
