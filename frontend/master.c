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
 * waiting room, hand-offs to lean children. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/cfg.h"
#include "common/cli.h"
#include "common/daemon.h"
#include "common/listeners.h"
#include "common/log.h"
#include "common/net.h"
#include "common/pidfile.h"
#include "common/proc.h"
#include "common/sandbox.h"
#include "common/supervise.h"
#include "frontend/access.h"
#include "frontend/child.h"
#include "frontend/keyctl.h"
#include "frontend/keystub.h"
#include "frontend/lean.h"
#include "frontend/lifeline.h"
#include "frontend/pool.h"
#include "frontend/refuse.h"
#include "frontend/waitroom.h"
#include "frontend/master.h"
#include "frontend/scoreboard.h"
#include "frontend/slottab.h"
#include "frontend/ticketkey.h"
#include "frontend/tls.h"
#include "frontend/upgrade.h"

#define LISTEN_BACKLOG 4096
#define STOP_GRACE_MS 10000
#define END_GRACE_MS 5000 /* reload limits: end request to SIGKILL */
#define MAX_GENS 64
#define TAG_SIGNAL 0xffffff01u
#define TAG_NOTIFY 0xffffff02u
#define TAG_HANDOFF 0xffffff03u
#define TAG_WAITROOM 0xffffff04u
#define TAG_POOL 0xffffff05u
/* A child that holds the per-IP admission lock this long (it needs it for
 * microseconds) is killed: meanwhile every per-IP-limited client gets a 503. */
#define IP_LOCK_HOLD_MS 1000
/* ...and seen holding it on this many passes of the loop at least, so that
 * a master that was not scheduled for a second cannot mistake two brief
 * holds by one busy child for one long one. */
#define IP_LOCK_SAMPLES 3

struct master {
    const struct bx_cli *cli;
    struct fe_gen *gen;
    struct fe_scoreboard *sb;
    struct fe_slottab slots;    /* private: who owns which slot */
    struct fe_tickets *tickets;
    struct fe_ticket_secret *secret; /* ticket_secret_file's, or NULL: random keys */
    uint64_t ticket_period;     /* with a secret: the period whose key is current */
    struct fe_pool *pool;       /* backend pool members: table and probes (pool.h) */
    char *sb_file;              /* the scoreboard's file, removed on stop */
    struct bx_sv sv;            /* signals, reaping, the stop (supervise.h) */
    int ep, notify_fd, pidfd;
    int hofd[2];                /* hand-off socket: [0] ours, [1] the children's */
    size_t nchildren;           /* alive, every generation */
    pid_t self;                 /* our pid, for the children's death-signal check */
    struct fe_waitroom *wr;     /* clients not ready to be served (waitroom.h), or NULL */
    int wr_child;               /* the children's end of it, -1: none */
    uint64_t next_wr_tick;
    int reserve_fd;             /* given up at EMFILE to refuse one queued client */
    bool watching;              /* listeners in our epoll: pool exhausted */
    uint64_t next_rotate;
    uint64_t superseded_ms[MAX_GENS]; /* when generation id % MAX_GENS was replaced */
    unsigned next_gen;
    struct {                    /* the per-IP lock's holder, as last seen */
        pid_t pid;
        uint64_t since;
        unsigned seen;
    } lock;
    struct fe_keyctl kc;        /* the key process (keyproc.h) */
    uint64_t kp_restart_ms;     /* when to start it again after it died */
    uint64_t kp_delay_ms;       /* back-off between failed restarts */
    char exe[PATH_MAX];         /* our binary, for USR2 (upgrade.h) */
    struct bx_upgrade up;       /* what an upgrade passed us, until setup took it */
    struct bx_children kept;    /* children of the image before an upgrade
                                   (tag: generation, or FE_UP_KEYPROC) */
};

/* ---- generations -------------------------------------------------------- */

static void gen_free(struct fe_gen *g, bool free_cfg)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->nls; i++)
        if (g->ls[i].fd >= 0)
            close(g->ls[i].fd);
    free(g->ls);
    if (g->accept_ep >= 0)
        close(g->accept_ep);
    fe_tls_free(&g->tls);
    /* The first generation's config belongs to main(), which frees it. */
    if (free_cfg && g->cfg && g->cfg_heap) {
        bx_config_free(g->cfg);
        free(g->cfg);
    }
    free(g);
}

