/*
 * bench/ceiling.c - the ceiling of bench/peers.py: a raw poll() responder
 * that does no parsing. Each read is scanned for request ends ("\r\n\r\n")
 * and answered with that many copies of one fixed keep-alive response, in
 * one send (so pipelined requests are batched). Nothing roost does can be
 * cheaper than this on the same kernel; it is a measuring stick, not a
 * server (no partial writes kept, no limits, no errors answered).
 *
 * Usage: ceiling PORT     (prints "ready" once listening)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXC 4096

static const char RESP[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                           "Content-Length: 15\r\n\r\n{\"status\":\"ok\"}";

int main(int argc, char **argv)
{
    static struct pollfd p[MAXC + 1];
    static char in[65536];
    static char out[65536];
    int n = 1;
    int one = 1;
    struct sockaddr_in a;
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (argc < 2) {
        fprintf(stderr, "usage: ceiling PORT\n");
        return 2;
    }
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)atoi(argv[1]));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 1024) != 0) {
        perror("ceiling: listen");
        return 1;
    }
    p[0].fd = l;
    p[0].events = POLLIN;
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        int i;
        if (poll(p, (nfds_t)n, -1) <= 0) {
            continue;
        }
        if (p[0].revents & POLLIN) {
            int c;
            while (n <= MAXC && (c = accept4(l, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                p[n].fd = c;
                p[n].events = POLLIN;
                p[n].revents = 0;
                n++;
            }
        }
        for (i = 1; i < n; i++) {
            ssize_t r;
            if (p[i].revents == 0) {
                continue;
            }
            r = read(p[i].fd, in, sizeof in);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN) {
                    continue;
                }
                close(p[i].fd);
                p[i] = p[n - 1];
                n--;
                i--;
                continue;
            } else {
                size_t k = 0, j, len = 0;
                for (j = 3; j < (size_t)r; j++) {
                    if (in[j] == '\n' && in[j - 1] == '\r' && in[j - 2] == '\n' && in[j - 3] == '\r') {
                        k++;
                    }
                }
                for (j = 0; j < k && len + sizeof RESP - 1 <= sizeof out; j++) {
                    memcpy(out + len, RESP, sizeof RESP - 1);
                    len += sizeof RESP - 1;
                }
                if (len > 0) {
                    (void)send(p[i].fd, out, len, MSG_NOSIGNAL);
                }
            }
        }
    }
}
