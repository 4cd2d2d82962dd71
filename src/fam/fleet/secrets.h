/*
 * secrets.h - the fleet secrets (spec/fleet.md §5.7) for the rest of roost:
 * LLM provider keys stored through PUT /api/v1/secrets/{key}.
 *
 * Values are never logged and never leave through the API in clear; a
 * caller of secrets_lookup takes on the same rule.
 */
#ifndef ROOST_FLEET_SECRETS_H
#define ROOST_FLEET_SECRETS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/status.h"
#include "core/strv.h"

/* Longest secret key: ^[A-Za-z0-9_.-]{1,128}$. */
#define SECRETS_KEY_MAX 128u

/* True when key matches ^[A-Za-z0-9_.-]{1,128}$. */
bool secrets_key_ok(strv key);

/* Copy the value of secret `key` (a C string) into buf[0..cap), NUL-
 * terminated; *n (may be NULL) receives its length in bytes.
 *   ST_OK        found
 *   ST_NOTFOUND  no such secret (or key is not a valid secret key)
 *   ST_TOOBIG    the value needs more than cap - 1 bytes (buf holds "")
 *   ST_INVAL     buf NULL or cap 0
 *   other        storage errors (store.h)
 * The store must be open. */
st_t secrets_lookup(const char *key, char *buf, size_t cap, size_t *n);

#endif
