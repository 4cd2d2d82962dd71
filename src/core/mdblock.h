/*
 * mdblock.h - the Merkle-Damgard frame SHA-1 and SHA-256 share: input
 * buffered into 64-byte blocks, each handed to the hash's compression
 * function, and the final padding (0x80, zeros, the message length in bits,
 * big-endian). A hash keeps only its state words and compression function.
 */
#ifndef ROOST_MDBLOCK_H
#define ROOST_MDBLOCK_H

#include <stddef.h>
#include <stdint.h>

#define MD_BLOCK_BYTES 64u

typedef struct {
    uint64_t total;                 /* bytes hashed so far */
    uint8_t block[MD_BLOCK_BYTES];
    size_t used;                    /* bytes in block */
} md_block;

/* Mix nblocks (>= 1) consecutive 64-byte blocks, in order, into the state
 * words. update hands every whole block of the caller's input in one call,
 * straight from the caller's buffer (no copy), so a hash's fast path sees
 * long runs; only a block split across calls goes through the buffer. */
typedef void (*md_compress)(uint32_t *state, const uint8_t *blocks, size_t nblocks);

void md_block_init(md_block *b);
/* data may be NULL only when n is 0. */
void md_block_update(md_block *b, uint32_t *state, md_compress fn, const void *data,
                     size_t n);
/* Pad, compress the last block(s), and write nwords state words big-endian
 * to out (4 * nwords bytes). */
void md_block_final(md_block *b, uint32_t *state, md_compress fn, size_t nwords,
                    uint8_t *out);

#endif
