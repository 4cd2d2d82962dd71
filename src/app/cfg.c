/*
 * cfg.c - runtime configuration: the sources (defaults, file, upstream
 * environment names, ROOST_* variables, flags) and the finish; the key
 * table and its setters are cfg_keys.c, --help and cfg_dump cfg_help.c.
 *
 * Implementation notes
 * - A slot in c->llm.prov is taken for an llm.provider.<name>.<field> key
 *   on the name's first use, whatever the source. finish() then orders the
 *   slots as llm.providers lists them and rejects any slot it does not list
 *   (a misspelt provider name is caught like an unknown key).
 * - A load is: scan argv (help/version/budget/config), defaults, file, the
 *   upstream environment names, ROOST_* variables, key flags, finish().
 *   ctx.set[] records which keys a source set, so finish() fills derived
 *   defaults (llm.fallback_chain, llm.builder_*; a family's in its
 *   keys_finish hook, fam/desc.h) only for keys nobody set.
 * - Every error is written once, as "<where>: <what>", by cfg_fail() (cfg_keys.c).
 * - Keys of what the build profile does not build (a family's keys, llm.*)
 *   are refused in key_apply, except <family>.enabled=false; the upstream
 *   environment names that feed them are ignored; finish() leaves such a
 *   family disabled.
 */
#include "app/cfg_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/assert.h"
#include "fam/families.h"
#include "fam/shared/auth.h"

static char g_file[CFG_CONF_FILE_BYTES];
static cfg_ctx g_ctx; /* ~1 KiB: keep it off small stacks; init-only */

/* The sources of the last load (cfg_int.h) and the file it read. */
#define PFIELDS 5u
static cfg_src g_src[CFG_KEYS_MAX];
static cfg_src g_psrc[CFG_MAX_PROVIDERS][PFIELDS];
_Static_assert(sizeof(cfg_src) == 4u, "CFG_SRC_STATIC_BYTES counts 4 bytes a source");
static const char *g_conf_read = "";

_Static_assert(((sizeof g_file) + (sizeof g_ctx) + (sizeof g_src) + (sizeof g_psrc)) <=
               (CFG_STATIC_BYTES - (size_t)CFG_HELP_BYTES),
               "CFG_STATIC_BYTES is the plan of cfg.c and cfg_help.c");

const cfg_src *cfg_src_key(size_t i)
{
    ASSERT(i < CFG_KEYS_MAX);
    return &g_src[(i < CFG_KEYS_MAX) ? i : 0u];
}

const cfg_src *cfg_src_prov(uint32_t p, size_t f)
{
    ASSERT((p < (uint32_t)CFG_MAX_PROVIDERS) && (f < PFIELDS));
    return &g_psrc[(p < (uint32_t)CFG_MAX_PROVIDERS) ? p : 0u][(f < PFIELDS) ? f : 0u];
}

const char *cfg_src_file(void)
{
    return g_conf_read;
}

/* ---- providers ----------------------------------------------------------- */

static cfg_provider *prov_find(roost_cfg *c, strv name)
{
    uint32_t i;
    cfg_provider *p = NULL;
    for (i = 0u; (i < c->llm.n_prov) && (p == NULL); i++) {
        if (strv_eq_cstr(name, c->llm.prov[i].name)) {
            p = &c->llm.prov[i];
        }
    }
    return p;
}

