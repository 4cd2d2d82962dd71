/*
 * parse.h - the HTTP/1.1 request parser: request head, chunked bodies,
 * percent-decoding, header and query lookup.
 *
 * Zero-copy: every view in http_req points into the caller's buffer (one
 * exception: the path "/" of an absolute-form target without a path points
 * to a static string). Nothing is allocated, nothing is copied, nothing
 * recurses. The head parser is stateless: it rescans from byte 0 on every
 * call, so the caller just calls it again after each read with the same
 * buffer start and the new length (http_head_worth_parsing() says when a
 * rescan can change the answer).
 *
 * Choices, per RFC 9112 (strict where the RFC allows a choice):
 *   - Line endings must be CRLF. A bare LF or a bare CR anywhere in the head
 *     is 400.
 *   - Up to HTTP_MAX_LEADING_EMPTY_LINES empty lines (CRLF) before the
 *     request line are skipped (RFC 9112 2.2); more are 400. They count in
 *     head_len and in the head size limit.
 *   - Request line: method SP request-target SP HTTP-version CRLF with
 *     exactly one SP between the parts. The method is a token (RFC 9110
 *     tchar), compared case-sensitively ("get" is HTTP_M_OTHER).
 *   - request-target bytes are visible ASCII (0x21..0x7E) except '#';
 *     anything else is 400. Accepted forms: origin-form ("/..."), "*" with
 *     OPTIONS only, and absolute-form (scheme "http" or "https",
 *     case-insensitive, then a non-empty authority without userinfo, then
 *     an optional path and query). For absolute-form, path is the part after the authority
 *     ("/" when it is empty) and host is the authority, which overrides the
 *     Host header (RFC 9112 3.2.2). authority-form (CONNECT) is 400.
 *   - HTTP-version must be "HTTP/" DIGIT "." DIGIT (case-sensitive) or the
 *     answer is 400; HTTP/1.0 is 1.0, HTTP/1.1 and any higher 1.x (1.2 ...)
 *     are served as 1.1 (minor 1; RFC 9110 2.5); another major version is
 *     505.
 *   - Header field: token ":" OWS value OWS CRLF. Whitespace before the
 *     colon, an empty name, obs-fold (a line starting with SP/HTAB) and any
 *     control byte in a value (other than HTAB; NUL and DEL included) are
 *     400. Bytes 0x80..0xFF (obs-text) are allowed in values only.
 *   - Content-Length: 1*DIGIT, at most INT64_MAX; anything else (empty,
 *     a list such as "5, 5", sign, spaces inside) is 400. Repeats with the
 *     same value are accepted, differing repeats are 400.
 *   - Transfer-Encoding together with Content-Length is 400, in an HTTP/1.0
 *     request it is 400 (RFC 9112 6.1: framing cannot be trusted). Its codings,
 *     over every Transfer-Encoding field in order (empty list items
 *     skipped), must end with one "chunked" (case-insensitive): chunked not
 *     last ("chunked, identity", "gzip", a second field after chunked) or
 *     applied twice is 400 (RFC 9112 6.3); a coding before a final chunked
 *     ("gzip, chunked") is 501, as roost decodes none.
 *   - Host: more than one is 400; none in an HTTP/1.1 request is 400 (also
 *     for absolute-form); a value that is not uri-host [":" port] (RFC 9112
 *     3.2: empty, "a b", "a/b", userinfo, a bad port) is 400 in any version.
 *     The authority of an absolute-form target is checked the same way.
 *   - keep_alive: HTTP/1.1 unless a Connection header lists "close";
 *     HTTP/1.0 only when Connection lists "keep-alive" (and not "close").
 *   - expect_continue: HTTP/1.1 and Expect is "100-continue"
 *     (case-insensitive). Other Expect values are left to the caller
 *     (http_header_get(req, "Expect")).
 *   - upgrade_websocket: HTTP/1.1, Upgrade lists "websocket" and Connection
 *     lists "upgrade" (both case-insensitive). The method and the
 *     Sec-WebSocket-* headers are for the WebSocket module to check.
 */
