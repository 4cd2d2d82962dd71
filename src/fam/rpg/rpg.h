/*
 * rpg.h - the rpg family (claude-rpg server-v2), listener default :4011:
 * GET /health, POST /event (Claude Code hooks, also recorded by
 * observability: Decision 9), the tmux windows and panes (spec/rpg.md §3,
 * §4.1-§4.4, §6) driven by tmux child processes from the loop, the
 * prioritised /ws (§9) and the SPA (rpg.web_dir). Personas, projects,
 * quests and XP (§4.5-§4.9) are not built yet. The parts: rpg_int.h.
 */
#ifndef ROOST_FAM_RPG_H
#define ROOST_FAM_RPG_H

#include "fam/desc.h"

/* The family's ring topic (its descriptor's topic, fam/rpg/desc.c). */
#define RPG_TOPIC 0x2u

/* Fixed by the contract or by tmux, not sizes to tune. */
#define RPG_SESSION_BYTES 256u      /* a tmux session name, cut beyond */
#define RPG_WNAME_BYTES 832u        /* a window name: 200 characters of UTF-8 */
#define RPG_SID_BYTES 128u          /* a Claude session id (a UUID), cut beyond */
#define RPG_TOOL_BYTES 136u         /* a tool name (64 in the API; MCP names reach it), cut beyond */
#define RPG_CMD_BYTES 16384u        /* a Bash command decoded for matching (longer: matched as received) */
#define RPG_CWD_BYTES 512u          /* a pane's working directory, cut beyond */
#define RPG_ERR_BYTES 512u          /* a pane session's lastError.message */
#define RPG_SUBAGENTS 8u            /* running Task tools kept per pane session */
#define RPG_POLL_WAITERS 16u        /* requests waiting for an immediate poll */

extern const fam_routes rpg_routes;
/* The setup hook: authorization, a wrong method answered as unknown, the SPA. */
void rpg_setup(http_service *svc);
void rpg_error(hctx *h, int status, const char *code, const char *msg);
/* init: the poller, the hooks' registrations; streams: /ws; shutdown. */
st_t rpg_init(const fam_env *env);
void rpg_streams(const fam_env *env);
void rpg_shutdown(void);

#endif
