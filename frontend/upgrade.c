/* SPDX-License-Identifier: BSD-2-Clause */
/* The frontend master's binary upgrade (upgrade.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cli.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/upgrade_report.h"
#include "frontend/child.h"
#include "frontend/keyctl.h"
#include "frontend/keystub.h"
#include "frontend/slottab.h"
#include "frontend/upcheck.h"
#include "frontend/upgrade.h"

#define CHECK_TIMEOUT_MS 10000 /* -t reads the file and the certificates: well under a second */

/* The new image makes frontend.scoreboard_file anew (a temporary file in
 * its directory renamed over it: the old children keep the old one), as the
 * user we are now; the -t check does not make it. A directory we cannot
 * write would make the new image fail after the execve, when nothing can be
 * undone: refuse here. 0, or -1 (logged). */
static int scoreboard_dir_ok(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = path ? strrchr(path, '/') : NULL;
    if (!path)
        return 0;
    size_t n = slash ? (size_t)(slash - path) : 0;
    if (n >= sizeof dir) {
        bx_log_error("upgrade: frontend.scoreboard_file %s: path too long; still running %s", path,
                     PACKAGE_VERSION);
        return -1;
    }
    if (slash) {
        memcpy(dir, path, n ? n : 1); /* "/scoreboard": the root directory */
        dir[n ? n : 1] = '\0';
    } else {
        memcpy(dir, ".", 2);
    }
    if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) == 0)
        return 0;
    bx_log_error("upgrade: the new image could not make frontend.scoreboard_file %s anew: "
                 "directory %s: %s for uid %d (make it writable by frontend.user); "
                 "still running %s",
                 path, dir, strerror(errno), (int)geteuid(), PACKAGE_VERSION);
    return -1;
}

int fe_upgrade_check(const struct fe_upgrade_from *f, struct bx_upgrade_report *rep)
{
    char *argv[6], out[1024];
    memset(rep, 0, sizeof *rep);
    if (scoreboard_dir_ok(f->sb_file) == -1)
        return -1;
    if (!f->exe[0]) {
        bx_log_error("upgrade: our binary's path is unknown; still running %s", PACKAGE_VERSION);
        return -1;
    }
    bx_upgrade_argv(f->exe, f->cli, true, argv);
    if (bx_upgrade_check_report(argv, f->in_child, f->ctx, CHECK_TIMEOUT_MS, out, sizeof out,
                                rep) == -1) {
        bx_log_error("upgrade: %s -t -c %s failed (%s); still running %s", f->exe, f->cli->config,
                     out, PACKAGE_VERSION);
        bx_upgrade_report_free(rep);
        return -1;
    }
    if (!rep->present)
        bx_log_warn("upgrade: %s wrote no check report (an older binary?): its -t run read the "
                    "keys itself, and new listeners are bound after the execve",
                    f->exe);
    return 0;
}

/* The record: the pid file, the running listeners, every child. */
static int build(const struct fe_upgrade_from *f, struct bx_upgrade *u)
{
    u->pidfd = f->pidfd;
    for (size_t i = 0; i < f->gen->nls; i++) {
        const struct fe_listener *l = &f->gen->ls[i];
        struct bx_lplace at = {.addr = l->addr, .port = l->port};
        if (l->fd >= 0 && bx_upgrade_add_listener(u, l->fd, &at) == -1)
            return -1;
    }
    for (size_t i = 0; i < f->slots->n; i++) {
        const struct fe_owner *o = &f->slots->o[i];
        if (o->pid > 0 && bx_upgrade_add_child(u, o->pid, (int)o->generation) == -1)
            return -1;
    }
    /* Children an earlier upgrade kept are ours too: a new image that did not
     * know them would count their exits against its own children. */
    for (size_t i = 0; i < f->kept->n; i++) {
        const struct bx_child *c = &f->kept->v[i];
        if (c->pid > 0 && c->tag != FE_UP_KEYPROC && bx_upgrade_add_child(u, c->pid, c->tag) == -1)
            return -1;
    }
    if (f->kc->pid > 0 && f->kc->ctl >= 0 &&
        (bx_upgrade_add_child(u, f->kc->pid, FE_UP_KEYPROC) == -1 ||
         bx_upgrade_set_fd(u, "kp.ctl", f->kc->ctl) == -1 ||
         bx_upgrade_set_fd(u, "kp.own", f->kc->own) == -1))
        return -1;
    /* A master that dropped root may not open by name the log root made. */
    if (bx_upgrade_set_fd(u, "log.error", bx_log_file_fd()) == -1)
        return -1;
    return bx_upgrade_set(u, "gen", (long long)f->next_gen);
}

