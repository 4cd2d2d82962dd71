/*
 * hooks_cli.c - `roostd hooks install|uninstall`: roost's handlers in the
 * `hooks` section of Claude Code's settings (the contract: hooks_cli.h).
 *
 * Implementation notes
 * - The file is read into the first CFG_HOOKS_SETTINGS_BYTES of the render
 *   scratch, parsed into CFG_HOOKS_SETTINGS_TOKENS tokens on the stack (the
 *   server's pool is smaller, and this runs instead of the server), merged
 *   (hooks_merge.h) and written again, whole, into the rest of the scratch
 *   with the indent-2 writer.
 * - The arguments, the configuration, the key and the file's shape are all
 *   checked before anything is written.
 */
#include "app/hooks_cli.h"

#include <stdio.h>
#include <string.h>

#include "app/app.h"
#include "app/hooks_merge.h"
#include "app/pools.h"
#include "config.h"
#include "fam/families.h"
#include "fam/shared/auth.h"
#include "json/read.h"
#include "json/write.h"
#include "port.h"

#define PATH_BYTES ((size_t)CFG_CONF_VALUE_BYTES)
#define LINE_BYTES (4u * PATH_BYTES)
#define MAX_ARGS 64
#define KEY_FILE_NAME "roost-hook.key"
#define KEY_MAX 256u

static const char k_help[] =
    "Usage: roostd hooks install [--settings PATH]\n"
    "                            [--api-key KEY | --api-key-file PATH]\n"
    "                            [--config PATH] [--KEY=VALUE...]\n"
    "       roostd hooks uninstall [--settings PATH]\n"
    "       roostd hook <HookType> [--url URL] [--key KEY | --key-file PATH]\n"
    "\n"
    "hooks install: make Claude Code send its hooks to roost. Adds to the `hooks`\n"
    "  of Claude Code's settings (--settings, default ~/.claude/settings.json) one\n"
    "  handler per event (PreToolUse and PostToolUse with matcher \"*\", Stop,\n"
    "  UserPromptSubmit, Notification, SessionStart) that runs this roostd as\n"
    "    'roostd' hook <Event> --url http://HOST:PORT/event [--key-file 'FILE']\n"
    "  HOST:PORT is the hook listener as roostd would configure it from the same\n"
    "  sources (roost.conf, --config, ROOST_* and upstream variables, --KEY=VALUE\n"
    "  flags); a wildcard bind (0.0.0.0, ::) is reached on loopback. When that\n"
    "  listener needs the API key (auth=key, or auto on a bind that is not\n"
    "  loopback), the handler reads it from a file, never from its command line:\n"
    "  --api-key-file PATH, or --api-key KEY (written to roost-hook.key, mode\n"
    "  0600, beside the settings file), else <data_dir>/api_key (written by\n"
    "  roostd on its first start). Other settings and other hooks are kept; the\n"
    "  previous file is kept as <settings>.bak; running it again changes nothing.\n"
    "hooks uninstall: remove roost's handlers (and the groups, events and `hooks`\n"
    "  they leave empty) and roost-hook.key.\n"
    "hook: what the handlers run. Reads the hook JSON on stdin, adds hookType,\n"
    "  timestamp, tmuxTarget and paneId ($TMUX_PANE) and POSTs it to URL (default\n"
    "  the hook listener's default port on 127.0.0.1) with X-API-Key when given.\n"
    "  Prints nothing, exits 0 within 2 s even when roost is down;\n"
    "  ROOST_HOOK_DEBUG=1 reports problems on stderr.\n"
    "Exit status (hooks): 0 done or nothing to do, 1 a file could not be read or\n"
    "  written, 2 usage, configuration or settings-file error (nothing written).\n";

const char *hooks_cli_help(void)
{
    return k_help;
}

/* ---- messages ------------------------------------------------------------- */

static void say(bool to_err, const char *s)
{
    if (to_err) {
        port_stderr(s, strlen(s));
    } else {
        port_stdout(s, strlen(s));
    }
}

