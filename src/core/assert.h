/*
 * assert.h - defensive macros with distinct meanings (after SQLite).
 *
 *   ASSERT(x)  a bug if false. Checked in debug and test builds (aborts with
 *              file:line); compiled out when NDEBUG is defined (the release
 *              build, `make`).
 *   NEVER(x)   a can't-happen condition that release builds still handle:
 *              `if (NEVER(p == NULL)) return ST_INTERNAL;`. In debug builds a
 *              true value is a bug and aborts. Under NDEBUG it evaluates to x,
 *              so the safe branch is taken; a true value is logged (the first
 *              ROOST_NEVER_LOGGED of them) and counted (roost_never_hits,
 *              /metrics roost_never_hits_total).
 *   ALWAYS(x)  the mirror of NEVER.
 */
#ifndef ROOST_ASSERT_H
#define ROOST_ASSERT_H

#include <stdbool.h>
#include <stdint.h>

void roost_assert_fail(const char *expr, const char *file, int line);
/* roost_assert_fail for NEVER/ALWAYS: typed bool so the macros stay boolean
 * expressions; it does not return. */
bool roost_assert_hit(const char *expr, const char *file, int line);
/* A NEVER/ALWAYS that fired in a release build: logs, counts, returns true. */
bool roost_never_hit(const char *expr, const char *file, int line);
/* How many NEVER/ALWAYS fired since start (always 0 in debug builds, which
 * abort instead). */
uint64_t roost_never_hits(void);

#define ROOST_NEVER_LOGGED 16u

#ifdef NDEBUG
#define ASSERT(x) ((void)0)
#define NEVER(x) ((x) ? roost_never_hit(#x, __FILE__, __LINE__) : false)
#define ALWAYS(x) ((x) ? true : !roost_never_hit(#x, __FILE__, __LINE__))
#else
#define ASSERT(x) ((x) ? (void)0 : roost_assert_fail(#x, __FILE__, __LINE__))
#define NEVER(x) ((x) ? roost_assert_hit(#x, __FILE__, __LINE__) : false)
#define ALWAYS(x) ((x) ? true : !roost_assert_hit(#x, __FILE__, __LINE__))
#endif

#endif
