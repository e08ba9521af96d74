/* SPDX-License-Identifier: BSD-2-Clause */
/* The frontend master: binds every service, builds the TLS contexts, keeps a
 * pool of pre-forked children ready in accept and never reads client bytes
 * itself, except to refuse clients with a 503 when max_children are busy.
 *
 * Slot bookkeeping: which pid owns which slot, of which generation, lives
 * in the master's private table (slottab.h); the scoreboard is written by
 * children and the master reads from it only the state each child reports
 * about itself. Spare children are counted from the owned slots whose state
 * is IDLE or STARTING; retiring is a CAS IDLE/STARTING -> RETIRING, so a
 * child that takes a client at that moment keeps it.
 *
 * Signals, reaping, the stop and its deadline, and listener reuse across
 * reloads are the supervision layer both masters share (common/supervise.h,
 * common/listeners.h); what is here is the frontend's policy: the pool and
 * its slots, generations and their TLS contexts, the key process, the
 * waiting room, hand-offs to lean children.
 *
 * This file holds the entry points (master.h), the loop and its timers,
 * and the policy the supervision layer calls (stop, reopen, upgrade); the
 * rest is in master_setup.c, master_gen.c, master_pool.c and master_keys.c,
 * which share struct master through master_int.h. */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "common/cfg.h"
#include "common/cli.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/pidfile.h"
#include "common/proc.h"
#include "common/sandbox.h"
#include "common/supervise.h"
#include "common/upgrade_report.h"
#include "frontend/child.h"
#include "frontend/keyctl.h"
#include "frontend/master.h"
#include "frontend/master_int.h"
#include "frontend/pool.h"
#include "frontend/scoreboard.h"
#include "frontend/ticketkey.h"
#include "frontend/tls.h"
#include "frontend/upcheck.h"
#include "frontend/upgrade.h"
#include "frontend/waitroom.h"

static void timers(struct master *m)
{
    uint64_t now = bx_now_ms();
    fe_master_tickets_timer(m, now);
    if (!m->sv.stopping)
        fe_master_enforce_old(m);
    if (m->wr && now >= m->next_wr_tick) {
        fe_waitroom_tick(m->wr, m->ep);
        m->next_wr_tick = now + 100;
    }
    if (m->gen->cfg->fe.per_ip_max > 0)
        fe_master_watch_ip_lock(m, now);
    if (m->kp_restart_ms && now >= m->kp_restart_ms && !m->sv.stopping)
        fe_master_key_process_restart(m);
    fe_pool_tick(m->pool, m->sb, now); /* also while stopping: it drains the probes' epoll */
}

/* ---- stop, and the policy the supervision layer calls (supervise.h) ---- */

static void kill_all(const struct master *m)
{
    for (size_t i = 0; i < m->slots.n; i++)
        if (m->slots.o[i].pid > 0)
            kill(m->slots.o[i].pid, SIGKILL);
    bx_children_signal(&m->kept, SIGKILL);
}

/* The listeners close at once (a restart can bind them); idle children go,
 * busy ones finish their client, or (now) every child is killed. */
static void begin_stop(struct master *m, bool now)
{
    fe_master_watch_listeners(m, false);
    for (size_t i = 0; i < m->gen->nls; i++) {
        if (m->gen->ls[i].fd >= 0)
            close(m->gen->ls[i].fd);
        m->gen->ls[i].fd = -1;
    }
    if (now) {
        kill_all(m);
        return;
    }
    for (size_t i = 0; i < m->slots.n; i++)
        fe_master_retire(m, i);
}

static void fe_reload(void *ctx)
{
    fe_master_reload(ctx);
}

/* TERM, INT: once; QUIT: every time, and it cuts every client. */
static uint64_t fe_stop(void *ctx, int sig, bool again)
{
    struct master *m = ctx;
    if (sig != SIGQUIT) {
        if (again)
            return 0;
        bx_log_notice("stopping: %zu children finish their clients", m->nchildren);
        begin_stop(m, false);
        return STOP_GRACE_MS;
    }
    bx_log_notice("stopping now");
    begin_stop(m, true);
    return STOP_GRACE_MS;
}

static void fe_reopen(void *ctx)
{
    struct master *m = ctx;
    if (bx_log_reopen() == -1)
        bx_log_error("cannot reopen the error log");
    /* Children serving long clients reopen on their next line. */
    __atomic_add_fetch(&m->sb->hdr->log_seq, 1, __ATOMIC_RELEASE);
}

