/*
 * read.c - strict JSON reader over jsmn tokens.
 *
 * Implementation notes
 *
 * Two passes over the text, both linear and neither recursive:
 *
 * 1. validate(): an iterative state machine with an explicit container stack
 *    (CFG_JSON_MAX_DEPTH bytes) that accepts exactly RFC 8259, checks UTF-8
 *    and escapes inside strings, counts the tokens jsmn will need, and stops
 *    at the first error with Python's json message and the byte offset.
 *    Numbers are scanned by maximal munch of the RFC grammar (like Python's
 *    NUMBER_RE), so "01" reads as 0 followed by an unexpected "1" and the
 *    error is the one Python reports ("Extra data" / "Expecting ','
 *    delimiter") at the same offset.
 *
 * 2. jsmn (strict mode, parent links) builds the tokens. jsmn alone is far
 *    too lenient (it takes "[1 2]", "[1,]", "{\"a\"}", "01", "tru", "1.",
 *    raw control characters in strings, "[1] [2]"), which is why pass 1
 *    exists. On text pass 1 accepted, jsmn cannot fail: the token count is
 *    known in advance and valid text holds no NUL byte (where jsmn would
 *    stop; U+0000 can only appear escaped). One jsmn quirk remains: in strict mode a
 *    primitive at the very end of the input is "partial", so a scalar
 *    number/true/false/null root is tokenized here instead.
 *
 * Token layout (jsmn): pre-order. An object's size is its member count; each
 * key is a string token of size 1 whose child is the value; an array's size
 * is its element count. Token start/end are byte offsets; a string's span
 * excludes the quotes. Because tokens are in text order, the subtree of
 * token t is exactly the following tokens that start before t ends, which is
 * how tok_skip() steps over a value without recursion.
 */
#include "json/read.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "core/strv.h"
#include "core/utf8.h"

static jsmntok_t g_pool[CFG_JSON_MAX_TOKENS];
static bool g_pool_busy;

/* ---- UTF-8 and escapes -------------------------------------------------- */


/* The 4 hex digits at s[0..4) as a code unit, or -1. */
static long hex4(const unsigned char *s, size_t avail)
{
    long v = 0;
    size_t i;

    if (avail < 4u) {
        return -1;
    }
    for (i = 0u; i < 4u; i++) {
        int h = strv_hex_digit(s[i]);
        if (h < 0) {
            return -1;
        }
        v = (v * 16) + (long)h;
    }
    return v;
}

static bool is_high_surrogate(long u)
{
    return (u >= 0xD800L) && (u <= 0xDBFFL);
}

static bool is_low_surrogate(long u)
{
    return (u >= 0xDC00L) && (u <= 0xDFFFL);
}


/* One step of unescaping the raw contents of a validated string: writes the
 * next 1..4 bytes to out, advances *pp, returns the count (0 at the end).
 * Raw bytes are copied as they are (validation proved them UTF-8). */
static size_t str_step(const unsigned char **pp, const unsigned char *end,
                       unsigned char out[4])
{
    const unsigned char *p = *pp;
    ptrdiff_t span = end - p;
    size_t n = 1u;

    if (p >= end) {
        return 0u;
    }
    if ((*p != (unsigned char)'\\') || (NEVER((size_t)span < 2u))) {
        out[0] = *p;
        *pp = p + 1;
        return 1u;
    }
    switch (p[1]) {
    case 'b': out[0] = (unsigned char)'\b'; break;
    case 'f': out[0] = (unsigned char)'\f'; break;
    case 'n': out[0] = (unsigned char)'\n'; break;
    case 'r': out[0] = (unsigned char)'\r'; break;
    case 't': out[0] = (unsigned char)'\t'; break;
    case 'u': {
        long u = hex4(p + 2, (size_t)span - 2u);
        unsigned long cp;
        if (NEVER(u < 0)) {
            *pp = end;
            return 0u;
        }
        cp = (unsigned long)u;
        if (is_high_surrogate(u) && ((size_t)span >= 12u)) {
            long lo = hex4(p + 8, 4u);
            if (ALWAYS(is_low_surrogate(lo))) {
                cp = 0x10000uL + (((unsigned long)u - 0xD800uL) << 10) +
                     ((unsigned long)lo - 0xDC00uL);
                p += 6;
            }
        }
        *pp = p + 6;
        return utf8_encode(cp, out);
    }
    default: out[0] = p[1]; break;   /* \" \\ \/ */
    }
    *pp = p + 2;
    return n;
}

