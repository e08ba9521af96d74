/* SPDX-License-Identifier: BSD-2-Clause */
/* A worker's connection to Redis; see redis_link.h. */
#include "config.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend/redis_link.h"
#include "backend/worker.h"
#include "common/log.h"
#include "common/proc.h"

#define READS_PER_EVENT 16
/* The most bytes of one reply held unparsed: ours are at most a message of
 * BM_PUBLISH_MAX and its channel name, so anything near this is a peer that
 * is not the Redis we know (hiredis 0.14 itself has no such limit). */
#define PARTIAL_REPLY_MAX (1u << 20)
/* The most elements of an array reply: ours have 2 (PONG), 3 (message,
 * subscribe) or 4 (pmessage), never nested. hiredis 0.14 callocs what the
 * peer announces and builds one object per element, so "*100000000" then a
 * stream of ":1" would grow a worker by 12 bytes per byte received. */
#define REPLY_ELEMENTS_MAX 16

/* hiredis's own reply constructors, with arrays bounded; the refused count
 * is kept for the log line (the reader only says "Out of memory"). */
static redisReplyObjectFunctions bounded_fns;
static void *(*plain_array)(const redisReadTask *, int);
static long long refused_elements = -1;

static void *bounded_array(const redisReadTask *task, int elements)
{
    if (task->parent || elements > REPLY_ELEMENTS_MAX) {
        refused_elements = task->parent ? -2 : elements;
        return NULL; /* the reader fails; take_replies drops the link */
    }
    return plain_array(task, elements);
}

static redisReader *reader_create(void)
{
    redisReader *rd = redisReaderCreate();
    if (!rd)
        return NULL;
    if (!plain_array) {
        bounded_fns = *rd->fn;
        plain_array = bounded_fns.createArray;
        bounded_fns.createArray = bounded_array;
    }
    rd->fn = &bounded_fns;
    return rd;
}

void be_resp_array(struct bx_buf *o, unsigned n)
{
    bx_buf_printf(o, "*%u\r\n", n);
}

void be_resp_bulk(struct bx_buf *o, const void *a, size_t alen, const void *b, size_t blen)
{
    bx_buf_printf(o, "$%zu\r\n", alen + blen);
    bx_buf_append(o, a, alen);
    if (blen)
        bx_buf_append(o, b, blen);
    bx_buf_append(o, "\r\n", 2);
}

static uint64_t now_ms(void)
{
    return bx_ev_now(be_worker->ev);
}

static void connect_now(struct be_rl *l);

static void on_timer(struct bx_ev *ev, struct bx_ev_timer *t)
{
    (void)ev;
    struct be_rl *l = t->data;
    if (l->st == BE_RL_DOWN)
        connect_now(l);
    else if (l->st == BE_RL_CONNECTING)
        be_rl_fail(l, "connect timed out (redis_connect_timeout)");
}

/* Logs a failure at most once per 10 s per link (a host that stays down
 * would otherwise log every back-off step), the first one always. */
static void log_failure(struct be_rl *l, const char *why)
{
    uint64_t now = now_ms();
    if (l->failures > 1 && now - l->logged_at < 10000)
        return;
    l->logged_at = now;
    bx_log_warn("pubsub: Redis %s (%s link): %s; retrying in %llu ms (%llu attempts failed)",
                l->conf->redis, l->role, why, (unsigned long long)l->retry_ms,
                (unsigned long long)l->failures);
}

void be_rl_fail(struct be_rl *l, const char *why)
{
    if (l->st == BE_RL_DOWN)
        return;
    bool was_ready = l->st == BE_RL_READY;
    bx_ev_io_stop(be_worker->ev, &l->io);
    close(l->fd);
    l->fd = -1;
    if (l->rd)
        redisReaderFree(l->rd);
    l->rd = NULL;
    l->st = BE_RL_DOWN;
    bx_buf_reset(&l->setup);
    l->setup_due = 0;
    l->due = 0;
    if (was_ready || !l->down_since)
        l->down_since = now_ms();
    l->failures++;
    if (l->ops->down)
        l->ops->down(l);
    l->written = 0;
    if (!l->keep)
        bx_buf_reset(&l->out);
    /* Jittered (half to all of the step): the workers of every host that saw
     * Redis go do not all come back in the same millisecond. */
    uint64_t wait = l->retry_ms / 2 + (uint64_t)rand() % (l->retry_ms / 2 + 1);
    log_failure(l, why);
    if (now_ms() - l->down_since >= BE_RL_FAST_RETRY_MS)
        l->retry_ms = l->retry_ms * 2 > (uint64_t)l->conf->redis_retry_max_ms
                          ? (uint64_t)l->conf->redis_retry_max_ms
                          : l->retry_ms * 2;
    bx_ev_timer_start(be_worker->ev, &l->timer, wait);
}

static void watch(struct be_rl *l, bool want_write)
{
    unsigned ev = BX_EV_READ | (want_write ? BX_EV_WRITE : 0);
    if (l->io.events != ev || !l->io.active)
        bx_ev_io_set(be_worker->ev, &l->io, ev);
}

