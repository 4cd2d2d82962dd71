/*
 * test_rpg_detect.c - the rpg pane status rules (src/fam/rpg/detect.c,
 * spec/rpg.md §6): every §6.3 pattern on captures that match and on near
 * misses, the groups' arithmetic, the thresholds at their boundaries, the
 * 50-line window, the §6.4 reconciliation rules and their order, the §6.1
 * transition table, the error classes.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fam/rpg/detect.h"
#include "t.h"

/* Bit k: the k-th pattern of a §6.3 row. */
#define E_MSG 0x1u
#define E_TOOL 0x2u
#define E_RATE 0x4u
#define E_DENIED 0x8u

#define W_BASH 0x1u
#define W_EDIT 0x2u
#define W_WRITE 0x4u
#define W_GENERIC 0x8u
#define W_QUESTION 0x10u
#define W_CHOICE 0x20u
#define W_ARROWS 0x40u
#define W_BOXED 0x80u
#define W_PLAN 0x100u

#define K_SPIN 0x1u
#define K_DOTS 0x2u
#define K_THINK 0x4u
#define K_TOOL 0x8u
#define K_AGENT 0x10u

#define I_DONE 0x1u
#define I_CHECK 0x2u
#define I_CLAUDE 0x4u
#define I_PROMPT 0x8u

#define ERR RPG_ST_ERROR
#define WAIT RPG_ST_WAITING
#define WORK RPG_ST_WORKING
#define IDLE RPG_ST_IDLE

static bool near(double a, double b)
{
    return fabs(a - b) < 1e-12;
}

static uint32_t pats(const char *text, rpg_status group)
{
    return rpg_detect_patterns(text, strlen(text), group);
}

typedef struct {
    rpg_status group;
    const char *text;
    uint32_t bits;      /* every pattern of the group that matches */
} pcase;

