/*
 * sha1.h - SHA-1 (FIPS 180-4), incremental, no allocation.
 * Used only for the WebSocket handshake (RFC 6455 4.2.2 Sec-WebSocket-Accept),
 * where it is a fixed part of the protocol, not a security primitive.
 */
#ifndef ROOST_SHA1_H
#define ROOST_SHA1_H

#include <stddef.h>
#include <stdint.h>

#include "core/mdblock.h"

#define SHA1_BYTES 20u

typedef struct {
    uint32_t h[5];
    md_block b;               /* buffered input (core/mdblock.h) */
} sha1_ctx;

void sha1_init(sha1_ctx *c);
/* data may be NULL only when n is 0. */
void sha1_update(sha1_ctx *c, const void *data, size_t n);
/* Writes the digest; c must be re-initialised before reuse. */
void sha1_final(sha1_ctx *c, uint8_t out[SHA1_BYTES]);

#endif
