/*
 * desc.h - a family as a descriptor: everything the layers below and the
 * app know of a family, in one const struct (after lwIP's memp_std.h).
 *
 * Each family folder src/fam/<f>/ has a desc.c that defines
 * `const fam_desc fam_<f>` and a line `FAMILY(<f>, <F>)` in
 * src/fam/families.def. desc.c is compiled in every profile (the Makefile
 * builds src/fam/<f>/desc.c whatever FAMILIES says; the rest of the folder
 * only when <f> is in FAMILIES): what a build without the family still
 * needs of it is plain data, and its code is behind CFG_FAM_<F> there.
 *
 *   always      name, config prefix, --help line, default port, hook path,
 *               CORS style and defaults, ring topic, its migration steps (one schema
 *               numbering for every profile: a database moves between
 *               builds; store.h), its config keys with their storage,
 *               upstream environment names and finish hook (a key of a
 *               family not built is still known, to be refused by name)
 *   built only  statements, route table, error writer, hooks (setup, init,
 *               streams, shutdown); NULL / 0 when CFG_FAM_<F> is 0, and
 *               `built` is false
 *
 * The app walks the list (fam/families.h): it hands every family's
 * store_part to store_add, runs init and streams of the built ones, and
 * for each enabled one fills an http_service from the descriptor, lets
 * setup complete it and opens the listener. http/, store/, net/, bus/ and
 * core/ see only the service, the store part and the stream policies: they
 * name no family (tools/check_layers.py).
 */
#ifndef ROOST_FAM_DESC_H
#define ROOST_FAM_DESC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "fam/keys.h"
#include "http/router.h"
#include "http/server.h"
#include "out/llm.h"
#include "store/store.h"

/* What a family's hooks get from the app: nothing of the app's types. */
typedef struct fam_env {
    const char *data_dir;               /* exists, never empty */
    const char *const *envp;            /* NULL-terminated, may be NULL */
    const llm_conf *llm;                /* the llm.* keys (NULL without the LLM stack) */
    /* The loaded value of a config key by its name
     * ("observability.stop_grace_ms"): str for text keys, num for numbers
     * and booleans (1/0); "" and 0 for a key that does not exist or is of
     * the other kind. The strings live as long as the process. */
    const char *(*str)(const char *key);
    uint64_t (*num)(const char *key);
} fam_env;

/* A route table and its length, as one constant the descriptor points to. */
typedef struct {
    const route *routes;
    size_t n;
} fam_routes;

typedef struct fam_desc {
    const char *name;                   /* logs, the ready line, --limits */
    const char *prefix;                 /* config keys <prefix>.port, ...;
                                         * also the listener's name */
    const char *about;                  /* one line of --help */
    uint16_t port;                      /* default port (upstream's) */
    /* The path at which its listener takes Claude Code hook bodies as a
     * POST (spec hooks.md §1), NULL: none. `roostd hooks install` points
     * Claude Code's hooks there, and `roostd hook` posts there by default
     * (app/hooks_cli.h). */
    const char *hook_path;
    uint32_t topic;                     /* its ring topic bit (bus/ring.h), 0: none;
                                         * distinct per family */
    cors_style cors;                    /* header style (http/cors.h) */
    const char *cors_origins;           /* default <prefix>.cors_origins */
    bool cors_credentials;              /* Allow-Credentials: true */
    const char *cors_methods;           /* CORS_STYLE_ECHO's lists */
    const char *cors_headers;
    store_part store;                   /* steps always; stmts when built */
    /* Its own config keys beyond the listener's (<prefix>.port, ...; the
     * app makes those from prefix, port and cors_origins), their values in
     * the family's storage (fam/keys.h), in --help's order. */
    const cfg_key_def *keys;
    size_t nkeys;
    const cfg_alias *aliases;           /* upstream names feeding its keys */
    size_t naliases;
    /* After every source, for every family (built or not, as its keys are
     * always loaded): derive the keys nobody set, check the ones that
     * depend on each other. NULL: nothing. A failure stops the load. */
    st_t (*keys_finish)(const fam_keys_env *env);

    bool built;                         /* CFG_FAM_<F>; below: NULL/0 when not */
    const fam_routes *routes;
    /* The family's error body (also for protocol errors, h->req NULL). */
    void (*error)(hctx *h, int status, const char *code, const char *msg);
    /* Runtime state and config, once, after the store opened and before
     * any listener (whether the family's listener is enabled or not).
     * NULL: nothing. A failure stops the start (logged by the family). */
    st_t (*init)(const fam_env *env);
    /* Set and register (stream_register) its stream policies: topics,
     * lag and priority policy, heartbeats from its keys. After init, for
     * an enabled family, before setup. NULL: no streams. */
    void (*streams)(const fam_env *env);
    /* Complete the service the app filled from this descriptor (name,
     * routes, error, CORS, limits, auth): authorize, fallback,
     * bad_method_is_not_found. Enabled families only. NULL: nothing. */
    void (*setup)(http_service *svc);
    /* After the loop stopped, before the store closes. NULL: nothing. */
    void (*shutdown)(void);
} fam_desc;

#endif
