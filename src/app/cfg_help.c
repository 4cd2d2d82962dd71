/*
 * cfg_help.c - the text of the runtime configuration: roostd --help (built
 * once into a static buffer from the key table and the families'
 * descriptors), cfg_dump (the effective config as key = value lines) and
 * the lines of `roostd --check-config` (each value with its source).
 */
#include "app/cfg_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/assert.h"
#include "fam/families.h"

static char g_help[CFG_HELP_BYTES];

/* ---- text output --------------------------------------------------------- */

typedef struct {
    char *buf;
    size_t cap;
    size_t n;
    bool full;
} text_w;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void w_printf(text_w *w, const char *fmt, ...)
{
    va_list ap;
    int k;
    if (w->full || (w->cap == 0u)) {
        w->full = true;
        return;
    }
    va_start(ap, fmt);
    k = vsnprintf(w->buf + w->n, w->cap - w->n, fmt, ap);
    va_end(ap);
    if ((k < 0) || ((size_t)k >= (w->cap - w->n))) {
        w->buf[w->n] = '\0';
        w->full = true;
    } else {
        w->n += (size_t)k;
    }
}

static void value_format(const cfg_key_def *k, const void *base, char *out, size_t cap)
{
    const char *p = cfg_key_cvalue(k, base);
    int e;
    switch (k->kind) {
    case K_STR:
    case K_LIST:
    case K_URL:
        (void)snprintf(out, cap, "%s", p);
        break;
    case K_BOOL: {
        bool b;
        (void)memcpy(&b, p, sizeof b);
        (void)snprintf(out, cap, "%s", b ? "true" : "false");
        break;
    }
    case K_UINT:
        (void)snprintf(out, cap, "%" PRIu64, cfg_uint_load(p, k->size));
        break;
    case K_AUTH: {
        auth_mode m;
        (void)memcpy(&m, p, sizeof m);
        e = (int)m;
        (void)snprintf(out, cap, "%s", ((e >= 0) && (e < 3)) ? cfg_auth_names[e] : "?");
        break;
    }
    case K_LEVEL: {
        log_level lv;
        (void)memcpy(&lv, p, sizeof lv);
        e = (int)lv;
        (void)snprintf(out, cap, "%s", ((e >= 0) && (e < 4)) ? cfg_level_names[e] : "?");
        break;
    }
    case K_KIND: {
        cfg_prov_kind kd;
        (void)memcpy(&kd, p, sizeof kd);
        e = (int)kd;
        (void)snprintf(out, cap, "%s", ((e >= 0) && (e < 3)) ? cfg_kind_names[e] : "?");
        break;
    }
    default:
        (void)snprintf(out, cap, "?");
        break;
    }
}

size_t cfg_dump(const roost_cfg *c, char *buf, size_t cap)
{
    char val[CFG_CONF_VALUE_BYTES + 8];
    char line[CFG_CONF_VALUE_BYTES + 128];
    size_t n = 0u;
    size_t i;
    size_t f;
    uint32_t p;
    int k;
    bool room = (cap > 0u);

    size_t nkeys = cfg_key_count();

    for (i = 0u; room && (i < (nkeys + ((size_t)c->llm.n_prov * cfg_npfields))); i++) {
        if (i < nkeys) {
            value_format(cfg_key(i), c, val, sizeof val);
            k = snprintf(line, sizeof line, "%s =%s%s\n", cfg_key(i)->name,
                         (val[0] != '\0') ? " " : "", val);
        } else {
            p = (uint32_t)((i - nkeys) / cfg_npfields);
            f = (i - nkeys) % cfg_npfields;
            value_format(&cfg_pfields[f], &c->llm.prov[p], val, sizeof val);
            k = snprintf(line, sizeof line, PROV_PREFIX "%s.%s =%s%s\n", c->llm.prov[p].name,
                         cfg_pfields[f].name, (val[0] != '\0') ? " " : "", val);
        }
        if ((k > 0) && ((n + (size_t)k) < cap)) {
            (void)memcpy(buf + n, line, (size_t)k);
            n += (size_t)k;
        } else {
            room = false;
        }
    }
    if (cap > 0u) {
        buf[n] = '\0';
    }
    return n;
}

/* The source of a value as --check-config shows it (app/cfg.h). */
static void source_format(const cfg_src *src, const char *key, bool derivable, char *out,
                          size_t cap)
{
    char env[CFG_CONF_NAME_BYTES + 64];
    switch ((cfg_src_kind)src->kind) {
    case CFG_SRC_FILE:
        (void)snprintf(out, cap, "%s:%u", cfg_src_file(), (unsigned)src->line);
        break;
    case CFG_SRC_ALIAS:
        (void)snprintf(out, cap, "env %s", cfg_alias_at(src->alias)->env);
        break;
    case CFG_SRC_ENV:
        cfg_env_name_of(key, env, sizeof env);
        (void)snprintf(out, cap, "env %s", env);
        break;
    case CFG_SRC_FLAG:
        (void)snprintf(out, cap, "flag --%s", key);
        break;
    case CFG_SRC_DEFAULT:
    default:
        (void)snprintf(out, cap, "%s", derivable ? "derived" : "default");
        break;
    }
}

