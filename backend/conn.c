/* SPDX-License-Identifier: BSD-2-Clause */
/* Client connections: accept, PROXY header, buffered I/O, deferred free. */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend/conn.h"
#include "backend/http.h"
#include "backend/modset.h"
#include "backend/worker.h"
#include "bactrian/module.h"
#include "common/log.h"
#include "common/proc.h"
#include "common/ratelimit.h"
#include "common/xalloc.h"

#define READ_MIN 4096
/* Buffers that grew past this are given back once empty. */
#define KEEP_BUF 65536
#define ACCEPT_PAUSE_MS 100
#define PROXY_TIMEOUT_MS 5000

static void conn_io(struct bx_ev *ev, struct bx_ev_io *io, unsigned events);
static void conn_timer(struct bx_ev *ev, struct bx_ev_timer *t);

static void client_str(struct be_conn *c)
{
    const struct sockaddr *sa = (const struct sockaddr *)&c->client;
    if (sa->sa_family == AF_UNIX || sa->sa_family == AF_UNSPEC)
        strcpy(c->client_str, "unix");
    else
        bx_sockaddr_str(sa, c->clientlen, false, c->client_str, sizeof c->client_str);
}

static void link_conn(struct be_conn *c)
{
    struct be_worker *w = be_worker;
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->nconns++;
    w->stats->connections_open++;
    w->stats->connections_total++;
}

static bool proxy_allowed(const struct be_listener *l, const struct be_conn *c)
{
    if (l->unix_socket)
        return true;
    return bx_cidr_list_match(l->proxy_from, l->nproxy_from, (const struct sockaddr *)&c->peer);
}

/* The modules' connect hooks, once the client address is final (after the
 * PROXY header, or at accept when none is expected), before any HTTP byte is
 * parsed. A refused connection is closed; the log says so once a second. */
static bool admit(struct be_conn *c)
{
    static struct bx_ratelimit limit;
    const struct be_instance *who = NULL;
    if (!be_worker->mods ||
        be_modset_connect(be_worker->mods, (const struct sockaddr *)&c->client, c->clientlen, &who))
        return true;
    uint64_t more;
    if (bx_ratelimit_pass(&limit, bx_now_ms(), &more)) {
        char tail[80] = "";
        if (more)
            snprintf(tail, sizeof tail, "; %llu more refused since the last such line",
                     (unsigned long long)more);
        bx_log_notice("%s: connection refused by module %s (%s)%s", c->client_str, who->mod->name,
                      who->setting_path, tail);
    }
    be_conn_close(c);
    return false;
}

static void start_conn(const struct be_listener *l, int fd, struct sockaddr_storage *ss,
                       socklen_t len)
{
    struct be_conn *c = bx_xcalloc(1, sizeof *c);
    c->fd = fd;
    c->listener = l;
    c->id = ++be_worker->next_conn_id;
    c->peer = *ss;
    c->peerlen = len;
    c->client = *ss;
    c->clientlen = len;
    client_str(c);
    bx_ev_io_init(&c->io, fd, conn_io, c);
    bx_ev_timer_init(&c->timer, conn_timer, c);
    link_conn(c);
    if (l->proxy_protocol != BX_PROXY_OFF && proxy_allowed(l, c)) {
        c->proxy_pending = true;
    } else if (l->proxy_protocol == BX_PROXY_REQUIRED) {
        bx_log_warn("%s: PROXY header required but this peer may not send one; closing",
                    c->client_str);
        be_conn_close(c);
        return;
    }
    if (!l->unix_socket) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    be_http_start(c);
    if (!c->proxy_pending && !admit(c))
        return;
    if (c->proxy_pending)
        be_conn_timer(c, PROXY_TIMEOUT_MS);
    be_conn_want_read(c, true);
}

struct be_conn *be_conn_adopt(int fd, const struct sockaddr_storage *client, socklen_t len,
                              const char *client_text)
{
    struct be_conn *c = bx_xcalloc(1, sizeof *c);
    c->fd = fd;
    c->listener = be_worker->ls->n ? &be_worker->ls->v[0] : NULL;
    c->id = ++be_worker->next_conn_id;
    c->peer = c->client = *client;
    c->peerlen = c->clientlen = len;
    snprintf(c->client_str, sizeof c->client_str, "%s", client_text);
    bx_ev_io_init(&c->io, fd, conn_io, c);
    bx_ev_timer_init(&c->timer, conn_timer, c);
    link_conn(c);
    return c;
}