static const pcase k_cases[] = {
    /* /Error:|ERROR:|Failed:|FAILED:/i */
    { ERR, "Error: boom", E_MSG },
    { ERR, "error: boom", E_MSG },
    { ERR, "ERROR: boom", E_MSG },
    { ERR, "Failed: x", E_MSG },
    { ERR, "fAiLeD: x", E_MSG },
    { ERR, "Error boom", 0 },
    { ERR, "Error :", 0 },
    { ERR, "Fail: x", 0 },
    /* /Tool.*failed|Command.*failed|Exit code [1-9]/i */
    { ERR, "Tool call failed", E_TOOL },
    { ERR, "TOOL X FAILED", E_TOOL },
    { ERR, "toolfailed", E_TOOL },
    { ERR, "Command `ls` failed", E_TOOL },
    { ERR, "Tool ok\nfailed", 0 },
    { ERR, "Tool ok\rfailed", 0 },
    { ERR, "Tool ok\u2028" "failed", 0 },
    { ERR, "Tool ok\u2029" "failed", 0 },
    { ERR, "Tool ok\xC2\x85" "failed", E_TOOL },    /* U+0085 is no line terminator */
    { ERR, "Tool ok\u00A0" "failed", E_TOOL },
    { ERR, "Tool ok\xE2\x80" "failed", E_TOOL },    /* a cut U+2028 is just U+FFFD */
    { ERR, "failed Tool", 0 },
    { ERR, "Tool\nTool failed", E_TOOL },
    { ERR, "Exit code 1", E_TOOL },
    { ERR, "exit CODE 9", E_TOOL },
    { ERR, "Exit code 10", E_TOOL },
    { ERR, "Exit code 0", 0 },
    { ERR, "Exit code 01", 0 },
    { ERR, "Exit code: 1", 0 },
    { ERR, "Exit  code 1", 0 },
    { ERR, "Exit code ", 0 },
    { ERR, "Exit code x, Exit code 2", E_TOOL },
    /* /rate limit|too many requests|quota exceeded/i */
    { ERR, "Rate limit reached", E_RATE },
    { ERR, "TOO MANY REQUESTS", E_RATE },
    { ERR, "Quota Exceeded", E_RATE },
    { ERR, "rate-limit", 0 },
    { ERR, "too many  requests", 0 },
    { ERR, "rate l\u0131mit", 0 },    /* dotless i: the i flag folds ASCII only */
    /* /permission denied|access denied|unauthorized/i */
    { ERR, "Permission denied", E_DENIED },
    { ERR, "ACCESS DENIED", E_DENIED },
    { ERR, "401 Unauthorized", E_DENIED },
    { ERR, "permission\ndenied", 0 },
    { ERR, "Error: permission denied", E_MSG | E_DENIED },
    { ERR, "Error: Tool failed; rate limit; unauthorized", E_MSG | E_TOOL | E_RATE | E_DENIED },

    /* /Allow.*\(Bash\)|Run this command\?|Allow.*command/ (a bare Allow is
     * also the generic pattern) */
    { WAIT, "Allow this (Bash)", W_BASH | W_GENERIC },
    { WAIT, "Run this command? ok", W_BASH },
    { WAIT, "Run this command ok", 0 },
    { WAIT, "Allow running a command", W_BASH | W_GENERIC },
    { WAIT, "Allow\ncommand", W_GENERIC },
    { WAIT, "allow (Bash)", 0 },
    /* /Allow.*\(Edit\)|Allow.*edit|Approve.*changes/ */
    { WAIT, "Allow (Edit)", W_EDIT | W_GENERIC },
    { WAIT, "Allow me to edit x", W_EDIT | W_GENERIC },
    { WAIT, "Approve these changes", W_EDIT },
    { WAIT, "Approve\nchanges", 0 },
    { WAIT, "approve changes", 0 },
    /* /Allow.*\(Write\)|Create.*file\?/ */
    { WAIT, "Allow (Write)", W_WRITE | W_GENERIC },
    { WAIT, "Create a new file? ok", W_WRITE },
    { WAIT, "Create file ok", 0 },
    { WAIT, "Create\nfile? ok", 0 },
    /* /Allow|Deny|Yes|No.*\[y\/n\]/: Allow, Deny, Yes alone suffice */
    { WAIT, "Allow", W_GENERIC },
    { WAIT, "Deny", W_GENERIC },
    { WAIT, "Yes", W_GENERIC },
    { WAIT, "yes", 0 },
    { WAIT, "No", 0 },
    { WAIT, "No, thanks [y/n]", W_GENERIC },
    { WAIT, "Nope [y/n]", W_GENERIC },
    { WAIT, "No\n[y/n]", 0 },
    { WAIT, "[y/n] No", 0 },
    { WAIT, "No [Y/N]", 0 },
    /* /\?\s*$|\?\s*\n\s*[>\-•]/ */
    { WAIT, "Continue?", W_QUESTION },
    { WAIT, "Continue? \n\t\n", W_QUESTION },
    { WAIT, "Continue?\u00A0\u3000\uFEFF", W_QUESTION },
    { WAIT, "Continue?\u2000\u200A\u2028\u2029\u202F\u205F\u1680\v\f\r", W_QUESTION },
    { WAIT, "Continue?\u200B", 0 },                /* ZWSP is not \s */
    { WAIT, "Continue?\xC2\x85", 0 },              /* nor is U+0085 */
    { WAIT, "Continue? x", 0 },
    { WAIT, "Which?\n> a", W_QUESTION },
    { WAIT, "Which? \n  - a", W_QUESTION },
    { WAIT, "Which?\n\n\u2022 a", W_QUESTION },
    { WAIT, "Which?\r\n> a", W_QUESTION },
    { WAIT, "Which?\r> a", 0 },
    { WAIT, "Which?\u2028> a", 0 },
    { WAIT, "Which? > a", 0 },
    { WAIT, "Which?\nx > a", 0 },
    { WAIT, "Which?\n* a", 0 },
    { WAIT, "a?b", 0 },
    /* /\d+\.\s+.+\n\d+\.\s+/ */
    { WAIT, "1. red\n2. blue", W_CHOICE },
    { WAIT, "10. red\n11. blue", W_CHOICE },
    { WAIT, "x1. red\n2. blue", W_CHOICE },
    { WAIT, "1.\n\nred\n2. blue", W_CHOICE },      /* \s+ spans lines */
    { WAIT, "1.  \n2. blue", W_CHOICE },           /* .+ is the second space */
    { WAIT, "1. red\n2.\n", W_CHOICE },
    { WAIT, "1. red\n2. ", W_CHOICE },
    { WAIT, "1.red\n2. blue", 0 },
    { WAIT, "1. red\n2.blue", 0 },
    { WAIT, "1. red\n2.", 0 },
    { WAIT, "1. red\n\n2. blue", 0 },
    { WAIT, "1. red\n 2. blue", 0 },
    { WAIT, "1. \n2. blue", 0 },
    { WAIT, "1. red\r\n2. blue", 0 },
    { WAIT, "1) red\n2) blue", 0 },
    /* /[►▶→]\s+.+\n\s*[►▶→]\s+/ */
    { WAIT, "\u25BA one\n\u25BA two", W_ARROWS },
    { WAIT, "\u25B6 a\n  \u25B6 b", W_ARROWS },
    { WAIT, "\u2192 a\n\n\u2192 b", W_ARROWS },
    { WAIT, "\u2192  \n\u2192 b", W_ARROWS },
    { WAIT, "\u2192 a\n\u2192\n", W_ARROWS },
    { WAIT, "\u2192 \n\u2192 b", 0 },
    { WAIT, "\u2192" "a\n\u2192 b", 0 },
    { WAIT, "\u2192 a\n\u2192" "b", 0 },
    { WAIT, "\u2192 a \u2192 b", 0 },
    { WAIT, "\u2192 a\r\u2192 b", 0 },
    { WAIT, "> a\n> b", 0 },
    { WAIT, "\u25B7 a\n\u25B7 b", 0 },
    /* /[●○]\s*\(\d+\)|^\s*\(\d+\)/ (^ without m: the start of the text) */
    { WAIT, "\u25CF (1)", W_BOXED },
    { WAIT, "\u25CB(12)", W_BOXED },
    { WAIT, "\u25CF\n  (3)", W_BOXED },
    { WAIT, "\u25CF (a)", 0 },
    { WAIT, "\u25CF ()", 0 },
    { WAIT, "\u25CF (1", 0 },
    { WAIT, "\u25CF x (1)", 0 },
    { WAIT, "\u25C9 (1)", 0 },
    { WAIT, "(1) first", W_BOXED },
    { WAIT, " \n\t(2) x", W_BOXED },
    { WAIT, "x (1)", 0 },
    { WAIT, "a\n(1) b", 0 },
    /* /Plan Mode|Approve.*plan|Review.*plan/ */
    { WAIT, "Plan Mode", W_PLAN },
    { WAIT, "plan mode", 0 },
    { WAIT, "Approve the plan", W_PLAN },
    { WAIT, "Review this plan", W_PLAN },
    { WAIT, "Review\nplan", 0 },
    { WAIT, "Approve changes to the plan", W_EDIT | W_PLAN },

    /* /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/ (each one: test_spinner) */
    { WORK, "\u2800 x", 0 },
    { WORK, "\u283F x", 0 },
    /* /\.{2,}$/ (no m: the end of the text) */
    { WORK, "Loading..", K_DOTS },
    { WORK, "..", K_DOTS },
    { WORK, "Loading.....", K_DOTS },
    { WORK, "Loading.", 0 },
    { WORK, "Loading..\n", 0 },
    { WORK, "Loading.. ", 0 },
    { WORK, "..x", 0 },
    { WORK, ".", 0 },
    /* /Thinking\.\.\.|Working\.\.\.|Processing\.\.\./ */
    { WORK, "Thinking... (3s)", K_THINK },
    { WORK, "Working... x", K_THINK },
    { WORK, "Processing... x", K_THINK },
    { WORK, "Thinking...", K_THINK | K_DOTS },
    { WORK, "Thinking.. x", 0 },
    { WORK, "thinking... x", 0 },
    /* /Running|Executing|Reading|Writing|Searching/ */
    { WORK, "Running tests", K_TOOL },
    { WORK, "Executing", K_TOOL },
    { WORK, "Reading a.c", K_TOOL },
    { WORK, "Writing a.c", K_TOOL },
    { WORK, "Searching", K_TOOL },
    { WORK, "running", 0 },
    /* /Agent.*working|Subagent.*running/ */
    { WORK, "Agent is working", K_AGENT },
    { WORK, "Subagent still running", K_AGENT },
    { WORK, "Agent\nworking", 0 },
    { WORK, "agent working", 0 },
    { WORK, "Subagent\nrunning", 0 },

    /* /Task complete|Done|Finished|Complete!/ */
    { IDLE, "Task complete", I_DONE },
    { IDLE, "Done", I_DONE },
    { IDLE, "Finished", I_DONE },
    { IDLE, "Complete!", I_DONE },
    { IDLE, "Complete", 0 },
    { IDLE, "done", 0 },
    { IDLE, "task complete", 0 },
    /* /[✓✔☑]/ */
    { IDLE, "\u2713 ok", I_CHECK },
    { IDLE, "\u2714 ok", I_CHECK },
    { IDLE, "\u2611 ok", I_CHECK },
    { IDLE, "\u2717 x", 0 },
    { IDLE, "\u2612 x", 0 },
    /* /Claude.*>\s*$/ and /[$%#>]\s*$/ (no m: the end of the text) */
    { IDLE, "Claude >", I_CLAUDE | I_PROMPT },
    { IDLE, "Claude> \n\n", I_CLAUDE | I_PROMPT },
    { IDLE, "Claude Code v2 >\r\n", I_CLAUDE | I_PROMPT },
    { IDLE, "Claude>\u2028", I_CLAUDE | I_PROMPT },
    { IDLE, "Claude\n>", I_PROMPT },
    { IDLE, "Claude\r>", I_PROMPT },
    { IDLE, "Claude > x", 0 },
    { IDLE, "Claude > x\n>", I_PROMPT },
    { IDLE, "claude >", I_PROMPT },
    { IDLE, ">", I_PROMPT },
    { IDLE, "user@host:~$ ", I_PROMPT },
    { IDLE, "% ", I_PROMPT },
    { IDLE, "#\n", I_PROMPT },
    { IDLE, "x >\u00A0", I_PROMPT },
    { IDLE, "$ ls\nREADME", 0 },
    { IDLE, "a > b", 0 },
};

