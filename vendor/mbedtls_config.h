/*
 * vendor/mbedtls_config.h - the mbedtls 2.28 options of roost.
 *
 * vendor.mk installs this file as build/vendor/include/mbedtls/config.h (and
 * into the unpacked source tree before compiling the library), replacing
 * upstream's default: every translation unit that includes an mbedtls header
 * (the library, libcurl's vtls/mbedtls.c, src/out/, tests/tools/) then sees
 * exactly these options. A -DMBEDTLS_CONFIG_FILE on some compile lines could
 * be forgotten on one, and a struct that differs between two objects is
 * silent memory corruption.
 *
 * What mbedtls is for here: libcurl's TLS 1.2 client to the LLM providers,
 * and the TLS 1.2 server of the listeners that have a certificate
 * (src/net/tls.c). One thread, no sockets, no files, no OS entropy or clock
 * of its own: memory comes from one roost heap, entropy and time from port/
 * (src/net/tls_mem.c hands them over in tls_mem_init). Anything else is off.
 * After a change: `nm build/vendor/lib/libmbed*.a` must still show no
 * malloc/calloc/free/fopen/time/gmtime_r (vendor.mk checks it).
 */
#ifndef ROOST_MBEDTLS_CONFIG_H
#define ROOST_MBEDTLS_CONFIG_H

/* ---- system ------------------------------------------------------------- */

/* Assembly bignum multiply (x86-64, aarch64): the handshake's ECDHE and
 * signature checks are most of the CPU a call costs on a Pi. */
#define MBEDTLS_HAVE_ASM
/* Time is needed to reject expired certificates (X.509 validity). */
#define MBEDTLS_HAVE_TIME
#define MBEDTLS_HAVE_TIME_DATE
/* ...and comes from port_wall_us through mbedtls_platform_set_time() (set in
 * out_mem_init): before that, time is 0 and every certificate looks not yet
 * valid, so a missed init fails closed. */
#define MBEDTLS_PLATFORM_TIME_ALT
/* UTC calendar conversion in vendor/mbedtls_platform.c (pure arithmetic):
 * glibc's gmtime_r reads /etc/localtime on its first call (malloc + fopen),
 * which would be the first certificate check after init. */
#define MBEDTLS_PLATFORM_GMTIME_R_ALT

/* The platform layer: mbedtls_calloc/free are function pointers set at run
 * time (mbedtls_platform_set_calloc_free, to a roost heap_t over
 * CFG_TLS_HEAP_BYTES of static storage; see src/out/mem.c). */
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_PLATFORM_MEMORY
/* No default to the C library: until out_mem_init every mbedtls allocation
 * fails (platform.c's "uninit" stubs) instead of quietly using the system
 * heap, and the library does not even reference calloc/free. */
#define MBEDTLS_PLATFORM_NO_STD_FUNCTIONS
/* ...which leaves snprintf to name (formatting only, no allocation; used
 * by mbedtls_strerror and the X.509 info texts). */
#define MBEDTLS_PLATFORM_SNPRINTF_MACRO snprintf
#include <stdio.h>

/* Entropy: no /dev/urandom or getrandom of mbedtls' own
 * (MBEDTLS_NO_PLATFORM_ENTROPY); its one source is mbedtls_hardware_poll,
 * which roost implements with port_entropy (the OS CSPRNG) in
 * src/out/mem.c. */
#define MBEDTLS_NO_PLATFORM_ENTROPY
#define MBEDTLS_ENTROPY_HARDWARE_ALT
#define MBEDTLS_ENTROPY_C
/* The DRBG libcurl seeds per connection from the entropy pool. */
#define MBEDTLS_CTR_DRBG_C

/* Error texts for mbedtls_strerror: libcurl puts them in its error buffer,
 * which is what the logs show when a handshake fails. */
#define MBEDTLS_ERROR_C

/* ---- public-key crypto --------------------------------------------------- */

#define MBEDTLS_BIGNUM_C
/* ECDHE key exchange and ECDSA certificates. */
#define MBEDTLS_ECP_C
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECDSA_C
/* P-256 and P-384: the curves of provider and CA certificates (and ECDHE
 * groups); X25519: the ECDHE group most servers prefer. Others (P-521,
 * Brainpool, secp256k1) are off: a CA root on them simply fails to parse
 * and is skipped. */
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_DP_SECP384R1_ENABLED
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED
/* Faster modular reduction for the NIST curves (a little more code). */
#define MBEDTLS_ECP_NIST_OPTIM
/* Precomputed tables of the NIST curves' base points in ROM (about 30 KiB
 * of code, no RAM): the multiplications by G of every server handshake
 * (the ECDSA signature, the P-256 ECDHE key) take a fraction of the time. */
#define MBEDTLS_ECP_FIXED_POINT_OPTIM 1
/* RSA certificates (most CA roots and many providers) with PKCS#1 v1.5
 * signatures, the only kind TLS 1.2 uses. (RSASSA-PSS certificates are not
 * used by public CAs; PKCS1_V21 stays off.) */
#define MBEDTLS_RSA_C
#define MBEDTLS_PKCS1_V15
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
/* libcurl's CURLOPT_PINNEDPUBLICKEY code calls mbedtls_pk_write_pubkey_der;
 * without it libcurl does not link. */
#define MBEDTLS_PK_WRITE_C
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_OID_C

/* ---- symmetric crypto and hashes ----------------------------------------- */

