/*
 * test_router.c - route matching, parameters, 405 + Allow, router_allow_str;
 * compiling a table and its limits; and the compiled matcher against the
 * linear one it replaced (ref_match below, the reference): on every row of
 * every family's table with its parameters filled, for every method, and
 * on random paths made of the tables' segments.
 *
 * Built with tests/unit/tiny_config.h: CFG_HTTP_MAX_PARAMS is 2; the
 * CFG_ROUTER_* limits are config.h's defaults, so compiling the families'
 * tables here proves they fit the shipped build.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "fam/families.h"
#include "http/router.h"
#include "t.h"

static void h_health(struct hctx *h) { (void)h; }
static void h_root(struct hctx *h) { (void)h; }
static void h_create(struct hctx *h) { (void)h; }
static void h_list(struct hctx *h) { (void)h; }
static void h_new(struct hctx *h) { (void)h; }
static void h_bot(struct hctx *h) { (void)h; }
static void h_version(struct hctx *h) { (void)h; }
static void h_files(struct hctx *h) { (void)h; }
static void h_mixed(struct hctx *h) { (void)h; }
static void h_getonly(struct hctx *h) { (void)h; }
static void h_three(struct hctx *h) { (void)h; }

static const route g_table[] = {
    { RM_GET, "/health", h_health, ROUTE_OPEN },
    { RM_GET, "/", h_root, 0u },
    { RM(HTTP_M_POST), "/api/v1/bots", h_create, 0u },
    { RM_GET, "/api/v1/bots", h_list, 0u },
    { RM_GET, "/api/v1/bots/new", h_new, 0u },
    { RM_GET | RM(HTTP_M_DELETE), "/api/v1/bots/{id}", h_bot, 0u },
    { RM(HTTP_M_PUT), "/api/v1/bots/{id}/soul/versions/{version}", h_version, 0u },
    { RM_GET, "/files/*", h_files, 0u },
    { RM(HTTP_M_POST), "/a/{x}/b/*", h_mixed, 0u },
    { RM(HTTP_M_GET), "/getonly", h_getonly, 0u },
    /* More parameters than CFG_HTTP_MAX_PARAMS (2 in unit builds). */
    { RM_GET, "/p/{a}/{b}/{c}", h_three, 0u },
};
#define NROUTES (sizeof g_table / sizeof g_table[0])

static char g_pbuf[CFG_HTTP_PARAM_BYTES];
static route_match_t g_m;
static router_table g_rt;          /* g_table, compiled by main */
static router_table g_rt2;

static route_result go(http_method m, const char *path)
{
    memset(&g_m, 0xa5, sizeof g_m);
    return router_match(&g_rt, m, strv_from_cstr(path), g_pbuf, sizeof g_pbuf, &g_m);
}

static route_result go_cap(http_method m, const char *path, size_t pcap)
{
    memset(&g_m, 0xa5, sizeof g_m);
    return router_match(&g_rt, m, strv_from_cstr(path), g_pbuf, pcap, &g_m);
}

static route_result go_table(const router_table *t, http_method m, const char *path)
{
    memset(&g_m, 0xa5, sizeof g_m);
    return router_match(t, m, strv_from_cstr(path), g_pbuf, sizeof g_pbuf, &g_m);
}

/* ---- the reference: the linear matcher the compiled one replaced ---------- */

/* Next segment of s starting at *pos (which points at a '/'); false at end. */
static bool ref_next_seg(strv s, size_t *pos, strv *seg)
{
    size_t i;
    if ((*pos >= s.n) || (s.p[*pos] != '/')) {
        return false;
    }
    i = *pos + 1u;
    while ((i < s.n) && (s.p[i] != '/')) {
        i++;
    }
    seg->p = s.p + *pos + 1u;
    seg->n = i - *pos - 1u;
    *pos = i;
    return true;
}

/* Match one pattern; raw parameter views go to raw[]. */
static bool ref_match_one(const char *pattern, strv path, strv *raw, size_t *nraw)
{
    strv pat = strv_from_cstr(pattern);
    size_t pp = 0u;
    size_t sp = 0u;
    strv pseg;
    strv sseg;
    *nraw = 0u;
    for (;;) {
        bool has_p = ref_next_seg(pat, &pp, &pseg);
        bool has_s;
        if (has_p && (pseg.n == 1u) && (pseg.p[0] == '*')) {
            /* The tail starts after a '/'. */
            if ((*nraw >= (size_t)CFG_HTTP_MAX_PARAMS) || (sp >= path.n) ||
                (path.p[sp] != '/')) {
                return false;
            }
            raw[*nraw].p = path.p + sp + 1u;
            raw[*nraw].n = path.n - sp - 1u;
            (*nraw)++;
            return true;
        }
        has_s = ref_next_seg(path, &sp, &sseg);
        if (!has_p || !has_s) {
            return (!has_p && !has_s);
        }
        if ((pseg.n >= 2u) && (pseg.p[0] == '{') && (pseg.p[pseg.n - 1u] == '}')) {
            if ((sseg.n == 0u) || (*nraw >= (size_t)CFG_HTTP_MAX_PARAMS)) {
                return false;
            }
            raw[*nraw] = sseg;
            (*nraw)++;
        } else if (!strv_eq(pseg, sseg)) {
            return false;
        } else {
            /* equal literal segments: go on */
        }
    }
}

static route_result ref_match(const route *table, size_t n, http_method m, strv path,
                              char *pbuf, size_t pcap, route_match_t *out)
{
    strv raw[CFG_HTTP_MAX_PARAMS];
    size_t nraw = 0u;
    size_t i;
    size_t used = 0u;
    const route *hit = NULL;
    out->rt = NULL;
    out->allow = 0u;
    out->nparams = 0u;
    for (i = 0u; i < n; i++) {
        if (ref_match_one(table[i].pattern, path, raw, &nraw)) {
            out->allow |= table[i].methods;
            if ((hit == NULL) && ((table[i].methods & RM(m)) != 0u)) {
                size_t k;
                hit = &table[i];
                out->nparams = nraw;
                for (k = 0u; k < nraw; k++) {
                    size_t dn = 0u;
                    if (http_pct_decode(raw[k], pbuf + used, pcap - used, &dn) != ST_OK) {
                        return ROUTE_BAD_PARAM;
                    }
                    out->params[k].p = pbuf + used;
                    out->params[k].n = dn;
                    used += dn;
                }
            }
        }
    }
    if (hit != NULL) {
        out->rt = hit;
        return ROUTE_FOUND;
    }
    return (out->allow != 0u) ? ROUTE_BAD_METHOD : ROUTE_NOT_FOUND;
}

