/*
 * fuzz/multipart.c - differential target: the streaming multipart parser
 * (src/http/multipart.c) against ref_parse below, a plain parser of the
 * whole body in memory (memmem for the delimiter, the header rules of
 * multipart.h and of the implementation notes, written over again without
 * the streaming parser's helpers).
 *
 * Input: byte 0 picks the boundary (bits 0-2) and whether the body is
 * expanded (bit 3: bytes 0xE0..0xFF become pieces of a form, "\r\n--B",
 * "Content-Disposition: form-data", "; filename*=UTF-8''" ..., so that
 * mutations reach parts, headers and limits); bytes 1-3 seed the sizes of
 * the pieces the body arrives in; the rest is the body. The streaming
 * parser is driven as a caller drives it (unconsumed bytes kept in front of
 * the next piece, each piece in a buffer of its exact size so reads past it
 * are caught) with the body arriving whole, in pieces of seeded sizes, one
 * byte at a time (short bodies), and through a buffer of MP_KEEP_MAX plus a
 * few bytes topped up after every call. Each run checks:
 *   - the contract of every call: used <= n; an event other than MP_NEED and
 *     MP_ERROR consumes; MP_DATA is a non-empty view inside the buffer given,
 *     between MP_PART and MP_PART_END; MP_NEED leaves at most MP_KEEP_MAX
 *     bytes and, at eof, comes only after MP_END; errors stick; mp->part's
 *     strings are NUL-terminated at their lengths;
 *   - the verdict against the reference: MP_END, or MP_ERROR with the same
 *     mp_err;
 *   - the parts announced (MP_PART) against the reference's: the same
 *     count, and every part's name, has_filename, filename and ctype;
 *   - every part whose end both saw: its data, the MP_DATA views
 *     concatenated, byte for byte;
 *   - mp_boundary against r_boundary on the body taken as a Content-Type
 *     value (the same answer, the same view), and on a header made for the
 *     chosen boundary (token or quoted): that boundary back.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/multipart.h"
#include "ref_utf8.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define FUZZ_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define FUZZ_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#endif
#endif
#ifndef FUZZ_POISON
#define FUZZ_POISON(p, n) ((void)(p), (void)(n))
#define FUZZ_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                      \
    do {                                                                              \
        if (!(c)) {                                                                   \
            fprintf(stderr, "fuzz/multipart.c:%d: check failed: %s\n", __LINE__, #c); \
            abort();                                                                  \
        }                                                                             \
    } while (0)

#define BODY_MAX 65536u
#define PARTS_MAX 8192u
#define BYTEWISE_MAX 4096u

/* ---- the reference ---------------------------------------------------------- */

typedef struct {
    mp_part h;
    size_t off; /* its data: body[off .. off + len) (reference) or g_sdata (stream) */
    size_t len;
    bool done; /* its closing delimiter was found */
} fpart;

typedef struct {
    bool ok;
    mp_err err;
    size_t nparts;
    fpart parts[PARTS_MAX];
} fresult;

static fresult g_ref;
static fresult g_got;
static char g_sdata[BODY_MAX];
static size_t g_sdata_len;
static char g_exp[BODY_MAX];
static char g_tmp[BODY_MAX];
static char g_tmp2[2u * BODY_MAX];

static const char *const k_boundaries[8] = {
    "b",
    "XyZ",
    "-",
    "--",
    "a-a-a",
    "a b'()+_,-./:=?Z",
    "----WebKitFormBoundary7MA4YWxkTrZu0gW",
    "0123456789012345678901234567890123456789012345678901234567890123456789",
};

static bool r_alnum(char c)
{
    return ((c >= '0') && (c <= '9')) || ((c >= 'a') && (c <= 'z')) || ((c >= 'A') && (c <= 'Z'));
}

static bool r_tchar(char c)
{
    return r_alnum(c) || ((c != '\0') && (strchr("!#$%&'*+-.^_`|~", c) != NULL));
}

