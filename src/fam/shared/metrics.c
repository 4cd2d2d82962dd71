#include "fam/shared/metrics.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/log.h"
#include "core/assert.h"
#include "core/pool.h"
#include "core/timer.h"
#include "bus/ring.h"
#include "config.h"
#include "http/server.h"
#include "http/stream.h"
#include "net/child.h"
#include "net/conn.h"
#if CFG_WITH_TLS
#include "net/tls.h"
#endif
#if CFG_WITH_LLM
#include "out/llm.h"
#include "out/mem.h"
#endif
#include "port.h"
#include "store/store.h"

typedef struct {
    char *buf;
    size_t cap;
    size_t len;
    bool full;
} mbuf;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void mprintf(mbuf *m, const char *fmt, ...)
{
    va_list ap;
    int k;
    if (m->full) {
        return;
    }
    va_start(ap, fmt);
    k = vsnprintf(m->buf + m->len, m->cap - m->len, fmt, ap);
    va_end(ap);
    if ((k < 0) || ((size_t)k >= (m->cap - m->len))) {
        m->full = true;
        return;
    }
    m->len += (size_t)k;
}

size_t metrics_line(char *buf, size_t cap, const char *name, const char *type, const char *help,
                    unsigned long long v)
{
    int k = snprintf(buf, cap, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type,
                     name, v);
    return ((k > 0) && ((size_t)k < cap)) ? (size_t)k : 0u;
}

static void metric(mbuf *m, const char *name, const char *type, const char *help,
                   unsigned long long v)
{
    if (!m->full) {
        size_t n = metrics_line(m->buf + m->len, m->cap - m->len, name, type, help, v);
        m->full = (n == 0u);
        m->len += n;
    }
}

static void counter(mbuf *m, const char *name, const char *help, unsigned long long v)
{
    metric(m, name, "counter", help, v);
}

static void gauge(mbuf *m, const char *name, const char *help, unsigned long long v)
{
    metric(m, name, "gauge", help, v);
}

static void pools(mbuf *m)
{
    size_t i;
    mprintf(m, "# HELP roost_pool_capacity Slots in a fixed pool.\n# TYPE roost_pool_capacity gauge\n");
    for (i = 0u; i < pool_registered(); i++) {
        const pool_t *p = pool_nth(i);
        mprintf(m, "roost_pool_capacity{pool=\"%s\"} %lu\n", p->name, (unsigned long)p->count);
    }
    mprintf(m, "# HELP roost_pool_used Slots in use.\n# TYPE roost_pool_used gauge\n");
    for (i = 0u; i < pool_registered(); i++) {
        const pool_t *p = pool_nth(i);
        mprintf(m, "roost_pool_used{pool=\"%s\"} %lu\n", p->name, (unsigned long)p->used);
    }
    mprintf(m, "# HELP roost_pool_high_water Most slots ever in use.\n# TYPE roost_pool_high_water gauge\n");
    for (i = 0u; i < pool_registered(); i++) {
        const pool_t *p = pool_nth(i);
        mprintf(m, "roost_pool_high_water{pool=\"%s\"} %lu\n", p->name, (unsigned long)p->high);
    }
    mprintf(m, "# HELP roost_pool_exhausted_total Requests for a slot that found the pool empty.\n"
               "# TYPE roost_pool_exhausted_total counter\n");
    for (i = 0u; i < pool_registered(); i++) {
        const pool_t *p = pool_nth(i);
        mprintf(m, "roost_pool_exhausted_total{pool=\"%s\"} %llu\n", p->name,
                (unsigned long long)p->fails);
    }
}

#if CFG_CHILD_SLOTS > 0
static void children(mbuf *m)
{
    const child_stats_t *c = child_stats();
    gauge(m, "roost_children_running", "Child processes in the pool now.", c->running);
    gauge(m, "roost_children_high_water", "Most child processes at once.", c->running_high);
    counter(m, "roost_children_started_total", "Child processes started.", c->started);
    counter(m, "roost_children_refused_total", "Children refused: every slot in use.",
            c->refused_full);
    counter(m, "roost_children_spawn_failed_total", "Children the OS refused to start.",
            c->spawn_failed);
    counter(m, "roost_children_killed_deadline_total", "Children killed at their deadline.",
            c->killed_deadline);
    counter(m, "roost_children_killed_flood_total", "Children killed for flooding their output.",
            c->killed_flood);
}
#endif

