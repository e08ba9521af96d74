/* SPDX-License-Identifier: BSD-2-Clause */
/* The supervision both masters share (supervise.h). */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/supervise.h"

int bx_sv_open(struct bx_sv *sv, const struct bx_sv_ops *ops, void *ctx, char *err, size_t errlen)
{
    *sv = (struct bx_sv){.sigfd = -1, .deadline = UINT64_MAX, .ops = ops, .ctx = ctx};
    sv->sigfd = bx_signalfd_open(err, errlen);
    return sv->sigfd == -1 ? -1 : 0;
}

void bx_sv_close(struct bx_sv *sv)
{
    if (sv->sigfd >= 0)
        close(sv->sigfd);
    sv->sigfd = -1;
}

void bx_sv_stop(struct bx_sv *sv, int sig)
{
    bool again = sv->stopping;
    sv->stopping = true;
    uint64_t grace = sv->ops->stop(sv->ctx, sig, again);
    if (grace)
        sv->deadline = bx_now_ms() + grace;
}

void bx_sv_dispatch(struct bx_sv *sv, int sig)
{
    switch (sig) {
    case SIGCHLD: bx_sv_reap(sv); break;
    case SIGHUP:
        if (!sv->stopping)
            sv->ops->reload(sv->ctx);
        break;
    case SIGTERM:
    case SIGINT:
    case SIGQUIT: bx_sv_stop(sv, sig); break;
    case SIGUSR1: sv->ops->reopen(sv->ctx); break;
    case SIGUSR2:
        if (sv->ops->upgrade && !sv->stopping)
            sv->ops->upgrade(sv->ctx);
        break;
    default: break;
    }
}

void bx_sv_signals(struct bx_sv *sv)
{
    int sig;
    while ((sig = bx_signalfd_read(sv->sigfd)) > 0)
        bx_sv_dispatch(sv, sig);
}

void bx_sv_reap(struct bx_sv *sv)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        sv->ops->exited(sv->ctx, pid, status);
}

bool bx_sv_done(struct bx_sv *sv, size_t alive, uint64_t now)
{
    if (!sv->stopping)
        return false;
    if (alive == 0)
        return true;
    if (now >= sv->deadline) {
        uint64_t again = sv->ops->overdue(sv->ctx, alive);
        sv->deadline = again ? now + again : UINT64_MAX;
    }
    return false;
}

/* ---- the child table ----------------------------------------------------- */

int bx_children_init(struct bx_children *t, size_t n)
{
    t->n = 0;
    t->v = calloc(n ? n : 1, sizeof *t->v);
    if (!t->v)
        return -1;
    t->n = n;
    for (size_t i = 0; i < n; i++)
        t->v[i].tag = -1;
    return 0;
}

void bx_children_free(struct bx_children *t)
{
    free(t->v);
    t->v = NULL;
    t->n = 0;
}

long bx_children_find(const struct bx_children *t, pid_t pid)
{
    for (size_t i = 0; pid > 0 && i < t->n; i++)
        if (t->v[i].pid == pid)
            return (long)i;
    return -1;
}

size_t bx_children_alive(const struct bx_children *t)
{
    size_t alive = 0;
    for (size_t i = 0; i < t->n; i++)
        alive += t->v[i].pid > 0;
    return alive;
}

void bx_children_signal(const struct bx_children *t, int sig)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].pid > 0)
            kill(t->v[i].pid, sig);
}

uint64_t bx_children_ended(struct bx_children *t, size_t i, uint64_t now, uint64_t min_uptime_ms,
                           uint64_t max_delay_ms)
{
    struct bx_child *c = &t->v[i];
    uint64_t delay = bx_backoff_exited(&c->backoff, now, min_uptime_ms, max_delay_ms);
    c->pid = 0;
    c->restart_at_ms = now + delay;
    return delay;
}

void bx_children_due_now(struct bx_children *t, size_t i, uint64_t now)
{
    t->v[i].backoff = (struct bx_backoff){0};
    t->v[i].restart_at_ms = now;
}

int bx_children_spawn_due(struct bx_children *t, uint64_t now, int cap_ms,
                          pid_t (*spawn)(void *ctx, size_t i), void *ctx)
{
    int timeout = cap_ms;
    for (size_t i = 0; i < t->n; i++) {
        struct bx_child *c = &t->v[i];
        if (c->pid > 0)
            continue;
        if (now >= c->restart_at_ms) {
            pid_t pid = spawn(ctx, i);
            c->pid = pid > 0 ? pid : 0;
            bx_backoff_started(&c->backoff, now);
        } else if (c->restart_at_ms - now < (uint64_t)timeout) {
            timeout = (int)(c->restart_at_ms - now);
        }
    }
    return timeout;
}

int bx_children_adopt(struct bx_children *dst, struct bx_children *src)
{
    size_t live = bx_children_alive(src);
    if (!live)
        return 0;
    struct bx_child *v = realloc(dst->v, (dst->n + live) * sizeof *v);
    if (!v)
        return -1;
    dst->v = v;
    for (size_t i = 0; i < src->n; i++) {
        if (src->v[i].pid <= 0)
            continue;
        dst->v[dst->n++] = src->v[i];
        src->v[i].pid = 0;
        src->v[i].tag = -1;
    }
    return 0;
}

void bx_children_compact(struct bx_children *t)
{
    size_t j = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].pid > 0)
            t->v[j++] = t->v[i];
    t->n = j;
}
