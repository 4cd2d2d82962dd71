/*
 * multipart.h - a streaming multipart/form-data parser (RFC 7578, RFC 2046
 * §5.1), zero-copy over the caller's buffer.
 *
 * The caller feeds the body as it arrives; mp_next returns one event at a
 * time (pull style, no callbacks) and says how many bytes of the buffer it
 * consumed. Bytes it did not consume (a possible delimiter cut by the end
 * of the buffer, an incomplete part header line) must be given again, in
 * front of the bytes that follow; there are never more than MP_KEEP_MAX of
 * them, so a caller whose buffer has room for MP_KEEP_MAX plus some more
 * bytes always makes progress. Part data is never copied: an MP_DATA event
 * is a view into the buffer given. The parser state is a few hundred bytes
 * (the part's name, filename and content type are copied out of its
 * headers, with limits).
 *
 *   body     = preamble, then "--boundary" at the start of the body or after
 *              a CRLF, then parts separated by CRLF "--boundary", the last
 *              delimiter followed by "--", then an epilogue (ignored)
 *   delimiter line: optional linear whitespace (spaces, tabs) before its CRLF
 *   part     = header lines (Content-Disposition, Content-Type; others are
 *              skipped), an empty line, the data
 *
 * Content-Disposition: `form-data` with `name` and `filename` parameters,
 * token or quoted-string values (a backslash quotes the next byte), and
 * `filename*` (RFC 5987: charset'language'percent-encoded, UTF-8 or
 * ISO-8859-1 (decoded to UTF-8)); `filename*` wins over `filename`
 * (RFC 6266 §4.3). Parameter names are case-insensitive; so are header
 * names.
 */
#ifndef ROOST_HTTP_MULTIPART_H
#define ROOST_HTTP_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "core/strv.h"

#define MP_BOUNDARY_MAX 70u      /* RFC 2046: 1 to 70 characters */
#define MP_LINE_MAX 1024u        /* a part header line, CRLF included */
#define MP_HEADERS_MAX 16u       /* header lines of one part */
#define MP_NAME_BYTES 64u        /* a part's name, NUL included */
#define MP_FILENAME_BYTES 512u   /* a part's filename (decoded), NUL included */
#define MP_CTYPE_BYTES 128u      /* a part's Content-Type, NUL included */
/* Bytes mp_next may leave unconsumed at most. */
#define MP_KEEP_MAX MP_LINE_MAX

typedef enum {
    MP_NEED = 0,   /* give the unconsumed bytes again with more (or eof) */
    MP_PART,       /* a part's headers are complete: mp->part describes it */
    MP_DATA,       /* *data: the next bytes of the current part's data */
    MP_PART_END,   /* the current part's data is complete */
    MP_END,        /* the close delimiter: the form is complete */
    MP_ERROR       /* malformed; mp->err says why; every later call too */
} mp_event;

typedef enum {
    MP_ERR_NONE = 0,
    MP_ERR_SYNTAX,     /* no delimiter, bad delimiter line, bad header */
    MP_ERR_TRUNCATED,  /* eof before the close delimiter */
    MP_ERR_TOOBIG      /* a header line, a count or a value beyond its limit */
} mp_err;

typedef struct {
    char name[MP_NAME_BYTES];          /* "" when the part has none */
    size_t name_len;
    bool has_filename;                 /* filename or filename* given */
    char filename[MP_FILENAME_BYTES];  /* decoded, NUL-terminated */
    size_t filename_len;
    char ctype[MP_CTYPE_BYTES];        /* the part's Content-Type, trimmed, "" if none */
    size_t ctype_len;
} mp_part;

typedef struct {
    uint8_t state;
    mp_err err;
    char delim[4u + MP_BOUNDARY_MAX];  /* "\r\n--" + boundary */
    size_t delim_len;
    size_t nheaders;
    bool ended;                        /* MP_END was returned */
    mp_part part;
} mp_parser;

/* The boundary of a Content-Type header value: `multipart/form-data`
 * (case-insensitive) with a `boundary` parameter (token or quoted-string,
 * 1-70 characters of RFC 2046's bchars, not ending in a space). ST_BAD
 * otherwise. *boundary is a view into content_type (unquoted; a quoted
 * boundary holds no backslash). */
st_t mp_boundary(strv content_type, strv *boundary);

/* Start parsing a body whose boundary mp_boundary returned. */
void mp_init(mp_parser *mp, strv boundary);

/* The next event from buf[0..n) (the unconsumed bytes of the last call
 * first, then what arrived since). *used: bytes consumed from the front of
 * buf (the caller drops them, whatever the event). eof: no byte follows
 * buf; a form not complete then is MP_ERROR (MP_ERR_TRUNCATED). MP_DATA
 * sets *data to a view into buf. After MP_END every call consumes all it is
 * given (the epilogue) and returns MP_NEED. */
mp_event mp_next(mp_parser *mp, const char *buf, size_t n, bool eof, size_t *used, strv *data);

#endif