static void test_patterns(void)
{
    size_t i;
    for (i = 0u; i < sizeof k_cases / sizeof k_cases[0]; i++) {
        const pcase *c = &k_cases[i];
        uint32_t got = pats(c->text, c->group);
        if (got != c->bits) {
            printf("case %zu (%s) \"%s\": bits 0x%x, want 0x%x\n", i, rpg_status_name(c->group),
                   c->text, (unsigned)got, (unsigned)c->bits);
        }
        T_CHECK(got == c->bits);
    }
    /* other statuses have no patterns */
    T_EQ_INT(pats("Error: Allow \u280B Done", RPG_ST_TYPING), 0);
    T_EQ_INT(pats("Error: Allow \u280B Done", RPG_ST_UNKNOWN), 0);
    T_EQ_INT(rpg_detect_patterns(NULL, 0u, RPG_ST_WAITING), 0);
}

static void test_spinner(void)
{
    static const char *const frames[] = { "\u280B", "\u2819", "\u2839", "\u2838", "\u283C",
                                          "\u2834", "\u2826", "\u2827", "\u2807", "\u280F" };
    char buf[32];
    size_t i;
    for (i = 0u; i < sizeof frames / sizeof frames[0]; i++) {
        (void)snprintf(buf, sizeof buf, "%s Musing (3s)", frames[i]);
        T_EQ_INT(pats(buf, WORK), K_SPIN);
    }
    /* a cut frame is no frame */
    T_EQ_INT(pats("\xE2\xA0 x", WORK), 0);
}

