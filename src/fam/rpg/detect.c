/*
 * detect.c - see detect.h; spec/rpg.md §6.
 *
 * Implementation notes. Upstream decodes the capture as UTF-8 and runs each
 * RegExp's test() on it; the matchers below give the same yes/no:
 *  - A character is a well-formed UTF-8 sequence (its code point) or one
 *    maximal ill-formed subpart (U+FFFD upstream: here any character that
 *    is neither white space nor a line terminator, which is all the
 *    patterns can tell about it).
 *  - `\s` is is_space() (JavaScript's WhiteSpace and LineTerminator); `.`
 *    is any character but a line terminator (is_lt: \n \r U+2028 U+2029);
 *    `\d` is [0-9]. No m flag: `^` is the start of the text, `$` its end.
 *  - The i flag (the error group) folds ASCII letters only: without the u
 *    flag JavaScript never maps a non-ASCII character to an ASCII one.
 *  - Literal alternatives are substring searches on the bytes (ASCII bytes
 *    never occur inside a multi-byte character); `A.*B` is same_line():
 *    B starts at or after the end of an A, with no line terminator between.
 *  - The patterns whose pieces may cross lines (`\s+`, `\s*\n\s*`) or are
 *    anchored run as a small NFA over the characters: one flag per place
 *    in the pattern ("the pattern up to here matches text ending at this
 *    character"), all updated per character. Without back-references,
 *    whether any match exists is exactly what such a set answers (the
 *    same yes/no as upstream's backtracking), in one linear pass whatever
 *    the capture holds.
 */
#include "fam/rpg/detect.h"

#include <string.h>

#include "core/utf8.h"

#define NPOS SIZE_MAX
#define WINDOW_LINES 50u

/* §6.4's times, in ms. */
#define IDLE_TIMEOUT_MS 10000u     /* rule 5: terminal idle this long */
#define UNKNOWN_TIMEOUT_MS 15000u  /* rule 6: working with nothing seen */
#define HOOK_PRECEDENCE_MS 5000u   /* rules 5, 6: a hook event is fresher */
#define ERROR_STALE_MS 10000u      /* rule 4: an error this old is stale */

/* ---- characters ------------------------------------------------------------ */

/* The character at s[i] (i < n): its code point and its length in bytes. */
static uint32_t char_at(const char *s, size_t n, size_t i, size_t *len)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t cp = p[i];
    bool ok = false;
    size_t k;

    *len = 1u;
    if (cp < 0x80u) {
        return cp;
    }
    *len = utf8_scan(&p[i], n - i, &ok);
    if (!ok) {
        return 0xFFFDu;
    }
    cp &= 0x7Fu >> *len;    /* the lead byte's payload: 5, 4 or 3 bits */
    for (k = 1u; k < *len; k++) {
        cp = (cp << 6u) | ((uint32_t)p[i + k] & 0x3Fu);
    }
    return cp;
}

static bool ch_is(uint32_t c, char ch)
{
    return c == (uint32_t)(unsigned char)ch;
}

/* JavaScript's `\s`: WhiteSpace (TAB VT FF SP NBSP ZWNBSP and category Zs)
 * and LineTerminator (LF CR LS PS). U+0085 and U+180E are not in it. */
static bool is_space(uint32_t c)
{
    return ((c >= 0x09u) && (c <= 0x0Du)) || (c == 0x20u) || (c == 0xA0u) ||
           (c == 0x1680u) || ((c >= 0x2000u) && (c <= 0x200Au)) || (c == 0x2028u) ||
           (c == 0x2029u) || (c == 0x202Fu) || (c == 0x205Fu) || (c == 0x3000u) ||
           (c == 0xFEFFu);
}

/* A line terminator: what `.` does not match. */
static bool is_lt(uint32_t c)
{
    return ch_is(c, '\n') || ch_is(c, '\r') || (c == 0x2028u) || (c == 0x2029u);
}

static bool is_digit(uint32_t c)
{
    return (c >= 0x30u) && (c <= 0x39u);
}

