/* SPDX-License-Identifier: BSD-2-Clause */
/* The start-up steps both masters take in the same order: log target,
 * background, pid file. */
#ifndef BACTRIAN_COMMON_DAEMON_H
#define BACTRIAN_COMMON_DAEMON_H

struct bx_cli;

/* Opens the error log (stderr under -f), daemonizes unless -f, creates the pid
 * file (none when pid_file is NULL). Errors go to stderr and the log.
 * Returns the pid file fd (or -2 when there is none), -1 on failure. */
int bx_daemon_start(const struct bx_cli *cli, const char *error_log, int log_level,
                    const char *pid_file);

/* After a binary upgrade (upgrade.h): the same steps for a process that is
 * already the daemon: the log opened again, no background, no pid file check
 * (pidfd, kept open across the execve, still holds its lock). Returns pidfd,
 * or -2 when there is none, -1 when the log cannot be opened. */
int bx_daemon_resume(const struct bx_cli *cli, const char *error_log, int log_level, int pidfd);

#endif