/* n lines "line i", line `at` replaced by `special`, joined by '\n', with a
 * trailing '\n' when asked. */
static size_t lines(char *buf, size_t cap, int n, int at, const char *special, bool trailing)
{
    size_t len = 0u;
    int i;
    for (i = 0; i < n; i++) {
        int k = snprintf(buf + len, cap - len, "%s%s", (i == at) ? special : "line",
                         (i + 1 < n || trailing) ? "\n" : "");
        len += (size_t)k;
    }
    return len;
}

static void test_window(void)
{
    char buf[4096];
    size_t n;
    /* 60 lines: the last 50 are lines 10..59 */
    n = lines(buf, sizeof buf, 60, 10, "Deny", false);
    T_EQ_INT(rpg_detect_patterns(buf, n, WAIT), W_GENERIC);
    n = lines(buf, sizeof buf, 60, 9, "Deny", false);
    T_EQ_INT(rpg_detect_patterns(buf, n, WAIT), 0);
    /* a trailing '\n' ends with an empty line, which counts: 11..59 + "" */
    n = lines(buf, sizeof buf, 60, 10, "Deny", true);
    T_EQ_INT(rpg_detect_patterns(buf, n, WAIT), 0);
    n = lines(buf, sizeof buf, 60, 11, "Deny", true);
    T_EQ_INT(rpg_detect_patterns(buf, n, WAIT), W_GENERIC);
    /* exactly 50 lines: all of them */
    n = lines(buf, sizeof buf, 50, 0, "Deny", false);
    T_EQ_INT(rpg_detect_patterns(buf, n, WAIT), W_GENERIC);
    /* `^` is the start of the window */
    n = lines(buf, sizeof buf, 60, 10, "(1) a", false);
    T_EQ_INT(rpg_detect_patterns(buf, n, WAIT), W_BOXED);
    n = lines(buf, sizeof buf, 60, 11, "(1) a", false);
    T_EQ_INT(rpg_detect_patterns(buf, n, WAIT), 0);
    /* a two-line pattern cut by the window's start (59 + 1 = 60 lines) */
    n = lines(buf, sizeof buf, 59, 9, "1. a\n2. b", false);   /* lines 9, 10 */
    T_EQ_INT(rpg_detect_patterns(buf, n, WAIT), 0);
    n = lines(buf, sizeof buf, 59, 10, "1. a\n2. b", false);  /* lines 10, 11 */
    T_EQ_INT(rpg_detect_patterns(buf, n, WAIT), W_CHOICE);
    /* rpg_detect looks at the window only */
    n = lines(buf, sizeof buf, 60, 5, "Permission denied", false);
    T_EQ_INT(rpg_detect(buf, n).status, RPG_ST_UNKNOWN);
    T_CHECK(near(rpg_detect(buf, n).confidence, 0.3));
    n = lines(buf, sizeof buf, 60, 55, "Permission denied", false);
    T_EQ_INT(rpg_detect(buf, n).status, RPG_ST_ERROR);
}

/* Long runs the NFA matchers cross in one pass; the answers stay exact. */
static void test_long_runs(void)
{
    static char buf[20000];
    size_t n = 0u;
    (void)memcpy(buf, "\u2192", 3u);
    n = 3u;
    while (n < sizeof buf - 16u) {
        buf[n] = ((n % 512u) == 0u) ? '\n' : ' ';   /* 39 lines */
        n++;
    }
    T_EQ_INT(rpg_detect_patterns(buf, n, WAIT), 0);
    (void)memcpy(buf + n, "x\n\u2192 y", 7u);
    T_EQ_INT(rpg_detect_patterns(buf, n + 7u, WAIT), W_ARROWS);
    (void)memcpy(buf, "1.", 2u);
    buf[2] = ' ';
    (void)memcpy(buf + n, "x\n2. y", 6u);
    T_EQ_INT(rpg_detect_patterns(buf, n + 6u, WAIT), W_CHOICE);
}

static void test_empty(void)
{
    rpg_detection d = rpg_detect("", 0u);
    T_EQ_INT(d.status, RPG_ST_UNKNOWN);
    T_CHECK(d.confidence == 0.0);
    d = rpg_detect(NULL, 0u);
    T_EQ_INT(d.status, RPG_ST_UNKNOWN);
    T_CHECK(d.confidence == 0.0);
    /* white space only is empty (upstream trims) */
    d = rpg_detect(" \n\t\r\n\u3000\uFEFF\u00A0", strlen(" \n\t\r\n\u3000\uFEFF\u00A0"));
    T_EQ_INT(d.status, RPG_ST_UNKNOWN);
    T_CHECK(d.confidence == 0.0);
    /* anything else that matches nothing is 0.3 */
    d = rpg_detect("x", 1u);
    T_EQ_INT(d.status, RPG_ST_UNKNOWN);
    T_CHECK(d.confidence == 0.3);
    d = rpg_detect("\xC2\x85", 2u);
    T_CHECK(d.confidence == 0.3);
    d = rpg_detect("\x1b[0m", 4u);
    T_CHECK(d.confidence == 0.3);
}