static bool r_attr(char c)
{
    return r_alnum(c) || ((c != '\0') && (strchr("!#$&+-.^_`|~", c) != NULL));
}

static bool r_ows(char c)
{
    return (c == ' ') || (c == '\t');
}

static bool r_ieq(const char *p, size_t n, const char *lit)
{
    size_t i;
    if (strlen(lit) != n) {
        return false;
    }
    for (i = 0u; i < n; i++) {
        char a = p[i];
        char b = lit[i];
        if ((a >= 'A') && (a <= 'Z')) {
            a = (char)(a - 'A' + 'a');
        }
        if (a != b) {
            return false;
        }
    }
    return true;
}

static const char *r_memmem(const char *h, size_t hn, const char *nd, size_t nn)
{
    size_t i;
    if (nn > hn) {
        return NULL;
    }
    for (i = 0u; i + nn <= hn; i++) {
        if (memcmp(h + i, nd, nn) == 0) {
            return h + i;
        }
    }
    return NULL;
}

static int r_hex(char c)
{
    if ((c >= '0') && (c <= '9')) {
        return c - '0';
    }
    if ((c >= 'a') && (c <= 'f')) {
        return c - 'a' + 10;
    }
    if ((c >= 'A') && (c <= 'F')) {
        return c - 'A' + 10;
    }
    return -1;
}

/* filename*: charset'lang'value, decoded into g_tmp2 (UTF-8). */
static mp_err r_ext(const char *v, size_t n, mp_part *h)
{
    const char *q1 = memchr(v, '\'', n);
    const char *q2;
    const char *p;
    const char *end = v + n;
    bool latin1;
    size_t dn = 0u;
    size_t un = 0u;
    size_t i;

    if (q1 == NULL) {
        return MP_ERR_SYNTAX;
    }
    q2 = memchr(q1 + 1, '\'', (size_t)(end - (q1 + 1)));
    if (q2 == NULL) {
        return MP_ERR_SYNTAX;
    }
    if (r_ieq(v, (size_t)(q1 - v), "utf-8")) {
        latin1 = false;
    } else if (r_ieq(v, (size_t)(q1 - v), "iso-8859-1")) {
        latin1 = true;
    } else {
        return MP_ERR_SYNTAX;
    }
    for (p = q1 + 1; p < q2; p++) {
        if (!r_alnum(*p) && (*p != '-')) {
            return MP_ERR_SYNTAX;
        }
    }
    /* percent-decode into g_tmp */
    for (p = q2 + 1; p < end;) {
        if (*p == '%') {
            if ((end - p) < 3 || (r_hex(p[1]) < 0) || (r_hex(p[2]) < 0)) {
                return MP_ERR_SYNTAX;
            }
            g_tmp[dn++] = (char)(r_hex(p[1]) * 16 + r_hex(p[2]));
            p += 3;
        } else if (r_attr(*p)) {
            g_tmp[dn++] = *p;
            p++;
        } else {
            return MP_ERR_SYNTAX;
        }
    }
    if (memchr(g_tmp, '\0', dn) != NULL) {
        return MP_ERR_SYNTAX;
    }
    /* to UTF-8 */
    for (i = 0u; i < dn; i++) {
        unsigned char b = (unsigned char)g_tmp[i];
        if (latin1 && (b >= 0x80u)) {
            g_tmp2[un++] = (char)(0xC0u | (b >> 6));
            g_tmp2[un++] = (char)(0x80u | (b & 0x3Fu));
        } else {
            g_tmp2[un++] = (char)b;
        }
    }
    if (!utf8_valid((const uint8_t *)g_tmp2, un)) {
        return MP_ERR_SYNTAX;
    }
    if (un >= MP_FILENAME_BYTES) {
        return MP_ERR_TOOBIG;
    }
    memcpy(h->filename, g_tmp2, un);
    h->filename[un] = '\0';
    h->filename_len = un;
    h->has_filename = true;
    return MP_ERR_NONE;
}