static const http_method k_methods[] = {
    HTTP_M_OTHER, HTTP_M_GET,    HTTP_M_HEAD,   HTTP_M_POST,
    HTTP_M_PUT,   HTTP_M_PATCH,  HTTP_M_DELETE, HTTP_M_OPTIONS,
};
#define NMETHODS (sizeof k_methods / sizeof k_methods[0])

static long g_compared;
static long g_found;

/* The compiled table and the reference agree on (m, path): the result, the
 * row, the decoded parameters, and Allow on a 405. */
static bool same_as_ref(const router_table *t, const route *table, size_t n, http_method m,
                        strv path, size_t pcap)
{
    static char pa[CFG_HTTP_PARAM_BYTES];
    static char pb[CFG_HTTP_PARAM_BYTES];
    route_match_t a;
    route_match_t b;
    route_result ra;
    route_result rb;
    bool ok;
    size_t k;
    memset(&a, 0xa5, sizeof a);
    memset(&b, 0x5a, sizeof b);
    ra = router_match(t, m, path, pa, pcap, &a);
    rb = ref_match(table, n, m, path, pb, pcap, &b);
    ok = (ra == rb);
    if (ok && (ra == ROUTE_FOUND)) {
        ok = (a.rt == b.rt) && (a.nparams == b.nparams) && (a.allow == 0u);
        for (k = 0u; ok && (k < a.nparams); k++) {
            ok = (a.params[k].n == b.params[k].n) &&
                 (memcmp(a.params[k].p, b.params[k].p, a.params[k].n) == 0) &&
                 (a.params[k].p >= pa) && ((a.params[k].p + a.params[k].n) <= (pa + pcap));
        }
        g_found++;
    } else if (ok && (ra == ROUTE_BAD_METHOD)) {
        ok = (a.rt == NULL) && (a.nparams == 0u) && (a.allow == b.allow) && (a.allow != 0u);
    } else if (ok) {
        ok = (a.rt == NULL) && (a.nparams == 0u) && (a.allow == 0u);
    } else {
        /* the results differ */
    }
    g_compared++;
    if (!ok) {
        fprintf(stderr, "  mismatch: method %d path \"%.*s\": compiled %d (row %ld), reference %d (row %ld)\n",
                (int)m, (int)path.n, path.p, (int)ra,
                (a.rt != NULL) ? (long)(a.rt - table) : -1L, (int)rb,
                (b.rt != NULL) ? (long)(b.rt - table) : -1L);
    }
    return ok;
}

static bool same_all_methods(const router_table *t, const route *table, size_t n, strv path)
{
    bool ok = true;
    size_t i;
    for (i = 0u; i < NMETHODS; i++) {
        ok = same_as_ref(t, table, n, k_methods[i], path, CFG_HTTP_PARAM_BYTES) && ok;
    }
    return ok;
}

static void test_literal(void)
{
    T_EQ_INT(go(HTTP_M_GET, "/health"), ROUTE_FOUND);
    T_CHECK(g_m.rt == &g_table[0]);
    T_CHECK(g_m.rt->fn == h_health);
    T_EQ_INT(g_m.rt->flags, ROUTE_OPEN);
    T_EQ_INT(g_m.nparams, 0);
    T_EQ_INT(go(HTTP_M_GET, "/"), ROUTE_FOUND);
    T_CHECK(g_m.rt->fn == h_root);
    T_EQ_INT(go(HTTP_M_POST, "/api/v1/bots"), ROUTE_FOUND);
    T_CHECK(g_m.rt->fn == h_create);
    T_EQ_INT(go(HTTP_M_GET, "/api/v1/bots"), ROUTE_FOUND);
    T_CHECK(g_m.rt->fn == h_list);
    /* Case matters, prefixes and extensions do not match. */
    T_EQ_INT(go(HTTP_M_GET, "/Health"), ROUTE_NOT_FOUND);
    T_CHECK(g_m.rt == NULL);
    T_EQ_INT(g_m.allow, 0);
    T_EQ_INT(g_m.nparams, 0);
    T_EQ_INT(go(HTTP_M_GET, "/healthz"), ROUTE_NOT_FOUND);
    T_EQ_INT(go(HTTP_M_GET, "/heal"), ROUTE_NOT_FOUND);
    T_EQ_INT(go(HTTP_M_GET, "/health/x"), ROUTE_NOT_FOUND);
    T_EQ_INT(go(HTTP_M_GET, "/api/v1"), ROUTE_NOT_FOUND);
    T_EQ_INT(go(HTTP_M_GET, "health"), ROUTE_NOT_FOUND);
    T_EQ_INT(go(HTTP_M_GET, ""), ROUTE_NOT_FOUND);
    T_EQ_INT(go(HTTP_M_OPTIONS, "*"), ROUTE_NOT_FOUND);
    /* Matching is on the raw path: an encoded literal is another path. */
    T_EQ_INT(go(HTTP_M_GET, "/%68ealth"), ROUTE_NOT_FOUND);
}

static void test_trailing_slash_and_empty_segments(void)
{
    /* "/health/" is not "/health": no slash folding, no redirect. */
    T_EQ_INT(go(HTTP_M_GET, "/health/"), ROUTE_NOT_FOUND);
    T_EQ_INT(go(HTTP_M_GET, "/health//"), ROUTE_NOT_FOUND);
    T_EQ_INT(go(HTTP_M_GET, "//health"), ROUTE_NOT_FOUND);
    T_EQ_INT(go(HTTP_M_GET, "/api/v1/bots/"), ROUTE_NOT_FOUND);   /* {id} is never empty */
    T_EQ_INT(go(HTTP_M_GET, "/api//v1/bots"), ROUTE_NOT_FOUND);
    T_EQ_INT(go(HTTP_M_PUT, "/api/v1/bots//soul/versions/1"), ROUTE_NOT_FOUND);
    T_EQ_INT(go(HTTP_M_PUT, "/api/v1/bots/b/soul/versions/"), ROUTE_NOT_FOUND);
    T_EQ_INT(go(HTTP_M_GET, "//"), ROUTE_NOT_FOUND);
}

