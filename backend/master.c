/* Backend master. Binds the Unix socket and TCP listeners, loads the modules,
 * drops privileges, forks the workers and respawns any that die, with
 * back-off on crash loops. Signals arrive on a signalfd; nothing runs in a
 * signal handler.
 *
 * HUP reloads: the file is read and checked and the modules are loaded and
 * initialised with it; on any error the running generation stays and the
 * errors are logged. Otherwise listeners that did not change are kept (same
 * descriptors), new ones are bound, a new generation of workers is forked,
 * and the old workers get TERM: they stop accepting, finish what they serve
 * and exit (after shutdown_timeout at the latest). */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend/master.h"
#include "backend/modset.h"
#include "backend/pubsub.h"
#include "backend/worker.h"
#include "bactrian/module.h"
#include "common/cli.h"
#include "common/cfg.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/net.h"
#include "common/pidfile.h"
#include "common/proc.h"
#include "common/sandbox.h"
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

/* What one generation of workers runs with. */
struct gen {
    struct bx_config *cfg;
    bool cfg_owned;             /* loaded by a reload (else main() owns it) */
    struct be_modset mods;
    struct be_listeners ls;
    struct worker_slot *w;
    int n;
};

static bool slot_used[STATS_SLOTS];

static int take_slot(void)
{
    for (int i = 0; i < STATS_SLOTS; i++)
        if (!slot_used[i]) {
            slot_used[i] = true;
            return i;
        }
    return STATS_SLOTS - 1; /* more than STATS_SLOTS workers: counters get shared */
}

static void give_slot(int i)
{
    size_t n;
    be_stats_table(&n)[i].pid = 0;
    slot_used[i] = false;
}

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
    bx_sandbox_warn_root(cfg->be.user, "backend.user");
    return rc;
}

static int bind_unix(struct bx_backend_conf *be, struct be_listener *out)
{
    char err[BX_ERRLEN];
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
    *out = (struct be_listener){.fd = fd, .unix_socket = true,
                                .proxy_protocol = be->socket_proxy_protocol};
    return 0;
}

/* Finds a listener of the previous generation bound to the same place and
 * takes its descriptor (old->fd becomes -1). */
static int reuse_fd(struct be_listeners *old, const char *unix_path, const char *prev_path,
                    const struct bx_backend_listen *l, const struct bx_backend_conf *prev)
{
    if (!old)
        return -1;
    size_t tcp = 0;
    for (size_t i = 0; i < old->n; i++) {
        struct be_listener *o = &old->v[i];
        int fd = o->fd;
        if (o->unix_socket) {
            if (unix_path && prev_path && strcmp(unix_path, prev_path) == 0 && fd != -1) {
                o->fd = -1;
                return fd;
            }
            continue;
        }
        const struct bx_backend_listen *pl = &prev->listen[tcp++];
        if (l && fd != -1 && pl->port == l->port && strcmp(pl->address, l->address) == 0) {
            o->fd = -1;
            return fd;
        }
    }
    return -1;
}

