#include "core/clock.h"

#include <string.h>

#include "core/fmt.h"
#include "port.h"

static const char *const k_wday[7] = { "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed" };
static const char *const k_mon[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

uint64_t clock_mono_us(void)
{
    return port_mono_us();
}

uint64_t clock_mono_ms(void)
{
    return port_mono_us() / 1000u;
}

uint64_t clock_wall_us(void)
{
    return port_wall_us();
}

uint64_t clock_local_us(uint64_t wall_us)
{
    uint64_t secs = wall_us / 1000000u;
    int32_t off_s = port_utc_offset_s((int64_t)secs);
    uint64_t out = wall_us;
    if (off_s >= 0) {
        out += (uint64_t)off_s * 1000000u;
    } else {
        uint64_t back = (uint64_t)(-(int64_t)off_s) * 1000000u;
        out = (back > wall_us) ? 0u : (wall_us - back);
    }
    return out;
}

/* Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm). */
void clock_to_civil(uint64_t wall_us, clock_civil *out)
{
    uint64_t secs = wall_us / 1000000u;
    uint64_t days_u = secs / 86400u;
    int64_t days = (int64_t)days_u;
    uint64_t rem = secs % 86400u;
    uint64_t hh = rem / 3600u;
    uint64_t mm = (rem % 3600u) / 60u;
    uint64_t ss = rem % 60u;
    int64_t z = days + 719468;
    int64_t era = z / 146097; /* z >= 0: the clock starts at the epoch */
    int64_t doe = z - (era * 146097);
    int64_t yoe = (doe - (doe / 1460) + (doe / 36524) - (doe / 146096)) / 365;
    int64_t y = yoe + (era * 400);
    int64_t doy = doe - ((365 * yoe) + (yoe / 4) - (yoe / 100));
    int64_t mp = ((5 * doy) + 2) / 153;
    int64_t d = (doy - (((153 * mp) + 2) / 5)) + 1;
    int64_t m = mp - 9;
    if (mp < 10) {
        m = mp + 3;
    }
    if (m <= 2) {
        y++;
    }
    out->year = (int)y;
    out->month = (int)m;
    out->day = (int)d;
    out->hour = (int)hh;
    out->min = (int)mm;
    out->sec = (int)ss;
    out->usec = (uint32_t)(wall_us % 1000000u);
}

/* IMF-fixdate without the printf family: every response's Date line is made
 * of it (once a second, http/resp.c). A year past 9999 takes more digits, as
 * "%04d" would. */
static size_t format_http(uint64_t wall_us, const clock_civil *c, char *buf, size_t cap)
{
    char t[40];   /* "Www, DD Mmm YYYYYY HH:MM:SS GMT": 31 at most */
    size_t n;
    (void)memcpy(t, k_wday[(wall_us / 86400000000u) % 7u], 3u);
    (void)memcpy(&t[3], ", ", 2u);
    n = 5u;
    n += fmt_u64_pad(&t[n], (sizeof t) - n, (uint64_t)c->day, 2u);
    t[n] = ' ';
    (void)memcpy(&t[n + 1u], k_mon[c->month - 1], 3u);
    t[n + 4u] = ' ';
    n += 5u;
    n += fmt_u64_pad(&t[n], (sizeof t) - n, (uint64_t)c->year, 4u);
    t[n] = ' ';
    n++;
    n += fmt_u64_pad(&t[n], (sizeof t) - n, (uint64_t)c->hour, 2u);
    t[n] = ':';
    n++;
    n += fmt_u64_pad(&t[n], (sizeof t) - n, (uint64_t)c->min, 2u);
    t[n] = ':';
    n++;
    n += fmt_u64_pad(&t[n], (sizeof t) - n, (uint64_t)c->sec, 2u);
    (void)memcpy(&t[n], " GMT", 4u);
    n += 4u;
    if (n >= cap) {
        return 0u;
    }
    (void)memcpy(buf, t, n);
    buf[n] = '\0';
    return n;
}

/* The ISO 8601 forms without the printf family (they stamp requests,
 * events and files): digits = the fraction's (6, 3, or 0 for Python's
 * isoformat(): six when the microseconds are not 0, none otherwise), then
 * suffix ("Z", "+00:00" or ""). */
static size_t format_iso(const clock_civil *c, unsigned digits, const char *suffix, char *buf,
                         size_t cap)
{
    char t[48];   /* "YYYYYY-MM-DDTHH:MM:SS.UUUUUU+00:00": 34 at most */
    size_t n = fmt_u64_pad(t, sizeof t, (uint64_t)c->year, 4u);
    static const char seps[] = "--T::";   /* before month, day, hour, min, sec */
    const int parts[5] = { c->month, c->day, c->hour, c->min, c->sec };
    size_t sn = strlen(suffix);
    size_t i;
    for (i = 0u; i < 5u; i++) {
        t[n] = seps[i];
        n++;
        n += fmt_u64_pad(&t[n], (sizeof t) - n, (uint64_t)parts[i], 2u);
    }
    if (digits == 3u) {
        t[n] = '.';
        n++;
        n += fmt_u64_pad(&t[n], (sizeof t) - n, (uint64_t)(c->usec / 1000u), 3u);
    } else if ((digits == 6u) || (c->usec != 0u)) {
        t[n] = '.';
        n++;
        n += fmt_u64_pad(&t[n], (sizeof t) - n, (uint64_t)c->usec, 6u);
    } else {
        /* isoformat() of a whole second */
    }
    if ((n + sn) >= cap) {
        return 0u;
    }
    (void)memcpy(buf, t, n);
    (void)memcpy(&buf[n], suffix, sn + 1u);
    return n + sn;
}

size_t clock_format(uint64_t wall_us, clock_fmt fmt, char *buf, size_t cap)
{
    clock_civil c;
    size_t n;
    clock_to_civil(wall_us, &c);
    switch (fmt) {
    case CLOCK_FMT_Z6:
        n = format_iso(&c, 6u, "Z", buf, cap);
        break;
    case CLOCK_FMT_OFF6:
        n = format_iso(&c, 6u, "+00:00", buf, cap);
        break;
    case CLOCK_FMT_Z3:
        n = format_iso(&c, 3u, "Z", buf, cap);
        break;
    case CLOCK_FMT_NAIVE6:
        n = format_iso(&c, 6u, "", buf, cap);
        break;
    case CLOCK_FMT_ISO:
        n = format_iso(&c, 0u, "", buf, cap);
        break;
    case CLOCK_FMT_HTTP:
    default:
        n = format_http(wall_us, &c, buf, cap);
        break;
    }
    return n;   /* < cap, or 0 */
}
