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
 *
 * Every escaping decision is escape_of(), one character at a time, so the
 * writer, the literal re-writer (json_w_str_lit: its escapes decoded one by
 * one and each character escaped again) and the part escaper
 * (json_escape_part) cannot disagree.
 */
#include "json/write.h"

#include <math.h>
#include <stddef.h>
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

#define JSON_W_MAX_INDENT 8u

void json_w_style(json_w *w, unsigned indent, bool ascii)
{
    if ((indent > JSON_W_MAX_INDENT) || (w->len > 0u)) {
        w_fail(w, ST_INTERNAL);
        return;
    }
    w->indent = (unsigned char)indent;
    w->ascii = ascii;
}

/* Pretty style: a newline and the indentation of `level` open levels. */
static void put_newline(json_w *w, unsigned level)
{
    static const char spaces[] = "        ";
    unsigned i;
    if (w->indent == 0u) {
        return;
    }
    put_c(w, '\n');
    for (i = 0u; i < level; i++) {
        put(w, spaces, (size_t)w->indent);
    }
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
    put_newline(w, w->depth);
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
    if (w->has_item[w->depth - 1u]) {
        put_newline(w, w->depth - 1u);
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

/* The code point of the well-formed sequence u[0..len) (len 2..4). */
static unsigned long utf8_value(const unsigned char *u, size_t len)
{
    unsigned long cp;
    size_t i;
    if (len == 2u) {
        cp = (unsigned long)u[0] & 0x1FuL;
    } else if (len == 3u) {
        cp = (unsigned long)u[0] & 0x0FuL;
    } else {
        cp = (unsigned long)u[0] & 0x07uL;
    }
    for (i = 1u; i < len; i++) {
        cp = (cp << 6) | ((unsigned long)u[i] & 0x3FuL);
    }
    return cp;
}

static size_t put_u4(char *e, unsigned long v)
{
    static const char hex[] = "0123456789abcdef";
    e[0] = '\\';
    e[1] = 'u';
    e[2] = hex[(v >> 12) & 0xFuL];
    e[3] = hex[(v >> 8) & 0xFuL];
    e[4] = hex[(v >> 4) & 0xFuL];
    e[5] = hex[v & 0xFuL];
    return 6u;
}

/* A byte that is always written as it is, in both styles. */
static bool is_plain(unsigned char c, bool ascii)
{
    return (k_plain[c] != 0u) && (!ascii || (c != 0x7Fu));
}

/* The escape of the character at u[0] (avail >= 1 bytes from there) into
 * e (at most 12 bytes): its length, or 0 when the *adv bytes of the
 * character go out as they are. */
static size_t escape_of(bool ascii, const unsigned char *u, size_t avail, char e[12],
                        size_t *adv)
{
    unsigned char c = u[0];
    size_t k = 2u;
    *adv = 1u;
    e[0] = '\\';
    if (c == (unsigned char)'"') {
        e[1] = '"';
    } else if (c == (unsigned char)'\\') {
        e[1] = '\\';
    } else if (c == (unsigned char)'\b') {
        e[1] = 'b';
    } else if (c == (unsigned char)'\f') {
        e[1] = 'f';
    } else if (c == (unsigned char)'\n') {
        e[1] = 'n';
    } else if (c == (unsigned char)'\r') {
        e[1] = 'r';
    } else if (c == (unsigned char)'\t') {
        e[1] = 't';
    } else if ((c < 0x20u) || ((c == 0x7Fu) && ascii)) {
        k = put_u4(e, (unsigned long)c);
    } else if (c >= 0x80u) {
        bool ok;
        *adv = utf8_scan(u, avail, &ok);
        if (!ok) {
            if (ascii) {
                k = put_u4(e, 0xFFFDuL);
            } else {
                (void)memcpy(e, "\xEF\xBF\xBD", 3u);
                k = 3u;
            }
        } else {
            unsigned long cp = utf8_value(u, *adv);
            if (ascii && (cp >= 0x10000uL)) {
                unsigned long v = cp - 0x10000uL;
                k = put_u4(e, 0xD800uL + (v >> 10));
                k += put_u4(e + 6, 0xDC00uL + (v & 0x3FFuL));
            } else if (ascii || (cp == 0x2028uL) || (cp == 0x2029uL)) {
                k = put_u4(e, cp);
            } else {
                k = 0u;     /* well-formed: as it is */
            }
        }
    } else {
        k = 0u;             /* plain ASCII */
    }
    return k;
}

/* The inside of a string: runs of bytes that need no escaping, flushed
 * before each escape. */
static void put_escaped_body(json_w *w, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0u;   /* start of the pending run of bytes written as they are */
    size_t i = 0u;

    while ((i < n) && (w->st == ST_OK)) {
        char e[12];
        size_t adv = 1u;
        size_t k;
        /* the common case: a run of printable ASCII, one table load a byte */
        while ((i < n) && is_plain(u[i], w->ascii)) {
            i++;
        }
        if (i >= n) {
            break;
        }
        k = escape_of(w->ascii, u + i, n - i, e, &adv);
        if (k > 0u) {
            put(w, s + run, i - run);
            put(w, e, k);
            run = i + adv;
        }
        i += adv;
    }
    put(w, s + run, n - run);
}

static void put_escaped(json_w *w, const char *s, size_t n)
{
    put_c(w, '"');
    put_escaped_body(w, s, n);
    put_c(w, '"');
}

static int hex_val(char c)
{
    int v = -1;
    if ((c >= '0') && (c <= '9')) {
        v = (int)c - (int)'0';
    } else if ((c >= 'a') && (c <= 'f')) {
        v = (int)c - (int)'a' + 10;
    } else if ((c >= 'A') && (c <= 'F')) {
        v = (int)c - (int)'A' + 10;
    } else {
        /* not a hex digit */
    }
    return v;
}

/* The 4 hex digits after "\u" at s (avail bytes from the backslash), or
 * -1. */
static long u_escape(const char *s, size_t avail)
{
    long v = 0;
    size_t i;
    if ((avail < 6u) || (s[0] != '\\') || (s[1] != 'u')) {
        return -1;
    }
    for (i = 2u; i < 6u; i++) {
        int d = hex_val(s[i]);
        if (d < 0) {
            return -1;
        }
        v = (v * 16) + (long)d;
    }
    return v;
}

/* The escape at s[0] == '\\' (avail bytes from there): its code point in
 * *cp (U+FFFD when it does not decode) and the bytes it spans. */
static size_t decode_escape(const char *s, size_t avail, unsigned long *cp)
{
    static const char k_from[] = "\"\\/bfnrt";
    static const char k_to[] = "\"\\/\b\f\n\r\t";
    size_t k = 2u;
    *cp = 0xFFFDuL;
    if (avail < 2u) {
        k = 1u;
    } else if (s[1] == 'u') {
        long hi = u_escape(s, avail);
        if (hi < 0) {
            k = 2u;
        } else if ((hi >= 0xD800L) && (hi <= 0xDBFFL)) {
            long lo = u_escape(s + 6, avail - 6u);
            if ((lo >= 0xDC00L) && (lo <= 0xDFFFL)) {
                *cp = 0x10000uL + (((unsigned long)hi - 0xD800uL) << 10) +
                      ((unsigned long)lo - 0xDC00uL);
                k = 12u;
            } else {
                k = 6u;     /* a lone high surrogate */
            }
        } else if ((hi >= 0xDC00L) && (hi <= 0xDFFFL)) {
            k = 6u;         /* a lone low surrogate */
        } else {
            *cp = (unsigned long)hi;
            k = 6u;
        }
    } else {
        const char *at = memchr(k_from, (int)(unsigned char)s[1], (sizeof k_from) - 1u);
        if (at != NULL) {
            *cp = (unsigned long)(unsigned char)k_to[at - k_from];
        }
    }
    return k;
}

/* A literal's inside decoded, each character escaped again. */
static void put_lit(json_w *w, const char *lit, size_t n)
{
    size_t i = 1u;
    size_t end;
    if ((n < 2u) || (lit[0] != '"') || (lit[n - 1u] != '"')) {
        put_escaped(w, lit, n);   /* not a literal: its bytes as a string */
        return;
    }
    end = n - 1u;
    put_c(w, '"');
    while ((i < end) && (w->st == ST_OK)) {
        const char *from = lit + i;
        const char *bs = memchr(from, (int)'\\', end - i);
        size_t run = end - i;
        if (bs != NULL) {
            ptrdiff_t span = bs - from;
            run = (size_t)span;
        }
        put_escaped_body(w, lit + i, run);
        i += run;
        if (i < end) {
            unsigned long cp = 0uL;
            unsigned char tmp[4];
            size_t k = decode_escape(lit + i, end - i, &cp);
            size_t m = utf8_encode(cp, tmp);
            put_escaped_body(w, (const char *)tmp, m);
            i += k;
        }
    }
    put_c(w, '"');
}

size_t json_escape_part(const char *s, size_t n, bool final, char *out, size_t cap,
                        size_t *used)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0u;
    size_t o = 0u;
    bool room = true;
    while ((i < n) && room) {
        char e[12];
        size_t adv = 1u;
        size_t k;
        if (is_plain(u[i], false)) {
            room = (o < cap);
            if (room) {
                out[o] = s[i];
                o++;
                i++;
            }
        } else if ((u[i] >= 0x80u) && !final && ((n - i) < 4u)) {
            room = false;   /* may be cut: the next call has the rest */
        } else {
            k = escape_of(false, u + i, n - i, e, &adv);
            if (k == 0u) {
                room = (adv <= (cap - o));
                if (room) {
                    (void)memcpy(out + o, s + i, adv);
                }
            } else {
                room = (k <= (cap - o));
                if (room) {
                    (void)memcpy(out + o, e, k);
                }
            }
            if (room) {
                o += (k == 0u) ? adv : k;
                i += adv;
            }
        }
    }
    *used = i;
    return o;
}

/* Checks that a key may come here and writes its comma and newline. */
static bool begin_key(json_w *w, bool bad_arg)
{
    unsigned lvl;

    if (w->st != ST_OK) {
        return false;
    }
    if ((w->depth == 0u) || (w->kind[w->depth - 1u] != (unsigned char)'{') || w->after_key ||
        bad_arg) {
        w_fail(w, ST_INTERNAL);
        return false;
    }
    lvl = w->depth - 1u;
    if (w->has_item[lvl]) {
        put_c(w, ',');
    }
    w->has_item[lvl] = true;
    put_newline(w, w->depth);
    return true;
}

static void end_key(json_w *w)
{
    put_c(w, ':');
    if (w->indent > 0u) {
        put_c(w, ' ');
    }
    w->after_key = true;
}

void json_w_keyn(json_w *w, const char *k, size_t n)
{
    if (begin_key(w, (k == NULL) && (n > 0u))) {
        put_escaped(w, (k != NULL) ? k : "", n);
        end_key(w);
    }
}

void json_w_key_lit(json_w *w, const char *lit, size_t n)
{
    if (begin_key(w, lit == NULL)) {
        put_lit(w, lit, n);
        end_key(w);
    }
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

void json_w_str_lit(json_w *w, const char *lit, size_t n)
{
    if (lit == NULL) {
        w_fail(w, ST_INTERNAL);
        return;
    }
    if (begin_value(w)) {
        put_lit(w, lit, n);
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
