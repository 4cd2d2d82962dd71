/*
 * project.c - projects and their companions (spec/rpg.md §2.4, §2.5,
 * §4.6, §8.7, §8.8).
 *
 * A project is a git working tree, a row of rpg_projects keyed by its root.
 * After each poll (rpg_projects_poll) every pane session whose pane's cwd
 * is new gets its project: the known project whose root is that cwd, else
 * git is asked through a child process (net/child.h; never blocking the
 * loop), one at a time, so a repository nested in another is a project of
 * its own: `git -C <cwd> rev-parse --show-toplevel`,
 * then `git -C <root> config --get remote.origin.url`. A cwd outside any
 * working tree leaves the pane session without a project until its cwd
 * changes. The origin remote becomes githubUrl when it names github.com
 * (over https, ssh or git, or as git@github.com:org/repo), as the
 * repository's https URL on github.com.
 *
 * Counters (§8.7) are columns of the row plus rpg_project_tools (tool use
 * counts), changed in the caller's transaction (game.h). Streaks (§8.8)
 * count local days.
 *
 * The `companions` message (§2.5) lists at most CFG_RPG_COMPANIONS
 * projects by lastActivityAt desc. After a change it is rendered whole
 * into its buffer (CFG_RPG_COMPANIONS_MSG_BYTES) at most every
 * COMPANIONS_GAP_MS (game.c) and broadcast when it differs (FNV-1a) from the last
 * broadcast; a /ws client's own copy (on connect, after a resume) is
 * rendered page by page (game.h's producer).
 */
#include "fam/rpg/game.h"

#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/uuid.h"
#include "fam/rpg/sql.h"
#include "net/child.h"

#define TOOLS_SHOWN 64                  /* toolsUsed entries per companion */

static char g_comp[CFG_RPG_COMPANIONS_MSG_BYTES];
static uint64_t g_comp_hash;
static bool g_comp_sent;
static bool g_comp_warned;

/* ---- rows ---- */

/* The columns of RPG_PROJECT_COLS (stmts.def). */
typedef enum {
    C_ID = 0, C_PATH, C_NAME, C_GH, C_XP, C_LEVEL, C_CREATED, C_ACTIVITY, C_PROMPTS, C_SESSIONS,
    C_COMMITS, C_PUSHES, C_PRS_C, C_PRS_M, C_TESTS, C_BUILDS, C_LINTS, C_CL_CHECK, C_CL_TEST,
    C_Q_CREATED, C_Q_PHASES, C_Q_DONE, C_Q_RETRIES, C_S_CUR, C_S_LONG, C_S_DAY
} proj_col;

st_t rpg_project_add(const char *project_id, const rpg_proj_delta *d, uint64_t wall_ms)
{
    const int64_t v[15] = { d->prompts, d->sessions, d->commits, d->pushes, d->prs_created,
                            d->prs_merged, d->tests_run, d->builds_run, d->lints_run,
                            d->clarinet_checks, d->clarinet_tests, d->q_created, d->q_phases,
                            d->q_completed, d->q_retries };
    sqlite3_stmt *s = rpg_stmt(RPG_SQL_PROJECT_ADD);
    st_t st = store_bind_text(s, 1, strv_from_cstr(project_id));
    int i;
    for (i = 0; (st == ST_OK) && (i < 15); i++) {
        st = store_bind_int64(s, i + 2, v[i]);
    }
    if (st == ST_OK) {
        st = store_bind_int64(s, 17, (int64_t)wall_ms);
    }
    if (st == ST_OK) {
        st = store_exec(s);
    }
    if ((st == ST_OK) && (store_changes() == 0u)) {
        st = ST_NOTFOUND;
    }
    return st;
}

st_t rpg_project_get_name(strv id, char *name, size_t cap)
{
    sqlite3_stmt *s = rpg_stmt(RPG_SQL_PROJECT_BY_ID);
    bool row = false;
    st_t st = store_bind_text(s, 1, id);
    if (st == ST_OK) {
        st = store_step(s, &row);
    }
    if ((st == ST_OK) && !row) {
        st = ST_NOTFOUND;
    } else if ((st == ST_OK) && (name != NULL) && (cap > 0u)) {
        (void)store_col_copy(s, C_NAME, name, cap);
    } else {
        /* an error, or only asked whether it exists */
    }
    store_done(s);
    return st;
}

