/*
 * mdblock.c - the shared Merkle-Damgard frame (see mdblock.h). update first
 * tops up a partly filled block, then hands all whole blocks of the input to
 * the compression function in one call, then keeps the tail.
 */
#include "core/mdblock.h"

#include <string.h>

void md_block_init(md_block *b)
{
    b->total = 0u;
    b->used = 0u;
}

void md_block_update(md_block *b, uint32_t *state, md_compress fn, const void *data,
                     size_t n)
{
    const uint8_t *p = (const uint8_t *)data;
    size_t off = 0u;
    size_t whole;
    if (n == 0u) {
        return;    /* data may be NULL */
    }
    b->total += (uint64_t)n;
    if (b->used > 0u) {
        size_t take = MD_BLOCK_BYTES - b->used;
        if (take > n) {
            take = n;
        }
        (void)memcpy(b->block + b->used, p, take);
        b->used += take;
        off = take;
        if (b->used < MD_BLOCK_BYTES) {
            return;
        }
        fn(state, b->block, 1u);
        b->used = 0u;
    }
    whole = (n - off) / MD_BLOCK_BYTES;
    if (whole > 0u) {
        fn(state, p + off, whole);
        off += whole * MD_BLOCK_BYTES;
    }
    if (off < n) {
        (void)memcpy(b->block, p + off, n - off);
        b->used = n - off;
    }
}

void md_block_final(md_block *b, uint32_t *state, md_compress fn, size_t nwords,
                    uint8_t *out)
{
    uint64_t bits = b->total * 8u;
    size_t i;
    b->block[b->used] = 0x80u;
    b->used++;
    if (b->used > (MD_BLOCK_BYTES - 8u)) {
        (void)memset(b->block + b->used, 0, MD_BLOCK_BYTES - b->used);
        fn(state, b->block, 1u);
        b->used = 0u;
    }
    (void)memset(b->block + b->used, 0, (MD_BLOCK_BYTES - 8u) - b->used);
    for (i = 0u; i < 8u; i++) {
        unsigned shift = 56u - (8u * (unsigned)i);
        b->block[(MD_BLOCK_BYTES - 8u) + i] = (uint8_t)(bits >> shift);
    }
    fn(state, b->block, 1u);
    for (i = 0u; i < nwords; i++) {
        out[4u * i] = (uint8_t)(state[i] >> 24);
        out[(4u * i) + 1u] = (uint8_t)(state[i] >> 16);
        out[(4u * i) + 2u] = (uint8_t)(state[i] >> 8);
        out[(4u * i) + 3u] = (uint8_t)state[i];
    }
}
