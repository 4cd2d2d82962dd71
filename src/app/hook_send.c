/*
 * hook_send.c - `roostd hook <HookType>`: what roost's Claude Code hook
 * handlers run (the contract: hooks_cli.h). Reads the hook JSON on stdin,
 * adds the rpg hook script's fields (spec hooks.md §3) and POSTs it to
 * roost, within CFG_HOOK_TIMEOUT_MS, printing nothing and exiting 0
 * whatever happens.
 *
 * Implementation notes
 * - The body is read into the render scratch (the server does not run in
 *   this process); the fields go where the object's closing brace was, so
 *   nothing of the body is copied or parsed: an object is recognised by
 *   its first and last non-blank bytes. A body that is not one is sent as
 *   it is (roost answers it 400), as the script would.
 * - The fields come last: where the body has a field of the same name,
 *   roost (which reads the last of duplicate keys) takes the script's
 *   value, as jq's `. + {...}` in the script did.
 * - The answer is read until its status line is in (or the peer closes),
 *   so the request is not cut by closing before roost has read it.
 */
#include "app/hooks_cli.h"

#include <stdio.h>
#include <string.h>

#include "app/app.h"
#include "app/pools.h"
#include "config.h"
#include "fam/families.h"
#include "json/write.h"
#include "port.h"

#define URL_BYTES ((size_t)CFG_CONF_VALUE_BYTES)
#define HOST_BYTES 64u
#define NAME_MAX_BYTES 64u      /* the hook type and $TMUX_PANE */
#define FIELDS_BYTES 1024u      /* what is added; CFG_HOOK_BODY_BYTES leaves it room */

_Static_assert((CFG_HOOK_BODY_BYTES + FIELDS_BYTES) <= CFG_RENDER_BYTES,
               "the hook body and its added fields fit the render scratch");

typedef struct {
    char host[HOST_BYTES];      /* without brackets */
    uint16_t port;
    char authority[HOST_BYTES + 8u]; /* the Host header */
    char path[URL_BYTES];
} hook_url;

typedef struct {
    bool debug;
    const char *type;
    const char *url;
    const char *key;
    const char *key_file;
} hook_args;

static void debug_say(const hook_args *a, const char *what, const char *detail)
{
    if (a->debug) {
        char line[URL_BYTES + 256u];
        (void)snprintf(line, sizeof line, "roostd hook: %s%s%s\n", what,
                       (detail[0] != '\0') ? ": " : "", detail);
        port_stderr(line, strlen(line));
    }
}

static bool visible(const char *s)
{
    const char *p;
    bool ok = true;
    for (p = s; ok && (*p != '\0'); p++) {
        unsigned char c = (unsigned char)*p;
        ok = (c > 0x20u) && (c < 0x7Fu);
    }
    return ok;
}

/* An http URL: host, optional port (80), optional path ("/"); the host an
 * IP literal (in brackets for IPv6) or localhost. */
static bool url_parse(const char *u, hook_url *o)
{
    static const char scheme[] = "http://";
    const char *p = u + (sizeof(scheme) - 1u);
    const char *h;
    ptrdiff_t span;
    size_t hn;
    uint32_t port = 80u;
    if ((strncmp(u, scheme, sizeof(scheme) - 1u) != 0) || !visible(u) ||
        (strlen(u) >= URL_BYTES)) {
        return false;
    }
    h = p;
    /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
    if (*p == '[') {
        const char *end = strchr(p, ']');
        if (end == NULL) {
            return false;
        }
        h = p + 1;
        span = end - h;
        p = end + 1;
    } else {
        while ((*p != '\0') && (*p != ':') && (*p != '/')) {
            p++;
        }
        span = p - h;
    }
    hn = (size_t)span;
    if ((hn == 0u) || (hn >= HOST_BYTES)) {
        return false;
    }
    (void)memcpy(o->host, h, hn);
    o->host[hn] = '\0';
    /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
    if (*p == ':') {
        p++;
        port = 0u;
        while ((*p >= '0') && (*p <= '9') && (port <= 65535u)) {
            port = (port * 10u) + (uint32_t)(*p - '0');
            p++;
        }
    }
    if ((port == 0u) || (port > 65535u) || ((*p != '\0') && (*p != '/'))) {
        return false;
    }
    o->port = (uint16_t)port;
    span = p - &u[sizeof(scheme) - 1u];
    hn = (size_t)span;
    if (hn >= sizeof o->authority) {
        return false;
    }
    (void)memcpy(o->authority, u + (sizeof(scheme) - 1u), hn);
    o->authority[hn] = '\0';
    (void)snprintf(o->path, sizeof o->path, "%s", (*p == '\0') ? "/" : p);
    return true;
}