/* One parameter of a header value. */
typedef struct {
    const char *name;
    size_t nn;
    const char *raw; /* the value as sent, quotes included */
    size_t rawn;
    size_t vn;       /* the value unquoted, in g_tmp */
    bool quoted;
} r_param;

/* The next `; name=value` of v from *i: 1 with *p filled, 0 at the end,
 * -1 on bad syntax. */
static int r_param_next(const char *v, size_t n, size_t *pi, r_param *p)
{
    size_t i = *pi;
    size_t ns;

    memset(p, 0, sizeof(*p));
    while ((i < n) && r_ows(v[i])) {
        i++;
    }
    if (i == n) {
        return 0;
    }
    if (v[i] != ';') {
        return -1;
    }
    while ((i < n) && ((v[i] == ';') || r_ows(v[i]))) {
        i++;
    }
    if (i == n) {
        return 0;
    }
    ns = i;
    while ((i < n) && r_tchar(v[i])) {
        i++;
    }
    if (i == ns) {
        return -1;
    }
    p->name = v + ns;
    p->nn = i - ns;
    while ((i < n) && r_ows(v[i])) {
        i++;
    }
    if ((i == n) || (v[i] != '=')) {
        return -1;
    }
    i++;
    while ((i < n) && r_ows(v[i])) {
        i++;
    }
    p->raw = v + i;
    if ((i < n) && (v[i] == '"')) {
        p->quoted = true;
        i++;
        for (;;) {
            if (i >= n) {
                return -1;
            }
            if (v[i] == '"') {
                i++;
                break;
            }
            if (v[i] == '\\') {
                if (i + 1u >= n) {
                    return -1;
                }
                i++;
            }
            g_tmp[p->vn++] = v[i];
            i++;
        }
    } else {
        while ((i < n) && r_tchar(v[i])) {
            g_tmp[p->vn++] = v[i];
            i++;
        }
        if (p->vn == 0u) {
            return -1;
        }
    }
    p->rawn = (size_t)((v + i) - p->raw);
    *pi = i;
    return 1;
}

/* Content-Disposition's value, trimmed. */
static mp_err r_disposition(const char *v, size_t n, mp_part *h)
{
    size_t i = 0u;
    bool seen_name = false;
    bool seen_fn = false;
    bool seen_ext = false;
    bool fn_big = false;
    r_param prm;
    int got;

    while ((i < n) && r_tchar(v[i])) {
        i++;
    }
    if (!r_ieq(v, i, "form-data")) {
        return MP_ERR_SYNTAX;
    }
    while ((got = r_param_next(v, n, &i, &prm)) == 1) {
        size_t vn = prm.vn;
        if (r_ieq(prm.name, prm.nn, "name")) {
            if (seen_name) {
                return MP_ERR_SYNTAX;
            }
            if (vn >= MP_NAME_BYTES) {
                return MP_ERR_TOOBIG;
            }
            seen_name = true;
            memcpy(h->name, g_tmp, vn);
            h->name[vn] = '\0';
            h->name_len = vn;
        } else if (r_ieq(prm.name, prm.nn, "filename")) {
            if (seen_fn) {
                return MP_ERR_SYNTAX;
            }
            seen_fn = true;
            h->has_filename = true;
            if (!seen_ext) {
                fn_big = (vn >= MP_FILENAME_BYTES);
                if (!fn_big) {
                    memcpy(h->filename, g_tmp, vn);
                    h->filename[vn] = '\0';
                    h->filename_len = vn;
                }
            }
        } else if (r_ieq(prm.name, prm.nn, "filename*")) {
            mp_err e;
            if (seen_ext || prm.quoted) {
                return MP_ERR_SYNTAX;
            }
            seen_ext = true;
            e = r_ext(prm.raw, prm.rawn, h);
            if (e != MP_ERR_NONE) {
                return e;
            }
        }
    }
    if (got < 0) {
        return MP_ERR_SYNTAX;
    }
    if (fn_big && !seen_ext) {
        return MP_ERR_TOOBIG;
    }
    return MP_ERR_NONE;
}

