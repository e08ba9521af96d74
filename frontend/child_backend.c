/* SPDX-License-Identifier: BSD-2-Clause */
/* A frontend child's backend side: picks a member of the vhost's pool (the
 * least busy that is up, skipping what this child saw fail), connects with
 * retries through a backend restart, sends the PROXY v2 header, relays, and
 * replays a GET or HEAD a backend dropped unanswered; the relay's hand-off
 * hook offers an idle connection to a lean child. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/cfg.h"
#include "common/log.h"
#include "common/net.h"
#include "common/proc.h"
#include "common/proxy.h"
#include "frontend/child_int.h"
#include "frontend/lean.h"
#include "frontend/lifeline.h"
#include "frontend/pool.h"
#include "frontend/scoreboard.h"

/* A request that may be sent again when the backend dropped it unanswered
 * (and nothing read after it that the relay consumed). */
static bool replayable(const struct conn *c)
{
    if (c->use_rec && c->cinlen)
        return false;
    return (c->firstlen > 4 && memcmp(c->first, "GET ", 4) == 0) ||
           (c->firstlen > 5 && memcmp(c->first, "HEAD ", 5) == 0);
}

/* Connects to one backend: 0 with *out, -1 with the cause in err, or -2
 * when a Unix backend's backlog is full (up, but cannot take us now). */
static int connect_member(const struct conn *c, const struct bx_baddr *a, int *out, char *err,
                          size_t errlen)
{
    if (a->kind == BX_BADDR_TCP) {
        int fd = bx_connect_tcp((const struct sockaddr *)&a->ss, a->sslen, a->text, err, errlen);
        if (fd == -1)
            return -1;
        if (bx_connect_wait(fd, c->cfg->fe.backend_connect_timeout_ms, a->text, err, errlen) ==
            -1) {
            close(fd);
            return -1;
        }
        *out = fd;
        return 0;
    }
    int fd = bx_connect_unix(a->path, err, errlen);
    if (fd == -1)
        return -1;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
        *out = fd;
        return 0;
    }
    snprintf(err, errlen, "unix:%s: backlog full", a->path);
    close(fd);
    return -2;
}

/* Until when each pool member (by its table index) is down in this child's
 * own experience: its next clients skip it even before the master's probe
 * has confirmed it. Private memory. */
static uint64_t local_down_until[BX_SB_POOL_MAX];

static uint32_t local_avoid(const struct conn *c, const struct bx_vhost *v)
{
    uint32_t avoid = 0;
    uint64_t now = bx_now_ms();
    for (size_t k = 0; k < v->npool; k++) {
        int idx = fe_pool_index(c->cfg, v, k);
        if (idx >= 0 && local_down_until[idx] > now)
            avoid |= 1u << k;
    }
    return avoid;
}

/* Member k of v failed: skipped here for backend_down_time, and reported
 * in our slot so that the master probes it now (pool.h). */
static void member_failed(const struct conn *c, const struct bx_vhost *v, size_t k)
{
    int idx = fe_pool_index(c->cfg, v, k);
    if (idx < 0)
        return;
    local_down_until[idx] = bx_now_ms() + (uint64_t)c->cfg->fe.backend_down_ms;
    struct bx_sb_slot *s = c->env->slot;
    __atomic_store_n(&s->fail_member, (uint32_t)idx + 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&s->fail_seq, 1, __ATOMIC_RELEASE);
    uint64_t one = 1;
    if (write(c->env->notify_fd, &one, sizeof one) == -1) {
        /* the master reads the reports on its timer anyway */
    }
}

static void log_member_failed(const struct conn *c, const struct bx_vhost *v, const char *err)
{
    char line[BX_ERRLEN + 256];
    snprintf(line, sizeof line,
             "client %s id %s vhost %s: backend failed: %s; trying another "
             "member",
             c->who, c->id, v->name, err);
    fe_refuse_log(FE_REFUSE_POOL, line);
}

/* Ties between equally busy members are broken by the connection id, so
 * that clients in a row spread even when the same few slots serve them. */
static size_t conn_hash(const char *id)
{
    size_t h = 2166136261u;
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 16777619u;
    return h;
}

/* Connects to a member of the vhost's pool (pool.h: the least busy that is
 * up), trying the next at once when one fails, and rounds of every member
 * for backend_retry_ms so a backend restart does not fail clients. skip:
 * members not to use for this client while another is left (one that
 * dropped its request). Returns the fd and *member, or -1 (err: the last
 * cause, naming the backend). */
