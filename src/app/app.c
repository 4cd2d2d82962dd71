/*
 * app.c - init order, the ready line, shutdown.
 *
 * `--check-config` stops after the config (every key, its value and its
 * source), before anything binds or touches the data directory.
 * Init order: config -> pools -> log level -> signals -> loop -> child
 * processes (their SIGCHLD pipe watched) -> the listeners' certificates
 * (every file read and checked; a bad one stops the start with exit 2, as
 * a bad key does) -> data directory -> store
 * (sqlite in its fixed heap, migrations, statements) -> services ->
 * listeners -> seal the init arena -> ready line -> loop; at the end every
 * child still running is killed. The loop's turn
 * hook (app_turn) runs a reload when SIGHUP asked for one (app_reload:
 * the configuration is read again and its live keys applied, the others
 * logged as needing a restart; the certificates are read again; what does
 * not load keeps what ran), commits the store's batch, then feeds the
 * streams.
 * Everything that allocates happens before the first poll(); after it
 * nothing reaches the system heap (tests/integration/test_no_heap.py
 * proves it).
 *
 * The app names no family: it walks the descriptors of fam/families.def
 * (fam/desc.h). Every family hands its schema steps to the store; a built
 * one its statements too, then its init and streams hooks run, and an
 * enabled one gets a service filled from its descriptor (routes, error
 * writer, CORS style and defaults, limits, auth) that its setup hook
 * completes, and a listener. Only the families and the LLM stack of the
 * build profile are compiled in (CFG_FAM_*, CFG_WITH_LLM from
 * profiles/<name>.mk): a family not built says so (built = false) and never
 * listens. `--budget` prints the static plan of the profile, `--limits` its
 * compile-time limits. `roostd hooks ...` and `roostd hook ...` are the
 * Claude Code hook commands (app/hooks_cli.h), run instead of the server.
 */
#include "app/app.h"

#include <stdio.h>
#include <string.h>

#include "app/cfg.h"
#include "app/hooks_cli.h"
#include "app/pools.h"
#include "bus/ring.h"
#include "config.h"
#include "core/log.h"
#include "core/timer.h"
#include "fam/families.h"
#include "fam/shared/auth.h"
#include "fam/shared/fault_ctl.h"
#include "http/server.h"
#include "http/stream.h"
#include "net/child.h"
#include "net/conn.h"
#include "port.h"
#include "store/store.h"
#if CFG_WITH_LLM
#include "out/llm.h"
#include "out/mem.h"
#endif
#if CFG_WITH_TLS
#include "net/tls.h"
#include "net/tls_mem.h"
#endif

static roost_cfg g_cfg;
static http_service g_svc[FAM_COUNT];
static listener *g_lst[FAM_COUNT];
static char g_out[APP_OUT_BYTES];
static char g_err[APP_ERR_BYTES];
static char g_cwd[CFG_CONF_VALUE_BYTES];

/* What the configuration was read from at start; a reload reads it again. */
static int g_argc;
static char *const *g_argv;
static const char *const *g_envp;

_Static_assert(((sizeof g_cfg) + (sizeof g_svc) + (sizeof g_lst) +
                (sizeof g_out) + (sizeof g_err) + (sizeof g_cwd)) <= APP_STATIC_BYTES,
               "APP_STATIC_BYTES is the plan of this module");

static void out_str(const char *s)
{
    port_stdout(s, strlen(s));
}

static void err_str(const char *s)
{
    port_stderr(s, strlen(s));
}

static void warn_body_limit(const char *key, uint64_t limit);
static void llm_conf_live(void);

static void cfg_changed(const char *key, bool applied)
{
    if (applied) {
        LOG_I("app", "%s changed: applied", key);
    } else {
        LOG_W("app", "%s changed: needs a restart", key);
    }
}

/* The configuration step of a reload: the file, the start's flags and
 * environment read again (cfg_reload) into the render scratch, which is
 * free between two turns (http/server.h: used only within a call); the
 * keys that change live go to the log level, every listener's service
 * (read per request) and the LLM budgets (read per call). A config that
 * does not load changes nothing. */
