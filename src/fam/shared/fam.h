/*
 * fam.h - what the families share: JSON responses through the response
 * writer, and the FastAPI-style error body of observability, documents and
 * agents ({"detail": "..."}).
 */
#ifndef ROOST_FAM_H
#define ROOST_FAM_H

#include "http/server.h"
#include "json/write.h"

/* Begin a JSON response: status, CORS, Content-Type, and a writer over the
 * body room. Finish with fam_json_end (which turns overflow into a 500). */
void fam_json_begin(hctx *h, int status, json_w *w);
void fam_json_end(hctx *h, json_w *w);
/* A fixed JSON body. */
void fam_json_send(hctx *h, int status, const char *json);
/* Headers every error of the given status carries (Allow on 405,
 * Retry-After on 503). Call between begin and end. */
void fam_error_headers(hctx *h, int status);

/* A member `key` from column col of the current row of q: the text as a
 * JSON string, the integer, or the column's JSON text written verbatim
 * (raw) -- and null when the column is NULL. */
struct sqlite3_stmt;
void fam_kcol_str(json_w *w, const char *key, struct sqlite3_stmt *q, int col);
void fam_kcol_int(json_w *w, const char *key, struct sqlite3_stmt *q, int col);
void fam_kcol_raw(json_w *w, const char *key, struct sqlite3_stmt *q, int col);

/* The setup hook of a FastAPI-style family (fam/desc.h): authorization
 * as FastAPI's dependencies do it (an unknown path stays 404). */
void fam_fastapi_setup(http_service *svc);
/* The error writer of the FastAPI-style families. */
void fam_fastapi_error(hctx *h, int status, const char *code, const char *msg);

#endif
