/*
 * hook.c - POST /event: a Claude Code hook (spec/rpg.md §4.2, §5; hooks.md).
 *
 * The body must be a JSON object (else 400 INVALID_JSON, nothing
 * recorded anywhere). Its type is the first non-empty of the five type
 * fields, normalised to snake_case; its pane is pane_id/paneId, or
 * tmux_target/tmuxTarget resolved through the current state.
 *
 * Everything the hook changes in the store happens in ONE transaction:
 *   - duplicates (§5 step 3, hooks.md §7): a hook with a tool_use_id whose
 *     key type:session:tool_use_id was seen in the last 5 minutes is
 *     ignored entirely (rpg, observability, the event log). The keys are
 *     rows of rpg_hooks_seen written in the hook's transaction, so a hook
 *     applied before a crash is still a duplicate after the restart, and
 *     one rolled back is not; each new key takes away up to two expired
 *     ones;
 *   - with a pane (§5 step 5): the persona of session_id (created on first
 *     sight), XP to the persona and to the project J (the pane session's,
 *     or the project containing the pane's cwd), persona counters, badges
 *     and health, companion stats and the streak;
 *   - the event log row (rpg_events, pruned daily to
 *     rpg.events_retention_days).
 * Only after the commit do the pane session's status, error and
 * sub-agents change (§6.2), the bus events go out (the hook's, then the
 * xp:awarded of its awards) and the pane session's copy of its persona is
 * refreshed. A failed transaction changes nothing and is answered 400
 * PROCESSING_ERROR. So after a kill -9 a hook is either wholly applied and
 * a duplicate when retried, or not applied at all.
 *
 * Observability (Decision 9): every hook that is not a duplicate is then
 * handed to observability (xfam_hook_record, hooks.md §4-§7), with or
 * without a pane, in transactions of its own; what happens there never
 * changes this answer.
 */
#include "fam/rpg/rpg_int.h"

#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/fmt.h"
#include "core/timer.h"
#include "fam/rpg/game.h"
#include "fam/rpg/sql.h"
#include "fam/shared/xfam.h"
#include "json/read.h"

#define DEDUP_MS (5u * 60u * 1000u)
#define RETENTION_STEP 5000      /* event log rows pruned per turn */

static uint32_t g_retention_days = 7u;

/* A member's token, the first present of the names; -1 when none. */
static int member(const json_doc *d, const char *const *names, size_t n)
{
    size_t i;
    for (i = 0u; i < n; i++) {
        int t = json_obj_get(d, json_root(d), names[i]);
        if ((t >= 0) && !json_is_null(d, t)) {
            return t;
        }
    }
    return -1;
}

/* A string member's decoded text into buf; "" when absent or not a string. */
static size_t str_of(const json_doc *d, int t, char *buf, size_t cap)
{
    size_t n = 0u;
    if ((t < 0) || (json_type(d, t) != JSON_STRING) ||
        (json_get_str(d, t, buf, cap, &n) != ST_OK)) {
        n = 0u;
    }
    buf[n] = '\0';
    return n;
}

/* §5 step 1: PreToolUse -> pre_tool_use; a value with '_' is only lower-cased. */
static size_t normalise(const char *in, size_t n, char *out, size_t cap)
{
    size_t k = 0u;
    size_t i;
    bool snake = memchr(in, '_', n) != NULL;
    for (i = 0u; (i < n) && ((k + 2u) < cap); i++) {
        char c = in[i];
        if ((c >= 'A') && (c <= 'Z')) {
            if (!snake && (i > 0u)) {
                out[k] = '_';
                k++;
            }
            /* cppcheck-suppress misra-c2012-10.8 ; false positive: char plus an offset is char */
            c = (char)(c + ('a' - 'A'));
        }
        out[k] = c;
        k++;
    }
    out[k] = '\0';
    return k;
}

