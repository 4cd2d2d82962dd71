/*
 * stream.c - WebSocket and SSE subscribers (see stream.h for the contract).
 *
 * Implementation notes:
 * - Subscribers live in a static array; the live ones are also listed in
 *   g_live (swap-removed) so a turn visits only those. A slot is found by a
 *   linear scan on accept (CFG_STREAM_SUBS is small, accepts are rare).
 * - A frame is written whole when it fits in tx (less the control reserve);
 *   one that can never fit (an event larger than tx) is written across
 *   drains, its bytes re-read from the ring by sequence number each time.
 *   Should the ring overwrite it mid-frame the connection is cut: the frame
 *   cannot be finished and a close frame cannot be put inside it.
 * - Control frames (pong, ping, close) wait in the subscriber until a frame
 *   boundary and go before any further event; the reserve guarantees room.
 *   Only the latest ping is answered (RFC 6455 5.5.3 allows it).
 * - One deadline per connection (CONN_DL_PROTO) ticks every heartbeat_ms:
 *   WebSocket sends a ping and closes with 1001 a client silent for
 *   pong_timeout_ms since an unanswered ping; SSE writes a comment when
 *   nothing went out for a heartbeat. Once a close is on its way the
 *   deadline becomes CONN_DL_SEND: a client that does not read it is cut.
 * - A client text message is handed to the policy from rx when it is one
 *   frame, else reassembled in msg[] (the decoder's limit keeps it inside).
 */
#include "http/stream.h"

#include <stddef.h>
#include <string.h>

#include "bus/ring.h"
#include "core/assert.h"
#include "core/clock.h"
#include "core/fault.h"
#include "core/log.h"
#include "http/cors.h"
#include "http/ws.h"

#define SSE_DATA "data: "
#define SSE_DATA_LEN 6u
#define SSE_END "\n\n"
#define SSE_END_LEN 2u
#define SSE_COMMENT ":\n\n"
#define SSE_COMMENT_LEN 3u

struct stream_sub {
    conn *c;
    stream_policy *pol;
    bool in_use;
    bool ws;                    /* else SSE */
    bool closing;               /* a close is on its way: no more events */
    bool paused;
    bool resumed;               /* paused -> not paused in this pump: on_resume */
    bool held;                  /* stream_hold_events: ring events wait */
    uint32_t live_index;
    uint64_t cursor;            /* next ring sequence wanted */
    /* a frame larger than tx, being written */
    bool part_on;
    uint64_t part_seq;
    size_t part_off;            /* bytes of header + payload + trailer written */
    uint8_t part_hdr[WS_MAX_SERVER_HEADER];
    size_t part_hdr_len;
    /* control frames waiting for a frame boundary */
    uint8_t pong[WS_MAX_CONTROL_FRAME];
    size_t pong_len;
    bool ping_due;
    uint8_t closef[WS_MAX_CONTROL_FRAME];
    size_t close_len;
    bool close_queued;
    /* heartbeat */
    uint64_t ping_since_ms;     /* first unanswered ping, 0: none */
    uint64_t last_out_ms;       /* SSE: last bytes put in tx */
    /* client messages */
    ws_decoder dec;
    bool msg_on;                /* a fragmented text message is being kept */
    size_t msg_len;
    char msg[CFG_STREAM_MSG_BYTES];
    uint64_t user[(STREAM_USER_BYTES + 7u) / 8u];
};

static stream_sub g_subs[CFG_STREAM_SUBS];
static stream_sub *g_live[CFG_STREAM_SUBS];
static uint32_t g_nlive;
static stream_totals_t g_totals;

static stream_policy *g_pols[STREAM_MAX_POLICIES];
static size_t g_npols;

void stream_register(stream_policy *pol)
{
    size_t i;
    for (i = 0u; i < g_npols; i++) {
        if (g_pols[i] == pol) {
            return;
        }
    }
    if (g_npols < STREAM_MAX_POLICIES) {
        g_pols[g_npols] = pol;
        g_npols++;
    }
}

size_t stream_policy_count(void)
{
    return g_npols;
}

const stream_policy *stream_policy_nth(size_t i)
{
    return (i < g_npols) ? g_pols[i] : NULL;
}

static bool g_stopping;      /* stream_stop_all ran: the server stops */
static void (*g_stop_hook)(void);

