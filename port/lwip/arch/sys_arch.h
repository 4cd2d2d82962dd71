/*
 * port/lwip/arch/sys_arch.h - lwIP's OS primitives on one thread (sys_arch.c).
 *
 * A mailbox is a ring of SYS_MBOX_CAP pointers kept inside the structure
 * that holds it (a netconn: lwIP's own pool), a semaphore a counter, a
 * mutex nothing: there is no other thread to wait for, so nothing ever
 * blocks on them (port/lwip/README).
 */
#ifndef ROOST_LWIP_ARCH_SYS_ARCH_H
#define ROOST_LWIP_ARCH_SYS_ARCH_H

#include <stdint.h>

#define SYS_MBOX_CAP 16

typedef struct {
    void *msg[SYS_MBOX_CAP];
    uint16_t head;
    uint16_t count;
    uint16_t cap;
    uint8_t valid;
} sys_mbox_t;

typedef struct {
    uint32_t count;
    uint8_t valid;
} sys_sem_t;

typedef struct {
    uint8_t valid;
} sys_mutex_t;

typedef int sys_thread_t;

#define sys_mbox_valid(m) (((m) != NULL) && ((m)->valid != 0u))
#define sys_mbox_set_invalid(m) do { if ((m) != NULL) { (m)->valid = 0u; } } while (0)
#define sys_sem_valid(s) (((s) != NULL) && ((s)->valid != 0u))
#define sys_sem_set_invalid(s) do { if ((s) != NULL) { (s)->valid = 0u; } } while (0)
#define sys_mutex_valid(x) (((x) != NULL) && ((x)->valid != 0u))
#define sys_mutex_set_invalid(x) do { if ((x) != NULL) { (x)->valid = 0u; } } while (0)

#endif
