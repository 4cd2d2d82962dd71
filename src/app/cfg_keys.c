/*
 * cfg_keys.c - the keys of the runtime configuration and the setters
 * that parse a value into roost_cfg (app/cfg.h is the contract, cfg_int.h
 * what the parts of cfg share).
 *
 * Implementation notes
 * - The keys are one index space (cfg_key): the app's rows here (values in
 *   roost_cfg), the listener rows of every family, made once from
 *   k_listener and the descriptors' prefixes (values in roost_cfg's
 *   fam[i]), each family's own rows from its descriptor (values in the
 *   family's storage, fam/keys.h), then the app's other rows. Parsing,
 *   ROOST_* names, --help and cfg_dump all walk it, so nothing here names a
 *   family. Defaults are applied by parsing the default text with the same
 *   setter a file value goes through (cfg.c); a family's listener defaults
 *   (port, CORS origins) come from its descriptor (fam/desc.h).
 * - llm.provider.<name>.<field> keys are not in that space: cfg_pfields[]
 *   describes the fields (offsets into cfg_provider); cfg.c takes a slot in
 *   c->llm.prov on a name's first use.
 * - Every error is written once, as "<where>: <what>", by cfg_fail().
 */
#include "app/cfg_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/assert.h"
#include "fam/families.h"

/* ---- the key table ------------------------------------------------------- */


#define OFF(m) offsetof(roost_cfg, m)
/* cppcheck-suppress misra-c2012-20.7 ; a member name cannot be parenthesised */
#define SZ(m) sizeof(((roost_cfg *)NULL)->m)
#define KEY(nm, kd, fl, m, lo, hi, items, dflt, mt, hd) \
    { (nm), (kd), (fl), (items), OFF(m), SZ(m), (lo), (hi), (dflt), (mt), (hd), NULL }

/* The app's keys before the families' ... */
static const cfg_key_def k_head[] = {
    KEY("data_dir", K_STR, F_NONEMPTY, data_dir, 0, 0, 0, "./roost-data", "DIR", NULL),
    KEY("max_json_body_bytes", K_UINT, F_LIVE, max_json_body_bytes, 1, KEY_MAX_U32, 0, "1048576",
        "N", NULL),
    KEY("max_hook_body_bytes", K_UINT, F_LIVE, max_hook_body_bytes, 1, KEY_MAX_U32, 0, "8388608",
        "N", NULL),
    KEY("log_level", K_LEVEL, F_LIVE, log_level, 0, 0, 0, "info", "LEVEL",
        "info (debug|info|warn|error)"),
};

/* ... and after them. */
static const cfg_key_def k_tail[] = {
    KEY("http.body_timeout_ms", K_UINT, F_LIVE, http.body_timeout_ms, 0, 3600000, 0, "0", "MS",
        "0 = CFG_BODY_TIMEOUT_MS; body stall: 408"),
    KEY("tls.handshake_timeout_ms", K_UINT, 0, tls.handshake_timeout_ms, 100, 600000, 0,
        "10000", "MS", "10000; a stalled TLS handshake: closed"),
    KEY("diag.echo", K_BOOL, 0, diag.echo, 0, 0, 0, "false", "BOOL",
        "false (echo POST/WS at /_echo; loopback)"),
#if CFG_FAULT
    /* debug builds only (fam/shared/fault_ctl.h); loopback listeners only */
    KEY("diag.faults", K_BOOL, 0, diag_faults, 0, 0, 0, "false", "BOOL",
        "false (/_fault; debug builds)"),
#endif
    KEY("llm.providers", K_LIST, F_NAMES, llm.providers, 0, 0, CFG_MAX_PROVIDERS, "", "LIST",
        "none (e.g. anthropic,ollama)"),
    KEY("llm.fallback_chain", K_LIST, F_NAMES, llm.fallback_chain, 0, 0, CFG_MAX_PROVIDERS,
        NULL, "LIST", "the order of llm.providers"),
    KEY("llm.request_budget_tokens", K_UINT, F_CLAMP | F_LIVE, llm.request_budget_tokens, 10000,
        1000000000, 0, "500000", "N", "500000 (at least 10000)"),
    KEY("llm.budget_pause_timeout_ms", K_UINT, F_LIVE, llm.budget_pause_timeout_ms, 0, KEY_MS_DAY, 0,
        "120000", "MS", NULL),
    KEY("llm.max_depth", K_UINT, F_LIVE, llm.max_depth, 0, 16, 0, "3", "N", NULL),
    KEY("llm.history_max_messages", K_UINT, F_LIVE, llm.history_max_messages, 0, 10000, 0, "50",
        "N", NULL),
    KEY("llm.builder_provider", K_STR, 0, llm.builder_provider, 0, 0, 0, NULL, "NAME",
        "first of llm.fallback_chain"),
    KEY("llm.builder_model", K_STR, 0, llm.builder_model, 0, 0, 0, NULL, "MODEL",
        "that provider's default_model"),
    KEY("llm.ca_file", K_STR, F_NONEMPTY, llm.ca_file, 0, 0, 0,
        "/etc/ssl/certs/ca-certificates.crt", "FILE", NULL),
};

