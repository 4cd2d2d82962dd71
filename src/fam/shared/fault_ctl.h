/*
 * fault_ctl.h - the fault-injection control channel (debug builds only).
 *
 * With `diag.faults = true` (a key that exists only when CFG_FAULT is
 * compiled in, and refused at startup unless every listener is bound to a
 * loopback address), every listener answers, before routing and auth:
 *
 *   POST /_fault  {"kind":"pool"|"heap"|"sqlite"|"timer"|"slot", "op":NAME,
 *                  "nth":N, "after":BOOL}
 *                 arms one allocation fault (core/fault.h; op is the pool,
 *                 heap or slot table name, "" or absent for all of the
 *                 kind), or
 *                 {"kind":"os", "op":OP, "nth":N, "after":BOOL, "err":ERR}
 *                 one OS fault through port_fault_arm (port.h). Arming one
 *                 disarms the other. 200 {"armed":true}; 400 for a bad
 *                 request; 501 {"error":...} when the port has no fault
 *                 table (port_fault_arm answered ST_UNSUPPORTED).
 *   DELETE /_fault  disarms both; 200 with the counts below.
 *   GET /_fault   200 {"alloc_fired":N, "os_fired":N}: faults injected
 *                 since the last arm.
 *
 * The channel's own request runs with allocation faults suspended. In a
 * release build (CFG_FAULT 0) the calls below are constants and /_fault
 * is an ordinary unknown path.
 */
#ifndef ROOST_FAULT_CTL_H
#define ROOST_FAULT_CTL_H

#include <stdbool.h>

#include "config.h"
#include "core/status.h"
#include "http/server.h"

/* At startup, once per listener to open: remembers enabled, and refuses
 * (ST_INVAL, logged) a listener on host that is not loopback while enabled.
 * ST_OK in a release build. */
st_t fault_ctl_listener(bool enabled, const char *host);
#if CFG_FAULT
/* A service's intercept (http_service.intercept, set when diag.faults is
 * on): true when this was a /_fault request (answered). */
bool fault_ctl_handle(hctx *h);
#endif

#endif