/* llm.provider.<name>.<field> = v; rest is "<name>.<field>". */
static st_t prov_set(cfg_ctx *x, strv rest, strv v)
{
    const char *dot = NULL;
    size_t i;
    strv name;
    strv field;
    const cfg_key_def *f = NULL;
    cfg_provider *p;
    ptrdiff_t name_len;
    st_t st = ST_OK;

    for (i = rest.n; (i > 0u) && (dot == NULL); i--) {
        /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
        if (rest.p[i - 1u] == '.') {
            dot = rest.p + i - 1u;
        }
    }
    if (dot == NULL) {
        return cfg_fail(x, ST_BAD, "unknown key '" PROV_PREFIX "%.*s' (expected "
                    PROV_PREFIX "NAME.FIELD)", cfg_show_len(rest), rest.p);
    }
    name_len = dot - rest.p;
    name = (strv){ rest.p, (size_t)name_len };
    field = (strv){ dot + 1, rest.n - name.n - 1u };
    for (i = 0u; (i < cfg_npfields) && (f == NULL); i++) {
        if (strv_eq_cstr(field, cfg_pfields[i].name)) {
            f = &cfg_pfields[i];
        }
    }
    if (!cfg_name_ok(name)) {
        return cfg_fail(x, ST_BAD, "'" PROV_PREFIX "%.*s': provider names are 1-31 characters "
                    "of a-z 0-9 _ -", cfg_show_len(rest), rest.p);
    }
    if (f == NULL) {
        return cfg_fail(x, ST_BAD, "unknown key '" PROV_PREFIX "%.*s' (fields: kind, base_url, "
                    "api_key_secret, default_model, timeout_ms)", cfg_show_len(rest), rest.p);
    }
    p = prov_find(x->c, name);
    if (p == NULL) {
        if (x->c->llm.n_prov >= (uint32_t)CFG_MAX_PROVIDERS) {
            return cfg_fail(x, ST_TOOBIG, "too many LLM providers (at most %u)",
                        (unsigned)CFG_MAX_PROVIDERS);
        }
        p = &x->c->llm.prov[x->c->llm.n_prov];
        (void)memset(g_psrc[x->c->llm.n_prov], 0, sizeof g_psrc[0]);
        x->c->llm.n_prov++;
        (void)memset(p, 0, sizeof *p);
        (void)memcpy(p->name, name.p, name.n);
        p->name[name.n] = '\0';
        for (i = 0u; (i < cfg_npfields) && (st == ST_OK); i++) {
            if (cfg_pfields[i].def != NULL) {
                st = cfg_value_set(x, &cfg_pfields[i], cfg_pfields[i].name, p,
                               strv_from_cstr(cfg_pfields[i].def));
            }
        }
    }
    if (st == ST_OK) {
        char label[sizeof(PROV_PREFIX) + (size_t)CFG_CONF_NAME_BYTES + 32u];
        ptrdiff_t slot = p - x->c->llm.prov;
        ptrdiff_t fi = f - cfg_pfields;
        (void)snprintf(label, sizeof label, PROV_PREFIX "%s.%s", p->name, f->name);
        st = cfg_value_set(x, f, label, p, v);
        g_psrc[slot][fi] = x->cur;
    }
    return st;
}

/* ---- applying one key = value from any source ---------------------------- */

/* Keys of what this profile does not build: a family's keys and llm.*.
 * What the key belongs to, or NULL when it is built. */
static const char *key_not_built(strv key, char *what, size_t cap)
{
    const char *res = NULL;
    size_t i;
    for (i = 0u; (i < (size_t)FAM_COUNT) && (res == NULL); i++) {
        const fam_desc *d = fam_list[i];
        size_t n = strlen(d->prefix);
        if (!d->built && (key.n > n) && strv_starts_with_cstr(key, d->prefix)) {
            char sep = key.p[n];
            if (sep == '.') {
                (void)snprintf(what, cap, "family %s", d->prefix);
                res = what;
            }
        }
    }
    if ((res == NULL) && (CFG_WITH_LLM == 0) && strv_starts_with_cstr(key, "llm.")) {
        res = "the LLM stack";
    }
    return res;
}

/* A key of a part not built is refused, so a setting never silently does
 * nothing; `<family>.enabled = false` is accepted (it is what this build
 * does anyway). */
static st_t key_not_built_apply(cfg_ctx *x, strv key, strv v, const char *what)
{
    static const char *const k_false[] = { "false", "0", "no", "off" };
    static const char k_enabled[] = ".enabled";
    size_t n = sizeof(k_enabled) - 1u;
    if ((key.n > n) && (memcmp(key.p + key.n - n, k_enabled, n) == 0)) {
        size_t i;
        for (i = 0u; i < (sizeof(k_false) / sizeof(k_false[0])); i++) {
            if (strv_ieq_cstr(v, k_false[i])) {
                return ST_OK;
            }
        }
    }
    return cfg_fail(x, ST_BAD, "'%.*s': %s is not built in this profile (%s; see roostd "
                "--limits)", cfg_show_len(key), key.p, what, CFG_PROFILE_NAME);
}

static st_t key_apply(cfg_ctx *x, strv key, strv v)
{
    int i = cfg_key_index(key);
    char what_buf[CFG_CONF_NAME_BYTES + 16];
    const char *what = key_not_built(key, what_buf, sizeof what_buf);
    st_t st;
    if ((what != NULL) && ((i >= 0) || strv_starts_with_cstr(key, PROV_PREFIX))) {
        st = key_not_built_apply(x, key, v, what);
    } else if (i >= 0) {
        const cfg_key_def *k = cfg_key((size_t)i);
        st = cfg_value_set(x, k, k->name, x->c, v);
        x->set[i] = true;
        g_src[i] = x->cur;
    } else if (strv_starts_with_cstr(key, PROV_PREFIX)) {
        size_t pl = sizeof(PROV_PREFIX) - 1u;
        st = prov_set(x, (strv){ key.p + pl, key.n - pl }, v);
    } else {
        char tmp[8];
        const char *s = cfg_suggest(key, false, tmp, sizeof tmp);
        if (s != NULL) {
            st = cfg_fail(x, ST_BAD, "unknown key '%.*s' (did you mean '%s'?)", cfg_show_len(key),
                      key.p, s);
        } else {
            st = cfg_fail(x, ST_BAD, "unknown key '%.*s'", cfg_show_len(key), key.p);
        }
    }
    return st;
}

