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
 * already the daemon: no background, no pid file check (pidfd, kept open
 * across the execve, still holds its lock), and the error log taken over
 * from log_fd (the image before's, bx_log_file_fd; -1: none, or it logged
 * to stderr or syslog) when it still is the file error_log names: a master
 * that dropped root may not open by name a log root made. Else the log is
 * opened by name (it moved), and when that fails too, log_fd is kept (as
 * after a failed reopen). log_fd is taken or closed. Returns pidfd, or -2
 * when there is none, -1 when there is no log at all. */
int bx_daemon_resume(const struct bx_cli *cli, const char *error_log, int log_level, int pidfd,
                     int log_fd);

#endif
