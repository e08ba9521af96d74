/* SPDX-License-Identifier: BSD-2-Clause */
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
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend/crashrec.h"
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
    struct mount_health *health; /* one per mount of mods */
};

/* Crashes of one mount's module in the current window (master memory only). */
struct mount_health {
    uint64_t window_start_ms;
    unsigned crashes;
    unsigned level;           /* back-offs in a row: each doubles the period */
};

/* A running master (one per process). */
struct master {
    const struct bx_cli *cli;
    struct gen g;
    struct worker_slot *old;  /* workers of earlier generations, draining */
    int nold;
    int sigfd, pidfd;
    int life_w;               /* write end of the life pipe: only we hold it */
    int life_r;               /* read end: workers watch it for EOF */
    char *pid_file;
    bool stopping;
    uint64_t stop_deadline;
};

/* The pid file lock proves that no other master runs: then a socket path
 * that still answers belongs to orphans of a dead master and is taken over,
 * and a TCP port they have not let go yet is retried for a moment. */
static bool have_lock;

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
    if (rc == 0)
        be_modset_report_handoff(set, to_stderr);
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
    int fd = bx_listen_unix(be->socket, be->socket_mode, uid, gid, 1024, have_lock, err,
                            sizeof err);
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

/* Orphans of a killed master close their listeners as soon as they see the
 * life pipe's EOF, a few ms after the kill: a restart in that window waits for
 * them (1 s at most) instead of failing. */
static int listen_tcp_retry(const struct bx_backend_listen *l, char *err, size_t errlen)
{
    for (int tries = 0;; tries++) {
        int fd = bx_listen_tcp(l->address, l->port, 1024, err, errlen);
        if (fd != -1 || !have_lock || errno != EADDRINUSE || tries >= 50)
            return fd;
        poll(NULL, 0, 20);
    }
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
            fd = listen_tcp_retry(l, err, sizeof err);
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
    free(g->health);
    memset(g, 0, sizeof *g);
}

static pid_t spawn_worker(struct master *m, int index)
{
    struct gen *g = &m->g;
    pid_t pid = fork();
    if (pid == -1) {
        bx_log_error("cannot fork worker %d: %s", index, strerror(errno));
        return -1;
    }
    if (pid == 0) {
        /* first: a worker holding the write end would never see our death */
        close(m->life_w);
        close(m->sigfd);
        bx_signals_reset();
        _exit(be_worker_run(g->cfg, &g->ls, &g->mods, index, g->w[index].stats_slot,
                            m->life_r));
    }
    return pid;
}

static void signal_workers(struct worker_slot *w, int n, int sig)
{
    for (int i = 0; i < n; i++)
        if (w[i].pid > 0)
            kill(w[i].pid, sig);
}

/* How a worker ended, naming the system call when seccomp killed it. */
static const char *exit_why(pid_t pid, int status, char *out, size_t outlen)
{
    const char *s = bx_sandbox_describe(pid, status, out, outlen);
    return s ? s : bx_exit_str(status, out, outlen);
}

/* A worker that died inside a module callback: logs the module, the
 * request and the signal, and backs the mount off after too many such crashes
 * in the window. True when the crash is the module's (the worker itself is
 * then respawned at once: the back-off is the mount's, not the worker's). */
