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
    /* cppcheck-suppress misra-c2012-11.4 ; the address is only measured for alignment */
    uintptr_t start = (uintptr_t)(a->base + a->used);
    uintptr_t aligned;
    size_t pad;
    unsigned char *obj;
    ASSERT((align != 0u) && ((align & (align - 1u)) == 0u));
    aligned = (start + (uintptr_t)(align - 1u)) & ~(uintptr_t)(align - 1u);
    pad = (size_t)(aligned - start);
    if (a->sealed || (pad > (a->cap - a->used)) || (n > (a->cap - a->used - pad))) {
        a->fails++;
        return NULL;
    }
    obj = a->base + a->used + pad;
    a->used += pad + n;
    (void)memset(obj, 0, n);
    return obj;
}

void arena_seal(arena_t *a)
{
    a->sealed = true;
}