static int connect_backend(struct conn *c, const struct bx_vhost *v, uint32_t skip, int *member,
                           char *err, size_t errlen)
{
    uint64_t deadline = bx_now_ms() + (uint64_t)c->cfg->fe.backend_retry_ms;
    unsigned delay = 5;
    uint32_t tried = skip;
    bool attempted = false, any_down = false;
    for (;;) {
        int k = fe_pool_pick(c->env->sb, c->cfg, c->env->gen->id, v, tried, local_avoid(c, v),
                             conn_hash(c->id));
        if (k < 0) {
            /* Every member tried this round. Full backlogs only: answer at
             * once (waiting would make the client hang); else try again. */
            if (attempted && !any_down)
                return -1;
            uint64_t now = bx_now_ms();
            if (attempted && now + delay > deadline)
                return -1;
            if (attempted) {
                struct timespec ts = {0, (long)delay * 1000000L};
                nanosleep(&ts, NULL);
                delay = delay * 2 > 100 ? 100 : delay * 2;
            }
            tried = 0;
            attempted = any_down = false;
            continue;
        }
        int idx = fe_pool_index(c->cfg, v, (size_t)k);
        __atomic_store_n(&c->env->slot->member, (uint32_t)(idx + 1), __ATOMIC_RELAXED);
        int fd, r = connect_member(c, &v->pool[k], &fd, err, errlen);
        if (r == 0) {
            *member = k;
            bx_log_debug("client %s id %s vhost %s: backend %s", c->who, c->id, v->name,
                         v->pool[k].text);
            return fd;
        }
        tried |= 1u << k;
        attempted = true;
        if (r == -1) {
            any_down = true;
            if (v->npool > 1)
                member_failed(c, v, (size_t)k);
        }
        if (v->npool > 1)
            log_member_failed(c, v, err);
    }
}

static int send_proxy_v2(struct conn *c, int bfd)
{
    struct bx_proxy_info pi;
    memset(&pi, 0, sizeof pi);
    pi.version = 2;
    pi.src = c->client;
    pi.srclen = c->clientlen;
    pi.dst = c->local;
    pi.dstlen = c->locallen;
    size_t idlen = strlen(c->id);
    memcpy(pi.unique_id, c->id, idlen);
    pi.unique_id_len = idlen;
    if (c->ssl) {
        const unsigned char *alpn;
        unsigned alen;
        pi.ssl = true;
        snprintf(pi.authority, sizeof pi.authority, "%s", c->tc.sni);
        SSL_get0_alpn_selected(c->ssl, &alpn, &alen);
        if (alen && alen < sizeof pi.alpn) {
            memcpy(pi.alpn, alpn, alen);
            pi.alpn[alen] = '\0';
        }
        snprintf(pi.ssl_version, sizeof pi.ssl_version, "%s", SSL_get_version(c->ssl));
        snprintf(pi.ssl_cipher, sizeof pi.ssl_cipher, "%s", SSL_get_cipher_name(c->ssl));
    }
    unsigned char hdr[BX_PROXY_V2_MAX_OUT];
    size_t len = bx_proxy_encode_v2(hdr, sizeof hdr, &pi);
    if (len == 0)
        return -1;
    /* A fresh Unix socket has room for this; wait briefly if it does not. */
    size_t off = 0;
    uint64_t deadline = bx_now_ms() + 1000;
    while (off < len) {
        ssize_t n = write(bfd, hdr + off, len - off);
        if (n > 0)
            off += (size_t)n;
        else if ((n == -1 && errno != EAGAIN && errno != EINTR) ||
                 !fe_child_wait_fd(bfd, POLLOUT, deadline))
            return -1;
    }
    return 0;
}

/* The relay's hand-off hook: offers the idle connection to the master for a
 * lean child (lean.h). Only when both sides are open and nothing is
 * buffered, which the relay has checked. */
static int handoff_to_lean(struct fe_relay *r, void *arg)
{
    struct conn *c = arg;
    if (c->env->handoff_fd < 0 || (c->ssl && !c->use_rec))
        return -1;
    struct fe_handoff h;
    memset(&h, 0, sizeof h);
    h.magic = FE_HANDOFF_MAGIC;
    h.slot = (uint32_t)c->env->slot_index;
    if (c->use_rec) {
        h.tls = 1;
        if (fe_tlsrec_export(&c->rec, &h.keys) == -1)
            return -1;
        snprintf(h.version, sizeof h.version, "%s", SSL_get_version(c->ssl));
    }
    h.idle_ms = r->idle_ms;
    h.stall_ms = r->stall_ms;
    h.in = r->in;
    h.out = r->out;
    h.last_io_ms = r->last_io;
    h.start_ms = c->start_ms;
    snprintf(h.who, sizeof h.who, "%s", c->who);
    snprintf(h.id, sizeof h.id, "%s", c->id);
    snprintf(h.vhost, sizeof h.vhost, "%s", c->cfg->vhosts[c->vhost].name);
    pid_t lean = fe_handoff_send(c->env->handoff_fd, &h, r->cfd, r->bfd, -1);
    OPENSSL_cleanse(&h, sizeof h);
    if (lean <= 0)
        return -1;
    c->handed = true;
    bx_log_debug("client %s id %s: idle, handed to lean relay %d", c->who, c->id, (int)lean);
    return 0;
}