static bool note_crash(struct gen *g, int i, pid_t pid, int status)
{
    size_t mount;
    char what[BE_ACT_TEXT + 1];
    char why[96];
    /* a signal, or an exit mid-callback (a sanitizer's report ends in exit(1)) */
    if (!be_activity_take((size_t)g->w[i].stats_slot, be_generation, g->mods.n, &mount, what,
                          sizeof what) || status == 0)
        return false;
    const struct be_instance *in = &g->mods.v[mount];
    const struct bx_backend_conf *be = &g->cfg->be;
    bx_log_error("worker %d (pid %ld) %s in module %s (%s, mount %s) serving %s", i, (long)pid,
                 exit_why(pid, status, why, sizeof why), in->mod->name, in->setting_path,
                 in->path, what);
    if (be->module_crash_limit == 0)
        return true;
    struct mount_health *h = &g->health[mount];
    uint64_t now = bx_now_ms();
    if (h->crashes == 0 || now - h->window_start_ms > (uint64_t)be->module_crash_window_ms) {
        h->window_start_ms = now;
        h->crashes = 0;
    }
    if (++h->crashes < (unsigned)be->module_crash_limit)
        return true;
    uint64_t period = (uint64_t)be->module_crash_backoff_ms << (h->level < 6 ? h->level : 6);
    h->level++;
    h->crashes = 0;
    be_mount_gate_set(mount, be_generation, now + period);
    bx_log_error("module %s (%s, mount %s) crashed its worker %d times within %d ms; "
                 "answering 503 on it for %llu ms", in->mod->name, in->setting_path, in->path,
                 be->module_crash_limit, be->module_crash_window_ms, (unsigned long long)period);
    return true;
}

static void reaped_old(struct master *m, pid_t pid, int status)
{
    char why[96];
    for (int i = 0; i < m->nold; i++) {
        if (m->old[i].pid != pid)
            continue;
        m->old[i].pid = 0;
        give_slot(m->old[i].stats_slot);
        if (status != 0)
            bx_log_warn("old worker (pid %ld) %s", (long)pid, exit_why(pid, status, why, sizeof why));
    }
}

static void reaped_current(struct master *m, pid_t pid, int status)
{
    struct gen *g = &m->g;
    char why[96];
    for (int i = 0; i < g->n; i++) {
        if (g->w[i].pid != pid)
            continue;
        g->w[i].pid = 0;
        size_t nslots;
        be_stats_table(&nslots)[g->w[i].stats_slot].pid = 0;
        uint64_t now = bx_now_ms();
        uint64_t delay = bx_backoff_exited(&g->w[i].backoff, now, RESPAWN_MIN_UPTIME_MS,
                                           RESPAWN_MAX_DELAY_MS);
        if (!m->stopping && note_crash(g, i, pid, status)) {
            g->w[i].backoff = (struct bx_backoff){0};
            delay = 0;
        }
        g->w[i].restart_at_ms = now + delay;
        if (!m->stopping)
            bx_log(status == 0 ? BX_LOG_NOTICE : BX_LOG_ERROR,
                   "worker %d (pid %ld) %s; restarting in %llu ms", i, (long)pid,
                   exit_why(pid, status, why, sizeof why), (unsigned long long)delay);
    }
}

/* Reaps every exited worker; returns how many (of every generation) still run. */
static int reap(struct master *m)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        be_ps_forget(pid);
        reaped_old(m, pid, status);
        reaped_current(m, pid, status);
    }
    int alive = 0, j = 0;
    for (int i = 0; i < m->nold; i++)
        if (m->old[i].pid > 0)
            m->old[j++] = m->old[i];
    m->nold = j;
    alive += m->nold;
    for (int i = 0; i < m->g.n; i++)
        alive += m->g.w[i].pid > 0;
    return alive;
}

static void gen_slots(struct gen *g)
{
    g->n = g->cfg->be.workers;
    g->w = bx_xcalloc((size_t)g->n, sizeof *g->w);
    for (int i = 0; i < g->n; i++)
        g->w[i].stats_slot = take_slot();
    g->health = bx_xcalloc(g->mods.n + 1, sizeof *g->health);
}

static bool access_log_same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* A reload that failed after taking descriptors over: they go back. */
static void give_back_listeners(struct gen *cur, struct gen *ng)
{
    for (size_t i = 0; i < ng->ls.n; i++)
        for (size_t k = 0; k < cur->ls.n; k++)
            if (cur->ls.v[k].fd == -1 && ng->ls.v[i].unix_socket == cur->ls.v[k].unix_socket) {
                cur->ls.v[k].fd = ng->ls.v[i].fd;
                ng->ls.v[i].fd = -1;
                break;
            }
    close_listeners(&ng->ls);
    gen_free(ng);
}

