/* SPDX-License-Identifier: BSD-2-Clause */
/* The start-up steps both masters take in the same order: log target,
 * background, pid file (see daemon.h). */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include "common/cli.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/net.h"
#include "common/pidfile.h"
#include "common/proc.h"

int bx_daemon_start(const struct bx_cli *cli, const char *error_log, int log_level,
                    const char *pid_file)
{
    char err[BX_ERRLEN];
    bx_log_set_ident(cli->prog);
    bx_log_threshold = log_level;
    if (bx_log_open(cli->foreground ? "stderr" : error_log, err, sizeof err) == -1) {
        fprintf(stderr, "%s: %s\n", cli->prog, err);
        return -1;
    }
    /* Refuse early, while the operator still sees stderr, if another copy runs. */
    if (pid_file) {
        pid_t holder = bx_pidfile_holder(pid_file);
        if (holder > 0) {
            fprintf(stderr,
                    "%s: pid file %s is held by running process %ld; is it already running?\n",
                    cli->prog, pid_file, (long)holder);
            return -1;
        }
    }
    if (!cli->foreground && bx_daemonize(false, err, sizeof err) == -1) {
        bx_log_error("cannot daemonize: %s", err);
        return -1;
    }
    if (!pid_file)
        return -2;
    int fd = bx_pidfile_create(pid_file, err, sizeof err);
    if (fd == -1) {
        if (cli->foreground)
            fprintf(stderr, "%s: %s\n", cli->prog, err);
        else
            bx_log_error("%s", err);
    }
    return fd;
}

int bx_daemon_resume(const struct bx_cli *cli, const char *error_log, int log_level, int pidfd,
                     int log_fd)
{
    char err[BX_ERRLEN];
    const char *target = cli->foreground ? "stderr" : error_log;
    bx_log_set_ident(cli->prog);
    bx_log_threshold = log_level;
    if (bx_log_adopt(target, log_fd) == 0)
        return pidfd >= 0 ? pidfd : -2;
    if (bx_log_open(target, err, sizeof err) == 0) {
        if (log_fd >= 0)
            close(log_fd);
        return pidfd >= 0 ? pidfd : -2;
    }
    /* Moved (rotated without USR1) and the new one is not ours to open:
     * after daemonizing nobody would read why we exited; go on in the old. */
    if (bx_log_keep(target, log_fd) == 0) {
        bx_log_warn("upgrade: %s; logging on to the file it was until a reopen (USR1)", err);
        return pidfd >= 0 ? pidfd : -2;
    }
    fprintf(stderr, "%s: %s\n", cli->prog, err);
    if (log_fd >= 0)
        close(log_fd);
    return -1;
}