void stream_init(void)
{
    static bool s_used;
    g_stopping = false;
    static_zero(g_subs, sizeof g_subs, &s_used);
    g_nlive = 0u;
    (void)memset(&g_totals, 0, sizeof g_totals);
}

size_t stream_static_bytes(void)
{
    return (sizeof g_subs) + (sizeof g_live);
}

const stream_totals_t *stream_totals(void)
{
    uint32_t i;
    g_totals.paused = 0u;
    for (i = 0u; i < g_nlive; i++) {
        if (g_live[i]->paused) {
            g_totals.paused++;
        }
    }
    return &g_totals;
}

void *stream_user(stream_sub *s)
{
    return s->user;
}

uint32_t stream_id(const stream_sub *s)
{
    ptrdiff_t at = s - g_subs;
    return (uint32_t)at;
}

const stream_policy *stream_policy_of(const stream_sub *s)
{
    return s->pol;
}

/* ---- writing ------------------------------------------------------------------ */

/* Free room of tx for events and messages: all of it but the reserve. */
static size_t event_room(conn *c)
{
    size_t room = 0u;
    (void)conn_tx_buf(c, &room);
    return (room > (size_t)CFG_STREAM_CONTROL_RESERVE) ? (room - (size_t)CFG_STREAM_CONTROL_RESERVE)
                                                       : 0u;
}

/* Copy bytes [off, off + want) of the frame hdr + data + trl into tx (the
 * caller checked the room). */
static void put_range(conn *c, const uint8_t *hdr, size_t hl, const char *data, size_t n,
                      const char *trl, size_t tl, size_t off, size_t want)
{
    size_t room = 0u;
    char *p = conn_tx_buf(c, &room);
    size_t done = 0u;
    ASSERT(want <= room);
    while (done < want) {
        size_t at = off + done;
        const char *src;
        size_t avail;
        if (at < hl) {
            src = (const char *)&hdr[at];
            avail = hl - at;
        } else if (at < (hl + n)) {
            src = data + (at - hl);
            avail = (hl + n) - at;
        } else {
            src = trl + (at - hl - n);
            avail = (hl + n + tl) - at;
        }
        if (avail > (want - done)) {
            avail = want - done;
        }
        (void)memcpy(p + done, src, avail);
        done += avail;
    }
    conn_tx_ack(c, want);
}

/* The framing of one message of n bytes: header bytes into hdr, trailer. */
static size_t frame_header(const stream_sub *s, size_t n, uint8_t hdr[WS_MAX_SERVER_HEADER],
                           const char **trl, size_t *tl)
{
    size_t hl;
    if (s->ws) {
        hl = ws_frame_header(hdr, WS_OP_TEXT, true, (uint64_t)n);
        *trl = "";
        *tl = 0u;
    } else {
        (void)memcpy(hdr, SSE_DATA, SSE_DATA_LEN);
        hl = SSE_DATA_LEN;
        *trl = SSE_END;
        *tl = SSE_END_LEN;
    }
    return hl;
}

/* Continue the frame in progress; true when it is complete. */
static bool part_continue(stream_sub *s)
{
    ring_event ev;
    size_t room = 0u;
    const char *trl = s->ws ? "" : SSE_END;
    size_t tl = s->ws ? 0u : SSE_END_LEN;
    size_t total;
    size_t n;
    if (ring_get(s->part_seq, &ev) != ST_OK) {
        LOG_W("stream", "%s #%u: event %llu overwritten while being sent: connection cut",
              s->pol->name, (unsigned)stream_id(s), (unsigned long long)s->part_seq);
        s->pol->stats.lagged++;
        s->part_on = false;
        conn_fail(s->c, ST_RANGE);
        return false;
    }
    (void)conn_tx_buf(s->c, &room);
    total = s->part_hdr_len + ev.n + tl;
    n = total - s->part_off;
    if (n > room) {
        n = room;
    }
    if (n > 0u) {
        put_range(s->c, s->part_hdr, s->part_hdr_len, ev.data, ev.n, trl, tl, s->part_off, n);
        s->part_off += n;
    }
    if (s->part_off < total) {
        return false;
    }
    s->part_on = false;
    s->pol->stats.sent++;
    return true;
}

static void arm_close_deadline(stream_sub *s)
{
    conn_set_deadline(s->c, CONN_DL_SEND, CFG_SEND_TIMEOUT_MS);
}

