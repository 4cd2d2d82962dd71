/*
 * sha256.h - SHA-256 (FIPS 180-4), incremental, no allocation.
 * Used for API key hashes, soul content hashes and uploaded documents
 * (hashed while they stream to disk, so its speed is upload throughput).
 * On x86-64 CPUs with the SHA extensions the blocks run through them
 * (core/sha256_x86.c, chosen by CPUID at the first sha256_init), elsewhere
 * through portable C; the digests are the same.
 */
#ifndef ROOST_SHA256_H
#define ROOST_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/mdblock.h"

#define SHA256_BYTES 32u
#define SHA256_HEX_BYTES 65u   /* 64 hex digits + NUL */

typedef struct {
    uint32_t h[8];
    md_block b;               /* buffered input (core/mdblock.h) */
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t n);
void sha256_final(sha256_ctx *c, uint8_t out[SHA256_BYTES]);
/* One-shot: lowercase hex digest of data, NUL-terminated. */
void sha256_hex(const void *data, size_t n, char out[SHA256_HEX_BYTES]);
void sha256_to_hex(const uint8_t digest[SHA256_BYTES], char out[SHA256_HEX_BYTES]);

/* The path in use is the accelerated one (false: portable C). */
bool sha256_accelerated(void);
/* Tests and bench/ only: true makes every context, from its next update,
 * use the portable C; false goes back to what CPUID allows. */
void sha256_force_portable(bool on);

#endif
