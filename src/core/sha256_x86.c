/*
 * sha256_x86.c - SHA-256 blocks with the x86 SHA extensions (SHA-NI), for
 * sha256.c, which picks this path once, at its first sha256_init, when
 * sha256_x86_usable() says the CPU has it.
 *
 * Implementation notes:
 * - The structure is the public one of Intel's white paper "Intel SHA
 *   Extensions" (Gulley et al., 2013), as in its public-domain C renderings:
 *   the state lives in two registers, ABEF and CDGH; each sha256rnds2 does two
 *   rounds, so four message words plus their constants feed two of them; the
 *   schedule runs four words at a time with sha256msg1 (the sigma0 part) and
 *   sha256msg2 (the sigma1 part) plus an alignr for W[t-7]. Word group g+1 is
 *   computed while group g's rounds run, before group g-1's register is
 *   reused for msg1, so every input is still the raw word it must be.
 * - The state is converted from and to sha256.c's h[0..7] form once per
 *   call, not per block: md_block_update hands all whole blocks of an input
 *   in one call.
 * - Only these functions are compiled for the SHA/SSE4.1/SSSE3 targets
 *   (__attribute__((target))); the rest of the build keeps its flags, and
 *   they run only after the CPUID check.
 * - CPUID is an instruction, not an OS call: reading it here (through the
 *   compiler's <cpuid.h>) does not break the rule that only port/ talks to
 *   the OS. SSE state is always enabled by an x86-64 OS, so no XGETBV check
 *   is needed (nothing here uses AVX).
 * - Off x86-64, or with CFG_SHA256_SHANI 0 (config.h, -DROOST_SHA256_PORTABLE=1),
 *   the file compiles to nothing but the header's declarations.
 */
#include "core/sha256_x86.h"

#if CFG_SHA256_SHANI

#include <cpuid.h>
#include <immintrin.h>

#define SHANI_TARGET __attribute__((target("sha,sse4.1,ssse3")))

/* CPUID feature bits (Intel SDM vol. 2A, CPUID; the same on AMD) */
#define LEAF1_ECX_SSSE3 0x00000200u   /* bit 9 */
#define LEAF1_ECX_SSE41 0x00080000u   /* bit 19 */
#define LEAF7_EBX_SHA 0x20000000u     /* bit 29 */

bool sha256_x86_usable(void)
{
    unsigned a = 0u;
    unsigned b = 0u;
    unsigned c = 0u;
    unsigned d = 0u;
    bool ssse3;
    bool sse41;
    if (__get_cpuid(1u, &a, &b, &c, &d) == 0) {
        return false;
    }
    ssse3 = (c & LEAF1_ECX_SSSE3) != 0u;
    sse41 = (c & LEAF1_ECX_SSE41) != 0u;
    /* leaf 7, subleaf 0: EBX bit 29 is SHA (0 when the leaf is absent) */
    if (__get_cpuid_count(7u, 0u, &a, &b, &c, &d) == 0) {
        return false;
    }
    return ssse3 && sse41 && ((b & LEAF7_EBX_SHA) != 0u);
}

/* Four rounds: the words of group g plus K[4g..4g+3], two at a time. */
SHANI_TARGET static inline void rounds4(__m128i *abef, __m128i *cdgh, __m128i w, unsigned g)
{
    __m128i m = _mm_add_epi32(w, _mm_loadu_si128((const __m128i *)&sha256_k[4u * g]));
    *cdgh = _mm_sha256rnds2_epu32(*cdgh, *abef, m);
    m = _mm_shuffle_epi32(m, 0x0e);    /* the high two words */
    *abef = _mm_sha256rnds2_epu32(*abef, *cdgh, m);
}

/* Words of group g+1 from s = msg1(W[g-3], W[g-2]), prev = W[g-1], cur = W[g]. */
SHANI_TARGET static inline __m128i next_words(__m128i s, __m128i prev, __m128i cur)
{
    return _mm_sha256msg2_epu32(_mm_add_epi32(s, _mm_alignr_epi8(cur, prev, 4)), cur);
}

