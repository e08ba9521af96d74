/* Backend master. Binds the Unix socket and TCP listeners, drops privileges,
 * forks the workers and respawns any that die, with back-off on crash loops.
 * Signals arrive on a signalfd; nothing runs in a signal handler. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend/master.h"
#include "backend/modset.h"
#include "backend/worker.h"
#include "bactrian/module.h"
#include "common/cli.h"
#include "common/cfg.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/net.h"
#include "common/pidfile.h"
#include "common/proc.h"
#include "common/xalloc.h"

#define RESPAWN_MIN_UPTIME_MS 2000
#define RESPAWN_MAX_DELAY_MS 10000

#define STATS_SLOTS 2048

struct worker_slot {
    pid_t pid;
    int stats_slot;
    uint64_t restart_at_ms; /* when pid == 0: earliest restart */
    struct bx_backoff backoff;
};

/* Loads the modules and runs their init, so -t validates module settings too. */
static int load_modules(struct bx_config *cfg, struct be_modset *set, bool to_stderr)
{
    struct bx_buf errs = BX_BUF_INIT;
    int rc = be_modset_load(cfg, set, &errs);
    if (bx_buf_unread(&errs)) {
        bx_buf_append(&errs, "", 1);
        if (to_stderr) {
            fputs(bx_buf_rpos(&errs), stderr);
        } else {
            for (char *line = strtok(bx_buf_rpos(&errs), "\n"); line; line = strtok(NULL, "\n"))
                bx_log_error("%s", line);
        }
    }
    bx_buf_free(&errs);
    return rc;
}

int be_master_check(struct bx_config *cfg)
{
    struct be_modset set;
    int rc = load_modules(cfg, &set, true);
    be_modset_free(&set);
    return rc;
}

static int bind_listeners(struct bx_config *cfg, struct be_listeners *ls)
{
    char err[BX_ERRLEN];
    struct bx_backend_conf *be = &cfg->be;
    ls->n = 0;
    ls->v = bx_xcalloc(be->nlisten + 1, sizeof *ls->v);
    if (be->socket) {
        uid_t uid;
        gid_t gid;
        if (bx_lookup_user(be->socket_owner, be->socket_group, &uid, &gid, err, sizeof err) == -1) {
            bx_log_error("backend.socket_owner/socket_group: %s", err);
            return -1;
        }
        int fd = bx_listen_unix(be->socket, be->socket_mode, uid, gid, 1024, err, sizeof err);
        if (fd == -1) {
            bx_log_error("%s", err);
            return -1;
        }
        ls->v[ls->n++] = (struct be_listener){.fd = fd, .unix_socket = true,
                                              .proxy_protocol = be->socket_proxy_protocol};
    }
    for (size_t i = 0; i < be->nlisten; i++) {
        struct bx_backend_listen *l = &be->listen[i];
        int fd = bx_listen_tcp(l->address, l->port, 1024, err, sizeof err);
        if (fd == -1) {
            bx_log_error("backend.listen.[%zu]: %s", i, err);
            return -1;
        }
        ls->v[ls->n++] = (struct be_listener){.fd = fd, .proxy_protocol = l->proxy_protocol,
                                              .proxy_from = l->proxy_from.v,
                                              .nproxy_from = l->proxy_from.n};
    }
    return 0;
}

static struct be_modset modules;

static pid_t spawn_worker(struct bx_config *cfg, struct be_listeners *ls, int index, int slot,
                          int sigfd)
{
    pid_t pid = fork();
    if (pid == -1) {
        bx_log_error("cannot fork worker %d: %s", index, strerror(errno));
        return -1;
    }
    if (pid == 0) {
        close(sigfd);
        bx_signals_reset();
        _exit(be_worker_run(cfg, ls, &modules, index, slot));
    }
    return pid;
}

static void signal_workers(struct worker_slot *w, int n, int sig)
{
    for (int i = 0; i < n; i++)
        if (w[i].pid > 0)
            kill(w[i].pid, sig);
}

