/* SPDX-License-Identifier: BSD-2-Clause */
/* A small epoll event loop: descriptor watchers and one-shot timers.
 *
 * Watchers and timers are embedded in the caller's own objects (no
 * allocation per event): a connection holds its struct bx_ev_io and its
 * struct bx_ev_timer. Timers live in a binary heap keyed by deadline; the
 * loop's clock is read once per iteration (bx_ev_now) so a burst of events
 * does not call clock_gettime for each. A watcher stopped from inside a
 * callback never fires again in the same batch, so callbacks may free the
 * object that holds it. */
#ifndef BACTRIAN_COMMON_EV_H
#define BACTRIAN_COMMON_EV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    BX_EV_READ = 1,
    BX_EV_WRITE = 2,
    BX_EV_ERROR = 4,      /* reported only: hang-up or error on the descriptor */
    BX_EV_EXCLUSIVE = 8,  /* request only: EPOLLEXCLUSIVE (shared listening sockets) */
};

struct bx_ev;
struct bx_ev_io;
struct bx_ev_timer;

typedef void bx_ev_io_cb(struct bx_ev *ev, struct bx_ev_io *io, unsigned events);
typedef void bx_ev_timer_cb(struct bx_ev *ev, struct bx_ev_timer *t);

struct bx_ev_io {
    int fd;
    unsigned events;      /* what is being watched (BX_EV_READ | BX_EV_WRITE) */
    bool active;
    bx_ev_io_cb *cb;
    void *data;
};

struct bx_ev_timer {
    uint64_t when;        /* deadline, loop clock in ms */
    size_t slot;          /* position in the heap; (size_t)-1 when not armed */
    bx_ev_timer_cb *cb;
    void *data;
};

struct bx_ev *bx_ev_create(char *err, size_t errlen);
void bx_ev_destroy(struct bx_ev *ev);

/* Prepares a watcher (not yet active). */
void bx_ev_io_init(struct bx_ev_io *io, int fd, bx_ev_io_cb *cb, void *data);
/* Starts watching, or changes what is watched; events 0 stops. 0 or -1 (errno). */
int bx_ev_io_set(struct bx_ev *ev, struct bx_ev_io *io, unsigned events);
/* Stops watching (before closing the descriptor). */
void bx_ev_io_stop(struct bx_ev *ev, struct bx_ev_io *io);

void bx_ev_timer_init(struct bx_ev_timer *t, bx_ev_timer_cb *cb, void *data);
/* Arms (or re-arms) the timer to fire once, ms from now. */
void bx_ev_timer_start(struct bx_ev *ev, struct bx_ev_timer *t, uint64_t ms);
void bx_ev_timer_stop(struct bx_ev *ev, struct bx_ev_timer *t);
static inline bool bx_ev_timer_armed(const struct bx_ev_timer *t)
{
    return t->slot != (size_t)-1;
}

/* The loop clock (monotonic ms), refreshed once per iteration. */
uint64_t bx_ev_now(const struct bx_ev *ev);

/* Runs one iteration: waits at most max_wait_ms (-1 = until the next timer or
 * event), dispatches ready descriptors, then due timers. Returns the number
 * of descriptor events, or -1 on a fatal epoll error. */
int bx_ev_run_once(struct bx_ev *ev, int max_wait_ms);
void bx_ev_stop(struct bx_ev *ev);

#endif
