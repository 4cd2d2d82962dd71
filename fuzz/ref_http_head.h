/*
 * ref_http_head.h - the request-head parser as it was before the table-driven
 * rewrite of src/http/parse.c (a verbatim copy, names prefixed ref_), kept
 * as the reference the new parser is compared with: fuzz/http_head_diff.c
 * and tests/unit/test_http_parse.c check that both give the same answer,
 * status and views for every input. Not built into roostd.
 *
 * It is the byte-at-a-time state machine: one call per byte, every decision
 * from the bytes seen so far; head_finish checks the fields after the blank
 * line. Do not "fix" it: it defines the expected behaviour.
 */
#ifndef ROOST_FUZZ_REF_HTTP_HEAD_H
#define ROOST_FUZZ_REF_HTTP_HEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config.h"
#include "core/strv.h"
#include "http/parse.h"

static int ref_http_head_overflow_status(const char *buf, size_t len);

/* ---- character classes -------------------------------------------------- */

static bool ref_is_tchar(unsigned char c)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    bool alnum = ((c >= (unsigned char)'a') && (c <= (unsigned char)'z')) ||
                 ((c >= (unsigned char)'A') && (c <= (unsigned char)'Z')) ||
                 ((c >= (unsigned char)'0') && (c <= (unsigned char)'9'));
    return alnum || (memchr(extra, (int)c, (sizeof extra) - 1u) != NULL);
}

/* Visible ASCII except '#': what a request-target may contain. */
static bool ref_is_target_char(unsigned char c)
{
    return (c >= 0x21u) && (c <= 0x7Eu) && (c != (unsigned char)'#');
}

/* field-vchar: VCHAR or obs-text. */
static bool ref_is_field_vchar(unsigned char c)
{
    return (c > 0x20u) && (c != 0x7Fu);
}

static bool ref_is_ows(unsigned char c)
{
    return (c == (unsigned char)' ') || (c == (unsigned char)'\t');
}

static bool ref_is_digit(unsigned char c)
{
    return (c >= (unsigned char)'0') && (c <= (unsigned char)'9');
}

/* RFC 3986 unreserved or sub-delims: a reg-name's bytes besides %HH. */
static bool ref_is_host_char(unsigned char c)
{
    static const char extra[] = "-._~!$&'()*+,;=";
    bool alnum = ((c >= (unsigned char)'a') && (c <= (unsigned char)'z')) ||
                 ((c >= (unsigned char)'A') && (c <= (unsigned char)'Z')) || ref_is_digit(c);
    return alnum || ((c != 0u) && (memchr(extra, (int)c, (sizeof extra) - 1u) != NULL));
}

/*
 * Host = uri-host [ ":" port ] (RFC 9112 3.2, RFC 3986 3.2.2 and 3.2.3). An
 * IP-literal is checked by its alphabet only ("[" unreserved / sub-delims /
 * ":" "]", which covers IPv6address and IPvFuture); a reg-name is unreserved,
 * sub-delims and pct-encoded; port is digits. The host may not be empty: an
 * http(s) URI has a non-empty host (RFC 9110 4.2.1).
 */
static bool ref_host_valid(strv h)
{
    size_t i = 0u;
    bool ok = (h.n > 0u);
    /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
    if (ok && (h.p[0] == '[')) {
        i = 1u;
        /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
        while (ok && (i < h.n) && (h.p[i] != ']')) {
            unsigned char c = (unsigned char)h.p[i];
            ok = ref_is_host_char(c) || (c == (unsigned char)':');
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
                ok = ref_is_host_char(c);
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
            ok = ref_is_digit((unsigned char)h.p[i]);
            i++;
        }
    }
    return ok;
}


/* ---- request head --------------------------------------------------------- */

/* cppcheck-suppress [misra-c2012-2.4, misra-c2012-5.7] ; false positive: untagged enum */
enum {
    REF_HS_LEAD,     /* at a line start before the request line */
    REF_HS_LEAD_LF,  /* CR of an empty leading line seen */
    REF_HS_METHOD,
    REF_HS_TARGET,
    REF_HS_VERSION,
    REF_HS_RL_LF,    /* CR after the version seen */
    REF_HS_LINE,     /* at the start of a header line or of the blank line */
    REF_HS_NAME,
    REF_HS_OWS,      /* after the colon, before the value */
    REF_HS_VALUE,
    REF_HS_VALUE_LF, /* CR after a value seen */
    REF_HS_END_LF    /* CR of the blank line seen */
};

typedef enum { REF_STEP_MORE, REF_STEP_DONE, REF_STEP_FAIL } ref_step_t;

