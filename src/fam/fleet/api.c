#include "fam/fleet/api.h"

#include <stdio.h>
#include <string.h>

#include "core/assert.h"
#include "core/clock.h"
#include "core/log.h"
#include "store/store.h"

static char g_data_dir[CFG_CONF_VALUE_BYTES];

void fleet_set_data_dir(const char *dir)
{
    (void)snprintf(g_data_dir, sizeof g_data_dir, "%s", dir);
}

const char *fleet_data_dir(void)
{
    return g_data_dir;
}

bool fleet_bot_path(const char *slug, const char *file, char *buf, size_t cap)
{
    int k = (file != NULL) ? snprintf(buf, cap, "%s/bots/%s/%s", g_data_dir, slug, file)
                           : snprintf(buf, cap, "%s/bots/%s", g_data_dir, slug);
    return (k > 0) && ((size_t)k < cap);
}

void fleet_now(char out[40])
{
    (void)clock_format(clock_wall_us(), CLOCK_FMT_Z6, out, 40u);
}

size_t fleet_chars(const char *s, size_t n)
{
    size_t count = 0u;
    size_t i;
    for (i = 0u; i < n; i++) {
        if ((((unsigned char)s[i]) & 0xC0u) != 0x80u) {
            count++;
        }
    }
    return count;
}

/* ---- envelope ---------------------------------------------------------------- */

/* The meta of a response: its id, time and duration are fixed on the first
 * render pass (hctx_stamp), so a response sent in windows renders the same. */
static void write_meta(hctx *h, json_w *w)
{
    char ts[40];
    uint64_t spent_ms = hctx_spent_us(h) / 1000u;
    (void)clock_format(hctx_wall_us(h), CLOCK_FMT_OFF6, ts, sizeof ts);
    json_w_key(w, "meta");
    json_w_obj_begin(w);
    json_w_kstr(w, "request_id", hctx_request_id(h));
    json_w_kstr(w, "timestamp", ts);
    json_w_ku64(w, "response_time_ms", spent_ms);
    json_w_obj_end(w);
}

void fleet_ok_begin(hctx *h, int status, json_w *w)
{
    fam_json_begin(h, status, w);
    json_w_obj_begin(w);
    json_w_key(w, "data");
}

void fleet_ok_end(hctx *h, json_w *w, const fleet_link *links, size_t nlinks)
{
    write_meta(h, w);
    if (nlinks > 0u) {
        size_t i;
        json_w_key(w, "_links");
        json_w_obj_begin(w);
        for (i = 0u; i < nlinks; i++) {
            json_w_kstr(w, links[i].name, links[i].href);
        }
        json_w_obj_end(w);
    }
    json_w_obj_end(w);
    fam_json_end(h, w);
}

void fleet_fail(hctx *h, int status, const char *code, const char *msg)
{
    json_w w;
    char text[160];
    const char *detail = msg;
    if ((status == 404) && (h->req != NULL) && (strcmp(code, "NOT_FOUND") == 0)) {
        /* unknown route: name it */
        int k = snprintf(text, sizeof text, "No route for %.*s %.*s",
                         (int)h->req->method_str.n, h->req->method_str.p,
                         (int)((h->req->path.n < 100u) ? h->req->path.n : 100u),
                         h->req->path.p);
        if (k > 0) {
            detail = text;
        }
    }
    fam_json_begin(h, status, &w);
    json_w_obj_begin(&w);
    json_w_knull(&w, "data");
    write_meta(h, &w);
    json_w_key(&w, "errors");
    json_w_arr_begin(&w);
    json_w_obj_begin(&w);
    json_w_kstr(&w, "code", code);
    json_w_kstr(&w, "message", detail);
    json_w_obj_end(&w);
    json_w_arr_end(&w);
    json_w_obj_end(&w);
    fam_json_end(h, &w);
}

void fleet_bad_field(hctx *h, const char *field, const char *reason)
{
    char msg[256];
    (void)snprintf(msg, sizeof msg, "Invalid field '%s': %s", field, reason);
    fleet_fail(h, 400, "VALIDATION_ERROR", msg);
}

void fleet_internal(hctx *h, const char *what, st_t st)
{
    LOG_E("fleet", "%s: %s", what, status_str(st));
    fleet_fail(h, 500, "INTERNAL_ERROR", "Internal server error");
}

/* ---- request parsing ------------------------------------------------------------ */

