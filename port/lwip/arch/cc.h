/*
 * port/lwip/arch/cc.h - lwIP's compiler and platform glue for roost: the
 * host C library's types, limits and errno; assertions that stop the
 * process with lwIP's message; randomness from port_entropy (sys_arch.c).
 */
#ifndef ROOST_LWIP_ARCH_CC_H
#define ROOST_LWIP_ARCH_CC_H

#include <stdint.h>
#include <stdlib.h>
#include <sys/time.h>

#define LWIP_PLATFORM_DIAG(x) do { } while (0)
void roost_lwip_assert(const char *msg, int line, const char *file);
#define LWIP_PLATFORM_ASSERT(x) roost_lwip_assert((x), __LINE__, __FILE__)
uint32_t roost_lwip_rand(void);
#define LWIP_RAND() roost_lwip_rand()

#endif