static void test_params(void)
{
    T_EQ_INT(go(HTTP_M_GET, "/api/v1/bots/abc"), ROUTE_FOUND);
    T_CHECK(g_m.rt->fn == h_bot);
    T_EQ_INT(g_m.nparams, 1);
    T_EQ_MEM(g_m.params[0].p, g_m.params[0].n, "abc");
    T_CHECK(g_m.params[0].p == g_pbuf);            /* decoded into the caller buffer */
    T_EQ_INT(go(HTTP_M_DELETE, "/api/v1/bots/abc"), ROUTE_FOUND);
    T_CHECK(g_m.rt->fn == h_bot);
    /* An earlier literal row wins over a parameter row... */
    T_EQ_INT(go(HTTP_M_GET, "/api/v1/bots/new"), ROUTE_FOUND);
    T_CHECK(g_m.rt->fn == h_new);
    T_EQ_INT(g_m.nparams, 0);
    /* ...only for its own methods. */
    T_EQ_INT(go(HTTP_M_DELETE, "/api/v1/bots/new"), ROUTE_FOUND);
    T_CHECK(g_m.rt->fn == h_bot);
    T_EQ_MEM(g_m.params[0].p, g_m.params[0].n, "new");
    /* Several parameters. */
    T_EQ_INT(go(HTTP_M_PUT, "/api/v1/bots/b-1/soul/versions/42"), ROUTE_FOUND);
    T_CHECK(g_m.rt->fn == h_version);
    T_EQ_INT(g_m.nparams, 2);
    T_EQ_MEM(g_m.params[0].p, g_m.params[0].n, "b-1");
    T_EQ_MEM(g_m.params[1].p, g_m.params[1].n, "42");
    T_CHECK(g_m.params[1].p == (g_m.params[0].p + g_m.params[0].n));
    T_EQ_INT(go(HTTP_M_PUT, "/api/v1/bots/b-1/soul/versions/42/x"), ROUTE_NOT_FOUND);
    T_EQ_INT(go(HTTP_M_PUT, "/api/v1/bots/b-1/soul/version/42"), ROUTE_NOT_FOUND);
    /* A table row with more parameters than CFG_HTTP_MAX_PARAMS never matches. */
    T_EQ_INT(go(HTTP_M_GET, "/p/1/2/3"), ROUTE_NOT_FOUND);
}

static void test_tail(void)
{
    T_EQ_INT(go(HTTP_M_GET, "/files/a/b/c.txt"), ROUTE_FOUND);
    T_CHECK(g_m.rt->fn == h_files);
    T_EQ_INT(g_m.nparams, 1);
    T_EQ_MEM(g_m.params[0].p, g_m.params[0].n, "a/b/c.txt");
    T_EQ_INT(go(HTTP_M_GET, "/files/x"), ROUTE_FOUND);
    T_EQ_MEM(g_m.params[0].p, g_m.params[0].n, "x");
    /* "/files/" matches with an empty tail; "/files" has no tail at all. */
    T_EQ_INT(go(HTTP_M_GET, "/files/"), ROUTE_FOUND);
    T_EQ_INT(g_m.nparams, 1);
    T_EQ_INT(g_m.params[0].n, 0);
    T_EQ_INT(go(HTTP_M_GET, "/files"), ROUTE_NOT_FOUND);
    T_EQ_INT(go(HTTP_M_GET, "/filesx/a"), ROUTE_NOT_FOUND);
    T_EQ_INT(go(HTTP_M_GET, "/files/a%20b/%2e%2e"), ROUTE_FOUND);
    T_EQ_MEM(g_m.params[0].p, g_m.params[0].n, "a b/..");
    T_EQ_INT(go(HTTP_M_GET, "/files/a/%zz"), ROUTE_BAD_PARAM);
    /* Parameter, then tail. */
    T_EQ_INT(go(HTTP_M_POST, "/a/x1/b/rest/of/it"), ROUTE_FOUND);
    T_CHECK(g_m.rt->fn == h_mixed);
    T_EQ_INT(g_m.nparams, 2);
    T_EQ_MEM(g_m.params[0].p, g_m.params[0].n, "x1");
    T_EQ_MEM(g_m.params[1].p, g_m.params[1].n, "rest/of/it");
    T_EQ_INT(go(HTTP_M_POST, "/a/x1/c/rest"), ROUTE_NOT_FOUND);
    T_EQ_INT(go(HTTP_M_POST, "/a//b/rest"), ROUTE_NOT_FOUND);
}

static void test_root_tail(void)
{
    static const route all[] = { { RM_GET | RM(HTTP_M_OPTIONS), "/*", h_files, 0u } };
    route_match_t m;
    T_EQ_INT(router_compile(&g_rt2, all, 1u), ST_OK);
    T_EQ_INT(router_match(&g_rt2, HTTP_M_GET, STRV_LIT("/"), g_pbuf, sizeof g_pbuf, &m),
             ROUTE_FOUND);
    T_EQ_INT(m.nparams, 1);
    T_EQ_INT(m.params[0].n, 0);
    T_EQ_INT(router_match(&g_rt2, HTTP_M_GET, STRV_LIT("/a/b"), g_pbuf, sizeof g_pbuf, &m),
             ROUTE_FOUND);
    T_EQ_MEM(m.params[0].p, m.params[0].n, "a/b");
    T_EQ_INT(router_match(&g_rt2, HTTP_M_GET, STRV_LIT("//a//"), g_pbuf, sizeof g_pbuf, &m),
             ROUTE_FOUND);
    T_EQ_MEM(m.params[0].p, m.params[0].n, "/a//");
    /* Only a path that starts with '/' has a tail: not "*" (OPTIONS *), not "". */
    T_EQ_INT(router_match(&g_rt2, HTTP_M_OPTIONS, STRV_LIT("*"), g_pbuf, sizeof g_pbuf, &m),
             ROUTE_NOT_FOUND);
    T_EQ_INT(router_match(&g_rt2, HTTP_M_GET, STRV_LIT("ab"), g_pbuf, sizeof g_pbuf, &m),
             ROUTE_NOT_FOUND);
    T_EQ_INT(router_match(&g_rt2, HTTP_M_GET, STRV_LIT(""), g_pbuf, sizeof g_pbuf, &m),
             ROUTE_NOT_FOUND);
    /* A path deeper than any pattern still reaches a tail. */
    T_EQ_INT(router_match(&g_rt2, HTTP_M_GET, STRV_LIT("/1/2/3/4/5/6/7/8/9/10/11/12"), g_pbuf,
                          sizeof g_pbuf, &m),
             ROUTE_FOUND);
    T_EQ_MEM(m.params[0].p, m.params[0].n, "1/2/3/4/5/6/7/8/9/10/11/12");
}

