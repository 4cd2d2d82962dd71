/*
 * net/tls.c - TLS sessions of the listeners (net/tls.h) and the record
 * layer under conn.c's reads and writes (net_int.h).
 *
 * Implementation notes:
 * - The handshake runs in the loop, never blocking: mbedtls' BIO callbacks
 *   are port_recv / port_send on the conn's socket, WANT_READ / WANT_WRITE
 *   become the conn's interest (net_tls_want), and each readiness event
 *   steps the handshake (net_tls_step from net_do_read / net_do_write).
 *   The protocol's on_open runs when it is done; until then the conn has the
 *   handshake deadline (CONN_DL_TLS) and no buffer of the pool.
 * - Readiness the socket no longer shows: mbedtls reads a record whole, and
 *   a record's plaintext may be more than the room rx had; the rest stays
 *   in mbedtls (mbedtls_ssl_get_bytes_avail), and so can a record half read
 *   (mbedtls_ssl_check_pending). The loop is level-triggered on the socket
 *   only, so such a session is marked pending after each read: while any
 *   pending conn wants input, the loop's wait does not sleep and the conn
 *   is read again after the wait (net_tls_fire_pending), as if its socket
 *   had fired.
 * - Writes: mbedtls_ssl_write that answers WANT_WRITE has taken the bytes
 *   into its record and must be called again with the same bytes; the
 *   length is kept (wpend) and the next call repeats it (tx's bytes at
 *   tx_off do not move while they are unsent).
 * - Slots: a session keeps the mbedtls_ssl_context (and its record buffers)
 *   set up with one certificate (cred) between connections; a new
 *   connection of the same certificate only resets it. A session is set up
 *   anew when its certificate was replaced (reload) or another listener's
 *   is needed. A cred is freed when neither its listener nor any session
 *   holds it.
 * - Groups: P-256 first, then X25519 and P-384 (mbedtls' server picks by
 *   its own list, whose default starts with P-384, the slowest); with the
 *   base-point tables in ROM a P-256 handshake costs about 2.3 ms of CPU on
 *   the development host, 3.3 ms with P-384.
 * - Close: a conn closed after its response (conn_close_after_flush) sends
 *   close_notify before the TCP half-close; others just close.
 */
#include "net/tls.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "net/net_int.h"
#include "net/tls_mem.h"

#include <mbedtls/error.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

typedef struct tls_cred {
    mbedtls_ssl_config conf;
    mbedtls_x509_crt crt;
    mbedtls_pk_context key;
    uint32_t refs;            /* its listener (while current) + sessions set up with it */
    bool used;
    bool stale;               /* replaced by a reload: no new session takes it */
} tls_cred;

struct tls_srv {
    const char *name;
    const char *cert_path;
    const char *key_path;
    tls_cred *cur;
};

struct tls_sess {
    mbedtls_ssl_context ssl;
    tls_cred *cred;           /* set up with (NULL: never, or freed) */
    conn *c;                  /* the conn using it, NULL when free */
    uint32_t wpend;           /* bytes of an unfinished mbedtls_ssl_write */
    st_t io_err;              /* the socket's error under an mbedtls failure */
    uint8_t hs_want;          /* PORT_EV_IN / PORT_EV_OUT while handshaking */
    bool handshaking;
    bool pending;             /* mbedtls holds input the socket does not show */
};

static tls_sess g_sess[CFG_TLS_SESSIONS];
static tls_cred g_cred[CFG_TLS_CREDS];
static tls_srv g_srv[CFG_MAX_LISTENERS];
static size_t g_nsrv;
static uint32_t g_npending;
static uint32_t g_hs_timeout_ms = CFG_TLS_HANDSHAKE_TIMEOUT_MS;
static bool g_refuse_logged;
static tls_stats_t g_stats;

_Static_assert((sizeof g_sess + sizeof g_cred + sizeof g_srv + sizeof g_stats + 64u) <=
               TLS_STATIC_BYTES, "TLS_STATIC_BYTES is the plan of this module");

/* The suites offered, strongest key exchange first (vendor/mbedtls_config.h
 * builds exactly these). */
static const int k_suites[] = {
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    0
};

/* The ECDHE groups, ours first (mbedtls' server picks by its own order, whose
 * default puts P-384 first): P-256 has its base point tables in ROM
 * (MBEDTLS_ECP_FIXED_POINT_OPTIM), so its key is the quickest to make. */
static const mbedtls_ecp_group_id k_curves[] = {
    MBEDTLS_ECP_DP_SECP256R1,
    MBEDTLS_ECP_DP_CURVE25519,
    MBEDTLS_ECP_DP_SECP384R1,
    MBEDTLS_ECP_DP_NONE
};

