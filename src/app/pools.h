/*
 * pools.h - storage for every fixed pool (see pools.def) and the static RAM
 * plan that `roostd --budget` prints.
 */
#ifndef ROOST_POOLS_H
#define ROOST_POOLS_H

#include <stddef.h>

#include "config.h"
#include "core/arena.h"
#include "core/pool.h"

#define X(name, type, count) extern pool_t pool_##name;
#define A(name, bytes)
#include "app/pools.def"
#undef X
#undef A

extern arena_t init_arena;
/* The CFG_RENDER_BYTES render scratch (http/server.h). */
extern char *const render_scratch;

/* Initialise and register every pool and the init arena. */
void pools_init(void);
/* The static RAM plan, one line per pool/area and a total; returns length. */
size_t pools_budget(char *buf, size_t cap);
/* The profile, its families and its compile-time limits as KEY=VALUE lines
 * (`roostd --limits`); returns length. */
size_t pools_limits(char *buf, size_t cap);

#endif