/* §5 step 4: success of a tool, and its output text (into out). */
static bool tool_success(const json_doc *d, char *out, size_t cap, size_t *out_n)
{
    int root = json_root(d);
    int t = json_obj_get(d, root, "success");
    int resp = json_obj_get(d, root, "tool_response");
    bool ok = true;
    bool b = false;
    int e = json_obj_get(d, root, "error");
    if ((t >= 0) && (json_get_bool(d, t, &b) == ST_OK)) {
        ok = b;
    } else if ((e >= 0) && (json_type(d, e) == JSON_STRING) && (json_raw(d, e).n > 2u)) {
        ok = false;
    } else if ((resp >= 0) && (json_type(d, resp) == JSON_OBJECT)) {
        int ie = json_obj_get(d, resp, "is_error");
        if ((ie >= 0) && (json_get_bool(d, ie, &b) == ST_OK) && b) {
            ok = false;
        }
    } else {
        /* true */
    }
    *out_n = 0u;
    t = json_obj_get(d, root, "output");
    if ((t >= 0) && (json_type(d, t) == JSON_STRING)) {
        *out_n = str_of(d, t, out, cap);
    } else if ((resp >= 0) && (json_type(d, resp) == JSON_STRING)) {
        *out_n = str_of(d, resp, out, cap);
    } else if ((resp >= 0) && (json_type(d, resp) == JSON_OBJECT)) {
        int so = json_obj_get(d, resp, "stdout");
        int se = json_obj_get(d, resp, "stderr");
        int er = json_obj_get(d, resp, "error");
        if ((so >= 0) && (json_type(d, so) == JSON_STRING)) {
            size_t n = str_of(d, so, out, cap);
            if ((se >= 0) && (json_type(d, se) == JSON_STRING) && ((n + 2u) < cap)) {
                out[n] = '\n';
                n++;
                n += str_of(d, se, out + n, cap - n);
            }
            *out_n = n;
        } else if ((er >= 0) && (json_type(d, er) == JSON_STRING)) {
            *out_n = str_of(d, er, out, cap);
        } else {
            /* no text */
        }
    } else {
        /* no text */
    }
    return ok;
}

static void clear_error(rpg_csession *cs)
{
    cs->has_error = false;
}

static void sub_add(rpg_csession *cs, const char *id, const char *desc, uint64_t now_ms)
{
    if (cs->nsub >= RPG_SUBAGENTS) {
        (void)memmove(&cs->sub[0], &cs->sub[1], sizeof cs->sub[0] * (RPG_SUBAGENTS - 1u));
        cs->nsub--;
    }
    (void)memcpy(cs->sub[cs->nsub].id, id, strlen(id) + 1u);
    (void)memcpy(cs->sub[cs->nsub].desc, desc, strlen(desc) + 1u);
    cs->sub[cs->nsub].started_ms = now_ms;
    cs->nsub++;
}

static void sub_remove(rpg_csession *cs, const char *id)
{
    uint32_t i;
    for (i = 0u; i < cs->nsub; i++) {
        if (strcmp(cs->sub[i].id, id) == 0) {
            (void)memmove(&cs->sub[i], &cs->sub[i + 1u],
                          sizeof cs->sub[0] * (cs->nsub - i - 1u));
            cs->nsub--;
            return;
        }
    }
}

/* The raw text of a member (a JSON value as received), or a NULL view. */
static strv raw_of(const json_doc *d, const char *const *names, size_t n)
{
    /* the first present, an explicit null included (xfam.h: a NULL view
     * only for an absent field; observability maps null as upstream does) */
    strv v = STRV_NULL;
    size_t i;
    for (i = 0u; (i < n) && (v.p == NULL); i++) {
        int t = json_obj_get(d, json_root(d), names[i]);
        if (t >= 0) {
            v = json_raw(d, t);
        }
    }
    return v;
}

static strv raw_one(const json_doc *d, const char *name)
{
    return raw_of(d, &name, 1u);
}

static void to_obs(const json_doc *d, const char *type, size_t type_n, uint64_t wall_us)
{
    static const char *const k_sid[] = { "session_id", "sessionId" };
    static const char *const k_tool[] = { "tool_name", "toolName" };
    xfam_hook hk;
    int t = json_obj_get(d, json_root(d), "pid");
    int64_t pid = 0;
    (void)memset(&hk, 0, sizeof hk);
    hk.type = strv_make(type, type_n);
    hk.session_id = raw_of(d, k_sid, 2u);
    hk.tool_name = raw_of(d, k_tool, 2u);
    hk.tool_input = raw_one(d, "tool_input");
    hk.tool_response = raw_one(d, "tool_response");
    hk.error = raw_one(d, "error");
    hk.prompt = raw_one(d, "prompt");
    hk.transcript_path = raw_one(d, "transcript_path");
    if ((t >= 0) && (json_type(d, t) == JSON_NUMBER) && (json_get_i64(d, t, &pid) == ST_OK) &&
        (pid >= 1) && (pid <= 2147483647)) {
        hk.has_pid = true;
        hk.pid = pid;
    }
    hk.wall_us = wall_us;
    xfam_hook_record(&hk);
}