/* The id of the project statement q finds for path. ST_NOTFOUND. */
static st_t id_of(rpg_sql_id q, const char *path, char out[RPG_ID_BYTES])
{
    sqlite3_stmt *s = rpg_stmt(q);
    bool row = false;
    st_t st = store_bind_text(s, 1, strv_from_cstr(path));
    if (st == ST_OK) {
        st = store_step(s, &row);
    }
    if ((st == ST_OK) && row) {
        (void)store_col_copy(s, 0, out, RPG_ID_BYTES);
    } else if (st == ST_OK) {
        st = ST_NOTFOUND;
    } else {
        /* the error */
    }
    store_done(s);
    return st;
}

st_t rpg_project_of_path(const char *path, char out[RPG_ID_BYTES])
{
    return id_of(RPG_SQL_PROJECT_OF_PATH, path, out);
}

st_t rpg_project_streak(const char *project_id, uint64_t wall_ms)
{
    sqlite3_stmt *s = rpg_stmt(RPG_SQL_PROJECT_BY_ID);
    bool row = false;
    int64_t cur = 0;
    int64_t longest = 0;
    int64_t last = -1;
    int64_t today = rpg_day_of(wall_ms);
    st_t st = store_bind_text(s, 1, strv_from_cstr(project_id));
    if (st == ST_OK) {
        st = store_step(s, &row);
    }
    if ((st == ST_OK) && row) {
        cur = store_col_int64(s, C_S_CUR);
        longest = store_col_int64(s, C_S_LONG);
        last = store_col_is_null(s, C_S_DAY) ? -1 : store_col_int64(s, C_S_DAY);
    }
    store_done(s);
    if ((st != ST_OK) || !row) {
        return (st == ST_OK) ? ST_NOTFOUND : st;
    }
    if (last == today) {
        return ST_OK;                   /* same date: unchanged */
    }
    if ((last >= 0) && (last == (today - 1))) {
        cur++;
    } else {
        cur = 1;
    }
    if (cur > longest) {
        longest = cur;
    }
    s = rpg_stmt(RPG_SQL_PROJECT_STREAK);
    st = store_bind_text(s, 1, strv_from_cstr(project_id));
    if (st == ST_OK) {
        st = store_bind_int64(s, 2, cur);
    }
    if (st == ST_OK) {
        st = store_bind_int64(s, 3, longest);
    }
    if (st == ST_OK) {
        st = store_bind_int64(s, 4, today);
    }
    if (st == ST_OK) {
        st = store_bind_int64(s, 5, (int64_t)wall_ms);
    }
    if (st == ST_OK) {
        st = store_exec(s);
    }
    return st;
}

st_t rpg_project_tool(const char *project_id, strv tool)
{
    sqlite3_stmt *s = rpg_stmt(RPG_SQL_PROJECT_TOOL_ADD);
    st_t st = store_bind_text(s, 1, strv_from_cstr(project_id));
    if (st == ST_OK) {
        st = store_bind_text(s, 2, tool);
    }
    if (st == ST_OK) {
        st = store_exec(s);
    }
    return st;
}

/* ---- the origin remote (§2.4) ---- */

/* The GitHub URL of the repository (github.com/<org>/<repo> over https)
 * from a remote URL into out; false when it is not a GitHub URL. */
