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

/* The linker script's symbols (cortexm.ld): addresses, not C objects. The
 * starts of .data's initial values in flash, of .data and of .bss are
 * indexed as arrays whose length the linker decides (words_between); the
 * ends and the top of the stack are only addresses. */
/* cppcheck-suppress misra-c2012-8.11 ; a linker symbol has no size to declare: the section's length is measured at run time (MISRA.md) */
extern uint32_t _sidata[];
/* cppcheck-suppress misra-c2012-8.11 ; as above */
extern uint32_t _sdata[];
/* cppcheck-suppress misra-c2012-8.11 ; as above */
extern uint32_t _sbss[];
extern uint32_t _edata;
extern uint32_t _ebss;
extern uint32_t _estack;

void Reset_Handler(void);
void Default_Handler(void);
int main(void);
void *_sbrk(ptrdiff_t incr);
int _write(int fd, const char *buf, int n);

/* CPACR (the Coprocessor Access Control Register, a System Control Block
 * register at a fixed address): bits 20-23 give full access to CP10 and
 * CP11, the FPU. */
#define CPACR_ADDR 0xE000ED88u
#define CPACR_CP10_CP11_FULL 0x00F00000u

/* The words from start up to end: two linker symbols that bound one
 * section, which C cannot subtract or compare as pointers (they point to
 * no common object). */
static size_t words_between(const uint32_t *start, const uint32_t *end)
{
    /* cppcheck-suppress misra-c2012-11.4 ; linker symbols bound a section by address: the bounds are measured as integers, no pointer is made from one (MISRA.md) */
    uintptr_t a = (uintptr_t)start;
    /* cppcheck-suppress misra-c2012-11.4 ; as above */
    uintptr_t b = (uintptr_t)end;
    return (b > a) ? (size_t)((b - a) / sizeof(uint32_t)) : 0u;
}

void Default_Handler(void)
{
    for (;;) {
    }
}

void Reset_Handler(void)
{
    size_t n_data = words_between(_sdata, &_edata);
    size_t n_bss = words_between(_sbss, &_ebss);
    size_t i;
    /* cppcheck-suppress misra-c2012-11.4 ; a memory-mapped register at its architectural address (MISRA.md) */
    volatile uint32_t *cpacr = (volatile uint32_t *)CPACR_ADDR;
    *cpacr |= CPACR_CP10_CP11_FULL;   /* the FPU, before any float */
    for (i = 0u; i < n_data; i++) {
        _sdata[i] = _sidata[i];
    }
    for (i = 0u; i < n_bss; i++) {
        _sbss[i] = 0u;
    }
    (void)main();
    Default_Handler();
}

typedef void (*vector_fn)(void);

/* The vector table: the initial stack pointer (an address, not a handler),
 * then the 15 system exceptions' handlers; a board adds its peripherals'
 * interrupts after them. A struct, so that the first entry keeps its data
 * pointer type: every entry is one 32-bit word. */
typedef struct {
    const uint32_t *sp;
    vector_fn handler[15];
} vector_table;

_Static_assert(sizeof(vector_table) == (16u * sizeof(uint32_t)), "a vector table entry is a 32-bit word");

__attribute__((section(".isr_vector"), used))
static const vector_table k_vectors = {
    &_estack,
    {
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
    }
};

int main(void)
{
    static char k_name[] = { 'r', 'o', 'o', 's', 't', 'd', '\0' };   /* app_main's argv is not const */
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