/* A type of the §5 table (the rest is ignored by rpg). */
static bool hook_type_known(const char *type)
{
    return (strcmp(type, "pre_tool_use") == 0) || (strcmp(type, "post_tool_use") == 0) ||
           (strcmp(type, "user_prompt_submit") == 0) || (strcmp(type, "user_prompt") == 0) ||
           (strcmp(type, "stop") == 0) || (strcmp(type, "notification") == 0);
}

/* The bus event of a processed hook (§10), as an `event` on /ws. */
static void bus_event(const char *type, uint32_t pane)
{
    const char *ev = NULL;
    if (strcmp(type, "pre_tool_use") == 0) {
        ev = "hook:pre_tool_use";
    } else if (strcmp(type, "post_tool_use") == 0) {
        ev = "hook:post_tool_use";
    } else if ((strcmp(type, "user_prompt_submit") == 0) || (strcmp(type, "user_prompt") == 0)) {
        ev = "hook:user_prompt";
    } else if (strcmp(type, "stop") == 0) {
        ev = "hook:stop";
    } else if (strcmp(type, "notification") == 0) {
        ev = "hook:notification";
    } else {
        /* ignored types publish nothing */
    }
    if (ev != NULL) {
        rpg_ws_event(ev, pane, type);
    }
}

/* ---- the store side, in the hook's transaction ---- */

/* Where sub starts in s at or after from, or s.n when it does not. */
static size_t find(strv s, size_t from, const char *sub)
{
    size_t m = strlen(sub);
    size_t i;
    for (i = from; (i + m) <= s.n; i++) {
        if (strv_starts_with_cstr(strv_make(s.p + i, s.n - i), sub)) {
            return i;
        }
    }
    return s.n;
}

static bool has_sub(strv s, const char *sub)
{
    return find(s, 0u, sub) < s.n;
}

static bool boundary(char c)
{
    return (c == ' ') || (c == ';') || (c == '&') || (c == '|') || (c == '(') ||
           (c == ')') || (c == '\t') || (c == '\n') || (c == '\\') || (c == '"');
}

/* `word` as a whole word of s (make, not cmake or makedirs). */
static bool has_word(strv s, const char *word)
{
    size_t n = strlen(word);
    size_t at = find(s, 0u, word);
    while (at < s.n) {
        bool before = (at == 0u) || boundary(s.p[at - 1u]);
        bool after = ((at + n) == s.n) || boundary(s.p[at + n]);
        if (before && after) {
            return true;
        }
        at = find(s, at + 1u, word);
    }
    return false;
}

static int64_t one(bool b)
{
    return b ? 1 : 0;
}

/* §8.5: a Bash test run */
static bool test_run(strv cmd)
{
    return has_sub(cmd, "test") || has_sub(cmd, "jest") || has_sub(cmd, "vitest") ||
           has_sub(cmd, "pytest");
}

static bool is_clar(const json_doc *d)
{
    char path[512];
    int ti = json_obj_get(d, json_root(d), "tool_input");
    size_t n = 0u;
    path[0] = '\0';
    if ((ti >= 0) && (json_type(d, ti) == JSON_OBJECT)) {
        n = str_of(d, json_obj_get(d, ti, "file_path"), path, sizeof path);
    }
    return (n >= 5u) && (strcmp(&path[n - 5u], ".clar") == 0);
}

/* What one hook is about. */
typedef struct {
    const json_doc *d;
    const char *type;
    const char *sid;
    size_t sid_n;
    const char *tool;
    const rpg_pane *p;
    uint64_t now;                       /* wall ms */
    bool have_p;
    rpg_persona per;
    char proj[RPG_ID_BYTES];            /* J, "" none */
    bool ok;                            /* post_tool_use: success */
} hook_ctx;

