/*
 * rpg_int.h - what the parts of the rpg family share (spec/rpg.md):
 *
 *   rpg.c     routes, the envelope (§1.1-§1.3), the descriptor's hooks, SPA
 *   state.c   the current tmux state (§3.1): the poll, process
 *             classification (§3.2), terminal captures (§3.3), linking
 *             (§3.4), the pane sessions and their status (§6)
 *   tmux.c    the window and pane actions (§4.3, §4.4), each a tmux child
 *             whose answer is given later (hctx_later)
 *   hook.c    POST /event (§4.2, §5) and the hook's observability side
 *             (Decision 9, through fam/shared/xfam.h)
 *   ws.c      /ws (§9): snapshots, messages, priorities, resume
 *   detect.c  the pure status rules (§6.1, §6.3, §6.4)
 *
 * Everything is static storage sized in config.h (CFG_RPG_*); a pane or
 * window beyond the tables is left out of the state (logged once, counted).
 */
#ifndef ROOST_FAM_RPG_INT_H
#define ROOST_FAM_RPG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "core/status.h"
#include "core/strv.h"
#include "fam/rpg/detect.h"
#include "fam/rpg/rpg.h"
#include "http/server.h"
#include "json/read.h"
#include "json/write.h"

/* ---- the current state (state.c) ----------------------------------------- */

typedef enum { PT_IDLE = 0, PT_SHELL, PT_PROCESS, PT_CLAUDE } rpg_ptype;

typedef struct {
    uint32_t id;                        /* @N */
    uint32_t index;
    uint32_t order;                     /* rank in tmux's listing, 0.. */
    bool active;
    bool seen;                          /* in the last poll */
    char session[RPG_SESSION_BYTES];
    char name[RPG_WNAME_BYTES];
} rpg_window;

/* What a Claude pane shows of its persona (§2.1 ClaudeSessionInfo): a copy
 * of the persona row (game.h), refreshed whenever a change to it commits.
 * id "" until the persona is known. */
#define RPG_NAME_BYTES 64u
typedef struct {
    char id[40];
    char name[RPG_NAME_BYTES];
    uint32_t level;
    uint32_t badges;
    int32_t energy;
    int32_t morale;
    uint64_t health_ms;
} rpg_persona_view;

/* A pane's project (§2.2 projectId, §3.4): unknown until looked up, then
 * being asked of git, known (project_id), or none (not in a git tree). */
typedef enum { RPG_PROJ_UNKNOWN = 0, RPG_PROJ_ASKING, RPG_PROJ_KNOWN, RPG_PROJ_NONE } rpg_proj;

/* A pane session (§2.2), one per Claude pane that has a slot. */
typedef struct {
    bool used;
    uint32_t pane;                      /* %N */
    char id[40];                        /* uuid v4 */
    char sid[RPG_SID_BYTES];            /* linked Claude session id, or pane-%N */
    rpg_status status;
    rpg_source source;
    uint64_t created_ms;                /* wall, ms */
    uint64_t status_wall_ms;            /* statusChangedAt */
    uint64_t activity_wall_ms;          /* lastActivityAt */
    uint64_t status_mono_ms;            /* for tH */
    uint64_t hook_wall_ms;              /* lastHookUpdateAt, 0: none */
    uint64_t hook_mono_ms;              /* for tE, 0: none */
    uint64_t error_mono_ms;             /* for tX, 0: none */
    uint64_t content_mono_ms;           /* terminal content last changed */
    double confidence;
    bool has_conf;
    bool has_error;
    char err_tool[RPG_TOOL_BYTES];
    char err_msg[RPG_ERR_BYTES];
    uint64_t err_wall_ms;
    rpg_errclass err_class;
    uint32_t nsub;
    /* cppcheck-suppress misra-c2012-5.7 ; false positive: an untagged struct has no tag */
    struct {
        char id[64];
        char desc[128];
        uint64_t started_ms;
    } sub[RPG_SUBAGENTS];
    /* pane_update at most once per 50 ms (§6.1) */
    uint64_t update_sent_ms;
    bool update_due;
    /* part 2: its persona and project */
    rpg_persona_view pv;
    rpg_proj proj;
    char project_id[40];
    char proj_cwd[RPG_CWD_BYTES];       /* the cwd the project was found for */
    /* terminal (§3.3) */
    uint32_t term_n;
    uint32_t term_gen;                  /* changes with every new content */
    uint64_t next_capture_ms;           /* mono */
    uint32_t unchanged;                 /* consecutive unchanged captures */
    char term[CFG_RPG_TERM_BYTES];
} rpg_csession;

