/* Unit tests for app/cfg: defaults, the five sources and their precedence,
 * every error path, derived defaults, clamping, --help and cfg_dump, the
 * --check-config lines and a reload. The
 * config file comes from a fake reader; tiny_config.h makes values 128 bytes,
 * the file 2048 bytes and allows 2 providers and 2 CORS origins. */
#include <stdio.h>
#include <string.h>

#include "app/cfg.h"
#include "t.h"

/* ---- fixtures ------------------------------------------------------------ */

typedef struct {
    const char *path;
    const char *text;
    size_t len;
    st_t st;
} fake_file;

static fake_file g_files[4];
static size_t g_nfiles;
static roost_cfg g_c;
static cfg_action g_act;
static char g_err[256];
static char g_last_path[256];

static void files_reset(void)
{
    g_nfiles = 0u;
    g_last_path[0] = '\0';
}

static void file_add_n(const char *path, const char *text, size_t len, st_t st)
{
    if (g_nfiles < (sizeof g_files / sizeof g_files[0])) {
        g_files[g_nfiles].path = path;
        g_files[g_nfiles].text = text;
        g_files[g_nfiles].len = len;
        g_files[g_nfiles].st = st;
        g_nfiles++;
    }
}

static void file_add(const char *path, const char *text)
{
    file_add_n(path, text, strlen(text), ST_OK);
}

/* Behaves as port_file_read: ST_NOTFOUND, ST_TOOBIG above cap. */
static st_t fake_read(const char *path, char *buf, size_t cap, size_t *n)
{
    size_t i;
    (void)snprintf(g_last_path, sizeof g_last_path, "%s", path);
    for (i = 0u; i < g_nfiles; i++) {
        if (strcmp(g_files[i].path, path) == 0) {
            if (g_files[i].st != ST_OK) {
                return g_files[i].st;
            }
            if (g_files[i].len > cap) {
                return ST_TOOBIG;
            }
            memcpy(buf, g_files[i].text, g_files[i].len);
            *n = g_files[i].len;
            return ST_OK;
        }
    }
    return ST_NOTFOUND;
}

/* args and env are NULL-terminated; "roostd" is put in front of args. */
static st_t load(const char *const *args, const char *const *env)
{
    static char *argv[200];
    int argc = 0;
    size_t i;
    argv[argc++] = (char *)"roostd";
    for (i = 0u; (args != NULL) && (args[i] != NULL) && (argc < 199); i++) {
        argv[argc++] = (char *)args[i];
    }
    argv[argc] = NULL;
    g_err[0] = '\0';
    return cfg_load(&g_c, argc, argv, env, "/w", fake_read, &g_act, g_err, sizeof g_err);
}

