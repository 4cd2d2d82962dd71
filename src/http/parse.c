/*
 * parse.c - HTTP/1.1 request head parser, chunked body decoder, lookups.
 *
 * Implementation notes
 *  - http_parse_head reads buf[0 .. min(len, CFG_HTTP_MAX_HEAD_BYTES)) once,
 *    front to back, a run at a time: the method, the target, a field name,
 *    a field value are each one tight loop over a class of k_class (one
 *    table lookup per byte, four bytes per step while four are left) that
 *    stops at the first byte outside the class; that byte decides what
 *    comes next (the SP, the ':', the CR) or is the error. Every decision
 *    depends only on the bytes before it, so the answer for a prefix never
 *    contradicts the answer for the whole buffer (fuzz/http.c checks it),
 *    and the first bad byte decides the status. The parser it replaced, a
 *    byte-at-a-time state machine, is kept as fuzz/ref_http_head.h:
 *    fuzz/http_head_diff.c and the unit tests check that both give the same
 *    answer, status and views for every input.
 *  - A run cut short by the end of the bytes is ST_AGAIN; nothing is kept
 *    between calls. A value is its run of field bytes (field-vchar, SP,
 *    HTAB) up to the CR, trimmed of OWS at both ends; the first '?' of the
 *    target is found by its own run (path bytes, then target bytes), so
 *    path and query need no second scan.
 *  - The checks that need every header (Host, Content-Length,
 *    Transfer-Encoding, Connection) run in head_finish after the blank
 *    line. Each name roost interprets has a length of its own, so a field
 *    name is compared with at most one lower-case literal, chosen by its
 *    length; list values (Connection, Upgrade) are split once.
 *  - The headers[] entries past nheaders are left as they were: clearing
 *    all CFG_HTTP_MAX_HEADERS of them on every call cost more than parsing
 *    a short head.
 *  - The chunked decoder is a byte-at-a-time machine with its state kept in
 *    http_chunked between runs. Data bytes are moved in bulk (memmove) to the
 *    write index, which never passes the read index, so decoding in place is
 *    safe. The chunk size is checked against max digit by digit: a longer
 *    size can only be larger, so the limit is reported as early as possible.
 */
#include "http/parse.h"

#include <string.h>

/* ---- character classes -------------------------------------------------- */

/* Bits of k_class: where in a head a byte may stand. */
#define CC_TCHAR 0x01u  /* token (RFC 9110 tchar): method, field name */
#define CC_TARGET 0x02u /* request-target: visible ASCII except '#' */
#define CC_PATH 0x04u   /* CC_TARGET except '?' */
#define CC_FIELD 0x08u  /* in a field value: field-vchar, SP, HTAB */
#define CC_VCHAR 0x10u  /* field-vchar: VCHAR or obs-text (0x80..0xFF) */
#define CC_OWS 0x20u    /* SP, HTAB */
#define CC_HOST 0x40u   /* RFC 3986 unreserved, sub-delims: reg-name bytes but %HH */
#define CC_DIGIT 0x80u

/* The class bits of each byte value, eight to a row. */
static const uint8_t k_class[256] = {
    0x00u, 0x00u, 0x00u, 0x00u, 0x00u, 0x00u, 0x00u, 0x00u, /* 0x00 */
    0x00u, 0x28u, 0x00u, 0x00u, 0x00u, 0x00u, 0x00u, 0x00u, /* 0x08 */
    0x00u, 0x00u, 0x00u, 0x00u, 0x00u, 0x00u, 0x00u, 0x00u, /* 0x10 */
    0x00u, 0x00u, 0x00u, 0x00u, 0x00u, 0x00u, 0x00u, 0x00u, /* 0x18 */
    0x28u, 0x5Fu, 0x1Eu, 0x19u, 0x5Fu, 0x1Fu, 0x5Fu, 0x5Fu, /* 0x20 */
    0x5Eu, 0x5Eu, 0x5Fu, 0x5Fu, 0x5Eu, 0x5Fu, 0x5Fu, 0x1Eu, /* 0x28 */
    0xDFu, 0xDFu, 0xDFu, 0xDFu, 0xDFu, 0xDFu, 0xDFu, 0xDFu, /* 0x30 */
    0xDFu, 0xDFu, 0x1Eu, 0x5Eu, 0x1Eu, 0x5Eu, 0x1Eu, 0x1Au, /* 0x38 */
    0x1Eu, 0x5Fu, 0x5Fu, 0x5Fu, 0x5Fu, 0x5Fu, 0x5Fu, 0x5Fu, /* 0x40 */
    0x5Fu, 0x5Fu, 0x5Fu, 0x5Fu, 0x5Fu, 0x5Fu, 0x5Fu, 0x5Fu, /* 0x48 */
    0x5Fu, 0x5Fu, 0x5Fu, 0x5Fu, 0x5Fu, 0x5Fu, 0x5Fu, 0x5Fu, /* 0x50 */
    0x5Fu, 0x5Fu, 0x5Fu, 0x1Eu, 0x1Eu, 0x1Eu, 0x1Fu, 0x5Fu, /* 0x58 */
    0x1Fu, 0x5Fu, 0x5Fu, 0x5Fu, 0x5Fu, 0x5Fu, 0x5Fu, 0x5Fu, /* 0x60 */
    0x5Fu, 0x5Fu, 0x5Fu, 0x5Fu, 0x5Fu, 0x5Fu, 0x5Fu, 0x5Fu, /* 0x68 */
    0x5Fu, 0x5Fu, 0x5Fu, 0x5Fu, 0x5Fu, 0x5Fu, 0x5Fu, 0x5Fu, /* 0x70 */
    0x5Fu, 0x5Fu, 0x5Fu, 0x1Eu, 0x1Fu, 0x1Eu, 0x5Fu, 0x00u, /* 0x78 */
    0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, /* 0x80 */
    0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, /* 0x88 */
    0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, /* 0x90 */
    0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, /* 0x98 */
    0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, /* 0xA0 */
    0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, /* 0xA8 */
    0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, /* 0xB0 */
    0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, /* 0xB8 */
    0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, /* 0xC0 */
    0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, /* 0xC8 */
    0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, /* 0xD0 */
    0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, /* 0xD8 */
    0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, /* 0xE0 */
    0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, /* 0xE8 */
    0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, /* 0xF0 */
    0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, 0x18u, /* 0xF8 */
};

