/*
 * soul.c - soul versions and SOUL.md (see soul.h).
 *
 * Implementation notes: what "consistent" means and why this order.
 *
 * A bot is consistent when the content of its current (highest) soul
 * version and its SOUL.md have the same SHA-256: GET /soul returns that
 * content and GET /soul/verify says valid. The database is the record;
 * SOUL.md is its copy for humans and tools.
 *
 * Orders considered for one update:
 *   (a) file first, then the row: a crash in between leaves a SOUL.md that
 *       matches no stored version, which cannot be told apart from a hand
 *       edit. Rejected.
 *   (b) the transaction left open across the file write, committed after
 *       the rename: a crash after the rename loses the row and leaves the
 *       same unrecognisable file as (a). Rejected.
 *   (c) commit the row (with version_count and updated_at), then write the
 *       file (temp, fsync, rename): chosen; it is also the spec's order.
 * States (c) can leave after kill -9:
 *   1. before the commit: old row, old file (the open transaction is gone).
 *   2. after the commit, before the rename: new row, old file. The old file's
 *      hash is the hash of the version just below the current one, a
 *      signature no other state produces. soul_recover (once per process,
 *      at startup) rewrites SOUL.md from the current row: a roll forward.
 *      The client got no answer in this state, so either version is a
 *      correct outcome; rolling forward keeps history append-only.
 *   3. after the rename: new row, new file.
 *   A killed write can also leave "SOUL.md.tmp.<pid>"; soul_recover
 *   removes those.
 * After recovery the current version and SOUL.md match again; the content
 * is the last acknowledged version or the one that was in flight.
 *
 * A SOUL.md that matches neither the current nor the previous version was
 * edited by hand (or restored from elsewhere): it is left alone so that
 * /soul/verify keeps reporting it. A file reverted by hand to exactly the
 * previous version looks like state 2 and is rolled forward; acceptable.
 *
 * A failing file write without a crash: the row is deleted and the bot's
 * version_count/updated_at restored in a second transaction, so the answer
 * (500) leaves the old row and the old file. The version number of the
 * removed row is used again by the next update; nobody saw it (one thread,
 * and its only answer was the 500). If the second transaction fails too,
 * the store is failing; state 2 then holds until the next start.
 *
 * Durability: with the default synchronous = NORMAL a committed row
 * survives kill -9 (not a power loss); there a power loss after the rename
 * can leave a SOUL.md newer than the database, which recovery does not
 * touch and verify reports. CFG_SQLITE_SYNCHRONOUS = FULL closes that gap.
 */
#include "fam/fleet/soul.h"

#include <string.h>

#include "core/log.h"
#include "fam/fleet/botdir.h"
#include "fam/fleet/fleet.h"
#include "fam/fleet/sql.h"
#include "store/store.h"

/* Content of soul_load, and the file read of soul_file_hash. */
static char g_buf[FLEET_CONTENT_MAX_BYTES + 1u];
static bool g_recovered;
_Static_assert(((sizeof g_buf) + (sizeof g_recovered)) <= FLEET_SOUL_STATIC_BYTES,
               "FLEET_SOUL_STATIC_BYTES is this file's share of the plan (fleet.h)");

static void copy_cstr(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    n = (n < cap) ? n : (cap - 1u);
    (void)memcpy(dst, src, n);
    dst[n] = '\0';
}

st_t soul_load(const char *bot_id, int64_t version, soul_row *r)
{
    sqlite3_stmt *q = fleet_stmt((version > 0) ? FLEET_SQL_SOUL_BY_VERSION : FLEET_SQL_SOUL_CURRENT);
    bool row = false;
    st_t st = store_bind_text(q, 1, strv_from_cstr(bot_id));
    if ((st == ST_OK) && (version > 0)) {
        st = store_bind_int64(q, 2, version);
    }
    if (st == ST_OK) {
        st = store_step(q, &row);
    }
    if ((st == ST_OK) && !row) {
        st = ST_NOTFOUND;
    }
    if (st == ST_OK) {
        strv c = store_col_text(q, 3);
        if (c.n > FLEET_CONTENT_MAX_BYTES) {
            st = ST_TOOBIG;
        } else {
            if (c.n > 0u) {
                (void)memcpy(g_buf, c.p, c.n);
            }
            g_buf[c.n] = '\0';
            r->content = (strv){ g_buf, c.n };
            (void)store_col_copy(q, 0, r->id, sizeof r->id);
            (void)store_col_copy(q, 1, r->bot_id, sizeof r->bot_id);
            r->version = store_col_int64(q, 2);
            (void)store_col_copy(q, 4, r->hash, sizeof r->hash);
            r->has_message = !store_col_is_null(q, 5);
            (void)store_col_copy(q, 5, r->message, sizeof r->message);
            (void)store_col_copy(q, 6, r->created_at, sizeof r->created_at);
        }
    }
    store_done(q);
    return st;
}

