/* SPDX-License-Identifier: BSD-2-Clause */
/* How a frontend child gets its next client: it waits with the other idle
 * children on the generation's shared epoll, closes banned peers itself,
 * parks clients that sent nothing yet in the master's waiting room and
 * takes back those that are ready, and refuses one client from a reserve
 * descriptor at the fd limit. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/cfg.h"
#include "common/net.h"
#include "common/proc.h"
#include "frontend/access.h"
#include "frontend/child_int.h"
#include "frontend/lifeline.h"
#include "frontend/refuse.h"
#include "frontend/waitroom.h"

/* A descriptor kept in reserve for the descriptor limit: given up to
 * accept one client there and tell it 503 (or a TLS alert) at once, instead
 * of leaving every queued client to hang until its timeout. */
static int reserve_fd = -1;

void fe_child_accept_init(const struct fe_child_env *env)
{
    reserve_fd = fcntl(env->notify_fd, F_DUPFD_CLOEXEC, 0);
}

static void refuse_at_fd_limit(const struct fe_child_env *env, const struct fe_listener *l)
{
    int e = errno;
    if (reserve_fd >= 0) {
        close(reserve_fd);
        reserve_fd = -1;
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            fe_refuse_write(fd, env->gen->cfg->fe.services[l->service].tls);
            close(fd);
        }
        reserve_fd = fcntl(env->notify_fd, F_DUPFD_CLOEXEC, 0);
    }
    char line[160];
    snprintf(line, sizeof line, "port %d: accept: %s: client refused with a 503 (or a TLS alert)",
             l->port, strerror(e));
    fe_refuse_log(FE_REFUSE_FD_LIMIT, line);
    if (reserve_fd < 0) {
        /* no reserve: the limit is ours alone; let a sibling take the queue */
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* The listener of ours a client passed back by the waiting room came in
 * on: by index when it is of our generation, else by its local port. */
static const struct fe_listener *parked_listener(const struct fe_child_env *env, int fd,
                                                 const struct fe_park *p)
{
    const struct fe_gen *g = env->gen;
    if (p->gen == g->id)
        return p->li < g->nls ? &g->ls[p->li] : NULL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1)
        return NULL;
    int port = bx_sockaddr_port((struct sockaddr *)&ss);
    for (size_t i = 0; i < g->nls; i++)
        if (g->ls[i].port == port)
            return &g->ls[i];
    return NULL;
}

/* True when fd is ready to serve; false when it went to the waiting room
 * (waitroom.h). A fresh client gets a few ms for its first bytes, which a
 * real client sends right after connecting, before it is parked. */
static bool ready_or_park(const struct fe_child_env *env, const struct fe_listener *l, int fd,
                          uint64_t since, bool fresh)
{
    const struct bx_service *sv = &env->gen->cfg->fe.services[l->service];
    if (sv->proxy_protocol != BX_PROXY_OFF || env->waitroom_fd < 0)
        return true;
    uint32_t need = fe_waitroom_need(fd, sv->tls);
    if (need && fresh) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 3) > 0)
            need = fe_waitroom_need(fd, sv->tls);
    }
    if (!need)
        return true;
    struct fe_park p = {.li = (uint32_t)(l - env->gen->ls),
                        .gen = env->gen->id,
                        .need = need,
                        .since_ms = since};
    return fe_waitroom_park(env->waitroom_fd, fd, &p) == -1;
}

/* A client the master passes back from the waiting room, or -1. */
static int take_parked(const struct fe_child_env *env, const struct fe_listener **l,
                       struct sockaddr_storage *peer, socklen_t *plen)
{
    struct fe_park p;
    int fd = fe_waitroom_take(env->waitroom_fd, &p);
    if (fd < 0)
        return -1;
    *l = parked_listener(env, fd, &p);
    *plen = sizeof *peer;
    if (!*l || getpeername(fd, (struct sockaddr *)peer, plen) == -1) {
        close(fd);
        return -1;
    }
    if (p.need != FE_WAITROOM_SERVE && !ready_or_park(env, *l, fd, p.since_ms, false))
        return -1;
    return fd;
}

/* Waits with the other idle children for a client. TERM is only deliverable
 * while waiting, so a child asked to exit never drops a client it took. */
int fe_child_wait_accept(const struct fe_child_env *env, const struct fe_listener **l,
                         struct sockaddr_storage *peer, socklen_t *plen)
{
    sigset_t waitmask;
    sigprocmask(SIG_SETMASK, NULL, &waitmask);
    sigdelset(&waitmask, SIGTERM);
    fe_lifeline_idle(true);
    for (;;) {
        struct epoll_event ev;
        int n = epoll_pwait(env->gen->accept_ep, &ev, 1, -1, &waitmask);
        if (n <= 0)
            continue;
        if (ev.data.u32 == FE_WAITROOM_TAG) {
            int fd = take_parked(env, l, peer, plen);
            if (fd >= 0) {
                fe_lifeline_idle(false);
                return fd;
            }
            continue;
        }
        if (ev.data.u32 >= env->gen->nls)
            continue;
        *l = &env->gen->ls[ev.data.u32];
        *plen = sizeof *peer;
        int fd = accept4((*l)->fd, (struct sockaddr *)peer, plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        /* A banned peer is closed by the idle child itself, before a byte is
         * read: nothing of it touched this process, so the child stays idle
         * (no fork per refusal, access.h). */
        if (fd != -1 && !fe_access_peer(&env->gen->cfg->fe.services[(*l)->service],
                                        (struct sockaddr *)peer, *plen)) {
            close(fd);
            continue;
        }
        if (fd != -1) {
            if (!ready_or_park(env, *l, fd, bx_now_ms(), true))
                continue; /* in the waiting room: we stay idle */
            fe_lifeline_idle(false);
            return fd;
        }
        if (errno == EMFILE || errno == ENFILE || errno == ENOMEM)
            refuse_at_fd_limit(env, *l);
    }
}