/* AES-GCM and ChaCha20-Poly1305: the record ciphers of the suites below. */
#define MBEDTLS_CIPHER_C
#define MBEDTLS_AES_C
/* AES tables as constants (.rodata) instead of generated into RAM at first
 * use. */
#define MBEDTLS_AES_ROM_TABLES
/* AES-NI where the CPU has it (checked at run time; x86-64 only). */
#define MBEDTLS_AESNI_C
#define MBEDTLS_GCM_C
#define MBEDTLS_CHACHA20_C
#define MBEDTLS_POLY1305_C
#define MBEDTLS_CHACHAPOLY_C
/* SHA-256 and SHA-384 (SHA512_C): the suites' PRF and the certificate
 * signature hashes; SHA-512 also feeds the entropy pool. No MD5. */
#define MBEDTLS_MD_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA512_C
/* SHA-1 only so that the 30 roots of Debian's bundle that are self-signed
 * with sha1WithRSAEncryption (DigiCert Global Root CA, GlobalSign Root CA,
 * ...) parse at all; a root's own signature is never checked. SHA-1 is not
 * offered in the handshake (no MBEDTLS_TLS_DEFAULT_ALLOW_SHA1_IN_KEY_EXCHANGE),
 * and roost's CURLOPT_SSL_CTX_FUNCTION sets mbedtls_x509_crt_profile_default
 * (SHA-256 or better, RSA >= 2048) over libcurl's laxer profile, so a
 * SHA-1-signed certificate in a chain still fails. */
#define MBEDTLS_SHA1_C

/* ---- X.509 ---------------------------------------------------------------- */

/* Certificates, and PEM CA bundles such as Debian's
 * /etc/ssl/certs/ca-certificates.crt (parsed once at init from memory with
 * mbedtls_x509_crt_parse; no MBEDTLS_FS_IO, so mbedtls never opens a file). */
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C
#define MBEDTLS_PEM_PARSE_C
#define MBEDTLS_BASE64_C
/* Honour keyUsage and extendedKeyUsage (serverAuth) of the chain. */
#define MBEDTLS_X509_CHECK_KEY_USAGE
#define MBEDTLS_X509_CHECK_EXTENDED_KEY_USAGE

/* ---- TLS ------------------------------------------------------------------ */

/* A TLS 1.2 client and server. No DTLS, no SSL 3.0 / TLS 1.0 / 1.1; 2.28
 * has no TLS 1.3 server (its 1.3 code is an experimental client), so the
 * listeners speak TLS 1.2 only. */
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_SRV_C
#define MBEDTLS_SSL_PROTO_TLS1_2
/* The key exchanges of the suites below. */
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED
#define MBEDTLS_KEY_EXCHANGE_ECDHE_RSA_ENABLED
/* Exactly the suites real providers negotiate (forward secrecy, AEAD),
 * strongest first. */
#define MBEDTLS_SSL_CIPHERSUITES \
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, \
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, \
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, \
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, \
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, \
    MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
/* SNI: providers sit behind shared front ends that pick the certificate by
 * it. The same name is checked against the certificate (hostname
 * verification is done by mbedtls_ssl_set_hostname's name in the chain
 * check, which libcurl always sets). */
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
/* ALPN "http/1.1": libcurl offers it; some front ends expect it. */
#define MBEDTLS_SSL_ALPN
/* RFC 7627 extended master secret (defeats the triple-handshake attack). */
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET
/* Send alerts for every failure (a server's logs can tell why). */
#define MBEDTLS_SSL_ALL_ALERT_MESSAGES
/* Records (both sides): a peer may send full 16 KiB records (few honour the
 * max_fragment_length extension), so the input buffer keeps the maximum.
 * Our own records are at most 4 KiB: a request body just takes more
 * records, and each connection holds 12 KiB less of the TLS heap. */
#define MBEDTLS_SSL_IN_CONTENT_LEN 16384
#define MBEDTLS_SSL_OUT_CONTENT_LEN 4096
/* Off on purpose (each would be one more line above):
 * MBEDTLS_SSL_KEEP_PEER_CERTIFICATE: the peer's chain is checked during the
 *   handshake; keeping the parsed copy for the whole call costs a few KiB
 *   per connection (CURLOPT_PINNEDPUBLICKEY then cannot be used).
 * MBEDTLS_SSL_SESSION_TICKETS, MBEDTLS_SSL_RENEGOTIATION: libcurl turns
 *   both off at run time anyway; the server has neither (every connection
 *   is a full handshake, and a renegotiation request is refused), nor a
 *   session cache (MBEDTLS_SSL_CACHE_C).
 * MBEDTLS_ZLIB_SUPPORT: no TLS compression (CRIME), client or server.
 * MBEDTLS_NET_C, MBEDTLS_TIMING_C, MBEDTLS_FS_IO, MBEDTLS_THREADING_C,
 *   MBEDTLS_DEBUG_C, MBEDTLS_SELF_TEST, MBEDTLS_PSA_CRYPTO_C,
 *   MBEDTLS_MEMORY_BUFFER_ALLOC_C (the heap is roost's heap_t: O(1) per call
 *   where the buffer allocator walks a list that holds the whole parsed CA
 *   bundle, and its statistics are the same as the other heaps'). */

#include "mbedtls/check_config.h"

#endif /* ROOST_MBEDTLS_CONFIG_H */
