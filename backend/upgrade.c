/* SPDX-License-Identifier: BSD-2-Clause */
/* The backend master's binary upgrade (upgrade.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backend/pubsub.h"
#include "backend/upgrade.h"
#include "backend/usock.h"
#include "backend/worker.h"
#include "bactrian/module.h"
#include "common/cfg.h"
#include "common/cli.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/upgrade_report.h"

#define CHECK_TIMEOUT_MS 20000 /* -t loads and initialises every module */

/* The worker table's layout: bump the number when struct bm_worker_stats
 * changes meaning without changing size. */
#define TABLES_LAYOUT 1
#define TABLES_ID (((long long)TABLES_LAYOUT << 32) | (long long)sizeof(struct bm_worker_stats))

int be_upgrade_check(const struct be_upgrade_from *f, struct bx_upgrade_report *rep)
{
    char *argv[6], out[1024];
    memset(rep, 0, sizeof *rep);
    if (!f->exe[0]) {
        bx_log_error("upgrade: our binary's path is unknown; still running %s", PACKAGE_VERSION);
        return -1;
    }
    bx_upgrade_argv(f->exe, f->cli, true, argv);
    if (bx_upgrade_check_report(argv, NULL, NULL, CHECK_TIMEOUT_MS, out, sizeof out, rep) == -1) {
        bx_log_error("upgrade: %s -t -c %s failed (%s); still running %s", f->exe, f->cli->config,
                     out, PACKAGE_VERSION);
        bx_upgrade_report_free(rep);
        return -1;
    }
    if (!rep->present)
        bx_log_warn("upgrade: %s wrote no check report (an older binary?): new listeners are "
                    "bound after the execve",
                    f->exe);
    return 0;
}

int be_upgrade_report(const struct bx_config *cfg, int fd)
{
    const struct bx_backend_conf *be = &cfg->be;
    struct bx_buf b = BX_BUF_INIT;
    int rc = be->socket ? bx_upgrade_report_listener(&b, &(struct bx_lplace){.path = be->socket})
                        : 0;
    /* "" is unset, as bx_lookup_user reads it */
    struct bx_upgrade_usock us = {be->socket, be->socket_mode,
                                  be->socket_owner && *be->socket_owner ? be->socket_owner : NULL,
                                  be->socket_group && *be->socket_group ? be->socket_group : NULL};
    if (be->socket && rc == 0)
        rc = bx_upgrade_report_usock(&b, &us);
    for (size_t i = 0; i < be->nlisten && rc == 0; i++)
        rc = bx_upgrade_report_listener(&b, &(struct bx_lplace){.addr = be->listen[i].address,
                                                                .port = be->listen[i].port});
    if (rc == -1) {
        fprintf(stderr,
                "%s: a listener's address or path, or backend.socket_owner/socket_group, cannot be "
                "reported to the running master\n",
                cfg->path);
        close(fd);
    } else if ((rc = bx_upgrade_report_write(fd, &b)) == -1) {
        fprintf(stderr, "%s: cannot write the upgrade check's report: %s\n", cfg->path,
                strerror(errno));
    }
    bx_buf_free(&b);
    return rc;
}

static int add_workers(struct bx_upgrade *u, const struct bx_children *t)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].pid > 0 && bx_upgrade_add_child(u, t->v[i].pid, t->v[i].tag) == -1)
            return -1;
    return 0;
}

/* The record: pid file, listeners, workers, generation, shared state. */
static int build(const struct be_upgrade_from *f, struct bx_upgrade *u, int psdir)
{
    u->pidfd = f->pidfd;
    for (size_t i = 0; i < f->nheld; i++)
        if (f->held[i].fd >= 0 && bx_upgrade_add_listener(u, f->held[i].fd, &f->held[i].at) == -1)
            return -1;
    if (add_workers(u, f->cur) == -1 || add_workers(u, f->old) == -1)
        return -1;
    int rc = bx_upgrade_set(u, "gen", (long long)f->generation);
    rc |= bx_upgrade_set(u, "slots", (long long)f->stats_slots);
    rc |= bx_upgrade_set(u, "tables", TABLES_ID);
    rc |= bx_upgrade_set_fd(u, "stats", be_stats_fd());
    rc |= bx_upgrade_set_fd(u, "life.r", f->life_r);
    rc |= bx_upgrade_set_fd(u, "life.w", f->life_w);
    rc |= bx_upgrade_set_fd(u, "psdir", psdir);
    rc |= bx_upgrade_set_fd(u, "log.error", bx_log_file_fd());
    rc |= bx_upgrade_set_fd(u, "log.access", bx_access_log_fd());
    return rc ? -1 : 0;
}

/* Every Unix socket of rep we do not hold, made now as a reload would make
 * it (usock.h: its mode, owner and group) and added to u, opened: the new
 * image, which may run without root, then finds it held. 0, or -1 with err
 * (what was made for u removed again). */
static int open_new_sockets(const struct be_upgrade_from *f, struct bx_upgrade *u,
                            const struct bx_upgrade_report *rep, char *err, size_t errlen)
{
    for (size_t i = 0; i < rep->nus; i++) {
        const struct bx_upgrade_usock *us = &rep->us[i];
        struct bx_lplace at = {.path = us->path};
        if (bx_lheld_find(f->held, f->nheld, &at) >= 0)
            continue; /* the new image reuses it: its mode is applied again */
        struct be_usock s = {us->path, us->mode, us->owner, us->group};
        bool reused;
        int fd = be_usock_open(&s, NULL, 0, f->replace, &reused, err, errlen);
        if (fd == -1 || bx_upgrade_add_opened(u, fd, &at) == -1) {
            if (fd != -1)
                snprintf(err, errlen, "out of memory");
            bx_upgrade_close_opened(u);
            return -1;
        }
    }
    return 0;
}

