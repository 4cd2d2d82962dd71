/*
 * fault_ctl.c - /_fault (see fault_ctl.h). Empty unless CFG_FAULT.
 */
#include "fam/shared/fault_ctl.h"

#if CFG_FAULT

#include <stdio.h>
#include <string.h>

#include "core/fault.h"
#include "core/log.h"
#include "fam/shared/auth.h"
#include "json/read.h"
#include "port.h"

static bool g_enabled;

st_t fault_ctl_listener(bool enabled, const char *host)
{
    g_enabled = enabled;
    if (enabled && !auth_host_is_loopback(host)) {
        LOG_E("fault", "diag.faults needs every listener on loopback; %s is not", host);
        return ST_INVAL;
    }
    return ST_OK;
}

static void reply(hctx *h, int status, const char *body)
{
    hctx_send(h, status, "application/json", body, strlen(body));
}

static void counts(hctx *h)
{
    char buf[96];
    int n = snprintf(buf, sizeof buf, "{\"alloc_fired\":%llu,\"os_fired\":%llu}",
                     (unsigned long long)fault_fired(), (unsigned long long)port_fault_fired());
    hctx_send(h, 200, "application/json", buf, ((n > 0) && ((size_t)n < sizeof buf)) ? (size_t)n : 0u);
}

/* A string field, "" when absent; false when present but not a short string. */
static bool text_field(const json_doc *d, const char *key, char *buf, size_t cap)
{
    size_t n = 0u;
    st_t st = json_field_str(d, json_root(d), key, buf, cap, &n);
    if (st == ST_NOTFOUND) {
        buf[0] = '\0';
        return true;
    }
    return st == ST_OK;
}

static void arm(hctx *h)
{
    jsmntok_t toks[16];
    json_doc d;
    json_err e;
    char kind[32];
    char op[32];
    char err[32];
    uint64_t nth = 0u;
    bool after = false;
    fault_kind k = FAULT_POOL;
    st_t st;
    if (json_parse_into(&d, h->body.p, h->body.n, toks, (unsigned)(sizeof(toks) / sizeof(toks[0])),
                        &e) != ST_OK) {
        reply(h, 400, "{\"error\":\"the body is not JSON\"}");
        return;
    }
    st = json_field_u64(&d, json_root(&d), "nth", &nth);
    if ((st != ST_OK) || (nth == 0u) || (nth > UINT32_MAX) ||
        !text_field(&d, "kind", kind, sizeof kind) || !text_field(&d, "op", op, sizeof op) ||
        !text_field(&d, "err", err, sizeof err)) {
        json_release(&d);
        reply(h, 400, "{\"error\":\"kind, op and err are strings, nth an integer >= 1\"}");
        return;
    }
    st = json_field_bool(&d, json_root(&d), "after", &after);
    json_release(&d);
    if ((st != ST_OK) && (st != ST_NOTFOUND)) {
        reply(h, 400, "{\"error\":\"after is a boolean\"}");
        return;
    }
    fault_disarm();
    port_fault_disarm();
    if (strcmp(kind, "os") == 0) {
        st = port_fault_arm(op, (uint32_t)nth, after, err);
    } else if (fault_kind_from(kind, strlen(kind), &k)) {
        st = fault_arm(k, op, (uint32_t)nth, after);
    } else {
        st = ST_INVAL;
    }
    if (st == ST_UNSUPPORTED) {
        reply(h, 501, "{\"error\":\"this port has no OS fault table (port_fault_arm: unsupported)\"}");
    } else if (st != ST_OK) {
        reply(h, 400, "{\"error\":\"unknown kind, op or err\"}");
    } else {
        LOG_I("fault", "armed %s %s nth=%llu%s %s", kind, op, (unsigned long long)nth,
              after ? " and after" : "", err);
        reply(h, 200, "{\"armed\":true}");
    }
}

bool fault_ctl_handle(hctx *h)
{
    if (!g_enabled || (h->req == NULL) || !strv_eq_cstr(h->req->path, "/_fault")) {
        return false;
    }
    fault_suspend(true);
    if (h->req->method == HTTP_M_POST) {
        arm(h);
    } else if (h->req->method == HTTP_M_DELETE) {
        fault_disarm();
        port_fault_disarm();
        counts(h);
    } else if (h->req->method == HTTP_M_GET) {
        counts(h);
    } else {
        reply(h, 405, "{\"error\":\"GET, POST or DELETE\"}");
    }
    fault_suspend(false);
    return true;
}

#else

st_t fault_ctl_listener(bool enabled, const char *host)
{
    (void)enabled;     /* the key does not exist in this build */
    (void)host;
    return ST_OK;
}

#endif