/* ---- pass 1: validation ------------------------------------------------- */

typedef enum { PS_VALUE, PS_OBJ_FIRST, PS_KEY, PS_ARR_FIRST, PS_AFTER, PS_END } parse_state;

typedef struct {
    const unsigned char *s;
    size_t len;
    size_t pos;
    unsigned ntoks;     /* tokens needed so far */
    unsigned maxtoks;
    st_t st;
    size_t err_off;
    const char *reason;
} scanner;

static bool scan_fail(scanner *sc, st_t st, size_t off, const char *reason)
{
    sc->st = st;
    sc->err_off = off;
    sc->reason = reason;
    return false;
}

static void skip_ws(scanner *sc)
{
    while (sc->pos < sc->len) {
        unsigned char c = sc->s[sc->pos];
        if ((c != (unsigned char)' ') && (c != (unsigned char)'\t') &&
            (c != (unsigned char)'\n') && (c != (unsigned char)'\r')) {
            break;
        }
        sc->pos++;
    }
}

static bool is_digit(unsigned char c)
{
    return (c >= (unsigned char)'0') && (c <= (unsigned char)'9');
}

static bool take_token(scanner *sc)
{
    if (sc->ntoks >= sc->maxtoks) {
        return scan_fail(sc, ST_TOOBIG, sc->pos, "too many tokens");
    }
    sc->ntoks++;
    return true;
}

/* \uXXXX at s[at] (the backslash); surrogates must pair. Advances *at. */
static bool scan_u_escape(scanner *sc, size_t *at)
{
    const unsigned char *s = sc->s;
    size_t p = *at;
    long u = hex4(s + p + 2u, sc->len - p - 2u);

    if (u < 0) {
        return scan_fail(sc, ST_BAD, p + 1u, "Invalid \\uXXXX escape");
    }
    if (is_low_surrogate(u)) {
        return scan_fail(sc, ST_BAD, p, "Unpaired surrogate in \\u escape");
    }
    if (is_high_surrogate(u)) {
        long lo;
        if (((sc->len - p) < 8u) || (s[p + 6u] != (unsigned char)'\\') ||
            (s[p + 7u] != (unsigned char)'u')) {
            return scan_fail(sc, ST_BAD, p, "Unpaired surrogate in \\u escape");
        }
        lo = hex4(s + p + 8u, sc->len - p - 8u);
        if (lo < 0) {
            return scan_fail(sc, ST_BAD, p + 7u, "Invalid \\uXXXX escape");
        }
        if (!is_low_surrogate(lo)) {
            return scan_fail(sc, ST_BAD, p, "Unpaired surrogate in \\u escape");
        }
        p += 6u;
    }
    *at = p + 6u;
    return true;
}

/* A string starting at the quote at sc->pos; leaves pos after the closing
 * quote. */
static bool scan_string(scanner *sc)
{
    const unsigned char *s = sc->s;
    size_t start = sc->pos;
    size_t p = start + 1u;
    bool ok = true;
    bool done = false;

    while (ok && !done) {
        unsigned char c;
        if (p >= sc->len) {
            ok = scan_fail(sc, ST_BAD, start, "Unterminated string starting at");
            break;
        }
        c = s[p];
        if (c == (unsigned char)'"') {
            p++;
            done = true;
        } else if (c == (unsigned char)'\\') {
            if ((p + 1u) >= sc->len) {
                ok = scan_fail(sc, ST_BAD, start, "Unterminated string starting at");
            } else {
                switch (s[p + 1u]) {
                case '"': case '\\': case '/': case 'b':
                case 'f': case 'n': case 'r': case 't':
                    p += 2u;
                    break;
                case 'u':
                    ok = scan_u_escape(sc, &p);
                    break;
                default:
                    ok = scan_fail(sc, ST_BAD, p, "Invalid \\escape");
                    break;
                }
            }
        } else if (c < 0x20u) {
            ok = scan_fail(sc, ST_BAD, p, "Invalid control character at");
        } else if (c < 0x80u) {
            p++;
        } else {
            bool well_formed = false;
            size_t k = utf8_scan(s + p, sc->len - p, &well_formed);
            k = well_formed ? k : 0u;
            if (k == 0u) {
                ok = scan_fail(sc, ST_UTF8, p, "Invalid UTF-8");
            }
            p += k;
        }
    }
    if (ok) {
        sc->pos = p;
    }
    return ok;
}

