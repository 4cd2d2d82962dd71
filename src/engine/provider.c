/*
 * provider.c - candidates, targets and failover shared by the engine's
 * calls (contract in provider.h).
 */
#include "engine/provider.h"

#include <stdio.h>
#include <string.h>

#include "json/write.h"

#define KEY_BYTES CFG_LLM_KEY_BYTES
#define URL_BYTES ((size_t)CFG_CONF_VALUE_BYTES + 32u)
/* provider_failover: two names and a reason (CFG_LLM_DETAIL_BYTES + 64). */
#define EVENT_BYTES (((size_t)CFG_LLM_DETAIL_BYTES * 2u) + 512u)

static const engine_host *g_host;
static char g_key[KEY_BYTES];
static size_t g_keyn;
static char g_url[URL_BYTES];

const engine_host *engine_host_get(void)
{
    return g_host;
}

void engine_host_set(const engine_host *h)
{
    g_host = h;
}

int32_t engine_find_provider(const llm_conf *cfg, strv p)
{
    uint32_t i;
    for (i = 0u; i < cfg->nprov; i++) {
        if (strv_eq_cstr(p, cfg->prov[i].name)) {
            return (int32_t)i;
        }
    }
    for (i = 0u; i < cfg->nprov; i++) {
        llm_kind k = cfg->prov[i].kind;
        if ((strv_eq_cstr(p, "anthropic") && (k == LLM_ANTHROPIC)) ||
            (strv_eq_cstr(p, "openai-compatible") && (k == LLM_OPENAI))) {
            return (int32_t)i;
        }
    }
    return CHAT_NONE;
}

uint32_t engine_candidates(const llm_conf *cfg, int32_t primary,
                           uint8_t cand[CFG_MAX_PROVIDERS], bool *first_model)
{
    uint32_t n = 0u;
    uint32_t i;
    *first_model = false;
    if (primary != CHAT_NONE) {
        cand[0] = (uint8_t)primary;
        n = 1u;
        *first_model = true;
    }
    for (i = 0u; (i < cfg->nchain) && (n < (uint32_t)CFG_MAX_PROVIDERS); i++) {
        uint8_t c = cfg->chain[i];
        if ((primary == CHAT_NONE) || (c != (uint8_t)primary)) {
            cand[n] = c;
            n++;
        }
    }
    return n;
}

void engine_target(const llm_provider_conf *p, llm_target *t)
{
    g_key[0] = '\0';
    g_keyn = 0u;
    if ((strlen(p->api_key_secret) > 0u) && (g_host != NULL)) {
        st_t ks = g_host->secret(p->api_key_secret, g_key, sizeof g_key, &g_keyn);
        if (ks != ST_OK) {
            g_keyn = 0u;
            if ((p->env_key != NULL) && (strlen(p->env_key) < sizeof g_key)) {
                g_keyn = strlen(p->env_key);
                (void)memcpy(g_key, p->env_key, g_keyn + 1u);
            }
        }
    }
    (void)snprintf(g_url, sizeof g_url, "%s%s", p->base_url, llm_wire_path(p->kind));
    (void)memset(t, 0, sizeof *t);
    t->kind = p->kind;
    t->url = g_url;
    t->key = (strv){ g_key, g_keyn };
    t->timeout_ms = p->timeout_ms;
    t->idle_ms = p->timeout_ms;
}

void engine_target_wipe(void)
{
    (void)memset(g_key, 0, g_keyn);
    g_keyn = 0u;
}

bool engine_failover_ok(const llm_result *res)
{
    return (res->st == ST_IO) || (res->st == ST_TIMEOUT) || (res->st == ST_BAD) ||
           (res->st == ST_TOOBIG) ||
           ((res->st == ST_HTTP) && ((res->http_status == 429) || (res->http_status >= 500)));
}

void engine_failover_reason(const llm_result *res, char *buf, size_t cap)
{
    const char *d = res->detail;
    if (res->st == ST_HTTP) {
        (void)snprintf(buf, cap, "HTTP %d", res->http_status);
    } else if (strncmp(d, "connect error: ", 15u) == 0) {
        (void)snprintf(buf, cap, "%s", d);
    } else if (strncmp(d, "stream error: ", 14u) == 0) {
        (void)snprintf(buf, cap, "stream error before first token: %s", &d[14]);
    } else {
        (void)snprintf(buf, cap, "stream error before first token: %s", d);
    }
}

void engine_failover_publish(const char *from, const char *to, const char *reason)
{
    static char ev[EVENT_BYTES];
    json_w w;
    size_t len = 0u;
    json_w_init(&w, ev, sizeof ev);
    json_w_obj_begin(&w);
    json_w_kstr(&w, "type", "provider_failover");
    json_w_kstr(&w, "from_provider", from);
    json_w_kstr(&w, "to_provider", to);
    json_w_kstr(&w, "reason", reason);
    json_w_obj_end(&w);
    if ((json_w_finish(&w, &len) == ST_OK) && (g_host != NULL)) {
        (void)g_host->bus_publish(ev, len);
    }
}