static bool in_class(char c, unsigned cc)
{
    return ((unsigned)k_class[(unsigned char)c] & cc) != 0u;
}

/* The first index in [from, end) whose byte is not in class cc, or end:
 * four bytes per bounds check while four are left. */
static inline size_t scan(const char *buf, size_t from, size_t end, unsigned cc)
{
    size_t i = from;
    while ((end - i) >= 4u) {
        if (!in_class(buf[i], cc)) {
            return i;
        }
        if (!in_class(buf[i + 1u], cc)) {
            return i + 1u;
        }
        if (!in_class(buf[i + 2u], cc)) {
            return i + 2u;
        }
        if (!in_class(buf[i + 3u], cc)) {
            return i + 3u;
        }
        i += 4u;
    }
    while ((i < end) && in_class(buf[i], cc)) {
        i++;
    }
    return i;
}

static bool is_tchar(unsigned char c)
{
    return ((unsigned)k_class[c] & CC_TCHAR) != 0u;
}

/* field-vchar: VCHAR or obs-text. */
static bool is_field_vchar(unsigned char c)
{
    return ((unsigned)k_class[c] & CC_VCHAR) != 0u;
}

static bool is_ows(unsigned char c)
{
    return (c == (unsigned char)' ') || (c == (unsigned char)'\t');
}

static unsigned char lower(char c)
{
    unsigned char u = (unsigned char)c;
    if ((u >= (unsigned char)'A') && (u <= (unsigned char)'Z')) {
        u = (unsigned char)(u | 0x20u);
    }
    return u;
}

/* a[0..n) equals lit[0..n), ASCII case-insensitively; lit is lower case. */
static bool ieq_lower(const char *a, const char *lit, size_t n)
{
    size_t i = 0u;
    while ((i < n) && (lower(a[i]) == (unsigned char)lit[i])) {
        i++;
    }
    return i == n;
}

/* a[0..n) equals b[0..n), ASCII case-insensitively. */
static bool ieq(const char *a, const char *b, size_t n)
{
    size_t i = 0u;
    while ((i < n) && (lower(a[i]) == lower(b[i]))) {
        i++;
    }
    return i == n;
}

/* a[0..n) equals lit[0..n) exactly. */
static bool same(const char *a, const char *lit, size_t n)
{
    size_t i = 0u;
    while ((i < n) && (a[i] == lit[i])) {
        i++;
    }
    return i == n;
}

static bool is_hex(char c)
{
    return strv_hex_digit((unsigned char)c) >= 0;
}

/*
 * Host = uri-host [ ":" port ] (RFC 9112 3.2, RFC 3986 3.2.2 and 3.2.3). An
 * IP-literal is checked by its alphabet only ("[" unreserved / sub-delims /
 * ":" "]", which covers IPv6address and IPvFuture); a reg-name is unreserved,
 * sub-delims and pct-encoded; port is digits. The host may not be empty: an
 * http(s) URI has a non-empty host (RFC 9110 4.2.1).
 */
