/*
 * multipart.c - see multipart.h.
 *
 * Implementation notes
 *  - mp_next is a loop over a small state machine (S_* below) with a cursor
 *    into buf: it returns at the first event, or with MP_NEED when the bytes
 *    left cannot decide anything yet. What it leaves unconsumed is always
 *    what the next bytes decide: in the preamble and in part data, the tail
 *    of buf that is a prefix of the delimiter (at most delim_len - 1 = 73
 *    bytes); at byte 0 of the body, a prefix of "--boundary"; in the
 *    headers, an incomplete header line (less than MP_LINE_MAX bytes). The
 *    rest of a delimiter line ("--", padding, CRLF) is read a byte at a time
 *    through states of its own, so it keeps nothing.
 *  - The delimiter ("\r\n--boundary") is searched with memchr for a CR and
 *    one memcmp per CR. Part data before the delimiter, or before the tail
 *    that may start one, is handed out at once as an MP_DATA view of buf;
 *    a delimiter at the front of buf ends the part (MP_PART_END, the
 *    delimiter consumed). One event per call, so a part's data and its end
 *    are two calls.
 *  - "\r\n--boundary" is always a delimiter, in the preamble too (RFC 2046:
 *    the boundary must not occur in the data): what follows it must be "--"
 *    (the close delimiter; the rest is the epilogue) or transport padding
 *    and CRLF, else MP_ERR_SYNTAX. A near miss (the delimiter's first bytes,
 *    then another byte) is data.
 *  - A header line is taken only when whole (its LF within MP_LINE_MAX
 *    bytes, else MP_ERR_TOOBIG) and consumed once parsed: the name, filename
 *    and content type are copied into mp->part, so no header byte is kept
 *    between calls. Line bytes are HTAB, SP, VCHAR and obs-text (raw UTF-8
 *    filenames, as browsers send them), CR only right before the LF.
 *    Content-Disposition and Content-Type may each appear once in a part
 *    (two of either is MP_ERR_SYNTAX: which one counts would be a guess);
 *    the two flags live in the high bits of mp->state. A part without
 *    Content-Disposition has the name "".
 *  - Parameters (of Content-Disposition and of the request's Content-Type)
 *    are `; name = value` with optional whitespace around ';' and '=',
 *    empty parameters skipped (RFC 9110 §5.6.6 allows ";;"), a value a
 *    token or a quoted-string. name, filename and filename* may each appear
 *    once; other parameters are checked for syntax and ignored.
 *  - A filename longer than MP_FILENAME_BYTES - 1 is an error only when no
 *    filename* replaces it (the plain one is the fallback senders put
 *    first). filename* is checked whole before its length is judged, so a
 *    value both malformed and long is MP_ERR_SYNTAX; UTF-8 is checked with
 *    core/utf8's stream checker as it is decoded; ISO-8859-1 bytes above
 *    0x7F become two UTF-8 bytes; a decoded NUL is refused.
 *  - Errors are sticky (S_ERROR). eof in the preamble (no delimiter at all)
 *    is MP_ERR_SYNTAX; anywhere else before the close delimiter,
 *    MP_ERR_TRUNCATED. fuzz/multipart.c checks all of this against a
 *    whole-body reference parser, the input cut at random points.
 */
#include "http/multipart.h"

#include <string.h>

#include "core/assert.h"
#include "core/utf8.h"

/* mp->state: the state in the low bits, per-part flags in the high ones. */
#define S_START 0u    /* at byte 0 of the body: "--boundary" may start here */
#define S_PREAMBLE 1u /* before the first delimiter */
#define S_TAIL 2u     /* right after a delimiter: "--", padding or CRLF */
#define S_DASH 3u     /* after the delimiter and one '-' */
#define S_PAD 4u      /* in the transport padding of a delimiter line */
#define S_CR 5u       /* the CR of a delimiter line was read */
#define S_HEADERS 6u  /* at the start of a part header line */
#define S_DATA 7u     /* in a part's data */
#define S_END 8u      /* after the close delimiter: the epilogue */
#define S_ERROR 9u
#define S_MASK 0x0Fu
#define F_DISP 0x40u  /* this part's Content-Disposition was read */
#define F_CTYPE 0x80u /* this part's Content-Type was read */

