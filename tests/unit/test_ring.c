/*
 * test_ring.c - the event ring (src/bus/ring.c).
 *
 * Built with tests/unit/tiny_config.h: 8 slots and 512 bytes, so overwrite
 * and wrap of the byte area happen constantly. The last case compares the
 * ring with a plain reference model (events laid out physically, the oldest
 * dropped while slots are full or the new payload overlaps a live one) over
 * 100k random operations.
 */
#include <stdint.h>
#include <string.h>

#include "bus/ring.h"
#include "config.h"
#include "core/status.h"
#include "t.h"

#define B ((size_t)CFG_BUS_BYTES)
#define S ((uint32_t)CFG_BUS_SLOTS)

static char g_buf[CFG_BUS_BYTES + 16u];

/* Payload of event i, length n: bytes derived from i and position. */
static const char *payload(uint32_t i, size_t n)
{
    size_t k;
    for (k = 0u; k < n; k++) {
        g_buf[k] = (char)('a' + (char)((i * 7u + (uint32_t)k) % 26u));
    }
    return g_buf;
}

static int payload_ok(const ring_event *ev, uint32_t i, size_t n)
{
    size_t k;
    int ok = (ev->n == n) ? 1 : 0;
    for (k = 0u; (ok != 0) && (k < n); k++) {
        if (ev->data[k] != (char)('a' + (char)((i * 7u + (uint32_t)k) % 26u))) {
            ok = 0;
        }
    }
    return ok;
}

static uint64_t pub(uint32_t topics, uint32_t i, size_t n)
{
    uint64_t seq = 0u;
    T_EQ_INT(ring_publish(topics, RING_PRIO_NORMAL, payload(i, n), n, &seq), ST_OK);
    return seq;
}

/* ---- directed cases ------------------------------------------------------ */

static void test_empty(void)
{
    uint64_t cur;
    uint64_t missed = 99u;
    ring_event ev;
    ring_init();
    T_EQ_INT(ring_head_seq(), 1);
    T_EQ_INT(ring_tail_seq(), 1);
    cur = ring_head_seq();
    T_EQ_INT(ring_read(&cur, 0xffffffffu, &ev, &missed), ST_AGAIN);
    T_EQ_INT(missed, 0);
    T_EQ_INT(cur, 1);
    cur = 5u;
    T_EQ_INT(ring_read(&cur, 1u, &ev, &missed), ST_INVAL);
    T_EQ_INT(cur, 5);
    T_EQ_INT(ring_stats()->slots_used, 0);
    T_EQ_INT(ring_stats()->bytes_used, 0);
}

static void test_in_order(void)
{
    uint64_t cur;
    uint64_t missed;
    ring_event ev;
    uint32_t i;
    ring_init();
    cur = ring_head_seq();
    for (i = 0u; i < 5u; i++) {
        T_EQ_INT(pub(1u, i, 10u + i), 1u + i);
    }
    for (i = 0u; i < 5u; i++) {
        T_EQ_INT(ring_read(&cur, 1u, &ev, &missed), ST_OK);
        T_EQ_INT(ev.seq, 1u + i);
        T_EQ_INT(ev.topics, 1);
        T_EQ_INT(ev.prio, RING_PRIO_NORMAL);
        T_CHECK(payload_ok(&ev, i, 10u + i));
        T_EQ_INT(cur, 2u + i);
        T_EQ_INT(missed, 0);
    }
    T_EQ_INT(ring_read(&cur, 1u, &ev, &missed), ST_AGAIN);
    T_EQ_INT(cur, ring_head_seq());
}

/* ring_get by sequence number and ring_bytes_from (a subscriber's backlog),
 * before and after the oldest events are overwritten (8 slots). */
