/*
 * uuid.h - RFC 9562 identifiers: v7 (time-ordered, fleet ids) and v4 (rpg).
 * Randomness comes from the port's CSPRNG.
 */
#ifndef ROOST_UUID_H
#define ROOST_UUID_H

#include <stdint.h>

#include "core/status.h"
#include "core/strv.h"

#define UUID_STR_BYTES 37u   /* 36 characters + NUL */

/* Lowercase, hyphenated. v7 ids made within the same millisecond still sort
 * in creation order (a counter in rand_a, RFC 9562 §6.2 method 1). */
st_t uuid_v7(char out[UUID_STR_BYTES]);
st_t uuid_v4(char out[UUID_STR_BYTES]);
void uuid_format(const uint8_t bytes[16], char out[UUID_STR_BYTES]);
/* Any RFC 9562 text form (hyphenated, 32 hex digits, {braced}, urn:uuid:;
 * either case) -> the 16 bytes. False (out unspecified) for anything else. */
bool uuid_parse(strv in, uint8_t out[16]);

#endif