SHANI_TARGET static inline __m128i load_words(const uint8_t *p, __m128i bswap)
{
    return _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)p), bswap);
}

SHANI_TARGET void sha256_x86_blocks(uint32_t *state, const uint8_t *blocks, size_t nblocks)
{
    /* byte order of each 32-bit word reversed: the message is big-endian */
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i tmp = _mm_loadu_si128((const __m128i *)&state[0]);   /* DCBA */
    __m128i cdgh = _mm_loadu_si128((const __m128i *)&state[4]);  /* HGFE */
    __m128i abef;
    size_t i;

    tmp = _mm_shuffle_epi32(tmp, 0xb1);               /* CDAB */
    cdgh = _mm_shuffle_epi32(cdgh, 0x1b);             /* EFGH */
    abef = _mm_alignr_epi8(tmp, cdgh, 8);             /* ABEF */
    cdgh = _mm_blend_epi16(cdgh, tmp, 0xf0);          /* CDGH */

    for (i = 0u; i < nblocks; i++) {
        const uint8_t *p = blocks + (i * 64u);
        const __m128i abef0 = abef;
        const __m128i cdgh0 = cdgh;
        __m128i w0 = load_words(p, bswap);
        __m128i w1 = load_words(p + 16, bswap);
        __m128i w2 = load_words(p + 32, bswap);
        __m128i w3 = load_words(p + 48, bswap);
        unsigned g;

        rounds4(&abef, &cdgh, w0, 0u);
        rounds4(&abef, &cdgh, w1, 1u);
        w0 = _mm_sha256msg1_epu32(w0, w1);
        rounds4(&abef, &cdgh, w2, 2u);
        w1 = _mm_sha256msg1_epu32(w1, w2);
        rounds4(&abef, &cdgh, w3, 3u);
        w0 = next_words(w0, w2, w3);                  /* W[16..19] */
        w2 = _mm_sha256msg1_epu32(w2, w3);
        /* groups 4..11: the four registers rotate */
        for (g = 4u; g < 12u; g += 4u) {
            rounds4(&abef, &cdgh, w0, g);
            w1 = next_words(w1, w3, w0);
            w3 = _mm_sha256msg1_epu32(w3, w0);
            rounds4(&abef, &cdgh, w1, g + 1u);
            w2 = next_words(w2, w0, w1);
            w0 = _mm_sha256msg1_epu32(w0, w1);
            rounds4(&abef, &cdgh, w2, g + 2u);
            w3 = next_words(w3, w1, w2);
            w1 = _mm_sha256msg1_epu32(w1, w2);
            rounds4(&abef, &cdgh, w3, g + 3u);
            w0 = next_words(w0, w2, w3);
            w2 = _mm_sha256msg1_epu32(w2, w3);
        }
        rounds4(&abef, &cdgh, w0, 12u);
        w1 = next_words(w1, w3, w0);
        w3 = _mm_sha256msg1_epu32(w3, w0);
        rounds4(&abef, &cdgh, w1, 13u);
        w2 = next_words(w2, w0, w1);
        rounds4(&abef, &cdgh, w2, 14u);
        w3 = next_words(w3, w1, w2);
        rounds4(&abef, &cdgh, w3, 15u);

        abef = _mm_add_epi32(abef, abef0);
        cdgh = _mm_add_epi32(cdgh, cdgh0);
    }

    tmp = _mm_shuffle_epi32(abef, 0x1b);              /* FEBA */
    cdgh = _mm_shuffle_epi32(cdgh, 0xb1);             /* DCHG */
    abef = _mm_blend_epi16(tmp, cdgh, 0xf0);          /* DCBA */
    cdgh = _mm_alignr_epi8(cdgh, tmp, 8);             /* HGFE */
    _mm_storeu_si128((__m128i *)&state[0], abef);
    _mm_storeu_si128((__m128i *)&state[4], cdgh);
}

#endif /* CFG_SHA256_SHANI */
