/* SPDX-License-Identifier: BSD-2-Clause */
/* What the frontend master makes before its loop and frees after it: the
 * supervision layer's signalfd, its epoll and eventfd, the hand-off
 * socket, the key process (before any key is read and before the privilege
 * drop), the waiting room, the first generation, the scoreboard with the
 * slot table and the backend pool, and the session ticket keys. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cfg.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/proc.h"
#include "common/sandbox.h"
#include "frontend/access.h"
#include "frontend/child.h"
#include "frontend/keyctl.h"
#include "frontend/master_int.h"
#include "frontend/pool.h"
#include "frontend/refuse.h"
#include "frontend/scoreboard.h"
#include "frontend/shm.h"
#include "frontend/ticketkey.h"
#include "frontend/tls.h"
#include "frontend/tlsrec.h"
#include "frontend/upgrade.h"
#include "frontend/waitroom.h"

/* The scoreboard, in a file when frontend.scoreboard_file is set (for the
 * backend's status module), and the ticket keys, never in that file. */
static int map_scoreboard(struct master *m, const struct bx_config *cfg)
{
    /* Room for old generations still finishing after reloads. */
    size_t n = (size_t)cfg->fe.max_children + (size_t)cfg->fe.max_spare;
    const char *path = cfg->fe.scoreboard_file;
    if (path) {
        uid_t uid;
        gid_t gid;
        char err[BX_ERRLEN];
        if (bx_lookup_user(cfg->fe.user, cfg->fe.group, &uid, &gid, err, sizeof err) == -1) {
            bx_log_error("frontend.user: %s", err);
            return -1;
        }
        m->sb = fe_scoreboard_create_file(n, path, uid, gid);
        m->sb_file = m->sb ? strdup(path) : NULL;
    } else {
        m->sb = fe_scoreboard_create(n);
    }
    if (!m->sb) {
        bx_log_error("cannot map the scoreboard%s%s: %s", path ? " " : "", path ? path : "",
                     strerror(errno));
        return -1;
    }
    if (fe_slottab_init(&m->slots, n) == -1) {
        bx_log_error("out of memory for %zu slots", n);
        return -1;
    }
    m->pool = fe_pool_create(n);
    if (!m->pool) {
        bx_log_error("out of memory for the backend pool");
        return -1;
    }
    fe_pool_configure(m->pool, &m->sb->hdr->pool, cfg, m->gen->id);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = TAG_POOL};
    epoll_ctl(m->ep, EPOLL_CTL_ADD, fe_pool_fd(m->pool), &ev);
    m->tickets = fe_tickets_create();
    if (!m->tickets) {
        bx_log_error("cannot map the ticket keys: %s", strerror(errno));
        return -1;
    }
    if (!fe_shm_can_seal())
        bx_log_warn("this kernel has no mseal (Linux 6.10): a child could mremap its own "
                    "scoreboard slot over the next ones unless seccomp forbids mremap");
    return 0;
}

void fe_master_unmap_scoreboard(struct master *m)
{
    if (m->sb_file && unlink(m->sb_file) == -1 && errno != ENOENT)
        bx_log_warn("cannot remove the scoreboard file %s: %s", m->sb_file, strerror(errno));
    free(m->sb_file);
    fe_scoreboard_destroy(m->sb);
    fe_slottab_free(&m->slots);
    fe_tickets_destroy(m->tickets);
    fe_ticket_secret_free(m->secret);
    fe_pool_destroy(m->pool);
}

/* The waiting room (waitroom.h); without one (no descriptors to spare)
 * children serve slow clients themselves, as before. */
static void setup_waitroom(struct master *m)
{
    m->wr = fe_waitroom_create(&m->wr_child);
    if (!m->wr) {
        m->wr_child = -1;
        bx_log_warn("no waiting room for slow clients (RLIMIT_NOFILE too low, or out of "
                    "memory): each holds a child until its timeout");
        return;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = TAG_WAITROOM};
    epoll_ctl(m->ep, EPOLL_CTL_ADD, fe_waitroom_fd(m->wr), &ev);
}

