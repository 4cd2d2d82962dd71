/*
 * test_resp.c - the response writer: output parsed back as HTTP/1.1, HEAD and
 * bodiless statuses, sticky overflow at every capacity, bodies written in
 * several commits.
 *
 * The writer has no printf family; the reference below is the writer as it
 * was on snprintf, and every status from -1 to 1000 (and the int extremes),
 * keep-alive on and off, HEAD, bodies up to the room and every capacity
 * around the limits must give the same bytes. The pieces it is made of are
 * checked against the C library too: core/fmt against snprintf, the Date
 * line against gmtime + strftime, across a clock that jumps back.
 *
 * The overflow sweeps use a heap buffer of exactly cap bytes per run, so the
 * sanitizer build catches any write past cap.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/fmt.h"
#include "core/strv.h"
#include "http/resp.h"
#include "port.h"
#include "t.h"

/* ---- a small parser for what resp writes --------------------------------- */

typedef struct {
    strv status_line;
    strv names[16];
    strv values[16];
    size_t nheaders;
    size_t head_len;     /* including the blank line */
    strv body;
    bool ok;
} parsed;

static size_t find(const char *p, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    size_t i;
    for (i = 0u; (i + k) <= n; i++) {
        if (memcmp(p + i, needle, k) == 0) {
            return i;
        }
    }
    return SIZE_MAX;
}

/* Status line, then "Name: value" lines, then CRLF, then the body (the rest). */
static parsed parse(const char *buf, size_t n)
{
    parsed r;
    size_t end = find(buf, n, "\r\n\r\n");
    size_t pos;
    memset(&r, 0, sizeof r);
    if (end == SIZE_MAX) {
        return r;
    }
    r.head_len = end + 4u;
    r.body.p = buf + r.head_len;
    r.body.n = n - r.head_len;
    pos = find(buf, end + 2u, "\r\n");
    r.status_line.p = buf;
    r.status_line.n = pos;
    pos += 2u;
    r.ok = true;
    while (pos < (end + 2u)) {
        size_t eol = pos + find(buf + pos, (end + 2u) - pos, "\r\n");
        size_t colon = find(buf + pos, eol - pos, ": ");
        if ((colon == SIZE_MAX) || (colon == 0u) || (r.nheaders >= 16u)) {
            r.ok = false;
            return r;
        }
        r.names[r.nheaders].p = buf + pos;
        r.names[r.nheaders].n = colon;
        r.values[r.nheaders].p = buf + pos + colon + 2u;
        r.values[r.nheaders].n = eol - (pos + colon + 2u);
        r.nheaders++;
        pos = eol + 2u;
    }
    return r;
}

static strv header(const parsed *r, const char *name)
{
    size_t i;
    strv v = STRV_NULL;
    size_t seen = 0u;
    for (i = 0u; i < r->nheaders; i++) {
        if (strv_ieq_cstr(r->names[i], name)) {
            v = r->values[i];
            seen++;
        }
    }
    return (seen == 1u) ? v : STRV_NULL;   /* absent or repeated: NULL */
}

static bool has_header(const parsed *r, const char *name)
{
    size_t i;
    for (i = 0u; i < r->nheaders; i++) {
        if (strv_ieq_cstr(r->names[i], name)) {
            return true;
        }
    }
    return false;
}

/* IMF-fixdate of now or of one of the two seconds before. */
static bool date_ok(strv d)
{
    uint64_t t = clock_wall_us();
    uint64_t k;
    bool ok = false;
    for (k = 0u; (k < 3u) && !ok && (d.p != NULL); k++) {
        char want[40];
        size_t n = clock_format(t - (k * 1000000u), CLOCK_FMT_HTTP, want, sizeof want);
        ok = (n == 29u) && strv_eq(d, strv_from_cstr(want));
    }
    return ok;
}

static bool u64_header(const parsed *r, const char *name, uint64_t want)
{
    uint64_t v = 0u;
    return strv_to_u64(header(r, name), UINT64_MAX, &v) && (v == want);
}

/* ---- basic shape -------------------------------------------------------- */

static void test_full_response(void)
{
    char buf[512];
    resp_t r;
    size_t total = 0u;
    parsed p;
    static const char body[] = "{\"ok\":true}";
    memset(buf, '#', sizeof buf);
    resp_begin(&r, buf, sizeof buf, 200, true, false);
    resp_header_cstr(&r, "Content-Type", "application/json");
    resp_header_u64(&r, "X-Count", 18446744073709551615ull);
    resp_header(&r, "X-Empty", STRV_LIT(""));
    resp_body_append(&r, body, sizeof body - 1u);
    T_EQ_INT(resp_end(&r, &total), ST_OK);
    p = parse(buf, total);
    T_CHECK(p.ok);
    T_EQ_MEM(p.status_line.p, p.status_line.n, "HTTP/1.1 200 OK");
    T_CHECK(date_ok(header(&p, "Date")));
    T_EQ_MEM(header(&p, "Connection").p, header(&p, "Connection").n, "keep-alive");
    T_EQ_MEM(header(&p, "Content-Type").p, header(&p, "Content-Type").n, "application/json");
    T_CHECK(u64_header(&p, "X-Count", UINT64_MAX));
    T_CHECK(has_header(&p, "X-Empty") && (header(&p, "X-Empty").n == 0u));
    T_CHECK(u64_header(&p, "Content-Length", sizeof body - 1u));
    T_EQ_MEM(p.body.p, p.body.n, "{\"ok\":true}");
    T_EQ_INT(total, p.head_len + sizeof body - 1u);
    /* Status line, Date, Connection come first, in that order. */
    T_CHECK(strv_eq_cstr(p.names[0], "Date"));
    T_CHECK(strv_eq_cstr(p.names[1], "Connection"));
    T_EQ_INT(p.nheaders, 6);
    T_EQ_INT(buf[total], '#');               /* nothing written past total... */
}

