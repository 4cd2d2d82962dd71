/*
 * strv.h - string views: a pointer and a length into someone else's buffer.
 *
 * A view never owns memory and is never NUL-terminated by contract. Views
 * into a connection's rx buffer are valid until that connection's request is
 * finished.
 */
#ifndef ROOST_STRV_H
#define ROOST_STRV_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    const char *p;
    size_t n;
} strv;

#define STRV_LIT(s) ((strv){ (s), sizeof(s) - 1u })
#define STRV_NULL ((strv){ NULL, 0u })

strv strv_from_cstr(const char *s);
/* The view of p[0..n). */
strv strv_make(const char *p, size_t n);
bool strv_eq(strv a, strv b);
bool strv_eq_cstr(strv a, const char *s);
/* ASCII case-insensitive comparison (header names, tokens). */
bool strv_ieq(strv a, strv b);
bool strv_ieq_cstr(strv a, const char *s);
bool strv_starts_with_cstr(strv a, const char *prefix);
/* Strip leading/trailing spaces and tabs. */
strv strv_trim(strv a);
/* Strip leading/trailing ASCII whitespace: space, \t \n \v \f \r. */
strv strv_trim_ws(strv a);
/* Parse a non-negative decimal integer; the whole view must be digits and the
 * value <= max. Returns false otherwise (including overflow). */
bool strv_to_u64(strv a, uint64_t max, uint64_t *out);
/* Case-insensitive search for token `tok` in a comma-separated list
 * (e.g. Connection: keep-alive, Upgrade). Items are trimmed of SP/HTAB.
 * An empty list (p may be NULL) holds no token. */
bool strv_list_has_token(strv list, const char *tok);
/* Value of a hexadecimal digit (either case), or -1. */
int strv_hex_digit(unsigned char c);
/* 64-bit FNV-1a of n bytes: a cheap fingerprint (a response rendered twice
 * must be the same), not a defence against anyone. */
uint64_t strv_fnv1a(const char *p, size_t n);

#endif