static int usage(const char *msg)
{
    char line[LINE_BYTES + 64u];
    (void)snprintf(line, sizeof line, "roostd hooks: %s\nTry 'roostd hooks --help'.\n", msg);
    say(true, line);
    return 2;
}

static bool put_str(char *buf, size_t cap, size_t *n, const char *s)
{
    size_t len = strlen(s);
    if ((*n + len) >= cap) {
        return false;
    }
    (void)memcpy(buf + *n, s, len);
    *n += len;
    buf[*n] = '\0';
    return true;
}

/* s quoted for sh: '...' with each ' as '\''. */
static bool put_quoted(char *buf, size_t cap, size_t *n, const char *s)
{
    bool ok = put_str(buf, cap, n, "'");
    const char *p;
    for (p = s; ok && (*p != '\0'); p++) {
        char one[2] = { *p, '\0' };
        /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
        ok = (*p == '\'') ? put_str(buf, cap, n, "'\\''") : put_str(buf, cap, n, one);
    }
    return ok && put_str(buf, cap, n, "'");
}

/* ---- paths and keys --------------------------------------------------------- */

/* p made absolute against cwd ("./" dropped). */
static bool abs_path(const char *cwd, const char *path, char *out, size_t cap)
{
    const char *p = path;
    size_t n = 0u;
    out[0] = '\0';
    /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
    if (p[0] == '/') {
        return put_str(out, cap, &n, p);
    }
    while (strncmp(p, "./", 2u) == 0) {
        p = &p[2];
    }
    return put_str(out, cap, &n, cwd) &&
           ((strcmp(cwd, "/") == 0) || put_str(out, cap, &n, "/")) && put_str(out, cap, &n, p);
}

/* The directory of path (absolute), into out. */
static bool dir_of(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    ptrdiff_t span;
    size_t n;
    if ((slash == NULL) || (cap == 0u)) {
        return false;
    }
    span = slash - path;
    n = (span == 0) ? 1u : (size_t)span;
    if (n >= cap) {
        return false;
    }
    (void)memcpy(out, path, n);
    out[n] = '\0';
    return true;
}

/* A key as a header value takes: 1..KEY_MAX visible ASCII characters. */
static bool key_ok(const char *k, size_t n)
{
    size_t i;
    bool ok = (n > 0u) && (n <= KEY_MAX);
    for (i = 0u; ok && (i < n); i++) {
        unsigned char c = (unsigned char)k[i];
        ok = (c > 0x20u) && (c < 0x7Fu);
    }
    return ok;
}

static bool is_blank(char c)
{
    return (c == ' ') || (c == '\t') || (c == '\r') || (c == '\n');
}

bool hooks_key_read(const char *path, char *key, size_t cap)
{
    char buf[KEY_MAX + 64u];
    size_t n = 0u;
    size_t a = 0u;
    size_t e;
    st_t st = port_file_read(path, buf, sizeof buf, &n);
    if ((st != ST_OK) && (st != ST_TOOBIG)) {
        return false;
    }
    while ((a < n) && is_blank(buf[a])) {
        a++;
    }
    e = a;
    while ((e < n) && !is_blank(buf[e])) {
        e++;
    }
    if (!key_ok(buf + a, e - a) || ((e - a) >= cap)) {
        return false;
    }
    (void)memcpy(key, buf + a, e - a);
    key[e - a] = '\0';
    return true;
}

static bool key_file_ok(const char *path)
{
    char key[KEY_MAX + 1u];
    return hooks_key_read(path, key, sizeof key);
}

/* ---- the commands ------------------------------------------------------------ */

typedef struct {
    const char *settings;       /* --settings, NULL: the default */
    const char *api_key;        /* --api-key */
    const char *api_key_file;   /* --api-key-file */
    char *fwd[MAX_ARGS + 1];    /* what goes to cfg_load: "roostd" + the rest */
    int nfwd;
} hooks_args;