/* Reaps every exited worker; returns how many are still running. */
static int reap(struct worker_slot *w, int n, bool stopping)
{
    int status;
    pid_t pid;
    char why[96];
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (int i = 0; i < n; i++) {
            if (w[i].pid != pid)
                continue;
            w[i].pid = 0;
            size_t nslots;
            be_stats_table(&nslots)[w[i].stats_slot].pid = 0;
            uint64_t now = bx_now_ms();
            uint64_t delay = bx_backoff_exited(&w[i].backoff, now, RESPAWN_MIN_UPTIME_MS,
                                               RESPAWN_MAX_DELAY_MS);
            w[i].restart_at_ms = now + delay;
            if (!stopping)
                bx_log(status == 0 ? BX_LOG_NOTICE : BX_LOG_ERROR,
                       "worker %d (pid %ld) %s; restarting in %llu ms", i, (long)pid,
                       bx_exit_str(status, why, sizeof why), (unsigned long long)delay);
        }
    }
    int alive = 0;
    for (int i = 0; i < n; i++)
        alive += w[i].pid > 0;
    return alive;
}

int be_master_run(const struct bx_cli *cli, struct bx_config *cfg)
{
    char err[BX_ERRLEN];
    struct bx_backend_conf *be = &cfg->be;
    struct be_listeners ls = {0};
    int pidfd = bx_daemon_start(cli, be->error_log, be->log_level, be->pid_file);
    if (pidfd == -1)
        return 1;
    int sigfd = bx_signalfd_open(err, sizeof err);
    if (sigfd == -1) {
        bx_log_error("%s", err);
        return 1;
    }
    if (bind_listeners(cfg, &ls) == -1)
        goto fail;
    if (load_modules(cfg, &modules, false) == -1)
        goto fail;
    be_stats_init(STATS_SLOTS);
    if (bx_access_log_open(be->access_log, err, sizeof err) == -1) {
        bx_log_error("backend.access_log: %s", err);
        goto fail;
    }
    if (bx_drop_privileges(be->user, be->group, err, sizeof err) == -1) {
        bx_log_error("backend.user: %s", err);
        goto fail;
    }
    int n = be->workers;
    struct worker_slot *w = bx_xcalloc((size_t)n, sizeof *w);
    for (int i = 0; i < n; i++)
        w[i].stats_slot = i;
    bx_log_notice("started %s with %d workers", PACKAGE_VERSION, n);
    bool stopping = false;
    uint64_t stop_deadline = 0;
    for (;;) {
        uint64_t now = bx_now_ms();
        int timeout = 1000;
        for (int i = 0; i < n && !stopping; i++) {
            if (w[i].pid > 0)
                continue;
            if (now >= w[i].restart_at_ms) {
                w[i].pid = spawn_worker(cfg, &ls, i, w[i].stats_slot, sigfd);
                bx_backoff_started(&w[i].backoff, now);
            } else if ((int)(w[i].restart_at_ms - now) < timeout) {
                timeout = (int)(w[i].restart_at_ms - now);
            }
        }
        if (stopping) {
            if (reap(w, n, true) == 0)
                break;
            if (now >= stop_deadline) {
                bx_log_warn("workers did not stop in time; killing them");
                signal_workers(w, n, SIGKILL);
                stop_deadline = now + 60000;
            }
        }
        struct pollfd pfd = {.fd = sigfd, .events = POLLIN};
        if (poll(&pfd, 1, timeout) <= 0)
            continue;
        int sig;
        while ((sig = bx_signalfd_read(sigfd)) > 0) {
            switch (sig) {
            case SIGCHLD:
                reap(w, n, stopping);
                break;
            case SIGTERM:
            case SIGINT:
            case SIGQUIT:
                if (!stopping)
                    bx_log_notice("%s: stopping", strsignal(sig));
                stopping = true;
                stop_deadline = bx_now_ms() + (sig == SIGQUIT ? 2000 : (uint64_t)be->shutdown_timeout_ms + 2000);
                signal_workers(w, n, sig == SIGQUIT ? SIGQUIT : SIGTERM);
                break;
            case SIGUSR1:
                bx_log_reopen();
                bx_access_log_reopen();
                signal_workers(w, n, SIGUSR1);
                break;
            case SIGHUP:
                bx_log_notice("SIGHUP: reload is not implemented yet; configuration unchanged");
                break;
            default:
                break;
            }
        }
    }
    if (be->socket)
        unlink(be->socket);
    bx_pidfile_remove(be->pid_file, pidfd);
    bx_log_notice("stopped");
    be_modset_free(&modules);
    free(w);
    free(ls.v);
    return 0;
fail:
    free(ls.v);
    bx_pidfile_remove(be->pid_file, pidfd);
    return 1;
}
