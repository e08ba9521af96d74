/* SPDX-License-Identifier: BSD-2-Clause */
/* The hand-off's channels and the moving loop (see ws_handoff.h).
 *
 * Every worker binds a stream socket "<pid>.h" in the master's private
 * directory (pubsub.h: mode 0700, our uid only) before it is confined. A
 * worker that starts connects, still unconfined, to every running worker of
 * an earlier generation and says hello (wire version, generation): so a
 * confined worker needs no connect(2) and no stream socket of its own, only
 * accept4, sendmsg and recvmsg on descriptors it already has. Each end checks
 * the other with SO_PEERCRED: our uid, and a pid in this master's worker
 * table of an older (for the new worker) or newer (for the old one)
 * generation. A peer with another wire version is closed: its sessions drain.
 *
 * When an old worker drains, it offers each movable session to the newer
 * peer it gave fewest so far: the record, with the socket attached
 * (SCM_RIGHTS), then waits (2 s at most) for the answer: 'A' taken (the
 * module forgets it, our copy of the socket is closed without a byte
 * written), 'N' refused (it drains here), 'R' the peer is draining itself
 * (try another). It starts once every worker of the newest generation in
 * the master's table has said hello (SPREAD_WAIT_MS at most after the
 * first): the new workers start one after the other, and the first one
 * would otherwise take everything before the others are connected. Sessions
 * that are in the middle of a message are tried again every few ms until
 * the drain would close them with 1001 (ws_session.c, shutdown_timeout less
 * the close margin), for backend.handoff_timeout at most: one deadline, so
 * a session either moves or gets the drain's 1001 with the whole margin for
 * its close handshake. The old worker waits for each answer, so
 * a session is never read by two workers: until 'A' the new worker has not
 * read it, after 'A' the old one never will. An answer that does not come
 * leaves the session's fate unknown: it is given up (closed silently here)
 * rather than risk two readers.
 *
 * With pub/sub through Redis, a new worker says hello only once Redis has
 * confirmed its subscription to every channel (pubsub_redis.c, be_ho_greet;
 * 1 s at most), and the old worker reads its subscribe link up to a PONG
 * before the next snapshot: so no message in flight misses a moving session. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "backend/conn.h"
#include "backend/modset.h"
#include "backend/pubsub.h"
#include "backend/pubsub_redis.h"
#include "backend/pubsub_replay.h"
#include "backend/worker.h"
#include "backend/ws_handoff.h"
#include "backend/ws_handoff_rec.h"
#include "backend/ws_session.h"
#include "common/log.h"
#include "common/net.h"
#include "common/proc.h"
#include "common/xalloc.h"

#define HELLO_LEN (BE_HO_HDR + 8)
#define REPLY_LEN (BE_HO_HDR + 4)
#define IO_TIMEOUT_MS 2000
#define TICK_MS 5
#define PER_TICK 256
#define CHAN_FDS 16
#define GREET_MAX_MS 1000
#define SPREAD_WAIT_MS 300

/* Old worker: a newer worker that connected to us. */
struct peer {
    int fd;
    pid_t pid;
    unsigned gen;
    bool ready, retired; /* hello checked / it answered 'R' */
    size_t moved;        /* sessions it took from us */
    uint8_t hello[HELLO_LEN];
    size_t hlen;
    struct bx_ev_io io;
    struct peer *next;
};

/* New worker: our link to an older worker. */
struct chan {
    int fd;
    pid_t pid;
    struct bx_ev_io io;
    struct bx_buf in;
    int fds[CHAN_FDS];
    size_t nfds;
    bool greeted;
    struct chan *next;
};

static int lfd = -1;
static struct bx_ev_io lio;
static struct peer *peers;
static struct chan *chans;
static struct bx_ev_timer move_timer;
static bool moving;
static uint64_t move_started, give_up_at;
static uint32_t next_seq;
static size_t n_moved, n_refused, n_lost;
static struct bx_buf frame;
static struct bx_ev_timer greet_timer;
static unsigned spread_gen;         /* the newest generation we heard from */
static uint64_t spread_until;       /* how long we wait for the rest of it */
static bool spread_done;            /* all of it said hello (or the wait is over) */

