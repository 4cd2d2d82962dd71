/*
 * obs.h - the observability family (agent-orchestrator), default :8765.
 * Foundation scope: GET /health and FastAPI-style errors.
 */
#ifndef ROOST_FAM_OBS_H
#define ROOST_FAM_OBS_H

#include "http/server.h"

void obs_setup(http_service *svc);

#endif
