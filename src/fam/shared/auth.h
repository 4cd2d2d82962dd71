/*
 * auth.h - API keys (spec README §3, Decision 3).
 *
 * Only the lowercase hex SHA-256 of a key is stored (table api_keys). The
 * hashes are loaded at init into a fixed table, and a presented key is hashed
 * and compared with every stored hash in constant time, so neither a match's
 * position nor a near-miss shows in the timing. last_used_at is written at
 * most once a minute per key (best effort).
 *
 * On the first start (no key stored) auth_init makes one: "roost_" + 64 hex
 * of 32 CSPRNG bytes, written with a newline to <data_dir>/api_key (0600,
 * atomically) and only then stored, so a crash in between leaves no key that
 * nobody can read; it is printed once on stdout. A key is never logged.
 */
#ifndef ROOST_AUTH_H
#define ROOST_AUTH_H

#include <stdbool.h>

#include "core/status.h"
#include "http/server.h"

#ifndef CFG_MAX_API_KEYS
#define CFG_MAX_API_KEYS 8
#endif

typedef enum { AUTH_OK = 0, AUTH_MISSING, AUTH_INVALID } auth_result;

/* Load the stored key hashes; generate the first key when there is none.
 * Needs the store open. */
st_t auth_init(const char *data_dir);
/* The key a request presents: Authorization: Bearer, then X-API-Key, then
 * (only when allow_query) ?api_key=. */
auth_result auth_check(const hctx *h, bool allow_query);
/* True for WebSocket upgrades and EventSource GETs, the requests that may
 * carry the key in the query string. */
bool auth_query_allowed(const hctx *h);
/* A bind address is loopback: 127.0.0.0/8, ::1, localhost. */
bool auth_host_is_loopback(const char *host);

#endif
