/* SPDX-License-Identifier: BSD-2-Clause */
/* Process supervision shared by both daemons: daemonizing, privilege drop,
 * signals delivered as events on a signalfd, and the back-off of children
 * that crash-loop (the supervision built on these is supervise.h). */
#ifndef BACTRIAN_COMMON_PROC_H
#define BACTRIAN_COMMON_PROC_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Fork into the background: setsid, a second fork, chdir("/"), stdin/stdout
 * to /dev/null (stderr too unless keep_stderr). Returns 0 in the daemon. */
int bx_daemonize(bool keep_stderr, char *err, size_t errlen);

/* Resolves user and group names ("" or NULL = unchanged). 0 or -1. */
int bx_lookup_user(const char *user, const char *group, uid_t *uid, gid_t *gid, char *err,
                   size_t errlen);

/* Drops root to user/group: setgroups, setgid, setuid, then verifies that
 * root cannot be regained. Does nothing when user is empty and we are not
 * root; refuses to keep running as root when a user is configured. */
int bx_drop_privileges(const char *user, const char *group, char *err, size_t errlen);

/* Blocks the usual daemon signals (HUP INT TERM QUIT USR1 USR2 CHLD) and
 * returns a non-blocking signalfd that reports them. SIGPIPE is ignored. */
int bx_signalfd_open(char *err, size_t errlen);
/* Reads one pending signal from the fd: its number, 0 if none, -1 on error. */
int bx_signalfd_read(int fd);
/* In a freshly forked child: restore default dispositions and an empty mask. */
void bx_signals_reset(void);

/* Monotonic clock in milliseconds. */
uint64_t bx_now_ms(void);

/* Restart back-off for one supervised slot: the first restarts are
 * immediate; a child that dies within min_uptime_ms of its start doubles the
 * delay up to max_delay_ms; a child that lived long resets it. */
struct bx_backoff {
    uint64_t started_ms;
    uint64_t delay_ms;
    unsigned quick_deaths;
};
void bx_backoff_started(struct bx_backoff *b, uint64_t now_ms);
/* Call when the child exits; returns the delay before the next start. */
uint64_t bx_backoff_exited(struct bx_backoff *b, uint64_t now_ms, uint64_t min_uptime_ms,
                           uint64_t max_delay_ms);

/* Describes an exit status for the log: "exited with status 1",
 * "killed by signal 11 (Segmentation fault)". */
const char *bx_exit_str(int status, char *out, size_t outlen);

#endif