static bool r_bchar(char c)
{
    return r_alnum(c) || ((c != '\0') && (strchr("'()+_,-./:=? ", c) != NULL));
}

/* mp_boundary's reference: true with the boundary at ct[*off .. *off + *len). */
static bool r_boundary(const char *ct, size_t n, size_t *off, size_t *len)
{
    size_t a = 0u;
    size_t z = n;
    size_t i = 0u;
    size_t s;
    size_t k;
    const char *v;
    size_t vn;
    const char *b = NULL;
    r_param prm;
    int got;

    while ((a < z) && r_ows(ct[a])) {
        a++;
    }
    while ((z > a) && r_ows(ct[z - 1u])) {
        z--;
    }
    v = ct + a;
    vn = z - a;
    while ((i < vn) && r_tchar(v[i])) {
        i++;
    }
    if (!r_ieq(v, i, "multipart") || (i == vn) || (v[i] != '/')) {
        return false;
    }
    i++;
    s = i;
    while ((i < vn) && r_tchar(v[i])) {
        i++;
    }
    if (!r_ieq(v + s, i - s, "form-data")) {
        return false;
    }
    while ((got = r_param_next(v, vn, &i, &prm)) == 1) {
        if (r_ieq(prm.name, prm.nn, "boundary")) {
            if ((b != NULL) || (prm.quoted && (memchr(prm.raw, '\\', prm.rawn) != NULL))) {
                return false; /* twice, or a backslash */
            }
            b = prm.raw + (prm.quoted ? 1 : 0);
            *len = prm.vn;
        }
    }
    if ((got < 0) || (b == NULL) || (*len == 0u) || (*len > MP_BOUNDARY_MAX)) {
        return false;
    }
    for (k = 0u; k < *len; k++) {
        if (!r_bchar(b[k])) {
            return false;
        }
    }
    if (b[*len - 1u] == ' ') {
        return false;
    }
    *off = (size_t)(b - ct);
    return true;
}

/* mp_boundary on the input itself, and on a header made for bnd. */
static void check_boundary(const char *ct, size_t n, const char *bnd)
{
    static char hdr[128];
    strv got = { "x", 1u };
    size_t off = 0u;
    size_t len = 0u;
    bool want = r_boundary(ct, n, &off, &len);
    st_t st = mp_boundary((strv){ ct, n }, &got);
    size_t k;
    bool token = true;

    CHECK((st == ST_OK) == want);
    if (want) {
        mp_parser mp;
        CHECK(got.p == ct + off);
        CHECK(got.n == len);
        mp_init(&mp, got);
        CHECK(mp.err == MP_ERR_NONE);
    } else {
        CHECK((got.p == NULL) && (got.n == 0u));
    }
    for (k = 0u; bnd[k] != '\0'; k++) {
        token = token && r_tchar(bnd[k]);
    }
    snprintf(hdr, sizeof(hdr), token ? " Multipart/Form-Data;charset=x; Boundary=%s " :
                                       "multipart/form-data; boundary=\"%s\"", bnd);
    CHECK(mp_boundary(strv_from_cstr(hdr), &got) == ST_OK);
    CHECK((got.n == strlen(bnd)) && (memcmp(got.p, bnd, got.n) == 0));
}

