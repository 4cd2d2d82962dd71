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

static void write_meta(hctx *h, json_w *w)
{
    char id[UUID_STR_BYTES];
    char ts[40];
    uint64_t spent_ms = (clock_mono_us() - h->start_us) / 1000u;
    if (uuid_v7(id) != ST_OK) {
        id[0] = '\0';
    }
    (void)clock_format(clock_wall_us(), CLOCK_FMT_OFF6, ts, sizeof ts);
    json_w_key(w, "meta");
    json_w_obj_begin(w);
    json_w_kstr(w, "request_id", id);
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

static bool is_ascii_ws(char ch)
{
    return (ch == ' ') || (ch == '\t') || (ch == '\n') || (ch == '\r');
}

static strv trim_ascii(strv v)
{
    while ((v.n > 0u) && is_ascii_ws(v.p[0])) {
        v.p++;
        v.n--;
    }
    while ((v.n > 0u) && is_ascii_ws(v.p[v.n - 1u])) {
        v.n--;
    }
    return v;
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
        strv v = trim_ascii((strv){ buf, len });
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

/* ---- lists of any length ------------------------------------------------------ */

#define LIST_HREF_BYTES 128u
#define LIST_TAIL_RESERVE 1024u   /* room kept for "],"meta":...,"_links":...}" */

typedef struct {
    fleet_list_query query;
    fleet_list_row row;
    int64_t next;                 /* offset of the next row to send */
    uint64_t start_us;
    uint8_t phase;                /* 0 head, 1 items, 2 done */
    bool any;                     /* an item was written (comma before the next) */
    uint8_t nlinks;
    char link_name[2][12];
    char link_href[2][LIST_HREF_BYTES];
    uint64_t ctx[(FLEET_LIST_CTX_BYTES + 7u) / 8u];   /* the caller's context, 8-aligned */
} list_state;

_Static_assert(sizeof(list_state) <= HCTX_PRODUCER_STATE_BYTES,
               "list_state must fit the producer state");

static size_t put_raw(char *buf, size_t cap, size_t len, const char *s)
{
    size_t n = strlen(s);
    size_t end = len;
    if ((len + n) <= cap) {
        (void)memcpy(buf + len, s, n);
        end += n;
    }
    return end;
}

/* The envelope's tail: meta and links, written with a throw-away writer. */
static size_t list_tail(const list_state *st, char *buf, size_t cap)
{
    json_w w;
    char id[UUID_STR_BYTES];
    char ts[40];
    size_t n = 0u;
    if (uuid_v7(id) != ST_OK) {
        id[0] = '\0';
    }
    (void)clock_format(clock_wall_us(), CLOCK_FMT_OFF6, ts, sizeof ts);
    json_w_init(&w, buf, cap);
    json_w_obj_begin(&w);
    json_w_key(&w, "meta");
    json_w_obj_begin(&w);
    json_w_kstr(&w, "request_id", id);
    json_w_kstr(&w, "timestamp", ts);
    json_w_ku64(&w, "response_time_ms", (clock_mono_us() - st->start_us) / 1000u);
    json_w_obj_end(&w);
    if (st->nlinks > 0u) {
        size_t i;
        json_w_key(&w, "_links");
        json_w_obj_begin(&w);
        for (i = 0u; i < st->nlinks; i++) {
            json_w_kstr(&w, st->link_name[i], st->link_href[i]);
        }
        json_w_obj_end(&w);
    }
    json_w_obj_end(&w);
    if (json_w_finish(&w, &n) != ST_OK) {
        return 0u;
    }
    /* the writer made {"meta":...}: drop its '{' so it continues the envelope */
    buf[0] = ',';
    return n;
}

static size_t list_produce(void *state, char *buf, size_t cap, bool *done)
{
    list_state *st = (list_state *)state;
    size_t len = 0u;
    bool row = false;
    *done = false;
    if (st->phase == 0u) {
        len = put_raw(buf, cap, len, "{\"data\":[");
        st->phase = 1u;
    }
    if (st->phase == 1u) {
        struct sqlite3_stmt *q = st->query(st->ctx, st->next);
        bool part_full = false;   /* this part is full: the next row waits */
        if (q == NULL) {
            st->phase = 2u;   /* logged by the query; the list ends here */
        }
        while ((st->phase == 1u) && !part_full) {
            json_w w;
            size_t comma = st->any ? 1u : 0u;
            size_t n = 0u;
            if ((store_step(q, &row) != ST_OK) || !row) {
                st->phase = 2u;
            } else if ((len + comma + LIST_TAIL_RESERVE) >= cap) {
                part_full = true;
            } else {
                json_w_init(&w, buf + len + comma, cap - len - comma - LIST_TAIL_RESERVE);
                st->row(q, &w);
                if (json_w_finish(&w, &n) != ST_OK) {
                    if (len == 0u) {
                        /* one item larger than a whole slot: cannot be sent */
                        LOG_E("fleet", "list item %lld larger than an out slot: list cut",
                              (long long)st->next);
                        st->phase = 2u;
                    }
                    part_full = true;   /* it goes first in the next part */
                } else {
                    if (comma > 0u) {
                        buf[len] = ',';
                    }
                    len += comma + n;
                    st->any = true;
                    st->next++;
                }
            }
        }
        if (q != NULL) {
            store_done(q);
        }
    }
    if (st->phase == 2u) {
        size_t t;
        len = put_raw(buf, cap, len, "]");
        t = list_tail(st, buf + len, cap - len);
        len += t;
        *done = true;
    }
    return len;
}

void fleet_list_stream(hctx *h, fleet_list_query query, fleet_list_row row, const void *ctx,
                       size_t ctx_len, const fleet_link *links, size_t nlinks)
{
    static list_state st;
    size_t i;
    if (NEVER(ctx_len > sizeof st.ctx)) {
        fleet_internal(h, "list context larger than FLEET_LIST_CTX_BYTES", ST_INTERNAL);
        return;
    }
    (void)memset(&st, 0, sizeof st);
    st.query = query;
    st.row = row;
    st.start_us = h->start_us;
    st.nlinks = (uint8_t)((nlinks < 2u) ? nlinks : 2u);
    for (i = 0u; i < st.nlinks; i++) {
        (void)snprintf(st.link_name[i], sizeof st.link_name[i], "%s", links[i].name);
        (void)snprintf(st.link_href[i], sizeof st.link_href[i], "%s", links[i].href);
    }
    (void)memcpy(st.ctx, ctx, ctx_len);
    hctx_begin(h, 200);
    hctx_header(h, "Content-Type", "application/json");
    hctx_end_stream(h, list_produce, &st, sizeof st);
}