static void test_get_and_backlog(void)
{
    ring_event ev;
    uint32_t i;
    ring_init();
    T_EQ_INT(ring_get(1u, &ev), ST_NOTFOUND);
    T_EQ_INT((long)ring_bytes_from(1u), 0);
    for (i = 0u; i < 3u; i++) {
        (void)pub(1u, i, 10u);
    }
    T_EQ_INT(ring_get(2u, &ev), ST_OK);
    T_EQ_INT(ev.seq, 2);
    T_CHECK(payload_ok(&ev, 1u, 10u));
    T_EQ_INT(ring_get(4u, &ev), ST_NOTFOUND);          /* not published yet */
    T_EQ_INT((long)ring_bytes_from(1u), 30);
    T_EQ_INT((long)ring_bytes_from(3u), 10);
    T_EQ_INT((long)ring_bytes_from(4u), 0);
    for (i = 3u; i < 12u; i++) {
        (void)pub(1u, i, 10u);
    }
    T_EQ_INT(ring_get(1u, &ev), ST_NOTFOUND);          /* overwritten */
    T_EQ_INT(ring_get(ring_tail_seq(), &ev), ST_OK);
    T_EQ_INT((long)ring_bytes_from(1u), (long)ring_bytes_from(ring_tail_seq()));
    T_EQ_INT((long)ring_bytes_from(ring_head_seq() - 1u), 10);
}

static void test_prio_and_args(void)
{
    uint64_t cur;
    uint64_t missed;
    uint64_t seq = 0u;
    ring_event ev;
    ring_init();
    cur = ring_head_seq();
    T_EQ_INT(ring_publish(1u, RING_PRIO_HIGH, "{\"a\":1}", 7u, &seq), ST_OK);
    T_EQ_INT(seq, 1);
    T_EQ_INT(ring_publish(1u, RING_PRIO_LOW, "{}", 2u, NULL), ST_OK);
    T_EQ_INT(ring_publish(1u, RING_PRIO_LOW, NULL, 2u, NULL), ST_INVAL);
    T_EQ_INT(ring_publish(1u, RING_PRIO_LOW, "{}", 0u, NULL), ST_INVAL);
    T_EQ_INT(ring_publish(1u, (ring_prio)7, "{}", 2u, NULL), ST_INVAL);
    T_EQ_INT(ring_head_seq(), 3);
    T_EQ_INT(ring_read(&cur, 1u, &ev, &missed), ST_OK);
    T_EQ_INT(ev.prio, RING_PRIO_HIGH);
    T_EQ_MEM(ev.data, ev.n, "{\"a\":1}");
    T_EQ_INT(ring_read(&cur, 1u, &ev, &missed), ST_OK);
    T_EQ_INT(ev.prio, RING_PRIO_LOW);
    T_EQ_MEM(ev.data, ev.n, "{}");
    T_EQ_INT(ring_stats()->published, 2);
}

static void test_topics(void)
{
    uint64_t cur;
    uint64_t missed;
    ring_event ev;
    ring_init();
    cur = ring_head_seq();
    (void)pub(1u, 0u, 4u);
    (void)pub(2u, 1u, 4u);
    (void)pub(4u, 2u, 4u);
    (void)pub(3u, 3u, 4u);
    (void)pub(0u, 4u, 4u);
    T_EQ_INT(ring_read(&cur, 2u, &ev, &missed), ST_OK);
    T_EQ_INT(ev.seq, 2);
    T_EQ_INT(ring_read(&cur, 2u, &ev, &missed), ST_OK);
    T_EQ_INT(ev.seq, 4);
    T_CHECK(payload_ok(&ev, 3u, 4u));
    /* The event with no topics matches nothing; the cursor passes it. */
    T_EQ_INT(ring_read(&cur, 2u, &ev, &missed), ST_AGAIN);
    T_EQ_INT(cur, 6);
    cur = ring_tail_seq();
    T_EQ_INT(ring_read(&cur, 0u, &ev, &missed), ST_AGAIN);
    T_EQ_INT(cur, 6);
    cur = ring_tail_seq();
    T_EQ_INT(ring_read(&cur, 5u, &ev, &missed), ST_OK);
    T_EQ_INT(ev.seq, 1);
    T_EQ_INT(ring_read(&cur, 5u, &ev, &missed), ST_OK);
    T_EQ_INT(ev.seq, 3);
    T_EQ_INT(ring_read(&cur, 5u, &ev, &missed), ST_OK);
    T_EQ_INT(ev.seq, 4);
}