static bool host_valid(strv h)
{
    const char *p = h.p;
    size_t n = h.n;
    size_t i = 0u;
    bool ok = (n > 0u);
    if (ok && (p[0] == '[')) {
        i = 1u;
        while (ok && (i < n) && (p[i] != ']')) {
            ok = in_class(p[i], CC_HOST) || (p[i] == ':');
            i++;
        }
        ok = ok && (i > 1u) && (i < n);
        i++;
    } else if (ok) {
        bool pct = true;
        while (ok && pct) {
            i = scan(p, i, n, CC_HOST);
            pct = (i < n) && (p[i] == '%');
            if (pct) {
                ok = ((n - i) >= 3u) && is_hex(p[i + 1u]) && is_hex(p[i + 2u]);
                i += 3u;
            }
        }
        ok = ok && (i > 0u) && ((i == n) || (p[i] == ':'));
    } else {
        /* empty */
    }
    if (ok && (i < n)) {
        ok = (p[i] == ':') && (scan(p, i + 1u, n, CC_DIGIT) == n);
    }
    return ok;
}

/* ---- request head --------------------------------------------------------- */

/* STEP_NEXT: this part is complete, go on with the next line. */
typedef enum { STEP_MORE, STEP_NEXT, STEP_DONE, STEP_FAIL } step_t;

typedef struct {
    const char *buf;
    size_t lim;        /* bytes looked at: len capped at CFG_HTTP_MAX_HEAD_BYTES */
    size_t pos;        /* start of the next line */
    http_req *req;
    const char *qmark; /* the target's first '?', NULL if none */
    bool absolute;     /* absolute-form target: host is its authority */
    int status;        /* HTTP status when STEP_FAIL */
} head_scan;

static strv span(const char *buf, size_t from, size_t to)
{
    strv v = { buf + from, to - from };
    return v;
}

static step_t head_fail(head_scan *s, int status)
{
    s->status = status;
    return STEP_FAIL;
}

/* Everything but headers[]: the entries past nheaders are not part of the
 * answer, and clearing them all would cost more than parsing. */
static void req_clear(http_req *req)
{
    unsigned char *base = (unsigned char *)req;
    size_t from = offsetof(http_req, nheaders);
    (void)memset(base, 0, offsetof(http_req, headers));
    (void)memset(base + from, 0, (sizeof *req) - from);
}

static http_method method_from(strv m)
{
    http_method out = HTTP_M_OTHER;
    const char *p = m.p;
    switch (m.n) {
    case 3u:
        if (same(p, "GET", 3u)) {
            out = HTTP_M_GET;
        } else if (same(p, "PUT", 3u)) {
            out = HTTP_M_PUT;
        } else {
            /* another method */
        }
        break;
    case 4u:
        if (same(p, "HEAD", 4u)) {
            out = HTTP_M_HEAD;
        } else if (same(p, "POST", 4u)) {
            out = HTTP_M_POST;
        } else {
            /* another method */
        }
        break;
    case 5u:
        out = same(p, "PATCH", 5u) ? HTTP_M_PATCH : HTTP_M_OTHER;
        break;
    case 6u:
        out = same(p, "DELETE", 6u) ? HTTP_M_DELETE : HTTP_M_OTHER;
        break;
    case 7u:
        out = same(p, "OPTIONS", 7u) ? HTTP_M_OPTIONS : HTTP_M_OTHER;
        break;
    default:
        /* another method */
        break;
    }
    return out;
}

/* Split rest (the part of the target from the path on) into path and query;
 * q is the target's first '?' (inside rest) or NULL. */
static void split_path_query(http_req *req, strv rest, const char *q)
{
    static const char slash[] = "/";
    if (q != NULL) {
        ptrdiff_t path_len = q - rest.p;
        req->path.p = rest.p;
        req->path.n = (size_t)path_len;
        req->query.p = q + 1;
        req->query.n = rest.n - req->path.n - 1u;
    } else {
        req->path = rest;
        req->query = STRV_NULL;
    }
    if (req->path.n == 0u) {
        req->path.p = slash;
        req->path.n = 1u;
    }
}

/* Classify req->target (non-empty, bytes already checked); false -> 400. */
static bool target_split(head_scan *s)
{
    http_req *req = s->req;
    const char *t = req->target.p;
    size_t n = req->target.n;
    bool ok = true;

    if (t[0] == '/') {
        split_path_query(req, req->target, s->qmark);
    } else if ((n == 1u) && (t[0] == '*')) {
        ok = (req->method == HTTP_M_OPTIONS);
        req->path = req->target;
        req->query = STRV_NULL;
    } else {
        size_t skip = 0u;
        if ((n >= 7u) && ieq_lower(t, "http://", 7u)) {
            skip = 7u;
        } else if ((n >= 8u) && ieq_lower(t, "https://", 8u)) {
            skip = 8u;
        } else {
            ok = false;
        }
        if (ok) {
            size_t end = skip;
            while ((end < n) && (t[end] != '/') && (t[end] != '?')) {
                end++;
            }
            if ((end == skip) || !host_valid(span(t, skip, end))) {
                ok = false; /* '@' (userinfo) is not a host byte */
            } else {
                req->host = span(t, skip, end);
                s->absolute = true;
                split_path_query(req, span(t, end, n), s->qmark);
            }
        }
    }
    return ok;
}