/* The running generation's workers drain; ng takes its place. */
static void retire_generation(struct master *m, struct gen *ng)
{
    struct gen *cur = &m->g;
    m->old = bx_xrealloc(m->old, (size_t)(m->nold + cur->n) * sizeof *m->old);
    for (int i = 0; i < cur->n; i++) {
        if (cur->w[i].pid > 0) {
            kill(cur->w[i].pid, SIGTERM);
            m->old[m->nold++] = cur->w[i];
        } else {
            give_slot(cur->w[i].stats_slot);
        }
    }
    if (cur->cfg->be.socket && (!ng->cfg->be.socket || strcmp(cur->cfg->be.socket, ng->cfg->be.socket) != 0))
        unlink(cur->cfg->be.socket);
    close_listeners(&cur->ls);
    gen_free(cur);
    *cur = *ng;
    gen_slots(cur);
    be_generation++;
    be_mount_gates_clear(); /* mount numbers are the new generation's */
}

/* HUP: a new generation, or the old one stays when anything is wrong. */
static void reload(struct master *m)
{
    const struct bx_cli *cli = m->cli;
    struct gen *cur = &m->g;
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
        give_back_listeners(cur, &ng);
        return;
    }
    char *old_access = cur->cfg->be.access_log ? bx_xstrdup(cur->cfg->be.access_log) : NULL;
    retire_generation(m, &ng);
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

/* The life pipe: workers watch the read end; when we die (however: kill -9
 * included) the kernel closes the write end, which only we hold, and every
 * worker sees EOF and drains. Unlike PR_SET_PDEATHSIG it does not depend on
 * which thread forked, and it needs no signal in the workers' filter. */
static int life_pipe(struct master *m)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1) {
        bx_log_error("pipe: %s", strerror(errno));
        return -1;
    }
    m->life_r = p[0];
    m->life_w = p[1];
    return 0;
}

/* Everything before the first fork. Returns 0 or -1 (logged). */
static int master_setup(struct master *m, struct bx_config *cfg)
{
    char err[BX_ERRLEN];
    struct bx_backend_conf *be = &cfg->be;
    if ((m->sigfd = bx_signalfd_open(err, sizeof err)) == -1) {
        bx_log_error("%s", err);
        return -1;
    }
    if (life_pipe(m) == -1 || bind_listeners(cfg, &m->g.ls, NULL, NULL) == -1)
        return -1;
    be_stats_init(STATS_SLOTS);
    if (be_crashrec_init(STATS_SLOTS, err, sizeof err) == -1) {
        bx_log_error("%s", err);
        return -1;
    }
    if (bx_access_log_open(be->access_log, err, sizeof err) == -1) {
        bx_log_error("backend.access_log: %s", err);
        return -1;
    }
    bx_sandbox_warn_root(be->user, "backend.user");
    if (bx_sandbox_init() == -1)
        bx_log_warn("confinement: no violation table (%s): a worker killed by seccomp will "
                    "not name the call", strerror(errno));
    if (bx_drop_privileges(be->user, be->group, err, sizeof err) == -1) {
        bx_log_error("backend.user: %s", err);
        return -1;
    }
    /* Module code never runs as root: init() runs after the drop, as on
     * every reload (what needs root, the listeners and the logs, is done). */
    if (load_modules(cfg, &m->g.mods, false) == -1)
        return -1;
    /* After the drop: the directory belongs to the uid the workers run as. */
    if (be_ps_dir_create(err, sizeof err) == -1)
        bx_log_error("%s; pub/sub messages stay within each worker", err);
    gen_slots(&m->g);
    return 0;
}

