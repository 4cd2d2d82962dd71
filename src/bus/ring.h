/*
 * ring.h - the event ring: every event published once, read by every
 * subscriber through its own cursor.
 *
 * The ring holds up to CFG_BUS_SLOTS events and CFG_BUS_BYTES bytes of their
 * serialized JSON, both fixed static storage. Each event has a sequence
 * number (monotonic from 1, never reused), a topic mask and a priority; its
 * payload is serialized once by the publisher and copied into the ring.
 *
 * Publishing never blocks and never allocates: when slots or bytes run out
 * the oldest events are overwritten (counted as dropped). A subscriber keeps
 * a cursor, the sequence number of the next event it wants; one the ring has
 * overtaken learns exactly how many events it lost (ring_read, ST_RANGE) and
 * its family's policy decides what to do (skip and log, close, resync).
 *
 * One thread: the ring is used only from the poll loop.
 */
#ifndef ROOST_BUS_RING_H
#define ROOST_BUS_RING_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "core/status.h"

typedef enum {
    RING_PRIO_HIGH = 0,
    RING_PRIO_NORMAL = 1,
    RING_PRIO_LOW = 2
} ring_prio;

/* One event as a subscriber sees it. `data` points into the ring and stays
 * valid only until the next ring_publish (which may overwrite it): the
 * subscriber copies the n bytes into its tx buffer right away. */
typedef struct {
    uint64_t seq;
    uint32_t topics;
    ring_prio prio;
    const char *data;
    size_t n;
} ring_event;

typedef struct {
    uint64_t published;     /* events accepted by ring_publish */
    uint64_t dropped;       /* events overwritten before leaving on their own */
    uint64_t too_big;       /* ring_publish calls refused with ST_TOOBIG */
    uint64_t skipped_bytes; /* bytes left unused at the end of the area by wraps */
    uint32_t slots_used;    /* events in the ring now */
    uint32_t slots_high;    /* high-water mark of slots_used */
    size_t bytes_used;      /* bytes from the oldest event's payload to the
                             * newest's end, wrap gaps in between included */
    size_t bytes_high;      /* high-water mark of bytes_used */
} ring_stats_t;

/* Empty the ring and clear its stats; the next event gets sequence 1. Called
 * once at startup (tests call it between cases). Cursors from before are
 * meaningless afterwards. */
/* One slot of the ring's index (the payload bytes live in the byte area).
 * Public only so the static plan (app/pools.def) can count it. */
typedef struct {
    uint64_t vdata;     /* virtual offset of the payload's first byte */
    size_t n;           /* payload bytes */
    uint32_t topics;
    ring_prio prio;
} ring_slot;

/* Static storage of the ring, for `roostd --budget`. */
#define RING_STATIC_BYTES (((size_t)CFG_BUS_SLOTS * sizeof(ring_slot)) + (size_t)CFG_BUS_BYTES)

void ring_init(void);

/* Copy n bytes of json (1..CFG_BUS_BYTES) into the ring as a new event with
 * the given topics (any bits; 0 matches no subscriber) and priority.
 * On ST_OK *seq (when seq is not NULL) is the event's sequence number.
 * ST_TOOBIG: n > CFG_BUS_BYTES, nothing changed except the too_big count.
 * ST_INVAL: n == 0, json NULL, or prio out of range; nothing changed.
 * Never blocks, never fails for lack of room: the oldest events go first. */
st_t ring_publish(uint32_t topics, ring_prio prio, const char *json, size_t n,
                  uint64_t *seq);

/* Sequence number the next published event will get (a new subscriber that
 * wants only new events starts its cursor here). */
uint64_t ring_head_seq(void);

/* Oldest sequence number still in the ring (equals ring_head_seq() when the
 * ring is empty; a subscriber that wants the backlog starts here). */
uint64_t ring_tail_seq(void);

/* Read the next event at or after *cursor whose topics share a bit with mask.
 * All pointers must be non-NULL. *missed is always written.
 *   ST_OK     *ev filled (see ring_event for how long ev->data lives),
 *             *cursor = ev->seq + 1, *missed = 0. Non-matching events
 *             passed on the way are consumed (cursor moves past them).
 *   ST_AGAIN  nothing matching up to the head; *cursor = ring_head_seq(),
 *             *missed = 0.
 *   ST_RANGE  the ring overtook the subscriber: *missed = number of events
 *             (of any topic) that left the ring before it read them,
 *             *cursor = ring_tail_seq(); *ev untouched. Call again to read
 *             on from the tail.
 *   ST_INVAL  *cursor is beyond ring_head_seq() (a cursor from before a
 *             ring_init, or a bug); nothing changed, *missed = 0. */
st_t ring_read(uint64_t *cursor, uint32_t mask, ring_event *ev, uint64_t *missed);

/* The event with sequence number seq, when it is still in the ring (any
 * topic): ST_OK with *ev filled, ST_NOTFOUND when it left the ring or was
 * not published yet. */
st_t ring_get(uint64_t seq, ring_event *ev);

/* Payload bytes from event seq (included) to the newest event's end, wrap
 * gaps included: what a subscriber whose next event is seq still has to
 * send, at most. 0 when seq is at or past the head; a seq below the tail
 * counts from the tail. */
size_t ring_bytes_from(uint64_t seq);

/* Counters and gauges for /metrics; never NULL. */
const ring_stats_t *ring_stats(void);

#endif
