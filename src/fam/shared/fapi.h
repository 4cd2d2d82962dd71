/*
 * fapi.h - what the FastAPI-style families (observability, documents,
 * agents) share beyond fam.h: the 422 validation answer with pydantic v2
 * entries (spec/observability.md §1), the request body as a JSON object,
 * integer query parameters, and lists of any length streamed in fixed
 * memory.
 *
 * A 422 is collected while validating and written straight into the
 * response:
 *     fapi_errs e;
 *     fapi_errs_init(&e, h);
 *     ...fapi_err_add(&e, &entry) for each problem, in field order...
 *     if (fapi_errs_end(&e)) { return; }   // answered 422
 * Between the first fapi_err_add and fapi_errs_end nothing else may write a
 * response on h.
 */
#ifndef ROOST_FAPI_H
#define ROOST_FAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/strv.h"
#include "fam/shared/fam.h"
#include "fam/shared/list.h"
#include "json/read.h"
#include "json/write.h"

/* One more element of a loc, deeper than field and index: a member name
 * (key, a C string, or key_lit, its JSON string literal from a parsed
 * document, e.g. json_raw of a key token) or, when both are NULL, an array
 * index. */
typedef struct {
    const char *key;
    strv key_lit;
    int index;
} fapi_loc;

/* One validation entry:
 *   {"type":type,"loc":[loc0(,field)(,index)(,more...)],"msg":msg,"input":…
 *    (,"ctx":{ctx_key:ctx_val or ctx_str})}
 * field NULL: no field in loc; index < 0: no index; more[0..nmore): deeper
 * elements ("mcp_servers", "github", "args", 0). input: input_text when
 * its p is not NULL (written as a JSON string: query values), else
 * input_json (raw JSON text of a parsed document, e.g. json_raw; p NULL
 * writes null). ctx_key NULL: no ctx; its value is ctx_str when not NULL
 * (a JSON string), else ctx_val. A zeroed entry has none of the optional
 * parts. */
typedef struct {
    const char *type;
    const char *msg;
    const char *loc0;           /* "body" or "query" */
    const char *field;
    int index;
    const fapi_loc *more;
    size_t nmore;
    strv input_json;
    strv input_text;
    const char *ctx_key;
    int64_t ctx_val;
    const char *ctx_str;
} fapi_err;

typedef struct {
    hctx *h;
    json_w w;
    unsigned n;                 /* entries written */
} fapi_errs;

void fapi_errs_init(fapi_errs *e, hctx *h);
/* Append one entry (the first one begins the 422 response). */
void fapi_err_add(fapi_errs *e, const fapi_err *err);
/* Shorthands on a parsed body: value tok of field `field` (index < 0: none). */
void fapi_err_missing(fapi_errs *e, const json_doc *d, const char *field);
void fapi_err_type(fapi_errs *e, const json_doc *d, int tok, const char *field, int index,
                   const char *type, const char *msg);
/* string_too_long / string_too_short with ctx max_length / min_length. */
void fapi_err_len(fapi_errs *e, const json_doc *d, int tok, const char *field, bool too_long,
                  size_t limit);
/* Finish: true when entries were written (the 422 is answered). */
bool fapi_errs_end(fapi_errs *e);

/* The request body as a JSON object in d (the shared token pool).
 *   true:  d is live, its root an object; the caller json_release()s it.
 *   false: not live; either answered 422 json_invalid at once, or (body
 *          empty or JSON null: "missing"; another JSON type:
 *          "model_attributes_type") the entry was added to e and the caller
 *          finishes with fapi_errs_end. */
bool fapi_body_object(hctx *h, json_doc *d, fapi_errs *e);

/* Integer query parameter `name` in [lo, hi]; absent: *out = dflt. A bad
 * value adds an int_parsing / greater_than_equal / less_than_equal entry to
 * e and returns false. */
bool fapi_query_int(hctx *h, fapi_errs *e, const char *name, int64_t lo, int64_t hi,
                    int64_t dflt, int64_t *out);

/* Characters (Unicode scalar values) in valid UTF-8 text. */
size_t fapi_chars(const char *s, size_t n);

/* ---- lists of any length ------------------------------------------------- */

/* The query and row writer of a list (fam/shared/list.h). */
typedef fam_list_query fapi_list_query;
typedef fam_list_row fapi_list_row;

#define FAPI_LIST_AFFIX_BYTES 32u

/* Answer 200 with head + the rows, comma-separated + tail (head e.g.
 * "{\"sessions\":[", tail "]}", each < FAPI_LIST_AFFIX_BYTES), streamed in
 * chunks; the route must be ROUTE_BIG_OUT. ctx (at most FAM_LIST_CTX_BYTES)
 * is copied. A storage error mid-list ends the list early (logged). */
void fapi_list_stream(hctx *h, const char *head, const char *tail, fapi_list_query query,
                      fapi_list_row row, const void *ctx, size_t ctx_len);
/* The same as the first message of WebSocket stream s (fam_list_ws_snapshot). */
void fapi_list_ws_snapshot(hctx *h, stream_sub *s, const char *head, const char *tail,
                           fapi_list_query query, fapi_list_row row, const void *ctx,
                           size_t ctx_len);

#endif