/* Writes the set-up, then (once ready and not held) out. False: the link failed. */
static bool write_some(struct be_rl *l)
{
    struct bx_buf *b = bx_buf_unread(&l->setup) ? &l->setup : &l->out;
    if (b == &l->out && (l->st != BE_RL_READY || l->hold))
        return true;
    size_t from = b == &l->out && l->keep ? l->written : 0;
    while (bx_buf_unread(b) > from) {
        ssize_t n = write(l->fd, bx_buf_rpos(b) + from, bx_buf_unread(b) - from);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) {
            char why[96];
            snprintf(why, sizeof why, "write: %s", strerror(errno));
            be_rl_fail(l, why);
            return false;
        }
        if (b == &l->out && l->keep)
            from = l->written += (size_t)n;
        else
            bx_buf_consume(b, (size_t)n);
    }
    bool more = bx_buf_unread(b) > from;
    if (!more && b == &l->setup && l->st == BE_RL_READY)
        return write_some(l);
    watch(l, more);
    return true;
}

void be_rl_flush(struct be_rl *l)
{
    if (l->st == BE_RL_SETUP || l->st == BE_RL_READY)
        write_some(l);
}

void be_rl_sent(struct be_rl *l, unsigned nreplies)
{
    if (l->st != BE_RL_READY || l->hold)
        return; /* queued (keep: the owner counts it when it lets it go) or rebuilt */
    if (!l->due && nreplies)
        l->progress_at = now_ms();
    l->due += nreplies;
    write_some(l);
}

static void became_ready(struct be_rl *l)
{
    l->st = BE_RL_READY;
    if (l->failures)
        bx_log_notice("pubsub: Redis %s (%s link) connected after %llu ms down", l->conf->redis,
                      l->role, (unsigned long long)(now_ms() - l->down_since));
    l->outage_ms = l->failures ? now_ms() - l->down_since : 0;
    l->failures = 0;
    l->down_since = 0;
    l->retry_ms = (uint64_t)l->conf->redis_retry_min_ms;
    l->ops->ready(l);
    write_some(l);
}

/* A set-up reply: an error (wrong password, unknown user) fails the link.
 * Redis's error text names neither the password nor the user's secret. */
static bool setup_reply(struct be_rl *l, redisReply *r)
{
    if (r->type == REDIS_REPLY_ERROR) {
        char why[200];
        snprintf(why, sizeof why, "AUTH refused: %.150s", r->str);
        be_rl_fail(l, why);
        return false;
    }
    if (--l->setup_due == 0)
        became_ready(l);
    return true;
}

static void take_replies(struct be_rl *l)
{
    void *reply;
    while (l->st != BE_RL_DOWN) {
        if (redisReaderGetReply(l->rd, &reply) != REDIS_OK) {
            char why[160];
            if (refused_elements == -2)
                snprintf(why, sizeof why, "a nested array reply: not one of ours");
            else if (refused_elements >= 0)
                snprintf(why, sizeof why, "an array reply of %lld elements: not one of ours",
                         refused_elements);
            else
                snprintf(why, sizeof why, "protocol error: %.100s", l->rd->errstr);
            refused_elements = -1;
            be_rl_fail(l, why);
            return;
        }
        if (!reply)
            return;
        redisReply *r = reply;
        if (l->st == BE_RL_SETUP) {
            bool ok = setup_reply(l, r);
            freeReplyObject(r);
            if (!ok)
                return;
            continue;
        }
        l->progress_at = now_ms();
        if (l->ops->reply(l, r) && l->due)
            l->due--;
        freeReplyObject(r);
    }
}

static void on_readable(struct be_rl *l)
{
    char buf[65536];
    for (int i = 0; i < READS_PER_EVENT && l->st != BE_RL_DOWN; i++) {
        ssize_t n = read(l->fd, buf, sizeof buf);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            char why[96];
            snprintf(why, sizeof why, "%s",
                     n == 0 ? "connection closed by Redis" : strerror(errno));
            be_rl_fail(l, why);
            return;
        }
        if (redisReaderFeed(l->rd, buf, (size_t)n) != REDIS_OK) {
            be_rl_fail(l, "reader out of memory");
            return;
        }
        take_replies(l);
        if (l->st != BE_RL_DOWN && l->rd->len - l->rd->pos > PARTIAL_REPLY_MAX) {
            be_rl_fail(l, "a reply over 1 MiB: not one of ours");
            return;
        }
        if ((size_t)n < sizeof buf)
            return;
    }
}

/* AUTH [user] password, when a password is set: pipelined before anything else. */
static void build_setup(struct be_rl *l)
{
    const struct bx_pubsub_conf *c = l->conf;
    if (!c->redis_password)
        return;
    bool user = c->redis_user && *c->redis_user;
    be_resp_array(&l->setup, user ? 3 : 2);
    be_resp_bulk(&l->setup, "AUTH", 4, "", 0);
    if (user)
        be_resp_bulk(&l->setup, c->redis_user, strlen(c->redis_user), "", 0);
    be_resp_bulk(&l->setup, c->redis_password, strlen(c->redis_password), "", 0);
    l->setup_due = 1;
}

