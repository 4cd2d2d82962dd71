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
} json_w;

/* buf may be NULL only with cap 0 (every write is then ST_FULL). */
void json_w_init(json_w *w, char *buf, size_t cap);

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

#endif
