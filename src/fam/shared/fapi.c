/*
 * fapi.c - FastAPI-style validation answers and streamed lists.
 *
 * Implementation notes:
 * - The 422 is written into the response as entries arrive; nothing is
 *   buffered elsewhere. An entry that does not fit makes the writer's error
 *   sticky and fam_json_end answers the family's 500 instead.
 * - Query integers follow pydantic v2 on a str input: optional sign, ASCII
 *   digits, surrounding whitespace stripped; anything else is int_parsing.
 * - The list producer is the FastAPI-shaped sibling of fleet_list_stream:
 *   each part holds as many whole rows as fit in tx's room; the query is
 *   re-run from the next row for every part, so no statement stays open
 *   while the client reads.
 */
#include "fam/shared/fapi.h"

#include <stdio.h>
#include <string.h>

#include "core/assert.h"
#include "core/log.h"
#include "store/store.h"

/* ---- 422 ------------------------------------------------------------------- */

void fapi_errs_init(fapi_errs *e, hctx *h)
{
    e->h = h;
    e->n = 0u;
}

void fapi_err_add(fapi_errs *e, const fapi_err *err)
{
    json_w *w = &e->w;
    size_t i;
    if (e->n == 0u) {
        fam_json_begin(e->h, 422, w);
        json_w_obj_begin(w);
        json_w_key(w, "detail");
        json_w_arr_begin(w);
    }
    e->n++;
    json_w_obj_begin(w);
    json_w_kstr(w, "type", err->type);
    json_w_key(w, "loc");
    json_w_arr_begin(w);
    json_w_cstr(w, err->loc0);
    if (err->field != NULL) {
        json_w_cstr(w, err->field);
    }
    if (err->index >= 0) {
        json_w_i64(w, (int64_t)err->index);
    }
    for (i = 0u; (err->more != NULL) && (i < err->nmore); i++) {
        const fapi_loc *l = &err->more[i];
        if (l->key != NULL) {
            json_w_cstr(w, l->key);
        } else if (l->key_lit.p != NULL) {
            json_w_str_lit(w, l->key_lit.p, l->key_lit.n);
        } else {
            json_w_i64(w, (int64_t)l->index);
        }
    }
    json_w_arr_end(w);
    json_w_kstr(w, "msg", err->msg);
    json_w_key(w, "input");
    if (err->input_text.p != NULL) {
        json_w_str(w, err->input_text.p, err->input_text.n);
    } else if (err->input_json.p != NULL) {
        json_w_raw(w, err->input_json.p, err->input_json.n);
    } else {
        json_w_null(w);
    }
    if (err->ctx_key != NULL) {
        json_w_key(w, "ctx");
        json_w_obj_begin(w);
        if (err->ctx_str != NULL) {
            json_w_kstr(w, err->ctx_key, err->ctx_str);
        } else {
            json_w_ki64(w, err->ctx_key, err->ctx_val);
        }
        json_w_obj_end(w);
    }
    json_w_obj_end(w);
}

static fapi_err err_blank(void)
{
    fapi_err x;
    (void)memset(&x, 0, sizeof x);
    x.loc0 = "body";
    x.index = -1;
    return x;
}

void fapi_err_missing(fapi_errs *e, const json_doc *d, const char *field)
{
    fapi_err x = err_blank();
    x.type = "missing";
    x.msg = "Field required";
    x.field = field;
    x.input_json = json_raw(d, json_root(d));
    fapi_err_add(e, &x);
}

void fapi_err_type(fapi_errs *e, const json_doc *d, int tok, const char *field, int index,
                   const char *type, const char *msg)
{
    fapi_err x = err_blank();
    x.type = type;
    x.msg = msg;
    x.field = field;
    x.index = index;
    x.input_json = json_raw(d, tok);
    fapi_err_add(e, &x);
}

void fapi_err_len(fapi_errs *e, const json_doc *d, int tok, const char *field, bool too_long,
                  size_t limit)
{
    char msg[96];
    fapi_err x = err_blank();
    (void)snprintf(msg, sizeof msg, "String should have %s %lu character%s",
                   too_long ? "at most" : "at least", (unsigned long)limit,
                   (limit == 1u) ? "" : "s");
    x.type = too_long ? "string_too_long" : "string_too_short";
    x.msg = msg;
    x.field = field;
    x.input_json = json_raw(d, tok);
    x.ctx_key = too_long ? "max_length" : "min_length";
    x.ctx_val = (int64_t)limit;
    fapi_err_add(e, &x);
}

bool fapi_errs_end(fapi_errs *e)
{
    bool answered = (e->n > 0u);
    if (answered) {
        json_w_arr_end(&e->w);
        json_w_obj_end(&e->w);
        fam_json_end(e->h, &e->w);
    }
    return answered;
}

/* ---- body ---------------------------------------------------------------- */

static void json_invalid(hctx *h, const json_err *err)
{
    json_w w;
    fam_json_begin(h, 422, &w);
    json_w_obj_begin(&w);
    json_w_key(&w, "detail");
    json_w_arr_begin(&w);
    json_w_obj_begin(&w);
    json_w_kstr(&w, "type", "json_invalid");
    json_w_key(&w, "loc");
    json_w_arr_begin(&w);
    json_w_cstr(&w, "body");
    json_w_u64(&w, (uint64_t)err->offset);
    json_w_arr_end(&w);
    json_w_kstr(&w, "msg", "JSON decode error");
    json_w_kraw(&w, "input", "{}", 2u);
    json_w_key(&w, "ctx");
    json_w_obj_begin(&w);
    json_w_kstr(&w, "error", err->reason);
    json_w_obj_end(&w);
    json_w_obj_end(&w);
    json_w_arr_end(&w);
    json_w_obj_end(&w);
    fam_json_end(h, &w);
}