/* Pending control frames, in order pong, ping, close. */
static void flush_controls(stream_sub *s)
{
    conn *c = s->c;
    size_t room = 0u;
    char *p;
    if ((s->pong_len == 0u) && !s->ping_due && !s->close_queued) {
        return;     /* nothing to say: no tx buffer needed */
    }
    p = conn_tx_buf(c, &room);
    if ((s->pong_len > 0u) && (room >= s->pong_len)) {
        (void)memcpy(p, s->pong, s->pong_len);
        conn_tx_ack(c, s->pong_len);
        s->pong_len = 0u;
        p = conn_tx_buf(c, &room);
    }
    if (s->ping_due && (room >= 2u)) {
        p[0] = (char)0x89;
        p[1] = '\0';
        conn_tx_ack(c, 2u);
        s->ping_due = false;
        s->pol->stats.pings++;
        p = conn_tx_buf(c, &room);
    }
    if (s->close_queued && (room >= s->close_len)) {
        (void)memcpy(p, s->closef, s->close_len);
        conn_tx_ack(c, s->close_len);
        s->close_queued = false;
        conn_close_after_flush(c);
        arm_close_deadline(s);
    }
}

/* The ring overtook the subscriber by `missed` events. */
static void lagged(stream_sub *s, uint64_t missed)
{
    stream_policy *pol = s->pol;
    pol->stats.lagged += missed;
    pol->stats.lag_episodes++;
    if (pol->lag_skips) {
        LOG_W("stream", "%s #%u: fell behind the event ring, %llu event(s) skipped",
              pol->name, (unsigned)stream_id(s), (unsigned long long)missed);
    } else {
        LOG_W("stream", "%s #%u: fell behind the event ring by %llu event(s): closed %u",
              pol->name, (unsigned)stream_id(s), (unsigned long long)missed,
              (unsigned)pol->close_code);
        pol->stats.closed_backpressure++;
        stream_close(s, pol->close_code, "backpressure");
    }
}

/* The watermark policy's state; a resume is told to the owner after the
 * pump (on_resume), never in the middle of it. */
static void set_paused(stream_sub *s, bool paused)
{
    if (s->paused && !paused) {
        s->resumed = true;
    }
    s->paused = paused;
}

/* Copy ring events into tx while they fit; the policy decides on the way. */
static void pump_events(stream_sub *s)
{
    stream_policy *pol = s->pol;
    conn *c = s->c;
    bool more = (pol->topics != 0u);
    bool out = false;          /* an event went into tx: last_out_ms, once */
    while (more && !s->closing) {
        ring_event ev;
        uint64_t missed = 0u;
        st_t st = ring_read(&s->cursor, pol->topics, &ev, &missed);
        if (st == ST_RANGE) {
            lagged(s, missed);
        } else if (st != ST_OK) {
            if (st == ST_INVAL) {
                s->cursor = ring_head_seq();   /* cannot happen: resynchronise */
            }
            if (conn_tx_pending(c) == 0u) {
                set_paused(s, false);          /* everything is written */
            }
            more = false;
        } else {
            size_t queued = conn_tx_pending(c) + ring_bytes_from(ev.seq);
            /* what is queued before this event (rpg.md §9.4 rule 1: the
             * watermarks look at the queue a message joins, so a message
             * larger than pause_bytes still reaches a client keeping up) */
            size_t before = (queued > ev.n) ? (queued - ev.n) : 0u;
            bool skip = false;
            if (pol->priorities) {
                if (before > pol->pause_bytes) {
                    set_paused(s, true);
                } else if (before < pol->resume_bytes) {
                    set_paused(s, false);
                } else {
                    /* between the watermarks: unchanged */
                }
                skip = s->paused && (ev.prio != RING_PRIO_HIGH);
            }
            if (!skip && (pol->max_queue_bytes > 0u) && (queued > pol->max_queue_bytes)) {
                if (pol->priorities && (ev.prio != RING_PRIO_HIGH)) {
                    skip = true;
                } else {
                    LOG_W("stream", "%s #%u: %lu bytes queued, over %lu: closed %u",
                          pol->name, (unsigned)stream_id(s), (unsigned long)queued,
                          (unsigned long)pol->max_queue_bytes, (unsigned)pol->close_code);
                    pol->stats.closed_backpressure++;
                    stream_close(s, pol->close_code, "backpressure");
                    more = false;
                }
            }
            if (skip) {
                pol->stats.skipped++;
                if (pol->on_skip != NULL) {
                    pol->on_skip(s, ev.data, ev.n);
                }
            } else if (more) {
                uint8_t hdr[WS_MAX_SERVER_HEADER];
                const char *trl = NULL;
                size_t tl = 0u;
                size_t hl = frame_header(s, ev.n, hdr, &trl, &tl);
                size_t total = hl + ev.n + tl;
                size_t room = event_room(c);
                if (total <= room) {
                    put_range(c, hdr, hl, ev.data, ev.n, trl, tl, 0u, total);
                    pol->stats.sent++;
                    out = true;
                } else if ((total > ((size_t)CFG_BUF_BYTES - (size_t)CFG_STREAM_CONTROL_RESERVE)) &&
                           (room > hl)) {
                    /* never fits whole: start it, finish it across drains */
                    s->part_on = true;
                    s->part_seq = ev.seq;
                    (void)memcpy(s->part_hdr, hdr, hl);
                    s->part_hdr_len = hl;
                    put_range(c, hdr, hl, ev.data, ev.n, trl, tl, 0u, room);
                    s->part_off = room;
                    out = true;
                    more = false;
                } else {
                    s->cursor = ev.seq;    /* waits for room */
                    more = false;
                }
            } else {
                /* closed above */
            }
        }
    }
    if (out) {
        s->last_out_ms = clock_mono_ms();   /* one clock read per pump, not per event */
    }
}

