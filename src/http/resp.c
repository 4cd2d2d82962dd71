#include "http/resp.h"

#include <string.h>

#include "core/assert.h"
#include "core/clock.h"
#include "core/fmt.h"

/* The status lines, whole, made at compile time: a known status costs one
 * copy. The reason is the status line's text between the code and CRLF, kept
 * apart as a C string for resp_reason (the unit test checks the two agree). */
typedef struct {
    int status;
    const char *reason;
    strv line;
} status_line;

#define LINE(s) { (s), sizeof(s) - 1u }

static const status_line k_status_lines[] = {
    { 100, "Continue", LINE("HTTP/1.1 100 Continue\r\n") },
    { 101, "Switching Protocols", LINE("HTTP/1.1 101 Switching Protocols\r\n") },
    { 200, "OK", LINE("HTTP/1.1 200 OK\r\n") },
    { 201, "Created", LINE("HTTP/1.1 201 Created\r\n") },
    { 202, "Accepted", LINE("HTTP/1.1 202 Accepted\r\n") },
    { 204, "No Content", LINE("HTTP/1.1 204 No Content\r\n") },
    { 304, "Not Modified", LINE("HTTP/1.1 304 Not Modified\r\n") },
    { 400, "Bad Request", LINE("HTTP/1.1 400 Bad Request\r\n") },
    { 401, "Unauthorized", LINE("HTTP/1.1 401 Unauthorized\r\n") },
    { 403, "Forbidden", LINE("HTTP/1.1 403 Forbidden\r\n") },
    { 404, "Not Found", LINE("HTTP/1.1 404 Not Found\r\n") },
    { 405, "Method Not Allowed", LINE("HTTP/1.1 405 Method Not Allowed\r\n") },
    { 408, "Request Timeout", LINE("HTTP/1.1 408 Request Timeout\r\n") },
    { 409, "Conflict", LINE("HTTP/1.1 409 Conflict\r\n") },
    { 411, "Length Required", LINE("HTTP/1.1 411 Length Required\r\n") },
    { 413, "Content Too Large", LINE("HTTP/1.1 413 Content Too Large\r\n") },
    { 414, "URI Too Long", LINE("HTTP/1.1 414 URI Too Long\r\n") },
    { 415, "Unsupported Media Type", LINE("HTTP/1.1 415 Unsupported Media Type\r\n") },
    { 422, "Unprocessable Content", LINE("HTTP/1.1 422 Unprocessable Content\r\n") },
    { 426, "Upgrade Required", LINE("HTTP/1.1 426 Upgrade Required\r\n") },
    { 429, "Too Many Requests", LINE("HTTP/1.1 429 Too Many Requests\r\n") },
    { 431, "Request Header Fields Too Large",
      LINE("HTTP/1.1 431 Request Header Fields Too Large\r\n") },
    { 500, "Internal Server Error", LINE("HTTP/1.1 500 Internal Server Error\r\n") },
    { 501, "Not Implemented", LINE("HTTP/1.1 501 Not Implemented\r\n") },
    { 502, "Bad Gateway", LINE("HTTP/1.1 502 Bad Gateway\r\n") },
    { 503, "Service Unavailable", LINE("HTTP/1.1 503 Service Unavailable\r\n") },
    { 504, "Gateway Timeout", LINE("HTTP/1.1 504 Gateway Timeout\r\n") },
    { 505, "HTTP Version Not Supported", LINE("HTTP/1.1 505 HTTP Version Not Supported\r\n") },
};

#define STATUS_LINES ((sizeof k_status_lines) / (sizeof k_status_lines[0]))

/* The table is short and the common answers (200, 201, 204) are at its
 * start: a scan is a handful of compares. NULL for a status not in it. */
static const status_line *status_find(int status)
{
    size_t i;
    for (i = 0u; i < STATUS_LINES; i++) {
        if (k_status_lines[i].status == status) {
            return &k_status_lines[i];
        }
    }
    return NULL;
}

const char *resp_reason(int status)
{
    const status_line *s = status_find(status);
    return (s != NULL) ? s->reason : "Unknown";
}

static void put(resp_t *r, const char *s, size_t n)
{
    if (r->overflow || (n > (r->cap - r->len))) {
        r->overflow = true;
        return;
    }
    (void)memcpy(r->buf + r->len, s, n);
    r->len += n;
}

static void put_cstr(resp_t *r, const char *s)
{
    put(r, s, strlen(s));
}

/* "HTTP/1.1 <status> Unknown\r\n" for a status without a line of its own. */
static void put_status_unknown(resp_t *r, int status)
{
    static const char k_pre[] = "HTTP/1.1 ";
    static const char k_post[] = " Unknown\r\n";
    char line[((sizeof k_pre) - 1u) + FMT_I64_MAX + ((sizeof k_post) - 1u)];
    size_t n = (sizeof k_pre) - 1u;
    (void)memcpy(line, k_pre, n);
    n += fmt_i64(&line[n], (sizeof line) - n, (int64_t)status);
    (void)memcpy(&line[n], k_post, (sizeof k_post) - 1u);
    n += (sizeof k_post) - 1u;
    put(r, line, n);
}

