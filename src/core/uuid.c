#include "core/uuid.h"

#include "core/clock.h"
#include "port.h"

void uuid_format(const uint8_t bytes[16], char out[UUID_STR_BYTES])
{
    static const char hex[] = "0123456789abcdef";
    unsigned i;
    unsigned o = 0u;
    for (i = 0u; i < 16u; i++) {
        if ((i == 4u) || (i == 6u) || (i == 8u) || (i == 10u)) {
            out[o] = '-';
            o++;
        }
        out[o] = hex[bytes[i] >> 4];
        out[o + 1u] = hex[bytes[i] & 0x0fu];
        o += 2u;
    }
    out[o] = '\0';
}

st_t uuid_v7(char out[UUID_STR_BYTES])
{
    static uint64_t last_ms;
    static uint16_t seq;
    uint8_t b[16];
    uint64_t ms = clock_wall_us() / 1000u;
    st_t st = port_entropy(b, sizeof b);
    if (st != ST_OK) {
        return st;
    }
    if (ms <= last_ms) {
        ms = last_ms;
        seq = (uint16_t)((seq + 1u) & 0x0fffu);
        if (seq == 0u) {
            ms++;           /* counter wrapped: borrow the next millisecond */
        }
    } else {
        seq = (uint16_t)(((b[6] & 0x07u) << 8) | b[7]);   /* random start, room to count */
    }
    last_ms = ms;
    b[0] = (uint8_t)(ms >> 40);
    b[1] = (uint8_t)(ms >> 32);
    b[2] = (uint8_t)(ms >> 24);
    b[3] = (uint8_t)(ms >> 16);
    b[4] = (uint8_t)(ms >> 8);
    b[5] = (uint8_t)ms;
    b[6] = (uint8_t)(0x70u | ((seq >> 8) & 0x0fu));
    b[7] = (uint8_t)(seq & 0xffu);
    b[8] = (uint8_t)(0x80u | (b[8] & 0x3fu));
    uuid_format(b, out);
    return ST_OK;
}

st_t uuid_v4(char out[UUID_STR_BYTES])
{
    uint8_t b[16];
    st_t st = port_entropy(b, sizeof b);
    if (st != ST_OK) {
        return st;
    }
    b[6] = (uint8_t)(0x40u | (b[6] & 0x0fu));
    b[8] = (uint8_t)(0x80u | (b[8] & 0x3fu));
    uuid_format(b, out);
    return ST_OK;
}

bool uuid_parse(strv in, uint8_t out[16])
{
    strv s = in;
    size_t i;
    size_t k = 0u;
    bool hyphens;
    bool ok = true;
    /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
    if ((s.n == 38u) && (s.p[0] == '{') && (s.p[37] == '}')) {
        s = (strv){ s.p + 1, 36u };
    } else if ((s.n == 45u) && strv_ieq((strv){ s.p, 9u }, STRV_LIT("urn:uuid:"))) {
        s = (strv){ s.p + 9, 36u };
    } else {
        /* plain forms */
    }
    if ((s.n != 36u) && (s.n != 32u)) {
        return false;
    }
    hyphens = (s.n == 36u);
    for (i = 0u; ok && (i < s.n); i++) {
        bool dash_pos = hyphens && ((i == 8u) || (i == 13u) || (i == 18u) || (i == 23u));
        if (dash_pos) {
            /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
            ok = (s.p[i] == '-');
        } else {
            int v = strv_hex_digit((unsigned char)s.p[i]);
            if (v < 0) {
                ok = false;
            } else if ((k % 2u) == 0u) {
                out[k / 2u] = (uint8_t)((unsigned)v << 4);
                k++;
            } else {
                out[k / 2u] = (uint8_t)(out[k / 2u] | (uint8_t)v);
                k++;
            }
        }
    }
    return ok && (k == 32u);
}
