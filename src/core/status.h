/*
 * status.h - the one status enum of roost.
 *
 * 0 is success, every error is negative. Codes from the OS, sqlite, jsmn and
 * (later) curl are translated to these at their one wrapper and never leak
 * past it. status_str() names a code for logs.
 */
#ifndef ROOST_STATUS_H
#define ROOST_STATUS_H

#define ROOST_STATUS_MAP(X)                                              \
    X(ST_OK, 0, "ok")                                                    \
    X(ST_AGAIN, -1, "would block, try again")                            \
    X(ST_CLOSED, -2, "peer closed")                                      \
    X(ST_NOMEM, -3, "pool or arena exhausted")                           \
    X(ST_FULL, -4, "buffer full")                                        \
    X(ST_BAD, -5, "malformed input")                                     \
    X(ST_TOOBIG, -6, "too large")                                        \
    X(ST_RANGE, -7, "out of range")                                      \
    X(ST_NOTFOUND, -8, "not found")                                      \
    X(ST_IO, -9, "i/o error")                                            \
    X(ST_TIMEOUT, -10, "timed out")                                      \
    X(ST_UNSUPPORTED, -11, "unsupported")                                \
    X(ST_INVAL, -12, "invalid argument")                                 \
    X(ST_EXISTS, -13, "already exists")                                  \
    X(ST_DB, -14, "database error")                                      \
    X(ST_UTF8, -15, "invalid utf-8")                                     \
    X(ST_ADDRINUSE, -16, "address in use")                               \
    X(ST_PERM, -17, "permission denied")                                 \
    X(ST_INTERNAL, -18, "internal error")                                \
    X(ST_HTTP, -19, "peer answered an HTTP error")                       \
    X(ST_NOSPACE, -20, "no space left on the device")

typedef enum {
#define ROOST_STATUS_ENUM(name, value, text) name = (value),
    ROOST_STATUS_MAP(ROOST_STATUS_ENUM)
#undef ROOST_STATUS_ENUM
} st_t;

/* Never NULL; "unknown status" for values outside the map. */
const char *status_str(st_t st);

#endif