#ifndef ROOST_HTTP_PARSE_H
#define ROOST_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "core/status.h"
#include "core/strv.h"

/* Empty lines tolerated before the request line. */
#define HTTP_MAX_LEADING_EMPTY_LINES 4u

typedef enum {
    HTTP_M_OTHER = 0,
    HTTP_M_GET,
    HTTP_M_HEAD,
    HTTP_M_POST,
    HTTP_M_PUT,
    HTTP_M_PATCH,
    HTTP_M_DELETE,
    HTTP_M_OPTIONS
} http_method;

typedef struct {
    strv name;
    strv value; /* trimmed of OWS; p != NULL even when empty */
} http_header;

typedef struct {
    http_method method;
    strv method_str;          /* as sent, e.g. "GET", "BREW" */
    strv target;              /* raw request-target */
    strv path;                /* target up to '?' (still percent-encoded) */
    strv query;               /* after '?', without it; n==0 if none (p==NULL if no '?') */
    int minor;                /* 0 for HTTP/1.0, 1 for HTTP/1.1 and higher 1.x */
    http_header headers[CFG_HTTP_MAX_HEADERS];
    size_t nheaders;
    /* derived from headers: */
    strv host;                /* authority of an absolute-form target, else Host; p==NULL if none */
    bool has_content_length;
    uint64_t content_length;
    bool chunked;             /* Transfer-Encoding: chunked (final coding) */
    bool keep_alive;          /* HTTP/1.1 default yes unless Connection: close; 1.0 only with keep-alive */
    bool expect_continue;     /* Expect: 100-continue */
    bool upgrade_websocket;   /* Upgrade: websocket + Connection contains upgrade */
    size_t head_len;          /* bytes of request line + headers including the blank line */
} http_req;

/*
 * Parse a request head from buf[0..len). buf may hold more than one request
 * (pipelining): only the first head is parsed and head_len says where it
 * ends. buf may be NULL only when len is 0. req and status must not be NULL.
 *
 * ST_OK     complete head; req filled; views point into buf (valid while
 *           buf is); *status is 0. headers[] entries past nheaders are
 *           unspecified (not cleared between calls).
 * ST_AGAIN  incomplete and no error in buf[0..len) yet; *status is 0;
 *           req contents are unspecified. Only returned while
 *           len < CFG_HTTP_MAX_HEAD_BYTES: a caller that also checks
 *           "len >= limit with ST_AGAIN" (see http_head_overflow_status)
 *           never sees that case with this parser.
 * ST_BAD    malformed or over a limit; *status is the HTTP status to answer
 *           (then close the connection):
 *           400 syntax (see the choices above), Content-Length with
 *               Transfer-Encoding, Transfer-Encoding in HTTP/1.0 or without
 *               chunked as its one final coding, invalid or differing
 *               Content-Length, HTTP/1.1 without Host, two Hosts, an
 *               invalid Host
 *           414 request-target longer than CFG_HTTP_MAX_TARGET_BYTES, or a
 *               request line with no end in the first
 *               CFG_HTTP_MAX_HEAD_BYTES bytes (http_head_overflow_status)
 *           431 more than CFG_HTTP_MAX_HEADERS fields, or no end of head in
 *               the first CFG_HTTP_MAX_HEAD_BYTES bytes
 *           501 a transfer coding other than chunked before a final chunked
 *           505 HTTP major version other than 1
 *
 * The answer for a prefix of a byte stream never contradicts the answer for
 * the whole: once ST_OK or ST_BAD is returned for buf[0..k), every longer
 * buffer with the same first k bytes gives the same result (same head_len,
 * same *status).
 */
st_t http_parse_head(const char *buf, size_t len, http_req *req, int *status);

/*
 * Whether calling http_parse_head() again can change its ST_AGAIN answer
 * after buf grew from prev_len to len bytes: true on the first bytes
 * (prev_len 0), when the new bytes buf[prev_len..len) hold a '\n', or when
 * len reached CFG_HTTP_MAX_HEAD_BYTES. Skipping the other calls only delays
 * an ST_BAD until the end of the line; it bounds the rescans per request to
 * about the number of lines (a client sending one byte per packet cannot
 * make parsing quadratic in the head size).
 */
