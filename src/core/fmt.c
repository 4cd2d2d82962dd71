#include "core/fmt.h"

#include <string.h>

static const char k_digits[16] = { '0', '1', '2', '3', '4', '5', '6', '7',
                                   '8', '9', 'a', 'b', 'c', 'd', 'e', 'f' };

size_t fmt_u64_pad(char *out, size_t cap, uint64_t v, size_t width)
{
    char tmp[FMT_U64_MAX];
    size_t i = sizeof tmp;
    size_t w = (width < FMT_U64_MAX) ? width : FMT_U64_MAX;
    uint64_t rest = v;
    size_t n;
    /* digits from the right: UINT64_MAX has FMT_U64_MAX of them */
    do {
        i--;
        tmp[i] = k_digits[rest % 10u];
        rest /= 10u;
    } while (rest != 0u);
    while (((sizeof tmp) - i) < w) {
        i--;
        tmp[i] = '0';
    }
    n = (sizeof tmp) - i;
    if (n > cap) {
        return 0u;
    }
    (void)memcpy(out, &tmp[i], n);
    return n;
}

size_t fmt_u64(char *out, size_t cap, uint64_t v)
{
    return fmt_u64_pad(out, cap, v, 1u);
}

size_t fmt_i64(char *out, size_t cap, int64_t v)
{
    uint64_t mag;
    size_t n;
    if (v >= 0) {
        return fmt_u64(out, cap, (uint64_t)v);
    }
    if (cap < 2u) {
        return 0u;
    }
    mag = (uint64_t)0u - (uint64_t)v;     /* INT64_MIN included */
    n = fmt_u64(&out[1], cap - 1u, mag);
    if (n == 0u) {
        return 0u;
    }
    out[0] = '-';
    return n + 1u;
}

size_t fmt_hex_fixed(char *out, size_t cap, uint64_t v, size_t width)
{
    size_t i;
    uint64_t rest = v;
    if ((width == 0u) || (width > 16u) || (width > cap)) {
        return 0u;
    }
    for (i = width; i > 0u; i--) {
        out[i - 1u] = k_digits[rest & 0xfu];
        rest >>= 4u;
    }
    return width;
}

void fmt_hex_bytes(char *out, const uint8_t *b, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t i;
    for (i = 0u; i < n; i++) {
        out[2u * i] = hex[b[i] >> 4];
        out[(2u * i) + 1u] = hex[b[i] & 0x0fu];
    }
    out[2u * n] = '\0';
}
