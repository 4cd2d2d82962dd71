/*
 * api.h - what every fleet handler uses: the response envelope of
 * spec/fleet.md §1.2, its error codes (§1.3), request-body parsing and field
 * validation (§1.5), and bot resolution by slug or UUID (§1.4).
 *
 * A success response:
 *     json_w w;
 *     fleet_ok_begin(h, 200, &w);          // {"data":
 *     ...write the data value with w...
 *     fleet_link links[] = { {"self", href}, ... };
 *     fleet_ok_end(h, &w, links, n);       // ,"meta":{...},"_links":{...}}
 * An error: fleet_fail(h, 404, "BOT_NOT_FOUND", "Bot not found").
 */
#ifndef ROOST_FLEET_API_H
#define ROOST_FLEET_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/uuid.h"
#include "fam/shared/fam.h"
#include "fam/shared/list.h"
#include "json/read.h"
#include "json/write.h"

/* ---- limits (spec/fleet.md §2, §5) ---------------------------------------- */
#define FLEET_NAME_MAX_CHARS 100u
#define FLEET_DESC_MAX_CHARS 1000u
#define FLEET_TAGS_MAX 20u
#define FLEET_TAG_MAX_CHARS 50u
#define FLEET_SLUG_MAX 64u
#define FLEET_CONTENT_MAX_BYTES 262144u     /* SOUL.md, IDENTITY.md, USER.md */
#define FLEET_SOUL_MESSAGE_MAX_CHARS 500u
#define FLEET_SECRET_MAX_CHARS 16384u
#define FLEET_EMOJI_MAX_BYTES 32u           /* bytes of UTF-8, not characters */

/* Byte sizes of buffers holding those texts (4 bytes per character). */
#define FLEET_NAME_BYTES ((FLEET_NAME_MAX_CHARS * 4u) + 1u)
#define FLEET_DESC_BYTES ((FLEET_DESC_MAX_CHARS * 4u) + 1u)
#define FLEET_TAGS_JSON_BYTES ((FLEET_TAGS_MAX * ((FLEET_TAG_MAX_CHARS * 6u) + 3u)) + 3u)

typedef struct {
    const char *name;   /* "self", "soul", ... */
    const char *href;
} fleet_link;

void fleet_ok_begin(hctx *h, int status, json_w *w);
void fleet_ok_end(hctx *h, json_w *w, const fleet_link *links, size_t nlinks);
/* The error envelope (also the family's error writer for the server). */
void fleet_fail(hctx *h, int status, const char *code, const char *msg);
/* 400 VALIDATION_ERROR "Invalid field '<field>': <reason>" */
void fleet_bad_field(hctx *h, const char *field, const char *reason);
/* 500 INTERNAL_ERROR, with a log line naming what failed. */
void fleet_internal(hctx *h, const char *what, st_t st);

/* Parse the request body as a JSON object into d (the shared token pool).
 * false: answered 400 "Invalid JSON body: <reason>". The caller must
 * json_release(d) on every path after true. */
bool fleet_body(hctx *h, json_doc *d);

/* Optional string field `key` of object `obj`: absent or null -> *present
 * false and true returned. Wrong type, too many characters (max_chars, in
 * Unicode scalar values) or more bytes than cap-1 -> answered 400, false.
 * The text is NUL-terminated in buf. trim: strip ASCII whitespace. */
bool fleet_opt_str(hctx *h, const json_doc *d, int obj, const char *key, char *buf,
                   size_t cap, size_t max_chars, bool trim, bool *present, size_t *n);
/* Tags (string[] | null): each 1..50 chars, at most 20; written as a JSON
 * array text into out (FLEET_TAGS_JSON_BYTES). */
bool fleet_opt_tags(hctx *h, const json_doc *d, int obj, char *out, size_t cap,
                    bool *present);

/* A query parameter as an integer in [lo, hi]; absent -> *present false.
 * false: answered 400. */
bool fleet_query_int(hctx *h, const char *name, int64_t lo, int64_t hi, int64_t *out,
                     bool *present);
/* A query parameter decoded into buf (NUL-terminated); absent -> false. */
bool fleet_query_str(const hctx *h, const char *name, char *buf, size_t cap);

/* ---- lists of any length ------------------------------------------------- */

/* The query and row writer of a list (fam/shared/list.h). */
typedef fam_list_query fleet_list_query;
typedef fam_list_row fleet_list_row;


/* Answer 200 with data = the array of every row the query yields, streamed
 * in chunks (route must be ROUTE_BIG_OUT): as many whole items as fit go
 * out per part, the query restarting at the next offset, so the list may be
 * any length in fixed memory. ctx (at most FAM_LIST_CTX_BYTES) is copied.
 * links are copied too (hrefs up to 127 bytes). */
void fleet_list_stream(hctx *h, fleet_list_query query, fleet_list_row row, const void *ctx,
                       size_t ctx_len, const fleet_link *links, size_t nlinks);

/* Characters (Unicode scalar values) in valid UTF-8 text. */
size_t fleet_chars(const char *s, size_t n);

/* Current time as stored and shown: CLOCK_FMT_Z6. */
void fleet_now(char out[40]);

/* <data_dir>/bots/<slug>[/<file>] into buf. false if it does not fit. */
bool fleet_bot_path(const char *slug, const char *file, char *buf, size_t cap);
const char *fleet_data_dir(void);
void fleet_set_data_dir(const char *dir);

#endif