/* Weak: the upgrade test's backend (tests/upgrade/ho_version.c) links a
 * strong one that speaks another version, to show a mismatched peer is
 * refused cleanly. */
__attribute__((weak)) unsigned be_ho_wire_version(void)
{
    return BE_HO_WIRE_VERSION;
}

/* Weak as well: tests/upgrade/ho_answer.c links one that makes a new worker
 * answer 'R' (as if it drained) or nothing at all, so that the old worker's
 * paths for those answers run for real. The daemon answers on the merits. */
__attribute__((weak)) int be_ho_forced_answer(void)
{
    return 0;
}

/* ---- who is who ---------------------------------------------------------------------- */

/* The generation of a live worker of this master, 0 if pid is none. */
static unsigned worker_gen(pid_t pid)
{
    size_t n;
    const struct bm_worker_stats *t = be_stats_table(&n);
    for (size_t i = 0; t && pid > 0 && i < n; i++)
        if (t[i].pid == pid)
            return t[i].generation;
    return 0;
}

/* The peer's pid when it is our uid and a worker whose generation is newer
 * (newer true) or older than ours; 0 otherwise. */
static pid_t check_peer(int fd, bool newer)
{
    struct ucred uc;
    socklen_t len = sizeof uc;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == -1 || uc.uid != geteuid())
        return 0;
    unsigned g = worker_gen(uc.pid);
    if (!g || (newer ? g <= be_generation : g >= be_generation))
        return 0;
    return uc.pid;
}

static socklen_t sock_addr(pid_t pid, struct sockaddr_un *sa)
{
    const char *dir = be_ps_dir_path();
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    int n = dir ? snprintf(sa->sun_path, sizeof sa->sun_path, "%s/%d.h", dir, (int)pid) : -1;
    if (n < 0 || (size_t)n >= sizeof sa->sun_path)
        return 0;
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1);
}

/* ---- blocking I/O with a deadline (the old worker waits for each answer) -------------- */

static int wait_fd(int fd, short what, uint64_t deadline)
{
    uint64_t now = bx_now_ms();
    if (now >= deadline)
        return -1;
    struct pollfd p = {.fd = fd, .events = what};
    int rc = poll(&p, 1, (int)(deadline - now));
    return rc == 1 ? 0 : -1;
}

/* Sends the frame, the descriptor riding with its first byte. */
static int send_frame(int fd, const uint8_t *p, size_t n, int pass)
{
    uint64_t deadline = bx_now_ms() + IO_TIMEOUT_MS;
    size_t off = 0;
    while (off < n) {
        ssize_t k = bx_send_fds(fd, p + off, n - off, &pass, off == 0 ? 1 : 0,
                                MSG_DONTWAIT | MSG_NOSIGNAL);
        if (k > 0)
            off += (size_t)k;
        else if (k == -1 && (errno == EAGAIN || errno == EINTR)) {
            if (wait_fd(fd, POLLOUT, deadline) < 0)
                return -1;
        } else
            return -1;
    }
    return 0;
}

/* The answer: 1 read, 0 end of stream or error (nothing was taken), -1 time out. */
static int read_reply(int fd, uint8_t *r)
{
    uint64_t deadline = bx_now_ms() + IO_TIMEOUT_MS;
    size_t got = 0;
    while (got < REPLY_LEN) {
        ssize_t k = recv(fd, r + got, REPLY_LEN - got, MSG_DONTWAIT);
        if (k > 0)
            got += (size_t)k;
        else if (k == -1 && (errno == EAGAIN || errno == EINTR)) {
            if (wait_fd(fd, POLLIN, deadline) < 0)
                return -1;
        } else
            return 0;
    }
    return 1;
}