/* A subscriber that cannot take ring events now (a message of the owner's
 * in flight, or its events held until that message is out) still learns
 * when the ring overtakes it, so a client stuck in the middle of such a
 * message is closed (or told of its loss) like any other, not kept
 * forever. ring_read only moves an overtaken cursor: nothing is consumed. */
static void check_overtaken(stream_sub *s)
{
    if (!s->closing && (s->pol->topics != 0u) && (s->cursor < ring_tail_seq())) {
        ring_event ev;
        uint64_t missed = 0u;
        if (ring_read(&s->cursor, s->pol->topics, &ev, &missed) == ST_RANGE) {
            lagged(s, missed);
        }
    }
}

/* A client stuck in the middle of a ring event larger than tx (part_on)
 * still has a queue: that event and everything after it. Past
 * max_queue_bytes it is closed as pump_events would (its close frame
 * follows the event's last byte): so it is closed while the event is
 * still in the ring, not cut when the ring overwrites it. */
static void check_part_queue(stream_sub *s)
{
    stream_policy *pol = s->pol;
    size_t queued;
    if (s->closing || (pol->max_queue_bytes == 0u)) {
        return;
    }
    queued = conn_tx_pending(s->c) + ring_bytes_from(s->part_seq);
    if (queued > pol->max_queue_bytes) {
        LOG_W("stream", "%s #%u: %lu bytes queued, over %lu: closed %u", pol->name,
              (unsigned)stream_id(s), (unsigned long)queued, (unsigned long)pol->max_queue_bytes,
              (unsigned)pol->close_code);
        pol->stats.closed_backpressure++;
        stream_close(s, pol->close_code, "backpressure");
    }
}

static void pump(stream_sub *s)
{
    conn *c = s->c;
    if (c->closing) {
        return;
    }
    if (http_conn_out_busy(c)) {
        check_overtaken(s);
        return;
    }
    if (s->part_on) {
        check_part_queue(s);
        if (!part_continue(s)) {
            return;
        }
    }
    if (s->ws) {
        flush_controls(s);
    }
    if (!s->closing && !s->held) {
        pump_events(s);
    } else {
        check_overtaken(s);
    }
    if (s->resumed) {
        s->resumed = false;
        if (!s->closing && (s->pol->on_resume != NULL)) {
            s->pol->on_resume(s);
        }
    }
    if (!s->closing && (s->pol->on_writable != NULL)) {
        s->pol->on_writable(s);
    }
}

/* ---- lifecycle ---------------------------------------------------------------- */

static void arm_tick(stream_sub *s)
{
    if (!s->closing && !s->ws && (s->pol->heartbeat_ms > 0u)) {
        /* SSE: a heartbeat after the last bytes sent */
        uint64_t now = clock_mono_ms();
        uint64_t due = s->last_out_ms + (uint64_t)s->pol->heartbeat_ms;
        uint64_t wait = 1u;
        if (due > now) {
            wait = due - now;
        }
        conn_set_deadline(s->c, CONN_DL_PROTO, wait);
    } else if (!s->closing && (s->pol->heartbeat_ms > 0u)) {
        conn_set_deadline(s->c, CONN_DL_PROTO, s->pol->heartbeat_ms);
    } else if (!s->closing) {
        conn_set_deadline(s->c, CONN_DL_NONE, 0u);
    } else {
        /* closing: the send deadline stays */
    }
}