/* One header line without its CRLF. */
static mp_err r_header(const char *l, size_t n, mp_part *h, bool *seen_cd, bool *seen_ct)
{
    size_t i;
    size_t c;
    const char *v;
    size_t vn;

    for (i = 0u; i < n; i++) {
        unsigned char u = (unsigned char)l[i];
        if ((u != '\t') && ((u < 0x20u) || (u == 0x7Fu))) {
            return MP_ERR_SYNTAX;
        }
    }
    c = 0u;
    while ((c < n) && r_tchar(l[c])) {
        c++;
    }
    if ((c == 0u) || (c == n) || (l[c] != ':')) {
        return MP_ERR_SYNTAX;
    }
    v = l + c + 1;
    vn = n - c - 1u;
    while ((vn > 0u) && r_ows(v[0])) {
        v++;
        vn--;
    }
    while ((vn > 0u) && r_ows(v[vn - 1u])) {
        vn--;
    }
    if (r_ieq(l, c, "content-disposition")) {
        if (*seen_cd) {
            return MP_ERR_SYNTAX;
        }
        *seen_cd = true;
        return r_disposition(v, vn, h);
    }
    if (r_ieq(l, c, "content-type")) {
        if (*seen_ct) {
            return MP_ERR_SYNTAX;
        }
        if (vn >= MP_CTYPE_BYTES) {
            return MP_ERR_TOOBIG;
        }
        *seen_ct = true;
        memcpy(h->ctype, v, vn);
        h->ctype[vn] = '\0';
        h->ctype_len = vn;
    }
    return MP_ERR_NONE;
}

static mp_err ref_run(const char *b, size_t len, const char *bnd, fresult *r)
{
    char delim[4u + MP_BOUNDARY_MAX];
    size_t dn = 4u + strlen(bnd);
    size_t pos;
    const char *at;

    memcpy(delim, "\r\n--", 4u);
    memcpy(delim + 4, bnd, dn - 4u);
    /* the first delimiter: at byte 0 without its CRLF, or after a CRLF */
    if ((len >= dn - 2u) && (memcmp(b, delim + 2, dn - 2u) == 0)) {
        pos = dn - 2u;
    } else {
        at = r_memmem(b, len, delim, dn);
        if (at == NULL) {
            return MP_ERR_SYNTAX;
        }
        pos = (size_t)(at - b) + dn;
    }
    for (;;) {
        fpart *p;
        size_t nh = 0u;
        bool seen_cd = false;
        bool seen_ct = false;

        /* the rest of the delimiter line */
        if (pos == len) {
            return MP_ERR_TRUNCATED;
        }
        if (b[pos] == '-') {
            if (pos + 1u == len) {
                return MP_ERR_TRUNCATED;
            }
            if (b[pos + 1u] == '-') {
                r->ok = true;
                return MP_ERR_NONE;
            }
            return MP_ERR_SYNTAX;
        }
        while ((pos < len) && r_ows(b[pos])) {
            pos++;
        }
        if (pos == len) {
            return MP_ERR_TRUNCATED;
        }
        if (b[pos] != '\r') {
            return MP_ERR_SYNTAX;
        }
        pos++;
        if (pos == len) {
            return MP_ERR_TRUNCATED;
        }
        if (b[pos] != '\n') {
            return MP_ERR_SYNTAX;
        }
        pos++;

        /* headers */
        CHECK(r->nparts < PARTS_MAX);
        p = &r->parts[r->nparts];
        memset(p, 0, sizeof(*p));
        for (;;) {
            const char *lf = memchr(b + pos, '\n', len - pos);
            size_t ln;
            mp_err e;
            if (lf == NULL) {
                return ((len - pos) >= MP_LINE_MAX) ? MP_ERR_TOOBIG : MP_ERR_TRUNCATED;
            }
            ln = (size_t)(lf - (b + pos)) + 1u; /* LF included */
            if (ln > MP_LINE_MAX) {
                return MP_ERR_TOOBIG;
            }
            if ((ln < 2u) || (lf[-1] != '\r')) {
                return MP_ERR_SYNTAX;
            }
            if (ln == 2u) {
                pos += 2u;
                break;
            }
            nh++;
            if (nh > MP_HEADERS_MAX) {
                return MP_ERR_TOOBIG;
            }
            e = r_header(b + pos, ln - 2u, &p->h, &seen_cd, &seen_ct);
            if (e != MP_ERR_NONE) {
                return e;
            }
            pos += ln;
        }
        r->nparts++;

        /* data, up to the next delimiter */
        at = r_memmem(b + pos, len - pos, delim, dn);
        if (at == NULL) {
            return MP_ERR_TRUNCATED;
        }
        p->off = pos;
        p->len = (size_t)(at - (b + pos));
        p->done = true;
        pos = (size_t)(at - b) + dn;
    }
}

