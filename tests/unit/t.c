#include "t.h"

#include <stdio.h>
#include <string.h>

static int g_passed;
static int g_failed;
static int g_cur_failed;

void t_check(bool ok, const char *expr, const char *file, int line)
{
    if (!ok) {
        g_cur_failed++;
        fprintf(stderr, "  FAIL %s:%d: %s\n", file, line, expr);
    }
}

void t_eq_int(long long a, long long b, const char *ea, const char *eb, const char *file, int line)
{
    if (a != b) {
        g_cur_failed++;
        fprintf(stderr, "  FAIL %s:%d: %s == %s (%lld != %lld)\n", file, line, ea, eb, a, b);
    }
}

void t_eq_str(const char *a, const char *b, const char *ea, const char *eb, const char *file, int line)
{
    if ((a == NULL) || (b == NULL) || (strcmp(a, b) != 0)) {
        g_cur_failed++;
        fprintf(stderr, "  FAIL %s:%d: %s == %s (\"%s\" != \"%s\")\n", file, line, ea, eb,
                a ? a : "(null)", b ? b : "(null)");
    }
}

void t_eq_mem(const void *a, size_t an, const void *b, size_t bn, const char *ea, const char *file, int line)
{
    if ((an != bn) || ((an > 0u) && (memcmp(a, b, an) != 0))) {
        g_cur_failed++;
        fprintf(stderr, "  FAIL %s:%d: %s == \"%.*s\" (got \"%.*s\")\n", file, line, ea,
                (int)bn, (const char *)b, (int)an, a ? (const char *)a : "");
    }
}

void t_run(const char *name, void (*fn)(void))
{
    g_cur_failed = 0;
    fn();
    if (g_cur_failed == 0) {
        g_passed++;
    } else {
        g_failed++;
        fprintf(stderr, "FAILED %s\n", name);
    }
}

int t_done(const char *suite)
{
    printf("%s: %d passed, %d failed\n", suite, g_passed, g_failed);
    return (g_failed == 0) ? 0 : 1;
}
