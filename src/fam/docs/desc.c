/*
 * desc.c - the documents family as a descriptor (fam/desc.h): the tagged file
 * store; listener default :8766, FastAPI style.
 *
 * Compiled in every profile; what needs the family's code is behind
 * CFG_FAM_DOCS.
 */
#include "fam/desc.h"

#include "config.h"
#include "fam/docs/docs.h"
#include "fam/families.h"
#include "fam/shared/fam.h"

const fam_desc fam_docs = {
    .name = "documents",
    .prefix = "documents",
    .about = "tagged file store",
    .port = 8766u,
    .topic = 0u,
    .cors = CORS_STYLE_FASTAPI,
    .cors_origins = "http://localhost:5173,http://localhost:3000",
    .cors_credentials = false,
    .cors_methods = NULL,
    .cors_headers = NULL,
    .store = { "documents", NULL, 0u, NULL },
#if CFG_FAM_DOCS
    .built = true,
    .routes = &docs_routes,
    .error = fam_fastapi_error,
    .setup = fam_fastapi_setup,
#endif
};