/* A number at sc->pos ('-' or a digit), maximal munch of the RFC grammar. */
static bool scan_number(scanner *sc)
{
    const unsigned char *s = sc->s;
    size_t n = sc->len;
    size_t p = sc->pos;

    if (s[p] == (unsigned char)'-') {
        p++;
    }
    if ((p >= n) || !is_digit(s[p])) {
        return scan_fail(sc, ST_BAD, sc->pos, "Expecting value");
    }
    if (s[p] == (unsigned char)'0') {
        p++;
    } else {
        while ((p < n) && is_digit(s[p])) {
            p++;
        }
    }
    if (((p + 1u) < n) && (s[p] == (unsigned char)'.') && is_digit(s[p + 1u])) {
        p += 2u;
        while ((p < n) && is_digit(s[p])) {
            p++;
        }
    }
    if ((p < n) && ((s[p] == (unsigned char)'e') || (s[p] == (unsigned char)'E'))) {
        size_t q = p + 1u;
        if ((q < n) && ((s[q] == (unsigned char)'+') || (s[q] == (unsigned char)'-'))) {
            q++;
        }
        if ((q < n) && is_digit(s[q])) {
            p = q;
            while ((p < n) && is_digit(s[p])) {
                p++;
            }
        }
    }
    sc->pos = p;
    return true;
}

static bool scan_literal(scanner *sc, const char *lit)
{
    size_t n = strlen(lit);

    /* cppcheck-suppress misra-c2012-21.14 ; false positive: n bytes, not a terminator */
    if (((sc->len - sc->pos) < n) || (memcmp(sc->s + sc->pos, lit, n) != 0)) {
        return scan_fail(sc, ST_BAD, sc->pos, "Expecting value");
    }
    sc->pos += n;
    return true;
}

/* One value at sc->pos (whitespace already skipped). Containers only push:
 * their contents are driven by validate(). */
static bool scan_value(scanner *sc, unsigned char *stack, size_t *depth, parse_state *state)
{
    unsigned char c;
    bool ok;

    if (sc->pos >= sc->len) {
        return scan_fail(sc, ST_BAD, sc->pos, "Expecting value");
    }
    c = sc->s[sc->pos];
    if ((c == (unsigned char)'{') || (c == (unsigned char)'[')) {
        if (*depth >= (size_t)CFG_JSON_MAX_DEPTH) {
            return scan_fail(sc, ST_TOOBIG, sc->pos, "nesting too deep");
        }
        ok = take_token(sc);
        if (ok) {
            stack[*depth] = c;
            (*depth)++;
            sc->pos++;
            *state = (c == (unsigned char)'{') ? PS_OBJ_FIRST : PS_ARR_FIRST;
        }
        return ok;
    }
    if ((c != (unsigned char)'"') && (c != (unsigned char)'-') && !is_digit(c) &&
        (c != (unsigned char)'t') && (c != (unsigned char)'f') && (c != (unsigned char)'n')) {
        return scan_fail(sc, ST_BAD, sc->pos, "Expecting value");
    }
    ok = take_token(sc);
    if (ok) {
        if (c == (unsigned char)'"') {
            ok = scan_string(sc);
        } else if (c == (unsigned char)'t') {
            ok = scan_literal(sc, "true");
        } else if (c == (unsigned char)'f') {
            ok = scan_literal(sc, "false");
        } else if (c == (unsigned char)'n') {
            ok = scan_literal(sc, "null");
        } else {
            ok = scan_number(sc);
        }
    }
    *state = PS_AFTER;
    return ok;
}

