/*
 * api.c - the observability family's common answers (404, 500), Session
 * rows, one- and two-parameter statements, and the validation of request
 * bodies in pydantic v2's model order (§1, §2.1): every problem of a body
 * is one 422 entry; bounded strings are decoded into fixed buffers of 4
 * bytes per allowed character, unbounded ones kept as their JSON literal.
 */
#include "fam/obs/obs_int.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "fam/shared/fam.h"

/* ---- common -------------------------------------------------------------- */

void obs_not_found(hctx *h)
{
    fam_json_send(h, 404, "{\"detail\":\"Session not found\"}");
}

void obs_internal(hctx *h, const char *what, st_t st)
{
    LOG_E("obs", "%s: %s", what, status_str(st));
    fam_fastapi_error(h, 500, "INTERNAL_ERROR", "Internal Server Error");
}

/* The Session members (§2.3) of an OBS_SESSION_GET / _LIST row. */
void obs_session_members(json_w *w, sqlite3_stmt *q)
{
    fam_kcol_str(w, "session_id", q, 0);
    fam_kcol_str(w, "session_name", q, 1);
    fam_kcol_str(w, "status", q, 2);
    fam_kcol_str(w, "created_at", q, 3);
    fam_kcol_str(w, "modified_at", q, 4);
    fam_kcol_str(w, "project_dir", q, 5);
    fam_kcol_str(w, "agent_name", q, 6);
}

void obs_session_row(sqlite3_stmt *q, json_w *w)
{
    json_w_obj_begin(w);
    obs_session_members(w, q);
    json_w_obj_end(w);
}

/* Step OBS_SESSION_GET for sid: ST_OK with the row current (the caller
 * calls store_done), ST_NOTFOUND, or a storage error. */
st_t obs_session_get(strv sid, sqlite3_stmt **out)
{
    sqlite3_stmt *q = obs_stmt(OBS_SQL_SESSION_GET);
    bool row = false;
    st_t st = store_bind_text(q, 1, sid);
    if (st == ST_OK) {
        st = store_step(q, &row);
    }
    if ((st == ST_OK) && !row) {
        st = ST_NOTFOUND;
    }
    if (st != ST_OK) {
        store_done(q);
    }
    *out = q;
    return st;
}

st_t obs_exec_1(obs_sql_id id, strv a)
{
    sqlite3_stmt *q = obs_stmt(id);
    st_t st = store_bind_text(q, 1, a);
    if (st == ST_OK) {
        st = store_exec(q);
    }
    return st;
}

st_t obs_exec_2(obs_sql_id id, strv a, strv b)
{
    sqlite3_stmt *q = obs_stmt(id);
    st_t st = store_bind_text(q, 1, a);
    if (st == ST_OK) {
        st = store_bind_text(q, 2, b);
    }
    if (st == ST_OK) {
        st = store_exec(q);
    }
    return st;
}

/* ---- validation ----------------------------------------------------------- */

/* A string field decoded into buf (cap = UTF8_BYTES(max)). required: absent
 * is "missing", null is string_type; otherwise absent or null leave
 * out->p NULL. false: an entry was added. */
bool obs_field_str(fapi_errs *e, const json_doc *d, const char *key, bool required,
                      size_t min, size_t max, char *buf, size_t cap, strv *out)
{
    int t = json_obj_get(d, json_root(d), key);
    size_t n = 0u;
    bool ok = true;
    *out = STRV_NULL;
    if (t < 0) {
        if (required) {
            fapi_err_missing(e, d, key);
            ok = false;
        }
    } else if (json_is_null(d, t) && !required) {
        /* null */
    } else if (json_type(d, t) != JSON_STRING) {
        fapi_err_type(e, d, t, key, -1, "string_type", "Input should be a valid string");
        ok = false;
    } else {
        st_t st = json_get_mem(d, t, buf, cap - 1u, &n);
        if ((st != ST_OK) || (fapi_chars(buf, n) > max)) {
            fapi_err_len(e, d, t, key, true, max);
            ok = false;
        } else if (fapi_chars(buf, n) < min) {
            fapi_err_len(e, d, t, key, false, min);
            ok = false;
        } else {
            buf[n] = '\0';
            *out = (strv){ buf, n };
        }
    }
    return ok;
}

/* An optional string kept as its JSON literal (no length limit). */
bool obs_field_str_raw(fapi_errs *e, const json_doc *d, const char *key, strv *out)
{
    int t = json_obj_get(d, json_root(d), key);
    bool ok = true;
    *out = STRV_NULL;
    if ((t < 0) || json_is_null(d, t)) {
        /* null */
    } else if (json_type(d, t) != JSON_STRING) {
        fapi_err_type(e, d, t, key, -1, "string_type", "Input should be a valid string");
        ok = false;
    } else {
        *out = json_raw(d, t);
    }
    return ok;
}