static void test_cursors(void)
{
    uint64_t a;
    uint64_t b;
    uint64_t c;
    uint64_t missed;
    ring_event ev;
    ring_init();
    a = ring_head_seq();
    (void)pub(1u, 0u, 8u);
    (void)pub(1u, 1u, 8u);
    b = ring_head_seq();            /* b only wants new events */
    (void)pub(1u, 2u, 8u);
    c = ring_tail_seq();            /* c wants the backlog */
    T_EQ_INT(ring_read(&a, 1u, &ev, &missed), ST_OK);
    T_EQ_INT(ev.seq, 1);
    T_EQ_INT(ring_read(&b, 1u, &ev, &missed), ST_OK);
    T_EQ_INT(ev.seq, 3);
    T_EQ_INT(ring_read(&b, 1u, &ev, &missed), ST_AGAIN);
    T_EQ_INT(ring_read(&c, 1u, &ev, &missed), ST_OK);
    T_EQ_INT(ev.seq, 1);
    T_EQ_INT(ring_read(&a, 1u, &ev, &missed), ST_OK);
    T_EQ_INT(ev.seq, 2);
    T_CHECK(payload_ok(&ev, 1u, 8u));
    T_EQ_INT(ring_read(&c, 1u, &ev, &missed), ST_OK);
    T_EQ_INT(ev.seq, 2);
    T_CHECK(payload_ok(&ev, 1u, 8u));
}

static void test_overtaken_by_slots(void)
{
    uint64_t cur;
    uint64_t missed;
    ring_event ev;
    uint32_t i;
    ring_init();
    cur = ring_head_seq();
    for (i = 0u; i < S + 3u; i++) {
        (void)pub(1u, i, 5u);
    }
    T_EQ_INT(ring_tail_seq(), 4);
    T_EQ_INT(ring_stats()->dropped, 3);
    T_EQ_INT(ring_stats()->slots_used, S);
    T_EQ_INT(ring_read(&cur, 1u, &ev, &missed), ST_RANGE);
    T_EQ_INT(missed, 3);
    T_EQ_INT(cur, 4);
    T_EQ_INT(ring_read(&cur, 1u, &ev, &missed), ST_OK);
    T_EQ_INT(missed, 0);
    T_EQ_INT(ev.seq, 4);
    T_CHECK(payload_ok(&ev, 3u, 5u));
    /* Overtaken while partly through. */
    for (i = 0u; i < S; i++) {
        (void)pub(1u, 100u + i, 5u);
    }
    T_EQ_INT(ring_read(&cur, 1u, &ev, &missed), ST_RANGE);
    T_EQ_INT(missed, S - 1u);
    T_EQ_INT(ring_read(&cur, 1u, &ev, &missed), ST_OK);
    T_CHECK(payload_ok(&ev, 100u, 5u));
}

static void test_overtaken_by_bytes(void)
{
    uint64_t cur;
    uint64_t missed;
    ring_event ev;
    ring_init();
    cur = ring_head_seq();
    /* Three events of 200 bytes: the third cannot fit behind the first two
     * (400 + 112 left at the end) so it wraps to 0, over the first. */
    (void)pub(1u, 0u, 200u);
    (void)pub(1u, 1u, 200u);
    T_EQ_INT(ring_stats()->bytes_used, 400);
    (void)pub(1u, 2u, 200u);
    T_EQ_INT(ring_tail_seq(), 2);
    T_EQ_INT(ring_stats()->dropped, 1);
    T_EQ_INT(ring_stats()->skipped_bytes, B - 400u);
    T_EQ_INT(ring_stats()->bytes_used, B);  /* 200 + 112 skipped + 200 */
    T_EQ_INT(ring_read(&cur, 1u, &ev, &missed), ST_RANGE);
    T_EQ_INT(missed, 1);
    T_EQ_INT(ring_read(&cur, 1u, &ev, &missed), ST_OK);
    T_EQ_INT(ev.seq, 2);
    T_CHECK(payload_ok(&ev, 1u, 200u));
    T_EQ_INT(ring_read(&cur, 1u, &ev, &missed), ST_OK);
    T_EQ_INT(ev.seq, 3);
    T_CHECK(payload_ok(&ev, 2u, 200u));
    /* One big event pushes out both. */
    (void)pub(1u, 3u, 400u);
    T_EQ_INT(ring_tail_seq(), 4);
    T_EQ_INT(ring_read(&cur, 1u, &ev, &missed), ST_OK);
    T_EQ_INT(ev.seq, 4);
    T_CHECK(payload_ok(&ev, 3u, 400u));
    T_EQ_INT(ring_stats()->dropped, 3);
}