/* An object key and its ':' at sc->pos (whitespace already skipped). */
static bool scan_key(scanner *sc)
{
    bool ok;

    if ((sc->pos >= sc->len) || (sc->s[sc->pos] != (unsigned char)'"')) {
        return scan_fail(sc, ST_BAD, sc->pos, "Expecting property name enclosed in double quotes");
    }
    ok = take_token(sc) && scan_string(sc);
    if (ok) {
        skip_ws(sc);
        if ((sc->pos >= sc->len) || (sc->s[sc->pos] != (unsigned char)':')) {
            ok = scan_fail(sc, ST_BAD, sc->pos, "Expecting ':' delimiter");
        } else {
            sc->pos++;
        }
    }
    return ok;
}

/* The whole text; on success *root_start is the offset of the root value. */
static bool validate(scanner *sc, size_t *root_start)
{
    unsigned char stack[CFG_JSON_MAX_DEPTH];
    size_t depth = 0u;
    parse_state state = PS_VALUE;
    bool ok = true;

    if ((sc->len >= 3u) && (sc->s[0] == 0xEFu) && (sc->s[1] == 0xBBu) && (sc->s[2] == 0xBFu)) {
        return scan_fail(sc, ST_BAD, 0u, "Unexpected UTF-8 BOM");
    }
    skip_ws(sc);
    *root_start = sc->pos;
    while (ok && (state != PS_END)) {
        skip_ws(sc);
        switch (state) {
        case PS_VALUE:
            ok = scan_value(sc, stack, &depth, &state);
            break;
        case PS_OBJ_FIRST:
        case PS_ARR_FIRST: {
            unsigned char close = (state == PS_OBJ_FIRST) ? (unsigned char)'}' : (unsigned char)']';
            if ((sc->pos < sc->len) && (sc->s[sc->pos] == close)) {
                sc->pos++;
                depth--;
                state = PS_AFTER;
            } else if (state == PS_OBJ_FIRST) {
                state = PS_KEY;
            } else {
                state = PS_VALUE;
            }
            break;
        }
        case PS_KEY:
            ok = scan_key(sc);
            state = PS_VALUE;
            break;
        case PS_AFTER:
            if (depth == 0u) {
                state = PS_END;
            } else {
                unsigned char top = stack[depth - 1u];
                unsigned char c = (sc->pos < sc->len) ? sc->s[sc->pos] : (unsigned char)0;
                bool is_obj = (top == (unsigned char)'{');
                unsigned char close = is_obj ? (unsigned char)'}' : (unsigned char)']';
                if ((sc->pos < sc->len) && (c == (unsigned char)',')) {
                    sc->pos++;
                    state = is_obj ? PS_KEY : PS_VALUE;
                } else if ((sc->pos < sc->len) && (c == close)) {
                    sc->pos++;
                    depth--;
                } else {
                    ok = scan_fail(sc, ST_BAD, sc->pos, "Expecting ',' delimiter");
                }
            }
            break;
        default:
            (void)NEVER(true);
            ok = scan_fail(sc, ST_INTERNAL, sc->pos, "internal error");
            break;
        }
    }
    if (ok && (sc->pos != sc->len)) {
        ok = scan_fail(sc, ST_BAD, sc->pos, "Extra data");
    }
    return ok;
}

/* ---- parsing ------------------------------------------------------------ */

static void set_err(json_err *err, size_t off, const char *reason)
{
    if (err != NULL) {
        err->offset = off;
        err->reason = reason;
    }
}

