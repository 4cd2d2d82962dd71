/*
 * t.h - the unit-test harness: a handful of checks, one line per failure,
 * and a closing "<name>: N passed, N failed" line per binary that
 * tools/run_unit.py adds up.
 *
 *   static void test_thing(void) { T_CHECK(x == 1); T_EQ_INT(a, b); }
 *   int main(void) { T_RUN(test_thing); return t_done("pool"); }
 */
#ifndef ROOST_T_H
#define ROOST_T_H

#include <stdbool.h>
#include <stddef.h>

void t_check(bool ok, const char *expr, const char *file, int line);
void t_eq_int(long long a, long long b, const char *ea, const char *eb, const char *file, int line);
void t_eq_str(const char *a, const char *b, const char *ea, const char *eb, const char *file, int line);
void t_eq_mem(const void *a, size_t an, const void *b, size_t bn, const char *ea, const char *file, int line);
void t_run(const char *name, void (*fn)(void));
int t_done(const char *suite);

#define T_CHECK(c) t_check((c), #c, __FILE__, __LINE__)
#define T_EQ_INT(a, b) t_eq_int((long long)(a), (long long)(b), #a, #b, __FILE__, __LINE__)
#define T_EQ_STR(a, b) t_eq_str((a), (b), #a, #b, __FILE__, __LINE__)
/* Compare a view (pointer, length) with a C string literal. */
#define T_EQ_MEM(p, n, lit) t_eq_mem((p), (n), (lit), sizeof(lit) - 1u, #p, __FILE__, __LINE__)
#define T_RUN(fn) t_run(#fn, fn)

#endif
