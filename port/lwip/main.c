/*
 * port/lwip/main.c - the lwIP port's entry point: takes the interface's
 * flags off the command line, then hands the rest to the portable app.
 *
 *   --lwip.tap=NAME          the TAP device (required to serve)
 *   --lwip.address=A.B.C.D/N lwIP's own IPv4 address and prefix
 *                            (default 192.168.7.2/24)
 *   --lwip.gateway=A.B.C.D   default route (default none)
 *
 * --help prints the app's help and these lines after it.
 */
#include <string.h>

#include "app/app.h"
#include "lwip_int.h"

extern char **environ;

#define MAIN_MAX_ARGS 256

static const char g_help[] =
    "\nlwIP port (this build's sockets are lwIP's, on a TAP device):\n"
    "  --lwip.tap=NAME                       the TAP device to attach (required)\n"
    "  --lwip.address=A.B.C.D/N              lwIP's address (192.168.7.2/24)\n"
    "  --lwip.gateway=A.B.C.D                default route (none)\n"
    "  Every listener binds that address, whatever F.host says.\n";

/* "A.B.C.D" (then '/' or the end) into out; the rest after it, or NULL. */
static const char *parse_ip4(const char *s, uint8_t out[4])
{
    const char *p = s;
    unsigned i;
    for (i = 0u; i < 4u; i++) {
        unsigned v = 0u;
        unsigned digits = 0u;
        while ((*p >= '0') && (*p <= '9') && (digits < 3u)) {
            v = (v * 10u) + (unsigned)(*p - '0');
            p++;
            digits++;
        }
        if ((digits == 0u) || (v > 255u)) {
            return NULL;
        }
        out[i] = (uint8_t)v;
        if (i < 3u) {
            if (*p != '.') {
                return NULL;
            }
            p++;
        }
    }
    return p;
}

static bool take_flag(const char *arg)
{
    port_lwip_conf *c = &g_port_lwip_conf;
    bool ok = true;
    if (strncmp(arg, "--lwip.tap=", 11u) == 0) {
        const char *v = &arg[11];
        ok = (strlen(v) > 0u) && (strlen(v) < sizeof(c->tap));
        if (ok) {
            (void)strcpy(c->tap, v);
        }
    } else if (strncmp(arg, "--lwip.address=", 15u) == 0) {
        const char *rest = parse_ip4(&arg[15], c->addr);
        unsigned prefix = 24u;
        if ((rest != NULL) && (*rest == '/')) {
            prefix = 0u;
            rest++;
            while ((*rest >= '0') && (*rest <= '9') && (prefix <= 32u)) {
                prefix = (prefix * 10u) + (unsigned)(*rest - '0');
                rest++;
            }
        }
        ok = (rest != NULL) && (*rest == '\0') && (prefix <= 32u);
        c->prefix = (uint8_t)prefix;
    } else if (strncmp(arg, "--lwip.gateway=", 15u) == 0) {
        const char *rest = parse_ip4(&arg[15], c->gw);
        ok = (rest != NULL) && (*rest == '\0');
    } else {
        ok = false;
    }
    return ok;
}

int main(int argc, char **argv)
{
    static char *args[MAIN_MAX_ARGS + 1];
    int n = 0;
    int i;
    bool help = false;
    int rc;
    const uint8_t def[4] = {192u, 168u, 7u, 2u};
    (void)memcpy(g_port_lwip_conf.addr, def, sizeof(def));
    g_port_lwip_conf.prefix = 24u;
    for (i = 0; (i < argc) && (n < MAIN_MAX_ARGS); i++) {
        if ((i > 0) && (strncmp(argv[i], "--lwip.", 7u) == 0)) {
            if (!take_flag(argv[i])) {
                port_stderr("roostd: bad lwIP flag (--help lists them): ", 43u);
                port_stderr(argv[i], strlen(argv[i]));
                port_stderr("\n", 1u);
                return 2;
            }
        } else {
            if ((strcmp(argv[i], "--help") == 0) || (strcmp(argv[i], "-h") == 0)) {
                help = true;
            }
            args[n] = argv[i];
            n++;
        }
    }
    args[n] = NULL;
    rc = app_main(n, args, (const char *const *)environ);
    if (help && (rc == 0)) {
        port_stdout(g_help, sizeof(g_help) - 1u);
    }
    return rc;
}