static void ref_parse(const char *b, size_t len, const char *bnd, fresult *r)
{
    r->ok = false;
    r->nparts = 0u;
    r->err = ref_run(b, len, bnd, r);
    CHECK(r->ok == (r->err == MP_ERR_NONE));
}

/* ---- the streaming parser, as a caller drives it ------------------------------ */

typedef struct {
    mp_parser mp;
    bool in_part;
    bool stopped;
} driver;

static void check_part_strings(const mp_part *h)
{
    CHECK(h->name_len < MP_NAME_BYTES);
    CHECK(h->filename_len < MP_FILENAME_BYTES);
    CHECK(h->ctype_len < MP_CTYPE_BYTES);
    CHECK(h->name[h->name_len] == '\0');
    CHECK(h->filename[h->filename_len] == '\0');
    CHECK(h->ctype[h->ctype_len] == '\0');
    CHECK(h->has_filename || (h->filename_len == 0u));
}

/* Calls mp_next on buf[0..n) until MP_NEED or MP_ERROR; returns the bytes
 * consumed. What a call consumed is poisoned (ASan, to the granule) until
 * the end, so that a later call that reads before the bytes it was given
 * is caught. */
static size_t drive(driver *d, const char *buf, size_t n, bool eof)
{
    size_t off = 0u;
    for (;;) {
        size_t used = (size_t)-1;
        strv data = { NULL, 12345u };
        mp_event ev = mp_next(&d->mp, buf + off, n - off, eof, &used, &data);

        CHECK(used <= n - off);
        if ((ev != MP_NEED) && (ev != MP_ERROR)) {
            CHECK(used > 0u);
        }
        switch (ev) {
        case MP_PART:
            CHECK(!d->in_part && !d->mp.ended);
            CHECK(g_got.nparts < PARTS_MAX);
            check_part_strings(&d->mp.part);
            memset(&g_got.parts[g_got.nparts], 0, sizeof(g_got.parts[0]));
            g_got.parts[g_got.nparts].h = d->mp.part;
            g_got.parts[g_got.nparts].off = g_sdata_len;
            g_got.nparts++;
            d->in_part = true;
            break;
        case MP_DATA:
            CHECK(d->in_part);
            CHECK(data.p >= buf + off);
            CHECK(data.n > 0u);
            CHECK(data.n <= used);
            CHECK(data.p + data.n <= buf + n);
            CHECK(g_sdata_len + data.n <= BODY_MAX);
            memcpy(g_sdata + g_sdata_len, data.p, data.n);
            g_sdata_len += data.n;
            g_got.parts[g_got.nparts - 1u].len += data.n;
            break;
        case MP_PART_END:
            CHECK(d->in_part);
            g_got.parts[g_got.nparts - 1u].done = true;
            d->in_part = false;
            break;
        case MP_END:
            CHECK(!d->in_part);
            CHECK(d->mp.ended);
            g_got.ok = true;
            break;
        case MP_ERROR:
            CHECK(d->mp.err != MP_ERR_NONE);
            CHECK(!d->mp.ended);
            g_got.err = d->mp.err;
            d->stopped = true;
            break;
        case MP_NEED:
        default:
            CHECK(ev == MP_NEED);
            CHECK((n - off - used) <= MP_KEEP_MAX);
            CHECK(!eof || (d->mp.ended && (used == n - off)));
            CHECK(!d->mp.ended || (used == n - off));
            break;
        }
        FUZZ_POISON(buf + off, used);
        off += used;
        if ((ev == MP_NEED) || (ev == MP_ERROR)) {
            FUZZ_UNPOISON(buf, n);
            return off;
        }
    }
}

static void driver_start(driver *d, const char *bnd)
{
    memset(d, 0, sizeof(*d));
    mp_init(&d->mp, (strv){ bnd, strlen(bnd) });
    CHECK(d->mp.err == MP_ERR_NONE);
    g_got.ok = false;
    g_got.err = MP_ERR_NONE;
    g_got.nparts = 0u;
    g_sdata_len = 0u;
}

