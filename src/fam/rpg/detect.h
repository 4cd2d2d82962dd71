/*
 * detect.h - the rpg family's pane status rules that need no state beyond
 * their arguments (spec/rpg.md §6): terminal detection (§6.3) over a
 * capture, the reconciliation of the hook status with it (§6.4), the
 * transition table and priorities (§6.1) and a tool failure's error class
 * (§6.4, last paragraph). Nothing here allocates or keeps state.
 *
 * The patterns of §6.3 are matched by hand-written matchers (no regex
 * library), exactly as the spec's JavaScript regular expressions would
 * match the last 50 lines of the capture: the i flag on the error group
 * only, no m flag (`^` is the start of those lines, `$` their end), `\s`
 * JavaScript's white space and line terminators, `.` anything but a line
 * terminator (\n, \r, U+2028, U+2029). ANSI escape sequences are part of
 * the text, as upstream matched them; ill-formed UTF-8 counts as ordinary
 * characters (upstream's decoder made them U+FFFD).
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
 * logged as forced, when it is not). from == to (no change) is allowed, as
 * upstream's check; RPG_ST_UNKNOWN is not a session status: never. */
bool rpg_transition_ok(rpg_status from, rpg_status to);

/* §6.3: the detection of a capture (text[0..n), any bytes; NULL only when
 * n is 0; only its last 50 lines, split at '\n', are looked at). Content
 * that is empty or only white space (upstream's trim()) is unknown with
 * confidence 0; nothing good enough is unknown with 0.3; otherwise the
 * status of the first group over its threshold with that group's
 * confidence (0..1). */
typedef struct {
    rpg_status status;
    double confidence;
} rpg_detection;
rpg_detection rpg_detect(const char *text, size_t n);

/* rpg_detect's steps, for the tests and for showing what matched.
 * rpg_detect_patterns: the patterns of one group (RPG_ST_ERROR, _WAITING,
 * _WORKING or _IDLE) that match the capture's last 50 lines, bit k for the
 * k-th pattern of the group's row in §6.3 (0 for any other status).
 * rpg_detect_group_confidence: a group's confidence from such bits: the
 * mean of the matching patterns' confidences + 0.1 per match (at most
 * +0.3), at most 1.0; 0 when no bit is set.
 * rpg_detect_decide: error if its confidence > 0.75, else waiting if
 * > 0.65, else working if > 0.6, else idle if > 0.5, else unknown 0.3. */
uint32_t rpg_detect_patterns(const char *text, size_t n, rpg_status group);
double rpg_detect_group_confidence(rpg_status group, uint32_t bits);
rpg_detection rpg_detect_decide(double error, double waiting, double working, double idle);

/* §6.4 reconciliation: the inputs, in milliseconds since each event. */
typedef struct {
    rpg_status hook;            /* H: the pane session's current status */
    rpg_detection term;         /* T and its confidence */
    uint64_t since_status_ms;   /* tH */
    uint64_t since_content_ms;  /* tT: the terminal content last changed */
    uint64_t since_hook_ms;     /* tE: the last hook event (UINT64_MAX: none,
                                 * which counts as long ago, as upstream) */
    uint64_t since_error_ms;    /* tX: the session's last error (UINT64_MAX:
                                 * none or cleared; rule 4 then never applies,
                                 * as upstream) */
    bool subagents;             /* active sub-agents */
} rpg_recon_in;
typedef struct {
    rpg_status status;          /* the result (== hook: no change) */
    rpg_source source;          /* its source (RPG_SRC_HOOK for rules 7, 9) */
    int rule;                   /* the rule of the table that decided (1-9) */
} rpg_recon_out;
rpg_recon_out rpg_reconcile(const rpg_recon_in *in);

/* The error class of a failed tool's message (§6.4): actionable when the
 * message names a permission or rate problem, expected for a Bash message
 * about tests, lint, an exit code or git, else transient. Both searches
 * ignore ASCII case; the tool must be exactly "Bash". Either pointer may be
 * NULL when its length is 0. */
rpg_errclass rpg_error_class(const char *tool, size_t tool_n, const char *msg, size_t msg_n);

#endif