bool fleet_body(hctx *h, json_doc *d)
{
    json_err err;
    char msg[200];
    st_t st;
    if (h->body.n == 0u) {
        fleet_fail(h, 400, "VALIDATION_ERROR", "Invalid JSON body: empty body");
        return false;
    }
    st = json_parse(d, h->body.p, h->body.n, &err);
    if ((st == ST_TOOBIG) && (strcmp(err.reason, "too many tokens") == 0)) {
        /* Valid as far as it went, but more values than the token pool holds:
         * a size limit, not a syntax error. */
        (void)snprintf(msg, sizeof msg, "Request body has more than %u JSON values",
                       (unsigned)CFG_JSON_MAX_TOKENS);
        fleet_fail(h, 413, "PAYLOAD_TOO_LARGE", msg);
        return false;
    }
    if (st != ST_OK) {
        (void)snprintf(msg, sizeof msg, "Invalid JSON body: %s at byte %lu", err.reason,
                       (unsigned long)err.offset);
        fleet_fail(h, 400, "VALIDATION_ERROR", msg);
        return false;
    }
    if (json_type(d, json_root(d)) != JSON_OBJECT) {
        json_release(d);
        fleet_fail(h, 400, "VALIDATION_ERROR", "Invalid JSON body: expected a JSON object");
        return false;
    }
    return true;
}

bool fleet_opt_str(hctx *h, const json_doc *d, int obj, const char *key, char *buf,
                   size_t cap, size_t max_chars, bool trim, bool *present, size_t *n)
{
    int t = json_obj_get(d, obj, key);
    char reason[64];
    size_t len = 0u;
    st_t st;
    *present = false;
    *n = 0u;
    buf[0] = '\0';
    if ((t < 0) || json_is_null(d, t)) {
        return true;
    }
    if (json_type(d, t) != JSON_STRING) {
        fleet_bad_field(h, key, "expected a string");
        return false;
    }
    st = json_get_mem(d, t, buf, cap, &len);
    if (st == ST_FULL) {
        (void)snprintf(reason, sizeof reason, "must be at most %lu characters",
                       (unsigned long)max_chars);
        fleet_bad_field(h, key, reason);
        return false;
    }
    if (st != ST_OK) {
        fleet_bad_field(h, key, "expected a string");
        return false;
    }
    if (trim) {
        strv v = strv_trim_ws((strv){ buf, len });
        (void)memmove(buf, v.p, v.n);
        len = v.n;
    }
    buf[len] = '\0';
    if (fleet_chars(buf, len) > max_chars) {
        (void)snprintf(reason, sizeof reason, "must be at most %lu characters",
                       (unsigned long)max_chars);
        fleet_bad_field(h, key, reason);
        return false;
    }
    *present = true;
    *n = len;
    return true;
}

bool fleet_opt_tags(hctx *h, const json_doc *d, int obj, char *out, size_t cap,
                    bool *present)
{
    int t = json_obj_get(d, obj, "tags");
    json_iter it = JSON_ITER_INIT;
    int v;
    json_w w;
    size_t count = 0u;
    size_t len = 0u;
    *present = false;
    if ((t < 0) || json_is_null(d, t)) {
        return true;
    }
    if (json_type(d, t) != JSON_ARRAY) {
        fleet_bad_field(h, "tags", "expected an array of strings");
        return false;
    }
    json_w_init(&w, out, cap);
    json_w_arr_begin(&w);
    while (json_arr_next(d, t, &it, &v)) {
        char tag[(FLEET_TAG_MAX_CHARS * 4u) + 1u];
        size_t n = 0u;
        st_t st;
        if (json_type(d, v) != JSON_STRING) {
            fleet_bad_field(h, "tags", "expected an array of strings");
            return false;
        }
        st = json_get_mem(d, v, tag, sizeof tag, &n);
        if ((st != ST_OK) || (n == 0u) || (fleet_chars(tag, n) > FLEET_TAG_MAX_CHARS)) {
            fleet_bad_field(h, "tags", "each tag must be 1-50 characters");
            return false;
        }
        count++;
        if (count > FLEET_TAGS_MAX) {
            fleet_bad_field(h, "tags", "at most 20 tags");
            return false;
        }
        json_w_str(&w, tag, n);
    }
    json_w_arr_end(&w);
    if (json_w_finish(&w, &len) != ST_OK) {
        fleet_bad_field(h, "tags", "too long");
        return false;
    }
    out[len] = '\0';
    *present = true;
    return true;
}