bool http_head_worth_parsing(const char *buf, size_t prev_len, size_t len);

/*
 * For an ST_AGAIN result whose len has reached the caller's limit: 414 if the
 * request line (after any leading empty lines, no CRLF yet) is longer than
 * CFG_HTTP_MAX_TARGET_BYTES + 32, else 431.
 */
int http_head_overflow_status(const char *buf, size_t len);

/*
 * Chunked request body decoder (RFC 9112 7.1), incremental and in place,
 * like picohttpparser's phr_decode_chunked.
 *
 * The caller keeps the decoded body at the front of its buffer and appends
 * each newly read run of raw bytes right after it, then calls
 *     n = bytes appended; http_chunked_decode(&d, body + decoded, &n, &rest);
 *     decoded += n;
 * On return the run has been consumed entirely: its decoded bytes are at
 * buf[0..*len) and nothing of it needs to be kept (partial size lines are
 * remembered in d).
 *
 * ST_AGAIN   need more input.
 * ST_OK      body complete. *rest = number of bytes of the run after the end
 *            of the chunked body (the next pipelined request); they have
 *            been moved to buf[*len .. *len + *rest). Calling again after
 *            ST_OK returns ST_OK with *len 0 and every byte as rest.
 * ST_BAD     malformed: bad hex, no digits, more than 16 hex digits, a bad
 *            byte in a chunk extension or trailer, missing CRLF after the
 *            size line or the data, bare CR or LF, chunk extensions (all
 *            lines together) or the trailer section longer than
 *            CFG_HTTP_MAX_HEAD_BYTES.
 * ST_TOOBIG  the decoded size would exceed max (detected while the chunk
 *            size is still being read).
 * On ST_BAD / ST_TOOBIG, *rest is 0, *len is the decoded bytes of this run
 * before the error, and the decoder stays failed (same answer again).
 *
 * Chunk extensions are checked loosely (BWS ";" then visible ASCII, SP, HTAB
 * or obs-text up to CRLF) and ignored. Trailer fields are consumed and
 * ignored (lines of visible ASCII, SP, HTAB or obs-text, no obs-fold).
 */
typedef struct {
    uint64_t max;        /* limit on the decoded size */
    uint64_t total;      /* decoded bytes so far (all runs) */
    uint64_t left;       /* chunk-size value being read, then data bytes left */
    size_t overhead;     /* extension bytes so far, then trailer bytes */
    uint8_t state;
    uint8_t ndigits;     /* hex digits of the current size line */
    st_t failed;         /* ST_OK, or the sticky error */
} http_chunked;

void http_chunked_init(http_chunked *d, uint64_t max);
st_t http_chunked_decode(http_chunked *d, char *buf, size_t *len, size_t *rest);

/*
 * Percent-decode src into dst (cap bytes). '+' is NOT a space (paths).
 * Returns ST_OK; ST_BAD for '%' not followed by two hex digits, or for a NUL
 * (raw or %00); ST_FULL when dst is too small. *n = bytes written (on an
 * error, those written before it). Processing is left to right and the
 * first problem decides the answer. dst may equal src.p (decoding in place
 * never overtakes the reader); dst may be NULL only when cap is 0.
 */
st_t http_pct_decode(strv src, char *dst, size_t cap, size_t *n);

/*
 * Value of the first header named `name` (ASCII case-insensitive, a C
 * string); a view with p==NULL if absent. An empty value has p != NULL.
 */
strv http_header_get(const http_req *req, const char *name);

/*
 * Value of the first query parameter `name` in query (the part after '?',
 * "a=1&b=2"), raw and still percent-encoded; keys are compared raw and
 * case-sensitively. p==NULL if absent; "a" or "a=" give an empty view with
 * p != NULL.
 */
strv http_query_get(strv query, const char *name);

#endif