/* post_tool_use (§5, §8.1, §8.4, §8.5, §8.7, §8.8) */
static st_t post_tool(hook_ctx *x, strv cmd)
{
    static const char *const k_git[] = {
        "git commit", "git push", "git checkout -b", "git switch -c", "git merge", "git rebase",
        "gh pr create", "gh pr merge"
    };
    static const char *const k_git_ev[] = {
        "git:commit", "git:push", "git:branch", "git:branch", "git:merge", "git:rebase",
        "git:pr_created", "git:pr_merged"
    };
    const char *pid = (x->have_p) ? x->per.id : NULL;
    const char *jid = !rpg_empty(x->proj) ? x->proj : NULL;
    bool bash = strcmp(x->tool, "Bash") == 0;
    bool edit = (strcmp(x->tool, "Edit") == 0) || (strcmp(x->tool, "MultiEdit") == 0);
    bool write = strcmp(x->tool, "Write") == 0;
    bool tests = bash && test_run(cmd);
    bool commit = bash && has_sub(cmd, "git commit");
    char ev[80];
    char meta[160];
    char pane[16];
    json_w w;
    size_t mn = 0u;
    size_t tn = strlen(x->tool);
    size_t i;
    bool branch_done = false;
    st_t st = ST_OK;
    /* XP tool:<Tool>, successful or not */
    (void)memcpy(ev, "tool:", 5u);
    if (tn > (sizeof(ev) - 6u)) {
        tn = sizeof(ev) - 6u;
    }
    (void)memcpy(ev + 5, x->tool, tn);
    ev[5u + tn] = '\0';
    pane[0] = '%';
    pane[1u + fmt_u64(pane + 1, sizeof(pane) - 2u, x->p->id)] = '\0';
    json_w_init(&w, meta, sizeof meta);
    json_w_obj_begin(&w);
    json_w_kstr(&w, "toolName", x->tool);
    json_w_kbool(&w, "success", x->ok);
    json_w_kstr(&w, "paneId", pane);
    json_w_obj_end(&w);
    if (json_w_finish(&w, &mn) != ST_OK) {
        mn = 0u;
    }
    st = rpg_xp_award(pid, jid, strv_make(ev, 5u + tn), (mn > 0u) ? strv_make(meta, mn) : STRV_NULL,
                      x->now, NULL);
    /* git operations of a successful Bash: one award each */
    for (i = 0u; (st == ST_OK) && bash && x->ok && (i < (sizeof(k_git) / sizeof(k_git[0]))); i++) {
        bool is_branch = (i == 2u) || (i == 3u);
        if (has_sub(cmd, k_git[i]) && !(is_branch && branch_done)) {
            st = rpg_xp_award(pid, jid, strv_from_cstr(k_git_ev[i]), STRV_NULL, x->now, NULL);
            branch_done = branch_done || is_branch;
        }
    }
    if ((st == ST_OK) && x->have_p) {
        int32_t morale = x->ok ? 5 : -10;
        if (x->ok) {
            x->per.files_edited += one(edit);
            x->per.files_written += one(write);
            x->per.bash_commands += one(bash);
            x->per.tests_run += one(tests);
            x->per.commits_created += one(commit);
            x->per.clarity_files_edited += one((edit || write) && is_clar(x->d));
            morale += tests ? 15 : 0;
            morale += commit ? 20 : 0;
        }
        rpg_persona_badges(&x->per);
        rpg_persona_health(&x->per, x->now, 2, morale);
    }
    if ((st == ST_OK) && (jid != NULL) && x->ok) {
        rpg_proj_delta dl;
        (void)memset(&dl, 0, sizeof dl);
        if (bash) {
            dl.tests_run = one(tests);
            dl.commits = one(commit);
            dl.pushes = one(has_sub(cmd, "git push"));
            dl.prs_created = one(has_sub(cmd, "gh pr create"));
            dl.prs_merged = one(has_sub(cmd, "gh pr merge"));
            dl.builds_run = one(has_sub(cmd, "npm run build") || has_sub(cmd, "bun run build") ||
                                has_sub(cmd, "cargo build") || has_word(cmd, "make"));
            dl.lints_run = one(has_sub(cmd, "npm run lint") || has_sub(cmd, "eslint"));
            dl.clarinet_checks = one(has_sub(cmd, "clarinet check"));
            dl.clarinet_tests = one(has_sub(cmd, "clarinet test"));
        }
        st = rpg_project_tool(jid, strv_from_cstr(x->tool));
        if (st == ST_OK) {
            st = rpg_project_add(jid, &dl, x->now);
        }
    }
    if ((st == ST_OK) && (jid != NULL)) {
        st = rpg_project_streak(jid, x->now);
    }
    return st;
}

