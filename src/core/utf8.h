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

#endif
