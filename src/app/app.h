/*
 * app.h - roostd's entry: configuration, init order, the ready line, the
 * loop, graceful shutdown. The port's main() calls app_main.
 *
 * `roostd --check-config` loads the configuration as a start does, prints
 * every key with its value and source and exits 0 (2 on an error, with a
 * start's message); it never binds or touches the data directory. SIGHUP
 * reloads what can change live (app_reload: its steps, the configuration's
 * first, app/cfg.h).
 *
 * Exit codes: 0 clean (also after SIGTERM/SIGINT), 1 runtime failure (a
 * port in use, the data directory or database unusable), 2 usage or
 * configuration error.
 */
#ifndef ROOST_APP_H
#define ROOST_APP_H

#include "app/cfg.h"
#include "http/server.h"
#include "net/conn.h"

/* Static RAM of this module (the configuration, the listeners' services,
 * the text buffer of the ready line, --budget and --limits), for `roostd
 * --budget`. */
#define APP_OUT_BYTES ((size_t)CFG_APP_TEXT_BYTES)
#define APP_ERR_BYTES 512u /* a configuration error, at start or on reload */
/* A reload's configuration is parsed in the render scratch (cfg_reload). */
#define APP_STATIC_BYTES                                                  \
    (sizeof(roost_cfg) + ((size_t)FAM_COUNT * sizeof(http_service)) +     \
     ((size_t)FAM_COUNT * sizeof(listener *)) + APP_OUT_BYTES + APP_ERR_BYTES + \
     (size_t)CFG_CONF_VALUE_BYTES)

int app_main(int argc, char *const *argv, const char *const *envp);

/* The value of environment variable name in envp (NULL-terminated "NAME=
 * value" strings, may be NULL): the first match, or NULL. */
const char *app_env(const char *const *envp, const char *name);

#endif
