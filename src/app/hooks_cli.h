/*
 * hooks_cli.h - roostd's Claude Code hook commands (spec hooks.md §1, §3;
 * README "Claude Code hooks"):
 *
 *   roostd hooks install [--settings PATH] [--api-key KEY | --api-key-file PATH]
 *                        [--config PATH] [--KEY=VALUE...]
 *   roostd hooks uninstall [--settings PATH]
 *   roostd hook <HookType> [--url URL] [--key KEY | --key-file PATH]
 *
 * `hooks install` writes the `hooks` section of Claude Code's settings
 * (default $HOME/.claude/settings.json): for each of PreToolUse and
 * PostToolUse (matcher "*"), Stop, UserPromptSubmit, Notification and
 * SessionStart, one command handler
 *
 *   '<this roostd>' hook <Event> --url http://HOST:PORT/PATH [--key-file 'FILE']
 *
 * with "timeout": HOOKS_TIMEOUT_S. HOST:PORT/PATH is the listener that
 * takes hooks (the family whose descriptor has a hook_path, fam/desc.h), as
 * roostd would configure it from the same sources (roost.conf, --config,
 * the environment, flags); a wildcard bind (0.0.0.0, ::) is reached on
 * loopback. When that listener needs the API key (auth = key, or auto on
 * a bind that is not loopback) the command names a key file, never the key
 * itself (a command line is visible to every user in ps): --api-key-file
 * PATH, or --api-key KEY written to roost-hook.key (0600) beside the
 * settings file, or <data_dir>/api_key, the file roostd writes on its first
 * start. An explicit key is used even when the listener needs none.
 *
 * Merging (hooks_merge.h): a handler is roost's when its command's first
 * word is a program named `roostd` and its second word is `hook`. Everything
 * else in the file is kept: other keys, other events, other groups and
 * handlers of the same events, in their order. Install puts the wanted
 * handler in place of the first of roost's handlers of an event (in whatever
 * group holds it), removes any other of roost's handlers, and appends a new
 * group when the event has none; events roost does not use lose roost's
 * handlers. Uninstall removes every handler of roost's, then every group,
 * event and `hooks` object that this left empty, and the key file
 * roost-hook.key.
 *
 * Writing: nothing is written when nothing changes (a second install is a
 * no-op, the file untouched). Otherwise the file is rewritten whole,
 * indented by 2 spaces (strings and numbers as JSON says them, so the
 * content is the same; the formatting of the first rewrite may differ), to
 * a temporary file, fsynced and renamed, with mode 0600 (settings may hold
 * secrets); the previous content is kept first in <settings>.bak when a
 * file existed. The file is replaced, not written through: a settings.json
 * that is a symbolic link becomes a regular file (its target keeps the old
 * content). A missing or empty file is an empty object; a file that is
 * not a JSON object, or whose `hooks` or an event of it has another type,
 * is refused with exit 2 and left as it is; a file above
 * CFG_HOOKS_SETTINGS_BYTES or with more than CFG_HOOKS_SETTINGS_TOKENS
 * values is refused the same way.
 *
 * `roostd hook` reads the hook JSON on stdin (at most CFG_HOOK_BODY_BYTES:
 * a larger one is not sent), adds the rpg hook script's fields (hooks.md
 * §3: hookType = the argument, timestamp = epoch ms, tmuxTarget = null
 * (roost finds the pane by paneId first), paneId = $TMUX_PANE or null)
 * before the closing brace of an object (a body that is not an object is
 * sent as it is) and POSTs it with Content-Type: application/json and, when
 * given, X-API-Key. It reads no configuration. Connect, send and answer
 * together take at most CFG_HOOK_TIMEOUT_MS. Whatever happens it prints
 * nothing on stdout (Claude Code reads a hook's stdout) and exits 0 (an
 * exit code 2 would block the tool call); what went wrong goes to stderr
 * only when ROOST_HOOK_DEBUG is set and not empty. The URL's host is an IP
 * literal or localhost (no resolver); the default URL is the hook family's
 * default port on 127.0.0.1.
 *
 * Both borrow the server's render scratch (the server is not running in
 * this process): no static RAM of their own.
 *
 * Exit status of `hooks`: 0 done (or nothing to do), 1 a file could not be
 * read or written, 2 usage, configuration or settings-file error.
 */
#ifndef ROOST_APP_HOOKS_CLI_H
#define ROOST_APP_HOOKS_CLI_H

#include "app/cfg.h"

/* Seconds Claude Code lets one of roost's handlers run ("timeout"). */
#define HOOKS_TIMEOUT_S 10

/* `roostd hooks ...`: argv[0] is "hooks". c is the app's configuration
 * storage, loaded here. */
int hooks_cli_main(roost_cfg *c, int argc, char *const *argv, const char *const *envp);
/* `roostd hook ...`: argv[0] is "hook". Always 0. */
int hook_cli_main(int argc, char *const *argv, const char *const *envp);

/* The help of both, for `roostd hooks --help` and `roostd hook --help`. */
const char *hooks_cli_help(void);

/* The API key in the key file path: its first line without surrounding
 * blanks, 1-256 visible ASCII characters, into key (NUL-terminated). false
 * when the file cannot be read or holds no such key. */
bool hooks_key_read(const char *path, char *key, size_t cap);

#endif