/* "HTTP/" DIGIT "." DIGIT CR LF, byte k of 10. */
static bool version_char_ok(size_t k, char c)
{
    static const char lit[] = "HTTP/";
    bool ok;
    if (k < 5u) {
        ok = (c == lit[k]);
    } else if (k == 6u) {
        ok = (c == '.');
    } else if (k == 8u) {
        ok = (c == '\r');
    } else if (k == 9u) {
        ok = (c == '\n');
    } else {
        ok = (c >= '0') && (c <= '9');
    }
    return ok;
}

/* The version and the CRLF ending the request line, from buf[i]. */
static step_t head_version(head_scan *s, size_t i)
{
    static const char http11[10] = { 'H', 'T', 'T', 'P', '/', '1', '.', '1', '\r', '\n' };
    const char *b = s->buf;
    size_t k;

    if (((s->lim - i) >= (sizeof http11)) && (memcmp(b + i, http11, sizeof http11) == 0)) {
        s->req->minor = 1;
        s->pos = i + (sizeof http11);
        return STEP_NEXT;
    }
    for (k = 0u; k < (sizeof http11); k++) {
        if ((i + k) == s->lim) {
            return STEP_MORE;
        }
        if (!version_char_ok(k, b[i + k])) {
            return head_fail(s, 400);
        }
    }
    if (b[i + 5u] != '1') {
        return head_fail(s, 505);
    }
    /* a higher 1.x is served as 1.1 (RFC 9110 2.5) */
    /* cppcheck-suppress misra-c2012-10.6 ; false positive: int constants into an int */
    s->req->minor = (b[i + 7u] == '0') ? 0 : 1;
    s->pos = i + (sizeof http11);
    return STEP_NEXT;
}

/* Leading empty lines, method SP request-target SP, then head_version. */
static step_t head_request_line(head_scan *s)
{
    http_req *req = s->req;
    const char *b = s->buf;
    size_t lim = s->lim;
    size_t i = 0u;
    size_t lead = 0u;
    size_t start;
    size_t end;

    while ((i < lim) && (b[i] == '\r')) {
        if ((i + 1u) == lim) {
            return STEP_MORE;
        }
        if ((b[i + 1u] != '\n') || (lead >= HTTP_MAX_LEADING_EMPTY_LINES)) {
            return head_fail(s, 400);
        }
        lead++;
        i += 2u;
    }

    start = i;
    i = scan(b, i, lim, CC_TCHAR);
    if (i == lim) {
        return STEP_MORE;
    }
    if ((i == start) || (b[i] != ' ')) {
        return head_fail(s, 400);
    }
    req->method_str = span(b, start, i);
    req->method = method_from(req->method_str);

    /* the target: path bytes up to a '?', then target bytes, at most
     * CFG_HTTP_MAX_TARGET_BYTES of them; one more target byte is 414 */
    start = i + 1u;
    end = ((lim - start) > (size_t)CFG_HTTP_MAX_TARGET_BYTES)
              ? (start + (size_t)CFG_HTTP_MAX_TARGET_BYTES)
              : lim;
    i = scan(b, start, end, CC_PATH);
    if ((i < end) && (b[i] == '?')) {
        s->qmark = b + i;
        i = scan(b, i + 1u, end, CC_TARGET);
    }
    if (i == lim) {
        return STEP_MORE;
    }
    if (b[i] != ' ') {
        return head_fail(s, in_class(b[i], CC_TARGET) ? 414 : 400);
    }
    req->target = span(b, start, i);
    if ((i == start) || !target_split(s)) {
        return head_fail(s, 400);
    }
    return head_version(s, i + 1u);
}

/* One line from s->pos: a header field (STEP_NEXT) or the blank line that
 * ends the head (STEP_DONE). */
