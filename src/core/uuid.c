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