static st_t parse(json_doc *d, const char *text, size_t len, jsmntok_t *toks,
                  unsigned ntoks, json_err *err)
{
    scanner sc;
    size_t root_start = 0u;
    unsigned char first;

    d->text = text;
    d->len = len;
    d->toks = NULL;
    d->ntoks = 0;
    d->pooled = false;
    if (len > (size_t)INT_MAX - 1u) {
        set_err(err, 0u, "document too large");
        return ST_TOOBIG;
    }
    if ((text == NULL) && (len > 0u)) {
        set_err(err, 0u, "Expecting value");
        return ST_INVAL;
    }
    (void)memset(&sc, 0, sizeof sc);
    sc.s = (const unsigned char *)text;
    sc.len = len;
    sc.maxtoks = ntoks;
    if (!validate(&sc, &root_start)) {
        set_err(err, sc.err_off, sc.reason);
        return sc.st;
    }
    first = sc.s[root_start];
    if ((first == (unsigned char)'{') || (first == (unsigned char)'[') ||
        (first == (unsigned char)'"')) {
        jsmn_parser p;
        int r;
        jsmn_init(&p);
        r = jsmn_parse(&p, text, len, toks, ntoks);
        if (NEVER(r != (int)sc.ntoks)) {
            set_err(err, 0u, "internal error");
            return ST_INTERNAL;
        }
    } else {
        /* A scalar root: strict jsmn calls a primitive at the end partial. */
        size_t end = root_start;
        while ((end < len) && (sc.s[end] != (unsigned char)' ') && (sc.s[end] != (unsigned char)'\t') &&
               (sc.s[end] != (unsigned char)'\n') && (sc.s[end] != (unsigned char)'\r')) {
            end++;
        }
        toks[0].type = JSMN_PRIMITIVE;
        toks[0].start = (int)root_start;
        toks[0].end = (int)end;
        toks[0].size = 0;
        toks[0].parent = -1;
    }
    d->toks = toks;
    d->ntoks = (int)sc.ntoks;
    return ST_OK;
}

st_t json_parse(json_doc *d, const char *text, size_t len, json_err *err)
{
    st_t st;

    ASSERT(d != NULL);
    ASSERT(!g_pool_busy);
    st = parse(d, text, len, g_pool, (unsigned)CFG_JSON_MAX_TOKENS, err);
    if (st == ST_OK) {
        d->pooled = true;
        g_pool_busy = true;
    }
    return st;
}

st_t json_parse_into(json_doc *d, const char *text, size_t len,
                     jsmntok_t *toks, unsigned ntoks, json_err *err)
{
    ASSERT(d != NULL);
    ASSERT((toks != NULL) && (ntoks >= 1u));
    ASSERT(toks != g_pool);
    return parse(d, text, len, toks, ntoks, err);
}

void json_release(json_doc *d)
{
    if ((d != NULL) && (d->toks != NULL)) {
        if (d->pooled) {
            g_pool_busy = false;
        }
        d->toks = NULL;
        d->ntoks = 0;
        d->pooled = false;
    }
}

bool json_pool_busy(void)
{
    return g_pool_busy;
}

/* ---- navigation --------------------------------------------------------- */

/* The token, or NULL for -1 / a document that is not live. */
static const jsmntok_t *tok_at(const json_doc *d, int tok)
{
    if ((d == NULL) || (d->toks == NULL) || (tok < 0)) {
        return NULL;
    }
    ASSERT(!d->pooled || g_pool_busy);
    if (NEVER(tok >= d->ntoks)) {
        return NULL;
    }
    return &d->toks[tok];
}

/* Index of the first token after the subtree of t. */
static int tok_skip(const json_doc *d, int t)
{
    int end = d->toks[t].end;
    int j = t + 1;

    while ((j < d->ntoks) && (d->toks[j].start < end)) {
        j++;
    }
    return j;
}

int json_root(const json_doc *d)
{
    return ((d != NULL) && (d->toks != NULL) && (d->ntoks > 0)) ? 0 : -1;
}

int json_count(const json_doc *d)
{
    return ((d != NULL) && (d->toks != NULL)) ? d->ntoks : 0;
}

json_type_t json_type(const json_doc *d, int tok)
{
    const jsmntok_t *t = tok_at(d, tok);
    json_type_t ty = JSON_NONE;

    if (t == NULL) {
        return JSON_NONE;
    }
    switch (t->type) {
    case JSMN_OBJECT: ty = JSON_OBJECT; break;
    case JSMN_ARRAY: ty = JSON_ARRAY; break;
    case JSMN_STRING: ty = JSON_STRING; break;
    case JSMN_PRIMITIVE:
        switch (d->text[t->start]) {
        case 't': ty = JSON_TRUE; break;
        case 'f': ty = JSON_FALSE; break;
        case 'n': ty = JSON_NULL; break;
        default: ty = JSON_NUMBER; break;
        }
        break;
    default:
        ty = JSON_NONE;
        break;
    }
    return ty;
}