static step_t head_field(head_scan *s)
{
    http_req *req = s->req;
    const char *b = s->buf;
    size_t lim = s->lim;
    size_t i = s->pos;
    size_t name;
    size_t colon;
    size_t v0;
    size_t v1;

    if (i == lim) {
        return STEP_MORE;
    }
    if (b[i] == '\r') {
        if ((i + 1u) == lim) {
            return STEP_MORE;
        }
        if (b[i + 1u] != '\n') {
            return head_fail(s, 400);
        }
        req->head_len = i + 2u;
        return STEP_DONE;
    }
    if (!in_class(b[i], CC_TCHAR)) {
        return head_fail(s, 400); /* obs-fold, leading whitespace, junk */
    }
    if (req->nheaders >= (size_t)CFG_HTTP_MAX_HEADERS) {
        return head_fail(s, 431);
    }
    name = i;
    i = scan(b, i + 1u, lim, CC_TCHAR);
    if (i == lim) {
        return STEP_MORE;
    }
    if (b[i] != ':') {
        return head_fail(s, 400); /* includes whitespace before the colon */
    }
    colon = i;
    i++;
    while ((i < lim) && ((b[i] == ' ') || (b[i] == '\t'))) {
        i++;
    }
    if (i == lim) {
        return STEP_MORE;
    }
    v0 = i;
    v1 = i; /* an empty value is a view at the CR */
    if (b[i] != '\r') {
        if (!in_class(b[i], CC_VCHAR)) {
            return head_fail(s, 400);
        }
        i = scan(b, i + 1u, lim, CC_FIELD);
        if (i == lim) {
            return STEP_MORE;
        }
        if (b[i] != '\r') {
            return head_fail(s, 400); /* a control byte, a bare LF */
        }
        v1 = i;
        while (in_class(b[v1 - 1u], CC_OWS)) {
            v1--; /* stops at b[v0], a field-vchar */
        }
    }
    if ((i + 1u) == lim) {
        return STEP_MORE;
    }
    if (b[i + 1u] != '\n') {
        return head_fail(s, 400);
    }
    req->headers[req->nheaders].name = span(b, name, colon);
    req->headers[req->nheaders].value = span(b, v0, v1);
    req->nheaders++;
    s->pos = i + 2u;
    return STEP_NEXT;
}

/* The headers head_finish interprets. */
typedef enum {
    HK_OTHER,
    HK_HOST,
    HK_CONTENT_LENGTH,
    HK_TRANSFER_ENCODING,
    HK_CONNECTION,
    HK_UPGRADE,
    HK_EXPECT
} header_kind;

/* Each known name has a length of its own: one comparison at most. */
static inline header_kind kind_of(strv name)
{
    header_kind k = HK_OTHER;
    const char *p = name.p;
    switch (name.n) {
    case 4u:
        k = ieq_lower(p, "host", 4u) ? HK_HOST : HK_OTHER;
        break;
    case 6u:
        k = ieq_lower(p, "expect", 6u) ? HK_EXPECT : HK_OTHER;
        break;
    case 7u:
        k = ieq_lower(p, "upgrade", 7u) ? HK_UPGRADE : HK_OTHER;
        break;
    case 10u:
        k = ieq_lower(p, "connection", 10u) ? HK_CONNECTION : HK_OTHER;
        break;
    case 14u:
        k = ieq_lower(p, "content-length", 14u) ? HK_CONTENT_LENGTH : HK_OTHER;
        break;
    case 17u:
        k = ieq_lower(p, "transfer-encoding", 17u) ? HK_TRANSFER_ENCODING : HK_OTHER;
        break;
    default:
        /* not ours to interpret */
        break;
    }
    return k;
}

/* Tokens of the Connection and Upgrade lists roost looks for. */
#define TOK_CLOSE 0x01u
#define TOK_KEEP_ALIVE 0x02u
#define TOK_UPGRADE 0x04u
#define TOK_WEBSOCKET 0x08u

static unsigned token_bit(strv item)
{
    unsigned bit = 0u;
    const char *p = item.p;
    switch (item.n) {
    case 5u:
        bit = ieq_lower(p, "close", 5u) ? TOK_CLOSE : 0u;
        break;
    case 7u:
        bit = ieq_lower(p, "upgrade", 7u) ? TOK_UPGRADE : 0u;
        break;
    case 9u:
        bit = ieq_lower(p, "websocket", 9u) ? TOK_WEBSOCKET : 0u;
        break;
    case 10u:
        bit = ieq_lower(p, "keep-alive", 10u) ? TOK_KEEP_ALIVE : 0u;
        break;
    default:
        /* another token */
        break;
    }
    return bit;
}

/* The known tokens of a comma-separated list, each item trimmed of SP and
 * HTAB and compared case-insensitively (as strv_list_has_token does). */
static unsigned list_tokens(strv list)
{
    const char *p = list.p;
    unsigned found = 0u;
    size_t start = 0u;
    size_t i;
    for (i = 0u; i <= list.n; i++) {
        if ((i == list.n) || (p[i] == ',')) {
            found |= token_bit(strv_trim(span(p, start, i)));
            start = i + 1u;
        }
    }
    return found;
}

/* The codings of every Transfer-Encoding field, in order, as one list
 * (RFC 9110 5.3): 0 when it is exactly "chunked" (empty items skipped);
 * 400 when chunked is not the final coding or is applied twice (RFC 9112
 * 6.3, 7: the length cannot be determined), which includes "identity" or a
 * second field after chunked; 501 when chunked is final but follows a
 * coding roost does not decode ("gzip, chunked", RFC 9112 6.1). */