static void test_close_and_empty_body(void)
{
    char buf[256];
    resp_t r;
    size_t total = 0u;
    parsed p;
    resp_begin(&r, buf, sizeof buf, 404, false, false);
    T_EQ_INT(resp_end(&r, &total), ST_OK);
    p = parse(buf, total);
    T_CHECK(p.ok);
    T_EQ_MEM(p.status_line.p, p.status_line.n, "HTTP/1.1 404 Not Found");
    T_EQ_MEM(header(&p, "Connection").p, header(&p, "Connection").n, "close");
    T_CHECK(u64_header(&p, "Content-Length", 0u));
    T_EQ_INT(p.body.n, 0);
    T_EQ_INT(total, p.head_len);
    /* Entering the body without writing any is the same. */
    resp_begin(&r, buf, sizeof buf, 201, true, false);
    {
        size_t room = 0u;
        (void)resp_body(&r, &room);
        T_EQ_INT(room, sizeof buf - r.len - RESP_CL_SLACK);
    }
    T_EQ_INT(resp_end(&r, &total), ST_OK);
    p = parse(buf, total);
    T_EQ_MEM(p.status_line.p, p.status_line.n, "HTTP/1.1 201 Created");
    T_CHECK(u64_header(&p, "Content-Length", 0u));
    T_EQ_INT(p.body.n, 0);
}

static void test_head_keeps_length(void)
{
    char buf[256];
    resp_t r;
    size_t total = 0u;
    parsed p;
    resp_begin(&r, buf, sizeof buf, 200, true, true);
    resp_header_cstr(&r, "Content-Type", "text/plain");
    resp_body_append(&r, "hello, ", 7u);
    resp_body_append(&r, "world", 5u);
    T_EQ_INT(resp_end(&r, &total), ST_OK);
    p = parse(buf, total);
    T_CHECK(p.ok);
    T_CHECK(u64_header(&p, "Content-Length", 12u));   /* what GET would send */
    T_EQ_INT(p.body.n, 0);
    T_EQ_INT(total, p.head_len);
}

static void check_bodiless(int status, const char *line)
{
    char buf[256];
    resp_t r;
    size_t total = 0u;
    parsed p;
    resp_begin(&r, buf, sizeof buf, status, true, false);
    resp_header_cstr(&r, "X-A", "1");
    resp_body_append(&r, "dropped", 7u);       /* a handler mistake: dropped */
    T_EQ_INT(resp_end(&r, &total), ST_OK);
    p = parse(buf, total);
    T_CHECK(p.ok);
    T_CHECK(strv_eq_cstr(p.status_line, line));
    T_CHECK(!has_header(&p, "Content-Length"));
    T_CHECK(has_header(&p, "X-A"));
    T_CHECK(date_ok(header(&p, "Date")));
    T_EQ_INT(p.body.n, 0);
    T_EQ_INT(total, p.head_len);
}

static void test_no_content_statuses(void)
{
    check_bodiless(204, "HTTP/1.1 204 No Content");
    check_bodiless(304, "HTTP/1.1 304 Not Modified");
    check_bodiless(100, "HTTP/1.1 100 Continue");
    check_bodiless(101, "HTTP/1.1 101 Switching Protocols");
}

static void test_reason(void)
{
    char buf[256];
    resp_t r;
    size_t total = 0u;
    parsed p;
    T_EQ_STR(resp_reason(200), "OK");
    T_EQ_STR(resp_reason(405), "Method Not Allowed");
    T_EQ_STR(resp_reason(503), "Service Unavailable");
    T_EQ_STR(resp_reason(426), "Upgrade Required");   /* WebSocket version refused */
    T_EQ_STR(resp_reason(599), "Unknown");
    resp_begin(&r, buf, sizeof buf, 599, true, false);
    T_EQ_INT(resp_end(&r, &total), ST_OK);
    p = parse(buf, total);
    T_CHECK(strv_eq_cstr(p.status_line, "HTTP/1.1 599 Unknown"));
}

/* ---- body in several commits -------------------------------------------- */

static void test_body_commits(void)
{
    char buf[512];
    resp_t r;
    size_t room0 = 0u;
    size_t room = 0u;
    size_t total = 0u;
    char *p0;
    char *p;
    parsed pr;
    resp_begin(&r, buf, sizeof buf, 200, true, false);
    resp_header_cstr(&r, "Content-Type", "text/plain");
    p0 = resp_body(&r, &room0);
    T_CHECK(p0 == (buf + r.len + RESP_CL_SLACK));
    T_EQ_INT(room0, sizeof buf - r.len - RESP_CL_SLACK);
    memcpy(p0, "abc", 3u);
    resp_body_commit(&r, 3u);
    p = resp_body(&r, &room);
    T_CHECK(p == (p0 + 3));
    T_EQ_INT(room, room0 - 3u);
    memcpy(p, "defg", 4u);
    resp_body_commit(&r, 4u);
    resp_body_commit(&r, 0u);
    resp_body_append(&r, "hij", 3u);
    p = resp_body(&r, &room);
    T_CHECK(p == (p0 + 10));
    T_EQ_INT(room, room0 - 10u);
    T_EQ_INT(resp_end(&r, &total), ST_OK);
    pr = parse(buf, total);
    T_CHECK(pr.ok);
    T_CHECK(u64_header(&pr, "Content-Length", 10u));
    T_EQ_MEM(pr.body.p, pr.body.n, "abcdefghij");
}

