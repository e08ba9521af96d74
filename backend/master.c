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
 * and exit (after shutdown_timeout at the latest).
 *
 * USR2 re-executes the binary in place (upgrade.h): same pid, listeners and
 * workers kept; the new image starts a generation and the kept workers hand
 * their WebSocket sessions to it as on a reload.
 *
 * The supervision itself (signals, reaping, the stop and its deadline, the
 * worker table with its back-off, listener reuse) is common/supervise.h and
 * common/listeners.h, shared with the frontend master; what is here is the
 * backend's policy: modules, generations, the life pipe, the crash records. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
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
#include "backend/upgrade.h"
#include "backend/usock.h"
#include "backend/worker.h"
#include "bactrian/module.h"
#include "common/cli.h"
#include "common/cfg.h"
#include "common/daemon.h"
#include "common/listeners.h"
#include "common/log.h"
#include "common/net.h"
#include "common/pidfile.h"
#include "common/proc.h"
#include "common/sandbox.h"
#include "common/supervise.h"
#include "common/upgrade_report.h"
#include "common/xalloc.h"

#define RESPAWN_MIN_UPTIME_MS 2000
#define RESPAWN_MAX_DELAY_MS 10000
#define QUIT_GRACE_MS 2000     /* SIGQUIT: workers get this long before SIGKILL */
#define STOP_EXTRA_MS 2000     /* TERM: shutdown_timeout plus this */
#define KILL_AGAIN_MS 60000    /* a stop still overdue: SIGKILL again after this */
#define TCP_WAIT_MS 1000       /* a port orphans still hold, retried this long */

#define STATS_SLOTS 2048

/* What one generation of workers runs with. */
struct gen {
    struct bx_config *cfg;
    bool cfg_owned;             /* loaded by a reload (else main() owns it) */
    struct be_modset mods;
    struct be_listeners ls;
    struct bx_children w;       /* tag: the worker's stats slot */
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
    struct bx_children old;   /* workers of earlier generations, draining */
    struct bx_sv sv;          /* signals, reaping, the stop */
    int pidfd;
    int life_w;               /* write end of the life pipe: only we hold it */
    int life_r;               /* read end: workers watch it for EOF */
    char *pid_file;
    char exe[PATH_MAX];       /* our binary, for USR2 (upgrade.h) */
    struct be_upgrade_got up; /* what an upgrade passed us */
};

/* The pid file lock proves that no other master runs: then a socket path
 * that still answers belongs to orphans of a dead master and is taken over,
 * and a TCP port they have not let go yet is retried for a moment. */
static bool have_lock;

static bool slot_used[STATS_SLOTS];

/* Out of memory in the master's own tables: as bx_xalloc does, abort. */
static void must(int rc)
{
    if (rc == -1) {
        bx_log_error("out of memory");
        abort();
    }
}

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
    if (i < 0)
        return;
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

/* -t; run by an upgrade's check, it reports the listeners too (upgrade.h). */
int be_master_check(struct bx_config *cfg)
{
    struct be_modset set;
    int report = bx_upgrade_report_fd();
    int rc = load_modules(cfg, &set, true);
    be_modset_free(&set);
    bx_sandbox_warn_root(cfg->be.user, "backend.user");
    if (rc == 0 && report >= 0)
        return be_upgrade_report(cfg, report);
    if (report >= 0)
        close(report);
    return rc;
}

/* The places the running generation's listeners are bound at (ls and the
 * configuration they came from: the Unix socket first, then backend.listen
 * in order), for listeners.h to reuse. *n: how many; NULL when none. */
static struct bx_lheld *held_view(const struct be_listeners *ls, const struct bx_backend_conf *be,
                                  size_t *n)
{
    *n = 0;
    if (!ls || !be || !ls->n)
        return NULL;
    struct bx_lheld *h = bx_xcalloc(ls->n, sizeof *h);
    size_t tcp = 0;
    for (size_t i = 0; i < ls->n; i++) {
        h[i].fd = ls->v[i].fd;
        if (ls->v[i].unix_socket) {
            h[i].at.path = be->socket;
        } else if (tcp < be->nlisten) {
            h[i].at.addr = be->listen[tcp].address;
            h[i].at.port = be->listen[tcp].port;
            tcp++;
        } else {
            h[i].fd = -1; /* cannot happen: one per backend.listen entry */
        }
    }
    *n = ls->n;
    return h;
}