static bool github_url(const char *url, char *out, size_t cap)
{
    static const char *const k_pre[] = {
        "https://github.com/", "http://github.com/", "ssh://git@github.com/",
        "git://github.com/", "git@github.com:", "ssh://git@github.com:"
    };
    const char *rest = NULL;
    size_t i;
    size_t n;
    size_t slash;
    for (i = 0u; (i < (sizeof(k_pre) / sizeof(k_pre[0]))) && (rest == NULL); i++) {
        if (strncmp(url, k_pre[i], strlen(k_pre[i])) == 0) {
            rest = url + strlen(k_pre[i]);
        }
    }
    if ((rest == NULL) && (strncmp(url, "https://", 8u) == 0)) {
        /* a user before the host: user@github.com/org/repo over https */
        const char *at = strchr(url + 8, '@');
        const char *sl = strchr(url + 8, '/');
        if ((at != NULL) && ((sl == NULL) || (at < sl)) &&
            (strncmp(at + 1, "github.com/", 11u) == 0)) {
            rest = at + 12;
        }
    }
    if (rest == NULL) {
        return false;
    }
    n = strlen(rest);
    while ((n > 0u) && (rest[n - 1u] == '/')) {
        n--;
    }
    if ((n > 4u) && (strncmp(rest + n - 4u, ".git", 4u) == 0)) {
        n -= 4u;
    }
    /* exactly org/repo */
    slash = 0u;
    for (i = 0u; i < n; i++) {
        if (rest[i] == '/') {
            if (slash != 0u) {
                return false;
            }
            slash = i;
        }
    }
    if ((slash == 0u) || ((slash + 1u) >= n) || ((19u + n + 1u) > cap)) {
        return false;
    }
    (void)memcpy(out, "https://github.com/", 19u);
    (void)memcpy(out + 19, rest, n);
    out[19u + n] = '\0';
    return true;
}

/* ---- finding projects with git ---- */

/* cppcheck-suppress misra-c2012-5.7 ; false positive: an untagged struct has no tag */
static struct {
    char git[256];
    bool busy;
    bool warned;
    char cwd[RPG_CWD_BYTES];
    char root[RPG_CWD_BYTES];
} g_git;

void rpg_projects_init(const char *git_path)
{
    size_t n = (git_path != NULL) ? strlen(git_path) : 0u;
    if (n < sizeof g_git.git) {
        (void)memcpy(g_git.git, (git_path != NULL) ? git_path : "", n + 1u);
    }
}

/* Every pane session whose cwd lies in root (or each one asking for cwd
 * when id is NULL: none) gets its answer. */
static void settle(const char *cwd, const char *root, const char *id)
{
    uint32_t i;
    for (i = 0u; i < (uint32_t)CFG_RPG_CLAUDE; i++) {
        rpg_csession *cs = &g_rpg_cs[i];
        const char *c = cs->proj_cwd;
        bool inside = false;
        if (!cs->used) {
            continue;
        }
        if (root != NULL) {
            size_t rn = strlen(root);
            char next = c[rn];
            inside = (rn > 0u) && (strncmp(c, root, rn) == 0) &&
                     ((next == '\0') || (next == '/') || (strcmp(root, "/") == 0));
        }
        if ((id != NULL) && inside &&
            ((cs->proj == RPG_PROJ_ASKING) || (cs->proj == RPG_PROJ_NONE) ||
             (cs->proj == RPG_PROJ_UNKNOWN))) {
            cs->proj = RPG_PROJ_KNOWN;
            (void)memcpy(cs->project_id, id, strlen(id) + 1u);
        } else if ((cs->proj == RPG_PROJ_ASKING) && (strcmp(c, cwd) == 0)) {
            cs->proj = (id != NULL) ? RPG_PROJ_KNOWN : RPG_PROJ_NONE;
            if (id != NULL) {
                (void)memcpy(cs->project_id, id, strlen(id) + 1u);
            }
        } else {
            /* another cwd */
        }
    }
}

static size_t trim_line(const char *s, size_t n, char *out, size_t cap)
{
    size_t k = n;
    while ((k > 0u) && ((s[k - 1u] == '\n') || (s[k - 1u] == '\r') || (s[k - 1u] == ' '))) {
        k--;
    }
    if (k >= cap) {
        return 0u;
    }
    (void)memcpy(out, s, k);
    out[k] = '\0';
    return k;
}

