/*
 * xfam.h - what one family asks of another (spec README §7), through
 * functions the answering family registers at its init: no family includes
 * another family's folder (tools/check_layers.py), and a family that is not
 * built (or not yet initialised) simply registered nothing, which each
 * question below answers in a stated way.
 *
 *   question                          asked by   answered by     unregistered
 *   a running session of agent name?  agents     observability   "none running"
 *   (Decision 8: DELETE /agents/{name} is 409 while one runs)
 *
 * The answers are synchronous and run on the loop (a prepared statement of
 * the answering family's own); they never keep what they are given.
 */
#ifndef ROOST_FAM_XFAM_H
#define ROOST_FAM_XFAM_H

#include <stdbool.h>

#include "core/status.h"
#include "core/strv.h"

/* *running: whether a session with status "running" has agent_name ==
 * name (compared byte for byte). ST_OK, or a storage error (the caller
 * answers 500; *running is then false). */
typedef st_t (*xfam_agent_running_fn)(strv name, bool *running);

/* Register the answer (observability's init); NULL unregisters. */
void xfam_set_agent_running(xfam_agent_running_fn fn);
/* Ask: the registered answer, or ST_OK with *running false when none is. */
st_t xfam_agent_running(strv name, bool *running);

#endif