/* The listener keys every family has, as "." + suffix and an offset into
 * cfg_listener; the rows of family i (name <prefix>.<suffix>, offset into
 * roost_cfg's fam[i]) are made from these once, by keys_init. Their port
 * and cors_origins defaults are the descriptor's, set by load_defaults. */
#define LKEY(sfx, kd, fl, m, lo, hi, items, dflt, mt)                                   \
    { (sfx), (kd), (fl), (items), offsetof(cfg_listener, m),                             \
      sizeof(((cfg_listener *)NULL)->m), (lo), (hi), (dflt), (mt), NULL, NULL }
static const cfg_key_def k_listener[] = {
    LKEY(".enabled", K_BOOL, F_FAMILY, enabled, 0, 0, 0, "true", "BOOL"),
    LKEY(".host", K_STR, F_FAMILY | F_NONEMPTY, host, 0, 0, 0, "127.0.0.1", "ADDR"),
    LKEY(".port", K_UINT, F_FAMILY, port, 0, 65535, 0, NULL, "N"),
    LKEY(".auth", K_AUTH, F_FAMILY, auth, 0, 0, 0, "auto", "MODE"),
    LKEY(".cors_origins", K_LIST, F_FAMILY, cors_origins, 0, 0, CFG_MAX_CORS_ORIGINS, NULL,
         "LIST"),
    LKEY(".tls_cert", K_STR, F_FAMILY, tls_cert, 0, 0, 0, "", "PATH"),
    LKEY(".tls_key", K_STR, F_FAMILY, tls_key, 0, 0, 0, "", "PATH"),
};
#define N_HEAD (sizeof(k_head) / sizeof(k_head[0]))
#define N_TAIL (sizeof(k_tail) / sizeof(k_tail[0]))
#define N_LISTENER (sizeof(k_listener) / sizeof(k_listener[0]))
#define N_LROWS ((size_t)FAM_COUNT * N_LISTENER)
#define LNAME_BYTES 48u /* "<prefix>.cors_origins" */

static cfg_key_def g_lrows[N_LROWS];
static char g_lnames[N_LROWS][LNAME_BYTES];
static size_t g_nkeys; /* 0 until keys_init */

_Static_assert(((sizeof g_lrows) + (sizeof g_lnames)) <= CFG_KEYS_STATIC_BYTES,
               "CFG_KEYS_STATIC_BYTES is the plan of the listener rows");

static void keys_init(void)
{
    size_t f;
    size_t j;
    size_t n = N_HEAD + N_LROWS + N_TAIL;
    if (g_nkeys != 0u) {
        return;
    }
    for (f = 0u; f < (size_t)FAM_COUNT; f++) {
        const fam_desc *d = fam_list[f];
        for (j = 0u; j < N_LISTENER; j++) {
            size_t r = (f * N_LISTENER) + j;
            int k = snprintf(g_lnames[r], LNAME_BYTES, "%s%s", d->prefix, k_listener[j].name);
            ASSERT((k > 0) && ((size_t)k < LNAME_BYTES));
            (void)k;   /* checked in debug builds; prefixes are short literals */
            g_lrows[r] = k_listener[j];
            g_lrows[r].name = g_lnames[r];
            /* cppcheck-suppress misra-c2012-10.4 ; false positive: offsetof is a size_t, as off */
            g_lrows[r].off += offsetof(roost_cfg, fam);
            g_lrows[r].off += f * sizeof(cfg_listener);
        }
        n += d->nkeys;
    }
    /* A family's table past the room of cfg_ctx.set: its last keys would be
     * unknown rather than written past set[] (the unit tests catch it). */
    if (NEVER(n > CFG_KEYS_MAX)) {
        n = CFG_KEYS_MAX;
    }
    g_nkeys = n;
}

