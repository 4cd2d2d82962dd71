/*
 * utf8.h - UTF-8 per RFC 3629 / Unicode §3.9: the well-formedness scan the
 * JSON reader and writer share (and the WebSocket text-frame check will),
 * and the encoder of a code point.
 */
#ifndef ROOST_UTF8_H
#define ROOST_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* At s[0] (a byte >= 0x80, avail >= 1): the length of the well-formed
 * sequence (*ok true), or of the maximal ill-formed subpart (*ok false, at
 * least 1), so that a caller replacing bad bytes with U+FFFD follows the
 * Unicode recommendation. A sequence cut short by avail is ill-formed. */
size_t utf8_scan(const unsigned char *s, size_t avail, bool *ok);
/* Encode cp (<= 0x10FFFF, not a surrogate) into out; returns 1..4. */
size_t utf8_encode(unsigned long cp, unsigned char out[4]);

/*
 * Incremental well-formedness check over a byte stream cut at arbitrary
 * points (WebSocket text messages split across frames). Same acceptance as
 * utf8_scan: no overlongs, no surrogates, nothing above U+10FFFF. A bad byte
 * is reported as soon as it is fed (the stream is "fail fast"); a sequence
 * still open at the end is caught by utf8_stream_done().
 *
 *   utf8_stream s; utf8_stream_init(&s);
 *   ok = utf8_stream_feed(&s, p, n) && ... && utf8_stream_done(&s);
 */
typedef struct {
    unsigned char need;  /* continuation bytes still expected */
    unsigned char lo;    /* range of the next continuation byte */
    unsigned char hi;
    bool bad;            /* sticky: an ill-formed byte was seen */
} utf8_stream;

void utf8_stream_init(utf8_stream *s);
/* Feed n bytes (p may be NULL only when n is 0). Returns false when the
 * stream so far is ill-formed (and keeps returning false). */
bool utf8_stream_feed(utf8_stream *s, const unsigned char *p, size_t n);
/* True when everything fed is well-formed and no sequence is left open. */
bool utf8_stream_done(const utf8_stream *s);

#endif