static bool is_blank(char c)
{
    return (c == ' ') || (c == '\t') || (c == '\r') || (c == '\n');
}

/* The script's fields, added to the object in body[0..n) (room: cap); the
 * new length, or n when the body is not an object or they do not fit. */
static size_t add_fields(char *body, size_t n, size_t cap, const char *type, const char *pane)
{
    char add[FIELDS_BYTES];
    json_w w;
    size_t alen = 0u;
    size_t first = 0u;
    size_t last = n;
    size_t i;
    bool empty = true;
    while ((first < n) && is_blank(body[first])) {
        first++;
    }
    while ((last > first) && is_blank(body[last - 1u])) {
        last--;
    }
    /* cppcheck-suppress misra-c2012-10.4 ; false positive: char vs char constant */
    if ((last < (first + 2u)) || (body[first] != '{') || (body[last - 1u] != '}')) {
        return n;
    }
    for (i = first + 1u; empty && (i < (last - 1u)); i++) {
        empty = is_blank(body[i]);
    }
    json_w_init(&w, add, sizeof add);
    json_w_obj_begin(&w);
    json_w_kstr(&w, "hookType", type);
    json_w_ku64(&w, "timestamp", port_wall_us() / 1000u);
    json_w_knull(&w, "tmuxTarget");
    json_w_kstr(&w, "paneId", pane);
    json_w_obj_end(&w);
    if ((json_w_finish(&w, &alen) != ST_OK) || (alen < 2u) ||
        (((last - 1u) + alen) > cap)) {
        return n;
    }
    /* "{...}" goes where the closing brace was: its own '{' becomes the
     * separator, or goes when the object was empty. */
    i = last - 1u;
    if (!empty) {
        body[i] = ',';
        i++;
    }
    (void)memcpy(body + i, add + 1, alen - 1u);
    return i + alen - 1u;
}

/* POST body[0..n) to u; the answer's status line into status. */
static st_t post(const hook_url *u, const char *key, const char *body, size_t n, char *status,
                 size_t scap)
{
    char head[URL_BYTES + 512u];
    char ans[512];
    size_t got = 0u;
    uint64_t deadline = port_mono_us() + ((uint64_t)CFG_HOOK_TIMEOUT_MS * 1000u);
    port_sock s = PORT_SOCK_NONE;
    st_t st;
    int k = snprintf(head, sizeof head,
                     "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: roostd-hook/%s\r\n"
                     "Content-Type: application/json\r\nContent-Length: %lu\r\n%s%s%s"
                     "Connection: close\r\n\r\n",
                     u->path, u->authority, ROOST_VERSION, (unsigned long)n,
                     (key != NULL) ? "X-API-Key: " : "", (key != NULL) ? key : "",
                     (key != NULL) ? "\r\n" : "");
    status[0] = '\0';
    if ((k < 0) || ((size_t)k >= sizeof head)) {
        return ST_TOOBIG;
    }
    st = port_client_connect(u->host, u->port, deadline, &s);
    if (st == ST_OK) {
        st = port_client_send(s, head, (size_t)k, deadline);
    }
    if ((st == ST_OK) && (n > 0u)) {
        st = port_client_send(s, body, n, deadline);
    }
    while ((st == ST_OK) && ((got == 0u) || (memchr(ans, '\n', got) == NULL)) &&
           (got < sizeof ans)) {
        size_t r = 0u;
        st = port_client_recv(s, ans + got, sizeof(ans) - got, &r, deadline);
        got += r;
    }
    if (got > 0u) {
        size_t len = 0u;
        while ((len < got) && (len < (scap - 1u)) && (ans[len] != '\r') && (ans[len] != '\n')) {
            len++;
        }
        (void)memcpy(status, ans, len);
        status[len] = '\0';
        st = ST_OK;
    }
    port_close(s);
    return st;
}