void be_conn_suspend(struct be_conn *c)
{
    bx_ev_io_stop(be_worker->ev, &c->io);
    bx_ev_timer_stop(be_worker->ev, &c->timer);
    c->deadline = 0;
}

/* Out of descriptors (or kernel memory): the listener stays readable, so it
 * is taken out of the loop for ACCEPT_PAUSE_MS, or the loop would spin; the
 * log says so at most once a second, with how many pauses it did not tell. */
static void accept_exhausted(int err)
{
    static struct bx_ratelimit limit;
    uint64_t more;
    if (bx_ratelimit_pass(&limit, bx_now_ms(), &more)) {
        char tail[80] = "";
        if (more)
            snprintf(tail, sizeof tail, " (%llu more pauses since the last such line)",
                     (unsigned long long)more);
        bx_log_error("worker %d: accept: %s; pausing accepts for %d ms%s", be_worker->index,
                     strerror(err), ACCEPT_PAUSE_MS, tail);
    }
    be_worker_pause_accept(ACCEPT_PAUSE_MS);
}

void be_conn_accept(const struct be_listener *l, long max)
{
    if (max > ACCEPT_BATCH_MAX)
        max = ACCEPT_BATCH_MAX;
    for (long i = 0; i < max && !be_worker->draining; i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd == -1) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                accept_exhausted(errno);
            return; /* EAGAIN: another worker got it, or nothing left */
        }
        if (len == 0 || ss.ss_family == AF_UNIX) {
            memset(&ss, 0, sizeof ss);
            ss.ss_family = AF_UNIX;
            len = sizeof(sa_family_t);
        }
        start_conn(l, fd, &ss, len);
    }
}

bool be_conn_peer_gone(const struct be_conn *c)
{
    char b;
    if (c->eof)
        return true;
    ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR);
}

/* ---- PROXY header ------------------------------------------------------------------ */

/* Returns true when the connection may go on to HTTP. */
static bool handle_proxy(struct be_conn *c)
{
    char err[BX_ERRLEN];
    struct bx_proxy_info info;
    char peer[BX_ADDRSTRLEN];
    ssize_t n = bx_proxy_parse(bx_buf_rpos(&c->in), bx_buf_unread(&c->in), &info, err, sizeof err);
    if (n == BX_PROXY_NEED_MORE) {
        if (c->eof) {
            be_conn_close(c);
            return false;
        }
        return false;
    }
    if (n == BX_PROXY_NONE) {
        c->proxy_pending = false;
        if (c->listener->proxy_protocol == BX_PROXY_REQUIRED) {
            bx_log_warn("%s: no PROXY header on a listener that requires one; closing",
                        bx_sockaddr_str((struct sockaddr *)&c->peer, c->peerlen, true, peer,
                                        sizeof peer));
            be_conn_close(c);
            return false;
        }
        be_conn_timer(c, 0);
        return admit(c);
    }
    if (n < 0) {
        bx_log_warn("%s: malformed PROXY header: %s; closing",
                    bx_sockaddr_str((struct sockaddr *)&c->peer, c->peerlen, true, peer,
                                    sizeof peer),
                    err);
        be_conn_close(c);
        return false;
    }
    bx_buf_consume(&c->in, (size_t)n);
    c->proxy_pending = false;
    c->proxy = bx_xmalloc(sizeof *c->proxy);
    *c->proxy = info;
    if (!info.local && info.src.ss_family != AF_UNSPEC) {
        c->client = info.src;
        c->clientlen = info.srclen;
        client_str(c);
    }
    be_conn_timer(c, 0);
    return admit(c);
}

/* ---- I/O ----------------------------------------------------------------------------- */