size_t cfg_check_count(const roost_cfg *c)
{
    return cfg_key_count() + ((size_t)c->llm.n_prov * cfg_npfields);
}

const char *cfg_check_file(void)
{
    return cfg_src_file();
}

size_t cfg_check_line(const roost_cfg *c, size_t i, char *buf, size_t cap)
{
    char val[CFG_CONF_VALUE_BYTES + 8];
    char key[sizeof(PROV_PREFIX) + (size_t)CFG_CONF_NAME_BYTES + 32u];
    char src[CFG_CONF_VALUE_BYTES + 96];
    size_t nkeys = cfg_key_count();
    size_t n = 0u;
    if (i < nkeys) {
        const cfg_key_def *d = cfg_key(i);
        value_format(d, c, val, sizeof val);
        (void)snprintf(key, sizeof key, "%s", d->name);
        source_format(cfg_src_key(i), key, (d->def == NULL) && ((d->flags & F_FAMILY) == 0u),
                      src, sizeof src);
    } else {
        uint32_t p = (uint32_t)((i - nkeys) / cfg_npfields);
        size_t f = (i - nkeys) % cfg_npfields;
        const cfg_src *s = cfg_src_prov(p, f);
        value_format(&cfg_pfields[f], &c->llm.prov[p], val, sizeof val);
        (void)snprintf(key, sizeof key, PROV_PREFIX "%s.%s", c->llm.prov[p].name,
                       cfg_pfields[f].name);
        if ((cfg_src_kind)s->kind == CFG_SRC_ENV) {
            char up[sizeof key];
            size_t j;
            size_t pl = sizeof(PROV_PREFIX) - 1u;
            /* ROOST_LLM_PROVIDER_<NAME>_<FIELD> */
            for (j = 0u; (key[pl + j] != '\0') && ((j + 1u) < sizeof up); j++) {
                char ch = key[pl + j];
                /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
                up[j] = (ch == '.') ? '_' : cfg_upper(ch);
            }
            up[j] = '\0';
            (void)snprintf(src, sizeof src, "env ROOST_LLM_PROVIDER_%s", up);
        } else {
            source_format(s, key, cfg_pfields[f].def == NULL, src, sizeof src);
        }
    }
    if (cap > 0u) {
        int k = snprintf(buf, cap, "%s =%s%s  (%s)\n", key, (val[0] != '\0') ? " " : "", val, src);
        n = ((k > 0) && ((size_t)k < cap)) ? (size_t)k : 0u;
        buf[n] = '\0';
    }
    return n;
}

#define HELP_COL 40

static void help_key_line(text_w *w, const char *flag, const char *meta, const char *dflt)
{
    char left[96];
    int k = snprintf(left, sizeof left, "  --%s=%s", flag, meta);
    int pad = HELP_COL - k;
    if (pad < 2) {
        pad = 2;
    }
    w_printf(w, "%s%*s%s\n", left, pad, "", dflt);
}