st_t soul_insert(const char *id, const char *bot_id, int64_t version, strv content,
                 const char *hash, const char *message, const char *created_at)
{
    sqlite3_stmt *q = fleet_stmt(FLEET_SQL_SOUL_INSERT);
    st_t st = store_bind_text(q, 1, strv_from_cstr(id));
    if (st == ST_OK) {
        st = store_bind_text(q, 2, strv_from_cstr(bot_id));
    }
    if (st == ST_OK) {
        st = store_bind_int64(q, 3, version);
    }
    if (st == ST_OK) {
        st = store_bind_text(q, 4, content);
    }
    if (st == ST_OK) {
        st = store_bind_text(q, 5, strv_from_cstr(hash));
    }
    if (st == ST_OK) {
        st = (message != NULL) ? store_bind_text(q, 6, strv_from_cstr(message))
                               : store_bind_null(q, 6);
    }
    if (st == ST_OK) {
        st = store_bind_text(q, 7, strv_from_cstr(created_at));
    }
    if (st == ST_OK) {
        st = store_exec(q);
    } else {
        store_done(q);
    }
    return st;
}

static st_t max_version(const char *bot_id, int64_t *out)
{
    sqlite3_stmt *q = fleet_stmt(FLEET_SQL_SOUL_MAX_VERSION);
    bool row = false;
    st_t st = store_bind_text(q, 1, strv_from_cstr(bot_id));
    if (st == ST_OK) {
        st = store_step(q, &row);
    }
    if ((st == ST_OK) && !row) {
        st = ST_DB;
    }
    if (st == ST_OK) {
        *out = store_col_int64(q, 0);
    }
    store_done(q);
    return st;
}

static st_t sync_versions(const char *bot_id, const char *updated_at)
{
    sqlite3_stmt *q = fleet_stmt(FLEET_SQL_BOT_SYNC_VERSIONS);
    st_t st = store_bind_text(q, 1, strv_from_cstr(bot_id));
    if (st == ST_OK) {
        st = store_bind_text(q, 2, strv_from_cstr(updated_at));
    }
    if (st == ST_OK) {
        st = store_exec(q);
    } else {
        store_done(q);
    }
    return st;
}

/* The row of a version whose file could not be written, and the bot's
 * counters, back to what they were. */
static void undo_append(const fleet_bot *b, const char *version_id)
{
    st_t st = store_begin();
    if (st == ST_OK) {
        sqlite3_stmt *q = fleet_stmt(FLEET_SQL_SOUL_DELETE);
        st = store_bind_text(q, 1, strv_from_cstr(version_id));
        if (st == ST_OK) {
            st = store_exec(q);
        } else {
            store_done(q);
        }
    }
    if (st == ST_OK) {
        st = sync_versions(b->id, b->updated_at);
    }
    if (st == ST_OK) {
        st = store_commit();
    }
    if (st != ST_OK) {
        (void)store_rollback();
        LOG_E("fleet", "bot %s: cannot remove soul version %s after a failed SOUL.md "
              "write (%s); it is completed at the next start", b->slug, version_id,
              status_str(st));
    }
}

st_t soul_append(const fleet_bot *b, strv content, const char *message, soul_row *r)
{
    int64_t top = 0;
    st_t st = uuid_v7(r->id);
    if (st == ST_OK) {
        copy_cstr(r->bot_id, sizeof r->bot_id, b->id);
        sha256_hex(content.p, content.n, r->hash);
        fleet_now(r->created_at);
        r->content = content;
        r->has_message = (message != NULL);
        copy_cstr(r->message, sizeof r->message, (message != NULL) ? message : "");
        st = store_begin();
    }
    if (st == ST_OK) {
        st = max_version(b->id, &top);
        r->version = top + 1;
        if (st == ST_OK) {
            st = soul_insert(r->id, b->id, r->version, content, r->hash, message,
                             r->created_at);
        }
        if (st == ST_OK) {
            st = sync_versions(b->id, r->created_at);
        }
        if (st == ST_OK) {
            st = store_commit();
        }
        if (st != ST_OK) {
            (void)store_rollback();
        }
    }
    if (st == ST_OK) {
        st = botdir_write(b->slug, BOTDIR_SOUL, content);
        if (st != ST_OK) {
            LOG_E("fleet", "bot %s: writing SOUL.md failed: %s", b->slug, status_str(st));
            undo_append(b, r->id);
        }
    }
    return st;
}

