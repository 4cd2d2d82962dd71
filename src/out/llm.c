/*
 * llm.c - LLM calls in the poll loop, streaming or whole (see llm.h).
 *
 * Implementation notes:
 * - curl's multi socket API: sock_cb registers curl's sockets with the
 *   loop (net_watch), timer_cb arms one core/timer; both hand control back
 *   with curl_multi_socket_action, after which finished transfers are
 *   collected (collect()).
 * - Each slot owns one easy handle for its whole life (curl_easy_reset
 *   between calls keeps its connection cache and TLS session), its SSE
 *   parser and buffers. CURLINFO_PRIVATE points back at the slot.
 * - The write callback: a non-200 status captures up to ERR_BYTES of the
 *   body for the error message; a 200 feeds the SSE parser, whose events
 *   are decoded and delivered. A decoding error or a provider error event
 *   aborts the transfer (the write callback returns 0) after recording why.
 *   A whole call's 200 body is copied into sse_buf instead (the parser is
 *   not used) and decoded by finish() once curl reports the transfer done;
 *   while its text is with the sink the slot is SLOT_DELIVERING, so that a
 *   cancel from on_text ends the call without on_end and pause/resume do
 *   nothing.
 * - First byte: a per-slot timer armed at start, disarmed by the header
 *   callback. Idle: CURLOPT_LOW_SPEED_LIMIT 1 byte/s over idle_ms.
 * - TLS: the CA bundle is parsed once at init into one mbedtls_x509_crt;
 *   CURLOPT_SSL_CTX_FUNCTION hands it to every new connection (curl 7.88
 *   would otherwise re-read and re-parse CURLOPT_CAINFO per connection) and
 *   tightens curl's certificate profile to mbedtls' default (no SHA-1
 *   signatures, RSA >= 2048). The file is read into a TLS-heap buffer that
 *   is freed once parsed.
 * - Easy handles are made at init (each reads /etc/resolv.conf for its
 *   c-ares channel), never at call time, so nothing reaches the C library's
 *   allocator after init.
 */
#include "out/llm.h"

#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <mbedtls/platform.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "core/assert.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/timer.h"
#include "net/conn.h"
#include "out/sse_in.h"
#include "port.h"

#define ERR_BYTES 4096u
#define HDR_BYTES 1024u

typedef enum { SLOT_FREE = 0, SLOT_RUNNING, SLOT_DELIVERING, SLOT_ENDING } slot_state;

struct llm_call {
    CURL *easy;
    slot_state state;
    bool paused;
    bool failed;                /* result decided inside a callback */
    bool starved;               /* a socket found no watch slot: ends soon */
    bool whole;                 /* one JSON reply, collected in sse_buf */
    llm_kind kind;
    const llm_sink *sink;
    void *ctx;
    timer_id first_byte;
    long status;
    struct curl_slist *hdrs;
    sse_in sse;
    llm_result res;
    size_t err_len;
    size_t body_len;            /* a whole call: bytes of its reply buffer used */
    char *reply;                /* a whole call: where the body goes (sse_buf
                                 * or the caller's) and its room */
    size_t reply_cap;
    char *text;                 /* ... and where its text is decoded (g_text
                                 * or the caller's) */
    size_t text_cap;
    char err[ERR_BYTES];
    char hdr_buf[HDR_BYTES];
    char sse_buf[CFG_LLM_SSE_BYTES];
};

static llm_call g_slots[CFG_LLM_SLOTS];
/* One decoded-text buffer for every slot: an event is decoded and handed to
 * its sink (which copies it) before any other event is decoded. A decoded
 * text is never longer than its JSON, so it holds a whole reply's text
 * (one on_text). */
static char g_text[CFG_LLM_SSE_BYTES];
_Static_assert((sizeof g_slots + sizeof g_text) <= LLM_STATIC_BYTES,
               "LLM_STATIC_BYTES is the plan of this module");
static CURLM *g_multi;
static timer_id g_timer = TIMER_NONE;
static timer_id g_reap = TIMER_NONE;
/* A timer curl asked for (or the reaper) that could not be started: owed,
 * retried at every socket event, first-byte timeout and start (config.h's
 * CFG_TIMER_USERS counts this module's timers, so this needs a bug or an
 * injected fault). Until then curl's timeouts are late, not lost: every
 * call before its first byte still ends at its own first-byte timeout. */
