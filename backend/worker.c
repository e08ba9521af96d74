/* SPDX-License-Identifier: BSD-2-Clause */
/* A backend worker: one epoll loop serving every connection it accepts.
 *
 * Listening sockets are shared by all workers. Each worker watches them
 * without EPOLLEXCLUSIVE (that wakes mostly the same waiter: 94% of
 * connections on one worker was measured) and takes a connection only while
 * it holds no more than its fair share of the generation's open connections,
 * read from the shared counters table (see fair_room). A worker above its
 * share steps back for ACCEPT_DEFER_MS and then takes what nobody else took,
 * so no connection waits on a busy or dead peer.
 *
 * Signals arrive on a signalfd: TERM/INT drain (stop accepting, let
 * requests in flight finish, exit when no connection is left or after
 * shutdown_timeout), QUIT exits at once, USR1 reopens the logs. The master's
 * death (EOF on the life pipe) drains as TERM does: the listeners are closed
 * at once so a new master can bind, sessions finish, the orphan exits. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend/conn.h"
#include "backend/crashrec.h"
#include "backend/http1.h"
#include "backend/modset.h"
#include "backend/pubsub.h"
#include "backend/pubsub_redis.h"
#include "backend/worker.h"
#include "backend/ws_handoff.h"
#include "bactrian/module.h"
#include "common/ev.h"
#include "common/log.h"
#include "common/net.h"
#include "common/proc.h"
#include "common/sandbox.h"
#include "common/xalloc.h"

struct be_worker *be_worker;
unsigned be_generation = 1;

static struct bm_worker_stats *stats_table;
static size_t stats_slots;
static int stats_fd = -1; /* the master's: the table outlives an upgrade (upgrade.h) */

/* ---- shared counters ----------------------------------------------------------------- */

/* A shared mapping of len bytes in a memfd (*fd), so that a binary upgrade
 * can pass it on; an anonymous one (*fd -1) when there is none to be had. */
static void *shared_table(size_t len, const char *name, int *fd)
{
    void *p = MAP_FAILED;
    *fd = memfd_create(name, MFD_CLOEXEC);
    if (*fd >= 0 && ftruncate(*fd, (off_t)len) == 0)
        p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
    if (p != MAP_FAILED)
        return p;
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
    p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void be_stats_init(size_t slots)
{
    if (stats_table)
        return;
    void *p = shared_table(slots * sizeof *stats_table, "bactrian-stats", &stats_fd);
    if (!p) {
        /* counters are not worth failing over: keep a private table */
        p = bx_xcalloc(slots, sizeof *stats_table);
    }
    stats_table = p;
    stats_slots = slots;
    for (size_t i = 0; i < slots; i++)
        stats_table[i].index = (int)i;
    be_psr_stats_init(slots);
}

int be_stats_fd(void)
{
    return stats_fd;
}

int be_stats_adopt(int fd, size_t slots)
{
    struct stat st;
    size_t len = slots * sizeof *stats_table;
    if (stats_table || fd < 0 || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
        (size_t)st.st_size != len)
        return -1;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return -1;
    stats_table = p;
    stats_slots = slots;
    stats_fd = fd;
    return 0;
}

void be_stats_claim(int slot, int index, pid_t pid)
{
    if (!stats_table || slot < 0 || (size_t)slot >= stats_slots)
        return;
    struct bm_worker_stats *st = &stats_table[slot];
    if (!pid) {
        memset(st, 0, sizeof *st);
        st->index = index;
        st->generation = be_generation;
    } else {
        st->pid = pid;
    }
}

struct bm_worker_stats *be_stats_table(size_t *n)
{
    *n = stats_slots;
    return stats_table;
}

size_t bm_worker_stats(struct bm_worker_stats *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < stats_slots; i++) {
        if (stats_table[i].pid == 0)
            continue;
        if (n < max)
            out[n] = stats_table[i];
        n++;
    }
    return n;
}

/* ---- module API: the worker side ------------------------------------------------------- */

