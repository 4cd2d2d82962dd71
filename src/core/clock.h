/*
 * clock.h - time for the core: monotonic and wall clocks through the port,
 * and timestamp formatting without the C library's time functions (gmtime is
 * not available on every port).
 */
#ifndef ROOST_CLOCK_H
#define ROOST_CLOCK_H

#include <stddef.h>
#include <stdint.h>

uint64_t clock_mono_us(void);
uint64_t clock_mono_ms(void);
uint64_t clock_wall_us(void);
/* wall_us shifted into the local time zone (port_utc_offset_s), for the
 * spec's naive local timestamps. */
uint64_t clock_local_us(uint64_t wall_us);

typedef struct {
    int year;
    int month;
    int day;
    int hour;
    int min;
    int sec;
    uint32_t usec;
} clock_civil;

void clock_to_civil(uint64_t wall_us, clock_civil *out);

/* Formats, all UTC. Each writes a NUL-terminated string and returns its
 * length, or 0 if cap is too small.
 *   CLOCK_FMT_Z6      2026-02-14T13:37:12.123456Z
 *   CLOCK_FMT_OFF6    2026-02-14T13:37:12.123456+00:00
 *   CLOCK_FMT_Z3      2026-02-14T13:37:12.123Z
 *   CLOCK_FMT_NAIVE6  2026-02-14T13:37:12.123456
 *   CLOCK_FMT_ISO     2026-02-14T13:37:12.123456, or 2026-02-14T13:37:12 when
 *                     the microseconds are 0 (Python's isoformat() of a
 *                     naive datetime; shift wall_us first for local time)
 *   CLOCK_FMT_HTTP    Sat, 14 Feb 2026 13:37:12 GMT   (IMF-fixdate)
 * None uses the printf family (every response's Date line is
 * CLOCK_FMT_HTTP, events and files are stamped on request paths); a year
 * past 9999 takes more digits in every format. */
typedef enum {
    CLOCK_FMT_Z6,
    CLOCK_FMT_OFF6,
    CLOCK_FMT_Z3,
    CLOCK_FMT_NAIVE6,
    CLOCK_FMT_ISO,
    CLOCK_FMT_HTTP
} clock_fmt;

size_t clock_format(uint64_t wall_us, clock_fmt fmt, char *buf, size_t cap);

#endif
