#include "http/resp.h"

#include <stdio.h>
#include <string.h>

#include "core/clock.h"

const char *resp_reason(int status)
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

/* The Date value changes once a second: format it once a second. */
static const char *date_now(void)
{
    static char cached[40];
    static uint64_t cached_sec;
    uint64_t now = clock_wall_us();
    if (((now / 1000000u) != cached_sec) || (cached[0] == '\0')) {
        cached_sec = now / 1000000u;
        (void)clock_format(now, CLOCK_FMT_HTTP, cached, sizeof cached);
    }
    return cached;
}

void resp_begin(resp_t *r, char *buf, size_t cap, int status, bool keep_alive, bool head_only)
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
    k = snprintf(line, sizeof line, "HTTP/1.1 %d %s\r\n", status, resp_reason(status));
    put(r, line, (k > 0) ? (size_t)k : 0u);
    put_cstr(r, "Date: ");
    put_cstr(r, date_now());
    put_cstr(r, keep_alive ? "\r\nConnection: keep-alive\r\n" : "\r\nConnection: close\r\n");
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
    char num[24];
    int k = snprintf(num, sizeof num, "%llu", value);
    strv v = { num, (k > 0) ? (size_t)k : 0u };
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
    char cl[RESP_CL_SLACK + 1u];     /* the longest line is RESP_CL_SLACK + NUL */
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
    (void)memcpy(r->buf + r->len, cl, (size_t)k);
    r->len += (size_t)k;
    if (!r->head_only && (r->body_len > 0u)) {
        (void)memmove(r->buf + r->len, r->buf + body_at, r->body_len);
        r->len += r->body_len;
    }
    *total = r->len;
    return ST_OK;
}
