/* SPDX-License-Identifier: BSD-2-Clause */
/* The frontend master's pool of children: spare children forked into free
 * slots and retired by a CAS on their state, the queue refused when every
 * child is busy, lean children forked into the slot of the child that hands
 * them a connection, slots freed when their child is reaped, and the watch
 * on the per-IP admission lock. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/cfg.h"
#include "common/log.h"
#include "common/net.h"
#include "common/proc.h"
#include "common/sandbox.h"
#include "frontend/access.h"
#include "frontend/child.h"
#include "frontend/keyctl.h"
#include "frontend/keystub.h"
#include "frontend/lean.h"
#include "frontend/master_int.h"
#include "frontend/pool.h"
#include "frontend/refuse.h"
#include "frontend/scoreboard.h"
#include "frontend/upgrade.h"
#include "frontend/waitroom.h"

/* In a new child, before anything else (and before any seccomp filter):
 * the scoreboard read-only but for its own slot. A child that cannot have
 * that does not run. (The ticket keys' writable mapping is not inherited.) */
static void child_views(struct master *m, size_t idx)
{
    fe_waitroom_forked(); /* the waiting clients are the master's alone */
    if (fe_scoreboard_child(m->sb, idx) == -1) {
        bx_log_error("child %d: cannot map the scoreboard read-only: %s", (int)getpid(),
                     strerror(errno));
        _exit(1);
    }
}

static void spawn(struct master *m)
{
    struct fe_scoreboard *sb = m->sb;
    long idx = fe_slottab_claim(&m->slots);
    if (idx == -1)
        return;
    struct bx_sb_slot *s = fe_sb_slot(sb, (size_t)idx);
    memset(s, 0, sizeof *s);
    s->generation = m->gen->id;
    s->started_ms = bx_now_ms();
    fe_slot_set(s, FE_SLOT_STARTING);
    /* Its own sign channel: replies for one child never reach another. */
    int keyfd = m->gen->tls.n ? fe_keyctl_channel(&m->kc) : -1;
    m->self = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        fe_keyctl_close_pool(&m->kc); /* later children's channels */
        fe_pool_forked(m->pool);
        child_views(m, (size_t)idx);
        int close_fds[] = {m->sv.sigfd,
                           m->ep,
                           m->pidfd,
                           m->hofd[0],
                           m->kc.ctl,
                           m->kc.own,
                           m->wr ? fe_waitroom_fd(m->wr) : -1,
                           m->reserve_fd};
        struct fe_child_env env = {
            .gen = m->gen,
            .sb = sb,
            .slot = s,
            .slot_index = (size_t)idx,
            .notify_fd = m->notify_fd,
            .master_pid = m->self,
            .handoff_fd = m->hofd[1],
            .keyfd = keyfd,
            .waitroom_fd = m->wr_child,
            .close_fds = close_fds,
            .nclose = sizeof close_fds / sizeof close_fds[0],
        };
        fe_child_main(&env);
    }
    if (keyfd >= 0)
        close(keyfd);
    if (pid == -1) {
        bx_log_error("fork: %s", strerror(errno));
        fe_slot_set(s, FE_SLOT_FREE);
        return;
    }
    m->slots.o[idx] = (struct fe_owner){.pid = pid, .generation = m->gen->id};
    s->pid = pid; /* for the status page only */
    m->nchildren++;
}

bool fe_master_retire(struct master *m, size_t i)
{
    struct bx_sb_slot *s = fe_sb_slot(m->sb, i);
    pid_t pid = m->slots.o[i].pid;
    if (pid <= 0 || (!fe_slot_cas(s, FE_SLOT_IDLE, FE_SLOT_RETIRING) &&
                     !fe_slot_cas(s, FE_SLOT_STARTING, FE_SLOT_RETIRING)))
        return false;
    kill(pid, SIGTERM);
    return true;
}

void fe_master_watch_listeners(struct master *m, bool on)
{
    if (on == m->watching || !m->gen)
        return;
    for (size_t i = 0; i < m->gen->nls; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(m->ep, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, m->gen->ls[i].fd, &ev);
    }
    m->watching = on;
}