_Static_assert(CFG_RELOAD_SCRATCH_BYTES <= (size_t)CFG_RENDER_BYTES,
               "a reload parses into the render scratch");

static void cfg_reload_step(void)
{
    size_t f;
    size_t cap = 0u;
    char *scratch = http_render_scratch(&cap);
    uint64_t json_was = g_cfg.max_json_body_bytes;
    uint64_t hook_was = g_cfg.max_hook_body_bytes;
    st_t st = cfg_reload(&g_cfg, scratch, cap, g_argc, g_argv, g_envp, g_cwd, port_file_read,
                         cfg_changed, g_err, sizeof g_err);
    if (st != ST_OK) {
        LOG_E("app", "reload: %s; the running configuration is kept", g_err);
        return;
    }
    log_set_level(g_cfg.log_level);
    for (f = 0u; f < (size_t)FAM_COUNT; f++) {
        if (g_lst[f] != NULL) {
            g_svc[f].max_body = g_cfg.max_json_body_bytes;
            g_svc[f].max_hook_body = g_cfg.max_hook_body_bytes;
            g_svc[f].body_timeout_ms = g_cfg.http.body_timeout_ms;
        }
    }
    if (g_cfg.max_json_body_bytes != json_was) {
        warn_body_limit("max_json_body_bytes", g_cfg.max_json_body_bytes);
    }
    if (g_cfg.max_hook_body_bytes != hook_was) {
        warn_body_limit("max_hook_body_bytes", g_cfg.max_hook_body_bytes);
    }
    llm_conf_live();
}

/* SIGHUP (port_reload_requested, read once per turn): every step that can
 * change live runs here, in the loop, between two turns. A step that fails
 * logs why and leaves what it had; the server never stops for a reload. */
#if CFG_WITH_TLS
/* The listeners' certificates (NULL: plain HTTP). */
static tls_srv *g_tls[FAM_COUNT];

/* Every enabled listener with a certificate gets it loaded and checked
 * before any listener opens; the first bad one is the error (err). */
static st_t tls_setup(char *err, size_t cap)
{
    bool any = false;
    int f;
    tls_set_handshake_timeout(g_cfg.tls.handshake_timeout_ms);
    for (f = 0; f < (int)FAM_COUNT; f++) {
        const cfg_listener *lc = &g_cfg.fam[f];
        st_t st;
        if (!lc->enabled || !fam_list[f]->built || (strlen(lc->tls_cert) == 0u)) {
            continue;
        }
        if (!any) {
            if (tls_mem_init() != ST_OK) {
                (void)snprintf(err, cap, "cannot set up mbedtls (no entropy)");
                return ST_INTERNAL;
            }
            tls_mem_commit();
            any = true;
        }
        st = tls_srv_load(fam_list[f]->prefix, lc->tls_cert, lc->tls_key, err, cap, &g_tls[f]);
        if (st != ST_OK) {
            return st;
        }
    }
    return ST_OK;
}

/* SIGHUP: every certificate read again; one that does not load is kept. */
static void tls_reload(void)
{
    char err[CFG_CONF_VALUE_BYTES + 256];
    int f;
    for (f = 0; f < (int)FAM_COUNT; f++) {
        if (g_tls[f] != NULL) {
            if (tls_srv_reload(g_tls[f], err, sizeof err) == ST_OK) {
                LOG_I("app", "%s: certificate reloaded from %s", fam_name((fam_id)f),
                      g_cfg.fam[f].tls_cert);
            } else {
                LOG_E("app", "%s; the certificate loaded before stays", err);
            }
        }
    }
}
#endif

static void app_reload(void)
{
    LOG_I("app", "SIGHUP: reloading");
    cfg_reload_step();
#if CFG_WITH_TLS
    tls_reload();
#endif
}

/* The loop's turn hook (net_set_turn_hook), after dispatch and timers:
 * first the store's batch commits and the answers it held go out (their
 * clients can send their next requests while the rest of the turn runs),
 * then the streams take what was published: a broadcast never precedes
 * the commit of what it tells. */
