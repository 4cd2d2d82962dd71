/*
 * read.h - the JSON reader: strict RFC 8259 parsing into jsmn tokens, then
 * navigation and typed, bounded getters over those tokens.
 *
 * Parsing. json_parse() borrows the one static token pool
 * (CFG_JSON_MAX_TOKENS tokens; roost is single-threaded and parses one
 * request body at a time). The document is "live" from a successful
 * json_parse() until json_release(); parsing a second pooled document while
 * one is live is a bug (ASSERT). Callers that need a second live document
 * (a stored JSON column read while the request body is still in use, tests,
 * fuzzing) bring their own array to json_parse_into().
 *
 * The text is not copied: a json_doc holds a view of it, and the text must
 * stay unchanged while the document is used. The text need not be
 * NUL-terminated.
 *
 * What is accepted is exactly RFC 8259 JSON, one value with optional
 * surrounding whitespace (space, tab, CR, LF), any value type at the top:
 *   - strings must be valid UTF-8 (no overlongs, no encoded surrogates,
 *     nothing above U+10FFFF) and contain no raw control characters;
 *   - escapes are \" \\ \/ \b \f \n \r \t \uXXXX; a \uXXXX high surrogate
 *     must be followed by a \uXXXX low surrogate and a low surrogate must
 *     follow a high one (lone surrogates are rejected at parse time, so
 *     every string of a parsed document decodes to valid UTF-8);
 *   - \u0000 is accepted by the parser (it is valid JSON); json_get_str
 *     refuses it (ST_INVAL) because its output is a C string, json_get_mem
 *     returns it;
 *   - no byte order mark, no NaN/Infinity, no comments, no trailing commas,
 *     no leading zeros, no leading '+' or '.', no bare '-', '1.', '1e'.
 *
 * Errors. Every status other than ST_OK fills *err (when err is non-NULL):
 * err->offset is the byte offset in the text where parsing stopped and
 * err->reason a static string. Syntax reasons are the bare messages of
 * Python's json module, so a family can answer FastAPI-style
 * ("json_invalid", loc ["body", offset], ctx.error = reason) or fleet-style
 * ("Invalid JSON body: <reason>"):
 *   ST_BAD    "Expecting value", "Extra data", "Expecting ',' delimiter",
 *             "Expecting ':' delimiter",
 *             "Expecting property name enclosed in double quotes",
 *             "Unterminated string starting at" (offset: the opening quote),
 *             "Invalid control character at", "Invalid \\escape" (offset:
 *             the backslash), "Invalid \\uXXXX escape" (offset: the 'u'),
 *             "Unpaired surrogate in \\u escape" (offset: the backslash of
 *             the first escape), "Unexpected UTF-8 BOM" (offset 0);
 *             the offsets are those Python's json reports (as bytes, not
 *             characters), except that Python accepts lone surrogates
 *   ST_UTF8   "Invalid UTF-8" (offset: first byte of the bad sequence)
 *   ST_TOOBIG "too many tokens" (offset: start of the first value or key
 *             that did not fit), "nesting too deep" (offset: the bracket
 *             one level below CFG_JSON_MAX_DEPTH), "document too large"
 *             (length above INT_MAX - 1; offset 0)
 *   ST_INVAL  text is NULL with len > 0 (a caller bug)
 * A family should treat every non-OK status as "invalid JSON body" and may
 * map ST_TOOBIG to a size error instead.
 *
 * Navigation uses token indices (int). The root is token 0; -1 means "none"
 * and every function accepts it (returning -1, JSON_NONE, false or
 * ST_NOTFOUND), so lookups chain: json_get_i64(d, json_obj_get(d, o, "n"), &v).
 * No function recurses: subtrees are skipped with a loop over token offsets.
 *
 * Getters return:
 *   ST_OK       value stored in *out / buf
 *   ST_NOTFOUND tok is -1 (a lookup found nothing)
 *   ST_BAD      the value has the wrong JSON type (null is a type of its
 *               own: an explicit null is ST_BAD, check json_is_null first
 *               where null means "absent")
 *   ST_FULL     string does not fit in cap (*n says how long it is)
 *   ST_RANGE    number does not fit the C type
 *   ST_INVAL    string contains U+0000 (json_get_str only); for the field
 *               getters also "obj is not an object"
 * The field getters (json_field_*) look the key up first and return
 * ST_NOTFOUND when it is absent, so a caller can say which field and why:
 * "name: field required" / "name: must be a string" / "name: too long".
 */
#ifndef ROOST_JSON_READ_H
#define ROOST_JSON_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "core/status.h"
#include "core/strv.h"

#include "vendor/jsmn_config.h" /* JSMN_PARENT_LINKS, JSMN_STRICT */
#define JSMN_HEADER
#include "jsmn.h"

typedef enum {
    JSON_NONE = 0,   /* tok is -1 or out of range */
    JSON_OBJECT,
    JSON_ARRAY,
    JSON_STRING,
    JSON_NUMBER,
    JSON_TRUE,
    JSON_FALSE,
    JSON_NULL
} json_type_t;

typedef struct {
    size_t offset;          /* byte offset in the text */
    const char *reason;     /* static string, never NULL after an error */
} json_err;

