/*
 * hooks_merge.h - roost's handlers merged into, or taken out of, the
 * `hooks` section of Claude Code's settings: the document side of `roostd
 * hooks install|uninstall` (hooks_cli.h says what the commands promise;
 * hooks_cli.c reads and writes the file).
 *
 * Claude Code's format: {"hooks": {"<Event>": [{"matcher": "*", "hooks":
 * [{"type": "command", "command": "...", "timeout": N}]}, ...]}}. A "group"
 * is an element of an event's array, its "hooks" the handlers; only
 * PreToolUse and PostToolUse take a matcher. A handler is roost's when its
 * command's first word (as sh reads it) is a program named `roostd` and its
 * second word is `hook`.
 */
#ifndef ROOST_APP_HOOKS_MERGE_H
#define ROOST_APP_HOOKS_MERGE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "json/read.h"
#include "json/write.h"

/* A handler's command: the program and the key file quoted, the URL. */
#define HOOKS_CMD_BYTES (3u * (size_t)CFG_CONF_VALUE_BYTES)
/* The events roost's handlers go to, in the order install adds them. */
#define HOOKS_EVENTS 6u
extern const char *const hooks_events[HOOKS_EVENTS];

typedef struct {
    bool install;                 /* false: uninstall */
    char prog[HOOKS_CMD_BYTES];   /* this roostd, quoted for the shell */
    char tail[HOOKS_CMD_BYTES];   /* " --url URL[ --key-file 'FILE']" */
    int hooks;                    /* the root's "hooks" object, -1: none
                                   * (or not an object) */
} hooks_merge;

/* The index in hooks_events of the string token key, or -1. */
int hooks_event_index(const json_doc *d, int key);

/* Would merging change the document d (an object)? *drop_hooks: the
 * `hooks` object would be left empty by uninstall, so it goes too. Install
 * changes nothing when every event has exactly one of roost's handlers,
 * exactly the wanted one, and no other event has any; uninstall when there
 * is none. */
bool hooks_merge_plan(const hooks_merge *m, const json_doc *d, bool *drop_hooks);

/* Write d merged into w: every other member and value as it is (strings
 * decoded and escaped again by the writer, numbers as written), roost's
 * handlers as install or uninstall wants them. */
void hooks_merge_render(json_w *w, const hooks_merge *m, const json_doc *d, bool drop_hooks);

#endif