static double conf(rpg_status g, uint32_t bits)
{
    return rpg_detect_group_confidence(g, bits);
}

static void test_group_arithmetic(void)
{
    /* one match: its confidence + 0.1 */
    T_CHECK(near(conf(ERR, E_MSG), 0.7));
    T_CHECK(near(conf(ERR, E_TOOL), 0.95));
    T_CHECK(near(conf(ERR, E_RATE), 1.0));
    T_CHECK(near(conf(ERR, E_DENIED), 0.85));
    T_CHECK(near(conf(WAIT, W_BASH), 1.0));
    T_CHECK(near(conf(WAIT, W_GENERIC), 0.8));
    T_CHECK(near(conf(WAIT, W_QUESTION), 0.7));
    T_CHECK(near(conf(WAIT, W_CHOICE), 0.9));
    T_CHECK(near(conf(WAIT, W_ARROWS), 0.95));
    T_CHECK(near(conf(WAIT, W_BOXED), 0.95));
    T_CHECK(near(conf(WAIT, W_PLAN), 1.0));
    T_CHECK(near(conf(WORK, K_SPIN), 1.0));
    T_CHECK(near(conf(WORK, K_THINK), 0.95));
    T_CHECK(near(conf(WORK, K_TOOL), 0.8));
    T_CHECK(near(conf(WORK, K_AGENT), 0.95));
    T_CHECK(near(conf(IDLE, I_DONE), 0.6));
    T_CHECK(near(conf(IDLE, I_CLAUDE), 0.7));
    /* the two that land exactly on a threshold */
    T_CHECK(conf(WORK, K_DOTS) == 0.6);
    T_CHECK(conf(IDLE, I_CHECK) == 0.5);
    T_CHECK(conf(IDLE, I_PROMPT) == 0.5);
    /* two: mean + 0.2 */
    T_CHECK(near(conf(ERR, E_MSG | E_DENIED), 0.875));
    T_CHECK(near(conf(WAIT, W_QUESTION | W_GENERIC), 0.85));
    T_CHECK(near(conf(WORK, K_DOTS | K_TOOL), 0.8));
    T_CHECK(near(conf(IDLE, I_CHECK | I_PROMPT), 0.6));
    /* three: mean + 0.3 */
    T_CHECK(near(conf(IDLE, I_DONE | I_CHECK | I_PROMPT), (1.3 / 3.0) + 0.3));
    /* four: the bonus stays 0.3 (0.475 + 0.3, not + 0.4) */
    T_CHECK(near(conf(IDLE, I_DONE | I_CHECK | I_CLAUDE | I_PROMPT), 0.775));
    /* capped at 1.0 */
    T_CHECK(conf(ERR, E_MSG | E_TOOL | E_DENIED) == 1.0);
    T_CHECK(conf(ERR, 0xFu) == 1.0);
    T_CHECK(near(conf(WAIT, W_QUESTION | W_GENERIC | W_CHOICE), 1.0));   /* 2.1 / 3 + 0.3 */
    T_CHECK(conf(WAIT, 0x1FFu) == 1.0);
    T_CHECK(conf(WORK, 0x1Fu) == 1.0);
    /* nothing, bits past the row, other statuses */
    T_CHECK(conf(ERR, 0u) == 0.0);
    T_CHECK(conf(IDLE, 0x10u) == 0.0);
    T_CHECK(near(conf(IDLE, 0x10u | I_DONE), 0.6));
    T_CHECK(conf(RPG_ST_TYPING, 0xFFu) == 0.0);
    T_CHECK(conf(RPG_ST_UNKNOWN, 0xFFu) == 0.0);
}

static void expect_decide(double e, double w, double k, double i, rpg_status st, double c)
{
    rpg_detection d = rpg_detect_decide(e, w, k, i);
    T_EQ_STR(rpg_status_name(d.status), rpg_status_name(st));
    T_CHECK(d.confidence == c);
}

static void test_thresholds(void)
{
    double e = nextafter(0.75, 1.0);
    double w = nextafter(0.65, 1.0);
    double k = nextafter(0.6, 1.0);
    double i = nextafter(0.5, 1.0);
    /* each threshold is strict */
    expect_decide(0.75, 0.65, 0.6, 0.5, RPG_ST_UNKNOWN, 0.3);
    expect_decide(e, 0.0, 0.0, 0.0, RPG_ST_ERROR, e);
    expect_decide(0.0, w, 0.0, 0.0, RPG_ST_WAITING, w);
    expect_decide(0.0, 0.0, k, 0.0, RPG_ST_WORKING, k);
    expect_decide(0.0, 0.0, 0.0, i, RPG_ST_IDLE, i);
    /* in order: error, waiting, working, idle */
    expect_decide(e, 1.0, 1.0, 1.0, RPG_ST_ERROR, e);
    expect_decide(0.75, w, 1.0, 1.0, RPG_ST_WAITING, w);
    expect_decide(0.75, 0.65, k, 1.0, RPG_ST_WORKING, k);
    expect_decide(0.75, 0.65, 0.6, i, RPG_ST_IDLE, i);
    expect_decide(0.0, 0.0, 0.0, 0.0, RPG_ST_UNKNOWN, 0.3);
}