int bm_sandbox_allow_read(const char *path)
{
    return bx_sandbox_allow_read(path);
}

int bm_worker_index(void)
{
    return be_worker ? be_worker->index : -1;
}

uint64_t bm_now_ms(void)
{
    return be_worker ? bx_ev_now(be_worker->ev) : bx_now_ms();
}

unsigned bm_config_generation(void)
{
    return be_generation;
}

void bm_log(int level, const char *fmt, ...)
{
    if (level > bx_log_threshold)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    bx_log_write(level, "%s", msg);
}

struct bm_watch {
    struct bx_ev_io io;
    void (*cb)(int fd, unsigned events, void *arg);
    void *arg;
};

static void watch_cb(struct bx_ev *ev, struct bx_ev_io *io, unsigned events)
{
    (void)ev;
    struct bm_watch *w = io->data;
    unsigned e = 0;
    if (events & BX_EV_READ)
        e |= BM_READ;
    if (events & BX_EV_WRITE)
        e |= BM_WRITE;
    if (events & BX_EV_ERROR)
        e |= BM_HUP;
    w->cb(io->fd, e, w->arg);
}

static unsigned to_ev(unsigned events)
{
    return ((events & BM_READ) ? BX_EV_READ : 0) | ((events & BM_WRITE) ? BX_EV_WRITE : 0);
}

struct bm_watch *bm_watch_fd(int fd, unsigned events,
                             void (*cb)(int fd, unsigned events, void *arg), void *arg)
{
    if (!be_worker || !cb)
        return NULL;
    struct bm_watch *w = bx_xcalloc(1, sizeof *w);
    w->cb = cb;
    w->arg = arg;
    bx_ev_io_init(&w->io, fd, watch_cb, w);
    if (events && bx_ev_io_set(be_worker->ev, &w->io, to_ev(events)) == -1) {
        free(w);
        return NULL;
    }
    return w;
}

int bm_watch_update(struct bm_watch *w, unsigned events)
{
    return bx_ev_io_set(be_worker->ev, &w->io, to_ev(events));
}

void bm_watch_remove(struct bm_watch *w)
{
    if (!w)
        return;
    bx_ev_io_stop(be_worker->ev, &w->io);
    free(w);
}

/* ---- the loop -------------------------------------------------------------------------- */

const char *be_worker_date(void)
{
    struct be_worker *w = be_worker;
    int64_t now = (int64_t)time(NULL);
    if (now != w->date_sec) {
        w->date_sec = now;
        be_http_date(now, w->date);
    }
    return w->date;
}

struct lwatch {
    struct bx_ev_io io;
    const struct be_listener *l;
};

static struct lwatch *lwatches;
static void start_drain(void);
static int sigfd = -1;
static struct bx_ev_io sigio;
static struct bx_ev_timer drain_timer;
static bool quit_now;

#define ACCEPT_DEFER_MS 10

static int lifefd = -1;
static struct bx_ev_io lifeio;
static struct bx_ev_timer pause_timer;
static bool deferred;     /* stepped back: take what is left on resume */

/* How many connections this worker may take now: its fair share of the open
 * connections of its generation's live workers (plus a little slack) minus
 * what it holds. Peers' counters are shared memory any worker can write, so
 * they are clamped; a lie can skew the spread, never stop accepting (a
 * worker that steps back takes what is left ACCEPT_DEFER_MS later). */
static long fair_room(void)
{
    size_t n;
    struct bm_worker_stats *t = be_stats_table(&n);
    uint64_t total = 0, live = 0, mine = be_worker->nconns;
    for (size_t i = 0; i < n; i++) {
        if (t[i].pid == 0 || t[i].generation != be_generation)
            continue;
        uint64_t open = &t[i] == be_worker->stats ? mine : t[i].connections_open;
        total += open < (1u << 24) ? open : (1u << 24);
        live++;
    }
    if (live <= 1)
        return ACCEPT_BATCH_MAX;
    uint64_t share = total / live + 1 + total / (live * 16);
    return mine >= share ? 0 : (long)(share - mine);
}

