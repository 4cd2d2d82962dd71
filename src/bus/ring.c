/*
 * ring.c - the event ring (see ring.h for the contract).
 *
 * Implementation notes.
 *
 * Slots: event seq lives in g_slots[seq % CFG_BUS_SLOTS]. The live events are
 * the sequence numbers [g_tail_seq, g_head_seq), so a cursor below the tail
 * was overtaken by exactly (g_tail_seq - cursor) events, whatever their
 * topics.
 *
 * Bytes: positions in the byte area are kept as 64-bit "virtual" offsets
 * that only grow (they cannot wrap in practice: 2^64 bytes); the physical
 * offset is virtual % CFG_BUS_BYTES. g_vhead is the virtual end of the newest
 * payload. A payload is always contiguous: when it does not fit between the
 * physical write position and the end of the area, the rest of the area is
 * skipped (counted in skipped_bytes) and the payload starts at offset 0 of
 * the next lap. The live payloads all lie inside the virtual span
 * [oldest payload start, g_vhead), and publish keeps that span at most
 * CFG_BUS_BYTES long by dropping the oldest events first, so no two live
 * payloads share a physical byte. A payload of exactly CFG_BUS_BYTES empties
 * the ring and fills the whole area.
 *
 * Every loop is bounded by CFG_BUS_SLOTS iterations (publish drops at most
 * every live event; read passes at most every live event).
 */
#include "bus/ring.h"

#include <stdbool.h>
#include <string.h>

#include "config.h"
#include "core/pool.h"
#include "core/assert.h"

_Static_assert(CFG_BUS_SLOTS >= 2, "CFG_BUS_SLOTS too small");
_Static_assert((unsigned long long)CFG_BUS_SLOTS <= 0xffffffffull,
               "CFG_BUS_SLOTS must fit in uint32_t");

static ring_slot g_slots[CFG_BUS_SLOTS];
static char g_bytes[CFG_BUS_BYTES];
static uint64_t g_head_seq = 1u;    /* next sequence number to publish */
static uint64_t g_tail_seq = 1u;    /* oldest live sequence number */
static uint64_t g_vhead;            /* virtual end of the newest payload */
static ring_stats_t g_stats;

static ring_slot *slot_of(uint64_t seq)
{
    return &g_slots[seq % (uint64_t)CFG_BUS_SLOTS];
}

static size_t phys_of(uint64_t voff)
{
    return (size_t)(voff % (uint64_t)CFG_BUS_BYTES);
}

static uint32_t live_count(void)
{
    return (uint32_t)(g_head_seq - g_tail_seq);
}

/* Bytes from the oldest live payload to the newest's end (0 when empty). */
static size_t live_bytes(void)
{
    size_t used = 0u;
    if (g_head_seq > g_tail_seq) {
        used = (size_t)(g_vhead - slot_of(g_tail_seq)->vdata);
    }
    return used;
}

/* Drop the oldest events until one more event fits in the slots and its
 * payload, ending at virtual offset vend, fits with the live ones. */
static void make_room(uint64_t vend)
{
    bool fits = false;
    while ((!fits) && (g_head_seq > g_tail_seq)) {
        const ring_slot *oldest = slot_of(g_tail_seq);
        if ((live_count() < (uint32_t)CFG_BUS_SLOTS)
            && ((vend - oldest->vdata) <= (uint64_t)CFG_BUS_BYTES)) {
            fits = true;
        } else {
            g_tail_seq++;
            g_stats.dropped++;
        }
    }
}

static void update_gauges(void)
{
    g_stats.slots_used = live_count();
    g_stats.bytes_used = live_bytes();
    if (g_stats.slots_used > g_stats.slots_high) {
        g_stats.slots_high = g_stats.slots_used;
    }
    if (g_stats.bytes_used > g_stats.bytes_high) {
        g_stats.bytes_high = g_stats.bytes_used;
    }
}

/* The ring_event view of live event seq. */
static void event_of(uint64_t seq, ring_event *ev)
{
    const ring_slot *s = slot_of(seq);
    ev->seq = seq;
    ev->topics = s->topics;
    ev->prio = s->prio;
    ev->data = &g_bytes[phys_of(s->vdata)];
    ev->n = s->n;
}

void ring_init(void)
{
    static bool s_used;
    static_zero(g_slots, sizeof g_slots, &s_used);
    (void)memset(&g_stats, 0, sizeof g_stats);
    g_head_seq = 1u;
    g_tail_seq = 1u;
    g_vhead = 0u;
}

st_t ring_publish(uint32_t topics, ring_prio prio, const char *json, size_t n,
                  uint64_t *seq)
{
    st_t st = ST_OK;
    if ((json == NULL) || (n == 0u) ||
        /* one unsigned comparison: a value below RING_PRIO_HIGH (0) wraps
         * above RING_PRIO_LOW, and an ABI with short unsigned enums
         * (arm-none-eabi) has no "below 0" to test */
        ((uint32_t)prio > (uint32_t)RING_PRIO_LOW)) {
        st = ST_INVAL;
    } else if (n > (size_t)CFG_BUS_BYTES) {
        g_stats.too_big++;
        st = ST_TOOBIG;
    } else {
        size_t room = (size_t)CFG_BUS_BYTES - phys_of(g_vhead);
        size_t pad = (n > room) ? room : 0u;
        uint64_t vdata = g_vhead + (uint64_t)pad;
        ring_slot *s;

        make_room(vdata + (uint64_t)n);
        s = slot_of(g_head_seq);
        s->vdata = vdata;
        s->n = n;
        s->topics = topics;
        s->prio = prio;
        (void)memcpy(&g_bytes[phys_of(vdata)], json, n);
        if (seq != NULL) {
            *seq = g_head_seq;
        }
        g_head_seq++;
        g_vhead = vdata + (uint64_t)n;
        g_stats.published++;
        g_stats.skipped_bytes += (uint64_t)pad;
        update_gauges();
    }
    return st;
}

uint64_t ring_head_seq(void)
{
    return g_head_seq;
}

uint64_t ring_tail_seq(void)
{
    return g_tail_seq;
}

st_t ring_read(uint64_t *cursor, uint32_t mask, ring_event *ev, uint64_t *missed)
{
    st_t st = ST_AGAIN;
    ASSERT((cursor != NULL) && (ev != NULL) && (missed != NULL));
    *missed = 0u;
    if (*cursor > g_head_seq) {
        st = ST_INVAL;
    } else if (*cursor < g_tail_seq) {
        *missed = g_tail_seq - *cursor;
        *cursor = g_tail_seq;
        st = ST_RANGE;
    } else {
        uint64_t c = *cursor;
        while ((st == ST_AGAIN) && (c < g_head_seq)) {
            if ((slot_of(c)->topics & mask) != 0u) {
                event_of(c, ev);
                st = ST_OK;
            }
            c++;
        }
        *cursor = c;
    }
    return st;
}

st_t ring_get(uint64_t seq, ring_event *ev)
{
    st_t st = ST_NOTFOUND;
    ASSERT(ev != NULL);
    if ((seq >= g_tail_seq) && (seq < g_head_seq)) {
        event_of(seq, ev);
        st = ST_OK;
    }
    return st;
}

size_t ring_bytes_from(uint64_t seq)
{
    size_t n = 0u;
    if (seq < g_head_seq) {
        uint64_t from = (seq < g_tail_seq) ? g_tail_seq : seq;
        n = (size_t)(g_vhead - slot_of(from)->vdata);
    }
    return n;
}

const ring_stats_t *ring_stats(void)
{
    return &g_stats;
}