/* The Bash command of tool_input.command, decoded, for the matchers of
 * §8.1 and §8.7. One longer than the buffer (a heredoc with a file in it)
 * is matched in its JSON text as received instead (quotes left out):
 * escapes only stand for quotes, backslashes and control characters, which
 * the matchers take as word boundaries. */
static strv bash_command(const json_doc *d)
{
    int ti = json_obj_get(d, json_root(d), "tool_input");
    int t = -1;
    size_t n = 0u;
    strv cmd = STRV_NULL;
    if ((ti >= 0) && (json_type(d, ti) == JSON_OBJECT)) {
        t = json_obj_get(d, ti, "command");
    }
    if ((t >= 0) && (json_type(d, t) == JSON_STRING)) {
        static char s_cmd[RPG_CMD_BYTES];
        st_t st = json_get_str(d, t, s_cmd, sizeof s_cmd, &n);
        if (st == ST_OK) {
            cmd = strv_make(s_cmd, n);
        } else {
            strv raw = json_raw(d, t);
            if (raw.n >= 2u) {
                cmd = strv_make(raw.p + 1, raw.n - 2u);
            }
        }
    }
    if (cmd.p == NULL) {
        cmd = strv_make("", 0u);
    }
    return cmd;
}

/* The persona, XP and stats effects of §5 (a pane is known). */
static st_t effects(hook_ctx *x)
{
    rpg_proj_delta dl;
    st_t st = ST_OK;
    const rpg_csession *cs = rpg_cs_of(x->p);
    x->proj[0] = '\0';
    if (x->sid_n > 0u) {
        st = rpg_persona_ensure(strv_make(x->sid, x->sid_n), x->now, &x->per);
        x->have_p = st == ST_OK;
    }
    if ((cs != NULL) && (cs->proj == RPG_PROJ_KNOWN)) {
        (void)memcpy(x->proj, cs->project_id, sizeof x->proj);
    } else if ((st == ST_OK) && (rpg_project_of_path(x->p->cwd, x->proj) != ST_OK)) {
        x->proj[0] = '\0';
    } else {
        /* found, or an error below */
    }
    (void)memset(&dl, 0, sizeof dl);
    if (st != ST_OK) {
        /* the error */
    } else if (strcmp(x->type, "post_tool_use") == 0) {
        st = post_tool(x, bash_command(x->d));
    } else if ((strcmp(x->type, "user_prompt_submit") == 0) ||
               (strcmp(x->type, "user_prompt") == 0)) {
        if (x->have_p) {
            rpg_persona_health(&x->per, x->now, 10, 0);
        }
        if (!rpg_empty(x->proj)) {
            dl.prompts = 1;
            st = rpg_project_add(x->proj, &dl, x->now);
        }
    } else if (strcmp(x->type, "stop") == 0) {
        if (!rpg_empty(x->proj)) {
            dl.sessions = 1;
            st = rpg_project_add(x->proj, &dl, x->now);
            if (st == ST_OK) {
                st = rpg_project_streak(x->proj, x->now);
            }
        }
    } else {
        /* pre_tool_use: lastSeenAt only; notification: nothing */
    }
    if ((st == ST_OK) && x->have_p && (strcmp(x->type, "notification") != 0)) {
        x->per.last_seen_ms = x->now;
        st = rpg_persona_save(&x->per);
    }
    return st;
}

