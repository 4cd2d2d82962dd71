/*
 * thttp.h - an HTTP service on a loopback listener for unit tests that
 * drive the real loop and server (test_net, test_stream, test_pipeline):
 * filled as the app fills a family's service from its descriptor, with
 * the FastAPI error shape and 1 MiB body limits.
 */
#ifndef ROOST_TEST_THTTP_H
#define ROOST_TEST_THTTP_H

#include <stdio.h>

#include "fam/shared/fam.h"
#include "http/server.h"
#include "net/conn.h"

/* Compile routes into svc and listen on 127.0.0.1 (a free port) at *l;
 * false (said on stdout, under the suite's name) when either fails. */
static inline bool th_service(const char *suite, http_service *svc, const route *routes,
                              size_t n, listener **l)
{
    svc->family = "test";
    if (router_compile(&svc->router, routes, n) != ST_OK) {
        printf("%s: cannot compile the route table\n", suite);
        return false;
    }
    svc->error = fam_fastapi_error;
    svc->cors = CORS_STYLE_FASTAPI;
    fam_fastapi_setup(svc);
    svc->max_body = 1u << 20;
    svc->max_hook_body = 1u << 20;
    if (net_listen("test", "127.0.0.1", 0u, http_server_proto(), svc, l) != ST_OK) {
        printf("%s: cannot listen\n", suite);
        return false;
    }
    return true;
}

#endif