typedef struct {
    const char *buf;
    http_req *req;
    unsigned state;
    unsigned lead;    /* empty lines skipped before the request line */
    size_t mark;      /* start of the part being read */
    size_t value_end; /* one past the last non-OWS byte of the value */
    bool absolute;    /* absolute-form target: host is its authority */
    int status;       /* HTTP status when REF_STEP_FAIL */
} ref_head_scan;

static strv ref_span(const char *buf, size_t from, size_t to)
{
    strv v = { buf + from, to - from };
    return v;
}

static ref_step_t ref_head_fail(ref_head_scan *s, int status)
{
    s->status = status;
    return REF_STEP_FAIL;
}

/* "HTTP/" DIGIT "." DIGIT, byte k of 8. */
static bool ref_version_char_ok(size_t k, unsigned char c)
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
static void ref_split_path_query(http_req *req, strv rest)
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
static bool ref_target_split(ref_head_scan *s)
{
    http_req *req = s->req;
    strv t = req->target;
    bool ok = true;

    char first = t.p[0];
    if (first == '/') {
        ref_split_path_query(req, t);
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
            if ((end == skip) || !ref_host_valid(ref_span(t.p, skip, end))) {
                ok = false; /* '@' (userinfo) is not a host byte */
            } else {
                req->host = ref_span(t.p, skip, end);
                s->absolute = true;
                ref_split_path_query(req, ref_span(t.p, end, t.n));
            }
        }
    }
    return ok;
}

static ref_step_t ref_head_step_request_line(ref_head_scan *s, size_t i, unsigned char c)
{
    http_req *req = s->req;
    ref_step_t r = REF_STEP_MORE;

    switch (s->state) {
    case REF_HS_LEAD:
        if (c == (unsigned char)'\r') {
            s->state = REF_HS_LEAD_LF;
        } else if (ref_is_tchar(c)) {
            s->mark = i;
            s->state = REF_HS_METHOD;
        } else {
            r = ref_head_fail(s, 400);
        }
        break;
    case REF_HS_LEAD_LF:
        if ((c != (unsigned char)'\n') || (s->lead >= HTTP_MAX_LEADING_EMPTY_LINES)) {
            r = ref_head_fail(s, 400);
        } else {
            s->lead++;
            s->state = REF_HS_LEAD;
        }
        break;
    case REF_HS_METHOD:
        if (c == (unsigned char)' ') {
            req->method_str = ref_span(s->buf, s->mark, i);
            s->mark = i + 1u;
            s->state = REF_HS_TARGET;
        } else if (!ref_is_tchar(c)) {
            r = ref_head_fail(s, 400);
        } else {
            /* more method */
        }
        break;
    case REF_HS_TARGET:
        if (c == (unsigned char)' ') {
            req->target = ref_span(s->buf, s->mark, i);
            if ((req->target.n == 0u) || !ref_target_split(s)) {
                r = ref_head_fail(s, 400);
            } else {
                s->mark = i + 1u;
                s->state = REF_HS_VERSION;
            }
        } else if (!ref_is_target_char(c)) {
            r = ref_head_fail(s, 400);
        } else if ((i - s->mark) >= (size_t)CFG_HTTP_MAX_TARGET_BYTES) {
            r = ref_head_fail(s, 414);
        } else {
            /* more target */
        }
        break;
    case REF_HS_VERSION:
        if ((i - s->mark) < 8u) {
            if (!ref_version_char_ok(i - s->mark, c)) {
                r = ref_head_fail(s, 400);
            }
        } else if (c == (unsigned char)'\r') {
            s->state = REF_HS_RL_LF;
        } else {
            r = ref_head_fail(s, 400);
        }
        break;
    default: /* REF_HS_RL_LF */
        if (c != (unsigned char)'\n') {
            r = ref_head_fail(s, 400);
        } else {
            char major = s->buf[s->mark + 5u];
            char minor = s->buf[s->mark + 7u];
            if (major != '1') {
                r = ref_head_fail(s, 505);
            } else {
                /* a higher 1.x is served as 1.1 (RFC 9110 2.5) */
                /* cppcheck-suppress misra-c2012-10.6 ; false positive: int constants into an int */
                req->minor = (minor == '0') ? 0 : 1;
                s->state = REF_HS_LINE;
            }
        }
        break;
    }
    return r;
}

static void ref_head_add(ref_head_scan *s, size_t from, size_t to)
{
    http_req *req = s->req;
    req->headers[req->nheaders].value = ref_span(s->buf, from, to);
    req->nheaders++;
    s->state = REF_HS_VALUE_LF;
}