static void create(const char *url)
{
    char id[RPG_ID_BYTES];
    char gh[300];
    const char *name = strrchr(g_git.root, '/');
    bool has_gh = (url != NULL) && github_url(url, gh, sizeof gh);
    uint64_t now = clock_wall_us() / 1000u;
    bool row = false;
    st_t st = uuid_v4(id);
    if ((name == NULL) || rpg_empty(&name[1])) {
        name = g_git.root;
    } else {
        name = &name[1];
    }
    if (st == ST_OK) {
        st = store_begin();
    }
    if (st == ST_OK) {
        sqlite3_stmt *s = rpg_stmt(RPG_SQL_PROJECT_INSERT);
        st = store_bind_text(s, 1, strv_from_cstr(id));
        if (st == ST_OK) {
            st = store_bind_text(s, 2, strv_from_cstr(g_git.root));
        }
        if (st == ST_OK) {
            st = store_bind_text(s, 3, strv_from_cstr(name));
        }
        if (st == ST_OK) {
            st = has_gh ? store_bind_text(s, 4, strv_from_cstr(gh)) : store_bind_null(s, 4);
        }
        if (st == ST_OK) {
            st = store_bind_int64(s, 5, (int64_t)now);
        }
        if (st == ST_OK) {
            st = store_exec(s);
        }
        if (st == ST_OK) {
            s = rpg_stmt(RPG_SQL_PROJECT_ID_BY_PATH);
            st = store_bind_text(s, 1, strv_from_cstr(g_git.root));
            if (st == ST_OK) {
                st = store_step(s, &row);
            }
            if ((st == ST_OK) && row) {
                (void)store_col_copy(s, 0, id, sizeof id);
            }
            store_done(s);
        }
        if ((st == ST_OK) && row) {
            st = store_commit();
        } else {
            (void)store_rollback();
            st = (st == ST_OK) ? ST_DB : st;
        }
    }
    if (st != ST_OK) {
        LOG_W("rpg", "project %s not recorded: %s", g_git.root, status_str(st));
        settle(g_git.cwd, NULL, NULL);
        return;
    }
    LOG_I("rpg", "project %s at %s%s%s", name, g_git.root, has_gh ? ", " : "",
          has_gh ? gh : "");
    settle(g_git.cwd, g_git.root, id);
    rpg_companions_later();
}

static void remote_done(void *ctx, const child_result *r)
{
    char url[512];
    (void)ctx;
    g_git.busy = false;
    if ((r->st == ST_OK) && (r->code == 0) && (trim_line(r->out, r->out_n, url, sizeof url) > 0u)) {
        create(url);
    } else {
        create(NULL);                   /* no origin */
    }
    rpg_projects_poll();                /* the next one waiting */
}

static bool git_run(const char *dir, const char *const *tail, child_done_fn done)
{
    const char *argv[8];
    child_spec sp;
    uint32_t id = 0u;
    size_t a = 0u;
    argv[a] = g_git.git;
    a++;
    argv[a] = "-C";
    a++;
    argv[a] = dir;
    a++;
    while ((tail[a - 3u] != NULL) && (a < 7u)) {
        argv[a] = tail[a - 3u];
        a++;
    }
    argv[a] = NULL;
    (void)memset(&sp, 0, sizeof sp);
    sp.argv = argv;
    sp.done = done;
    return child_run(&sp, &id) == ST_OK;
}

static void root_done(void *ctx, const child_result *r)
{
    static const char *const k_remote[] = { "config", "--get", "remote.origin.url", NULL };
    (void)ctx;
    if ((r->st == ST_OK) && (r->code == 0) &&
        (trim_line(r->out, r->out_n, g_git.root, sizeof g_git.root) > 0u) &&
        (strncmp(g_git.root, "/", 1u) == 0)) {
        if (!git_run(g_git.root, k_remote, remote_done)) {
            g_git.busy = false;
            create(NULL);
        }
        return;
    }
    g_git.busy = false;
    settle(g_git.cwd, NULL, NULL);      /* not in a working tree */
    rpg_projects_poll();
}

