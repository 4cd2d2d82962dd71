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
 *   record this Claude Code hook      rpg        observability   nothing recorded
 *   (Decision 9, spec/hooks.md §4-§7: POST /event feeds both dashboards)
 *   the Claude process of session id  observability rpg          none
 *   (spec/observability.md §5 step 2: the pane linked by a hook)
 *
 * The answers are synchronous and run on the loop (a prepared statement of
 * the answering family's own); they never keep what they are given.
 */
#ifndef ROOST_FAM_XFAM_H
#define ROOST_FAM_XFAM_H

#include <stdbool.h>
#include <stdint.h>

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

/* One Claude Code hook as rpg's POST /event received it, for the
 * observability mapping (spec/hooks.md §4-§6). type is the normalised
 * snake_case hook type (rpg.md §5 step 1); every other view is the JSON
 * value's text as received (a string with its quotes and escapes; p NULL
 * when the field is absent), session_id the first present of session_id
 * and sessionId. pid: the body's integer pid field when it is in
 * 1..2147483647 (has_pid). wall_us: roost's clock at receipt. The views are
 * borrowed for the call only. */
typedef struct {
    strv type;
    strv session_id;
    strv tool_name;
    strv tool_input;
    strv tool_response;
    strv error;
    strv prompt;
    strv transcript_path;
    bool has_pid;
    int64_t pid;
    uint64_t wall_us;
} xfam_hook;

/* Record what hooks.md §4 maps hk to (implicit session start, the mapped
 * event, the Stop transcript message), in that order, each committed
 * before it returns. Failures are the answering family's to log and count;
 * the asker's answer never depends on them, so nothing is returned. The
 * recorder works in the render scratch (http_render_scratch), so the
 * asker keeps nothing there across the call (hk's views included); it
 * parses with its own tokens, so the asker's pooled JSON document may stay
 * live. */
typedef void (*xfam_hook_fn)(const xfam_hook *hk);
void xfam_set_hook_record(xfam_hook_fn fn);
/* Ask: the registered recorder, or nothing when none is. */
void xfam_hook_record(const xfam_hook *hk);

/* The pid of the Claude process of the rpg pane that session sid was last
 * linked to by a hook (hooks.md §6), when that pane still exists and is a
 * Claude pane (rpg.md §3.2). ST_OK with *pid; ST_NOTFOUND otherwise. */
typedef st_t (*xfam_session_pid_fn)(strv sid, int64_t *pid);
void xfam_set_session_pid(xfam_session_pid_fn fn);
/* Ask: the registered answer, or ST_NOTFOUND when none is. */
st_t xfam_session_pid(strv sid, int64_t *pid);

#endif