static void test_body_fills_room_exactly(void)
{
    char buf[300];
    resp_t r;
    size_t room = 0u;
    size_t total = 0u;
    char *p;
    parsed pr;
    size_t i;
    resp_begin(&r, buf, sizeof buf, 200, false, false);
    p = resp_body(&r, &room);
    for (i = 0u; i < room; i++) {
        p[i] = (char)('a' + (char)(i % 26u));
    }
    resp_body_commit(&r, room);
    T_EQ_INT(resp_end(&r, &total), ST_OK);
    pr = parse(buf, total);
    T_CHECK(pr.ok);
    T_CHECK(u64_header(&pr, "Content-Length", room));
    T_EQ_INT(pr.body.n, room);
    T_CHECK((pr.body.n > 0u) && (pr.body.p[0] == 'a') &&
            (pr.body.p[room - 1u] == (char)('a' + (char)((room - 1u) % 26u))));
}

static void test_commit_too_much(void)
{
    char buf[256];
    resp_t r;
    size_t room = 0u;
    size_t total = 99u;
    resp_begin(&r, buf, sizeof buf, 200, true, false);
    (void)resp_body(&r, &room);
    resp_body_commit(&r, room + 1u);
    T_CHECK(r.overflow);
    resp_body_append(&r, "x", 1u);        /* sticky: a fitting write is refused too */
    T_EQ_INT(r.body_len, 0);
    T_EQ_INT(resp_end(&r, &total), ST_FULL);
    T_EQ_INT(total, 0);
}

static void test_header_after_body(void)
{
    char buf[256];
    resp_t r;
    size_t total = 99u;
    resp_begin(&r, buf, sizeof buf, 200, true, false);
    resp_body_append(&r, "x", 1u);
    resp_header_cstr(&r, "X-Late", "1");  /* a bug in the caller: answered 500 */
    T_EQ_INT(resp_end(&r, &total), ST_FULL);
    T_EQ_INT(total, 0);
}

static void test_header_injection(void)
{
    char buf[256];
    resp_t r;
    size_t total = 99u;
    static const char nul_value[] = { 'a', '\0', 'b' };
    strv v = { nul_value, sizeof nul_value };
    resp_begin(&r, buf, sizeof buf, 200, true, false);
    resp_header_cstr(&r, "Content-Disposition", "attachment; filename=\"a\r\nX-Evil: 1\"");
    T_EQ_INT(resp_end(&r, &total), ST_FULL);
    T_EQ_INT(total, 0);
    resp_begin(&r, buf, sizeof buf, 200, true, false);
    resp_header_cstr(&r, "X-A", "line\nbreak");
    T_EQ_INT(resp_end(&r, &total), ST_FULL);
    resp_begin(&r, buf, sizeof buf, 200, true, false);
    resp_header(&r, "X-A", v);
    T_EQ_INT(resp_end(&r, &total), ST_FULL);
    /* Tabs and obs-text are fine. */
    resp_begin(&r, buf, sizeof buf, 200, true, false);
    resp_header_cstr(&r, "X-A", "a\tb \xc3\xa9");
    T_EQ_INT(resp_end(&r, &total), ST_OK);
}

static void test_end_failure_is_sticky(void)
{
    char buf[200];
    resp_t r;
    size_t total = 99u;
    size_t head;
    /* Find the head size, then leave one byte less than the slack. */
    resp_begin(&r, buf, sizeof buf, 200, true, false);
    head = r.len;
    resp_begin(&r, buf, head + RESP_CL_SLACK - 1u, 200, true, false);
    T_CHECK(!r.overflow);
    T_EQ_INT(resp_end(&r, &total), ST_FULL);
    T_EQ_INT(total, 0);
    T_CHECK(r.overflow);
    resp_begin(&r, buf, head + RESP_CL_SLACK, 200, true, false);
    T_EQ_INT(resp_end(&r, &total), ST_OK);
    T_EQ_INT(total, head + 21u);              /* "Content-Length: 0\r\n\r\n" */
}

/* ---- overflow at every capacity ------------------------------------------ */

typedef enum { BUILD_APPEND, BUILD_COMMIT, BUILD_NOBODY, BUILD_204, BUILD_HEAD } build_kind;

/* Blank the Date value so two runs a second apart compare equal. */
static void blank_date(char *buf, size_t n)
{
    size_t at = find(buf, n, "\r\nDate: ");
    if ((at != SIZE_MAX) && ((at + 8u + 29u) <= n)) {
        memset(buf + at + 8u, 'D', 29u);
    }
}

/* Writes one response into buf[0..cap); checks stickiness on the way:
 * once r.overflow is set, r.len and r.body_len never change again.
 * *head is r.len before the body. */
static st_t build(build_kind kind, char *buf, size_t cap, size_t *total, size_t *head)
{
    static const char chunk[] = "0123456789abcdef";
    resp_t r;
    size_t len_at = 0u;
    size_t body_at = 0u;
    bool seen = false;
    int step;
    int status = (kind == BUILD_204) ? 204 : 200;
    resp_begin(&r, buf, cap, status, true, kind == BUILD_HEAD);
    for (step = 0; step < 8; step++) {
        if (r.overflow) {
            if (!seen) {
                seen = true;
                len_at = r.len;
                body_at = r.body_len;
            }
            T_EQ_INT(r.len, len_at);
            T_EQ_INT(r.body_len, body_at);
        }
        switch (step) {
        case 0:
            resp_header_cstr(&r, "Content-Type", "application/json");
            break;
        case 1:
            resp_header_u64(&r, "X-Request-Id", 1234567u);
            *head = r.len;
            break;
        case 2:
        case 3:
        case 4:
            if (kind == BUILD_COMMIT) {
                size_t room = 0u;
                char *p = resp_body(&r, &room);
                if (room >= 16u) {
                    memcpy(p, chunk, 16u);
                }
                resp_body_commit(&r, 16u);
            } else if (kind != BUILD_NOBODY) {
                resp_body_append(&r, chunk, 16u);
            } else {
                /* no body */
            }
            break;
        default:
            break;
        }
    }
    return resp_end(&r, total);
}

