/*
 * vendor/mbedtls_platform.c - platform functions roost gives mbedtls at link
 * time (MBEDTLS_PLATFORM_GMTIME_R_ALT in vendor/mbedtls_config.h).
 *
 * vendor.mk compiles this into libmbedcrypto.a, so the library links on its
 * own (libcurl's configure links test programs against it). What needs the
 * OS (entropy, the clock) is handed over at run time by src/out/mem.c
 * instead, through port/.
 */
#include <stdint.h>
#include <string.h>

#include "mbedtls/platform_util.h"

/* UTC broken-down time of *tt, by arithmetic only: glibc's gmtime_r reads
 * the time-zone file on its first call (fopen, malloc), which would happen
 * at the first certificate check, long after init. Days to civil date after
 * Howard Hinnant's algorithm (proleptic Gregorian calendar). */
struct tm *mbedtls_platform_gmtime_r(const mbedtls_time_t *tt, struct tm *tm_buf)
{
    int64_t t = (int64_t)*tt;
    int64_t days = t / 86400;
    int64_t secs = t % 86400;
    if (secs < 0) {
        secs += 86400;
        days -= 1;
    }
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;                                    /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);             /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                  /* [0, 11] */
    int64_t mday = doy - (153 * mp + 2) / 5 + 1;                       /* [1, 31] */
    int64_t mon = mp < 10 ? mp + 3 : mp - 9;                           /* [1, 12] */
    int64_t year = yoe + era * 400 + (mon <= 2 ? 1 : 0);
    if (year - 1900 > INT32_MAX || year - 1900 < INT32_MIN) {
        return NULL;
    }
    memset(tm_buf, 0, sizeof *tm_buf);
    tm_buf->tm_year = (int)(year - 1900);
    tm_buf->tm_mon = (int)(mon - 1);
    tm_buf->tm_mday = (int)mday;
    tm_buf->tm_hour = (int)(secs / 3600);
    tm_buf->tm_min = (int)((secs % 3600) / 60);
    tm_buf->tm_sec = (int)(secs % 60);
    tm_buf->tm_wday = (int)(((days % 7) + 11) % 7);                    /* 1970-01-01: Thursday */
    int64_t jan1 = (mon <= 2) ? doy - 306 : doy + 59;                  /* day of year from Jan 1 */
    int leap = ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0) ? 1 : 0;
    if (mon > 2) {
        jan1 += leap;
    }
    tm_buf->tm_yday = (int)jan1;
    return tm_buf;
}