static void expect_detect(const char *text, rpg_status st, double c)
{
    rpg_detection d = rpg_detect(text, strlen(text));
    if ((d.status != st) || !near(d.confidence, c)) {
        printf("detect \"%s\": %s %.17g, want %s %.17g\n", text, rpg_status_name(d.status),
               d.confidence, rpg_status_name(st), c);
    }
    T_CHECK(d.status == st);
    T_CHECK(near(d.confidence, c));
}

static void test_detect(void)
{
    /* error 0.7 is not enough: nothing else matches */
    expect_detect("Error: boom", RPG_ST_UNKNOWN, 0.3);
    expect_detect("Permission denied", RPG_ST_ERROR, 0.85);
    expect_detect("Error: x\nDeny", RPG_ST_WAITING, 0.8);
    expect_detect("Allow this (Bash)?", RPG_ST_WAITING, 1.0);
    expect_detect("Continue?", RPG_ST_WAITING, 0.7);
    /* working at exactly 0.6 is not working; idle at exactly 0.5 is not idle */
    expect_detect("Loading..", RPG_ST_UNKNOWN, 0.3);
    expect_detect("Done\nLoading..", RPG_ST_IDLE, 0.6);
    expect_detect("\u2713", RPG_ST_UNKNOWN, 0.3);
    expect_detect("$ ", RPG_ST_UNKNOWN, 0.3);
    expect_detect("\u2713 ok\n$ ", RPG_ST_IDLE, 0.6);
    expect_detect("Done", RPG_ST_IDLE, 0.6);
    expect_detect("\u280B Reading a.c", RPG_ST_WORKING, 1.0);
    expect_detect("Thinking... Error: x", RPG_ST_WORKING, 0.95);
    expect_detect("Permission denied\nAllow (Bash)\n\u280B", RPG_ST_ERROR, 0.85);
    /* Claude Code's permission prompt: only its Yes counts (the '?' is
     * followed by a U+276F, which no pattern knows, and "2." is indented) */
    expect_detect("Do you want to proceed?\n\u276F 1. Yes\n  2. No, and tell Claude what to do\n",
                  RPG_ST_WAITING, 0.8);
}

/* ---- reconciliation ----------------------------------------------------- */

static rpg_recon_in rin(rpg_status h, rpg_status t, double c)
{
    rpg_recon_in in;
    (void)memset(&in, 0, sizeof in);
    in.hook = h;
    in.term.status = t;
    in.term.confidence = c;
    in.since_error_ms = UINT64_MAX;
    return in;
}

static void expect_rule(const rpg_recon_in *in, rpg_status st, rpg_source src, int rule)
{
    rpg_recon_out out = rpg_reconcile(in);
    T_EQ_STR(rpg_status_name(out.status), rpg_status_name(st));
    T_EQ_STR(rpg_source_name(out.source), rpg_source_name(src));
    T_EQ_INT(out.rule, rule);
}

#define HOOK RPG_SRC_HOOK
#define TERM RPG_SRC_TERMINAL
#define RECO RPG_SRC_RECONCILER