/* At start, a port still held by the children of a master that was just
 * killed is retried for a bounded time: they exit at once on its death
 * (lifeline.h), but "at once" is a few ms of scheduling, and a restart
 * right after the kill should not fail for it. On reload, no wait. */
#define BIND_WAIT_MS 2000

/* The running generation's listeners and their places, for listeners.h:
 * a reload keeps the socket (and its queued clients) of a service that
 * stays. NULL when there is none (at start). */
static struct bx_lheld *held_view(const struct fe_gen *old)
{
    if (!old || !old->nls)
        return NULL;
    struct bx_lheld *h = calloc(old->nls, sizeof *h);
    for (size_t i = 0; h && i < old->nls; i++)
        h[i] = (struct bx_lheld){.fd = old->ls[i].fd,
                                 .at = {.addr = old->ls[i].addr, .port = old->ls[i].port}};
    return h;
}

/* Every service's listeners into g, reused from old by place or bound. */
static int gen_listeners(const struct master *m, struct fe_gen *g, const struct fe_gen *old,
                         char *err, size_t errlen)
{
    const struct bx_frontend_conf *fe = &g->cfg->fe;
    /* At start after an upgrade, the listeners of the image before. */
    struct bx_lheld *held = old ? held_view(old) : bx_upgrade_held(&m->up);
    size_t nheld = old ? old->nls : m->up.nls;
    struct bx_lbind how = {.backlog = LISTEN_BACKLOG, .wait_ms = old ? 0 : BIND_WAIT_MS,
                           .step_ms = 10};
    int rc = nheld && !held ? -1 : 0;
    if (rc == -1)
        snprintf(err, errlen, "out of memory");
    for (size_t i = 0; i < fe->nservices && rc == 0; i++) {
        const struct bx_service *sv = &fe->services[i];
        for (size_t b = 0; b < sv->bind.n && rc == 0; b++) {
            struct fe_listener *l = &g->ls[g->nls];
            char e[BX_ERRLEN];
            bool reused;
            snprintf(l->addr, sizeof l->addr, "%s", sv->bind.v[b]);
            l->port = sv->port;
            l->service = i;
            struct bx_lplace at = {.addr = l->addr, .port = l->port};
            l->fd = bx_listener_open(held, nheld, &at, &how, &reused, e, sizeof e);
            if (l->fd == -1) {
                snprintf(err, errlen, "frontend.services.[%zu]: %s", i, e);
                rc = -1;
            } else {
                g->nls++;
            }
        }
    }
    free(held);
    return rc;
}

/* The oldest generation a child still runs (its keys must stay), or next. */
static unsigned oldest_live(const struct master *m, unsigned next)
{
    unsigned oldest = next;
    for (size_t i = 0; i < m->slots.n; i++)
        if (m->slots.o[i].pid > 0 && m->slots.o[i].generation < oldest)
            oldest = m->slots.o[i].generation;
    for (size_t i = 0; i < m->kept.n; i++)
        if (m->kept.v[i].pid > 0 && m->kept.v[i].tag >= 0 && (unsigned)m->kept.v[i].tag < oldest)
            oldest = (unsigned)m->kept.v[i].tag;
    return oldest;
}

/* The key process loads generation id's keys; the contexts get key stubs. */
static int gen_tls(struct master *m, struct fe_gen *g, unsigned id, char *err, size_t errlen)
{
    const struct bx_config *cfg = g->cfg;
    if (!fe_tls_wanted(cfg))
        return fe_tls_build(&g->tls, cfg, id, NULL, err, errlen);
    EVP_PKEY **pubs = calloc(cfg->nvhosts, sizeof *pubs);
    if (!pubs) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = fe_keyctl_load(&m->kc, cfg, id, oldest_live(m, id), pubs, err, errlen);
    if (rc == 0)
        rc = fe_tls_build(&g->tls, cfg, id, pubs, err, errlen);
    for (size_t i = 0; i < cfg->nvhosts; i++)
        EVP_PKEY_free(pubs[i]);
    free(pubs);
    return rc;
}