const char *json_type_name(json_type_t t)
{
    switch (t) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_NUMBER: return "number";
    case JSON_TRUE: return "boolean";
    case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    default: return "none";
    }
}

strv json_raw(const json_doc *d, int tok)
{
    const jsmntok_t *t = tok_at(d, tok);
    strv v = STRV_NULL;

    if (t != NULL) {
        int len = t->end - t->start;
        if (t->type == JSMN_STRING) {
            v.p = d->text + t->start - 1;
            v.n = (size_t)len + 2u;
        } else {
            v.p = d->text + t->start;
            v.n = (size_t)len;
        }
    }
    return v;
}

void json_iter_init(json_iter *it)
{
    it->next = 0;
    it->left = 0;
}

static bool iter_next(const json_doc *d, int cont, jsmntype_t want, json_iter *it,
                      int *key_tok, int *val_tok)
{
    const jsmntok_t *c = tok_at(d, cont);
    int k;
    int v;

    if ((c == NULL) || (c->type != want)) {
        return false;
    }
    if (it->next == 0) {
        it->next = cont + 1;
        it->left = c->size;
    }
    if (it->left <= 0) {
        return false;
    }
    k = it->next;
    v = k;
    if (want == JSMN_OBJECT) {
        v = k + 1;
    }
    if (NEVER(v >= d->ntoks)) {
        it->left = 0;
        return false;
    }
    it->next = tok_skip(d, v);
    it->left--;
    if (key_tok != NULL) {
        *key_tok = k;
    }
    if (val_tok != NULL) {
        *val_tok = v;
    }
    return true;
}

bool json_obj_next(const json_doc *d, int obj, json_iter *it, int *key_tok, int *val_tok)
{
    return iter_next(d, obj, JSMN_OBJECT, it, key_tok, val_tok);
}

bool json_arr_next(const json_doc *d, int arr, json_iter *it, int *val_tok)
{
    return iter_next(d, arr, JSMN_ARRAY, it, NULL, val_tok);
}

/* Unescaped string token tok equals s[0..n). */
static bool str_eqn(const json_doc *d, int tok, const char *s, size_t n)
{
    const jsmntok_t *t = tok_at(d, tok);
    const unsigned char *p;
    const unsigned char *end;
    ptrdiff_t span;
    size_t i = 0u;
    bool eq = true;

    if ((t == NULL) || (t->type != JSMN_STRING)) {
        return false;
    }
    p = (const unsigned char *)d->text + t->start;
    end = (const unsigned char *)d->text + t->end;
    span = end - p;
    if (memchr(p, '\\', (size_t)span) == NULL) {
        return ((size_t)span == n) && ((n == 0u) || (memcmp(p, s, n) == 0));
    }
    while (eq) {
        unsigned char b[4];
        size_t k = str_step(&p, end, b);
        if (k == 0u) {
            break;
        }
        if (((n - i) < k) || (memcmp(b, s + i, k) != 0)) {
            eq = false;
        }
        i += k;
    }
    return eq && (i == n);
}

int json_obj_getn(const json_doc *d, int obj, const char *key, size_t keylen)
{
    json_iter it = JSON_ITER_INIT;
    int k;
    int v;
    int found = -1;

    if ((key == NULL) && (keylen > 0u)) {
        return -1;
    }
    while (json_obj_next(d, obj, &it, &k, &v)) {
        if (str_eqn(d, k, key, keylen)) {
            found = v;
        }
    }
    return found;
}

int json_obj_get(const json_doc *d, int obj, const char *key)
{
    return (key == NULL) ? -1 : json_obj_getn(d, obj, key, strlen(key));
}

int json_obj_len(const json_doc *d, int obj)
{
    const jsmntok_t *t = tok_at(d, obj);

    return ((t != NULL) && (t->type == JSMN_OBJECT)) ? t->size : -1;
}

