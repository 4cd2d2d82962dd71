/*
 * docs.h - the documents family (document-sync-server), default :8766.
 * Foundation scope: GET /health and FastAPI-style errors.
 */
#ifndef ROOST_FAM_DOCS_H
#define ROOST_FAM_DOCS_H

#include "fam/desc.h"

/* Its route table (the descriptor's, desc.c). */
extern const fam_routes docs_routes;

#endif