/* Whether two vhosts go to the same backends (then Host need not be read). */
static bool same_pool(const struct bx_vhost *a, const struct bx_vhost *b)
{
    if (a->npool != b->npool)
        return false;
    for (size_t k = 0; k < a->npool; k++)
        if (!bx_baddr_equal(&a->pool[k], &b->pool[k]))
            return false;
    return true;
}

static struct fe_gen *gen_build(struct master *m, struct bx_config *cfg, const struct fe_gen *old,
                                unsigned id, char *err, size_t errlen)
{
    const struct bx_frontend_conf *fe = &cfg->fe;
    struct fe_gen *g = calloc(1, sizeof *g);
    size_t n = 0;
    if (!g)
        goto oom;
    g->cfg = cfg;
    g->accept_ep = -1;
    for (size_t i = 0; i < fe->nservices; i++)
        n += fe->services[i].bind.n;
    g->ls = calloc(n ? n : 1, sizeof *g->ls);
    if (!g->ls)
        goto oom;
    if (gen_listeners(m, g, old, err, errlen) == -1)
        goto fail;
    g->accept_ep = epoll_create1(EPOLL_CLOEXEC);
    if (g->accept_ep == -1) {
        snprintf(err, errlen, "epoll_create1: %s", strerror(errno));
        goto fail;
    }
    for (size_t i = 0; i < g->nls; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (epoll_ctl(g->accept_ep, EPOLL_CTL_ADD, g->ls[i].fd, &ev) == -1) {
            snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
            goto fail;
        }
    }
    if (gen_tls(m, g, id, err, errlen) == -1)
        goto fail;
    if (!g->tls.n) {
        const struct bx_vhost *d = bx_config_default_vhost(cfg);
        g->tls.cfg = cfg;
        g->tls.def = d ? (size_t)(d - cfg->vhosts) : 0;
    }
    if (fe->debug_ip)
        g->debug_ok = bx_cidr_parse(fe->debug_ip, &g->debug_net) == 0;
    const struct bx_vhost *dv = &cfg->vhosts[g->tls.def];
    for (size_t i = 0; i < cfg->nvhosts; i++)
        if (!same_pool(&cfg->vhosts[i], dv))
            g->host_sniff = 1;
    return g;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    if (g)
        g->cfg = NULL;
    gen_free(g, false);
    return NULL;
}

/* Idle children of generation g also wait on the waiting room's socket. */
static void gen_attach_waitroom(const struct master *m, struct fe_gen *g, bool on)
{
    if (m->wr_child < 0)
        return;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = FE_WAITROOM_TAG};
    epoll_ctl(g->accept_ep, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, m->wr_child, &ev);
}

