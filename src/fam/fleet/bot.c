#include "fam/fleet/bot.h"

#include <stdio.h>
#include <string.h>

#include "fam/fleet/sql.h"
#include "store/store.h"

void bot_from_row(sqlite3_stmt *q, fleet_bot *b)
{
    (void)store_col_copy(q, 0, b->id, sizeof b->id);
    (void)store_col_copy(q, 1, b->slug, sizeof b->slug);
    (void)store_col_copy(q, 2, b->name, sizeof b->name);
    (void)store_col_copy(q, 3, b->description, sizeof b->description);
    (void)store_col_copy(q, 4, b->status, sizeof b->status);
    (void)store_col_copy(q, 5, b->category, sizeof b->category);
    (void)store_col_copy(q, 6, b->tags, sizeof b->tags);
    b->conversation_count = store_col_int64(q, 7);
    b->total_tokens_used = store_col_int64(q, 8);
    b->version_count = store_col_int64(q, 9);
    (void)store_col_copy(q, 10, b->created_at, sizeof b->created_at);
    (void)store_col_copy(q, 11, b->updated_at, sizeof b->updated_at);
    (void)store_col_copy(q, 12, b->last_active_at, sizeof b->last_active_at);
    (void)store_col_copy(q, 13, b->emoji, sizeof b->emoji);
}

static st_t load_by(fleet_sql_id id, strv key, fleet_bot *b)
{
    sqlite3_stmt *q = fleet_stmt(id);
    bool row = false;
    st_t st = store_bind_text(q, 1, key);
    if (st == ST_OK) {
        st = store_step(q, &row);
    }
    if ((st == ST_OK) && !row) {
        st = ST_NOTFOUND;
    }
    if (st == ST_OK) {
        bot_from_row(q, b);
    }
    store_done(q);
    return st;
}

st_t bot_load(strv id_or_slug, fleet_bot *b)
{
    st_t st;
    if ((id_or_slug.n == 0u) || (id_or_slug.n > (UUID_STR_BYTES + FLEET_SLUG_MAX))) {
        return ST_NOTFOUND;
    }
    st = load_by(FLEET_SQL_BOT_BY_SLUG, id_or_slug, b);
    if (st == ST_NOTFOUND) {
        st = load_by(FLEET_SQL_BOT_BY_ID, id_or_slug, b);
    }
    return st;
}

bool bot_resolve(hctx *h, size_t param, fleet_bot *b)
{
    st_t st = bot_load(hctx_param(h, param), b);
    if (st == ST_NOTFOUND) {
        fleet_fail(h, 404, "BOT_NOT_FOUND", "Bot not found");
        return false;
    }
    if (st != ST_OK) {
        fleet_internal(h, "bot lookup", st);
        return false;
    }
    return true;
}

void bot_write_json(json_w *w, const fleet_bot *b)
{
    json_w_obj_begin(w);
    json_w_kstr(w, "id", b->id);
    json_w_kstr(w, "slug", b->slug);
    json_w_kstr(w, "name", b->name);
    json_w_kstr(w, "description", b->description);
    json_w_kstr(w, "status", b->status);
    json_w_kstr(w, "category", b->category);
    json_w_kraw(w, "tags", b->tags, strlen(b->tags));
    json_w_knull(w, "user_id");
    json_w_ki64(w, "conversation_count", b->conversation_count);
    json_w_ki64(w, "total_tokens_used", b->total_tokens_used);
    json_w_ki64(w, "version_count", b->version_count);
    json_w_kstr(w, "created_at", b->created_at);
    json_w_kstr(w, "updated_at", b->updated_at);
    /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
    if (b->last_active_at[0] != '\0') {
        json_w_kstr(w, "last_active_at", b->last_active_at);
    } else {
        json_w_knull(w, "last_active_at");
    }
    /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
    if (b->emoji[0] != '\0') {
        json_w_kstr(w, "emoji", b->emoji);
    } else {
        json_w_knull(w, "emoji");
    }
    json_w_obj_end(w);
}

const char *bot_href(const fleet_bot *b, const char *suffix, char *buf, size_t cap)
{
    (void)snprintf(buf, cap, "/api/v1/bots/%s%s", b->id, suffix);
    return buf;
}
