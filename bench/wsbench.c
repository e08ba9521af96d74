/* SPDX-License-Identifier: BSD-2-Clause */
/* wsbench: a WebSocket echo load generator.
 *
 * N connections, each keeping `depth` messages of `size` bytes in flight
 * against an echo server for `duration` seconds; prints messages/s, MB/s
 * (echoed payload) and round-trip latency p50/p99/p99.9. One thread, epoll.
 *
 * To spend its CPU on the server rather than on itself, the generator masks
 * each connection's payload once (fixed mask per connection), and with
 * permessage-deflate it offers client_no_context_takeover so the compressed
 * payload is computed once; replies are inflated and checked for the first
 * messages of each connection (-v: all of them).
 *
 *   wsbench -p 8080 -P /echo -c 50 -s 64 -d 8 -t 10 [-z] [-U /path/sock]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define MAX_DEPTH 256
#define LAT_US_MAX 100000 /* 1 us buckets up to 100 ms, then 1 ms buckets to 100 s */
#define LAT_MS_MAX 100000

struct opts {
    const char *host, *path, *unix_path, *host_header;
    int port, conns, size, depth, duration, deflate, verify_all, warmup;
};

struct conn {
    int fd;
    int state; /* 0 connecting/handshake, 1 open, 2 dead */
    uint8_t mask[4];
    uint8_t *msg;  /* framed, masked message ready to send */
    size_t msglen;
    uint8_t *out;  /* pending output */
    size_t outlen, outoff, outcap;
    uint8_t *in;
    size_t inlen, incap;
    /* reply parsing */
    uint64_t left;      /* payload bytes left in the current frame */
    int cur_fin, cur_op, cur_rsv1, msg_rsv1;
    size_t msg_bytes;   /* payload bytes of the message being received */
    int verify;         /* collect this reply's payload and check it */
    uint8_t *vbuf;
    size_t vlen, vcap;
    uint64_t sent_at[MAX_DEPTH];
    unsigned head, inflight;
    uint64_t done;
    z_stream inf;
    int inf_ready;
};

static struct opts o = {"127.0.0.1", "/echo", NULL, NULL, 8080, 10, 64, 1, 5, 0, 0, 1};
static uint8_t *payload;       /* the plain message */
static uint64_t lat_us[LAT_US_MAX], lat_ms[LAT_MS_MAX];
static uint64_t total_msgs, total_bytes, errors, verified;
static int recording;

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void die(const char *what)
{
    perror(what);
    exit(2);
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p)
        die("realloc");
    return p;
}

static void put(struct conn *c, const void *p, size_t n)
{
    if (c->outlen + n > c->outcap) {
        c->outcap = (c->outlen + n) * 2;
        c->out = xrealloc(c->out, c->outcap);
    }
    memcpy(c->out + c->outlen, p, n);
    c->outlen += n;
}