static void test_odd_wrap(void)
{
    uint64_t cur;
    uint64_t missed;
    ring_event ev;
    uint32_t i;
    uint64_t got = 0u;
    ring_init();
    cur = ring_head_seq();
    /* Odd sizes, read right away: every event must come back intact and
     * contiguous across many laps of the byte area. */
    for (i = 0u; i < 500u; i++) {
        size_t n = 1u + (size_t)((i * 37u) % 211u);
        (void)pub(1u, i, n);
        T_EQ_INT(ring_read(&cur, 1u, &ev, &missed), ST_OK);
        T_CHECK(payload_ok(&ev, i, n));
        got++;
    }
    T_EQ_INT(got, 500);
    T_CHECK(ring_stats()->skipped_bytes > 0u);
    T_CHECK(ring_stats()->bytes_high <= B);
}

static void test_exact_size_and_too_big(void)
{
    uint64_t cur;
    uint64_t missed;
    uint64_t seq = 0u;
    ring_event ev;
    ring_init();
    cur = ring_head_seq();
    (void)pub(1u, 0u, 3u);          /* write position now 3: the big one wraps */
    (void)pub(1u, 1u, B);
    T_EQ_INT(ring_tail_seq(), 2);
    T_EQ_INT(ring_stats()->bytes_used, B);
    T_EQ_INT(ring_stats()->slots_used, 1);
    T_EQ_INT(ring_read(&cur, 1u, &ev, &missed), ST_RANGE);
    T_EQ_INT(missed, 1);
    T_EQ_INT(ring_read(&cur, 1u, &ev, &missed), ST_OK);
    T_CHECK(payload_ok(&ev, 1u, B));
    /* Exactly the area again, from offset 0. */
    (void)pub(1u, 2u, B);
    T_EQ_INT(ring_read(&cur, 1u, &ev, &missed), ST_OK);
    T_CHECK(payload_ok(&ev, 2u, B));
    /* One byte more is refused and changes nothing else. */
    T_EQ_INT(ring_publish(1u, RING_PRIO_HIGH, payload(9u, B + 1u), B + 1u, &seq), ST_TOOBIG);
    T_EQ_INT(ring_stats()->too_big, 1);
    T_EQ_INT(ring_head_seq(), 4);
    T_EQ_INT(ring_tail_seq(), 3);
    T_EQ_INT(ring_read(&cur, 1u, &ev, &missed), ST_AGAIN);
    cur = ring_tail_seq();
    T_EQ_INT(ring_read(&cur, 1u, &ev, &missed), ST_OK);
    T_CHECK(payload_ok(&ev, 2u, B));
}

static void test_seq_monotonic(void)
{
    uint64_t last = 0u;
    uint32_t i;
    int ok = 1;
    ring_init();
    for (i = 0u; i < 10000u; i++) {
        uint64_t s = pub(1u << (i % 3u), i, 1u + (size_t)((i * 13u) % 300u));
        if (s != last + 1u) {
            ok = 0;
        }
        last = s;
    }
    T_CHECK(ok != 0);
    T_EQ_INT(ring_head_seq(), 10001);
    T_EQ_INT(ring_stats()->published, 10000);
    T_EQ_INT(ring_stats()->dropped + ring_stats()->slots_used, 10000);
    T_EQ_INT(ring_head_seq() - ring_tail_seq(), ring_stats()->slots_used);
    T_EQ_INT(ring_stats()->slots_high, S);
    T_CHECK(ring_stats()->bytes_high <= B);
    T_CHECK(ring_stats()->bytes_used <= ring_stats()->bytes_high);
}

