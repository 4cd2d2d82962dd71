/*
 * parse.c - HTTP/1.1 request head parser, chunked body decoder, lookups.
 *
 * Implementation notes
 *  - http_parse_head drives a byte-at-a-time state machine (head_step) over
 *    buf[0 .. min(len, CFG_HTTP_MAX_HEAD_BYTES)). Every decision depends only
 *    on the bytes already seen, in order, so the answer for a prefix never
 *    contradicts the answer for the whole buffer (fuzz/http.c checks it).
 *    The checks that need every header (Host, Content-Length,
 *    Transfer-Encoding, Connection) run in head_finish after the blank line.
 *  - Views are recorded as the machine passes their ends: the method at the
 *    first SP, the target at the second, a header value at its CR (trailing
 *    OWS excluded through value_end).
 *  - The chunked decoder is the same kind of machine with its state kept in
 *    http_chunked between runs. Data bytes are moved in bulk (memmove) to the
 *    write index, which never passes the read index, so decoding in place is
 *    safe. The chunk size is checked against max digit by digit: a longer
 *    size can only be larger, so the limit is reported as early as possible.
 */
#include "http/parse.h"

#include <string.h>

/* ---- character classes -------------------------------------------------- */

static bool is_tchar(unsigned char c)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    bool alnum = ((c >= (unsigned char)'a') && (c <= (unsigned char)'z')) ||
                 ((c >= (unsigned char)'A') && (c <= (unsigned char)'Z')) ||
                 ((c >= (unsigned char)'0') && (c <= (unsigned char)'9'));
    return alnum || (memchr(extra, (int)c, (sizeof extra) - 1u) != NULL);
}

/* Visible ASCII except '#': what a request-target may contain. */
static bool is_target_char(unsigned char c)
{
    return (c >= 0x21u) && (c <= 0x7Eu) && (c != (unsigned char)'#');
}

/* field-vchar: VCHAR or obs-text. */
static bool is_field_vchar(unsigned char c)
{
    return (c > 0x20u) && (c != 0x7Fu);
}

static bool is_ows(unsigned char c)
{
    return (c == (unsigned char)' ') || (c == (unsigned char)'\t');
}

static bool is_digit(unsigned char c)
{
    return (c >= (unsigned char)'0') && (c <= (unsigned char)'9');
}

/* RFC 3986 unreserved or sub-delims: a reg-name's bytes besides %HH. */
static bool is_host_char(unsigned char c)
{
    static const char extra[] = "-._~!$&'()*+,;=";
    bool alnum = ((c >= (unsigned char)'a') && (c <= (unsigned char)'z')) ||
                 ((c >= (unsigned char)'A') && (c <= (unsigned char)'Z')) || is_digit(c);
    return alnum || ((c != 0u) && (memchr(extra, (int)c, (sizeof extra) - 1u) != NULL));
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
    size_t i = 0u;
    bool ok = (h.n > 0u);
    /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
    if (ok && (h.p[0] == '[')) {
        i = 1u;
        /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
        while (ok && (i < h.n) && (h.p[i] != ']')) {
            unsigned char c = (unsigned char)h.p[i];
            ok = is_host_char(c) || (c == (unsigned char)':');
            i++;
        }
        ok = ok && (i > 1u) && (i < h.n);
        i++;
    } else {
        /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
        while (ok && (i < h.n) && (h.p[i] != ':')) {
            unsigned char c = (unsigned char)h.p[i];
            if (c == (unsigned char)'%') {
                ok = ((h.n - i) >= 3u) && (strv_hex_digit((unsigned char)h.p[i + 1u]) >= 0) &&
                     (strv_hex_digit((unsigned char)h.p[i + 2u]) >= 0);
                i += 3u;
            } else {
                ok = is_host_char(c);
                i++;
            }
        }
        ok = ok && (i > 0u);
    }
    if (ok && (i < h.n)) {
        /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
        ok = (h.p[i] == ':');
        i++;
        while (ok && (i < h.n)) {
            ok = is_digit((unsigned char)h.p[i]);
            i++;
        }
    }
    return ok;
}


/* ---- request head --------------------------------------------------------- */