/* ---- sources ------------------------------------------------------------- */

static st_t load_defaults(cfg_ctx *x)
{
    size_t i;
    st_t st = ST_OK;
    (void)memset(x->c, 0, sizeof *x->c);
    x->where[0] = '\0';
    for (i = 0u; (i < cfg_key_count()) && (st == ST_OK); i++) {
        const cfg_key_def *k = cfg_key(i);
        if (k->ptr != NULL) {
            (void)memset(k->ptr, 0, k->size); /* a family's value, as *x->c */
        }
        if (k->def != NULL) {
            st = cfg_value_set(x, k, k->name, x->c, strv_from_cstr(k->def));
        }
    }
    /* The listener defaults a family's descriptor gives. */
    for (i = 0u; (i < (size_t)FAM_COUNT) && (st == ST_OK); i++) {
        const fam_desc *d = fam_list[i];
        char key[CFG_CONF_NAME_BYTES + 16];
        const cfg_key_def *k;
        (void)snprintf(key, sizeof key, "%s.cors_origins", d->prefix);
        k = cfg_key(cfg_key_index_cstr(key));
        ASSERT(cfg_key_cvalue(k, x->c) == (const void *)x->c->fam[i].cors_origins);
        x->c->fam[i].port = d->port;
        st = cfg_value_set(x, k, k->name, x->c, strv_from_cstr(d->cors_origins));
    }
    ASSERT(st == ST_OK);
    return st;
}

static st_t load_file(cfg_ctx *x, const char *path, bool is_explicit,
                      st_t (*read_file)(const char *, char *, size_t, size_t *))
{
    static const char bom[3] = { '\xEF', '\xBB', '\xBF' };
    size_t n = 0u;
    size_t pos = 0u;
    unsigned line = 0u;
    st_t st = read_file(path, g_file, sizeof g_file, &n);

    x->where[0] = '\0';
    x->cur.kind = (uint8_t)CFG_SRC_FILE;
    if ((st == ST_NOTFOUND) && !is_explicit) {
        return ST_OK;
    }
    if (st == ST_NOTFOUND) {
        return cfg_fail(x, st, "config file %s not found", path);
    }
    if (st == ST_TOOBIG) {
        return cfg_fail(x, st, "config file %s is larger than %u bytes", path,
                    (unsigned)CFG_CONF_FILE_BYTES);
    }
    if (st != ST_OK) {
        return cfg_fail(x, st, "config file %s: %s", path, status_str(st));
    }
    if (NEVER(n > sizeof g_file)) {
        n = sizeof g_file;
    }
    g_conf_read = path;
    if ((n >= sizeof(bom)) && (memcmp(g_file, bom, sizeof(bom)) == 0)) {
        pos = sizeof(bom);
    }
    while ((st == ST_OK) && (pos < n)) {
        size_t len = cfg_span_to(g_file + pos, n - pos, '\n');
        strv l = cfg_trim_all((strv){ g_file + pos, len });
        const char *eq;
        line++;
        pos += len + 1u;
        x->cur.line = (line < 65535u) ? (uint16_t)line : (uint16_t)65535u;
        cfg_where_set(x, "%s:%u", path, line);
        /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
        if ((l.n == 0u) || (l.p[0] == '#')) {
            continue;
        }
        eq = memchr(l.p, '=', l.n);
        if (memchr(l.p, '\0', l.n) != NULL) {
            st = cfg_fail(x, ST_BAD, "NUL byte in line");
        } else if (eq == NULL) {
            st = cfg_fail(x, ST_BAD, "expected 'key = value', got '%.*s'", cfg_show_len(l), l.p);
        } else {
            size_t klen = cfg_span_to(l.p, l.n, '=');
            strv key = cfg_trim_all((strv){ l.p, klen });
            strv val = cfg_trim_all((strv){ eq + 1, l.n - klen - 1u });
            if (key.n == 0u) {
                st = cfg_fail(x, ST_BAD, "missing key before '='");
            } else {
                st = key_apply(x, key, val);
            }
        }
    }
    return st;
}

/* The value of NAME in envp (first match), or NULL. */
static const char *env_get(const char *const *envp, const char *name)
{
    size_t n = strlen(name);
    const char *val = NULL;
    size_t i;
    for (i = 0u; (envp != NULL) && (envp[i] != NULL) && (val == NULL); i++) {
        if ((strncmp(envp[i], name, n) == 0) && (envp[i][n] == '=')) {
            val = envp[i] + n + 1u;
        }
    }
    return val;
}

