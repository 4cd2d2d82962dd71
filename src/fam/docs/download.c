/*
 * download.c - GET /documents/{id} (spec/documents.md §3.6). Not yet: 501.
 */
#include "fam/docs/docs_int.h"

#include "fam/shared/fam.h"

void docs_download(hctx *h)
{
    fam_fastapi_error(h, 501, "NOT_IMPLEMENTED", "Not implemented");
}
