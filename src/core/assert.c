#include "core/assert.h"

#include <stdio.h>
#include <stdlib.h>

#include "port.h"

static uint64_t g_never_hits;

static void say(const char *what, const char *expr, const char *file, int line)
{
    char buf[256];
    int k = snprintf(buf, sizeof buf, "%s: %s (%s:%d)\n", what, expr, file, line);
    port_stderr(buf, ((k > 0) && ((size_t)k < sizeof buf)) ? (size_t)k : 0u);
}

void roost_assert_fail(const char *expr, const char *file, int line)
{
    say("assertion failed", expr, file, line);
    abort();
}

bool roost_assert_hit(const char *expr, const char *file, int line)
{
    roost_assert_fail(expr, file, line);
    return true;
}

bool roost_never_hit(const char *expr, const char *file, int line)
{
    if (g_never_hits < (uint64_t)ROOST_NEVER_LOGGED) {
        say("can't-happen branch taken", expr, file, line);
    }
    g_never_hits++;
    return true;
}

uint64_t roost_never_hits(void)
{
    return g_never_hits;
}