/* cppcheck-suppress [misra-c2012-2.4, misra-c2012-5.7] ; false positive: untagged enum */
enum {
    HS_LEAD,     /* at a line start before the request line */
    HS_LEAD_LF,  /* CR of an empty leading line seen */
    HS_METHOD,
    HS_TARGET,
    HS_VERSION,
    HS_RL_LF,    /* CR after the version seen */
    HS_LINE,     /* at the start of a header line or of the blank line */
    HS_NAME,
    HS_OWS,      /* after the colon, before the value */
    HS_VALUE,
    HS_VALUE_LF, /* CR after a value seen */
    HS_END_LF    /* CR of the blank line seen */
};

typedef enum { STEP_MORE, STEP_DONE, STEP_FAIL } step_t;

typedef struct {
    const char *buf;
    http_req *req;
    unsigned state;
    unsigned lead;    /* empty lines skipped before the request line */
    size_t mark;      /* start of the part being read */
    size_t value_end; /* one past the last non-OWS byte of the value */
    bool absolute;    /* absolute-form target: host is its authority */
    int status;       /* HTTP status when STEP_FAIL */
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

/* "HTTP/" DIGIT "." DIGIT, byte k of 8. */
static bool version_char_ok(size_t k, unsigned char c)
{
    static const char lit[] = "HTTP/";
    bool ok;
    if (k < 5u) {
        ok = (c == (unsigned char)lit[k]);
    } else if (k == 6u) {
        ok = (c == (unsigned char)'.');
    } else {
        ok = (c >= (unsigned char)'0') && (c <= (unsigned char)'9');
    }
    return ok;
}

/* Split rest (the part of the target from the path on) into path and query. */
static void split_path_query(http_req *req, strv rest)
{
    static const char slash[] = "/";
    const char *q = (rest.n > 0u) ? memchr(rest.p, '?', rest.n) : NULL;
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
    strv t = req->target;
    bool ok = true;

    char first = t.p[0];
    if (first == '/') {
        split_path_query(req, t);
    } else if ((t.n == 1u) && (first == '*')) {
        ok = strv_eq_cstr(req->method_str, "OPTIONS");
        req->path = t;
        req->query = STRV_NULL;
    } else {
        size_t skip = 0u;
        strv http7 = { t.p, 7u };
        strv https8 = { t.p, 8u };
        if ((t.n >= 7u) && strv_ieq_cstr(http7, "http://")) {
            skip = 7u;
        } else if ((t.n >= 8u) && strv_ieq_cstr(https8, "https://")) {
            skip = 8u;
        } else {
            ok = false;
        }
        if (ok) {
            size_t end = skip;
            /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
            while ((end < t.n) && (t.p[end] != '/') && (t.p[end] != '?')) {
                end++;
            }
            if ((end == skip) || !host_valid(span(t.p, skip, end))) {
                ok = false; /* '@' (userinfo) is not a host byte */
            } else {
                req->host = span(t.p, skip, end);
                s->absolute = true;
                split_path_query(req, span(t.p, end, t.n));
            }
        }
    }
    return ok;
}

static step_t head_step_request_line(head_scan *s, size_t i, unsigned char c)
{
    http_req *req = s->req;
    step_t r = STEP_MORE;

    switch (s->state) {
    case HS_LEAD:
        if (c == (unsigned char)'\r') {
            s->state = HS_LEAD_LF;
        } else if (is_tchar(c)) {
            s->mark = i;
            s->state = HS_METHOD;
        } else {
            r = head_fail(s, 400);
        }
        break;
    case HS_LEAD_LF:
        if ((c != (unsigned char)'\n') || (s->lead >= HTTP_MAX_LEADING_EMPTY_LINES)) {
            r = head_fail(s, 400);
        } else {
            s->lead++;
            s->state = HS_LEAD;
        }
        break;
    case HS_METHOD:
        if (c == (unsigned char)' ') {
            req->method_str = span(s->buf, s->mark, i);
            s->mark = i + 1u;
            s->state = HS_TARGET;
        } else if (!is_tchar(c)) {
            r = head_fail(s, 400);
        } else {
            /* more method */
        }
        break;
    case HS_TARGET:
        if (c == (unsigned char)' ') {
            req->target = span(s->buf, s->mark, i);
            if ((req->target.n == 0u) || !target_split(s)) {
                r = head_fail(s, 400);
            } else {
                s->mark = i + 1u;
                s->state = HS_VERSION;
            }
        } else if (!is_target_char(c)) {
            r = head_fail(s, 400);
        } else if ((i - s->mark) >= (size_t)CFG_HTTP_MAX_TARGET_BYTES) {
            r = head_fail(s, 414);
        } else {
            /* more target */
        }
        break;
    case HS_VERSION:
        if ((i - s->mark) < 8u) {
            if (!version_char_ok(i - s->mark, c)) {
                r = head_fail(s, 400);
            }
        } else if (c == (unsigned char)'\r') {
            s->state = HS_RL_LF;
        } else {
            r = head_fail(s, 400);
        }
        break;
    default: /* HS_RL_LF */
        if (c != (unsigned char)'\n') {
            r = head_fail(s, 400);
        } else {
            char major = s->buf[s->mark + 5u];
            char minor = s->buf[s->mark + 7u];
            if (major != '1') {
                r = head_fail(s, 505);
            } else {
                /* a higher 1.x is served as 1.1 (RFC 9110 2.5) */
                /* cppcheck-suppress misra-c2012-10.6 ; false positive: int constants into an int */
                req->minor = (minor == '0') ? 0 : 1;
                s->state = HS_LINE;
            }
        }
        break;
    }
    return r;
}

static void head_add(head_scan *s, size_t from, size_t to)
{
    http_req *req = s->req;
    req->headers[req->nheaders].value = span(s->buf, from, to);
    req->nheaders++;
    s->state = HS_VALUE_LF;
}

static step_t head_step_fields(head_scan *s, size_t i, unsigned char c)
{
    http_req *req = s->req;
    step_t r = STEP_MORE;

    switch (s->state) {
    case HS_LINE:
        if (c == (unsigned char)'\r') {
            s->state = HS_END_LF;
        } else if (!is_tchar(c)) {
            r = head_fail(s, 400); /* obs-fold, leading whitespace, junk */
        } else if (req->nheaders >= (size_t)CFG_HTTP_MAX_HEADERS) {
            r = head_fail(s, 431);
        } else {
            s->mark = i;
            s->state = HS_NAME;
        }
        break;
    case HS_NAME:
        if (c == (unsigned char)':') {
            req->headers[req->nheaders].name = span(s->buf, s->mark, i);
            s->state = HS_OWS;
        } else if (!is_tchar(c)) {
            r = head_fail(s, 400); /* includes whitespace before the colon */
        } else {
            /* more name */
        }
        break;
    case HS_OWS:
        if (c == (unsigned char)'\r') {
            head_add(s, i, i);
        } else if (is_field_vchar(c)) {
            s->mark = i;
            s->value_end = i + 1u;
            s->state = HS_VALUE;
        } else if (!is_ows(c)) {
            r = head_fail(s, 400);
        } else {
            /* leading OWS */
        }
        break;
    case HS_VALUE:
        if (c == (unsigned char)'\r') {
            head_add(s, s->mark, s->value_end);
        } else if (is_field_vchar(c)) {
            s->value_end = i + 1u;
        } else if (!is_ows(c)) {
            r = head_fail(s, 400);
        } else {
            /* inner or trailing OWS */
        }
        break;
    case HS_VALUE_LF:
        if (c != (unsigned char)'\n') {
            r = head_fail(s, 400);
        } else {
            s->state = HS_LINE;
        }
        break;
    default: /* HS_END_LF */
        if (c != (unsigned char)'\n') {
            r = head_fail(s, 400);
        } else {
            req->head_len = i + 1u;
            r = STEP_DONE;
        }
        break;
    }
    return r;
}

static http_method method_from(strv m)
{
    /* cppcheck-suppress misra-c2012-5.7 ; false positive: an untagged struct has no tag */
    static const struct {
        const char *name;
        http_method method;
    } table[] = {
        { "GET", HTTP_M_GET },       { "HEAD", HTTP_M_HEAD },
        { "POST", HTTP_M_POST },     { "PUT", HTTP_M_PUT },
        { "PATCH", HTTP_M_PATCH },   { "DELETE", HTTP_M_DELETE },
        { "OPTIONS", HTTP_M_OPTIONS },
    };
    http_method out = HTTP_M_OTHER;
    size_t i;
    for (i = 0u; i < ((sizeof table) / (sizeof table[0])); i++) {
        if (strv_eq_cstr(m, table[i].name)) {
            out = table[i].method;
        }
    }
    return out;
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
        strv v = req->headers[i].value;
        size_t start = 0u;
        size_t k;
        if (!strv_ieq_cstr(req->headers[i].name, "transfer-encoding")) {
            continue;
        }
        for (k = 0u; k <= v.n; k++) {
            /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
            if ((k == v.n) || (v.p[k] == ',')) {
                strv item = strv_trim(span(v.p, start, k));
                start = k + 1u;
                if (item.n == 0u) {
                    continue;
                }
                last_chunked = strv_ieq_cstr(item, "chunked");
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
    bool conn_close = false;
    bool conn_keep = false;
    bool conn_upgrade = false;
    bool upgrade_ws = false;
    bool expect = false;
    int status = 0;

    req->method = method_from(req->method_str);
    for (i = 0u; i < req->nheaders; i++) {
        const http_header *h = &req->headers[i];
        if (strv_ieq_cstr(h->name, "host")) {
            if ((hosts == 0u) && !absolute) {
                req->host = h->value;
            }
            hosts++;
            bad_host = bad_host || !host_valid(h->value);
        } else if (strv_ieq_cstr(h->name, "content-length")) {
            uint64_t v = 0u;
            if (!strv_to_u64(h->value, (uint64_t)INT64_MAX, &v)) {
                bad_cl = true;
            } else if (req->has_content_length && (v != req->content_length)) {
                bad_cl = true;
            } else {
                req->has_content_length = true;
                req->content_length = v;
            }
        } else if (strv_ieq_cstr(h->name, "transfer-encoding")) {
            tes++;
        } else if (strv_ieq_cstr(h->name, "connection")) {
            conn_close = conn_close || strv_list_has_token(h->value, "close");
            conn_keep = conn_keep || strv_list_has_token(h->value, "keep-alive");
            conn_upgrade = conn_upgrade || strv_list_has_token(h->value, "upgrade");
        } else if (strv_ieq_cstr(h->name, "upgrade")) {
            upgrade_ws = upgrade_ws || strv_list_has_token(h->value, "websocket");
        } else if (strv_ieq_cstr(h->name, "expect")) {
            expect = expect || strv_ieq_cstr(h->value, "100-continue");
        } else {
            /* not ours to interpret */
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
        req->chunked = (tes > 0u);
        if (req->minor == 1) {
            req->keep_alive = !conn_close;
            req->expect_continue = expect;
            req->upgrade_websocket = upgrade_ws && conn_upgrade;
        } else {
            req->keep_alive = conn_keep && !conn_close;
        }
    }
    return status;
}

st_t http_parse_head(const char *buf, size_t len, http_req *req, int *status)
{
    head_scan s;
    size_t lim = (len < (size_t)CFG_HTTP_MAX_HEAD_BYTES) ? len : (size_t)CFG_HTTP_MAX_HEAD_BYTES;
    size_t i;
    step_t r = STEP_MORE;
    st_t st = ST_AGAIN;

    (void)memset(req, 0, sizeof *req);
    (void)memset(&s, 0, sizeof s);
    s.buf = buf;
    s.req = req;
    s.state = HS_LEAD;
    *status = 0;

    /* cppcheck-suppress knownConditionTrueFalse ; false positive: lim is len capped, often > 0 */
    for (i = 0u; (i < lim) && (r == STEP_MORE); i++) {
        unsigned char c = (unsigned char)buf[i];
        r = (s.state < HS_LINE) ? head_step_request_line(&s, i, c) : head_step_fields(&s, i, c);
    }

    if (r == STEP_DONE) {
        *status = head_finish(req, s.absolute);
        st = (*status == 0) ? ST_OK : ST_BAD;
    } else if (r == STEP_FAIL) {
        *status = s.status;
        st = ST_BAD;
    } else if (len >= (size_t)CFG_HTTP_MAX_HEAD_BYTES) {
        *status = http_head_overflow_status(buf, lim);
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
    size_t i;
    for (i = 0u; (i < req->nheaders) && (out.p == NULL); i++) {
        if (strv_ieq_cstr(req->headers[i].name, name)) {
            out = req->headers[i].value;
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
