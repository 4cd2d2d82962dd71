/*
 * pool.h - fixed pools of equal-sized objects.
 *
 * Storage and the free-index stack are static arrays declared by the caller
 * (see app/pools.def); a pool never grows. pool_get returns NULL when the pool
 * is exhausted and counts the failure, so every caller has an explicit answer
 * for "full" (503, close code 1013, a log line).
 */
#ifndef ROOST_POOL_H
#define ROOST_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *name;
    unsigned char *base;
    size_t obj_size;
    uint32_t count;
    uint32_t *free_stack;   /* count entries */
    uint32_t free_top;      /* number of free indices on the stack */
    uint32_t used;
    uint32_t high;          /* high-water mark of used */
    uint64_t fails;         /* pool_get calls that found it empty */
    size_t zero_bytes;      /* bytes pool_get clears (default: obj_size) */
} pool_t;

void pool_init(pool_t *p, const char *name, void *base, size_t obj_size,
               uint32_t count, uint32_t *free_stack);
/* pool_get clears only the first n bytes of an object (objects whose tail is
 * a large buffer that is always written before it is read). */
void pool_set_zero_prefix(pool_t *p, size_t n);
/* An object whose first zero_bytes are 0, or NULL when the pool is exhausted. */
void *pool_get(pool_t *p);
/* Return obj (which must have come from this pool) to the pool. */
void pool_put(pool_t *p, void *obj);
/* Registry of every pool and arena, for /metrics and --budget. */
void pool_register(pool_t *p);
size_t pool_registered(void);
const pool_t *pool_nth(size_t i);

/* Clear static storage p of n bytes for a (re)start: the first time it is
 * still as the loader left it (zero, untouched), so it is not written, and
 * pages nobody uses stay out of the resident set; later calls (tests that
 * start a module again) clear it. *used remembers which call this is. */
void static_zero(void *p, size_t n, bool *used);

uint32_t pool_index(const pool_t *p, const void *obj);
void *pool_at(const pool_t *p, uint32_t index);

#endif
