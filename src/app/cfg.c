/*
 * cfg.c - runtime configuration: one key table, five sources, one finish.
 *
 * Implementation notes
 * - g_keys[] describes every key once: name, type, where it lives in
 *   roost_cfg, range, default text, and its --help placeholder. Parsing,
 *   ROOST_* names, --help and cfg_dump all walk it. Defaults are applied by
 *   parsing the default text with the same setter a file value goes through.
 * - llm.provider.<name>.<field> keys are not in g_keys: g_pfields[] describes
 *   the fields (offsets into cfg_provider) and a slot in c->llm.prov is taken
 *   on a name's first use, whatever the source. finish() then orders the
 *   slots as llm.providers lists them and rejects any slot it does not list
 *   (a misspelt provider name is caught like an unknown key).
 * - A load is: scan argv (help/version/budget/config), defaults, file, the
 *   upstream environment names, ROOST_* variables, key flags, finish().
 *   ctx.set[] records which keys a source set, so finish() fills derived
 *   defaults (documents.public_url, agents.*, llm.fallback_chain,
 *   llm.builder_*) only for keys nobody set.
 * - Every error is written once, as "<where>: <what>", by fail().
 * - Keys of what the build profile does not build (a family's keys, llm.*)
 *   are refused in key_apply, except <family>.enabled=false; the upstream
 *   environment names that feed them are ignored; finish() leaves such a
 *   family disabled.
 */
#include "app/cfg.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/assert.h"

/* ---- the key table ------------------------------------------------------- */

/* cppcheck-suppress misra-c2012-2.4 ; false positive: an untagged enum has no tag */
enum { K_STR, K_LIST, K_URL, K_BOOL, K_UINT, K_AUTH, K_LEVEL, K_KIND };

#define F_NONEMPTY 0x01u /* "" is not a valid value */
#define F_CLAMP 0x02u    /* out-of-range integers are clamped, not refused */
#define F_FAMILY 0x04u   /* per-family key: --help lists it once, generically */
#define F_NAMES 0x08u    /* list items are provider names */

typedef struct {
    const char *name;
    uint8_t kind;
    uint8_t flags;
    uint8_t max_items;  /* K_LIST: most items allowed, 0 = no limit */
    size_t off;         /* into roost_cfg (g_keys) or cfg_provider (g_pfields) */
    size_t size;
    uint64_t min;       /* K_UINT range */
    uint64_t max;
    const char *def;    /* default as text; NULL = derived in finish() */
    const char *meta;   /* placeholder in --help */
    const char *hdef;   /* default shown by --help instead of def */
} key_def;

#define OFF(m) offsetof(roost_cfg, m)
/* cppcheck-suppress misra-c2012-20.7 ; a member name cannot be parenthesised */
#define SZ(m) sizeof(((roost_cfg *)NULL)->m)
#define KEY(nm, kd, fl, m, lo, hi, items, dflt, mt, hd) \
    { (nm), (kd), (fl), (items), OFF(m), SZ(m), (lo), (hi), (dflt), (mt), (hd) }

#define MAX_U32 4294967295ULL
#define MS_DAY 86400000ULL

#define FAM_KEYS(i, fn, dport, dcors)                                                      \
    KEY(fn ".enabled", K_BOOL, F_FAMILY, fam[i].enabled, 0, 0, 0, "true", "BOOL", NULL), \
    KEY(fn ".host", K_STR, F_FAMILY | F_NONEMPTY, fam[i].host, 0, 0, 0, "127.0.0.1",     \
        "ADDR", NULL),                                                                   \
    KEY(fn ".port", K_UINT, F_FAMILY, fam[i].port, 0, 65535, 0, dport, "N", NULL),        \
    KEY(fn ".auth", K_AUTH, F_FAMILY, fam[i].auth, 0, 0, 0, "auto", "MODE", NULL),       \
    KEY(fn ".cors_origins", K_LIST, F_FAMILY, fam[i].cors_origins, 0, 0,                 \
        CFG_MAX_CORS_ORIGINS, dcors, "LIST", NULL),                                       \
    KEY(fn ".tls_cert", K_STR, F_FAMILY, fam[i].tls_cert, 0, 0, 0, "", "PATH", NULL),    \
    KEY(fn ".tls_key", K_STR, F_FAMILY, fam[i].tls_key, 0, 0, 0, "", "PATH", NULL)

#define AO_CORS "http://localhost:5173,http://localhost:3000"