bool fapi_body_object(hctx *h, json_doc *d, fapi_errs *e)
{
    json_err err;
    bool ok = false;
    fapi_err x = err_blank();
    x.type = "missing";
    x.msg = "Field required";
    if (h->body.n == 0u) {
        fapi_err_add(e, &x);   /* no body: input null */
    } else if (json_parse(d, h->body.p, h->body.n, &err) != ST_OK) {
        json_invalid(h, &err);
    } else if (json_type(d, json_root(d)) == JSON_OBJECT) {
        ok = true;
    } else {
        if (!json_is_null(d, json_root(d))) {
            x.type = "model_attributes_type";
            x.msg = "Input should be a valid dictionary or object to extract fields from";
            x.input_json = json_raw(d, json_root(d));
        }
        fapi_err_add(e, &x);
        json_release(d);
    }
    return ok;
}

/* ---- query --------------------------------------------------------------- */

static bool is_space(char ch)
{
    return (ch == ' ') || (ch == '\t') || (ch == '\n') || (ch == '\r');
}

static bool parse_int(strv s, int64_t *out)
{
    strv t = s;
    bool neg = false;
    uint64_t v = 0u;
    bool ok;
    /* pydantic strips whitespace of every kind; ASCII is what a query holds */
    while ((t.n > 0u) && is_space(t.p[0])) {
        t.p++;
        t.n--;
    }
    while ((t.n > 0u) && is_space(t.p[t.n - 1u])) {
        t.n--;
    }
    if (t.n > 0u) {
        char sign = t.p[0];
        if ((sign == '-') || (sign == '+')) {
            neg = (sign == '-');
            t.p++;
            t.n--;
        }
    }
    ok = strv_to_u64(t, (uint64_t)INT64_MAX, &v);
    if (ok) {
        *out = neg ? -(int64_t)v : (int64_t)v;
    }
    return ok;
}

bool fapi_query_int(hctx *h, fapi_errs *e, const char *name, int64_t lo, int64_t hi,
                    int64_t dflt, int64_t *out)
{
    char buf[128];
    char msg[96];
    size_t n = 0u;
    int64_t v = 0;
    strv raw = (h->req != NULL) ? http_query_get(h->req->query, name) : STRV_NULL;
    fapi_err x = err_blank();
    bool ok = true;
    *out = dflt;
    if (raw.p == NULL) {
        return true;
    }
    if (http_pct_decode(raw, buf, sizeof buf, &n) != ST_OK) {
        n = (raw.n < sizeof buf) ? raw.n : sizeof buf;   /* echo it undecoded */
        (void)memcpy(buf, raw.p, n);
    }
    x.loc0 = "query";
    x.field = name;
    x.input_text = (strv){ buf, n };
    if (!parse_int((strv){ buf, n }, &v)) {
        x.type = "int_parsing";
        x.msg = "Input should be a valid integer, unable to parse string as an integer";
        ok = false;
    } else if (v < lo) {
        (void)snprintf(msg, sizeof msg, "Input should be greater than or equal to %lld",
                       (long long)lo);
        x.type = "greater_than_equal";
        x.msg = msg;
        x.ctx_key = "ge";
        x.ctx_val = lo;
        ok = false;
    } else if (v > hi) {
        (void)snprintf(msg, sizeof msg, "Input should be less than or equal to %lld",
                       (long long)hi);
        x.type = "less_than_equal";
        x.msg = msg;
        x.ctx_key = "le";
        x.ctx_val = hi;
        ok = false;
    } else {
        *out = v;
    }
    if (!ok) {
        fapi_err_add(e, &x);
    }
    return ok;
}

size_t fapi_chars(const char *s, size_t n)
{
    size_t i;
    size_t k = 0u;
    for (i = 0u; i < n; i++) {
        if ((((unsigned char)s[i]) & 0xC0u) != 0x80u) {
            k++;
        }
    }
    return k;
}

/* ---- lists of any length (fam/shared/list.h) ------------------------------------ */

/* The tail is a fixed string, kept NUL-terminated in the tail context. */
static size_t fixed_tail(const void *tail_ctx, char *buf, size_t cap)
{
    const char *t = (const char *)tail_ctx;
    size_t n = strlen(t);
    if (n > cap) {
        return 0u;
    }
    (void)memcpy(buf, t, n);
    return n;
}

void fapi_list_stream(hctx *h, const char *head, const char *tail, fapi_list_query query,
                      fapi_list_row row, const void *ctx, size_t ctx_len)
{
    char t[FAPI_LIST_AFFIX_BYTES];
    (void)snprintf(t, sizeof t, "%s", tail);
    fam_list_stream(h, head, query, row, ctx, ctx_len, fixed_tail, t, strlen(t) + 1u);
}

void fapi_list_ws_snapshot(hctx *h, stream_sub *s, const char *head, const char *tail,
                           fapi_list_query query, fapi_list_row row, const void *ctx,
                           size_t ctx_len)
{
    char t[FAPI_LIST_AFFIX_BYTES];
    (void)snprintf(t, sizeof t, "%s", tail);
    fam_list_ws_snapshot(h, s, head, query, row, ctx, ctx_len, fixed_tail, t, strlen(t) + 1u);
}
