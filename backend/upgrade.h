/* SPDX-License-Identifier: BSD-2-Clause */
/* The backend master's binary upgrade (USR2), on common/upgrade.h: what goes
 * into the record and what the new image takes from it.
 *
 * Kept across the execve (same pid): the pid file's lock, the listeners
 * (and the clients queued on them), every worker of every generation (they
 * stay our children; the new image counts them all as an old generation and
 * sends them TERM once it is set up, so they hand their WebSocket sessions
 * to its first generation exactly as on a reload), and what those workers
 * and the new ones must share to find and trust each other:
 *   - the generation count: the new workers are newer than every old one;
 *   - the worker table (be_stats_table, now in a memfd): the hand-off and
 *     pub/sub check a peer's pid and generation there, and the stats slots
 *     of the old workers stay theirs until they are reaped;
 *   - the life pipe, both ends: the old workers watch it, and a write end
 *     closed by the execve would tell them the master died;
 *   - the private directory of the pub/sub and hand-off sockets (passed as
 *     a descriptor: the new image checks it is ours, mode 0700);
 *   - the error log and access log descriptors, taken when they still are
 *     the files the configuration names: a master that dropped root may not
 *     open a log root created (before the first rotation) by name.
 * Made anew: the crash records and mount gates (they serve the running
 * generation only; the old workers' records were never read once they were
 * old), the seccomp violation table (an old worker killed by seccomp after
 * the upgrade is reported by its signal, without the call's name), the
 * module set, the sandbox.
 *
 * The worker table is shared between two binaries: its layout is in the
 * record (BE_UPGRADE_TABLES), and a new image with another one makes a
 * fresh table, so old and new workers do not know each other and the old
 * sessions drain as they did before hand-offs existed (1001 at
 * shutdown_timeout). A hand-off wire version the new workers do not share
 * is refused the same way (ws_handoff.c). */
#ifndef BACTRIAN_BACKEND_UPGRADE_H
#define BACTRIAN_BACKEND_UPGRADE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/listeners.h"
#include "common/supervise.h"
#include "common/upgrade.h"

struct bx_cli;

/* What the running image passes on. */
struct be_upgrade_from {
    const char *exe;                    /* our binary, as resolved at start */
    const struct bx_cli *cli;
    int pidfd;
    const struct bx_lheld *held;        /* the running listeners and their places */
    size_t nheld;
    const struct bx_children *cur, *old; /* workers (tag: stats slot) */
    int life_r, life_w;
    unsigned generation;                /* the running one */
    size_t stats_slots;
    bool replace;                       /* a socket orphans answer on may be taken over */
};

/* What the new image took (be_upgrade_take, then be_upgrade_adopt). */
struct be_upgrade_got {
    struct bx_upgrade rec;              /* listeners and pid file */
    struct bx_children kept;            /* every worker of the image before */
    int life_r, life_w;                 /* -1: make a life pipe */
    int log_fd, access_fd;              /* the logs of the image before, or -1 */
    bool tables;                        /* the worker table was adopted */
};

/* The backlog of a listener the running master binds for the new image
 * (as bind_listeners in master.c). */
#define BE_UP_BACKLOG 1024

struct bx_config;
struct bx_upgrade_report;
/* Runs the new binary with -t on our configuration, its report (every
 * listener of the configuration it read) into rep, which the caller frees:
 * 0, or -1 (logged, rep freed). */
int be_upgrade_check(const struct be_upgrade_from *f, struct bx_upgrade_report *rep);
/* In the -t run of an upgrade's check (a report descriptor given): the
 * report of cfg's listeners, written to fd and fd closed. 0, or -1 (said on
 * stderr). */
int be_upgrade_report(const struct bx_config *cfg, int fd);
/* Writes the record, with every listener of rep held or made now (one this
 * master cannot make refuses the upgrade: a port <1024 after the privilege
 * drop, a backend.socket in a directory it may not write or owned by
 * another user than itself: usock.h), and executes the new binary; returns
 * only when that failed or was refused (logged), with everything as it was
 * and what it made for the upgrade removed. */
void be_upgrade_exec(const struct be_upgrade_from *f, const struct bx_upgrade_report *rep);

/* In the new image, first thing: 1 when started by an upgrade (got filled),
 * 0 when not, -1 when the record is unusable (said on stderr). */
int be_upgrade_take(struct be_upgrade_got *got);
/* Once the log is open: the generation count, the worker table (of
 * stats_slots rows) and the pub/sub directory of the image before are
 * taken over; what cannot be is logged and made anew by the caller. */
void be_upgrade_adopt(struct be_upgrade_got *got, size_t stats_slots);
/* bx_daemon_resume (common/daemon.h), the error log taken over when it can
 * be: the pid file's descriptor, -2 (none) or -1 (said on stderr). */
int be_upgrade_resume(struct be_upgrade_got *got, const struct bx_cli *cli, const char *error_log,
                      int log_level);
/* bx_access_log_open, the access log taken over when it can be. */
int be_upgrade_access_log(struct be_upgrade_got *got, const char *path, char *err, size_t errlen);
/* Once our listeners are bound: the path of each Unix socket of the image
 * before that our configuration (socket: backend.socket, or NULL) no
 * longer has is unlinked, as a reload unlinks the socket it moves from. */
void be_upgrade_unlink_gone(const struct be_upgrade_got *got, const char *socket);
void be_upgrade_free(struct be_upgrade_got *got);

#endif
