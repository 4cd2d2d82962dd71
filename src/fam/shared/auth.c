#include "fam/shared/auth.h"

#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/sha256.h"
#include "port.h"
#include "store/store.h"

#define KEY_PREFIX "roost_"
#define KEY_RANDOM_BYTES 32u
#define KEY_TEXT_BYTES (sizeof(KEY_PREFIX) - 1u + (2u * KEY_RANDOM_BYTES))
#define TOUCH_EVERY_US 60000000u

typedef struct {
    int64_t id;
    char hash[SHA256_HEX_BYTES];
    uint64_t touched_us;
} stored_key;

static stored_key g_keys[CFG_MAX_API_KEYS];
static size_t g_nkeys;

bool auth_host_is_loopback(const char *host)
{
    return (strncmp(host, "127.", 4u) == 0) || (strcmp(host, "::1") == 0) ||
           (strcmp(host, "[::1]") == 0) || (strcmp(host, "localhost") == 0);
}

static st_t load_keys(void)
{
    sqlite3_stmt *q = store_stmt(STORE_APIKEY_LIST);
    bool row = false;
    st_t st;
    bool more = true;
    g_nkeys = 0u;
    while (more) {
        st = store_step(q, &row);
        if ((st != ST_OK) || !row) {
            more = false;
        } else if (g_nkeys >= (size_t)CFG_MAX_API_KEYS) {
            LOG_W("auth", "more than %u API keys stored: the rest are ignored",
                  (unsigned)CFG_MAX_API_KEYS);
            more = false;
        } else {
            strv h = store_col_text(q, 1);
            if (h.n == (SHA256_HEX_BYTES - 1u)) {
                g_keys[g_nkeys].id = store_col_int64(q, 0);
                (void)memcpy(g_keys[g_nkeys].hash, h.p, h.n);
                g_keys[g_nkeys].hash[h.n] = '\0';
                g_keys[g_nkeys].touched_us = 0u;
                g_nkeys++;
            }
        }
    }
    store_done(q);
    return st;
}

static st_t generate_key(const char *data_dir)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char rnd[KEY_RANDOM_BYTES];
    char key[KEY_TEXT_BYTES + 2u];
    char path[CFG_CONF_VALUE_BYTES + 16];
    char hash[SHA256_HEX_BYTES];
    char now[40];
    char line[KEY_TEXT_BYTES + 64u];
    size_t i;
    size_t o;
    int k;
    sqlite3_stmt *ins;
    st_t st = port_entropy(rnd, sizeof rnd);
    if (st != ST_OK) {
        return st;
    }
    (void)memcpy(key, KEY_PREFIX, sizeof(KEY_PREFIX) - 1u);
    o = sizeof(KEY_PREFIX) - 1u;
    for (i = 0u; i < sizeof rnd; i++) {
        key[o] = hex[rnd[i] >> 4];
        o++;
        key[o] = hex[rnd[i] & 0x0fu];
        o++;
    }
    key[o] = '\n';
    key[o + 1u] = '\0';
    k = snprintf(path, sizeof path, "%s/api_key", data_dir);
    if ((k < 0) || ((size_t)k >= sizeof path)) {
        return ST_TOOBIG;
    }
    /* The file first: a crash before the hash is stored just means a new
     * key (and file) on the next start. */
    st = port_file_write_atomic(path, key, o + 1u, 0600u);
    if (st != ST_OK) {
        LOG_E("auth", "cannot write %s: %s", path, status_str(st));
        return st;
    }
    sha256_hex(key, o, hash);
    (void)clock_format(clock_wall_us(), CLOCK_FMT_Z6, now, sizeof now);
    ins = store_stmt(STORE_APIKEY_INSERT);
    st = store_bind_text(ins, 1, strv_from_cstr(hash));
    if (st == ST_OK) {
        st = store_bind_text(ins, 2, strv_from_cstr(now));
    }
    if (st == ST_OK) {
        st = store_exec(ins);
    }
    if (st != ST_OK) {
        return st;
    }
    k = snprintf(line, sizeof line, "API key (shown once): %.*s\n", (int)o, key);
    port_stdout(line, ((k > 0) && ((size_t)k < sizeof line)) ? (size_t)k : 0u);
    LOG_I("auth", "generated the API key; it is in %s", path);
    (void)memset(key, 0, sizeof key);
    return ST_OK;
}

st_t auth_init(const char *data_dir)
{
    st_t st = load_keys();
    if ((st == ST_OK) && (g_nkeys == 0u)) {
        st = generate_key(data_dir);
        if (st == ST_OK) {
            st = load_keys();
        }
    }
    return st;
}

/* Constant time in the key and in which stored hash matches. */
static int match_index(const char *hash)
{
    int found = -1;
    size_t i;
    size_t j;
    for (i = 0u; i < g_nkeys; i++) {
        unsigned diff = 0u;
        for (j = 0u; j < (SHA256_HEX_BYTES - 1u); j++) {
            diff |= ((unsigned)(unsigned char)g_keys[i].hash[j] ^ (unsigned)(unsigned char)hash[j]);
        }
        if ((diff == 0u) && (found < 0)) {
            found = (int)i;
        }
    }
    return found;
}

static void touch(size_t i)
{
    uint64_t now = clock_mono_us();
    if ((g_keys[i].touched_us == 0u) || ((now - g_keys[i].touched_us) >= TOUCH_EVERY_US)) {
        char ts[40];
        sqlite3_stmt *q = store_stmt(STORE_APIKEY_TOUCH);
        g_keys[i].touched_us = now;
        (void)clock_format(clock_wall_us(), CLOCK_FMT_Z6, ts, sizeof ts);
        if ((store_bind_int64(q, 1, g_keys[i].id) == ST_OK) &&
            (store_bind_text(q, 2, strv_from_cstr(ts)) == ST_OK)) {
            (void)store_exec(q);   /* best effort */
        }
    }
}

bool auth_query_allowed(const hctx *h)
{
    if (h->req == NULL) {
        return false;
    }
    if (h->req->upgrade_websocket) {
        return true;
    }
    return (h->req->method == HTTP_M_GET) &&
           strv_list_has_token(http_header_get(h->req, "Accept"), "text/event-stream");
}

auth_result auth_check(const hctx *h, bool allow_query)
{
    strv key = STRV_NULL;
    char hash[SHA256_HEX_BYTES];
    int i;
    if (h->req == NULL) {
        return AUTH_MISSING;
    }
    {
        strv a = http_header_get(h->req, "Authorization");
        if ((a.p != NULL) && (a.n > 7u) && strv_ieq((strv){ a.p, 7u }, STRV_LIT("Bearer "))) {
            key = strv_trim((strv){ a.p + 7, a.n - 7u });
        }
    }
    if (key.p == NULL) {
        strv x = http_header_get(h->req, "X-API-Key");
        if (x.p != NULL) {
            key = strv_trim(x);
        }
    }
    if ((key.p == NULL) && allow_query) {
        key = http_query_get(h->req->query, "api_key");
    }
    if ((key.p == NULL) || (key.n == 0u)) {
        return AUTH_MISSING;
    }
    sha256_hex(key.p, key.n, hash);
    i = match_index(hash);
    if (i < 0) {
        return AUTH_INVALID;
    }
    touch((size_t)i);
    return AUTH_OK;
}
