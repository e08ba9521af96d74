/* SPDX-License-Identifier: BSD-2-Clause */
/* Client <-> backend relay; see relay.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <openssl/err.h>
#include <poll.h>
#include <stddef.h>
#include <stdbool.h>
#include <string.h>
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/proc.h"
#include "frontend/relay.h"
#include "frontend/scoreboard.h"

#define PIPE_CAP 65536
#define C2B_BUF 16384          /* one TLS record */
#define B2C_BUF 65536          /* several records per wakeup */
/* An idle relay gives its buffer pages back after this long without traffic. */
#define TRIM_AFTER_MS 1000

int fe_relay_ktls_active(SSL *ssl)
{
#ifdef SSL_OP_ENABLE_KTLS
    return BIO_get_ktls_send(SSL_get_wbio(ssl)) && BIO_get_ktls_recv(SSL_get_rbio(ssl));
#else
    (void)ssl;
    return 0;
#endif
}

static void count(struct fe_relay *r, bool in, size_t n)
{
    if (in) {
        r->in += n;
        if (r->slot)
            r->slot->bytes_in = r->in;
    } else {
        r->out += n;
        if (r->slot)
            r->slot->bytes_out = r->out;
    }
}

/* Poll timeout: the nearest of the idle and stall deadlines (and the trim). */
static int next_timeout(const struct fe_relay *r, uint64_t now, uint64_t last_io,
                        uint64_t last_write, bool pending, bool trimmed)
{
    int64_t t = (int64_t)(last_io + (uint64_t)r->idle_ms) - (int64_t)now;
    if (pending) {
        int64_t s = (int64_t)(last_write + (uint64_t)r->stall_ms) - (int64_t)now;
        if (s < t)
            t = s;
    } else if (!trimmed) {
        int64_t s = (int64_t)(last_io + TRIM_AFTER_MS) - (int64_t)now;
        if (s < t)
            t = s;
    }
    return t < 0 ? 0 : (int)t;
}

/* The idle and stall deadlines: true (r->end set) when one has passed.
 * writing: bytes wait to be written, so the stall clock runs. */
static bool expired(struct fe_relay *r, uint64_t now, uint64_t last_io, uint64_t last_write,
                    bool writing)
{
    if (now >= last_io + (uint64_t)r->idle_ms)
        r->end = "idle timeout";
    else if (writing && now >= last_write + (uint64_t)r->stall_ms)
        r->end = "stall timeout";
    else
        return false;
    return true;
}

/* Writes the bytes read before the relay started (poll while blocked). */
static int write_pre(struct fe_relay *r)
{
    size_t off = 0;
    uint64_t deadline = bx_now_ms() + (uint64_t)r->stall_ms;
    while (off < r->prelen) {
        ssize_t n = write(r->bfd, r->pre + off, r->prelen - off);
        if (n > 0) {
            off += (size_t)n;
            count(r, true, (size_t)n);
            continue;
        }
        if (n == -1 && errno != EAGAIN && errno != EINTR)
            return -1;
        uint64_t now = bx_now_ms();
        if (now >= deadline)
            return -1;
        struct pollfd p = {.fd = r->bfd, .events = POLLOUT};
        poll(&p, 1, (int)(deadline - now));
    }
    return 0;
}

/* Offers an idle connection with nothing buffered to another process, once
 * per idle spell; true when it was taken (the relay must end untouched). */
static bool try_handoff(struct fe_relay *r, uint64_t now, uint64_t last_io, bool busy)
{
    /* r->last_io equal to last_io: this spell was offered already. */
    if (!r->handoff || busy || now < last_io + FE_RELAY_HANDOFF_MS || r->last_io == last_io)
        return false;
    r->last_io = last_io; /* the next process goes on counting idle time from here */
    if (r->handoff(r, r->handoff_arg) != 0)
        return false;
    r->end = "handed off";
    return true;
}

/* Writes buf[*off..*len) to fd without blocking. Returns the bytes written
 * (0: none) or -1 on an error. A short write means the socket is full, so
 * *wait becomes POLLOUT and nothing is tried again before poll or epoll
 * says it drained; *off and *len go back to 0 once everything is out. */