static void ring(mbuf *m)
{
    const ring_stats_t *r = ring_stats();
    gauge(m, "roost_ring_slots", "Events the ring holds at most.", (unsigned long long)CFG_BUS_SLOTS);
    gauge(m, "roost_ring_bytes", "Bytes of event JSON the ring holds at most.",
          (unsigned long long)CFG_BUS_BYTES);
    gauge(m, "roost_ring_slots_used", "Events in the ring now.", r->slots_used);
    gauge(m, "roost_ring_slots_high_water", "Most events ever in the ring.", r->slots_high);
    gauge(m, "roost_ring_bytes_used", "Event bytes in the ring now.", r->bytes_used);
    gauge(m, "roost_ring_bytes_high_water", "Most event bytes ever in the ring.", r->bytes_high);
    counter(m, "roost_ring_published_total", "Events published.", r->published);
    counter(m, "roost_ring_overwritten_total", "Events overwritten by newer ones.", r->dropped);
    counter(m, "roost_ring_too_big_total", "Events larger than the ring, not published.",
            r->too_big);
}

typedef enum {
    SS_OPEN, SS_OPENED, SS_REFUSED, SS_SENT, SS_SKIPPED, SS_LAGGED, SS_LAG_EPISODES,
    SS_CLOSED_BACKPRESSURE, SS_CLOSED_HEARTBEAT, SS_CLOSED_PROTOCOL, SS_PINGS, SS_MESSAGES
} stream_stat;

static unsigned long long stream_stat_of(const stream_stats_t *t, stream_stat which)
{
    unsigned long long v;
    switch (which) {
    case SS_OPEN: v = t->active; break;
    case SS_OPENED: v = t->opened; break;
    case SS_REFUSED: v = t->refused; break;
    case SS_SENT: v = t->sent; break;
    case SS_SKIPPED: v = t->skipped; break;
    case SS_LAGGED: v = t->lagged; break;
    case SS_LAG_EPISODES: v = t->lag_episodes; break;
    case SS_CLOSED_BACKPRESSURE: v = t->closed_backpressure; break;
    case SS_CLOSED_HEARTBEAT: v = t->closed_heartbeat; break;
    case SS_CLOSED_PROTOCOL: v = t->closed_protocol; break;
    case SS_PINGS: v = t->pings; break;
    case SS_MESSAGES: v = t->messages_in; break;
    default: v = 0u; break;
    }
    return v;
}