static void flush_out(struct conn *c, int ep)
{
    while (c->outoff < c->outlen) {
        ssize_t n = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
        if (n < 0) {
            if (errno == EAGAIN)
                break;
            c->state = 2;
            errors++;
            return;
        }
        c->outoff += (size_t)n;
    }
    if (c->outoff == c->outlen)
        c->outoff = c->outlen = 0;
    struct epoll_event ev = {.events = EPOLLIN | (c->outlen ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static size_t frame_header(uint8_t *h, int rsv1, int op, uint64_t len, const uint8_t *mask)
{
    size_t n = 0;
    h[n++] = (uint8_t)(0x80 | (rsv1 ? 0x40 : 0) | op);
    if (len < 126) {
        h[n++] = (uint8_t)(0x80 | len);
    } else if (len < 65536) {
        h[n++] = 0x80 | 126;
        h[n++] = (uint8_t)(len >> 8);
        h[n++] = (uint8_t)len;
    } else {
        h[n++] = 0x80 | 127;
        for (int s = 56; s >= 0; s -= 8)
            h[n++] = (uint8_t)(len >> s);
    }
    memcpy(h + n, mask, 4);
    return n + 4;
}

/* Builds the connection's ready-to-send frame. */
static void build_message(struct conn *c)
{
    const uint8_t *body = payload;
    size_t blen = (size_t)o.size;
    uint8_t *z = NULL;
    int rsv1 = 0;
    if (o.deflate && blen > 0) {
        z_stream d = {0};
        deflateInit2(&d, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
        z = malloc(deflateBound(&d, blen) + 16);
        d.next_in = (Bytef *)(uintptr_t)body;
        d.avail_in = (uInt)blen;
        d.next_out = z;
        d.avail_out = (uInt)deflateBound(&d, blen) + 16;
        deflate(&d, Z_SYNC_FLUSH);
        size_t zl = (size_t)(d.next_out - z);
        deflateEnd(&d);
        if (zl >= 4 && zl - 4 < blen) { /* only when it helps, like a real client */
            body = z;
            blen = zl - 4;
            rsv1 = 1;
        }
    }
    c->msg = malloc(blen + 14);
    size_t hl = frame_header(c->msg, rsv1, 1, blen, c->mask);
    memcpy(c->msg + hl, body, blen);
    for (size_t i = 0; i < blen; i++)
        c->msg[hl + i] ^= c->mask[i & 3];
    c->msglen = hl + blen;
    free(z);
}

static void send_one(struct conn *c)
{
    c->sent_at[(c->head + c->inflight) % MAX_DEPTH] = now_us();
    c->inflight++;
    put(c, c->msg, c->msglen);
}

static void record(uint64_t us)
{
    if (us < LAT_US_MAX)
        lat_us[us]++;
    else if (us / 1000 < LAT_MS_MAX)
        lat_ms[us / 1000]++;
    else
        lat_ms[LAT_MS_MAX - 1]++;
}

static int vsink(struct conn *c, const uint8_t *p, size_t n)
{
    if (c->vlen + n > c->vcap) {
        c->vcap = (c->vlen + n) * 2;
        c->vbuf = xrealloc(c->vbuf, c->vcap);
    }
    memcpy(c->vbuf + c->vlen, p, n);
    c->vlen += n;
    return 0;
}

static int inflate_into(struct conn *c, const uint8_t *in, size_t n)
{
    uint8_t out[65536];
    c->inf.next_in = (Bytef *)(uintptr_t)in;
    c->inf.avail_in = (uInt)n;
    do {
        c->inf.next_out = out;
        c->inf.avail_out = sizeof(out);
        int rc = inflate(&c->inf, Z_SYNC_FLUSH);
        if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END)
            return -1;
        vsink(c, out, sizeof(out) - c->inf.avail_out);
    } while (c->inf.avail_out == 0);
    return 0;
}

static void message_done(struct conn *c, int ep, uint64_t t)
{
    if (c->verify) {
        uint8_t *got = c->vbuf;
        size_t glen = c->vlen;
        if (c->msg_rsv1) {
            static const uint8_t tail[4] = {0, 0, 0xff, 0xff};
            uint8_t *raw = c->vbuf;
            size_t rl = c->vlen;
            c->vbuf = NULL;
            c->vlen = c->vcap = 0;
            if (inflate_into(c, raw, rl) < 0 || inflate_into(c, tail, 4) < 0)
                glen = (size_t)-1;
            else
                glen = c->vlen;
            free(raw);
            got = c->vbuf;
        }
        if (glen != (size_t)o.size || memcmp(got, payload, glen) != 0) {
            fprintf(stderr, "wsbench: echo mismatch (%zu bytes, want %d)\n", glen, o.size);
            errors++;
            c->state = 2;
        } else {
            verified++;
        }
        c->vlen = 0;
    }
    if (!c->inflight) {
        errors++;
        c->state = 2;
        return;
    }
    uint64_t sent = c->sent_at[c->head];
    c->head = (c->head + 1) % MAX_DEPTH;
    c->inflight--;
    c->done++;
    if (recording) {
        total_msgs++;
        total_bytes += (uint64_t)o.size;
        record(t - sent);
    }
    c->verify = o.verify_all || c->done < 3 || (o.deflate && 0);
    /* With server context takeover, skipping inflate would lose the window:
     * keep inflating every reply when compressed replies were seen. */
    if (c->inf_ready)
        c->verify = 1;
    (void)ep;
}

/* Parses server frames from c->in. Returns 0, or -1 on a protocol error. */
static int parse_frames(struct conn *c, int ep, uint64_t t)
{
    size_t off = 0;
    while (off < c->inlen) {
        if (c->left == 0 && c->cur_op < 0) {
            uint8_t *h = c->in + off;
            size_t avail = c->inlen - off;
            if (avail < 2)
                break;
            size_t hl = 2;
            uint64_t len = h[1] & 0x7f;
            if (len == 126)
                hl = 4;
            else if (len == 127)
                hl = 10;
            if (h[1] & 0x80)
                return -1; /* servers do not mask */
            if (avail < hl)
                break;
            if (len == 126)
                len = (uint64_t)h[2] << 8 | h[3];
            else if (len == 127) {
                len = 0;
                for (int i = 0; i < 8; i++)
                    len = len << 8 | h[2 + i];
            }
            c->cur_fin = h[0] >> 7;
            c->cur_op = h[0] & 0x0f;
            c->cur_rsv1 = (h[0] >> 6) & 1;
            if (c->cur_op == 1 || c->cur_op == 2)
                c->msg_rsv1 = c->cur_rsv1;
            if (c->msg_rsv1 && !c->inf_ready) {
                inflateInit2(&c->inf, -15);
                c->inf_ready = 1;
                c->verify = 1;
            }
            c->left = len;
            off += hl;
            if (c->cur_op == 8)
                return -1; /* the server closed */
        }
        size_t n = c->inlen - off < c->left ? c->inlen - off : (size_t)c->left;
        if (c->cur_op < 8) {
            c->msg_bytes += n;
            if (c->verify)
                vsink(c, c->in + off, n);
        }
        off += n;
        c->left -= n;
        if (c->left == 0) {
            if (c->cur_op < 8 && c->cur_fin) {
                message_done(c, ep, t);
                c->msg_bytes = 0;
            }
            c->cur_op = -1;
        }
    }
    memmove(c->in, c->in + off, c->inlen - off);
    c->inlen -= off;
    return 0;
}

static int handshake_done(struct conn *c)
{
    c->in[c->inlen] = 0;
    char *end = strstr((char *)c->in, "\r\n\r\n");
    if (!end)
        return 0;
    if (strncmp((char *)c->in, "HTTP/1.1 101", 12) != 0) {
        fprintf(stderr, "wsbench: handshake refused: %.40s\n", (char *)c->in);
        return -1;
    }
    if (o.deflate && !strcasestr((char *)c->in, "permessage-deflate"))
        fprintf(stderr, "wsbench: server declined permessage-deflate\n");
    size_t hl = (size_t)(end + 4 - (char *)c->in);
    memmove(c->in, c->in + hl, c->inlen - hl);
    c->inlen -= hl;
    return 1;
}

static void on_readable(struct conn *c, int ep, int running)
{
    for (;;) {
        if (c->incap - c->inlen < 65536) {
            c->incap = c->incap * 2 + 65536;
            c->in = xrealloc(c->in, c->incap + 1);
        }
        ssize_t n = read(c->fd, c->in + c->inlen, c->incap - c->inlen);
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) {
            if (running)
                errors++;
            c->state = 2;
            return;
        }
        c->inlen += (size_t)n;
        if (c->state == 0) {
            int h = handshake_done(c);
            if (h < 0) {
                errors++;
                c->state = 2;
                return;
            }
            if (h == 0)
                continue;
            c->state = 1;
            for (int i = 0; i < o.depth; i++)
                send_one(c);
        }
        unsigned before = c->inflight;
        if (parse_frames(c, ep, now_us()) < 0) {
            if (running)
                errors++;
            c->state = 2;
            return;
        }
        if (running)
            for (unsigned i = c->inflight; i < before; i++)
                send_one(c);
        if ((size_t)n < 65536)
            break;
    }
    flush_out(c, ep);
}

static int open_conn(struct conn *c, int ep, int idx)
{
    memset(c, 0, sizeof(*c));
    c->cur_op = -1;
    c->verify = 1;
    for (int i = 0; i < 4; i++)
        c->mask[i] = (uint8_t)(rand() | 1);
    (void)idx;
    if (o.unix_path) {
        struct sockaddr_un su = {.sun_family = AF_UNIX};
        snprintf(su.sun_path, sizeof(su.sun_path), "%s", o.unix_path);
        c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(c->fd, (struct sockaddr *)&su, sizeof(su)) < 0)
            die("connect");
    } else {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o.port)};
        inet_pton(AF_INET, o.host, &sa.sin_addr);
        c->fd = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
            die("connect");
    }
    fcntl(c->fd, F_SETFL, O_NONBLOCK);
    build_message(c);
    char req[1024];
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n%s\r\n",
                     o.path, o.host_header ? o.host_header : "localhost",
                     o.deflate ? "Sec-WebSocket-Extensions: permessage-deflate; "
                                 "client_no_context_takeover; client_max_window_bits\r\n"
                               : "");
    put(c, req, (size_t)n);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    flush_out(c, ep);
    return 0;
}