/* ---- the pool ------------------------------------------------------------ */

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
        int close_fds[] = {m->sv.sigfd, m->ep, m->pidfd, m->hofd[0], m->kc.ctl, m->kc.own,
                           m->wr ? fe_waitroom_fd(m->wr) : -1, m->reserve_fd};
        struct fe_child_env env = {
            .gen = m->gen, .sb = sb, .slot = s, .slot_index = (size_t)idx,
            .notify_fd = m->notify_fd, .master_pid = m->self,
            .handoff_fd = m->hofd[1], .keyfd = keyfd, .waitroom_fd = m->wr_child,
            .close_fds = close_fds, .nclose = sizeof close_fds / sizeof close_fds[0],
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

/* Asks the idle child in slot i to exit; false when it just took a client
 * (or there is none). */
static bool retire(struct master *m, size_t i)
{
    struct bx_sb_slot *s = fe_sb_slot(m->sb, i);
    pid_t pid = m->slots.o[i].pid;
    if (pid <= 0 || (!fe_slot_cas(s, FE_SLOT_IDLE, FE_SLOT_RETIRING) &&
                     !fe_slot_cas(s, FE_SLOT_STARTING, FE_SLOT_RETIRING)))
        return false;
    kill(pid, SIGTERM);
    return true;
}

static void watch_listeners(struct master *m, bool on)
{
    if (on == m->watching || !m->gen)
        return;
    for (size_t i = 0; i < m->gen->nls; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(m->ep, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, m->gen->ls[i].fd, &ev);
    }
    m->watching = on;
}

static void maintain(struct master *m)
{
    if (m->sv.stopping)
        return;
    const struct bx_frontend_conf *fe = &m->gen->cfg->fe;
    int idle = (int)fe_slottab_idle(&m->slots, m->sb);
    size_t max = (size_t)fe->max_children < m->slots.n ? (size_t)fe->max_children
                                                       : m->slots.n;
    while (idle < fe->min_spare && m->nchildren < max) {
        spawn(m);
        idle++;
    }
    if (idle > fe->max_spare) {
        for (size_t i = 0; i < m->slots.n && idle > fe->max_spare; i++)
            if (m->slots.o[i].generation == m->gen->id && retire(m, i))
                idle--;
    }
    /* Every child busy and no room for more: the master answers the queue. */
    watch_listeners(m, idle <= 0 && m->nchildren >= max);
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
static void refuse_queued(struct master *m, size_t li)
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

/* ---- lean relays (lean.h) ------------------------------------------------ */

/* Forks a lean child for each connection a child offers: into the offering
 * child's slot, which from then on names the lean child. The sender is the
 * pid the kernel vouches for (SCM_CREDENTIALS), and it must own, in our
 * private table, the slot it names: a child cannot hand off into, or take
 * over, another child's slot. */
static void take_handoffs(struct master *m)
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
            int fds[] = {m->sv.sigfd, m->ep, m->pidfd, m->notify_fd, m->hofd[0], m->hofd[1], ackfd,
                         m->gen->accept_ep, m->kc.ctl, m->kc.own, m->wr_child,
                         m->wr ? fe_waitroom_fd(m->wr) : -1, m->reserve_fd};
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
            bx_log_warn("hand-off from child %d declined: fork: %s", (int)sender,
                        strerror(errno));
        }
        fe_handoff_ack(ackfd, pid > 0 ? pid : 0);
    }
}

/* ---- the key process ---------------------------------------------------- */

/* The master's descriptors a key process forked now must not keep. */
static size_t master_fds(const struct master *m, int *out, size_t max)
{
    size_t n = 0;
    int mine[] = {m->sv.sigfd, m->ep, m->pidfd, m->notify_fd, m->hofd[0], m->hofd[1],
                  m->gen ? m->gen->accept_ep : -1,
                  m->sb ? m->sb->lock_fd : -1, /* a restarted key process takes no lock */
                  m->wr_child, m->wr ? fe_waitroom_fd(m->wr) : -1, m->reserve_fd};
    for (size_t i = 0; i < sizeof mine / sizeof mine[0] && n < max; i++)
        out[n++] = mine[i];
    for (size_t i = 0; m->gen && i < m->gen->nls && n < max; i++)
        out[n++] = m->gen->ls[i].fd;
    if (m->pool)
        n += fe_pool_fds(m->pool, out + n, max - n);
    return n;
}

static void key_process_died(struct master *m, int status)
{
    char how[128];
    const char *why = bx_sandbox_describe(m->kc.pid, status, how, sizeof how);
    bx_log_error("key process %d %s; starting a new one", (int)m->kc.pid,
                 why ? why : bx_exit_str(status, how, sizeof how));
    fe_keyctl_gone(&m->kc);
    m->kp_delay_ms = 1000; /* at most one restart a second */
    m->kp_restart_ms = bx_now_ms() + m->kp_delay_ms;
}

/* A new key process with the running generation's keys. Children of older
 * generations fail their next handshake; idle children, whose channel went
 * with the old key process, are replaced. */
