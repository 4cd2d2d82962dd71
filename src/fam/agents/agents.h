/*
 * agents.h - the agents family (agent manager), default :8767.
 * Foundation scope: GET /health and FastAPI-style errors (CORS with
 * credentials, as upstream).
 */
#ifndef ROOST_FAM_AGENTS_H
#define ROOST_FAM_AGENTS_H

#include "http/server.h"

void agents_setup(http_service *svc);

#endif