static void connected(struct be_rl *l)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
        err = errno;
    if (err) {
        char why[96];
        snprintf(why, sizeof why, "connect: %s", strerror(err));
        be_rl_fail(l, why);
        return;
    }
    bx_ev_timer_stop(be_worker->ev, &l->timer);
    l->rd = reader_create();
    if (!l->rd) {
        be_rl_fail(l, "out of memory");
        return;
    }
    build_setup(l);
    if (!l->setup_due) {
        became_ready(l);
        return;
    }
    l->st = BE_RL_SETUP;
    l->progress_at = now_ms();
    write_some(l);
}

static void on_io(struct bx_ev *ev, struct bx_ev_io *io, unsigned events)
{
    (void)ev;
    struct be_rl *l = io->data;
    if (l->st == BE_RL_CONNECTING) {
        if (events & (BX_EV_WRITE | BX_EV_ERROR))
            connected(l);
        return;
    }
    if (events & (BX_EV_READ | BX_EV_ERROR))
        on_readable(l);
    if (l->st != BE_RL_DOWN && (events & BX_EV_WRITE))
        write_some(l);
}

/* Keepalive probes find a Redis host that vanished without a word while the
 * link is idle (a busy link has the reply timeout); NODELAY: small messages
 * are the rule. */
static void tune(int fd, const struct bx_pubsub_conf *c)
{
    int one = 1, idle = c->redis_reply_timeout_ms / 1000 + 1, intvl = 1, cnt = 3;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
}

static void connect_now(struct be_rl *l)
{
    const struct bx_pubsub_conf *c = l->conf;
    bx_ev_io_init(&l->io, -1, on_io, l);
    l->fd = socket(c->redis_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    l->st = BE_RL_CONNECTING; /* so that a failure below is one, and retried */
    if (l->fd == -1) {
        char why[96];
        snprintf(why, sizeof why, "socket: %s", strerror(errno));
        be_rl_fail(l, why);
        return;
    }
    tune(l->fd, c);
    l->io.fd = l->fd;
    if (connect(l->fd, (const struct sockaddr *)&c->redis_addr, c->redis_addrlen) == -1 &&
        errno != EINPROGRESS) {
        char why[96];
        snprintf(why, sizeof why, "connect: %s", strerror(errno));
        be_rl_fail(l, why);
        return;
    }
    bx_ev_io_set(be_worker->ev, &l->io, BX_EV_WRITE);
    bx_ev_timer_start(be_worker->ev, &l->timer, (uint64_t)c->redis_connect_timeout_ms);
}

void be_rl_start(struct be_rl *l, const char *role, const struct bx_pubsub_conf *conf,
                 const struct be_rl_ops *ops, bool keep)
{
    memset(l, 0, sizeof *l);
    l->role = role;
    l->conf = conf;
    l->ops = ops;
    l->keep = keep;
    l->fd = -1;
    l->retry_ms = (uint64_t)conf->redis_retry_min_ms;
    bx_buf_init(&l->setup);
    bx_buf_init(&l->out);
    bx_ev_timer_init(&l->timer, on_timer, l);
    bx_ev_timer_start(be_worker->ev, &l->timer, 0);
}

static unsigned poll_events(const struct be_rl *l)
{
    bool more = bx_buf_unread(&l->setup) ||
                (bx_buf_unread(&l->out) > (l->keep ? l->written : 0) && !l->hold);
    return POLLIN | (more ? POLLOUT : 0);
}

bool be_rl_wait(struct be_rl *l, bool (*done)(void), int timeout_ms)
{
    uint64_t end = bx_now_ms() + (uint64_t)timeout_ms;
    while (!done()) {
        uint64_t now = bx_now_ms();
        if (l->st != BE_RL_READY || now >= end)
            return false;
        struct pollfd p = {l->fd, (short)poll_events(l), 0};
        int n = poll(&p, 1, (int)(end - now));
        if (n < 0 && errno != EINTR)
            return false;
        if (n <= 0)
            continue;
        unsigned ev = (p.revents & (POLLIN | POLLHUP) ? BX_EV_READ : 0) |
                      (p.revents & POLLOUT ? BX_EV_WRITE : 0) |
                      (p.revents & POLLERR ? BX_EV_ERROR : 0);
        on_io(be_worker->ev, &l->io, ev);
    }
    return true;
}

void be_rl_check(struct be_rl *l, uint64_t now)
{
    bool waiting = l->st == BE_RL_SETUP || (l->st == BE_RL_READY && l->due);
    if (waiting && now - l->progress_at > (uint64_t)l->conf->redis_reply_timeout_ms)
        be_rl_fail(l, "no reply within redis_reply_timeout");
}