static void sweep(build_kind kind, size_t body_len)
{
    char ref[1024];
    size_t ref_total = 0u;
    size_t head = 0u;
    size_t needed;
    size_t cap;
    int wrong_status = 0;
    int wrong_bytes = 0;
    T_EQ_INT(build(kind, ref, sizeof ref, &ref_total, &head), ST_OK);
    blank_date(ref, ref_total);
    /* The contract: head + RESP_CL_SLACK + body, also when the body is
     * empty or dropped (HEAD, 204), because the body goes after the slack
     * while it is written. */
    needed = head + RESP_CL_SLACK + body_len;
    for (cap = 0u; cap <= (needed + 3u); cap++) {
        char *buf = malloc((cap > 0u) ? cap : 1u);
        size_t total = 12345u;
        size_t h = 0u;
        st_t st;
        if (buf == NULL) {
            T_CHECK(buf != NULL);
            return;
        }
        st = build(kind, buf, cap, &total, &h);
        if (cap < needed) {
            if ((st != ST_FULL) || (total != 0u)) {
                wrong_status++;
            }
        } else if ((st != ST_OK) || (total != ref_total)) {
            wrong_status++;
        } else {
            blank_date(buf, total);
            if (memcmp(buf, ref, total) != 0) {
                wrong_bytes++;
            }
        }
        free(buf);
    }
    T_EQ_INT(wrong_status, 0);
    T_EQ_INT(wrong_bytes, 0);
}

static void test_overflow_every_cap(void)
{
    char ref[1024];
    size_t total = 0u;
    size_t head = 0u;
    parsed p;
    sweep(BUILD_APPEND, 48u);
    sweep(BUILD_COMMIT, 48u);
    sweep(BUILD_NOBODY, 0u);
    sweep(BUILD_204, 48u);
    sweep(BUILD_HEAD, 48u);
    /* And the reference outputs are what they should be. */
    T_EQ_INT(build(BUILD_COMMIT, ref, sizeof ref, &total, &head), ST_OK);
    p = parse(ref, total);
    T_CHECK(u64_header(&p, "Content-Length", 48u));
    T_EQ_INT(p.body.n, 48);
    T_EQ_INT(build(BUILD_HEAD, ref, sizeof ref, &total, &head), ST_OK);
    p = parse(ref, total);
    T_CHECK(u64_header(&p, "Content-Length", 48u));
    T_EQ_INT(p.body.n, 0);
    T_EQ_INT(build(BUILD_204, ref, sizeof ref, &total, &head), ST_OK);
    p = parse(ref, total);
    T_CHECK(!has_header(&p, "Content-Length"));
    T_EQ_INT(p.body.n, 0);
}

/* ---- the reference: the writer as it was, on snprintf --------------------- */

static const char *g_ref_date;   /* the IMF-fixdate the reference writes */

static void ref_put(resp_t *r, const char *s, size_t n)
{
    if (r->overflow || (n > (r->cap - r->len))) {
        r->overflow = true;
        return;
    }
    memcpy(r->buf + r->len, s, n);
    r->len += n;
}

static void ref_put_cstr(resp_t *r, const char *s)
{
    ref_put(r, s, strlen(s));
}

static const char *ref_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

static void ref_begin(resp_t *r, char *buf, size_t cap, int status, bool keep_alive,
                      bool head_only)
{
    char line[64];
    int k;
    r->buf = buf;
    r->cap = cap;
    r->len = 0u;
    r->body_len = 0u;
    r->in_body = false;
    r->overflow = false;
    r->status = status;
    r->no_length = (status < 200) || (status == 204) || (status == 304);
    r->head_only = head_only || r->no_length;
    k = snprintf(line, sizeof line, "HTTP/1.1 %d %s\r\n", status, ref_reason(status));
    ref_put(r, line, (k > 0) ? (size_t)k : 0u);
    ref_put_cstr(r, "Date: ");
    ref_put_cstr(r, g_ref_date);
    ref_put_cstr(r, keep_alive ? "\r\nConnection: keep-alive\r\n" : "\r\nConnection: close\r\n");
}

static void ref_header(resp_t *r, const char *name, strv value)
{
    size_t i;
    for (i = 0u; i < value.n; i++) {
        if ((value.p[i] == '\r') || (value.p[i] == '\n') || (value.p[i] == '\0')) {
            r->overflow = true;
            return;
        }
    }
    if (r->in_body) {
        r->overflow = true;
        return;
    }
    ref_put_cstr(r, name);
    ref_put(r, ": ", 2u);
    ref_put(r, value.p, value.n);
    ref_put(r, "\r\n", 2u);
}

static void ref_header_cstr(resp_t *r, const char *name, const char *value)
{
    ref_header(r, name, strv_from_cstr(value));
}

static void ref_header_u64(resp_t *r, const char *name, unsigned long long value)
{
    char num[24];
    int k = snprintf(num, sizeof num, "%llu", value);
    strv v = { num, (k > 0) ? (size_t)k : 0u };
    ref_header(r, name, v);
}

