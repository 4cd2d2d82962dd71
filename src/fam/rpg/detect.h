/*
 * detect.h - the rpg family's pane status rules that need no state beyond
 * their arguments (spec/rpg.md §6): terminal detection (§6.3) over a
 * capture, the reconciliation of the hook status with it (§6.4), the
 * transition table and priorities (§6.1) and a tool failure's error class
 * (§6.4, last paragraph).
 *
 * The patterns of §6.3 are matched by hand-written matchers (no regex
 * library: nothing allocates), exactly as the spec's regular expressions
 * would match them on the last 50 lines of the capture (ANSI escape
 * sequences are part of the text, as upstream matched them).
 */
#ifndef ROOST_FAM_RPG_DETECT_H
#define ROOST_FAM_RPG_DETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* SessionStatus (§6.1); the order is not the priority (rpg_status_prio). */
typedef enum {
    RPG_ST_IDLE = 0,
    RPG_ST_TYPING,
    RPG_ST_WORKING,
    RPG_ST_WAITING,
    RPG_ST_ERROR,
    RPG_ST_UNKNOWN      /* detection only: nothing matched well enough */
} rpg_status;

typedef enum { RPG_SRC_HOOK = 0, RPG_SRC_TERMINAL, RPG_SRC_RECONCILER } rpg_source;

typedef enum { RPG_ERR_ACTIONABLE = 0, RPG_ERR_EXPECTED, RPG_ERR_TRANSIENT } rpg_errclass;

/* "idle", "typing", ... ("unknown" for RPG_ST_UNKNOWN). */
const char *rpg_status_name(rpg_status s);
/* "hook", "terminal", "reconciler". */
const char *rpg_source_name(rpg_source s);
/* "actionable", "expected", "transient". */
const char *rpg_errclass_name(rpg_errclass c);
/* Display/merge priority: error 5, waiting 4, working 3, typing 2, idle 1
 * (unknown 0). */
int rpg_status_prio(rpg_status s);
/* Whether from -> to is in the table of §6.1 (a hook applies it anyway,
 * logged as forced, when it is not). */
bool rpg_transition_ok(rpg_status from, rpg_status to);

/* §6.3: the detection of a capture (text[0..n), any bytes; only its last
 * 50 lines are looked at). *confidence is 0..1 (0.3 for unknown, 0 for an
 * empty capture). */
typedef struct {
    rpg_status status;
    double confidence;
} rpg_detection;
rpg_detection rpg_detect(const char *text, size_t n);

/* §6.4 reconciliation: the inputs, in milliseconds since each event. */
typedef struct {
    rpg_status hook;            /* H: the pane session's current status */
    rpg_detection term;         /* T and its confidence */
    uint64_t since_status_ms;   /* tH */
    uint64_t since_content_ms;  /* tT: the terminal content last changed */
    uint64_t since_hook_ms;     /* tE: the last hook event (UINT64_MAX: none) */
    uint64_t since_error_ms;    /* tX: the last error (UINT64_MAX: none) */
    bool subagents;             /* active sub-agents */
} rpg_recon_in;
typedef struct {
    rpg_status status;          /* the result (== hook: no change) */
    rpg_source source;          /* its source, when it changes */
    int rule;                   /* the rule of the table that decided (1-9) */
} rpg_recon_out;
rpg_recon_out rpg_reconcile(const rpg_recon_in *in);

/* The error class of a failed tool's message (§6.4). */
rpg_errclass rpg_error_class(const char *tool, size_t tool_n, const char *msg, size_t msg_n);

#endif
