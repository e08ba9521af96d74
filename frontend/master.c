/* Placeholder frontend master until the pool and relay land: binds every
 * service (so bind errors are reported), drops privileges and waits for a
 * stop signal. */
#include "config.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cli.h"
#include "common/cfg.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/net.h"
#include "common/pidfile.h"
#include "common/proc.h"
#include "frontend/master.h"

int fe_master_check(struct bx_config *cfg)
{
    (void)cfg;
    return 0;
}

int fe_master_run(const struct bx_cli *cli, struct bx_config *cfg)
{
    char err[BX_ERRLEN];
    struct bx_frontend_conf *fe = &cfg->fe;
    int pidfd = bx_daemon_start(cli, fe->error_log, fe->log_level, fe->pid_file);
    if (pidfd == -1)
        return 1;
    int sigfd = bx_signalfd_open(err, sizeof err);
    for (size_t i = 0; i < fe->nservices; i++)
        for (size_t b = 0; b < fe->services[i].bind.n; b++)
            if (bx_listen_tcp(fe->services[i].bind.v[b], fe->services[i].port, 511, err,
                              sizeof err) == -1) {
                bx_log_error("frontend.services.[%zu]: %s", i, err);
                bx_pidfile_remove(fe->pid_file, pidfd);
                return 1;
            }
    if (bx_drop_privileges(fe->user, fe->group, err, sizeof err) == -1) {
        bx_log_error("frontend.user: %s", err);
        bx_pidfile_remove(fe->pid_file, pidfd);
        return 1;
    }
    bx_log_notice("started %s (relay not built yet)", PACKAGE_VERSION);
    for (;;) {
        struct pollfd pfd = {.fd = sigfd, .events = POLLIN};
        if (poll(&pfd, 1, -1) <= 0)
            continue;
        int sig = bx_signalfd_read(sigfd);
        if (sig == SIGTERM || sig == SIGINT || sig == SIGQUIT)
            break;
    }
    bx_pidfile_remove(fe->pid_file, pidfd);
    bx_log_notice("stopped");
    return 0;
}