static bool g_timer_owed;
static uint64_t g_timer_owed_due;
static bool g_reap_owed;
static void retry_timers(void);
static llm_stats_t g_stats;
static mbedtls_x509_crt g_ca;
static bool g_ca_ok;

const llm_stats_t *llm_stats(void)
{
    return &g_stats;
}

/* ---- ending ----------------------------------------------------------------- */

/* detail = prefix + text (cut to fit) */
static void detail(llm_call *c, const char *prefix, const char *text)
{
    (void)snprintf(c->res.detail, sizeof c->res.detail, "%s%.400s", prefix, text);
}

static void release(llm_call *c)
{
    if (c->first_byte != TIMER_NONE) {
        timer_cancel(c->first_byte);
        c->first_byte = TIMER_NONE;
    }
    (void)curl_multi_remove_handle(g_multi, c->easy);
    if (c->hdrs != NULL) {
        curl_slist_free_all(c->hdrs);
        c->hdrs = NULL;
    }
    c->state = SLOT_FREE;
    g_stats.slots_used--;
}

/* A whole call's complete 200 reply: decode it, hand its text to the sink.
 * False when the sink cancelled the call from on_text (the slot is no
 * longer this call's). */
static bool whole_reply(llm_call *c)
{
    llm_result *r = &c->res;
    llm_event ev;
    st_t st = llm_wire_decode_whole(c->kind, (strv){ c->reply, c->body_len }, c->text,
                                    c->text_cap, &ev);
    if (st != ST_OK) {
        r->st = (st == ST_IO) ? ST_IO : ST_BAD;
        (void)snprintf(r->detail, sizeof r->detail, "%s", ev.detail);
        return true;
    }
    r->st = ST_OK;
    r->has_usage = ev.has_input_tokens || ev.has_output_tokens;
    r->input_tokens = ev.input_tokens;
    r->output_tokens = ev.output_tokens;
    r->has_cache_creation = ev.has_cache_creation;
    r->cache_creation_input_tokens = ev.cache_creation_input_tokens;
    r->has_cache_read = ev.has_cache_read;
    r->cache_read_input_tokens = ev.cache_read_input_tokens;
    (void)snprintf(r->stop_reason, sizeof r->stop_reason, "%s", ev.stop_reason);
    if (ev.text.n > 0u) {
        r->got_text = true;
        c->state = SLOT_DELIVERING;
        (void)c->sink->on_text(c->ctx, ev.text);   /* nothing left to pause */
        if (c->state != SLOT_DELIVERING) {
            return false;
        }
    }
    return true;
}

/* A finished transfer: decide its result and tell the sink. */
static void finish(llm_call *c, CURLcode rc)
{
    llm_result *r = &c->res;
    const llm_sink *sink = c->sink;
    void *ctx = c->ctx;
    r->http_status = (int)c->status;
    if (c->failed) {
        /* decided in a callback: r->st and detail already set */
    } else if (rc == CURLE_OK) {
        if (c->status != 200) {
            char msg[400];
            (void)llm_wire_error_message((strv){ c->err, c->err_len }, msg, sizeof msg);
            r->st = ST_HTTP;
            (void)snprintf(r->detail, sizeof r->detail, "HTTP %ld: %s", c->status, msg);
        } else if (c->whole) {
            if (!whole_reply(c)) {
                return;    /* cancelled by its sink */
            }
        } else if (!sse_in_idle(&c->sse)) {
            r->st = ST_IO;
            detail(c, "stream error: ", "the stream ended mid-event");
        } else {
            r->st = ST_OK;
        }
    } else if ((rc == CURLE_OPERATION_TIMEDOUT) && (c->status == 0)) {
        r->st = ST_TIMEOUT;
        detail(c, "connect error: ", curl_easy_strerror(rc));
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        r->st = ST_TIMEOUT;
        detail(c, "stream error: ", curl_easy_strerror(rc));
    } else if (c->status == 0) {
        r->st = ST_IO;
        detail(c, "connect error: ", curl_easy_strerror(rc));
    } else {
        r->st = ST_IO;
        detail(c, "stream error: ", curl_easy_strerror(rc));
    }
    if (r->st == ST_OK) {
        g_stats.completed++;
    } else {
        g_stats.failed++;
    }
    c->state = SLOT_ENDING;
    release(c);
    sink->on_end(ctx, r);
}

