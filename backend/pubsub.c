/* SPDX-License-Identifier: BSD-2-Clause */
/* Pub/sub for WebSocket sessions within one backend.
 *
 * Each worker keeps its channels and their local subscribers. A publish is
 * delivered to the local subscribers directly, and sent to every other
 * worker as one datagram on a Unix socket named after the worker's pid in
 * the master's private directory (pubsub.h; so the workers of an old
 * generation still draining after a reload keep getting messages for the
 * sessions they still hold), found in the shared worker table: no hub process to hop
 * through, no shared-memory ring to size, and the kernel copies each message
 * once per worker. A worker that never subscribed anything binds no socket,
 * so publishing to it costs one failed sendto.
 *
 * Slow subscribers (send queue above the high watermark) are handled by the
 * channel's policy, counted, and logged at most once a second per channel.
 * A datagram a busy worker cannot take right now (its queue is full: Linux
 * keeps at most net.unix.max_dgram_qlen of them) waits in this worker's
 * retry queue, in order, retried every millisecond; only past PENDING_MAX
 * queued bytes is a message counted as lost_between_workers and logged.
 *
 * The directory (0700) keeps other uids out: they can neither send to a
 * worker nor bind a name a worker sends to (abstract names, used before,
 * had no permissions at all). Within our uid, every datagram is
 * authenticated by the kernel (SO_PASSCRED: each one
 * carries the sender's real uid and pid, SCM_CREDENTIALS) and taken only
 * from our own uid and a pid in the shared worker table of this backend
 * master; anything else is dropped, counted and logged at most once a
 * second. A text message is checked as UTF-8 again before it reaches a
 * client: a peer worker is trusted with nothing a client would see.
 *
 * With backend.pubsub.redis set, none of the above carries messages between
 * workers: pubsub_redis.c does, through Redis, to every worker of every host
 * (the local delivery and the slow-subscriber policies stay here).
 *
 * Each datagram carries its origin's sequence number ('C', opcode, u16 name
 * length, u64 sequence, name, payload), which pubsub_replay.c uses to give
 * a session that moves between workers each message once; through Redis the
 * origin is the worker's random id (pubsub_redis.c) and the same replay
 * works, the hand-off's barrier being pubsub_redis.c's be_psr_poll. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "backend/conn.h"
#include "backend/pubsub.h"
#include "backend/pubsub_redis.h"
#include "backend/pubsub_replay.h"
#include "backend/worker.h"
#include "backend/ws_session.h"
#include "backend/ws_utf8.h"
#include "common/byteorder.h"
#include "common/log.h"
#include "common/net.h"
#include "common/xalloc.h"

#define NBUCKETS 256
#define NAME_MAX_LEN BE_PS_NAME_MAX
#define DGRAM_HDR 12 /* 'C', opcode, u16 name length, u64 origin sequence */
#define DGRAM_MAX (BM_PUBLISH_MAX + NAME_MAX_LEN + DGRAM_HDR + 8)
#define PENDING_MAX (8u << 20)

struct be_ps_chan;

struct be_ps_sub {
    struct be_ps_chan *ch;
    struct bm_ws *ws;
    size_t idx;              /* position in ch->subs */
    struct be_ps_sub *next;  /* the session's other subscriptions */
};

struct be_ps_chan {
    char *name;
    struct be_ps_sub **subs;
    size_t n, cap;
    enum bm_slow_policy policy;
    unsigned close_code;
    bool configured;         /* kept when empty: a policy was set */
    struct bm_channel_stats st;
    uint64_t logged_at;      /* last slow-subscriber log line, ms */
    uint64_t skipped_logged, dropped_logged, lost_logged;
    struct be_ps_chan *next; /* hash chain */
};

static struct be_ps_chan *buckets[NBUCKETS];
static int ps_fd = -1;
static struct bm_watch *ps_watch;
static uint8_t *dgram;
/* Datagrams waiting for a busy worker: records of u32 worker pid, u32 length, bytes. */
static struct bx_buf pending;
static struct bx_ev_timer retry_timer;
static bool retry_armed;
/* Datagrams refused (foreign sender, bad format, invalid text): counted, logged once a second. */
static uint64_t refused, refused_logged, refused_logged_at;

static unsigned hash(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % NBUCKETS;
}