static stream_sub *sub_alloc(void)
{
    uint32_t i;
    for (i = 0u; i < (uint32_t)CFG_STREAM_SUBS; i++) {
        if (!g_subs[i].in_use) {
            return &g_subs[i];
        }
    }
    return NULL;
}

static stream_sub *sub_open(conn *c, stream_policy *pol, bool ws)
{
    stream_sub *s = sub_alloc();
    uint64_t maxm;
    if (s == NULL) {
        return NULL;
    }
    (void)memset(s, 0, offsetof(stream_sub, msg));
    (void)memset(s->user, 0, sizeof s->user);
    s->in_use = true;
    s->c = c;
    s->pol = pol;
    s->ws = ws;
    s->cursor = ring_head_seq();
    s->last_out_ms = clock_mono_ms();
    maxm = (pol->max_message == 0u) ? (uint64_t)CFG_WS_MAX_MESSAGE : (uint64_t)pol->max_message;
    if ((pol->on_text != NULL) && (pol->on_data == NULL) &&
        (maxm > (uint64_t)CFG_STREAM_MSG_BYTES)) {
        maxm = (uint64_t)CFG_STREAM_MSG_BYTES;
    }
    ws_decoder_init(&s->dec, maxm);
    s->live_index = g_nlive;
    g_live[g_nlive] = s;
    g_nlive++;
    g_totals.subs = g_nlive;
    if (g_totals.subs > g_totals.subs_high) {
        g_totals.subs_high = g_totals.subs;
    }
    pol->stats.opened++;
    pol->stats.active++;
    http_conn_attach_stream(c, s);
    conn_set_idle(c, false);
    arm_tick(s);
    return s;
}

void stream_on_close(stream_sub *s)
{
    uint32_t i = s->live_index;
    if (!s->in_use) {
        return;
    }
    if (!s->closing && (s->pol->on_close != NULL)) {
        s->pol->on_close(s);
    }
    s->pol->stats.active--;
    ASSERT((i < g_nlive) && (g_live[i] == s));
    g_live[i] = g_live[g_nlive - 1u];
    g_live[i]->live_index = i;
    g_nlive--;
    g_totals.subs = g_nlive;
    s->in_use = false;
    s->c = NULL;
}

void stream_close(stream_sub *s, uint16_t code, const char *reason)
{
    if (s->closing) {
        return;
    }
    if (s->pol->on_close != NULL) {
        s->pol->on_close(s);
    }
    s->closing = true;
    s->ping_due = false;
    if (s->ws) {
        strv r = { reason, (reason != NULL) ? strlen(reason) : 0u };
        if (ws_close_frame(s->closef, sizeof s->closef, code, r, &s->close_len) != ST_OK) {
            (void)ws_close_frame(s->closef, sizeof s->closef, code, STRV_NULL, &s->close_len);
        }
        s->close_queued = true;
        arm_close_deadline(s);
        if (!s->part_on && !http_conn_out_busy(s->c)) {
            flush_controls(s);   /* else the turn hook writes it at the frame's end */
        }
    } else {
        conn_close_after_flush(s->c);
        arm_close_deadline(s);
    }
}

void stream_set_stop_hook(void (*fn)(void))
{
    g_stop_hook = fn;
}

void stream_on_stop(stream_sub *s)
{
    if (!g_stopping) {
        g_stopping = true;
        if (g_stop_hook != NULL) {
            g_stop_hook();        /* e.g. chats end and publish their last events */
        }
    }
    if (!s->closing) {
        pump(s);                  /* what the ring holds for it goes before the close */
        stream_close(s, WS_CLOSE_GOING_AWAY, "server shutting down");
    }
}

bool stream_stopping(void)
{
    return g_stopping;
}

void stream_stop_all(void)
{
    uint32_t i;
    g_stopping = true;
    for (i = 0u; i < g_nlive; i++) {
        stream_on_stop(g_live[i]);
    }
}

void stream_on_drained(stream_sub *s)
{
    pump(s);
    if ((s->pol->on_data != NULL) && (s->c->rx_len > 0u)) {
        stream_on_readable(s);    /* the frames held back while tx was busy */
    }
}