/* Whether the bytes at s[i] are a line terminator. */
static bool lt_at(const char *s, size_t n, size_t i)
{
    const unsigned char *p = (const unsigned char *)s;
    if ((s[i] == '\n') || (s[i] == '\r')) {
        return true;
    }
    return ((i + 2u) < n) && (p[i] == 0xE2u) && (p[i + 1u] == 0x80u) &&
           ((p[i + 2u] == 0xA8u) || (p[i + 2u] == 0xA9u));
}

/* The first line terminator at or after from, or n. */
static size_t line_end(const char *s, size_t n, size_t from)
{
    size_t i = from;
    while ((i < n) && !lt_at(s, n, i)) {
        i++;
    }
    return i;
}

/* Whether any character of s is in set[0..count). */
static bool has_char(const char *s, size_t n, const uint32_t *set, size_t count)
{
    size_t i = 0u;
    while (i < n) {
        size_t len;
        uint32_t c = char_at(s, n, i, &len);
        size_t k;
        for (k = 0u; k < count; k++) {
            if (c == set[k]) {
                return true;
            }
        }
        i += len;
    }
    return false;
}

/* ---- literals ------------------------------------------------------------- */

static char fold(char c, bool ci)
{
    char r = c;
    if (ci && (c >= 'A') && (c <= 'Z')) {
        /* cppcheck-suppress misra-c2012-10.8 ; false positive: char plus an offset is char */
        r = (char)(c + ('a' - 'A'));
    }
    return r;
}

/* Where lit (ASCII; lower case when ci) first lies wholly in s[from, to),
 * the text's ASCII letters folded when ci; NPOS if nowhere. */
static size_t find(const char *s, size_t from, size_t to, const char *lit, bool ci)
{
    size_t m = strlen(lit);
    size_t i;
    for (i = from; (i + m) <= to; i++) {
        size_t k = 0u;
        while (k < m) {
            char c = fold(s[i + k], ci);
            if (c != lit[k]) {
                break;
            }
            k++;
        }
        if (k == m) {
            return i;
        }
    }
    return NPOS;
}

/* `lit_0|lit_1|...` */
static bool any_lit(const char *s, size_t n, const char *const *lits, size_t count, bool ci)
{
    size_t k;
    for (k = 0u; k < count; k++) {
        if (find(s, 0u, n, lits[k], ci) != NPOS) {
            return true;
        }
    }
    return false;
}

/* `a.*b`. The first a of a line leaves the most room for b: a later a of the
 * same line is not tried; the search goes on at the next line. */
static bool same_line(const char *s, size_t n, const char *a, const char *b, bool ci)
{
    size_t i = 0u;
    while (i < n) {
        size_t p = find(s, i, n, a, ci);
        size_t q;
        size_t e;
        if (p == NPOS) {
            return false;
        }
        q = p + strlen(a);
        e = line_end(s, n, q);
        if (find(s, q, e, b, ci) != NPOS) {
            return true;
        }
        i = e;
    }
    return false;
}

/* ---- error (case-insensitive) ----------------------------------------------- */

/* /Error:|ERROR:|Failed:|FAILED:/i (0.6) */
static bool e_message(const char *s, size_t n)
{
    static const char *const lits[] = { "error:", "failed:" };
    return any_lit(s, n, lits, 2u, true);
}

/* /Tool.*failed|Command.*failed|Exit code [1-9]/i (0.85) */
static bool e_tool_failed(const char *s, size_t n)
{
    size_t i = 0u;
    if (same_line(s, n, "tool", "failed", true) || same_line(s, n, "command", "failed", true)) {
        return true;
    }
    while (i < n) {
        size_t p = find(s, i, n, "exit code ", true);
        if (p == NPOS) {
            return false;
        }
        p += 10u;
        if ((p < n) && (s[p] >= '1') && (s[p] <= '9')) {
            return true;
        }
        i = p;
    }
    return false;
}

/* /rate limit|too many requests|quota exceeded/i (0.9) */
static bool e_rate_limit(const char *s, size_t n)
{
    static const char *const lits[] = { "rate limit", "too many requests", "quota exceeded" };
    return any_lit(s, n, lits, 3u, true);
}

