/* base64.c - see base64.h. */
#include "core/base64.h"

#include <stdint.h>

static const char k_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

st_t base64_encode(const void *src, size_t n, char *out, size_t cap, size_t *written)
{
    const uint8_t *p = (const uint8_t *)src;
    size_t need = BASE64_ENC_LEN(n);
    st_t st = ST_OK;

    if ((out == NULL) || (cap < (need + 1u))) {
        st = ST_FULL;
    } else {
        size_t i = 0u;
        size_t o = 0u;
        while ((n - i) >= 3u) {
            uint32_t v = ((uint32_t)p[i] << 16) | ((uint32_t)p[i + 1u] << 8) | (uint32_t)p[i + 2u];
            out[o] = k_alphabet[(v >> 18) & 0x3fu];
            out[o + 1u] = k_alphabet[(v >> 12) & 0x3fu];
            out[o + 2u] = k_alphabet[(v >> 6) & 0x3fu];
            out[o + 3u] = k_alphabet[v & 0x3fu];
            i += 3u;
            o += 4u;
        }
        if ((n - i) == 1u) {
            uint32_t v = (uint32_t)p[i] << 16;
            out[o] = k_alphabet[(v >> 18) & 0x3fu];
            out[o + 1u] = k_alphabet[(v >> 12) & 0x3fu];
            out[o + 2u] = '=';
            out[o + 3u] = '=';
            o += 4u;
        } else if ((n - i) == 2u) {
            uint32_t v = ((uint32_t)p[i] << 16) | ((uint32_t)p[i + 1u] << 8);
            out[o] = k_alphabet[(v >> 18) & 0x3fu];
            out[o + 1u] = k_alphabet[(v >> 12) & 0x3fu];
            out[o + 2u] = k_alphabet[(v >> 6) & 0x3fu];
            out[o + 3u] = '=';
            o += 4u;
        } else {
            /* nothing left over */
        }
        out[o] = '\0';
        if (written != NULL) {
            *written = o;
        }
    }
    return st;
}