static st_t load_aliases(cfg_ctx *x, const char *const *envp)
{
    size_t i;
    st_t st = ST_OK;
    for (i = 0u; (i < cfg_alias_count()) && (st == ST_OK); i++) {
        const cfg_alias *a = cfg_alias_at(i);
        const char *v = env_get(envp, a->env);
        char what[CFG_CONF_NAME_BYTES + 16];
        /* An upstream name (PORT, CORS_ORIGINS) may be set for another
         * program: for a family not built it is ignored, not refused. */
        if ((v != NULL) &&
            (key_not_built(strv_from_cstr(a->key), what, sizeof what) == NULL)) {
            cfg_where_set(x, "environment variable %s", a->env);
            x->cur.kind = (uint8_t)CFG_SRC_ALIAS;
            x->cur.alias = (uint8_t)i;
            st = key_apply(x, strv_from_cstr(a->key), cfg_trim_all(strv_from_cstr(v)));
        }
    }
    return st;
}

/* ROOST_LLM_PROVIDER_<NAME>_<FIELD>: the field is matched as a suffix, the
 * name lower-cased. */
static st_t env_provider(cfg_ctx *x, strv name, strv v, bool *matched)
{
    static const char pre[] = "ROOST_LLM_PROVIDER_";
    char key[CFG_CONF_NAME_BYTES + 32];
    size_t i;
    size_t j;
    st_t st = ST_OK;
    *matched = false;
    if (!strv_starts_with_cstr(name, pre)) {
        return ST_OK;
    }
    for (i = 0u; (i < cfg_npfields) && !*matched; i++) {
        char suf[32];
        size_t fl = strlen(cfg_pfields[i].name);
        size_t pl = sizeof(pre) - 1u;
        suf[0] = '_';
        for (j = 0u; (j < fl) && ((j + 2u) < sizeof suf); j++) {
            suf[j + 1u] = cfg_upper(cfg_pfields[i].name[j]);
        }
        if ((name.n > (pl + fl + 1u)) &&
            (memcmp(name.p + name.n - fl - 1u, suf, fl + 1u) == 0)) {
            size_t nl = name.n - pl - fl - 1u;
            *matched = true;
            if (nl >= (size_t)CFG_CONF_NAME_BYTES) {
                st = cfg_fail(x, ST_BAD, "provider name too long");
            } else {
                size_t k = 0u;
                (void)memcpy(key, PROV_PREFIX, sizeof(PROV_PREFIX) - 1u);
                k = sizeof(PROV_PREFIX) - 1u;
                for (j = 0u; j < nl; j++) {
                    key[k] = cfg_lower(name.p[pl + j]);
                    k++;
                }
                key[k] = '.';
                k++;
                (void)memcpy(key + k, cfg_pfields[i].name, fl);
                k += fl;
                st = key_apply(x, (strv){ key, k }, v);
            }
        }
    }
    return st;
}

static st_t load_roost_env(cfg_ctx *x, const char *const *envp)
{
    size_t i;
    size_t k;
    st_t st = ST_OK;
    char buf[96];
    x->cur.kind = (uint8_t)CFG_SRC_ENV;
    for (i = 0u; (envp != NULL) && (envp[i] != NULL) && (st == ST_OK); i++) {
        const char *e = envp[i];
        const char *eq = strchr(e, '=');
        strv name;
        strv v;
        bool done = false;
        if ((strncmp(e, "ROOST_", 6u) != 0) || (eq == NULL)) {
            continue;
        }
        name = (strv){ e, cfg_span_to(e, strlen(e), '=') };
        v = cfg_trim_all(strv_from_cstr(eq + 1));
        if (strv_eq_cstr(name, "ROOST_CONFIG")) {
            continue;
        }
        cfg_where_set(x, "environment variable %.*s", cfg_show_len(name), name.p);
        for (k = 0u; (k < cfg_key_count()) && !done; k++) {
            const cfg_key_def *kd = cfg_key(k);
            cfg_env_name_of(kd->name, buf, sizeof buf);
            if (strv_eq_cstr(name, buf)) {
                done = true;
                st = cfg_value_set(x, kd, kd->name, x->c, v);
                x->set[k] = true;
                g_src[k] = x->cur;
            }
        }
        if (!done) {
            st = env_provider(x, name, v, &done);
        }
        if ((st == ST_OK) && !done) {
            const char *s = cfg_suggest(name, true, buf, sizeof buf);
            if (s != NULL) {
                st = cfg_fail(x, ST_BAD, "does not name a roost key (did you mean %s?)", s);
            } else {
                st = cfg_fail(x, ST_BAD, "does not name a roost key (see roostd --help)");
            }
        }
    }
    return st;
}

static bool arg_eq(const char *a, const char *s)
{
    return strcmp(a, s) == 0;
}

