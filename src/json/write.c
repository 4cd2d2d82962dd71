/*
 * write.c - JSON writer into a bounded buffer.
 *
 * Implementation notes
 *
 * Structure is tracked with a fixed stack (kind + "has a member yet" per
 * level), which is all that is needed to place commas and to catch nesting
 * bugs. A value first calls begin_value() (checks grammar, writes the comma),
 * then writes itself, then end_value() marks the top-level value complete
 * when the stack is empty.
 *
 * put() either writes a whole piece or sets ST_FULL and writes nothing, so
 * the buffer always holds a prefix of the intended output. Strings are
 * written as runs of bytes that need no escaping, flushed before each escape.
 *
 * The UTF-8 check here mirrors the reader's (same well-formedness table) but
 * also reports how many bytes an ill-formed sequence spans, for the U+FFFD
 * substitution.
 */
#include "json/write.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "core/fmt.h"
#include "core/utf8.h"

static void w_fail(json_w *w, st_t st)
{
    if (w->st == ST_OK) {
        w->st = st;
    }
}

static void put(json_w *w, const char *s, size_t n)
{
    if (w->st != ST_OK) {
        return;
    }
    if ((w->cap - w->len) < n) {
        w_fail(w, ST_FULL);
        return;
    }
    if (n > 0u) {
        (void)memcpy(w->buf + w->len, s, n);
        w->len += n;
    }
}

static void put_c(json_w *w, char c)
{
    put(w, &c, 1u);
}

void json_w_init(json_w *w, char *buf, size_t cap)
{
    ASSERT(w != NULL);
    ASSERT((buf != NULL) || (cap == 0u));
    (void)memset(w, 0, sizeof *w);
    w->buf = buf;
    w->cap = (buf != NULL) ? cap : 0u;
    w->st = ST_OK;
}

/* Checks that a value may come here and writes its comma. */
static bool begin_value(json_w *w)
{
    unsigned lvl;

    if (w->st != ST_OK) {
        return false;
    }
    if (w->depth == 0u) {
        if (w->root_done) {
            w_fail(w, ST_INTERNAL);
            return false;
        }
        return true;
    }
    lvl = w->depth - 1u;
    if (w->kind[lvl] == (unsigned char)'{') {
        if (!w->after_key) {
            w_fail(w, ST_INTERNAL);
            return false;
        }
        w->after_key = false;
        return true;
    }
    if (w->has_item[lvl]) {
        put_c(w, ',');
    }
    w->has_item[lvl] = true;
    return w->st == ST_OK;
}

static void end_value(json_w *w)
{
    if ((w->st == ST_OK) && (w->depth == 0u)) {
        w->root_done = true;
    }
}

static void open_container(json_w *w, char c)
{
    if (!begin_value(w)) {
        return;
    }
    if (w->depth >= (unsigned)CFG_JSON_MAX_DEPTH) {
        w_fail(w, ST_INTERNAL);
        return;
    }
    put_c(w, c);
    if (w->st == ST_OK) {
        w->kind[w->depth] = (unsigned char)c;
        w->has_item[w->depth] = false;
        w->depth++;
    }
}

static void close_container(json_w *w, char open, char close)
{
    if (w->st != ST_OK) {
        return;
    }
    if ((w->depth == 0u) || (w->kind[w->depth - 1u] != (unsigned char)open) || w->after_key) {
        w_fail(w, ST_INTERNAL);
        return;
    }
    put_c(w, close);
    if (w->st == ST_OK) {
        w->depth--;
        end_value(w);
    }
}

void json_w_obj_begin(json_w *w)
{
    open_container(w, '{');
}

void json_w_obj_end(json_w *w)
{
    close_container(w, '{', '}');
}

void json_w_arr_begin(json_w *w)
{
    open_container(w, '[');
}

void json_w_arr_end(json_w *w)
{
    close_container(w, '[', ']');
}

/* ---- strings ------------------------------------------------------------ */

/* 1: a byte that goes into a JSON string as it is (printable ASCII other
 * than the quote and the backslash). */