static void collect(void)
{
    CURLMsg *m;
    int left = 0;
    while ((m = curl_multi_info_read(g_multi, &left)) != NULL) {
        if (m->msg == CURLMSG_DONE) {
            llm_call *c = NULL;
            (void)curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
            if ((c != NULL) && (c->state == SLOT_RUNNING)) {
                (void)curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &c->status);
                finish(c, m->data.result);
            }
        }
    }
}

/* ---- the loop's side of curl ------------------------------------------------- */

static void on_socket(void *ctx, port_sock s, uint32_t got)
{
    int flags = 0;
    int running = 0;
    (void)ctx;
    if ((got & PORT_EV_IN) != 0u) {
        flags |= CURL_CSELECT_IN;
    }
    if ((got & PORT_EV_OUT) != 0u) {
        flags |= CURL_CSELECT_OUT;
    }
    if ((got & PORT_EV_ERR) != 0u) {
        flags |= CURL_CSELECT_ERR;
    }
    (void)curl_multi_socket_action(g_multi, (curl_socket_t)s, flags, &running);
    collect();
    retry_timers();
}

static void on_timer(void *arg);
static void reap_starved(void *arg);

static void retry_timers(void)
{
    if (g_timer_owed && (g_timer == TIMER_NONE)) {
        uint64_t now = clock_mono_ms();
        uint64_t delay = (g_timer_owed_due > now) ? (g_timer_owed_due - now) : 0u;
        g_timer = timer_start(delay, on_timer, NULL);
        g_timer_owed = (g_timer == TIMER_NONE);
    }
    if (g_reap_owed && (g_reap == TIMER_NONE)) {
        g_reap = timer_start(0u, reap_starved, NULL);
        g_reap_owed = (g_reap == TIMER_NONE);
    }
}

/* End the calls whose socket could not be watched (see sock_cb). */
static void reap_starved(void *arg)
{
    size_t i;
    (void)arg;
    g_reap = TIMER_NONE;
    for (i = 0u; i < (size_t)CFG_LLM_SLOTS; i++) {
        llm_call *c = &g_slots[i];
        if ((c->state == SLOT_RUNNING) && c->starved) {
            finish(c, CURLE_ABORTED_BY_CALLBACK);
        }
    }
}

static int sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    uint32_t want = 0u;
    (void)userp;
    (void)socketp;
    if ((what == CURL_POLL_IN) || (what == CURL_POLL_INOUT)) {
        want |= PORT_EV_IN;
    }
    if ((what == CURL_POLL_OUT) || (what == CURL_POLL_INOUT)) {
        want |= PORT_EV_OUT;
    }
    if (what == CURL_POLL_REMOVE) {
        net_unwatch((port_sock)s);
    } else if (net_watch((port_sock)s, want, on_socket, NULL) != ST_OK) {
        /* Not -1: curl 7.88 would abort every transfer of the multi handle.
         * This call alone fails, from a timer (not inside curl). config.h
         * sizes the watches so this does not happen. */
        llm_call *c = NULL;
        LOG_E("llm", "cannot watch socket %d: all %u watch slots busy", (int)s,
              (unsigned)CFG_NET_WATCHES);
        (void)curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&c);
        if ((c != NULL) && (c->state == SLOT_RUNNING) && !c->starved) {
            c->starved = true;
            c->failed = true;
            c->res.st = ST_IO;
            detail(c, "connect error: ", "no socket watch slot free");
            if (g_reap == TIMER_NONE) {
                g_reap = timer_start(0u, reap_starved, NULL);
                g_reap_owed = (g_reap == TIMER_NONE);
            }
        }
    } else {
        /* watched */
    }
    return 0;
}