static ref_step_t ref_head_step_fields(ref_head_scan *s, size_t i, unsigned char c)
{
    http_req *req = s->req;
    ref_step_t r = REF_STEP_MORE;

    switch (s->state) {
    case REF_HS_LINE:
        if (c == (unsigned char)'\r') {
            s->state = REF_HS_END_LF;
        } else if (!ref_is_tchar(c)) {
            r = ref_head_fail(s, 400); /* obs-fold, leading whitespace, junk */
        } else if (req->nheaders >= (size_t)CFG_HTTP_MAX_HEADERS) {
            r = ref_head_fail(s, 431);
        } else {
            s->mark = i;
            s->state = REF_HS_NAME;
        }
        break;
    case REF_HS_NAME:
        if (c == (unsigned char)':') {
            req->headers[req->nheaders].name = ref_span(s->buf, s->mark, i);
            s->state = REF_HS_OWS;
        } else if (!ref_is_tchar(c)) {
            r = ref_head_fail(s, 400); /* includes whitespace before the colon */
        } else {
            /* more name */
        }
        break;
    case REF_HS_OWS:
        if (c == (unsigned char)'\r') {
            ref_head_add(s, i, i);
        } else if (ref_is_field_vchar(c)) {
            s->mark = i;
            s->value_end = i + 1u;
            s->state = REF_HS_VALUE;
        } else if (!ref_is_ows(c)) {
            r = ref_head_fail(s, 400);
        } else {
            /* leading OWS */
        }
        break;
    case REF_HS_VALUE:
        if (c == (unsigned char)'\r') {
            ref_head_add(s, s->mark, s->value_end);
        } else if (ref_is_field_vchar(c)) {
            s->value_end = i + 1u;
        } else if (!ref_is_ows(c)) {
            r = ref_head_fail(s, 400);
        } else {
            /* inner or trailing OWS */
        }
        break;
    case REF_HS_VALUE_LF:
        if (c != (unsigned char)'\n') {
            r = ref_head_fail(s, 400);
        } else {
            s->state = REF_HS_LINE;
        }
        break;
    default: /* REF_HS_END_LF */
        if (c != (unsigned char)'\n') {
            r = ref_head_fail(s, 400);
        } else {
            req->head_len = i + 1u;
            r = REF_STEP_DONE;
        }
        break;
    }
    return r;
}

static http_method ref_method_from(strv m)
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
static int ref_te_status(const http_req *req)
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
                strv item = strv_trim(ref_span(v.p, start, k));
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
static int ref_head_finish(http_req *req, bool absolute)
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

    req->method = ref_method_from(req->method_str);
    for (i = 0u; i < req->nheaders; i++) {
        const http_header *h = &req->headers[i];
        if (strv_ieq_cstr(h->name, "host")) {
            if ((hosts == 0u) && !absolute) {
                req->host = h->value;
            }
            hosts++;
            bad_host = bad_host || !ref_host_valid(h->value);
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
        status = ref_te_status(req);
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

static inline st_t ref_http_parse_head(const char *buf, size_t len, http_req *req, int *status)
{
    ref_head_scan s;
    size_t lim = (len < (size_t)CFG_HTTP_MAX_HEAD_BYTES) ? len : (size_t)CFG_HTTP_MAX_HEAD_BYTES;
    size_t i;
    ref_step_t r = REF_STEP_MORE;
    st_t st = ST_AGAIN;

    (void)memset(req, 0, sizeof *req);
    (void)memset(&s, 0, sizeof s);
    s.buf = buf;
    s.req = req;
    s.state = REF_HS_LEAD;
    *status = 0;

    /* cppcheck-suppress knownConditionTrueFalse ; false positive: lim is len capped, often > 0 */
    for (i = 0u; (i < lim) && (r == REF_STEP_MORE); i++) {
        unsigned char c = (unsigned char)buf[i];
        r = (s.state < REF_HS_LINE) ? ref_head_step_request_line(&s, i, c) : ref_head_step_fields(&s, i, c);
    }

    if (r == REF_STEP_DONE) {
        *status = ref_head_finish(req, s.absolute);
        st = (*status == 0) ? ST_OK : ST_BAD;
    } else if (r == REF_STEP_FAIL) {
        *status = s.status;
        st = ST_BAD;
    } else if (len >= (size_t)CFG_HTTP_MAX_HEAD_BYTES) {
        *status = ref_http_head_overflow_status(buf, lim);
        st = ST_BAD;
    } else {
        st = ST_AGAIN;
    }
    return st;
}

static inline bool ref_http_head_worth_parsing(const char *buf, size_t prev_len, size_t len)
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

static int ref_http_head_overflow_status(const char *buf, size_t len)
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

static inline strv ref_http_header_get(const http_req *req, const char *name)
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

#endif