static struct be_ps_chan *find(const char *name, bool create)
{
    unsigned b = hash(name);
    for (struct be_ps_chan *c = buckets[b]; c; c = c->next)
        if (!strcmp(c->name, name))
            return c;
    if (!create)
        return NULL;
    struct be_ps_chan *c = bx_xcalloc(1, sizeof(*c));
    c->name = bx_xstrdup(name);
    c->close_code = BE_WS_CLOSE_POLICY;
    c->next = buckets[b];
    buckets[b] = c;
    return c;
}

static void maybe_forget(struct be_ps_chan *c)
{
    if (c->n || c->configured)
        return;
    struct be_ps_chan **pp = &buckets[hash(c->name)];
    while (*pp != c)
        pp = &(*pp)->next;
    *pp = c->next;
    free(c->subs);
    free(c->name);
    free(c);
}

/* ---- the worker-to-worker socket --------------------------------------------------------- */

/* The master's directory for the workers' sockets; inherited across fork. */
static char ps_dir[sizeof(((struct sockaddr_un *)0)->sun_path) - 16];

int be_ps_dir_create(char *err, size_t errlen)
{
    const char *tmp = getenv("TMPDIR");
    int n = snprintf(ps_dir, sizeof ps_dir, "%s/bactrian-ps-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (n < 0 || (size_t)n >= sizeof ps_dir) {
        snprintf(err, errlen, "pubsub: TMPDIR too long for a socket path");
        ps_dir[0] = 0;
        return -1;
    }
    if (!mkdtemp(ps_dir)) { /* mode 0700, a fresh name: nobody else has it */
        snprintf(err, errlen, "pubsub: mkdtemp %s: %s", ps_dir, strerror(errno));
        ps_dir[0] = 0;
        return -1;
    }
    return 0;
}

int be_ps_dir_adopt(int dirfd, char *err, size_t errlen)
{
    char proc[64];
    struct stat st;
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", dirfd);
    ssize_t n = readlink(proc, ps_dir, sizeof ps_dir - 1);
    ps_dir[n > 0 && (size_t)n < sizeof ps_dir - 1 ? (size_t)n : 0] = 0;
    /* Ours as be_ps_dir_create made it: a directory of our uid, 0700. */
    if (!ps_dir[0] || fstat(dirfd, &st) == -1 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & 07777) != 0700) {
        snprintf(err, errlen, "pubsub: the directory passed by the upgrade (%s) is not ours",
                 ps_dir[0] ? ps_dir : "?");
        ps_dir[0] = 0;
        return -1;
    }
    return 0;
}

/* A worker's socket address; 0 when there is no directory. */
static socklen_t worker_addr(pid_t pid, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (!ps_dir[0])
        return 0;
    int n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%d", ps_dir, (int)pid);
    if (n < 0 || (size_t)n >= sizeof(sa->sun_path))
        return 0;
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1);
}

void be_ps_forget(pid_t worker)
{
    struct sockaddr_un sa;
    if (worker_addr(worker, &sa))
        unlink(sa.sun_path);
    /* and its hand-off socket (ws_handoff.c): the same name with ".h" */
    char h[sizeof sa.sun_path + 4];
    if (worker_addr(worker, &sa) && snprintf(h, sizeof h, "%s.h", sa.sun_path) < (int)sizeof h)
        unlink(h);
}

const char *be_ps_dir_path(void)
{
    return ps_dir[0] ? ps_dir : NULL;
}

void be_ps_dir_remove(void)
{
    if (!ps_dir[0])
        return;
    DIR *d = opendir(ps_dir);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.')
            unlinkat(dirfd(d), e->d_name, 0);
    if (d)
        closedir(d);
    rmdir(ps_dir);
    ps_dir[0] = 0;
}

static void deliver_local(const char *name, int opcode, const void *data, size_t len,
                          uint64_t origin, uint64_t seq);
static uint64_t my_seq; /* our publishes, numbered for moving subscribers */
static void log_slow(struct be_ps_chan *c);

/* A peer worker is a live pid in the shared worker table of this master. The
 * table has thousands of slots and few workers: the slots where senders were
 * last found are checked first, against the table itself (never a stale copy,
 * so a pid reused by another process after that worker exits is not taken). */
static void known_note(pid_t pid);

