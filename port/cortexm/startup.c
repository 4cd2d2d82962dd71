/*
 * port/cortexm/startup.c - reset to app_main on a Cortex-M4F.
 *
 * The vector table (the initial stack pointer, then the handlers; a board
 * adds its peripherals' interrupts after the 16 system entries), the reset
 * handler (FPU on, .data copied from flash, .bss zeroed, then main) and
 * main, which calls app_main as the Linux main does, with argv
 * {"roostd"} and an empty environment. Symbols come from cortexm.ld.
 *
 * newlib's system calls: _sbrk refuses (no system heap, DESIGN.md hard
 * property 1: a malloc anywhere fails instead of growing into the stack),
 * _write goes to the board console; the rest are libnosys' stubs.
 */
#include <stddef.h>
#include <stdint.h>

#include "app/app.h"
#include "board.h"

extern uint32_t _sidata;
extern uint32_t _sdata;
extern uint32_t _edata;
extern uint32_t _sbss;
extern uint32_t _ebss;
extern uint32_t _estack;

void Reset_Handler(void);
void Default_Handler(void);
int main(void);
void *_sbrk(ptrdiff_t incr);
int _write(int fd, const char *buf, int n);

void Default_Handler(void)
{
    for (;;) {
    }
}

void Reset_Handler(void)
{
    uint32_t *src = &_sidata;
    uint32_t *dst = &_sdata;
    /* CPACR: full access to CP10 and CP11 (the FPU), before any float */
    volatile uint32_t *cpacr = (volatile uint32_t *)0xE000ED88u;
    *cpacr |= (0xFu << 20);
    while (dst < &_edata) {
        *dst = *src;
        dst++;
        src++;
    }
    for (dst = &_sbss; dst < &_ebss; dst++) {
        *dst = 0u;
    }
    (void)main();
    Default_Handler();
}

typedef void (*vector_fn)(void);

/* The initial stack pointer is the first entry: an address, not a handler. */
__attribute__((section(".isr_vector"), used))
static const vector_fn k_vectors[16] = {
    (vector_fn)(uintptr_t)&_estack,   /* cppcheck-suppress misra-c2012-11.1 */
    Reset_Handler,
    Default_Handler,   /* NMI */
    Default_Handler,   /* HardFault */
    Default_Handler,   /* MemManage */
    Default_Handler,   /* BusFault */
    Default_Handler,   /* UsageFault */
    NULL, NULL, NULL, NULL,
    Default_Handler,   /* SVCall */
    Default_Handler,   /* DebugMonitor */
    NULL,
    Default_Handler,   /* PendSV */
    Default_Handler    /* SysTick */
};

int main(void)
{
    static char k_name[] = "roostd";
    static char *const k_argv[] = { k_name, NULL };
    static const char *const k_envp[] = { NULL };
    return app_main(1, k_argv, k_envp);
}

void *_sbrk(ptrdiff_t incr)
{
    (void)incr;
    return (void *)-1;
}

int _write(int fd, const char *buf, int n)
{
    if (n > 0) {
        board_console_write(fd, buf, (size_t)n);
    }
    return n;
}
