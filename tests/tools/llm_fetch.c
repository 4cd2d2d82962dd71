/*
 * tests/tools/llm_fetch.c - smoke tool for the vendored HTTPS stack
 * (libcurl + c-ares + mbedtls on roost's heaps). Not part of roostd.
 *
 *   llm_fetch [options] URL
 *     --ca FILE       trust the PEM certificates in FILE: read and parsed ONCE
 *                     here, at init, into one mbedtls_x509_crt, which every
 *                     connection gets through CURLOPT_SSL_CTX_FUNCTION
 *     --ca-blob FILE  the same file through CURLOPT_CAINFO_BLOB instead
 *                     (libcurl parses it again for every connection)
 *     (neither: no trusted certificate; verification must fail)
 *     --data BODY     POST BODY (default: a minimal Anthropic Messages body)
 *     -H "Name: v"    extra request header (repeatable, up to 16)
 *     --requests N    N calls one after the other, each on a new connection
 *                     (CURLOPT_FORBID_REUSE), default 1
 *     --insecure      no peer verification (CURLOPT_SSL_VERIFYPEER 0)
 *
 * Output: the response bodies on stdout; on stderr one line per call
 *   llm_fetch: call=K http=200 curl=0 (No error) tls=TLSv1.2 suite=TLS-ECDHE-...
 * and at the end the heap statistics of out_mem ("out" and "tls": used,
 * high-water mark, allocations, failures).
 * Exit: 0 when every call ended with CURLE_OK and HTTP 2xx; 2 when a call
 * failed in libcurl (for example CURLE_PEER_FAILED_VERIFICATION = 60);
 * 3 on an HTTP status outside 2xx; 1 on bad usage or a failed init.
 *
 * Init ends with poll(NULL, 0, 0): the malloc shim (tests/shim/countmalloc.c)
 * arms itself at the first poll() of the process, so everything after it,
 * that is every connection, handshake and transfer, must stay off the C
 * heap. Creating handles, reading /etc/resolv.conf (c-ares, at handle
 * creation) and reading + parsing the CA file all happen before it, as
 * they would in roostd's init.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "config.h"
#include "out/mem.h"

#define MAX_HEADERS 16
#define CA_FILE_MAX (4u * 1024u * 1024u)
#define MAX_CALLS 64

static char ca_text[CA_FILE_MAX + 1u];   /* the PEM file, NUL-terminated */
static size_t ca_len;
static mbedtls_x509_crt ca_chain;        /* parsed once, at init */
static bool use_ca_chain;
static char line[512];

/* What the write callback saw of the TLS session of the current call. */
static const char *tls_version = "-";
static const char *tls_suite = "-";
static bool tls_seen;

static void err_line(const char *s)
{
    size_t n = strlen(s);
    while (n > 0u) {
        ssize_t w = write(2, s, n);
        if (w <= 0) {
            return;
        }
        s += w;
        n -= (size_t)w;
    }
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *user)
{
    CURL *easy = user;
    size_t n = size * nmemb;
    if (!tls_seen) {
        struct curl_tlssessioninfo *info = NULL;
        tls_seen = true;
        if (curl_easy_getinfo(easy, CURLINFO_TLS_SSL_PTR, &info) == CURLE_OK && info != NULL &&
            info->backend == CURLSSLBACKEND_MBEDTLS && info->internals != NULL) {
            const mbedtls_ssl_context *ssl = info->internals;
            tls_version = mbedtls_ssl_get_version(ssl);
            tls_suite = mbedtls_ssl_get_ciphersuite(ssl);
        }
    }
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(1, ptr + done, n - done);
        if (w <= 0) {
            return 0;
        }
        done += (size_t)w;
    }
    return n;
}

/* CURLOPT_SSL_CTX_FUNCTION: libcurl calls this for every new TLS connection
 * after its own set-up and before the handshake; ssl_ctx is the
 * connection's mbedtls_ssl_config. The chain parsed at init replaces the
 * (empty) one libcurl set: nothing is read or parsed per connection. */
static CURLcode on_ssl_ctx(CURL *easy, void *ssl_ctx, void *user)
{
    mbedtls_ssl_config *conf = ssl_ctx;
    (void)easy;
    (void)user;
    if (use_ca_chain) {
        mbedtls_ssl_conf_ca_chain(conf, &ca_chain, NULL);
    }
    /* libcurl sets a lax profile (SHA-1 signatures, RSA 1024); roost wants
     * mbedtls' default: SHA-256 or better, RSA >= 2048. */
    mbedtls_ssl_conf_cert_profile(conf, &mbedtls_x509_crt_profile_default);
    /* TLS 1.2 only (the library has nothing older compiled in either). */
    mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    return CURLE_OK;
}

static bool read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return false;
    }
    ca_len = fread(ca_text, 1, CA_FILE_MAX, f);
    bool ok = ferror(f) == 0 && feof(f) != 0;
    fclose(f);
    ca_text[ca_len] = '\0';
    return ok;
}

static void print_heap(const char *name, const heap_stats_t *s)
{
    snprintf(line, sizeof line,
             "llm_fetch: heap=%s bytes=%zu used=%zu high=%zu allocs=%llu frees=%llu fails=%llu\n",
             name, s->bytes, s->used, s->high, (unsigned long long)s->allocs,
             (unsigned long long)s->frees, (unsigned long long)s->fails);
    err_line(line);
}