size_t cfg_key_count(void)
{
    keys_init();
    return g_nkeys;
}

const cfg_key_def *cfg_key(size_t i)
{
    const cfg_key_def *k = NULL;
    size_t at = i;
    keys_init();
    ASSERT(i < g_nkeys);
    if (at < N_HEAD) {
        k = &k_head[at];
    } else {
        at -= N_HEAD;
        if (at < N_LROWS) {
            k = &g_lrows[at];
        } else {
            size_t f;
            at -= N_LROWS;
            for (f = 0u; (f < (size_t)FAM_COUNT) && (k == NULL); f++) {
                if (at < fam_list[f]->nkeys) {
                    k = &fam_list[f]->keys[at];
                } else {
                    at -= fam_list[f]->nkeys;
                }
            }
            if (k == NULL) {
                k = &k_tail[(at < N_TAIL) ? at : 0u];
            }
        }
    }
    return k;
}

void *cfg_key_value(const cfg_key_def *k, void *base)
{
    return (k->ptr != NULL) ? k->ptr : (void *)((char *)base + k->off);
}

const void *cfg_key_cvalue(const cfg_key_def *k, const void *base)
{
    return (k->ptr != NULL) ? (const void *)k->ptr : (const void *)((const char *)base + k->off);
}

size_t cfg_alias_count(void)
{
    size_t f;
    size_t n = 0u;
    for (f = 0u; f < (size_t)FAM_COUNT; f++) {
        n += fam_list[f]->naliases;
    }
    return n;
}

const cfg_alias *cfg_alias_at(size_t i)
{
    const cfg_alias *a = NULL;
    size_t at = i;
    size_t f;
    for (f = 0u; (f < (size_t)FAM_COUNT) && (a == NULL); f++) {
        if (at < fam_list[f]->naliases) {
            a = &fam_list[f]->aliases[at];
        } else {
            at -= fam_list[f]->naliases;
        }
    }
    ASSERT(a != NULL);
    return a;
}

_Static_assert(CFG_MAX_CORS_ORIGINS <= 255, "max_items is 8-bit");
_Static_assert(CFG_MAX_PROVIDERS <= 255, "chain indexes are 8-bit");
_Static_assert(CFG_CONF_NAME_BYTES >= 16, "provider names need room");


#define PKEY(nm, kd, m, lo, hi, dflt, mt, hd)                                          \
    { (nm), (kd), 0, 0, offsetof(cfg_provider, m), sizeof(((cfg_provider *)NULL)->m), (lo), \
      (hi), (dflt), (mt), (hd), NULL }

/* Fields of llm.provider.<name>.<field>. Defaults that depend on the kind
 * are filled in finish(). */
static const cfg_key_def k_pfields[] = {
    PKEY("kind", K_KIND, kind, 0, 0, NULL, "KIND", "anthropic|openai-compatible"),
    PKEY("base_url", K_URL, base_url, 0, 0, NULL, "URL", "anthropic: " ANTHROPIC_URL),
    PKEY("api_key_secret", K_STR, api_key_secret, 0, 0, NULL, "SECRET",
         "anthropic: " ANTHROPIC_SECRET),
    PKEY("default_model", K_STR, default_model, 0, 0, NULL, "MODEL",
         "anthropic: " ANTHROPIC_MODEL),
    PKEY("timeout_ms", K_UINT, timeout_ms, 1, 3600000, "30000", "MS", NULL),
};

const size_t cfg_npfields = sizeof(k_pfields) / sizeof(k_pfields[0]);

static const char *const k_auth_names[] = { "auto", "key", "open" };
static const char *const k_level_names[] = { "debug", "info", "warn", "error" };
static const char *const k_kind_names[] = { "", "anthropic", "openai-compatible" };