static int bind_listeners(struct bx_config *cfg, struct be_listeners *ls, struct be_listeners *old,
                          const struct bx_backend_conf *prev)
{
    char err[BX_ERRLEN];
    struct bx_backend_conf *be = &cfg->be;
    ls->n = 0;
    ls->v = bx_xcalloc(be->nlisten + 1, sizeof *ls->v);
    if (be->socket) {
        int fd = reuse_fd(old, be->socket, prev ? prev->socket : NULL, NULL, prev);
        if (fd != -1) {
            ls->v[ls->n++] = (struct be_listener){.fd = fd, .unix_socket = true,
                                                  .proxy_protocol = be->socket_proxy_protocol};
            chmod(be->socket, (mode_t)be->socket_mode);
        } else if (bind_unix(be, &ls->v[ls->n++]) == -1) {
            ls->n--;
            return -1;
        }
    }
    for (size_t i = 0; i < be->nlisten; i++) {
        struct bx_backend_listen *l = &be->listen[i];
        int fd = reuse_fd(old, NULL, NULL, l, prev);
        if (fd == -1)
            fd = bx_listen_tcp(l->address, l->port, 1024, err, sizeof err);
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

static void close_listeners(struct be_listeners *ls)
{
    for (size_t i = 0; i < ls->n; i++)
        if (ls->v[i].fd != -1)
            close(ls->v[i].fd);
    free(ls->v);
    ls->v = NULL;
    ls->n = 0;
}

/* Gives back everything but the listeners (the caller decides about those). */
static void gen_free(struct gen *g)
{
    be_modset_free(&g->mods);
    if (g->cfg_owned) {
        bx_config_free(g->cfg);
        free(g->cfg);
    }
    free(g->w);
    memset(g, 0, sizeof *g);
}

static pid_t spawn_worker(struct gen *g, int index, int sigfd)
{
    pid_t pid = fork();
    if (pid == -1) {
        bx_log_error("cannot fork worker %d: %s", index, strerror(errno));
        return -1;
    }
    if (pid == 0) {
        close(sigfd);
        bx_signals_reset();
        _exit(be_worker_run(g->cfg, &g->ls, &g->mods, index, g->w[index].stats_slot));
    }
    return pid;
}

static void signal_workers(struct worker_slot *w, int n, int sig)
{
    for (int i = 0; i < n; i++)
        if (w[i].pid > 0)
            kill(w[i].pid, sig);
}

/* Workers of earlier generations, draining. */
static struct worker_slot *old;
static int nold;

/* How a worker ended, naming the system call when seccomp killed it. */
static const char *exit_why(pid_t pid, int status, char *out, size_t outlen)
{
    const char *s = bx_sandbox_describe(pid, status, out, outlen);
    return s ? s : bx_exit_str(status, out, outlen);
}

/* Reaps every exited worker; returns how many (of every generation) still run. */
static int reap(struct gen *g, bool stopping)
{
    int status;
    pid_t pid;
    char why[96];
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        be_ps_forget(pid);
        for (int i = 0; i < nold; i++) {
            if (old[i].pid != pid)
                continue;
            old[i].pid = 0;
            give_slot(old[i].stats_slot);
            if (status != 0)
                bx_log_warn("old worker (pid %ld) %s", (long)pid, exit_why(pid, status, why, sizeof why));
        }
        for (int i = 0; i < g->n; i++) {
            if (g->w[i].pid != pid)
                continue;
            g->w[i].pid = 0;
            size_t nslots;
            be_stats_table(&nslots)[g->w[i].stats_slot].pid = 0;
            uint64_t now = bx_now_ms();
            uint64_t delay = bx_backoff_exited(&g->w[i].backoff, now, RESPAWN_MIN_UPTIME_MS,
                                               RESPAWN_MAX_DELAY_MS);
            g->w[i].restart_at_ms = now + delay;
            if (!stopping)
                bx_log(status == 0 ? BX_LOG_NOTICE : BX_LOG_ERROR,
                       "worker %d (pid %ld) %s; restarting in %llu ms", i, (long)pid,
                       exit_why(pid, status, why, sizeof why), (unsigned long long)delay);
        }
    }
    int alive = 0, j = 0;
    for (int i = 0; i < nold; i++)
        if (old[i].pid > 0)
            old[j++] = old[i];
    nold = j;
    alive += nold;
    for (int i = 0; i < g->n; i++)
        alive += g->w[i].pid > 0;
    return alive;
}

static void gen_slots(struct gen *g)
{
    g->n = g->cfg->be.workers;
    g->w = bx_xcalloc((size_t)g->n, sizeof *g->w);
    for (int i = 0; i < g->n; i++)
        g->w[i].stats_slot = take_slot();
}

static bool access_log_same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* HUP: a new generation, or the old one stays when anything is wrong. */
static void reload(const struct bx_cli *cli, struct gen *cur)
{
    char *errors = NULL;
    struct gen ng = {0};
    ng.cfg = bx_xcalloc(1, sizeof *ng.cfg);
    ng.cfg_owned = true;
    if (bx_config_load(ng.cfg, cli->config, BX_CONF_BACKEND, &errors) == -1) {
        for (char *line = strtok(errors, "\n"); line; line = strtok(NULL, "\n"))
            bx_log_error("reload: %s", line);
        bx_log_error("reload failed: %s has errors; still running generation %u", cli->config,
                     be_generation);
        free(errors);
        free(ng.cfg);
        return;
    }
    if (load_modules(ng.cfg, &ng.mods, false) == -1 ||
        bind_listeners(ng.cfg, &ng.ls, &cur->ls, &cur->cfg->be) == -1) {
        bx_log_error("reload failed; still running generation %u", be_generation);
        /* descriptors taken over from the running generation go back */
        for (size_t i = 0; i < ng.ls.n; i++)
            for (size_t k = 0; k < cur->ls.n; k++)
                if (cur->ls.v[k].fd == -1 && ng.ls.v[i].unix_socket == cur->ls.v[k].unix_socket) {
                    cur->ls.v[k].fd = ng.ls.v[i].fd;
                    ng.ls.v[i].fd = -1;
                    break;
                }
        close_listeners(&ng.ls);
        gen_free(&ng);
        return;
    }
    char *old_access = cur->cfg->be.access_log ? bx_xstrdup(cur->cfg->be.access_log) : NULL;
    /* the old workers drain; their listener copies close with them */
    old = bx_xrealloc(old, (size_t)(nold + cur->n) * sizeof *old);
    for (int i = 0; i < cur->n; i++) {
        if (cur->w[i].pid > 0) {
            kill(cur->w[i].pid, SIGTERM);
            old[nold++] = cur->w[i];
        } else {
            give_slot(cur->w[i].stats_slot);
        }
    }
    if (cur->cfg->be.socket && (!ng.cfg->be.socket || strcmp(cur->cfg->be.socket, ng.cfg->be.socket) != 0))
        unlink(cur->cfg->be.socket);
    close_listeners(&cur->ls);
    gen_free(cur);
    *cur = ng;
    gen_slots(cur);
    be_generation++;
    bx_log_threshold = cur->cfg->be.log_level;
    if (!access_log_same(old_access, cur->cfg->be.access_log)) {
        char err[BX_ERRLEN];
        bx_access_log_close();
        if (bx_access_log_open(cur->cfg->be.access_log, err, sizeof err) == -1)
            bx_log_error("reload: backend.access_log: %s", err);
    }
    free(old_access);
    bx_log_notice("reloaded %s: generation %u with %d workers", cli->config, be_generation,
                  cur->n);
}

int be_master_run(const struct bx_cli *cli, struct bx_config *cfg)
{
    char err[BX_ERRLEN];
    struct gen g = {.cfg = cfg};
    struct bx_backend_conf *be = &cfg->be;
    int pidfd = bx_daemon_start(cli, be->error_log, be->log_level, be->pid_file);
    if (pidfd == -1)
        return 1;
    char *pid_file = bx_xstrdup(be->pid_file);
    int sigfd = bx_signalfd_open(err, sizeof err);
    if (sigfd == -1) {
        bx_log_error("%s", err);
        goto fail;
    }
    if (bind_listeners(cfg, &g.ls, NULL, NULL) == -1)
        goto fail;
    be_stats_init(STATS_SLOTS);
    if (bx_access_log_open(be->access_log, err, sizeof err) == -1) {
        bx_log_error("backend.access_log: %s", err);
        goto fail;
    }
    bx_sandbox_warn_root(be->user, "backend.user");
    if (bx_sandbox_init() == -1)
        bx_log_warn("confinement: no violation table (%s): a worker killed by seccomp will "
                    "not name the call", strerror(errno));
    if (bx_drop_privileges(be->user, be->group, err, sizeof err) == -1) {
        bx_log_error("backend.user: %s", err);
        goto fail;
    }
    /* Module code never runs as root: init() runs after the drop, as on
     * every reload (what needs root, the listeners and the logs, is done). */
    if (load_modules(cfg, &g.mods, false) == -1)
        goto fail;
    /* After the drop: the directory belongs to the uid the workers run as. */
    if (be_ps_dir_create(err, sizeof err) == -1)
        bx_log_error("%s; pub/sub messages stay within each worker", err);
    gen_slots(&g);
    bx_log_notice("started %s with %d workers", PACKAGE_VERSION, g.n);
    bool stopping = false;
    uint64_t stop_deadline = 0;
    for (;;) {
        uint64_t now = bx_now_ms();
        int timeout = 1000;
        for (int i = 0; i < g.n && !stopping; i++) {
            if (g.w[i].pid > 0)
                continue;
            if (now >= g.w[i].restart_at_ms) {
                g.w[i].pid = spawn_worker(&g, i, sigfd);
                bx_backoff_started(&g.w[i].backoff, now);
            } else if ((int)(g.w[i].restart_at_ms - now) < timeout) {
                timeout = (int)(g.w[i].restart_at_ms - now);
            }
        }
        if (stopping) {
            if (reap(&g, true) == 0)
                break;
            if (now >= stop_deadline) {
                bx_log_warn("workers did not stop in time; killing them");
                signal_workers(g.w, g.n, SIGKILL);
                signal_workers(old, nold, SIGKILL);
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
                reap(&g, stopping);
                break;
            case SIGTERM:
            case SIGINT:
            case SIGQUIT:
                if (!stopping)
                    bx_log_notice("%s: stopping", strsignal(sig));
                stopping = true;
                stop_deadline = bx_now_ms() +
                                (sig == SIGQUIT ? 2000 : (uint64_t)g.cfg->be.shutdown_timeout_ms + 2000);
                signal_workers(g.w, g.n, sig == SIGQUIT ? SIGQUIT : SIGTERM);
                signal_workers(old, nold, sig == SIGQUIT ? SIGQUIT : SIGTERM);
                break;
            case SIGUSR1:
                bx_log_reopen();
                bx_access_log_reopen();
                signal_workers(g.w, g.n, SIGUSR1);
                signal_workers(old, nold, SIGUSR1);
                break;
            case SIGHUP:
                if (!stopping)
                    reload(cli, &g);
                break;
            default:
                break;
            }
        }
    }
    if (g.cfg->be.socket)
        unlink(g.cfg->be.socket);
    be_ps_dir_remove();
    close_listeners(&g.ls);
    bx_pidfile_remove(pid_file, pidfd);
    bx_log_notice("stopped");
    gen_free(&g);
    free(old);
    free(pid_file);
    return 0;
fail:
    close_listeners(&g.ls);
    gen_free(&g);
    bx_pidfile_remove(pid_file, pidfd);
    free(pid_file);
    return 1;
}