static int te_status(const http_req *req)
{
    size_t i;
    size_t chunked = 0u;
    size_t other = 0u;
    bool last_chunked = false;
    int status = 0;

    for (i = 0u; i < req->nheaders; i++) {
        const char *p = req->headers[i].value.p;
        size_t n = req->headers[i].value.n;
        size_t start = 0u;
        size_t k;
        if (kind_of(req->headers[i].name) != HK_TRANSFER_ENCODING) {
            continue;
        }
        for (k = 0u; k <= n; k++) {
            if ((k == n) || (p[k] == ',')) {
                strv item = strv_trim(span(p, start, k));
                start = k + 1u;
                if (item.n == 0u) {
                    continue;
                }
                last_chunked = (item.n == 7u) && ieq_lower(item.p, "chunked", 7u);
                if (last_chunked) {
                    chunked++;
                } else {
                    other++;
                }
            }
        }
    }
    if (!last_chunked || (chunked > 1u)) {
        status = 400;
    } else if (other > 0u) {
        status = 501;
    } else {
        /* chunked alone */
    }
    return status;
}

/* Whole-head checks and derived fields; returns 0 or the HTTP status. */
static int head_finish(http_req *req, bool absolute)
{
    size_t i;
    size_t hosts = 0u;
    size_t tes = 0u;
    bool bad_host = false;
    bool bad_cl = false;
    unsigned conn = 0u;
    unsigned upgrade = 0u;
    bool expect = false;
    int status = 0;

    for (i = 0u; i < req->nheaders; i++) {
        const http_header *h = &req->headers[i];
        switch (kind_of(h->name)) {
        case HK_HOST:
            if ((hosts == 0u) && !absolute) {
                req->host = h->value;
            }
            hosts++;
            bad_host = bad_host || !host_valid(h->value);
            break;
        case HK_CONTENT_LENGTH: {
            uint64_t v = 0u;
            if (!strv_to_u64(h->value, (uint64_t)INT64_MAX, &v)) {
                bad_cl = true;
            } else if (req->has_content_length && (v != req->content_length)) {
                bad_cl = true;
            } else {
                req->has_content_length = true;
                req->content_length = v;
            }
            break;
        }
        case HK_TRANSFER_ENCODING:
            tes++;
            break;
        case HK_CONNECTION:
            conn |= list_tokens(h->value);
            break;
        case HK_UPGRADE:
            upgrade |= list_tokens(h->value);
            break;
        case HK_EXPECT:
            expect = expect ||
                     ((h->value.n == 12u) && ieq_lower(h->value.p, "100-continue", 12u));
            break;
        default:
            /* not ours to interpret */
            break;
        }
    }

    if (bad_cl || bad_host || (hosts > 1u) || ((req->minor == 1) && (hosts == 0u))) {
        status = 400;
    } else if ((tes > 0u) && (req->has_content_length || (req->minor == 0))) {
        status = 400;
    } else if (tes > 0u) {
        status = te_status(req);
    } else {
        /* no Transfer-Encoding */
    }
    if (status == 0) {
        bool conn_close = (conn & TOK_CLOSE) != 0u;
        req->chunked = (tes > 0u);
        if (req->minor == 1) {
            req->keep_alive = !conn_close;
            req->expect_continue = expect;
            req->upgrade_websocket =
                ((upgrade & TOK_WEBSOCKET) != 0u) && ((conn & TOK_UPGRADE) != 0u);
        } else {
            req->keep_alive = ((conn & TOK_KEEP_ALIVE) != 0u) && !conn_close;
        }
    }
    return status;
}

st_t http_parse_head(const char *buf, size_t len, http_req *req, int *status)
{
    head_scan s;
    step_t r;
    st_t st;

    req_clear(req);
    s.buf = buf;
    s.lim = (len < (size_t)CFG_HTTP_MAX_HEAD_BYTES) ? len : (size_t)CFG_HTTP_MAX_HEAD_BYTES;
    s.pos = 0u;
    s.req = req;
    s.qmark = NULL;
    s.absolute = false;
    s.status = 0;
    *status = 0;

    r = head_request_line(&s);
    while (r == STEP_NEXT) {
        r = head_field(&s);
    }

    if (r == STEP_DONE) {
        *status = head_finish(req, s.absolute);
        st = (*status == 0) ? ST_OK : ST_BAD;
    } else if (r == STEP_FAIL) {
        *status = s.status;
        st = ST_BAD;
    } else if (len >= (size_t)CFG_HTTP_MAX_HEAD_BYTES) {
        *status = http_head_overflow_status(buf, s.lim);
        st = ST_BAD;
    } else {
        st = ST_AGAIN;
    }
    return st;
}

