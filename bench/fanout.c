/*
 * bench/fanout.c - the WebSocket fan-out client of bench/peers.py: SUBS
 * subscribers on roost's observability /ws, and one publisher that POSTs
 * /events on a keep-alive connection, WINDOW events in flight at a time.
 *
 * An event is in flight from its POST until every subscriber has received
 * it; the publisher sends event i + WINDOW only once event i reached all
 * of them (WINDOW 1: one at a time, each event crosses the fan-out alone).
 * Each event carries its number (tool_input {"n": i}); every subscriber
 * must receive every event once and in order, and every POST must be
 * answered 200: anything else (a gap, a duplicate, a close frame, another
 * status, no progress for TIMEOUT s) prints what went wrong and exits 1.
 *
 * One thread, epoll, no allocation after start: the client must cost less
 * than the fan-out it measures. It prints its own CPU time over the timed
 * part (cpu_frac: CPU seconds over wall seconds; near 1.0 it would be the
 * bottleneck). The first WARMUP events are not timed.
 *
 * Usage: fanout -p PORT [-s SUBS] [-e EVENTS] [-w WINDOW] [-W WARMUP]
 *               [-P PAD] [-t TIMEOUT]
 * Prints one JSON line: events, subs, window, seconds, events_per_s,
 * deliveries_per_s, msg_bytes, client_cpu_s, cpu_frac.
 *
 * A measuring client, not roost code: built like bench/ceiling.c
 * (cc -O2 -o build/bench/fanout bench/fanout.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SUBS 1000
#define SUB_BUF (256 * 1024)
#define PUB_OUT (1024 * 1024)
#define PUB_IN (64 * 1024)

struct sub {
    int fd;
    int inited;                 /* got the init message */
    long next;                  /* the event number it must get next */
    size_t len;
    unsigned char buf[SUB_BUF];
};

static struct sub *subs;
static int nsubs = 100;
static long *got;               /* got[i]: subscribers that have event i */
static long total;
static long completed;          /* events every subscriber has */
static long msg_bytes;

static int pub_fd;
static char pub_out[PUB_OUT];
static size_t pub_out_len, pub_out_off;
static char pub_in[PUB_IN];
static size_t pub_in_len;
static long answered;
static int pad = 64;
static int port;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fanout: FAIL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return (double)r.ru_utime.tv_sec + (double)r.ru_utime.tv_usec / 1e6 +
           (double)r.ru_stime.tv_sec + (double)r.ru_stime.tv_usec / 1e6;
}

static int connect_to(void)
{
    struct sockaddr_in a;
    struct timeval tv = { 10, 0 };
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        die("connect to 127.0.0.1:%d: %s", port, strerror(errno));
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);   /* the upgrade's reads */
    return fd;
}

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) {
            die("send: %s", strerror(errno));
        }
        p += w;
        n -= (size_t)w;
    }
}

/* A subscriber: connect, upgrade, keep what came after the 101 head. */
static void sub_open(struct sub *s, int k)
{
    static const char req[] =
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n";
    char *end;
    s->fd = connect_to();
    send_all(s->fd, req, sizeof req - 1);
    s->len = 0;
    for (;;) {
        ssize_t r = recv(s->fd, s->buf + s->len, SUB_BUF - 1 - s->len, 0);
        if (r <= 0) {
            die("subscriber %d: connection closed during the upgrade", k);
        }
        s->len += (size_t)r;
        s->buf[s->len] = 0;
        end = strstr((char *)s->buf, "\r\n\r\n");
        if (end != NULL) {
            break;
        }
    }
    if (strncmp((char *)s->buf, "HTTP/1.1 101 ", 13) != 0) {
        die("subscriber %d: upgrade refused: %.200s", k, (char *)s->buf);
    }
    end += 4;
    s->len -= (size_t)(end - (char *)s->buf);
    memmove(s->buf, end, s->len);
}

/* A masked pong (key 0) for a ping's payload. */
static void pong(struct sub *s, const unsigned char *p, size_t n)
{
    unsigned char f[2 + 4 + 125];
    f[0] = 0x8a;
    f[1] = (unsigned char)(0x80 | n);
    memset(f + 2, 0, 4);
    memcpy(f + 6, p, n);
    send_all(s->fd, (const char *)f, 6 + n);
}