void rpg_projects_poll(void)
{
    static const char *const k_root[] = { "rev-parse", "--show-toplevel", NULL };
    uint32_t i;
    for (i = 0u; (i < (uint32_t)CFG_RPG_CLAUDE) && !g_git.busy; i++) {
        rpg_csession *cs = &g_rpg_cs[i];
        const rpg_pane *p;
        char id[RPG_ID_BYTES];
        if (!cs->used) {
            continue;
        }
        p = rpg_pane_find(cs->pane);
        if ((p == NULL) || (strncmp(p->cwd, "/", 1u) != 0) ||
            ((cs->proj != RPG_PROJ_UNKNOWN) && (strcmp(cs->proj_cwd, p->cwd) == 0))) {
            continue;
        }
        (void)memcpy(cs->proj_cwd, p->cwd, strlen(p->cwd) + 1u);
        if (id_of(RPG_SQL_PROJECT_ID_BY_PATH, p->cwd, id) == ST_OK) {
            /* exactly a known root (a cwd inside one may be in a
             * repository nested in it: git is asked then) */
            cs->proj = RPG_PROJ_KNOWN;
            (void)memcpy(cs->project_id, id, sizeof id);
        } else if (rpg_empty(g_git.git)) {
            cs->proj = RPG_PROJ_NONE;
            if (!g_git.warned) {
                g_git.warned = true;
                LOG_W("rpg", "git is not installed: no projects are created");
            }
        } else {
            cs->proj = RPG_PROJ_ASKING;
            cs->project_id[0] = '\0';
            (void)memcpy(g_git.cwd, p->cwd, strlen(p->cwd) + 1u);
            g_git.busy = git_run(g_git.cwd, k_root, root_done);
            if (!g_git.busy) {
                cs->proj = RPG_PROJ_UNKNOWN;    /* no child slot: the next poll */
                cs->proj_cwd[0] = '\0';
            }
        }
    }
}

/* ---- writing ---- */

static void w_project(json_w *w, sqlite3_stmt *s)
{
    strv v;
    uint32_t level = (uint32_t)store_col_int64(s, C_LEVEL);
    json_w_obj_begin(w);
    v = store_col_text(s, C_ID);
    json_w_kstrn(w, "id", v.p, v.n);
    v = store_col_text(s, C_PATH);
    json_w_kstrn(w, "path", v.p, v.n);
    v = store_col_text(s, C_NAME);
    json_w_kstrn(w, "name", v.p, v.n);
    if (store_col_is_null(s, C_GH)) {
        json_w_knull(w, "githubUrl");
    } else {
        v = store_col_text(s, C_GH);
        json_w_kstrn(w, "githubUrl", v.p, v.n);
    }
    json_w_kstr(w, "projectClass", "unknown");
    json_w_ki64(w, "totalXp", store_col_int64(s, C_XP));
    json_w_ku64(w, "level", level);
    rpg_w_iso(w, "createdAt", (uint64_t)store_col_int64(s, C_CREATED));
    rpg_w_iso(w, "lastActivityAt", (uint64_t)store_col_int64(s, C_ACTIVITY));
    json_w_obj_end(w);
}

static void w_tools(json_w *w, strv id)
{
    sqlite3_stmt *s = rpg_stmt(RPG_SQL_PROJECT_TOOLS);
    bool row = false;
    uint32_t n = 0u;
    st_t st = store_bind_text(s, 1, id);
    json_w_obj_begin(w);
    while ((st == ST_OK) && (n < (uint32_t)TOOLS_SHOWN)) {
        strv t;
        char key[RPG_TOOL_BYTES];
        size_t k;
        st = store_step(s, &row);
        if ((st != ST_OK) || !row) {
            break;
        }
        t = store_col_text(s, 0);
        k = (t.n < (sizeof(key) - 1u)) ? t.n : (sizeof(key) - 1u);
        (void)memcpy(key, t.p, k);
        key[k] = '\0';
        json_w_ki64(w, key, store_col_int64(s, 1));
        n++;
    }
    store_done(s);
    json_w_obj_end(w);
}

static void w_counts(json_w *w, sqlite3_stmt *s, const char *const *keys, const proj_col *cols,
                     size_t n)
{
    size_t i;
    json_w_obj_begin(w);
    for (i = 0u; i < n; i++) {
        json_w_ki64(w, keys[i], store_col_int64(s, (int)cols[i]));
    }
    json_w_obj_end(w);
}

/* One companion (§2.5) from a project row; the tools statement runs while
 * the page statement is stepping (another statement). */
