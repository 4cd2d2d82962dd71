#include "fam/fleet/botcreate.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/sha256.h"
#include "fam/fleet/botdir.h"
#include "fam/fleet/fleet.h"
#include "fam/fleet/soul.h"
#include "fam/fleet/sql.h"
#include "fam/fleet/templates.h"
#include "store/store.h"

#define SLUG_TRIES 100

static char g_soul[TEMPLATES_BUF_BYTES];
static char g_identity[TEMPLATES_BUF_BYTES];
static char g_user[TEMPLATES_BUF_BYTES];
_Static_assert(((sizeof g_soul) + (sizeof g_identity) + (sizeof g_user)) <=
                   FLEET_BOTCREATE_STATIC_BYTES,
               "FLEET_BOTCREATE_STATIC_BYTES is this file's share of the plan (fleet.h)");

static bool is_alnum(char c)
{
    return ((c >= 'a') && (c <= 'z')) || ((c >= 'A') && (c <= 'Z')) ||
           ((c >= '0') && (c <= '9'));
}

static char lower(char c)
{
    char r = c;
    if ((c >= 'A') && (c <= 'Z')) {
        /* cppcheck-suppress [misra-c2012-10.2, misra-c2012-10.8] ; false positive: char plus a signed offset is char */
        r = (char)('a' + (c - 'A'));
    }
    return r;
}

static void trim_dashes(char *s)
{
    size_t n = strlen(s);
    while ((n > 0u) && (s[n - 1u] == '-')) {
        n--;
    }
    s[n] = '\0';
}

void botcreate_slugify(const char *name, char out[FLEET_SLUG_MAX + 1u])
{
    size_t n = 0u;
    bool dash = false;          /* a '-' is pending (never at the start) */
    const char *p;
    for (p = name; (*p != '\0') && (n < FLEET_SLUG_MAX); p++) {
        unsigned char c = (unsigned char)*p;
        if (is_alnum(*p)) {
            if (dash && (n > 0u)) {
                out[n] = '-';   /* n < FLEET_SLUG_MAX here (loop condition) */
                n++;
            }
            dash = false;
            if (n < FLEET_SLUG_MAX) {
                out[n] = lower(*p);
                n++;
            }
        } else if ((c & 0xC0u) != 0x80u) {
            dash = true;        /* one '-' per character, not per byte */
        } else {
            /* a continuation byte of the same character */
        }
    }
    out[n] = '\0';
    trim_dashes(out);
    if (out[0] == '\0') {
        (void)snprintf(out, FLEET_SLUG_MAX + 1u, "bot");
    }
}

/* Candidate i (1 = the base itself): "<base>-<i>", the base shortened so
 * that the slug stays within FLEET_SLUG_MAX (decision: the spec caps slugs
 * at 64 characters, so the suffix takes room from the base). */
static void candidate(const char *base, int i, char out[FLEET_SLUG_MAX + 1u])
{
    char suffix[16];
    size_t keep;
    size_t sn;
    if (i == 1) {
        (void)snprintf(out, FLEET_SLUG_MAX + 1u, "%s", base);
        return;
    }
    (void)snprintf(suffix, sizeof suffix, "-%d", i);
    sn = strlen(suffix);
    keep = strlen(base);
    if ((keep + sn) > FLEET_SLUG_MAX) {
        keep = FLEET_SLUG_MAX - sn;
    }
    (void)memcpy(out, base, keep);
    out[keep] = '\0';
    trim_dashes(out);
    (void)snprintf(out + strlen(out), (FLEET_SLUG_MAX + 1u) - strlen(out), "%s", suffix);
}

static st_t slug_taken(const char *slug, bool *taken)
{
    sqlite3_stmt *q = fleet_stmt(FLEET_SQL_BOT_SLUG_TAKEN);
    st_t st = store_bind_text(q, 1, strv_from_cstr(slug));
    *taken = true;
    if (st == ST_OK) {
        st = store_step(q, taken);
    }
    store_done(q);
    return st;
}

static st_t pick_slug(const char *base, char slug[FLEET_SLUG_MAX + 1u])
{
    st_t st = ST_EXISTS;
    int i;
    for (i = 1; (i <= SLUG_TRIES) && (st == ST_EXISTS); i++) {
        bool taken = true;
        candidate(base, i, slug);
        st = slug_taken(slug, &taken);
        if ((st == ST_OK) && taken) {
            st = ST_EXISTS;
        }
    }
    return st;
}

static st_t insert_bot(const botcreate_req *r, const char *id, const char *slug,
                       const char *now)
{
    sqlite3_stmt *q = fleet_stmt(FLEET_SQL_BOT_INSERT);
    st_t st = store_bind_text(q, 1, strv_from_cstr(id));
    if (st == ST_OK) {
        st = store_bind_text(q, 2, strv_from_cstr(slug));
    }
    if (st == ST_OK) {
        st = store_bind_text(q, 3, strv_from_cstr(r->name));
    }
    if (st == ST_OK) {
        st = store_bind_text(q, 4, strv_from_cstr(r->description));
    }
    if (st == ST_OK) {
        st = store_bind_text(q, 5, strv_from_cstr(r->category));
    }
    if (st == ST_OK) {
        st = store_bind_text(q, 6, strv_from_cstr(r->tags_json));
    }
    if (st == ST_OK) {
        st = store_bind_text(q, 7, strv_from_cstr(now));
    }
    if (st == ST_OK) {
        /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
        st = ((r->emoji == NULL) || (r->emoji[0] == '\0'))
                 ? store_bind_null(q, 8)
                 : store_bind_text(q, 8, strv_from_cstr(r->emoji));
    }
    if (st == ST_OK) {
        st = store_exec(q);
    } else {
        store_done(q);
    }
    return st;
}