/* One call of mp_next: its bytes, how far it got, what it answers. */
typedef struct {
    const char *buf;
    size_t n;
    size_t pos;
    bool eof;
    mp_event ev;
    strv data;
} mp_cursor;

typedef enum { P_END = 0, P_OK, P_BAD } mp_pstep;

typedef struct {
    strv name;
    strv value; /* a token, or a quoted-string's inside with its backslashes */
    bool quoted;
} mp_param;

/* ---- character classes ------------------------------------------------ */

static bool is_alnum(char c)
{
    return ((c >= '0') && (c <= '9')) || ((c >= 'a') && (c <= 'z')) ||
           ((c >= 'A') && (c <= 'Z'));
}

/* RFC 9110 tchar. */
static bool is_tchar(char c)
{
    bool t;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
        t = true;
        break;
    default:
        t = is_alnum(c);
        break;
    }
    return t;
}

/* RFC 5987 attr-char: tchar but '%', '\'' and '*'. */
static bool is_attr_char(char c)
{
    return is_tchar(c) && (c != '%') && (c != '\'') && (c != '*');
}

/* RFC 2046 bchars. */
static bool is_bchar(char c)
{
    bool t;
    switch (c) {
    case '\'': case '(': case ')': case '+': case '_': case ',': case '-': case '.':
    case '/': case ':': case '=': case '?': case ' ':
        t = true;
        break;
    default:
        t = is_alnum(c);
        break;
    }
    return t;
}

static bool is_ows(char c)
{
    return (c == ' ') || (c == '\t');
}

/* A byte of a part header line: HTAB, SP, VCHAR, obs-text. */
static bool is_line_byte(char c)
{
    unsigned char u = (unsigned char)c;
    return (c == '\t') || ((u >= 0x20u) && (u != 0x7Fu));
}

static size_t skip_ows(const char *p, size_t n, size_t from)
{
    size_t i = from;
    while ((i < n) && is_ows(p[i])) {
        i++;
    }
    return i;
}

static size_t skip_tchars(const char *p, size_t n, size_t from)
{
    size_t i = from;
    while ((i < n) && is_tchar(p[i])) {
        i++;
    }
    return i;
}

/* ---- parameters ----------------------------------------------------- */

/* The next parameter of v from *at: OWS ";" OWS name OWS "=" OWS value;
 * empty ones (";;", a ';' at the end) are skipped. P_END at the end of v. */
static mp_pstep param_next(strv v, size_t *at, mp_param *prm)
{
    const char *p = v.p;
    size_t n = v.n;
    size_t i = skip_ows(p, n, *at);
    size_t s;
    bool semi = false;

    while ((i < n) && (p[i] == ';')) {
        semi = true;
        i = skip_ows(p, n, i + 1u);
    }
    if (i == n) {
        *at = i;
        return P_END;
    }
    s = i;
    i = skip_tchars(p, n, i);
    if (!semi || (i == s)) {
        return P_BAD;
    }
    prm->name = (strv){ &p[s], i - s };
    i = skip_ows(p, n, i);
    if ((i == n) || (p[i] != '=')) {
        return P_BAD;
    }
    i = skip_ows(p, n, i + 1u);
    if ((i < n) && (p[i] == '"')) {
        i++;
        s = i;
        while ((i < n) && (p[i] != '"')) {
            i += (p[i] == '\\') ? 2u : 1u; /* a quoted-pair; past n if cut */
        }
        if (i >= n) {
            return P_BAD;
        }
        prm->value = (strv){ &p[s], i - s };
        prm->quoted = true;
        i++;
    } else {
        s = i;
        i = skip_tchars(p, n, i);
        if (i == s) {
            return P_BAD;
        }
        prm->value = (strv){ &p[s], i - s };
        prm->quoted = false;
    }
    *at = i;
    return P_OK;
}

/* The value of prm, unquoted, into out[0..cap) with a NUL. False when it
 * does not fit (out then holds a cut copy). */