bool http_head_worth_parsing(const char *buf, size_t prev_len, size_t len)
{
    bool worth;
    if (len == 0u) {
        worth = false;
    } else if ((prev_len == 0u) || (prev_len >= len) || (len >= (size_t)CFG_HTTP_MAX_HEAD_BYTES)) {
        worth = true;
    } else {
        worth = (memchr(buf + prev_len, '\n', len - prev_len) != NULL);
    }
    return worth;
}

int http_head_overflow_status(const char *buf, size_t len)
{
    size_t i = 0u;
    int status = 431;
    while (((i + 1u) < len) && (buf[i] == '\r') && (buf[i + 1u] == '\n')) {
        i += 2u;
    }
    if (((len - i) > ((size_t)CFG_HTTP_MAX_TARGET_BYTES + 32u)) &&
        (memchr(buf + i, '\n', len - i) == NULL)) {
        status = 414;
    }
    return status;
}

/* ---- chunked body ---------------------------------------------------------- */

/* cppcheck-suppress [misra-c2012-2.4, misra-c2012-5.7] ; false positive: untagged enum */
enum {
    CS_SIZE0,      /* first hex digit of a chunk-size */
    CS_SIZE,       /* more hex digits, ';', BWS or CR */
    CS_BWS,        /* whitespace after the size, before ';' */
    CS_EXT,        /* inside chunk extensions, up to CR */
    CS_SIZE_LF,    /* CR of the size line seen */
    CS_DATA,
    CS_DATA_CR,
    CS_DATA_LF,
    CS_TRAILER,    /* at the start of a trailer line or the final CRLF */
    CS_TRAILER_LINE,
    CS_TRAILER_LF,
    CS_END_LF,
    CS_DONE
};

void http_chunked_init(http_chunked *d, uint64_t max)
{
    (void)memset(d, 0, sizeof *d);
    d->max = max;
    d->state = CS_SIZE0;
    d->failed = ST_OK;
}

static bool ext_byte_ok(unsigned char c)
{
    return is_ows(c) || is_field_vchar(c);
}

/* Count one byte of extension or trailer against the budget. */
static st_t chunk_overhead(http_chunked *d)
{
    d->overhead++;
    return (d->overhead > (size_t)CFG_HTTP_MAX_HEAD_BYTES) ? ST_BAD : ST_AGAIN;
}

static st_t chunk_size_digit(http_chunked *d, int v)
{
    st_t st = ST_AGAIN;
    d->ndigits++;
    if (d->ndigits > 16u) {
        st = ST_BAD;
    } else {
        d->left = (d->left << 4) | (uint64_t)v;
        if (d->left > (d->max - d->total)) {
            st = ST_TOOBIG;
        }
        d->state = CS_SIZE;
    }
    return st;
}

/* One byte outside chunk data. ST_AGAIN: go on; ST_OK: body complete. */
static st_t chunk_step(http_chunked *d, unsigned char c)
{
    st_t st = ST_AGAIN;
    int v = strv_hex_digit(c);

    switch (d->state) {
    case CS_SIZE0:
        st = (v >= 0) ? chunk_size_digit(d, v) : ST_BAD;
        break;
    case CS_SIZE:
        if (v >= 0) {
            st = chunk_size_digit(d, v);
        } else if (c == (unsigned char)'\r') {
            d->state = CS_SIZE_LF;
        } else if (c == (unsigned char)';') {
            d->state = CS_EXT;
            st = chunk_overhead(d);
        } else if (is_ows(c)) {
            d->state = CS_BWS;
            st = chunk_overhead(d);
        } else {
            st = ST_BAD;
        }
        break;
    case CS_BWS:
        if (c == (unsigned char)';') {
            d->state = CS_EXT;
            st = chunk_overhead(d);
        } else if (is_ows(c)) {
            st = chunk_overhead(d);
        } else {
            st = ST_BAD;
        }
        break;
    case CS_EXT:
        if (c == (unsigned char)'\r') {
            d->state = CS_SIZE_LF;
        } else if (ext_byte_ok(c)) {
            st = chunk_overhead(d);
        } else {
            st = ST_BAD;
        }
        break;
    case CS_SIZE_LF:
        if (c != (unsigned char)'\n') {
            st = ST_BAD;
        } else if (d->left == 0u) {
            d->state = CS_TRAILER;
            d->overhead = 0u;
        } else {
            d->state = CS_DATA;
        }
        break;
    case CS_DATA_CR:
        if (c == (unsigned char)'\r') {
            d->state = CS_DATA_LF;
        } else {
            st = ST_BAD;
        }
        break;
    case CS_DATA_LF:
        if (c == (unsigned char)'\n') {
            d->state = CS_SIZE0;
            d->ndigits = 0u;
            d->left = 0u;
        } else {
            st = ST_BAD;
        }
        break;
    case CS_TRAILER:
        if (c == (unsigned char)'\r') {
            d->state = CS_END_LF;
        } else if (is_tchar(c)) {
            d->state = CS_TRAILER_LINE;
            st = chunk_overhead(d);
        } else {
            st = ST_BAD; /* obs-fold, leading whitespace, junk */
        }
        break;
    case CS_TRAILER_LINE:
        if (c == (unsigned char)'\r') {
            d->state = CS_TRAILER_LF;
        } else if (ext_byte_ok(c)) {
            st = chunk_overhead(d);
        } else {
            st = ST_BAD;
        }
        break;
    case CS_TRAILER_LF:
        if (c == (unsigned char)'\n') {
            d->state = CS_TRAILER;
        } else {
            st = ST_BAD;
        }
        break;
    case CS_END_LF:
        if (c == (unsigned char)'\n') {
            d->state = CS_DONE;
            st = ST_OK;
        } else {
            st = ST_BAD;
        }
        break;
    default: /* CS_DATA and CS_DONE are handled by the caller */
        st = ST_INTERNAL;
        break;
    }
    return st;
}

