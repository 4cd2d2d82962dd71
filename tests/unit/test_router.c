/*
 * test_router.c - route matching, parameters, 405 + Allow, router_allow_str.
 *
 * Built with tests/unit/tiny_config.h: CFG_HTTP_MAX_PARAMS is 2.
 */
#include <string.h>

#include "config.h"
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

static route_result go(http_method m, const char *path)
{
    memset(&g_m, 0xa5, sizeof g_m);
    return router_match(g_table, NROUTES, m, strv_from_cstr(path), g_pbuf, sizeof g_pbuf, &g_m);
}

static route_result go_cap(http_method m, const char *path, size_t pcap)
{
    memset(&g_m, 0xa5, sizeof g_m);
    return router_match(g_table, NROUTES, m, strv_from_cstr(path), g_pbuf, pcap, &g_m);
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
    T_EQ_INT(router_match(all, 1u, HTTP_M_GET, STRV_LIT("/"), g_pbuf, sizeof g_pbuf, &m),
             ROUTE_FOUND);
    T_EQ_INT(m.nparams, 1);
    T_EQ_INT(m.params[0].n, 0);
    T_EQ_INT(router_match(all, 1u, HTTP_M_GET, STRV_LIT("/a/b"), g_pbuf, sizeof g_pbuf, &m),
             ROUTE_FOUND);
    T_EQ_MEM(m.params[0].p, m.params[0].n, "a/b");
    /* Only a path that starts with '/' has a tail: not "*" (OPTIONS *), not "". */
    T_EQ_INT(router_match(all, 1u, HTTP_M_OPTIONS, STRV_LIT("*"), g_pbuf, sizeof g_pbuf, &m),
             ROUTE_NOT_FOUND);
    T_EQ_INT(router_match(all, 1u, HTTP_M_GET, STRV_LIT("ab"), g_pbuf, sizeof g_pbuf, &m),
             ROUTE_NOT_FOUND);
    T_EQ_INT(router_match(all, 1u, HTTP_M_GET, STRV_LIT(""), g_pbuf, sizeof g_pbuf, &m),
             ROUTE_NOT_FOUND);
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
    T_EQ_INT(router_match(g_table, NROUTES, HTTP_M_GET, STRV_LIT("/health"), NULL, 0u, &g_m),
             ROUTE_FOUND);
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
    T_EQ_INT(router_match(g_table, 0u, HTTP_M_GET, STRV_LIT("/health"), g_pbuf, sizeof g_pbuf,
                          &g_m),
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

int main(void)
{
    T_RUN(test_literal);
    T_RUN(test_trailing_slash_and_empty_segments);
    T_RUN(test_params);
    T_RUN(test_tail);
    T_RUN(test_root_tail);
    T_RUN(test_pct_decode);
    T_RUN(test_param_buffer);
    T_RUN(test_methods);
    T_RUN(test_allow_str);
    return t_done("router");
}
