/* SPDX-License-Identifier: BSD-2-Clause */
/* The supervision both masters share: signals as events, reaping, the stop
 * with its deadline, and a table of children respawned with back-off.
 *
 * A master owns one struct bx_sv and gives it its policy as callbacks
 * (struct bx_sv_ops): what a reload, a stop, a log reopen mean, what to do
 * with a child that exited, whom to kill when a stop overruns. The layer
 * decides when each is called, the same way for both daemons:
 *   SIGHUP          reload, never while stopping
 *   SIGTERM, SIGINT stop (graceful); SIGQUIT stop (now)
 *   SIGUSR1         reopen the logs
 *   SIGUSR2         upgrade (when the master has one; else ignored)
 *   SIGCHLD         reap: exited() for every child that ended
 * and the master's loop, which waits on bx_sv.sigfd among its own
 * descriptors, calls bx_sv_signals when it is readable, and bx_sv_reap and
 * bx_sv_done on every pass (SIGCHLD coalesces: a pass may find several). */
#ifndef BACTRIAN_COMMON_SUPERVISE_H
#define BACTRIAN_COMMON_SUPERVISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/proc.h"

struct bx_sv_ops {
    void (*reload)(void *ctx);
    /* A stop signal (SIGTERM, SIGINT or SIGQUIT); again: a stop was already
     * under way. bx_sv.stopping is already true. Returns the ms the children
     * get before overdue(), or 0 to keep the running deadline. */
    uint64_t (*stop)(void *ctx, int sig, bool again);
    void (*reopen)(void *ctx);
    void (*upgrade)(void *ctx);                        /* may be NULL */
    void (*exited)(void *ctx, pid_t pid, int status);
    /* The stop deadline passed with alive children left: kill them. Returns
     * the ms until it is called again if some are still there, 0: never. */
    uint64_t (*overdue)(void *ctx, size_t alive);
};

struct bx_sv {
    int sigfd;
    bool stopping;
    uint64_t deadline;          /* of the stop; UINT64_MAX: none */
    const struct bx_sv_ops *ops;
    void *ctx;
};

/* Blocks the daemon signals and opens the signalfd (bx_signalfd_open). */
int bx_sv_open(struct bx_sv *sv, const struct bx_sv_ops *ops, void *ctx, char *err, size_t errlen);
void bx_sv_close(struct bx_sv *sv);
/* Handles every signal pending on sv->sigfd. */
void bx_sv_signals(struct bx_sv *sv);
/* Handles one signal (what bx_sv_signals does for each). */
void bx_sv_dispatch(struct bx_sv *sv, int sig);
/* Reaps every child that ended, calling exited() for each. */
void bx_sv_reap(struct bx_sv *sv);
/* Starts a stop as the signal sig would (SIGTERM: graceful, SIGQUIT: now). */
void bx_sv_stop(struct bx_sv *sv, int sig);
/* True when a stop is under way and no child is left (alive == 0): the
 * master's loop ends. Past the deadline with children left: overdue(). */
bool bx_sv_done(struct bx_sv *sv, size_t alive, uint64_t now);

/* ---- a table of supervised children, respawned with back-off ------------ */

struct bx_child {
    pid_t pid;                  /* 0: not running */
    int tag;                    /* the master's own (the backend: stats slot) */
    uint64_t restart_at_ms;     /* when pid == 0: earliest restart */
    struct bx_backoff backoff;
};

struct bx_children {
    struct bx_child *v;
    size_t n;
};

/* n children, none running, each due at once. 0 or -1 (out of memory). */
int bx_children_init(struct bx_children *t, size_t n);
void bx_children_free(struct bx_children *t);
/* The index of pid, or -1. */
long bx_children_find(const struct bx_children *t, pid_t pid);
size_t bx_children_alive(const struct bx_children *t);
/* Sends sig to every running child. */
void bx_children_signal(const struct bx_children *t, int sig);
/* Child i ended at now: not running, and due again after the back-off
 * (bx_backoff_exited). Returns that delay. */
uint64_t bx_children_ended(struct bx_children *t, size_t i, uint64_t now, uint64_t min_uptime_ms,
                           uint64_t max_delay_ms);
/* Child i is due again at once (its back-off forgotten). */
void bx_children_due_now(struct bx_children *t, size_t i, uint64_t now);
/* Starts every child that is due, through spawn (which returns the pid, or
 * -1: it is tried again on the next call). Returns the ms until the next one
 * is due, at most cap_ms. */
int bx_children_spawn_due(struct bx_children *t, uint64_t now, int cap_ms,
                          pid_t (*spawn)(void *ctx, size_t i), void *ctx);
/* Moves the running children of src to the end of dst; their entries in
 * src are cleared (pid 0, tag -1), so the tags >= 0 left in src are those of
 * children not running, for the caller to release. 0 or -1 (out of memory:
 * nothing moved). */
int bx_children_adopt(struct bx_children *dst, struct bx_children *src);
/* Drops the entries of children no longer running. */
void bx_children_compact(struct bx_children *t);

#endif
