/*
 * fmt.h - integers as text without the printf family, for what runs per
 * request or per message: response heads (status line, Content-Length,
 * integer headers), chunk sizes, the Date line, JSON numbers.
 *
 * The caller owns the buffer: each function writes into out[0..cap), never a
 * NUL, and returns the byte count written; when the text does not fit it
 * writes nothing and returns 0 (every result is at least one byte, so 0 is
 * never a valid length). FMT_U64_MAX / FMT_I64_MAX bytes always fit.
 */
#ifndef ROOST_FMT_H
#define ROOST_FMT_H

#include <stddef.h>
#include <stdint.h>

#define FMT_U64_MAX 20u   /* 18446744073709551615 */
#define FMT_I64_MAX 20u   /* -9223372036854775808 */

/* v in decimal, as "%llu". */
size_t fmt_u64(char *out, size_t cap, uint64_t v);
/* v in decimal with at least width digits, zeros on the left, as "%0*llu";
 * a width over FMT_U64_MAX counts as FMT_U64_MAX. */
size_t fmt_u64_pad(char *out, size_t cap, uint64_t v, size_t width);
/* v in decimal, as "%lld". */
size_t fmt_i64(char *out, size_t cap, int64_t v);
/* Exactly width lowercase hex digits (1..16) of the low 4*width bits of v:
 * "%0*llx" of v cut to width digits. Returns width, or 0 when width is out
 * of range or over cap. */
size_t fmt_hex_fixed(char *out, size_t cap, uint64_t v, size_t width);
/* The n bytes of b as 2n lowercase hex digits, NUL-terminated: out holds
 * 2n + 1 bytes. */
void fmt_hex_bytes(char *out, const uint8_t *b, size_t n);

#endif