/* The Unix socket: the running one when its path did not change (its mode
 * is applied again), else bound anew (usock.h, as an upgrade does). */
static int open_unix(struct bx_backend_conf *be, const struct bx_lheld *held, size_t nheld,
                     struct be_listener *out)
{
    char err[BX_ERRLEN * 2];
    struct be_usock s = {be->socket, be->socket_mode, be->socket_owner, be->socket_group};
    bool reused;
    int fd = be_usock_open(&s, held, nheld, have_lock, &reused, err, sizeof err);
    if (fd == -1) {
        bx_log_error("%s", err);
        return -1;
    }
    *out = (struct be_listener){.fd = fd,
                                .unix_socket = true,
                                .proxy_protocol = be->socket_proxy_protocol};
    return 0;
}

/* The listeners of cfg into ls, reusing by place those held (of the running
 * generation, or of the image before an upgrade; none at a plain start). On
 * failure what was opened stays in ls for the caller to close; the running
 * one is untouched. */
static int bind_listeners(struct bx_config *cfg, struct be_listeners *ls,
                          const struct bx_lheld *held, size_t nheld)
{
    char err[BX_ERRLEN];
    struct bx_backend_conf *be = &cfg->be;
    /* The lock proves no other master runs: a port orphans hold is theirs to let go. */
    struct bx_lbind how = {.backlog = 1024, .wait_ms = have_lock ? TCP_WAIT_MS : 0, .step_ms = 20};
    int rc = 0;
    ls->n = 0;
    ls->v = bx_xcalloc(be->nlisten + 1, sizeof *ls->v);
    if (be->socket && open_unix(be, held, nheld, &ls->v[ls->n]) == 0)
        ls->n++;
    else if (be->socket)
        rc = -1;
    for (size_t i = 0; i < be->nlisten && rc == 0; i++) {
        struct bx_backend_listen *l = &be->listen[i];
        struct bx_lplace at = {.addr = l->address, .port = l->port};
        bool reused;
        int fd = bx_listener_open(held, nheld, &at, &how, &reused, err, sizeof err);
        if (fd == -1) {
            bx_log_error("backend.listen.[%zu]: %s", i, err);
            rc = -1;
            break;
        }
        ls->v[ls->n++] = (struct be_listener){.fd = fd,
                                              .proxy_protocol = l->proxy_protocol,
                                              .proxy_from = l->proxy_from.v,
                                              .nproxy_from = l->proxy_from.n};
    }
    return rc;
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
    bx_children_free(&g->w);
    free(g->health);
    memset(g, 0, sizeof *g);
}

/* bx_children_spawn_due's spawn: worker i of the running generation. */
static pid_t spawn_worker(void *ctx, size_t i)
{
    struct master *m = ctx;
    struct gen *g = &m->g;
    int index = (int)i;
    be_stats_claim(g->w.v[i].tag, index, 0);
    pid_t pid = fork();
    if (pid == -1) {
        bx_log_error("cannot fork worker %d: %s", index, strerror(errno));
        return -1;
    }
    if (pid == 0) {
        /* first: a worker holding the write end would never see our death */
        close(m->life_w);
        bx_sv_close(&m->sv);
        bx_signals_reset();
        _exit(be_worker_run(g->cfg, &g->ls, &g->mods, index, g->w.v[i].tag, m->life_r));
    }
    be_stats_claim(g->w.v[i].tag, index, pid);
    return pid;
}

