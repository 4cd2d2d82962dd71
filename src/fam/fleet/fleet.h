/*
 * fleet.h - the fleet family (boternity backend), listener default :3000.
 * Foundation scope: GET /health, GET /metrics, the error envelope of
 * spec/fleet.md §1.2 for every error, unknown /api/ routes as NOT_FOUND.
 */
#ifndef ROOST_FAM_FLEET_H
#define ROOST_FAM_FLEET_H

#include "http/server.h"

/* Serve the SPA of spec/fleet.md §4 from dir (fleet.web_dir) when it
 * exists; call before fleet_setup. Returns whether it is served; when not,
 * non-API paths stay the family's 404. */
bool fleet_set_web_dir(const char *dir);
void fleet_setup(http_service *svc);
/* The fleet error envelope (also used for protocol errors). */
void fleet_error(hctx *h, int status, const char *code, const char *msg);

#endif