static void test_reconcile(void)
{
    rpg_recon_in in;

    /* 1: working, terminal waiting > 0.7 */
    in = rin(WORK, WAIT, 0.71);
    expect_rule(&in, WAIT, TERM, 1);
    in = rin(WORK, WAIT, 0.7);
    expect_rule(&in, WORK, HOOK, 9);
    in = rin(WORK, WAIT, 0.95);             /* before 8 */
    expect_rule(&in, WAIT, TERM, 1);

    /* 2: waiting, terminal something else > 0.6 */
    in = rin(WAIT, IDLE, 0.61);
    expect_rule(&in, IDLE, TERM, 2);
    in = rin(WAIT, RPG_ST_UNKNOWN, 0.61);
    expect_rule(&in, WORK, TERM, 2);
    in = rin(WAIT, ERR, 0.9);               /* before 3 */
    expect_rule(&in, ERR, TERM, 2);
    in = rin(WAIT, WORK, 0.6);
    expect_rule(&in, WAIT, HOOK, 9);
    in = rin(WAIT, WAIT, 0.9);
    expect_rule(&in, WAIT, TERM, 8);

    /* 3: terminal error > 0.75 */
    in = rin(IDLE, ERR, 0.76);
    expect_rule(&in, ERR, TERM, 3);
    in = rin(IDLE, ERR, 0.75);
    expect_rule(&in, IDLE, HOOK, 9);
    in = rin(RPG_ST_TYPING, ERR, 0.85);     /* before 8 */
    expect_rule(&in, ERR, TERM, 3);
    in = rin(WORK, ERR, 0.9);
    expect_rule(&in, ERR, TERM, 3);

    /* 4: error, stale (> 10 s), terminal working or idle > 0.6 */
    in = rin(ERR, WORK, 0.61);
    in.since_error_ms = 10001u;
    expect_rule(&in, WORK, RECO, 4);
    in = rin(ERR, IDLE, 0.61);
    in.since_error_ms = 10001u;
    expect_rule(&in, IDLE, RECO, 4);
    in = rin(ERR, WORK, 0.9);               /* before 8 */
    in.since_error_ms = 10001u;
    expect_rule(&in, WORK, RECO, 4);
    in = rin(ERR, WORK, 0.61);
    in.since_error_ms = 10000u;
    expect_rule(&in, ERR, HOOK, 9);
    in = rin(ERR, WORK, 0.6);
    in.since_error_ms = 10001u;
    expect_rule(&in, ERR, HOOK, 9);
    in = rin(ERR, WORK, 0.61);              /* no error recorded: never */
    expect_rule(&in, ERR, HOOK, 9);
    in = rin(ERR, WORK, 0.9);
    expect_rule(&in, WORK, TERM, 8);
    in = rin(ERR, WAIT, 0.7);
    in.since_error_ms = 10001u;
    expect_rule(&in, ERR, HOOK, 9);
    in = rin(ERR, RPG_ST_TYPING, 0.7);
    in.since_error_ms = 10001u;
    expect_rule(&in, ERR, HOOK, 9);

    /* 5: working, terminal idle > 0.6 for > 10 s, no hook for > 5 s, no
     * sub-agents */
    in = rin(WORK, IDLE, 0.61);
    in.since_content_ms = 10001u;
    in.since_hook_ms = 5001u;
    expect_rule(&in, IDLE, RECO, 5);
    in.since_hook_ms = UINT64_MAX;          /* no hook event at all */
    expect_rule(&in, IDLE, RECO, 5);
    in.since_hook_ms = 5000u;
    expect_rule(&in, WORK, HOOK, 9);
    in.since_hook_ms = 5001u;
    in.since_content_ms = 10000u;
    expect_rule(&in, WORK, HOOK, 9);
    in.since_content_ms = 10001u;
    in.subagents = true;
    expect_rule(&in, WORK, HOOK, 9);
    in.subagents = false;
    in.term.confidence = 0.6;
    expect_rule(&in, WORK, HOOK, 9);
    in.term.confidence = 0.9;               /* before 8 */
    expect_rule(&in, IDLE, RECO, 5);
    in.since_content_ms = 0u;
    expect_rule(&in, IDLE, TERM, 8);

    /* 6: working, terminal unknown, status older than 15 s, no hook for
     * > 5 s, no sub-agents */
    in = rin(WORK, RPG_ST_UNKNOWN, 0.3);
    in.since_status_ms = 15001u;
    in.since_hook_ms = 5001u;
    expect_rule(&in, IDLE, RECO, 6);        /* before 7 */
    in.term.confidence = 0.0;
    expect_rule(&in, IDLE, RECO, 6);
    in.since_hook_ms = UINT64_MAX;
    expect_rule(&in, IDLE, RECO, 6);
    in.since_hook_ms = 5000u;
    expect_rule(&in, WORK, HOOK, 7);
    in.since_hook_ms = 5001u;
    in.since_status_ms = 15000u;
    expect_rule(&in, WORK, HOOK, 7);
    in.since_status_ms = 15001u;
    in.subagents = true;
    expect_rule(&in, WORK, HOOK, 7);
    in = rin(IDLE, RPG_ST_UNKNOWN, 0.3);
    in.since_status_ms = 15001u;
    in.since_hook_ms = 5001u;
    expect_rule(&in, IDLE, HOOK, 7);

    /* 7: confidence < 0.5 keeps the hook's status */
    in = rin(IDLE, WORK, 0.49);
    expect_rule(&in, IDLE, HOOK, 7);
    in = rin(IDLE, WORK, 0.5);
    expect_rule(&in, IDLE, HOOK, 9);

    /* 8: confidence > 0.8 and a status */
    in = rin(IDLE, WORK, 0.81);
    expect_rule(&in, WORK, TERM, 8);
    in = rin(RPG_ST_TYPING, IDLE, 0.85);
    expect_rule(&in, IDLE, TERM, 8);
    in = rin(IDLE, WORK, 0.8);
    expect_rule(&in, IDLE, HOOK, 9);
    in = rin(IDLE, RPG_ST_UNKNOWN, 0.9);
    expect_rule(&in, IDLE, HOOK, 9);

    /* 9: otherwise */
    in = rin(RPG_ST_TYPING, WORK, 0.7);
    expect_rule(&in, RPG_ST_TYPING, HOOK, 9);
}

/* ---- §6.1 -------------------------------------------------------------------- */

static void test_transitions(void)
{
    /* rows: from; columns: to; idle typing working waiting error unknown */
    static const bool ok[6][6] = {
        { true, true, true, true, true, false },    /* idle */
        { true, true, true, true, true, false },    /* typing */
        { true, false, true, true, true, false },   /* working */
        { true, true, true, true, true, false },    /* waiting */
        { true, false, true, true, true, false },   /* error */
        { false, false, false, false, false, false },   /* unknown */
    };
    int f;
    int t;
    for (f = 0; f < 6; f++) {
        for (t = 0; t < 6; t++) {
            bool got = rpg_transition_ok((rpg_status)f, (rpg_status)t);
            if (got != ok[f][t]) {
                printf("transition %s -> %s: %d\n", rpg_status_name((rpg_status)f),
                       rpg_status_name((rpg_status)t), (int)got);
            }
            T_CHECK(got == ok[f][t]);
        }
    }
}