void fe_master_maintain(struct master *m)
{
    if (m->sv.stopping)
        return;
    const struct bx_frontend_conf *fe = &m->gen->cfg->fe;
    int idle = (int)fe_slottab_idle(&m->slots, m->sb);
    size_t max = (size_t)fe->max_children < m->slots.n ? (size_t)fe->max_children : m->slots.n;
    while (idle < fe->min_spare && m->nchildren < max) {
        spawn(m);
        idle++;
    }
    if (idle > fe->max_spare) {
        for (size_t i = 0; i < m->slots.n && idle > fe->max_spare; i++)
            if (m->slots.o[i].generation == m->gen->id && fe_master_retire(m, i))
                idle--;
    }
    /* Every child busy and no room for more: the master answers the queue. */
    fe_master_watch_listeners(m, idle <= 0 && m->nchildren >= max);
}

/* One line a second for this class across the frontend (refuse.h). */
static void log_refusal(struct master *m, const struct sockaddr *sa, socklen_t len)
{
    char who[BX_ADDRSTRLEN], line[256];
    bx_sockaddr_str(sa, len, true, who, sizeof who);
    snprintf(line, sizeof line, "client %s: refused, max_children (%d) busy", who,
             m->gen->cfg->fe.max_children);
    fe_refuse_log(FE_REFUSE_MAX_CHILDREN, line);
}

/* Pool exhausted: refuse queued clients at once rather than let them hang:
 * a 503 on plaintext, a TLS alert on TLS (refuse.h). */
void fe_master_refuse_queued(struct master *m, size_t li)
{
    const struct fe_listener *l = &m->gen->ls[li];
    bool tls = m->gen->cfg->fe.services[l->service].tls;
    for (int k = 0; k < 64; k++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd == -1 && (errno == EMFILE || errno == ENFILE) && m->reserve_fd >= 0) {
            /* at the limit: the reserve descriptor lets us tell one client at
             * a time, instead of leaving the listener readable (a busy loop) */
            close(m->reserve_fd);
            fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
            m->reserve_fd = fcntl(m->notify_fd, F_DUPFD_CLOEXEC, 0);
            fe_refuse_log(FE_REFUSE_FD_LIMIT, "master: accept: Too many open files: a queued "
                                              "client refused from the reserve descriptor");
        }
        if (fd == -1)
            return;
        /* a banned peer gets the same silent close as from a child */
        if (!fe_access_peer(&m->gen->cfg->fe.services[l->service], (struct sockaddr *)&ss, sl)) {
            close(fd);
            continue;
        }
        log_refusal(m, (struct sockaddr *)&ss, sl);
        fe_refuse_write(fd, tls);
        close(fd);
    }
}

/* ---- hand-offs to lean relays (lean.h) ----------------------------------- */

/* Forks a lean child for each connection a child offers: into the offering
 * child's slot, which from then on names the lean child. The sender is the
 * pid the kernel vouches for (SCM_CREDENTIALS), and it must own, in our
 * private table, the slot it names: a child cannot hand off into, or take
 * over, another child's slot. */
void fe_master_take_handoffs(struct master *m)
{
    for (int k = 0; k < 64; k++) {
        struct fe_handoff h;
        int cfd, bfd, ackfd;
        pid_t sender;
        int r = fe_handoff_recv(m->hofd[0], &h, &cfd, &bfd, &ackfd, &sender);
        if (r == 0)
            return;
        if (r < 0) {
            bx_log_warn("hand-off: malformed offer ignored");
            continue;
        }
        char why[128];
        long idx = fe_slottab_check_handoff(&m->slots, m->sb, h.slot, sender, why, sizeof why);
        if (idx < 0)
            bx_log_warn("hand-off from pid %d refused: %s", (int)sender, why);
        bool ok = idx >= 0 && !m->sv.stopping;
        pid_t pid = ok ? fork() : -1;
        if (pid == 0) {
            fe_keyctl_close_pool(&m->kc);
            fe_pool_forked(m->pool);
            child_views(m, (size_t)idx);
            int fds[] = {m->sv.sigfd,  m->ep,      m->pidfd,    m->notify_fd,
                         m->hofd[0],   m->hofd[1], ackfd,       m->gen->accept_ep,
                         m->kc.ctl,    m->kc.own,  m->wr_child, m->wr ? fe_waitroom_fd(m->wr) : -1,
                         m->reserve_fd};
            fe_keystub_set_channel(-1);
            for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
                if (fds[i] >= 0)
                    close(fds[i]);
            for (size_t i = 0; i < m->gen->nls; i++)
                close(m->gen->ls[i].fd);
            fe_lean_main(&h, cfd, bfd, m->sb);
        }
        OPENSSL_cleanse(&h, sizeof h);
        close(cfd);
        close(bfd);
        if (pid > 0) {
            m->slots.o[idx].pid = pid; /* same generation: the client's child */
            fe_sb_slot(m->sb, (size_t)idx)->pid = pid;
            m->nchildren++;
        } else if (ok) {
            bx_log_warn("hand-off from child %d declined: fork: %s", (int)sender, strerror(errno));
        }
        fe_handoff_ack(ackfd, pid > 0 ? pid : 0);
    }
}