/* The option at argv[*i] when it is name (`name VALUE` or `name=VALUE`):
 * its value in *val; *err when the value is missing. */
static bool take_opt(int argc, char *const *argv, int *i, const char *name, const char **val,
                     bool *err)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    bool hit = false;
    if (strcmp(a, name) == 0) {
        hit = true;
        if ((*i + 1) < argc) {
            *val = argv[*i + 1];
            *i += 2;
        } else {
            *err = true;
            *i += 1;
        }
    } else if ((strncmp(a, name, n) == 0) && (a[n] == '=')) {
        hit = true;
        *val = a + n + 1u;
        *i += 1;
    } else {
        /* another argument */
    }
    return hit;
}

static int parse_args(int argc, char *const *argv, bool install, hooks_args *a)
{
    char line[LINE_BYTES];
    int i = 2;
    (void)memset(a, 0, sizeof *a);
    a->fwd[0] = argv[0];          /* cfg_load skips it */
    a->nfwd = 1;
    while (i < argc) {
        bool err = false;
        const char *arg = argv[i];
        if ((strcmp(arg, "-h") == 0) || (strcmp(arg, "--help") == 0)) {
            say(false, k_help);
            return 0;
        }
        if (take_opt(argc, argv, &i, "--settings", &a->settings, &err) ||
            (install && take_opt(argc, argv, &i, "--api-key", &a->api_key, &err)) ||
            (install && take_opt(argc, argv, &i, "--api-key-file", &a->api_key_file, &err))) {
            if (err) {
                (void)snprintf(line, sizeof line, "%s needs a value", arg);
                return usage(line);
            }
        } else if (!install) {
            (void)snprintf(line, sizeof line, "uninstall takes only --settings, not '%s'", arg);
            return usage(line);
        } else if (a->nfwd >= MAX_ARGS) {
            return usage("too many arguments");
        } else {
            a->fwd[a->nfwd] = argv[i];
            a->nfwd++;
            i++;
        }
    }
    if ((a->api_key != NULL) && (a->api_key_file != NULL)) {
        return usage("give --api-key or --api-key-file, not both");
    }
    if ((a->settings != NULL) && (strlen(a->settings) == 0u)) {
        return usage("--settings needs a PATH");
    }
    a->fwd[a->nfwd] = NULL;
    return -1;
}

/* The listener that takes hooks, from the loaded config: its URL into m,
 * whether it needs the key into *need_key. An exit status, or -1. */
static int hook_target(const roost_cfg *c, char *url, size_t cap, bool *need_key)
{
    char line[LINE_BYTES];
    const cfg_listener *lc = NULL;
    const fam_desc *d = NULL;
    const char *host;
    size_t f;
    int k;
    for (f = 0u; f < (size_t)FAM_COUNT; f++) {
        if ((d == NULL) && (fam_list[f]->hook_path != NULL)) {
            d = fam_list[f];
            lc = &c->fam[f];
        }
    }
    if ((d == NULL) || !d->built) {
        (void)snprintf(line, sizeof line, "this build (profile %s) has no listener that takes "
                       "Claude Code hooks", CFG_PROFILE_NAME);
        return usage(line);
    }
    if (!lc->enabled) {
        (void)snprintf(line, sizeof line, "%s.enabled is false: nothing would receive the hooks",
                       d->prefix);
        return usage(line);
    }
    if (lc->port == 0u) {
        (void)snprintf(line, sizeof line, "%s.port is 0 (any free port): give the port roostd "
                       "listens on (--%s.port=N)", d->prefix, d->prefix);
        return usage(line);
    }
    if (strlen(lc->tls_cert) > 0u) {
        (void)snprintf(line, sizeof line, "%s.tls_cert is set: roostd hook posts plain HTTP",
                       d->prefix);
        return usage(line);
    }
    host = lc->host;
    if (strcmp(host, "0.0.0.0") == 0) {
        host = "127.0.0.1";
    } else if ((strcmp(host, "::") == 0) || (strcmp(host, "[::]") == 0)) {
        host = "::1";
    } else {
        /* as bound */
    }
    /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
    if ((strchr(host, ':') != NULL) && (host[0] != '[')) {
        k = snprintf(url, cap, "http://[%s]:%u%s", host, (unsigned)lc->port, d->hook_path);
    } else {
        k = snprintf(url, cap, "http://%s:%u%s", host, (unsigned)lc->port, d->hook_path);
    }
    if ((k < 0) || ((size_t)k >= cap)) {
        return usage("the listener's URL is too long");
    }
    *need_key = (lc->auth == AUTH_KEY) ||
                ((lc->auth == AUTH_AUTO) && !auth_host_is_loopback(lc->host));
    return -1;
}

