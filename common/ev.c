/* SPDX-License-Identifier: BSD-2-Clause */
/* The epoll event loop (see ev.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "common/ev.h"
#include "common/xalloc.h"

#define EV_BATCH 256

struct bx_ev {
    int epfd;
    bool stop;
    uint64_t now;
    struct bx_ev_timer **heap;
    size_t nheap, capheap;
    /* the batch being dispatched, so a stopped watcher can be struck out */
    struct epoll_event ready[EV_BATCH];
    int nready, cur;
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct bx_ev *bx_ev_create(char *err, size_t errlen)
{
    int fd = epoll_create1(EPOLL_CLOEXEC);
    if (fd == -1) {
        snprintf(err, errlen, "epoll_create1: %s", strerror(errno));
        return NULL;
    }
    struct bx_ev *ev = bx_xcalloc(1, sizeof *ev);
    ev->epfd = fd;
    ev->now = mono_ms();
    return ev;
}

void bx_ev_destroy(struct bx_ev *ev)
{
    if (!ev)
        return;
    close(ev->epfd);
    free(ev->heap);
    free(ev);
}

uint64_t bx_ev_now(const struct bx_ev *ev)
{
    return ev->now;
}

void bx_ev_stop(struct bx_ev *ev)
{
    ev->stop = true;
}

/* ---- descriptors ---------------------------------------------------------------- */

void bx_ev_io_init(struct bx_ev_io *io, int fd, bx_ev_io_cb *cb, void *data)
{
    io->fd = fd;
    io->events = 0;
    io->active = false;
    io->cb = cb;
    io->data = data;
}

static uint32_t to_epoll(unsigned events)
{
    uint32_t e = 0;
    if (events & BX_EV_READ)
        e |= (events & BX_EV_EXCLUSIVE) ? EPOLLIN
                                        : EPOLLIN | EPOLLRDHUP; /* EXCLUSIVE takes no RDHUP */
    if (events & BX_EV_WRITE)
        e |= EPOLLOUT;
    if (events & BX_EV_EXCLUSIVE)
        e |= EPOLLEXCLUSIVE;
    return e;
}

int bx_ev_io_set(struct bx_ev *ev, struct bx_ev_io *io, unsigned events)
{
    if (events == 0) {
        bx_ev_io_stop(ev, io);
        return 0;
    }
    if (io->active && io->events == events)
        return 0;
    struct epoll_event e = {.events = to_epoll(events), .data.ptr = io};
    int op = io->active ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(ev->epfd, op, io->fd, &e) == -1)
        return -1;
    io->active = true;
    io->events = events;
    return 0;
}

void bx_ev_io_stop(struct bx_ev *ev, struct bx_ev_io *io)
{
    if (io->active)
        epoll_ctl(ev->epfd, EPOLL_CTL_DEL, io->fd, NULL);
    io->active = false;
    io->events = 0;
    for (int i = ev->cur + 1; i < ev->nready; i++)
        if (ev->ready[i].data.ptr == io)
            ev->ready[i].data.ptr = NULL;
}

/* ---- timers: a binary min-heap on the deadline ----------------------------------- */

void bx_ev_timer_init(struct bx_ev_timer *t, bx_ev_timer_cb *cb, void *data)
{
    t->when = 0;
    t->slot = (size_t)-1;
    t->cb = cb;
    t->data = data;
}

static void heap_place(struct bx_ev *ev, size_t i, struct bx_ev_timer *t)
{
    ev->heap[i] = t;
    t->slot = i;
}

static void heap_up(struct bx_ev *ev, size_t i)
{
    struct bx_ev_timer *t = ev->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (ev->heap[parent]->when <= t->when)
            break;
        heap_place(ev, i, ev->heap[parent]);
        i = parent;
    }
    heap_place(ev, i, t);
}

static void heap_down(struct bx_ev *ev, size_t i)
{
    struct bx_ev_timer *t = ev->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= ev->nheap)
            break;
        if (c + 1 < ev->nheap && ev->heap[c + 1]->when < ev->heap[c]->when)
            c++;
        if (t->when <= ev->heap[c]->when)
            break;
        heap_place(ev, i, ev->heap[c]);
        i = c;
    }
    heap_place(ev, i, t);
}

void bx_ev_timer_stop(struct bx_ev *ev, struct bx_ev_timer *t)
{
    if (t->slot == (size_t)-1)
        return;
    size_t i = t->slot;
    t->slot = (size_t)-1;
    struct bx_ev_timer *last = ev->heap[--ev->nheap];
    if (i == ev->nheap)
        return;
    heap_place(ev, i, last);
    heap_up(ev, i);
    heap_down(ev, last->slot);
}

void bx_ev_timer_start(struct bx_ev *ev, struct bx_ev_timer *t, uint64_t ms)
{
    uint64_t when = ev->now + ms;
    if (t->slot != (size_t)-1) {
        /* re-arming later (the common case: an idle timeout pushed back) */
        t->when = when;
        heap_up(ev, t->slot);
        heap_down(ev, t->slot);
        return;
    }
    if (ev->nheap == ev->capheap) {
        ev->capheap = ev->capheap ? ev->capheap * 2 : 64;
        ev->heap = bx_xrealloc(ev->heap, ev->capheap * sizeof *ev->heap);
    }
    t->when = when;
    heap_place(ev, ev->nheap++, t);
    heap_up(ev, t->slot);
}

static int next_timeout(struct bx_ev *ev, int max_wait_ms)
{
    if (ev->nheap == 0)
        return max_wait_ms;
    uint64_t when = ev->heap[0]->when;
    int wait = when <= ev->now ? 0
                               : (when - ev->now > 86400000u ? 86400000 : (int)(when - ev->now));
    if (max_wait_ms >= 0 && max_wait_ms < wait)
        wait = max_wait_ms;
    return wait;
}

static void run_timers(struct bx_ev *ev)
{
    /* Bounded: a timer re-armed for "now" by its own callback waits a turn. */
    size_t budget = ev->nheap;
    while (ev->nheap > 0 && budget-- > 0 && ev->heap[0]->when <= ev->now) {
        struct bx_ev_timer *t = ev->heap[0];
        bx_ev_timer_stop(ev, t);
        t->cb(ev, t);
    }
}

/* ---- the loop ------------------------------------------------------------------- */

int bx_ev_run_once(struct bx_ev *ev, int max_wait_ms)
{
    int n = epoll_wait(ev->epfd, ev->ready, EV_BATCH, next_timeout(ev, max_wait_ms));
    if (n == -1 && errno != EINTR)
        return -1;
    ev->now = mono_ms();
    ev->nready = n > 0 ? n : 0;
    for (ev->cur = 0; ev->cur < ev->nready; ev->cur++) {
        struct epoll_event *e = &ev->ready[ev->cur];
        struct bx_ev_io *io = e->data.ptr;
        if (!io)
            continue;
        unsigned what = 0;
        if (e->events & (EPOLLIN | EPOLLRDHUP))
            what |= BX_EV_READ;
        if (e->events & EPOLLOUT)
            what |= BX_EV_WRITE;
        if (e->events & (EPOLLERR | EPOLLHUP))
            what |= BX_EV_ERROR | (io->events & (BX_EV_READ | BX_EV_WRITE));
        io->cb(ev, io, what);
    }
    ev->nready = 0;
    ev->cur = 0;
    run_timers(ev);
    return n > 0 ? n : 0;
}