/* Key flags (--KEY=VALUE, --KEY VALUE); the options were scanned before. */
static st_t load_flags(cfg_ctx *x, int argc, char *const *argv)
{
    int i = 1;
    st_t st = ST_OK;
    x->cur.kind = (uint8_t)CFG_SRC_FLAG;
    while ((i < argc) && (st == ST_OK)) {
        const char *a = argv[i];
        i++;
        x->where[0] = '\0';
        if (arg_eq(a, "--budget") || arg_eq(a, "--limits") || arg_eq(a, "--check-config") ||
            (strncmp(a, "--config=", 9u) == 0) || (strncmp(a, "--config-default=", 17u) == 0)) {
            continue;
        }
        if (arg_eq(a, "--config") || arg_eq(a, "--config-default")) {
            i++;
            continue;
        }
        if ((a[0] == '-') && (a[1] == '-') && (a[2] != '\0')) {
            const char *body = a + 2;
            const char *eq = strchr(body, '=');
            strv key = strv_from_cstr(body);
            key.n = cfg_span_to(key.p, key.n, '=');
            cfg_where_set(x, "flag --%.*s", cfg_show_len(key), key.p);
            if ((cfg_key_index(key) < 0) && !strv_starts_with_cstr(key, PROV_PREFIX)) {
                st = key_apply(x, key, STRV_NULL); /* reports the unknown key */
            } else if (eq != NULL) {
                st = key_apply(x, key, cfg_trim_all(strv_from_cstr(eq + 1)));
            } else if (i < argc) {
                st = key_apply(x, key, cfg_trim_all(strv_from_cstr(argv[i])));
                i++;
            } else {
                st = cfg_fail(x, ST_BAD, "needs a value (--%.*s=VALUE)", cfg_show_len(key), key.p);
            }
        } else if (a[0] == '-') {
            st = cfg_fail(x, ST_BAD, "unknown option '%s' (see roostd --help)", a);
        } else {
            st = cfg_fail(x, ST_BAD, "unexpected argument '%s' (see roostd --help)", a);
        }
    }
    return st;
}

/* ---- finish: derived defaults and cross-key rules ------------------------ */

static st_t finish_listeners(cfg_ctx *x)
{
    roost_cfg *c = x->c;
    size_t i;
    size_t j;
    st_t st = ST_OK;
    for (i = 0u; i < (size_t)FAM_COUNT; i++) {
        if (!cfg_fam_built((fam_id)i)) {
            c->fam[i].enabled = false;      /* not built in this profile */
        }
    }
    for (i = 0u; (i < (size_t)FAM_COUNT) && (st == ST_OK); i++) {
        const cfg_listener *l = &c->fam[i];
        if (cfg_is_empty(l->tls_cert) != cfg_is_empty(l->tls_key)) {
            st = cfg_fail(x, ST_INVAL, "%s.%s is set but %s.%s is not (set both or neither)",
                      fam_list[i]->prefix, cfg_is_empty(l->tls_cert) ? "tls_key" : "tls_cert",
                      fam_list[i]->prefix, cfg_is_empty(l->tls_cert) ? "tls_cert" : "tls_key");
        } else if (c->diag.echo && l->enabled && !auth_host_is_loopback(l->host)) {
            st = cfg_fail(x, ST_INVAL, "diag.echo = true needs every listener on loopback, but "
                          "%s.host is %s", fam_list[i]->prefix, l->host);
        } else {
            /* consistent */
        }
        for (j = i + 1u; (j < (size_t)FAM_COUNT) && (st == ST_OK); j++) {
            const cfg_listener *m = &c->fam[j];
            if (l->enabled && m->enabled && (l->port != 0u) && (l->port == m->port) &&
                (strcmp(l->host, m->host) == 0)) {
                st = cfg_fail(x, ST_INVAL, "%s.port and %s.port are both %s:%u", fam_list[i]->prefix,
                          fam_list[j]->prefix, l->host, (unsigned)l->port);
            }
        }
    }
    return st;
}

/* The families' own finish (fam/keys.h): derived keys, cross-key rules. */
static bool env_set(const char *key)
{
    int i = cfg_key_index(strv_from_cstr(key));
    return (i >= 0) && g_ctx.set[i];
}

static const char *env_str(const char *key)
{
    return cfg_str(g_ctx.c, key);
}

static uint64_t env_num(const char *key)
{
    return cfg_num(g_ctx.c, key);
}

static st_t finish_families(cfg_ctx *x, const char *cwd)
{
    fam_keys_env env;
    size_t i;
    st_t st = ST_OK;
    ASSERT(x == &g_ctx);
    env.cwd = cwd;
    env.set = env_set;
    env.str = env_str;
    env.num = env_num;
    env.err = x->err;
    env.errcap = x->errcap;
    for (i = 0u; (i < (size_t)FAM_COUNT) && (st == ST_OK); i++) {
        if (fam_list[i]->keys_finish != NULL) {
            st = fam_list[i]->keys_finish(&env);
        }
    }
    return st;
}