/* ---- the old worker ------------------------------------------------------------------ */

static void peer_drop(struct peer *p)
{
    if (p->fd != -1) {
        bx_ev_io_stop(be_worker->ev, &p->io);
        close(p->fd);
    }
    p->fd = -1;
    p->ready = false;
}

static bool usable(const struct peer *p, unsigned gen)
{
    return p->ready && !p->retired && p->gen == gen;
}

/* The newest generation of a live worker in the master's table. */
static unsigned newest_gen(void)
{
    size_t n;
    unsigned gen = 0;
    const struct bm_worker_stats *t = be_stats_table(&n);
    for (size_t i = 0; t && i < n; i++)
        if (t[i].pid > 0 && t[i].generation > gen)
            gen = t[i].generation;
    return gen;
}

/* Every live worker of generation gen in the table said hello to us, or
 * its channel failed: none is still on its way. */
static bool all_heard(unsigned gen)
{
    size_t n;
    const struct bm_worker_stats *t = be_stats_table(&n);
    for (size_t i = 0; t && i < n; i++) {
        if (t[i].pid <= 0 || t[i].generation != gen)
            continue;
        bool heard = false;
        for (struct peer *p = peers; p && !heard; p = p->next)
            heard = p->pid == t[i].pid && (p->ready || p->fd == -1);
        if (!heard)
            return false;
    }
    return true;
}

/* True while we should wait for more of the newest generation to say hello
 * before handing out sessions (gen: the newest one we heard from). */
static bool spread_wait(unsigned gen)
{
    uint64_t now = bx_now_ms();
    if (gen != spread_gen) {
        spread_gen = gen;
        spread_until = now + SPREAD_WAIT_MS;
        spread_done = false;
    }
    unsigned newest = newest_gen() > gen ? newest_gen() : gen;
    if (!spread_done && (now >= spread_until || all_heard(newest)))
        spread_done = true;
    return !spread_done;
}

/* The worker of the newest generation that takes sessions and was given
 * fewest by us (a session moves once, not once per generation a burst of
 * reloads made; even counts however the new workers' hellos were spread in
 * time); NULL when none does yet. */
static struct peer *pick_peer(void)
{
    unsigned gen = 0;
    for (struct peer *p = peers; p; p = p->next)
        if (p->ready && !p->retired && p->gen > gen)
            gen = p->gen;
    if (!gen || spread_wait(gen))
        return NULL;
    struct peer *best = NULL;
    for (struct peer *p = peers; p; p = p->next)
        if (usable(p, gen) && (!best || p->moved < best->moved))
            best = p;
    return best;
}

/* One session to p: 1 moved, 0 stays (for now), -1 the channel broke. */
static int move_one(struct peer *p, struct bm_ws *ws)
{
    /* Messages already published reach the session here, so the new worker
     * (which drains its own socket before a restore) has only later ones. */
    be_ps_poll();
    if (!be_ho_movable(ws))
        return 0;
    uint32_t seq = ++next_seq;
    bx_buf_reset(&frame);
    if (be_ho_snapshot(ws, seq, &frame) < 0)
        return 0;
    uint8_t r[REPLY_LEN];
    if (send_frame(p->fd, (const uint8_t *)bx_buf_rpos(&frame), bx_buf_unread(&frame), ws->c->fd) <
        0) {
        be_ho_resume(ws); /* a frame cut short is dropped unread, with its descriptor */
        peer_drop(p);
        return -1;
    }
    int rc = read_reply(p->fd, r);
    bool sane = rc == 1 && be_ho_get_u32(r) == 5 && be_ho_get_u32(r + 5) == seq;
    if (rc == 0) {
        be_ho_resume(ws);
        peer_drop(p);
        return -1;
    }
    if (!sane || r[4] == 'A') {
        if (!sane) {
            bx_log_warn("worker %d: no answer from worker %ld about WebSocket session %llu; "
                        "given up",
                        be_worker->index, (long)p->pid, (unsigned long long)bm_ws_id(ws));
            n_lost++;
            peer_drop(p);
        }
        be_ho_moved(ws);
        return sane ? 1 : -1;
    }
    be_ho_resume(ws);
    if (r[4] == 'R') {
        bx_log_info("worker %d: worker %ld drains too; its sessions go to another",
                    be_worker->index, (long)p->pid);
        p->retired = true;
    } else {
        ws->ho_refused = true;
        n_refused++;
    }
    return 0;
}