/* The settings file's path (absolute) into out. An exit status, or -1. */
static int settings_path(const hooks_args *a, const char *const *envp, const char *cwd,
                         char *out, size_t cap)
{
    char tmp[PATH_BYTES];
    const char *p = a->settings;
    if (p == NULL) {
        const char *home = app_env(envp, "HOME");
        int k;
        if ((home == NULL) || (home[0] == '\0')) {
            return usage("HOME is not set: give --settings PATH");
        }
        k = snprintf(tmp, sizeof tmp, "%s/.claude/settings.json", home);
        if ((k < 0) || ((size_t)k >= sizeof tmp)) {
            return usage("HOME is too long: give --settings PATH");
        }
        p = tmp;
    }
    if (!abs_path(cwd, p, out, cap) || ((strlen(out) + 16u) >= cap)) {
        return usage("the settings path is too long");
    }
    return -1;
}

/* The key file of the handlers, absolute, into kf ("" for none). An exit
 * status, or -1. */
static int key_source(const hooks_args *a, const roost_cfg *c, const char *cwd,
                      const char *settings, bool need_key, char *kf, size_t cap)
{
    char line[LINE_BYTES];
    kf[0] = '\0';
    if (a->api_key != NULL) {
        char dir[PATH_BYTES];
        if (!key_ok(a->api_key, strlen(a->api_key))) {
            return usage("--api-key: a key is 1-256 visible ASCII characters");
        }
        if (!dir_of(settings, dir, sizeof dir) ||
            (snprintf(kf, cap, "%s/%s", dir, KEY_FILE_NAME) >= (int)cap)) {
            return usage("the settings path is too long");
        }
    } else if ((a->api_key_file != NULL) || need_key) {
        char dflt[PATH_BYTES];
        const char *p = a->api_key_file;
        if (p == NULL) {
            if (snprintf(dflt, sizeof dflt, "%s/api_key", c->data_dir) >= (int)sizeof dflt) {
                return usage("data_dir is too long");
            }
            p = dflt;
        }
        if (!abs_path(cwd, p, kf, cap)) {
            return usage("the key file's path is too long");
        }
        if (!key_file_ok(kf)) {
            if (a->api_key_file != NULL) {
                (void)snprintf(line, sizeof line, "--api-key-file %s: no key in it (missing, "
                               "unreadable or not a key)", kf);
            } else {
                (void)snprintf(line, sizeof line, "the hook listener needs the API key and %s "
                               "holds none (roostd writes it on its first start): start roostd "
                               "once, or give --api-key KEY or --api-key-file PATH", kf);
            }
            return usage(line);
        }
    } else {
        /* no key */
    }
    return -1;
}

/* The settings as a document parsed into toks (missing or empty: {}). An
 * exit status, or -1. *existed: a file was there. */