st_t http_chunked_decode(http_chunked *d, char *buf, size_t *len, size_t *rest)
{
    size_t in = *len;
    size_t r = 0u;
    size_t w = 0u;
    st_t st = ST_AGAIN;

    *rest = 0u;
    if (d->failed != ST_OK) {
        st = d->failed;
    } else if (d->state == CS_DONE) {
        *rest = in;
        st = ST_OK;
    } else {
        while ((r < in) && (st == ST_AGAIN)) {
            if (d->state == CS_DATA) {
                size_t n = in - r;
                if ((uint64_t)n > d->left) {
                    n = (size_t)d->left;
                }
                if (w != r) {
                    (void)memmove(buf + w, buf + r, n);
                }
                w += n;
                r += n;
                d->left -= (uint64_t)n;
                d->total += (uint64_t)n;
                if (d->left == 0u) {
                    d->state = CS_DATA_CR;
                }
            } else {
                st = chunk_step(d, (unsigned char)buf[r]);
                r++;
            }
        }
        if (st == ST_OK) {
            *rest = in - r;
            if ((*rest > 0u) && (w != r)) {
                (void)memmove(buf + w, buf + r, *rest);
            }
        } else if (st != ST_AGAIN) {
            d->failed = st;
        } else {
            /* need more */
        }
    }
    *len = w;
    return st;
}

/* ---- percent-decoding, lookups -------------------------------------------- */

st_t http_pct_decode(strv src, char *dst, size_t cap, size_t *n)
{
    size_t i = 0u;
    size_t w = 0u;
    st_t st = ST_OK;

    while ((i < src.n) && (st == ST_OK)) {
        unsigned char c = (unsigned char)src.p[i];
        if (c == (unsigned char)'%') {
            int hi = ((src.n - i) >= 3u) ? strv_hex_digit((unsigned char)src.p[i + 1u]) : -1;
            int lo = ((src.n - i) >= 3u) ? strv_hex_digit((unsigned char)src.p[i + 2u]) : -1;
            if ((hi < 0) || (lo < 0)) {
                st = ST_BAD;
            } else {
                c = (unsigned char)(((unsigned)hi << 4) | (unsigned)lo);
                i += 3u;
            }
        } else {
            i++;
        }
        if (st != ST_OK) {
            /* already failed */
        } else if (c == 0u) {
            st = ST_BAD;
        } else if (w >= cap) {
            st = ST_FULL;
        } else {
            dst[w] = (char)c;
            w++;
        }
    }
    *n = w;
    return st;
}

strv http_header_get(const http_req *req, const char *name)
{
    strv out = STRV_NULL;
    size_t n = (name != NULL) ? strlen(name) : 0u; /* NULL matches nothing, as "" */
    size_t i;
    for (i = 0u; (i < req->nheaders) && (out.p == NULL); i++) {
        const http_header *h = &req->headers[i];
        if ((h->name.n == n) && ieq(h->name.p, name, n)) {
            out = h->value;
        }
    }
    return out;
}

strv http_query_get(strv query, const char *name)
{
    strv out = STRV_NULL;
    size_t start = 0u;
    size_t i;

    for (i = 0u; (query.p != NULL) && (i <= query.n) && (out.p == NULL); i++) {
        /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
        if ((i == query.n) || (query.p[i] == '&')) {
            strv item = span(query.p, start, i);
            const char *eq = (item.n > 0u) ? memchr(item.p, '=', item.n) : NULL;
            strv key = item;
            if (eq != NULL) {
                ptrdiff_t key_len = eq - item.p;
                key.n = (size_t)key_len;
            }
            if (strv_eq_cstr(key, name)) {
                out = (eq != NULL) ? span(item.p, key.n + 1u, item.n) : span(item.p, item.n, item.n);
            }
            start = i + 1u;
        }
    }
    return out;
}