static void driver_finish(driver *d)
{
    size_t used = 7u;
    strv data;
    if (d->stopped) {
        /* the error sticks */
        CHECK(mp_next(&d->mp, "--", 2u, true, &used, &data) == MP_ERROR);
        CHECK(d->mp.err == g_got.err);
    } else {
        CHECK(g_got.ok);
    }
}

/* The body in pieces: piece k has sizes[k % nsizes] bytes. Each call gets a
 * buffer of exactly the bytes kept plus the new piece, so ASan sees a read
 * past its end. */
static void run_pieces(const char *body, size_t len, const char *bnd, const size_t *sizes,
                       size_t nsizes)
{
    driver d;
    char *cur = NULL;
    size_t have = 0u;
    size_t fed = 0u;
    size_t k = 0u;

    driver_start(&d, bnd);
    do {
        size_t piece = sizes[k % nsizes];
        size_t add = ((len - fed) < piece) ? (len - fed) : piece;
        size_t used;
        char *next = malloc(((have + add) > 0u) ? (have + add) : 1u);
        CHECK(next != NULL);
        if (have > 0u) {
            memcpy(next, cur, have);
        }
        memcpy(next + have, body + fed, add);
        free(cur);
        cur = next;
        have += add;
        fed += add;
        k++;
        used = drive(&d, cur, have, fed == len);
        if (d.stopped) {
            break;
        }
        CHECK(have - used <= MP_KEEP_MAX);
        next = malloc((have - used) + 1u);
        CHECK(next != NULL);
        memcpy(next, cur + used, have - used);
        free(cur);
        cur = next;
        have -= used;
    } while (fed < len);
    free(cur);
    driver_finish(&d);
}

/* A caller with a fixed buffer of cap bytes (> MP_KEEP_MAX), topped up
 * before every call: it must never stall. */
static void run_window(const char *body, size_t len, const char *bnd, size_t cap)
{
    static char win[MP_KEEP_MAX + 300u];
    driver d;
    size_t have = 0u;
    size_t fed = 0u;
    size_t calls = 0u;

    CHECK(cap <= sizeof(win));
    driver_start(&d, bnd);
    while (!d.stopped) {
        size_t add = ((len - fed) < (cap - have)) ? (len - fed) : (cap - have);
        size_t used;
        memcpy(win + have, body + fed, add);
        have += add;
        fed += add;
        used = drive(&d, win, have, fed == len);
        if ((fed == len) && (d.stopped || d.mp.ended)) {
            break;
        }
        CHECK((used > 0u) || (add > 0u)); /* progress */
        memmove(win, win + used, have - used);
        have -= used;
        calls++;
        CHECK(calls <= (2u * len) + 2u);
    }
    driver_finish(&d);
}

static void compare(const char *body, size_t len, const char *bnd)
{
    size_t i;
    CHECK(g_got.ok == g_ref.ok);
    if (g_got.err != g_ref.err) {
        fprintf(stderr, "verdict: stream err %d, reference err %d (boundary \"%s\", %zu bytes)\n",
                (int)g_got.err, (int)g_ref.err, bnd, len);
    }
    CHECK(g_got.err == g_ref.err);
    CHECK(g_got.nparts == g_ref.nparts);
    for (i = 0u; i < g_ref.nparts; i++) {
        const fpart *a = &g_got.parts[i];
        const fpart *b = &g_ref.parts[i];
        CHECK(a->h.name_len == b->h.name_len);
        CHECK(memcmp(a->h.name, b->h.name, b->h.name_len + 1u) == 0);
        CHECK(a->h.has_filename == b->h.has_filename);
        CHECK(a->h.filename_len == b->h.filename_len);
        CHECK(memcmp(a->h.filename, b->h.filename, b->h.filename_len + 1u) == 0);
        CHECK(a->h.ctype_len == b->h.ctype_len);
        CHECK(memcmp(a->h.ctype, b->h.ctype, b->h.ctype_len + 1u) == 0);
        if (g_ref.ok) {
            CHECK(a->done && b->done);
        }
        if (a->done && b->done) {
            CHECK(a->len == b->len);
            CHECK((a->len == 0u) || (memcmp(g_sdata + a->off, body + b->off, a->len) == 0));
        }
    }
}