typedef struct {
    uint32_t id;                        /* %N */
    uint32_t window;                    /* @N */
    uint32_t index;
    bool active;
    bool seen;
    uint32_t width;
    uint32_t height;
    int64_t pid;
    char command[64];                   /* pane_current_command */
    rpg_ptype type;
    int64_t claude_pid;                 /* its Claude process, 0: none */
    char cwd[RPG_CWD_BYTES];
    int32_t cs;                         /* pane session slot, -1: none */
    int64_t cls_pid;                    /* classified for this pid ... */
    char cls_cmd[64];                   /* ... and command */
    uint64_t cls_mono_ms;               /* ... at */
} rpg_pane;

/* The family's other statics, for the plan: links, the
 * pane_update message, the action slots and argument buffers, the poll's
 * bookkeeping, the hook's output text and Bash command, the avatars'
 * directory and file buffer, the events of a change (game.h). */
#define RPG_OTHER_STATIC_BYTES \
    (((size_t)CFG_RPG_LINKS * (16u + RPG_SID_BYTES)) + \
     16384u + 4096u + RPG_WNAME_BYTES + RPG_SESSION_BYTES + (4u * RPG_ERR_BYTES) + 2048u + \
     ((size_t)CFG_RPG_CLAUDE * 32u) + ((size_t)CFG_RPG_WINDOWS * 4u) + RPG_CMD_BYTES + \
     4096u + (size_t)CFG_CONF_VALUE_BYTES + 64u + (16u * 16u))

extern rpg_window g_rpg_win[CFG_RPG_WINDOWS];
extern uint32_t g_rpg_nwin;
extern rpg_pane g_rpg_pane[CFG_RPG_PANES];
extern uint32_t g_rpg_npane;
extern rpg_csession g_rpg_cs[CFG_RPG_CLAUDE];

/* Start the poller (rpg_init): poll_interval_ms, capture lines. */
void rpg_state_start(uint32_t poll_ms, uint32_t capture_lines, const char *tmux_path);
void rpg_state_stop(void);
/* Poll now (after an action, or for an unknown id): the next poll starts
 * as soon as none is running; done(ctx) runs after it (NULL: none). At
 * most RPG_POLL_WAITERS waiters; false when full (done will not run). */
bool rpg_poll_now(void (*done)(void *ctx), void *ctx);
/* The path of tmux ("" when none was found at start). */
const char *rpg_tmux(void);

rpg_pane *rpg_pane_find(uint32_t id);
rpg_window *rpg_window_find(uint32_t id);
rpg_csession *rpg_cs_of(const rpg_pane *p);
/* "%12" -> 12; false when s is not a pane id (or "@7" for windows). */
bool rpg_parse_id(strv s, char sigil, uint32_t *id);
/* A pane by tmux target "session:window.pane" through the state. */
rpg_pane *rpg_pane_by_target(strv target);

/* Set a pane session's status (§6.1): source, times, the bus event and
 * the pane_update (rate-limited). forced: a hook's transition outside
 * the table (logged). */
void rpg_set_status(rpg_csession *cs, rpg_status to, rpg_source src);
/* Link a pane session to Claude session sid (§3.4). */
void rpg_cs_link(rpg_csession *cs, strv sid);
/* The last session id a hook named for pane id (for a pane seen later),
 * and the link session -> pane (hooks.md §6). */
void rpg_link_record(uint32_t pane, strv sid);
const char *rpg_link_sid_of_pane(uint32_t pane);

/* No pane (a bus event without one). */
#define RPG_NO_PANE UINT32_MAX