static bool is_peer_worker(pid_t pid)
{
    static size_t recent[8];
    static unsigned next;
    size_t n;
    const struct bm_worker_stats *t = be_stats_table(&n);
    if (pid <= 0 || !t)
        return false;
    for (size_t k = 0; k < sizeof recent / sizeof *recent; k++)
        if (recent[k] < n && t[recent[k]].pid == pid)
            return true;
    for (size_t i = 0; i < n; i++)
        if (t[i].pid == pid) {
            recent[next++ % (sizeof recent / sizeof *recent)] = i;
            known_note(pid);
            return true;
        }
    return false;
}

static void note_refused(pid_t pid, uid_t uid, const char *why)
{
    refused++;
    uint64_t now = bm_now_ms();
    if (refused_logged_at && now - refused_logged_at < 1000)
        return;
    bx_log_warn("pubsub: %llu datagram(s) refused (latest: %s, from pid %d uid %u; "
                "total %llu)",
                (unsigned long long)(refused - refused_logged), why, (int)pid, (unsigned)uid,
                (unsigned long long)refused);
    refused_logged = refused;
    refused_logged_at = now;
}

/* The sender's pid and uid as the kernel checked them (SO_PASSCRED). False when the
 * datagram carries none or was cut. */
static bool cred_of(struct msghdr *mh, pid_t *pid, uid_t *uid)
{
    *pid = 0;
    *uid = (uid_t)-1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
            c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
            struct ucred uc;
            memcpy(&uc, CMSG_DATA(c), sizeof(uc));
            *pid = uc.pid;
            *uid = uc.uid;
            return !(mh->msg_flags & (MSG_CTRUNC | MSG_TRUNC));
        }
    return false;
}

/* Workers we saw in the table, for GONE_GRACE_MS after they left it. An
 * old worker publishes, hands over its last sessions and exits; the master
 * reaps it and clears its row, and a receiver busy with a hand-off (its
 * queue holds net.unix.max_dgram_qlen datagrams, 10 by default) reads the
 * datagram after that: the kernel stamped it while the sender was our
 * worker, but the table no longer says so, and the line was lost to every
 * session here (ws_survive.py, a chat line in about 1 run of 20 under load,
 * with "not one of our workers" logged). The master clears the row before
 * the pid can be reused; a process of our uid that got the same pid within
 * the grace is the residual risk, and such a process is past the 0700
 * directory already. */
#define GONE_GRACE_MS 2000
#define KNOWN_MAX 64

struct known {
    pid_t pid;
    uint64_t gone_at; /* 0: in the table when last looked */
};
static struct known known[KNOWN_MAX];
static unsigned known_next;

/* pid was found in the table: remembered, in a free or expired entry, else
 * in the oldest one. Called when a sender is found by a full scan of the
 * table (the recent-slot cache hits are senders noted before) and once at
 * start for every live worker: never per datagram. */
static void known_note(pid_t pid)
{
    uint64_t now = bm_now_ms();
    size_t spare = KNOWN_MAX;
    for (size_t k = 0; k < KNOWN_MAX; k++) {
        if (known[k].pid == pid) {
            known[k].gone_at = 0;
            return;
        }
        bool expired = known[k].gone_at && now - known[k].gone_at > GONE_GRACE_MS;
        if (spare == KNOWN_MAX && (!known[k].pid || expired))
            spare = k;
    }
    if (spare == KNOWN_MAX)
        spare = known_next++ % KNOWN_MAX;
    known[spare] = (struct known){pid, 0};
}

static void known_note_table(void)
{
    size_t n;
    const struct bm_worker_stats *t = be_stats_table(&n);
    for (size_t i = 0; t && i < n; i++)
        if (t[i].pid > 0 && t[i].pid != getpid())
            known_note(t[i].pid);
}

/* pid is not in the table (is_peer_worker said so): taken if we saw it
 * there and it left less than GONE_GRACE_MS ago (from the first datagram
 * of it we found missing). */
static bool recently_gone(pid_t pid)
{
    uint64_t now = bm_now_ms();
    for (size_t k = 0; k < KNOWN_MAX; k++)
        if (known[k].pid == pid) {
            if (!known[k].gone_at)
                known[k].gone_at = now;
            return now - known[k].gone_at <= GONE_GRACE_MS;
        }
    return false;
}

/* Only our own uid and a peer worker of this master, or one that was until
 * a moment ago; never ourselves (no loop). */
