/*
 * sha256_x86.h - between sha256.c and its x86-64 SHA extensions path
 * (sha256_x86.c); not for other callers, who use sha256.h.
 *
 * The two functions exist only when CFG_SHA256_SHANI is 1 (config.h);
 * sha256.c calls them only then. Both paths keep the state in the same form
 * (h[0..7] = a..h, FIPS 180-4), so either may continue a hash the other
 * began.
 */
#ifndef ROOST_SHA256_X86_H
#define ROOST_SHA256_X86_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* The 64 round constants K0..K63 (sha256.c). */
extern const uint32_t sha256_k[64];

/* CPUID reports SHA, SSSE3 and SSE4.1: sha256_x86_blocks may run. */
bool sha256_x86_usable(void);
/* md_compress (core/mdblock.h) with the SHA extensions; only when
 * sha256_x86_usable() said true. */
void sha256_x86_blocks(uint32_t *state, const uint8_t *blocks, size_t nblocks);

#endif