static const key_def g_keys[] = {
    KEY("data_dir", K_STR, F_NONEMPTY, data_dir, 0, 0, 0, "./roost-data", "DIR", NULL),
    KEY("max_json_body_bytes", K_UINT, 0, max_json_body_bytes, 1, MAX_U32, 0, "1048576",
        "N", NULL),
    KEY("max_hook_body_bytes", K_UINT, 0, max_hook_body_bytes, 1, MAX_U32, 0, "8388608",
        "N", NULL),
    KEY("log_level", K_LEVEL, 0, log_level, 0, 0, 0, "info", "LEVEL",
        "info (debug|info|warn|error)"),
#if CFG_FAULT
    /* debug builds only (http/fault_ctl.h); loopback listeners only */
    KEY("diag.faults", K_BOOL, 0, diag_faults, 0, 0, 0, "false", "BOOL",
        "false (/_fault; debug builds)"),
#endif
    FAM_KEYS(FAM_FLEET, "fleet", "3000", "*"),
    FAM_KEYS(FAM_RPG, "rpg", "4011", "*"),
    FAM_KEYS(FAM_OBS, "observability", "8765", AO_CORS),
    FAM_KEYS(FAM_DOCS, "documents", "8766", AO_CORS),
    FAM_KEYS(FAM_AGENTS, "agents", "8767", AO_CORS),
    KEY("fleet.web_dir", K_STR, 0, fleet.web_dir, 0, 0, 0, "apps/web/dist", "DIR",
        "apps/web/dist (if it exists)"),
    KEY("fleet.ws_heartbeat_ms", K_UINT, 0, fleet.ws_heartbeat_ms, 100, MS_DAY, 0, "30000",
        "MS", NULL),
    KEY("rpg.web_dir", K_STR, 0, rpg.web_dir, 0, 0, 0, "dist/client", "DIR",
        "dist/client (if it exists)"),
    KEY("rpg.poll_interval_ms", K_UINT, 0, rpg.poll_interval_ms, 10, 3600000, 0, "250", "MS",
        NULL),
    KEY("rpg.terminal_capture_lines", K_UINT, F_CLAMP, rpg.terminal_capture_lines, 50, 500, 0,
        "150", "N", "150 (clamped to 50..500)"),
    KEY("rpg.ws_heartbeat_ms", K_UINT, 0, rpg.ws_heartbeat_ms, 100, MS_DAY, 0, "30000", "MS",
        NULL),
    KEY("rpg.ws_pause_bytes", K_UINT, 0, rpg.ws_pause_bytes, 1, MAX_U32, 0, "65536", "N",
        NULL),
    KEY("rpg.ws_resume_bytes", K_UINT, 0, rpg.ws_resume_bytes, 0, MAX_U32, 0, "16384", "N",
        NULL),
    KEY("rpg.ws_max_buffer_bytes", K_UINT, 0, rpg.ws_max_buffer_bytes, 1, MAX_U32, 0,
        "4194304", "N", NULL),
    KEY("rpg.events_retention_days", K_UINT, 0, rpg.events_retention_days, 1, 36500, 0, "7",
        "DAYS", NULL),
    KEY("observability.stop_grace_ms", K_UINT, 0, obs.stop_grace_ms, 0, 3600000, 0, "5000",
        "MS", NULL),
    KEY("observability.ws_heartbeat_ms", K_UINT, 0, obs.ws_heartbeat_ms, 100, MS_DAY, 0,
        "20000", "MS", NULL),
    KEY("observability.ws_max_buffer_bytes", K_UINT, 0, obs.ws_max_buffer_bytes, 4096,
        MAX_U32, 0, "1048576", "N", NULL),
    KEY("observability.transcript_dirs", K_LIST, 0, obs.transcript_dirs, 0, 0, 0,
        "~/.claude/projects", "LIST", NULL),
    KEY("documents.public_url", K_URL, F_NONEMPTY, docs.public_url, 0, 0, 0, NULL, "URL",
        "http://localhost:<documents.port>"),
    KEY("documents.max_upload_bytes", K_UINT, 0, docs.max_upload_bytes, 1,
        1099511627776ULL, 0, "67108864", "N", NULL),
    KEY("documents.chunk_bytes", K_UINT, 0, docs.chunk_bytes, 1024, 16777216, 0, "65536", "N",
        NULL),
    KEY("agents.dir", K_STR, F_NONEMPTY, agents.dir, 0, 0, 0, NULL, "DIR",
        "<project_dir>/.agent-orchestrator/agents"),
    KEY("agents.project_dir", K_STR, F_NONEMPTY, agents.project_dir, 0, 0, 0, NULL, "DIR",
        "the working directory"),
    KEY("llm.providers", K_LIST, F_NAMES, llm.providers, 0, 0, CFG_MAX_PROVIDERS, "", "LIST",
        "none (e.g. anthropic,ollama)"),
    KEY("llm.fallback_chain", K_LIST, F_NAMES, llm.fallback_chain, 0, 0, CFG_MAX_PROVIDERS,
        NULL, "LIST", "the order of llm.providers"),
    KEY("llm.request_budget_tokens", K_UINT, F_CLAMP, llm.request_budget_tokens, 10000,
        1000000000, 0, "500000", "N", "500000 (at least 10000)"),
    KEY("llm.budget_pause_timeout_ms", K_UINT, 0, llm.budget_pause_timeout_ms, 0, MS_DAY, 0,
        "120000", "MS", NULL),
    KEY("llm.max_depth", K_UINT, 0, llm.max_depth, 0, 16, 0, "3", "N", NULL),
    KEY("llm.history_max_messages", K_UINT, 0, llm.history_max_messages, 0, 10000, 0, "50",
        "N", NULL),
    KEY("llm.builder_provider", K_STR, 0, llm.builder_provider, 0, 0, 0, NULL, "NAME",
        "first of llm.fallback_chain"),
    KEY("llm.builder_model", K_STR, 0, llm.builder_model, 0, 0, 0, NULL, "MODEL",
        "that provider's default_model"),
    KEY("llm.ca_file", K_STR, F_NONEMPTY, llm.ca_file, 0, 0, 0,
        "/etc/ssl/certs/ca-certificates.crt", "FILE", NULL),
};

#define N_KEYS (sizeof(g_keys) / sizeof(g_keys[0]))

_Static_assert(CFG_MAX_CORS_ORIGINS <= 255, "max_items is 8-bit");
_Static_assert(CFG_MAX_PROVIDERS <= 255, "chain indexes are 8-bit");
_Static_assert(CFG_CONF_NAME_BYTES >= 16, "provider names need room");

#define PROV_PREFIX "llm.provider."
#define ANTHROPIC_URL "https://api.anthropic.com"
#define ANTHROPIC_SECRET "ANTHROPIC_API_KEY"
#define ANTHROPIC_MODEL "claude-sonnet-4-20250514"

#define PKEY(nm, kd, m, lo, hi, dflt, mt, hd)                                          \
    { (nm), (kd), 0, 0, offsetof(cfg_provider, m), sizeof(((cfg_provider *)NULL)->m), (lo), \
      (hi), (dflt), (mt), (hd) }

/* Fields of llm.provider.<name>.<field>. Defaults that depend on the kind
 * are filled in finish(). */
static const key_def g_pfields[] = {
    PKEY("kind", K_KIND, kind, 0, 0, NULL, "KIND", "anthropic|openai-compatible"),
    PKEY("base_url", K_URL, base_url, 0, 0, NULL, "URL", "anthropic: " ANTHROPIC_URL),
    PKEY("api_key_secret", K_STR, api_key_secret, 0, 0, NULL, "SECRET",
         "anthropic: " ANTHROPIC_SECRET),
    PKEY("default_model", K_STR, default_model, 0, 0, NULL, "MODEL",
         "anthropic: " ANTHROPIC_MODEL),
    PKEY("timeout_ms", K_UINT, timeout_ms, 1, 3600000, "30000", "MS", NULL),
};

#define N_PFIELDS (sizeof(g_pfields) / sizeof(g_pfields[0]))


typedef struct {
    const char *env;
    const char *key;
} alias_def;

/* Spec 2.2. CORS_ORIGINS feeds two keys. */
static const alias_def g_aliases[] = {
    { "BOTERNITY_WEB_DIR", "fleet.web_dir" },
    { "PORT", "rpg.port" },
    { "POLL_INTERVAL", "rpg.poll_interval_ms" },
    { "WS_HEARTBEAT_INTERVAL", "rpg.ws_heartbeat_ms" },
    { "WS_BACKPRESSURE_HIGH", "rpg.ws_pause_bytes" },
    { "WS_BACKPRESSURE_LOW", "rpg.ws_resume_bytes" },
    { "EVENTS_RETENTION_DAYS", "rpg.events_retention_days" },
    { "TERMINAL_CAPTURE_LINES", "rpg.terminal_capture_lines" },
    { "CORS_ORIGINS", "observability.cors_origins" },
    { "CORS_ORIGINS", "documents.cors_origins" },
    { "DOCUMENT_SERVER_HOST", "documents.host" },
    { "DOCUMENT_SERVER_PORT", "documents.port" },
    { "DOCUMENT_SERVER_PUBLIC_URL", "documents.public_url" },
    { "AGENT_MANAGER_HOST", "agents.host" },
    { "AGENT_MANAGER_PORT", "agents.port" },
    { "AGENT_ORCHESTRATOR_AGENTS_DIR", "agents.dir" },
    { "AGENT_ORCHESTRATOR_PROJECT_DIR", "agents.project_dir" },
};