static char *ref_body(resp_t *r, size_t *room)
{
    size_t start;
    r->in_body = true;
    start = r->len + RESP_CL_SLACK;
    if (r->overflow || (start > r->cap)) {
        r->overflow = true;
        *room = 0u;
        return r->buf + r->len;
    }
    *room = r->cap - start - r->body_len;
    return r->buf + start + r->body_len;
}

static void ref_body_commit(resp_t *r, size_t n)
{
    size_t room = 0u;
    (void)ref_body(r, &room);
    if (n > room) {
        r->overflow = true;
        return;
    }
    r->body_len += n;
}

static void ref_body_append(resp_t *r, const char *s, size_t n)
{
    size_t room = 0u;
    char *p = ref_body(r, &room);
    if (r->overflow || (n > room)) {
        r->overflow = true;
        return;
    }
    memcpy(p, s, n);
    r->body_len += n;
}

static st_t ref_end(resp_t *r, size_t *total)
{
    char cl[RESP_CL_SLACK + 1u];
    int k;
    size_t body_at = r->len + RESP_CL_SLACK;
    if (!r->in_body) {
        r->body_len = 0u;
    }
    if (r->overflow) {
        *total = 0u;
        return ST_FULL;
    }
    if (r->no_length) {
        k = snprintf(cl, sizeof cl, "\r\n");
    } else {
        k = snprintf(cl, sizeof cl, "Content-Length: %lu\r\n\r\n", (unsigned long)r->body_len);
    }
    if ((k <= 0) || ((size_t)k > RESP_CL_SLACK) || ((r->len + RESP_CL_SLACK) > r->cap)) {
        r->overflow = true;
        *total = 0u;
        return ST_FULL;
    }
    memcpy(r->buf + r->len, cl, (size_t)k);
    r->len += (size_t)k;
    if (!r->head_only && (r->body_len > 0u)) {
        memmove(r->buf + r->len, r->buf + body_at, r->body_len);
        r->len += r->body_len;
    }
    *total = r->len;
    return ST_OK;
}

/* ---- one script, run through both writers ---------------------------------- */

typedef struct {
    void (*begin)(resp_t *, char *, size_t, int, bool, bool);
    void (*header_cstr)(resp_t *, const char *, const char *);
    void (*header_u64)(resp_t *, const char *, unsigned long long);
    char *(*body)(resp_t *, size_t *);
    void (*body_commit)(resp_t *, size_t);
    void (*body_append)(resp_t *, const char *, size_t);
    st_t (*end)(resp_t *, size_t *);
} writer;

static const writer k_new = { resp_begin, resp_header_cstr, resp_header_u64, resp_body,
                              resp_body_commit, resp_body_append, resp_end };
static const writer k_ref = { ref_begin, ref_header_cstr, ref_header_u64, ref_body,
                              ref_body_commit, ref_body_append, ref_end };

typedef enum { BODY_NONE, BODY_ENTER, BODY_APPEND, BODY_COMMIT } body_mode;

typedef struct {
    int status;
    bool keep_alive;
    bool head_only;
    const char *text_name;        /* a text header, or NULL */
    const char *text_value;
    const char *u64_name;         /* an integer header, or NULL */
    unsigned long long u64_value;
    body_mode mode;
    size_t body;                  /* bytes, written in pieces of `piece` */
    size_t piece;
} script;

static st_t play(const writer *w, const script *s, char *buf, size_t cap, size_t *total)
{
    resp_t r;
    size_t done = 0u;
    w->begin(&r, buf, cap, s->status, s->keep_alive, s->head_only);
    if (s->text_name != NULL) {
        w->header_cstr(&r, s->text_name, s->text_value);
    }
    if (s->u64_name != NULL) {
        w->header_u64(&r, s->u64_name, s->u64_value);
    }
    if (s->mode == BODY_ENTER) {
        size_t room = 0u;
        (void)w->body(&r, &room);
    }
    while ((s->mode >= BODY_APPEND) && (done < s->body)) {
        size_t n = ((s->body - done) < s->piece) ? (s->body - done) : s->piece;
        char piece[64];
        size_t i;
        for (i = 0u; i < n; i++) {
            piece[i] = (char)('a' + (char)((done + i) % 26u));
        }
        if (s->mode == BODY_APPEND) {
            w->body_append(&r, piece, n);
        } else {
            size_t room = 0u;
            char *p = w->body(&r, &room);
            if (room >= n) {
                memcpy(p, piece, n);
            }
            w->body_commit(&r, n);
        }
        done += n;
    }
    return w->end(&r, total);
}

static void http_date_of(uint64_t wall_us, char *out, size_t cap)
{
    time_t t = (time_t)(wall_us / 1000000u);
    struct tm *tm = gmtime(&t);
    size_t n = (tm != NULL) ? strftime(out, cap, "%a, %d %b %Y %H:%M:%S GMT", tm) : 0u;
    out[n] = '\0';
}

/* Both writers into buffers of exactly cap bytes filled alike: the same
 * status and total, and on success the same bytes over the whole buffer
 * (nothing else written either). After a failure the buffer holds nothing
 * a caller may read, so only the answer is compared. A run that straddles
 * a wall-clock second is run again. */
