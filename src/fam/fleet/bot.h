/*
 * bot.h - the Bot model (spec/fleet.md §2.1): loading by slug or id,
 * resolution of a path's {id} (§1.4), and its JSON form.
 */
#ifndef ROOST_FLEET_BOT_H
#define ROOST_FLEET_BOT_H

#include <stdbool.h>
#include <stdint.h>

#include "fam/fleet/api.h"

typedef struct {
    char id[UUID_STR_BYTES];
    char slug[FLEET_SLUG_MAX + 1u];
    char name[FLEET_NAME_BYTES];
    char description[FLEET_DESC_BYTES];
    char status[16];
    char category[16];
    char tags[FLEET_TAGS_JSON_BYTES];     /* JSON array text */
    int64_t conversation_count;
    int64_t total_tokens_used;
    int64_t version_count;
    char created_at[40];
    char updated_at[40];
    char last_active_at[40];              /* "" = null */
    char emoji[FLEET_EMOJI_MAX_BYTES + 1u]; /* "" = null */
} fleet_bot;

struct sqlite3_stmt;
/* The current row of a statement selecting the columns of BOT_BY_ID. */
void bot_from_row(struct sqlite3_stmt *q, fleet_bot *b);
/* By slug first, then by id. ST_NOTFOUND when neither matches. */
st_t bot_load(strv id_or_slug, fleet_bot *b);
/* Resolve path parameter i; false: answered 404 BOT_NOT_FOUND (or 500). */
bool bot_resolve(hctx *h, size_t param, fleet_bot *b);
/* The Bot object, fields in spec order. */
void bot_write_json(json_w *w, const fleet_bot *b);
/* "/api/v1/bots/<id><suffix>" into buf. */
const char *bot_href(const fleet_bot *b, const char *suffix, char *buf, size_t cap);

#endif