static const unsigned char k_plain[256] = {
    /* 0x00-0x1F: control characters */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x20-0x7F: all but '"' (0x22) and '\\' (0x5C) */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    /* 0x80-0xFF: UTF-8, checked below */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static void put_escaped(json_w *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0u;   /* start of the pending run of plain bytes */
    size_t i = 0u;

    put_c(w, '"');
    while ((i < n) && (w->st == ST_OK)) {
        unsigned char c;
        const char *esc = NULL;
        size_t esc_n = 2u;
        size_t adv = 1u;
        char ubuf[6];

        /* the common case: a run of printable ASCII, one table load a byte */
        while ((i < n) && (k_plain[u[i]] != 0u)) {
            i++;
        }
        if (i >= n) {
            break;
        }
        c = u[i];
        if (c == (unsigned char)'"') {
            esc = "\\\"";
        } else if (c == (unsigned char)'\\') {
            esc = "\\\\";
        } else if (c == (unsigned char)'\b') {
            esc = "\\b";
        } else if (c == (unsigned char)'\f') {
            esc = "\\f";
        } else if (c == (unsigned char)'\n') {
            esc = "\\n";
        } else if (c == (unsigned char)'\r') {
            esc = "\\r";
        } else if (c == (unsigned char)'\t') {
            esc = "\\t";
        } else if (c < 0x20u) {
            ubuf[0] = '\\';
            ubuf[1] = 'u';
            ubuf[2] = '0';
            ubuf[3] = '0';
            ubuf[4] = hex[c >> 4];
            ubuf[5] = hex[c & 0xFu];
            esc = ubuf;
            esc_n = 6u;
        } else if (c >= 0x80u) {
            bool ok;
            adv = utf8_scan(u + i, n - i, &ok);
            if (!ok) {
                esc = "\xEF\xBF\xBD";
                esc_n = 3u;
            } else if ((adv == 3u) && (c == 0xE2u) && (u[i + 1u] == 0x80u) &&
                       ((u[i + 2u] == 0xA8u) || (u[i + 2u] == 0xA9u))) {
                esc = (u[i + 2u] == 0xA8u) ? "\\u2028" : "\\u2029";
                esc_n = 6u;
            } else {
                /* well-formed: part of the run */
            }
        } else {
            /* plain ASCII: part of the run */
        }
        if (esc != NULL) {
            put(w, s + run, i - run);
            put(w, esc, esc_n);
            run = i + adv;
        }
        i += adv;
    }
    put(w, s + run, n - run);
    put_c(w, '"');
}

void json_w_keyn(json_w *w, const char *k, size_t n)
{
    unsigned lvl;

    if (w->st != ST_OK) {
        return;
    }
    if ((w->depth == 0u) || (w->kind[w->depth - 1u] != (unsigned char)'{') || w->after_key ||
        ((k == NULL) && (n > 0u))) {
        w_fail(w, ST_INTERNAL);
        return;
    }
    lvl = w->depth - 1u;
    if (w->has_item[lvl]) {
        put_c(w, ',');
    }
    w->has_item[lvl] = true;
    put_escaped(w, (k != NULL) ? k : "", n);
    put_c(w, ':');
    w->after_key = true;
}

void json_w_key(json_w *w, const char *k)
{
    if (k == NULL) {
        w_fail(w, ST_INTERNAL);
        return;
    }
    json_w_keyn(w, k, strlen(k));
}

/* ---- values ------------------------------------------------------------- */

void json_w_str(json_w *w, const char *s, size_t n)
{
    if ((s == NULL) && (n > 0u)) {
        w_fail(w, ST_INTERNAL);
        return;
    }
    if (begin_value(w)) {
        put_escaped(w, (s != NULL) ? s : "", n);
        end_value(w);
    }
}

void json_w_cstr(json_w *w, const char *s)
{
    if (s == NULL) {
        json_w_null(w);
    } else {
        json_w_str(w, s, strlen(s));
    }
}

void json_w_i64(json_w *w, int64_t v)
{
    if (begin_value(w)) {
        char tmp[FMT_I64_MAX];
        put(w, tmp, fmt_i64(tmp, sizeof tmp, v));
        end_value(w);
    }
}

void json_w_u64(json_w *w, uint64_t v)
{
    if (begin_value(w)) {
        char tmp[FMT_U64_MAX];
        put(w, tmp, fmt_u64(tmp, sizeof tmp, v));
        end_value(w);
    }
}

void json_w_f64(json_w *w, double v)
{
    char tmp[32];
    int prec;
    int n = 0;

    if (!isfinite(v)) {
        json_w_null(w);
        return;
    }
    if (!begin_value(w)) {
        return;
    }
    for (prec = 15; prec <= 17; prec++) {
        n = snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if ((n <= 0) || (NEVER((size_t)n >= sizeof tmp))) {
            w_fail(w, ST_INTERNAL);
            return;
        }
        /* cppcheck-suppress [misra-c2012-22.8, misra-c2012-22.9] ; checked by round trip */
        if (strtod(tmp, NULL) == v) {
            break;
        }
    }
    put(w, tmp, (size_t)n);
    end_value(w);
}

void json_w_bool(json_w *w, bool v)
{
    if (begin_value(w)) {
        if (v) {
            put(w, "true", 4u);
        } else {
            put(w, "false", 5u);
        }
        end_value(w);
    }
}

void json_w_null(json_w *w)
{
    if (begin_value(w)) {
        put(w, "null", 4u);
        end_value(w);
    }
}

void json_w_raw(json_w *w, const char *s, size_t n)
{
    if ((s == NULL) || (n == 0u)) {
        w_fail(w, ST_INTERNAL);
        return;
    }
    if (begin_value(w)) {
        put(w, s, n);
        end_value(w);
    }
}

/* ---- key + value shorthands --------------------------------------------- */

void json_w_kstr(json_w *w, const char *k, const char *s)
{
    json_w_key(w, k);
    json_w_cstr(w, s);
}

void json_w_kstrn(json_w *w, const char *k, const char *s, size_t n)
{
    json_w_key(w, k);
    json_w_str(w, s, n);
}

void json_w_ki64(json_w *w, const char *k, int64_t v)
{
    json_w_key(w, k);
    json_w_i64(w, v);
}

void json_w_ku64(json_w *w, const char *k, uint64_t v)
{
    json_w_key(w, k);
    json_w_u64(w, v);
}

void json_w_kf64(json_w *w, const char *k, double v)
{
    json_w_key(w, k);
    json_w_f64(w, v);
}

void json_w_kbool(json_w *w, const char *k, bool v)
{
    json_w_key(w, k);
    json_w_bool(w, v);
}

void json_w_knull(json_w *w, const char *k)
{
    json_w_key(w, k);
    json_w_null(w);
}

void json_w_kraw(json_w *w, const char *k, const char *s, size_t n)
{
    json_w_key(w, k);
    json_w_raw(w, s, n);
}

/* ---- result ------------------------------------------------------------- */

size_t json_w_len(const json_w *w)
{
    return w->len;
}

st_t json_w_status(const json_w *w)
{
    return w->st;
}

st_t json_w_finish(const json_w *w, size_t *len)
{
    st_t st = w->st;

    if ((st == ST_OK) && ((w->depth != 0u) || !w->root_done)) {
        st = ST_INTERNAL;
    }
    if ((st == ST_OK) && (len != NULL)) {
        *len = w->len;
    }
    return st;
}
