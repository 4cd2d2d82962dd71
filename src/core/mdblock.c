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
    b->total += (uint64_t)n;
    while (off < n) {
        size_t take = MD_BLOCK_BYTES - b->used;
        if (take > (n - off)) {
            take = n - off;
        }
        (void)memcpy(b->block + b->used, p + off, take);
        b->used += take;
        off += take;
        if (b->used == MD_BLOCK_BYTES) {
            fn(state, b->block);
            b->used = 0u;
        }
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
        fn(state, b->block);
        b->used = 0u;
    }
    (void)memset(b->block + b->used, 0, (MD_BLOCK_BYTES - 8u) - b->used);
    for (i = 0u; i < 8u; i++) {
        unsigned shift = 56u - (8u * (unsigned)i);
        b->block[(MD_BLOCK_BYTES - 8u) + i] = (uint8_t)(bits >> shift);
    }
    fn(state, b->block);
    for (i = 0u; i < nwords; i++) {
        out[4u * i] = (uint8_t)(state[i] >> 24);
        out[(4u * i) + 1u] = (uint8_t)(state[i] >> 16);
        out[(4u * i) + 2u] = (uint8_t)(state[i] >> 8);
        out[(4u * i) + 3u] = (uint8_t)state[i];
    }
}