static bool unquote(const mp_param *prm, char *out, size_t cap, size_t *len)
{
    const char *p = prm->value.p;
    size_t n = prm->value.n;
    size_t i = 0u;
    size_t o = 0u;
    bool fits = true;

    while (fits && (i < n)) {
        if (prm->quoted && (p[i] == '\\')) {
            i++; /* param_next saw the byte it quotes */
        }
        if ((o + 1u) < cap) {
            out[o] = p[i];
            o++;
            i++;
        } else {
            fits = false;
        }
    }
    out[o] = '\0';
    *len = o;
    return fits;
}

static bool boundary_valid(strv b)
{
    const char *p = b.p;
    size_t i;
    bool ok = (p != NULL) && (b.n >= 1u) && (b.n <= MP_BOUNDARY_MAX);

    for (i = 0u; ok && (i < b.n); i++) {
        ok = is_bchar(p[i]);
    }
    return ok && (p[b.n - 1u] != ' ');
}

st_t mp_boundary(strv content_type, strv *boundary)
{
    strv v = strv_trim(content_type);
    const char *p = v.p;
    size_t n = v.n;
    size_t i = (n > 0u) ? skip_tchars(p, n, 0u) : 0u;
    size_t s = i + 1u;
    size_t at = 0u;
    mp_param prm;
    mp_pstep step = P_BAD;
    strv b = STRV_NULL;
    bool have = false;

    if ((i > 0u) && (i < n) && (p[i] == '/') && strv_ieq_cstr((strv){ p, i }, "multipart")) {
        at = skip_tchars(p, n, s);
        if (strv_ieq_cstr((strv){ &p[s], at - s }, "form-data")) {
            step = param_next(v, &at, &prm);
        }
    }
    while (step == P_OK) {
        if (strv_ieq_cstr(prm.name, "boundary")) {
            /* twice is ambiguous; a backslash would need unquoting */
            if (have || (prm.quoted && (memchr(prm.value.p, '\\', prm.value.n) != NULL))) {
                step = P_BAD;
            }
            have = true;
            b = prm.value;
        }
        if (step == P_OK) {
            step = param_next(v, &at, &prm);
        }
    }
    if ((step == P_END) && have && boundary_valid(b)) {
        *boundary = b;
        return ST_OK;
    }
    *boundary = STRV_NULL;
    return ST_BAD;
}

/* ---- part headers ----------------------------------------------------- */

/* Append byte b to out[0..cap) keeping room for a NUL; *big once it does
 * not fit. */
static void put(char *out, size_t cap, size_t *o, bool *big, unsigned char b)
{
    if ((*o + 1u) < cap) {
        out[*o] = (char)b;
        (*o)++;
    } else {
        *big = true;
    }
}

/* filename* (RFC 5987 ext-value): charset'language'value-chars. */
static mp_err ext_filename(strv raw, mp_part *part)
{
    const char *p = raw.p;
    size_t n = raw.n;
    size_t q1 = 0u;
    size_t q2;
    size_t i;
    size_t o = 0u;
    bool latin1;
    bool big = false;
    utf8_stream u;

    while ((q1 < n) && (p[q1] != '\'')) {
        q1++;
    }
    q2 = q1 + 1u;
    while ((q2 < n) && (p[q2] != '\'')) {
        q2++;
    }
    if (q2 >= n) {
        return MP_ERR_SYNTAX;
    }
    if (strv_ieq_cstr((strv){ p, q1 }, "utf-8")) {
        latin1 = false;
    } else if (strv_ieq_cstr((strv){ p, q1 }, "iso-8859-1")) {
        latin1 = true;
    } else {
        return MP_ERR_SYNTAX;
    }
    for (i = q1 + 1u; i < q2; i++) {
        if (!is_alnum(p[i]) && (p[i] != '-')) {
            return MP_ERR_SYNTAX; /* a language tag: letters, digits, '-' */
        }
    }
    utf8_stream_init(&u);
    i = q2 + 1u;
    while (i < n) {
        unsigned char b;
        if (p[i] == '%') {
            int hi = ((i + 2u) < n) ? strv_hex_digit((unsigned char)p[i + 1u]) : -1;
            int lo = ((i + 2u) < n) ? strv_hex_digit((unsigned char)p[i + 2u]) : -1;
            if ((hi < 0) || (lo < 0)) {
                return MP_ERR_SYNTAX;
            }
            b = (unsigned char)(((unsigned)hi * 16u) + (unsigned)lo);
            i += 3u;
        } else if (is_attr_char(p[i])) {
            b = (unsigned char)p[i];
            i++;
        } else {
            return MP_ERR_SYNTAX;
        }
        if (b == 0u) {
            return MP_ERR_SYNTAX;
        }
        if (latin1 && (b >= 0x80u)) {
            put(part->filename, MP_FILENAME_BYTES, &o, &big, (unsigned char)(0xC0u | (b >> 6)));
            put(part->filename, MP_FILENAME_BYTES, &o, &big, (unsigned char)(0x80u | (b & 0x3Fu)));
        } else {
            if (!latin1 && !utf8_stream_feed(&u, &b, 1u)) {
                return MP_ERR_SYNTAX;
            }
            put(part->filename, MP_FILENAME_BYTES, &o, &big, b);
        }
    }
    if (!latin1 && !utf8_stream_done(&u)) {
        return MP_ERR_SYNTAX;
    }
    if (big) {
        return MP_ERR_TOOBIG;
    }
    part->filename[o] = '\0';
    part->filename_len = o;
    part->has_filename = true;
    return MP_ERR_NONE;
}

