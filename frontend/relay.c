/* Client <-> backend relay; see relay.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <openssl/err.h>
#include <poll.h>
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
static ssize_t write_some(int fd, const unsigned char *buf, size_t *off, size_t *len,
                          short *wait)
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

/* ---- splice ------------------------------------------------------------ */

struct pipe_dir {
    int src, dst;
    int p[2];
    size_t inpipe;
    bool eof, shut, in;
    bool want_in, want_out;   /* blocked until poll reports the descriptor ready */
};

/* Moves what can be moved without blocking; returns 1 on progress, 0 on
 * none, -1 when the connection is broken. */
static int splice_step(struct fe_relay *r, struct pipe_dir *d, bool *wrote)
{
    int progress = 0;
    if (!d->eof && d->inpipe < PIPE_CAP && !d->want_in) {
        ssize_t n = splice(d->src, NULL, d->p[1], NULL, PIPE_CAP - d->inpipe,
                           SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
        if (n > 0) {
            d->inpipe += (size_t)n;
            progress = 1;
        } else if (n == 0) {
            if (!d->in && r->out == 0 && r->in == r->prelen)
                return -1; /* closed unanswered: the caller may replay */
            d->eof = true;
            progress = 1;
        } else if (errno == EAGAIN) {
            d->want_in = true;
        } else if (errno != EINTR) {
            return -1;
        }
    }
    if (d->inpipe > 0 && !d->want_out) {
        ssize_t n = splice(d->p[0], NULL, d->dst, NULL, d->inpipe,
                           SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
        if (n > 0) {
            d->inpipe -= (size_t)n;
            count(r, d->in, (size_t)n);
            progress = 1;
            *wrote = true;
        } else if (n == -1 && errno == EAGAIN) {
            d->want_out = true;
        } else if (n == -1 && errno != EINTR) {
            return -1;
        }
    }
    if (d->eof && d->inpipe == 0 && !d->shut) {
        shutdown(d->dst, SHUT_WR);
        d->shut = true;
    }
    return progress;
}

static int relay_splice(struct fe_relay *r)
{
    struct pipe_dir d[2] = {
        {.src = r->cfd, .dst = r->bfd, .p = {-1, -1}, .in = true},
        {.src = r->bfd, .dst = r->cfd, .p = {-1, -1}, .in = false},
    };
    int rc = -1;
    r->end = "error";
    for (int i = 0; i < 2; i++)
        if (pipe2(d[i].p, O_NONBLOCK | O_CLOEXEC) == -1) {
            r->end = "no descriptor for a pipe";
            r->no_fds = true; /* nothing relayed yet: the caller answers 503 */
            goto out;
        }
    if (r->prelen && write_pre(r) == -1) {
        r->unanswered = true; /* the backend went away before taking the request */
        goto out;
    }
    uint64_t last_io = r->last_io ? r->last_io : bx_now_ms(), last_write = bx_now_ms();
    for (;;) {
        bool wrote = false;
        int p0 = splice_step(r, &d[0], &wrote), p1 = splice_step(r, &d[1], &wrote);
        if (p0 < 0 || p1 < 0) {
            r->unanswered = r->out == 0 && r->in == r->prelen && !d[0].inpipe;
            r->end = "reset";
            goto out;
        }
        uint64_t now = bx_now_ms();
        if (p0 || p1)
            last_io = now;
        if (wrote)
            last_write = now;
        if (d[0].shut && d[1].shut) {
            r->end = "closed";
            rc = 0;
            goto out;
        }
        if (p0 || p1)
            continue;
        bool pending = d[0].inpipe || d[1].inpipe;
        if (expired(r, now, last_io, last_write, pending))
            goto out;
        if (try_handoff(r, now, last_io, pending || d[0].eof || d[1].eof)) {
            rc = 0;
            goto out;
        }
        bool rd0 = d[0].want_in && !d[0].eof && d[0].inpipe < PIPE_CAP;
        bool rd1 = d[1].want_in && !d[1].eof && d[1].inpipe < PIPE_CAP;
        struct pollfd pf[2] = {
            {.fd = r->cfd, .events = (short)((rd0 ? POLLIN : 0) |
                                             (d[1].want_out && d[1].inpipe ? POLLOUT : 0))},
            {.fd = r->bfd, .events = (short)((rd1 ? POLLIN : 0) |
                                             (d[0].want_out && d[0].inpipe ? POLLOUT : 0))},
        };
        int timeout = next_timeout(r, now, last_io, last_write, pending, true);
        if (r->handoff && !pending && timeout > FE_RELAY_HANDOFF_MS)
            timeout = FE_RELAY_HANDOFF_MS;
        if (poll(pf, 2, timeout) > 0) {
            short in = POLLIN | POLLHUP | POLLERR | POLLNVAL;
            short out = POLLOUT | POLLHUP | POLLERR | POLLNVAL;
            if (pf[0].revents & in)
                d[0].want_in = false;
            if (pf[0].revents & out)
                d[1].want_out = false;
            if (pf[1].revents & in)
                d[1].want_in = false;
            if (pf[1].revents & out)
                d[0].want_out = false;
        }
    }
out:
    for (int i = 0; i < 2; i++) {
        if (d[i].p[0] != -1)
            close(d[i].p[0]);
        if (d[i].p[1] != -1)
            close(d[i].p[1]);
    }
    return rc;
}

/* ---- OpenSSL ----------------------------------------------------------- */

struct tls_state {
    unsigned char *a, *b;     /* client->backend, backend->client */
    size_t alen, aoff, blen, boff;
    bool c_eof, b_eof, b_shut, c_shut;
    /* What each blocked operation waits for (0: worth trying): no call is
     * repeated before poll says its descriptor changed. */
    short c_rw, c_ww, b_rw, b_ww;
};

/* One SSL_* call result: 1 progress, 0 would block (events set), -1 broken,
 * 2 clean end of the client's stream. */
static int ssl_result(SSL *ssl, int n, short *wait)
{
    switch (SSL_get_error(ssl, n)) {
    case SSL_ERROR_WANT_READ:
        *wait = POLLIN;
        return 0;
    case SSL_ERROR_WANT_WRITE:
        *wait = POLLOUT;
        return 0;
    case SSL_ERROR_ZERO_RETURN:
        return 2;
    case SSL_ERROR_SYSCALL:
        ERR_clear_error();
        return errno == 0 ? 2 : -1; /* EOF without close_notify: treat as a close */
    default:
        ERR_clear_error();
        return -1;
    }
}

static int tls_c2b(struct fe_relay *r, struct tls_state *s, bool *wrote)
{
    int progress = 0;
    if (!s->c_eof && s->alen == 0 && !s->c_rw) {
        errno = 0;
        int n = SSL_read(r->ssl, s->a, C2B_BUF);
        if (n > 0) {
            s->alen = (size_t)n;
            s->aoff = 0;
            progress = 1;
        } else {
            int x = ssl_result(r->ssl, n, &s->c_rw);
            if (x == -1)
                return -1;
            if (x == 2) {
                s->c_eof = true;
                progress = 1;
            }
        }
    }
    if (s->alen > s->aoff && !s->b_ww) {
        ssize_t n = write_some(r->bfd, s->a, &s->aoff, &s->alen, &s->b_ww);
        if (n < 0)
            return -1;
        if (n > 0) {
            count(r, true, (size_t)n);
            progress = 1;
            *wrote = true;
        }
    }
    if (s->c_eof && s->alen == 0 && !s->b_shut) {
        shutdown(r->bfd, SHUT_WR);
        s->b_shut = true;
    }
    return progress;
}

static int tls_b2c(struct fe_relay *r, struct tls_state *s, bool *wrote)
{
    int progress = 0;
    if (!s->b_eof && s->blen == 0 && !s->b_rw) {
        ssize_t n = read(r->bfd, s->b, B2C_BUF);
        if (n > 0) {
            s->blen = (size_t)n;
            s->boff = 0;
            progress = 1;
        } else if (n == 0) {
            if (r->out == 0 && r->in == r->prelen)
                return -1; /* closed unanswered: the caller may replay */
            s->b_eof = true;
            progress = 1;
        } else if (errno == EAGAIN) {
            s->b_rw = POLLIN;
        } else if (errno != EINTR) {
            return -1;
        }
    }
    if (s->blen > s->boff && !s->c_ww) {
        int n = SSL_write(r->ssl, s->b + s->boff, (int)(s->blen - s->boff));
        if (n > 0) {
            s->boff += (size_t)n;
            count(r, false, (size_t)n);
            if (s->boff == s->blen)
                s->blen = s->boff = 0;
            progress = 1;
            *wrote = true;
        } else if (ssl_result(r->ssl, n, &s->c_ww) != 0) {
            return -1;
        }
    }
    if (s->b_eof && s->blen == 0 && !s->c_shut) {
        SSL_shutdown(r->ssl); /* close_notify; best effort */
        ERR_clear_error();
        s->c_shut = true;
    }
    return progress;
}

static int relay_openssl(struct fe_relay *r)
{
    size_t len = C2B_BUF + B2C_BUF;
    /* Fresh anonymous pages: given back with MADV_DONTNEED while idle. */
    unsigned char *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                              -1, 0);
    if (mem == MAP_FAILED) {
        r->end = "out of memory";
        return -1;
    }
    struct tls_state s = {.a = mem, .b = mem + C2B_BUF};
    int rc = -1;
    r->end = "error";
    if (r->prelen && write_pre(r) == -1) {
        r->unanswered = true; /* the backend went away before taking the request */
        goto out;
    }
    uint64_t last_io = bx_now_ms(), last_write = last_io;
    bool trimmed = false;
    for (;;) {
        bool wrote = false;
        int p0 = tls_c2b(r, &s, &wrote);
        int p1 = p0 < 0 ? -1 : tls_b2c(r, &s, &wrote);
        if (p0 < 0 || p1 < 0) {
            r->unanswered = r->out == 0 && r->in == r->prelen && !s.alen;
            r->end = "reset";
            goto out;
        }
        uint64_t now = bx_now_ms();
        if (p0 || p1) {
            last_io = now;
            trimmed = false;
        }
        if (wrote)
            last_write = now;
        /* The backend closing ends it: nothing could answer later requests. */
        if (s.b_eof && s.alen == 0 && s.blen == 0) {
            r->end = "closed";
            rc = 0;
            goto out;
        }
        if (p0 || p1)
            continue;
        bool pending = s.alen || s.blen;
        if (expired(r, now, last_io, last_write, pending))
            goto out;
        if (!pending && !trimmed && now >= last_io + TRIM_AFTER_MS) {
            madvise(mem, len, MADV_DONTNEED);
            malloc_trim(0);
            trimmed = true;
        }
        short cev = (short)((!s.c_eof && !s.alen ? s.c_rw : 0) | (s.blen ? s.c_ww : 0));
        short bev = (short)((!s.b_eof && !s.blen ? s.b_rw : 0) | (s.alen ? s.b_ww : 0));
        struct pollfd pf[2] = {{.fd = r->cfd, .events = cev}, {.fd = r->bfd, .events = bev}};
        if (poll(pf, 2, next_timeout(r, now, last_io, last_write, pending, trimmed)) > 0) {
            ready(&s.c_rw, pf[0].revents);
            ready(&s.c_ww, pf[0].revents);
            ready(&s.b_rw, pf[1].revents);
            ready(&s.b_ww, pf[1].revents);
        }
    }
out:
    munmap(mem, len);
    return rc;
}

/* ---- our own TLS 1.3 record layer (tlsrec) -------------------------------
 * Many records per read(2) and write(2); a read that returns less than asked
 * is taken as draining the socket (poll says when more comes), which saves
 * the read that would only say EAGAIN. */

#define REC_CIN (B2C_BUF + FE_TLSREC_MAX_RECORD) /* client ciphertext */
#define REC_A B2C_BUF                          /* its plaintext, for the backend */
#define REC_B (B2C_BUF - 512)                  /* backend bytes per read ... */
#define REC_COUT B2C_BUF                       /* ... sealed: 5 records + a KeyUpdate fit */

struct rec_state {
    int ep;                   /* epoll, edge-triggered: no per-wait registration */
    bool c_out, b_out;        /* EPOLLOUT registered (only while a write is blocked: a
                               * Unix socket reports writable after every read of its peer) */
    bool c_hup, b_hup;        /* the peer's FIN was reported: its edge is spent, so a
                               * short read no longer proves the socket drained */
    unsigned char *cin, *a, *b, *cout;
    size_t cinlen, alen, aoff, coutlen, coutoff;
    bool c_eof, b_eof, b_shut, c_shut;
    short c_rw, c_ww, b_rw, b_ww;
};

/* Opens what complete records cin holds into a (a must be empty). */
static int rec_open(struct fe_relay *r, struct rec_state *s)
{
    size_t used = 0, plain = 0;
    if (fe_tlsrec_open(r->rec, s->cin, s->cinlen, &used, s->a, REC_A, &plain) == -1) {
        r->end = "bad TLS record";
        return -1;
    }
    if (used) {
        memmove(s->cin, s->cin + used, s->cinlen - used);
        s->cinlen -= used;
    }
    s->alen = plain;
    s->aoff = 0;
    if (r->rec->peer_closed)
        s->c_eof = true;
    return used ? 1 : 0;
}

static int rec_c2b(struct fe_relay *r, struct rec_state *s, bool *wrote)
{
    int progress = 0;
    if (s->alen == 0 && s->cinlen && !s->c_eof) {
        int x = rec_open(r, s);
        if (x < 0)
            return -1;
        progress |= x;
    }
    if (!s->c_eof && s->alen == 0 && !s->c_rw && s->cinlen < REC_CIN) {
        size_t room = REC_CIN - s->cinlen;
        ssize_t n = read(r->cfd, s->cin + s->cinlen, room);
        if (n > 0) {
            s->cinlen += (size_t)n;
            if ((size_t)n < room && !s->c_hup)
                s->c_rw = POLLIN;
            if (rec_open(r, s) < 0)
                return -1;
            progress = 1;
        } else if (n == 0) {
            s->c_eof = true; /* no close_notify: taken as a close all the same */
            progress = 1;
        } else if (errno == EAGAIN) {
            s->c_rw = POLLIN;
        } else if (errno != EINTR) {
            return -1;
        }
    }
    if (s->alen > s->aoff && !s->b_ww) {
        ssize_t n = write_some(r->bfd, s->a, &s->aoff, &s->alen, &s->b_ww);
        if (n < 0)
            return -1;
        if (n > 0) {
            count(r, true, (size_t)n);
            progress = 1;
            *wrote = true;
        }
    }
    if (s->c_eof && s->alen == 0 && !s->b_shut) {
        shutdown(r->bfd, SHUT_WR);
        s->b_shut = true;
    }
    return progress;
}

static int rec_b2c(struct fe_relay *r, struct rec_state *s, bool *wrote)
{
    int progress = 0;
    if (!s->b_eof && s->coutlen == 0 && !s->b_rw) {
        ssize_t n = read(r->bfd, s->b, REC_B);
        if (n > 0) {
            size_t taken = 0;
            ssize_t c = fe_tlsrec_seal(r->rec, s->b, (size_t)n, &taken, s->cout, REC_COUT);
            if (c < 0 || taken != (size_t)n) {
                r->end = "TLS seal failed";
                return -1;
            }
            s->coutlen = (size_t)c;
            s->coutoff = 0;
            count(r, false, (size_t)n);
            if ((size_t)n < REC_B && !s->b_hup)
                s->b_rw = POLLIN;
            progress = 1;
        } else if (n == 0) {
            if (r->out == 0 && r->in == r->prelen)
                return -1; /* closed unanswered: the caller may replay */
            s->b_eof = true;
            progress = 1;
        } else if (errno == EAGAIN) {
            s->b_rw = POLLIN;
        } else if (errno != EINTR) {
            return -1;
        }
    }
    if (s->coutlen > s->coutoff && !s->c_ww) {
        ssize_t n = write_some(r->cfd, s->cout, &s->coutoff, &s->coutlen, &s->c_ww);
        if (n < 0)
            return -1;
        if (n > 0) {
            progress = 1;
            *wrote = true;
        }
    }
    if (s->b_eof && s->coutlen == 0 && !s->c_shut) {
        unsigned char alert[64];
        ssize_t n = fe_tlsrec_seal_close(r->rec, alert, sizeof alert);
        if (n > 0 && write(r->cfd, alert, (size_t)n) == -1) {
            /* best effort, as SSL_shutdown */
        }
        s->c_shut = true;
    }
    return progress;
}

static int rec_watch(struct rec_state *s, int fd, uint32_t idx, bool out, int op)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET | (out ? EPOLLOUT : 0),
                             .data.u32 = idx};
    return epoll_ctl(s->ep, op, fd, &ev);
}