/* Options before or after the hook type; false on a bad one (said). */
static bool parse_args(int argc, char *const *argv, hook_args *a, bool *help)
{
    int i = 1;
    bool ok = true;
    while (ok && (i < argc)) {
        const char *arg = argv[i];
        const char **to = NULL;
        if ((strcmp(arg, "-h") == 0) || (strcmp(arg, "--help") == 0)) {
            *help = true;
        } else if ((strcmp(arg, "--url") == 0) || (strncmp(arg, "--url=", 6u) == 0)) {
            to = &a->url;
        } else if ((strcmp(arg, "--key") == 0) || (strncmp(arg, "--key=", 6u) == 0)) {
            to = &a->key;
        } else if ((strcmp(arg, "--key-file") == 0) || (strncmp(arg, "--key-file=", 11u) == 0)) {
            to = &a->key_file;
        } else if ((arg[0] != '-') && (a->type == NULL)) {
            a->type = arg;
        } else {
            debug_say(a, "unexpected argument", arg);
            ok = false;
        }
        if (to != NULL) {
            const char *eq = strchr(arg, '=');
            if (eq != NULL) {
                *to = eq + 1;
            } else if ((i + 1) < argc) {
                i++;
                *to = argv[i];
            } else {
                debug_say(a, "needs a value", arg);
                ok = false;
            }
        }
        i++;
    }
    return ok;
}

/* The default URL: the hook family's default port on loopback. */
static bool default_url(char *buf, size_t cap)
{
    size_t f;
    bool ok = false;
    for (f = 0u; (f < (size_t)FAM_COUNT) && !ok; f++) {
        const fam_desc *d = fam_list[f];
        if (d->hook_path != NULL) {
            int k = snprintf(buf, cap, "http://127.0.0.1:%u%s", (unsigned)d->port, d->hook_path);
            ok = (k > 0) && ((size_t)k < cap);
        }
    }
    return ok;
}

int hook_cli_main(int argc, char *const *argv, const char *const *envp)
{
    static const char no_url[] = "";
    char key_buf[300];
    char status[128];
    hook_url u;
    hook_args a;
    bool help = false;
    const char *pane = app_env(envp, "TMUX_PANE");
    const char *dbg = app_env(envp, "ROOST_HOOK_DEBUG");
    char *body = render_scratch;
    const size_t body_cap = CFG_HOOK_BODY_BYTES;
    const size_t scratch_cap = CFG_RENDER_BYTES;
    size_t n = 0u;
    st_t st;
    (void)memset(&a, 0, sizeof a);
    a.debug = (dbg != NULL) && (dbg[0] != '\0');
    if (!parse_args(argc, argv, &a, &help)) {
        return 0;
    }
    if (help) {
        port_stdout(hooks_cli_help(), strlen(hooks_cli_help()));
        return 0;
    }
    if ((a.type == NULL) || (strlen(a.type) >= NAME_MAX_BYTES) || !visible(a.type)) {
        debug_say(&a, "usage: roostd hook <HookType> [--url URL] [--key KEY | --key-file PATH]",
                  "");
        return 0;
    }
    if (a.url == NULL) {
        char url_buf[URL_BYTES];
        a.url = default_url(url_buf, sizeof url_buf) ? url_buf : no_url;
        if (!url_parse(a.url, &u)) {
            debug_say(&a, "no default URL in this build", "");
            return 0;
        }
    } else if (!url_parse(a.url, &u)) {
        debug_say(&a, "not a URL this command can post to (http://IP-or-localhost:PORT/PATH)",
                  a.url);
        return 0;
    } else {
        /* parsed */
    }
    if ((a.key == NULL) && (a.key_file != NULL)) {
        if (hooks_key_read(a.key_file, key_buf, sizeof key_buf)) {
            a.key = key_buf;
        } else {
            debug_say(&a, "no key in the key file (sent without one)", a.key_file);
        }
    }
    if ((a.key != NULL) && ((strlen(a.key) == 0u) || !visible(a.key))) {
        debug_say(&a, "the key is not 1-256 visible ASCII characters (sent without one)", "");
        a.key = NULL;
    }
    if ((pane != NULL) && ((strlen(pane) == 0u) || (strlen(pane) >= NAME_MAX_BYTES))) {
        pane = NULL;
    }
    st = port_stdin_read(body, body_cap, &n);
    if (st != ST_OK) {
        debug_say(&a, (st == ST_TOOBIG) ? "the hook body is larger than CFG_HOOK_BODY_BYTES; "
                  "not sent" : "cannot read stdin; not sent", "");
        return 0;
    }
    n = add_fields(body, n, scratch_cap, a.type, pane);
    st = post(&u, a.key, body, n, status, sizeof status);
    if (st != ST_OK) {
        debug_say(&a, (st == ST_CLOSED) ? "roost is not there (connection refused or closed)"
                      : ((st == ST_TIMEOUT) ? "roost did not answer in time" : status_str(st)),
                  u.authority);
    } else {
        debug_say(&a, status, u.authority);
    }
    return 0;
}
