/*
 * listen.c - listeners, accepting connections and refusing them (net/conn.h:
 * net_listen).
 *
 * Implementation notes:
 * - A listener is watched for input while the loop accepts; each readiness
 *   accepts up to CFG_ACCEPT_BUDGET connections.
 * - Pool full: the idle keep-alive conn that has waited longest is marked
 *   closing, the new socket is parked on its listener and accepting stops
 *   for this turn; at the top of the next turn, once the slot is free
 *   (closing happens only there), the parked socket becomes a conn. With
 *   none idle, the connection is sent the protocol's refusal (503 +
 *   Retry-After) best-effort and closed.
 * - A TLS listener (net/tls.c): a connection beyond the TLS sessions or
 *   handshakes is closed at once, without the refusal (a TLS client
 *   cannot read it); the protocol's on_open runs after the handshake.
 * - Out of descriptors (accept fails with EMFILE / ENFILE, or the kernel
 *   is out of memory): the listener stops being watched for
 *   CFG_ACCEPT_PAUSE_MS, so the loop does not spin on a backlog it cannot
 *   take, and resumes by itself; each pause is counted (accept_pauses) and
 *   logged once per episode.
 */
#include "net/net_int.h"

#include <stddef.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"

static listener g_listeners[CFG_MAX_LISTENERS];
static size_t g_nlisteners;
static bool g_pause_logged;

void net_listeners_init(void)
{
    g_nlisteners = 0u;
    g_pause_logged = false;
}

size_t net_listener_count(void)
{
    return g_nlisteners;
}

const listener *net_listener_at(size_t i)
{
    return (i < g_nlisteners) ? &g_listeners[i] : NULL;
}

st_t net_listen(const char *name, const char *host, uint16_t port,
                const conn_proto *proto, void *ctx, listener **out)
{
    listener *l;
    st_t st;
    if (g_nlisteners >= (size_t)CFG_MAX_LISTENERS) {
        return ST_NOMEM;
    }
    l = &g_listeners[g_nlisteners];
    (void)memset(l, 0, sizeof *l);
    st = port_listen(host, port, CFG_LISTEN_BACKLOG, &l->sock);
    if (st != ST_OK) {
        return st;
    }
    (void)port_local_port(l->sock, &l->port);
    l->index = (uint8_t)g_nlisteners;
    l->parked = PORT_SOCK_NONE;
    l->proto = proto;
    l->ctx = ctx;
    (void)strncpy(l->name, name, sizeof l->name - 1u);
    g_nlisteners++;
    *out = l;
    return ST_OK;
}

int net_listeners_arm(bool accepting, uint64_t now)
{
    int next = -1;
    size_t i;
    for (i = 0u; i < g_nlisteners; i++) {
        listener *l = &g_listeners[i];
        bool want = accepting && (now >= l->paused_until_ms) && (l->sock != PORT_SOCK_NONE);
        if (accepting && (now < l->paused_until_ms)) {
            uint64_t wait_ms = l->paused_until_ms - now;
            int left = (int)wait_ms;
            if ((next < 0) || (left < next)) {
                next = left;
            }
        }
        if (want != l->watched) {
            uint32_t events = 0u;
            if (want) {
                events = PORT_EV_IN;
            }
            if (port_watch(l->sock, events, NET_TAG(NET_TAG_LISTENER, 0u, i)) == ST_OK) {
                l->watched = want;
            }
        }
    }
    return next;
}

void net_listeners_close(void)
{
    size_t i;
    for (i = 0u; i < g_nlisteners; i++) {
        port_close(g_listeners[i].sock);
        g_listeners[i].sock = PORT_SOCK_NONE;
        port_close(g_listeners[i].parked);
        g_listeners[i].parked = PORT_SOCK_NONE;
        g_listeners[i].watched = false;
    }
}

static void refuse(listener *l, port_sock s)
{
    char buf[1024];
    size_t n = 0u;
    size_t sent = 0u;
    /* (a TLS client cannot read a plain answer: it is just closed) */
    if ((l->proto->on_refuse != NULL) && (l->tls == NULL)) {
        n = l->proto->on_refuse(l, buf, sizeof buf);
    }
    if (n > 0u) {
        (void)port_send(s, buf, n, &sent);
    }
    port_shutdown_write(s);
    port_close(s);
    l->refused++;
    g_net.stats.refused++;
}

static void pause_accepting(listener *l)
{
    l->paused_until_ms = clock_mono_ms() + (uint64_t)CFG_ACCEPT_PAUSE_MS;
    l->accept_pauses++;
    g_net.stats.accept_pauses++;
    if (!g_pause_logged) {
        g_pause_logged = true;
        LOG_W("net", "%s: accept failed: out of file descriptors (or kernel memory); not "
              "accepting for %u ms (logged once until an accept succeeds)", l->name,
              (unsigned)CFG_ACCEPT_PAUSE_MS);
    }
}

#if CFG_WITH_TLS
/* A TLS listener's connection beyond its limits (net/tls.c counted and
 * logged why): closed at once. */
static void refuse_tls(listener *l, port_sock s)
{
    port_close(s);
    l->refused++;
    g_net.stats.refused++;
}
#endif

static void adopt(listener *l, port_sock s)
{
    conn *c;
#if CFG_WITH_TLS
    tls_sess *ts = NULL;
    if (l->tls != NULL) {
        ts = net_tls_admit(l);
        if (ts == NULL) {
            refuse_tls(l, s);
            return;
        }
    }
#endif
    c = net_conn_open(l, s);
    if (c == NULL) {
        LOG_W("net", "%s: connection pool full (%u), refused", l->name,
              (unsigned)CFG_MAX_CONNS);
        refuse(l, s);
        return;
    }
    l->accepted++;
    g_net.stats.accepted++;
#if CFG_WITH_TLS
    if (ts != NULL) {
        net_tls_attach(c, ts);   /* on_open once the handshake is done */
        return;
    }
#endif
    c->proto_open = true;
    l->proto->on_open(c);
}

bool net_listeners_adopt(void)
{
    bool any = false;
    size_t i;
    for (i = 0u; i < g_nlisteners; i++) {
        listener *l = &g_listeners[i];
        if (l->parked != PORT_SOCK_NONE) {
            port_sock s = l->parked;
            l->parked = PORT_SOCK_NONE;
            adopt(l, s);
            any = true;
        }
    }
    return any;
}

void net_accept(size_t i)
{
    listener *l = &g_listeners[i];
    unsigned k;
    if ((i >= g_nlisteners) || (l->sock == PORT_SOCK_NONE) || (l->parked != PORT_SOCK_NONE)) {
        return;
    }
    for (k = 0u; k < (unsigned)CFG_ACCEPT_BUDGET; k++) {
        port_sock s = PORT_SOCK_NONE;
        st_t st = port_accept(l->sock, &s);
        if (st == ST_AGAIN) {
            return;
        }
        if (st != ST_OK) {
            if (st == ST_NOMEM) {
                pause_accepting(l);
            } else {
                LOG_W("net", "%s: accept failed: %s", l->name, status_str(st));
            }
            return;
        }
        g_pause_logged = false;
        if ((g_net.conns->used == g_net.conns->count) && net_reclaim_idle()) {
            l->parked = s;   /* a conn once the reclaimed slot is free */
            return;
        }
        adopt(l, s);
    }
}