static int settings_load(const char *path, json_doc *d, jsmntok_t *toks, size_t *n,
                         bool *existed)
{
    static const char empty[] = "{}";
    char line[LINE_BYTES];
    char *in = render_scratch;
    const char *text = in;
    size_t len = 0u;
    size_t i;
    json_err je;
    const size_t in_cap = CFG_HOOKS_SETTINGS_BYTES;
    st_t st = port_file_read(path, in, in_cap, &len);
    *existed = (st != ST_NOTFOUND);
    *n = 0u;
    if (st == ST_TOOBIG) {
        (void)snprintf(line, sizeof line, "%s is larger than %u bytes "
                       "(CFG_HOOKS_SETTINGS_BYTES): not changed", path,
                       (unsigned)CFG_HOOKS_SETTINGS_BYTES);
        return usage(line);
    }
    if ((st != ST_OK) && (st != ST_NOTFOUND)) {
        (void)snprintf(line, sizeof line, "roostd hooks: cannot read %s: %s\n", path,
                       status_str(st));
        say(true, line);
        return 1;
    }
    *n = len;
    i = 0u;
    while ((i < len) && is_blank(in[i])) {
        i++;
    }
    if (i == len) {
        text = empty;
        len = sizeof(empty) - 1u;
    }
    st = json_parse_into(d, text, len, toks, (unsigned)CFG_HOOKS_SETTINGS_TOKENS, &je);
    if (st != ST_OK) {
        (void)snprintf(line, sizeof line, "%s is not valid JSON (%s at byte %u%s): not changed",
                       path, je.reason, (unsigned)je.offset,
                       (st == ST_TOOBIG) ? "; CFG_HOOKS_SETTINGS_TOKENS, CFG_JSON_MAX_DEPTH" : "");
        return usage(line);
    }
    if (json_type(d, json_root(d)) != JSON_OBJECT) {
        json_release(d);
        (void)snprintf(line, sizeof line, "%s is not a JSON object: not changed", path);
        return usage(line);
    }
    return -1;
}

/* Install: what is there must have the shape Claude Code reads. */
static int settings_shape(const hooks_merge *m, const json_doc *d, const char *path)
{
    char line[LINE_BYTES];
    json_iter it = JSON_ITER_INIT;
    int k;
    int v;
    if ((json_obj_get(d, json_root(d), "hooks") >= 0) && (m->hooks < 0)) {
        (void)snprintf(line, sizeof line, "%s: \"hooks\" is not an object: not changed", path);
        return usage(line);
    }
    while (json_obj_next(d, m->hooks, &it, &k, &v)) {
        int ev = hooks_event_index(d, k);
        if ((ev >= 0) && (json_type(d, v) != JSON_ARRAY)) {
            (void)snprintf(line, sizeof line, "%s: \"hooks\".\"%s\" is not an array: not "
                           "changed", path, hooks_events[ev]);
            return usage(line);
        }
    }
    return -1;
}

/* Write data to path atomically, mode 0600; false after saying why. */
static bool write_file(const char *path, const char *data, size_t n)
{
    st_t st = port_file_write_atomic(path, data, n, 0600u);
    if (st != ST_OK) {
        char line[LINE_BYTES];
        (void)snprintf(line, sizeof line, "roostd hooks: cannot write %s: %s\n", path,
                       status_str(st));
        say(true, line);
    }
    return st == ST_OK;
}

/* --api-key's file: written when its content differs (*wrote). */
static bool key_file_write(const char *kf, const char *key, bool *wrote)
{
    char cur[KEY_MAX + 8u];
    char want[KEY_MAX + 8u];
    size_t n = 0u;
    int k = snprintf(want, sizeof want, "%s\n", key);
    st_t st = port_file_read(kf, cur, sizeof(cur) - 1u, &n);
    if ((k <= 0) || ((size_t)k >= sizeof want)) {
        return false;
    }
    cur[(st == ST_OK) ? n : 0u] = '\0';
    if ((st == ST_OK) && (strcmp(cur, want) == 0)) {
        return true;
    }
    *wrote = true;
    return write_file(kf, want, (size_t)k);
}