/* ---- certificates ------------------------------------------------------------ */

static void cred_unref(tls_cred *cr)
{
    if (cr->refs > 0u) {
        cr->refs--;
    }
    if (cr->refs == 0u) {
        mbedtls_ssl_config_free(&cr->conf);
        mbedtls_x509_crt_free(&cr->crt);
        mbedtls_pk_free(&cr->key);
        cr->used = false;
        cr->stale = false;
    }
}

/* A file into buf (cap + 1 bytes), NUL-terminated (mbedtls' PEM parsers
 * count the NUL). */
static st_t read_file(const char *path, unsigned char *buf, size_t cap, size_t *n)
{
    st_t st = port_file_read(path, (char *)buf, cap, n);
    if (st == ST_OK) {
        buf[*n] = 0u;
        *n += 1u;
    }
    return st;
}


/* Log a certificate outside its validity: clients will refuse it. */
static void warn_dates(const char *name, const char *path, const mbedtls_x509_crt *crt)
{
    const mbedtls_x509_time *t = NULL;
    const char *what = "";
    if (mbedtls_x509_time_is_past(&crt->valid_to) != 0) {
        t = &crt->valid_to;
        what = "expired on";
    } else if (mbedtls_x509_time_is_future(&crt->valid_from) != 0) {
        t = &crt->valid_from;
        what = "is not valid before";
    } else {
        /* valid now */
    }
    if (t != NULL) {
        LOG_W("tls", "%s: certificate %s %s %04d-%02d-%02d %02d:%02d:%02d UTC; clients will "
              "refuse it", name, path, what, t->year, t->mon, t->day, t->hour, t->min, t->sec);
    }
}