static void test_pct_decode(void)
{
    T_EQ_INT(go(HTTP_M_GET, "/api/v1/bots/a%25b%40c"), ROUTE_FOUND);
    T_EQ_MEM(g_m.params[0].p, g_m.params[0].n, "a%b@c");
    /* rpg pane ids: "%3" arrives as "%253" and is decoded once. */
    T_EQ_INT(go(HTTP_M_GET, "/api/v1/bots/%253"), ROUTE_FOUND);
    T_EQ_MEM(g_m.params[0].p, g_m.params[0].n, "%3");
    T_EQ_INT(go(HTTP_M_GET, "/api/v1/bots/%2Fetc%2fpasswd"), ROUTE_FOUND);
    T_EQ_MEM(g_m.params[0].p, g_m.params[0].n, "/etc/passwd");
    T_EQ_INT(go(HTTP_M_GET, "/api/v1/bots/a+b"), ROUTE_FOUND);   /* '+' stays '+' */
    T_EQ_MEM(g_m.params[0].p, g_m.params[0].n, "a+b");
    T_EQ_INT(go(HTTP_M_GET, "/api/v1/bots/%C3%A9"), ROUTE_FOUND);
    T_EQ_MEM(g_m.params[0].p, g_m.params[0].n, "\xc3\xa9");
    /* Malformed escapes. */
    T_EQ_INT(go(HTTP_M_GET, "/api/v1/bots/%"), ROUTE_BAD_PARAM);
    T_CHECK(g_m.rt == NULL);
    T_EQ_INT(go(HTTP_M_GET, "/api/v1/bots/%2"), ROUTE_BAD_PARAM);
    T_EQ_INT(go(HTTP_M_GET, "/api/v1/bots/ab%"), ROUTE_BAD_PARAM);
    T_EQ_INT(go(HTTP_M_GET, "/api/v1/bots/%zz"), ROUTE_BAD_PARAM);
    T_EQ_INT(go(HTTP_M_GET, "/api/v1/bots/%g0"), ROUTE_BAD_PARAM);
    T_EQ_INT(go(HTTP_M_GET, "/api/v1/bots/a%00b"), ROUTE_BAD_PARAM);
    T_EQ_INT(go(HTTP_M_PUT, "/api/v1/bots/ok/soul/versions/%x1"), ROUTE_BAD_PARAM);
    /* Parameters are only decoded for the route that is taken. */
    T_EQ_INT(go(HTTP_M_PATCH, "/api/v1/bots/%zz"), ROUTE_BAD_METHOD);
}

static void test_param_buffer(void)
{
    T_EQ_INT(go_cap(HTTP_M_GET, "/api/v1/bots/abcdef", 6u), ROUTE_FOUND);
    T_EQ_MEM(g_m.params[0].p, g_m.params[0].n, "abcdef");
    T_EQ_INT(go_cap(HTTP_M_GET, "/api/v1/bots/abcdef", 5u), ROUTE_BAD_PARAM);
    T_EQ_INT(go_cap(HTTP_M_GET, "/api/v1/bots/abcdef", 0u), ROUTE_BAD_PARAM);
    /* The cap counts decoded bytes: "%41%42" needs 2. */
    T_EQ_INT(go_cap(HTTP_M_GET, "/api/v1/bots/%41%42", 2u), ROUTE_FOUND);
    T_EQ_MEM(g_m.params[0].p, g_m.params[0].n, "AB");
    T_EQ_INT(go_cap(HTTP_M_GET, "/api/v1/bots/%41%42", 1u), ROUTE_BAD_PARAM);
    /* All parameters of one request share the buffer. */
    T_EQ_INT(go_cap(HTTP_M_PUT, "/api/v1/bots/b1/soul/versions/12345", 7u), ROUTE_FOUND);
    T_EQ_MEM(g_m.params[0].p, g_m.params[0].n, "b1");
    T_EQ_MEM(g_m.params[1].p, g_m.params[1].n, "12345");
    T_EQ_INT(go_cap(HTTP_M_PUT, "/api/v1/bots/b1/soul/versions/12345", 6u), ROUTE_BAD_PARAM);
    /* No parameters: no buffer needed. */
    T_EQ_INT(router_match(&g_rt, HTTP_M_GET, STRV_LIT("/health"), NULL, 0u, &g_m), ROUTE_FOUND);
}

