#include "core/arena.h"

#include <string.h>

#include "core/assert.h"

void arena_init(arena_t *a, const char *name, void *base, size_t cap)
{
    a->name = name;
    a->base = (unsigned char *)base;
    a->cap = cap;
    a->used = 0u;
    a->sealed = false;
    a->fails = 0u;
}

void *arena_alloc(arena_t *a, size_t n, size_t align)
{
    uintptr_t start = (uintptr_t)(a->base + a->used);
    uintptr_t aligned;
    size_t pad;
    ASSERT((align != 0u) && ((align & (align - 1u)) == 0u));
    aligned = (start + (uintptr_t)(align - 1u)) & ~(uintptr_t)(align - 1u);
    pad = (size_t)(aligned - start);
    if (a->sealed || (pad > (a->cap - a->used)) || (n > (a->cap - a->used - pad))) {
        a->fails++;
        return NULL;
    }
    a->used += pad + n;
    memset((void *)aligned, 0, n);
    return (void *)aligned;
}

void arena_seal(arena_t *a)
{
    a->sealed = true;
}
