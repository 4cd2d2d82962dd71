/*
 * files.c - spec/fleet.md §5.3: IDENTITY.md and USER.md of a bot.
 *
 * Writes are atomic (botdir_write: temp file, fsync, rename), so a failing
 * or interrupted write leaves the old file; a failure answers 500. These
 * files have no rows, so there is nothing else to keep consistent.
 * Decision where the spec is silent: a file on disk larger than
 * FLEET_CONTENT_MAX_BYTES (edited outside roost) is answered 500 rather
 * than cut.
 */
#include "fam/fleet/handlers.h"

#include <stdio.h>

#include "core/log.h"
#include "fam/fleet/api.h"
#include "fam/fleet/bot.h"
#include "fam/fleet/botdir.h"
#include "fam/fleet/fleet.h"
#include "fam/fleet/identity.h"

#define HREF_BYTES 160u

/* A file read, or the decoded `content` of a PUT body. */
static char g_text[FLEET_CONTENT_MAX_BYTES + 1u];
static fleet_bot g_bot;
_Static_assert(((sizeof g_text) + (sizeof g_bot)) <= FLEET_FILES_STATIC_BYTES,
               "FLEET_FILES_STATIC_BYTES is this file's share of the plan (fleet.h)");

typedef enum { FILE_IDENTITY, FILE_USER } file_kind;

static void answer(hctx *h, file_kind kind, strv text)
{
    char self[HREF_BYTES];
    char bot[HREF_BYTES];
    fleet_link links[2];
    json_w w;
    links[0] = (fleet_link){ "self", bot_href(&g_bot, (kind == FILE_IDENTITY) ? "/identity"
                                                                              : "/user",
                                              self, sizeof self) };
    links[1] = (fleet_link){ "bot", bot_href(&g_bot, "", bot, sizeof bot) };
    fleet_ok_begin(h, 200, &w);
    if (kind == FILE_IDENTITY) {
        identity_write_json(&w, text);
    } else {
        json_w_obj_begin(&w);
        json_w_kstrn(&w, "content", text.p, text.n);
        json_w_obj_end(&w);
    }
    fleet_ok_end(h, &w, links, 2u);
}

static const char *file_name(file_kind kind)
{
    return (kind == FILE_IDENTITY) ? BOTDIR_IDENTITY : BOTDIR_USER;
}

static void get_file(hctx *h, file_kind kind)
{
    size_t n = 0u;
    st_t st;
    if (!bot_resolve(h, 0u, &g_bot)) {
        return;
    }
    st = botdir_read(g_bot.slug, file_name(kind), g_text, FLEET_CONTENT_MAX_BYTES, &n);
    if (st == ST_NOTFOUND) {
        n = 0u;
        st = ST_OK;
    }
    if (st != ST_OK) {
        LOG_E("fleet", "bot %s: reading %s: %s", g_bot.slug, file_name(kind),
              status_str(st));
        fleet_internal(h, "bot file read", st);
        return;
    }
    answer(h, kind, (strv){ g_text, n });
}

/* A PUT answers the file as written: read back for each window of a large
 * answer (hctx_render). */
static void render_file(hctx *h, const void *state)
{
    get_file(h, *(const file_kind *)state);
}

static void put_file(hctx *h, file_kind kind)
{
    json_doc d;
    int t;
    size_t n = 0u;
    char reason[64];
    bool ok = false;
    st_t st;
    if (!bot_resolve(h, 0u, &g_bot) || !fleet_body(h, &d)) {
        return;
    }
    t = json_obj_get(&d, json_root(&d), "content");
    if ((t < 0) || json_is_null(&d, t)) {
        fleet_bad_field(h, "content", "required");
    } else if (json_type(&d, t) != JSON_STRING) {
        fleet_bad_field(h, "content", "expected a string");
    } else if (json_get_mem(&d, t, g_text, FLEET_CONTENT_MAX_BYTES, &n) != ST_OK) {
        (void)snprintf(reason, sizeof reason, "must be at most %lu bytes",
                       (unsigned long)FLEET_CONTENT_MAX_BYTES);
        fleet_bad_field(h, "content", reason);
    } else {
        ok = true;
    }
    json_release(&d);
    if (!ok) {
        return;
    }
    st = botdir_write(g_bot.slug, file_name(kind), (strv){ g_text, n });
    if (st != ST_OK) {
        LOG_E("fleet", "bot %s: writing %s: %s", g_bot.slug, file_name(kind),
              status_str(st));
        fleet_internal(h, "bot file write", st);
        return;
    }
    hctx_render(h, render_file, &kind, sizeof kind);
}

void files_identity_get(hctx *h)
{
    get_file(h, FILE_IDENTITY);
}

void files_identity_put(hctx *h)
{
    put_file(h, FILE_IDENTITY);
}

void files_user_get(hctx *h)
{
    get_file(h, FILE_USER);
}

void files_user_put(hctx *h)
{
    put_file(h, FILE_USER);
}