static void test_methods(void)
{
    char allow[64];
    /* HEAD is served by RM_GET rows. */
    T_EQ_INT(go(HTTP_M_HEAD, "/health"), ROUTE_FOUND);
    T_CHECK(g_m.rt->fn == h_health);
    T_EQ_INT(go(HTTP_M_HEAD, "/api/v1/bots/x"), ROUTE_FOUND);
    T_CHECK(g_m.rt->fn == h_bot);
    /* A row with GET alone does not take HEAD. */
    T_EQ_INT(go(HTTP_M_GET, "/getonly"), ROUTE_FOUND);
    T_EQ_INT(go(HTTP_M_HEAD, "/getonly"), ROUTE_BAD_METHOD);
    T_EQ_INT(g_m.allow, RM(HTTP_M_GET));
    /* 405: the path exists for other methods. */
    T_EQ_INT(go(HTTP_M_POST, "/health"), ROUTE_BAD_METHOD);
    T_CHECK(g_m.rt == NULL);
    T_EQ_INT(g_m.nparams, 0);
    T_EQ_INT(g_m.allow, RM_GET);
    T_EQ_INT(router_allow_str(g_m.allow, allow, sizeof allow), 9);
    T_EQ_STR(allow, "GET, HEAD");
    T_EQ_INT(go(HTTP_M_DELETE, "/api/v1/bots"), ROUTE_BAD_METHOD);
    T_EQ_INT(g_m.allow, RM_GET | RM(HTTP_M_POST));
    (void)router_allow_str(g_m.allow, allow, sizeof allow);
    T_EQ_STR(allow, "GET, HEAD, POST");
    /* The mask collects every row that matches the path. */
    T_EQ_INT(go(HTTP_M_PATCH, "/api/v1/bots/new"), ROUTE_BAD_METHOD);
    T_EQ_INT(g_m.allow, RM_GET | RM(HTTP_M_DELETE));
    (void)router_allow_str(g_m.allow, allow, sizeof allow);
    T_EQ_STR(allow, "GET, HEAD, DELETE");
    T_EQ_INT(go(HTTP_M_OTHER, "/health"), ROUTE_BAD_METHOD);
    T_EQ_INT(go(HTTP_M_OPTIONS, "/files/a"), ROUTE_BAD_METHOD);
    T_EQ_INT(go(HTTP_M_POST, "/nowhere"), ROUTE_NOT_FOUND);
    T_EQ_INT(g_m.allow, 0);
    /* An empty table. */
    T_EQ_INT(router_compile(&g_rt2, g_table, 0u), ST_OK);
    T_EQ_INT(router_match(&g_rt2, HTTP_M_GET, STRV_LIT("/health"), g_pbuf, sizeof g_pbuf, &g_m),
             ROUTE_NOT_FOUND);
    T_EQ_INT(router_match(&g_rt2, HTTP_M_GET, STRV_LIT("/"), g_pbuf, sizeof g_pbuf, &g_m),
             ROUTE_NOT_FOUND);
}