static void signal_workers(struct master *m, int sig)
{
    bx_children_signal(&m->g.w, sig);
    bx_children_signal(&m->old, sig);
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
static bool note_crash(struct gen *g, size_t i, pid_t pid, int status)
{
    size_t mount;
    char what[BE_ACT_TEXT + 1];
    char why[96];
    /* a signal, or an exit mid-callback (a sanitizer's report ends in exit(1)) */
    if (!be_activity_take((size_t)g->w.v[i].tag, be_generation, g->mods.n, &mount, what,
                          sizeof what) ||
        status == 0)
        return false;
    const struct be_instance *in = &g->mods.v[mount];
    const struct bx_backend_conf *be = &g->cfg->be;
    bx_log_error("worker %zu (pid %ld) %s in module %s (%s, mount %s) serving %s", i, (long)pid,
                 exit_why(pid, status, why, sizeof why), in->mod->name, in->setting_path, in->path,
                 what);
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
                 "answering 503 on it for %llu ms",
                 in->mod->name, in->setting_path, in->path, be->module_crash_limit,
                 be->module_crash_window_ms, (unsigned long long)period);
    return true;
}

/* An old generation's worker ended: its stats slot is free again. */
static bool reaped_old(struct master *m, pid_t pid, int status)
{
    char why[96];
    long i = bx_children_find(&m->old, pid);
    if (i < 0)
        return false;
    m->old.v[i].pid = 0;
    give_slot(m->old.v[i].tag);
    if (status != 0)
        bx_log_warn("old worker (pid %ld) %s", (long)pid, exit_why(pid, status, why, sizeof why));
    bx_children_compact(&m->old);
    return true;
}

/* A worker of the running generation ended: respawned after its back-off,
 * at once when the crash was a module's (the mount is backed off instead). */
static void reaped_current(struct master *m, pid_t pid, int status)
{
    struct gen *g = &m->g;
    char why[96];
    long li = bx_children_find(&g->w, pid);
    if (li < 0)
        return;
    size_t i = (size_t)li;
    size_t nslots;
    be_stats_table(&nslots)[g->w.v[i].tag].pid = 0;
    uint64_t now = bx_now_ms();
    uint64_t delay = bx_children_ended(&g->w, i, now, RESPAWN_MIN_UPTIME_MS, RESPAWN_MAX_DELAY_MS);
    if (!m->sv.stopping && note_crash(g, i, pid, status)) {
        bx_children_due_now(&g->w, i, now);
        delay = 0;
    }
    if (!m->sv.stopping)
        bx_log(status == 0 ? BX_LOG_NOTICE : BX_LOG_ERROR,
               "worker %zu (pid %ld) %s; restarting in %llu ms", i, (long)pid,
               exit_why(pid, status, why, sizeof why), (unsigned long long)delay);
}

/* bx_sv_reap's exited: any worker, of any generation. */
static void worker_exited(void *ctx, pid_t pid, int status)
{
    struct master *m = ctx;
    be_ps_forget(pid);
    if (!reaped_old(m, pid, status))
        reaped_current(m, pid, status);
}

static size_t workers_alive(const struct master *m)
{
    return bx_children_alive(&m->old) + bx_children_alive(&m->g.w);
}

static void gen_slots(struct gen *g)
{
    must(bx_children_init(&g->w, (size_t)g->cfg->be.workers));
    for (size_t i = 0; i < g->w.n; i++)
        g->w.v[i].tag = take_slot();
    g->health = bx_xcalloc(g->mods.n + 1, sizeof *g->health);
}

