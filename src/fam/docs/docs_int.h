/*
 * docs_int.h - what the documents family's files share (spec/documents.md).
 *
 *   docs.c      route table, init (documents directory, the sweep)
 *   store.c     the rows: insert, look up, delete, every id (for the sweep)
 *   meta.c      list, tag counts, metadata, PATCH, DELETE, the
 *               DocumentResponse writer
 *   upload.c    POST /documents: the body streamed through the multipart
 *               parser into a temporary file, then fsync, rename, row
 *   download.c  GET /documents/{id}: the file streamed, ETag, Range
 */
#ifndef ROOST_FAM_DOCS_INT_H
#define ROOST_FAM_DOCS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "core/sha256.h"
#include "core/strv.h"
#include "fam/desc.h"
#include "http/multipart.h"
#include "http/server.h"

#define DOCS_ID_LEN 28u              /* "doc_" + 24 lowercase hex */
#define DOCS_MAX_TAGS_UPLOAD 1024u   /* tags of one upload (8 KiB of text at most) */
/* upload.c's statics, for the plan (plan.def): the slots and a message. */
#define DOCS_UPLOAD_STATIC_BYTES \
    (((size_t)CFG_DOCS_UPLOAD_SLOTS * \
      (752u + (2u * (size_t)MP_FILENAME_BYTES) + (size_t)CFG_CONF_VALUE_BYTES + (size_t)CFG_DOCS_TAGS_BYTES + \
       (size_t)CFG_DOCS_META_BYTES + (size_t)CFG_DOCS_CHUNK_BYTES)) + 64u)

/* `^doc_[0-9a-f]{24}$` */
bool docs_id_valid(strv id);
/* <data_dir>/documents, without a trailing slash (set by init). */
const char *docs_dir(void);
/* The path of document id's file, or of a temporary name in the documents
 * directory (any name); false when it does not fit cap. */
bool docs_path(char *buf, size_t cap, const char *name);

/* The keys (desc.c). */
const char *docs_public_url(void);
uint64_t docs_max_upload(void);
uint32_t docs_chunk_bytes(void);

/* A document about to be stored (upload.c). */
typedef struct {
    char id[DOCS_ID_LEN + 1u];
    strv filename;                   /* as uploaded; empty: "unknown" */
    strv content_type;
    uint64_t size;
    char sha256[SHA256_HEX_BYTES];
    const strv *tags;                /* trimmed, non-empty, no duplicates, in order */
    size_t ntags;
    strv metadata;                   /* a JSON object of strings; empty: {} */
} docs_new;

/* Store the row and its tags in one transaction; created_at = updated_at =
 * now. ST_EXISTS (the id is taken), ST_DB. */
st_t docs_store_add(const docs_new *d);

/* What a download needs of a row. */
typedef struct {
    char filename[1024];
    char content_type[256];
    uint64_t size;
    char sha256[SHA256_HEX_BYTES];
} docs_file;
/* ST_NOTFOUND, ST_DB. */
st_t docs_store_file(const char *id, docs_file *out);
/* Remove the row and its tags (one transaction). ST_NOTFOUND, ST_DB. */
st_t docs_store_remove(const char *id);
/* fn(id, ctx) for every stored document, in no particular order; fn
 * returns false to stop. The statement is done before fn runs for the
 * next row only if fn does not touch the store: collect, then act. */
st_t docs_store_each(bool (*fn)(const char *id, void *ctx), void *ctx);
/* ST_OK when a row with id exists, ST_NOTFOUND, ST_DB. */
st_t docs_store_has(const char *id);

/* For PATCH (meta.c), inside its transaction: the row number of id
 * (ST_NOTFOUND), its tags removed, one tag added at pos (*added false when
 * the document has it already: the first is kept), and tags_json made
 * again from its tags. */
st_t docs_store_seq(const char *id, int64_t *seq);
st_t docs_store_tags_clear(int64_t seq);
st_t docs_store_tag_add(int64_t seq, strv tag, int64_t pos, bool *added);
st_t docs_store_tags_json(int64_t seq);

/* Answer status with the DocumentResponse of id, as stored (201 after an
 * upload, 200 for metadata and PATCH); 404 when it is not there. */
void docs_answer_doc(hctx *h, int status, const char *id);

/* Handlers (the route table in docs.c). */
void docs_upload(hctx *h);      /* ROUTE_STREAM_BODY */
void docs_download(hctx *h);
void docs_list(hctx *h);
void docs_tags(hctx *h);
void docs_metadata(hctx *h);
void docs_patch(hctx *h);
void docs_delete(hctx *h);

/* At start, after the documents directory exists: remove temporary files
 * of uploads that did not finish, files without a row and rows without a
 * file (logged). upload.c. */
st_t docs_sweep(void);

#endif
