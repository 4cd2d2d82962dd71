#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>

#include "config.h"
#include "core/assert.h"
#include "core/clock.h"
#include "port.h"

static log_level g_min = LOG_INFO;
static uint64_t g_count[4];

void log_set_level(log_level min)
{
    g_min = min;
}

uint64_t log_count(log_level lv)
{
    return g_count[(unsigned)lv & 3u];
}

void log_msg(log_level lv, const char *module, const char *fmt, ...)
{
    static const char *const names[4] = { "debug", "info ", "warn ", "error" };
    char line[CFG_LOG_LINE_BYTES];
    size_t n;
    int k;
    va_list ap;

    g_count[(unsigned)lv & 3u]++;
    if (lv < g_min) {
        return;
    }
    n = clock_format(clock_wall_us(), CLOCK_FMT_Z3, line, sizeof line);
    k = snprintf(line + n, sizeof(line) - n, " %s %s: ", names[(unsigned)lv & 3u], module);
    if (k > 0) {
        n += ((size_t)k < (sizeof(line) - n)) ? (size_t)k : (sizeof(line) - n - 1u);
    }
    va_start(ap, fmt);
    k = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    va_end(ap);
    if (k > 0) {
        if ((size_t)k >= (sizeof(line) - n)) {
            n = sizeof(line) - 5u;
            line[n] = '.';
            line[n + 1u] = '.';
            line[n + 2u] = '.';
            n += 3u;
        } else {
            n += (size_t)k;
        }
    }
    line[n] = '\n';
    port_stderr(line, n + 1u);
}