/* Content-Disposition: form-data *( ";" param ). */
static mp_err disposition(mp_part *part, strv v)
{
    size_t at = skip_tchars(v.p, v.n, 0u);
    mp_param prm;
    mp_pstep step = P_BAD;
    mp_err e = MP_ERR_NONE;
    bool seen_name = false;
    bool seen_fn = false;
    bool seen_ext = false;
    bool fn_big = false;

    if (strv_ieq_cstr((strv){ v.p, at }, "form-data")) {
        step = param_next(v, &at, &prm);
    }
    while ((e == MP_ERR_NONE) && (step == P_OK)) {
        if (strv_ieq_cstr(prm.name, "name")) {
            if (seen_name) {
                e = MP_ERR_SYNTAX;
            } else if (!unquote(&prm, part->name, MP_NAME_BYTES, &part->name_len)) {
                e = MP_ERR_TOOBIG;
            } else {
                seen_name = true;
            }
        } else if (strv_ieq_cstr(prm.name, "filename")) {
            if (seen_fn) {
                e = MP_ERR_SYNTAX;
            } else if (!seen_ext) {
                fn_big = !unquote(&prm, part->filename, MP_FILENAME_BYTES, &part->filename_len);
            } else {
                /* filename* came first and wins */
            }
            seen_fn = true;
            part->has_filename = true;
        } else if (strv_ieq_cstr(prm.name, "filename*")) {
            e = (seen_ext || prm.quoted) ? MP_ERR_SYNTAX : ext_filename(prm.value, part);
            seen_ext = true;
        } else {
            /* other parameters are ignored */
        }
        if (e == MP_ERR_NONE) {
            step = param_next(v, &at, &prm);
        }
    }
    if ((e == MP_ERR_NONE) && (step == P_BAD)) {
        e = MP_ERR_SYNTAX;
    }
    if ((e == MP_ERR_NONE) && fn_big && !seen_ext) {
        e = MP_ERR_TOOBIG;
    }
    return e;
}

/* One header line, CRLF excluded (not empty). */
static mp_err header(mp_parser *mp, strv line)
{
    const char *p = line.p;
    size_t n = line.n;
    size_t i;
    strv name;
    strv value;
    mp_err e = MP_ERR_NONE;

    for (i = 0u; i < n; i++) {
        if (!is_line_byte(p[i])) {
            return MP_ERR_SYNTAX;
        }
    }
    i = skip_tchars(p, n, 0u);
    if ((i == 0u) || (i == n) || (p[i] != ':')) {
        return MP_ERR_SYNTAX;
    }
    name = (strv){ p, i };
    value = strv_trim((strv){ &p[i + 1u], n - (i + 1u) });
    if (strv_ieq_cstr(name, "content-disposition")) {
        if (((unsigned)mp->state & F_DISP) != 0u) {
            e = MP_ERR_SYNTAX;
        } else {
            mp->state = (uint8_t)((unsigned)mp->state | F_DISP);
            e = disposition(&mp->part, value);
        }
    } else if (strv_ieq_cstr(name, "content-type")) {
        if (((unsigned)mp->state & F_CTYPE) != 0u) {
            e = MP_ERR_SYNTAX;
        } else if (value.n >= MP_CTYPE_BYTES) {
            e = MP_ERR_TOOBIG;
        } else {
            mp->state = (uint8_t)((unsigned)mp->state | F_CTYPE);
            (void)memcpy(mp->part.ctype, value.p, value.n);
            mp->part.ctype[value.n] = '\0';
            mp->part.ctype_len = value.n;
        }
    } else {
        /* other headers are skipped */
    }
    return e;
}

