/*
 * list.h - JSON lists of any length, streamed from the store in fixed memory.
 *
 * A list is a query that can restart at any row (the caller folds its own
 * LIMIT/OFFSET into it), a writer for one row, and the text around the rows:
 * a fixed head ("{\"data\":[") and a tail written when the rows end (fixed
 * for FastAPI-style bodies, computed for the fleet envelope's meta). The body
 * goes out as a chunked response produced part by part straight into the
 * connection's tx buffer: as many whole rows as fit per part, the query
 * restarting at the next row, so the length of a list never costs memory. A
 * row larger than the room left (a soul version's content, a hook event's
 * tool output) is rendered into the render scratch and sent in windows, the
 * row read again for each (http/server.h); a row that changed between
 * windows, or that does not fit the scratch, cuts the list (logged).
 *
 * A row writer must depend on its row only (the row's columns, nothing of
 * the clock or the disk): the rows of the last list that went out in one
 * part are kept (CFG_LIST_CACHE_BYTES) with the store's generation, and the
 * same list (query, row writer and context bytes equal) asked again while
 * the database is unchanged is copied from there instead of being queried
 * and rendered again. Any commit of a write changes the generation.
 */
#ifndef ROOST_FAM_LIST_H
#define ROOST_FAM_LIST_H

#include <stddef.h>
#include <stdint.h>

#include "http/server.h"
#include "http/stream.h"
#include "json/write.h"

#define FAM_LIST_CTX_BYTES 320u
#define FAM_LIST_TAIL_CTX_BYTES 320u
#define FAM_LIST_HEAD_BYTES 32u
/* The statics of the list cache, for the plan (app/pools.def). */
#define FAM_LIST_STATIC_BYTES (CFG_LIST_CACHE_BYTES + FAM_LIST_CTX_BYTES + 64u)

struct sqlite3_stmt;
/* Prepare and bind the list's query to yield the rows from `sent` on; NULL
 * on error (logged by the query). */
typedef struct sqlite3_stmt *(*fam_list_query)(const void *ctx, int64_t sent);
/* Write the current row of q as one JSON value. */
typedef void (*fam_list_row)(struct sqlite3_stmt *q, json_w *w);
/* Write what follows the last row into buf (cap bytes, at least 1 KiB);
 * returns its length. */
typedef size_t (*fam_list_tail)(const void *tail_ctx, char *buf, size_t cap);

/* Answer 200 application/json: head, the rows comma-separated, the tail.
 * ctx and tail_ctx are copied (at most FAM_LIST_CTX_BYTES and
 * FAM_LIST_TAIL_CTX_BYTES); head is shorter than FAM_LIST_HEAD_BYTES. A
 * storage error mid-list ends the list early (logged). */
void fam_list_stream(hctx *h, const char *head, fam_list_query query, fam_list_row row,
                     const void *ctx, size_t ctx_len, fam_list_tail tail,
                     const void *tail_ctx, size_t tail_len);

/* The same list as the first message of a WebSocket stream s (from
 * hctx_ws_accept): one text message, fragmented at part boundaries. Does
 * nothing when s is NULL. */
void fam_list_ws_snapshot(hctx *h, stream_sub *s, const char *head, fam_list_query query,
                          fam_list_row row, const void *ctx, size_t ctx_len,
                          fam_list_tail tail, const void *tail_ctx, size_t tail_len);

#endif