int json_arr_len(const json_doc *d, int arr)
{
    const jsmntok_t *t = tok_at(d, arr);

    return ((t != NULL) && (t->type == JSMN_ARRAY)) ? t->size : -1;
}

int json_arr_at(const json_doc *d, int arr, int i)
{
    json_iter it = JSON_ITER_INIT;
    int v = -1;
    int k = 0;

    if ((i < 0) || (i >= json_arr_len(d, arr))) {
        return -1;
    }
    while (json_arr_next(d, arr, &it, &v) && (k < i)) {
        k++;
    }
    return v;
}

/* ---- typed getters ------------------------------------------------------ */

static st_t get_string(const json_doc *d, int tok, char *buf, size_t cap, size_t *n,
                       bool cstr)
{
    const jsmntok_t *t = tok_at(d, tok);
    const unsigned char *p;
    const unsigned char *end;
    size_t len = 0u;
    bool has_nul = false;
    st_t st = ST_OK;

    if (t == NULL) {
        return ST_NOTFOUND;
    }
    if (t->type != JSMN_STRING) {
        return ST_BAD;
    }
    p = (const unsigned char *)d->text + t->start;
    end = (const unsigned char *)d->text + t->end;
    for (;;) {
        unsigned char b[4];
        size_t k = str_step(&p, end, b);
        size_t i;
        if (k == 0u) {
            break;
        }
        for (i = 0u; i < k; i++) {
            if (b[i] == 0u) {
                has_nul = true;
            }
            if ((buf != NULL) && ((len + i) < cap)) {
                buf[len + i] = (char)b[i];
            }
        }
        len += k;
    }
    if (n != NULL) {
        *n = len;
    }
    if (cstr && has_nul) {
        st = ST_INVAL;
    } else if ((buf == NULL) || ((len + (cstr ? 1u : 0u)) > cap)) {
        st = ((len == 0u) && !cstr) ? ST_OK : ST_FULL;
    } else if (cstr) {
        buf[len] = '\0';
    } else {
        /* ST_OK */
    }
    return st;
}

st_t json_get_str(const json_doc *d, int tok, char *buf, size_t cap, size_t *n)
{
    return get_string(d, tok, buf, cap, n, true);
}

st_t json_get_mem(const json_doc *d, int tok, char *buf, size_t cap, size_t *n)
{
    return get_string(d, tok, buf, cap, n, false);
}

bool json_str_eq(const json_doc *d, int tok, const char *s)
{
    return (s != NULL) && str_eqn(d, tok, s, strlen(s));
}

/* The number token's text, or NULL when tok is not a number (*st says why). */
static const char *number_text(const json_doc *d, int tok, size_t *len, st_t *st)
{
    const jsmntok_t *t = tok_at(d, tok);
    int span;

    if (t == NULL) {
        *st = ST_NOTFOUND;
        return NULL;
    }
    if (json_type(d, tok) != JSON_NUMBER) {
        *st = ST_BAD;
        return NULL;
    }
    span = t->end - t->start;
    *len = (size_t)span;
    *st = ST_OK;
    return d->text + t->start;
}

/* Magnitude of an integer literal (optional '-'); ST_BAD for '.', 'e'. */
static st_t integer_parts(const char *s, size_t len, bool *neg, uint64_t *mag)
{
    size_t i = 0u;
    uint64_t m = 0u;

    *neg = (len > 0u) && (s[0] == '-');
    if (*neg) {
        i = 1u;
    }
    if ((memchr(s, '.', len) != NULL) || (memchr(s, 'e', len) != NULL) ||
        (memchr(s, 'E', len) != NULL)) {
        return ST_BAD;
    }
    for (; i < len; i++) {
        uint64_t dig = (uint64_t)(unsigned char)s[i] - (uint64_t)(unsigned char)'0';
        if (m > (UINT64_MAX - dig) / 10u) {
            return ST_RANGE;
        }
        m = (m * 10u) + dig;
    }
    *mag = m;
    return ST_OK;
}