static void w_companion(sqlite3_stmt *s, json_w *w)
{
    static const char *const k_git[] = { "commits", "pushes", "prsCreated", "prsMerged" };
    static const proj_col k_git_c[] = { C_COMMITS, C_PUSHES, C_PRS_C, C_PRS_M };
    static const char *const k_q[] = { "created", "phasesCompleted", "questsCompleted",
                                       "totalRetries" };
    static const proj_col k_q_c[] = { C_Q_CREATED, C_Q_PHASES, C_Q_DONE, C_Q_RETRIES };
    strv id = store_col_text(s, C_ID);
    strv name = store_col_text(s, C_NAME);
    strv path = store_col_text(s, C_PATH);
    int64_t xp = store_col_int64(s, C_XP);
    uint32_t level = (uint32_t)store_col_int64(s, C_LEVEL);
    char day[11];
    char idc[RPG_ID_BYTES];
    (void)store_col_copy(s, C_ID, idc, sizeof idc);
    json_w_obj_begin(w);
    json_w_kstrn(w, "id", id.p, id.n);
    json_w_kstrn(w, "name", name.p, name.n);
    json_w_key(w, "repo");
    json_w_obj_begin(w);
    json_w_kstrn(w, "path", path.p, path.n);
    json_w_kstrn(w, "name", name.p, name.n);
    if (!store_col_is_null(s, C_GH)) {
        strv gh = store_col_text(s, C_GH);
        strv rest = strv_make(gh.p + 19, (gh.n > 19u) ? (gh.n - 19u) : 0u);
        const char *sl = memchr(rest.p, '/', rest.n);
        size_t on = rest.n;
        if (sl != NULL) {
            ptrdiff_t d = sl - rest.p;
            on = (size_t)d;
        }
        json_w_kstrn(w, "org", rest.p, on);
        {
            char remote[320];
            if ((rest.n + 20u) < sizeof remote) {
                size_t rn = 15u;
                (void)memcpy(remote, "git@github.com:", 15u);
                (void)memcpy(remote + rn, rest.p, rest.n);
                rn += rest.n;
                (void)memcpy(remote + rn, ".git", 4u);
                rn += 4u;
                json_w_kstrn(w, "remote", remote, rn);
            }
        }
    }
    json_w_obj_end(w);
    json_w_ku64(w, "level", level);
    json_w_ki64(w, "experience", xp - rpg_level_threshold(level));
    json_w_ki64(w, "totalExperience", xp);
    json_w_key(w, "stats");
    json_w_obj_begin(w);
    json_w_key(w, "toolsUsed");
    w_tools(w, strv_from_cstr(idc));
    json_w_ki64(w, "promptsReceived", store_col_int64(s, C_PROMPTS));
    json_w_ki64(w, "sessionsCompleted", store_col_int64(s, C_SESSIONS));
    json_w_key(w, "git");
    w_counts(w, s, k_git, k_git_c, 4u);
    json_w_key(w, "commands");
    json_w_obj_begin(w);
    json_w_ki64(w, "testsRun", store_col_int64(s, C_TESTS));
    json_w_ki64(w, "buildsRun", store_col_int64(s, C_BUILDS));
    json_w_ki64(w, "deploysRun", 0);
    json_w_ki64(w, "lintsRun", store_col_int64(s, C_LINTS));
    json_w_obj_end(w);
    json_w_key(w, "blockchain");
    json_w_obj_begin(w);
    json_w_ki64(w, "clarinetChecks", store_col_int64(s, C_CL_CHECK));
    json_w_ki64(w, "clarinetTests", store_col_int64(s, C_CL_TEST));
    json_w_ki64(w, "testnetDeploys", 0);
    json_w_ki64(w, "mainnetDeploys", 0);
    json_w_obj_end(w);
    json_w_key(w, "quests");
    w_counts(w, s, k_q, k_q_c, 4u);
    json_w_obj_end(w);
    json_w_key(w, "streak");
    json_w_obj_begin(w);
    if (store_col_is_null(s, C_S_DAY)) {
        rpg_day_text(rpg_today(), day);
        json_w_ki64(w, "current", 0);
        json_w_ki64(w, "longest", 0);
    } else {
        rpg_day_text(store_col_int64(s, C_S_DAY), day);
        json_w_ki64(w, "current", store_col_int64(s, C_S_CUR));
        json_w_ki64(w, "longest", store_col_int64(s, C_S_LONG));
    }
    json_w_kstr(w, "lastActiveDate", day);
    json_w_obj_end(w);
    json_w_key(w, "achievements");
    json_w_arr_begin(w);
    json_w_arr_end(w);
    json_w_ki64(w, "createdAt", store_col_int64(s, C_CREATED));
    json_w_ki64(w, "lastActivity", store_col_int64(s, C_ACTIVITY));
    json_w_obj_end(w);
}