/* /permission denied|access denied|unauthorized/i (0.75) */
static bool e_denied(const char *s, size_t n)
{
    static const char *const lits[] = { "permission denied", "access denied", "unauthorized" };
    return any_lit(s, n, lits, 3u, true);
}

/* ---- waiting ---------------------------------------------------------------- */

/* /Allow.*\(Bash\)|Run this command\?|Allow.*command/ (0.95) */
static bool w_bash(const char *s, size_t n)
{
    return same_line(s, n, "Allow", "(Bash)", false) ||
           (find(s, 0u, n, "Run this command?", false) != NPOS) ||
           same_line(s, n, "Allow", "command", false);
}

/* /Allow.*\(Edit\)|Allow.*edit|Approve.*changes/ (0.95) */
static bool w_edit(const char *s, size_t n)
{
    return same_line(s, n, "Allow", "(Edit)", false) || same_line(s, n, "Allow", "edit", false) ||
           same_line(s, n, "Approve", "changes", false);
}

/* /Allow.*\(Write\)|Create.*file\?/ (0.95) */
static bool w_write(const char *s, size_t n)
{
    return same_line(s, n, "Allow", "(Write)", false) || same_line(s, n, "Create", "file?", false);
}

/* /Allow|Deny|Yes|No.*\[y\/n\]/ (0.7): alternation binds loosest, so a
 * bare Allow, Deny or Yes is enough; only No needs the [y/n]. */
static bool w_generic(const char *s, size_t n)
{
    static const char *const lits[] = { "Allow", "Deny", "Yes" };
    return any_lit(s, n, lits, 3u, false) || same_line(s, n, "No", "[y/n]", false);
}

/* /\?\s*$|\?\s*\n\s*[>\-•]/ (0.6): a '?' followed by white space only, to
 * the end of the text or, with a '\n' among it, to a '>', '-' or '•'. */
static bool w_question(const char *s, size_t n)
{
    bool q = false;     /* after `\?\s*` */
    bool qn = false;    /* after `\?\s*\n\s*` */
    size_t i = 0u;
    while (i < n) {
        size_t len;
        uint32_t c = char_at(s, n, i, &len);
        bool sp = is_space(c);
        if (qn && (ch_is(c, '>') || ch_is(c, '-') || (c == 0x2022u))) {
            return true;
        }
        qn = (q && ch_is(c, '\n')) || (qn && sp);
        q = ch_is(c, '?') || (q && sp);
        i += len;
    }
    return q;
}

/* /\d+\.\s+.+\n\d+\.\s+/ (0.8): two numbered lines ("1. a\n2. b"). The first
 * `\s+` may span lines, `.+` may not. */
static bool w_choice(const char *s, size_t n)
{
    bool num1 = false;  /* after `\d+` */
    bool dot1 = false;  /* after `\d+\.` */
    bool sp1 = false;   /* after `\d+\.\s+` */
    bool any = false;   /* after `\d+\.\s+.+` */
    bool nl = false;    /* after `...\n` */
    bool num2 = false;  /* after `...\n\d+` */
    bool dot2 = false;  /* after `...\n\d+\.` */
    size_t i = 0u;
    while (i < n) {
        size_t len;
        uint32_t c = char_at(s, n, i, &len);
        bool sp = is_space(c);
        bool dig = is_digit(c);
        bool dot = ch_is(c, '.');
        if (dot2 && sp) {
            return true;
        }
        dot2 = num2 && dot;
        num2 = (nl || num2) && dig;
        nl = any && ch_is(c, '\n');
        any = (sp1 || any) && !is_lt(c);
        sp1 = (dot1 || sp1) && sp;
        dot1 = num1 && dot;
        num1 = dig;
        i += len;
    }
    return false;
}

static bool is_arrow(uint32_t c)
{
    return (c == 0x25BAu) || (c == 0x25B6u) || (c == 0x2192u);   /* ► ▶ → */
}

