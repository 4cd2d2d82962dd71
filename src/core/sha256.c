/*
 * sha256.c - FIPS 180-4 SHA-256. The portable path is written plainly: one
 * 64-byte block at a time through a 64-word schedule on the stack. On
 * x86-64 with the SHA extensions (CFG_SHA256_SHANI, config.h) the blocks go
 * to sha256_x86.c instead, about 6x faster (bench/README.md, "SHA-256");
 * which path runs is decided once, by CPUID, at the first sha256_init.
 * Both keep the state in the same form, so the choice is invisible to
 * callers but for the speed.
 */
#include "core/sha256.h"

#include "core/fmt.h"

#include <string.h>

#include "core/sha256_x86.h"

const uint32_t sha256_k[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u,
    0x923f82a4u, 0xab1c5ed5u, 0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u,
    0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u, 0xe49b69c1u, 0xefbe4786u,
    0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
    0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u,
    0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u,
    0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u, 0xa2bfe8a1u, 0xa81a664bu,
    0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
    0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au,
    0x5b9cca4fu, 0x682e6ff3u, 0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u,
    0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u,
};

static uint32_t rotr(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32u - n));
}

static void compress_one(uint32_t *h, const uint8_t *p)
{
    uint32_t w[64];
    uint32_t v[8];
    unsigned i;
    for (i = 0u; i < 16u; i++) {
        w[i] = ((uint32_t)p[4u * i] << 24) | ((uint32_t)p[(4u * i) + 1u] << 16) |
               ((uint32_t)p[(4u * i) + 2u] << 8) | (uint32_t)p[(4u * i) + 3u];
    }
    for (i = 16u; i < 64u; i++) {
        uint32_t s0 = rotr(w[i - 15u], 7u) ^ rotr(w[i - 15u], 18u) ^ (w[i - 15u] >> 3);
        uint32_t s1 = rotr(w[i - 2u], 17u) ^ rotr(w[i - 2u], 19u) ^ (w[i - 2u] >> 10);
        w[i] = w[i - 16u] + s0 + w[i - 7u] + s1;
    }
    (void)memcpy(v, h, sizeof v);
    for (i = 0u; i < 64u; i++) {
        uint32_t s1 = rotr(v[4], 6u) ^ rotr(v[4], 11u) ^ rotr(v[4], 25u);
        uint32_t ch = (v[4] & v[5]) ^ (~v[4] & v[6]);
        uint32_t t1 = v[7] + s1 + ch + sha256_k[i] + w[i];
        uint32_t s0 = rotr(v[0], 2u) ^ rotr(v[0], 13u) ^ rotr(v[0], 22u);
        uint32_t maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
        uint32_t t2 = s0 + maj;
        v[7] = v[6];
        v[6] = v[5];
        v[5] = v[4];
        v[4] = v[3] + t1;
        v[3] = v[2];
        v[2] = v[1];
        v[1] = v[0];
        v[0] = t1 + t2;
    }
    for (i = 0u; i < 8u; i++) {
        h[i] += v[i];
    }
}

static void blocks_portable(uint32_t *h, const uint8_t *blocks, size_t nblocks)
{
    size_t i;
    for (i = 0u; i < nblocks; i++) {
        compress_one(h, blocks + (i * MD_BLOCK_BYTES));
    }
}

/* The blocks function every context uses; NULL until the first init picks. */
static md_compress g_blocks;

#if CFG_SHA256_SHANI
static md_compress pick(void)
{
    return sha256_x86_usable() ? sha256_x86_blocks : blocks_portable;
}
#else
static md_compress pick(void)
{
    return blocks_portable;
}
#endif

static md_compress chosen(void)
{
    if (g_blocks == NULL) {
        g_blocks = pick();
    }
    return g_blocks;
}

void sha256_force_portable(bool on)
{
    g_blocks = on ? blocks_portable : pick();
}

bool sha256_accelerated(void)
{
    return chosen() != blocks_portable;
}

void sha256_init(sha256_ctx *c)
{
    static const uint32_t iv[8] = { 0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                                    0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u };
    (void)chosen();
    (void)memcpy(c->h, iv, sizeof iv);
    md_block_init(&c->b);
}

void sha256_update(sha256_ctx *c, const void *data, size_t n)
{
    md_block_update(&c->b, c->h, g_blocks, data, n);
}

void sha256_final(sha256_ctx *c, uint8_t out[SHA256_BYTES])
{
    md_block_final(&c->b, c->h, g_blocks, 8u, out);
}

void sha256_to_hex(const uint8_t digest[SHA256_BYTES], char out[SHA256_HEX_BYTES])
{
    fmt_hex_bytes(out, digest, SHA256_BYTES);
}

void sha256_hex(const void *data, size_t n, char out[SHA256_HEX_BYTES])
{
    sha256_ctx c;
    uint8_t d[SHA256_BYTES];
    sha256_init(&c);
    sha256_update(&c, data, n);
    sha256_final(&c, d);
    sha256_to_hex(d, out);
}
