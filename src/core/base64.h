/*
 * base64.h - base64 encoding (RFC 4648 section 4: standard alphabet, '='
 * padding, no line breaks). Encoder only.
 */
#ifndef ROOST_BASE64_H
#define ROOST_BASE64_H

#include <stddef.h>

#include "core/status.h"

/* Characters of the encoding of n bytes (without the NUL). */
#define BASE64_ENC_LEN(n) ((((n) + 2u) / 3u) * 4u)

/*
 * Encode src[0..n) into out as a NUL-terminated string. src may be NULL only
 * when n is 0. cap is the size of out and must be at least
 * BASE64_ENC_LEN(n) + 1; otherwise ST_FULL and out is left untouched.
 * On ST_OK *written (may be NULL) is BASE64_ENC_LEN(n).
 */
st_t base64_encode(const void *src, size_t n, char *out, size_t cap, size_t *written);

#endif
