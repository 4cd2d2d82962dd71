/*
 * port/none/sendfile.c - port_send_file (port.h, "files") on a port whose
 * sockets cannot take a file directly: the lwIP port (lwIP has no
 * sendfile) and the Cortex-M port. port_send_file_supported is false, so
 * the server reads each chunk into tx instead; a call answers
 * ST_UNSUPPORTED. Those ports compile this file beside their own.
 */
#include "port.h"

bool port_send_file_supported(void)
{
    return false;
}

st_t port_send_file(port_sock s, port_file f, uint64_t off, size_t len, size_t *n)
{
    (void)s;
    (void)f;
    (void)off;
    (void)len;
    *n = 0u;
    return ST_UNSUPPORTED;
}