/* An optional integer in [lo, hi] (pydantic lax: 2.0 is 2; strings and
 * booleans are refused). */
bool obs_field_int(fapi_errs *e, const json_doc *d, const char *key, int64_t lo,
                      int64_t hi, bool *has, int64_t *out)
{
    int t = json_obj_get(d, json_root(d), key);
    bool ok = true;
    *has = false;
    if ((t < 0) || json_is_null(d, t)) {
        /* null */
    } else if (json_type(d, t) != JSON_NUMBER) {
        fapi_err_type(e, d, t, key, -1, "int_type", "Input should be a valid integer");
        ok = false;
    } else {
        int64_t v = 0;
        bool clamped = false;
        st_t st = json_get_i64(d, t, &v);
        if (st == ST_BAD) {
            /* written with '.', 'e' or 'E': integral values are accepted */
            double f = 0.0;
            st = json_get_f64(d, t, &f);
            if ((st == ST_OK) && ((f <= -9.2e18) || (f >= 9.2e18))) {
                st = ST_RANGE;
            }
            if ((st == ST_OK) && ((double)(int64_t)f != f)) {
                fapi_err_type(e, d, t, key, -1, "int_from_float",
                              "Input should be a valid integer, got a number with a "
                              "fractional part");
                ok = false;
            } else if (st == ST_OK) {
                v = (int64_t)f;
            } else {
                /* out of range: below */
            }
        }
        if (ok && (st == ST_RANGE)) {
            double f = 0.0;
            (void)json_get_f64(d, t, &f);   /* only its sign matters here */
            v = (f < 0.0) ? I64_MIN : INT64_MAX;
            clamped = true;
        }
        if (ok && clamped && (v >= lo) && (v <= hi)) {
            fapi_err_type(e, d, t, key, -1, "int_type", "Input should be a valid integer");
            ok = false;
        }
        if (ok) {
            fapi_err x;
            char msg[96];
            (void)memset(&x, 0, sizeof x);
            x.loc0 = "body";
            x.field = key;
            x.index = -1;
            x.input_json = json_raw(d, t);
            x.msg = msg;
            if (v < lo) {
                (void)snprintf(msg, sizeof msg,
                               "Input should be greater than or equal to %lld", (long long)lo);
                x.type = "greater_than_equal";
                x.ctx_key = "ge";
                x.ctx_val = lo;
                fapi_err_add(e, &x);
                ok = false;
            } else if (v > hi) {
                (void)snprintf(msg, sizeof msg,
                               "Input should be less than or equal to %lld", (long long)hi);
                x.type = "less_than_equal";
                x.ctx_key = "le";
                x.ctx_val = hi;
                fapi_err_add(e, &x);
                ok = false;
            } else {
                *has = true;
                *out = v;
            }
        }
    }
    return ok;
}

/* tool_input: object | null. */
bool obs_field_obj(fapi_errs *e, const json_doc *d, const char *key, strv *out)
{
    int t = json_obj_get(d, json_root(d), key);
    bool ok = true;
    *out = STRV_NULL;
    if ((t < 0) || json_is_null(d, t)) {
        /* null */
    } else if (json_type(d, t) != JSON_OBJECT) {
        fapi_err_type(e, d, t, key, -1, "dict_type", "Input should be a valid dictionary");
        ok = false;
    } else {
        *out = json_raw(d, t);
    }
    return ok;
}

/* content: array of objects | null; one entry per item that is not one. */
bool obs_field_content(fapi_errs *e, const json_doc *d, strv *out)
{
    int t = json_obj_get(d, json_root(d), "content");
    bool ok = true;
    *out = STRV_NULL;
    if ((t < 0) || json_is_null(d, t)) {
        /* null */
    } else if (json_type(d, t) != JSON_ARRAY) {
        fapi_err_type(e, d, t, "content", -1, "list_type", "Input should be a valid list");
        ok = false;
    } else {
        json_iter it = JSON_ITER_INIT;
        int v = -1;
        int i = 0;
        while (json_arr_next(d, t, &it, &v)) {
            if (json_type(d, v) != JSON_OBJECT) {
                fapi_err_type(e, d, v, "content", i, "dict_type",
                              "Input should be a valid dictionary");
                ok = false;
            }
            i++;
        }
        if (ok) {
            *out = json_raw(d, t);
        }
    }
    return ok;
}