/* /[►▶→]\s+.+\n\s*[►▶→]\s+/ (0.85): two arrowed lines. */
static bool w_arrows(const char *s, size_t n)
{
    bool a1 = false;    /* after `[►▶→]` */
    bool sp1 = false;   /* after `[►▶→]\s+` */
    bool any = false;   /* after `[►▶→]\s+.+` */
    bool nl = false;    /* after `...\n\s*` */
    bool a2 = false;    /* after `...\n\s*[►▶→]` */
    size_t i = 0u;
    while (i < n) {
        size_t len;
        uint32_t c = char_at(s, n, i, &len);
        bool sp = is_space(c);
        if (a2 && sp) {
            return true;
        }
        a2 = nl && is_arrow(c);
        nl = (any && ch_is(c, '\n')) || (nl && sp);
        any = (sp1 || any) && !is_lt(c);
        sp1 = (a1 || sp1) && sp;
        a1 = is_arrow(c);
        i += len;
    }
    return false;
}

/* /[●○]\s*\(\d+\)|^\s*\(\d+\)/ (0.85): "(n)" after a bullet, or at the very
 * start of the text (no m flag: not at the start of any other line). */
static bool w_boxed(const char *s, size_t n)
{
    bool lead = true;   /* after `[●○]\s*` or `^\s*` (true before the start) */
    bool open = false;  /* after `\(` */
    bool num = false;   /* after `\(\d+` */
    size_t i = 0u;
    while (i < n) {
        size_t len;
        uint32_t c = char_at(s, n, i, &len);
        if (num && ch_is(c, ')')) {
            return true;
        }
        num = (open || num) && is_digit(c);
        open = lead && ch_is(c, '(');
        lead = (c == 0x25CFu) || (c == 0x25CBu) || (lead && is_space(c));   /* ● ○ */
        i += len;
    }
    return false;
}

/* /Plan Mode|Approve.*plan|Review.*plan/ (0.9) */
static bool w_plan(const char *s, size_t n)
{
    return (find(s, 0u, n, "Plan Mode", false) != NPOS) || same_line(s, n, "Approve", "plan", false) ||
           same_line(s, n, "Review", "plan", false);
}

/* ---- working ---------------------------------------------------------------- */

/* /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/ (0.9) */
static bool k_spinner(const char *s, size_t n)
{
    static const uint32_t set[] = { 0x280Bu, 0x2819u, 0x2839u, 0x2838u, 0x283Cu,
                                    0x2834u, 0x2826u, 0x2827u, 0x2807u, 0x280Fu };
    return has_char(s, n, set, sizeof(set) / sizeof(set[0]));
}

/* /\.{2,}$/ (0.5): the text ends with two dots (no m flag: a line that
 * ends so is not enough, and no white space may follow). */
static bool k_dots(const char *s, size_t n)
{
    return (n >= 2u) && (s[n - 1u] == '.') && (s[n - 2u] == '.');
}

/* /Thinking\.\.\.|Working\.\.\.|Processing\.\.\./ (0.85) */
static bool k_thinking(const char *s, size_t n)
{
    static const char *const lits[] = { "Thinking...", "Working...", "Processing..." };
    return any_lit(s, n, lits, 3u, false);
}

/* /Running|Executing|Reading|Writing|Searching/ (0.7) */
static bool k_tool(const char *s, size_t n)
{
    static const char *const lits[] = { "Running", "Executing", "Reading", "Writing", "Searching" };
    return any_lit(s, n, lits, 5u, false);
}

/* /Agent.*working|Subagent.*running/ (0.85) */
static bool k_agent(const char *s, size_t n)
{
    return same_line(s, n, "Agent", "working", false) || same_line(s, n, "Subagent", "running", false);
}

/* ---- idle ------------------------------------------------------------------- */

/* /Task complete|Done|Finished|Complete!/ (0.5) */
static bool i_complete(const char *s, size_t n)
{
    static const char *const lits[] = { "Task complete", "Done", "Finished", "Complete!" };
    return any_lit(s, n, lits, 4u, false);
}

/* /[✓✔☑]/ (0.4) */
static bool i_check(const char *s, size_t n)
{
    static const uint32_t set[] = { 0x2713u, 0x2714u, 0x2611u };
    return has_char(s, n, set, sizeof(set) / sizeof(set[0]));
}