static st_t cred_fill(tls_cred *cr, const tls_srv *s, unsigned char *buf, char *err, size_t cap)
{
    size_t n = 0u;
    int rc;
    char why[96];
    st_t st = read_file(s->cert_path, buf, CFG_TLS_FILE_BYTES, &n);
    if (st != ST_OK) {
        (void)snprintf(err, cap, "%s.tls_cert %s: %s", s->name, s->cert_path, status_str(st));
        return st;
    }
    rc = mbedtls_x509_crt_parse(&cr->crt, buf, n);
    if (rc != 0) {
        mbedtls_strerror((rc < 0) ? rc : MBEDTLS_ERR_X509_INVALID_FORMAT, why, sizeof why);
        (void)snprintf(err, cap, "%s.tls_cert %s: not a certificate (%s)", s->name,
                       s->cert_path, why);
        return ST_INVAL;
    }
    st = read_file(s->key_path, buf, CFG_TLS_FILE_BYTES, &n);
    if (st != ST_OK) {
        (void)snprintf(err, cap, "%s.tls_key %s: %s", s->name, s->key_path, status_str(st));
        return st;
    }
    rc = mbedtls_pk_parse_key(&cr->key, buf, n, NULL, 0u);
    mbedtls_platform_zeroize(buf, n);
    if (rc != 0) {
        mbedtls_strerror(rc, why, sizeof why);
        (void)snprintf(err, cap, "%s.tls_key %s: not a private key (%s)", s->name, s->key_path,
                       why);
        return ST_INVAL;
    }
    rc = mbedtls_pk_check_pair(&cr->crt.pk, &cr->key);
    if (rc != 0) {
        (void)snprintf(err, cap, "%s.tls_key %s does not match the certificate %s",
                       s->name, s->key_path, s->cert_path);
        return ST_INVAL;
    }
    rc = mbedtls_ssl_config_defaults(&cr->conf, MBEDTLS_SSL_IS_SERVER,
                                     MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
    if (rc == 0) {
        mbedtls_ssl_conf_min_version(&cr->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                     MBEDTLS_SSL_MINOR_VERSION_3);
        mbedtls_ssl_conf_max_version(&cr->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                     MBEDTLS_SSL_MINOR_VERSION_3);
        mbedtls_ssl_conf_ciphersuites(&cr->conf, k_suites);
        mbedtls_ssl_conf_curves(&cr->conf, k_curves);
        mbedtls_ssl_conf_rng(&cr->conf, tls_mem_random, NULL);
        rc = mbedtls_ssl_conf_own_cert(&cr->conf, &cr->crt, &cr->key);
    }
    if (rc != 0) {
        mbedtls_strerror(rc, why, sizeof why);
        (void)snprintf(err, cap, "%s: TLS configuration: %s", s->name, why);
        return ST_NOMEM;
    }
    warn_dates(s->name, s->cert_path, &cr->crt);
    return ST_OK;
}

/* A new cred from s's files (refs 1: the listener's), or NULL with err. */
static tls_cred *cred_load(const tls_srv *s, char *err, size_t cap, st_t *st)
{
    tls_cred *cr = NULL;
    unsigned char *buf;
    size_t i;
    for (i = 0u; (i < (size_t)CFG_TLS_CREDS) && (cr == NULL); i++) {
        if (!g_cred[i].used) {
            cr = &g_cred[i];
        }
    }
    if (cr == NULL) {
        (void)snprintf(err, cap, "%s: %u certificates are loaded (CFG_TLS_CREDS), still used by "
                       "connections opened before earlier reloads", s->name,
                       (unsigned)CFG_TLS_CREDS);
        *st = ST_FULL;
        return NULL;
    }
    buf = (unsigned char *)mbedtls_calloc(1u, (size_t)CFG_TLS_FILE_BYTES + 1u);
    if (buf == NULL) {
        (void)snprintf(err, cap, "%s: the TLS heap is full (CFG_TLS_HEAP_BYTES)", s->name);
        *st = ST_NOMEM;
        return NULL;
    }
    mbedtls_ssl_config_init(&cr->conf);
    mbedtls_x509_crt_init(&cr->crt);
    mbedtls_pk_init(&cr->key);
    cr->used = true;
    cr->stale = false;
    cr->refs = 1u;
    *st = cred_fill(cr, s, buf, err, cap);
    mbedtls_free(buf);
    if (*st != ST_OK) {
        cred_unref(cr);
        cr = NULL;
    }
    return cr;
}

st_t tls_srv_load(const char *name, const char *cert_path, const char *key_path,
                  char *err, size_t cap, tls_srv **out)
{
    tls_srv *s;
    st_t st = ST_OK;
    if (g_nsrv >= (size_t)CFG_MAX_LISTENERS) {
        (void)snprintf(err, cap, "%s: too many TLS listeners", name);
        return ST_FULL;
    }
    s = &g_srv[g_nsrv];
    s->name = name;
    s->cert_path = cert_path;
    s->key_path = key_path;
    s->cur = cred_load(s, err, cap, &st);
    if (s->cur != NULL) {
        g_nsrv++;
        *out = s;
    }
    return st;
}

st_t tls_srv_reload(tls_srv *s, char *err, size_t cap)
{
    st_t st = ST_OK;
    tls_cred *cr = cred_load(s, err, cap, &st);
    size_t i;
    if (cr == NULL) {
        g_stats.reload_failures++;
        return st;
    }
    s->cur->stale = true;
    cred_unref(s->cur);
    s->cur = cr;
    g_stats.reloads++;
    /* free slots set up with a replaced certificate let go of it now */
    for (i = 0u; i < (size_t)CFG_TLS_SESSIONS; i++) {
        tls_sess *ts = &g_sess[i];
        if ((ts->c == NULL) && (ts->cred != NULL) && ts->cred->stale) {
            mbedtls_ssl_free(&ts->ssl);
            cred_unref(ts->cred);
            ts->cred = NULL;
        }
    }
    return ST_OK;
}

void net_listener_tls(listener *l, tls_srv *s)
{
    l->tls = s;
}

void tls_set_handshake_timeout(uint32_t ms)
{
    g_hs_timeout_ms = ms;
}

const tls_stats_t *tls_stats(void)
{
    return &g_stats;
}

/* ---- the BIO: mbedtls' view of the socket --------------------------------------- */

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    tls_sess *ts = (tls_sess *)ctx;
    size_t n = 0u;
    int rc;
    st_t st = port_send(ts->c->sock, buf, len, &n);
    if (st == ST_OK) {
        rc = (int)n;
    } else if (st == ST_AGAIN) {
        rc = MBEDTLS_ERR_SSL_WANT_WRITE;
    } else {
        ts->io_err = st;
        rc = MBEDTLS_ERR_SSL_INTERNAL_ERROR;
    }
    return rc;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    tls_sess *ts = (tls_sess *)ctx;
    size_t n = 0u;
    int rc;
    st_t st = port_recv(ts->c->sock, buf, len, &n);
    if (st == ST_OK) {
        rc = (int)n;
    } else if (st == ST_AGAIN) {
        rc = MBEDTLS_ERR_SSL_WANT_READ;
    } else if (st == ST_CLOSED) {
        rc = 0;     /* end of input: mbedtls says MBEDTLS_ERR_SSL_CONN_EOF */
    } else {
        ts->io_err = st;
        rc = MBEDTLS_ERR_SSL_INTERNAL_ERROR;
    }
    return rc;
}