static bool sender_ok(pid_t pid, uid_t uid)
{
    return uid == geteuid() && pid > 0 && pid != getpid() &&
           (is_peer_worker(pid) || recently_gone(pid));
}

/* Checks one received datagram and delivers it; returns why it was refused, or NULL. */
static const char *take_dgram(size_t n, pid_t origin)
{
    if (n < DGRAM_HDR)
        return "short datagram";
    size_t nl = (size_t)dgram[2] << 8 | dgram[3];
    if (dgram[0] != 'C' || nl == 0 || nl > NAME_MAX_LEN || DGRAM_HDR + nl + 1 > n)
        return "malformed datagram";
    int opcode = dgram[1];
    if (opcode != BM_WS_TEXT && opcode != BM_WS_BINARY)
        return "bad opcode";
    uint64_t seq = bx_get_be64(dgram + 4);
    const uint8_t *data = dgram + DGRAM_HDR + nl;
    size_t len = n - DGRAM_HDR - nl;
    if (opcode == BM_WS_TEXT && !be_utf8_valid(data, len))
        return "text that is not UTF-8";
    char name[NAME_MAX_LEN + 1];
    memcpy(name, dgram + DGRAM_HDR, nl);
    name[nl] = 0;
    be_psx_note((uint64_t)origin, seq, name, opcode, data, len);
    deliver_local(name, opcode, data, len, (uint64_t)origin, seq);
    return NULL;
}

static void on_dgram(int fd, unsigned events, void *arg)
{
    (void)events;
    (void)arg;
    for (int i = 0; i < 256; i++) {
        union {
            struct cmsghdr align;
            char buf[CMSG_SPACE(sizeof(struct ucred))];
        } cbuf;
        struct iovec iov = {dgram, DGRAM_MAX};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = cbuf.buf,
                            .msg_controllen = sizeof(cbuf.buf)};
        ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0)
            return;
        pid_t pid;
        uid_t uid;
        const char *why = !cred_of(&mh, &pid, &uid) ? "no credentials or cut"
                          : !sender_ok(pid, uid)    ? "not one of our workers"
                                                    : take_dgram((size_t)n, pid);
        if (why)
            note_refused(pid, uid, why);
    }
}

static void ps_init(void)
{
    /* With Redis, messages between workers go through it only (pubsub_redis.h). */
    if (ps_fd != -1 || bm_worker_index() < 0 || be_psr_enabled())
        return;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        bx_log_error("pubsub: socket: %s", strerror(errno));
        return;
    }
    int sz = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) == -1) {
        /* Without credentials no datagram could be trusted: no cross-worker delivery. */
        bx_log_error("pubsub: SO_PASSCRED: %s", strerror(errno));
        close(fd);
        return;
    }
    struct sockaddr_un sa;
    socklen_t len = worker_addr(getpid(), &sa);
    if (!len) {
        bx_log_error("pubsub: no socket directory: messages stay in this worker");
        close(fd);
        return;
    }
    /* No stale file to unlink first: the master removes a worker's socket when it
     * reaps it, before the pid can be reused (and a worker needs no unlink). */
    if (bind(fd, (struct sockaddr *)&sa, len) == -1) {
        bx_log_error("pubsub: bind %s: %s", sa.sun_path, strerror(errno));
        close(fd);
        return;
    }
    ps_watch = bm_watch_fd(fd, BM_READ, on_dgram, NULL);
    if (!ps_watch) {
        close(fd);
        return;
    }
    dgram = bx_xmalloc(DGRAM_MAX);
    ps_fd = fd;
    known_note_table(); /* every worker alive now, the old ones that may soon exit too */
}

void be_ps_worker_init(void)
{
    if (be_worker && be_worker->cfg->be.pubsub.redis)
        be_psr_init(&be_worker->cfg->be.pubsub);
    ps_init();
}

void be_ps_deliver_remote(const char *channel, int opcode, const void *data, size_t len,
                          uint64_t origin, uint64_t seq)
{
    deliver_local(channel, opcode, data, len, origin, seq);
}

void be_ps_poll(void)
{
    if (ps_fd != -1)
        on_dgram(ps_fd, BM_READ, NULL);
    if (be_psr_enabled())
        be_psr_poll();
}