static void test_names(void)
{
    T_EQ_STR(rpg_status_name(RPG_ST_IDLE), "idle");
    T_EQ_STR(rpg_status_name(RPG_ST_TYPING), "typing");
    T_EQ_STR(rpg_status_name(RPG_ST_WORKING), "working");
    T_EQ_STR(rpg_status_name(RPG_ST_WAITING), "waiting");
    T_EQ_STR(rpg_status_name(RPG_ST_ERROR), "error");
    T_EQ_STR(rpg_status_name(RPG_ST_UNKNOWN), "unknown");
    T_EQ_STR(rpg_source_name(RPG_SRC_HOOK), "hook");
    T_EQ_STR(rpg_source_name(RPG_SRC_TERMINAL), "terminal");
    T_EQ_STR(rpg_source_name(RPG_SRC_RECONCILER), "reconciler");
    T_EQ_STR(rpg_errclass_name(RPG_ERR_ACTIONABLE), "actionable");
    T_EQ_STR(rpg_errclass_name(RPG_ERR_EXPECTED), "expected");
    T_EQ_STR(rpg_errclass_name(RPG_ERR_TRANSIENT), "transient");
    T_EQ_INT(rpg_status_prio(RPG_ST_ERROR), 5);
    T_EQ_INT(rpg_status_prio(RPG_ST_WAITING), 4);
    T_EQ_INT(rpg_status_prio(RPG_ST_WORKING), 3);
    T_EQ_INT(rpg_status_prio(RPG_ST_TYPING), 2);
    T_EQ_INT(rpg_status_prio(RPG_ST_IDLE), 1);
    T_EQ_INT(rpg_status_prio(RPG_ST_UNKNOWN), 0);
}

/* ---- error class ------------------------------------------------------------ */

static rpg_errclass ec(const char *tool, const char *msg)
{
    return rpg_error_class(tool, (tool != NULL) ? strlen(tool) : 0u, msg,
                           (msg != NULL) ? strlen(msg) : 0u);
}

static void test_error_class(void)
{
    /* actionable, whatever the tool, any case */
    T_EQ_INT(ec("Bash", "Permission denied"), RPG_ERR_ACTIONABLE);
    T_EQ_INT(ec("Edit", "EACCES: permission DENIED"), RPG_ERR_ACTIONABLE);
    T_EQ_INT(ec("Read", "ACCESS DENIED"), RPG_ERR_ACTIONABLE);
    T_EQ_INT(ec("WebFetch", "401 Unauthorized"), RPG_ERR_ACTIONABLE);
    T_EQ_INT(ec("WebFetch", "Rate limit hit"), RPG_ERR_ACTIONABLE);
    T_EQ_INT(ec("WebFetch", "Quota exceeded"), RPG_ERR_ACTIONABLE);
    T_EQ_INT(ec("WebFetch", "429 Too Many Requests"), RPG_ERR_ACTIONABLE);
    T_EQ_INT(ec("Bash", "git push: permission denied"), RPG_ERR_ACTIONABLE);   /* first */
    T_EQ_INT(ec(NULL, "unauthorized"), RPG_ERR_ACTIONABLE);
    /* expected: Bash only */
    T_EQ_INT(ec("Bash", "3 tests failed"), RPG_ERR_EXPECTED);
    T_EQ_INT(ec("Bash", "Jest: 1 failed"), RPG_ERR_EXPECTED);
    T_EQ_INT(ec("Bash", "VITEST run"), RPG_ERR_EXPECTED);
    T_EQ_INT(ec("Bash", "ESLint found 2 problems"), RPG_ERR_EXPECTED);
    T_EQ_INT(ec("Bash", "npm run lint"), RPG_ERR_EXPECTED);
    T_EQ_INT(ec("Bash", "Exit code 1"), RPG_ERR_EXPECTED);
    T_EQ_INT(ec("Bash", "fatal: not a git repository"), RPG_ERR_EXPECTED);
    T_EQ_INT(ec("Bash", "digit"), RPG_ERR_EXPECTED);      /* contains, as upstream */
    T_EQ_INT(ec("Edit", "test failed"), RPG_ERR_TRANSIENT);
    T_EQ_INT(ec("bash", "test failed"), RPG_ERR_TRANSIENT);
    T_EQ_INT(ec("Bashful", "test failed"), RPG_ERR_TRANSIENT);
    T_EQ_INT(ec("Bas", "test failed"), RPG_ERR_TRANSIENT);
    T_EQ_INT(ec(NULL, "test failed"), RPG_ERR_TRANSIENT);
    /* transient */
    T_EQ_INT(ec("Bash", "command not found"), RPG_ERR_TRANSIENT);
    T_EQ_INT(ec("Bash", "exit  code 2"), RPG_ERR_TRANSIENT);
    T_EQ_INT(ec("Bash", "permission  denied"), RPG_ERR_TRANSIENT);
    T_EQ_INT(ec("Bash", ""), RPG_ERR_TRANSIENT);
    T_EQ_INT(ec("Bash", NULL), RPG_ERR_TRANSIENT);
    T_EQ_INT(ec(NULL, NULL), RPG_ERR_TRANSIENT);
}

int main(void)
{
    T_RUN(test_patterns);
    T_RUN(test_spinner);
    T_RUN(test_window);
    T_RUN(test_long_runs);
    T_RUN(test_empty);
    T_RUN(test_group_arithmetic);
    T_RUN(test_thresholds);
    T_RUN(test_detect);
    T_RUN(test_reconcile);
    T_RUN(test_transitions);
    T_RUN(test_names);
    T_RUN(test_error_class);
    return t_done("rpg_detect");
}