static bool same_as_ref(const script *s, size_t cap)
{
    int tries;
    for (tries = 0; tries < 5; tries++) {
        char *a = malloc((cap > 0u) ? cap : 1u);
        char *b = malloc((cap > 0u) ? cap : 1u);
        char date[64];
        size_t ta = 12345u;
        size_t tb = 54321u;
        uint64_t t0;
        uint64_t t1;
        st_t sa;
        st_t sb;
        bool same;
        if ((a == NULL) || (b == NULL)) {
            free(a);
            free(b);
            return false;
        }
        memset(a, '#', cap);
        memset(b, '#', cap);
        t0 = clock_wall_us();
        sa = play(&k_new, s, a, cap, &ta);
        t1 = clock_wall_us();
        http_date_of(t0, date, sizeof date);
        g_ref_date = date;
        sb = play(&k_ref, s, b, cap, &tb);
        same = (sa == sb) && (ta == tb) && ((sa != ST_OK) || (memcmp(a, b, cap) == 0));
        free(a);
        free(b);
        if ((t0 / 1000000u) == (t1 / 1000000u)) {
            return same;
        }
    }
    return false;
}

static void test_every_status_as_before(void)
{
    static const int extremes[] = { -1, INT_MIN, INT_MAX, 1000, 1001, 9999, 10000, 65535 };
    int bad = 0;
    int runs = 0;
    int status;
    size_t i;
    for (status = -1; status <= ((int)(sizeof extremes / sizeof extremes[0]) + 1000); status++) {
        int st = (status <= 1000) ? status : extremes[status - 1001];
        int flags;
        for (flags = 0; flags < 8; flags++) {
            script s = { st, (flags & 1) != 0, (flags & 2) != 0, "Content-Type",
                         "application/json", NULL, 0u,
                         ((flags & 4) != 0) ? BODY_APPEND : BODY_NONE, 11u, 5u };
            runs++;
            bad += same_as_ref(&s, 512u) ? 0 : 1;
        }
    }
    T_EQ_INT(bad, 0);
    T_CHECK(runs > 8000);
    /* and the reason table is the reference's */
    for (i = 0u; i <= 1000u; i++) {
        T_CHECK(strcmp(resp_reason((int)i), ref_reason((int)i)) == 0);
    }
}

static const unsigned long long k_u64_values[] = {
    0u, 1u, 9u, 10u, 11u, 99u, 100u, 101u, 999u, 1000u, 65535u, 65536u, 4294967295u,
    4294967296u, 9999999999999999999u, 10000000000000000000u, 9223372036854775807u,
    9223372036854775808u, 18446744073709551614u, 18446744073709551615u
};

static void test_u64_headers_as_before(void)
{
    int bad = 0;
    size_t i;
    for (i = 0u; i < (sizeof k_u64_values / sizeof k_u64_values[0]); i++) {
        int ka;
        for (ka = 0; ka < 2; ka++) {
            script s = { 200, ka != 0, false, NULL, NULL, "X-Count", k_u64_values[i],
                         BODY_APPEND, 3u, 3u };
            bad += same_as_ref(&s, 256u) ? 0 : 1;
            s.text_name = "Content-Type";
            s.text_value = "text/plain";
            s.status = 404;
            bad += same_as_ref(&s, 256u) ? 0 : 1;
        }
    }
    T_EQ_INT(bad, 0);
}

/* Bodies of every size up to the room, appended or committed in pieces. */
static void test_bodies_as_before(void)
{
    static const size_t caps[] = { 160u, 300u, 700u };
    int bad = 0;
    size_t c;
    for (c = 0u; c < (sizeof caps / sizeof caps[0]); c++) {
        int flags;
        for (flags = 0; flags < 8; flags++) {
            size_t body;
            for (body = 0u; body <= caps[c]; body++) {
                script s = { 200, (flags & 1) != 0, (flags & 2) != 0, "Content-Type",
                             "text/plain", "X-Id", 42u,
                             ((flags & 4) != 0) ? BODY_COMMIT : BODY_APPEND, body,
                             (body % 7u) + 1u };
                bad += same_as_ref(&s, caps[c]) ? 0 : 1;
            }
        }
    }
    T_EQ_INT(bad, 0);
}

/* Every capacity from nothing to past what the response needs: the same
 * answer (ST_FULL at the same caps) and the same bytes. */
static void test_every_cap_as_before(void)
{
    static const int statuses[] = { 200, 204, 304, 101, 404, 299, 599, 999, 0, -1 };
    static const size_t bodies[] = { 0u, 1u, 48u };
    int bad = 0;
    size_t si;
    for (si = 0u; si < (sizeof statuses / sizeof statuses[0]); si++) {
        size_t bi;
        for (bi = 0u; bi < (sizeof bodies / sizeof bodies[0]); bi++) {
            int flags;
            for (flags = 0; flags < 16; flags++) {
                script s = { statuses[si], (flags & 1) != 0, (flags & 2) != 0,
                             ((flags & 8) != 0) ? "Content-Type" : NULL, "application/json",
                             "X-Big", 18446744073709551615u,
                             ((flags & 4) != 0) ? BODY_COMMIT : BODY_APPEND, bodies[bi], 16u };
                size_t cap;
                if (bodies[bi] == 0u) {
                    s.mode = ((flags & 4) != 0) ? BODY_ENTER : BODY_NONE;
                }
                for (cap = 0u; cap <= 320u; cap++) {
                    bad += same_as_ref(&s, cap) ? 0 : 1;
                }
            }
        }
    }
    T_EQ_INT(bad, 0);
}

/* ---- core/fmt against snprintf --------------------------------------------- */

static uint64_t g_rng = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void)
{
    /* xorshift64*: fixed seed, the same values every run */
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return g_rng * 2685821657736338717u;
}

