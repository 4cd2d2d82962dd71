/*
 * agents.h - the agents family (the agent-orchestrator agent manager,
 * spec/agents.md), default :8767: GET /health, GET /agents, POST /agents,
 * GET/PATCH/DELETE /agents/{name} and PATCH /agents/{name}/status over
 * agent blueprints kept on disk exactly as upstream lays them out (§2), in
 * agents.dir, shared with upstream's command-line tools: every read comes
 * from disk (an edit by hand is seen at once), every write is atomic
 * (temporary file and rename), files roost does not know are kept.
 * FastAPI-style errors (fam/shared/fapi.h), CORS with credentials.
 * DELETE asks observability (fam/shared/xfam.h) whether a session of the
 * agent is running (Decision 8).
 *
 * The folder: agents.c (route table, init, names, paths, GET, DELETE and
 * status), edit.c (POST, PATCH), blueprint.c (an agent read and checked),
 * body.c (request bodies), agentjson.c (the agent files' JSON), out.c (the
 * answers, streamed from disk), desc.c (the descriptor and its keys);
 * agents_int.h is what they share.
 */
#ifndef ROOST_FAM_AGENTS_H
#define ROOST_FAM_AGENTS_H

#include "core/status.h"
#include "fam/desc.h"

/* Its route table and init hook (the descriptor's, desc.c): init takes
 * agents.dir and refuses one too long for an agent's files under it. */
extern const fam_routes agents_routes;
st_t agents_init(const fam_env *env);

/* Static storage of the family, for its plan line (plan.def): the names
 * of invalid directories already logged (hashes) and agents.dir's
 * address. */
#define AGENTS_LOGGED_NAMES 32u
#define AGENTS_STATIC_BYTES ((AGENTS_LOGGED_NAMES * 8u) + 32u)

#endif
