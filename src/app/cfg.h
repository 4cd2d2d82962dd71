/*
 * cfg.h - roost's runtime configuration (spec README section 2).
 *
 * Every setting is a key (`fleet.port`, `llm.max_depth`, ...). One key table
 * drives parsing, the environment names, the --help listing and cfg_dump, so
 * they cannot drift apart: the app's keys and the listener keys live here
 * (roost_cfg, cfg_keys.c), a family's own keys in its descriptor with their
 * values in the family's storage (fam/desc.h, fam/keys.h); read those with
 * cfg_str/cfg_num by name.
 *
 * Sources, lowest precedence first:
 *   1. built-in defaults
 *   2. the config file: `--config PATH`, else $ROOST_CONFIG (an empty value
 *      counts as unset), else the `--config-default PATH` when it exists
 *      (the service unit's /etc/roost/roost.conf), else `roost.conf` in the
 *      working directory when it exists. A file named explicitly must exist.
 *   3. upstream environment names (PORT, CORS_ORIGINS, ... spec 2.2)
 *   4. ROOST_<KEY> environment variables: the key upper-cased with `.` -> `_`
 *      (ROOST_FLEET_PORT). Provider keys: ROOST_LLM_PROVIDER_<NAME>_<FIELD>,
 *      the name lower-cased (a name with `-` cannot be set this way).
 *   5. flags: `--KEY=VALUE` or `--KEY VALUE`.
 * A key set by several sources takes the value of the highest one; within
 * one source the last occurrence wins.
 *
 * File format: `key = value` lines. A line whose first non-blank character is
 * `#` is a comment; `#` anywhere else is part of the value (URLs, origins).
 * Blank lines are ignored, CR LF line ends and a UTF-8 BOM are accepted.
 * Keys and values are trimmed of surrounding spaces and tabs; values are
 * otherwise verbatim.
 *
 * Value types:
 *   booleans   true|false|1|0|yes|no|on|off (any case)
 *   ports      0..65535; 0 asks the OS for a free port (tests)
 *   integers   decimal, each key has a range; out of range is an error except
 *              rpg.terminal_capture_lines (clamped to 50..500) and
 *              llm.request_budget_tokens (raised to at least 10000)
 *   lists      comma-separated; items are trimmed, empty items are dropped,
 *              stored re-joined as "a,b,c"
 *   URLs       documents.public_url and provider base_url must start with
 *              http:// or https://; trailing `/` are removed
 * Unknown keys in any source, and ROOST_* variables that name no key, are
 * errors that name the key and where it came from.
 *
 * Reload (SIGHUP, cfg_reload): the same sources are read again into a
 * second roost_cfg in a lent scratch; a changed key marked F_LIVE (fam/keys.h: log_level, the
 * body limits, http.body_timeout_ms, the llm.* budgets) is copied into the
 * running config, any other changed key is reported as needing a restart
 * and keeps its running value; a load error changes nothing.
 *
 * Memory: no heap. The file is read into a static CFG_CONF_FILE_BYTES buffer
 * (not reentrant: one load at a time, from the loop's thread). roost_cfg is caller-owned (a few
 * tens of KiB with the default sizes: make it static).
 */
#ifndef ROOST_CFG_H
#define ROOST_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "core/log.h"
#include "core/status.h"
#include "core/strv.h"
#include "fam/families.h"
#include "fam/keys.h"

typedef enum { CFG_ACT_RUN, CFG_ACT_HELP, CFG_ACT_VERSION, CFG_ACT_BUDGET, CFG_ACT_LIMITS,
              CFG_ACT_CHECK } cfg_action;
typedef enum { AUTH_AUTO, AUTH_KEY, AUTH_OPEN } auth_mode;
typedef enum { PROV_NONE, PROV_ANTHROPIC, PROV_OPENAI_COMPAT } cfg_prov_kind;

typedef struct {
    bool enabled;
    char host[CFG_CONF_HOST_BYTES];            /* never empty */
    uint16_t port;                             /* 0 = ephemeral */
    auth_mode auth;
    char cors_origins[CFG_CONF_VALUE_BYTES];   /* "a,b"; "*" means any; at
                                                * most CFG_MAX_CORS_ORIGINS */
    char tls_cert[CFG_CONF_VALUE_BYTES];       /* both set or both "" */
    char tls_key[CFG_CONF_VALUE_BYTES];
} cfg_listener;