/* Killed once: a child cannot outlive SIGKILL. */
static uint64_t fe_overdue(void *ctx, size_t alive)
{
    bx_log_warn("%zu children still busy after %d ms: killing them", alive, STOP_GRACE_MS);
    kill_all(ctx);
    return 0;
}

/* The -t check of an upgrade is forked from us: the rules of any fork. */
static void upgrade_child(void *ctx)
{
    struct master *m = ctx;
    fe_keyctl_close_pool(&m->kc);
    fe_pool_forked(m->pool);
    fe_waitroom_forked();
}

/* USR2 (upgrade.h): the new binary is checked, idle children retire as on
 * a reload, and it is executed in our place; on any failure we go on. */
static void fe_upgrade(void *ctx)
{
    struct master *m = ctx;
    struct fe_upgrade_from f = {
        .exe = m->exe,
        .cli = m->cli,
        .pidfd = m->pidfd,
        .gen = m->gen,
        .slots = &m->slots,
        .kept = &m->kept,
        .kc = &m->kc,
        .sb_file = m->sb_file,
        .next_gen = m->next_gen,
        .in_child = upgrade_child,
        .ctx = m,
    };
    struct bx_upgrade_report rep;
    struct bx_upgrade u;
    bx_log_notice("upgrade: checking %s", m->exe);
    if (fe_upgrade_check(&f, &rep) == -1)
        return;
    int rc = fe_upgrade_prepare(&f, &rep, &u);
    bx_upgrade_report_free(&rep);
    if (rc == -1)
        return;
    fe_master_watch_listeners(m, false);
    for (size_t i = 0; i < m->slots.n; i++)
        fe_master_retire(m, i);
    fe_keyctl_close_pool(&m->kc); /* channels given to no one: not for the new image */
    fe_upgrade_exec(&f, &u);
    fe_master_maintain(m);
}

static const struct bx_sv_ops fe_sv_ops = {
    .reload = fe_reload,
    .stop = fe_stop,
    .reopen = fe_reopen,
    .upgrade = fe_upgrade,
    .exited = fe_master_child_exited,
    .overdue = fe_overdue,
};

static int run_loop(struct master *m)
{
    for (;;) {
        if (bx_sv_done(&m->sv, m->nchildren, bx_now_ms()))
            return 0;
        struct epoll_event evs[16];
        int n = epoll_wait(m->ep, evs, 16, 250);
        for (int i = 0; i < n; i++) {
            uint32_t tag = evs[i].data.u32;
            if (tag == TAG_SIGNAL) {
                bx_sv_signals(&m->sv);
            } else if (tag == TAG_NOTIFY) {
                uint64_t v;
                if (read(m->notify_fd, &v, sizeof v) == -1) {
                    /* nothing pending */
                }
            } else if (tag == TAG_POOL) {
                /* finished probes: taken in timers() below */
            } else if (tag == TAG_HANDOFF) {
                fe_master_take_handoffs(m);
            } else if (tag == TAG_WAITROOM) {
                if (!m->sv.stopping)
                    fe_waitroom_receive(m->wr, m->ep, m->gen);
            } else if (tag >= FE_WAITROOM_EP_BASE && tag < TAG_SIGNAL) {
                fe_waitroom_event(m->wr, m->ep, tag, evs[i].events);
            } else if (m->watching && tag < m->gen->nls) {
                fe_master_refuse_queued(m, tag);
            }
        }
        /* SIGCHLD can coalesce with a burst: reap on every pass. */
        bx_sv_reap(&m->sv);
        fe_master_maintain(m);
        timers(m);
    }
}

/* The report an upgrade's check asked for (upcheck.h), fd closed: 0 or -1
 * (said). */
static int check_report(const struct bx_config *cfg, EVP_PKEY **pubs, int fd)
{
    struct bx_buf b = BX_BUF_INIT;
    char err[BX_ERRLEN * 2];
    int rc = fe_upcheck_lines(cfg, pubs, &b, err, sizeof err);
    if (rc == -1) {
        fprintf(stderr, "%s: %s\n", cfg->path, err);
        close(fd);
    } else if ((rc = bx_upgrade_report_write(fd, &b)) == -1)
        fprintf(stderr, "%s: cannot write the upgrade check's report: %s\n", cfg->path,
                strerror(errno));
    bx_buf_free(&b);
    return rc;
}