void stream_turn(void)
{
    uint32_t i;
    for (i = 0u; i < g_nlive; i++) {
        stream_sub *s = g_live[i];
        if (!s->closing || s->close_queued || s->part_on) {
            pump(s);
        }
    }
}

void stream_on_deadline(stream_sub *s)
{
    uint64_t now = clock_mono_ms();
    stream_policy *pol = s->pol;
    if (s->closing) {
        conn_fail(s->c, ST_TIMEOUT);      /* the close was never read */
        return;
    }
    if (s->ws) {
        if ((s->ping_since_ms != 0u) && ((now - s->ping_since_ms) >= pol->pong_timeout_ms)) {
            LOG_I("stream", "%s #%u: no answer to pings for %llu ms: closed 1001", pol->name,
                  (unsigned)stream_id(s), (unsigned long long)(now - s->ping_since_ms));
            pol->stats.closed_heartbeat++;
            stream_close(s, WS_CLOSE_GOING_AWAY, "heartbeat timeout");
            return;
        }
        if (s->ping_since_ms == 0u) {
            s->ping_since_ms = now;
        }
        s->ping_due = true;
    } else if ((now - s->last_out_ms) >= pol->heartbeat_ms) {
        size_t room = 0u;
        char *p = conn_tx_buf(s->c, &room);
        if (!s->part_on && (room >= SSE_COMMENT_LEN) && !http_conn_out_busy(s->c)) {
            (void)memcpy(p, SSE_COMMENT, SSE_COMMENT_LEN);
            conn_tx_ack(s->c, SSE_COMMENT_LEN);
            s->last_out_ms = now;
        }
    } else {
        /* something went out lately */
    }
    arm_tick(s);
    pump(s);
}

/* ---- reading ------------------------------------------------------------------ */

static void protocol_close(stream_sub *s, uint16_t code, const char *why)
{
    LOG_I("stream", "%s #%u: %s: closed %u", s->pol->name, (unsigned)stream_id(s), why,
          (unsigned)code);
    s->pol->stats.closed_protocol++;
    stream_close(s, code, why);
}

static void on_data_frame(stream_sub *s, const ws_frame *f)
{
    stream_policy *pol = s->pol;
    if (pol->on_data != NULL) {
        if (f->msg_end) {
            pol->stats.messages_in++;
        }
        pol->on_data(s, f);
        return;
    }
    if ((f->msg_opcode != WS_OP_TEXT) || (pol->on_text == NULL)) {
        if (f->msg_end && (f->msg_opcode == WS_OP_TEXT)) {
            pol->stats.messages_in++;
            LOG_D("stream", "%s #%u: client text ignored (%lu bytes)", pol->name,
                  (unsigned)stream_id(s), (unsigned long)f->len);
        }
        return;
    }
    if (f->msg_end && !s->msg_on) {
        pol->stats.messages_in++;
        pol->on_text(s, (const char *)f->payload, f->len);
        return;
    }
    /* The decoder's limit (<= CFG_STREAM_MSG_BYTES) keeps this inside msg. */
    if (ALWAYS((s->msg_len + f->len) <= sizeof s->msg)) {
        (void)memcpy(s->msg + s->msg_len, f->payload, f->len);
        s->msg_len += f->len;
    }
    s->msg_on = true;
    if (f->msg_end) {
        pol->stats.messages_in++;
        pol->on_text(s, s->msg, s->msg_len);
        s->msg_on = false;
        s->msg_len = 0u;
    }
}

/* An on_data owner gets a frame only with tx lent and empty (stream.h). */
static bool data_room(stream_sub *s)
{
    size_t room = 0u;
    return (s->pol->on_data == NULL) ||
           (!s->part_on && !http_conn_out_busy(s->c) && (conn_tx_pending(s->c) == 0u) &&
            (conn_tx_buf(s->c, &room) != NULL));
}

