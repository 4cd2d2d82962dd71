/*
 * secrets.c - fleet secrets (spec/fleet.md §5.7, entry model §2.7) and the
 * lookup the chat engine uses (secrets.h).
 *
 * A value enters through PUT, is stored as it is, and leaves only masked
 * ("****" + its last 4 characters) or through secrets_lookup. Nothing here
 * logs a value; the static value buffer is wiped after each PUT.
 */
#include "fam/fleet/secrets.h"

#include <stdio.h>
#include <string.h>

#include "fam/fleet/api.h"
#include "fam/fleet/fleet.h"
#include "fam/fleet/handlers.h"
#include "fam/fleet/sql.h"
#include "store/store.h"

#define MASK_TAIL_CHARS 4u
/* "****" + 4 characters of at most 4 bytes + NUL */
#define MASK_BYTES (4u + (MASK_TAIL_CHARS * 4u) + 1u)
#define SECRET_VALUE_BYTES ((FLEET_SECRET_MAX_CHARS * 4u) + 1u)

static char g_value[SECRET_VALUE_BYTES];
_Static_assert((sizeof g_value) <= FLEET_SECRETS_STATIC_BYTES,
               "FLEET_SECRETS_STATIC_BYTES is this file's share of the plan (fleet.h)");

bool secrets_key_ok(strv key)
{
    size_t i;
    bool ok = (key.n >= 1u) && (key.n <= SECRETS_KEY_MAX);
    for (i = 0u; ok && (i < key.n); i++) {
        char ch = key.p[i];
        ok = ((ch >= 'A') && (ch <= 'Z')) || ((ch >= 'a') && (ch <= 'z')) ||
             ((ch >= '0') && (ch <= '9')) || (ch == '_') || (ch == '.') || (ch == '-');
    }
    return ok;
}

/* "****" for values of at most 4 characters, else "****" and the last 4
 * characters (Unicode scalar values). */
static void mask(strv v, char out[MASK_BYTES])
{
    (void)memcpy(out, "****", 4u);
    if (fleet_chars(v.p, v.n) > MASK_TAIL_CHARS) {
        size_t start = v.n;
        size_t chars = 0u;
        size_t tail;
        while ((start > 0u) && (chars < MASK_TAIL_CHARS)) {
            start--;
            if ((((unsigned char)v.p[start]) & 0xC0u) != 0x80u) {
                chars++;
            }
        }
        tail = v.n - start;
        if (tail > (MASK_BYTES - 5u)) {
            tail = MASK_BYTES - 5u;   /* cannot happen with valid UTF-8 */
        }
        (void)memcpy(out + 4, v.p + start, tail);
        out[4u + tail] = '\0';
    } else {
        out[4] = '\0';
    }
}

/* Entity timestamps are stored as ...Z; secrets show them as ...+00:00. */
static void write_offset_time(json_w *w, const char *key, strv t)
{
    char buf[48];
    char last = '\0';
    if (t.n > 0u) {
        last = t.p[t.n - 1u];
    }
    if ((t.n > 0u) && (t.n < ((sizeof buf) - 6u)) && (last == 'Z')) {
        (void)memcpy(buf, t.p, t.n - 1u);
        (void)memcpy(buf + (t.n - 1u), "+00:00", 7u);
        json_w_kstr(w, key, buf);
    } else {
        json_w_kstrn(w, key, t.p, t.n);
    }
}

/* ---- handlers ------------------------------------------------------------------ */

/* The {key} path parameter into keyz (NUL-terminated); false: answered 400. */
static bool key_param(hctx *h, char keyz[SECRETS_KEY_MAX + 1u], size_t *n)
{
    strv key = hctx_param(h, 0u);
    if (!secrets_key_ok(key)) {
        fleet_fail(h, 400, "VALIDATION_ERROR",
                   "Invalid secret key: use 1-128 characters of A-Z, a-z, 0-9, '_', '.', '-'");
        return false;
    }
    (void)memcpy(keyz, key.p, key.n);
    keyz[key.n] = '\0';
    *n = key.n;
    return true;
}

void secrets_list(hctx *h)
{
    sqlite3_stmt *q = fleet_stmt(FLEET_SQL_SECRET_LIST);
    char masked[MASK_BYTES];
    bool row = false;
    json_w w;
    st_t st;
    fleet_ok_begin(h, 200, &w);
    json_w_arr_begin(&w);
    st = store_step(q, &row);
    while ((st == ST_OK) && row) {
        strv key = store_col_text(q, 0);
        mask(store_col_text(q, 1), masked);
        json_w_obj_begin(&w);
        json_w_kstrn(&w, "key", key.p, key.n);
        json_w_kstr(&w, "masked_value", masked);
        json_w_kstr(&w, "provider", "vault");
        json_w_kstr(&w, "scope", "global");
        write_offset_time(&w, "updated_at", store_col_text(q, 2));
        json_w_obj_end(&w);
        st = store_step(q, &row);
    }
    store_done(q);
    (void)memset(masked, 0, sizeof masked);
    json_w_arr_end(&w);
    if (st != ST_OK) {
        h->resp.overflow = true;   /* the family's 500 (store logged why) */
    }
    {
        fleet_link links[] = { { "self", "/api/v1/secrets" } };
        fleet_ok_end(h, &w, links, 1u);
    }
}