static void do_read(struct be_conn *c)
{
    /* Small reads into a small buffer while that is enough: an idle
     * connection holds 4 KiB, not 16; a buffer that grew (a body, a burst of
     * pipelined requests, WebSocket frames) is used whole. */
    size_t room = c->in.cap - c->in.len;
    ssize_t n = bx_buf_read_fd(&c->in, c->fd, room > READ_MIN ? room : READ_MIN);
    if (n > 0) {
        c->bytes_in += (uint64_t)n;
        be_worker->stats->bytes_in += (uint64_t)n;
    } else if (n == 0) {
        c->eof = true;
        be_conn_want_read(c, false);
    } else if (errno != EAGAIN && errno != EINTR) {
        c->eof = true;
        be_conn_close(c);
        return;
    } else {
        return;
    }
    if (c->proxy_pending && !handle_proxy(c))
        return;
    c->ops->on_read(c);
}

static void conn_io(struct bx_ev *ev, struct bx_ev_io *io, unsigned events)
{
    (void)ev;
    struct be_conn *c = io->data;
    if ((events & BX_EV_WRITE) && !c->closed) {
        be_conn_flush(c);
    }
    if ((events & BX_EV_READ) && !c->closed && c->reading)
        do_read(c);
    else if ((events & BX_EV_ERROR) && !c->closed && !(io->events & BX_EV_WRITE))
        be_conn_close(c);
}

static void conn_timer(struct bx_ev *ev, struct bx_ev_timer *t)
{
    struct be_conn *c = t->data;
    if (c->closed || c->deadline == 0)
        return;
    if (c->deadline > bx_ev_now(ev)) {
        /* pushed back since it was armed (see be_conn_timer) */
        bx_ev_timer_start(ev, t, c->deadline - bx_ev_now(ev));
        return;
    }
    c->deadline = 0;
    if (c->proxy_pending || c->close_after_flush) {
        be_conn_close(c);
        return;
    }
    c->ops->on_timer(c);
}

static void update_events(struct be_conn *c)
{
    if (c->closed)
        return;
    unsigned ev = 0;
    if (c->reading && !c->eof)
        ev |= BX_EV_READ;
    if (c->nsegs > c->seg_head)
        ev |= BX_EV_WRITE;
    if (bx_ev_io_set(be_worker->ev, &c->io, ev) == -1)
        be_conn_close(c);
}

void be_conn_want_read(struct be_conn *c, bool on)
{
    c->reading = on;
    update_events(c);
}

void be_conn_timer(struct be_conn *c, uint64_t ms)
{
    if (c->closed)
        return;
    struct bx_ev *ev = be_worker->ev;
    if (ms == 0) {
        c->deadline = 0;
        bx_ev_timer_stop(ev, &c->timer);
        return;
    }
    /* Pushing a deadline back (every request on a keep-alive connection)
     * leaves the heap alone: the timer fires at the old time and re-arms. */
    c->deadline = bx_ev_now(ev) + ms;
    if (!bx_ev_timer_armed(&c->timer) || c->timer.when > c->deadline)
        bx_ev_timer_start(ev, &c->timer, ms);
}

static struct be_out_seg *push_seg(struct be_conn *c)
{
    if (c->seg_head == c->nsegs)
        c->seg_head = c->nsegs = 0;
    if (c->nsegs == c->capsegs) {
        if (c->seg_head > 0) {
            memmove(c->segs, c->segs + c->seg_head, (c->nsegs - c->seg_head) * sizeof *c->segs);
            c->nsegs -= c->seg_head;
            c->seg_head = 0;
        } else {
            c->capsegs = c->capsegs ? c->capsegs * 2 : 4;
            c->segs = bx_xrealloc(c->segs, c->capsegs * sizeof *c->segs);
        }
    }
    return &c->segs[c->nsegs++];
}

void be_conn_queue(struct be_conn *c, const void *p, size_t n)
{
    if (n == 0 || c->closed)
        return;
    bx_buf_append(&c->out, p, n);
    if (c->nsegs > c->seg_head && c->segs[c->nsegs - 1].fd == -1) {
        c->segs[c->nsegs - 1].len += n;
        return;
    }
    *push_seg(c) = (struct be_out_seg){.fd = -1, .len = n};
}

void be_conn_queue_file(struct be_conn *c, int fd, off_t off, uint64_t len)
{
    if (c->closed || len == 0) {
        close(fd);
        return;
    }
    *push_seg(c) = (struct be_out_seg){.fd = fd, .off = off, .len = len};
}

uint64_t be_conn_pending(const struct be_conn *c)
{
    uint64_t n = 0;
    for (size_t i = c->seg_head; i < c->nsegs; i++)
        n += c->segs[i].len;
    return n;
}

