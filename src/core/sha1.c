/*
 * sha1.c - FIPS 180-4 SHA-1, written plainly like sha256.c: one 64-byte
 * block at a time through an 80-word schedule on the stack.
 */
#include "core/sha1.h"

#include <string.h>

static uint32_t rotl(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32u - n));
}

static void compress_one(uint32_t *h, const uint8_t *p)
{
    uint32_t w[80];
    uint32_t a = h[0];
    uint32_t b = h[1];
    uint32_t cc = h[2];
    uint32_t d = h[3];
    uint32_t e = h[4];
    unsigned i;

    for (i = 0u; i < 16u; i++) {
        w[i] = ((uint32_t)p[4u * i] << 24) | ((uint32_t)p[(4u * i) + 1u] << 16) |
               ((uint32_t)p[(4u * i) + 2u] << 8) | (uint32_t)p[(4u * i) + 3u];
    }
    for (i = 16u; i < 80u; i++) {
        w[i] = rotl(w[i - 3u] ^ w[i - 8u] ^ w[i - 14u] ^ w[i - 16u], 1u);
    }
    for (i = 0u; i < 80u; i++) {
        uint32_t f;
        uint32_t k;
        uint32_t t;
        if (i < 20u) {
            f = (b & cc) | (~b & d);
            k = 0x5a827999u;
        } else if (i < 40u) {
            f = b ^ cc ^ d;
            k = 0x6ed9eba1u;
        } else if (i < 60u) {
            f = (b & cc) | (b & d) | (cc & d);
            k = 0x8f1bbcdcu;
        } else {
            f = b ^ cc ^ d;
            k = 0xca62c1d6u;
        }
        t = rotl(a, 5u) + f + e + k + w[i];
        e = d;
        d = cc;
        cc = rotl(b, 30u);
        b = a;
        a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += cc;
    h[3] += d;
    h[4] += e;
}

static void compress(uint32_t *h, const uint8_t *blocks, size_t nblocks)
{
    size_t i;
    for (i = 0u; i < nblocks; i++) {
        compress_one(h, blocks + (i * MD_BLOCK_BYTES));
    }
}

void sha1_init(sha1_ctx *c)
{
    static const uint32_t iv[5] = { 0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u,
                                    0xc3d2e1f0u };
    (void)memcpy(c->h, iv, sizeof iv);
    md_block_init(&c->b);
}

void sha1_update(sha1_ctx *c, const void *data, size_t n)
{
    md_block_update(&c->b, c->h, compress, data, n);
}

void sha1_final(sha1_ctx *c, uint8_t out[SHA1_BYTES])
{
    md_block_final(&c->b, c->h, compress, 5u, out);
}