/* Which new worker took how many: the spread is measured from this line
 * (bench/ws_handoff.py, tests/integration/ws_handoff.py). */
static void log_spread(void)
{
    struct bx_buf b = BX_BUF_INIT;
    for (struct peer *p = peers; p; p = p->next)
        if (p->moved)
            bx_buf_printf(&b, "%sworker %ld: %zu", b.len ? ", " : "", (long)p->pid, p->moved);
    if (b.len) {
        bx_buf_append(&b, "", 1);
        bx_log_notice("worker %d: sessions per new worker: %s", be_worker->index, bx_buf_rpos(&b));
    }
    bx_buf_free(&b);
}

static void move_done(const char *how, size_t left)
{
    moving = false;
    bx_log_notice("worker %d: %zu WebSocket session(s) handed to a new worker in %llu ms "
                  "(%zu refused, %zu lost); %zu left to drain%s",
                  be_worker->index, n_moved, (unsigned long long)(bx_now_ms() - move_started),
                  n_refused, n_lost, left, how);
    log_spread();
}

/* Sessions of mounts with hooks that are still here. */
static bool ours(const struct bm_ws *ws)
{
    return ws->inst->handoff && !ws->ho_refused && !ws->handed_off && !ws->c->closed;
}

/* ... and may yet move. */
static bool candidate(const struct bm_ws *ws)
{
    return ours(ws) && ws->state == BE_WS_OPEN;
}

/* The drain closes this session with 1001 now, or did (ws_session.c): it is
 * no longer offered, even when the loop is late to run that timer (a move
 * blocks for its answers), so it gets the whole close margin. */
static bool drain_due(const struct bm_ws *ws, uint64_t now)
{
    return ws->drain_close_at && now >= ws->drain_close_at;
}

/* How the move ends: all moved, or the drain took the rest over (each
 * session is offered only before its drain close), or handoff_timeout. The
 * tick never sleeps past the deadline, so the line says which. */
static void move_next(size_t waiting, size_t due, uint64_t last_close, bool busy)
{
    uint64_t now = bx_now_ms(), end = give_up_at;
    if (last_close && last_close < end)
        end = last_close;
    if (!waiting)
        move_done(due ? " (the drain closes the rest: 1001)" : "", bm_ws_list(NULL, NULL, 0));
    else if (now >= end)
        move_done(" (handoff_timeout: the rest could not move)", waiting + due);
    else
        bx_ev_timer_start(be_worker->ev, &move_timer,
                          busy ? 0 : (end - now < TICK_MS ? end - now : TICK_MS));
}

static void move_tick(struct bx_ev *ev, struct bx_ev_timer *t)
{
    (void)ev, (void)t;
    size_t n = bm_ws_list(NULL, NULL, 0), waiting = 0, tried = 0, due = 0;
    uint64_t last_close = 0;
    struct bm_ws **v = bx_xcalloc(n + 1, sizeof *v);
    bm_ws_list(NULL, v, n);
    struct peer *p = pick_peer();
    for (size_t i = 0; i < n; i++) {
        if (ours(v[i]) && v[i]->drain_close_at > last_close)
            last_close = v[i]->drain_close_at;
        if (ours(v[i]) && drain_due(v[i], bx_now_ms())) {
            due++;
            continue;
        }
        if (!candidate(v[i]))
            continue;
        if (!p || tried >= PER_TICK || !be_ho_movable(v[i])) {
            waiting++;
            continue;
        }
        tried++;
        int rc = move_one(p, v[i]);
        n_moved += rc == 1;
        if (rc == 1)
            p->moved++;
        if (rc == 0 && candidate(v[i]))
            waiting++;
        p = pick_peer();
    }
    free(v);
    move_next(waiting, due, last_close, tried >= PER_TICK);
}