typedef struct {
    const char *text;       /* the caller's text (not owned) */
    size_t len;
    jsmntok_t *toks;        /* NULL when the document is not live */
    int ntoks;              /* tokens in use; token 0 is the root */
    bool pooled;            /* toks is the static pool */
} json_doc;

/* Iterator over an object's members or an array's elements. Initialize with
 * JSON_ITER_INIT (or json_iter_init) before the first *_next call. */
typedef struct {
    int next;               /* next child token; 0 = not started */
    int left;               /* children left */
} json_iter;
#define JSON_ITER_INIT { 0, 0 }

/* ---- parsing ------------------------------------------------------------ */

/* Parse text[0..len) into the static pool. On ST_OK the document is live
 * until json_release(d). On failure the pool is left free and d is not
 * live. text may be NULL only when len is 0. d must not be NULL. */
st_t json_parse(json_doc *d, const char *text, size_t len, json_err *err);

/* Same, into the caller's toks[0..ntoks) (ntoks >= 1). The caller owns the
 * array; the document lives as long as text and toks are unchanged.
 * json_release() on such a document only marks it not live. */
st_t json_parse_into(json_doc *d, const char *text, size_t len,
                     jsmntok_t *toks, unsigned ntoks, json_err *err);

/* End the document; a pooled document returns the pool. Safe on a document
 * that is not live (no-op). */
void json_release(json_doc *d);

/* True while a pooled document is live (for tests and debug checks). */
bool json_pool_busy(void);

/* ---- navigation --------------------------------------------------------- */

/* 0 for a live document, -1 otherwise. */
int json_root(const json_doc *d);
/* Tokens in the document (every value and every key is one token). */
int json_count(const json_doc *d);
json_type_t json_type(const json_doc *d, int tok);
/* "object", "array", "string", "number", "boolean", "null" ("none" for
 * JSON_NONE); for messages like "expected string, got number". */
const char *json_type_name(json_type_t t);

/* The exact source text of the value (strings include their quotes):
 * useful to store a sub-document verbatim and emit it with json_w_raw().
 * STRV_NULL for tok -1. */
strv json_raw(const json_doc *d, int tok);

/* Value of member `key` of object obj, compared after unescaping. Duplicate
 * keys: the last one wins (as Python and JavaScript). -1 when obj is not an
 * object or has no such key. json_obj_getn takes a length (key may then
 * contain NUL bytes). */
int json_obj_get(const json_doc *d, int obj, const char *key);
int json_obj_getn(const json_doc *d, int obj, const char *key, size_t keylen);
/* Members in an object (duplicates counted), -1 when not an object. */
int json_obj_len(const json_doc *d, int obj);

/* Elements in an array, -1 when not an array. */
int json_arr_len(const json_doc *d, int arr);
/* Element i (0-based) of arr, -1 when out of range or not an array. O(i). */
int json_arr_at(const json_doc *d, int arr, int i);

void json_iter_init(json_iter *it);
/* Next member of obj: its key token (a string) and value token. Returns
 * false at the end, or when obj is not an object. Duplicates are all
 * visited, in document order. */
bool json_obj_next(const json_doc *d, int obj, json_iter *it, int *key_tok, int *val_tok);
/* Next element of arr; false at the end or when arr is not an array. */
bool json_arr_next(const json_doc *d, int arr, json_iter *it, int *val_tok);

/* ---- typed getters ------------------------------------------------------ */

/* Unescape string tok into buf[0..cap) as UTF-8 and NUL-terminate it.
 * *n (may be NULL) receives the decoded length without the terminator on
 * ST_OK and on ST_FULL (cap must be at least *n + 1; buf may be NULL with
 * cap 0 to ask for the length). ST_INVAL when the string contains U+0000.
 * buf contents are unspecified unless ST_OK. */
st_t json_get_str(const json_doc *d, int tok, char *buf, size_t cap, size_t *n);
/* Same bytes without the terminator and with U+0000 allowed (cap >= *n). */
st_t json_get_mem(const json_doc *d, int tok, char *buf, size_t cap, size_t *n);
/* True when tok is a string whose unescaped value equals s (C string). */
bool json_str_eq(const json_doc *d, int tok, const char *s);

/* Integers only: a number written with '.', 'e' or 'E' is ST_BAD (even
 * 1.0); outside the type -> ST_RANGE. -0 reads as 0. */
st_t json_get_i64(const json_doc *d, int tok, int64_t *out);
st_t json_get_u64(const json_doc *d, int tok, uint64_t *out);
/* Any number, nearest double. ST_RANGE when it overflows to infinity or is
 * written with more than 127 characters. Underflow reads as 0 or a
 * subnormal. */
st_t json_get_f64(const json_doc *d, int tok, double *out);
st_t json_get_bool(const json_doc *d, int tok, bool *out);
bool json_is_null(const json_doc *d, int tok);

/* ---- field getters: json_obj_get + a typed getter ----------------------- */

st_t json_field_str(const json_doc *d, int obj, const char *key,
                    char *buf, size_t cap, size_t *n);
st_t json_field_i64(const json_doc *d, int obj, const char *key, int64_t *out);
st_t json_field_u64(const json_doc *d, int obj, const char *key, uint64_t *out);
st_t json_field_f64(const json_doc *d, int obj, const char *key, double *out);
st_t json_field_bool(const json_doc *d, int obj, const char *key, bool *out);

#endif