static void app_turn(void)
{
    if (port_reload_requested()) {
        app_reload();
    }
    (void)store_batch_commit();
    net_send_released();
    stream_turn();
}

static int usage_error(const char *msg)
{
    char line[CFG_CONF_VALUE_BYTES + 256];
    int k = snprintf(line, sizeof line, "roostd: %s\nTry 'roostd --help' for the flags.\n", msg);
    port_stderr(line, ((k > 0) && ((size_t)k < sizeof line)) ? (size_t)k : 0u);
    return 2;
}

/* A body limit above what one body slot holds cannot be honoured by this
 * build: say so once, with the limit that applies. */
static void warn_body_limit(const char *key, uint64_t limit)
{
    if (limit > CFG_BODY_SLOT_BYTES) {
        LOG_W("app", "%s=%llu is above this build's body slot (%u bytes, "
              "CFG_BODY_SLOT_BYTES): larger bodies are answered 413",
              key, (unsigned long long)limit, (unsigned)CFG_BODY_SLOT_BYTES);
    }
}

#if CFG_WITH_LLM
/* The LLM call slots, when a provider is configured. An unreadable CA
 * bundle is a warning: plain-http providers (a local Ollama) still work and
 * https ones fail their certificate check, never skip it. */
static st_t llm_setup(void)
{
    st_t st = ST_OK;
    if (g_cfg.llm.n_prov > 0u) {
        /* Without providers the outbound stack is never set up: its code
         * and heaps stay out of the resident set. */
        if (out_mem_init() != ST_OK) {
            err_str("roostd: cannot set up the outbound HTTP stack (curl, c-ares, mbedtls)\n");
            return ST_INTERNAL;
        }
        out_mem_commit();
        st = llm_init(g_cfg.llm.ca_file);
        if (st == ST_NOMEM) {
            LOG_E("app", "LLM call slots: the outbound heap is too small (CFG_OUT_HEAP_BYTES)");
        } else if (st != ST_OK) {
            LOG_W("app", "llm.ca_file %s: %s; https providers will fail verification",
                  g_cfg.llm.ca_file, status_str(st));
            st = ST_OK;
        } else {
            /* ready */
        }
    }
    return st;
}
#endif

/* The llm.* keys as the families' hooks read them (fam_env.llm, out/llm.h);
 * a provider's key may come from the environment variable named by
 * api_key_secret (read here, once). */
static llm_provider_conf g_llm_prov[CFG_MAX_PROVIDERS];
static llm_conf g_llm_conf;

const char *app_env(const char *const *envp, const char *name)
{
    size_t n = strlen(name);
    size_t i;
    if ((envp == NULL) || (n == 0u)) {
        return NULL;
    }
    for (i = 0u; envp[i] != NULL; i++) {
        if ((strncmp(envp[i], name, n) == 0) && (envp[i][n] == '=')) {
            return &envp[i][n + 1u];
        }
    }
    return NULL;
}

static void llm_conf_setup(const char *const *envp)
{
    uint32_t i;
    for (i = 0u; i < g_cfg.llm.n_prov; i++) {
        const cfg_provider *p = &g_cfg.llm.prov[i];
        llm_provider_conf *c = &g_llm_prov[i];
        c->name = p->name;
        c->kind = (p->kind == PROV_ANTHROPIC) ? LLM_ANTHROPIC : LLM_OPENAI;
        c->base_url = p->base_url;
        c->api_key_secret = p->api_key_secret;
        c->env_key = app_env(envp, p->api_key_secret);
        c->default_model = p->default_model;
        c->timeout_ms = p->timeout_ms;
    }
    g_llm_conf.prov = g_llm_prov;
    g_llm_conf.nprov = g_cfg.llm.n_prov;
    g_llm_conf.chain = g_cfg.llm.chain;
    g_llm_conf.nchain = g_cfg.llm.n_chain;
    llm_conf_live();
}