/* ---- reaping ------------------------------------------------------------ */

/* Slot i's child pid ended: a line unless it exited or was retired, and
 * the slot is free again. The address in the line is what the child wrote. */
static void slot_ended(struct master *m, size_t i, pid_t pid, int status)
{
    struct bx_sb_slot *s = fe_sb_slot(m->sb, i);
    int st = fe_slot_get(s);
    bool normal = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    bool asked = WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM && st == FE_SLOT_RETIRING;
    if (!normal && !asked) {
        char how[128], who[BX_ADDRSTRLEN] = "-";
        if (s->family == AF_INET || s->family == AF_INET6)
            inet_ntop(s->family, s->addr, who, sizeof who);
        const char *why = bx_sandbox_describe(pid, status, how, sizeof how);
        bx_log_warn("child %d (%s, client %s) %s", (int)pid, fe_slot_state_name(st), who,
                    why ? why : bx_exit_str(status, how, sizeof how));
    }
    memset(s, 0, sizeof *s);
    fe_slot_set(s, FE_SLOT_FREE);
    m->slots.o[i] = (struct fe_owner){0};
}

/* A child of the image before an upgrade ended (not in our slots: the
 * scoreboard is new). True when pid was one. */
static bool kept_exited(struct master *m, pid_t pid, int status)
{
    long k = bx_children_find(&m->kept, pid);
    if (k < 0)
        return false;
    bool child = m->kept.v[k].tag != FE_UP_KEYPROC;
    char how[128];
    const char *why = bx_sandbox_describe(pid, status, how, sizeof how);
    if (why || !(WIFEXITED(status) || (WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM)))
        bx_log_warn("%s %d (kept across the upgrade) %s", child ? "child" : "old key process",
                    (int)pid, why ? why : bx_exit_str(status, how, sizeof how));
    m->kept.v[k].pid = 0;
    bx_children_compact(&m->kept);
    if (child)
        m->nchildren--;
    return true;
}

/* bx_sv_reap's exited. */
void fe_master_child_exited(void *ctx, pid_t pid, int status)
{
    struct master *m = ctx;
    if (pid == m->kc.pid) {
        fe_master_key_process_died(m, status);
        return;
    }
    if (kept_exited(m, pid, status))
        return;
    long i = fe_slottab_find(&m->slots, pid);
    /* Not found: a child that handed its connection to a lean one. */
    char how[128];
    if (i >= 0)
        slot_ended(m, (size_t)i, pid, status);
    else if (bx_sandbox_describe(pid, status, how, sizeof how))
        bx_log_warn("child %d %s", (int)pid, how);
    m->nchildren--;
}

/* A child holding the per-IP lock for over IP_LOCK_HOLD_MS is misbehaving
 * (taken over, or stuck): it is killed, and the kernel frees the lock with
 * it. The holder is who the kernel says holds the lock (F_GETLK), never a
 * pid a child wrote; it has the lock's descriptor, so it is one of our
 * children, and waitid() checks it is still our (unreaped) child, so its
 * pid cannot have been reused. */
void fe_master_watch_ip_lock(struct master *m, uint64_t now)
{
    pid_t pid = fe_scoreboard_lock_holder(m->sb);
    if (pid <= 0 || pid != m->lock.pid) {
        m->lock.pid = pid > 0 ? pid : 0;
        m->lock.since = now;
        m->lock.seen = pid > 0;
        return;
    }
    if (++m->lock.seen < IP_LOCK_SAMPLES || now - m->lock.since < IP_LOCK_HOLD_MS)
        return;
    siginfo_t si = {0};
    long slot = fe_slottab_find(&m->slots, pid);
    if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == 0) {
        bx_log_error("child %d (slot %ld) held the per_ip_max lock for over %d ms: killed",
                     (int)pid, slot, IP_LOCK_HOLD_MS);
        kill(pid, SIGKILL);
    } else {
        /* Only processes with the lock's descriptor can hold it: ours. */
        bx_log_error("the per_ip_max lock is held by pid %d, not a child of ours", (int)pid);
    }
    m->lock.pid = 0;
}
