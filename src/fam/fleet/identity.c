/*
 * identity.c - the IDENTITY.md frontmatter parser (see identity.h).
 *
 * Implementation notes: the parser works on views of the caller's text and
 * copies nothing; only a number is copied (bounded) to terminate it for
 * strtod, after its syntax has been checked here, so strtod's extras (hex
 * floats, leading blanks, locale) never apply.
 */
#include "fam/fleet/identity.h"

#include <stdlib.h>
#include <string.h>

#include "fam/fleet/templates.h"

#define NUM_MAX_BYTES 512u

/* Length of the Unicode White_Space character that starts at p (0 if none). */
static size_t ws_at(const unsigned char *p, size_t avail)
{
    size_t len = 0u;
    if (avail >= 1u) {
        if ((p[0] == 0x20u) || ((p[0] >= 0x09u) && (p[0] <= 0x0Du))) {
            len = 1u;
        } else if ((avail >= 2u) && (p[0] == 0xC2u) && ((p[1] == 0x85u) || (p[1] == 0xA0u))) {
            len = 2u;           /* U+0085, U+00A0 */
        } else if (avail >= 3u) {
            if ((p[0] == 0xE1u) && (p[1] == 0x9Au) && (p[2] == 0x80u)) {
                len = 3u;       /* U+1680 */
            } else if ((p[0] == 0xE2u) && (p[1] == 0x80u) &&
                       ((p[2] <= 0x8Au) || (p[2] == 0xA8u) || (p[2] == 0xA9u) ||
                        (p[2] == 0xAFu)) && (p[2] >= 0x80u)) {
                len = 3u;       /* U+2000..U+200A, U+2028, U+2029, U+202F */
            } else if ((p[0] == 0xE2u) && (p[1] == 0x81u) && (p[2] == 0x9Fu)) {
                len = 3u;       /* U+205F */
            } else if ((p[0] == 0xE3u) && (p[1] == 0x80u) && (p[2] == 0x80u)) {
                len = 3u;       /* U+3000 */
            } else {
                /* not whitespace */
            }
        } else {
            /* not whitespace */
        }
    }
    return len;
}

static strv trim_start(strv v)
{
    strv r = v;
    size_t k = ws_at((const unsigned char *)r.p, r.n);
    while (k > 0u) {
        r.p += k;
        r.n -= k;
        k = ws_at((const unsigned char *)r.p, r.n);
    }
    return r;
}

/* Length of the whitespace character that ends v (0 if none). */
static size_t ws_before_end(strv v)
{
    size_t len = 0u;
    size_t k;
    for (k = 1u; (k <= 3u) && (k <= v.n) && (len == 0u); k++) {
        if (ws_at((const unsigned char *)v.p + (v.n - k), k) == k) {
            len = k;
        }
    }
    return len;
}

static strv trim(strv v)
{
    strv r = trim_start(v);
    size_t k = ws_before_end(r);
    while (k > 0u) {
        r.n -= k;
        k = ws_before_end(r);
    }
    return r;
}

/* v.p[i], or NUL past the end. */
static char at(strv v, size_t i)
{
    char c = '\0';
    if (i < v.n) {
        c = v.p[i];
    }
    return c;
}

static bool is_digit(char c)
{
    return (c >= '0') && (c <= '9');
}

static bool is_sign(char c)
{
    return (c == '+') || (c == '-');
}

/* Digits of v from i on. */
static size_t digits(strv v, size_t i)
{
    size_t j = i;
    while (is_digit(at(v, j))) {
        j++;
    }
    return j - i;
}

/* True when lit occurs in v at off. */
static bool has_at(strv v, size_t off, const char *lit)
{
    size_t i = 0u;
    bool same = true;
    while (same && (lit[i] != '\0')) {
        char want = lit[i];
        char got = at(v, off + i);
        same = (got == want);
        i++;
    }
    return same;
}

/* Rust's f64 syntax: [+-]? (inf | infinity | nan | D+ [. D*] E? | . D+ E?)
 * with E = [eE][+-]?D+. */
static bool parse_f64(strv v, double *out)
{
    char buf[NUM_MAX_BYTES];
    size_t i = is_sign(at(v, 0u)) ? 1u : 0u;
    strv word = { v.p + i, v.n - i };
    bool ok = (v.n > 0u) && (v.n < sizeof buf);
    if (ok && !strv_ieq_cstr(word, "inf") && !strv_ieq_cstr(word, "infinity") &&
        !strv_ieq_cstr(word, "nan")) {
        size_t ip = digits(v, i);
        size_t fp = 0u;
        char c;
        i += ip;
        c = at(v, i);
        if (c == '.') {
            i++;
            fp = digits(v, i);
            i += fp;
        }
        ok = (ip + fp) > 0u;
        c = at(v, i);
        if (ok && ((c == 'e') || (c == 'E'))) {
            size_t ep;
            i++;
            if (is_sign(at(v, i))) {
                i++;
            }
            ep = digits(v, i);
            i += ep;
            ok = ep > 0u;
        }
        ok = ok && (i == v.n);
    }
    if (ok) {
        (void)memcpy(buf, v.p, v.n);
        buf[v.n] = '\0';
        /* cppcheck-suppress [misra-c2012-22.8, misra-c2012-22.9] ; syntax checked above, overflow reads as inf (written as null, as upstream) */
        *out = strtod(buf, NULL);
    }
    return ok;
}