static void watch_listeners(struct bx_ev *ev)
{
    for (size_t i = 0; i < be_worker->ls->n; i++)
        bx_ev_io_set(ev, &lwatches[i].io, BX_EV_READ);
}

static void resume_accept(struct bx_ev *ev, struct bx_ev_timer *t)
{
    (void)t;
    if (be_worker->draining)
        return;
    if (deferred) {
        /* nobody else took these in ACCEPT_DEFER_MS: take them */
        deferred = false;
        for (size_t i = 0; i < be_worker->ls->n; i++)
            be_conn_accept(&be_worker->ls->v[i], 4);
        if (bx_ev_timer_armed(&pause_timer))
            return; /* out of descriptors again: paused anew */
    }
    watch_listeners(ev);
}

void be_worker_pause_accept(unsigned ms)
{
    struct be_worker *w = be_worker;
    for (size_t i = 0; i < w->ls->n; i++)
        bx_ev_io_stop(w->ev, &lwatches[i].io);
    bx_ev_timer_start(w->ev, &pause_timer, ms);
}

static void listener_cb(struct bx_ev *ev, struct bx_ev_io *io, unsigned events)
{
    (void)ev;
    (void)events;
    struct lwatch *lw = io->data;
    long room = fair_room();
    if (room == 0) {
        deferred = true;
        be_worker_pause_accept(ACCEPT_DEFER_MS);
        return;
    }
    be_conn_accept(lw->l, room);
}

static void stop_listening(void)
{
    bx_ev_timer_stop(be_worker->ev, &pause_timer);
    for (size_t i = 0; i < be_worker->ls->n; i++) {
        bx_ev_io_stop(be_worker->ev, &lwatches[i].io);
        close(be_worker->ls->v[i].fd);
    }
}

static void drain_expired(struct bx_ev *ev, struct bx_ev_timer *t)
{
    (void)t;
    bx_log_notice("worker %d: %zu connections still open after shutdown_timeout; closing them",
                  be_worker->index, be_conns_count());
    be_conns_close_all();
    bx_ev_stop(ev);
}

static void start_drain(void)
{
    struct be_worker *w = be_worker;
    if (w->draining)
        return;
    w->draining = true;
    stop_listening();
    be_conns_drain();
    be_ho_drain(); /* sessions that can move to the new generation do */
    bx_ev_timer_init(&drain_timer, drain_expired, NULL);
    bx_ev_timer_start(w->ev, &drain_timer, w->shutdown_timeout_ms);
}

static void signal_cb(struct bx_ev *ev, struct bx_ev_io *io, unsigned events)
{
    (void)events;
    int sig;
    while ((sig = bx_signalfd_read(io->fd)) > 0) {
        switch (sig) {
        case SIGTERM:
        case SIGINT: start_drain(); break;
        case SIGQUIT:
            quit_now = true;
            bx_ev_stop(ev);
            break;
        case SIGUSR1:
            bx_log_reopen();
            bx_access_log_reopen();
            break;
        default: break;
        }
    }
}

/* EOF on the life pipe: the master is gone. */
static void life_cb(struct bx_ev *ev, struct bx_ev_io *io, unsigned events)
{
    (void)events;
    char b;
    if (read(io->fd, &b, 1) == -1 && errno == EAGAIN)
        return;
    bx_ev_io_stop(ev, io);
    bx_log_warn("worker %d: the master is gone; not accepting, %zu connections draining",
                be_worker->index, be_conns_count());
    start_drain();
}