/* One text message: init, or an event that must be the next one. */
static void on_message(struct sub *s, int k, const unsigned char *p, size_t n)
{
    static const char ev[] = "{\"type\":\"event\"";
    static const char init[] = "{\"type\":\"init\"";
    const unsigned char *m;
    long v;
    if (n >= sizeof ev - 1 && memcmp(p, ev, sizeof ev - 1) == 0) {
        m = memmem(p, n, "{\"n\":", 5);
        if (m == NULL) {
            die("subscriber %d: an event without a number: %.*s", k, (int)(n > 300 ? 300 : n), p);
        }
        v = strtol((const char *)m + 5, NULL, 10);
        if (!s->inited) {
            die("subscriber %d: event %ld before init", k, v);
        }
        if (v != s->next) {
            die("subscriber %d: got event %ld, expected %ld (gap, duplicate or reorder)", k, v,
                s->next);
        }
        if (v >= total) {
            die("subscriber %d: event %ld was never published", k, v);
        }
        s->next++;
        msg_bytes = (long)n;
        if (++got[v] == nsubs) {
            while (completed < total && got[completed] == nsubs) {
                completed++;
            }
        }
    } else if (n >= sizeof init - 1 && memcmp(p, init, sizeof init - 1) == 0 && !s->inited) {
        s->inited = 1;
    } else {
        die("subscriber %d: unexpected message: %.*s", k, (int)(n > 300 ? 300 : n), p);
    }
}

/* Parse the whole frames of s->buf. */
static void sub_frames(struct sub *s, int k)
{
    size_t off = 0;
    for (;;) {
        size_t avail = s->len - off;
        const unsigned char *h = s->buf + off;
        unsigned long long plen;
        size_t hl = 2;
        int op;
        if (avail < 2) {
            break;
        }
        if (h[1] & 0x80) {
            die("subscriber %d: a masked server frame", k);
        }
        plen = h[1] & 0x7f;
        if (plen == 126) {
            if (avail < 4) {
                break;
            }
            plen = ((unsigned)h[2] << 8) | h[3];
            hl = 4;
        } else if (plen == 127) {
            int i;
            if (avail < 10) {
                break;
            }
            plen = 0;
            for (i = 0; i < 8; i++) {
                plen = (plen << 8) | h[2 + i];
            }
            hl = 10;
        }
        if (plen > SUB_BUF - 16) {
            die("subscriber %d: a frame of %llu bytes", k, plen);
        }
        if (avail < hl + plen) {
            break;
        }
        op = h[0] & 0x0f;
        if (op == 0x1 && (h[0] & 0x80)) {
            on_message(s, k, h + hl, (size_t)plen);
        } else if (op == 0x9) {
            pong(s, h + hl, (size_t)plen);
        } else if (op == 0xa) {
            /* pong: nothing */
        } else if (op == 0x8) {
            die("subscriber %d: closed by the server (code %d, \"%.*s\") after %ld events", k,
                plen >= 2 ? (h[hl] << 8) | h[hl + 1] : 0, plen > 2 ? (int)plen - 2 : 0,
                h + hl + 2, s->next);
        } else {
            die("subscriber %d: unexpected frame opcode %d fin %d", k, op, h[0] >> 7);
        }
        off += hl + (size_t)plen;
    }
    if (off > 0) {
        memmove(s->buf, s->buf + off, s->len - off);
        s->len -= off;
    }
}