st_t soul_file_hash(const char *slug, char hex[SHA256_HEX_BYTES], bool *present)
{
    size_t n = 0u;
    st_t st = botdir_read(slug, BOTDIR_SOUL, g_buf, sizeof g_buf, &n);
    *present = false;
    hex[0] = '\0';
    if (st == ST_NOTFOUND) {
        st = ST_OK;
    } else if ((st == ST_OK) || (st == ST_TOOBIG)) {
        /* too big: the first cap bytes are longer than any version */
        sha256_hex(g_buf, n, hex);
        *present = true;
        st = ST_OK;
    } else {
        /* a read error: returned */
    }
    return st;
}

/* Rewrite SOUL.md of one bot from its version `version`. */
static void roll_forward(const char *slug, const char *bot_id, int64_t version)
{
    sqlite3_stmt *q = fleet_stmt(FLEET_SQL_SOUL_BY_VERSION);
    bool row = false;
    st_t st = store_bind_text(q, 1, strv_from_cstr(bot_id));
    if (st == ST_OK) {
        st = store_bind_int64(q, 2, version);
    }
    if (st == ST_OK) {
        st = store_step(q, &row);
    }
    if ((st == ST_OK) && row) {
        st = botdir_write(slug, BOTDIR_SOUL, store_col_text(q, 3));
        if (st == ST_OK) {
            LOG_W("fleet", "bot %s: SOUL.md held soul version %lld, rewritten to the "
                  "current version %lld (an update was interrupted)", slug,
                  (long long)(version - 1), (long long)version);
        } else {
            LOG_E("fleet", "bot %s: cannot rewrite SOUL.md: %s", slug, status_str(st));
        }
    }
    store_done(q);
}

void soul_recover(void)
{
    sqlite3_stmt *q;
    bool row = false;
    st_t st;
    if (g_recovered) {
        return;
    }
    g_recovered = true;
    q = fleet_stmt(FLEET_SQL_SOUL_RECOVER_SCAN);
    st = store_step(q, &row);
    while ((st == ST_OK) && row) {
        char slug[FLEET_SLUG_MAX + 1u];
        char bot_id[UUID_STR_BYTES];
        char hash[SHA256_HEX_BYTES];
        char prev[SHA256_HEX_BYTES];
        char disk[SHA256_HEX_BYTES];
        bool present = false;
        int64_t version = store_col_int64(q, 2);
        (void)store_col_copy(q, 0, slug, sizeof slug);
        (void)store_col_copy(q, 1, bot_id, sizeof bot_id);
        (void)store_col_copy(q, 3, hash, sizeof hash);
        (void)store_col_copy(q, 4, prev, sizeof prev);
        botdir_sweep(slug);
        if ((soul_file_hash(slug, disk, &present) == ST_OK) && present &&
            (strcmp(disk, hash) != 0)) {
            if ((prev[0] != '\0') && (strcmp(disk, prev) == 0)) {
                roll_forward(slug, bot_id, version);
            } else {
                LOG_W("fleet", "bot %s: SOUL.md does not match soul version %lld (changed "
                      "outside roost?); left as it is", slug, (long long)version);
            }
        }
        st = store_step(q, &row);
    }
    store_done(q);
}

void soul_write_json(json_w *w, const soul_row *r)
{
    json_w_obj_begin(w);
    json_w_kstr(w, "id", r->id);
    json_w_kstr(w, "bot_id", r->bot_id);
    json_w_kstrn(w, "content", r->content.p, r->content.n);
    json_w_kstr(w, "hash", r->hash);
    json_w_ki64(w, "version", r->version);
    json_w_kstr(w, "message", r->has_message ? r->message : NULL);
    json_w_kstr(w, "created_at", r->created_at);
    json_w_obj_end(w);
}