static int setup(struct bx_config *cfg, const struct be_listeners *ls, int index, int slot)
{
    char err[BX_ERRLEN];
    struct be_worker *w = bx_xcalloc(1, sizeof *w);
    be_worker = w;
    w->cfg = cfg;
    w->ls = ls;
    w->index = index;
    w->stats = &stats_table[slot];
    if (stats_fd != -1)
        close(stats_fd); /* the master's, for an upgrade; we have the mapping */
    stats_fd = -1;
    /* The master named us in the row at the fork (be_stats_claim): pid and
     * generation keep their values, never 0 in between, since old workers
     * wait for every worker of the new generation in the table. */
    w->stats->index = index;
    w->stats->pid = getpid();
    w->stats->generation = be_generation;
    memset(&w->stats->started_ms, 0,
           sizeof *w->stats - offsetof(struct bm_worker_stats, started_ms));
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    w->stats->started_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    const struct bx_backend_conf *be = &cfg->be;
    w->lim = (struct be_http_limits){.max_request_line = (size_t)be->max_request_line,
                                     .max_header_size = (size_t)be->max_header_size,
                                     .max_headers = (size_t)be->max_headers,
                                     .max_body = be->max_body_size};
    w->header_timeout_ms = (uint64_t)be->header_timeout_ms;
    w->body_timeout_ms = (uint64_t)be->body_timeout_ms;
    w->idle_timeout_ms = (uint64_t)be->idle_timeout_ms;
    w->shutdown_timeout_ms = (uint64_t)be->shutdown_timeout_ms;
    w->keepalive_requests = (unsigned)be->keepalive_requests;
    if (!(w->ev = bx_ev_create(err, sizeof err)) ||
        (sigfd = bx_signalfd_open(err, sizeof err)) == -1) {
        bx_log_error("worker %d: %s", index, err);
        return -1;
    }
    bx_ev_io_init(&sigio, sigfd, signal_cb, NULL);
    bx_ev_io_set(w->ev, &sigio, BX_EV_READ);
    if (lifefd != -1) {
        bx_ev_io_init(&lifeio, lifefd, life_cb, NULL);
        bx_ev_io_set(w->ev, &lifeio, BX_EV_READ);
    }
    be_crashrec_attach((size_t)slot);
    bx_ev_timer_init(&pause_timer, resume_accept, NULL);
    lwatches = bx_xcalloc(ls->n + 1, sizeof *lwatches);
    for (size_t i = 0; i < ls->n; i++) {
        lwatches[i].l = &ls->v[i];
        bx_ev_io_init(&lwatches[i].io, ls->v[i].fd, listener_cb, &lwatches[i]);
        if (bx_ev_io_set(w->ev, &lwatches[i].io, BX_EV_READ) == -1) {
            bx_log_error("worker %d: epoll on listener: %s", index, strerror(errno));
            return -1;
        }
    }
    return 0;
}

int be_worker_run(struct bx_config *cfg, const struct be_listeners *ls, struct be_modset *mods,
                  int index, int slot, int life_fd)
{
    lifefd = life_fd;
    if (setup(cfg, ls, index, slot) == -1)
        return 1;
    struct be_worker *w = be_worker;
    w->mods = mods;
    if (be_modset_worker_init(mods, w->ev) == -1)
        return 1;
    /* Confined after the modules' worker_init (which declared their files)
     * and the pub/sub socket (a file in the master's directory). */
    be_ps_worker_init();
    be_ho_worker_init();
    char err[BX_ERRLEN];
    if (bx_sandbox_apply(BX_SANDBOX_BE_WORKER, err, sizeof err) == -1) {
        bx_log_error("worker %d: cannot confine: %s", index, err);
        return 1;
    }
    bx_log_info("worker %d ready (pid %ld, generation %u)", index, (long)getpid(), be_generation);
    while (!quit_now) {
        if (bx_ev_run_once(w->ev, -1) == -1) {
            bx_log_error("worker %d: epoll_wait: %s", index, strerror(errno));
            break;
        }
        be_conns_reap();
        if (w->draining && be_conns_count() == 0)
            break;
    }
    if (!quit_now) {
        be_modset_worker_exit(mods, w->ev);
        be_conns_close_all();
        be_conns_reap();
    }
    w->stats->pid = 0;
    return 0;
}
