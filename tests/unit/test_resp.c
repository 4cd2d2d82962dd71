/*
 * test_resp.c - the response writer: output parsed back as HTTP/1.1, HEAD and
 * bodiless statuses, sticky overflow at every capacity, bodies written in
 * several commits.
 *
 * The overflow sweeps use a heap buffer of exactly cap bytes per run, so the
 * sanitizer build catches any write past cap.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/strv.h"
#include "http/resp.h"
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
    return t_done("resp");
}