static st_t prov_complete(cfg_ctx *x, cfg_provider *p)
{
    st_t st = ST_OK;
    if (p->kind == PROV_ANTHROPIC) {
        if (cfg_is_empty(p->base_url)) {
            (void)memcpy(p->base_url, ANTHROPIC_URL, sizeof ANTHROPIC_URL);
        }
        if (cfg_is_empty(p->api_key_secret)) {
            (void)memcpy(p->api_key_secret, ANTHROPIC_SECRET, sizeof ANTHROPIC_SECRET);
        }
        if (cfg_is_empty(p->default_model)) {
            (void)memcpy(p->default_model, ANTHROPIC_MODEL, sizeof ANTHROPIC_MODEL);
        }
    } else if (cfg_is_empty(p->base_url)) {
        st = cfg_fail(x, ST_INVAL, PROV_PREFIX "%s.base_url is required for kind "
                  "openai-compatible", p->name);
    } else if (cfg_is_empty(p->default_model)) {
        st = cfg_fail(x, ST_INVAL, PROV_PREFIX "%s.default_model is required for kind "
                  "openai-compatible", p->name);
    } else {
        /* complete */
    }
    return st;
}

static st_t finish_llm(cfg_ctx *x)
{
    roost_cfg *c = x->c;
    strv rest = strv_from_cstr(c->llm.providers);
    strv item;
    uint32_t n = 0u;
    uint32_t i;
    st_t st = ST_OK;

    /* Order the slots as llm.providers lists them. */
    while ((st == ST_OK) && cfg_list_next(&rest, &item)) {
        cfg_provider *p = prov_find(c, item);
        if ((p == NULL) || (p->kind == PROV_NONE)) {
            st = cfg_fail(x, ST_INVAL, "llm.providers lists '%.*s' but " PROV_PREFIX
                      "%.*s.kind is not set", cfg_show_len(item), item.p, cfg_show_len(item), item.p);
        } else {
            ptrdiff_t slot = p - c->llm.prov;
            size_t at = (size_t)slot;
            if (at != n) {
                cfg_provider tmp;
                cfg_src ts[PFIELDS];
                ASSERT(at > n);
                (void)memcpy(&tmp, &c->llm.prov[n], sizeof tmp);
                (void)memcpy(&c->llm.prov[n], p, sizeof tmp);
                (void)memcpy(p, &tmp, sizeof tmp);
                (void)memcpy(ts, g_psrc[n], sizeof ts);
                (void)memmove(g_psrc[n], g_psrc[at], sizeof ts);
                (void)memcpy(g_psrc[at], ts, sizeof ts);
            }
            st = prov_complete(x, &c->llm.prov[n]);
            n++;
        }
    }
    if ((st == ST_OK) && (c->llm.n_prov > n)) {
        st = cfg_fail(x, ST_INVAL, PROV_PREFIX "%s.* is set but '%s' is not in llm.providers",
                  c->llm.prov[n].name, c->llm.prov[n].name);
    }
    c->llm.n_prov = n;

    if ((st == ST_OK) && !x->set[cfg_key_index_cstr("llm.fallback_chain")]) {
        (void)memcpy(c->llm.fallback_chain, c->llm.providers, sizeof c->llm.fallback_chain);
    }
    rest = strv_from_cstr(c->llm.fallback_chain);
    c->llm.n_chain = 0u;
    while ((st == ST_OK) && cfg_list_next(&rest, &item)) {
        const cfg_provider *p = prov_find(c, item);
        if (p == NULL) {
            st = cfg_fail(x, ST_INVAL, "llm.fallback_chain lists '%.*s', which is not in "
                      "llm.providers", cfg_show_len(item), item.p);
        } else if (NEVER(c->llm.n_chain >= (uint32_t)CFG_MAX_PROVIDERS)) {
            st = ST_INTERNAL;
        } else {
            ptrdiff_t slot = p - c->llm.prov;
            c->llm.chain[c->llm.n_chain] = (uint8_t)slot;
            c->llm.n_chain++;
        }
    }

    if ((st == ST_OK) && !x->set[cfg_key_index_cstr("llm.builder_provider")]) {
        c->llm.builder_provider[0] = '\0';
        if (c->llm.n_chain > 0u) {
            const cfg_provider *p = &c->llm.prov[c->llm.chain[0]];
            (void)memcpy(c->llm.builder_provider, p->name, strlen(p->name) + 1u);
        }
    }
    if ((st == ST_OK) && !cfg_is_empty(c->llm.builder_provider)) {
        const cfg_provider *p = prov_find(c, strv_from_cstr(c->llm.builder_provider));
        if (p == NULL) {
            st = cfg_fail(x, ST_INVAL, "llm.builder_provider '%s' is not in llm.providers",
                      c->llm.builder_provider);
        } else if (!x->set[cfg_key_index_cstr("llm.builder_model")]) {
            (void)memcpy(c->llm.builder_model, p->default_model, sizeof c->llm.builder_model);
        } else {
            /* set explicitly */
        }
    }
    for (i = n; i < (uint32_t)CFG_MAX_PROVIDERS; i++) {
        (void)memset(&c->llm.prov[i], 0, sizeof c->llm.prov[i]);
    }
    return st;
}