/* ---- the machine ---------------------------------------------------- */

static unsigned state_of(const mp_parser *mp)
{
    return (unsigned)mp->state & S_MASK;
}

/* Move to state s, keeping the part's flags. */
static void state_set(mp_parser *mp, unsigned s)
{
    mp->state = (uint8_t)(((unsigned)mp->state & ~S_MASK) | s);
}

static bool fail(mp_parser *mp, mp_cursor *c, mp_err e)
{
    mp->state = (uint8_t)S_ERROR;
    mp->err = e;
    c->ev = MP_ERROR;
    return false;
}

static bool need(mp_cursor *c)
{
    ASSERT((c->n - c->pos) <= MP_KEEP_MAX);
    c->ev = MP_NEED;
    return false;
}

static size_t min_size(size_t a, size_t b)
{
    return (a < b) ? a : b;
}

/* The first delimiter in buf[from..n) (true, *at its index) or else the
 * index of the tail that is a prefix of it (false; n when none). */
static bool find_delim(const mp_parser *mp, const char *buf, size_t from, size_t n, size_t *at)
{
    size_t i = from;
    bool found = false;
    bool stop = false;

    while (!stop && (i < n)) {
        const char *cr = memchr(&buf[i], '\r', n - i);
        if (cr == NULL) {
            i = n;
        } else {
            ptrdiff_t d = cr - buf;
            size_t k;
            i = (size_t)d;
            k = min_size(n - i, mp->delim_len);
            if (memcmp(cr, mp->delim, k) == 0) {
                found = (k == mp->delim_len);
                stop = true;
            } else {
                i++;
            }
        }
    }
    *at = i;
    return found;
}

/* Byte 0 of the body: the first delimiter may start here without a CRLF. */
static bool on_start(mp_parser *mp, mp_cursor *c)
{
    size_t dl = mp->delim_len - 2u;
    size_t avail = c->n - c->pos;
    size_t k = (avail < dl) ? avail : dl;

    if ((k > 0u) && (memcmp(&c->buf[c->pos], &mp->delim[2], k) != 0)) {
        state_set(mp, S_PREAMBLE);
        return true;
    }
    if (k == dl) {
        c->pos += dl;
        state_set(mp, S_TAIL);
        return true;
    }
    return c->eof ? fail(mp, c, MP_ERR_SYNTAX) : need(c);
}

static bool on_preamble(mp_parser *mp, mp_cursor *c)
{
    size_t at;

    if (find_delim(mp, c->buf, c->pos, c->n, &at)) {
        c->pos = at + mp->delim_len;
        state_set(mp, S_TAIL);
        return true;
    }
    if (c->eof) {
        return fail(mp, c, MP_ERR_SYNTAX); /* no delimiter */
    }
    c->pos = at; /* the preamble is dropped */
    return need(c);
}

/* A new part: its headers follow. */
static void part_start(mp_parser *mp)
{
    (void)memset(&mp->part, 0, sizeof(mp->part));
    mp->nheaders = 0u;
    mp->state = (uint8_t)S_HEADERS;
}

