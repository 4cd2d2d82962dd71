/*
 * docs.h - the documents family (document-sync-server), default :8766:
 * GET /health, POST /documents (upload), GET /documents (list),
 * GET /documents/tags, GET /documents/{id}/metadata, GET /documents/{id}
 * (download), PATCH and DELETE /documents/{id} (spec/documents.md §3), with
 * FastAPI-style errors. The folder: docs.c (routes, init, paths), store.c
 * (rows), meta.c (everything but the bytes), upload.c, download.c
 * (docs_int.h), with the descriptor and schema step in desc.c and the SQL
 * in stmts.def.
 */
#ifndef ROOST_FAM_DOCS_H
#define ROOST_FAM_DOCS_H

#include "config.h"
#include "core/status.h"
#include "fam/desc.h"

/* Static storage of the family, for the plan (plan.def): the documents
 * directory's path (docs.c). */
#define DOCS_DIR_BYTES ((size_t)CFG_CONF_VALUE_BYTES + 16u)
#define DOCS_STATIC_BYTES DOCS_DIR_BYTES

/* Its route table and init hook (the descriptor's, desc.c): init creates
 * <data_dir>/documents and sweeps it (docs_sweep). */
extern const fam_routes docs_routes;
st_t docs_init(const fam_env *env);

#endif