static void sub_read(struct sub *s, int k)
{
    for (;;) {
        ssize_t r = recv(s->fd, s->buf + s->len, SUB_BUF - s->len, MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        if (r <= 0) {
            die("subscriber %d: connection %s after %ld events", k, r == 0 ? "closed" : "failed",
                s->next);
        }
        s->len += (size_t)r;
        sub_frames(s, k);
        if ((size_t)r < SUB_BUF / 2) {
            return;     /* the socket is most likely empty: epoll says when not */
        }
    }
}

/* Queue POST /events for event i. */
static void pub_queue(long i)
{
    static char body[8192];
    static char padding[4096];
    int bn, hn;
    if (padding[0] == 0) {
        memset(padding, 'x', sizeof padding - 1);
    }
    bn = snprintf(body, sizeof body,
                  "{\"event_type\":\"pre_tool\",\"session_id\":\"peers-fanout\","
                  "\"session_name\":\"peers\",\"timestamp\":\"2025-11-25T10:11:10.000000+00:00\","
                  "\"tool_name\":\"Read\",\"tool_input\":{\"n\":%ld,\"pad\":\"%.*s\"}}",
                  i, pad, padding);
    if (pub_out_len + (size_t)bn + 256 > PUB_OUT) {
        die("publisher: output buffer full");
    }
    hn = snprintf(pub_out + pub_out_len, PUB_OUT - pub_out_len,
                  "POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  "Content-Length: %d\r\n\r\n", bn);
    memcpy(pub_out + pub_out_len + hn, body, (size_t)bn);
    pub_out_len += (size_t)hn + (size_t)bn;
}

static int pub_flush(void)
{
    while (pub_out_off < pub_out_len) {
        ssize_t w = send(pub_fd, pub_out + pub_out_off, pub_out_len - pub_out_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return 1;
        }
        if (w <= 0) {
            die("publisher: send: %s", strerror(errno));
        }
        pub_out_off += (size_t)w;
    }
    pub_out_off = pub_out_len = 0;
    return 0;
}

/* Answers to the POSTs: each must be 200. */
static void pub_read(void)
{
    for (;;) {
        ssize_t r = recv(pub_fd, pub_in + pub_in_len, PUB_IN - 1 - pub_in_len, MSG_DONTWAIT);
        size_t off = 0;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        if (r <= 0) {
            die("publisher: connection %s after %ld answers", r == 0 ? "closed" : "failed",
                answered);
        }
        pub_in_len += (size_t)r;
        pub_in[pub_in_len] = 0;
        for (;;) {
            char *head = pub_in + off;
            char *end = strstr(head, "\r\n\r\n");
            char *cl;
            long clen;
            if (end == NULL) {
                break;
            }
            cl = strcasestr(head, "\r\ncontent-length:");
            clen = (cl != NULL && cl < end) ? strtol(cl + 17, NULL, 10) : 0;
            if ((size_t)(end + 4 - pub_in) + (size_t)clen > pub_in_len) {
                break;
            }
            if (strncmp(head, "HTTP/1.1 200 ", 13) != 0) {
                die("publisher: POST /events answered: %.*s", (int)(end + 4 + clen - head), head);
            }
            answered++;
            off = (size_t)(end + 4 + clen - pub_in);
        }
        memmove(pub_in, pub_in + off, pub_in_len - off);
        pub_in_len -= off;
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: fanout -p PORT [-s SUBS] [-e EVENTS] [-w WINDOW] [-W WARMUP] "
                    "[-P PAD] [-t TIMEOUT]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    long events = 5000, warm = 200, sent = 0, window = 16;
    int timeout = 10, opt, i, ep, pub_out_watched = 0;
    double t0 = 0, c0 = 0, t1, c1, last_progress;
    long last_seen = -1;
    struct epoll_event ev, fired[256];
    while ((opt = getopt(argc, argv, "p:s:e:w:W:P:t:")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 's': nsubs = atoi(optarg); break;
        case 'e': events = atol(optarg); break;
        case 'w': window = atol(optarg); break;
        case 'W': warm = atol(optarg); break;
        case 'P': pad = atoi(optarg); break;
        case 't': timeout = atoi(optarg); break;
        default: usage();
        }
    }
    if (port <= 0 || nsubs < 1 || nsubs > MAX_SUBS || events < 1 || window < 1 || warm < 0 ||
        pad < 0 || pad > 4000) {
        usage();
    }
    total = warm + events;
    subs = calloc((size_t)nsubs, sizeof *subs);
    got = calloc((size_t)total + 1, sizeof *got);
    if (subs == NULL || got == NULL) {
        die("out of memory");
    }
    ep = epoll_create1(0);
    for (i = 0; i < nsubs; i++) {
        sub_open(&subs[i], i);
        ev.events = EPOLLIN;
        ev.data.u32 = (uint32_t)i;
        epoll_ctl(ep, EPOLL_CTL_ADD, subs[i].fd, &ev);
    }
    pub_fd = connect_to();
    ev.events = EPOLLIN;
    ev.data.u32 = (uint32_t)nsubs;
    epoll_ctl(ep, EPOLL_CTL_ADD, pub_fd, &ev);
    /* every subscriber has its init before the first event */
    for (i = 0; i < nsubs; i++) {
        sub_frames(&subs[i], i);
    }
    last_progress = now_s();
    for (;;) {
        int n, all = 1;
        for (i = 0; i < nsubs && all; i++) {
            all = subs[i].inited;
        }
        if (all) {
            break;
        }
        n = epoll_wait(ep, fired, 256, 1000);
        for (i = 0; i < n; i++) {
            if (fired[i].data.u32 < (uint32_t)nsubs) {
                sub_read(&subs[fired[i].data.u32], (int)fired[i].data.u32);
            }
        }
        if (now_s() - last_progress > timeout) {
            die("not every subscriber got its init message in %d s", timeout);
        }
    }
    last_progress = now_s();
    if (warm == 0) {
        t0 = now_s();
        c0 = cpu_s();
    }
    while (completed < total) {
        int n;
        double t;
        int queued = 0;
        while (sent < total && sent - completed < window) {
            pub_queue(sent);
            sent++;
            queued = 1;
        }
        if (queued || pub_out_len > 0) {
            int more = pub_flush();
            if (more != pub_out_watched) {
                ev.events = EPOLLIN | (more ? EPOLLOUT : 0u);
                ev.data.u32 = (uint32_t)nsubs;
                epoll_ctl(ep, EPOLL_CTL_MOD, pub_fd, &ev);
                pub_out_watched = more;
            }
        }
        n = epoll_wait(ep, fired, 256, 1000);
        for (i = 0; i < n; i++) {
            uint32_t k = fired[i].data.u32;
            if (k < (uint32_t)nsubs) {
                sub_read(&subs[k], (int)k);
            } else {
                if (fired[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                    pub_read();
                }
                if (fired[i].events & EPOLLOUT) {
                    (void)pub_flush();
                }
            }
        }
        if (warm > 0 && t0 == 0 && completed >= warm) {
            t0 = now_s();
            c0 = cpu_s();
        }
        t = now_s();
        if (completed != last_seen) {
            last_seen = completed;
            last_progress = t;
        } else if (t - last_progress > timeout) {
            long lo = total, hi = 0;
            int slow = 0;
            for (i = 0; i < nsubs; i++) {
                if (subs[i].next < lo) {
                    lo = subs[i].next;
                    slow = i;
                }
                if (subs[i].next > hi) {
                    hi = subs[i].next;
                }
            }
            die("no progress for %d s: %ld of %ld events published, %ld answered, %ld reached "
                "every subscriber; subscribers have %ld..%ld (subscriber %d is behind)",
                timeout, sent, total, answered, completed, lo, hi, slow);
        }
    }
    t1 = now_s();
    c1 = cpu_s();
    /* the last answers */
    while (answered < total) {
        int n = epoll_wait(ep, fired, 256, timeout * 1000);
        if (n <= 0) {
            die("%ld of %ld POSTs answered", answered, total);
        }
        pub_read();
    }
    for (i = 0; i < nsubs; i++) {
        if (subs[i].next != total) {
            die("subscriber %d has %ld of %ld events", i, subs[i].next, total);
        }
    }
    printf("{\"events\": %ld, \"subs\": %d, \"window\": %ld, \"seconds\": %.6f, "
           "\"events_per_s\": %.1f, \"deliveries_per_s\": %.1f, \"msg_bytes\": %ld, "
           "\"client_cpu_s\": %.6f, \"cpu_frac\": %.3f}\n",
           events, nsubs, window, t1 - t0, (double)events / (t1 - t0),
           (double)events * nsubs / (t1 - t0), msg_bytes, c1 - c0, (c1 - c0) / (t1 - t0));
    return 0;
}
