/*
 * upload.c - POST /documents (spec/documents.md §3.2). Not yet: 501.
 */
#include "fam/docs/docs_int.h"

#include "fam/shared/fam.h"

void docs_upload(hctx *h)
{
    fam_fastapi_error(h, 501, "NOT_IMPLEMENTED", "Not implemented");
}

st_t docs_sweep(void)
{
    return ST_OK;
}
