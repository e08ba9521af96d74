/* SPDX-License-Identifier: BSD-2-Clause */
/* See waitroom.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/close_range.h>

#include "common/cfg.h"
#include "common/net.h"
#include "common/proc.h"
#include "frontend/child.h"
#include "frontend/http.h"
#include "frontend/refuse.h"
#include "frontend/waitroom.h"

#define PARK_MAGIC 0x5041524bu /* "PARK" */
#define PEEK_MAX 16384         /* a head this long is served as it is */
#define TLS_RECORD_MAX (16384 + 256 + 5)
#define SERVE_AS_IS FE_WAITROOM_SERVE
#define MAX_WAITING 262144

/* ---- child side ---------------------------------------------------------- */

uint32_t fe_waitroom_need(int fd, bool tls)
{
    static unsigned char buf[PEEK_MAX];
    ssize_t n = recv(fd, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
        return 0; /* gone or failing: the child finds out and closes */
    if (n < 0)
        n = 0;
    if (tls) {
        /* A record header is all we read: its type and length. Not a
         * handshake record: let the TLS library refuse it. */
        if (n < 5)
            return 5;
        if (buf[0] != 0x16)
            return 0;
        size_t len = 5 + (((size_t)buf[3] << 8) | buf[4]);
        if (len > TLS_RECORD_MAX)
            return 0;
        return (size_t)n >= len ? 0 : (uint32_t)len;
    }
    /* bare LF line ends too: the backend decides what it accepts */
    if ((size_t)n == sizeof buf || memmem(buf, (size_t)n, "\r\n\r\n", 4) ||
        memmem(buf, (size_t)n, "\n\n", 2))
        return 0;
    return (uint32_t)n + 1;
}

static int send_fd(int sock, int fd, const struct fe_park *p)
{
    ssize_t n = bx_send_fds(sock, p, sizeof *p, &fd, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
    return n == (ssize_t)sizeof *p ? 0 : -1;
}

/* One message and its descriptor: fd, or -1 (none, truncated, malformed). */
static int recv_fd(int sock, struct fe_park *p)
{
    struct iovec iov = {.iov_base = p, .iov_len = sizeof *p};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = u.buf,
                         .msg_controllen = sizeof u.buf};
    ssize_t n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0)
        return -2; /* nothing queued */
    int fd = -1;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
        cm->cmsg_len == CMSG_LEN(sizeof(int)))
        memcpy(&fd, CMSG_DATA(cm), sizeof fd);
    if (fd >= 0 && (n != (ssize_t)sizeof *p || p->magic != PARK_MAGIC ||
                    (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)))) {
        close(fd);
        fd = -1;
    }
    return fd;
}

int fe_waitroom_park(int sock, int fd, const struct fe_park *p)
{
    struct fe_park m = *p;
    m.magic = PARK_MAGIC;
    if (sock < 0 || send_fd(sock, fd, &m) == -1)
        return -1;
    close(fd);
    return 0;
}

int fe_waitroom_take(int sock, struct fe_park *p)
{
    int fd = recv_fd(sock, p);
    return fd < 0 ? -1 : fd;
}

/* ---- master side --------------------------------------------------------- */

struct entry {
    int fd;                     /* -1: free */
    uint32_t li, gen, need;
    uint64_t since, deadline;
    bool tls, pending;          /* pending: ready, but the children's queue was full */
    unsigned char ip[16];       /* the peer's address (getpeername: no client byte) */
    uint8_t iplen;
    uint32_t next;              /* the next entry in this address's hash chain */
};

#define NHEADS 4096
#define NIL UINT32_MAX

struct fe_waitroom {
    int sock[2];
    struct entry *e;
    size_t max, n, *free_stack, nfree;
    uint32_t heads[NHEADS];     /* entries by peer address: per_ip_max in the room too */
};

/* ---- waiting clients by address ---- */

static uint32_t ip_hash(const unsigned char *ip, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ ip[i]) * 16777619u;
    return h % NHEADS;
}

static void ip_of(int fd, struct entry *x)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    x->iplen = 0;
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == -1)
        return;
    if (ss.ss_family == AF_INET) {
        memcpy(x->ip, &((struct sockaddr_in *)&ss)->sin_addr, 4);
        x->iplen = 4;
    } else if (ss.ss_family == AF_INET6) {
        memcpy(x->ip, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
        x->iplen = 16;
    }
}

static size_t ip_count(const struct fe_waitroom *w, const struct entry *x)
{
    size_t n = 0;
    for (uint32_t i = w->heads[ip_hash(x->ip, x->iplen)]; i != NIL; i = w->e[i].next)
        n += w->e[i].iplen == x->iplen && memcmp(w->e[i].ip, x->ip, x->iplen) == 0;
    return n;
}