#define N_ALIASES (sizeof(g_aliases) / sizeof(g_aliases[0]))

static const char *const g_fam_names[FAM_COUNT] = {
    "fleet", "rpg", "observability", "documents", "agents"
};
static const char *const g_auth_names[] = { "auto", "key", "open" };
static const char *const g_level_names[] = { "debug", "info", "warn", "error" };
static const char *const g_kind_names[] = { "", "anthropic", "openai-compatible" };

/* ---- load context and errors -------------------------------------------- */

#define SHOW_MAX 64u /* bytes of a key or value quoted in an error */

typedef struct {
    roost_cfg *c;
    bool set[N_KEYS];
    char where[CFG_CONF_VALUE_BYTES + 64]; /* "" or "roost.conf:12", "flag --x" */
    char *err;
    size_t errcap;
} cfg_ctx;

static char g_file[CFG_CONF_FILE_BYTES];
static char g_help[CFG_HELP_BYTES];
static cfg_ctx g_ctx; /* ~1 KiB: keep it off small stacks; init-only */

_Static_assert(((sizeof g_file) + (sizeof g_help) + (sizeof g_ctx)) <= CFG_STATIC_BYTES,
               "CFG_STATIC_BYTES is the plan of this module");

static bool is_empty(const char *s)
{
    return s[0] == '\0';
}