/* ---- sessions ------------------------------------------------------------------------ */

static void log_refusal(const listener *l, const char *why)
{
    if (!g_refuse_logged) {
        g_refuse_logged = true;
        LOG_W("tls", "%s: connection refused: %s (logged once until a TLS connection is "
              "accepted again)", l->name, why);
    }
}

/* A free slot for cr: one set up with it, else one never set up, else any
 * free one (set up again). */
static tls_sess *sess_pick(const tls_cred *cr)
{
    tls_sess *same = NULL;
    tls_sess *blank = NULL;
    tls_sess *other = NULL;
    size_t i;
    for (i = 0u; (i < (size_t)CFG_TLS_SESSIONS) && (same == NULL); i++) {
        tls_sess *ts = &g_sess[i];
        if (ts->c == NULL) {
            if (ts->cred == cr) {
                same = ts;
            } else if ((ts->cred == NULL) && (blank == NULL)) {
                blank = ts;
            } else if (other == NULL) {
                other = ts;
            } else {
                /* keep looking for one of cr */
            }
        }
    }
    if (same != NULL) {
        return same;
    }
    return (blank != NULL) ? blank : other;
}

static bool sess_setup(tls_sess *ts, tls_cred *cr)
{
    if (ts->cred == cr) {
        return mbedtls_ssl_session_reset(&ts->ssl) == 0;
    }
    if (ts->cred != NULL) {
        mbedtls_ssl_free(&ts->ssl);
        cred_unref(ts->cred);
        ts->cred = NULL;
    }
    mbedtls_ssl_init(&ts->ssl);
    if (mbedtls_ssl_setup(&ts->ssl, &cr->conf) != 0) {
        mbedtls_ssl_free(&ts->ssl);
        return false;
    }
    mbedtls_ssl_set_bio(&ts->ssl, ts, bio_send, bio_recv, NULL);
    ts->cred = cr;
    cr->refs++;
    return true;
}

tls_sess *net_tls_admit(listener *l)
{
    tls_sess *ts = NULL;
    if (g_stats.sessions >= (uint32_t)CFG_TLS_SESSIONS) {
        g_stats.refused_sessions++;
        log_refusal(l, "every TLS session is in use (CFG_TLS_SESSIONS)");
    } else if (g_stats.in_handshake >= (uint32_t)CFG_TLS_HANDSHAKES) {
        g_stats.refused_handshakes++;
        log_refusal(l, "too many TLS handshakes in progress (CFG_TLS_HANDSHAKES)");
    } else {
        ts = sess_pick(l->tls->cur);
        if ((ts != NULL) && !sess_setup(ts, l->tls->cur)) {
            ts = NULL;
            g_stats.refused_memory++;
            log_refusal(l, "the TLS heap is full (CFG_TLS_HEAP_BYTES)");
        }
    }
    return ts;
}

void net_tls_attach(conn *c, tls_sess *ts)
{
    g_refuse_logged = false;
    c->tls = ts;
    ts->c = c;
    ts->wpend = 0u;
    ts->io_err = ST_OK;
    ts->hs_want = (uint8_t)PORT_EV_IN;
    ts->handshaking = true;
    ts->pending = false;
    g_stats.sessions++;
    if (g_stats.sessions > g_stats.sessions_high) {
        g_stats.sessions_high = g_stats.sessions;
    }
    g_stats.in_handshake++;
    if (g_stats.in_handshake > g_stats.in_handshake_high) {
        g_stats.in_handshake_high = g_stats.in_handshake;
    }
    conn_set_deadline(c, CONN_DL_TLS, g_hs_timeout_ms);
}

static void set_pending(tls_sess *ts, bool pending)
{
    if (pending != ts->pending) {
        ts->pending = pending;
        if (pending) {
            g_npending++;
        } else {
            g_npending--;
        }
    }
}

void net_tls_detach(conn *c)
{
    tls_sess *ts = c->tls;
    set_pending(ts, false);
    if (ts->handshaking) {
        ts->handshaking = false;
        g_stats.in_handshake--;
    }
    g_stats.sessions--;
    ts->c = NULL;
    c->tls = NULL;
    if (ts->cred->stale) {
        /* its certificate was replaced: let go of it now */
        mbedtls_ssl_free(&ts->ssl);
        cred_unref(ts->cred);
        ts->cred = NULL;
    }
}

bool net_tls_handshaking(const conn *c)
{
    return c->tls->handshaking;
}