/* The llm.* keys that change live (F_LIVE): read by the engine per call. */
static void llm_conf_live(void)
{
    g_llm_conf.budget_tokens = g_cfg.llm.request_budget_tokens;
    g_llm_conf.budget_pause_timeout_ms = g_cfg.llm.budget_pause_timeout_ms;
    g_llm_conf.max_depth = g_cfg.llm.max_depth;
    g_llm_conf.history_max_messages = g_cfg.llm.history_max_messages;
}

/* fam_env's key readers: the loaded config by key name. */
static const char *env_str(const char *key)
{
    return cfg_str(&g_cfg, key);
}

static uint64_t env_num(const char *key)
{
    return cfg_num(&g_cfg, key);
}

static fam_env g_env;

/* Every family's schema steps, a built family's statements. */
static st_t store_parts(void)
{
    st_t st = ST_OK;
    size_t f;
    for (f = 0u; (f < (size_t)FAM_COUNT) && (st == ST_OK); f++) {
        st = store_add(&fam_list[f]->store);
    }
    return st;
}

/* The built families' runtime state, then an enabled one's streams. */
static st_t fam_init(void)
{
    st_t st = ST_OK;
    size_t f;
    for (f = 0u; (f < (size_t)FAM_COUNT) && (st == ST_OK); f++) {
        const fam_desc *d = fam_list[f];
        if (d->built && (d->init != NULL)) {
            st = d->init(&g_env);
            if (st != ST_OK) {
                LOG_E("app", "%s: %s", d->name, status_str(st));
            }
        }
    }
    for (f = 0u; (f < (size_t)FAM_COUNT) && (st == ST_OK); f++) {
        const fam_desc *d = fam_list[f];
        if (d->built && g_cfg.fam[f].enabled && (d->streams != NULL)) {
            d->streams(&g_env);
        }
    }
    return st;
}

/* The service of an enabled family, from its descriptor; its route table
 * is compiled here, once. */
static st_t service_fill(const fam_desc *d, http_service *svc)
{
    st_t st = router_compile(&svc->router, d->routes->routes, d->routes->n);
    if (st != ST_OK) {
        LOG_E("app", "%s: route table: %s (config.h CFG_ROUTER_*)", d->name, status_str(st));
        return st;
    }
    svc->family = d->name;
    svc->error = d->error;
    svc->fallback = NULL;
    svc->authorize = NULL;
    svc->bad_method_is_not_found = false;
    svc->cors = d->cors;
    svc->cors_credentials = d->cors_credentials;
    svc->cors_methods = d->cors_methods;
    svc->cors_headers = d->cors_headers;
    if (d->setup != NULL) {
        d->setup(svc);
    }
    return ST_OK;
}