static uint64_t percentile(double q)
{
    uint64_t target = (uint64_t)((double)total_msgs * q), seen = 0;
    for (uint64_t i = 0; i < LAT_US_MAX; i++)
        if ((seen += lat_us[i]) > target)
            return i;
    for (uint64_t i = 0; i < LAT_MS_MAX; i++)
        if ((seen += lat_ms[i]) > target)
            return i * 1000;
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: wsbench [-H host] [-p port | -U unix_socket] [-P path] [-c conns]\n"
                    "               [-s size] [-d depth] [-t seconds] [-w warmup_s] [-z] [-v]\n"
                    "               [-A host_header]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int ch;
    while ((ch = getopt(argc, argv, "H:p:U:P:c:s:d:t:w:zvA:h")) != -1) {
        switch (ch) {
        case 'H': o.host = optarg; break;
        case 'p': o.port = atoi(optarg); break;
        case 'U': o.unix_path = optarg; break;
        case 'P': o.path = optarg; break;
        case 'c': o.conns = atoi(optarg); break;
        case 's': o.size = atoi(optarg); break;
        case 'd': o.depth = atoi(optarg); break;
        case 't': o.duration = atoi(optarg); break;
        case 'w': o.warmup = atoi(optarg); break;
        case 'z': o.deflate = 1; break;
        case 'v': o.verify_all = 1; break;
        case 'A': o.host_header = optarg; break;
        default: usage();
        }
    }
    if (o.conns < 1 || o.size < 0 || o.depth < 1 || o.depth > MAX_DEPTH || o.duration < 1)
        usage();
    signal(SIGPIPE, SIG_IGN);
    srand((unsigned)getpid());
    payload = malloc((size_t)o.size + 1);
    /* Text that compresses like JSON-ish traffic, not like zeros. */
    static const char *words[] = {"{\"camel\":", "\"bactrian\",",     "\"humps\":2,",
                                  "\"desert\":", "[1,2,3],",          "\"gobi\"}",
                                  " ",           "\"ts\":1700000000,"};
    unsigned seed = 7;
    for (int i = 0; i < o.size;) {
        seed = seed * 1103515245u + 12345u;
        const char *w = words[(seed >> 16) % 8];
        for (size_t k = 0; w[k] && i < o.size; k++)
            payload[i++] = (uint8_t)w[k];
    }
    int ep = epoll_create1(0);
    struct conn *cs = calloc((size_t)o.conns, sizeof(*cs));
    for (int i = 0; i < o.conns; i++)
        open_conn(&cs[i], ep, i);
    uint64_t start = now_us();
    uint64_t rec_start = start + (uint64_t)o.warmup * 1000000u;
    uint64_t end = rec_start + (uint64_t)o.duration * 1000000u;
    struct epoll_event evs[256];
    uint64_t t;
    while ((t = now_us()) < end) {
        if (!recording && t >= rec_start) {
            recording = 1;
            rec_start = t;
        }
        int n = epoll_wait(ep, evs, 256, 100);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c->state == 2)
                continue;
            if (evs[i].events & EPOLLOUT)
                flush_out(c, ep);
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                on_readable(c, ep, 1);
            if (c->state == 2) {
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
            }
        }
    }
    double secs = (double)(now_us() - rec_start) / 1e6;
    int open_now = 0;
    for (int i = 0; i < o.conns; i++)
        if (cs[i].state == 1) {
            open_now++;
            /* A proper close: code 1000, masked. */
            uint8_t fr[8];
            size_t hl = frame_header(fr, 0, 8, 2, cs[i].mask);
            fr[hl] = 0x03 ^ cs[i].mask[0];
            fr[hl + 1] = 0xe8 ^ cs[i].mask[1];
            if (write(cs[i].fd, fr, hl + 2) < 0)
                errors++;
            close(cs[i].fd);
        }
    printf("wsbench: %d conns (%d open at end), %d B messages, depth %d, %s, %.1f s\n", o.conns,
           open_now, o.size, o.depth, o.deflate ? "permessage-deflate" : "no compression", secs);
    printf("msgs/s %.0f  MB/s %.2f  latency us p50 %llu p99 %llu p99.9 %llu  msgs %llu "
           "verified %llu errors %llu\n",
           (double)total_msgs / secs, (double)total_bytes / secs / 1e6,
           (unsigned long long)percentile(0.50), (unsigned long long)percentile(0.99),
           (unsigned long long)percentile(0.999), (unsigned long long)total_msgs,
           (unsigned long long)verified, (unsigned long long)errors);
    return errors ? 1 : 0;
}