/* Connects to the vhost's backend and relays until the end, sending the
 * request again (up to three times) when a backend on its way out dropped
 * it unanswered, to another pool member when there is one. False when the
 * client got an error page instead. */
bool fe_child_relay_to_backend(struct conn *c, const struct bx_vhost *v, struct fe_relay *rl)
{
    const struct bx_frontend_conf *fe = &c->cfg->fe;
    char err[BX_ERRLEN];
    uint32_t skip = 0;
    for (int attempt = 0;; attempt++) {
        int k = 0;
        int bfd = connect_backend(c, v, skip, &k, err, sizeof err);
        if (bfd == -1) {
            char line[BX_ERRLEN + 256];
            snprintf(line, sizeof line, "client %s id %s vhost %s: backend unreachable: %s; 503",
                     c->who, c->id, v->name, err);
            fe_refuse_log(FE_REFUSE_BACKEND, line);
            fe_child_send_page(c, 503, "Service Unavailable", "The backend is not reachable.");
            return false;
        }
        if (send_proxy_v2(c, bfd) == -1) {
            close(bfd);
            skip |= 1u << k;
            if (attempt < 3)
                continue; /* dropped by a backend on its way out: try the next one */
            char line[BX_ERRLEN + 256];
            snprintf(line, sizeof line,
                     "client %s id %s vhost %s: cannot send the PROXY header "
                     "to %s: 502",
                     c->who, c->id, v->name, v->pool[k].text);
            fe_refuse_log(FE_REFUSE_BACKEND, line);
            fe_child_send_page(c, 502, "Bad Gateway", "The backend is not reachable.");
            return false;
        }
        fe_slot_set(c->env->slot, FE_SLOT_RELAY);
        fe_lifeline_relay_fd(bfd);
        *rl = (struct fe_relay){
            .cfd = c->fd,
            .bfd = bfd,
            .ssl = c->use_rec ? NULL : c->ssl,
            .rec = c->use_rec ? &c->rec : NULL,
            .cpre = c->cin,
            .cprelen = c->cinlen,
            .idle_ms = fe->idle_timeout_ms,
            .stall_ms = fe->stall_timeout_ms,
            .slot = c->env->slot,
            .pre = c->first,
            .prelen = c->firstlen,
            .handoff = handoff_to_lean,
            .handoff_arg = c,
        };
        fe_relay_run(rl);
        fe_lifeline_relay_fd(-1);
        close(bfd);
        if (rl->no_fds) {
            fe_child_log_refused(FE_REFUSE_FD_LIMIT, c,
                                 "no descriptor for the relay (Too many open "
                                 "files): 503");
            fe_child_send_page(c, 503, "Service Unavailable",
                               "The server is busy, please try again.");
            return false;
        }
        /* A backend that stops drops what it accepted but never read: nothing
         * reached the client, so a GET or HEAD can go to the next backend. */
        if (!rl->unanswered || attempt >= 3 || !replayable(c) || fe_lifeline_end_asked())
            return true;
        skip |= 1u << k;
        if (v->npool > 1)
            member_failed(c, v, (size_t)k); /* the master probes it now */
        bx_log_notice("client %s id %s vhost %s: backend %s closed before answering; sending "
                      "the request again%s",
                      c->who, c->id, v->name, v->pool[k].text,
                      v->npool > 1 ? " to another member" : "");
    }
}

void fe_child_log_relay_end(const struct conn *c, const struct bx_vhost *v,
                            const struct fe_relay *rl)
{
    bx_log_info("client %s id %s vhost %s%s%s%s%s: relay %s, %llu bytes in, %llu out, %llums, %s",
                c->who, c->id, v->name, c->ssl ? " " : "", c->ssl ? SSL_get_version(c->ssl) : "",
                c->ssl && c->tc.sni[0] ? " sni" : "",
                c->ssl && SSL_session_reused(c->ssl) ? " resumed" : "", rl->path,
                (unsigned long long)rl->in, (unsigned long long)rl->out,
                (unsigned long long)(bx_now_ms() - c->start_ms),
                fe_lifeline_end_asked() ? "ended by the master (reload limits)" : rl->end);
}