/* Seen in the last 5 minutes? Records it when not (in the transaction). */
static st_t seen(const char *key, size_t n, uint64_t now, bool *dup)
{
    sqlite3_stmt *s = rpg_stmt(RPG_SQL_SEEN_GET);
    bool row = false;
    st_t st = store_bind_text(s, 1, strv_make(key, n));
    *dup = false;
    if (st == ST_OK) {
        st = store_step(s, &row);
    }
    if ((st == ST_OK) && row && ((now - (uint64_t)store_col_int64(s, 0)) < DEDUP_MS)) {
        *dup = true;
    }
    store_done(s);
    if ((st == ST_OK) && !*dup) {
        s = rpg_stmt(RPG_SQL_SEEN_PUT);
        st = store_bind_text(s, 1, strv_make(key, n));
        if (st == ST_OK) {
            st = store_bind_int64(s, 2, (int64_t)now);
        }
        if (st == ST_OK) {
            st = store_exec(s);
        }
        if (st == ST_OK) {
            s = rpg_stmt(RPG_SQL_SEEN_PRUNE);
            uint64_t cut = now - DEDUP_MS;
            st = store_bind_int64(s, 1, (int64_t)cut);
            if (st == ST_OK) {
                st = store_exec(s);
            }
        }
    }
    return st;
}

static st_t log_event(const hook_ctx *x, strv body)
{
    sqlite3_stmt *s = rpg_stmt(RPG_SQL_EVENT_INSERT);
    char pane[16];                      /* bound without a copy: lives to the exec */
    size_t pn = 0u;
    st_t st = store_bind_int64(s, 1, (int64_t)x->now);
    if (x->p != NULL) {
        pane[0] = '%';
        pn = 1u + fmt_u64(pane + 1, sizeof(pane) - 2u, x->p->id);
    }
    pane[pn] = '\0';
    if (st == ST_OK) {
        st = (pn > 0u) ? store_bind_text(s, 2, strv_make(pane, pn)) : store_bind_null(s, 2);
    }
    if (st == ST_OK) {
        st = x->have_p ? store_bind_text(s, 3, strv_from_cstr(x->per.id)) : store_bind_null(s, 3);
    }
    if (st == ST_OK) {
        st = !rpg_empty(x->proj) ? store_bind_text(s, 4, strv_from_cstr(x->proj)) :
                                    store_bind_null(s, 4);
    }
    if (st == ST_OK) {
        st = store_bind_text(s, 5, strv_from_cstr(x->type));
    }
    if (st == ST_OK) {
        st = !rpg_empty(x->tool) ? store_bind_text(s, 6, strv_from_cstr(x->tool)) :
                                    store_bind_null(s, 6);
    }
    if (st == ST_OK) {
        st = store_bind_text(s, 7, body);
    }
    if (st == ST_OK) {
        st = store_exec(s);
    }
    return st;
}

/* ---- the pane session, after the commit (§5, §6.2) ---- */

static void session_effects(const json_doc *d, rpg_csession *cs, const char *type,
                            const char *tool, const char *tuid, uint64_t now, uint64_t wall_us)
{
    if (hook_type_known(type)) {
        /* §6.2: before the status change, so its pane_update has it */
        cs->hook_wall_ms = wall_us / 1000u;
        cs->hook_mono_ms = (now == 0u) ? 1u : now;
    }
    if (strcmp(type, "pre_tool_use") == 0) {
        clear_error(cs);
        if (strcmp(tool, "Task") == 0) {
            char desc[128];
            int ti = json_obj_get(d, json_root(d), "tool_input");
            desc[0] = '\0';
            if ((ti >= 0) && (json_type(d, ti) == JSON_OBJECT)) {
                (void)str_of(d, json_obj_get(d, ti, "description"), desc, sizeof desc);
            }
            sub_add(cs, tuid, desc, wall_us / 1000u);
        }
        rpg_set_status(cs, RPG_ST_WORKING, RPG_SRC_HOOK);
    } else if (strcmp(type, "post_tool_use") == 0) {
        static char s_out[RPG_ERR_BYTES * 4u];
        size_t on = 0u;
        bool ok = tool_success(d, s_out, sizeof s_out, &on);
        if (strcmp(tool, "Task") == 0) {
            sub_remove(cs, tuid);
        }
        if (!ok) {
            size_t k = (on < (RPG_ERR_BYTES - 1u)) ? on : (RPG_ERR_BYTES - 1u);
            while ((k > 0u) && (k < on) && ((((unsigned char)s_out[k]) & 0xC0u) == 0x80u)) {
                k--;
            }
            cs->has_error = true;
            (void)memcpy(cs->err_tool, tool, strlen(tool) + 1u);
            (void)memcpy(cs->err_msg, s_out, k);
            cs->err_msg[k] = '\0';
            cs->err_wall_ms = wall_us / 1000u;
            cs->err_class = rpg_error_class(tool, strlen(tool), s_out, on);
            cs->error_mono_ms = now;
            rpg_set_status(cs, RPG_ST_ERROR, RPG_SRC_HOOK);
        } else {
            clear_error(cs);
        }
    } else if ((strcmp(type, "user_prompt_submit") == 0) || (strcmp(type, "user_prompt") == 0)) {
        clear_error(cs);
        rpg_set_status(cs, RPG_ST_TYPING, RPG_SRC_HOOK);
    } else if (strcmp(type, "stop") == 0) {
        clear_error(cs);
        cs->nsub = 0u;
        rpg_set_status(cs, RPG_ST_IDLE, RPG_SRC_HOOK);
    } else {
        /* notification and the rest: no status effect */
    }
}