static void ws_read(stream_sub *s)
{
    conn *c = s->c;
    bool more = true;
    while (more && !s->closing && (c->rx_len > 0u) && data_room(s)) {
        ws_frame f;
        size_t used = 0u;
        st_t st = ws_decode(&s->dec, (uint8_t *)c->rx, c->rx_len, &used, &f);
        if (st == ST_AGAIN) {
            if (ALWAYS(c->rx_len < (uint32_t)CFG_BUF_BYTES)) {
                more = false;
            } else {
                protocol_close(s, WS_CLOSE_TOO_BIG, "frame larger than the receive buffer");
            }
        } else if (st != ST_OK) {
            uint16_t code = ws_decoder_close_code(&s->dec);
            protocol_close(s, (code != 0u) ? code : (uint16_t)WS_CLOSE_PROTOCOL,
                           (st == ST_UTF8) ? "invalid UTF-8"
                           : (st == ST_TOOBIG) ? "message too big" : "protocol error");
        } else {
            s->ping_since_ms = 0u;      /* the client is alive */
            if (f.opcode == WS_OP_PING) {
                (void)ws_pong_frame(s->pong, sizeof s->pong, f.payload, f.len, &s->pong_len);
            } else if (f.opcode == WS_OP_CLOSE) {
                uint16_t code = (f.close_code == WS_CLOSE_NO_STATUS) ? 0u : f.close_code;
                stream_close(s, code, "");
            } else if (f.opcode == WS_OP_PONG) {
                /* answered */
            } else {
                on_data_frame(s, &f);
            }
            conn_rx_consume(c, used);
        }
    }
    if (s->closing) {
        c->rx_len = 0u;       /* nothing after a close matters */
    }
}

void stream_on_readable(stream_sub *s)
{
    conn *c = s->c;
    if (s->ws) {
        ws_read(s);
    } else {
        c->rx_len = 0u;       /* an SSE client has nothing to say */
    }
    if (c->peer_closed && !c->close_after_flush) {
        /* gone without a close frame (or the SSE client left): no one to
         * write to */
        if (!s->closing && (s->pol->on_close != NULL)) {
            s->pol->on_close(s);
        }
        s->closing = true;
        conn_fail(c, ST_CLOSED);
        return;
    }
    pump(s);
}

/* ---- accepting ----------------------------------------------------------------- */