static void project_row(sqlite3_stmt *s, json_w *w)
{
    w_project(w, s);
}

/* ---- GET /api/projects (§4.6) ---- */

void rpg_projects_list(hctx *h)
{
    rpg_page_send(h, (uint16_t)RPG_SQL_PROJECT_PAGE, (int)C_ACTIVITY, (int)C_ID, project_row,
                  "{\"success\":true,\"data\":{\"projects\":[");
}

void rpg_project_get(hctx *h)
{
    sqlite3_stmt *s = rpg_stmt(RPG_SQL_PROJECT_BY_ID);
    bool row = false;
    json_w w;
    st_t st = store_bind_text(s, 1, hctx_param(h, 0u));
    if (st == ST_OK) {
        st = store_step(s, &row);
    }
    if ((st != ST_OK) || !row) {
        store_done(s);
        if (st != ST_OK) {
            rpg_error(h, 500, "INTERNAL_ERROR", "Internal server error");
        } else {
            rpg_error(h, 404, "NOT_FOUND", "Project not found");
        }
        return;
    }
    rpg_ok_begin(h, &w);
    json_w_obj_begin(&w);
    json_w_key(&w, "project");
    w_project(&w, s);
    json_w_obj_end(&w);
    store_done(s);
    rpg_ok_end(h, &w);
}

/* ---- the companions message (§2.5, §9.2) ---- */

static void comp_init(rpg_page_prod *st)
{
    (void)memset(st, 0, sizeof *st);
    st->sql = (uint16_t)RPG_SQL_PROJECT_PAGE;
    st->key_num_col = C_ACTIVITY;
    st->key_id_col = C_ID;
    st->row = w_companion;
    st->max_rows = (uint32_t)CFG_RPG_COMPANIONS;
    st->head = "{\"type\":\"companions\",\"payload\":[";
    st->tail = "]}";
}

_Static_assert(sizeof(rpg_page_prod) <= sizeof(rpg_comp_prod), "rpg_comp_prod holds the producer");

size_t rpg_companions_prod(void *state, char *buf, size_t cap, bool *done)
{
    rpg_page_prod *st = (rpg_page_prod *)state;
    if (st->head == NULL) {
        comp_init(st);              /* zeroed by the caller: the first call */
    }
    return rpg_page_produce(st, buf, cap, done);
}

void rpg_companions_check(void)
{
    rpg_page_prod st;
    size_t n = 0u;
    bool done = false;
    uint64_t hsh = 1469598103934665603uLL;
    size_t i;
    comp_init(&st);
    n = rpg_page_produce(&st, g_comp, sizeof(g_comp) - 2u, &done);
    if (!done) {
        /* the rows that fit, then the tail (room kept for it) */
        if (!g_comp_warned) {
            g_comp_warned = true;
            LOG_W("rpg", "companions over %u bytes: the least recently active left out",
                  (unsigned)CFG_RPG_COMPANIONS_MSG_BYTES);
        }
        st.phase = 2u;
        n += rpg_page_produce(&st, g_comp + n, sizeof(g_comp) - n, &done);
    }
    for (i = 0u; i < n; i++) {
        hsh ^= (uint64_t)(unsigned char)g_comp[i];
        hsh *= 1099511628211uLL;
    }
    if (done && (!g_comp_sent || (hsh != g_comp_hash))) {
        g_comp_sent = true;
        g_comp_hash = hsh;
        rpg_publish(g_comp, n, false);
    }
}