static st_t open_listeners(void)
{
    int f;
    warn_body_limit("max_json_body_bytes", g_cfg.max_json_body_bytes);
    warn_body_limit("max_hook_body_bytes", g_cfg.max_hook_body_bytes);
    for (f = 0; f < (int)FAM_COUNT; f++) {
        const cfg_listener *lc = &g_cfg.fam[f];
        http_service *svc = &g_svc[f];
        st_t st;
        if (!lc->enabled || !fam_list[f]->built) {
            continue;
        }
        st = fault_ctl_listener(g_cfg.diag_faults, lc->host);
        if (st != ST_OK) {
            return st;
        }
        st = service_fill(fam_list[f], svc);
        if (st != ST_OK) {
            return st;
        }
#if CFG_FAULT
        if (g_cfg.diag_faults) {
            svc->intercept = fault_ctl_handle;
        }
#endif
        svc->max_body = g_cfg.max_json_body_bytes;
        svc->body_timeout_ms = g_cfg.http.body_timeout_ms;
        svc->diag_echo = g_cfg.diag.echo;
        /* README §3: auto = open on loopback, the key elsewhere. */
        svc->auth_required = (lc->auth == AUTH_KEY) ||
                             ((lc->auth == AUTH_AUTO) && !auth_host_is_loopback(lc->host));
        svc->max_hook_body = g_cfg.max_hook_body_bytes;
        st = http_service_set_origins(svc, lc->cors_origins);
        if (st != ST_OK) {
            LOG_E("app", "%s: cors_origins: %s", fam_name((fam_id)f), status_str(st));
            return st;
        }
#if !CFG_WITH_TLS
        if (strlen(lc->tls_cert) > 0u) {
            LOG_E("app", "%s: tls_cert is set but this build has no TLS (profile %s: no mbedtls)",
                  fam_name((fam_id)f), CFG_PROFILE_NAME);
            return ST_UNSUPPORTED;
        }
#endif
        st = net_listen(fam_name((fam_id)f), lc->host, lc->port, http_server_proto(), svc,
                        &g_lst[f]);
        if (st != ST_OK) {
            LOG_E("app", "%s: cannot listen on %s:%u: %s", fam_name((fam_id)f), lc->host,
                  (unsigned)lc->port,
                  (st == ST_ADDRINUSE) ? "address already in use (another roostd?)"
                                       : status_str(st));
            return st;
        }
#if CFG_WITH_TLS
        if (g_tls[f] != NULL) {
            net_listener_tls(g_lst[f], g_tls[f]);
        }
#endif
        LOG_I("app", "%s listening on %s:%u%s", fam_name((fam_id)f), lc->host,
              (unsigned)g_lst[f]->port, (strlen(lc->tls_cert) > 0u) ? " (TLS)" : "");
        if ((strlen(lc->tls_cert) == 0u) && !auth_host_is_loopback(lc->host)) {
            LOG_W("app", "%s listens on %s without TLS: requests, answers and the API key "
                  "cross the network in clear (set %s.tls_cert and %s.tls_key)",
                  fam_name((fam_id)f), lc->host, fam_list[f]->prefix, fam_list[f]->prefix);
        }
    }
    return ST_OK;
}

static void fam_shutdown(void)
{
    size_t f;
    for (f = 0u; f < (size_t)FAM_COUNT; f++) {
        if (fam_list[f]->built && (fam_list[f]->shutdown != NULL)) {
            fam_list[f]->shutdown();
        }
    }
}

static void ready_line(void)
{
    size_t len;
    int f;
    int k = snprintf(g_out, sizeof g_out, "roostd %s ready:", ROOST_VERSION);
    len = (k > 0) ? (size_t)k : 0u;
    for (f = 0; f < (int)FAM_COUNT; f++) {
        if ((g_lst[f] != NULL) && (len < sizeof g_out)) {
            k = snprintf(g_out + len, sizeof(g_out) - len, " %s=%s:%u", fam_name((fam_id)f),
                         g_cfg.fam[f].host, (unsigned)g_lst[f]->port);
            len += (k > 0) ? (size_t)k : 0u;
        }
    }
    if (len < (sizeof(g_out) - 1u)) {
        g_out[len] = '\n';
        len++;
    }
    port_stdout(g_out, len);
}

static st_t open_store(void)
{
    char path[CFG_CONF_VALUE_BYTES + 16];
    st_t st = port_mkdir_p(g_cfg.data_dir, 0700u);
    int k;
    if (st != ST_OK) {
        LOG_E("app", "data directory %s: %s", g_cfg.data_dir, status_str(st));
        return st;
    }
    k = snprintf(path, sizeof path, "%s/roost.db", g_cfg.data_dir);
    if ((k < 0) || ((size_t)k >= sizeof path)) {
        return ST_TOOBIG;
    }
    st = store_parts();
    if (st == ST_OK) {
        st = store_init(path);
    }
    if (st == ST_AGAIN) {
        /* sqlite's lock, held for the life of the process (store.c) */
        LOG_E("app", "database %s is locked by another process: is another roostd "
              "running with data_dir %s? Stop it, or give this one another data_dir",
              path, g_cfg.data_dir);
        return st;
    }
    if (st != ST_OK) {
        LOG_E("app", "database %s: %s", path, status_str(st));
        return st;
    }
    st = auth_init(g_cfg.data_dir);
    if (st != ST_OK) {
        LOG_E("app", "API key: %s", status_str(st));
        return st;
    }
    return fam_init();
}