/* /Claude.*>\s*$/ (0.6): the text's last character but white space is a
 * '>' on a line where "Claude" ends before it. */
static bool i_claude(const char *s, size_t n)
{
    bool cl = false;    /* after `Claude.*` */
    bool gt = false;    /* after `Claude.*>\s*` */
    size_t i = 0u;
    while (i < n) {
        size_t len;
        uint32_t c = char_at(s, n, i, &len);
        gt = (cl && ch_is(c, '>')) || (gt && is_space(c));
        cl = (ch_is(c, 'e') && (i >= 5u) && (find(s, i - 5u, i + 1u, "Claude", false) != NPOS)) ||
             (cl && !is_lt(c));
        i += len;
    }
    return gt;
}

/* /[$%#>]\s*$/ (0.4): the text's last character but white space is one of
 * $ % # >. */
static bool i_prompt(const char *s, size_t n)
{
    bool p = false;     /* after `[$%#>]\s*` */
    size_t i = 0u;
    while (i < n) {
        size_t len;
        uint32_t c = char_at(s, n, i, &len);
        p = ch_is(c, '$') || ch_is(c, '%') || ch_is(c, '#') || ch_is(c, '>') || (p && is_space(c));
        i += len;
    }
    return p;
}

/* ---- groups ----------------------------------------------------------------- */

typedef bool (*matcher)(const char *s, size_t n);
typedef struct {
    matcher match;
    double confidence;
} pattern;

/* The rows of §6.3, in its order (bit k of rpg_detect_patterns). */
static const pattern k_error[] = {
    { e_message, 0.6 }, { e_tool_failed, 0.85 }, { e_rate_limit, 0.9 }, { e_denied, 0.75 },
};
static const pattern k_waiting[] = {
    { w_bash, 0.95 }, { w_edit, 0.95 }, { w_write, 0.95 }, { w_generic, 0.7 }, { w_question, 0.6 },
    { w_choice, 0.8 }, { w_arrows, 0.85 }, { w_boxed, 0.85 }, { w_plan, 0.9 },
};
static const pattern k_working[] = {
    { k_spinner, 0.9 }, { k_dots, 0.5 }, { k_thinking, 0.85 }, { k_tool, 0.7 }, { k_agent, 0.85 },
};
static const pattern k_idle[] = {
    { i_complete, 0.5 }, { i_check, 0.4 }, { i_claude, 0.6 }, { i_prompt, 0.4 },
};

static const pattern *group_of(rpg_status group, size_t *count)
{
    switch (group) {
    case RPG_ST_ERROR:
        *count = sizeof(k_error) / sizeof(k_error[0]);
        return k_error;
    case RPG_ST_WAITING:
        *count = sizeof(k_waiting) / sizeof(k_waiting[0]);
        return k_waiting;
    case RPG_ST_WORKING:
        *count = sizeof(k_working) / sizeof(k_working[0]);
        return k_working;
    case RPG_ST_IDLE:
        *count = sizeof(k_idle) / sizeof(k_idle[0]);
        return k_idle;
    default:
        *count = 0u;
        return NULL;
    }
}

/* Where the last 50 lines start: after the 50th '\n' from the end
 * (upstream's split('\n').slice(-50).join('\n')). */
static size_t window_start(const char *s, size_t n)
{
    size_t seen = 0u;
    size_t i = n;
    while (i > 0u) {
        i--;
        if (s[i] == '\n') {
            seen++;
            if (seen == WINDOW_LINES) {
                return i + 1u;
            }
        }
    }
    return 0u;
}

static uint32_t patterns_in(const char *s, size_t n, rpg_status group)
{
    size_t count;
    const pattern *p = group_of(group, &count);
    uint32_t bits = 0u;
    uint32_t bit = 1u;
    size_t k;
    for (k = 0u; k < count; k++) {
        if (p[k].match(s, n)) {
            bits |= bit;
        }
        bit <<= 1u;
    }
    return bits;
}