static void ip_link(struct fe_waitroom *w, uint32_t i)
{
    uint32_t *head = &w->heads[ip_hash(w->e[i].ip, w->e[i].iplen)];
    w->e[i].next = *head;
    *head = i;
}

static void ip_unlink(struct fe_waitroom *w, uint32_t i)
{
    uint32_t *p = &w->heads[ip_hash(w->e[i].ip, w->e[i].iplen)];
    while (*p != NIL && *p != i)
        p = &w->e[*p].next;
    if (*p == i)
        *p = w->e[i].next;
}

/* Room for waiting clients above FE_WAITROOM_FD_BASE: the soft limit goes
 * to the hard one (a daemon holding thousands of idle sockets needs it). */
static size_t room_from_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
        return 0;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > FE_WAITROOM_FD_BASE + MAX_WAITING + 64)
        return MAX_WAITING;
    if (rl.rlim_cur <= FE_WAITROOM_FD_BASE + 128)
        return 0;
    return (size_t)rl.rlim_cur - FE_WAITROOM_FD_BASE - 64;
}

void fe_waitroom_forked(void)
{
    close_range(FE_WAITROOM_FD_BASE, ~0U, 0);
}

struct fe_waitroom *fe_waitroom_create(int *child_end)
{
    size_t max = room_from_limit();
    struct fe_waitroom *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->e = calloc(max ? max : 1, sizeof *w->e);
    w->free_stack = calloc(max ? max : 1, sizeof *w->free_stack);
    if (!w->e || !w->free_stack ||
        socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, w->sock) == -1) {
        free(w->e);
        free(w->free_stack);
        free(w);
        return NULL;
    }
    w->max = max;
    for (size_t i = 0; i < NHEADS; i++)
        w->heads[i] = NIL;
    for (size_t i = 0; i < max; i++) {
        w->e[i].fd = -1;
        w->free_stack[w->nfree++] = max - 1 - i;
    }
    *child_end = w->sock[1];
    return w;
}

void fe_waitroom_destroy(struct fe_waitroom *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->max; i++)
        if (w->e[i].fd >= 0)
            close(w->e[i].fd);
    close(w->sock[0]);
    close(w->sock[1]);
    free(w->e);
    free(w->free_stack);
    free(w);
}

int fe_waitroom_fd(const struct fe_waitroom *w)
{
    return w->sock[0];
}

size_t fe_waitroom_count(const struct fe_waitroom *w)
{
    return w->n;
}

static void drop(struct fe_waitroom *w, int ep, size_t i)
{
    ip_unlink(w, (uint32_t)i);
    epoll_ctl(ep, EPOLL_CTL_DEL, w->e[i].fd, NULL);
    close(w->e[i].fd);
    w->e[i].fd = -1;
    w->free_stack[w->nfree++] = i;
    w->n--;
}

/* Back to the children (one idle child takes it); false when their queue
 * is full (tried again on the next tick). */
static bool pass_back(struct fe_waitroom *w, int ep, size_t i, uint32_t need)
{
    struct entry *x = &w->e[i];
    struct fe_park p = {.magic = PARK_MAGIC,
                        .li = x->li,
                        .gen = x->gen,
                        .need = need,
                        .since_ms = x->since};
    if (send_fd(w->sock[0], x->fd, &p) == -1) {
        x->pending = true;
        return false;
    }
    drop(w, ep, i);
    return true;
}