static ssize_t write_some(int fd, const unsigned char *buf, size_t *off, size_t *len, short *wait)
{
    ssize_t n = write(fd, buf + *off, *len - *off);
    if (n > 0) {
        *off += (size_t)n;
        if (*off == *len)
            *off = *len = 0;
        else
            *wait = POLLOUT;
        return n;
    }
    if (n == -1 && errno == EAGAIN)
        *wait = POLLOUT;
    return n == -1 && errno != EAGAIN && errno != EINTR ? -1 : 0;
}

/* Clears a wait that poll reports satisfied (or moot: hang-up, error). */
static void ready(short *wait, short revents)
{
    if (revents & (*wait | POLLHUP | POLLERR | POLLNVAL))
        *wait = 0;
}

/* ---- the transports ------------------------------------------------------
 * The relay is two directions, client->backend and backend->client, each
 * moving bytes from its source side through a middle (a buffer, or a pipe for
 * splice) to its destination side, over one loop (relay_loop) and one
 * edge-triggered epoll. What differs between plaintext, OpenSSL and our own
 * record layer is how a side reads into and writes out of a middle: a
 * transport. The backend side is always a plain socket (spliced when the
 * client side is). */

struct mid {                  /* bytes between the two sides of a direction */
    unsigned char *buf;       /* NULL: a pipe (splice) */
    size_t cap, len, off;     /* len: bytes held, in buf or in the pipe */
    int p[2];
};

struct side {
    const struct fe_transport *t;
    int fd;
    SSL *ssl;
    struct fe_tlsrec *rec;
    unsigned char *rbuf, *wbuf; /* the record layer's ciphertext, read and to write */
    size_t rcap, rlen, wcap, wlen, woff;
    /* What a blocked read or write waits for (0: worth trying): no call is
     * repeated before epoll says the descriptor changed. */
    short rw, ww;
    bool eof;                 /* its stream ended (FIN or close_notify) */
    bool hup;                 /* the peer's FIN was reported: its edge is spent, so a
                               * short read no longer proves the socket drained */
    bool out;                 /* EPOLLOUT registered (only while a write is blocked: a
                               * Unix socket reports writable after every read of its peer) */
};

struct fe_transport {
    /* Reads from s into m when m has room and s is not blocked: 1 progress
     * (data, or s->eof set), 0 none, -1 broken (r->end may say why). */
    int (*read)(struct fe_relay *r, struct side *s, struct mid *m);
    /* Writes m out to s: the bytes taken from m (0: none), -1 broken;
     * *wrote when bytes reached the socket (the stall clock). */
    ssize_t (*write)(struct fe_relay *r, struct side *s, struct mid *m, bool *wrote);
    void (*shutdown)(struct side *s); /* ends s's stream: FIN, close_notify */
    void (*trim)(void);       /* gives idle memory back beyond the buffers; may be NULL */
    size_t c2b, b2c;          /* middle sizes (0: pipes) */
    size_t rbuf, wbuf;        /* the client side's own buffers */
    bool lingers;             /* the client's half goes on after the backend closed */
    bool movable;             /* its state can be handed to another process */
};

/* What a plain or splice read that moved no bytes means: the peer's end
 * (1: progress, the end is passed on), nothing yet (0) or an error (-1). */
static int read_ended(struct side *s, ssize_t n)
{
    if (n == 0) {
        s->eof = true;
        return 1;
    }
    if (errno == EAGAIN)
        s->rw = POLLIN;
    return errno == EAGAIN || errno == EINTR ? 0 : -1;
}

/* Plain socket into a buffer. A read that returns less than asked is taken
 * as draining the socket (epoll says when more comes), which saves the read
 * that would only say EAGAIN. */
static int plain_read(struct fe_relay *r, struct side *s, struct mid *m)
{
    (void)r;
    if (s->rw || m->len)
        return 0;
    ssize_t n = read(s->fd, m->buf, m->cap);
    if (n > 0) {
        m->len = (size_t)n;
        m->off = 0;
        if ((size_t)n < m->cap && !s->hup)
            s->rw = POLLIN;
        return 1;
    }
    return read_ended(s, n);
}

static ssize_t plain_write(struct fe_relay *r, struct side *s, struct mid *m, bool *wrote)
{
    (void)r;
    if (s->ww)
        return 0;
    ssize_t n = write_some(s->fd, m->buf, &m->off, &m->len, &s->ww);
    if (n > 0)
        *wrote = true;
    return n;
}

static void plain_shutdown(struct side *s)
{
    shutdown(s->fd, SHUT_WR);
}