/* The three texts: given, or rendered from the templates. */
static st_t texts(const botcreate_req *r, strv *soul, strv *identity, strv *user)
{
    size_t n = 0u;
    st_t st = ST_OK;
    *soul = r->soul;
    *identity = r->identity;
    *user = r->user;
    if (soul->p == NULL) {
        st = templates_soul(r->name, g_soul, sizeof g_soul, &n);
        *soul = (strv){ g_soul, n };
    }
    if ((st == ST_OK) && (identity->p == NULL)) {
        st = templates_identity(r->name, r->category, g_identity, sizeof g_identity, &n);
        *identity = (strv){ g_identity, n };
    }
    if ((st == ST_OK) && (user->p == NULL)) {
        st = templates_user(r->name, g_user, sizeof g_user, &n);
        *user = (strv){ g_user, n };
    }
    return st;
}

static st_t write_files(const char *slug, strv soul, strv identity, strv user)
{
    st_t st = botdir_write(slug, BOTDIR_SOUL, soul);
    if (st == ST_OK) {
        st = botdir_write(slug, BOTDIR_IDENTITY, identity);
    }
    if (st == ST_OK) {
        st = botdir_write(slug, BOTDIR_USER, user);
    }
    return st;
}

static st_t insert_rows(const botcreate_req *r, const char *id, const char *slug, strv soul,
                        char now[40])
{
    char version_id[UUID_STR_BYTES];
    char hash[SHA256_HEX_BYTES];
    st_t st = uuid_v7(version_id);
    fleet_now(now);
    sha256_hex(soul.p, soul.n, hash);
    if (st == ST_OK) {
        st = store_begin();
    }
    if (st == ST_OK) {
        st = insert_bot(r, id, slug, now);
        if (st == ST_OK) {
            st = soul_insert(version_id, id, 1, soul, hash, NULL, now);
        }
        if ((st == ST_OK) && (r->rows != NULL)) {
            st = r->rows(r->rows_ctx, id);
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

/* The stored bot as it was inserted, for when it cannot be read back: the
 * create committed, so it succeeded. */
static void as_inserted(const botcreate_req *r, const char *id, const char *slug,
                        const char *now, fleet_bot *out)
{
    (void)memset(out, 0, sizeof *out);
    (void)snprintf(out->id, sizeof out->id, "%s", id);
    (void)snprintf(out->slug, sizeof out->slug, "%s", slug);
    (void)snprintf(out->name, sizeof out->name, "%s", r->name);
    (void)snprintf(out->description, sizeof out->description, "%s", r->description);
    (void)snprintf(out->status, sizeof out->status, "active");
    (void)snprintf(out->category, sizeof out->category, "%s", r->category);
    (void)snprintf(out->tags, sizeof out->tags, "%s", r->tags_json);
    out->version_count = 1;
    (void)snprintf(out->created_at, sizeof out->created_at, "%s", now);
    (void)snprintf(out->updated_at, sizeof out->updated_at, "%s", now);
    (void)snprintf(out->emoji, sizeof out->emoji, "%s", (r->emoji != NULL) ? r->emoji : "");
}

st_t botcreate_run(const botcreate_req *r, fleet_bot *out, char base[FLEET_SLUG_MAX + 1u])
{
    char slug[FLEET_SLUG_MAX + 1u];
    char id[UUID_STR_BYTES];
    char now[40];
    strv soul;
    strv identity;
    strv user;
    st_t st;
    botcreate_slugify(r->name, base);
    st = pick_slug(base, slug);
    if (st == ST_OK) {
        st = texts(r, &soul, &identity, &user);
    }
    if (st == ST_OK) {
        st = uuid_v7(id);
    }
    if (st == ST_OK) {
        bool created = false;
        st = botdir_make(slug, &created);
        if (st == ST_OK) {
            st = write_files(slug, soul, identity, user);
        }
        if (st == ST_OK) {
            st = insert_rows(r, id, slug, soul, now);
        }
        if (st != ST_OK) {
            LOG_E("fleet", "creating bot %s failed: %s", slug, status_str(st));
            /* only what this create made goes; an orphan directory it found
             * stays an orphan, and whatever else was in the way stays too */
            if (created && (botdir_remove(slug) != ST_OK)) {
                LOG_W("fleet", "cannot remove bots/%s after the failed create", slug);
            }
            /* ST_EXISTS means "no free slug" to the caller; here it was
             * something in the way on disk or a constraint: a storage error */
            st = (st == ST_EXISTS) ? ST_IO : st;
        }
    }
    if ((st == ST_OK) && (bot_load(strv_from_cstr(slug), out) != ST_OK)) {
        LOG_W("fleet", "bot %s created but not read back: answered as inserted", slug);
        as_inserted(r, id, slug, now, out);
    }
    return st;
}