const cfg_key_def *const cfg_pfields = k_pfields;
const char *const *const cfg_auth_names = k_auth_names;
const char *const *const cfg_level_names = k_level_names;
const char *const *const cfg_kind_names = k_kind_names;


/* ---- load context and errors -------------------------------------------- */

bool cfg_is_empty(const char *s)
{
    return s[0] == '\0';
}

int cfg_show_len(strv v)
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
st_t cfg_fail(cfg_ctx *x, st_t st, const char *fmt, ...)
{
    if ((x->err != NULL) && (x->errcap > 0u)) {
        size_t n = 0u;
        x->err[0] = '\0';
        if (!cfg_is_empty(x->where)) {
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
void cfg_where_set(cfg_ctx *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(x->where, sizeof x->where, fmt, ap);
    va_end(ap);
}

/* ---- small helpers ------------------------------------------------------- */

char cfg_lower(char ch)
{
    char r = ch;
    if ((ch >= 'A') && (ch <= 'Z')) {
        /* cppcheck-suppress misra-c2012-10.8 ; false positive: char plus an offset is char */
        r = (char)(ch + ('a' - 'A'));
    }
    return r;
}

char cfg_upper(char ch)
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
size_t cfg_span_to(const char *s, size_t n, char c)
{
    const char *hit = memchr(s, c, n);
    size_t len = n;
    if (hit != NULL) {
        ptrdiff_t d = hit - s;
        len = (size_t)d;
    }
    return len;
}

strv cfg_trim_all(strv v)
{
    strv t = strv_trim(v);
    while ((t.n > 0u) && trailing_space(t.p[t.n - 1u])) {
        t.n--;
    }
    return t;
}

/* Next item of a comma-separated list, trimmed; empty items are skipped.
 * False when the list is used up. */
bool cfg_list_next(strv *rest, strv *item)
{
    bool found = false;
    while ((rest->n > 0u) && !found) {
        size_t len = cfg_span_to(rest->p, rest->n, ',');
        *item = cfg_trim_all((strv){ rest->p, len });
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
    while (!has && cfg_list_next(&rest, &item)) {
        has = strv_eq(item, name);
    }
    return has;
}

bool cfg_name_ok(strv v)
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

uint64_t cfg_uint_load(const void *p, size_t size)
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
            size_t best = diag + ((cfg_lower(a.p[i - 1u]) == cfg_lower(b.p[j - 1u])) ? 0u : 1u);
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
void cfg_env_name_of(const char *key, char *buf, size_t cap)
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
        char ch = cfg_upper(*k);
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
 * ROOST_* names), or NULL. The result points into cfg_keys or into out. */
const char *cfg_suggest(strv got, bool env_form, char *out, size_t cap)
{
    const char *best = NULL;
    size_t best_d = 3u;
    size_t i;
    for (i = 0u; i < cfg_key_count(); i++) {
        const char *cand = cfg_key(i)->name;
        size_t d;
        if (env_form) {
            cfg_env_name_of(cand, out, cap);
            cand = out;
        }
        d = edit_distance(got, strv_from_cstr(cand));
        if (d < best_d) {
            best_d = d;
            best = cfg_key(i)->name;
        }
    }
    if (env_form && (best != NULL)) {
        cfg_env_name_of(best, out, cap);
        best = out;
    }
    return best;
}

int cfg_key_index(strv name)
{
    size_t i;
    int found = -1;
    for (i = 0u; (i < cfg_key_count()) && (found < 0); i++) {
        if (strv_eq_cstr(name, cfg_key(i)->name)) {
            found = (int)i;
        }
    }
    return found;
}

size_t cfg_key_index_cstr(const char *name)
{
    int i = cfg_key_index(strv_from_cstr(name));
    ASSERT(i >= 0);
    return (i >= 0) ? (size_t)i : 0u;
}

/* ---- setting one value --------------------------------------------------- */

static st_t bad_value(cfg_ctx *x, st_t st, const char *label, strv v, const char *why)
{
    return cfg_fail(x, st, "%s = '%.*s'%s: %s", label, cfg_show_len(v), v.p,
                (v.n > SHOW_MAX) ? "..." : "", why);
}

static st_t too_long(cfg_ctx *x, const char *label, size_t n, size_t size)
{
    return cfg_fail(x, ST_TOOBIG, "%s: value too long (%zu bytes, at most %zu)", label, n,
                size - 1u);
}

static st_t set_str(cfg_ctx *x, const cfg_key_def *k, const char *label, char *dst, strv v)
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
static st_t set_list(cfg_ctx *x, const cfg_key_def *k, const char *label, char *dst, strv v)
{
    strv rest = v;
    strv item;
    size_t n = 0u;
    size_t items = 0u;
    st_t st = ST_OK;
    while ((st == ST_OK) && cfg_list_next(&rest, &item)) {
        items++;
        if ((k->max_items != 0u) && (items > k->max_items)) {
            st = cfg_fail(x, ST_TOOBIG, "%s: too many items (at most %u)", label,
                      (unsigned)k->max_items);
        } else if (((k->flags & F_NAMES) != 0u) && !cfg_name_ok(item)) {
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

static st_t set_url(cfg_ctx *x, const cfg_key_def *k, const char *label, char *dst, strv v)
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

static st_t set_uint(cfg_ctx *x, const cfg_key_def *k, const char *label, void *dst, strv v)
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
st_t cfg_value_set(cfg_ctx *x, const cfg_key_def *k, const char *label, void *base, strv v)
{
    char *dst = cfg_key_value(k, base);
    st_t st = ST_OK;
    int e; /* cppcheck-suppress variableScope ; one result for the enum-valued cases */
    if (((k->flags & F_NONEMPTY) != 0u) && (v.n == 0u)) {
        st = cfg_fail(x, ST_INVAL, "%s: must not be empty", label);
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
            e = enum_find(cfg_auth_names, 3u, v);
            if (e < 0) {
                st = bad_value(x, ST_INVAL, label, v, "expected auto|key|open");
            } else {
                auth_mode m = (auth_mode)e;
                ASSERT(k->size == sizeof m);
                (void)memcpy(dst, &m, sizeof m);
            }
            break;
        case K_LEVEL:
            e = enum_find(cfg_level_names, 4u, v);
            if (e < 0) {
                st = bad_value(x, ST_INVAL, label, v, "expected debug|info|warn|error");
            } else {
                log_level lv = (log_level)e;
                ASSERT(k->size == sizeof lv);
                (void)memcpy(dst, &lv, sizeof lv);
            }
            break;
        case K_KIND:
            e = enum_find(cfg_kind_names, 3u, v);
            if (e < 0) {
                st = bad_value(x, ST_INVAL, label, v, "expected anthropic|openai-compatible");
            } else {
                cfg_prov_kind kd = (cfg_prov_kind)e;
                ASSERT(k->size == sizeof kd);
                (void)memcpy(dst, &kd, sizeof kd);
            }
            break;
        default:
            st = cfg_fail(x, ST_INTERNAL, "%s: bad key type", label);
            break;
        }
    }
    return st;
}


/* ---- lookups for the rest of roost ---------------------------------------- */

bool cfg_fam_built(fam_id f)
{
    return ((unsigned)f < (unsigned)FAM_COUNT) && fam_list[f]->built;
}

const char *fam_name(fam_id f)
{
    return ((unsigned)f < (unsigned)FAM_COUNT) ? fam_list[f]->name : "?";
}

const char *cfg_str(const roost_cfg *c, const char *key)
{
    int i = cfg_key_index(strv_from_cstr(key));
    const char *v = "";
    if (i >= 0) {
        const cfg_key_def *k = cfg_key((size_t)i);
        if ((k->kind == K_STR) || (k->kind == K_LIST) || (k->kind == K_URL)) {
            v = cfg_key_cvalue(k, c);
        }
    }
    return v;
}

uint64_t cfg_num(const roost_cfg *c, const char *key)
{
    int i = cfg_key_index(strv_from_cstr(key));
    uint64_t v = 0u;
    const cfg_key_def *k = (i >= 0) ? cfg_key((size_t)i) : NULL;
    if ((k != NULL) && (k->kind == K_UINT)) {
        v = cfg_uint_load(cfg_key_cvalue(k, c), k->size);
    } else if ((k != NULL) && (k->kind == K_BOOL)) {
        bool b;
        (void)memcpy(&b, cfg_key_cvalue(k, c), sizeof b);
        if (b) {
            v = 1u;
        }
    } else {
        /* not a number */
    }
    return v;
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

