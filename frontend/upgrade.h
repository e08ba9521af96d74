/* SPDX-License-Identifier: BSD-2-Clause */
/* The frontend master's binary upgrade (USR2), on common/upgrade.h: what
 * goes into the record and what the new image takes from it. Kept: the pid,
 * the pid file's lock, the running generation's listeners (and the clients
 * queued on them), every child (they finish their clients as an old
 * generation does after a reload; idle ones are retired first), the key
 * process (so a master that dropped root still has its keys), the error
 * log's descriptor (such a master may not open by name a log root made),
 * and the generation count (the key process knows generations by number).
 * Made
 * anew: the scoreboard and ticket keys (sealed mappings no process can map
 * writable again, by design: sessions resume no longer, old children keep
 * writing their own copy), the waiting room (its parked clients are
 * closed), the refusal and access counters, the backend pool's member
 * table (it is in the scoreboard: old children see the members' states of
 * the moment of the upgrade, and still fail over by their own checks).
 * What the new image reads by name, as the user the master is now: the
 * configuration, certificates, keys and ticket secret (the -t check reads
 * them first: one it cannot read refuses the upgrade), and the directory of
 * frontend.scoreboard_file, where the scoreboard is made anew (checked
 * before the execve too). */
#ifndef BACTRIAN_FRONTEND_UPGRADE_H
#define BACTRIAN_FRONTEND_UPGRADE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/supervise.h"
#include "common/upgrade.h"

struct bx_cli;
struct fe_gen;
struct fe_keyctl;
struct fe_slottab;

/* The tag of the key process among the children kept. */
#define FE_UP_KEYPROC (-1)

struct fe_upgrade_from {
    const char *exe;                 /* our binary, as resolved at start */
    const struct bx_cli *cli;
    int pidfd;
    const struct fe_gen *gen;        /* the running generation */
    const struct fe_slottab *slots;
    const struct bx_children *kept;  /* children kept by an earlier upgrade */
    struct fe_keyctl *kc;            /* checks the new configuration's keys */
    const char *sb_file;             /* frontend.scoreboard_file, or NULL */
    unsigned next_gen;
    void (*in_child)(void *ctx);     /* for the -t check's fork */
    void *ctx;
};

/* The backlog of a listener the running master binds for the new image. */
#define FE_UP_BACKLOG 4096 /* LISTEN_BACKLOG (master_int.h) */

struct bx_upgrade_report;
/* Runs the new binary with -t on our configuration (its report into rep,
 * which the caller frees), and checks that it could make the scoreboard
 * file anew: 0, or -1 (logged, rep freed). */
int fe_upgrade_check(const struct fe_upgrade_from *f, struct bx_upgrade_report *rep);
/* What the report asks for, before anything changes: the new
 * configuration's keys checked through the kept key process (upcheck.h),
 * and the record u with every listener of the new configuration, held or
 * bound now (a port this master cannot bind, <1024 after the privilege
 * drop, refuses the upgrade). 0, or -1 (logged, u freed). */
int fe_upgrade_prepare(const struct fe_upgrade_from *f, const struct bx_upgrade_report *rep,
                       struct bx_upgrade *u);
/* Executes the new binary with the record u; returns only when that failed
 * (logged), with everything as it was and u freed. */
void fe_upgrade_exec(const struct fe_upgrade_from *f, struct bx_upgrade *u);

/* In the new image, before anything else (upgrade.h of common): 1 when
 * started by an upgrade, with the children kept moved to kept (counted in
 * *nchildren but the key process) and *next_gen set; 0 when not; -1 when
 * the record is unusable (said on stderr: the log is not open yet). */
int fe_upgrade_take(struct bx_upgrade *u, struct bx_children *kept, unsigned *next_gen,
                    size_t *nchildren);
/* bx_daemon_resume (common/daemon.h) with the error log of the image before:
 * the pid file's descriptor, -2 (none) or -1 (said on stderr). */
int fe_upgrade_resume(const struct bx_upgrade *u, const struct bx_cli *cli, const char *error_log,
                      int log_level);
/* The key process of the image before, when it passed one and we want one
 * (want: TLS is configured), becomes kc (it holds the keys; we may have
 * dropped root). True when adopted. One kept but not adopted exits when its
 * control socket, which is closed here, closes. */
bool fe_upgrade_adopt_keyproc(struct bx_upgrade *u, struct bx_children *kept, struct fe_keyctl *kc,
                              bool want);

#endif