/* Merge, and write when it changes anything. An exit status. */
static int settings_update(const hooks_merge *m, json_doc *d, const char *path, size_t old_n,
                           bool existed, bool *changed)
{
    char line[LINE_BYTES];
    const size_t in_cap = CFG_HOOKS_SETTINGS_BYTES;
    const size_t all = CFG_RENDER_BYTES;
    char *out = &render_scratch[in_cap];
    size_t cap = all - in_cap - 1u;
    json_w w;
    size_t len = 0u;
    bool drop_hooks = false;
    st_t st;
    *changed = hooks_merge_plan(m, d, &drop_hooks);
    if (!*changed) {
        json_release(d);
        return 0;
    }
    json_w_init(&w, out, cap);
    json_w_style(&w, 2u, false);
    hooks_merge_render(&w, m, d, drop_hooks);
    st = json_w_finish(&w, &len);
    json_release(d);
    if (st != ST_OK) {
        (void)snprintf(line, sizeof line, "%s rewritten does not fit %u bytes (%s): not changed",
                       path, (unsigned)cap, status_str(st));
        return usage(line);
    }
    out[len] = '\n';
    len++;
    if (existed) {
        (void)snprintf(line, sizeof line, "%s.bak", path);
        if (!write_file(line, render_scratch, old_n)) {
            return 1;
        }
    }
    return write_file(path, out, len) ? 0 : 1;
}

static int install(roost_cfg *c, int argc, char *const *argv, const char *const *envp)
{
    char err[512];
    hooks_merge m;
    char cwd[PATH_BYTES];
    char path[PATH_BYTES];
    char url[PATH_BYTES];
    char kf[PATH_BYTES];
    char exe[PATH_BYTES];
    char line[LINE_BYTES];
    char dir[PATH_BYTES];
    jsmntok_t toks[CFG_HOOKS_SETTINGS_TOKENS];
    hooks_args a;
    cfg_action act = CFG_ACT_RUN;
    json_doc d;
    bool need_key = false;
    bool existed = false;
    bool changed = false;
    bool key_wrote = false;
    size_t old_n = 0u;
    size_t n;
    int rc = parse_args(argc, argv, true, &a);
    st_t st;
    if (rc >= 0) {
        return rc;
    }
    if (port_getcwd(cwd, sizeof cwd) != ST_OK) {
        (void)snprintf(cwd, sizeof cwd, "/");
    }
    st = cfg_load(c, a.nfwd, a.fwd, envp, cwd, port_file_read, &act, err, sizeof err);
    if (st != ST_OK) {
        return usage(err);
    }
    if (act != CFG_ACT_RUN) {
        return usage("--budget, --limits and --version are not options of hooks install");
    }
    rc = hook_target(c, url, sizeof url, &need_key);
    if (rc < 0) {
        rc = settings_path(&a, envp, cwd, path, sizeof path);
    }
    if (rc < 0) {
        rc = key_source(&a, c, cwd, path, need_key, kf, sizeof kf);
    }
    if (rc >= 0) {
        return rc;
    }
    st = port_self_exe(exe, sizeof exe);
    if (st != ST_OK) {
        (void)snprintf(line, sizeof line, "roostd hooks: cannot tell where this roostd is: %s\n",
                       status_str(st));
        say(true, line);
        return 1;
    }
    (void)memset(&m, 0, sizeof m);
    m.install = true;
    n = 0u;
    if (!put_quoted(m.prog, sizeof m.prog, &n, exe)) {
        return usage("the path of roostd is too long");
    }
    n = 0u;
    if (!put_str(m.tail, sizeof m.tail, &n, " --url ") ||
        !put_str(m.tail, sizeof m.tail, &n, url) ||
        ((kf[0] != '\0') && (!put_str(m.tail, sizeof m.tail, &n, " --key-file ") ||
                             !put_quoted(m.tail, sizeof m.tail, &n, kf)))) {
        return usage("the key file's path is too long");
    }
    rc = settings_load(path, &d, toks, &old_n, &existed);
    if (rc >= 0) {
        return rc;
    }
    m.hooks = json_obj_get(&d, json_root(&d), "hooks");
    m.hooks = (json_type(&d, m.hooks) == JSON_OBJECT) ? m.hooks : -1;
    rc = settings_shape(&m, &d, path);
    if (rc >= 0) {
        json_release(&d);
        return rc;
    }
    if (dir_of(path, dir, sizeof dir) && (port_mkdir_p(dir, 0700u) != ST_OK)) {
        json_release(&d);
        (void)snprintf(line, sizeof line, "roostd hooks: cannot create %s\n", dir);
        say(true, line);
        return 1;
    }
    if ((a.api_key != NULL) && !key_file_write(kf, a.api_key, &key_wrote)) {
        json_release(&d);
        return 1;
    }
    rc = settings_update(&m, &d, path, old_n, existed, &changed);
    if (rc != 0) {
        return rc;
    }
    if (!changed) {
        say(false, "roostd: the Claude Code hooks in ");
        say(false, path);
        say(false, " are up to date; nothing written");
        if (key_wrote) {
            say(false, " but the key to ");
            say(false, kf);
        }
    } else {
        say(false, "roostd: Claude Code hooks installed in ");
        say(false, path);
        if (existed) {
            say(false, " (previous content in ");
            say(false, path);
            say(false, ".bak)");
        }
        say(false, "\n  events: PreToolUse PostToolUse Stop UserPromptSubmit Notification "
                   "SessionStart\n  posting to ");
        say(false, url);
        if (strlen(kf) > 0u) {
            say(false, " with the API key read from ");
            say(false, kf);
        }
    }
    say(false, "\n");
    return 0;
}