uint32_t rpg_detect_patterns(const char *text, size_t n, rpg_status group)
{
    size_t from;
    if ((text == NULL) || (n == 0u)) {
        return 0u;
    }
    from = window_start(text, n);
    return patterns_in(&text[from], n - from, group);
}

double rpg_detect_group_confidence(rpg_status group, uint32_t bits)
{
    size_t count;
    const pattern *p = group_of(group, &count);
    double sum = 0.0;
    double bonus;
    double c;
    uint32_t bit = 1u;
    unsigned hits = 0u;
    size_t k;
    for (k = 0u; k < count; k++) {
        if ((bits & bit) != 0u) {
            sum += p[k].confidence;
            hits++;
        }
        bit <<= 1u;
    }
    if (hits == 0u) {
        return 0.0;
    }
    bonus = (hits >= 3u) ? 0.3 : (0.1 * (double)hits);
    c = (sum / (double)hits) + bonus;
    return (c > 1.0) ? 1.0 : c;
}

rpg_detection rpg_detect_decide(double error, double waiting, double working, double idle)
{
    rpg_detection d = { RPG_ST_UNKNOWN, 0.3 };
    if (error > 0.75) {
        d.status = RPG_ST_ERROR;
        d.confidence = error;
    } else if (waiting > 0.65) {
        d.status = RPG_ST_WAITING;
        d.confidence = waiting;
    } else if (working > 0.6) {
        d.status = RPG_ST_WORKING;
        d.confidence = working;
    } else if (idle > 0.5) {
        d.status = RPG_ST_IDLE;
        d.confidence = idle;
    } else {
        /* unknown, 0.3 */
    }
    return d;
}

/* Whether the text is empty or white space only (upstream: trim() is ""). */
static bool blank(const char *s, size_t n)
{
    size_t i = 0u;
    while (i < n) {
        size_t len;
        if (!is_space(char_at(s, n, i, &len))) {
            return false;
        }
        i += len;
    }
    return true;
}

rpg_detection rpg_detect(const char *text, size_t n)
{
    rpg_detection d = { RPG_ST_UNKNOWN, 0.0 };
    const char *s;
    size_t from;
    size_t m;
    if ((text == NULL) || blank(text, n)) {
        return d;
    }
    from = window_start(text, n);
    s = &text[from];
    m = n - from;
    return rpg_detect_decide(rpg_detect_group_confidence(RPG_ST_ERROR, patterns_in(s, m, RPG_ST_ERROR)),
                             rpg_detect_group_confidence(RPG_ST_WAITING, patterns_in(s, m, RPG_ST_WAITING)),
                             rpg_detect_group_confidence(RPG_ST_WORKING, patterns_in(s, m, RPG_ST_WORKING)),
                             rpg_detect_group_confidence(RPG_ST_IDLE, patterns_in(s, m, RPG_ST_IDLE)));
}

/* ---- §6.4 reconciliation ---------------------------------------------------- */

static rpg_recon_out recon(rpg_status st, rpg_source src, int rule)
{
    rpg_recon_out out = { st, src, rule };
    return out;
}