/* fmt_u64 of v at every cap from 0 to its length + 1: nothing written below
 * the length, the snprintf text from it on, never a byte past the text. */
static int check_u64(uint64_t v)
{
    char want[32];
    int k = snprintf(want, sizeof want, "%llu", (unsigned long long)v);
    size_t cap;
    int bad = 0;
    for (cap = 0u; cap <= ((size_t)k + 1u); cap++) {
        char out[32];
        size_t n;
        memset(out, '#', sizeof out);
        n = fmt_u64(out, cap, v);
        if (cap < (size_t)k) {
            bad += ((n == 0u) && (out[0] == '#')) ? 0 : 1;
        } else {
            bad += ((n == (size_t)k) && (memcmp(out, want, n) == 0) && (out[n] == '#')) ? 0 : 1;
        }
    }
    return bad;
}

static int check_i64(int64_t v)
{
    char want[32];
    char out[32];
    int k = snprintf(want, sizeof want, "%lld", (long long)v);
    size_t n;
    int bad = 0;
    memset(out, '#', sizeof out);
    n = fmt_i64(out, sizeof out, v);
    bad += ((n == (size_t)k) && (memcmp(out, want, n) == 0) && (out[n] == '#')) ? 0 : 1;
    memset(out, '#', sizeof out);
    bad += ((fmt_i64(out, (size_t)k - 1u, v) == 0u) && (out[0] == '#')) ? 0 : 1;
    bad += (fmt_i64(out, (size_t)k, v) == (size_t)k) ? 0 : 1;
    return bad;
}

static int check_pad_hex(uint64_t v)
{
    int bad = 0;
    size_t w;
    for (w = 0u; w <= FMT_U64_MAX; w++) {
        char want[40];
        char out[40];
        int k = snprintf(want, sizeof want, "%0*llu", (int)w, (unsigned long long)v);
        size_t n = fmt_u64_pad(out, sizeof out, v, w);
        bad += ((n == (size_t)k) && (memcmp(out, want, n) == 0)) ? 0 : 1;
    }
    for (w = 1u; w <= 16u; w++) {
        char want[40];
        char out[40];
        uint64_t low = (w == 16u) ? v : (v & ((UINT64_C(1) << (4u * w)) - 1u));
        int k = snprintf(want, sizeof want, "%0*llx", (int)w, (unsigned long long)low);
        size_t n;
        memset(out, '#', sizeof out);
        n = fmt_hex_fixed(out, sizeof out, v, w);
        bad += ((n == w) && ((size_t)k == w) && (memcmp(out, want, n) == 0) && (out[n] == '#'))
                   ? 0 : 1;
        bad += (fmt_hex_fixed(out, w - 1u, v, w) == 0u) ? 0 : 1;
    }
    return bad;
}

static void test_fmt_as_snprintf(void)
{
    int bad = 0;
    uint64_t p10 = 1u;
    unsigned i;
    char out[40];
    for (i = 0u; i <= 100000u; i++) {
        bad += check_u64(i);
    }
    for (i = 0u; i < 20u; i++) {
        bad += check_u64(p10 - 1u) + check_u64(p10) + check_u64(p10 + 1u);
        bad += check_i64((int64_t)(p10 - 1u)) + check_i64(-(int64_t)(p10 - 1u));
        if (i < 19u) {
            bad += check_i64((int64_t)p10) + check_i64(-(int64_t)p10);
            p10 *= 10u;
        }
    }
    for (i = 0u; i < 64u; i++) {
        uint64_t b = UINT64_C(1) << i;
        bad += check_u64(b - 1u) + check_u64(b) + check_u64(b + 1u);
        bad += check_pad_hex(b - 1u) + check_pad_hex(b);
    }
    bad += check_u64(UINT64_MAX) + check_u64(UINT64_MAX - 1u);
    bad += check_i64(INT64_MIN) + check_i64(INT64_MIN + 1) + check_i64(INT64_MAX);
    bad += check_i64(0) + check_i64(-1) + check_i64(1);
    bad += check_pad_hex(0u) + check_pad_hex(UINT64_MAX);
    for (i = 0u; i < 200000u; i++) {
        uint64_t v = rnd() >> (rnd() % 64u);   /* every length, not mostly 20 digits */
        bad += check_u64(v);
        bad += check_i64((int64_t)v);
        if ((i % 16u) == 0u) {
            bad += check_pad_hex(v);
        }
    }
    T_EQ_INT(bad, 0);
    /* out-of-range arguments */
    T_EQ_INT(fmt_hex_fixed(out, sizeof out, 1u, 0u), 0);
    T_EQ_INT(fmt_hex_fixed(out, sizeof out, 1u, 17u), 0);
    T_EQ_INT(fmt_u64_pad(out, sizeof out, 7u, 25u), FMT_U64_MAX);   /* width capped */
    T_EQ_INT(fmt_u64(out, 0u, 0u), 0);
    T_EQ_INT(fmt_i64(out, 1u, -1), 0);
}

/* ---- the Date line against gmtime + strftime -------------------------------- */

static bool date_line_is(uint64_t wall_us)
{
    char want[80] = "Date: ";
    strv got = resp_date_line(wall_us);
    http_date_of(wall_us, want + 6, sizeof want - 8u);
    strcat(want, "\r\n");
    return strv_eq_cstr(got, want);
}

static bool http_date_is(uint64_t wall_us)
{
    char want[64];
    char got[64];
    size_t n = clock_format(wall_us, CLOCK_FMT_HTTP, got, sizeof got);
    http_date_of(wall_us, want, sizeof want);
    return (n == strlen(want)) && (strcmp(got, want) == 0);
}

