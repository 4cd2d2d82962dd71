/*
 * arena.h - bump allocators over caller-provided static storage.
 *
 * The init arena serves allocations made while roostd starts (parsed config,
 * route tables, prepared statement handles...). app seals it before the first
 * poll(): after arena_seal, arena_alloc returns NULL and counts a failure, so
 * a late allocation is a visible bug instead of hidden growth.
 */
#ifndef ROOST_ARENA_H
#define ROOST_ARENA_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

typedef struct {
    const char *name;
    unsigned char *base;
    size_t cap;
    size_t used;
    bool sealed;
    uint64_t fails;
} arena_t;

void arena_init(arena_t *a, const char *name, void *base, size_t cap);
/* align must be a power of two. NULL when sealed or out of room. */
void *arena_alloc(arena_t *a, size_t n, size_t align);
void arena_seal(arena_t *a);

#endif
