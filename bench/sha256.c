/*
 * bench/sha256.c - MB/s of sha256_update (src/core/sha256.c) on a 64 MiB
 * buffer, the portable C and the accelerated path (the x86 SHA extensions,
 * src/core/sha256_x86.c) side by side in one run, and their ratio.
 *
 * Two ways of feeding it, each timed for both paths:
 *   one call   the whole buffer in one sha256_update;
 *   17 KiB     pieces of 17,408 bytes (CFG_BUF_BYTES, one rx buffer: how an
 *              upload reaches the hash), not a multiple of 64, so every call
 *              also goes through the partial-block buffer.
 * Each figure is the best of 5 runs (MB = 10^6 bytes, as dd and sha256sum
 * print). The digests of the two paths are compared; a mismatch ends the
 * run with status 1. On a CPU without the extensions, or in a build with
 * -DROOST_SHA256_PORTABLE=1, both columns are the portable C (the header
 * line says so).
 *
 * Build and run:  make bench-sha256   (or see bench/README.md)
 */
#define _POSIX_C_SOURCE 200809L

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/sha256.h"

#define BUF_BYTES (64u * 1024u * 1024u)
#define PIECE_BYTES 17408u
#define RUNS 5

static uint8_t g_buf[BUF_BYTES];

static double now_s(void)
{
    struct timespec t;
    (void)clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + ((double)t.tv_nsec * 1e-9);
}

/* Best MB/s of RUNS hashes of the buffer in pieces of `piece` bytes. */
static double run(size_t piece, uint8_t digest[SHA256_BYTES])
{
    double best = 0.0;
    int r;
    for (r = 0; r < RUNS; r++) {
        sha256_ctx c;
        size_t off = 0u;
        double t0 = now_s();
        double mbs;
        sha256_init(&c);
        while (off < BUF_BYTES) {
            size_t n = (BUF_BYTES - off < piece) ? (BUF_BYTES - off) : piece;
            sha256_update(&c, g_buf + off, n);
            off += n;
        }
        sha256_final(&c, digest);
        mbs = ((double)BUF_BYTES / (now_s() - t0)) / 1e6;
        if (mbs > best) {
            best = mbs;
        }
    }
    return best;
}

int main(void)
{
    static const struct {
        const char *name;
        size_t piece;
    } feeds[] = { { "one call", BUF_BYTES }, { "17 KiB", PIECE_BYTES } };
    uint32_t x = 0x12345678u;
    size_t i;
    bool accel;
    int rc = 0;

    for (i = 0u; i < BUF_BYTES; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        g_buf[i] = (uint8_t)x;
    }
    sha256_force_portable(false);
    accel = sha256_accelerated();
    printf("sha256_update over %u MiB, best of %d; accelerated path: %s\n",
           BUF_BYTES / (1024u * 1024u), RUNS,
           accel ? "x86 SHA extensions" : "none (both columns are portable C)");
    printf("%-9s %14s %14s %7s\n", "feed", "portable MB/s", "accel MB/s", "ratio");
    for (i = 0u; i < sizeof feeds / sizeof feeds[0]; i++) {
        uint8_t dp[SHA256_BYTES];
        uint8_t da[SHA256_BYTES];
        double p;
        double a;
        sha256_force_portable(true);
        p = run(feeds[i].piece, dp);
        sha256_force_portable(false);
        a = run(feeds[i].piece, da);
        printf("%-9s %14.0f %14.0f %6.2fx\n", feeds[i].name, p, a, a / p);
        if (memcmp(dp, da, sizeof dp) != 0) {
            printf("digests differ between the paths\n");
            rc = 1;
        }
    }
    return rc;
}