#define DATE_PREFIX "Date: "
#define DATE_LINE_MAX 48u   /* "Date: " + an IMF-fixdate of any 64-bit time + CRLF */

/* The Date line changes once a second: it is formatted when the wall-clock
 * second differs from the cached one, whichever way the clock moved. */
typedef struct {
    uint64_t sec;
    size_t len;          /* 0 until the first format */
    char line[DATE_LINE_MAX];
} date_cache;

static date_cache g_date;

strv resp_date_line(uint64_t wall_us)
{
    uint64_t sec = wall_us / 1000000u;
    strv line;
    if ((g_date.len == 0u) || (sec != g_date.sec)) {
        const size_t at = (sizeof DATE_PREFIX) - 1u;
        size_t n = clock_format(wall_us, CLOCK_FMT_HTTP, &g_date.line[at],
                                DATE_LINE_MAX - at - 2u);
        (void)memcpy(g_date.line, DATE_PREFIX, at);
        if (NEVER(n == 0u)) {
            g_date.len = 0u;    /* no date fits (it always does): no Date line */
        } else {
            (void)memcpy(&g_date.line[at + n], "\r\n", 2u);
            g_date.len = at + n + 2u;
            g_date.sec = sec;
        }
    }
    line.p = g_date.line;
    line.n = g_date.len;
    return line;
}

void resp_begin(resp_t *r, char *buf, size_t cap, int status, bool keep_alive, bool head_only)
{
    static const char k_keep_alive[] = "Connection: keep-alive\r\n";
    static const char k_close[] = "Connection: close\r\n";
    const status_line *s = status_find(status);
    strv date = resp_date_line(clock_wall_us());
    r->buf = buf;
    r->cap = cap;
    r->len = 0u;
    r->body_len = 0u;
    r->in_body = false;
    r->overflow = false;
    r->status = status;
    r->no_length = (status < 200) || (status == 204) || (status == 304);
    r->head_only = head_only || r->no_length;
    if (s != NULL) {
        put(r, s->line.p, s->line.n);
    } else {
        put_status_unknown(r, status);
    }
    put(r, date.p, date.n);
    if (keep_alive) {
        put(r, k_keep_alive, (sizeof k_keep_alive) - 1u);
    } else {
        put(r, k_close, (sizeof k_close) - 1u);
    }
}

/* CR, LF or NUL in a value would end the header early (response splitting). */
static bool value_ok(strv v)
{
    size_t i;
    for (i = 0u; i < v.n; i++) {
        char ch = v.p[i];
        if ((ch == '\r') || (ch == '\n') || (ch == '\0')) {
            return false;
        }
    }
    return true;
}

void resp_header(resp_t *r, const char *name, strv value)
{
    if (r->in_body || !value_ok(value)) {
        r->overflow = true;
        return;
    }
    put_cstr(r, name);
    put(r, ": ", 2u);
    put(r, value.p, value.n);
    put(r, "\r\n", 2u);
}

void resp_header_cstr(resp_t *r, const char *name, const char *value)
{
    resp_header(r, name, strv_from_cstr(value));
}

void resp_header_u64(resp_t *r, const char *name, unsigned long long value)
{
    char num[FMT_U64_MAX];
    strv v = { num, fmt_u64(num, sizeof num, (uint64_t)value) };
    resp_header(r, name, v);
}

char *resp_body(resp_t *r, size_t *room)
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

void resp_body_commit(resp_t *r, size_t n)
{
    size_t room = 0u;
    (void)resp_body(r, &room);
    if (n > room) {
        r->overflow = true;
        return;
    }
    r->body_len += n;
}

void resp_body_append(resp_t *r, const char *s, size_t n)
{
    size_t room = 0u;
    char *p = resp_body(r, &room);
    if (r->overflow || (n > room)) {
        r->overflow = true;
        return;
    }
    (void)memcpy(p, s, n);
    r->body_len += n;
}

st_t resp_end(resp_t *r, size_t *total)
{
    static const char k_cl[] = "Content-Length: ";
    size_t body_at = r->len + RESP_CL_SLACK;
    char *p;
    size_t k;
    if (!r->in_body) {
        r->body_len = 0u;
    }
    if (r->overflow || (RESP_CL_SLACK > (r->cap - r->len))) {
        r->overflow = true;
        *total = 0u;
        return ST_FULL;
    }
    /* The slack holds the longest line: 16 + FMT_U64_MAX + 4 bytes. */
    p = r->buf + r->len;
    if (r->no_length) {
        (void)memcpy(p, "\r\n", 2u);
        k = 2u;
    } else {
        (void)memcpy(p, k_cl, (sizeof k_cl) - 1u);
        k = (sizeof k_cl) - 1u;
        k += fmt_u64(&p[k], RESP_CL_SLACK - k - 4u, (uint64_t)r->body_len);
        (void)memcpy(&p[k], "\r\n\r\n", 4u);
        k += 4u;
    }
    r->len += k;
    if (!r->head_only && (r->body_len > 0u)) {
        (void)memmove(r->buf + r->len, r->buf + body_at, r->body_len);
        r->len += r->body_len;
    }
    *total = r->len;
    return ST_OK;
}
