/*
 * rpg.h - the rpg family (claude-rpg server-v2), listener default :4011.
 * Foundation scope: GET /health, the {success, error, ok, message} envelope
 * for every error, unknown routes (and wrong methods, as upstream) as
 * 404 "Route not found: <METHOD> <path>".
 */
#ifndef ROOST_FAM_RPG_H
#define ROOST_FAM_RPG_H

#include "fam/desc.h"

extern const fam_routes rpg_routes;
/* The setup hook: authorization, a wrong method answered as unknown. */
void rpg_setup(http_service *svc);
void rpg_error(hctx *h, int status, const char *code, const char *msg);

#endif