/* Our origin id: the pid between the workers of a host, the random id through Redis. */
static uint64_t self_origin(void)
{
    return be_psr_enabled() ? be_psr_origin() : (uint64_t)getpid();
}

void be_ps_each_subscribed(void (*fn)(const char *channel, void *arg), void *arg)
{
    for (size_t b = 0; b < NBUCKETS; b++)
        for (struct be_ps_chan *c = buckets[b]; c; c = c->next)
            if (c->n)
                fn(c->name, arg);
}

void be_ps_count_lost(const char *channel)
{
    struct be_ps_chan *c = find(channel, true);
    c->st.lost_between_workers++;
    log_slow(c);
    maybe_forget(c);
}

static void log_slow(struct be_ps_chan *c)
{
    uint64_t now = bm_now_ms();
    if (now - c->logged_at < 1000 && c->logged_at)
        return;
    uint64_t ds = c->st.skipped_slow - c->skipped_logged;
    uint64_t dd = c->st.dropped_slow - c->dropped_logged;
    uint64_t dl = c->st.lost_between_workers - c->lost_logged;
    if (!ds && !dd && !dl)
        return;
    bx_log_warn("pubsub: channel '%s': %llu messages skipped for slow subscribers, "
                "%llu slow subscribers dropped, %llu messages lost between workers "
                "(totals %llu/%llu/%llu)",
                c->name, (unsigned long long)ds, (unsigned long long)dd, (unsigned long long)dl,
                (unsigned long long)c->st.skipped_slow, (unsigned long long)c->st.dropped_slow,
                (unsigned long long)c->st.lost_between_workers);
    c->logged_at = now;
    c->skipped_logged = c->st.skipped_slow;
    c->dropped_logged = c->st.dropped_slow;
    c->lost_logged = c->st.lost_between_workers;
}

static int send_to_worker(pid_t pid, struct iovec *iov, int n)
{
    struct sockaddr_un sa;
    struct msghdr mh = {0};
    mh.msg_name = &sa;
    mh.msg_namelen = worker_addr(pid, &sa);
    if (!mh.msg_namelen) {
        errno = ENOENT;
        return -1;
    }
    mh.msg_iov = iov;
    mh.msg_iovlen = (size_t)n;
    return sendmsg(ps_fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) == -1 ? -1 : 0;
}

static void retry_pending(struct bx_ev *ev, struct bx_ev_timer *t)
{
    (void)t;
    retry_armed = false;
    while (bx_buf_unread(&pending)) {
        const uint8_t *r = (const uint8_t *)bx_buf_rpos(&pending);
        uint32_t idx, len;
        memcpy(&idx, r, 4);
        memcpy(&len, r + 4, 4);
        struct iovec iov = {(void *)(r + 8), len};
        if (send_to_worker((pid_t)idx, &iov, 1) == -1 && (errno == EAGAIN || errno == ENOBUFS))
            break; /* still full: try again in a millisecond */
        bx_buf_consume(&pending, 8 + (size_t)len);
    }
    if (bx_buf_unread(&pending)) {
        bx_ev_timer_start(ev, &retry_timer, 1);
        retry_armed = true;
    } else if (pending.cap > PENDING_MAX) {
        bx_buf_free(&pending);
    }
}

static void queue_for_retry(const char *channel, uint32_t idx, const struct iovec *iov, int n)
{
    uint32_t len = 0;
    for (int k = 0; k < n; k++)
        len += (uint32_t)iov[k].iov_len;
    if (bx_buf_unread(&pending) + len > PENDING_MAX) {
        /* That worker is not keeping up at all: counted and logged, never silent. */
        struct be_ps_chan *lc = find(channel, true);
        lc->st.lost_between_workers++;
        log_slow(lc);
        maybe_forget(lc);
        return;
    }
    bx_buf_append(&pending, &idx, 4);
    bx_buf_append(&pending, &len, 4);
    for (int k = 0; k < n; k++)
        bx_buf_append(&pending, iov[k].iov_base, iov[k].iov_len);
    if (!retry_armed) {
        bx_ev_timer_init(&retry_timer, retry_pending, NULL);
        bx_ev_timer_start(be_worker->ev, &retry_timer, 1);
        retry_armed = true;
    }
}

/* ---- delivery ----------------------------------------------------------------------------- */