uint32_t net_tls_want(const conn *c)
{
    return (uint32_t)c->tls->hs_want;
}

void net_tls_timeout(conn *c)
{
    g_stats.handshake_timeouts++;
    conn_fail(c, ST_TIMEOUT);
}

bool net_tls_step(conn *c)
{
    tls_sess *ts = c->tls;
    int rc = mbedtls_ssl_handshake(&ts->ssl);
    net_dirty(c);
    if (rc == 0) {
        ts->handshaking = false;
        g_stats.in_handshake--;
        g_stats.handshakes++;
        c->last_io_ms = g_net.now_ms;
        conn_set_deadline(c, CONN_DL_NONE, 0u);
        c->proto_open = true;
        c->lst->proto->on_open(c);
        return true;
    }
    if (rc == MBEDTLS_ERR_SSL_WANT_READ) {
        ts->hs_want = (uint8_t)PORT_EV_IN;
    } else if (rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
        ts->hs_want = (uint8_t)PORT_EV_OUT;
    } else {
        g_stats.handshake_failures++;
        if (rc != MBEDTLS_ERR_SSL_CONN_EOF) {
            char why[96];
            mbedtls_strerror(rc, why, sizeof why);
            LOG_D("tls", "%s: handshake failed: %s", c->lst->name, why);
        }
        conn_fail(c, (ts->io_err != ST_OK) ? ts->io_err : ST_BAD);
    }
    return false;
}

st_t net_tls_recv(conn *c, char *buf, size_t cap, size_t *n)
{
    tls_sess *ts = c->tls;
    int rc = mbedtls_ssl_read(&ts->ssl, (unsigned char *)buf, cap);
    st_t st;
    *n = 0u;
    if (rc > 0) {
        *n = (size_t)rc;
        st = ST_OK;
    } else if ((rc == MBEDTLS_ERR_SSL_WANT_READ) || (rc == MBEDTLS_ERR_SSL_WANT_WRITE)) {
        st = ST_AGAIN;
    } else if ((rc == 0) || (rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) ||
               (rc == MBEDTLS_ERR_SSL_CONN_EOF)) {
        st = ST_CLOSED;
    } else {
        st = (ts->io_err != ST_OK) ? ts->io_err : ST_BAD;
    }
    set_pending(ts, (st == ST_OK) && ((mbedtls_ssl_get_bytes_avail(&ts->ssl) > 0u) ||
                                      (mbedtls_ssl_check_pending(&ts->ssl) != 0)));
    return st;
}

st_t net_tls_send(conn *c, const char *buf, size_t len, size_t *n)
{
    tls_sess *ts = c->tls;
    size_t ask = (ts->wpend > 0u) ? (size_t)ts->wpend
                 : ((len < (size_t)MBEDTLS_SSL_OUT_CONTENT_LEN) ? len
                                                                : (size_t)MBEDTLS_SSL_OUT_CONTENT_LEN);
    int rc = mbedtls_ssl_write(&ts->ssl, (const unsigned char *)buf, ask);
    st_t st;
    *n = 0u;
    if (rc >= 0) {
        ts->wpend = 0u;
        *n = (size_t)rc;
        st = ST_OK;
    } else if ((rc == MBEDTLS_ERR_SSL_WANT_WRITE) || (rc == MBEDTLS_ERR_SSL_WANT_READ)) {
        ts->wpend = (uint32_t)ask;
        st = ST_AGAIN;
    } else {
        st = (ts->io_err != ST_OK) ? ts->io_err : ST_BAD;
    }
    return st;
}

void net_tls_close_notify(conn *c)
{
    if (!c->tls->handshaking) {
        (void)mbedtls_ssl_close_notify(&c->tls->ssl);
    }
}

bool net_tls_any_pending(void)
{
    bool any = false;
    size_t i;
    for (i = 0u; (i < (size_t)CFG_TLS_SESSIONS) && (g_npending > 0u) && !any; i++) {
        const tls_sess *ts = &g_sess[i];
        any = ts->pending && (ts->c != NULL) && !ts->c->closing &&
              ((net_conn_want(ts->c) & PORT_EV_IN) != 0u);
    }
    return any;
}

void net_tls_fire_pending(void)
{
    size_t i;
    for (i = 0u; (i < (size_t)CFG_TLS_SESSIONS) && (g_npending > 0u); i++) {
        const tls_sess *ts = &g_sess[i];
        if (ts->pending && (ts->c != NULL) && !ts->c->closing &&
            ((net_conn_want(ts->c) & PORT_EV_IN) != 0u)) {
            net_conn_fire(ts->c, PORT_EV_IN);
        }
    }
}
