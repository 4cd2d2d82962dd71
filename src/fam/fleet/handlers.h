/*
 * handlers.h - every fleet REST handler (spec/fleet.md §5), by file:
 *   bots.c      §5.1 bots            souls.c    §5.2 soul versions
 *   files.c     §5.3 identity, user  sessions.c §5.4 sessions, §5.5 stats
 *   skills.c    §5.6 skills          secrets.c  §5.7 secrets
 * The route table is in fleet.c.
 */
#ifndef ROOST_FLEET_HANDLERS_H
#define ROOST_FLEET_HANDLERS_H

#include "http/server.h"

void bots_create(hctx *h);
void bots_list(hctx *h);
void bots_get(hctx *h);
void bots_update(hctx *h);
void bots_delete(hctx *h);
void bots_clone(hctx *h);

void souls_get(hctx *h);
void souls_put(hctx *h);
void souls_versions(hctx *h);
void souls_version(hctx *h);
void souls_rollback(hctx *h);
void souls_verify(hctx *h);

void files_identity_get(hctx *h);
void files_identity_put(hctx *h);
void files_user_get(hctx *h);
void files_user_put(hctx *h);

void sessions_list(hctx *h);
void sessions_get(hctx *h);
void sessions_messages(hctx *h);
void sessions_delete(hctx *h);
void sessions_clear(hctx *h);
void sessions_stats(hctx *h);

void skills_list(hctx *h);
void skills_get(hctx *h);
void skills_bot_list(hctx *h);
void skills_attach(hctx *h);
void skills_patch(hctx *h);
void skills_detach(hctx *h);

void secrets_list(hctx *h);
void secrets_put(hctx *h);
void secrets_delete(hctx *h);

#endif