void be_upgrade_exec(const struct be_upgrade_from *f, const struct bx_upgrade_report *rep)
{
    struct bx_upgrade u;
    char *argv[6], err[BX_ERRLEN * 2];
    struct bx_lbind how = {.backlog = BE_UP_BACKLOG};
    const char *dir = be_ps_dir_path();
    int psdir = dir ? open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
    bx_upgrade_init(&u);
    if (build(f, &u, psdir) == -1) {
        bx_log_error("upgrade: cannot make the record (out of memory?); still running %s",
                     PACKAGE_VERSION);
    } else if (rep->present &&
               (open_new_sockets(f, &u, rep, err, sizeof err) == -1 ||
                bx_upgrade_add_new_listeners(&u, rep, &how, err, sizeof err) == -1)) {
        bx_log_error("upgrade: %s; still running %s", err, PACKAGE_VERSION);
    } else {
        bx_upgrade_argv(f->exe, f->cli, false, argv);
        bx_log_notice("upgrade: executing %s (pid %d stays; %zu listeners, %zu workers kept)",
                      f->exe, (int)getpid(), u.nls, u.kids.n);
        bx_upgrade_exec(&u, argv, err, sizeof err);
        bx_log_error("upgrade: %s; still running %s", err, PACKAGE_VERSION);
        bx_upgrade_close_opened(&u);
    }
    if (psdir >= 0)
        close(psdir);
    bx_upgrade_free(&u);
}

/* ---- the new image ------------------------------------------------------- */

int be_upgrade_take(struct be_upgrade_got *got)
{
    char err[BX_ERRLEN];
    memset(got, 0, sizeof *got);
    got->life_r = got->life_w = got->log_fd = got->access_fd = -1;
    int rc = bx_upgrade_take(&got->rec, err, sizeof err);
    if (rc == -1) {
        fprintf(stderr, "bactrian-backend: upgrade: %s\n", err);
        return -1;
    }
    if (rc == 0)
        return 0;
    got->kept = got->rec.kids;
    got->rec.kids = (struct bx_children){0};
    got->log_fd = bx_upgrade_get_fd(&got->rec, "log.error");
    got->access_fd = bx_upgrade_get_fd(&got->rec, "log.access");
    got->life_r = bx_upgrade_get_fd(&got->rec, "life.r");
    got->life_w = bx_upgrade_get_fd(&got->rec, "life.w");
    if (got->life_r < 0 || got->life_w < 0) { /* both or none */
        if (got->life_r >= 0)
            close(got->life_r);
        if (got->life_w >= 0)
            close(got->life_w);
        got->life_r = got->life_w = -1;
    }
    return 1;
}

/* The worker table of the image before, when it has our layout. */
static bool adopt_tables(struct be_upgrade_got *got, size_t slots)
{
    int fd = bx_upgrade_get_fd(&got->rec, "stats");
    long long id = bx_upgrade_get(&got->rec, "tables", 0);
    long long had = bx_upgrade_get(&got->rec, "slots", 0);
    if (fd >= 0 && id == TABLES_ID && had == (long long)slots && be_stats_adopt(fd, slots) == 0)
        return true;
    if (fd >= 0)
        close(fd);
    bx_log_warn("upgrade: the worker table of the image before is not of this binary's "
                "layout; its workers' WebSocket sessions will drain, not move");
    return false;
}

void be_upgrade_adopt(struct be_upgrade_got *got, size_t stats_slots)
{
    char err[BX_ERRLEN];
    long long gen = bx_upgrade_get(&got->rec, "gen", 0);
    if (gen >= 1 && gen < INT_MAX - 1)
        be_generation = (unsigned)gen + 1;
    got->tables = adopt_tables(got, stats_slots);
    for (size_t i = 0; i < got->kept.n; i++)
        if (!got->tables || got->kept.v[i].tag < 0 || (size_t)got->kept.v[i].tag >= stats_slots)
            got->kept.v[i].tag = -1; /* a slot of no table of ours */
    int dirfd = bx_upgrade_get_fd(&got->rec, "psdir");
    if (dirfd >= 0 && be_ps_dir_adopt(dirfd, err, sizeof err) == -1)
        bx_log_error("upgrade: %s; a new one is made", err);
    if (dirfd >= 0)
        close(dirfd);
}

/* The error log of the image before is taken over by bx_daemon_resume. */
int be_upgrade_resume(struct be_upgrade_got *got, const struct bx_cli *cli, const char *error_log,
                      int log_level)
{
    int fd = got->log_fd;
    got->log_fd = -1;
    return bx_daemon_resume(cli, error_log, log_level, got->rec.pidfd, fd);
}

int be_upgrade_access_log(struct be_upgrade_got *got, const char *path, char *err, size_t errlen)
{
    int fd = got->access_fd;
    got->access_fd = -1;
    if (bx_access_log_adopt(path, fd) == 0)
        return 0;
    if (fd >= 0)
        close(fd);
    return bx_access_log_open(path, err, errlen);
}

void be_upgrade_unlink_gone(const struct be_upgrade_got *got, const char *socket)
{
    for (size_t i = 0; i < got->rec.nls; i++) {
        const struct bx_upgrade_listener *l = &got->rec.ls[i];
        if (l->unix_socket && (!socket || strcmp(l->path, socket) != 0))
            unlink(l->path);
    }
}

void be_upgrade_free(struct be_upgrade_got *got)
{
    if (got->log_fd >= 0)
        close(got->log_fd);
    if (got->access_fd >= 0)
        close(got->access_fd);
    got->log_fd = got->access_fd = -1;
    bx_children_free(&got->kept);
    bx_upgrade_free(&got->rec);
}