static void test_date_as_strftime(void)
{
    static const uint64_t edges[] = {
        0u, 1u, 999999u, 1000000u, 59999999u, 86399999999u, 86400000000u,
        951782400000000u,                           /* 2000-02-29 00:00:00 */
        951868799000000u,                           /* 2000-02-29 23:59:59 */
        1078012800000000u,                          /* 2004-02-29 */
        1735689599999999u, 1735689600000000u,       /* 2024 -> 2025 */
        2147483647000000u, 2147483648000000u,       /* 2038-01-19 03:14:07/08 */
        4107542399000000u, 4107542400000000u,       /* 2100-02-28 -> 03-01 */
        13574563200000000u,                         /* 2400-02-29 */
        253402300799000000u, 253402300800000000u,   /* 9999-12-31 -> year 10000 */
        UINT64_MAX
    };
    int bad = 0;
    size_t i;
    uint64_t day;
    for (i = 0u; i < (sizeof edges / sizeof edges[0]); i++) {
        bad += http_date_is(edges[i]) ? 0 : 1;
        bad += date_line_is(edges[i]) ? 0 : 1;
    }
    /* the first and last second of every day from 1970 to 2110: every end of
     * month and year, every leap day, 2038 and 2100 */
    for (day = 0u; day < (140u * 366u); day++) {
        uint64_t t = day * 86400000000u;
        bad += http_date_is(t) ? 0 : 1;
        bad += http_date_is(t + 86399999999u) ? 0 : 1;
    }
    for (i = 0u; i < 100000u; i++) {
        uint64_t t = rnd() >> (rnd() % 24u);
        bad += http_date_is(t) ? 0 : 1;
    }
    T_EQ_INT(bad, 0);
}

/* The cache is keyed on the second, not on "later than": a clock that goes
 * back (NTP, the port's fault injection) gets its own second's line. */
static void test_date_line_cache(void)
{
    const uint64_t t = 1771076232123456u;   /* Sat, 14 Feb 2026 13:37:12 */
    strv a;
    strv b;
    int bad = 0;
    size_t i;
    T_CHECK(date_line_is(t));
    a = resp_date_line(t);
    b = resp_date_line(t + 876543u);         /* the same second: the same line */
    T_CHECK((a.p == b.p) && (a.n == b.n) && (a.n == 37u));
    T_EQ_MEM(b.p, b.n, "Date: Sat, 14 Feb 2026 13:37:12 GMT\r\n");
    T_CHECK(date_line_is(t + 1000000u));     /* the next second */
    T_CHECK(date_line_is(t));                /* back one second */
    T_CHECK(date_line_is(t - 86400000000u)); /* back one day */
    T_CHECK(date_line_is(t - 999999u));      /* into the previous second */
    T_CHECK(date_line_is(0u));
    T_CHECK(date_line_is(t));
    for (i = 0u; i < 20000u; i++) {          /* back and forth at random */
        uint64_t u = t + (rnd() % 8000000000u) - 4000000000u;
        bad += date_line_is(u) ? 0 : 1;
    }
    T_EQ_INT(bad, 0);
}

/* The Date line of a response follows the wall clock through a jump back
 * (the port's clock fault, as the fault suite drives it). */
static strv begin_date(char *buf, size_t cap, parsed *p)
{
    resp_t r;
    size_t total = 0u;
    resp_begin(&r, buf, cap, 200, true, false);
    (void)resp_end(&r, &total);
    *p = parse(buf, total);
    return header(p, "Date");
}

static bool date_within(strv d, uint64_t from_us, uint64_t to_us)
{
    uint64_t s;
    for (s = from_us / 1000000u; s <= (to_us / 1000000u); s++) {
        char want[64];
        http_date_of(s * 1000000u, want, sizeof want);
        if (strv_eq_cstr(d, want)) {
            return true;
        }
    }
    return false;
}

static void test_date_follows_clock_jump_back(void)
{
    static const char *const jumps[] = { "-86400000", "-1000", "-1", "+86400000", "+1001" };
    char buf[256];
    parsed p;
    size_t i;
    for (i = 0u; i < (sizeof jumps / sizeof jumps[0]); i++) {
        uint64_t t0;
        uint64_t t1;
        strv d;
        (void)begin_date(buf, sizeof buf, &p);          /* the cache holds now */
        T_EQ_INT(port_fault_arm("clock_wall", 1u, false, jumps[i]), ST_OK);
        t0 = clock_wall_us();                            /* the jump lands here */
        d = begin_date(buf, sizeof buf, &p);
        t1 = clock_wall_us();
        port_fault_disarm();
        T_CHECK(date_within(d, t0, t1));
    }
}

int main(void)
{
    T_RUN(test_full_response);
    T_RUN(test_close_and_empty_body);
    T_RUN(test_head_keeps_length);
    T_RUN(test_no_content_statuses);
    T_RUN(test_reason);
    T_RUN(test_body_commits);
    T_RUN(test_body_fills_room_exactly);
    T_RUN(test_commit_too_much);
    T_RUN(test_header_after_body);
    T_RUN(test_header_injection);
    T_RUN(test_end_failure_is_sticky);
    T_RUN(test_overflow_every_cap);
    T_RUN(test_every_status_as_before);
    T_RUN(test_u64_headers_as_before);
    T_RUN(test_bodies_as_before);
    T_RUN(test_every_cap_as_before);
    T_RUN(test_fmt_as_snprintf);
    T_RUN(test_date_as_strftime);
    T_RUN(test_date_line_cache);
    T_RUN(test_date_follows_clock_jump_back);
    return t_done("resp");
}