/* Plain socket into a pipe: the bytes never enter user space. */
static int splice_read(struct fe_relay *r, struct side *s, struct mid *m)
{
    (void)r;
    if (s->rw || m->len >= PIPE_CAP)
        return 0;
    ssize_t n = splice(s->fd, NULL, m->p[1], NULL, PIPE_CAP - m->len,
                       SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
    if (n > 0) {
        m->len += (size_t)n;
        return 1;
    }
    return read_ended(s, n);
}

static ssize_t splice_write(struct fe_relay *r, struct side *s, struct mid *m, bool *wrote)
{
    (void)r;
    if (s->ww || !m->len)
        return 0;
    ssize_t n = splice(m->p[0], NULL, s->fd, NULL, m->len, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
    if (n > 0) {
        m->len -= (size_t)n;
        *wrote = true;
        return n;
    }
    if (n == -1 && errno == EAGAIN)
        s->ww = POLLOUT;
    return n == -1 && errno != EAGAIN && errno != EINTR ? -1 : 0;
}

/* One SSL_* call result: 1 progress, 0 would block (wait set), -1 broken,
 * 2 clean end of the client's stream. */
static int ssl_result(SSL *ssl, int n, short *wait)
{
    switch (SSL_get_error(ssl, n)) {
    case SSL_ERROR_WANT_READ: *wait = POLLIN; return 0;
    case SSL_ERROR_WANT_WRITE: *wait = POLLOUT; return 0;
    case SSL_ERROR_ZERO_RETURN: return 2;
    case SSL_ERROR_SYSCALL:
        ERR_clear_error();
        return errno == 0 ? 2 : -1; /* EOF without close_notify: treat as a close */
    default: ERR_clear_error(); return -1;
    }
}

static int ossl_read(struct fe_relay *r, struct side *s, struct mid *m)
{
    (void)r;
    if (s->rw || m->len)
        return 0;
    errno = 0;
    int n = SSL_read(s->ssl, m->buf, (int)m->cap);
    if (n > 0) {
        m->len = (size_t)n;
        m->off = 0;
        return 1;
    }
    int x = ssl_result(s->ssl, n, &s->rw);
    if (x == 2)
        s->eof = true;
    return x == 2 ? 1 : x;
}

static ssize_t ossl_write(struct fe_relay *r, struct side *s, struct mid *m, bool *wrote)
{
    (void)r;
    if (s->ww)
        return 0;
    int n = SSL_write(s->ssl, m->buf + m->off, (int)(m->len - m->off));
    if (n <= 0)
        return ssl_result(s->ssl, n, &s->ww) != 0 ? -1 : 0;
    m->off += (size_t)n;
    if (m->off == m->len)
        m->off = m->len = 0;
    *wrote = true;
    return n;
}

static void ossl_shutdown(struct side *s)
{
    SSL_shutdown(s->ssl); /* close_notify; best effort */
    ERR_clear_error();
}

static void ossl_trim(void)
{
    malloc_trim(0);
}

/* Our own TLS 1.3 record layer: many records per read(2) and write(2).
 * Opens what complete records rbuf holds into m (m must be empty). */
static int rec_open(struct fe_relay *r, struct side *s, struct mid *m)
{
    size_t used = 0, plain = 0;
    if (fe_tlsrec_open(s->rec, s->rbuf, s->rlen, &used, m->buf, m->cap, &plain) == -1) {
        r->end = "bad TLS record";
        return -1;
    }
    if (used) {
        memmove(s->rbuf, s->rbuf + used, s->rlen - used);
        s->rlen -= used;
    }
    m->len = plain;
    m->off = 0;
    if (s->rec->peer_closed)
        s->eof = true;
    return used ? 1 : 0;
}

static int rec_read(struct fe_relay *r, struct side *s, struct mid *m)
{
    int progress = 0;
    if (m->len)
        return 0;
    if (s->rlen) {
        progress = rec_open(r, s, m);
        if (progress < 0)
            return -1;
    }
    if (s->eof || m->len || s->rw || s->rlen >= s->rcap)
        return progress;
    size_t room = s->rcap - s->rlen;
    ssize_t n = read(s->fd, s->rbuf + s->rlen, room);
    if (n > 0) {
        s->rlen += (size_t)n;
        if ((size_t)n < room && !s->hup)
            s->rw = POLLIN;
        return rec_open(r, s, m) < 0 ? -1 : 1;
    }
    if (n == 0) {
        s->eof = true; /* no close_notify: taken as a close all the same */
        return 1;
    }
    if (errno == EAGAIN)
        s->rw = POLLIN;
    return errno == EAGAIN || errno == EINTR ? progress : -1;
}

/* Seals all of m (sized so that it fits in wbuf) once wbuf is empty. */
static ssize_t rec_write(struct fe_relay *r, struct side *s, struct mid *m, bool *wrote)
{
    ssize_t taken = 0;
    if (s->wlen == 0 && m->len) {
        size_t t = 0;
        ssize_t c = fe_tlsrec_seal(s->rec, m->buf, m->len, &t, s->wbuf, s->wcap);
        if (c < 0 || t != m->len) {
            r->end = "TLS seal failed";
            return -1;
        }
        taken = (ssize_t)t;
        m->len = m->off = 0;
        s->wlen = (size_t)c;
        s->woff = 0;
    }
    if (s->wlen && !s->ww) {
        ssize_t n = write_some(s->fd, s->wbuf, &s->woff, &s->wlen, &s->ww);
        if (n < 0)
            return -1;
        if (n > 0)
            *wrote = true;
    }
    return taken;
}

static void rec_shutdown(struct side *s)
{
    unsigned char alert[64];
    ssize_t n = fe_tlsrec_seal_close(s->rec, alert, sizeof alert);
    if (n > 0 && write(s->fd, alert, (size_t)n) == -1) {
        /* best effort, as SSL_shutdown */
    }
}

#define REC_CIN (B2C_BUF + FE_TLSREC_MAX_RECORD) /* client ciphertext */
#define REC_COUT B2C_BUF                          /* sealed: 5 records + a KeyUpdate fit */

static const struct fe_transport t_splice = {
    .read = splice_read,
    .write = splice_write,
    .shutdown = plain_shutdown,
    .lingers = true,
    .movable = true,
};
static const struct fe_transport t_plain = {
    .read = plain_read,
    .write = plain_write,
    .shutdown = plain_shutdown,
};
static const struct fe_transport t_openssl = {
    .read = ossl_read,
    .write = ossl_write,
    .shutdown = ossl_shutdown,
    .trim = ossl_trim,
    .c2b = C2B_BUF,
    .b2c = B2C_BUF,
};
static const struct fe_transport t_tlsrec = {
    .read = rec_read,
    .write = rec_write,
    .shutdown = rec_shutdown,
    .c2b = B2C_BUF,
    .b2c = B2C_BUF - 512,
    .rbuf = REC_CIN,
    .wbuf = REC_COUT,
    .movable = true,
};

/* ---- the loop -------------------------------------------------------------- */

struct dir {
    struct side *src, *dst;
    struct mid m;
    bool in;                  /* client->backend (counted as bytes in) */
    bool shut;                /* dst's stream ended */
};

struct relay {
    struct side c, b;
    struct dir d[2];          /* client->backend, backend->client */
    int ep;
    unsigned char *mem;
    size_t memlen;
};

/* One direction: read what fits, write what is held, pass the end on.
 * 1 progress, 0 none, -1 broken. */
static int step(struct fe_relay *r, struct dir *d, bool *wrote)
{
    int progress = 0;
    if (!d->src->eof && d->dst->wlen == 0) {
        progress = d->src->t->read(r, d->src, &d->m);
        if (progress < 0)
            return -1;
        if (d->src->eof && !d->in && r->out == 0 && r->in == r->prelen)
            return -1; /* closed unanswered: the caller may replay */
    }
    if (d->m.len || d->dst->wlen) {
        bool w = false;
        ssize_t n = d->dst->t->write(r, d->dst, &d->m, &w);
        if (n < 0)
            return -1;
        if (n > 0)
            count(r, d->in, (size_t)n);
        if (n > 0 || w)
            progress = 1;
        *wrote |= w;
    }
    if (d->src->eof && d->m.len == 0 && d->dst->wlen == 0 && !d->shut) {
        d->dst->t->shutdown(d->dst);
        d->shut = true;
    }
    return progress;
}

static int watch(struct relay *x, struct side *s, uint32_t idx, bool out, int op)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET | (out ? EPOLLOUT : 0),
                             .data.u32 = idx};
    return epoll_ctl(x->ep, op, s->fd, &ev);
}