static const char *const k_pieces[24] = {
    "\r\n", "\r\n\r\n", "--", "Content-Disposition: form-data", "; name=", "; filename=",
    "; filename*=UTF-8''", "; filename*=ISO-8859-1'en'", "\"", "\\", "Content-Type: ",
    " \t", "%C3%A9", "%E9", "content-disposition:form-data;name=\"a\"\r\n\r\n", ";",
    "X-H: v\r\n",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 63 */
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", /* 257 */
    "%", "'", "FileName", "\xc3\xa9", "--\r\n",
};

/* bytes 0xE0/0xE1 are the delimiter and the dash-boundary, 0xE2..0xF9 the
 * pieces above, 0xFA..0xFF themselves. */
static size_t expand(const uint8_t *in, size_t n, const char *bnd, char *out, size_t cap)
{
    size_t o = 0u;
    size_t i;
    char delim[4u + MP_BOUNDARY_MAX + 1u];
    snprintf(delim, sizeof(delim), "\r\n--%s", bnd);
    for (i = 0u; i < n; i++) {
        const char *piece = NULL;
        char one[2] = { (char)in[i], '\0' };
        size_t pn;
        if (in[i] == 0xE0u) {
            piece = delim;
        } else if (in[i] == 0xE1u) {
            piece = delim + 2;
        } else if ((in[i] >= 0xE2u) && (in[i] < 0xE2u + 24u)) {
            piece = k_pieces[in[i] - 0xE2u];
        } else {
            piece = one;
        }
        pn = (piece == one) ? 1u : strlen(piece);
        if (pn > cap - o) {
            break;
        }
        memcpy(out + o, piece, pn);
        o += pn;
    }
    return o;
}

static void check_body(const char *body, size_t len, const char *bnd, const uint8_t *seed)
{
    size_t sizes[3];
    size_t one = 1u;
    size_t i;

    ref_parse(body, len, bnd, &g_ref);
    if (getenv("FUZZ_VERBOSE") != NULL) {
        fprintf(stderr, "  boundary \"%s\", %zu bytes: %s (err %d), %zu part(s)\n", bnd, len,
                g_ref.ok ? "ok" : "error", (int)g_ref.err, g_ref.nparts);
    }

    sizes[0] = (len > 0u) ? len : 1u;
    run_pieces(body, len, bnd, sizes, 1u);
    compare(body, len, bnd);

    for (i = 0u; i < 3u; i++) {
        /* mostly short pieces, now and then a long one */
        sizes[i] = (seed[i] < 200u) ? (1u + (size_t)(seed[i] % 80u)) : (size_t)seed[i] * 8u;
    }
    run_pieces(body, len, bnd, sizes, 3u);
    compare(body, len, bnd);

    if (len <= BYTEWISE_MAX) {
        run_pieces(body, len, bnd, &one, 1u);
        compare(body, len, bnd);
    }
    run_window(body, len, bnd, MP_KEEP_MAX + 1u + (size_t)(seed[0] % 200u));
    compare(body, len, bnd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *bnd;
    const char *body;
    size_t len;

    if ((size < 4u) || (size > BODY_MAX)) {
        return 0;
    }
    bnd = k_boundaries[data[0] & 7u];
    if ((data[0] & 8u) != 0u) {
        len = expand(data + 4, size - 4u, bnd, g_exp, sizeof(g_exp));
        body = g_exp;
    } else {
        len = size - 4u;
        body = (const char *)data + 4;
    }
    check_boundary(body, len, bnd);
    check_body(body, len, bnd, data + 1);
    return 0;
}
