#include "core/assert.h"

#include <stdio.h>
#include <stdlib.h>

#include "port.h"

void roost_assert_fail(const char *expr, const char *file, int line)
{
    char buf[256];
    int k = snprintf(buf, sizeof buf, "assertion failed: %s (%s:%d)\n", expr, file, line);
    port_stderr(buf, ((k > 0) && ((size_t)k < sizeof buf)) ? (size_t)k : 0u);
    abort();
}

bool roost_assert_hit(const char *expr, const char *file, int line)
{
    roost_assert_fail(expr, file, line);
    return true;
}
