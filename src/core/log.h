/*
 * log.h - one line per event, with a level, on stderr.
 *
 *   2026-11-20T23:48:37.123Z info  net: listening on 127.0.0.1:3000 (fleet)
 *
 * Lines are formatted into a fixed buffer (CFG_LOG_LINE_BYTES) and truncated
 * with "..." when longer; formatting never allocates. Secrets (API keys) are
 * never passed to the log.
 */
#ifndef ROOST_LOG_H
#define ROOST_LOG_H

#include <stdint.h>

typedef enum { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 } log_level;

void log_set_level(log_level min);
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void log_msg(log_level lv, const char *module, const char *fmt, ...);
/* Lines written per level since start (for /metrics). */
uint64_t log_count(log_level lv);

#define LOG_D(mod, ...) log_msg(LOG_DEBUG, (mod), __VA_ARGS__)
#define LOG_I(mod, ...) log_msg(LOG_INFO, (mod), __VA_ARGS__)
#define LOG_W(mod, ...) log_msg(LOG_WARN, (mod), __VA_ARGS__)
#define LOG_E(mod, ...) log_msg(LOG_ERROR, (mod), __VA_ARGS__)

#endif
