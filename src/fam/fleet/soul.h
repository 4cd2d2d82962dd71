/*
 * soul.h - soul versions (spec/fleet.md §2.2, §5.2): the soul_versions rows
 * of a bot and its SOUL.md, kept consistent with each other.
 *
 * Consistency (the reasoning is in soul.c's implementation notes):
 *   - soul_append stores the version row first (one transaction, which also
 *     updates the bot's version_count and updated_at), then writes SOUL.md
 *     atomically. When the write fails the row is removed again and the bot
 *     restored, so a failure leaves the old row and the old file.
 *   - A crash between the commit and the file's rename leaves the new row
 *     with the previous version's file. soul_recover, run once per process
 *     (at startup, and by the soul handlers in case startup did not),
 *     rewrites such a SOUL.md from the database: a roll forward.
 */
#ifndef ROOST_FLEET_SOUL_H
#define ROOST_FLEET_SOUL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/sha256.h"
#include "core/strv.h"
#include "fam/fleet/bot.h"
#include "json/write.h"

#define SOUL_MESSAGE_BYTES ((FLEET_SOUL_MESSAGE_MAX_CHARS * 4u) + 1u)

typedef struct {
    char id[UUID_STR_BYTES];
    char bot_id[UUID_STR_BYTES];
    strv content;                       /* see soul_load / soul_append */
    char hash[SHA256_HEX_BYTES];
    int64_t version;
    bool has_message;                   /* false: message is null */
    char message[SOUL_MESSAGE_BYTES];
    char created_at[40];
} soul_row;

/* Version `version` of the bot (0: the current, i.e. highest, version).
 * ST_NOTFOUND: no such version. r->content points into a buffer of this
 * module, valid until the next soul_load, soul_file_hash or soul_recover. */
st_t soul_load(const char *bot_id, int64_t version, soul_row *r);

/* Store content as the bot's next version (current + 1, or 1) with message
 * (NULL: null) and write SOUL.md. content may point into soul_load's buffer.
 * On ST_OK *r describes the new version (r->content = content). Any other
 * status: nothing changed (the row is removed again when the file write
 * failed; if even that fails the store is broken, which is logged, and
 * soul_recover completes the version at the next start). */
st_t soul_append(const fleet_bot *b, strv content, const char *message, soul_row *r);

/* Insert one version row; the caller holds the transaction (bot creation). */
st_t soul_insert(const char *id, const char *bot_id, int64_t version, strv content,
                 const char *hash, const char *message, const char *created_at);

/* SHA-256 hex of SOUL.md of bot slug. *present false (and hex "") when the
 * file does not exist. A file larger than FLEET_CONTENT_MAX_BYTES cannot
 * match any version: hex is then that of its first bytes plus one, which
 * differs from every stored hash (ST_OK). Other read errors are returned. */
st_t soul_file_hash(const char *slug, char hex[SHA256_HEX_BYTES], bool *present);

/* Roll interrupted updates forward (see above) and sweep temporary files
 * of killed writes, for every bot. Runs once per process; later calls
 * return at once. Failures are logged, never fatal. */
void soul_recover(void);

/* The Soul object (spec §2.2), fields in spec order. */
void soul_write_json(json_w *w, const soul_row *r);

#endif
