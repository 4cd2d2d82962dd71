#include "core/pool.h"

#include <string.h>

#include "core/assert.h"
#include "core/fault.h"

void pool_init(pool_t *p, const char *name, void *base, size_t obj_size,
               uint32_t count, uint32_t *free_stack)
{
    uint32_t i;
    p->name = name;
    p->base = (unsigned char *)base;
    p->obj_size = obj_size;
    p->count = count;
    p->free_stack = free_stack;
    /* Hand out low indices first: the stack top is index 0. */
    for (i = 0u; i < count; i++) {
        free_stack[i] = count - 1u - i;
    }
    p->free_top = count;
    p->used = 0u;
    p->high = 0u;
    p->fails = 0u;
    p->zero_bytes = obj_size;
}

void pool_set_zero_prefix(pool_t *p, size_t n)
{
    p->zero_bytes = (n < p->obj_size) ? n : p->obj_size;
}

void *pool_get(pool_t *p)
{
    void *obj;
    if ((p->free_top == 0u) || FAULT_HIT(FAULT_POOL, p->name)) {
        p->fails++;
        return NULL;
    }
    p->free_top--;
    obj = p->base + ((size_t)p->free_stack[p->free_top] * p->obj_size);
    (void)memset(obj, 0, p->zero_bytes);
    p->used++;
    if (p->used > p->high) {
        p->high = p->used;
    }
    return obj;
}

void pool_put(pool_t *p, void *obj)
{
    uint32_t idx = pool_index(p, obj);
    ASSERT(idx < p->count);
    ASSERT(p->free_top < p->count);
    if (NEVER((idx >= p->count) || (p->free_top >= p->count))) {
        return;
    }
    p->free_stack[p->free_top] = idx;
    p->free_top++;
    p->used--;
}

uint32_t pool_index(const pool_t *p, const void *obj)
{
    ptrdiff_t off = (const unsigned char *)obj - p->base;
    return (uint32_t)((size_t)off / p->obj_size);
}

void *pool_at(const pool_t *p, uint32_t index)
{
    ASSERT(index < p->count);
    return p->base + ((size_t)index * p->obj_size);
}

#define POOL_REGISTRY_MAX 32u
static pool_t *g_registry[POOL_REGISTRY_MAX];
static size_t g_nregistry;

void pool_register(pool_t *p)
{
    if (ALWAYS(g_nregistry < POOL_REGISTRY_MAX)) {
        g_registry[g_nregistry] = p;
        g_nregistry++;
    }
}

size_t pool_registered(void)
{
    return g_nregistry;
}

const pool_t *pool_nth(size_t i)
{
    return (i < g_nregistry) ? g_registry[i] : NULL;
}

void static_zero(void *p, size_t n, bool *used)
{
    if (*used) {
        (void)memset(p, 0, n);
    }
    *used = true;
}
