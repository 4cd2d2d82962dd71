/*
 * vendor/c-ares-socket-args.c - checks a cross build's c-ares configuration
 * (vendor/vendor.mk, VENDOR_HOST): the argument and return types of recv,
 * recvfrom and send that ares_config.h holds, redeclared against the
 * target's <sys/socket.h>. A cross configure takes these three answers
 * from the native configure of the same tree instead of compiling every
 * combination of types; the compiler rejects a redeclaration whose types
 * conflict, so an answer that does not hold for the target stops the build.
 * Compiled with -fsyntax-only, never linked.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include "ares_config.h"

extern RECV_TYPE_RETV recv(RECV_TYPE_ARG1, RECV_TYPE_ARG2, RECV_TYPE_ARG3, RECV_TYPE_ARG4);
extern RECVFROM_TYPE_RETV recvfrom(RECVFROM_TYPE_ARG1, RECVFROM_TYPE_ARG2 *, RECVFROM_TYPE_ARG3,
                                   RECVFROM_TYPE_ARG4, RECVFROM_QUAL_ARG5 RECVFROM_TYPE_ARG5 *,
                                   RECVFROM_TYPE_ARG6 *);
extern SEND_TYPE_RETV send(SEND_TYPE_ARG1, SEND_QUAL_ARG2 SEND_TYPE_ARG2, SEND_TYPE_ARG3,
                           SEND_TYPE_ARG4);