static void on_timer(void *arg)
{
    int running = 0;
    (void)arg;
    g_timer = TIMER_NONE;
    (void)curl_multi_socket_action(g_multi, CURL_SOCKET_TIMEOUT, 0, &running);
    collect();
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
    (void)m;
    (void)userp;
    if (g_timer != TIMER_NONE) {
        timer_cancel(g_timer);
        g_timer = TIMER_NONE;
    }
    g_timer_owed = false;
    if (timeout_ms >= 0) {
        g_timer = timer_start((uint64_t)timeout_ms, on_timer, NULL);
        if (g_timer == TIMER_NONE) {
            /* Not -1: curl 7.88 would mark the multi handle dead. */
            LOG_W("llm", "no timer free for curl's timeout: retried at the next event");
            g_timer_owed = true;
            g_timer_owed_due = clock_mono_ms() + (uint64_t)timeout_ms;
        }
    }
    return 0;
}

/* ---- a call's callbacks ------------------------------------------------------- */

static void on_first_byte_timeout(void *arg)
{
    llm_call *c = (llm_call *)arg;
    c->first_byte = TIMER_NONE;
    if (c->state == SLOT_RUNNING) {
        c->failed = true;
        c->res.st = ST_TIMEOUT;
        detail(c, "connect error: ", "no response in time");
        (void)curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &c->status);
        finish(c, CURLE_OPERATION_TIMEDOUT);
    }
    retry_timers();
}

static size_t header_cb(char *p, size_t size, size_t n, void *userp)
{
    llm_call *c = (llm_call *)userp;
    (void)p;
    if (c->first_byte != TIMER_NONE) {
        timer_cancel(c->first_byte);
        c->first_byte = TIMER_NONE;
    }
    return size * n;
}

/* One SSE event of a 200 reply. */
static st_t on_event(void *ctx, strv event, strv data)
{
    llm_call *c = (llm_call *)ctx;
    llm_event ev;
    st_t st = llm_wire_decode(c->kind, event, data, g_text, sizeof g_text, &ev);
    if (st != ST_OK) {
        c->failed = true;
        c->res.st = (st == ST_IO) ? ST_IO : ST_BAD;
        (void)snprintf(c->res.detail, sizeof c->res.detail, "%s", ev.detail);
        return st;
    }
    if (ev.has_input_tokens || ev.has_output_tokens) {
        c->res.has_usage = true;
        if (ev.has_input_tokens) {
            c->res.input_tokens = ev.input_tokens;
        }
        if (ev.has_output_tokens) {
            c->res.output_tokens = ev.output_tokens;
        }
    }
    if (ev.has_cache_creation) {
        c->res.has_cache_creation = true;
        c->res.cache_creation_input_tokens = ev.cache_creation_input_tokens;
    }
    if (ev.has_cache_read) {
        c->res.has_cache_read = true;
        c->res.cache_read_input_tokens = ev.cache_read_input_tokens;
    }
    if (ev.stop_reason[0] != '\0') {
        (void)snprintf(c->res.stop_reason, sizeof c->res.stop_reason, "%s", ev.stop_reason);
    }
    if (ev.text.n > 0u) {
        c->res.got_text = true;
        if (!c->sink->on_text(c->ctx, ev.text)) {
            c->paused = true;
        }
    }
    return ST_OK;
}

static size_t write_cb(char *p, size_t size, size_t n, void *userp)
{
    llm_call *c = (llm_call *)userp;
    size_t len = size * n;
    if (c->paused) {
        return CURL_WRITEFUNC_PAUSE;    /* the same bytes come again on resume */
    }
    if (c->status == 0) {
        (void)curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &c->status);
    }
    if (c->status != 200) {
        size_t room = sizeof c->err - c->err_len;
        size_t k = (len < room) ? len : room;
        (void)memcpy(c->err + c->err_len, p, k);
        c->err_len += k;
        return len;
    }
    if (c->whole) {
        if (len > (c->reply_cap - c->body_len)) {
            if (!c->failed) {
                c->failed = true;
                c->res.st = ST_TOOBIG;
                (void)snprintf(c->res.detail, sizeof c->res.detail,
                               "stream error: a reply larger than its %u-byte buffer%s",
                               (unsigned)c->reply_cap,
                               (c->reply == c->sse_buf) ? " (CFG_LLM_SSE_BYTES)" : "");
            }
            return 0;    /* abort the transfer */
        }
        (void)memcpy(&c->reply[c->body_len], p, len);
        c->body_len += len;
        return len;
    }
    if (sse_in_feed(&c->sse, p, len) != ST_OK) {
        if (!c->failed) {
            c->failed = true;
            c->res.st = ST_TOOBIG;
            detail(c, "stream error: ", "an event larger than the parser's buffer");
        }
        return 0;    /* abort the transfer */
    }
    return len;
}

