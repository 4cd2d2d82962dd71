/*
 * bench/ws_sink.c - the /ws subscribers of bench/obs_events.py: many
 * WebSocket clients in one C process, so the subscribers keep up with the
 * server instead of measuring a Python reader.
 *
 * Usage: ws_sink PORT NSUBS TAGS_FILE
 *
 * Opens NSUBS connections to ws://127.0.0.1:PORT/ws and prints "ready" once
 * every upgrade was answered 101. Then reads every subscriber: each one's
 * whole byte stream after its 101 head is counted and hashed (a 64-bit
 * multiply-xor over its 8-byte words; the tail of an unfinished word is
 * left out, the byte counts compare it);
 * subscriber 0's is also parsed frame by frame, and the number n of every
 * `event` message ("tool_input":{"n":N}) is kept in order. A line on stdin
 * gives the number of events to expect; once subscriber 0 has that many
 * and every subscriber has as many bytes as subscriber 0 (or after 30 s),
 * it writes subscriber 0's numbers to TAGS_FILE, one per line, prints one
 * line per subscriber ("BYTES HASH CLOSED") and exits. A bench tool, not a
 * client: server pings are not answered (the bench turns them off).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXS 1024
#define PARSE_CAP (4u << 20)

static const char UPGRADE[] = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                              "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                              "Sec-WebSocket-Version: 13\r\n\r\n";
static const char KEY[] = "\"tool_input\":{\"n\":";

typedef struct {
    int fd;
    uint64_t bytes;
    uint64_t hash;
    unsigned char part[8];   /* bytes of the stream's last, unfinished word */
    int closed;
} sub;

static sub g_subs[MAXS];
static unsigned char g_parse[PARSE_CAP];     /* subscriber 0's unparsed bytes */
static size_t g_plen;
static long *g_tags;
static size_t g_ntags;
static size_t g_tcap;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A hash of the whole stream, 8 bytes at a time (cheap enough to keep up
 * with the server), the same whatever the stream's cut into reads. */
static uint64_t mix(uint64_t h, uint64_t w)
{
    h ^= w;
    h *= 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 29);
}

static void hash(sub *s, const unsigned char *p, size_t n)
{
    uint64_t h = s->hash;
    size_t have = (size_t)(s->bytes & 7u);
    size_t i = 0;
    uint64_t w;
    if (have > 0) {
        while (have < 8 && i < n) {
            s->part[have++] = p[i++];
        }
        if (have == 8) {
            memcpy(&w, s->part, 8);
            h = mix(h, w);
        }
    }
    for (; i + 8 <= n; i += 8) {
        memcpy(&w, p + i, 8);
        h = mix(h, w);
    }
    if (i < n) {
        memcpy(s->part, p + i, n - i);
    }
    s->hash = h;
    s->bytes += n;
}

static void tag(const unsigned char *payload, size_t n)
{
    const unsigned char *k = memmem(payload, n, KEY, sizeof KEY - 1u);
    long v = 0;
    if (k == NULL) {
        return;
    }
    k += sizeof KEY - 1u;
    while (k < payload + n && *k >= '0' && *k <= '9') {
        v = v * 10 + (*k - '0');
        k++;
    }
    if (g_ntags == g_tcap) {
        g_tcap = g_tcap ? g_tcap * 2u : 65536u;
        g_tags = realloc(g_tags, g_tcap * sizeof *g_tags);
        if (g_tags == NULL) {
            perror("realloc");
            exit(1);
        }
    }
    g_tags[g_ntags++] = v;
}

/* Whole frames at the start of g_parse: text payloads searched for n. */
static void parse(void)
{
    size_t pos = 0;
    for (;;) {
        size_t hdr = 2;
        uint64_t len;
        if (g_plen - pos < 2u) {
            break;
        }
        len = g_parse[pos + 1] & 0x7fu;
        if (len == 126u) {
            hdr = 4;
            if (g_plen - pos < hdr) {
                break;
            }
            len = ((uint64_t)g_parse[pos + 2] << 8) | g_parse[pos + 3];
        } else if (len == 127u) {
            int i;
            hdr = 10;
            if (g_plen - pos < hdr) {
                break;
            }
            len = 0;
            for (i = 0; i < 8; i++) {
                len = (len << 8) | g_parse[pos + 2 + (size_t)i];
            }
        }
        if (g_plen - pos < hdr + len) {
            break;
        }
        if ((g_parse[pos] & 0x0fu) <= 1u) {
            tag(g_parse + pos + hdr, (size_t)len);
        }
        pos += hdr + (size_t)len;
    }
    memmove(g_parse, g_parse + pos, g_plen - pos);
    g_plen -= pos;
}

