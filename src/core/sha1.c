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

static void compress(sha1_ctx *c, const uint8_t *p)
{
    uint32_t w[80];
    uint32_t a = c->h[0];
    uint32_t b = c->h[1];
    uint32_t cc = c->h[2];
    uint32_t d = c->h[3];
    uint32_t e = c->h[4];
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
    c->h[0] += a;
    c->h[1] += b;
    c->h[2] += cc;
    c->h[3] += d;
    c->h[4] += e;
}

void sha1_init(sha1_ctx *c)
{
    static const uint32_t iv[5] = { 0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u,
                                    0xc3d2e1f0u };
    (void)memcpy(c->h, iv, sizeof iv);
    c->total = 0u;
    c->used = 0u;
}

void sha1_update(sha1_ctx *c, const void *data, size_t n)
{
    const uint8_t *p = (const uint8_t *)data;
    size_t off = 0u;
    c->total += (uint64_t)n;
    while (off < n) {
        size_t take = 64u - c->used;
        if (take > (n - off)) {
            take = n - off;
        }
        (void)memcpy(c->block + c->used, p + off, take);
        c->used += take;
        off += take;
        if (c->used == 64u) {
            compress(c, c->block);
            c->used = 0u;
        }
    }
}

void sha1_final(sha1_ctx *c, uint8_t out[SHA1_BYTES])
{
    uint64_t bits = c->total * 8u;
    unsigned i;
    c->block[c->used] = 0x80u;
    c->used++;
    if (c->used > 56u) {
        (void)memset(c->block + c->used, 0, 64u - c->used);
        compress(c, c->block);
        c->used = 0u;
    }
    (void)memset(c->block + c->used, 0, 56u - c->used);
    for (i = 0u; i < 8u; i++) {
        unsigned shift = 56u - (8u * i);
        c->block[56u + i] = (uint8_t)(bits >> shift);
    }
    compress(c, c->block);
    for (i = 0u; i < 5u; i++) {
        out[4u * i] = (uint8_t)(c->h[i] >> 24);
        out[(4u * i) + 1u] = (uint8_t)(c->h[i] >> 16);
        out[(4u * i) + 2u] = (uint8_t)(c->h[i] >> 8);
        out[(4u * i) + 3u] = (uint8_t)c->h[i];
    }
}