/* Before anything reads a key and before the privilege drop: the key
 * process is the only one that ever loads one. */
static int setup_key_process(struct master *m, const struct bx_config *cfg)
{
    char err[BX_ERRLEN * 2];
    if (fe_upgrade_adopt_keyproc(&m->up, &m->kept, &m->kc, fe_tls_wanted(cfg))) {
        bx_log_info("key process %d kept across the upgrade", (int)m->kc.pid);
        return 0;
    }
    if (!fe_tls_wanted(cfg))
        return 0;
    int fds[16];
    size_t n = fe_master_fds(m, fds, 16);
    if (fe_keyctl_start(&m->kc, cfg, fds, n, err, sizeof err) == -1) {
        bx_log_error("%s", err);
        return -1;
    }
    bx_log_info("key process %d started", (int)m->kc.pid);
    return 0;
}

int fe_master_setup(struct master *m, struct bx_config *cfg, const struct bx_sv_ops *ops)
{
    char err[BX_ERRLEN * 2];
    int sv = bx_sv_open(&m->sv, ops, m, err, sizeof err);
    m->ep = epoll_create1(EPOLL_CLOEXEC);
    m->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (sv == -1 || m->ep == -1 || m->notify_fd == -1) {
        bx_log_error("setup: %s", sv == -1 ? err : strerror(errno));
        return -1;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = TAG_SIGNAL};
    epoll_ctl(m->ep, EPOLL_CTL_ADD, m->sv.sigfd, &ev);
    ev.data.u32 = TAG_NOTIFY;
    epoll_ctl(m->ep, EPOLL_CTL_ADD, m->notify_fd, &ev);
    int on = 1;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, m->hofd) == -1 ||
        setsockopt(m->hofd[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof on) == -1) {
        bx_log_error("setup: hand-off socket: %s", strerror(errno));
        return -1;
    }
    ev.data.u32 = TAG_HANDOFF;
    epoll_ctl(m->ep, EPOLL_CTL_ADD, m->hofd[0], &ev);
    if (setup_key_process(m, cfg) == -1)
        return -1;
    fe_access_init();
    fe_refuse_init();
    setup_waitroom(m);
    m->reserve_fd = fcntl(m->notify_fd, F_DUPFD_CLOEXEC, 0);
    m->gen = fe_master_gen_build(m, cfg, NULL, m->next_gen, err, sizeof err);
    bx_upgrade_close_listeners(&m->up); /* the generation has its duplicates */
    if (!m->gen) {
        bx_log_error("%s", err);
        return -1;
    }
    fe_master_gen_attach_waitroom(m, m->gen, true);
    m->gen->id = m->next_gen++;
    if (map_scoreboard(m, cfg) == -1)
        return -1;
    fe_tls_set_ticket_source(m->tickets);
    fe_tlsrec_prefetch();
    struct fe_ticket_secret *secret;
    if (fe_master_tickets_load(cfg, &secret, "") == -1)
        return -1;
    if (fe_master_tickets_apply(m, secret, cfg) == -1) {
        fe_ticket_secret_free(secret);
        bx_log_error("cannot make session ticket keys");
        return -1;
    }
    if (secret) {
        fe_master_warn_secret_owner(cfg, secret);
        bx_log_info("session ticket keys from frontend.tls.ticket_secret_file %s",
                    cfg->fe.tls.ticket_secret_file);
    }
    bx_sandbox_warn_root(cfg->fe.user, "frontend.user");
    if (bx_sandbox_init() == -1)
        bx_log_warn("confinement: no violation table (%s): a child killed by seccomp will "
                    "not name the call",
                    strerror(errno));
    if (bx_drop_privileges(cfg->fe.user, cfg->fe.group, err, sizeof err) == -1) {
        bx_log_error("frontend.user: %s", err);
        return -1;
    }
    return 0;
}