/* One labelled line per stream policy (endpoint). */
static void stream_family(mbuf *m, const char *name, const char *type, const char *help,
                          stream_stat which)
{
    size_t i;
    mprintf(m, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    for (i = 0u; i < stream_policy_count(); i++) {
        const stream_policy *p = stream_policy_nth(i);
        mprintf(m, "%s{stream=\"%s\"} %llu\n", name, p->name, stream_stat_of(&p->stats, which));
    }
}

static void streams(mbuf *m)
{
    const stream_totals_t *t = stream_totals();
    gauge(m, "roost_stream_slots", "WebSocket and SSE streams at most.",
          (unsigned long long)CFG_STREAM_SUBS);
    gauge(m, "roost_stream_subscribers", "WebSocket and SSE streams open now.", t->subs);
    gauge(m, "roost_stream_subscribers_high_water", "Most streams ever open at once.",
          t->subs_high);
    gauge(m, "roost_stream_paused", "Streams paused by backpressure now.", t->paused);
    stream_family(m, "roost_stream_open", "gauge", "Streams open now.", SS_OPEN);
    stream_family(m, "roost_stream_opened_total", "counter", "Streams accepted.", SS_OPENED);
    stream_family(m, "roost_stream_refused_total", "counter",
                  "Streams refused (1013 or 503): no slot free.", SS_REFUSED);
    stream_family(m, "roost_stream_events_sent_total", "counter", "Events written to clients.",
                  SS_SENT);
    stream_family(m, "roost_stream_events_skipped_total", "counter",
                  "Events skipped for paused clients.", SS_SKIPPED);
    stream_family(m, "roost_stream_events_lagged_total", "counter",
                  "Events lost because the ring overtook a client.", SS_LAGGED);
    stream_family(m, "roost_stream_lag_episodes_total", "counter",
                  "Times the ring overtook a client.", SS_LAG_EPISODES);
    stream_family(m, "roost_stream_closed_backpressure_total", "counter",
                  "Clients closed because their queue was full.", SS_CLOSED_BACKPRESSURE);
    stream_family(m, "roost_stream_closed_heartbeat_total", "counter",
                  "Clients closed for not answering pings.", SS_CLOSED_HEARTBEAT);
    stream_family(m, "roost_stream_closed_protocol_total", "counter",
                  "Clients closed for a protocol error (1002, 1007, 1009).", SS_CLOSED_PROTOCOL);
    stream_family(m, "roost_stream_pings_total", "counter", "Protocol pings sent.", SS_PINGS);
    stream_family(m, "roost_stream_messages_received_total", "counter",
                  "Client text messages received.", SS_MESSAGES);
}

#if CFG_WITH_LLM
/* The fixed heaps of the outbound HTTP stack. */
static void out_heaps(mbuf *m)
{
    const out_mem_stats_t *o = out_mem_stats();
    gauge(m, "roost_out_heap_bytes", "Size of the curl and c-ares heap.", o->out.bytes);
    gauge(m, "roost_out_heap_used_bytes", "curl and c-ares heap in use.", o->out.used);
    gauge(m, "roost_out_heap_high_water_bytes", "Most curl and c-ares heap ever in use.",
          o->out.high);
    counter(m, "roost_out_heap_failures_total", "curl and c-ares allocations refused.",
            o->out.fails);
    gauge(m, "roost_tls_heap_bytes", "Size of the mbedtls heap.", o->tls.bytes);
    gauge(m, "roost_tls_heap_used_bytes", "mbedtls heap in use.", o->tls.used);
    gauge(m, "roost_tls_heap_high_water_bytes", "Most mbedtls heap ever in use.", o->tls.high);
    counter(m, "roost_tls_heap_failures_total", "mbedtls allocations refused.", o->tls.fails);
    gauge(m, "roost_llm_slots_used", "LLM calls running now.", llm_stats()->slots_used);
}
#endif

#if CFG_WITH_TLS
/* The TLS listeners (net/tls.h): sessions, handshakes and refusals. */
static void tls_listeners(mbuf *m)
{
    const tls_stats_t *t = tls_stats();
    gauge(m, "roost_tls_sessions", "TLS connections open now.", t->sessions);
    gauge(m, "roost_tls_sessions_high_water", "Most TLS connections ever open at once.",
          t->sessions_high);
    gauge(m, "roost_tls_sessions_max", "TLS sessions of this build (CFG_TLS_SESSIONS).",
          CFG_TLS_SESSIONS);
    gauge(m, "roost_tls_handshakes_in_progress", "TLS handshakes in progress now.",
          t->in_handshake);
    gauge(m, "roost_tls_handshakes_max", "Concurrent TLS handshakes of this build "
          "(CFG_TLS_HANDSHAKES).", CFG_TLS_HANDSHAKES);
    counter(m, "roost_tls_handshakes_total", "TLS handshakes completed.", t->handshakes);
    counter(m, "roost_tls_handshake_failures_total",
            "TLS handshakes failed (no acceptable TLS, plain HTTP, a reset).",
            t->handshake_failures);
    counter(m, "roost_tls_handshake_timeouts_total",
            "TLS handshakes closed at tls.handshake_timeout_ms.", t->handshake_timeouts);
    counter(m, "roost_tls_refused_sessions_total",
            "TLS connections closed at accept: every session in use.", t->refused_sessions);
    counter(m, "roost_tls_refused_handshakes_total",
            "TLS connections closed at accept: every handshake slot in use.",
            t->refused_handshakes);
    counter(m, "roost_tls_refused_memory_total",
            "TLS connections closed at accept: the TLS heap had no room.", t->refused_memory);
    counter(m, "roost_tls_reloads_total", "Certificates replaced by a reload (SIGHUP).",
            t->reloads);
    counter(m, "roost_tls_reload_failures_total",
            "Reloads whose files did not load (the old certificate stayed).",
            t->reload_failures);
}
#endif

static void store(mbuf *m)
{
    store_stats_t s;
    store_stats(&s);
    gauge(m, "roost_sqlite_heap_bytes", "Size of the fixed sqlite heap.",
          (unsigned long long)s.heap_bytes);
    gauge(m, "roost_sqlite_heap_used_bytes", "sqlite heap in use.",
          (unsigned long long)s.heap_used);
    gauge(m, "roost_sqlite_heap_high_water_bytes", "Most sqlite heap ever in use.",
          (unsigned long long)s.heap_high);
    counter(m, "roost_sqlite_heap_failures_total", "sqlite allocations the heap refused.",
            (unsigned long long)s.alloc_failures);
    gauge(m, "roost_sqlite_pcache_high_water", "Most page-cache slots ever in use.",
          (unsigned long long)s.pcache_high);
    counter(m, "roost_sqlite_batches_total", "Turn batches committed (one transaction each).",
            (unsigned long long)s.batch_commits);
    counter(m, "roost_sqlite_batch_members_total", "Writes committed in turn batches.",
            (unsigned long long)s.batch_members);
}

size_t metrics_render(char *buf, size_t cap)
{
    mbuf m = { buf, cap, 0u, false };
    const net_stats_t *ns = net_stats();
    const http_stats_t *hs = http_stats();
    pools(&m);
    counter(&m, "roost_loop_turns_total", "Event loop turns.", ns->turns);
    counter(&m, "roost_conns_accepted_total", "Connections accepted.", ns->accepted);
    counter(&m, "roost_conns_closed_total", "Connections closed.", ns->closed);
    counter(&m, "roost_conns_refused_total", "Connections refused with 503 (pool full).",
            ns->refused);
    counter(&m, "roost_conns_reclaimed_total",
            "Idle keep-alive connections closed to make room.", ns->reclaimed);
    counter(&m, "roost_accept_pauses_total",
            "Accepting paused because the process was out of descriptors.", ns->accept_pauses);
    counter(&m, "roost_conn_timeouts_total", "Connection deadlines that passed.", ns->timeouts);
    counter(&m, "roost_bytes_received_total", "Bytes read from clients.", ns->bytes_in);
    counter(&m, "roost_bytes_sent_total", "Bytes written to clients.", ns->bytes_out);
    counter(&m, "roost_sends_total", "Writes to client sockets that sent bytes.", ns->sends);
    counter(&m, "roost_reads_total", "Reads from client sockets (requests and frames).",
            ns->reads);
    gauge(&m, "roost_bufs_lent", "rx/tx buffers lent to connections now.", ns->bufs_used);
    gauge(&m, "roost_bufs_lent_high_water", "Most rx/tx buffers ever lent at once.",
          ns->bufs_high);
    gauge(&m, "roost_buf_rx_queue", "Connections waiting for an rx buffer now.", ns->rx_queue);
    gauge(&m, "roost_buf_tx_queue", "Connections waiting for a tx buffer now.", ns->tx_queue);
    counter(&m, "roost_buf_rx_waits_total", "Reads deferred because no rx buffer was free.",
            ns->rx_waits);
    counter(&m, "roost_buf_tx_waits_total", "Outputs queued because no tx buffer was free.",
            ns->tx_waits);
    counter(&m, "roost_buf_rx_reclaimed_total",
            "Stalled requests answered 408 early to lend their rx buffer.", ns->rx_reclaimed);
    counter(&m, "roost_http_requests_total", "HTTP requests dispatched.", hs->requests);
    counter(&m, "roost_http_pipelined_total",
            "Requests answered behind responses still in tx (one write for a burst).",
            hs->pipelined);
    counter(&m, "roost_http_pipeline_retries_total",
            "Pipelined requests whose answer did not fit behind the others: run after the drain.",
            hs->pipeline_retries);
    counter(&m, "roost_http_client_errors_total", "4xx responses.", hs->errors_4xx);
    counter(&m, "roost_http_server_errors_total", "5xx responses.", hs->errors_5xx);
    counter(&m, "roost_http_body_slot_exhausted_total", "503 because no body slot was free.",
            hs->body_slot_waits);
    counter(&m, "roost_http_render_passes_total",
            "Render passes after the first (windows of responses larger than tx).",
            hs->renders);
    counter(&m, "roost_http_render_cuts_total",
            "Responses cut because they changed between render passes.", hs->render_cuts);
    gauge(&m, "roost_http_file_streams", "File bodies streaming now.", hs->file_streams);
    counter(&m, "roost_http_file_stream_exhausted_total",
            "503 because all file streams were busy.", hs->file_stream_waits);
    counter(&m, "roost_http_file_cuts_total", "File bodies cut short (file changed).",
            hs->file_cuts);
    gauge(&m, "roost_timers_used", "Timers in use.", timer_used());
#if CFG_CHILD_SLOTS > 0
    children(&m);
#endif
    ring(&m);
    streams(&m);
#if CFG_WITH_LLM
    out_heaps(&m);
#endif
#if CFG_WITH_TLS
    tls_listeners(&m);
#endif
    store(&m);
    counter(&m, "roost_log_warnings_total", "Warning lines logged.", log_count(LOG_WARN));
    counter(&m, "roost_log_errors_total", "Error lines logged.", log_count(LOG_ERROR));
    counter(&m, "roost_never_hits_total",
            "Can't-happen branches taken (release builds; debug builds abort).",
            roost_never_hits());
    gauge(&m, "roost_resident_kib", "Resident set size.", port_rss_kib());
    gauge(&m, "roost_threads", "Threads in the process (always 1).", port_thread_count());
    return m.full ? 0u : m.len;
}