/* Rust's i32 syntax: [+-]? D+, in range. */
static bool parse_i32(strv v, int64_t *out)
{
    char first = at(v, 0u);
    size_t i = is_sign(first) ? 1u : 0u;
    bool neg = (first == '-');
    int64_t val = 0;
    bool ok = i < v.n;
    for (; ok && (i < v.n); i++) {
        char ch = v.p[i];
        if (!is_digit(ch)) {
            ok = false;
        } else {
            val = (val * 10) + ((int64_t)ch - (int64_t)'0');
            ok = val <= 2147483648LL;
        }
    }
    if (ok) {
        val = neg ? -val : val;
        ok = (val >= -2147483648LL) && (val <= 2147483647LL);
    }
    if (ok) {
        *out = val;
    }
    return ok;
}

/* If line starts with key (which ends in ':'), the rest trimmed. */
static bool key_value(strv line, const char *key, strv *value)
{
    size_t kn = strlen(key);
    bool hit = has_at(line, 0u, key);
    if (hit) {
        *value = trim((strv){ line.p + kn, line.n - kn });
    }
    return hit;
}

static void set_defaults(identity_fm *out)
{
    out->display_name = (strv){ "", 0u };
    out->category = strv_from_cstr(TEMPLATES_DEFAULT_CATEGORY);
    out->model = strv_from_cstr(TEMPLATES_DEFAULT_MODEL);
    out->provider = strv_from_cstr(TEMPLATES_DEFAULT_PROVIDER);
    out->temperature = TEMPLATES_DEFAULT_TEMPERATURE;
    out->max_tokens = TEMPLATES_DEFAULT_MAX_TOKENS;
}

/* Offset of "\n---" in v, or v.n when absent. */
static size_t find_close(strv v)
{
    size_t i;
    size_t pos = v.n;
    for (i = 0u; ((i + 4u) <= v.n) && (pos == v.n); i++) {
        if (has_at(v, i, "\n---")) {
            pos = i;
        }
    }
    return pos;
}

static void parse_line(strv line, identity_fm *out, bool *named)
{
    strv val;
    double t = 0.0;
    int64_t m = 0;
    if (key_value(line, "display_name:", &val)) {
        out->display_name = val;
        *named = true;
    } else if (key_value(line, "category:", &val)) {
        out->category = val;
    } else if (key_value(line, "model:", &val)) {
        out->model = val;
    } else if (key_value(line, "provider:", &val)) {
        out->provider = val;
    } else if (key_value(line, "temperature:", &val)) {
        /* unparsable: absent, i.e. the default, even over an earlier good
         * line (as upstream, where each line sets Some or None) */
        out->temperature = parse_f64(val, &t) ? t : TEMPLATES_DEFAULT_TEMPERATURE;
    } else if (key_value(line, "max_tokens:", &val)) {
        out->max_tokens = parse_i32(val, &m) ? m : TEMPLATES_DEFAULT_MAX_TOKENS;
    } else {
        /* other lines are ignored */
    }
}

bool identity_parse(strv text, identity_fm *out)
{
    strv t = trim_start(text);
    bool named = false;
    set_defaults(out);
    if (has_at(t, 0u, "---")) {
        strv rest = { t.p + 3, t.n - 3u };
        size_t close = find_close(rest);
        if (close < rest.n) {
            strv fm = { rest.p, close };
            size_t start = 0u;
            size_t i;
            for (i = 0u; i <= fm.n; i++) {
                char c = at(fm, i);     /* NUL at the end */
                if ((i == fm.n) || (c == '\n')) {
                    parse_line(trim((strv){ fm.p + start, i - start }), out, &named);
                    start = i + 1u;
                }
            }
        }
    }
    if (!named) {
        set_defaults(out);
    }
    return named;
}

void identity_write_json(json_w *w, strv raw)
{
    identity_fm fm;
    json_w_obj_begin(w);
    json_w_kstrn(w, "raw", raw.p, raw.n);
    if (identity_parse(raw, &fm)) {
        json_w_key(w, "parsed");
        json_w_obj_begin(w);
        json_w_kstrn(w, "display_name", fm.display_name.p, fm.display_name.n);
        json_w_kstrn(w, "category", fm.category.p, fm.category.n);
        json_w_kstrn(w, "model", fm.model.p, fm.model.n);
        json_w_kstrn(w, "provider", fm.provider.p, fm.provider.n);
        json_w_kf64(w, "temperature", fm.temperature);
        json_w_ki64(w, "max_tokens", fm.max_tokens);
        json_w_obj_end(w);
    } else {
        json_w_knull(w, "parsed");
    }
    json_w_obj_end(w);
}
