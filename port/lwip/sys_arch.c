/*
 * port/lwip/sys_arch.c - lwIP's OS layer (lwip/sys.h) on roost's one
 * thread, and the platform hooks of arch/cc.h.
 *
 * Implementation notes:
 * - There is no tcpip_thread and no other thread: an API call runs at once
 *   under LOCK_TCPIP_CORE, a mutex that does nothing. A semaphore is a
 *   counter and a mailbox a ring inside its netconn (arch/sys_arch.h).
 * - Non-blocking sockets and lwip_poll with timeout 0 only try a mailbox
 *   or find a semaphore already signalled. Where lwIP waits anyway (a close
 *   whose FIN found no memory, a connect), the wait pumps the stack
 *   (port_lwip_pump: frames in, timers) until the signal comes, for at most
 *   the timeout (10 s for "forever"), as tcpip_thread would have run
 *   meanwhile.
 * - sys_now is port_mono_us in milliseconds; randomness is port_entropy.
 * - No thread is ever started: sys_thread_new stops the process.
 */
#include <stdlib.h>
#include <string.h>

#include "lwip/opt.h"
#include "lwip/err.h"
#include "lwip/sys.h"

#include "port.h"
#include "lwip_int.h"

#define SYS_FOREVER_MS 10000u

void roost_lwip_assert(const char *msg, int line, const char *file)
{
    (void)line;
    port_stderr("roostd: lwIP: ", 14u);
    port_stderr(file, strlen(file));
    port_stderr(": ", 2u);
    port_stderr(msg, strlen(msg));
    port_stderr("\n", 1u);
    /* cppcheck-suppress misra-c2012-21.8 ; lwIP's assertion failed: stop loudly, as core/assert.c */
    abort();
}

uint32_t roost_lwip_rand(void)
{
    uint32_t v = 0u;
    (void)port_entropy(&v, sizeof(v));
    return v;
}

void sys_init(void)
{
}

u32_t sys_now(void)
{
    return (u32_t)(port_mono_us() / 1000u);
}

err_t sys_mutex_new(sys_mutex_t *mutex)
{
    mutex->valid = 1u;
    return ERR_OK;
}

void sys_mutex_lock(sys_mutex_t *mutex)
{
    (void)mutex;
}

void sys_mutex_unlock(sys_mutex_t *mutex)
{
    (void)mutex;
}

void sys_mutex_free(sys_mutex_t *mutex)
{
    mutex->valid = 0u;
}

err_t sys_sem_new(sys_sem_t *sem, u8_t count)
{
    sem->count = (uint32_t)count;
    sem->valid = 1u;
    return ERR_OK;
}

void sys_sem_signal(sys_sem_t *sem)
{
    sem->count++;
}

/* Pump the stack until *count is non-zero or timeout_ms (0: forever,
 * bounded) has passed. The milliseconds waited, or SYS_ARCH_TIMEOUT. */
static u32_t wait_count(const uint32_t *count, u32_t timeout_ms)
{
    uint64_t start = port_mono_us();
    uint64_t limit = (uint64_t)((timeout_ms == 0u) ? SYS_FOREVER_MS : timeout_ms) * 1000u;
    uint64_t spent = 0u;
    while ((*count == 0u) && (spent < limit)) {
        port_lwip_pump(10);
        spent = port_mono_us() - start;
    }
    return (*count != 0u) ? (u32_t)(spent / 1000u) : (u32_t)SYS_ARCH_TIMEOUT;
}

u32_t sys_arch_sem_wait(sys_sem_t *sem, u32_t timeout)
{
    u32_t r = wait_count(&sem->count, timeout);
    if (r != (u32_t)SYS_ARCH_TIMEOUT) {
        sem->count--;
    }
    return r;
}

void sys_sem_free(sys_sem_t *sem)
{
    sem->valid = 0u;
}

err_t sys_mbox_new(sys_mbox_t *mbox, int size)
{
    mbox->head = 0u;
    mbox->count = 0u;
    mbox->cap = ((size <= 0) || (size > SYS_MBOX_CAP)) ? (uint16_t)SYS_MBOX_CAP : (uint16_t)size;
    mbox->valid = 1u;
    return ERR_OK;
}

err_t sys_mbox_trypost(sys_mbox_t *mbox, void *msg)
{
    err_t r = ERR_MEM;
    if ((mbox->valid != 0u) && (mbox->count < mbox->cap)) {
        uint16_t tail = (uint16_t)((mbox->head + mbox->count) % mbox->cap);
        mbox->msg[tail] = msg;
        mbox->count++;
        r = ERR_OK;
    }
    return r;
}

err_t sys_mbox_trypost_fromisr(sys_mbox_t *mbox, void *msg)
{
    return sys_mbox_trypost(mbox, msg);
}

void sys_mbox_post(sys_mbox_t *mbox, void *msg)
{
    if (sys_mbox_trypost(mbox, msg) != (err_t)ERR_OK) {
        roost_lwip_assert("sys_mbox_post: mailbox full or gone", __LINE__, __FILE__);
    }
}

u32_t sys_arch_mbox_tryfetch(sys_mbox_t *mbox, void **msg)
{
    u32_t r = (u32_t)SYS_MBOX_EMPTY;
    if (mbox->count != 0u) {
        if (msg != NULL) {
            *msg = mbox->msg[mbox->head];
        }
        mbox->head = (uint16_t)((mbox->head + 1u) % mbox->cap);
        mbox->count--;
        r = 0u;
    }
    return r;
}

u32_t sys_arch_mbox_fetch(sys_mbox_t *mbox, void **msg, u32_t timeout)
{
    uint32_t n = mbox->count;
    u32_t r;
    /* wait_count reads a 32-bit counter; the mailbox's own is 16 bits */
    uint64_t start = port_mono_us();
    uint64_t limit = (uint64_t)((timeout == 0u) ? SYS_FOREVER_MS : timeout) * 1000u;
    while ((n == 0u) && ((port_mono_us() - start) < limit)) {
        port_lwip_pump(10);
        n = mbox->count;
    }
    if (n == 0u) {
        r = (u32_t)SYS_ARCH_TIMEOUT;
    } else {
        r = (u32_t)((port_mono_us() - start) / 1000u);
        (void)sys_arch_mbox_tryfetch(mbox, msg);
    }
    return r;
}

void sys_mbox_free(sys_mbox_t *mbox)
{
    mbox->valid = 0u;
}

sys_thread_t sys_thread_new(const char *name, lwip_thread_fn thread, void *arg, int stacksize,
                            int prio)
{
    (void)name;
    /* cppcheck-suppress misra-c2012-11.1 ; an unused parameter, discarded */
    (void)thread;
    (void)arg;
    (void)stacksize;
    (void)prio;
    roost_lwip_assert("sys_thread_new: roost runs lwIP on one thread", __LINE__, __FILE__);
    return 0;
}
