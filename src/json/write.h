/*
 * write.h - the JSON writer: serialize into a caller's bounded buffer.
 *
 *   json_w w;
 *   json_w_init(&w, buf, cap);
 *   json_w_obj_begin(&w);
 *   json_w_kstr(&w, "status", "ok");
 *   json_w_key(&w, "items");
 *   json_w_arr_begin(&w);
 *   json_w_i64(&w, 1);
 *   json_w_arr_end(&w);
 *   json_w_obj_end(&w);
 *   if (json_w_finish(&w, &len) != ST_OK) ...
 *
 * Commas and colons are inserted automatically. The writer never writes
 * past cap and never NUL-terminates.
 *
 * Errors are sticky: the first one is kept and every later call is a no-op.
 *   ST_FULL     the buffer is full; the bytes written are a prefix of the
 *               document, not a usable document
 *   ST_INTERNAL a nesting bug in the caller: a value where a key is due (or
 *               the reverse), an end that does not match its begin, a second
 *               top-level value, more than CFG_JSON_MAX_DEPTH open
 *               containers, or json_w_finish with containers still open or
 *               no value at all
 *
 * Strings are any bytes with a length; escaping:
 *   - '"' and '\' as \" and \\; \b \f \n \r \t; other bytes below 0x20 as
 *     \u00XX; U+2028 and U+2029 as \u2028 and \u2029 (they end a line in
 *     JavaScript source); '/' and DEL are written as they are;
 *   - bytes that are not well-formed UTF-8 are replaced by U+FFFD, one per
 *     maximal ill-formed subsequence (the Unicode / WHATWG practice), so the
 *     output is always valid UTF-8. Well-formed input round-trips exactly.
 *
 * Style (json_w_style, after init): compact by default. indent n > 0 writes
 * as Python's json.dumps(indent=n) does: a newline and n spaces per open
 * level before each member and before the end of a non-empty container,
 * ": " after a key, "[]" and "{}" for empty ones. ascii writes as Python's
 * ensure_ascii does: every character above U+007E, DEL included, as \uXXXX
 * (lowercase hex; a surrogate pair above U+FFFF), ill-formed bytes as
 * \ufffd; the output is then plain ASCII. Together they give the bytes of
 * Python's json.dump(obj, f, indent=2), which files shared with Python
 * tools are compared by.
 *
 * Numbers: json_w_f64 writes the shortest of %.15g/%.16g/%.17g that reads
 * back to the same double; NaN and infinities are written as null (as
 * JavaScript's JSON.stringify does).
 *
 * NULL rules: json_w_cstr / json_w_kstr with a NULL string write null, so an
 * optional field can be passed straight through. json_w_str with s == NULL
 * requires n == 0 (writes ""). Key strings must not be NULL.
 */
#ifndef ROOST_JSON_WRITE_H
#define ROOST_JSON_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "core/status.h"

typedef struct {
    char *buf;
    size_t cap;
    size_t len;
    st_t st;                                /* first error, sticky */
    unsigned depth;                         /* open containers */
    unsigned char kind[CFG_JSON_MAX_DEPTH]; /* '{' or '[' per open level */
    bool has_item[CFG_JSON_MAX_DEPTH];      /* level already has a member */
    bool after_key;                         /* a key was written, value due */
    bool root_done;                         /* the top-level value is complete */
    unsigned char indent;                   /* spaces per level, 0: compact */
    bool ascii;                             /* \uXXXX above U+007E */
} json_w;

/* buf may be NULL only with cap 0 (every write is then ST_FULL). */
void json_w_init(json_w *w, char *buf, size_t cap);
/* Change the style (above) before the first value: indent 0..8 spaces per
 * level (0: compact), ascii escaping. */
void json_w_style(json_w *w, unsigned indent, bool ascii);

void json_w_obj_begin(json_w *w);
void json_w_obj_end(json_w *w);
void json_w_arr_begin(json_w *w);
void json_w_arr_end(json_w *w);

/* A member key inside an object (k not NULL; keyn may contain NUL). */
void json_w_key(json_w *w, const char *k);
void json_w_keyn(json_w *w, const char *k, size_t n);

/* Values. */
void json_w_str(json_w *w, const char *s, size_t n);
void json_w_cstr(json_w *w, const char *s);     /* NULL -> null */
void json_w_i64(json_w *w, int64_t v);
void json_w_u64(json_w *w, uint64_t v);
void json_w_f64(json_w *w, double v);           /* non-finite -> null */
void json_w_bool(json_w *w, bool v);
void json_w_null(json_w *w);
/* Pre-serialized JSON, written as it is (the caller guarantees it is one
 * valid JSON value, e.g. json_raw() of a parsed document). */
void json_w_raw(json_w *w, const char *s, size_t n);

/* A string given as a JSON string literal, quotes included, of a parsed
 * document (json_raw of a string token): decoded and written again in this
 * writer's escaping, so "\u00e9" and "\u00E9" and a raw U+00E9 all come out
 * as the writer writes U+00E9. A literal the reader would refuse is written
 * with U+FFFD for what does not decode (a caller bug, not checked). */
void json_w_str_lit(json_w *w, const char *lit, size_t n);
void json_w_key_lit(json_w *w, const char *lit, size_t n);

/* Key + value shorthands. */
void json_w_kstr(json_w *w, const char *k, const char *s);   /* NULL -> null */
void json_w_kstrn(json_w *w, const char *k, const char *s, size_t n);
void json_w_ki64(json_w *w, const char *k, int64_t v);
void json_w_ku64(json_w *w, const char *k, uint64_t v);
void json_w_kf64(json_w *w, const char *k, double v);
void json_w_kbool(json_w *w, const char *k, bool v);
void json_w_knull(json_w *w, const char *k);
void json_w_kraw(json_w *w, const char *k, const char *s, size_t n);

/* Bytes written so far and the sticky status (ST_OK while all is well). */
size_t json_w_len(const json_w *w);
st_t json_w_status(const json_w *w);

/* ST_OK when exactly one complete value was written; *len (may be NULL)
 * receives its length. Otherwise the sticky error, or ST_INTERNAL when
 * containers are still open or nothing was written. */
st_t json_w_finish(const json_w *w, size_t *len);

/* The inside of a JSON string (no quotes) for s[0..n), escaped as a compact
 * json_w escapes strings, for text too long to hold whole (a file streamed
 * into a response part by part): whole characters only, as many as fit in
 * out[0..cap). Returns the bytes written and sets *used to the bytes of s
 * they stand for. Unless final (s ends where the text ends), a character
 * that may be cut by the end of s (fewer than 4 bytes left, not ASCII) is
 * left for the next call, which starts at s + *used with more text; so the
 * escaping of a text is the same however it is cut. */
size_t json_escape_part(const char *s, size_t n, bool final, char *out, size_t cap,
                        size_t *used);

#endif
