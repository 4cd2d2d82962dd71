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

void utf8_stream_init(utf8_stream *s)
{
    s->need = 0u;
    s->lo = 0x80u;
    s->hi = 0xBFu;
    s->bad = false;
}

/* The lead byte c (>= 0x80) opens a sequence: set need/lo/hi as utf8_scan
 * does. Returns false for a byte that cannot start a sequence. */
static bool stream_lead(utf8_stream *s, unsigned char c)
{
    bool ok = true;

    s->lo = 0x80u;
    s->hi = 0xBFu;
    if ((c >= 0xC2u) && (c <= 0xDFu)) {
        s->need = 1u;
    } else if (c == 0xE0u) {
        s->need = 2u;
        s->lo = 0xA0u;
    } else if (c == 0xEDu) {
        s->need = 2u;
        s->hi = 0x9Fu;
    } else if ((c >= 0xE1u) && (c <= 0xEFu)) {
        s->need = 2u;
    } else if (c == 0xF0u) {
        s->need = 3u;
        s->lo = 0x90u;
    } else if ((c >= 0xF1u) && (c <= 0xF3u)) {
        s->need = 3u;
    } else if (c == 0xF4u) {
        s->need = 3u;
        s->hi = 0x8Fu;
    } else {
        ok = false;
    }
    return ok;
}

bool utf8_stream_feed(utf8_stream *s, const unsigned char *p, size_t n)
{
    size_t i = 0u;

    while ((i < n) && !s->bad) {
        unsigned char c = p[i];
        if (s->need > 0u) {
            if ((c < s->lo) || (c > s->hi)) {
                s->bad = true;
            } else {
                s->need--;
                s->lo = 0x80u;
                s->hi = 0xBFu;
            }
        } else if (c >= 0x80u) {
            s->bad = !stream_lead(s, c);
        } else {
            /* ASCII */
        }
        i++;
    }
    return !s->bad;
}

bool utf8_stream_done(const utf8_stream *s)
{
    return !s->bad && (s->need == 0u);
}