static void test_stats_reset(void)
{
    ring_init();
    (void)pub(1u, 0u, 100u);
    (void)pub(1u, 1u, 50u);
    T_EQ_INT(ring_stats()->published, 2);
    T_EQ_INT(ring_stats()->bytes_used, 150);
    T_EQ_INT(ring_stats()->bytes_high, 150);
    T_EQ_INT(ring_stats()->slots_used, 2);
    T_EQ_INT(ring_stats()->slots_high, 2);
    T_EQ_INT(ring_stats()->dropped, 0);
    ring_init();
    T_EQ_INT(ring_stats()->published, 0);
    T_EQ_INT(ring_stats()->bytes_high, 0);
    T_EQ_INT(ring_stats()->slots_high, 0);
    T_EQ_INT(ring_head_seq(), 1);
}

/* ---- randomized comparison with a reference model ------------------------ */

typedef struct {
    uint64_t seq;
    uint32_t topics;
    ring_prio prio;
    size_t off;             /* physical offset in the byte area */
    size_t n;
    char data[CFG_BUS_BYTES];
} m_event;

#define NSUB 4u

static m_event g_m[CFG_BUS_SLOTS];  /* live events, oldest first */
static uint32_t g_mcount;
static uint64_t g_mhead;            /* next seq */
static size_t g_mwpos;              /* physical write position */
static uint64_t g_mdropped;
static uint64_t g_mtoobig;

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t below)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)((g_rng >> 11) % below);
}

static uint64_t m_tail(void)
{
    return (g_mcount > 0u) ? g_m[0].seq : g_mhead;
}

static int overlaps(size_t a, size_t an, size_t b, size_t bn)
{
    return ((a < b + bn) && (b < a + an)) ? 1 : 0;
}

static int m_overlaps_live(size_t off, size_t n)
{
    uint32_t i;
    int hit = 0;
    for (i = 0u; i < g_mcount; i++) {
        if (overlaps(off, n, g_m[i].off, g_m[i].n) != 0) {
            hit = 1;
        }
    }
    return hit;
}

static void m_drop_oldest(void)
{
    (void)memmove(&g_m[0], &g_m[1], sizeof g_m[0] * (g_mcount - 1u));
    g_mcount--;
    g_mdropped++;
}

static st_t m_publish(uint32_t topics, ring_prio prio, const char *p, size_t n)
{
    size_t off = g_mwpos;
    m_event *e;
    if (n > B) {
        g_mtoobig++;
        return ST_TOOBIG;
    }
    if (n > B - off) {
        off = 0u;
    }
    while ((g_mcount == S) || ((g_mcount > 0u) && (m_overlaps_live(off, n) != 0))) {
        m_drop_oldest();
    }
    e = &g_m[g_mcount];
    e->seq = g_mhead;
    e->topics = topics;
    e->prio = prio;
    e->off = off;
    e->n = n;
    (void)memcpy(e->data, p, n);
    g_mcount++;
    g_mhead++;
    g_mwpos = (off + n) % B;
    return ST_OK;
}

static size_t m_bytes_used(void)
{
    size_t d = 0u;
    if (g_mcount > 0u) {
        const m_event *o = &g_m[0];
        const m_event *w = &g_m[g_mcount - 1u];
        d = (w->off + w->n + B - o->off) % B;
        if (d == 0u) {
            d = B;
        }
    }
    return d;
}

static st_t m_read(uint64_t *cursor, uint32_t mask, const m_event **out, uint64_t *missed)
{
    uint32_t i;
    *missed = 0u;
    if (*cursor > g_mhead) {
        return ST_INVAL;
    }
    if (*cursor < m_tail()) {
        *missed = m_tail() - *cursor;
        *cursor = m_tail();
        return ST_RANGE;
    }
    for (i = 0u; i < g_mcount; i++) {
        if ((g_m[i].seq >= *cursor) && ((g_m[i].topics & mask) != 0u)) {
            *out = &g_m[i];
            *cursor = g_m[i].seq + 1u;
            return ST_OK;
        }
    }
    *cursor = g_mhead;
    return ST_AGAIN;
}