/* Who published a message: the origin worker and its sequence number
 * (0, 0: unknown, e.g. through Redis). */
struct origin {
    uint64_t pid;
    uint64_t seq;
};

static int deliver_to(struct be_ps_chan *c, int opcode, const void *data, size_t len,
                      const struct bm_ws *except, struct origin o, struct bm_ws ***drop,
                      size_t *ndrop, size_t *dropcap)
{
    int reached = 0;
    for (size_t i = 0; i < c->n; i++) {
        struct bm_ws *ws = c->subs[i]->ws;
        if (ws == except || ws->state != BE_WS_OPEN || ws->c->closed ||
            be_psx_skip(ws, o.pid, o.seq))
            continue;
        if (be_ws_pending_bytes(ws) > ws->opt->send_high_watermark) {
            if (c->policy == BM_SLOW_DROP) {
                if (*ndrop == *dropcap) {
                    *dropcap = *dropcap ? *dropcap * 2 : 8;
                    *drop = bx_xrealloc(*drop, *dropcap * sizeof(**drop));
                }
                (*drop)[(*ndrop)++] = ws;
                c->st.dropped_slow++;
            } else {
                c->st.skipped_slow++;
            }
            continue;
        }
        if (bm_ws_send(ws, opcode, data, len) == 0) {
            reached++;
            c->st.delivered++;
            be_conn_flush(ws->c);
        }
    }
    return reached;
}

static void deliver_local(const char *name, int opcode, const void *data, size_t len,
                          uint64_t origin, uint64_t seq)
{
    struct be_ps_chan *c = find(name, false);
    if (!c)
        return;
    struct bm_ws **drop = NULL;
    size_t ndrop = 0, dropcap = 0;
    deliver_to(c, opcode, data, len, NULL, (struct origin){origin, seq}, &drop, &ndrop, &dropcap);
    /* Closing runs module callbacks that may unsubscribe: not while iterating. */
    unsigned code = c->close_code;
    char reason[64];
    snprintf(reason, sizeof(reason), "too slow for channel %.40s", name);
    for (size_t i = 0; i < ndrop; i++)
        be_ws_fail(drop[i], code, reason);
    free(drop);
    if ((c = find(name, false)) != NULL)
        log_slow(c);
}

int bm_publish(const char *channel, int opcode, const void *data, size_t len,
               const struct bm_ws *except_ws)
{
    size_t nl = strlen(channel);
    if (nl == 0 || nl > NAME_MAX_LEN || (opcode != BM_WS_TEXT && opcode != BM_WS_BINARY))
        return -1;
    ps_init();
    struct be_ps_chan *c = find(channel, false);
    int reached = 0;
    uint64_t seq = ++my_seq;
    if (len <= BM_PUBLISH_MAX)
        be_psx_note(self_origin(), seq, channel, opcode, data, len);
    if (c) {
        c->st.published++;
        struct bm_ws **drop = NULL;
        size_t ndrop = 0, dropcap = 0;
        reached = deliver_to(c, opcode, data, len, except_ws, (struct origin){self_origin(), seq},
                             &drop, &ndrop, &dropcap);
        char reason[64];
        snprintf(reason, sizeof(reason), "too slow for channel %.40s", channel);
        unsigned code = c->close_code;
        for (size_t i = 0; i < ndrop; i++)
            be_ws_fail(drop[i], code, reason);
        free(drop);
    }
    if (ps_fd == -1 && !be_psr_enabled())
        return reached;
    if (len > BM_PUBLISH_MAX) {
        bx_log_warn("pubsub: channel '%s': %zu-byte message not sent to other workers "
                    "(limit %d)",
                    channel, len, BM_PUBLISH_MAX);
        return -1;
    }
    if (be_psr_enabled()) {
        if (be_psr_publish(channel, opcode, seq, data, len) == -1)
            return -1;
        if ((c = find(channel, false)) != NULL)
            log_slow(c);
        return reached;
    }
    uint8_t hdr[DGRAM_HDR] = {'C', (uint8_t)opcode, (uint8_t)(nl >> 8), (uint8_t)nl};
    bx_put_be64(hdr + 4, seq);
    struct iovec iov[3] = {{hdr, DGRAM_HDR}, {(void *)channel, nl}, {(void *)data, len}};
    struct bm_worker_stats w[64];
    size_t nw = bm_worker_stats(w, sizeof(w) / sizeof(*w));
    pid_t me = getpid();
    for (size_t i = 0; i < nw && i < sizeof(w) / sizeof(*w); i++) {
        if (w[i].pid == 0 || w[i].pid == me)
            continue;
        /* Behind queued datagrams a new one waits too: order is kept. */
        int rc = bx_buf_unread(&pending) ? -1 : send_to_worker(w[i].pid, iov, 3);
        if (rc == -1 && (bx_buf_unread(&pending) || errno == EAGAIN || errno == ENOBUFS))
            queue_for_retry(channel, (uint32_t)w[i].pid, iov, 3);
        /* ECONNREFUSED / ENOENT: that worker has no subscriber at all. */
    }
    if ((c = find(channel, false)) != NULL)
        log_slow(c);
    return reached;
}