int main(int argc, char **argv)
{
    const char *url = NULL;
    const char *ca_path = NULL;
    bool ca_blob = false;
    bool insecure = false;
    const char *data = "{\"model\":\"smoke\",\"max_tokens\":16,\"stream\":true,"
                       "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    const char *headers[MAX_HEADERS];
    int n_headers = 0;
    int calls = 1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (strcmp(a, "--ca") == 0 && has) {
            ca_path = argv[++i];
            ca_blob = false;
        } else if (strcmp(a, "--ca-blob") == 0 && has) {
            ca_path = argv[++i];
            ca_blob = true;
        } else if (strcmp(a, "--data") == 0 && has) {
            data = argv[++i];
        } else if (strcmp(a, "-H") == 0 && has && n_headers < MAX_HEADERS) {
            headers[n_headers++] = argv[++i];
        } else if (strcmp(a, "--requests") == 0 && has) {
            calls = atoi(argv[++i]);
        } else if (strcmp(a, "--insecure") == 0) {
            insecure = true;
        } else if (a[0] != '-' && url == NULL) {
            url = a;
        } else {
            err_line("usage: llm_fetch [--ca FILE | --ca-blob FILE] [--data BODY] [-H h]... "
                     "[--requests N] [--insecure] URL\n");
            return 1;
        }
    }
    if (url == NULL || calls < 1 || calls > MAX_CALLS) {
        err_line("llm_fetch: need a URL (and 1 <= --requests <= 64)\n");
        return 1;
    }

    /* ---- init: everything that may use the C heap happens here ---------- */
    if (out_mem_init() != ST_OK) {
        err_line("llm_fetch: out_mem_init failed\n");
        return 1;
    }
    if (ca_path != NULL) {
        if (!read_file(ca_path)) {
            err_line("llm_fetch: cannot read the CA file\n");
            return 1;
        }
        if (!ca_blob) {
            mbedtls_x509_crt_init(&ca_chain);
            /* The length includes the NUL: that is how mbedtls knows PEM. */
            int rc = mbedtls_x509_crt_parse(&ca_chain, (const unsigned char *)ca_text, ca_len + 1u);
            if (rc < 0) {
                snprintf(line, sizeof line, "llm_fetch: CA parse failed: -0x%04x\n",
                         (unsigned)-rc);
                err_line(line);
                return 1;
            }
            snprintf(line, sizeof line, "llm_fetch: CA bundle parsed once: %d skipped\n", rc);
            err_line(line);
            use_ca_chain = true;
        }
    }
    CURLM *multi = curl_multi_init();
    CURL *easy = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    for (int i = 0; i < n_headers; i++) {
        hdrs = curl_slist_append(hdrs, headers[i]);
    }
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    if (multi == NULL || easy == NULL || hdrs == NULL) {
        err_line("llm_fetch: handle creation failed\n");
        return 1;
    }
    struct curl_blob blob = { ca_text, ca_len, CURL_BLOB_NOCOPY };
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, data);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, easy);
    curl_easy_setopt(easy, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(easy, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
    curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 20000L);
    if (ca_path != NULL && ca_blob) {
        curl_easy_setopt(easy, CURLOPT_CAINFO_BLOB, &blob);
    }
    if (insecure) {
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    print_heap("out", &out_mem_stats()->out);
    print_heap("tls", &out_mem_stats()->tls);
    err_line("llm_fetch: init done\n");
    /* The end of init: the malloc shim arms here. */
    (void)poll(NULL, 0, 0);

    /* ---- the calls --------------------------------------------------------- */
    int exit_code = 0;
    for (int k = 1; k <= calls; k++) {
        tls_seen = false;
        tls_version = "-";
        tls_suite = "-";
        if (curl_multi_add_handle(multi, easy) != CURLM_OK) {
            err_line("llm_fetch: curl_multi_add_handle failed\n");
            return 1;
        }
        int running = 1;
        CURLcode result = CURLE_OK;
        while (running > 0) {
            if (curl_multi_perform(multi, &running) != CURLM_OK) {
                break;
            }
            if (running > 0) {
                (void)curl_multi_poll(multi, NULL, 0, 1000, NULL);
            }
        }
        int left = 0;
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
            if (msg->msg == CURLMSG_DONE) {
                result = msg->data.result;
            }
        }
        long http = 0;
        (void)curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &http);
        (void)curl_multi_remove_handle(multi, easy);
        snprintf(line, sizeof line, "\nllm_fetch: call=%d http=%ld curl=%d (%s) tls=%s suite=%s\n",
                 k, http, (int)result, curl_easy_strerror(result), tls_version, tls_suite);
        err_line(line);
        const out_mem_stats_t *st = out_mem_stats();
        snprintf(line, sizeof line, "llm_fetch: after call=%d out.used=%zu tls.used=%zu "
                 "tls.allocs=%llu\n", k, st->out.used, st->tls.used,
                 (unsigned long long)st->tls.allocs);
        err_line(line);
        if (result != CURLE_OK) {
            exit_code = 2;
        } else if ((http < 200 || http > 299) && exit_code == 0) {
            exit_code = 3;
        }
    }

    curl_easy_cleanup(easy);
    curl_multi_cleanup(multi);
    curl_slist_free_all(hdrs);
    print_heap("out", &out_mem_stats()->out);
    print_heap("tls", &out_mem_stats()->tls);
    return exit_code;
}