/* ---- public -------------------------------------------------------------- */

st_t cfg_load(roost_cfg *c, int argc, char *const *argv, const char *const *envp,
              const char *cwd,
              st_t (*read_file)(const char *path, char *buf, size_t cap, size_t *n),
              cfg_action *act, char *err, size_t errcap)
{
    cfg_ctx *x = &g_ctx;
    const char *conf = NULL;
    bool conf_explicit = false;
    bool help = false;
    bool version = false;
    const char *conf_default = "roost.conf";
    bool budget = false;
    bool limits = false;
    bool check = false;
    int i;
    st_t st;

    ASSERT(cfg_npfields == PFIELDS);
    ASSERT(cfg_alias_count() <= 255u); /* cfg_src.alias */
    (void)memset(x, 0, sizeof *x);
    (void)memset(g_src, 0, sizeof g_src);
    (void)memset(g_psrc, 0, sizeof g_psrc);
    g_conf_read = "";
    x->c = c;
    x->err = err;
    x->errcap = errcap;
    if ((err != NULL) && (errcap > 0u)) {
        err[0] = '\0';
    }
    *act = CFG_ACT_RUN;
    st = load_defaults(x);

    i = 1;
    while ((i < argc) && (st == ST_OK)) {
        const char *a = argv[i];
        i++;
        if (arg_eq(a, "-h") || arg_eq(a, "--help")) {
            help = true;
        } else if (arg_eq(a, "-V") || arg_eq(a, "--version")) {
            version = true;
        } else if (arg_eq(a, "--budget")) {
            budget = true;
        } else if (arg_eq(a, "--limits")) {
            limits = true;
        } else if (arg_eq(a, "--check-config")) {
            check = true;
        } else if (arg_eq(a, "--config-default")) {
            if (i < argc) {
                conf_default = argv[i];
                i++;
            } else {
                st = cfg_fail(x, ST_BAD, "flag --config-default needs a PATH");
            }
        } else if (strncmp(a, "--config-default=", 17u) == 0) {
            conf_default = a + 17;
        } else if (arg_eq(a, "--config")) {
            if (i < argc) {
                conf = argv[i];
                i++;
                conf_explicit = true;
            } else {
                st = cfg_fail(x, ST_BAD, "flag --config needs a PATH");
            }
        } else if (strncmp(a, "--config=", 9u) == 0) {
            conf = a + 9;
            conf_explicit = true;
        } else if ((a[0] == '-') && (a[1] == '-') && (strchr(a, '=') == NULL) &&
                   (i < argc)) {
            i++; /* --KEY VALUE: skip the value */
        } else {
            /* checked by load_flags */
        }
    }
    if (help || version) {
        *act = help ? CFG_ACT_HELP : CFG_ACT_VERSION;
        return ST_OK;
    }
    if (st == ST_OK) {
        if (!conf_explicit) {
            conf = env_get(envp, "ROOST_CONFIG");
            conf_explicit = (conf != NULL) && (conf[0] != '\0');
            if (!conf_explicit) {
                conf = conf_default;
            }
        }
        if (conf[0] == '\0') {
            st = cfg_fail(x, ST_BAD, "flag --config needs a PATH");
        } else {
            st = load_file(x, conf, conf_explicit, read_file);
        }
    }
    if (st == ST_OK) {
        st = load_aliases(x, envp);
    }
    if (st == ST_OK) {
        st = load_roost_env(x, envp);
    }
    if (st == ST_OK) {
        st = load_flags(x, argc, argv);
    }
    x->where[0] = '\0';
    if (st == ST_OK) {
        st = finish_listeners(x);
    }
    if (st == ST_OK) {
        st = finish_families(x, cwd);
    }
    if (st == ST_OK) {
        st = finish_llm(x);
    }
    if ((st == ST_OK) && budget) {
        *act = CFG_ACT_BUDGET;
    }
    if ((st == ST_OK) && limits) {
        *act = CFG_ACT_LIMITS;
    }
    if ((st == ST_OK) && check) {
        *act = CFG_ACT_CHECK;
    }
    return st;
}