/* One LLM provider, complete after cfg_load: kind is never PROV_NONE,
 * base_url and default_model are never empty, api_key_secret may be "". */
typedef struct {
    char name[CFG_CONF_NAME_BYTES];            /* [a-z0-9_-]+ */
    cfg_prov_kind kind;
    char base_url[CFG_CONF_VALUE_BYTES];       /* no trailing '/' */
    char api_key_secret[CFG_CONF_VALUE_BYTES];
    char default_model[CFG_CONF_VALUE_BYTES];
    uint32_t timeout_ms;
} cfg_provider;

typedef struct {
    char data_dir[CFG_CONF_VALUE_BYTES];
    uint64_t max_json_body_bytes;
    uint64_t max_hook_body_bytes;
    log_level log_level;
    cfg_listener fam[FAM_COUNT];
    /* cppcheck-suppress misra-c2012-5.7 ; false positive: an untagged struct has no tag */
    struct {
        uint32_t body_timeout_ms;                  /* body stall -> 408; 0: CFG_BODY_TIMEOUT_MS */
    } http;
    /* cppcheck-suppress misra-c2012-5.7 ; false positive: an untagged struct has no tag */
    struct {
        uint32_t handshake_timeout_ms;             /* a TLS handshake not done by then: closed */
    } tls;
    /* cppcheck-suppress misra-c2012-5.7 ; false positive: an untagged struct has no tag */
    struct {
        bool echo;                                 /* /_echo on every listener (loopback only) */
    } diag;
    /* cppcheck-suppress misra-c2012-5.7 ; false positive: an untagged struct has no tag */
    struct {
        char providers[CFG_CONF_VALUE_BYTES];      /* list, as configured */
        char fallback_chain[CFG_CONF_VALUE_BYTES]; /* list of listed names */
        uint64_t request_budget_tokens;            /* >= 10000 */
        uint32_t budget_pause_timeout_ms;
        uint32_t max_depth;
        uint32_t history_max_messages;
        char builder_provider[CFG_CONF_NAME_BYTES]; /* "" when no provider */
        char builder_model[CFG_CONF_VALUE_BYTES];
        char ca_file[CFG_CONF_VALUE_BYTES];        /* PEM bundle for https providers */
        cfg_provider prov[CFG_MAX_PROVIDERS];      /* in llm.providers order */
        uint32_t n_prov;
        uint8_t chain[CFG_MAX_PROVIDERS];          /* fallback_chain as
                                                    * indexes into prov[] */
        uint32_t n_chain;
    } llm;
    bool diag_faults;   /* diag.faults: the /_fault control channel (debug builds) */
} roost_cfg;

/* Fill *c from defaults, the config file, the environment and argv.
 *
 * argv[0] is the program name and is skipped. envp is a NULL-terminated
 * array of "NAME=value" strings (NULL = empty environment). cwd (not NULL)
 * is the working directory, the default of agents.project_dir. read_file
 * (not NULL) reads a whole file as port_file_read does (ST_NOTFOUND when
 * missing); relative paths such as the default "roost.conf" are relative to
 * the process's working directory.
 *
 * *act: CFG_ACT_HELP when -h/--help is present, else CFG_ACT_VERSION for
 * -V/--version; both return ST_OK at once without reading any config or
 * checking other arguments, and *c then holds only the built-in defaults
 * (derived keys such as agents.dir are still empty). CFG_ACT_BUDGET
 * (--budget) and CFG_ACT_CHECK (--check-config) load and check the whole
 * config like CFG_ACT_RUN; the load never touches the data directory.
 *
 * Returns ST_OK, or a negative status with a one-line message (no newline)
 * in err (always NUL-terminated when errcap > 0), e.g.
 *   roost.conf:12: unknown key 'fleet.prot' (did you mean 'fleet.port'?)
 * Every error is a usage/config error (roostd exits 2). Statuses: ST_BAD
 * (syntax, unknown key or flag), ST_INVAL (bad value, inconsistent keys),
 * ST_RANGE, ST_TOOBIG (value too long, too many list items or providers,
 * file above CFG_CONF_FILE_BYTES), ST_NOTFOUND (explicit file missing), or
 * read_file's own error. On error *c is partly filled and must not be used. */
st_t cfg_load(roost_cfg *c, int argc, char *const *argv, const char *const *envp,
              const char *cwd,
              st_t (*read_file)(const char *path, char *buf, size_t cap, size_t *n),
              cfg_action *act, char *err, size_t errcap);