static void test_allow_str(void)
{
    char buf[64];
    const uint32_t all = RM_GET | RM(HTTP_M_POST) | RM(HTTP_M_PUT) | RM(HTTP_M_PATCH) |
                         RM(HTTP_M_DELETE) | RM(HTTP_M_OPTIONS);
    T_EQ_INT(router_allow_str(all, buf, sizeof buf), 44);
    T_EQ_STR(buf, "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
    T_EQ_INT(router_allow_str(RM(HTTP_M_POST), buf, sizeof buf), 4);
    T_EQ_STR(buf, "POST");
    T_EQ_INT(router_allow_str(RM(HTTP_M_DELETE) | RM(HTTP_M_PUT), buf, sizeof buf), 11);
    T_EQ_STR(buf, "PUT, DELETE");
    T_EQ_INT(router_allow_str(0u, buf, sizeof buf), 0);
    T_EQ_STR(buf, "");
    T_EQ_INT(router_allow_str(RM(HTTP_M_OTHER), buf, sizeof buf), 0);
    T_EQ_STR(buf, "");
    /* Small buffers: whole names only, always NUL-terminated. */
    T_EQ_INT(router_allow_str(RM_GET, buf, 10u), 9);
    T_EQ_STR(buf, "GET, HEAD");
    T_EQ_INT(router_allow_str(RM_GET, buf, 9u), 3);
    T_EQ_STR(buf, "GET");
    T_EQ_INT(router_allow_str(RM_GET, buf, 4u), 3);
    T_EQ_INT(router_allow_str(RM_GET, buf, 3u), 0);
    T_EQ_STR(buf, "");
    T_EQ_INT(router_allow_str(RM_GET, buf, 1u), 0);
    T_EQ_STR(buf, "");
    T_EQ_INT(router_allow_str(RM_GET, NULL, 0u), 0);
}

/* ---- compiling ------------------------------------------------------------ */

static char g_pat[CFG_ROUTER_MAX_LITERALS + 2][16];
static route g_big[CFG_ROUTER_MAX_ROUTES + 1];

static void test_compile_rejects(void)
{
    static const route empty[] = { { RM_GET, "", h_root, 0u } };
    static const route relative[] = { { RM_GET, "health", h_root, 0u } };
    static const route nul[] = { { RM_GET, NULL, h_root, 0u } };
    static const route mid_tail[] = { { RM_GET, "/health", h_health, 0u },
                                      { RM_GET, "/a/*/b", h_root, 0u } };
    static const route two_tails[] = { { RM_GET, "/*/*", h_root, 0u } };
    static const route star_lit[] = { { RM_GET, "/a*/x*y/**", h_root, 0u } };
    T_EQ_INT(router_compile(&g_rt2, empty, 1u), ST_INVAL);
    T_EQ_INT(router_compile(&g_rt2, relative, 1u), ST_INVAL);
    T_EQ_INT(router_compile(&g_rt2, nul, 1u), ST_INVAL);
    T_EQ_INT(router_compile(&g_rt2, mid_tail, 2u), ST_INVAL);
    /* A table that failed matches nothing, not even its good rows. */
    T_EQ_INT(router_match(&g_rt2, HTTP_M_GET, STRV_LIT("/health"), g_pbuf, sizeof g_pbuf, &g_m),
             ROUTE_NOT_FOUND);
    T_EQ_INT(router_compile(&g_rt2, two_tails, 1u), ST_INVAL);
    /* '*' is a tail only as a whole segment. */
    T_EQ_INT(router_compile(&g_rt2, star_lit, 1u), ST_OK);
    T_EQ_INT(router_match(&g_rt2, HTTP_M_GET, STRV_LIT("/a*/x*y/**"), g_pbuf, sizeof g_pbuf,
                          &g_m),
             ROUTE_FOUND);
    T_EQ_INT(g_m.nparams, 0);
    T_EQ_INT(router_match(&g_rt2, HTTP_M_GET, STRV_LIT("/a*/x*y/z"), g_pbuf, sizeof g_pbuf,
                          &g_m),
             ROUTE_NOT_FOUND);
}

static void test_compile_limits(void)
{
    char deep[(2 * CFG_ROUTER_MAX_SEGS) + 4];
    char path[(2 * CFG_ROUTER_MAX_SEGS) + 4];
    size_t i;
    /* Segments: CFG_ROUTER_MAX_SEGS fit, one more does not. */
    for (i = 0u; i < (size_t)CFG_ROUTER_MAX_SEGS; i++) {
        deep[2u * i] = '/';
        deep[(2u * i) + 1u] = 's';
    }
    deep[2u * CFG_ROUTER_MAX_SEGS] = '\0';
    memcpy(path, deep, sizeof path);
    g_big[0] = (route){ RM_GET, deep, h_root, 0u };
    T_EQ_INT(router_compile(&g_rt2, g_big, 1u), ST_OK);
    T_EQ_INT(go_table(&g_rt2, HTTP_M_GET, path), ROUTE_FOUND);
    strcat(path, "/s");
    T_EQ_INT(go_table(&g_rt2, HTTP_M_GET, path), ROUTE_NOT_FOUND);
    strcat(deep, "/s");
    T_EQ_INT(router_compile(&g_rt2, g_big, 1u), ST_TOOBIG);
    deep[(2u * CFG_ROUTER_MAX_SEGS) + 1u] = '*';     /* the tail is a segment too */
    T_EQ_INT(router_compile(&g_rt2, g_big, 1u), ST_TOOBIG);
    deep[2u * CFG_ROUTER_MAX_SEGS] = '\0';
    deep[(2u * CFG_ROUTER_MAX_SEGS) - 1u] = '*';
    T_EQ_INT(router_compile(&g_rt2, g_big, 1u), ST_OK);
    T_EQ_INT(go_table(&g_rt2, HTTP_M_GET, path), ROUTE_FOUND);    /* one segment deeper */
    T_EQ_INT(g_m.nparams, 1);
    T_EQ_MEM(g_m.params[0].p, g_m.params[0].n, "s/s");

    /* Rows: CFG_ROUTER_MAX_ROUTES fit (the last one's bit is used), one more
     * does not. */
    for (i = 0u; i < (size_t)CFG_ROUTER_MAX_ROUTES; i++) {
        g_big[i] = (route){ RM(HTTP_M_POST), "/{a}", h_create, 0u };
    }
    g_big[CFG_ROUTER_MAX_ROUTES - 1] = (route){ RM_GET, "/{a}", h_list, 0u };
    g_big[CFG_ROUTER_MAX_ROUTES] = (route){ RM(HTTP_M_PUT), "/{a}", h_new, 0u };
    T_EQ_INT(router_compile(&g_rt2, g_big, CFG_ROUTER_MAX_ROUTES), ST_OK);
    T_EQ_INT(go_table(&g_rt2, HTTP_M_GET, "/z"), ROUTE_FOUND);
    T_CHECK(g_m.rt == &g_big[CFG_ROUTER_MAX_ROUTES - 1]);
    T_EQ_MEM(g_m.params[0].p, g_m.params[0].n, "z");
    T_EQ_INT(go_table(&g_rt2, HTTP_M_POST, "/z"), ROUTE_FOUND);
    T_CHECK(g_m.rt == &g_big[0]);
    T_EQ_INT(go_table(&g_rt2, HTTP_M_PUT, "/z"), ROUTE_BAD_METHOD);
    T_EQ_INT(g_m.allow, RM_GET | RM(HTTP_M_POST));
    T_EQ_INT(router_compile(&g_rt2, g_big, CFG_ROUTER_MAX_ROUTES + 1), ST_TOOBIG);

    /* Literals: one per distinct (depth, text); a text repeated at one
     * depth is one, at two depths two. */
    for (i = 0u; i < (size_t)CFG_ROUTER_MAX_LITERALS; i++) {
        (void)snprintf(g_pat[i], sizeof g_pat[i], "/l%u", (unsigned)i);
        g_big[i] = (route){ RM_GET, g_pat[i], h_root, 0u };
    }
    g_big[CFG_ROUTER_MAX_LITERALS] = (route){ RM(HTTP_M_POST), "/l0", h_create, 0u };
    T_EQ_INT(router_compile(&g_rt2, g_big, CFG_ROUTER_MAX_LITERALS + 1), ST_OK);
    T_EQ_INT(go_table(&g_rt2, HTTP_M_POST, "/l0"), ROUTE_FOUND);
    T_CHECK(g_m.rt == &g_big[CFG_ROUTER_MAX_LITERALS]);
    T_EQ_INT(go_table(&g_rt2, HTTP_M_DELETE, "/l0"), ROUTE_BAD_METHOD);
    T_EQ_INT(g_m.allow, RM_GET | RM(HTTP_M_POST));
    g_big[CFG_ROUTER_MAX_LITERALS] = (route){ RM(HTTP_M_POST), "/{x}/l0", h_create, 0u };
    T_EQ_INT(router_compile(&g_rt2, g_big, CFG_ROUTER_MAX_LITERALS + 1), ST_TOOBIG);
    g_big[CFG_ROUTER_MAX_LITERALS] = (route){ RM(HTTP_M_POST), "/x", h_create, 0u };
    T_EQ_INT(router_compile(&g_rt2, g_big, CFG_ROUTER_MAX_LITERALS + 1), ST_TOOBIG);
}

/* ---- every family's table against the reference ----------------------------- */

/* Values for {param} and for the tail, by variant: plain, encoded, an
 * encoded '/', a '%' kept, malformed, longer than the parameter buffer
 * (CFG_HTTP_PARAM_BYTES, 64 in unit builds) with two of them. */
static const char *const k_param_vals[] = {
    "p1", "a%20b", "%2Fetc%2fpasswd", "%253", "%zz", "0123456789012345678901234567890123",
    "%", "new", "-",
};
static const char *const k_tail_vals[] = {
    "t/u", "", "x%20y/z/", "%41", "%", "0123456789012345678901234567890123456789012345678901234567890123456789",
    "a//b", "/", "%2",
};
#define NVARIANTS (sizeof k_param_vals / sizeof k_param_vals[0])
_Static_assert(sizeof k_param_vals == sizeof k_tail_vals, "one tail per variant");

/* The pattern with its parameters filled (variant v); its length. */
static size_t fill(const char *pattern, size_t v, char *buf, size_t cap)
{
    size_t len = 0u;
    const char *p = pattern;
    while (*p != '\0') {
        const char *e = p + 1;
        const char *text = NULL;
        size_t tn;
        while ((*e != '\0') && (*e != '/')) {
            e++;
        }
        tn = (size_t)(e - p - 1);
        if ((tn >= 2u) && (p[1] == '{') && (e[-1] == '}')) {
            text = k_param_vals[v];
        } else if ((tn == 1u) && (p[1] == '*')) {
            text = k_tail_vals[v];
        } else {
            text = NULL;
        }
        if (text != NULL) {
            tn = strlen(text);
        }
        if ((len + 1u + tn + 1u) > cap) {
            break;
        }
        buf[len++] = '/';
        memcpy(buf + len, (text != NULL) ? text : (p + 1), tn);
        len += tn;
        p = e;
    }
    buf[len] = '\0';
    return len;
}

/* Every family's compiled tables (main compiles them). */
static router_table g_fam_rt[FAM_COUNT];
static st_t g_fam_st[FAM_COUNT];

static void compile_families(void)
{
    size_t f;
    for (f = 0u; f < (size_t)FAM_COUNT; f++) {
        const fam_desc *d = fam_list[f];
        g_fam_st[f] = (d->routes != NULL)
                          ? router_compile(&g_fam_rt[f], d->routes->routes, d->routes->n)
                          : ST_NOTFOUND;
    }
}

static void test_families_compile(void)
{
    size_t f;
    for (f = 0u; f < (size_t)FAM_COUNT; f++) {
        /* unit builds have every family */
        T_CHECK(fam_list[f]->built);
        T_EQ_INT(g_fam_st[f], ST_OK);
        T_CHECK(fam_list[f]->routes->n > 0u);
    }
}

static void test_families_health(void)
{
    size_t f;
    char allow[64];
    for (f = 0u; f < (size_t)FAM_COUNT; f++) {
        T_EQ_INT(go_table(&g_fam_rt[f], HTTP_M_GET, "/health"), ROUTE_FOUND);
        T_CHECK(g_m.rt == &fam_list[f]->routes->routes[0]);
        T_EQ_INT(g_m.rt->flags & ROUTE_OPEN, ROUTE_OPEN);
        T_EQ_INT(go_table(&g_fam_rt[f], HTTP_M_HEAD, "/health"), ROUTE_FOUND);
        T_EQ_INT(go_table(&g_fam_rt[f], HTTP_M_POST, "/health"), ROUTE_BAD_METHOD);
        (void)router_allow_str(g_m.allow, allow, sizeof allow);
        T_EQ_STR(allow, "GET, HEAD");
        T_EQ_INT(go_table(&g_fam_rt[f], HTTP_M_GET, "/health/"), ROUTE_NOT_FOUND);
        T_EQ_INT(go_table(&g_fam_rt[f], HTTP_M_GET, "//health"), ROUTE_NOT_FOUND);
        T_EQ_INT(go_table(&g_fam_rt[f], HTTP_M_GET, "/nowhere"), ROUTE_NOT_FOUND);
    }
}

/* Every row of every family, each variant of its parameters, as is, with a
 * trailing slash, a doubled first slash, a doubled last slash and without
 * its last segment: for every method, the compiled answer is the
 * reference's. */
static void test_families_every_row(void)
{
    size_t f;
    size_t found_rows = 0u;
    size_t rows = 0u;
    for (f = 0u; f < (size_t)FAM_COUNT; f++) {
        const route *table = fam_list[f]->routes->routes;
        size_t n = fam_list[f]->routes->n;
        const router_table *t = &g_fam_rt[f];
        size_t r;
        for (r = 0u; r < n; r++) {
            size_t v;
            bool reached = false;
            rows++;
            for (v = 0u; v < NVARIANTS; v++) {
                char path[256];
                char alt[260];
                size_t len = fill(table[r].pattern, v, path, sizeof path);
                size_t last = len;
                route_match_t ref;
                size_t i;
                T_CHECK(same_all_methods(t, table, n, (strv){ path, len }));
                /* The row's own methods reach it, or an earlier row. */
                for (i = 0u; i < NMETHODS; i++) {
                    if (((table[r].methods & RM(k_methods[i])) != 0u) &&
                        (ref_match(table, n, k_methods[i], (strv){ path, len }, g_pbuf,
                                   sizeof g_pbuf, &ref) == ROUTE_FOUND) &&
                        (ref.rt <= &table[r])) {
                        reached = true;
                    }
                }
                (void)snprintf(alt, sizeof alt, "%s/", path);
                T_CHECK(same_all_methods(t, table, n, strv_from_cstr(alt)));
                (void)snprintf(alt, sizeof alt, "/%s", path);
                T_CHECK(same_all_methods(t, table, n, strv_from_cstr(alt)));
                while ((last > 0u) && (path[last - 1u] != '/')) {
                    last--;
                }
                if (last > 0u) {
                    (void)snprintf(alt, sizeof alt, "%.*s/%s", (int)last, path, path + last);
                    T_CHECK(same_all_methods(t, table, n, strv_from_cstr(alt)));
                    T_CHECK(same_all_methods(t, table, n, (strv){ path, last - 1u }));
                }
            }
            if (reached) {
                found_rows++;
            }
        }
    }
    /* Every row of the shipped tables is reachable (none has more
     * parameters than the unit builds' 2), and every path of a row was
     * compared. */
    T_EQ_INT(found_rows, rows);
    T_CHECK(g_found > 0);
}

/* ---- random paths of the tables' segments ----------------------------------- */

static uint32_t g_rng = 0x2545f491u;

static uint32_t rnd(uint32_t below)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 17;
    g_rng ^= g_rng << 5;
    return g_rng % below;
}