static int open_sub(int port, sub *s)
{
    struct sockaddr_in a;
    char head[4096];
    size_t got = 0;
    int one = 1;
    char *end;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("connect");
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (send(fd, UPGRADE, sizeof UPGRADE - 1u, 0) != (ssize_t)(sizeof UPGRADE - 1u)) {
        return -1;
    }
    while ((end = memmem(head, got, "\r\n\r\n", 4)) == NULL) {
        ssize_t r = recv(fd, head + got, sizeof head - got, 0);
        if (r <= 0) {
            return -1;
        }
        got += (size_t)r;
    }
    if (strncmp(head, "HTTP/1.1 101", 12) != 0) {
        fprintf(stderr, "ws_sink: upgrade refused: %.60s\n", head);
        return -1;
    }
    s->fd = fd;
    s->hash = 1469598103934665603ull;
    end += 4;
    hash(s, (unsigned char *)end, got - (size_t)(end - head));
    if (s == &g_subs[0]) {
        memcpy(g_parse, end, got - (size_t)(end - head));
        g_plen = got - (size_t)(end - head);
        parse();
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct pollfd p[MAXS + 1];
    static unsigned char buf[1 << 20];
    int port;
    int n;
    int i;
    long expect = -1;
    double deadline = 0;
    FILE *f;
    if (argc < 4) {
        fprintf(stderr, "usage: ws_sink PORT NSUBS TAGS_FILE\n");
        return 2;
    }
    port = atoi(argv[1]);
    n = atoi(argv[2]);
    if (n < 1 || n > MAXS) {
        fprintf(stderr, "ws_sink: 1..%d subscribers\n", MAXS);
        return 2;
    }
    for (i = 0; i < n; i++) {
        if (open_sub(port, &g_subs[i]) != 0) {
            return 1;
        }
        p[i].fd = g_subs[i].fd;
        p[i].events = POLLIN;
    }
    p[n].fd = 0;
    p[n].events = POLLIN;
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        if (expect >= 0) {
            int same = 1;
            for (i = 1; i < n; i++) {
                if (g_subs[i].bytes != g_subs[0].bytes) {
                    same = 0;
                }
            }
            if (((long)g_ntags >= expect && same) || now() > deadline) {
                break;
            }
        }
        if (poll(p, (nfds_t)n + 1u, 50) < 0 && errno != EINTR) {
            perror("poll");
            return 1;
        }
        if (p[n].revents != 0) {
            char line[64];
            ssize_t r = read(0, line, sizeof line - 1u);
            if (r > 0) {
                line[r] = '\0';
                expect = atol(line);
                deadline = now() + 30.0;
            }
            p[n].fd = -1;
        }
        for (i = 0; i < n; i++) {
            ssize_t r;
            if (p[i].revents == 0) {
                continue;
            }
            r = recv(p[i].fd, buf, sizeof buf, MSG_DONTWAIT);
            if (r <= 0) {
                if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                    g_subs[i].closed = 1;
                    p[i].fd = -1;
                }
                continue;
            }
            hash(&g_subs[i], buf, (size_t)r);
            if (i == 0) {
                if (g_plen + (size_t)r > PARSE_CAP) {
                    fprintf(stderr, "ws_sink: a frame larger than %u bytes\n", PARSE_CAP);
                    return 1;
                }
                memcpy(g_parse + g_plen, buf, (size_t)r);
                g_plen += (size_t)r;
                parse();
            }
        }
    }
    f = fopen(argv[3], "w");
    if (f == NULL) {
        perror(argv[3]);
        return 1;
    }
    for (size_t k = 0; k < g_ntags; k++) {
        fprintf(f, "%ld\n", g_tags[k]);
    }
    fclose(f);
    for (i = 0; i < n; i++) {
        printf("%llu %016llx %d\n", (unsigned long long)g_subs[i].bytes,
               (unsigned long long)g_subs[i].hash, g_subs[i].closed);
        close(g_subs[i].fd);
    }
    return 0;
}