void be_ho_drain(void)
{
    const struct bx_backend_conf *be = &be_worker->cfg->be;
    if (lfd == -1 || moving || be->handoff_timeout_ms == 0 || !bm_ws_list(NULL, NULL, 0))
        return;
    uint64_t limit = (uint64_t)be->handoff_timeout_ms;
    if (limit > be_worker->shutdown_timeout_ms)
        limit = be_worker->shutdown_timeout_ms;
    moving = true;
    move_started = bx_now_ms(); /* the clock, not the loop's: a move blocks for its answers */
    give_up_at = move_started + limit;
    bx_ev_timer_init(&move_timer, move_tick, NULL);
    bx_ev_timer_start(be_worker->ev, &move_timer, 0);
}

static void peer_hello(struct bx_ev *ev, struct bx_ev_io *io, unsigned events)
{
    (void)events;
    struct peer *p = io->data;
    ssize_t k = recv(p->fd, p->hello + p->hlen, HELLO_LEN - p->hlen, MSG_DONTWAIT);
    if (k == -1 && (errno == EAGAIN || errno == EINTR))
        return;
    if (k <= 0) {
        peer_drop(p);
        return;
    }
    p->hlen += (size_t)k;
    if (p->hlen < HELLO_LEN)
        return;
    bx_ev_io_stop(ev, io);
    uint32_t ver = be_ho_get_u32(p->hello + BE_HO_HDR);
    if (be_ho_get_u32(p->hello) != HELLO_LEN - 4 || p->hello[4] != 'H' ||
        ver != be_ho_wire_version()) {
        bx_log_warn("worker %d: worker %ld speaks hand-off version %u, not %u: its sessions "
                    "will not come from here",
                    be_worker->index, (long)p->pid, ver, be_ho_wire_version());
        peer_drop(p);
        return;
    }
    p->ready = true;
    be_psr_peer_ready();
}

static void on_accept(struct bx_ev *ev, struct bx_ev_io *io, unsigned events)
{
    (void)events;
    for (;;) {
        int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd == -1)
            return;
        pid_t pid = check_peer(fd, true);
        if (!pid) {
            close(fd);
            continue;
        }
        struct peer *p = bx_xcalloc(1, sizeof *p);
        p->fd = fd;
        p->pid = pid;
        p->gen = worker_gen(pid);
        p->next = peers;
        peers = p;
        bx_ev_io_init(&p->io, fd, peer_hello, p);
        if (bx_ev_io_set(ev, &p->io, BX_EV_READ) == -1)
            peer_drop(p);
    }
}

/* ---- the new worker ------------------------------------------------------------------ */

static void chan_close(struct chan *ch, const char *why)
{
    if (why)
        bx_log_warn("worker %d: hand-off from worker %ld: %s; closing the channel",
                    be_worker->index, (long)ch->pid, why);
    bx_ev_io_stop(be_worker->ev, &ch->io);
    close(ch->fd);
    for (size_t i = 0; i < ch->nfds; i++)
        close(ch->fds[i]);
    bx_buf_free(&ch->in);
    struct chan **pp = &chans;
    while (*pp != ch)
        pp = &(*pp)->next;
    *pp = ch->next;
    free(ch);
}

static int reply(struct chan *ch, uint8_t type, uint32_t seq)
{
    struct bx_buf b = BX_BUF_INIT;
    be_ho_frame_begin(&b, type);
    be_ho_put_u32(&b, seq);
    be_ho_frame_end(&b, 0);
    ssize_t k = send(ch->fd, bx_buf_rpos(&b), bx_buf_unread(&b), MSG_DONTWAIT | MSG_NOSIGNAL);
    bx_buf_free(&b);
    return k == REPLY_LEN ? 0 : -1;
}