/* ---- reload -------------------------------------------------------------- */

static bool value_eq(const cfg_key_def *k, const void *a, const void *b)
{
    bool eq;
    const unsigned char *pa = a;
    const unsigned char *pb = b;
    if ((k->kind == K_STR) || (k->kind == K_LIST) || (k->kind == K_URL)) {
        eq = (strcmp((const char *)a, (const char *)b) == 0);
    } else {
        eq = (memcmp(pa, pb, k->size) == 0);
    }
    return eq;
}

/* Copy the families' key values (rows with ptr) to keep[0..CFG_KEEP_BYTES)
 * (save) or back. */
#define CFG_KEEP_BYTES ((size_t)FAM_COUNT * FAM_KEYS_STATIC_BYTES)
static void keep_family_values(unsigned char *keep, bool save)
{
    size_t i;
    size_t at = 0u;
    for (i = 0u; i < cfg_key_count(); i++) {
        const cfg_key_def *k = cfg_key(i);
        if ((k->ptr != NULL) && ALWAYS((at + k->size) <= CFG_KEEP_BYTES)) {
            if (save) {
                (void)memcpy(&keep[at], k->ptr, k->size);
            } else {
                (void)memcpy(k->ptr, &keep[at], k->size);
            }
            at += k->size;
        }
    }
}

/* The saved value of family row k in keep. */
static const void *kept_value(const unsigned char *keep, const cfg_key_def *k)
{
    size_t i;
    size_t at = 0u;
    const void *v = NULL;
    for (i = 0u; (i < cfg_key_count()) && (v == NULL); i++) {
        const cfg_key_def *r = cfg_key(i);
        if (r == k) {
            v = &keep[at];
        } else if (r->ptr != NULL) {
            at += r->size;
        } else {
            /* in roost_cfg */
        }
    }
    return v;
}

static void reload_compare(roost_cfg *live, const roost_cfg *next, const unsigned char *keep,
                           void (*changed)(const char *key, bool applied))
{
    size_t i;
    size_t f;
    uint32_t p;
    for (i = 0u; i < cfg_key_count(); i++) {
        const cfg_key_def *k = cfg_key(i);
        if (k->ptr != NULL) {
            const void *was = kept_value(keep, k);
            if ((was != NULL) && !value_eq(k, was, k->ptr)) {
                changed(k->name, false);
            }
        } else if (!value_eq(k, cfg_key_cvalue(k, live), cfg_key_cvalue(k, next))) {
            bool live_key = ((k->flags & F_LIVE) != 0u);
            if (live_key) {
                (void)memcpy(cfg_key_value(k, live), cfg_key_cvalue(k, next), k->size);
            }
            changed(k->name, live_key);
        } else {
            /* unchanged */
        }
    }
    for (p = 0u; (p < live->llm.n_prov) && (p < next->llm.n_prov); p++) {
        for (f = 0u; f < cfg_npfields; f++) {
            const cfg_key_def *k = &cfg_pfields[f];
            if ((strcmp(live->llm.prov[p].name, next->llm.prov[p].name) == 0) &&
                !value_eq(k, cfg_key_cvalue(k, &live->llm.prov[p]),
                          cfg_key_cvalue(k, &next->llm.prov[p]))) {
                char label[sizeof(PROV_PREFIX) + (size_t)CFG_CONF_NAME_BYTES + 32u];
                (void)snprintf(label, sizeof label, PROV_PREFIX "%s.%s", live->llm.prov[p].name,
                               k->name);
                changed(label, false);
            }
        }
    }
}

_Static_assert(CFG_RELOAD_SCRATCH_BYTES >= (sizeof(roost_cfg) + CFG_KEEP_BYTES),
               "a reload's scratch holds the next config and the kept values");

st_t cfg_reload(roost_cfg *live, void *scratch, size_t scratch_cap, int argc,
                char *const *argv, const char *const *envp, const char *cwd,
                st_t (*read_file)(const char *path, char *buf, size_t cap, size_t *n),
                void (*changed)(const char *key, bool applied), char *err, size_t errcap)
{
    cfg_action act = CFG_ACT_RUN;
    roost_cfg *next = scratch;
    unsigned char *mem = scratch;
    unsigned char *keep = &mem[sizeof(roost_cfg)];
    st_t st;
    if (scratch_cap < CFG_RELOAD_SCRATCH_BYTES) {
        if ((err != NULL) && (errcap > 0u)) {
            (void)snprintf(err, errcap, "the reload scratch is too small");
        }
        return ST_NOMEM;
    }
    keep_family_values(keep, true);
    st = cfg_load(next, argc, argv, envp, cwd, read_file, &act, err, errcap);
    if (st == ST_OK) {
        reload_compare(live, next, keep, changed);
    }
    keep_family_values(keep, false);
    return st;
}