/* The full --help text, NUL-terminated, lines of at most 80 columns. Built
 * into a static buffer on the first call. Never NULL. */
const char *cfg_help_text(void);

/* "fleet", "rpg", "observability", "documents", "agents"; "?" otherwise. */
const char *fam_name(fam_id f);

/* Whether family f is built in this profile (CFG_FAM_*). A family that is
 * not built never listens: cfg_load refuses its keys ("family fleet is not
 * built in this profile"), except `<family>.enabled = false`, ignores the
 * upstream environment names (PORT, ...) that feed it, and leaves it
 * disabled. llm.* keys are refused the same way without CFG_WITH_LLM. */
bool cfg_fam_built(fam_id f);

/* The listener keys' rows and names, made from the descriptors once
 * (cfg_keys.c): 7 rows of at most 48-byte names per family. */
#define CFG_KEYS_STATIC_BYTES ((size_t)FAM_COUNT * 7u * (sizeof(cfg_key_def) + 48u))

/* Static RAM of this module (the file buffer, the --help text, the load
 * context of at most 1 KiB, the listener keys) and of the families' key
 * storage (fam/keys.h: each family's values live in its desc.c), for
 * `roostd --budget`. */
#define CFG_STATIC_BYTES                                                           \
    ((size_t)CFG_CONF_FILE_BYTES + (size_t)CFG_HELP_BYTES + 1024u + CFG_KEYS_STATIC_BYTES + \
     ((size_t)FAM_COUNT * FAM_KEYS_STATIC_BYTES) + CFG_SRC_STATIC_BYTES)
/* The sources of every key and provider field (--check-config), 4 bytes
 * each. */
#define CFG_SRC_STATIC_BYTES ((96u + ((size_t)CFG_MAX_PROVIDERS * 5u)) * 4u)

/* Print the effective config as `key = value\n` lines (every key of the
 * table, then each provider's fields) into buf. Only whole lines are
 * written; buf is NUL-terminated when cap > 0. Returns the bytes written
 * (without the NUL). Secrets are never part of roost_cfg, so nothing is
 * masked. */
size_t cfg_dump(const roost_cfg *c, char *buf, size_t cap);

/* `roostd --check-config`: the lines of the last cfg_load, one per key and
 * per provider field, "key = value  (source)\n", the source one of
 * "default", "derived" (filled by a finish rule), "PATH:LINE" of the config
 * file, "flag --KEY", "env NAME" (a ROOST_* or an upstream name). Line i of
 * cfg_check_count(c) into buf (NUL-terminated when cap > 0); its length. */
size_t cfg_check_count(const roost_cfg *c);
size_t cfg_check_line(const roost_cfg *c, size_t i, char *buf, size_t cap);
/* "config file PATH" or "no config file" (the file the last load read). */
const char *cfg_check_file(void);

/* Reload (see the top): load the configuration again from the same argv,
 * envp and cwd into scratch (8-byte aligned, at least
 * CFG_RELOAD_SCRATCH_BYTES, free for the call: the app lends the render
 * scratch between two loop turns, so a reload costs no static RAM) and
 * compare it with *live. For each changed key, changed(key, applied) is called:
 * applied = true when its new value was copied into *live (F_LIVE), false
 * when it needs a restart (*live keeps the running value). The families'
 * own key storage keeps the running values. On error nothing changes, err
 * holds the same message a start would give, and the status is cfg_load's. */
#define CFG_RELOAD_SCRATCH_BYTES (sizeof(roost_cfg) + ((size_t)FAM_COUNT * FAM_KEYS_STATIC_BYTES))
st_t cfg_reload(roost_cfg *live, void *scratch, size_t scratch_cap, int argc,
                char *const *argv, const char *const *envp, const char *cwd,
                st_t (*read_file)(const char *path, char *buf, size_t cap, size_t *n),
                void (*changed)(const char *key, bool applied), char *err, size_t errcap);

/* A loaded key's value by its name, for the families' hooks (fam_env):
 * text keys (str) as stored in c, numbers and booleans (num, 1/0). "" and 0
 * for a key that does not exist or is of the other kind. */
const char *cfg_str(const roost_cfg *c, const char *key);
uint64_t cfg_num(const roost_cfg *c, const char *key);

/* The provider called name, or NULL. */
const cfg_provider *cfg_provider_find(const roost_cfg *c, strv name);

#endif