/* Waits for what the blocked operations need (or the timeout). */
static void rec_wait(struct fe_relay *r, struct rec_state *s, int timeout)
{
    bool cout = s->coutlen && s->c_ww, bout = s->alen && s->b_ww;
    if (cout != s->c_out && rec_watch(s, r->cfd, 0, cout, EPOLL_CTL_MOD) == 0)
        s->c_out = cout;
    if (bout != s->b_out && rec_watch(s, r->bfd, 1, bout, EPOLL_CTL_MOD) == 0)
        s->b_out = bout;
    struct epoll_event ev[2];
    int n = epoll_wait(s->ep, ev, 2, timeout);
    for (int i = 0; i < n; i++) {
        uint32_t e = ev[i].events;
        short rev = (short)(((e & (EPOLLIN | EPOLLRDHUP)) ? POLLIN : 0) |
                            ((e & EPOLLOUT) ? POLLOUT : 0) | ((e & EPOLLHUP) ? POLLHUP : 0) |
                            ((e & EPOLLERR) ? POLLERR : 0));
        bool hup = (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
        if (ev[i].data.u32 == 0) {
            s->c_hup |= hup;
            ready(&s->c_rw, rev);
            ready(&s->c_ww, rev);
        } else {
            s->b_hup |= hup;
            ready(&s->b_rw, rev);
            ready(&s->b_ww, rev);
        }
    }
}

static int relay_rec(struct fe_relay *r)
{
    size_t len = REC_CIN + REC_A + REC_B + REC_COUT;
    /* Fresh anonymous pages: given back with MADV_DONTNEED while idle, and
     * untouched (so not resident) in a relay that never carries data. */
    unsigned char *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                              -1, 0);
    if (mem == MAP_FAILED) {
        r->end = "out of memory";
        return -1;
    }
    struct rec_state s = {.cin = mem, .a = mem + REC_CIN, .b = mem + REC_CIN + REC_A,
                          .cout = mem + REC_CIN + REC_A + REC_B};
    int rc = -1;
    r->end = "error";
    s.ep = epoll_create1(EPOLL_CLOEXEC);
    if (s.ep == -1 || rec_watch(&s, r->cfd, 0, false, EPOLL_CTL_ADD) == -1 ||
        rec_watch(&s, r->bfd, 1, false, EPOLL_CTL_ADD) == -1)
        goto out;
    if (r->cprelen > REC_CIN)
        goto out;
    if (r->cprelen)
        memcpy(s.cin, r->cpre, r->cprelen);
    s.cinlen = r->cprelen;
    /* A close_notify may have come with the first request (child.c): the
     * backend must see the half-close without waiting for more. */
    s.c_eof = r->rec->peer_closed;
    if (r->prelen && write_pre(r) == -1) {
        r->unanswered = true; /* the backend went away before taking the request */
        goto out;
    }
    uint64_t last_io = r->last_io ? r->last_io : bx_now_ms(), last_write = bx_now_ms();
    bool trimmed = s.cinlen == 0;
    for (;;) {
        bool wrote = false;
        int p0 = rec_c2b(r, &s, &wrote);
        int p1 = p0 < 0 ? -1 : rec_b2c(r, &s, &wrote);
        if ((p0 < 0 || p1 < 0) && s.c_shut && s.coutlen == 0) {
            r->end = "closed"; /* all delivered; the client hung up first */
            rc = 0;
            goto out;
        }
        if (p0 < 0 || p1 < 0) {
            /* Not when client bytes beyond pre are held here: a replay would
             * lose them (and with them the start of a record). */
            r->unanswered = r->out == 0 && r->in == r->prelen && !s.cinlen && !s.alen;
            if (strcmp(r->end, "error") == 0)
                r->end = "reset";
            goto out;
        }
        uint64_t now = bx_now_ms();
        if (p0 || p1) {
            last_io = now;
            trimmed = false;
        }
        if (wrote)
            last_write = now;
        if (s.b_eof && s.alen == 0 && s.coutlen == 0) {
            r->end = "closed";
            rc = 0;
            goto out;
        }
        if (p0 || p1)
            continue;
        bool pending = s.alen || s.coutlen || s.cinlen;
        if (expired(r, now, last_io, last_write, s.alen || s.coutlen))
            goto out;
        if (try_handoff(r, now, last_io, pending || s.c_eof || s.b_eof || s.b_shut)) {
            rc = 0;
            goto out;
        }
        if (!pending && !trimmed && now >= last_io + TRIM_AFTER_MS) {
            madvise(mem, len, MADV_DONTNEED);
            trimmed = true;
        }
        /* No trim while a partial record is held (the trim would drop it):
         * without this its deadline stays due and the wait never sleeps. */
        int timeout = next_timeout(r, now, last_io, last_write, s.alen || s.coutlen,
                                   trimmed || pending);
        if (r->handoff && !pending && timeout > FE_RELAY_HANDOFF_MS)
            timeout = FE_RELAY_HANDOFF_MS;
        rec_wait(r, &s, timeout);
    }
out:
    if (s.ep != -1)
        close(s.ep);
    munmap(mem, len);
    return rc;
}

int fe_relay_run(struct fe_relay *r)
{
    r->unanswered = false;
    if (r->rec) {
        r->path = "tlsrec";
        return relay_rec(r);
    }
    if (!r->ssl) {
        r->path = "splice";
        return relay_splice(r);
    }
    if (fe_relay_ktls_active(r->ssl)) {
        r->path = "ktls+splice";
        return relay_splice(r);
    }
    r->path = "openssl";
    SSL_set_read_ahead(r->ssl, 1); /* one read(2) per record, not header and body apart */
    return relay_openssl(r);
}