/* Write a TmuxWindow[] (ws.c), a TmuxPane and a ClaudeSession (§2.1, §2.2) from the state. */
void rpg_w_windows(json_w *w, bool with_terminal);
void rpg_w_pane(json_w *w, const rpg_pane *p, bool with_terminal);
void rpg_w_session(json_w *w, const rpg_csession *cs);

/* The avatar seed of a session id (§4.9): abs of the 32-bit hash of its
 * UTF-16 code units. */
uint64_t rpg_avatar_seed(const char *sid);
/* "/api/avatars/<seed>" of a session id (a persona's avatarUrl). */
#define RPG_AVATAR_URL_BYTES 40u
void rpg_avatar_url(const char *sid, char url[RPG_AVATAR_URL_BYTES]);

/* Counters for /metrics and the logs. */
typedef struct {
    uint64_t polls;
    uint64_t polls_failed;
    uint64_t polls_skipped;             /* no child slot free */
    uint64_t captures;
    uint64_t windows_sent;
    uint64_t panes_dropped;             /* beyond CFG_RPG_PANES / _WINDOWS */
    uint64_t sessions_dropped;          /* Claude panes beyond CFG_RPG_CLAUDE */
} rpg_stats_t;
extern rpg_stats_t g_rpg_stats;

/* ---- ws.c ------------------------------------------------------------------ */

void rpg_ws_connect(hctx *h);
void rpg_ws_streams(uint32_t heartbeat_ms, uint64_t pause, uint64_t resume, uint64_t max);
/* Publish a message on the ring for every /ws client (§9.2). */
void rpg_publish(const char *json, size_t n, bool high);
/* After a poll: broadcast `windows` when it differs from the last one. */
void rpg_ws_windows_changed(void);
void rpg_ws_pane_update(const rpg_pane *p, const rpg_csession *cs);
void rpg_ws_pane_removed(uint32_t pane);
void rpg_ws_terminal(uint32_t pane, const char *content, size_t n, bool with_ts);
/* A bus event (§10) as a low-priority `event` message: eventType, the
 * pane (0: none) and the hook type for hook events (NULL: eventType). */
void rpg_ws_event(const char *event_type, uint32_t pane, const char *hook_type);

/* ---- rpg.c: the envelope ----------------------------------------------------- */

/* Begin {"success":true,"data": ... : the caller writes the data value,
 * then rpg_ok_end. */
void rpg_ok_begin(hctx *h, json_w *w);
void rpg_ok_end(hctx *h, json_w *w);
/* A fixed data value ("{\"sent\":true}"). */
void rpg_ok_raw(hctx *h, const char *data);
/* The JSON object body of a POST/PATCH: false when it answered 400
 * INVALID_JSON (the document is released by the caller when true). */
bool rpg_body_obj(hctx *h, json_doc *d);
/* Characters (code points) of UTF-8 text. */
size_t rpg_chars(const char *s, size_t n);
/* "2026-01-28T10:11:12.345Z" of wall ms under key. */
void rpg_w_iso(json_w *w, const char *key, uint64_t ms);
/* The 32-bit signed hash of §4.9 over a session id's UTF-16 code units
 * (the avatar seed is its absolute value; §8.6 names use it too). */
int32_t rpg_sid_hash(const char *sid);

/* ---- tmux.c / hook.c: handlers ---------------------------------------------- */

void rpg_get_windows(hctx *h);
void rpg_window_create(hctx *h);
void rpg_window_rename(hctx *h);
void rpg_window_close(hctx *h);
void rpg_window_new_pane(hctx *h);
void rpg_window_new_claude(hctx *h);
void rpg_pane_prompt(hctx *h);
void rpg_pane_signal(hctx *h);
void rpg_pane_dismiss(hctx *h);
void rpg_pane_refresh(hctx *h);
void rpg_pane_close(hctx *h);
void rpg_post_event(hctx *h);
/* Register the family's answers between families, start the event log's
 * daily prune (rpg.events_retention_days). */
void rpg_hooks_init(uint32_t retention_days);
/* hooks.md §6: the pane's Claude process of a linked session. */
st_t rpg_session_pid(strv sid, int64_t *pid);

#endif