static int show_len(strv v)
{
    size_t n = v.n;
    if (n > SHOW_MAX) {
        n = SHOW_MAX;
    }
    return (int)n;
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static st_t fail(cfg_ctx *x, st_t st, const char *fmt, ...)
{
    if ((x->err != NULL) && (x->errcap > 0u)) {
        size_t n = 0u;
        x->err[0] = '\0';
        if (!is_empty(x->where)) {
            int k = snprintf(x->err, x->errcap, "%s: ", x->where);
            n = (k > 0) ? (size_t)k : 0u;
        }
        if (n < x->errcap) {
            va_list ap;
            va_start(ap, fmt);
            (void)vsnprintf(x->err + n, x->errcap - n, fmt, ap);
            va_end(ap);
        }
    }
    return st;
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void where_set(cfg_ctx *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(x->where, sizeof x->where, fmt, ap);
    va_end(ap);
}

/* ---- small helpers ------------------------------------------------------- */

static char lower(char ch)
{
    char r = ch;
    if ((ch >= 'A') && (ch <= 'Z')) {
        /* cppcheck-suppress misra-c2012-10.8 ; false positive: char plus an offset is char */
        r = (char)(ch + ('a' - 'A'));
    }
    return r;
}

static char upper(char ch)
{
    char r = ch;
    if ((ch >= 'a') && (ch <= 'z')) {
        /* cppcheck-suppress misra-c2012-10.8 ; false positive: char minus an offset is char */
        r = (char)(ch - ('a' - 'A'));
    }
    return r;
}

static bool trailing_space(char ch)
{
    return (ch == '\r') || (ch == ' ') || (ch == '\t');
}

/* Bytes of s[0..n) before the first c, or n. */
static size_t span_to(const char *s, size_t n, char c)
{
    const char *hit = memchr(s, c, n);
    size_t len = n;
    if (hit != NULL) {
        ptrdiff_t d = hit - s;
        len = (size_t)d;
    }
    return len;
}

static strv trim_all(strv v)
{
    strv t = strv_trim(v);
    while ((t.n > 0u) && trailing_space(t.p[t.n - 1u])) {
        t.n--;
    }
    return t;
}

/* Next item of a comma-separated list, trimmed; empty items are skipped.
 * False when the list is used up. */
static bool list_next(strv *rest, strv *item)
{
    bool found = false;
    while ((rest->n > 0u) && !found) {
        size_t len = span_to(rest->p, rest->n, ',');
        *item = trim_all((strv){ rest->p, len });
        rest->p += len;
        rest->n -= len;
        if (rest->n > 0u) {
            rest->p++;
            rest->n--;
        }
        found = (item->n > 0u);
    }
    return found;
}

static bool list_has(const char *list, strv name)
{
    strv rest = strv_from_cstr(list);
    strv item;
    bool has = false;
    while (!has && list_next(&rest, &item)) {
        has = strv_eq(item, name);
    }
    return has;
}

static bool name_ok(strv v)
{
    size_t i;
    bool ok = (v.n > 0u) && (v.n < (size_t)CFG_CONF_NAME_BYTES);
    for (i = 0u; ok && (i < v.n); i++) {
        char ch = v.p[i];
        ok = ((ch >= 'a') && (ch <= 'z')) || ((ch >= '0') && (ch <= '9')) || (ch == '_') ||
             (ch == '-');
    }
    return ok;
}

static int enum_find(const char *const *names, size_t n, strv v)
{
    size_t i;
    int found = -1;
    for (i = 0u; (i < n) && (found < 0); i++) {
        if ((names[i][0] != '\0') && strv_ieq_cstr(v, names[i])) {
            found = (int)i;
        }
    }
    return found;
}

static uint64_t uint_load(const void *p, size_t size)
{
    uint64_t v = 0u;
    if (size == sizeof(uint16_t)) {
        uint16_t u;
        (void)memcpy(&u, p, sizeof u);
        v = u;
    } else if (size == sizeof(uint32_t)) {
        uint32_t u;
        (void)memcpy(&u, p, sizeof u);
        v = u;
    } else if (ALWAYS(size == sizeof(uint64_t))) {
        (void)memcpy(&v, p, sizeof v);
    } else {
        v = 0u;
    }
    return v;
}

static void uint_store(void *p, size_t size, uint64_t v)
{
    if (size == sizeof(uint16_t)) {
        uint16_t u = (uint16_t)v;
        (void)memcpy(p, &u, sizeof u);
    } else if (size == sizeof(uint32_t)) {
        uint32_t u = (uint32_t)v;
        (void)memcpy(p, &u, sizeof u);
    } else if (ALWAYS(size == sizeof(uint64_t))) {
        (void)memcpy(p, &v, sizeof v);
    } else {
        /* unreachable: the tables hold only these widths */
    }
}

/* Edit distance (case-insensitive) for "did you mean"; SIZE_MAX when either
 * string is too long to bother. */
#define EDIT_MAX 64u
static size_t edit_distance(strv a, strv b)
{
    size_t row[EDIT_MAX + 1u];
    size_t i;
    size_t j;
    if ((a.n > EDIT_MAX) || (b.n > EDIT_MAX)) {
        return SIZE_MAX;
    }
    for (j = 0u; j <= b.n; j++) {
        row[j] = j;
    }
    for (i = 1u; i <= a.n; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (j = 1u; j <= b.n; j++) {
            size_t up = row[j];
            size_t best = diag + ((lower(a.p[i - 1u]) == lower(b.p[j - 1u])) ? 0u : 1u);
            if ((up + 1u) < best) {
                best = up + 1u;
            }
            if ((row[j - 1u] + 1u) < best) {
                best = row[j - 1u] + 1u;
            }
            diag = up;
            row[j] = best;
        }
    }
    return row[b.n];
}

/* "ROOST_" + key upper-cased, '.' -> '_'. */
static void env_name_of(const char *key, char *buf, size_t cap)
{
    size_t n = 0u;
    const char *pre = "ROOST_";
    const char *k = key;
    while ((*pre != '\0') && ((n + 1u) < cap)) {
        buf[n] = *pre;
        n++;
        pre++;
    }
    while ((*k != '\0') && ((n + 1u) < cap)) {
        char ch = upper(*k);
        if (*k == '.') {
            ch = '_';
        }
        buf[n] = ch;
        n++;
        k++;
    }
    buf[n] = '\0';
}

/* Best near match of `got` among the key names (env_form: among their
 * ROOST_* names), or NULL. The result points into g_keys or into out. */
static const char *suggest(strv got, bool env_form, char *out, size_t cap)
{
    const char *best = NULL;
    size_t best_d = 3u;
    size_t i;
    for (i = 0u; i < N_KEYS; i++) {
        const char *cand = g_keys[i].name;
        size_t d;
        if (env_form) {
            env_name_of(cand, out, cap);
            cand = out;
        }
        d = edit_distance(got, strv_from_cstr(cand));
        if (d < best_d) {
            best_d = d;
            best = g_keys[i].name;
        }
    }
    if (env_form && (best != NULL)) {
        env_name_of(best, out, cap);
        best = out;
    }
    return best;
}

static int key_index(strv name)
{
    size_t i;
    int found = -1;
    for (i = 0u; (i < N_KEYS) && (found < 0); i++) {
        if (strv_eq_cstr(name, g_keys[i].name)) {
            found = (int)i;
        }
    }
    return found;
}

static size_t key_index_cstr(const char *name)
{
    int i = key_index(strv_from_cstr(name));
    ASSERT(i >= 0);
    return (i >= 0) ? (size_t)i : 0u;
}

/* ---- setting one value --------------------------------------------------- */

static st_t bad_value(cfg_ctx *x, st_t st, const char *label, strv v, const char *why)
{
    return fail(x, st, "%s = '%.*s'%s: %s", label, show_len(v), v.p,
                (v.n > SHOW_MAX) ? "..." : "", why);
}

static st_t too_long(cfg_ctx *x, const char *label, size_t n, size_t size)
{
    return fail(x, ST_TOOBIG, "%s: value too long (%zu bytes, at most %zu)", label, n,
                size - 1u);
}

static st_t set_str(cfg_ctx *x, const key_def *k, const char *label, char *dst, strv v)
{
    st_t st = ST_OK;
    if (v.n >= k->size) {
        st = too_long(x, label, v.n, k->size);
    } else if (memchr(v.p, '\0', v.n) != NULL) {
        st = bad_value(x, ST_INVAL, label, v, "contains a NUL byte");
    } else {
        (void)memcpy(dst, v.p, v.n);
        dst[v.n] = '\0';
    }
    return st;
}

/* Normalise "a , b,,c" to "a,b,c" into dst. */
static st_t set_list(cfg_ctx *x, const key_def *k, const char *label, char *dst, strv v)
{
    strv rest = v;
    strv item;
    size_t n = 0u;
    size_t items = 0u;
    st_t st = ST_OK;
    while ((st == ST_OK) && list_next(&rest, &item)) {
        items++;
        if ((k->max_items != 0u) && (items > k->max_items)) {
            st = fail(x, ST_TOOBIG, "%s: too many items (at most %u)", label,
                      (unsigned)k->max_items);
        } else if (((k->flags & F_NAMES) != 0u) && !name_ok(item)) {
            st = bad_value(x, ST_INVAL, label, item,
                           "provider names are 1-31 characters of a-z 0-9 _ -");
        } else if (((k->flags & F_NAMES) != 0u) && list_has(dst, item)) {
            st = bad_value(x, ST_INVAL, label, item, "listed twice");
        } else if ((n + item.n + ((n > 0u) ? 1u : 0u)) >= k->size) {
            st = too_long(x, label, v.n, k->size);
        } else {
            if (n > 0u) {
                dst[n] = ',';
                n++;
            }
            (void)memcpy(dst + n, item.p, item.n);
            n += item.n;
            dst[n] = '\0';
        }
    }
    return st;
}

static st_t set_url(cfg_ctx *x, const key_def *k, const char *label, char *dst, strv v)
{
    st_t st = ST_OK;
    strv u = v;
    /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
    while ((u.n > 0u) && (u.p[u.n - 1u] == '/')) {
        u.n--;
    }
    if (v.n == 0u) {
        dst[0] = '\0';
    } else if (!(((u.n > 7u) && strv_ieq((strv){ u.p, 7u }, STRV_LIT("http://"))) ||
                 ((u.n > 8u) && strv_ieq((strv){ u.p, 8u }, STRV_LIT("https://"))))) {
        st = bad_value(x, ST_INVAL, label, v, "expected an http:// or https:// URL");
    } else {
        st = set_str(x, k, label, dst, u);
    }
    return st;
}

static st_t set_uint(cfg_ctx *x, const key_def *k, const char *label, void *dst, strv v)
{
    uint64_t n = 0u;
    st_t st = ST_OK;
    char why[96];
    if (!strv_to_u64(v, UINT64_MAX, &n)) {
        (void)snprintf(why, sizeof why, "expected an integer in %" PRIu64 "..%" PRIu64, k->min,
                       k->max);
        st = bad_value(x, ST_INVAL, label, v, why);
    } else if ((n < k->min) || (n > k->max)) {
        if ((k->flags & F_CLAMP) != 0u) {
            n = (n < k->min) ? k->min : k->max;
        } else {
            (void)snprintf(why, sizeof why, "out of range %" PRIu64 "..%" PRIu64, k->min,
                           k->max);
            st = bad_value(x, ST_RANGE, label, v, why);
        }
    } else {
        /* in range */
    }
    if (st == ST_OK) {
        uint_store(dst, k->size, n);
    }
    return st;
}

/* Parse v as key k into the struct at base. label names the key in errors. */
static st_t value_set(cfg_ctx *x, const key_def *k, const char *label, void *base, strv v)
{
    char *dst = (char *)base + k->off;
    st_t st = ST_OK;
    int e; /* cppcheck-suppress variableScope ; one result for the enum-valued cases */
    if (((k->flags & F_NONEMPTY) != 0u) && (v.n == 0u)) {
        st = fail(x, ST_INVAL, "%s: must not be empty", label);
    } else {
        switch (k->kind) {
        case K_STR:
            st = set_str(x, k, label, dst, v);
            break;
        case K_LIST:
            dst[0] = '\0';
            st = set_list(x, k, label, dst, v);
            break;
        case K_URL:
            st = set_url(x, k, label, dst, v);
            break;
        case K_UINT:
            st = set_uint(x, k, label, dst, v);
            break;
        case K_BOOL: {
            static const char *const bools[] = { "false", "true", "0", "1", "no", "yes",
                                                 "off", "on" };
            e = enum_find(bools, sizeof(bools) / sizeof(bools[0]), v);
            if (e < 0) {
                st = bad_value(x, ST_INVAL, label, v, "expected true|false|1|0|yes|no|on|off");
            } else {
                bool b = ((e & 1) != 0);
                ASSERT(k->size == sizeof b);
                (void)memcpy(dst, &b, sizeof b);
            }
            break;
        }
        case K_AUTH:
            e = enum_find(g_auth_names, 3u, v);
            if (e < 0) {
                st = bad_value(x, ST_INVAL, label, v, "expected auto|key|open");
            } else {
                auth_mode m = (auth_mode)e;
                ASSERT(k->size == sizeof m);
                (void)memcpy(dst, &m, sizeof m);
            }
            break;
        case K_LEVEL:
            e = enum_find(g_level_names, 4u, v);
            if (e < 0) {
                st = bad_value(x, ST_INVAL, label, v, "expected debug|info|warn|error");
            } else {
                log_level lv = (log_level)e;
                ASSERT(k->size == sizeof lv);
                (void)memcpy(dst, &lv, sizeof lv);
            }
            break;
        case K_KIND:
            e = enum_find(g_kind_names, 3u, v);
            if (e < 0) {
                st = bad_value(x, ST_INVAL, label, v, "expected anthropic|openai-compatible");
            } else {
                cfg_prov_kind kd = (cfg_prov_kind)e;
                ASSERT(k->size == sizeof kd);
                (void)memcpy(dst, &kd, sizeof kd);
            }
            break;
        default:
            st = fail(x, ST_INTERNAL, "%s: bad key type", label);
            break;
        }
    }
    return st;
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
    const key_def *f = NULL;
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
        return fail(x, ST_BAD, "unknown key '" PROV_PREFIX "%.*s' (expected "
                    PROV_PREFIX "NAME.FIELD)", show_len(rest), rest.p);
    }
    name_len = dot - rest.p;
    name = (strv){ rest.p, (size_t)name_len };
    field = (strv){ dot + 1, rest.n - name.n - 1u };
    for (i = 0u; (i < N_PFIELDS) && (f == NULL); i++) {
        if (strv_eq_cstr(field, g_pfields[i].name)) {
            f = &g_pfields[i];
        }
    }
    if (!name_ok(name)) {
        return fail(x, ST_BAD, "'" PROV_PREFIX "%.*s': provider names are 1-31 characters "
                    "of a-z 0-9 _ -", show_len(rest), rest.p);
    }
    if (f == NULL) {
        return fail(x, ST_BAD, "unknown key '" PROV_PREFIX "%.*s' (fields: kind, base_url, "
                    "api_key_secret, default_model, timeout_ms)", show_len(rest), rest.p);
    }
    p = prov_find(x->c, name);
    if (p == NULL) {
        if (x->c->llm.n_prov >= (uint32_t)CFG_MAX_PROVIDERS) {
            return fail(x, ST_TOOBIG, "too many LLM providers (at most %u)",
                        (unsigned)CFG_MAX_PROVIDERS);
        }
        p = &x->c->llm.prov[x->c->llm.n_prov];
        x->c->llm.n_prov++;
        (void)memset(p, 0, sizeof *p);
        (void)memcpy(p->name, name.p, name.n);
        p->name[name.n] = '\0';
        for (i = 0u; (i < N_PFIELDS) && (st == ST_OK); i++) {
            if (g_pfields[i].def != NULL) {
                st = value_set(x, &g_pfields[i], g_pfields[i].name, p,
                               strv_from_cstr(g_pfields[i].def));
            }
        }
    }
    if (st == ST_OK) {
        char label[sizeof(PROV_PREFIX) + (size_t)CFG_CONF_NAME_BYTES + 32u];
        (void)snprintf(label, sizeof label, PROV_PREFIX "%s.%s", p->name, f->name);
        st = value_set(x, f, label, p, v);
    }
    return st;
}

/* ---- applying one key = value from any source ---------------------------- */

/* Keys of what this profile does not build: a family's keys and llm.*.
 * What the key belongs to, or NULL when it is built. */
static const char *key_not_built(strv key)
{
    static const struct built_part {
        const char *prefix;
        bool built;
        const char *what;
    } k_parts[] = {
        { "fleet.", CFG_FAM_FLEET != 0, "family fleet" },
        { "rpg.", CFG_FAM_RPG != 0, "family rpg" },
        { "observability.", CFG_FAM_OBS != 0, "family observability" },
        { "documents.", CFG_FAM_DOCS != 0, "family documents" },
        { "agents.", CFG_FAM_AGENTS != 0, "family agents" },
        { "llm.", CFG_WITH_LLM != 0, "the LLM stack" },
    };
    const char *what = NULL;
    size_t i;
    for (i = 0u; (i < (sizeof(k_parts) / sizeof(k_parts[0]))) && (what == NULL); i++) {
        if (!k_parts[i].built && strv_starts_with_cstr(key, k_parts[i].prefix)) {
            what = k_parts[i].what;
        }
    }
    return what;
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
    return fail(x, ST_BAD, "'%.*s': %s is not built in this profile (%s; see roostd "
                "--limits)", show_len(key), key.p, what, CFG_PROFILE_NAME);
}

static st_t key_apply(cfg_ctx *x, strv key, strv v)
{
    int i = key_index(key);
    const char *what = key_not_built(key);
    st_t st;
    if ((what != NULL) && ((i >= 0) || strv_starts_with_cstr(key, PROV_PREFIX))) {
        st = key_not_built_apply(x, key, v, what);
    } else if (i >= 0) {
        st = value_set(x, &g_keys[i], g_keys[i].name, x->c, v);
        x->set[i] = true;
    } else if (strv_starts_with_cstr(key, PROV_PREFIX)) {
        size_t pl = sizeof(PROV_PREFIX) - 1u;
        st = prov_set(x, (strv){ key.p + pl, key.n - pl }, v);
    } else {
        char tmp[8];
        const char *s = suggest(key, false, tmp, sizeof tmp);
        if (s != NULL) {
            st = fail(x, ST_BAD, "unknown key '%.*s' (did you mean '%s'?)", show_len(key),
                      key.p, s);
        } else {
            st = fail(x, ST_BAD, "unknown key '%.*s'", show_len(key), key.p);
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
    for (i = 0u; (i < N_KEYS) && (st == ST_OK); i++) {
        if (g_keys[i].def != NULL) {
            st = value_set(x, &g_keys[i], g_keys[i].name, x->c, strv_from_cstr(g_keys[i].def));
        }
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
    if ((st == ST_NOTFOUND) && !is_explicit) {
        return ST_OK;
    }
    if (st == ST_NOTFOUND) {
        return fail(x, st, "config file %s not found", path);
    }
    if (st == ST_TOOBIG) {
        return fail(x, st, "config file %s is larger than %u bytes", path,
                    (unsigned)CFG_CONF_FILE_BYTES);
    }
    if (st != ST_OK) {
        return fail(x, st, "config file %s: %s", path, status_str(st));
    }
    if (NEVER(n > sizeof g_file)) {
        n = sizeof g_file;
    }
    if ((n >= sizeof(bom)) && (memcmp(g_file, bom, sizeof(bom)) == 0)) {
        pos = sizeof(bom);
    }
    while ((st == ST_OK) && (pos < n)) {
        size_t len = span_to(g_file + pos, n - pos, '\n');
        strv l = trim_all((strv){ g_file + pos, len });
        const char *eq;
        line++;
        pos += len + 1u;
        where_set(x, "%s:%u", path, line);
        /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
        if ((l.n == 0u) || (l.p[0] == '#')) {
            continue;
        }
        eq = memchr(l.p, '=', l.n);
        if (memchr(l.p, '\0', l.n) != NULL) {
            st = fail(x, ST_BAD, "NUL byte in line");
        } else if (eq == NULL) {
            st = fail(x, ST_BAD, "expected 'key = value', got '%.*s'", show_len(l), l.p);
        } else {
            size_t klen = span_to(l.p, l.n, '=');
            strv key = trim_all((strv){ l.p, klen });
            strv val = trim_all((strv){ eq + 1, l.n - klen - 1u });
            if (key.n == 0u) {
                st = fail(x, ST_BAD, "missing key before '='");
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
    for (i = 0u; (i < N_ALIASES) && (st == ST_OK); i++) {
        const char *v = env_get(envp, g_aliases[i].env);
        /* An upstream name (PORT, CORS_ORIGINS) may be set for another
         * program: for a family not built it is ignored, not refused. */
        if ((v != NULL) && (key_not_built(strv_from_cstr(g_aliases[i].key)) == NULL)) {
            where_set(x, "environment variable %s", g_aliases[i].env);
            st = key_apply(x, strv_from_cstr(g_aliases[i].key), trim_all(strv_from_cstr(v)));
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
    for (i = 0u; (i < N_PFIELDS) && !*matched; i++) {
        char suf[32];
        size_t fl = strlen(g_pfields[i].name);
        size_t pl = sizeof(pre) - 1u;
        suf[0] = '_';
        for (j = 0u; (j < fl) && ((j + 2u) < sizeof suf); j++) {
            suf[j + 1u] = upper(g_pfields[i].name[j]);
        }
        if ((name.n > (pl + fl + 1u)) &&
            (memcmp(name.p + name.n - fl - 1u, suf, fl + 1u) == 0)) {
            size_t nl = name.n - pl - fl - 1u;
            *matched = true;
            if (nl >= (size_t)CFG_CONF_NAME_BYTES) {
                st = fail(x, ST_BAD, "provider name too long");
            } else {
                size_t k = 0u;
                (void)memcpy(key, PROV_PREFIX, sizeof(PROV_PREFIX) - 1u);
                k = sizeof(PROV_PREFIX) - 1u;
                for (j = 0u; j < nl; j++) {
                    key[k] = lower(name.p[pl + j]);
                    k++;
                }
                key[k] = '.';
                k++;
                (void)memcpy(key + k, g_pfields[i].name, fl);
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
    for (i = 0u; (envp != NULL) && (envp[i] != NULL) && (st == ST_OK); i++) {
        const char *e = envp[i];
        const char *eq = strchr(e, '=');
        strv name;
        strv v;
        bool done = false;
        if ((strncmp(e, "ROOST_", 6u) != 0) || (eq == NULL)) {
            continue;
        }
        name = (strv){ e, span_to(e, strlen(e), '=') };
        v = trim_all(strv_from_cstr(eq + 1));
        if (strv_eq_cstr(name, "ROOST_CONFIG")) {
            continue;
        }
        where_set(x, "environment variable %.*s", show_len(name), name.p);
        for (k = 0u; (k < N_KEYS) && !done; k++) {
            env_name_of(g_keys[k].name, buf, sizeof buf);
            if (strv_eq_cstr(name, buf)) {
                done = true;
                st = value_set(x, &g_keys[k], g_keys[k].name, x->c, v);
                x->set[k] = true;
            }
        }
        if (!done) {
            st = env_provider(x, name, v, &done);
        }
        if ((st == ST_OK) && !done) {
            const char *s = suggest(name, true, buf, sizeof buf);
            if (s != NULL) {
                st = fail(x, ST_BAD, "does not name a roost key (did you mean %s?)", s);
            } else {
                st = fail(x, ST_BAD, "does not name a roost key (see roostd --help)");
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
    while ((i < argc) && (st == ST_OK)) {
        const char *a = argv[i];
        i++;
        x->where[0] = '\0';
        if (arg_eq(a, "--budget") || arg_eq(a, "--limits") || (strncmp(a, "--config=", 9u) == 0)) {
            continue;
        }
        if (arg_eq(a, "--config")) {
            i++;
            continue;
        }
        if ((a[0] == '-') && (a[1] == '-') && (a[2] != '\0')) {
            const char *body = a + 2;
            const char *eq = strchr(body, '=');
            strv key = strv_from_cstr(body);
            key.n = span_to(key.p, key.n, '=');
            where_set(x, "flag --%.*s", show_len(key), key.p);
            if ((key_index(key) < 0) && !strv_starts_with_cstr(key, PROV_PREFIX)) {
                st = key_apply(x, key, STRV_NULL); /* reports the unknown key */
            } else if (eq != NULL) {
                st = key_apply(x, key, trim_all(strv_from_cstr(eq + 1)));
            } else if (i < argc) {
                st = key_apply(x, key, trim_all(strv_from_cstr(argv[i])));
                i++;
            } else {
                st = fail(x, ST_BAD, "needs a value (--%.*s=VALUE)", show_len(key), key.p);
            }
        } else if (a[0] == '-') {
            st = fail(x, ST_BAD, "unknown option '%s' (see roostd --help)", a);
        } else {
            st = fail(x, ST_BAD, "unexpected argument '%s' (see roostd --help)", a);
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
        if (is_empty(l->tls_cert) != is_empty(l->tls_key)) {
            st = fail(x, ST_INVAL, "%s.%s is set but %s.%s is not (set both or neither)",
                      g_fam_names[i], is_empty(l->tls_cert) ? "tls_key" : "tls_cert",
                      g_fam_names[i], is_empty(l->tls_cert) ? "tls_cert" : "tls_key");
        }
        for (j = i + 1u; (j < (size_t)FAM_COUNT) && (st == ST_OK); j++) {
            const cfg_listener *m = &c->fam[j];
            if (l->enabled && m->enabled && (l->port != 0u) && (l->port == m->port) &&
                (strcmp(l->host, m->host) == 0)) {
                st = fail(x, ST_INVAL, "%s.port and %s.port are both %s:%u", g_fam_names[i],
                          g_fam_names[j], l->host, (unsigned)l->port);
            }
        }
    }
    if ((st == ST_OK) && (c->rpg.ws_resume_bytes >= c->rpg.ws_pause_bytes)) {
        st = fail(x, ST_INVAL, "rpg.ws_resume_bytes (%" PRIu64 ") must be below "
                  "rpg.ws_pause_bytes (%" PRIu64 ")", c->rpg.ws_resume_bytes,
                  c->rpg.ws_pause_bytes);
    }
    if ((st == ST_OK) && (c->rpg.ws_pause_bytes > c->rpg.ws_max_buffer_bytes)) {
        st = fail(x, ST_INVAL, "rpg.ws_pause_bytes (%" PRIu64 ") must not exceed "
                  "rpg.ws_max_buffer_bytes (%" PRIu64 ")", c->rpg.ws_pause_bytes,
                  c->rpg.ws_max_buffer_bytes);
    }
    return st;
}

static st_t finish_paths(cfg_ctx *x, const char *cwd)
{
    roost_cfg *c = x->c;
    st_t st = ST_OK;
    static const char sub[] = "/.agent-orchestrator/agents";
    if (!x->set[key_index_cstr("agents.project_dir")]) {
        if ((cwd == NULL) || (cwd[0] == '\0')) {
            st = fail(x, ST_INVAL, "agents.project_dir: working directory unknown, set it");
        } else if (strlen(cwd) >= sizeof c->agents.project_dir) {
            st = fail(x, ST_TOOBIG, "agents.project_dir: working directory path too long "
                      "(at most %zu bytes)", sizeof c->agents.project_dir - 1u);
        } else {
            (void)memcpy(c->agents.project_dir, cwd, strlen(cwd) + 1u);
        }
    }
    if ((st == ST_OK) && !x->set[key_index_cstr("agents.dir")]) {
        size_t pn = strlen(c->agents.project_dir);
        /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
        while ((pn > 0u) && (c->agents.project_dir[pn - 1u] == '/')) {
            pn--;
        }
        if ((pn + sizeof sub) > sizeof c->agents.dir) {
            st = fail(x, ST_TOOBIG, "agents.dir: %.*s%s is too long (at most %zu bytes)",
                      (int)pn, c->agents.project_dir, sub, sizeof c->agents.dir - 1u);
        } else {
            (void)memcpy(c->agents.dir, c->agents.project_dir, pn);
            (void)memcpy(c->agents.dir + pn, sub, sizeof sub);
        }
    }
    if ((st == ST_OK) && !x->set[key_index_cstr("documents.public_url")]) {
        int k = snprintf(c->docs.public_url, sizeof c->docs.public_url, "http://localhost:%u",
                         (unsigned)c->fam[FAM_DOCS].port);
        if (NEVER((k <= 0) || ((size_t)k >= sizeof c->docs.public_url))) {
            st = ST_INTERNAL;
        }
        c->docs.public_url_derived = true;
    }
    return st;
}

static st_t prov_complete(cfg_ctx *x, cfg_provider *p)
{
    st_t st = ST_OK;
    if (p->kind == PROV_ANTHROPIC) {
        if (is_empty(p->base_url)) {
            (void)memcpy(p->base_url, ANTHROPIC_URL, sizeof ANTHROPIC_URL);
        }
        if (is_empty(p->api_key_secret)) {
            (void)memcpy(p->api_key_secret, ANTHROPIC_SECRET, sizeof ANTHROPIC_SECRET);
        }
        if (is_empty(p->default_model)) {
            (void)memcpy(p->default_model, ANTHROPIC_MODEL, sizeof ANTHROPIC_MODEL);
        }
    } else if (is_empty(p->base_url)) {
        st = fail(x, ST_INVAL, PROV_PREFIX "%s.base_url is required for kind "
                  "openai-compatible", p->name);
    } else if (is_empty(p->default_model)) {
        st = fail(x, ST_INVAL, PROV_PREFIX "%s.default_model is required for kind "
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
    while ((st == ST_OK) && list_next(&rest, &item)) {
        cfg_provider *p = prov_find(c, item);
        if ((p == NULL) || (p->kind == PROV_NONE)) {
            st = fail(x, ST_INVAL, "llm.providers lists '%.*s' but " PROV_PREFIX
                      "%.*s.kind is not set", show_len(item), item.p, show_len(item), item.p);
        } else {
            ptrdiff_t slot = p - c->llm.prov;
            size_t at = (size_t)slot;
            if (at != n) {
                cfg_provider tmp;
                ASSERT(at > n);
                (void)memcpy(&tmp, &c->llm.prov[n], sizeof tmp);
                (void)memcpy(&c->llm.prov[n], p, sizeof tmp);
                (void)memcpy(p, &tmp, sizeof tmp);
            }
            st = prov_complete(x, &c->llm.prov[n]);
            n++;
        }
    }
    if ((st == ST_OK) && (c->llm.n_prov > n)) {
        st = fail(x, ST_INVAL, PROV_PREFIX "%s.* is set but '%s' is not in llm.providers",
                  c->llm.prov[n].name, c->llm.prov[n].name);
    }
    c->llm.n_prov = n;

    if ((st == ST_OK) && !x->set[key_index_cstr("llm.fallback_chain")]) {
        (void)memcpy(c->llm.fallback_chain, c->llm.providers, sizeof c->llm.fallback_chain);
    }
    rest = strv_from_cstr(c->llm.fallback_chain);
    c->llm.n_chain = 0u;
    while ((st == ST_OK) && list_next(&rest, &item)) {
        const cfg_provider *p = prov_find(c, item);
        if (p == NULL) {
            st = fail(x, ST_INVAL, "llm.fallback_chain lists '%.*s', which is not in "
                      "llm.providers", show_len(item), item.p);
        } else if (NEVER(c->llm.n_chain >= (uint32_t)CFG_MAX_PROVIDERS)) {
            st = ST_INTERNAL;
        } else {
            ptrdiff_t slot = p - c->llm.prov;
            c->llm.chain[c->llm.n_chain] = (uint8_t)slot;
            c->llm.n_chain++;
        }
    }

    if ((st == ST_OK) && !x->set[key_index_cstr("llm.builder_provider")]) {
        c->llm.builder_provider[0] = '\0';
        if (c->llm.n_chain > 0u) {
            const cfg_provider *p = &c->llm.prov[c->llm.chain[0]];
            (void)memcpy(c->llm.builder_provider, p->name, strlen(p->name) + 1u);
        }
    }
    if ((st == ST_OK) && !is_empty(c->llm.builder_provider)) {
        const cfg_provider *p = prov_find(c, strv_from_cstr(c->llm.builder_provider));
        if (p == NULL) {
            st = fail(x, ST_INVAL, "llm.builder_provider '%s' is not in llm.providers",
                      c->llm.builder_provider);
        } else if (!x->set[key_index_cstr("llm.builder_model")]) {
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
    bool budget = false;
    bool limits = false;
    int i;
    st_t st;

    (void)memset(x, 0, sizeof *x);
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
        } else if (arg_eq(a, "--config")) {
            if (i < argc) {
                conf = argv[i];
                i++;
                conf_explicit = true;
            } else {
                st = fail(x, ST_BAD, "flag --config needs a PATH");
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
                conf = "roost.conf";
            }
        }
        if (conf[0] == '\0') {
            st = fail(x, ST_BAD, "flag --config needs a PATH");
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
        st = finish_paths(x, cwd);
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
    return st;
}

bool cfg_fam_built(fam_id f)
{
    static const bool k_built[FAM_COUNT] = {
        CFG_FAM_FLEET != 0, CFG_FAM_RPG != 0, CFG_FAM_OBS != 0, CFG_FAM_DOCS != 0,
        CFG_FAM_AGENTS != 0,
    };
    return ((unsigned)f < (unsigned)FAM_COUNT) && k_built[f];
}

const char *fam_name(fam_id f)
{
    return ((unsigned)f < (unsigned)FAM_COUNT) ? g_fam_names[f] : "?";
}

const cfg_provider *cfg_provider_find(const roost_cfg *c, strv name)
{
    uint32_t i;
    const cfg_provider *p = NULL;
    for (i = 0u; (i < c->llm.n_prov) && (p == NULL); i++) {
        if (strv_eq_cstr(name, c->llm.prov[i].name)) {
            p = &c->llm.prov[i];
        }
    }
    return p;
}

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

static void value_format(const key_def *k, const void *base, char *out, size_t cap)
{
    const char *p = (const char *)base + k->off;
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
        (void)snprintf(out, cap, "%" PRIu64, uint_load(p, k->size));
        break;
    case K_AUTH: {
        auth_mode m;
        (void)memcpy(&m, p, sizeof m);
        e = (int)m;
        (void)snprintf(out, cap, "%s", ((e >= 0) && (e < 3)) ? g_auth_names[e] : "?");
        break;
    }
    case K_LEVEL: {
        log_level lv;
        (void)memcpy(&lv, p, sizeof lv);
        e = (int)lv;
        (void)snprintf(out, cap, "%s", ((e >= 0) && (e < 4)) ? g_level_names[e] : "?");
        break;
    }
    case K_KIND: {
        cfg_prov_kind kd;
        (void)memcpy(&kd, p, sizeof kd);
        e = (int)kd;
        (void)snprintf(out, cap, "%s", ((e >= 0) && (e < 3)) ? g_kind_names[e] : "?");
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

    for (i = 0u; room && (i < (N_KEYS + ((size_t)c->llm.n_prov * N_PFIELDS))); i++) {
        if (i < N_KEYS) {
            value_format(&g_keys[i], c, val, sizeof val);
            k = snprintf(line, sizeof line, "%s =%s%s\n", g_keys[i].name,
                         (val[0] != '\0') ? " " : "", val);
        } else {
            p = (uint32_t)((i - N_KEYS) / N_PFIELDS);
            f = (i - N_KEYS) % N_PFIELDS;
            value_format(&g_pfields[f], &c->llm.prov[p], val, sizeof val);
            k = snprintf(line, sizeof line, PROV_PREFIX "%s.%s =%s%s\n", c->llm.prov[p].name,
                         g_pfields[f].name, (val[0] != '\0') ? " " : "", val);
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
    w_printf(w, "Usage: roostd [OPTION...] [--KEY=VALUE...]\n\n"
             "Options:\n"
             "  -h, --help         print this help and exit\n"
             "  -V, --version      print the version and exit\n"
             "  --config PATH      config file (default: ./roost.conf if it exists)\n"
             "  --budget           check the config, print the static RAM plan, exit\n"
             "  --limits           print the profile and its compile-time limits, exit\n"
             "  --KEY=VALUE        set any key below (--KEY VALUE works too)\n\n");
    w_printf(w, "Build profile: %s. Keys of a family not built in (or llm.* without\n"
             "the LLM stack) are refused; F.enabled=false is accepted.\n\n",
             CFG_PROFILE_NAME);
    w_printf(w, "Families (one listener each; all bound to 127.0.0.1 by default):\n");
    for (i = 0u; i < (size_t)FAM_COUNT; i++) {
        static const char *const what[FAM_COUNT] = {
            "bots, souls, chat over SSE, /ws/events, builder, web UI",
            "tmux panes running Claude Code, personas, quests, XP",
            "Claude Code hook events and sessions, /ws",
            "tagged file store",
            "agent blueprints on disk",
        };
        const char *fn = g_fam_names[i];
        char key[32];
        if (!cfg_fam_built((fam_id)i)) {
            w_printf(w, "  %-13s  not built in this profile\n", fn);
            continue;
        }
        (void)snprintf(key, sizeof key, "%s.port", fn);
        w_printf(w, "  %-13s  %-4s  %s\n      --%s.enabled --%s.host --%s.port ...\n", fn,
                 g_keys[key_index_cstr(key)].def, what[i], fn, fn, fn);
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
    for (i = 0u; i < N_KEYS; i++) {
        const key_def *k = &g_keys[i];
        if ((k->flags & F_FAMILY) == 0u) {
            help_key_line(w, k->name, k->meta,
                          (k->hdef != NULL) ? k->hdef : (!is_empty(k->def) ? k->def : "unset"));
        }
    }
    w_printf(w, "LLM providers (NAME as listed in llm.providers):\n");
    for (i = 0u; i < N_PFIELDS; i++) {
        char flag[48];
        const key_def *k = &g_pfields[i];
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
    for (i = 0u; i < N_ALIASES; i++) {
        size_t len = strlen(g_aliases[i].env);
        if ((i > 0u) && (strcmp(g_aliases[i].env, g_aliases[i - 1u].env) == 0)) {
            continue;
        }
        if ((col + 1u + len) > 78u) {
            w_printf(w, "\n   ");
            col = 3u;
        }
        w_printf(w, " %s", g_aliases[i].env);
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