bool fleet_query_str(const hctx *h, const char *name, char *buf, size_t cap)
{
    size_t n = 0u;
    strv raw;
    if (h->req == NULL) {
        return false;
    }
    raw = http_query_get(h->req->query, name);
    if ((raw.p == NULL) || (cap == 0u)) {
        return false;
    }
    if (http_pct_decode(raw, buf, cap - 1u, &n) != ST_OK) {
        return false;
    }
    buf[n] = '\0';
    return true;
}

bool fleet_query_int(hctx *h, const char *name, int64_t lo, int64_t hi, int64_t *out,
                     bool *present)
{
    char buf[32];
    uint64_t v = 0u;
    bool neg = false;
    strv s;
    *present = false;
    if (h->req == NULL) {
        return true;
    }
    if (http_query_get(h->req->query, name).p == NULL) {
        return true;
    }
    if (!fleet_query_str(h, name, buf, sizeof buf)) {
        buf[0] = '\0';
    }
    s = strv_from_cstr(buf);
    if ((s.n > 0u) && (buf[0] == '-')) {   /* s views buf */
        neg = true;
        s.p++;
        s.n--;
    }
    if (!strv_to_u64(s, (uint64_t)INT64_MAX, &v) ||
        ((neg ? -(int64_t)v : (int64_t)v) < lo) || ((neg ? -(int64_t)v : (int64_t)v) > hi)) {
        char msg[128];
        (void)snprintf(msg, sizeof msg, "Invalid query parameter '%s': expected an integer "
                       "from %lld to %lld", name, (long long)lo, (long long)hi);
        fleet_fail(h, 400, "VALIDATION_ERROR", msg);
        return false;
    }
    *out = neg ? -(int64_t)v : (int64_t)v;
    *present = true;
    return true;
}

/* ---- lists of any length (fam/shared/list.h) ----------------------------------- */

#define LIST_HREF_BYTES 128u

/* What the envelope's tail needs: when the request started, and its links. */
typedef struct {
    uint64_t start_us;
    uint8_t nlinks;
    char link_name[2][12];
    char link_href[2][LIST_HREF_BYTES];
} list_tail_ctx;

_Static_assert(sizeof(list_tail_ctx) <= FAM_LIST_TAIL_CTX_BYTES,
               "list_tail_ctx must fit the list's tail context");

/* "]" closing data, then meta and links, written with a throw-away writer. */
static size_t list_tail(const void *tail_ctx, char *buf, size_t cap)
{
    const list_tail_ctx *tc = (const list_tail_ctx *)tail_ctx;
    json_w w;
    char id[UUID_STR_BYTES];
    char ts[40];
    size_t n = 0u;
    if ((cap < 2u) || (uuid_v7(id) != ST_OK)) {
        id[0] = '\0';
    }
    (void)clock_format(clock_wall_us(), CLOCK_FMT_OFF6, ts, sizeof ts);
    json_w_init(&w, buf + 1, cap - 1u);
    json_w_obj_begin(&w);
    json_w_key(&w, "meta");
    json_w_obj_begin(&w);
    json_w_kstr(&w, "request_id", id);
    json_w_kstr(&w, "timestamp", ts);
    json_w_ku64(&w, "response_time_ms", (clock_mono_us() - tc->start_us) / 1000u);
    json_w_obj_end(&w);
    if (tc->nlinks > 0u) {
        size_t i;
        json_w_key(&w, "_links");
        json_w_obj_begin(&w);
        for (i = 0u; i < tc->nlinks; i++) {
            json_w_kstr(&w, tc->link_name[i], tc->link_href[i]);
        }
        json_w_obj_end(&w);
    }
    json_w_obj_end(&w);
    if (json_w_finish(&w, &n) != ST_OK) {
        return 0u;
    }
    /* "]" then the writer's {"meta":...} with its '{' turned into ',' so it
     * continues the envelope */
    buf[0] = ']';
    buf[1] = ',';
    return n + 1u;
}

void fleet_list_stream(hctx *h, fleet_list_query query, fleet_list_row row, const void *ctx,
                       size_t ctx_len, const fleet_link *links, size_t nlinks)
{
    list_tail_ctx tc;
    size_t i;
    (void)memset(&tc, 0, sizeof tc);
    tc.start_us = h->start_us;
    tc.nlinks = (uint8_t)((nlinks < 2u) ? nlinks : 2u);
    for (i = 0u; i < tc.nlinks; i++) {
        (void)snprintf(tc.link_name[i], sizeof tc.link_name[i], "%s", links[i].name);
        (void)snprintf(tc.link_href[i], sizeof tc.link_href[i], "%s", links[i].href);
    }
    fam_list_stream(h, "{\"data\":[", query, row, ctx, ctx_len, list_tail, &tc, sizeof tc);
}