static void write_101(conn *c, const char *accept)
{
    static const char k_head[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                 "Connection: Upgrade\r\nSec-WebSocket-Accept: ";
    size_t room = 0u;
    char *p = conn_tx_buf(c, &room);
    size_t h = (sizeof k_head) - 1u;
    size_t k = strlen(accept);
    size_t n = h + k + 4u;
    if (ALWAYS((p != NULL) && (n <= room))) {
        (void)memcpy(p, k_head, h);
        (void)memcpy(p + h, accept, k);
        (void)memcpy(p + h + k, "\r\n\r\n", 4u);
        conn_tx_ack(c, n);
    }
}

stream_sub *hctx_ws_accept(hctx *h, stream_policy *pol)
{
    const http_service *svc = h->svc;
    int status = 400;
    char accept[WS_ACCEPT_BYTES];
    strv origin;
    stream_sub *s;
    st_t st = ws_check_upgrade(h->req, &status);
    if (st == ST_UNSUPPORTED) {
        h->extra_name = "Sec-WebSocket-Version";
        h->extra_value = WS_VERSION;
        svc->error(h, 426, "UPGRADE_REQUIRED", "Unsupported WebSocket version (use 13)");
        return NULL;
    }
    if (st != ST_OK) {
        svc->error(h, 400, "VALIDATION_ERROR", "Invalid WebSocket upgrade request");
        return NULL;
    }
    origin = http_header_get(h->req, "Origin");
    if ((origin.p != NULL) && !cors_origin_allowed(svc, origin)) {
        LOG_I("stream", "%s: upgrade from origin %.*s refused", pol->name, (int)origin.n,
              origin.p);
        svc->error(h, 403, "FORBIDDEN", "Origin not allowed");
        return NULL;
    }
    (void)ws_accept_key(http_header_get(h->req, "Sec-WebSocket-Key"), accept);
    write_101(h->c, accept);
    h->responded = true;
    s = FAULT_HIT(FAULT_SLOT, "stream") ? NULL : sub_open(h->c, pol, true);
    if (s == NULL) {
        uint8_t f[WS_MAX_CONTROL_FRAME];
        size_t n = 0u;
        size_t room = 0u;
        char *p = conn_tx_buf(h->c, &room);
        pol->stats.refused++;
        LOG_W("stream", "%s: all %u stream slots busy: closed 1013", pol->name,
              (unsigned)CFG_STREAM_SUBS);
        (void)ws_close_frame(f, sizeof f, WS_CLOSE_TRY_LATER, strv_from_cstr("try again later"),
                             &n);
        if (room >= n) {
            (void)memcpy(p, f, n);
            conn_tx_ack(h->c, n);
        }
        h->keep_alive = false;
        return NULL;
    }
    h->keep_alive = true;
    return s;
}

void hctx_ws_snapshot(hctx *h, const stream_sub *s, hctx_producer fn, const void *state,
                      size_t state_len)
{
    if (s != NULL) {
        http_conn_ws_message(h->c, fn, state, state_len);
    }
}

st_t stream_send_message(stream_sub *s, hctx_producer fn, const void *state, size_t state_len)
{
    size_t room = 0u;
    if (s->closing || !s->ws || s->c->closing) {
        return ST_CLOSED;
    }
    if (http_conn_out_busy(s->c) || s->part_on || (state_len > HCTX_PRODUCER_STATE_BYTES) ||
        (conn_tx_buf(s->c, &room) == NULL)) {
        return ST_FULL;
    }
    http_conn_ws_message(s->c, fn, state, state_len);
    return ST_OK;
}

void stream_hold_events(stream_sub *s, bool hold)
{
    s->held = hold;
}

bool stream_message_busy(const stream_sub *s)
{
    return http_conn_out_busy(s->c);
}

stream_sub *hctx_sse_begin(hctx *h, stream_policy *pol)
{
    stream_sub *s = NULL;
    bool head = (h->req != NULL) && (h->req->method == HTTP_M_HEAD);
    if (!head && ((sub_alloc() == NULL) || FAULT_HIT(FAULT_SLOT, "stream"))) {
        pol->stats.refused++;
        LOG_W("stream", "%s: all %u stream slots busy, 503", pol->name,
              (unsigned)CFG_STREAM_SUBS);
        h->svc->error(h, 503, "SERVICE_UNAVAILABLE", "Service unavailable");
        return NULL;
    }
    h->keep_alive = false;
    hctx_begin(h, 200);
    hctx_header(h, "Content-Type", "text/event-stream");
    hctx_header(h, "Cache-Control", "no-cache");
    hctx_header(h, "X-Accel-Buffering", "no");
    /* the body runs until the connection closes: no length */
    h->resp.no_length = true;
    h->resp.head_only = true;
    hctx_end(h);
    if (!head && !h->deferred) {
        s = sub_open(h->c, pol, false);
    }
    return s;
}

st_t stream_send_text(stream_sub *s, const char *text, size_t n)
{
    uint8_t hdr[WS_MAX_SERVER_HEADER];
    size_t hl = 0u;
    if (s->closing) {
        return ST_CLOSED;
    }
    if (s->part_on || http_conn_out_busy(s->c)) {
        return ST_FULL;
    }
    if (s->ws) {
        flush_controls(s);     /* a pong for an earlier ping goes first */
        hl = ws_frame_header(hdr, WS_OP_TEXT, true, (uint64_t)n);
    }
    if ((hl + n) > event_room(s->c)) {
        return ST_FULL;
    }
    put_range(s->c, hdr, hl, text, n, "", 0u, 0u, hl + n);
    s->last_out_ms = clock_mono_ms();
    return ST_OK;
}

st_t stream_send_frame(stream_sub *s, ws_opcode op, bool fin, const uint8_t *p, size_t n)
{
    uint8_t hdr[WS_MAX_SERVER_HEADER];
    size_t hl;
    if (!s->ws || s->closing) {
        return ST_CLOSED;
    }
    if (s->part_on || http_conn_out_busy(s->c)) {
        return ST_FULL;
    }
    flush_controls(s);         /* a pong for an earlier ping goes first */
    hl = ws_frame_header(hdr, op, fin, (uint64_t)n);
    if ((hl + n) > event_room(s->c)) {
        return ST_FULL;
    }
    put_range(s->c, hdr, hl, (const char *)p, n, "", 0u, 0u, hl + n);
    s->last_out_ms = clock_mono_ms();
    return ST_OK;
}

size_t stream_sse_write(stream_sub *s, const char *data, size_t n)
{
    size_t room;
    if (s->ws || s->closing || http_conn_out_busy(s->c)) {
        return 0u;
    }
    room = event_room(s->c);
    if (room > n) {
        room = n;
    }
    if (room > 0u) {
        put_range(s->c, NULL, 0u, data, room, "", 0u, 0u, room);
        s->last_out_ms = clock_mono_ms();
    }
    return room;
}