#define MAX_WORDS 256
static strv g_words[MAX_WORDS];
static size_t g_nwords;

static void add_word(strv w)
{
    size_t i;
    for (i = 0u; i < g_nwords; i++) {
        if (strv_eq(g_words[i], w)) {
            return;
        }
    }
    if (g_nwords < MAX_WORDS) {
        g_words[g_nwords++] = w;
    }
}

static void add_words_of(const route *table, size_t n)
{
    size_t r;
    for (r = 0u; r < n; r++) {
        const char *p = table[r].pattern;
        while (*p == '/') {
            const char *e = p + 1;
            while ((*e != '\0') && (*e != '/')) {
                e++;
            }
            add_word((strv){ p + 1, (size_t)(e - p - 1) });
            p = e;
        }
    }
}

/* A path: segments from the tables and the parameter values, sometimes
 * empty, sometimes without the leading '/', sometimes with a trailing one;
 * or a row's pattern filled and then one segment swapped. */
static size_t random_path(char *buf, size_t cap, const route *table, size_t n)
{
    size_t len = 0u;
    if ((n > 0u) && (rnd(2u) == 0u)) {
        char tmp[256];
        size_t tl = fill(table[rnd((uint32_t)n)].pattern, rnd((uint32_t)NVARIANTS), tmp,
                         sizeof tmp);
        size_t cut = rnd((uint32_t)tl + 1u);
        strv w = g_words[rnd((uint32_t)g_nwords)];
        /* swap the text after position cut up to the next '/' */
        size_t e = cut;
        while ((e < tl) && (tmp[e] != '/')) {
            e++;
        }
        if ((cut + w.n + (tl - e) + 1u) <= cap) {
            memcpy(buf, tmp, cut);
            len = cut;
            if (rnd(3u) != 0u) {
                memcpy(buf + len, w.p, w.n);
                len += w.n;
                memcpy(buf + len, tmp + e, tl - e);
                len += tl - e;
            } else {
                memcpy(buf + len, tmp + cut, tl - cut);   /* unchanged */
                len += tl - cut;
            }
        }
    } else {
        size_t nseg = rnd(CFG_ROUTER_MAX_SEGS + 3u);
        size_t i;
        for (i = 0u; i < nseg; i++) {
            const char *text;
            size_t tn;
            uint32_t pick = rnd(10u);
            if (pick < 6u) {
                strv w = g_words[rnd((uint32_t)g_nwords)];
                text = w.p;
                tn = w.n;
            } else if (pick < 9u) {
                text = k_param_vals[rnd((uint32_t)NVARIANTS)];
                tn = strlen(text);
            } else {
                text = "";
                tn = 0u;
            }
            if ((len + 1u + tn + 1u) > cap) {
                break;
            }
            if ((i > 0u) || (rnd(8u) != 0u)) {
                buf[len++] = '/';
            }
            memcpy(buf + len, text, tn);
            len += tn;
        }
    }
    if ((rnd(6u) == 0u) && ((len + 2u) <= cap)) {
        buf[len++] = '/';
    }
    buf[len] = '\0';
    return len;
}