static bool err_has(const char *s)
{
    bool ok = (strstr(g_err, s) != NULL);
    if (!ok) {
        fprintf(stderr, "  (error was: \"%s\", wanted \"%s\")\n", g_err, s);
    }
    return ok;
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define ENV(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* Load with no file, one flag, no env; expect status st. */
static st_t load_flag(const char *flag)
{
    files_reset();
    return load(ARGS(flag), NULL);
}

static st_t load_conf(const char *text)
{
    files_reset();
    file_add("roost.conf", text);
    return load(NULL, NULL);
}

/* ---- defaults ------------------------------------------------------------ */

static void test_defaults(void)
{
    static const uint16_t ports[FAM_COUNT] = { 3000, 4011, 8765, 8766, 8767 };
    static const char *const ao = "http://localhost:5173,http://localhost:3000";
    int f;
    files_reset();
    T_EQ_INT(load(NULL, NULL), ST_OK);
    T_EQ_INT(g_act, CFG_ACT_RUN);
    T_EQ_STR(g_last_path, "roost.conf");
    T_EQ_STR(g_c.data_dir, "./roost-data");
    T_EQ_INT(g_c.max_json_body_bytes, 1048576);
    T_EQ_INT(g_c.max_hook_body_bytes, 8388608);
    T_EQ_INT(g_c.log_level, LOG_INFO);
    for (f = 0; f < FAM_COUNT; f++) {
        const cfg_listener *l = &g_c.fam[f];
        T_CHECK(l->enabled);
        T_EQ_STR(l->host, "127.0.0.1");
        T_EQ_INT(l->port, ports[f]);
        T_EQ_INT(l->auth, AUTH_AUTO);
        T_EQ_STR(l->tls_cert, "");
        T_EQ_STR(l->tls_key, "");
        T_EQ_STR(l->cors_origins, (f <= FAM_RPG) ? "*" : ao);
    }
    T_EQ_STR(cfg_str(&g_c, "fleet.web_dir"), "apps/web/dist");
    T_EQ_STR(cfg_str(&g_c, "rpg.web_dir"), "dist/client");
    T_EQ_INT(cfg_num(&g_c, "rpg.poll_interval_ms"), 250);
    T_EQ_INT(cfg_num(&g_c, "rpg.terminal_capture_lines"), 150);
    T_EQ_INT(cfg_num(&g_c, "rpg.ws_heartbeat_ms"), 30000);
    T_EQ_INT(cfg_num(&g_c, "rpg.ws_pause_bytes"), 65536);
    T_EQ_INT(cfg_num(&g_c, "rpg.ws_resume_bytes"), 16384);
    T_EQ_INT(cfg_num(&g_c, "rpg.ws_max_buffer_bytes"), 4194304);
    T_EQ_INT(cfg_num(&g_c, "rpg.events_retention_days"), 7);
    T_EQ_INT(cfg_num(&g_c, "observability.stop_grace_ms"), 5000);
    T_EQ_STR(cfg_str(&g_c, "observability.transcript_dirs"), "~/.claude/projects");
    T_EQ_STR(cfg_str(&g_c, "documents.public_url"), "http://localhost:8766");
    T_EQ_INT(cfg_num(&g_c, "documents.max_upload_bytes"), 67108864);
    T_EQ_INT(cfg_num(&g_c, "documents.chunk_bytes"), 65536);
    T_EQ_STR(cfg_str(&g_c, "agents.project_dir"), "/w");
    T_EQ_STR(cfg_str(&g_c, "agents.dir"), "/w/.agent-orchestrator/agents");
    T_EQ_STR(g_c.llm.providers, "");
    T_EQ_STR(g_c.llm.fallback_chain, "");
    T_EQ_INT(g_c.llm.n_prov, 0);
    T_EQ_INT(g_c.llm.n_chain, 0);
    T_EQ_INT(g_c.llm.request_budget_tokens, 500000);
    T_EQ_INT(g_c.llm.budget_pause_timeout_ms, 120000);
    T_EQ_INT(g_c.llm.max_depth, 3);
    T_EQ_INT(g_c.llm.history_max_messages, 50);
    T_EQ_STR(g_c.llm.builder_provider, "");
    T_EQ_STR(g_c.llm.builder_model, "");
    T_EQ_STR(fam_name(FAM_FLEET), "fleet");
    T_EQ_STR(fam_name(FAM_OBS), "observability");
    T_EQ_STR(fam_name(FAM_DOCS), "documents");
    T_EQ_STR(fam_name(FAM_AGENTS), "agents");
    T_EQ_STR(fam_name(FAM_COUNT), "?");
}

static void test_derived(void)
{
    files_reset();
    /* public_url follows documents.port unless set */
    T_EQ_INT(load(ARGS("--documents.port=9000"), NULL), ST_OK);
    T_EQ_STR(cfg_str(&g_c, "documents.public_url"), "http://localhost:9000");
    T_EQ_INT(load(ARGS("--documents.public_url=https://docs.example/base/"), NULL), ST_OK);
    T_EQ_STR(cfg_str(&g_c, "documents.public_url"), "https://docs.example/base");
    T_EQ_INT(load(ARGS("--documents.public_url=ftp://x"), NULL), ST_INVAL);
    T_EQ_INT(load(ARGS("--documents.public_url="), NULL), ST_INVAL);
    /* agents.dir from agents.project_dir, unless set */
    T_EQ_INT(load(ARGS("--agents.project_dir=/p/"), NULL), ST_OK);
    T_EQ_STR(cfg_str(&g_c, "agents.dir"), "/p/.agent-orchestrator/agents");
    T_EQ_INT(load(ARGS("--agents.project_dir=/p", "--agents.dir=/a"), NULL), ST_OK);
    T_EQ_STR(cfg_str(&g_c, "agents.dir"), "/a");
    T_EQ_INT(load(NULL, ENV("AGENT_ORCHESTRATOR_PROJECT_DIR=/q")), ST_OK);
    T_EQ_STR(cfg_str(&g_c, "agents.dir"), "/q/.agent-orchestrator/agents");
    /* a cwd so long that the derived agents.dir does not fit */
    {
        static char cwd[CFG_CONF_VALUE_BYTES];
        static char *argv[2] = { (char *)"roostd", NULL };
        memset(cwd, 'd', sizeof cwd - 10u);
        cwd[0] = '/';
        cwd[sizeof cwd - 10u] = '\0';
        T_EQ_INT(cfg_load(&g_c, 1, argv, NULL, cwd, fake_read, &g_act, g_err, sizeof g_err),
                 ST_TOOBIG);
        T_CHECK(err_has("agents.dir"));
    }
}

/* ---- sources and precedence ---------------------------------------------- */

static void test_precedence(void)
{
    files_reset();
    file_add("roost.conf", "rpg.port = 1001\n");
    T_EQ_INT(load(NULL, NULL), ST_OK);
    T_EQ_INT(g_c.fam[FAM_RPG].port, 1001);
    T_EQ_INT(load(NULL, ENV("PORT=1002")), ST_OK);
    T_EQ_INT(g_c.fam[FAM_RPG].port, 1002);
    T_EQ_INT(load(NULL, ENV("ROOST_RPG_PORT=1003", "PORT=1002")), ST_OK);
    T_EQ_INT(g_c.fam[FAM_RPG].port, 1003);
    T_EQ_INT(load(ARGS("--rpg.port=1004"), ENV("PORT=1002", "ROOST_RPG_PORT=1003")), ST_OK);
    T_EQ_INT(g_c.fam[FAM_RPG].port, 1004);
    T_EQ_INT(load(ARGS("--rpg.port", "1005"), ENV("ROOST_RPG_PORT=1003")), ST_OK);
    T_EQ_INT(g_c.fam[FAM_RPG].port, 1005);
    /* last flag wins; other keys keep lower layers */
    T_EQ_INT(load(ARGS("--rpg.port=1", "--rpg.port=2"), ENV("ROOST_FLEET_PORT=3100")), ST_OK);
    T_EQ_INT(g_c.fam[FAM_RPG].port, 2);
    T_EQ_INT(g_c.fam[FAM_FLEET].port, 3100);
    /* unrelated variables are ignored */
    T_EQ_INT(load(NULL, ENV("HOME=/root", "PATH=/bin", "NOEQUALS")), ST_OK);
}

static void test_aliases(void)
{
    files_reset();
    T_EQ_INT(load(NULL, ENV("CORS_ORIGINS=http://a , http://b", "BOTERNITY_WEB_DIR=/web",
                            "POLL_INTERVAL=500", "WS_HEARTBEAT_INTERVAL=1000",
                            "WS_BACKPRESSURE_HIGH=2000", "WS_BACKPRESSURE_LOW=1000",
                            "EVENTS_RETENTION_DAYS=3", "TERMINAL_CAPTURE_LINES=60",
                            "DOCUMENT_SERVER_HOST=0.0.0.0", "DOCUMENT_SERVER_PORT=9001",
                            "DOCUMENT_SERVER_PUBLIC_URL=http://h:1",
                            "AGENT_MANAGER_HOST=::1", "AGENT_MANAGER_PORT=9002",
                            "AGENT_ORCHESTRATOR_AGENTS_DIR=/ag")),
             ST_OK);
    T_EQ_STR(g_c.fam[FAM_OBS].cors_origins, "http://a,http://b");
    T_EQ_STR(g_c.fam[FAM_DOCS].cors_origins, "http://a,http://b");
    T_EQ_STR(g_c.fam[FAM_AGENTS].cors_origins, "http://localhost:5173,http://localhost:3000");
    T_EQ_STR(g_c.fam[FAM_FLEET].cors_origins, "*");
    T_EQ_STR(cfg_str(&g_c, "fleet.web_dir"), "/web");
    T_EQ_INT(cfg_num(&g_c, "rpg.poll_interval_ms"), 500);
    T_EQ_INT(cfg_num(&g_c, "rpg.ws_heartbeat_ms"), 1000);
    T_EQ_INT(cfg_num(&g_c, "rpg.ws_pause_bytes"), 2000);
    T_EQ_INT(cfg_num(&g_c, "rpg.ws_resume_bytes"), 1000);
    T_EQ_INT(cfg_num(&g_c, "rpg.events_retention_days"), 3);
    T_EQ_INT(cfg_num(&g_c, "rpg.terminal_capture_lines"), 60);
    T_EQ_STR(g_c.fam[FAM_DOCS].host, "0.0.0.0");
    T_EQ_INT(g_c.fam[FAM_DOCS].port, 9001);
    T_EQ_STR(cfg_str(&g_c, "documents.public_url"), "http://h:1");
    T_EQ_STR(g_c.fam[FAM_AGENTS].host, "::1");
    T_EQ_INT(g_c.fam[FAM_AGENTS].port, 9002);
    T_EQ_STR(cfg_str(&g_c, "agents.dir"), "/ag");
    /* upstream data-location variables are not honoured */
    T_EQ_INT(load(NULL, ENV("DATA_DIR=/x", "BOTERNITY_DATA_DIR=/y")), ST_OK);
    T_EQ_STR(g_c.data_dir, "./roost-data");
    /* an alias error names the upstream variable and the key */
    T_EQ_INT(load(NULL, ENV("PORT=http")), ST_INVAL);
    T_CHECK(err_has("environment variable PORT: rpg.port = 'http'"));
}

static void test_config_path(void)
{
    files_reset();
    file_add("/etc/a.conf", "data_dir = /a\n");
    file_add("/etc/b.conf", "data_dir = /b\n");
    file_add("roost.conf", "data_dir = /r\n");
    T_EQ_INT(load(NULL, NULL), ST_OK);
    T_EQ_STR(g_c.data_dir, "/r");
    T_EQ_INT(load(ARGS("--config", "/etc/a.conf"), NULL), ST_OK);
    T_EQ_STR(g_c.data_dir, "/a");
    T_EQ_INT(load(ARGS("--config=/etc/b.conf"), NULL), ST_OK);
    T_EQ_STR(g_c.data_dir, "/b");
    T_EQ_INT(load(NULL, ENV("ROOST_CONFIG=/etc/a.conf")), ST_OK);
    T_EQ_STR(g_c.data_dir, "/a");
    T_EQ_INT(load(ARGS("--config=/etc/b.conf"), ENV("ROOST_CONFIG=/etc/a.conf")), ST_OK);
    T_EQ_STR(g_c.data_dir, "/b");
    T_EQ_INT(load(NULL, ENV("ROOST_CONFIG=")), ST_OK); /* empty = unset */
    T_EQ_STR(g_c.data_dir, "/r");
    /* a missing default file is fine, a missing named one is not */
    files_reset();
    T_EQ_INT(load(NULL, NULL), ST_OK);
    T_EQ_INT(load(ARGS("--config", "/nope.conf"), NULL), ST_NOTFOUND);
    T_CHECK(err_has("/nope.conf"));
    T_EQ_INT(load(NULL, ENV("ROOST_CONFIG=/nope.conf")), ST_NOTFOUND);
    T_EQ_INT(load(ARGS("--config"), NULL), ST_BAD);
    T_CHECK(err_has("--config needs a PATH"));
    T_EQ_INT(load(ARGS("--config="), NULL), ST_BAD);
    /* other read errors, even of the default file */
    file_add_n("roost.conf", "", 0u, ST_PERM);
    T_EQ_INT(load(NULL, NULL), ST_PERM);
    T_CHECK(err_has("roost.conf"));
}

/* ---- the file format ----------------------------------------------------- */

static void test_file_format(void)
{
    T_EQ_INT(load_conf("\xEF\xBB\xBF# a comment\n"
                       "\n"
                       "   \t\n"
                       "  # indented comment\n"
                       "\tdata_dir\t=   /with spaces inside  \r\n"
                       "fleet.cors_origins = http://a#frag\n"
                       "log_level=debug\n"
                       "rpg.port = 1\n"
                       "rpg.port = 2\n"
                       "fleet.enabled = off"), /* no final newline */
             ST_OK);
    T_EQ_STR(g_c.data_dir, "/with spaces inside");
    T_EQ_STR(g_c.fam[FAM_FLEET].cors_origins, "http://a#frag");
    T_EQ_INT(g_c.log_level, LOG_DEBUG);
    T_EQ_INT(g_c.fam[FAM_RPG].port, 2);
    T_CHECK(!g_c.fam[FAM_FLEET].enabled);
    /* empty value is allowed where the key allows it */
    T_EQ_INT(load_conf("llm.providers =\n"), ST_OK);

    T_EQ_INT(load_conf("# ok\nfleet.port = 1\njust words\n"), ST_BAD);
    T_CHECK(err_has("roost.conf:3: expected 'key = value'"));
    T_EQ_INT(load_conf(" = 5\n"), ST_BAD);
    T_CHECK(err_has("roost.conf:1: missing key"));
    T_EQ_INT(load_conf("\n\nfleet.prot = 3000\n"), ST_BAD);
    T_CHECK(err_has("roost.conf:3: unknown key 'fleet.prot' (did you mean 'fleet.port'?)"));
    T_EQ_INT(load_conf("completely_unrelated = 1\n"), ST_BAD);
    T_CHECK(err_has("unknown key 'completely_unrelated'"));
    T_CHECK(strstr(g_err, "did you mean") == NULL);
    files_reset();
    file_add_n("roost.conf", "data_dir = a\0b\n", 15u, ST_OK);
    T_EQ_INT(load(NULL, NULL), ST_BAD);
    T_CHECK(err_has("NUL"));
    /* a file larger than CFG_CONF_FILE_BYTES */
    {
        static char big[CFG_CONF_FILE_BYTES + 16];
        memset(big, '#', sizeof big);
        files_reset();
        file_add_n("roost.conf", big, sizeof big, ST_OK);
        T_EQ_INT(load(NULL, NULL), ST_TOOBIG);
        T_CHECK(err_has("larger than"));
    }
}

/* ---- errors from each source --------------------------------------------- */

static void test_unknown_keys(void)
{
    files_reset();
    T_EQ_INT(load(ARGS("--fleet.prot=1"), NULL), ST_BAD);
    T_CHECK(err_has("flag --fleet.prot: unknown key 'fleet.prot' (did you mean 'fleet.port'?)"));
    T_EQ_INT(load(ARGS("--verbose"), NULL), ST_BAD);
    T_CHECK(err_has("unknown key 'verbose'"));
    T_EQ_INT(load(ARGS("-x"), NULL), ST_BAD);
    T_CHECK(err_has("unknown option '-x'"));
    T_EQ_INT(load(ARGS("serve"), NULL), ST_BAD);
    T_CHECK(err_has("unexpected argument 'serve'"));
    T_EQ_INT(load(ARGS("--fleet.port"), NULL), ST_BAD);
    T_CHECK(err_has("needs a value"));
    T_EQ_INT(load(NULL, ENV("ROOST_FLEET_PROT=1")), ST_BAD);
    T_CHECK(err_has("environment variable ROOST_FLEET_PROT: does not name a roost key "
                    "(did you mean ROOST_FLEET_PORT?)"));
    T_EQ_INT(load(NULL, ENV("ROOST_NOTHING_LIKE_IT=1")), ST_BAD);
    T_CHECK(err_has("ROOST_NOTHING_LIKE_IT"));
    T_EQ_INT(load(NULL, ENV("ROOST_LOG_LEVEL=warn", "ROOST_DATA_DIR=/d")), ST_OK);
    T_EQ_INT(g_c.log_level, LOG_WARN);
    T_EQ_STR(g_c.data_dir, "/d");
    T_EQ_INT(load(ARGS("--log_level=loud"), NULL), ST_INVAL);
    T_CHECK(err_has("debug|info|warn|error"));
}

static void test_types(void)
{
    static const char *const truths[] = { "true", "1", "yes", "on", "TRUE", "On" };
    static const char *const lies[] = { "false", "0", "no", "off", "False" };
    char flag[64];
    size_t i;

    T_EQ_INT(load_flag("--fleet.port=0"), ST_OK);
    T_EQ_INT(g_c.fam[FAM_FLEET].port, 0);
    T_EQ_INT(load_flag("--fleet.port=65535"), ST_OK);
    T_EQ_INT(g_c.fam[FAM_FLEET].port, 65535);
    T_EQ_INT(load_flag("--fleet.port=65536"), ST_RANGE);
    T_CHECK(err_has("fleet.port = '65536': out of range 0..65535"));
    T_EQ_INT(load_flag("--fleet.port=-1"), ST_INVAL);
    T_EQ_INT(load_flag("--fleet.port=3k"), ST_INVAL);
    T_EQ_INT(load_flag("--fleet.port="), ST_INVAL);
    T_EQ_INT(load_flag("--fleet.port=99999999999999999999999"), ST_INVAL);
    T_EQ_INT(load_flag("--rpg.poll_interval_ms=5"), ST_RANGE);
    T_EQ_INT(load_flag("--llm.max_depth=17"), ST_RANGE);

    for (i = 0u; i < sizeof truths / sizeof truths[0]; i++) {
        (void)snprintf(flag, sizeof flag, "--agents.enabled=%s", truths[i]);
        T_EQ_INT(load(ARGS("--agents.enabled=false", flag), NULL), ST_OK);
        T_CHECK(g_c.fam[FAM_AGENTS].enabled);
    }
    for (i = 0u; i < sizeof lies / sizeof lies[0]; i++) {
        (void)snprintf(flag, sizeof flag, "--agents.enabled=%s", lies[i]);
        T_EQ_INT(load_flag(flag), ST_OK);
        T_CHECK(!g_c.fam[FAM_AGENTS].enabled);
    }
    T_EQ_INT(load_flag("--agents.enabled=maybe"), ST_INVAL);
    T_CHECK(err_has("true|false"));

    T_EQ_INT(load_flag("--fleet.auth=key"), ST_OK);
    T_EQ_INT(g_c.fam[FAM_FLEET].auth, AUTH_KEY);
    T_EQ_INT(load_flag("--rpg.auth=open"), ST_OK);
    T_EQ_INT(g_c.fam[FAM_RPG].auth, AUTH_OPEN);
    T_EQ_INT(load_flag("--rpg.auth=none"), ST_INVAL);

    T_EQ_INT(load_flag("--fleet.host="), ST_INVAL);
    T_CHECK(err_has("must not be empty"));
    T_EQ_INT(load_flag("--data_dir="), ST_INVAL);
}

static void test_lengths(void)
{
    static char flag[CFG_CONF_VALUE_BYTES + 64];
    int k;
    /* data_dir holds CFG_CONF_VALUE_BYTES - 1 bytes, not one more */
    k = snprintf(flag, sizeof flag, "--data_dir=/");
    memset(flag + k, 'x', CFG_CONF_VALUE_BYTES - 2u);
    flag[(size_t)k + CFG_CONF_VALUE_BYTES - 2u] = '\0';
    T_EQ_INT(load_flag(flag), ST_OK);
    T_EQ_INT(strlen(g_c.data_dir), CFG_CONF_VALUE_BYTES - 1u);
    flag[(size_t)k + CFG_CONF_VALUE_BYTES - 2u] = 'x';
    flag[(size_t)k + CFG_CONF_VALUE_BYTES - 1u] = '\0';
    T_EQ_INT(load_flag(flag), ST_TOOBIG);
    T_CHECK(err_has("value too long"));
    /* host holds CFG_CONF_HOST_BYTES - 1 */
    k = snprintf(flag, sizeof flag, "--rpg.host=");
    memset(flag + k, 'h', CFG_CONF_HOST_BYTES);
    flag[(size_t)k + CFG_CONF_HOST_BYTES] = '\0';
    T_EQ_INT(load_flag(flag), ST_TOOBIG);
}

static void test_lists(void)
{
    T_EQ_INT(load_flag("--observability.transcript_dirs= /a , ,/b c,, "), ST_OK);
    T_EQ_STR(cfg_str(&g_c, "observability.transcript_dirs"), "/a,/b c");
    T_EQ_INT(load_flag("--fleet.cors_origins=http://a,http://b"), ST_OK);
    T_EQ_STR(g_c.fam[FAM_FLEET].cors_origins, "http://a,http://b");
    /* one origin more than CFG_MAX_CORS_ORIGINS */
    {
        static char flag[64 + (CFG_MAX_CORS_ORIGINS + 1) * 12];
        size_t n = (size_t)snprintf(flag, sizeof flag, "--fleet.cors_origins=");
        unsigned i;
        for (i = 0u; i <= CFG_MAX_CORS_ORIGINS; i++) {
            n += (size_t)snprintf(flag + n, sizeof flag - n, "%shttp://o%u",
                                  (i > 0u) ? "," : "", i);
        }
        T_EQ_INT(load_flag(flag), ST_TOOBIG);
        T_CHECK(err_has("too many items"));
    }
    T_EQ_INT(load_flag("--fleet.cors_origins=,"), ST_OK);
    T_EQ_STR(g_c.fam[FAM_FLEET].cors_origins, "");
}

static void test_clamping(void)
{
    T_EQ_INT(load_flag("--rpg.terminal_capture_lines=10"), ST_OK);
    T_EQ_INT(cfg_num(&g_c, "rpg.terminal_capture_lines"), 50);
    T_EQ_INT(load_flag("--rpg.terminal_capture_lines=9999"), ST_OK);
    T_EQ_INT(cfg_num(&g_c, "rpg.terminal_capture_lines"), 500);
    T_EQ_INT(load_flag("--rpg.terminal_capture_lines=321"), ST_OK);
    T_EQ_INT(cfg_num(&g_c, "rpg.terminal_capture_lines"), 321);
    T_EQ_INT(load_flag("--rpg.terminal_capture_lines=many"), ST_INVAL);
    T_EQ_INT(load_flag("--llm.request_budget_tokens=5"), ST_OK);
    T_EQ_INT(g_c.llm.request_budget_tokens, 10000);
    T_EQ_INT(load_flag("--llm.request_budget_tokens=20000"), ST_OK);
    T_EQ_INT(g_c.llm.request_budget_tokens, 20000);
}

static void test_cross_checks(void)
{
    T_EQ_INT(load_flag("--fleet.tls_cert=/c.pem"), ST_INVAL);
    T_CHECK(err_has("fleet.tls_cert is set but fleet.tls_key is not"));
    T_EQ_INT(load_flag("--documents.tls_key=/k.pem"), ST_INVAL);
    T_CHECK(err_has("documents.tls_key is set but documents.tls_cert is not"));
    T_EQ_INT(load(ARGS("--rpg.tls_cert=/c", "--rpg.tls_key=/k"), NULL), ST_OK);
    T_EQ_STR(g_c.fam[FAM_RPG].tls_cert, "/c");
    T_EQ_STR(g_c.fam[FAM_RPG].tls_key, "/k");

    T_EQ_INT(load_flag("--rpg.ws_resume_bytes=65536"), ST_INVAL);
    T_CHECK(err_has("rpg.ws_resume_bytes"));
    T_EQ_INT(load_flag("--rpg.ws_pause_bytes=5000000"), ST_INVAL);
    T_CHECK(err_has("rpg.ws_max_buffer_bytes"));

    T_EQ_INT(load_flag("--rpg.port=3000"), ST_INVAL);
    T_CHECK(err_has("fleet.port and rpg.port are both 127.0.0.1:3000"));
    T_EQ_INT(load(ARGS("--rpg.port=3000", "--rpg.enabled=no"), NULL), ST_OK);
    T_EQ_INT(load(ARGS("--rpg.port=3000", "--rpg.host=127.0.0.2"), NULL), ST_OK);
    T_EQ_INT(load(ARGS("--rpg.port=0", "--fleet.port=0"), NULL), ST_OK);

    /* diag.echo: loopback listeners only (a disabled one does not count) */
    T_EQ_INT(load(ARGS("--diag.echo=true", "--agents.host=0.0.0.0"), NULL), ST_INVAL);
    T_CHECK(err_has("diag.echo = true needs every listener on loopback, but agents.host is "
                    "0.0.0.0"));
    T_EQ_INT(load(ARGS("--diag.echo=true", "--agents.host=0.0.0.0", "--agents.enabled=false"),
                  NULL),
             ST_OK);
    T_EQ_INT(load(ARGS("--diag.echo=true", "--agents.host=::1"), NULL), ST_OK);
    T_CHECK(g_c.diag.echo);
    T_EQ_INT(load(ARGS("--agents.host=0.0.0.0"), NULL), ST_OK);
    T_CHECK(!g_c.diag.echo);
}

/* ---- providers ----------------------------------------------------------- */

static void test_providers(void)
{
    const cfg_provider *p;
    files_reset();
    file_add("roost.conf",
             "llm.providers = ollama, anthropic\n"
             "llm.provider.anthropic.kind = anthropic\n"
             "llm.provider.ollama.kind = openai-compatible\n"
             "llm.provider.ollama.base_url = http://localhost:11434/v1/\n"
             "llm.provider.ollama.default_model = llama3\n"
             "llm.provider.ollama.timeout_ms = 5000\n");
    T_EQ_INT(load(NULL, NULL), ST_OK);
    T_EQ_STR(g_c.llm.providers, "ollama,anthropic");
    T_EQ_INT(g_c.llm.n_prov, 2);
    T_EQ_STR(g_c.llm.prov[0].name, "ollama"); /* llm.providers order */
    T_EQ_INT(g_c.llm.prov[0].kind, PROV_OPENAI_COMPAT);
    T_EQ_STR(g_c.llm.prov[0].base_url, "http://localhost:11434/v1");
    T_EQ_STR(g_c.llm.prov[0].default_model, "llama3");
    T_EQ_STR(g_c.llm.prov[0].api_key_secret, "");
    T_EQ_INT(g_c.llm.prov[0].timeout_ms, 5000);
    T_EQ_STR(g_c.llm.prov[1].name, "anthropic");
    T_EQ_INT(g_c.llm.prov[1].kind, PROV_ANTHROPIC);
    T_EQ_STR(g_c.llm.prov[1].base_url, "https://api.anthropic.com");
    T_EQ_STR(g_c.llm.prov[1].api_key_secret, "ANTHROPIC_API_KEY");
    T_EQ_STR(g_c.llm.prov[1].default_model, "claude-sonnet-4-20250514");
    T_EQ_INT(g_c.llm.prov[1].timeout_ms, 30000);
    /* derived: chain = providers order, builder = first of chain */
    T_EQ_STR(g_c.llm.fallback_chain, "ollama,anthropic");
    T_EQ_INT(g_c.llm.n_chain, 2);
    T_EQ_INT(g_c.llm.chain[0], 0);
    T_EQ_INT(g_c.llm.chain[1], 1);
    T_EQ_STR(g_c.llm.builder_provider, "ollama");
    T_EQ_STR(g_c.llm.builder_model, "llama3");
    p = cfg_provider_find(&g_c, STRV_LIT("anthropic"));
    T_CHECK((p != NULL) && (p == &g_c.llm.prov[1]));
    T_CHECK(cfg_provider_find(&g_c, STRV_LIT("nope")) == NULL);

    /* explicit chain and builder; flags and env reach provider fields */
    T_EQ_INT(load(ARGS("--llm.fallback_chain=anthropic", "--llm.builder_provider=anthropic",
                       "--llm.provider.ollama.default_model=qwen"),
                  ENV("ROOST_LLM_PROVIDER_ANTHROPIC_API_KEY_SECRET=MY_KEY",
                      "ROOST_LLM_PROVIDER_OLLAMA_TIMEOUT_MS=7")),
             ST_OK);
    T_EQ_INT(g_c.llm.n_chain, 1);
    T_EQ_INT(g_c.llm.chain[0], 1);
    T_EQ_STR(g_c.llm.builder_provider, "anthropic");
    T_EQ_STR(g_c.llm.builder_model, "claude-sonnet-4-20250514");
    T_EQ_STR(g_c.llm.prov[1].api_key_secret, "MY_KEY");
    T_EQ_STR(g_c.llm.prov[0].default_model, "qwen");
    T_EQ_INT(g_c.llm.prov[0].timeout_ms, 7);
    T_EQ_INT(load(ARGS("--llm.builder_model=big"), NULL), ST_OK);
    T_EQ_STR(g_c.llm.builder_model, "big");

    /* provider keys may come before the list names them (flags after file) */
    files_reset();
    file_add("roost.conf", "llm.provider.a.kind = anthropic\n");
    T_EQ_INT(load(ARGS("--llm.providers=a"), NULL), ST_OK);
    T_EQ_INT(g_c.llm.n_prov, 1);
}

static void test_provider_errors(void)
{
    T_EQ_INT(load_conf("llm.providers = x\nllm.provider.x.kind = gemini\n"), ST_INVAL);
    T_CHECK(err_has("roost.conf:2: llm.provider.x.kind = 'gemini': expected anthropic|"));
    T_EQ_INT(load_conf("llm.providers = x\nllm.provider.x.kind = openai-compatible\n"
                       "llm.provider.x.default_model = m\n"),
             ST_INVAL);
    T_CHECK(err_has("llm.provider.x.base_url is required for kind openai-compatible"));
    T_EQ_INT(load_conf("llm.providers = x\nllm.provider.x.kind = openai-compatible\n"
                       "llm.provider.x.base_url = http://h/v1\n"),
             ST_INVAL);
    T_CHECK(err_has("llm.provider.x.default_model is required"));
    T_EQ_INT(load_conf("llm.providers = x\nllm.provider.x.kind = openai-compatible\n"
                       "llm.provider.x.base_url = h/v1\n"),
             ST_INVAL);
    T_CHECK(err_has("http://"));
    T_EQ_INT(load_conf("llm.providers = x\n"), ST_INVAL);
    T_CHECK(err_has("llm.providers lists 'x' but llm.provider.x.kind is not set"));
    T_EQ_INT(load_conf("llm.providers = x\nllm.provider.x.kind = anthropic\n"
                       "llm.provider.y.kind = anthropic\n"),
             ST_INVAL);
    T_CHECK(err_has("llm.provider.y.* is set but 'y' is not in llm.providers"));
    T_EQ_INT(load_conf("llm.provider.x.kinds = anthropic\n"), ST_BAD);
    T_CHECK(err_has("roost.conf:1: unknown key 'llm.provider.x.kinds'"));
    T_EQ_INT(load_conf("llm.provider.x = anthropic\n"), ST_BAD);
    T_EQ_INT(load_conf("llm.provider.X.kind = anthropic\n"), ST_BAD);
    T_EQ_INT(load_conf("llm.providers = a,A\n"), ST_INVAL);
    T_EQ_INT(load_conf("llm.providers = a,a\n"), ST_INVAL);
    T_CHECK(err_has("listed twice"));
    /* one provider more than CFG_MAX_PROVIDERS, in the list and as slots */
    {
        static char text[64 + (CFG_MAX_PROVIDERS + 1) * 40];
        char want[64];
        size_t n = (size_t)snprintf(text, sizeof text, "llm.providers = ");
        unsigned i;
        for (i = 0u; i <= CFG_MAX_PROVIDERS; i++) {
            n += (size_t)snprintf(text + n, sizeof text - n, "%sp%u", (i > 0u) ? "," : "", i);
        }
        (void)snprintf(text + n, sizeof text - n, "\n");
        T_EQ_INT(load_conf(text), ST_TOOBIG);
        n = 0u;
        for (i = 0u; i <= CFG_MAX_PROVIDERS; i++) {
            n += (size_t)snprintf(text + n, sizeof text - n, "llm.provider.p%u.kind = anthropic\n",
                                  i);
        }
        T_EQ_INT(load_conf(text), ST_TOOBIG);
        (void)snprintf(want, sizeof want, "roost.conf:%u: too many LLM providers",
                       (unsigned)CFG_MAX_PROVIDERS + 1u);
        T_CHECK(err_has(want));
    }
    T_EQ_INT(load_conf("llm.providers = a\nllm.provider.a.kind = anthropic\n"
                       "llm.fallback_chain = a,b\n"),
             ST_INVAL);
    T_CHECK(err_has("llm.fallback_chain lists 'b'"));
    T_EQ_INT(load_conf("llm.providers = a\nllm.provider.a.kind = anthropic\n"
                       "llm.builder_provider = b\n"),
             ST_INVAL);
    T_EQ_INT(load_conf("llm.provider.a.timeout_ms = 0\n"), ST_RANGE);
}

/* ---- actions, help, dump ------------------------------------------------- */

static void test_actions(void)
{
    files_reset();
    T_EQ_INT(load(ARGS("--help"), NULL), ST_OK);
    T_EQ_INT(g_act, CFG_ACT_HELP);
    T_EQ_INT(load(ARGS("-h"), NULL), ST_OK);
    T_EQ_INT(g_act, CFG_ACT_HELP);
    T_EQ_INT(load(ARGS("--version"), NULL), ST_OK);
    T_EQ_INT(g_act, CFG_ACT_VERSION);
    T_EQ_INT(load(ARGS("-V"), NULL), ST_OK);
    T_EQ_INT(g_act, CFG_ACT_VERSION);
    /* help wins over version and over bad input, and reads no file */
    T_EQ_INT(load(ARGS("-V", "--bogus=1", "-h"), ENV("ROOST_BOGUS=1")), ST_OK);
    T_EQ_INT(g_act, CFG_ACT_HELP);
    T_EQ_STR(g_last_path, "");
    T_EQ_INT(g_c.fam[FAM_FLEET].port, 3000);
    T_EQ_INT(load(ARGS("--fleet.port", "1", "--budget"), NULL), ST_OK);
    T_EQ_INT(g_act, CFG_ACT_BUDGET);
    T_EQ_INT(g_c.fam[FAM_FLEET].port, 1);
    T_EQ_INT(load(ARGS("--budget", "--fleet.port=x"), NULL), ST_INVAL);
}

static void test_help(void)
{
    static const char *const must[] = {
        "--help", "--version", "--config PATH", "--budget", "3000", "4011", "8765", "8766",
        "8767", "api_key", "roost.db", "ROOST_FLEET_PORT", "ROOST_CONFIG", "SIGTERM",
        "exit 0", "2 usage", "--data_dir=", "--log_level=", "--llm.providers=",
        "--llm.provider.NAME.kind=", "--rpg.terminal_capture_lines=", "CORS_ORIGINS",
        "AGENT_ORCHESTRATOR_PROJECT_DIR", "BOTERNITY_WEB_DIR", "127.0.0.1", "./roost-data",
        "http://localhost:5173,http://localhost:3000",
    };
    const char *h = cfg_help_text();
    const char *line = h;
    size_t lines = 0u;
    size_t longest = 0u;
    size_t i;
    T_CHECK(h == cfg_help_text());
    for (i = 0u; i < (size_t)FAM_COUNT; i++) {
        static const char *const keys[] = { "enabled", "host", "port" };
        char flag[48];
        size_t j;
        for (j = 0u; j < 3u; j++) {
            (void)snprintf(flag, sizeof flag, "--%s.%s", fam_name((fam_id)i), keys[j]);
            if (strstr(h, flag) == NULL) {
                fprintf(stderr, "  help lacks \"%s\"\n", flag);
                T_CHECK(false);
            }
        }
    }
    while (*line != '\0') {
        const char *nl = strchr(line, '\n');
        size_t len = (nl != NULL) ? (size_t)(nl - line) : strlen(line);
        longest = (len > longest) ? len : longest;
        lines++;
        line += len + ((nl != NULL) ? 1u : 0u);
    }
    T_CHECK(longest <= 80u);
    T_CHECK(lines <= 124u);    /* 123, and diag.faults in debug builds */
    T_CHECK(lines >= 60u);
    for (i = 0u; i < sizeof must / sizeof must[0]; i++) {
        if (strstr(h, must[i]) == NULL) {
            fprintf(stderr, "  help lacks \"%s\"\n", must[i]);
            T_CHECK(false);
        }
    }
}

/* Every dumped `key = value` line fed back as a flag (and as a ROOST_*
 * variable) must load and dump the same: the dump, flags, environment names
 * and the key table agree. */
static void test_dump_roundtrip(void)
{
    static char dump1[8192];
    static char dump2[8192];
    static char flags[8192];
    static char envs[8192];
    static const char *args[160];
    static const char *env[160];
    size_t n1;
    size_t na = 0u;
    size_t ne = 0u;
    size_t fpos = 0u;
    size_t epos = 0u;
    const char *line;

    files_reset();
    file_add("roost.conf", "llm.providers = ol,anthropic\n"
                           "llm.provider.anthropic.kind = anthropic\n"
                           "llm.provider.ol.kind = openai-compatible\n"
                           "llm.provider.ol.base_url = http://h/v1\n"
                           "llm.provider.ol.default_model = m\n"
                           "rpg.tls_cert = /c\nrpg.tls_key = /k\nlog_level = error\n");
    T_EQ_INT(load(NULL, NULL), ST_OK);
    n1 = cfg_dump(&g_c, dump1, sizeof dump1);
    T_CHECK(n1 > 0u);
    T_EQ_INT(strlen(dump1), n1);
    T_CHECK(strstr(dump1, "fleet.port = 3000\n") != NULL);
    T_CHECK(strstr(dump1, "log_level = error\n") != NULL);
    T_CHECK(strstr(dump1, "fleet.tls_cert =\n") != NULL);
    T_CHECK(strstr(dump1, "llm.provider.ol.kind = openai-compatible\n") != NULL);
    T_CHECK(strstr(dump1, "llm.provider.anthropic.default_model = claude-sonnet-4-20250514\n")
            != NULL);

    for (line = dump1; *line != '\0';) {
        const char *nl = strchr(line, '\n');
        const char *eq = strstr(line, " =");
        size_t kl = (size_t)(eq - line);
        const char *val = eq + 2;
        size_t vl;
        size_t j;
        if ((nl == NULL) || (eq == NULL) || (eq > nl)) {
            T_CHECK(false);
            break;
        }
        val += (*val == ' ') ? 1 : 0;
        vl = (size_t)(nl - val);
        args[na++] = flags + fpos;
        fpos += (size_t)snprintf(flags + fpos, sizeof flags - fpos, "--%.*s=%.*s", (int)kl,
                                 line, (int)vl, val) + 1u;
        if (strncmp(line, "llm.provider.", 13u) != 0) {
            env[ne++] = envs + epos;
            epos += (size_t)snprintf(envs + epos, sizeof envs - epos, "ROOST_");
            for (j = 0u; j < kl; j++) {
                char ch = line[j];
                envs[epos++] = (ch == '.') ? '_' : (((ch >= 'a') && (ch <= 'z'))
                                                    ? (char)(ch - 32) : ch);
            }
            epos += (size_t)snprintf(envs + epos, sizeof envs - epos, "=%.*s", (int)vl, val) +
                    1u;
        }
        line = nl + 1;
    }
    args[na] = NULL;
    env[ne] = NULL;
    T_CHECK(na > 70u);

    files_reset();
    T_EQ_INT(load(args, NULL), ST_OK);
    (void)cfg_dump(&g_c, dump2, sizeof dump2);
    T_EQ_STR(dump2, dump1);

    /* same through ROOST_* variables, plus the provider keys as flags */
    na = 0u;
    args[na++] = "--llm.provider.anthropic.kind=anthropic";
    args[na++] = "--llm.provider.ol.kind=openai-compatible";
    args[na++] = "--llm.provider.ol.base_url=http://h/v1";
    args[na++] = "--llm.provider.ol.default_model=m";
    args[na] = NULL;
    T_EQ_INT(load(args, env), ST_OK);
    (void)cfg_dump(&g_c, dump2, sizeof dump2);
    T_EQ_STR(dump2, dump1);

    /* a small buffer gets whole lines only */
    {
        char small[40];
        size_t n = cfg_dump(&g_c, small, sizeof small);
        T_EQ_INT(strlen(small), n);
        T_CHECK((n > 0u) && (small[n - 1u] == '\n'));
        T_EQ_INT(cfg_dump(&g_c, small, 0u), 0);
        T_EQ_INT(cfg_dump(&g_c, small, 1u), 0);
        T_EQ_STR(small, "");
    }
}

static void test_err_buffer(void)
{
    static char *argv[3] = { (char *)"roostd", (char *)"--fleet.prot=1", NULL };
    char tiny[8];
    files_reset();
    memset(tiny, 'z', sizeof tiny);
    T_EQ_INT(cfg_load(&g_c, 2, argv, NULL, "/w", fake_read, &g_act, tiny, sizeof tiny), ST_BAD);
    T_EQ_INT(strlen(tiny), sizeof tiny - 1u);
    T_EQ_INT(cfg_load(&g_c, 2, argv, NULL, "/w", fake_read, &g_act, NULL, 0u), ST_BAD);
}

/* ---- reload and sources ----------------------------------------------- */

static char g_changed[16][64];
static bool g_applied[16];
static size_t g_nchanged;

static void on_changed(const char *key, bool applied)
{
    if (g_nchanged < 16u) {
        (void)snprintf(g_changed[g_nchanged], sizeof g_changed[0], "%s", key);
        g_applied[g_nchanged] = applied;
        g_nchanged++;
    }
}

/* Index of key in the changes reported, or -1. */
static int changed_at(const char *key)
{
    size_t i;
    for (i = 0u; i < g_nchanged; i++) {
        if (strcmp(g_changed[i], key) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static roost_cfg g_live;
static unsigned char g_scratch[CFG_RELOAD_SCRATCH_BYTES] __attribute__((aligned(8)));

static st_t reload_with(const char *text)
{
    static char *argv[] = { (char *)"roostd", (char *)"--config=r.conf",
                            (char *)"--documents.port=9100", NULL };
    files_reset();
    file_add("r.conf", text);
    g_nchanged = 0u;
    g_err[0] = '\0';
    return cfg_reload(&g_live, g_scratch, sizeof g_scratch, 3, argv, NULL, "/w", fake_read,
                      on_changed, g_err, sizeof g_err);
}

static void test_reload(void)
{
    static char *argv[] = { (char *)"roostd", (char *)"--config=r.conf",
                            (char *)"--documents.port=9100", NULL };
    int i;
    files_reset();
    file_add("r.conf", "log_level = info\nmax_json_body_bytes = 1000\n"
                       "documents.chunk_bytes = 8192\n");
    T_EQ_INT(cfg_load(&g_live, 3, argv, NULL, "/w", fake_read, &g_act, g_err, sizeof g_err),
             ST_OK);
    T_EQ_INT(cfg_num(&g_live, "documents.chunk_bytes"), 8192);

    /* A live key applied, a restart key and a family's own key reported and
     * kept; the flag still outranks the file. */
    T_EQ_INT(reload_with("log_level = debug\nmax_json_body_bytes = 1000\n"
                         "documents.chunk_bytes = 4096\ndocuments.port = 9200\n"
                         "data_dir = /elsewhere\n"), ST_OK);
    i = changed_at("log_level");
    T_CHECK((i >= 0) && g_applied[i]);
    T_EQ_INT(g_live.log_level, LOG_DEBUG);
    i = changed_at("documents.chunk_bytes");
    T_CHECK((i >= 0) && !g_applied[i]);
    T_EQ_INT(cfg_num(&g_live, "documents.chunk_bytes"), 8192);   /* family storage kept */
    i = changed_at("data_dir");
    T_CHECK((i >= 0) && !g_applied[i]);
    T_EQ_STR(g_live.data_dir, "./roost-data");
    T_EQ_INT(changed_at("documents.port"), -1);                  /* the flag wins */
    T_EQ_INT(changed_at("max_json_body_bytes"), -1);             /* unchanged */
    T_EQ_INT(g_nchanged, 3);

    /* A bad file: nothing changes, the error is a load's. */
    T_EQ_INT(reload_with("log_level = info\nmax_json_body_bytes = 0\n"), ST_RANGE);
    T_CHECK(err_has("r.conf:2: max_json_body_bytes"));
    T_EQ_INT(g_nchanged, 0);
    T_EQ_INT(g_live.log_level, LOG_DEBUG);
    T_EQ_INT(g_live.max_json_body_bytes, 1000);
    T_EQ_INT(cfg_num(&g_live, "documents.chunk_bytes"), 8192);

    /* Too small a scratch is refused, not overrun. */
    T_EQ_INT(cfg_reload(&g_live, g_scratch, sizeof g_scratch - 1u, 3, argv, NULL, "/w",
                        fake_read, on_changed, g_err, sizeof g_err), ST_NOMEM);
}

static void test_check_lines(void)
{
    static char line[1024];
    size_t i;
    size_t n;
    bool seen_file = false;
    bool seen_flag = false;
    bool seen_env = false;
    bool seen_alias = false;
    files_reset();
    file_add("roost.conf", "# c\nlog_level = warn\n");
    T_EQ_INT(load(ARGS("--max_json_body_bytes=77", "--check-config"),
                  ENV("ROOST_HTTP_BODY_TIMEOUT_MS=5", "AGENT_MANAGER_PORT=9300")), ST_OK);
    T_EQ_INT(g_act, CFG_ACT_CHECK);
    T_EQ_STR(cfg_check_file(), "roost.conf");
    for (i = 0u; i < cfg_check_count(&g_c); i++) {
        n = cfg_check_line(&g_c, i, line, sizeof line);
        T_CHECK((n > 0u) && (line[n - 1u] == '\n'));
        seen_file |= (strcmp(line, "log_level = warn  (roost.conf:2)\n") == 0);
        seen_flag |= (strcmp(line, "max_json_body_bytes = 77  (flag --max_json_body_bytes)\n") == 0);
        seen_env |= (strcmp(line, "http.body_timeout_ms = 5  (env ROOST_HTTP_BODY_TIMEOUT_MS)\n") == 0);
        seen_alias |= (strcmp(line, "agents.port = 9300  (env AGENT_MANAGER_PORT)\n") == 0);
    }
    T_CHECK(seen_file && seen_flag && seen_env && seen_alias);
    /* A line that does not fit is not written. */
    T_EQ_INT(cfg_check_line(&g_c, 0u, line, 8u), 0);
    /* --config-default: read when present, not required. */
    files_reset();
    file_add("/etc/r.conf", "log_level = error\n");
    T_EQ_INT(load(ARGS("--config-default", "/etc/r.conf"), NULL), ST_OK);
    T_EQ_INT(g_c.log_level, LOG_ERROR);
    T_EQ_INT(load(ARGS("--config-default=/etc/none.conf"), NULL), ST_OK);
    T_EQ_STR(cfg_check_file(), "");
    T_EQ_INT(load(ARGS("--config-default=/etc/r.conf"), ENV("ROOST_CONFIG=/etc/none.conf")),
             ST_NOTFOUND);
}

int main(void)
{
    T_RUN(test_defaults);
    T_RUN(test_derived);
    T_RUN(test_precedence);
    T_RUN(test_aliases);
    T_RUN(test_config_path);
    T_RUN(test_file_format);
    T_RUN(test_unknown_keys);
    T_RUN(test_types);
    T_RUN(test_lengths);
    T_RUN(test_lists);
    T_RUN(test_clamping);
    T_RUN(test_cross_checks);
    T_RUN(test_providers);
    T_RUN(test_provider_errors);
    T_RUN(test_actions);
    T_RUN(test_help);
    T_RUN(test_dump_roundtrip);
    T_RUN(test_err_buffer);
    T_RUN(test_reload);
    T_RUN(test_check_lines);
    return t_done("cfg");
}