static int uninstall(int argc, char *const *argv, const char *const *envp)
{
    hooks_merge m;
    char cwd[PATH_BYTES];
    char path[PATH_BYTES];
    char dir[PATH_BYTES];
    char line[LINE_BYTES];
    jsmntok_t toks[CFG_HOOKS_SETTINGS_TOKENS];
    hooks_args a;
    json_doc d;
    bool existed = false;
    bool changed = false;
    size_t old_n = 0u;
    int rc = parse_args(argc, argv, false, &a);
    if (rc >= 0) {
        return rc;
    }
    if (port_getcwd(cwd, sizeof cwd) != ST_OK) {
        (void)snprintf(cwd, sizeof cwd, "/");
    }
    rc = settings_path(&a, envp, cwd, path, sizeof path);
    if (rc >= 0) {
        return rc;
    }
    rc = settings_load(path, &d, toks, &old_n, &existed);
    if (rc >= 0) {
        return rc;
    }
    (void)memset(&m, 0, sizeof m);
    m.install = false;
    m.hooks = json_obj_get(&d, json_root(&d), "hooks");
    m.hooks = (json_type(&d, m.hooks) == JSON_OBJECT) ? m.hooks : -1;
    rc = settings_update(&m, &d, path, old_n, existed, &changed);
    if (rc != 0) {
        return rc;
    }
    if (dir_of(path, dir, sizeof dir) &&
        ((strlen(dir) + sizeof(KEY_FILE_NAME) + 1u) < sizeof line)) {
        (void)snprintf(line, sizeof line, "%s/%s", dir, KEY_FILE_NAME);
        (void)port_file_remove(line);
    }
    if (changed) {
        (void)snprintf(line, sizeof line, "roostd: roost's Claude Code hooks removed from %s "
                       "(previous content in %s.bak)\n", path, path);
    } else {
        (void)snprintf(line, sizeof line, "roostd: no roost hooks in %s; nothing written\n",
                       path);
    }
    say(false, line);
    return 0;
}

int hooks_cli_main(roost_cfg *c, int argc, char *const *argv, const char *const *envp)
{
    const char *sub = (argc > 1) ? argv[1] : "";
    int rc;
    if ((strcmp(sub, "-h") == 0) || (strcmp(sub, "--help") == 0)) {
        say(false, k_help);
        rc = 0;
    } else if (strcmp(sub, "install") == 0) {
        rc = install(c, argc, argv, envp);
    } else if (strcmp(sub, "uninstall") == 0) {
        rc = uninstall(argc, argv, envp);
    } else {
        rc = usage("say install or uninstall");
    }
    return rc;
}