/* One offer with its descriptor: restored, refused or sent on ('R'). */
static int take_offer(struct chan *ch, const uint8_t *body, size_t n)
{
    int fd = ch->fds[0];
    memmove(ch->fds, ch->fds + 1, --ch->nfds * sizeof *ch->fds);
    int forced = be_ho_forced_answer();
    if (be_worker->draining || forced == 'R') {
        close(fd);
        return reply(ch, 'R', n >= 8 ? be_ho_get_u32(body + 4) : 0);
    }
    if (forced == BE_HO_NO_ANSWER) {
        close(fd); /* a test build: unread, unanswered */
        return 0;
    }
    uint32_t seq;
    const char *why = NULL;
    struct bm_ws *ws = NULL;
    /* What was published before the old worker let go went to the session
     * there: deliver it here first, without the session. */
    be_ps_poll();
    if (be_ho_restore(body, n, fd, &seq, &why, &ws) < 0) {
        bx_log_info("worker %d: a WebSocket session from worker %ld stays there: %s",
                    be_worker->index, (long)ch->pid, why);
        return reply(ch, 'N', seq);
    }
    int rc = reply(ch, 'A', seq);
    be_ws_adopted_start(ws);
    return rc;
}

/* Complete frames in ch->in. -1 when the channel was closed. */
static int chan_frames(struct chan *ch)
{
    while (bx_buf_unread(&ch->in) >= BE_HO_HDR) {
        const uint8_t *p = (const uint8_t *)bx_buf_rpos(&ch->in);
        uint32_t len = be_ho_get_u32(p);
        if (len < 1 || len > BE_HO_FRAME_MAX || p[4] != 'O') {
            chan_close(ch, "malformed frame");
            return -1;
        }
        if (bx_buf_unread(&ch->in) - 4 < len)
            return 0;
        if (!ch->nfds) {
            chan_close(ch, "an offer without a descriptor");
            return -1;
        }
        int rc = take_offer(ch, p + BE_HO_HDR, len - 1);
        bx_buf_consume(&ch->in, 4 + (size_t)len);
        if (rc < 0) {
            chan_close(ch, "cannot answer");
            return -1;
        }
    }
    return 0;
}

/* Descriptors that came with the bytes: queued, one per offer. */
static int chan_fds(struct chan *ch, struct msghdr *mh)
{
    int bad = (mh->msg_flags & MSG_CTRUNC) != 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            if (ch->nfds < CHAN_FDS)
                ch->fds[ch->nfds++] = fd;
            else
                close(fd), bad = 1;
        }
    }
    return bad ? -1 : 0;
}

static void on_chan(struct bx_ev *ev, struct bx_ev_io *io, unsigned events)
{
    (void)ev, (void)events;
    struct chan *ch = io->data;
    for (int turns = 0; turns < 64; turns++) {
        bx_buf_reserve(&ch->in, 65536);
        union {
            struct cmsghdr align;
            char buf[CMSG_SPACE(sizeof(int) * 4)];
        } cb;
        struct iovec iov = {bx_buf_wpos(&ch->in), bx_buf_space(&ch->in)};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = cb.buf,
                            .msg_controllen = sizeof cb.buf};
        ssize_t n = recvmsg(ch->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n == -1 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n >= 0 && chan_fds(ch, &mh) < 0) {
            chan_close(ch, "descriptors cut or too many");
            return;
        }
        if (n <= 0) {
            chan_close(ch, NULL); /* the old worker is gone */
            return;
        }
        ch->in.len += (size_t)n;
        if (chan_frames(ch) < 0)
            return;
    }
}