static void key_process_restart(struct master *m)
{
    char err[BX_ERRLEN * 2];
    int fds[64];
    size_t n = master_fds(m, fds, 64);
    m->kp_restart_ms = 0;
    EVP_PKEY **pubs = calloc(m->gen->cfg->nvhosts, sizeof *pubs);
    if (!pubs || fe_keyctl_start(&m->kc, m->gen->cfg, fds, n, err, sizeof err) == -1 ||
        fe_keyctl_load(&m->kc, m->gen->cfg, m->gen->id, m->gen->id, pubs, err,
                       sizeof err) == -1 ||
        fe_tls_keys_match(&m->gen->tls, pubs, err, sizeof err) == -1) {
        bx_log_error("key process restart: %s; next try in %llu s", pubs ? err : "out of memory",
                     (unsigned long long)(m->kp_delay_ms / 1000));
        for (size_t i = 0; pubs && i < m->gen->cfg->nvhosts; i++)
            EVP_PKEY_free(pubs[i]);
        free(pubs);
        fe_keyctl_stop(&m->kc); /* one that started but cannot load: gone, reaped */
        m->kp_restart_ms = bx_now_ms() + m->kp_delay_ms;
        m->kp_delay_ms = m->kp_delay_ms * 2 > 60000 ? 60000 : m->kp_delay_ms * 2;
        return;
    }
    for (size_t i = 0; i < m->gen->cfg->nvhosts; i++)
        EVP_PKEY_free(pubs[i]);
    free(pubs);
    for (size_t i = 0; i < m->slots.n; i++)
        retire(m, i);
    bx_log_notice("key process %d started again (generation %u)", (int)m->kc.pid, m->gen->id);
}

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