st_t json_get_i64(const json_doc *d, int tok, int64_t *out)
{
    size_t len = 0u;
    st_t st;
    const char *s = number_text(d, tok, &len, &st);
    bool neg = false;
    uint64_t mag = 0u;

    if (s == NULL) {
        return st;
    }
    st = integer_parts(s, len, &neg, &mag);
    if (st != ST_OK) {
        return st;
    }
    if (neg) {
        if (mag > (uint64_t)INT64_MAX + 1u) {
            return ST_RANGE;
        }
        if (mag == ((uint64_t)INT64_MAX + 1u)) {
            /* cppcheck-suppress misra-c2012-7.2 ; false positive: the tool's own INT64_MIN */
            *out = INT64_MIN;
        } else {
            *out = -(int64_t)mag;
        }
    } else {
        if (mag > (uint64_t)INT64_MAX) {
            return ST_RANGE;
        }
        *out = (int64_t)mag;
    }
    return ST_OK;
}

st_t json_get_u64(const json_doc *d, int tok, uint64_t *out)
{
    size_t len = 0u;
    st_t st;
    const char *s = number_text(d, tok, &len, &st);
    bool neg = false;
    uint64_t mag = 0u;

    if (s == NULL) {
        return st;
    }
    st = integer_parts(s, len, &neg, &mag);
    if (st != ST_OK) {
        return st;
    }
    if (neg && (mag != 0u)) {
        return ST_RANGE;
    }
    *out = mag;
    return ST_OK;
}

st_t json_get_f64(const json_doc *d, int tok, double *out)
{
    char tmp[128];
    size_t len = 0u;
    st_t st;
    const char *s = number_text(d, tok, &len, &st);
    char *endp = NULL;
    double v;

    if (s == NULL) {
        return st;
    }
    if (len >= sizeof tmp) {
        return ST_RANGE;
    }
    (void)memcpy(tmp, s, len);
    tmp[len] = '\0';
    /* cppcheck-suppress [misra-c2012-22.8, misra-c2012-22.9] ; checked by endp/isinf */
    v = strtod(tmp, &endp);
    if (NEVER(endp != (tmp + len))) {
        return ST_BAD;
    }
    if (isinf(v) != 0) {
        return ST_RANGE;
    }
    *out = v;
    return ST_OK;
}

st_t json_get_bool(const json_doc *d, int tok, bool *out)
{
    json_type_t ty = json_type(d, tok);

    if (ty == JSON_NONE) {
        return ST_NOTFOUND;
    }
    if ((ty != JSON_TRUE) && (ty != JSON_FALSE)) {
        return ST_BAD;
    }
    *out = (ty == JSON_TRUE);
    return ST_OK;
}

bool json_is_null(const json_doc *d, int tok)
{
    return json_type(d, tok) == JSON_NULL;
}

/* ---- field getters ------------------------------------------------------ */

/* The member's value token, or -1; *st is ST_INVAL when obj is no object. */
static int field(const json_doc *d, int obj, const char *key, st_t *st)
{
    if (json_type(d, obj) != JSON_OBJECT) {
        *st = ST_INVAL;
        return -1;
    }
    *st = ST_OK;
    return json_obj_get(d, obj, key);
}

st_t json_field_str(const json_doc *d, int obj, const char *key,
                    char *buf, size_t cap, size_t *n)
{
    st_t st;
    int v = field(d, obj, key, &st);

    return (st != ST_OK) ? st : json_get_str(d, v, buf, cap, n);
}

st_t json_field_i64(const json_doc *d, int obj, const char *key, int64_t *out)
{
    st_t st;
    int v = field(d, obj, key, &st);

    return (st != ST_OK) ? st : json_get_i64(d, v, out);
}

st_t json_field_u64(const json_doc *d, int obj, const char *key, uint64_t *out)
{
    st_t st;
    int v = field(d, obj, key, &st);

    return (st != ST_OK) ? st : json_get_u64(d, v, out);
}

st_t json_field_f64(const json_doc *d, int obj, const char *key, double *out)
{
    st_t st;
    int v = field(d, obj, key, &st);

    return (st != ST_OK) ? st : json_get_f64(d, v, out);
}

st_t json_field_bool(const json_doc *d, int obj, const char *key, bool *out)
{
    st_t st;
    int v = field(d, obj, key, &st);

    return (st != ST_OK) ? st : json_get_bool(d, v, out);
}