/* Our hello: the old worker may send sessions from now on. */
static bool send_hello(int fd)
{
    struct bx_buf b = BX_BUF_INIT;
    be_ho_frame_begin(&b, 'H');
    be_ho_put_u32(&b, be_ho_wire_version());
    be_ho_put_u32(&b, be_generation);
    be_ho_frame_end(&b, 0);
    bool ok = send(fd, bx_buf_rpos(&b), bx_buf_unread(&b), MSG_NOSIGNAL) == HELLO_LEN;
    bx_buf_free(&b);
    return ok;
}

void be_ho_greet(void)
{
    for (struct chan *ch = chans; ch; ch = ch->next)
        if (!ch->greeted && ch->fd != -1) {
            ch->greeted = true;
            if (!send_hello(ch->fd))
                bx_log_warn("worker %d: hello to worker %ld: %s", be_worker->index, (long)ch->pid,
                            strerror(errno));
        }
}

static void on_greet_timer(struct bx_ev *ev, struct bx_ev_timer *t)
{
    (void)ev, (void)t;
    for (struct chan *ch = chans; ch; ch = ch->next)
        if (!ch->greeted) {
            bx_log_warn("worker %d: Redis did not confirm our subscription within %d ms; "
                        "sessions may move anyway, and miss messages in flight",
                        be_worker->index, GREET_MAX_MS);
            break;
        }
    be_ho_greet();
}

/* Before confinement: to one older worker, with our hello (through Redis:
 * later, be_ho_greet). */
static void connect_old(pid_t pid)
{
    struct sockaddr_un sa;
    socklen_t len = sock_addr(pid, &sa);
    int fd = len ? socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) : -1;
    if (fd == -1)
        return;
    bool later = be_psr_enabled();
    if (connect(fd, (struct sockaddr *)&sa, len) == -1 || check_peer(fd, false) != pid ||
        (!later && !send_hello(fd)) || fcntl(fd, F_SETFL, O_NONBLOCK) == -1) {
        close(fd); /* it exited meanwhile, or is not what it should be */
        return;
    }
    struct chan *ch = bx_xcalloc(1, sizeof *ch);
    ch->fd = fd;
    ch->pid = pid;
    ch->greeted = !later;
    bx_ev_io_init(&ch->io, fd, on_chan, ch);
    if (bx_ev_io_set(be_worker->ev, &ch->io, BX_EV_READ) == -1) {
        close(fd);
        free(ch);
        return;
    }
    ch->next = chans;
    chans = ch;
}

static void listen_own(void)
{
    struct sockaddr_un sa;
    socklen_t len = sock_addr(getpid(), &sa);
    if (!len)
        return;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1 || bind(fd, (struct sockaddr *)&sa, len) == -1 || listen(fd, 64) == -1) {
        bx_log_error("worker %d: hand-off socket %s: %s; its WebSocket sessions will drain "
                     "on a reload",
                     be_worker->index, sa.sun_path, strerror(errno));
        if (fd != -1)
            close(fd);
        return;
    }
    lfd = fd;
    bx_ev_io_init(&lio, fd, on_accept, NULL);
    bx_ev_io_set(be_worker->ev, &lio, BX_EV_READ);
}

void be_ho_worker_init(void)
{
    if (!be_ps_dir_path() || be_worker->cfg->be.handoff_timeout_ms == 0)
        return;
    listen_own();
    size_t n;
    const struct bm_worker_stats *t = be_stats_table(&n);
    for (size_t i = 0; t && i < n; i++)
        if (t[i].pid > 0 && t[i].pid != getpid() && t[i].generation < be_generation)
            connect_old(t[i].pid);
    /* Sessions may come: keep the publishes they might miss meanwhile. */
    if (chans)
        be_psx_init((uint64_t)be_worker->cfg->be.handoff_timeout_ms + 1000);
    if (chans && be_psr_enabled()) {
        bx_ev_timer_init(&greet_timer, on_greet_timer, NULL);
        bx_ev_timer_start(be_worker->ev, &greet_timer, GREET_MAX_MS);
    }
}