/* bx_sv_reap's exited: the key process, or a child of the pool. */
static void child_exited(void *ctx, pid_t pid, int status)
{
    struct master *m = ctx;
    if (pid == m->kc.pid) {
        key_process_died(m, status);
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

/* ---- session ticket keys -------------------------------------------------
 * Without a secret file: random keys, a new one every ticket_rotate. With
 * one: the keys of the current and the previous period (ticketkey.h),
 * published when the period changes, checked on every pass of the loop. */

/* A reload runs as frontend.user: say at start when it could not read the
 * file again (reload would then fail, keeping the running configuration). */
static void warn_secret_owner(const struct bx_config *cfg, const struct fe_ticket_secret *s)
{
    uid_t uid;
    gid_t gid;
    char err[BX_ERRLEN];
    if (!cfg->fe.user || geteuid() != 0 ||
        bx_lookup_user(cfg->fe.user, cfg->fe.group, &uid, &gid, err, sizeof err) == -1)
        return;
    if (fe_ticket_secret_owner(s) != (unsigned)uid && uid != 0)
        bx_log_warn("frontend.tls.ticket_secret_file %s is owned by uid %u, not by "
                    "frontend.user '%s': a reload cannot read it again",
                    cfg->fe.tls.ticket_secret_file, fe_ticket_secret_owner(s), cfg->fe.user);
}

/* Makes the keys the new secret (or NULL: random keys) gives, now. */
static int tickets_apply(struct master *m, struct fe_ticket_secret *secret,
                         const struct bx_config *cfg)
{
    if (!secret) {
        if (fe_tickets_rotate(m->tickets) == -1 || fe_tickets_rotate(m->tickets) == -1)
            return -1;
        m->next_rotate = bx_now_ms() + (uint64_t)cfg->fe.tls.ticket_rotate_ms;
    } else {
        uint64_t p = fe_ticket_period(fe_ticket_clock_ms(), cfg->fe.tls.ticket_rotate_ms);
        if (fe_ticket_publish(m->tickets, secret, p) == -1)
            return -1;
        m->ticket_period = p;
    }
    fe_ticket_secret_free(m->secret);
    m->secret = secret;
    return 0;
}

/* At start and on reload: loads the secret file, if any. 0, or -1 logged. */
static int tickets_load(const struct bx_config *cfg, struct fe_ticket_secret **out,
                        const char *what)
{
    char err[BX_ERRLEN * 2];
    *out = NULL;
    if (!cfg->fe.tls.ticket_secret_file)
        return 0;
    *out = fe_ticket_secret_load(cfg->fe.tls.ticket_secret_file, err, sizeof err);
    if (!*out) {
        bx_log_error("%sfrontend.tls.%s", what, err);
        return -1;
    }
    return 0;
}

static void tickets_timer(struct master *m, uint64_t now)
{
    const struct bx_config *cfg = m->gen->cfg;
    if (m->secret) {
        uint64_t p = fe_ticket_period(fe_ticket_clock_ms(), cfg->fe.tls.ticket_rotate_ms);
        if (p != m->ticket_period) {
            if (fe_ticket_publish(m->tickets, m->secret, p) == 0)
                m->ticket_period = p;
            else
                bx_log_error("session ticket keys of period %llu: HKDF failed",
                             (unsigned long long)p);
        }
    } else if (m->gen->tls.n && now >= m->next_rotate) {
        if (fe_tickets_rotate(m->tickets) == -1)
            bx_log_error("session ticket key rotation failed");
        m->next_rotate = now + (uint64_t)cfg->fe.tls.ticket_rotate_ms;
    }
}

/* ---- reload, limits on old generations ---------------------------------- */

static void reload(struct master *m)
{
    char *errors = NULL, err[BX_ERRLEN];
    struct bx_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg || bx_config_load(cfg, m->cli->config, BX_CONF_FRONTEND, &errors) == -1) {
        bx_log_error("reload: configuration has errors, keeping the running one:\n%s",
                     errors ? errors : "out of memory");
        free(errors);
        free(cfg);
        return;
    }
    /* The secret first: a file that cannot be read fails the reload like
     * any other error in the configuration. */
    struct fe_ticket_secret *secret;
    if (tickets_load(cfg, &secret, "reload: keeping the running configuration: ") == -1) {
        bx_config_free(cfg);
        free(cfg);
        return;
    }
    struct fe_gen *g = gen_build(m, cfg, m->gen, m->next_gen, err, sizeof err);
    if (g)
        g->cfg_heap = 1;
    if (!g) {
        bx_log_error("reload: %s; keeping the running configuration", err);
        fe_ticket_secret_free(secret);
        bx_config_free(cfg);
        free(cfg);
        return;
    }
    /* Rotation with the running keys goes on when HKDF fails. */
    if ((secret || m->secret) && tickets_apply(m, secret, cfg) == -1) {
        bx_log_error("reload: cannot make session ticket keys: the running ones stay");
        fe_ticket_secret_free(secret);
    }
    if ((size_t)cfg->fe.max_children > m->slots.n)
        bx_log_warn("reload: max_children %d above the %zu slots made at start; a restart "
                    "applies it", cfg->fe.max_children, m->slots.n);
    watch_listeners(m, false);
    struct fe_gen *old = m->gen;
    g->id = m->next_gen++;
    m->superseded_ms[old->id % MAX_GENS] = bx_now_ms();
    m->gen = g;
    fe_pool_configure(m->pool, &m->sb->hdr->pool, cfg, g->id);
    gen_attach_waitroom(m, g, true);
    gen_attach_waitroom(m, old, false);
    if (m->wr)
        fe_waitroom_regen(m->wr, old, g);
    /* Idle children of the old generation go; busy ones finish their client. */
    for (size_t i = 0; i < m->slots.n; i++)
        if (m->slots.o[i].generation != g->id)
            retire(m, i);
    /* The children carry their own copy of the old generation. */
    gen_free(old, true);
    bx_log_notice("reloaded: generation %u, %zu listeners, %zu vhosts", g->id, g->nls,
                  cfg->nvhosts);
    maintain(m);
}

/* Over the reload limits (both off by default: 0): more than
 * reload_max_generations generations back, or superseded more than
 * reload_max_age ago. */
static bool over_reload_limits(const struct master *m, const struct fe_owner *o, uint64_t now)
{
    const struct bx_frontend_conf *fe = &m->gen->cfg->fe;
    unsigned back = m->gen->id - o->generation;
    uint64_t since = m->superseded_ms[o->generation % MAX_GENS];
    if (fe->reload_max_generations > 0 && back > (unsigned)fe->reload_max_generations)
        return true;
    return fe->reload_max_age_ms > 0 && since && now - since > (uint64_t)fe->reload_max_age_ms;
}

/* A child over the limits is asked to end its client politely (FE_SIG_END:
 * close_notify or FIN, lifeline.h); only one still there END_GRACE_MS later
 * is killed, with its own line. */
static void enforce_old(struct master *m)
{
    uint64_t now = bx_now_ms();
    for (size_t i = 0; i < m->slots.n; i++) {
        struct fe_owner *o = &m->slots.o[i];
        if (o->pid <= 0 || o->generation == m->gen->id)
            continue;
        if (o->end_asked_ms == 0 && over_reload_limits(m, o, now)) {
            bx_log_notice("child %d of generation %u: ending its client (reload limits)",
                          (int)o->pid, o->generation);
            kill(o->pid, FE_SIG_END);
            o->end_asked_ms = now;
        } else if (o->end_asked_ms && now - o->end_asked_ms > END_GRACE_MS && !o->end_killed) {
            bx_log_warn("child %d of generation %u: still there %d ms after the end request: "
                        "killed", (int)o->pid, o->generation, END_GRACE_MS);
            kill(o->pid, SIGKILL);
            o->end_killed = 1;
        }
    }
}

/* A child holding the per-IP lock for over IP_LOCK_HOLD_MS is misbehaving
 * (taken over, or stuck): it is killed, and the kernel frees the lock with
 * it. The holder is who the kernel says holds the lock (F_GETLK), never a
 * pid a child wrote; it has the lock's descriptor, so it is one of our
 * children, and waitid() checks it is still our (unreaped) child, so its
 * pid cannot have been reused. */
static void watch_ip_lock(struct master *m, uint64_t now)
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

static void timers(struct master *m)
{
    uint64_t now = bx_now_ms();
    tickets_timer(m, now);
    if (!m->sv.stopping)
        enforce_old(m);
    if (m->wr && now >= m->next_wr_tick) {
        fe_waitroom_tick(m->wr, m->ep);
        m->next_wr_tick = now + 100;
    }
    if (m->gen->cfg->fe.per_ip_max > 0)
        watch_ip_lock(m, now);
    if (m->kp_restart_ms && now >= m->kp_restart_ms && !m->sv.stopping)
        key_process_restart(m);
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
    watch_listeners(m, false);
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
        retire(m, i);
}

static void fe_reload(void *ctx)
{
    reload(ctx);
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
        .exe = m->exe, .cli = m->cli, .pidfd = m->pidfd, .gen = m->gen, .slots = &m->slots,
        .kc = &m->kc, .sb_file = m->sb_file, .next_gen = m->next_gen,
        .in_child = upgrade_child, .ctx = m,
    };
    bx_log_notice("upgrade: checking %s", m->exe);
    if (fe_upgrade_check(&f) == -1)
        return;
    watch_listeners(m, false);
    for (size_t i = 0; i < m->slots.n; i++)
        retire(m, i);
    fe_keyctl_close_pool(&m->kc); /* channels given to no one: not for the new image */
    fe_upgrade_exec(&f);
    maintain(m);
}

