/*
 * ref_utf8.h - an independent UTF-8 validator for the fuzz targets, written
 * apart from src/core/utf8 so the two can be compared: decode each
 * sequence, then reject overlong forms, surrogates and code points above
 * U+10FFFF.
 */
#ifndef ROOST_FUZZ_REF_UTF8_H
#define ROOST_FUZZ_REF_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline bool utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0u;
    while (i < n) {
        uint8_t c = s[i];
        uint32_t cp;
        size_t k;
        size_t j;
        if (c < 0x80u) {
            i++;
            continue;
        }
        if ((c & 0xE0u) == 0xC0u) {
            k = 2u;
            cp = c & 0x1Fu;
        } else if ((c & 0xF0u) == 0xE0u) {
            k = 3u;
            cp = c & 0x0Fu;
        } else if ((c & 0xF8u) == 0xF0u) {
            k = 4u;
            cp = c & 0x07u;
        } else {
            return false;
        }
        if (n - i < k) {
            return false;
        }
        for (j = 1u; j < k; j++) {
            if ((s[i + j] & 0xC0u) != 0x80u) {
                return false;
            }
            cp = (cp << 6) | (s[i + j] & 0x3Fu);
        }
        if ((k == 2u && cp < 0x80u) || (k == 3u && cp < 0x800u) || (k == 4u && cp < 0x10000u) ||
            (cp > 0x10FFFFu) || ((cp >= 0xD800u) && (cp <= 0xDFFFu))) {
            return false;
        }
        i += k;
    }
    return true;
}

#endif
