/*
 * net/tls.h - TLS on the listeners: HTTPS and WSS through mbedtls 2.28.
 *
 * A listener given a certificate (net_listener_tls) speaks TLS only; net/
 * runs the handshake and the records under the protocol (conn.h: the bytes a
 * protocol reads and writes are the plaintext).
 *
 * - TLS 1.2 only (mbedtls 2.28 has no TLS 1.3 server); ECDHE-ECDSA or
 *   ECDHE-RSA with AES-128/256-GCM or ChaCha20-Poly1305; no renegotiation,
 *   no compression, no session resumption (every connection is a full
 *   handshake).
 * - Memory: everything mbedtls allocates is on the TLS heap (net/tls_mem.h).
 *   A session's record buffers are allocated by mbedtls_ssl_setup (2.28 has
 *   no way to lend it a buffer per record: DESIGN.md "TLS"), once per slot
 *   and kept with the slot between connections (mbedtls_ssl_session_reset).
 * - Limits (config.h): CFG_TLS_SESSIONS TLS connections open at once,
 *   CFG_TLS_HANDSHAKES of them in their handshake. A connection beyond
 *   either is closed at accept (no bytes: a TLS client cannot read a plain
 *   503), counted (tls_stats) and logged once per episode. A handshake not
 *   done within the handshake timeout (tls_set_handshake_timeout) is closed
 *   and counted.
 * - Reload (tls_srv_reload, on SIGHUP): the files are read and checked
 *   again; new connections get the new certificate, connections opened
 *   before keep the one they were set up with until they close (their
 *   mbedtls_ssl_config stays until its last session lets go). Files that
 *   do not load leave the current certificate in place.
 *
 * Built with mbedtls only (CFG_WITH_TLS). Not thread-safe (one thread).
 */
#ifndef ROOST_TLS_H
#define ROOST_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "net/conn.h"

typedef struct tls_srv tls_srv;

typedef struct {
    uint64_t handshakes;          /* completed */
    uint64_t handshake_failures;  /* the peer spoke no acceptable TLS (or plain HTTP) */
    uint64_t handshake_timeouts;  /* not done within the handshake timeout */
    uint64_t refused_sessions;    /* closed at accept: CFG_TLS_SESSIONS open */
    uint64_t refused_handshakes;  /* closed at accept: CFG_TLS_HANDSHAKES in progress */
    uint64_t refused_memory;      /* closed at accept: the TLS heap had no room */
    uint64_t reloads;             /* certificates replaced by a reload */
    uint64_t reload_failures;     /* reloads that kept the old certificate */
    uint32_t sessions;            /* TLS connections open now */
    uint32_t sessions_high;
    uint32_t in_handshake;        /* handshakes in progress now */
    uint32_t in_handshake_high;
} tls_stats_t;

/* Read and check name's certificate (chain, PEM or DER) and private key:
 * both readable and parsable, the key the certificate's. ST_OK and *out, or
 * an error with the reason in err (NUL-terminated, at most cap bytes). An
 * expired certificate (or one not yet valid) loads, with a warning logged
 * that names its dates. ST_FULL when CFG_TLS_CREDS certificates are
 * loaded. name (e.g. the listener's config prefix) and both paths are kept,
 * not copied. Needs tls_mem_init. */
st_t tls_srv_load(const char *name, const char *cert_path, const char *key_path,
                  char *err, size_t cap, tls_srv **out);

/* Read the files of s again; on success new connections get them. On
 * failure (logged by the caller from err) s keeps what it had. */
st_t tls_srv_reload(tls_srv *s, char *err, size_t cap);

/* Make l speak TLS with s (before the loop accepts on it). */
void net_listener_tls(listener *l, tls_srv *s);

/* The handshake timeout of every later connection (ms, > 0). */
void tls_set_handshake_timeout(uint32_t ms);

const tls_stats_t *tls_stats(void);

/* Static RAM of net/tls.c (app/pools.def): the session slots (an
 * mbedtls_ssl_context and roost's few fields each), the loaded
 * certificates (an mbedtls_ssl_config, mbedtls_x509_crt and
 * mbedtls_pk_context each) and the per-listener records. tls.c checks its
 * statics against it. */
#define TLS_STATIC_BYTES                                                              \
    (((size_t)CFG_TLS_SESSIONS * 640u) + ((size_t)CFG_TLS_CREDS * 1024u) +           \
     ((size_t)CFG_MAX_LISTENERS * 64u) + 256u)

#endif