static const struct bx_sv_ops fe_sv_ops = {
    .reload = fe_reload, .stop = fe_stop, .reopen = fe_reopen, .upgrade = fe_upgrade,
    .exited = child_exited, .overdue = fe_overdue,
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
                take_handoffs(m);
            } else if (tag == TAG_WAITROOM) {
                if (!m->sv.stopping)
                    fe_waitroom_receive(m->wr, m->ep, m->gen);
            } else if (tag >= FE_WAITROOM_EP_BASE && tag < TAG_SIGNAL) {
                fe_waitroom_event(m->wr, m->ep, tag, evs[i].events);
            } else if (m->watching && tag < m->gen->nls) {
                refuse_queued(m, tag);
            }
        }
        /* SIGCHLD can coalesce with a burst: reap on every pass. */
        bx_sv_reap(&m->sv);
        maintain(m);
        timers(m);
    }
}

int fe_master_check(struct bx_config *cfg)
{
    struct fe_tls t;
    char err[BX_ERRLEN * 2];
    if (fe_tls_build(&t, cfg, 0, NULL, err, sizeof err) == -1) {
        fprintf(stderr, "%s: %s\n", cfg->path, err);
        return -1;
    }
    fe_tls_free(&t);
    if (cfg->fe.tls.ticket_secret_file) {
        struct fe_ticket_secret *s =
            fe_ticket_secret_load(cfg->fe.tls.ticket_secret_file, err, sizeof err);
        if (!s) {
            fprintf(stderr, "%s: frontend.tls.%s\n", cfg->path, err);
            return -1;
        }
        fe_ticket_secret_free(s);
    }
    bx_sandbox_warn_root(cfg->fe.user, "frontend.user");
    return 0;
}

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