/* EPOLLOUT while a write to s is blocked (or a read waits for room to write). */
static void watch_out(struct relay *x, struct side *s, uint32_t idx, size_t towards)
{
    bool out = s->rw == POLLOUT || (s->ww == POLLOUT && (towards || s->wlen));
    if (out != s->out && watch(x, s, idx, out, EPOLL_CTL_MOD) == 0)
        s->out = out;
}

/* Waits for what the blocked operations need (or the timeout). */
static void wait_ready(struct relay *x, int timeout)
{
    watch_out(x, &x->c, 0, x->d[1].m.len);
    watch_out(x, &x->b, 1, x->d[0].m.len);
    struct epoll_event ev[2];
    int n = epoll_wait(x->ep, ev, 2, timeout);
    for (int i = 0; i < n; i++) {
        uint32_t e = ev[i].events;
        short rev = (short)(((e & (EPOLLIN | EPOLLRDHUP)) ? POLLIN : 0) |
                            ((e & EPOLLOUT) ? POLLOUT : 0) | ((e & EPOLLHUP) ? POLLHUP : 0) |
                            ((e & EPOLLERR) ? POLLERR : 0));
        struct side *s = ev[i].data.u32 == 0 ? &x->c : &x->b;
        s->hup |= (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
        ready(&s->rw, rev);
        ready(&s->ww, rev);
    }
}

/* The end after a broken step: a clean close when the client already has
 * everything and its close_notify, else a reset. */
static int broken(struct fe_relay *r, struct relay *x)
{
    if (!x->c.t->lingers && x->d[1].shut && x->c.wlen == 0) {
        r->end = "closed"; /* all delivered; the client hung up first */
        return 0;
    }
    /* Not when client bytes beyond pre are held here: a replay would lose
     * them (and with them the start of a record). */
    r->unanswered = r->out == 0 && r->in == r->prelen && !x->c.rlen && !x->d[0].m.len;
    if (strcmp(r->end, "error") == 0)
        r->end = "reset";
    return -1;
}

/* True when the relay is over: both streams ended, or (unless the client
 * transport lingers) the backend's, since nothing could answer later requests. */
static bool finished(const struct relay *x)
{
    if (x->c.t->lingers)
        return x->d[0].shut && x->d[1].shut;
    return x->d[1].shut && x->d[0].m.len == 0;
}

/* One idle turn: deadlines, hand-off, trim, then the wait. 1: the relay
 * ended (rc in *rc), 0: go on. */
static int idle_turn(struct fe_relay *r, struct relay *x, uint64_t now, uint64_t last_io,
                     uint64_t last_write, bool *trimmed, int *rc)
{
    bool writing = x->d[0].m.len || x->d[1].m.len || x->c.wlen;
    bool held = writing || x->c.rlen;
    if (expired(r, now, last_io, last_write, writing))
        return 1;
    if (x->c.t->movable && try_handoff(r, now, last_io, held || x->c.eof || x->b.eof)) {
        *rc = 0;
        return 1;
    }
    if (!held && !*trimmed && now >= last_io + TRIM_AFTER_MS) {
        madvise(x->mem, x->memlen, MADV_DONTNEED);
        if (x->c.t->trim)
            x->c.t->trim();
        *trimmed = true;
    }
    /* No trim while a partial record is held (the trim would drop it):
     * without this its deadline stays due and the wait never sleeps. */
    int timeout = next_timeout(r, now, last_io, last_write, writing, *trimmed || held);
    if (r->handoff && x->c.t->movable && !held && timeout > FE_RELAY_HANDOFF_MS)
        timeout = FE_RELAY_HANDOFF_MS;
    wait_ready(x, timeout);
    return 0;
}

static int relay_loop(struct fe_relay *r, struct relay *x)
{
    uint64_t last_io = r->last_io ? r->last_io : bx_now_ms(), last_write = bx_now_ms();
    /* Nothing resident yet, except OpenSSL's handshake memory and a record
     * that came with the request. */
    bool trimmed = !x->mem || (!x->c.t->trim && x->c.rlen == 0);
    for (;;) {
        bool wrote = false;
        int p0 = step(r, &x->d[0], &wrote);
        int p1 = p0 < 0 ? -1 : step(r, &x->d[1], &wrote);
        if (p0 < 0 || p1 < 0)
            return broken(r, x);
        uint64_t now = bx_now_ms();
        if (p0 || p1) {
            last_io = now;
            trimmed = false;
        }
        if (wrote)
            last_write = now;
        if (finished(x)) {
            r->end = "closed";
            return 0;
        }
        if (p0 || p1)
            continue;
        int rc = -1;
        if (idle_turn(r, x, now, last_io, last_write, &trimmed, &rc))
            return rc;
    }
}

/* Buffers, pipes and the epoll; -1 (r->end, r->no_fds set) when short of one. */
static int relay_setup(struct fe_relay *r, struct relay *x)
{
    const struct fe_transport *t = x->c.t;
    x->memlen = t->c2b + t->b2c + t->rbuf + t->wbuf;
    if (x->memlen) {
        /* Fresh anonymous pages: given back with MADV_DONTNEED while idle, and
         * untouched (so not resident) in a relay that never carries data. */
        x->mem = mmap(NULL, x->memlen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (x->mem == MAP_FAILED) {
            x->mem = NULL;
            r->end = "out of memory";
            return -1;
        }
        x->d[0].m.buf = x->mem;
        x->d[0].m.cap = t->c2b;
        x->d[1].m.buf = x->mem + t->c2b;
        x->d[1].m.cap = t->b2c;
        x->c.rbuf = x->mem + t->c2b + t->b2c;
        x->c.rcap = t->rbuf;
        x->c.wbuf = x->c.rbuf + t->rbuf;
        x->c.wcap = t->wbuf;
    } else {
        for (int i = 0; i < 2; i++)
            if (pipe2(x->d[i].m.p, O_NONBLOCK | O_CLOEXEC) == -1)
                goto no_fds;
    }
    x->ep = epoll_create1(EPOLL_CLOEXEC);
    if (x->ep == -1 || watch(x, &x->c, 0, false, EPOLL_CTL_ADD) == -1 ||
        watch(x, &x->b, 1, false, EPOLL_CTL_ADD) == -1)
        goto no_fds;
    return 0;
no_fds:
    if (errno == EMFILE || errno == ENFILE) {
        r->end = "no descriptor for a pipe";
        r->no_fds = true; /* nothing relayed yet: the caller answers 503 */
    }
    return -1;
}

static void relay_free(struct relay *x)
{
    if (x->ep != -1)
        close(x->ep);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            if (x->d[i].m.p[j] != -1)
                close(x->d[i].m.p[j]);
    if (x->mem)
        munmap(x->mem, x->memlen);
}

static int relay(struct fe_relay *r, const struct fe_transport *t)
{
    struct relay x = {
        .c = {.t = t, .fd = r->cfd, .ssl = r->ssl, .rec = r->rec},
        .b = {.t = t->c2b ? &t_plain : &t_splice, .fd = r->bfd},
        .ep = -1,
    };
    x.d[0] = (struct dir){.src = &x.c, .dst = &x.b, .in = true, .m.p = {-1, -1}};
    x.d[1] = (struct dir){.src = &x.b, .dst = &x.c, .m.p = {-1, -1}};
    int rc = -1;
    r->end = "error";
    if (relay_setup(r, &x) == -1)
        goto out;
    if (r->rec) {
        if (r->cprelen > x.c.rcap)
            goto out;
        if (r->cprelen)
            memcpy(x.c.rbuf, r->cpre, r->cprelen);
        x.c.rlen = r->cprelen;
        /* A close_notify may have come with the first request (child_client.c): the
         * backend must see the half-close without waiting for more. */
        x.c.eof = r->rec->peer_closed;
    }
    if (r->prelen && write_pre(r) == -1) {
        r->unanswered = true; /* the backend went away before taking the request */
        goto out;
    }
    rc = relay_loop(r, &x);
out:
    relay_free(&x);
    return rc;
}

int fe_relay_run(struct fe_relay *r)
{
    r->unanswered = false;
    if (r->rec) {
        r->path = "tlsrec";
        return relay(r, &t_tlsrec);
    }
    if (!r->ssl) {
        r->path = "splice";
        return relay(r, &t_splice);
    }
    if (fe_relay_ktls_active(r->ssl)) {
        r->path = "ktls+splice";
        return relay(r, &t_splice);
    }
    r->path = "openssl";
    SSL_set_read_ahead(r->ssl, 1); /* one read(2) per record, not header and body apart */
    return relay(r, &t_openssl);
}
