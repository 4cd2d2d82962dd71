/*
 * agents.h - the agents family (agent manager), default :8767.
 * Foundation scope: GET /health and FastAPI-style errors (CORS with
 * credentials, as upstream).
 */
#ifndef ROOST_FAM_AGENTS_H
#define ROOST_FAM_AGENTS_H

#include "fam/desc.h"

/* Its route table (the descriptor's, desc.c). */
extern const fam_routes agents_routes;

#endif
