/*
 * tloop.h - driving the real event loop from a unit test: turn it for a
 * while, and open a loopback client to a listener.
 */
#ifndef ROOST_TEST_TLOOP_H
#define ROOST_TEST_TLOOP_H

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core/clock.h"
#include "net/conn.h"

/* Turn the loop for ms milliseconds, and at least three turns (a test
 * process descheduled for longer than ms on a loaded machine still gets its
 * I/O done). */
static inline void tl_pump(unsigned ms)
{
    uint64_t end = clock_mono_ms() + ms;
    unsigned turns = 0u;
    while ((turns < 3u) || (clock_mono_ms() < end)) {
        net_turn(5);
        turns++;
    }
}

/* A client connected to l (TCP_NODELAY, so frames written one by one do not
 * wait for the server's delayed ACK), accepted by the loop. */
static inline int tl_client(const listener *l)
{
    struct sockaddr_in a;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    (void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(l->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("connect");
    }
    tl_pump(20);   /* let the loop accept it */
    return s;
}

/* Read everything the server sends on s while the loop turns for ms, into
 * buf (NUL-terminated); returns the bytes read. */
static inline size_t tl_drain(int s, char *buf, size_t cap, unsigned ms)
{
    size_t got = 0u;
    uint64_t end = clock_mono_ms() + ms;
    while (clock_mono_ms() < end) {
        ssize_t k;
        net_turn(2);
        k = recv(s, buf + got, cap - got - 1u, MSG_DONTWAIT);
        if (k > 0) {
            got += (size_t)k;
        }
    }
    buf[got] = '\0';
    return got;
}

#endif