/* Every pane session showing persona id gets its new copy. */
static void refresh_views(const rpg_persona *per)
{
    uint32_t i;
    for (i = 0u; i < (uint32_t)CFG_RPG_CLAUDE; i++) {
        rpg_csession *cs = &g_rpg_cs[i];
        if (cs->used && (strcmp(cs->pv.id, per->id) == 0)) {
            rpg_persona_view_of(per, &cs->pv);
        }
    }
}

void rpg_post_event(hctx *h)
{
    static const char *const k_type[] = {
        "hook_event_name", "hookType", "hook_type", "event_type", "eventType"
    };
    static const char *const k_pane[] = { "pane_id", "paneId" };
    static const char *const k_target[] = { "tmux_target", "tmuxTarget" };
    static const char *const k_sid[] = { "session_id", "sessionId" };
    static const char *const k_tuid[] = { "tool_use_id", "toolUseId" };
    static const char *const k_tool[] = { "tool_name", "toolName" };
    json_doc d;
    json_err e;
    char raw_type[64];
    char type[80];
    char sid[RPG_SID_BYTES];
    char tuid[128];
    char tool[RPG_TOOL_BYTES];
    char buf[64];
    size_t type_n = 0u;
    size_t sid_n;
    size_t i;
    rpg_pane *p = NULL;
    uint64_t now = clock_mono_ms();
    uint64_t wall_us = clock_wall_us();
    uint32_t pn = 0u;
    hook_ctx x;
    bool dup = false;
    bool known;
    st_t st;
    (void)memset(&d, 0, sizeof(d));     /* released below even when never parsed */
    if ((h->body.n == 0u) || (json_parse(&d, h->body.p, h->body.n, &e) != ST_OK) ||
        (json_type(&d, json_root(&d)) != JSON_OBJECT)) {
        json_release(&d);
        rpg_error(h, 400, "INVALID_JSON", "Invalid JSON body");
        return;
    }
    /* §5 step 1 */
    raw_type[0] = '\0';
    for (i = 0u; i < (sizeof(k_type) / sizeof(k_type[0])); i++) {
        int t = json_obj_get(&d, json_root(&d), k_type[i]);
        if (str_of(&d, t, raw_type, sizeof raw_type) > 0u) {
            break;
        }
    }
    if (raw_type[0] == '\0') {
        (void)memcpy(raw_type, "unknown", 8u);
    }
    type_n = normalise(raw_type, strlen(raw_type), type, sizeof type);
    known = hook_type_known(type);
    sid_n = str_of(&d, member(&d, k_sid, 2u), sid, sizeof sid);
    (void)str_of(&d, member(&d, k_tool, 2u), tool, sizeof tool);
    /* §5 step 2 */
    if (str_of(&d, member(&d, k_pane, 2u), buf, sizeof buf) > 0u) {
        if (rpg_parse_id(strv_from_cstr(buf), '%', &pn)) {
            p = rpg_pane_find(pn);
        }
    } else if (str_of(&d, member(&d, k_target, 2u), buf, sizeof buf) > 0u) {
        p = rpg_pane_by_target(strv_from_cstr(buf));
    } else {
        /* no pane */
    }
    (void)memset(&x, 0, sizeof x);
    x.d = &d;
    x.type = type;
    x.sid = sid;
    x.sid_n = sid_n;
    x.tool = tool;
    x.p = p;
    x.now = wall_us / 1000u;
    if (strcmp(type, "post_tool_use") == 0) {
        char scratch[8];
        size_t sn = 0u;
        x.ok = tool_success(&d, scratch, sizeof scratch, &sn);
    }
    /* one transaction: duplicate key, effects, the event log */
    st = store_begin();
    if ((st == ST_OK) && (str_of(&d, member(&d, k_tuid, 2u), tuid, sizeof tuid) > 0u)) {
        /* §5 step 3 */
        char key[80u + RPG_SID_BYTES + 130u];
        size_t kn = 0u;
        (void)memcpy(key, type, type_n);
        kn = type_n;
        key[kn] = ':';
        kn++;
        (void)memcpy(key + kn, sid, sid_n);
        kn += sid_n;
        key[kn] = ':';
        kn++;
        (void)memcpy(key + kn, tuid, strlen(tuid));
        kn += strlen(tuid);
        st = seen(key, kn, x.now, &dup);
    } else {
        tuid[0] = '\0';
    }
    if ((st == ST_OK) && !dup && known && (p != NULL)) {
        st = effects(&x);
    }
    if ((st == ST_OK) && !dup && known) {
        st = log_event(&x, h->body);
    }
    if ((st == ST_OK) && !dup) {
        st = store_commit();
    }
    if ((st != ST_OK) || dup) {
        (void)store_rollback();
    }
    if (st != ST_OK) {
        rpg_game_after(false);
        json_release(&d);
        LOG_W("rpg", "hook %s not processed: %s", type, status_str(st));
        rpg_error(h, 400, "PROCESSING_ERROR", "Failed to process event");
        return;
    }
    if (dup) {
        rpg_game_after(false);
        json_release(&d);
        rpg_ok_raw(h, "{\"received\":true}");
        return;
    }
    /* committed: the pane session, then the bus events */
    if (p != NULL) {
        rpg_csession *cs = rpg_cs_of(p);
        if (sid_n > 0u) {
            rpg_link_record(p->id, strv_make(sid, sid_n));
        }
        if (cs != NULL) {
            if (sid_n > 0u) {
                rpg_cs_link(cs, strv_make(sid, sid_n));
                if (x.have_p) {
                    rpg_persona_view_of(&x.per, &cs->pv);
                }
            }
            session_effects(&d, cs, type, tool, tuid, now, wall_us);
        }
        if (x.have_p) {
            refresh_views(&x.per);
        }
    }
    bus_event(type, (p != NULL) ? p->id : RPG_NO_PANE);
    rpg_game_after(true);
    /* Decision 9: observability's side, in this hook's order */
    to_obs(&d, type, type_n, wall_us);
    json_release(&d);
    rpg_ok_raw(h, "{\"received\":true}");
}

/* ---- the event log's retention (§10) ---- */

static void prune(void *arg)
{
    uint64_t cut = (clock_wall_us() / 1000u) - ((uint64_t)g_retention_days * 86400000u);
    sqlite3_stmt *s = rpg_stmt(RPG_SQL_EVENT_PRUNE);
    st_t st = store_bind_int64(s, 1, (int64_t)cut);
    uint64_t gone = 0u;
    (void)arg;
    if (st == ST_OK) {
        st = store_bind_int64(s, 2, RETENTION_STEP);
    }
    if ((st == ST_OK) && (store_exec(s) == ST_OK)) {
        gone = store_changes();
    }
    /* a full step: more in the next turn; else tomorrow (in its own slot:
     * the prune never stops) */
    (void)timer_again((gone == (uint64_t)RETENTION_STEP) ? 0u : 86400000u);
}

void rpg_hooks_init(uint32_t retention_days)
{
    g_retention_days = (retention_days == 0u) ? 1u : retention_days;
    xfam_set_session_pid(rpg_session_pid);
    (void)timer_start(60000u, prune, NULL);     /* the first a minute after start */
}