static void test_model(void)
{
    static const uint32_t masks[NSUB] = { 1u, 2u, 5u, 0xffffffffu };
    uint64_t cur[NSUB];
    uint64_t mcur[NSUB];
    uint32_t op;
    uint32_t i;
    long fails = 0;
    uint64_t reads_ok = 0u;
    uint64_t ranges = 0u;
    g_mcount = 0u;
    g_mhead = 1u;
    g_mwpos = 0u;
    g_mdropped = 0u;
    g_mtoobig = 0u;
    ring_init();
    for (i = 0u; i < NSUB; i++) {
        cur[i] = ring_head_seq();
        mcur[i] = cur[i];
    }
    for (op = 0u; (op < 100000u) && (fails < 10); op++) {
        uint32_t r = rnd(100u);
        if (r < 40u) {
            size_t n;
            uint32_t kind = rnd(20u);
            uint32_t topics = rnd(8u);
            ring_prio prio = (ring_prio)rnd(3u);
            uint64_t seq = 0u;
            st_t a;
            st_t b;
            if (kind == 0u) {
                n = B;
            } else if (kind == 1u) {
                n = B + 1u + (size_t)rnd(8u);
            } else if (kind < 8u) {
                n = 1u + (size_t)rnd((uint32_t)B / 2u);
            } else {
                n = 1u + (size_t)rnd(40u);
            }
            (void)payload(op, n);
            b = m_publish(topics, prio, g_buf, n);
            a = ring_publish(topics, prio, g_buf, n, &seq);
            if ((a != b) || ((a == ST_OK) && (seq != g_mhead - 1u))) {
                fails++;
                T_EQ_INT(a, b);
            }
        } else {
            uint32_t k = rnd(NSUB);
            ring_event ev;
            const m_event *me = NULL;
            uint64_t missed = 7u;
            uint64_t mmissed = 7u;
            st_t a = ring_read(&cur[k], masks[k], &ev, &missed);
            st_t b = m_read(&mcur[k], masks[k], &me, &mmissed);
            int same = ((a == b) && (cur[k] == mcur[k]) && (missed == mmissed)) ? 1 : 0;
            if ((same != 0) && (a == ST_OK)) {
                same = ((me != NULL) && (ev.seq == me->seq) && (ev.topics == me->topics)
                        && (ev.prio == me->prio) && (ev.n == me->n)
                        && (memcmp(ev.data, me->data, ev.n) == 0)) ? 1 : 0;
                reads_ok++;
            }
            if (a == ST_RANGE) {
                ranges++;
            }
            if (same == 0) {
                fails++;
                T_CHECK(same != 0);
            }
        }
        if ((ring_head_seq() != g_mhead) || (ring_tail_seq() != m_tail())
            || (ring_stats()->slots_used != g_mcount)
            || (ring_stats()->bytes_used != m_bytes_used())
            || (ring_stats()->dropped != g_mdropped)
            || (ring_stats()->too_big != g_mtoobig)) {
            fails++;
            T_EQ_INT(ring_tail_seq(), m_tail());
            T_EQ_INT(ring_stats()->bytes_used, m_bytes_used());
        }
    }
    T_EQ_INT(fails, 0);
    /* The mix must really exercise every path. */
    T_CHECK(reads_ok > 10000u);
    T_CHECK(ranges > 100u);
    T_CHECK(g_mtoobig > 100u);
    T_CHECK(ring_stats()->skipped_bytes > 0u);
}

int main(void)
{
    T_RUN(test_empty);
    T_RUN(test_in_order);
    T_RUN(test_get_and_backlog);
    T_RUN(test_prio_and_args);
    T_RUN(test_topics);
    T_RUN(test_cursors);
    T_RUN(test_overtaken_by_slots);
    T_RUN(test_overtaken_by_bytes);
    T_RUN(test_odd_wrap);
    T_RUN(test_exact_size_and_too_big);
    T_RUN(test_seq_monotonic);
    T_RUN(test_stats_reset);
    T_RUN(test_model);
    return t_done("ring");
}