static void test_random_paths(void)
{
    size_t f;
    size_t i;
    bool ok = true;
    long found0 = g_found;
    add_words_of(g_table, NROUTES);
    for (f = 0u; f < (size_t)FAM_COUNT; f++) {
        add_words_of(fam_list[f]->routes->routes, fam_list[f]->routes->n);
    }
    for (i = 0u; i < NVARIANTS; i++) {
        add_word(strv_from_cstr(k_param_vals[i]));
    }
    add_word(STRV_LIT(""));
    T_CHECK(g_nwords > 20u);
    for (i = 0u; i < 4000u; i++) {
        char path[300];
        size_t len;
        size_t k = rnd(FAM_COUNT + 1u);
        if (k == (size_t)FAM_COUNT) {
            len = random_path(path, sizeof path, g_table, NROUTES);
            ok = same_all_methods(&g_rt, g_table, NROUTES, (strv){ path, len }) && ok;
        } else {
            const route *table = fam_list[k]->routes->routes;
            size_t n = fam_list[k]->routes->n;
            len = random_path(path, sizeof path, table, n);
            ok = same_all_methods(&g_fam_rt[k], table, n, (strv){ path, len }) && ok;
        }
    }
    T_CHECK(ok);
    /* the generator reaches rows, not only 404s */
    T_CHECK((g_found - found0) > 1000);
}

/* The unit test's own table (tails, several parameters, a row with more
 * parameters than allowed) and a small buffer, against the reference. */
static void test_own_table_against_ref(void)
{
    static const char *const paths[] = {
        "/files/a/b", "/files/", "/files", "/a/x/b/", "/a/x/b/c/d", "/a//b/c", "/p/1/2/3",
        "/api/v1/bots/new", "/api/v1/bots/%41", "/api/v1/bots/b/soul/versions/%zz",
        "/getonly", "/", "//", "", "*", "/health/", "/api/v1/bots//",
    };
    size_t i;
    size_t k;
    for (i = 0u; i < (sizeof paths / sizeof paths[0]); i++) {
        T_CHECK(same_all_methods(&g_rt, g_table, NROUTES, strv_from_cstr(paths[i])));
        for (k = 0u; k < NMETHODS; k++) {
            T_CHECK(same_as_ref(&g_rt, g_table, NROUTES, k_methods[k], strv_from_cstr(paths[i]),
                                2u));
        }
    }
}

int main(void)
{
    if (router_compile(&g_rt, g_table, NROUTES) != ST_OK) {
        printf("router: cannot compile the test table\n");
        return 1;
    }
    compile_families();
    T_RUN(test_literal);
    T_RUN(test_trailing_slash_and_empty_segments);
    T_RUN(test_params);
    T_RUN(test_tail);
    T_RUN(test_root_tail);
    T_RUN(test_pct_decode);
    T_RUN(test_param_buffer);
    T_RUN(test_methods);
    T_RUN(test_allow_str);
    T_RUN(test_compile_rejects);
    T_RUN(test_compile_limits);
    T_RUN(test_families_compile);
    T_RUN(test_families_health);
    T_RUN(test_families_every_row);
    T_RUN(test_random_paths);
    T_RUN(test_own_table_against_ref);
    return t_done("router");
}
