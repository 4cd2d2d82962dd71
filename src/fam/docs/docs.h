/*
 * docs.h - the documents family (document-sync-server), default :8766.
 * Foundation scope: GET /health and FastAPI-style errors.
 */
#ifndef ROOST_FAM_DOCS_H
#define ROOST_FAM_DOCS_H

#include "http/server.h"

void docs_setup(http_service *svc);

#endif