/* A client the room cannot keep (full) is served as it is, as before. */
static void admit(struct fe_waitroom *w, int ep, const struct fe_gen *g, int fd,
                  const struct fe_park *p)
{
    int high = w->nfree ? fcntl(fd, F_DUPFD_CLOEXEC, FE_WAITROOM_FD_BASE) : -1;
    if (p->gen != g->id || p->li >= g->nls || high == -1) {
        if (high >= 0)
            close(high);
        struct fe_park back = *p;
        back.need = SERVE_AS_IS;
        if (send_fd(w->sock[0], fd, &back) == -1)
            fe_refuse_log(FE_REFUSE_SLOW,
                          "waiting room: a client could not be kept or passed on: closed");
        close(fd);
        return;
    }
    close(fd);
    fd = high;
    const struct bx_frontend_conf *fe = &g->cfg->fe;
    bool tls = fe->services[g->ls[p->li].service].tls;
    struct entry probe = {.fd = fd};
    ip_of(fd, &probe);
    if (fe->per_ip_max > 0 && ip_count(w, &probe) >= (size_t)fe->per_ip_max) {
        /* one address cannot fill the room: per_ip_max holds here too */
        fe_refuse_write(fd, tls);
        close(fd);
        char line[96];
        snprintf(line, sizeof line, "waiting room: a client refused, per_ip_max %d waiting",
                 fe->per_ip_max);
        fe_refuse_log(FE_REFUSE_PER_IP, line);
        return;
    }
    uint64_t now = bx_now_ms(),
             limit = (uint64_t)(tls ? fe->handshake_timeout_ms : fe->request_timeout_ms);
    /* since is the child's word: kept within [now - limit, now] */
    uint64_t since = p->since_ms > now           ? now
                     : p->since_ms + limit < now ? now - limit
                                                 : p->since_ms;
    size_t i = w->free_stack[--w->nfree];
    w->e[i] = (struct entry){.fd = fd,
                             .li = p->li,
                             .gen = p->gen,
                             .need = p->need,
                             .since = since,
                             .deadline = since + limit,
                             .tls = tls,
                             .iplen = probe.iplen};
    memcpy(w->e[i].ip, probe.ip, sizeof probe.ip);
    ip_link(w, (uint32_t)i);
    w->n++;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET,
                             .data.u32 = FE_WAITROOM_EP_BASE + (uint32_t)i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1)
        pass_back(w, ep, i, SERVE_AS_IS);
}

void fe_waitroom_receive(struct fe_waitroom *w, int ep, const struct fe_gen *g)
{
    for (int k = 0; k < 256; k++) {
        struct fe_park p;
        int fd = recv_fd(w->sock[0], &p);
        if (fd == -2)
            return;
        if (fd < 0) {
            /* EMFILE here drops the descriptor the kernel could not give us */
            fe_refuse_log(FE_REFUSE_FD_LIMIT, "waiting room: a parked client was lost "
                                              "(descriptor limit, or a malformed message)");
            continue;
        }
        admit(w, ep, g, fd, &p);
    }
}

void fe_waitroom_event(struct fe_waitroom *w, int ep, uint32_t tag, uint32_t events)
{
    size_t i = tag - FE_WAITROOM_EP_BASE;
    if (i >= w->max || w->e[i].fd < 0)
        return;
    int queued = 0;
    bool enough = ioctl(w->e[i].fd, FIONREAD, &queued) == 0 && (uint32_t)queued >= w->e[i].need;
    if (enough && !(events & (EPOLLHUP | EPOLLERR)))
        pass_back(w, ep, i, 0);
    else if (events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR))
        drop(w, ep, i); /* gone, or done sending without ever being ready: no child for it */
}

void fe_waitroom_tick(struct fe_waitroom *w, int ep)
{
    uint64_t now = bx_now_ms();
    char page[512];
    for (size_t i = 0; i < w->max && w->n; i++) {
        struct entry *x = &w->e[i];
        if (x->fd < 0)
            continue;
        if (now >= x->deadline) {
            if (!x->tls) {
                size_t len = fe_http_page(page, sizeof page, 408, "Request Timeout",
                                          "No request arrived in time.");
                if (send(x->fd, page, len, MSG_DONTWAIT | MSG_NOSIGNAL) == -1) {
                    /* gone; closed below all the same */
                }
            }
            fe_refuse_log(FE_REFUSE_SLOW, x->tls ? "waiting room: a TLS client closed, no "
                                                   "ClientHello within handshake_timeout"
                                                 : "waiting room: a client closed, no request "
                                                   "head within request_timeout (408)");
            drop(w, ep, i);
        } else if (x->pending) {
            pass_back(w, ep, i, 0);
        }
    }
}

void fe_waitroom_regen(struct fe_waitroom *w, const struct fe_gen *old, const struct fe_gen *g)
{
    for (size_t i = 0; i < w->max; i++) {
        struct entry *x = &w->e[i];
        if (x->fd < 0 || x->gen != old->id || x->li >= old->nls)
            continue;
        const struct fe_listener *l = &old->ls[x->li];
        x->gen = g->id;
        x->li = UINT32_MAX;
        for (size_t k = 0; k < g->nls; k++)
            if (g->ls[k].port == l->port && strcmp(g->ls[k].addr, l->addr) == 0)
                x->li = (uint32_t)k;
        if (x->li == UINT32_MAX) {
            /* the service went away with the reload */
            ip_unlink(w, (uint32_t)i);
            close(x->fd);
            x->fd = -1;
            w->free_stack[w->nfree++] = i;
            w->n--;
        }
    }
}
