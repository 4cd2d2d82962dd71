#include "core/strv.h"

#include <string.h>

static char lower_ascii(char c)
{
    char r = c;
    if ((c >= 'A') && (c <= 'Z')) {
        /* cppcheck-suppress misra-c2012-10.8 ; false positive: char plus an offset is char */
        r = (char)(c + ('a' - 'A'));
    }
    return r;
}

strv strv_make(const char *p, size_t n)
{
    strv v;
    v.p = p;
    v.n = n;
    return v;
}

strv strv_from_cstr(const char *s)
{
    strv v = { s, (s != NULL) ? strlen(s) : 0u };
    return v;
}

bool strv_eq(strv a, strv b)
{
    return (a.n == b.n) && ((a.n == 0u) || (memcmp(a.p, b.p, a.n) == 0));
}

bool strv_eq_cstr(strv a, const char *s)
{
    return strv_eq(a, strv_from_cstr(s));
}

bool strv_ieq(strv a, strv b)
{
    size_t i;
    if (a.n != b.n) {
        return false;
    }
    for (i = 0u; i < a.n; i++) {
        if (lower_ascii(a.p[i]) != lower_ascii(b.p[i])) {
            return false;
        }
    }
    return true;
}

bool strv_ieq_cstr(strv a, const char *s)
{
    return strv_ieq(a, strv_from_cstr(s));
}

bool strv_starts_with_cstr(strv a, const char *prefix)
{
    size_t n = strlen(prefix);
    /* strv_eq never hands a NULL a.p (n == 0) to memcmp. */
    return (a.n >= n) && strv_eq((strv){ a.p, n }, (strv){ prefix, n });
}

strv strv_trim(strv a)
{
    /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
    while ((a.n > 0u) && ((a.p[0] == ' ') || (a.p[0] == '\t'))) {
        a.p++;
        a.n--;
    }
    /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
    while ((a.n > 0u) && ((a.p[a.n - 1u] == ' ') || (a.p[a.n - 1u] == '\t'))) {
        a.n--;
    }
    return a;
}

bool strv_to_u64(strv a, uint64_t max, uint64_t *out)
{
    uint64_t v = 0u;
    size_t i;
    if (a.n == 0u) {
        return false;
    }
    for (i = 0u; i < a.n; i++) {
        char ch = a.p[i];
        uint64_t d;
        if ((ch < '0') || (ch > '9')) {
            return false;
        }
        d = (uint64_t)(unsigned char)ch - (uint64_t)(unsigned char)'0';
        /* v * 10 + d <= max, without overflow; d > max first so that
         * max - d cannot wrap (a digit above a small max). */
        if ((d > max) || (v > ((max - d) / 10u))) {
            return false;
        }
        v = (v * 10u) + d;
    }
    *out = v;
    return true;
}

bool strv_list_has_token(strv list, const char *tok)
{
    size_t start = 0u;
    size_t i;
    if (list.n == 0u) {
        return false;       /* holds no token; list.p may be NULL */
    }
    for (i = 0u; i <= list.n; i++) {
        /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
        if ((i == list.n) || (list.p[i] == ',')) {
            strv item = { list.p + start, i - start };
            if (strv_ieq_cstr(strv_trim(item), tok)) {
                return true;
            }
            start = i + 1u;
        }
    }
    return false;
}

int strv_hex_digit(unsigned char c)
{
    int v = -1;
    if ((c >= (unsigned char)'0') && (c <= (unsigned char)'9')) {
        v = (int)c - (int)'0';
    } else if ((c >= (unsigned char)'a') && (c <= (unsigned char)'f')) {
        v = ((int)c - (int)'a') + 10;
    } else if ((c >= (unsigned char)'A') && (c <= (unsigned char)'F')) {
        v = ((int)c - (int)'A') + 10;
    } else {
        /* not a hex digit */
    }
    return v;
}

static bool is_ascii_ws(char c)
{
    return (c == ' ') || (c == '\t') || (c == '\n') || (c == '\v') || (c == '\f') ||
           (c == '\r');
}

strv strv_trim_ws(strv a)
{
    strv t = a;
    while ((t.n > 0u) && is_ascii_ws(t.p[0])) {
        t.p++;
        t.n--;
    }
    while ((t.n > 0u) && is_ascii_ws(t.p[t.n - 1u])) {
        t.n--;
    }
    return t;
}

uint64_t strv_fnv1a(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    size_t i;
    for (i = 0u; i < n; i++) {
        h ^= (uint64_t)(unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return h;
}