/* ---- public ------------------------------------------------------------------- */

/* CURLOPT_SSL_CTX_FUNCTION: every new TLS connection, after curl's own
 * set-up and before the handshake. */
static CURLcode on_ssl_ctx(CURL *easy, void *ssl_ctx, void *userp)
{
    mbedtls_ssl_config *conf = (mbedtls_ssl_config *)ssl_ctx;
    (void)easy;
    (void)userp;
    if (g_ca_ok) {
        mbedtls_ssl_conf_ca_chain(conf, &g_ca, NULL);
    }
    mbedtls_ssl_conf_cert_profile(conf, &mbedtls_x509_crt_profile_default);
    mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    return CURLE_OK;
}

static st_t ca_load(const char *ca_file)
{
    size_t n = 0u;
    int rc;
    st_t st;
    char *buf = (char *)mbedtls_calloc(1u, (size_t)CFG_LLM_CA_FILE_BYTES + 1u);
    if (buf == NULL) {
        return ST_NOMEM;
    }
    st = port_file_read(ca_file, buf, CFG_LLM_CA_FILE_BYTES, &n);
    if (st == ST_OK) {
        buf[n] = '\0';
        mbedtls_x509_crt_init(&g_ca);
        /* the length includes the NUL: that is how mbedtls knows PEM */
        rc = mbedtls_x509_crt_parse(&g_ca, (const unsigned char *)buf, n + 1u);
        if (rc < 0) {
            LOG_W("llm", "CA bundle %s: nothing parsed (mbedtls -0x%04x)", ca_file,
                  (unsigned)-rc);
            mbedtls_x509_crt_free(&g_ca);
            st = ST_BAD;
        } else {
            g_ca_ok = true;
            if (rc > 0) {
                LOG_I("llm", "CA bundle %s: %d certificate(s) skipped", ca_file, rc);
            }
        }
    }
    mbedtls_free(buf);
    return st;
}