rpg_recon_out rpg_reconcile(const rpg_recon_in *in)
{
    rpg_status h = in->hook;
    rpg_status t = in->term.status;
    double conf = in->term.confidence;
    /* No hook event at all (UINT64_MAX) is as good as an old one. */
    bool hook_quiet = in->since_hook_ms > HOOK_PRECEDENCE_MS;
    bool error_stale = (in->since_error_ms != UINT64_MAX) && (in->since_error_ms > ERROR_STALE_MS);

    if ((h == RPG_ST_WORKING) && (t == RPG_ST_WAITING) && (conf > 0.7)) {
        return recon(RPG_ST_WAITING, RPG_SRC_TERMINAL, 1);
    }
    if ((h == RPG_ST_WAITING) && (t != RPG_ST_WAITING) && (conf > 0.6)) {
        return recon((t == RPG_ST_UNKNOWN) ? RPG_ST_WORKING : t, RPG_SRC_TERMINAL, 2);
    }
    if ((t == RPG_ST_ERROR) && (conf > 0.75)) {
        return recon(RPG_ST_ERROR, RPG_SRC_TERMINAL, 3);
    }
    if ((h == RPG_ST_ERROR) && error_stale && ((t == RPG_ST_WORKING) || (t == RPG_ST_IDLE)) &&
        (conf > 0.6)) {
        return recon(t, RPG_SRC_RECONCILER, 4);
    }
    if ((h == RPG_ST_WORKING) && (t == RPG_ST_IDLE) && (conf > 0.6) &&
        (in->since_content_ms > IDLE_TIMEOUT_MS) && hook_quiet && !in->subagents) {
        return recon(RPG_ST_IDLE, RPG_SRC_RECONCILER, 5);
    }
    if ((h == RPG_ST_WORKING) && (t == RPG_ST_UNKNOWN) && (in->since_status_ms > UNKNOWN_TIMEOUT_MS) &&
        hook_quiet && !in->subagents) {
        return recon(RPG_ST_IDLE, RPG_SRC_RECONCILER, 6);
    }
    if (conf < 0.5) {
        return recon(h, RPG_SRC_HOOK, 7);
    }
    if ((conf > 0.8) && (t != RPG_ST_UNKNOWN)) {
        return recon(t, RPG_SRC_TERMINAL, 8);
    }
    return recon(h, RPG_SRC_HOOK, 9);
}

/* ---- §6.1 ------------------------------------------------------------------- */

const char *rpg_status_name(rpg_status s)
{
    switch (s) {
    case RPG_ST_IDLE:
        return "idle";
    case RPG_ST_TYPING:
        return "typing";
    case RPG_ST_WORKING:
        return "working";
    case RPG_ST_WAITING:
        return "waiting";
    case RPG_ST_ERROR:
        return "error";
    default:
        return "unknown";
    }
}

const char *rpg_source_name(rpg_source s)
{
    switch (s) {
    case RPG_SRC_TERMINAL:
        return "terminal";
    case RPG_SRC_RECONCILER:
        return "reconciler";
    default:
        return "hook";
    }
}

const char *rpg_errclass_name(rpg_errclass c)
{
    switch (c) {
    case RPG_ERR_ACTIONABLE:
        return "actionable";
    case RPG_ERR_EXPECTED:
        return "expected";
    default:
        return "transient";
    }
}

int rpg_status_prio(rpg_status s)
{
    switch (s) {
    case RPG_ST_ERROR:
        return 5;
    case RPG_ST_WAITING:
        return 4;
    case RPG_ST_WORKING:
        return 3;
    case RPG_ST_TYPING:
        return 2;
    case RPG_ST_IDLE:
        return 1;
    default:
        return 0;
    }
}

bool rpg_transition_ok(rpg_status from, rpg_status to)
{
    if ((from == RPG_ST_UNKNOWN) || (to == RPG_ST_UNKNOWN)) {
        return false;
    }
    if (from == to) {
        return true;
    }
    /* The table of §6.1 has every change but working -> typing and
     * error -> typing. */
    return !((to == RPG_ST_TYPING) && ((from == RPG_ST_WORKING) || (from == RPG_ST_ERROR)));
}

/* ---- error class ------------------------------------------------------------ */

rpg_errclass rpg_error_class(const char *tool, size_t tool_n, const char *msg, size_t msg_n)
{
    static const char *const actionable[] = { "permission denied", "access denied", "unauthorized",
                                              "rate limit", "quota exceeded", "too many requests" };
    static const char *const expected[] = { "test", "jest", "vitest", "eslint", "lint", "exit code",
                                            "git" };
    if (msg == NULL) {
        return RPG_ERR_TRANSIENT;
    }
    if (any_lit(msg, msg_n, actionable, sizeof(actionable) / sizeof(actionable[0]), true)) {
        return RPG_ERR_ACTIONABLE;
    }
    if ((tool_n == 4u) && (find(tool, 0u, tool_n, "Bash", false) == 0u) &&
        any_lit(msg, msg_n, expected, sizeof(expected) / sizeof(expected[0]), true)) {
        return RPG_ERR_EXPECTED;
    }
    return RPG_ERR_TRANSIENT;
}
