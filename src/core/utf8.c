/* utf8.c - see utf8.h. */
#include "core/utf8.h"

size_t utf8_scan(const unsigned char *s, size_t avail, bool *ok)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80u;
    unsigned char hi = 0xBFu;
    size_t need;
    size_t i;

    *ok = false;
    if ((c >= 0xC2u) && (c <= 0xDFu)) {
        need = 2u;
    } else if (c == 0xE0u) {
        need = 3u;
        lo = 0xA0u;
    } else if (c == 0xEDu) {
        need = 3u;
        hi = 0x9Fu;
    } else if ((c >= 0xE1u) && (c <= 0xEFu)) {
        need = 3u;
    } else if (c == 0xF0u) {
        need = 4u;
        lo = 0x90u;
    } else if ((c >= 0xF1u) && (c <= 0xF3u)) {
        need = 4u;
    } else if (c == 0xF4u) {
        need = 4u;
        hi = 0x8Fu;
    } else {
        return 1u;
    }
    if ((avail < 2u) || (s[1] < lo) || (s[1] > hi)) {
        return 1u;
    }
    for (i = 2u; i < need; i++) {
        if ((i >= avail) || ((s[i] & 0xC0u) != 0x80u)) {
            return i;
        }
    }
    *ok = true;
    return need;
}

size_t utf8_encode(unsigned long cp, unsigned char out[4])
{
    size_t n;

    if (cp < 0x80uL) {
        out[0] = (unsigned char)cp;
        n = 1u;
    } else if (cp < 0x800uL) {
        out[0] = (unsigned char)(0xC0uL | (cp >> 6));
        out[1] = (unsigned char)(0x80uL | (cp & 0x3FuL));
        n = 2u;
    } else if (cp < 0x10000uL) {
        out[0] = (unsigned char)(0xE0uL | (cp >> 12));
        out[1] = (unsigned char)(0x80uL | ((cp >> 6) & 0x3FuL));
        out[2] = (unsigned char)(0x80uL | (cp & 0x3FuL));
        n = 3u;
    } else {
        out[0] = (unsigned char)(0xF0uL | (cp >> 18));
        out[1] = (unsigned char)(0x80uL | ((cp >> 12) & 0x3FuL));
        out[2] = (unsigned char)(0x80uL | ((cp >> 6) & 0x3FuL));
        out[3] = (unsigned char)(0x80uL | (cp & 0x3FuL));
        n = 4u;
    }
    return n;
}