/* -t. Run by an upgrade's check (a report descriptor given), the private
 * keys are the kept key process's to read, not ours: the contexts are built
 * with each certificate's public key in their place, and the report tells
 * the running master which key files to check and against what. */
int fe_master_check(struct bx_config *cfg)
{
    struct fe_tls t;
    char err[BX_ERRLEN * 2] = "";
    int report = bx_upgrade_report_fd();
    EVP_PKEY **pubs = NULL;
    int rc = -1;
    if (report >= 0 && fe_tls_wanted(cfg) && !(pubs = fe_upcheck_cert_keys(cfg, err, sizeof err)))
        goto out;
    if (fe_tls_build(&t, cfg, 0, pubs, err, sizeof err) == -1)
        goto out;
    fe_tls_free(&t);
    if (cfg->fe.tls.ticket_secret_file) {
        struct fe_ticket_secret *s = fe_ticket_secret_load(cfg->fe.tls.ticket_secret_file, err,
                                                           sizeof err);
        if (!s) {
            fprintf(stderr, "%s: frontend.tls.%s\n", cfg->path, err);
            err[0] = '\0';
            goto out;
        }
        fe_ticket_secret_free(s);
    }
    bx_sandbox_warn_root(cfg->fe.user, "frontend.user");
    rc = report >= 0 ? check_report(cfg, pubs, report) : 0;
    report = -1; /* closed by check_report */
    err[0] = '\0';
out:
    if (rc == -1 && err[0])
        fprintf(stderr, "%s: %s\n", cfg->path, err);
    if (report >= 0)
        close(report);
    fe_upcheck_free_keys(pubs, cfg->nvhosts);
    return rc;
}

int fe_master_run(const struct bx_cli *cli, struct bx_config *cfg)
{
    struct master m = {.cli = cli,
                       .sv = {.sigfd = -1},
                       .ep = -1,
                       .notify_fd = -1,
                       .hofd = {-1, -1},
                       .next_gen = 1,
                       .kc = {.ctl = -1, .own = -1},
                       .wr_child = -1,
                       .reserve_fd = -1};
    struct bx_frontend_conf *fe = &cfg->fe;
    char *pid_file = fe->pid_file ? strdup(fe->pid_file) : NULL;
    int upgraded = fe_upgrade_take(&m.up, &m.kept, &m.next_gen, &m.nchildren);
    if (upgraded == -1)
        return 1;
    m.pidfd = upgraded ? fe_upgrade_resume(&m.up, cli, fe->error_log, fe->log_level)
                       : bx_daemon_start(cli, fe->error_log, fe->log_level, fe->pid_file);
    if (m.pidfd == -1)
        return 1;
    bx_upgrade_self(m.exe, sizeof m.exe);
    int rc = 1;
    /* No fastbins: a child's first larger malloc would otherwise consolidate
     * the master's fastbins, writing (and so copying) its heap pages. */
    mallopt(M_MXFAST, 0);
    if (fe_master_setup(&m, cfg, &fe_sv_ops) == 0) {
        bx_log_notice("%s %s: %zu listeners, %zu vhosts, pool %d..%d of %d",
                      upgraded ? "upgraded to" : "started", PACKAGE_VERSION, m.gen->nls,
                      cfg->nvhosts, fe->min_spare, fe->max_spare, fe->max_children);
        if (upgraded)
            bx_log_notice("upgrade: pid %d, generation %u, %zu children kept", (int)getpid(),
                          m.gen->id, m.nchildren);
        fe_master_maintain(&m);
        rc = run_loop(&m);
        bx_log_notice("stopped");
    }
    bx_pidfile_remove(pid_file, m.pidfd);
    free(pid_file);
    fe_master_gen_free(m.gen, true);
    fe_keyctl_stop(&m.kc);
    fe_waitroom_destroy(m.wr);
    fe_master_unmap_scoreboard(&m);
    bx_children_free(&m.kept);
    bx_upgrade_free(&m.up);
    bx_sv_close(&m.sv);
    if (m.ep >= 0)
        close(m.ep);
    if (m.notify_fd >= 0)
        close(m.notify_fd);
    if (m.reserve_fd >= 0)
        close(m.reserve_fd);
    for (int i = 0; i < 2; i++)
        if (m.hofd[i] >= 0)
            close(m.hofd[i]);
    return rc;
}