/* `roostd --check-config`: every key, its value and its source. */
static void check_config_print(void)
{
    size_t i;
    int k;
    const char *file = cfg_check_file();
    for (i = 0u; i < cfg_check_count(&g_cfg); i++) {
        size_t n = cfg_check_line(&g_cfg, i, g_out, sizeof g_out);
        port_stdout(g_out, n);
    }
    k = snprintf(g_out, sizeof g_out, "roostd: configuration ok (%s%s)\n",
                 (file[0] != '\0') ? "config file " : "no config file", file);
    port_stdout(g_out, ((k > 0) && ((size_t)k < sizeof g_out)) ? (size_t)k : 0u);
}

int app_main(int argc, char *const *argv, const char *const *envp)
{
    char *err = g_err;
    char *cwd = g_cwd;
    cfg_action act = CFG_ACT_RUN;
    st_t st;

    /* The hook commands run instead of the server (app/hooks_cli.h). */
    if ((argc > 1) && (strcmp(argv[1], "hooks") == 0)) {
        return hooks_cli_main(&g_cfg, argc - 1, &argv[1], envp);
    }
    if ((argc > 1) && (strcmp(argv[1], "hook") == 0)) {
        return hook_cli_main(argc - 1, &argv[1], envp);
    }
    if (port_getcwd(cwd, sizeof g_cwd) != ST_OK) {
        (void)snprintf(cwd, sizeof g_cwd, ".");
    }
    g_argc = argc;
    g_argv = argv;
    g_envp = envp;
    st = cfg_load(&g_cfg, argc, argv, envp, cwd, port_file_read, &act, err, sizeof g_err);
    if (act == CFG_ACT_HELP) {
        out_str(cfg_help_text());
        return 0;
    }
    if (act == CFG_ACT_VERSION) {
        out_str("roostd " ROOST_VERSION "\n");
        return 0;
    }
    if (st != ST_OK) {
        return usage_error(err);
    }
    if (act == CFG_ACT_CHECK) {
        check_config_print();
        return 0;
    }
    pools_init();
    if (act == CFG_ACT_BUDGET) {
        size_t n = pools_budget(g_out, sizeof g_out);
        port_stdout(g_out, n);
        return 0;
    }
    if (act == CFG_ACT_LIMITS) {
        size_t n = pools_limits(g_out, sizeof g_out);
        port_stdout(g_out, n);
        return 0;
    }
    log_set_level(g_cfg.log_level);
    timer_init();
    if (port_signals_init() != ST_OK) {
        err_str("roostd: cannot install signal handlers\n");
        return 1;
    }
    net_init(&pool_conns, &pool_bufs);
    st = child_init();
    if ((st != ST_OK) && (st != ST_UNSUPPORTED)) {
        LOG_E("app", "child processes: the SIGCHLD pipe cannot be watched: %s", status_str(st));
        return 1;
    }
#if CFG_WITH_TLS
    st = tls_setup(err, sizeof g_err);
    if (st != ST_OK) {
        return usage_error(err);
    }
#endif
    http_server_init(&pool_body_slots, render_scratch);
#if CFG_WITH_LLM
    if (llm_setup() != ST_OK) {
        return 1;
    }
#endif
    ring_init();
    stream_init();
    llm_conf_setup(envp);
    g_env.data_dir = g_cfg.data_dir;
    g_env.envp = envp;
    g_env.llm = (CFG_WITH_LLM != 0) ? &g_llm_conf : NULL;
    g_env.str = env_str;
    g_env.num = env_num;
    net_set_turn_hook(app_turn);
    if (open_store() != ST_OK) {
        return 1;
    }
    if (open_listeners() != ST_OK) {
        store_close();
        return 1;
    }
    arena_seal(&init_arena);
    net_run(ready_line);
    child_stop_all();
    fam_shutdown();
    store_close();
    LOG_I("app", "stopped cleanly");
    return 0;
}