static void unmap_scoreboard(struct master *m)
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
    size_t n = master_fds(m, fds, 16);
    if (fe_keyctl_start(&m->kc, cfg, fds, n, err, sizeof err) == -1) {
        bx_log_error("%s", err);
        return -1;
    }
    bx_log_info("key process %d started", (int)m->kc.pid);
    return 0;
}

static int setup(struct master *m, struct bx_config *cfg)
{
    char err[BX_ERRLEN * 2];
    int sv = bx_sv_open(&m->sv, &fe_sv_ops, m, err, sizeof err);
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
    m->gen = gen_build(m, cfg, NULL, m->next_gen, err, sizeof err);
    bx_upgrade_close_listeners(&m->up); /* the generation has its duplicates */
    if (!m->gen) {
        bx_log_error("%s", err);
        return -1;
    }
    gen_attach_waitroom(m, m->gen, true);
    m->gen->id = m->next_gen++;
    if (map_scoreboard(m, cfg) == -1)
        return -1;
    fe_tls_set_ticket_source(m->tickets);
    fe_tlsrec_prefetch();
    struct fe_ticket_secret *secret;
    if (tickets_load(cfg, &secret, "") == -1)
        return -1;
    if (tickets_apply(m, secret, cfg) == -1) {
        fe_ticket_secret_free(secret);
        bx_log_error("cannot make session ticket keys");
        return -1;
    }
    if (secret) {
        warn_secret_owner(cfg, secret);
        bx_log_info("session ticket keys from frontend.tls.ticket_secret_file %s",
                    cfg->fe.tls.ticket_secret_file);
    }
    bx_sandbox_warn_root(cfg->fe.user, "frontend.user");
    if (bx_sandbox_init() == -1)
        bx_log_warn("confinement: no violation table (%s): a child killed by seccomp will "
                    "not name the call", strerror(errno));
    if (bx_drop_privileges(cfg->fe.user, cfg->fe.group, err, sizeof err) == -1) {
        bx_log_error("frontend.user: %s", err);
        return -1;
    }
    return 0;
}

int fe_master_run(const struct bx_cli *cli, struct bx_config *cfg)
{
    struct master m = {.cli = cli, .sv = {.sigfd = -1}, .ep = -1, .notify_fd = -1, .hofd = {-1, -1},
                       .next_gen = 1, .kc = {.ctl = -1, .own = -1}, .wr_child = -1,
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
    fe_upgrade_self(m.exe, sizeof m.exe);
    int rc = 1;
    /* No fastbins: a child's first larger malloc would otherwise consolidate
     * the master's fastbins, writing (and so copying) its heap pages. */
    mallopt(M_MXFAST, 0);
    if (setup(&m, cfg) == 0) {
        bx_log_notice("%s %s: %zu listeners, %zu vhosts, pool %d..%d of %d",
                      upgraded ? "upgraded to" : "started", PACKAGE_VERSION, m.gen->nls,
                      cfg->nvhosts, fe->min_spare, fe->max_spare, fe->max_children);
        if (upgraded)
            bx_log_notice("upgrade: pid %d, generation %u, %zu children kept", (int)getpid(),
                          m.gen->id, m.nchildren);
        maintain(&m);
        rc = run_loop(&m);
        bx_log_notice("stopped");
    }
    bx_pidfile_remove(pid_file, m.pidfd);
    free(pid_file);
    gen_free(m.gen, true);
    fe_keyctl_stop(&m.kc);
    fe_waitroom_destroy(m.wr);
    unmap_scoreboard(&m);
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