static bool access_log_same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The running generation's workers drain; ng takes its place. */
static void retire_generation(struct master *m, struct gen *ng)
{
    struct gen *cur = &m->g;
    bx_children_signal(&cur->w, SIGTERM);
    must(bx_children_adopt(&m->old, &cur->w));
    for (size_t i = 0; i < cur->w.n; i++)
        give_slot(cur->w.v[i].tag);
    if (cur->cfg->be.socket &&
        (!ng->cfg->be.socket || strcmp(cur->cfg->be.socket, ng->cfg->be.socket) != 0))
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
    size_t nheld;
    struct bx_lheld *held = held_view(&cur->ls, &cur->cfg->be, &nheld);
    int bound = load_modules(ng.cfg, &ng.mods, false) == -1
                    ? -1
                    : bind_listeners(ng.cfg, &ng.ls, held, nheld);
    free(held);
    if (bound == -1) {
        bx_log_error("reload failed; still running generation %u", be_generation);
        close_listeners(&ng.ls); /* duplicates and new sockets: ours are untouched */
        gen_free(&ng);
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
    bx_log_notice("reloaded %s: generation %u with %zu workers", cli->config, be_generation,
                  cur->w.n);
}

/* ---- the policy the supervision layer calls (supervise.h) ---------------- */

static void be_reload(void *ctx)
{
    reload(ctx);
}

/* TERM and INT: shutdown_timeout (plus a margin) to drain; QUIT: 2 s. Every
 * stop signal is passed on to every worker, even during a stop. */
static uint64_t be_stop(void *ctx, int sig, bool again)
{
    struct master *m = ctx;
    if (!again)
        bx_log_notice("%s: stopping", strsignal(sig));
    signal_workers(m, sig == SIGQUIT ? SIGQUIT : SIGTERM);
    return sig == SIGQUIT ? QUIT_GRACE_MS
                          : (uint64_t)m->g.cfg->be.shutdown_timeout_ms + STOP_EXTRA_MS;
}

static void be_reopen(void *ctx)
{
    bx_log_reopen();
    bx_access_log_reopen();
    signal_workers(ctx, SIGUSR1);
}

static uint64_t be_overdue(void *ctx, size_t alive)
{
    (void)alive;
    bx_log_warn("workers did not stop in time; killing them");
    signal_workers(ctx, SIGKILL);
    return KILL_AGAIN_MS;
}

/* USR2 (upgrade.h): the new binary is checked with -t, then executed in our
 * place with every worker kept; on any failure we go on as we were. */
static void be_upgrade(void *ctx)
{
    struct master *m = ctx;
    size_t nheld;
    struct bx_lheld *held = held_view(&m->g.ls, &m->g.cfg->be, &nheld);
    struct be_upgrade_from f = {
        .exe = m->exe,
        .cli = m->cli,
        .pidfd = m->pidfd,
        .held = held,
        .nheld = nheld,
        .cur = &m->g.w,
        .old = &m->old,
        .life_r = m->life_r,
        .life_w = m->life_w,
        .generation = be_generation,
        .stats_slots = STATS_SLOTS,
        .replace = have_lock,
    };
    struct bx_upgrade_report rep;
    bx_log_notice("upgrade: checking %s", m->exe);
    if (be_upgrade_check(&f, &rep) == 0)
        be_upgrade_exec(&f, &rep);
    bx_upgrade_report_free(&rep);
    free(held);
}

static const struct bx_sv_ops be_sv_ops = {
    .reload = be_reload,
    .stop = be_stop,
    .reopen = be_reopen,
    .upgrade = be_upgrade,
    .exited = worker_exited,
    .overdue = be_overdue,
};

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

/* After an upgrade: the workers of the image before are an old generation,
 * their stats slots still theirs; TERM makes them hand their sessions to
 * our first generation (forked next), as after a reload. */
static void keep_workers(struct master *m)
{
    struct bx_children *kept = &m->up.kept;
    for (size_t i = 0; i < kept->n; i++)
        if (kept->v[i].tag >= 0)
            slot_used[kept->v[i].tag] = true;
    bx_children_signal(kept, SIGTERM);
    must(bx_children_adopt(&m->old, kept));
    bx_children_free(kept);
}

/* Everything before the first fork. Returns 0 or -1 (logged). */
static int master_setup(struct master *m, struct bx_config *cfg)
{
    char err[BX_ERRLEN];
    struct bx_backend_conf *be = &cfg->be;
    if (bx_sv_open(&m->sv, &be_sv_ops, m, err, sizeof err) == -1) {
        bx_log_error("%s", err);
        return -1;
    }
    /* After an upgrade: the life pipe the old workers watch, and the listeners. */
    m->life_r = m->up.life_r;
    m->life_w = m->up.life_w;
    m->up.life_r = m->up.life_w = -1;
    struct bx_lheld *held = bx_upgrade_held(&m->up.rec);
    int bound = m->life_r == -1 && life_pipe(m) == -1
                    ? -1
                    : bind_listeners(cfg, &m->g.ls, held, m->up.rec.nls);
    free(held);
    if (bound == 0)
        be_upgrade_unlink_gone(&m->up, cfg->be.socket);
    bx_upgrade_close_listeners(&m->up.rec); /* the generation has its duplicates */
    if (bound == -1)
        return -1;
    be_stats_init(STATS_SLOTS);
    if (be_crashrec_init(STATS_SLOTS, err, sizeof err) == -1) {
        bx_log_error("%s", err);
        return -1;
    }
    if (be_upgrade_access_log(&m->up, be->access_log, err, sizeof err) == -1) {
        bx_log_error("backend.access_log: %s", err);
        return -1;
    }
    bx_sandbox_warn_root(be->user, "backend.user");
    if (bx_sandbox_init() == -1)
        bx_log_warn("confinement: no violation table (%s): a worker killed by seccomp will "
                    "not name the call",
                    strerror(errno));
    if (bx_drop_privileges(be->user, be->group, err, sizeof err) == -1) {
        bx_log_error("backend.user: %s", err);
        return -1;
    }
    /* Module code never runs as root: init() runs after the drop, as on
     * every reload (what needs root, the listeners and the logs, is done). */
    if (load_modules(cfg, &m->g.mods, false) == -1)
        return -1;
    /* After the drop: the directory belongs to the uid the workers run as. */
    if (!be_ps_dir_path() && be_ps_dir_create(err, sizeof err) == -1)
        bx_log_error("%s; pub/sub messages stay within each worker", err);
    keep_workers(m);
    gen_slots(&m->g);
    return 0;
}

/* Supervises until a stop has let every worker go. */
static void master_loop(struct master *m)
{
    for (;;) {
        uint64_t now = bx_now_ms();
        int timeout = 1000;
        if (!m->sv.stopping)
            timeout = bx_children_spawn_due(&m->g.w, now, timeout, spawn_worker, m);
        if (m->sv.stopping) {
            bx_sv_reap(&m->sv);
            if (bx_sv_done(&m->sv, workers_alive(m), now))
                return;
        }
        struct pollfd pfd = {.fd = m->sv.sigfd, .events = POLLIN};
        if (poll(&pfd, 1, timeout) > 0)
            bx_sv_signals(&m->sv);
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
    bx_children_free(&m->old);
    bx_sv_close(&m->sv);
    free(m->pid_file);
    be_upgrade_free(&m->up);
    if (m->life_w != -1)
        close(m->life_w);
    if (m->life_r != -1)
        close(m->life_r);
}

int be_master_run(const struct bx_cli *cli, struct bx_config *cfg)
{
    struct master m = {.cli = cli,
                       .g = {.cfg = cfg},
                       .sv = {.sigfd = -1},
                       .life_r = -1,
                       .life_w = -1};
    struct bx_backend_conf *be = &cfg->be;
    int upgraded = be_upgrade_take(&m.up);
    if (upgraded == -1)
        return 1;
    m.pidfd = upgraded ? be_upgrade_resume(&m.up, cli, be->error_log, be->log_level)
                       : bx_daemon_start(cli, be->error_log, be->log_level, be->pid_file);
    if (m.pidfd == -1) {
        be_upgrade_free(&m.up);
        return 1;
    }
    if (upgraded)
        be_upgrade_adopt(&m.up, STATS_SLOTS);
    bx_upgrade_self(m.exe, sizeof m.exe);
    have_lock = m.pidfd >= 0;
    m.pid_file = be->pid_file ? bx_xstrdup(be->pid_file) : NULL;
    if (master_setup(&m, cfg) == -1) {
        master_teardown(&m, false);
        return 1;
    }
    bx_log_notice("%s %s with %zu workers", upgraded ? "upgraded to" : "started", PACKAGE_VERSION,
                  m.g.w.n);
    if (upgraded)
        bx_log_notice("upgrade: pid %d, generation %u, %zu old workers kept", (int)getpid(),
                      be_generation, bx_children_alive(&m.old));
    master_loop(&m);
    master_teardown(&m, true);
    return 0;
}