int fe_upgrade_prepare(const struct fe_upgrade_from *f, const struct bx_upgrade_report *rep,
                       struct bx_upgrade *u)
{
    char err[BX_ERRLEN * 2];
    struct bx_lbind how = {.backlog = FE_UP_BACKLOG};
    bx_upgrade_init(u);
    /* The generation the new image will load its keys as: pending only. */
    if (rep->present && fe_upcheck_keys(f->kc, rep, f->next_gen, err, sizeof err) == -1) {
        bx_log_error("upgrade: %s; still running %s", err, PACKAGE_VERSION);
        return -1;
    }
    if (build(f, u) == -1) {
        bx_log_error("upgrade: cannot make the record (out of memory?); still running %s",
                     PACKAGE_VERSION);
        bx_upgrade_free(u);
        return -1;
    }
    if (rep->present && bx_upgrade_add_new_listeners(u, rep, &how, err, sizeof err) == -1) {
        bx_log_error("upgrade: %s; still running %s", err, PACKAGE_VERSION);
        bx_upgrade_free(u);
        return -1;
    }
    return 0;
}

void fe_upgrade_exec(const struct fe_upgrade_from *f, struct bx_upgrade *u)
{
    char *argv[6], err[BX_ERRLEN];
    bx_upgrade_argv(f->exe, f->cli, false, argv);
    bx_log_notice("upgrade: executing %s (pid %d stays; %zu listeners, %zu children kept)", f->exe,
                  (int)getpid(), u->nls, u->kids.n);
    bx_upgrade_exec(u, argv, err, sizeof err);
    bx_log_error("upgrade: %s; still running %s", err, PACKAGE_VERSION);
    bx_upgrade_close_opened(u);
    bx_upgrade_free(u);
}

int fe_upgrade_take(struct bx_upgrade *u, struct bx_children *kept, unsigned *next_gen,
                    size_t *nchildren)
{
    char err[BX_ERRLEN];
    int rc = bx_upgrade_take(u, err, sizeof err);
    if (rc == -1) {
        fprintf(stderr, "bactrian-frontend: upgrade: %s\n", err);
        return -1;
    }
    if (rc == 0)
        return 0;
    long long gen = bx_upgrade_get(u, "gen", 1);
    *next_gen = gen >= 1 && gen < INT_MAX ? (unsigned)gen : 1;
    *kept = u->kids;
    u->kids = (struct bx_children){0};
    for (size_t i = 0; i < kept->n; i++)
        *nchildren += kept->v[i].tag != FE_UP_KEYPROC;
    return 1;
}

int fe_upgrade_resume(const struct bx_upgrade *u, const struct bx_cli *cli, const char *error_log,
                      int log_level)
{
    int log_fd = bx_upgrade_get_fd(u, "log.error");
    return bx_daemon_resume(cli, error_log, log_level, u->pidfd, log_fd);
}

bool fe_upgrade_adopt_keyproc(struct bx_upgrade *u, struct bx_children *kept, struct fe_keyctl *kc,
                              bool want)
{
    int ctl = bx_upgrade_get_fd(u, "kp.ctl");
    int own = bx_upgrade_get_fd(u, "kp.own");
    long k = -1;
    for (size_t i = 0; i < kept->n && k < 0; i++)
        if (kept->v[i].tag == FE_UP_KEYPROC)
            k = (long)i;
    if (!want || k < 0 || ctl < 0 || own < 0) {
        if (ctl >= 0)
            close(ctl);
        if (own >= 0)
            close(own);
        return false;
    }
    *kc = (struct fe_keyctl){.pid = kept->v[k].pid, .ctl = ctl, .own = own};
    fe_keystub_set_channel(own);
    kept->v[k].pid = 0;
    bx_children_compact(kept);
    return true;
}