static void help_build(text_w *w)
{
    size_t i;
    size_t col;

    w_printf(w, "roostd %s - one server for the fleet, rpg and agent-orchestrator "
             "frontends\n\n", ROOST_VERSION);
    w_printf(w, "Usage: roostd [OPTION...] [--KEY=VALUE...]\n"
             "       roostd hooks install|uninstall [...]  Claude Code's hooks to roost\n"
             "       roostd hook <HookType> [...]           what those hooks run\n"
             "       (roostd hooks --help says more)\n\n"
             "Options:\n"
             "  -h, --help         print this help and exit\n"
             "  -V, --version      print the version and exit\n"
             "  --config PATH      config file (default: ./roost.conf if it exists)\n"
             "  --config-default PATH  the config file when neither --config nor\n"
             "                     $ROOST_CONFIG names one (read if it exists)\n"
             "  --check-config     read the config as a start would, print every key\n"
             "                     with its value and source, exit (0 ok, 2 error)\n"
             "  --budget           check the config, print the static RAM plan, exit\n"
             "  --limits           print the profile and its compile-time limits, exit\n"
             "  --KEY=VALUE        set any key below (--KEY VALUE works too)\n\n");
    w_printf(w, "Build profile: %s. Keys of a family not built in (or llm.* without\n"
             "the LLM stack) are refused; F.enabled=false is accepted.\n\n",
             CFG_PROFILE_NAME);
    w_printf(w, "Families (one listener each; all bound to 127.0.0.1 by default):\n");
    for (i = 0u; i < (size_t)FAM_COUNT; i++) {
        const fam_desc *d = fam_list[i];
        const char *fn = d->prefix;
        if (!d->built) {
            w_printf(w, "  %-13s  not built in this profile\n", fn);
            continue;
        }
        w_printf(w, "  %-13s  %-4u  %s\n      --%s.enabled --%s.host --%s.port ...\n", fn,
                 (unsigned)d->port, d->about, fn, fn, fn);
    }
    w_printf(w, "Keys of each family F:\n");
    help_key_line(w, "F.enabled", "BOOL", "true");
    help_key_line(w, "F.host", "ADDR", "127.0.0.1");
    help_key_line(w, "F.port", "N", "as above (0 = any free port)");
    help_key_line(w, "F.auth", "MODE", "auto (auto|key|open)");
    help_key_line(w, "F.cors_origins", "LIST", "* (any) for fleet and rpg, else");
    w_printf(w, "%*shttp://localhost:5173,http://localhost:3000\n", 36, "");
    help_key_line(w, "F.tls_cert", "PATH", "unset; set both for HTTPS/WSS only");
    help_key_line(w, "F.tls_key", "PATH", "unset");
    w_printf(w, "\nOther keys (default at right):\n");
    for (i = 0u; i < cfg_key_count(); i++) {
        const cfg_key_def *k = cfg_key(i);
        if ((k->flags & F_FAMILY) == 0u) {
            help_key_line(w, k->name, k->meta,
                          (k->hdef != NULL) ? k->hdef : (!cfg_is_empty(k->def) ? k->def : "unset"));
        }
    }
    w_printf(w, "LLM providers (NAME as listed in llm.providers):\n");
    for (i = 0u; i < cfg_npfields; i++) {
        char flag[48];
        const cfg_key_def *k = &cfg_pfields[i];
        (void)snprintf(flag, sizeof flag, "llm.provider.NAME.%s", k->name);
        help_key_line(w, flag, k->meta, (k->hdef != NULL) ? k->hdef : k->def);
    }
    w_printf(w, "  openai-compatible (OpenAI, Ollama .../v1, llama.cpp, vLLM) needs base_url\n"
             "  and default_model. The API key comes from the fleet secret named by\n"
             "  api_key_secret, else from the environment variable of that name.\n\n");
    w_printf(w, "Config file and environment:\n"
             "  Precedence, low to high: defaults, config file (--config PATH, else\n"
             "  $ROOST_CONFIG, else ./roost.conf), upstream variables, ROOST_* variables,\n"
             "  flags. The file has `key = value` lines; a line starting with # is a\n"
             "  comment (# inside a value is kept); blank lines are ignored; values are\n"
             "  trimmed; lists are comma-separated. Unknown keys are an error.\n"
             "  Variables: ROOST_ + key in capitals with . as _: ROOST_FLEET_PORT=3100,\n"
             "  ROOST_LLM_PROVIDER_OLLAMA_BASE_URL=http://localhost:11434/v1\n"
             "  Upstream names also read:");
    col = 27u;
    for (i = 0u; i < cfg_alias_count(); i++) {
        const char *env = cfg_alias_at(i)->env;
        size_t len = strlen(env);
        if ((i > 0u) && (strcmp(env, cfg_alias_at(i - 1u)->env) == 0)) {
            continue;
        }
        if ((col + 1u + len) > 78u) {
            w_printf(w, "\n   ");
            col = 3u;
        }
        w_printf(w, " %s", env);
        col += 1u + len;
    }
    w_printf(w, "\n\n");
    w_printf(w, "Authentication:\n"
             "  fleet REST (/api/v1) always needs the API key. roostd makes one on first\n"
             "  start, prints it once and keeps it in <data_dir>/api_key (mode 0600).\n"
             "  Send it as `Authorization: Bearer KEY` or `X-API-Key: KEY`. Everything\n"
             "  else (other listeners, WebSockets, /metrics) is open on a loopback bind\n"
             "  and needs the key on any other bind, unless F.auth says key or open.\n"
             "  /health is always open.\n\n");
    w_printf(w, "Data directory (data_dir, created with mode 0700):\n"
             "  api_key, roost.db, bots/<slug>/{SOUL,IDENTITY,USER}.md,\n"
             "  skills/<name>/SKILL.md, rpg/avatars/<seed>.svg, documents/<doc_id>.\n"
             "  Agent blueprints live in agents.dir, outside data_dir.\n\n");
    w_printf(w, "Signals and exit status:\n"
             "  SIGTERM, SIGINT: stop accepting, close WebSockets, finish responses, exit 0.\n"
             "  SIGHUP: read the config again; log_level, the body limits,\n"
             "  http.body_timeout_ms and the llm.* budgets change live, any other\n"
             "  changed key is logged as needing a restart; a bad file changes nothing.\n"
             "  Exit status: 0 ok, 1 runtime failure, 2 usage or config error.\n");
}

const char *cfg_help_text(void)
{
    static bool built;
    char *buf = g_help;
    if (!built) {
        text_w w = { g_help, sizeof g_help, 0u, false };
        help_build(&w);
        ASSERT(!w.full);
        built = true;
    }
    return buf;
}