/* ---- subscriptions ------------------------------------------------------------------------ */

int bm_ws_subscribe(struct bm_ws *ws, const char *channel)
{
    size_t nl = strlen(channel);
    if (nl == 0 || nl > NAME_MAX_LEN || ws->state != BE_WS_OPEN)
        return -1;
    for (struct be_ps_sub *s = ws->subs; s; s = s->next)
        if (!strcmp(s->ch->name, channel))
            return 0;
    ps_init();
    struct be_ps_chan *c = find(channel, true);
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 8;
        c->subs = bx_xrealloc(c->subs, c->cap * sizeof(*c->subs));
    }
    struct be_ps_sub *s = bx_xcalloc(1, sizeof(*s));
    s->ch = c;
    s->ws = ws;
    s->idx = c->n;
    c->subs[c->n++] = s;
    c->st.subscribers = c->n;
    s->next = ws->subs;
    ws->subs = s;
    if (c->n == 1)
        be_psr_subscribe(channel);
    return 0;
}

static void remove_sub(struct be_ps_sub *s)
{
    struct be_ps_chan *c = s->ch;
    c->subs[s->idx] = c->subs[--c->n];
    c->subs[s->idx]->idx = s->idx;
    c->st.subscribers = c->n;
    free(s);
    if (c->n == 0)
        be_psr_unsubscribe(c->name);
    maybe_forget(c);
}

int bm_ws_unsubscribe(struct bm_ws *ws, const char *channel)
{
    for (struct be_ps_sub **pp = &ws->subs; *pp; pp = &(*pp)->next) {
        if (!strcmp((*pp)->ch->name, channel)) {
            struct be_ps_sub *s = *pp;
            *pp = s->next;
            remove_sub(s);
            return 0;
        }
    }
    return -1;
}

uint32_t be_ps_subs_encode(const struct bm_ws *ws, struct bx_buf *b, uint32_t max)
{
    uint32_t n = 0;
    for (const struct be_ps_sub *s = ws->subs; s && n < max; s = s->next, n++) {
        size_t nl = strlen(s->ch->name);
        uint8_t x[4] = {(uint8_t)(nl >> 24), (uint8_t)(nl >> 16), (uint8_t)(nl >> 8), (uint8_t)nl};
        bx_buf_append(b, x, 4);
        bx_buf_append(b, s->ch->name, nl);
    }
    return n;
}

bool be_ps_subscribed(const struct bm_ws *ws, const char *channel)
{
    for (const struct be_ps_sub *s = ws->subs; s; s = s->next)
        if (!strcmp(s->ch->name, channel))
            return true;
    return false;
}

void be_ps_unsubscribe_all(struct bm_ws *ws)
{
    be_psx_forget(ws);
    while (ws->subs) {
        struct be_ps_sub *s = ws->subs;
        ws->subs = s->next;
        remove_sub(s);
    }
}

void bm_channel_policy(const char *channel, enum bm_slow_policy policy, unsigned close_code)
{
    if (strlen(channel) == 0 || strlen(channel) > NAME_MAX_LEN)
        return;
    struct be_ps_chan *c = find(channel, true);
    c->policy = policy;
    c->close_code = be_ws_close_code_valid(close_code) ? close_code : BE_WS_CLOSE_POLICY;
    c->configured = true;
}

bool bm_channel_stats(const char *channel, struct bm_channel_stats *out)
{
    struct be_ps_chan *c = find(channel, false);
    if (!c)
        return false;
    *out = c->st;
    return true;
}