/* Starts the workers that are due; returns the poll timeout until the next. */
static int spawn_due(struct master *m, uint64_t now)
{
    struct gen *g = &m->g;
    int timeout = 1000;
    for (int i = 0; i < g->n && !m->stopping; i++) {
        if (g->w[i].pid > 0)
            continue;
        if (now >= g->w[i].restart_at_ms) {
            g->w[i].pid = spawn_worker(m, i);
            bx_backoff_started(&g->w[i].backoff, now);
        } else if ((int)(g->w[i].restart_at_ms - now) < timeout) {
            timeout = (int)(g->w[i].restart_at_ms - now);
        }
    }
    return timeout;
}

static void start_stop(struct master *m, int sig)
{
    if (!m->stopping)
        bx_log_notice("%s: stopping", strsignal(sig));
    m->stopping = true;
    m->stop_deadline = bx_now_ms() +
                       (sig == SIGQUIT ? 2000 : (uint64_t)m->g.cfg->be.shutdown_timeout_ms + 2000);
    int to = sig == SIGQUIT ? SIGQUIT : SIGTERM;
    signal_workers(m->g.w, m->g.n, to);
    signal_workers(m->old, m->nold, to);
}

static void handle_signal(struct master *m, int sig)
{
    switch (sig) {
    case SIGCHLD:
        reap(m);
        break;
    case SIGTERM:
    case SIGINT:
    case SIGQUIT:
        start_stop(m, sig);
        break;
    case SIGUSR1:
        bx_log_reopen();
        bx_access_log_reopen();
        signal_workers(m->g.w, m->g.n, SIGUSR1);
        signal_workers(m->old, m->nold, SIGUSR1);
        break;
    case SIGHUP:
        if (!m->stopping)
            reload(m);
        break;
    default:
        break;
    }
}

/* Supervises until a stop has let every worker go. */
static void master_loop(struct master *m)
{
    for (;;) {
        uint64_t now = bx_now_ms();
        int timeout = spawn_due(m, now);
        if (m->stopping) {
            if (reap(m) == 0)
                return;
            if (now >= m->stop_deadline) {
                bx_log_warn("workers did not stop in time; killing them");
                signal_workers(m->g.w, m->g.n, SIGKILL);
                signal_workers(m->old, m->nold, SIGKILL);
                m->stop_deadline = now + 60000;
            }
        }
        struct pollfd pfd = {.fd = m->sigfd, .events = POLLIN};
        if (poll(&pfd, 1, timeout) <= 0)
            continue;
        int sig;
        while ((sig = bx_signalfd_read(m->sigfd)) > 0)
            handle_signal(m, sig);
    }
}

static void master_teardown(struct master *m, bool clean)
{
    if (clean && m->g.cfg->be.socket)
        unlink(m->g.cfg->be.socket);
    be_ps_dir_remove();
    close_listeners(&m->g.ls);
    bx_pidfile_remove(m->pid_file, m->pidfd);
    if (clean)
        bx_log_notice("stopped");
    gen_free(&m->g);
    free(m->old);
    free(m->pid_file);
    if (m->life_w != -1)
        close(m->life_w);
    if (m->life_r != -1)
        close(m->life_r);
}

int be_master_run(const struct bx_cli *cli, struct bx_config *cfg)
{
    struct master m = {.cli = cli, .g = {.cfg = cfg}, .sigfd = -1, .life_r = -1, .life_w = -1};
    struct bx_backend_conf *be = &cfg->be;
    m.pidfd = bx_daemon_start(cli, be->error_log, be->log_level, be->pid_file);
    if (m.pidfd == -1)
        return 1;
    have_lock = m.pidfd >= 0;
    m.pid_file = be->pid_file ? bx_xstrdup(be->pid_file) : NULL;
    if (master_setup(&m, cfg) == -1) {
        master_teardown(&m, false);
        return 1;
    }
    bx_log_notice("started %s with %d workers", PACKAGE_VERSION, m.g.n);
    master_loop(&m);
    master_teardown(&m, true);
    return 0;
}