/* The value field of the PUT body into g_value; false: answered 400. */
static bool read_value(hctx *h, size_t *n)
{
    json_doc d;
    bool present = false;
    bool ok;
    if (!fleet_body(h, &d)) {
        return false;
    }
    ok = fleet_opt_str(h, &d, json_root(&d), "value", g_value, sizeof g_value,
                       FLEET_SECRET_MAX_CHARS, false, &present, n);
    json_release(&d);
    if (ok && !present) {
        fleet_bad_field(h, "value", "field required");
        ok = false;
    } else if (ok && (*n == 0u)) {
        fleet_bad_field(h, "value", "must be 1-16384 characters");
        ok = false;
    } else if (ok && (memchr(g_value, 0, *n) != NULL)) {
        fleet_bad_field(h, "value", "must not contain U+0000");
        ok = false;
    } else {
        /* ok as it is */
    }
    return ok;
}

void secrets_put(hctx *h)
{
    char keyz[SECRETS_KEY_MAX + 1u];
    size_t key_n = 0u;
    char now[40];
    char masked[MASK_BYTES];
    char self[32u + SECRETS_KEY_MAX];
    size_t n = 0u;
    sqlite3_stmt *q;
    json_w w;
    st_t st;
    if (!key_param(h, keyz, &key_n)) {
        return;
    }
    if (!read_value(h, &n)) {
        (void)memset(g_value, 0, sizeof g_value);
        return;
    }
    fleet_now(now);
    q = fleet_stmt(FLEET_SQL_SECRET_PUT);
    st = store_bind_text(q, 1, (strv){ keyz, key_n });
    if (st == ST_OK) {
        st = store_bind_text(q, 2, (strv){ g_value, n });
    }
    if (st == ST_OK) {
        st = store_bind_text(q, 3, strv_from_cstr(now));
    }
    if (st == ST_OK) {
        st = store_exec(q);
    } else {
        store_done(q);
    }
    mask((strv){ g_value, n }, masked);
    (void)memset(g_value, 0, n + 1u);
    if (st != ST_OK) {
        fleet_internal(h, "secret put", st);
        return;
    }
    (void)snprintf(self, sizeof self, "/api/v1/secrets/%s", keyz);
    fleet_ok_begin(h, 200, &w);
    json_w_obj_begin(&w);
    json_w_kstr(&w, "key", keyz);
    json_w_kstr(&w, "masked_value", masked);
    json_w_kbool(&w, "set", true);
    json_w_obj_end(&w);
    (void)memset(masked, 0, sizeof masked);
    {
        fleet_link links[] = { { "self", self } };
        fleet_ok_end(h, &w, links, 1u);
    }
}

void secrets_delete(hctx *h)
{
    char keyz[SECRETS_KEY_MAX + 1u];
    size_t key_n = 0u;
    sqlite3_stmt *q;
    json_w w;
    st_t st;
    if (!key_param(h, keyz, &key_n)) {
        return;
    }
    q = fleet_stmt(FLEET_SQL_SECRET_DELETE);
    st = store_bind_text(q, 1, (strv){ keyz, key_n });
    if (st == ST_OK) {
        st = store_exec(q);
    } else {
        store_done(q);
    }
    if ((st == ST_OK) && (store_changes() == 0u)) {
        st = ST_NOTFOUND;
    }
    if (st == ST_NOTFOUND) {
        fleet_fail(h, 404, "SECRET_NOT_FOUND", "Secret not found");
        return;
    }
    if (st != ST_OK) {
        fleet_internal(h, "secret delete", st);
        return;
    }
    fleet_ok_begin(h, 200, &w);
    json_w_obj_begin(&w);
    json_w_kbool(&w, "deleted", true);
    json_w_kstr(&w, "key", keyz);
    json_w_obj_end(&w);
    fleet_ok_end(h, &w, NULL, 0u);
}

/* ---- for the chat engine ------------------------------------------------------- */

st_t secrets_lookup(const char *key, char *buf, size_t cap, size_t *n)
{
    strv k;
    if ((buf == NULL) || (cap == 0u)) {
        return ST_INVAL;
    }
    buf[0] = '\0';
    if (n != NULL) {
        *n = 0u;
    }
    k = (key != NULL) ? strv_from_cstr(key) : STRV_NULL;
    if (!secrets_key_ok(k)) {
        return ST_NOTFOUND;
    }
    /* ST_TOOBIG leaves buf "" (store_get_text) */
    return store_get_text(fleet_stmt(FLEET_SQL_SECRET_GET), k, buf, cap, n);
}
