/*
 * templates.h - the default SOUL.md, IDENTITY.md and USER.md of a new bot
 * (spec/fleet.md §3, exact texts, upstream's).
 *
 * Each function renders into the caller's buf (cap bytes) with {name} (and
 * {category}) substituted verbatim, and NUL-terminates it. *n receives the
 * length without the terminator. ST_FULL: the text does not fit (buf then
 * holds a truncated prefix, not to be used).
 */
#ifndef ROOST_FLEET_TEMPLATES_H
#define ROOST_FLEET_TEMPLATES_H

#include <stddef.h>

#include "core/status.h"

/* The identity defaults of spec §2.3 (also used by chat when parsed is null). */
#define TEMPLATES_DEFAULT_MODEL "claude-sonnet-4-20250514"
#define TEMPLATES_DEFAULT_PROVIDER "anthropic"
#define TEMPLATES_DEFAULT_CATEGORY "assistant"
#define TEMPLATES_DEFAULT_TEMPERATURE 0.7
#define TEMPLATES_DEFAULT_MAX_TOKENS 4096

/* Room that always fits a rendered template for a name of at most
 * FLEET_NAME_MAX_CHARS characters (the templates are < 2.5 KiB and repeat
 * {name} at most 8 times). */
#define TEMPLATES_BUF_BYTES 16384u

st_t templates_soul(const char *name, char *buf, size_t cap, size_t *n);
st_t templates_identity(const char *name, const char *category, char *buf, size_t cap,
                        size_t *n);
st_t templates_user(const char *name, char *buf, size_t cap, size_t *n);

#endif