/* The rest of a delimiter line, a byte per call. */
static bool on_tail(mp_parser *mp, mp_cursor *c)
{
    unsigned s = state_of(mp);
    bool more = true;
    char ch;

    if (c->pos == c->n) {
        return c->eof ? fail(mp, c, MP_ERR_TRUNCATED) : need(c);
    }
    ch = c->buf[c->pos];
    c->pos++;
    if (s == S_DASH) {
        if (ch == '-') {
            state_set(mp, S_END);
            mp->ended = true;
            c->ev = MP_END;
            more = false;
        } else {
            more = fail(mp, c, MP_ERR_SYNTAX);
        }
    } else if (s == S_CR) {
        if (ch == '\n') {
            part_start(mp);
        } else {
            more = fail(mp, c, MP_ERR_SYNTAX);
        }
    } else if (ch == '\r') {
        state_set(mp, S_CR);
    } else if (is_ows(ch)) {
        state_set(mp, S_PAD);
    } else if ((s == S_TAIL) && (ch == '-')) {
        state_set(mp, S_DASH);
    } else {
        more = fail(mp, c, MP_ERR_SYNTAX);
    }
    return more;
}

static bool on_headers(mp_parser *mp, mp_cursor *c)
{
    size_t avail = c->n - c->pos;
    const char *line = (avail > 0u) ? &c->buf[c->pos] : NULL;
    const char *lf = (line != NULL) ? memchr(line, '\n', min_size(avail, MP_LINE_MAX)) : NULL;
    ptrdiff_t d;
    size_t len;
    mp_err e;

    if (lf == NULL) {
        if (avail >= MP_LINE_MAX) {
            return fail(mp, c, MP_ERR_TOOBIG);
        }
        return c->eof ? fail(mp, c, MP_ERR_TRUNCATED) : need(c);
    }
    d = lf - line;
    len = (size_t)d;
    if ((len == 0u) || (line[len - 1u] != '\r')) {
        return fail(mp, c, MP_ERR_SYNTAX);
    }
    c->pos += len + 1u;
    if (len == 1u) {
        state_set(mp, S_DATA);
        c->ev = MP_PART;
        return false;
    }
    mp->nheaders++;
    if (mp->nheaders > MP_HEADERS_MAX) {
        return fail(mp, c, MP_ERR_TOOBIG);
    }
    e = header(mp, (strv){ line, len - 1u });
    return (e == MP_ERR_NONE) ? true : fail(mp, c, e);
}

static bool on_data(mp_parser *mp, mp_cursor *c)
{
    size_t at;
    bool found = find_delim(mp, c->buf, c->pos, c->n, &at);

    if (found && (at == c->pos)) {
        c->pos += mp->delim_len;
        state_set(mp, S_TAIL);
        c->ev = MP_PART_END;
        return false;
    }
    if (!found && c->eof) {
        return fail(mp, c, MP_ERR_TRUNCATED);
    }
    if (at == c->pos) {
        return need(c); /* all of it may start the delimiter */
    }
    c->data = (strv){ &c->buf[c->pos], at - c->pos };
    c->pos = at;
    c->ev = MP_DATA;
    return false;
}

void mp_init(mp_parser *mp, strv boundary)
{
    (void)memset(mp, 0, sizeof(*mp));
    mp->err = MP_ERR_NONE;
    if (!boundary_valid(boundary)) {
        mp->state = (uint8_t)S_ERROR;
        mp->err = MP_ERR_SYNTAX;
        return;
    }
    (void)memcpy(mp->delim, "\r\n--", 4u);
    (void)memcpy(&mp->delim[4], boundary.p, boundary.n);
    mp->delim_len = 4u + boundary.n;
    mp->state = (uint8_t)S_START;
}

mp_event mp_next(mp_parser *mp, const char *buf, size_t n, bool eof, size_t *used, strv *data)
{
    mp_cursor c = { buf, n, 0u, eof, MP_NEED, STRV_NULL };
    bool more = true;

    while (more) {
        switch (state_of(mp)) {
        case S_START:
            more = on_start(mp, &c);
            break;
        case S_PREAMBLE:
            more = on_preamble(mp, &c);
            break;
        case S_TAIL:
        case S_DASH:
        case S_PAD:
        case S_CR:
            more = on_tail(mp, &c);
            break;
        case S_HEADERS:
            more = on_headers(mp, &c);
            break;
        case S_DATA:
            more = on_data(mp, &c);
            break;
        case S_END:
            c.pos = n; /* the epilogue */
            more = need(&c);
            break;
        default:
            c.ev = MP_ERROR;
            more = false;
            break;
        }
    }
    *used = c.pos;
    *data = c.data;
    return c.ev;
}