st_t llm_init(const char *ca_file)
{
    size_t i;
    g_multi = curl_multi_init();
    if (g_multi == NULL) {
        return ST_NOMEM;
    }
    (void)curl_multi_setopt(g_multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    (void)curl_multi_setopt(g_multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    for (i = 0u; i < (size_t)CFG_LLM_SLOTS; i++) {
        g_slots[i].first_byte = TIMER_NONE;
        g_slots[i].easy = curl_easy_init();
        if (g_slots[i].easy == NULL) {
            return ST_NOMEM;
        }
    }
    return ca_load(ca_file);
}

static st_t start(const llm_target *t, bool whole, const char *body, size_t n,
                  const llm_sink *sink, void *ctx, llm_call **out, char *reply, size_t cap)
{
    llm_call *c = NULL;
    llm_header h[LLM_WIRE_MAX_HEADERS];
    size_t nh = 0u;
    size_t i;
    st_t st;
    for (i = 0u; (c == NULL) && (i < (size_t)CFG_LLM_SLOTS); i++) {
        if (g_slots[i].state == SLOT_FREE) {
            c = &g_slots[i];
        }
    }
    if (c == NULL) {
        g_stats.slot_waits++;
        return ST_FULL;
    }
    st = llm_wire_headers(t->kind, t->key, c->hdr_buf, sizeof c->hdr_buf, h, &nh);
    if (st != ST_OK) {
        return st;
    }
    (void)memset(&c->res, 0, sizeof c->res);
    c->kind = t->kind;
    c->sink = sink;
    c->ctx = ctx;
    c->status = 0;
    c->err_len = 0u;
    c->body_len = 0u;
    c->whole = whole;
    if ((reply != NULL) && (cap >= 2u)) {
        c->reply = reply;
        c->reply_cap = cap / 2u;
        c->text = &reply[cap / 2u];
        c->text_cap = cap - (cap / 2u);
    } else {
        c->reply = c->sse_buf;
        c->reply_cap = sizeof c->sse_buf;
        c->text = g_text;
        c->text_cap = sizeof g_text;
    }
    c->paused = false;
    c->failed = false;
    c->starved = false;
    c->hdrs = NULL;
    for (i = 0u; i < nh; i++) {
        struct curl_slist *l = curl_slist_append(c->hdrs, h[i].line);
        if (l == NULL) {
            curl_slist_free_all(c->hdrs);
            c->hdrs = NULL;
            return ST_NOMEM;
        }
        c->hdrs = l;
    }
    sse_in_init(&c->sse, c->sse_buf, sizeof c->sse_buf, on_event, c);
    curl_easy_reset(c->easy);
    (void)curl_easy_setopt(c->easy, CURLOPT_URL, t->url);
    (void)curl_easy_setopt(c->easy, CURLOPT_POST, 1L);
    (void)curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, body);
    (void)curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
    (void)curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->hdrs);
    (void)curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, write_cb);
    (void)curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
    (void)curl_easy_setopt(c->easy, CURLOPT_HEADERFUNCTION, header_cb);
    (void)curl_easy_setopt(c->easy, CURLOPT_HEADERDATA, c);
    (void)curl_easy_setopt(c->easy, CURLOPT_PRIVATE, (void *)c);
    (void)curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
    (void)curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)t->timeout_ms);
    (void)curl_easy_setopt(c->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
    (void)curl_easy_setopt(c->easy, CURLOPT_LOW_SPEED_TIME, (long)((t->idle_ms + 999u) / 1000u));
    (void)curl_easy_setopt(c->easy, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    (void)curl_easy_setopt(c->easy, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
    (void)curl_easy_setopt(c->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    if (curl_multi_add_handle(g_multi, c->easy) != CURLM_OK) {
        curl_slist_free_all(c->hdrs);
        c->hdrs = NULL;
        return ST_IO;
    }
    /* Every running call has its first-byte timeout: it is what ends a
     * call whose socket nobody watches (sock_cb) or whose curl timer is
     * owed. Without a timer the call is not started. */
    c->first_byte = timer_start((uint64_t)t->timeout_ms, on_first_byte_timeout, c);
    if (c->first_byte == TIMER_NONE) {
        (void)curl_multi_remove_handle(g_multi, c->easy);
        curl_slist_free_all(c->hdrs);
        c->hdrs = NULL;
        return ST_NOMEM;
    }
    c->state = SLOT_RUNNING;
    retry_timers();
    g_stats.started++;
    g_stats.slots_used++;
    if (g_stats.slots_used > g_stats.slots_high) {
        g_stats.slots_high = g_stats.slots_used;
    }
    *out = c;
    return ST_OK;
}

st_t llm_start(const llm_target *t, const char *body, size_t n, const llm_sink *sink,
               void *ctx, llm_call **out)
{
    return start(t, false, body, n, sink, ctx, out, NULL, 0u);
}

st_t llm_start_whole(const llm_target *t, const char *body, size_t n, char *reply, size_t cap,
                     const llm_sink *sink, void *ctx, llm_call **out)
{
    return start(t, true, body, n, sink, ctx, out, reply, cap);
}

void llm_cancel(llm_call *c)
{
    if ((c != NULL) && ((c->state == SLOT_RUNNING) || (c->state == SLOT_DELIVERING))) {
        g_stats.cancelled++;
        c->state = SLOT_ENDING;
        release(c);
    }
}

void llm_pause(llm_call *c)
{
    if ((c != NULL) && (c->state == SLOT_RUNNING)) {
        c->paused = true;     /* write_cb answers CURL_WRITEFUNC_PAUSE */
    }
}

void llm_resume(llm_call *c)
{
    if ((c != NULL) && (c->state == SLOT_RUNNING) && c->paused) {
        c->paused = false;
        (void)curl_easy_pause(c->easy, CURLPAUSE_CONT);
    }
}