/* Writes the head segment; returns bytes written, 0 on EAGAIN, -1 on error. */
static ssize_t write_seg(struct be_conn *c, struct be_out_seg *s, bool more)
{
    ssize_t n;
    if (s->fd == -1) {
        size_t len = s->len;
        if (len > bx_buf_unread(&c->out))
            len = bx_buf_unread(&c->out);
        n = send(c->fd, bx_buf_rpos(&c->out), len, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
        if (n > 0)
            bx_buf_consume(&c->out, (size_t)n);
    } else {
        size_t len = s->len > (1u << 30) ? (1u << 30) : (size_t)s->len;
        n = sendfile(c->fd, s->fd, &s->off, len);
        if (n == 0) {
            errno = EIO; /* the file shrank under us */
            return -1;
        }
    }
    if (n == -1)
        return errno == EAGAIN || errno == EINTR ? 0 : -1;
    return n;
}

void be_conn_flush(struct be_conn *c)
{
    bool had = c->nsegs > c->seg_head;
    while (c->nsegs > c->seg_head && !c->closed) {
        struct be_out_seg *s = &c->segs[c->seg_head];
        bool more = c->seg_head + 1 < c->nsegs;
        ssize_t n = write_seg(c, s, more);
        if (n == -1) {
            be_conn_close(c);
            return;
        }
        if (n == 0)
            break;
        c->bytes_out += (uint64_t)n;
        be_worker->stats->bytes_out += (uint64_t)n;
        s->len -= (uint64_t)n;
        if (s->len == 0) {
            if (s->fd != -1)
                close(s->fd);
            c->seg_head++;
        }
    }
    if (c->closed)
        return;
    bool empty = c->nsegs == c->seg_head;
    if (empty && c->out.cap > KEEP_BUF)
        bx_buf_free(&c->out);
    if (bx_buf_unread(&c->in) == 0 && c->in.cap > KEEP_BUF)
        bx_buf_free(&c->in);
    update_events(c);
    if (empty && had) {
        if (c->close_after_flush) {
            be_conn_close(c);
            return;
        }
        if (c->ops->on_write)
            c->ops->on_write(c);
    }
}

void be_conn_close_after_flush(struct be_conn *c)
{
    if (c->closed)
        return;
    c->close_after_flush = true;
    c->reading = false;
    if (c->nsegs == c->seg_head) {
        be_conn_close(c);
        return;
    }
    /* a client that stops reading our last response is dropped */
    be_conn_timer(c, be_worker->idle_timeout_ms);
    be_conn_flush(c);
}

void be_conn_close(struct be_conn *c)
{
    if (c->closed)
        return;
    struct be_worker *w = be_worker;
    c->closed = true;
    if (c->ops && c->ops->on_close)
        c->ops->on_close(c);
    bx_ev_io_stop(w->ev, &c->io);
    bx_ev_timer_stop(w->ev, &c->timer);
    close(c->fd);
    c->fd = -1;
    for (size_t i = c->seg_head; i < c->nsegs; i++)
        if (c->segs[i].fd != -1)
            close(c->segs[i].fd);
    c->seg_head = c->nsegs = 0;
    /* unlink from the live list, park on the zombie list until the loop turn ends */
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = NULL;
    c->next = w->zombies;
    w->zombies = c;
    w->nconns--;
    w->stats->connections_open--;
}

void be_conns_reap(void)
{
    struct be_worker *w = be_worker;
    while (w->zombies) {
        struct be_conn *c = w->zombies;
        w->zombies = c->next;
        if (c->ops && c->ops->on_free)
            c->ops->on_free(c);
        bx_buf_free(&c->in);
        bx_buf_free(&c->out);
        free(c->segs);
        free(c->proxy);
        free(c);
    }
}

void be_conns_drain(void)
{
    for (struct be_conn *c = be_worker->conns, *next; c; c = next) {
        next = c->next;
        if (c->ops && c->ops->on_drain)
            c->ops->on_drain(c);
        else
            be_conn_close(c);
    }
}

size_t be_conns_count(void)
{
    return be_worker->nconns;
}

void be_conns_close_all(void)
{
    while (be_worker->conns)
        be_conn_close(be_worker->conns);
}
