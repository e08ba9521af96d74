/* SPDX-License-Identifier: BSD-2-Clause */
/* The master's side of the backend pools (pool.h): the table in the
 * scoreboard header, the children's failure reports, and the probes. A
 * probe is a non-blocking connect watched by an epoll of its own (the
 * master's loop watches that one descriptor), so the master never waits on
 * a backend host. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/net.h"
#include "common/proc.h"
#include "common/proxy.h"
#include "common/ratelimit.h"
#include "frontend/pool.h"
#include "frontend/scoreboard.h"

struct member {
    struct bx_baddr addr;
    char vhosts[160];           /* "a, b": the vhosts it serves, for the log */
    int fd;                     /* probe in progress, or -1 */
    bool hinted;                /* a child reported a failure: probe it now */
    bool probed;                /* in a pool of two or more somewhere: its state matters */
    uint64_t probe_start, next_probe, down_until;
};

struct fe_pool {
    int ep;
    struct bx_sb_pool *table;
    const struct bx_config *cfg;
    unsigned gen;
    size_t n;
    struct member m[BX_SB_POOL_MAX];
    size_t nslots;
    uint32_t *seen_seq;         /* per slot: the last failure report taken */
    struct bx_ratelimit rl;
};

struct fe_pool *fe_pool_create(size_t nslots)
{
    struct fe_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->seen_seq = calloc(nslots ? nslots : 1, sizeof *p->seen_seq);
    p->ep = epoll_create1(EPOLL_CLOEXEC);
    if (!p->seen_seq || p->ep == -1) {
        if (p->ep >= 0)
            close(p->ep);
        free(p->seen_seq);
        free(p);
        return NULL;
    }
    p->nslots = nslots;
    for (size_t i = 0; i < BX_SB_POOL_MAX; i++)
        p->m[i].fd = -1;
    return p;
}

static void probe_end(struct fe_pool *p, struct member *m)
{
    if (m->fd >= 0) {
        epoll_ctl(p->ep, EPOLL_CTL_DEL, m->fd, NULL);
        close(m->fd);
    }
    m->fd = -1;
}

void fe_pool_destroy(struct fe_pool *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        probe_end(p, &p->m[i]);
    close(p->ep);
    free(p->seen_seq);
    free(p);
}

void fe_pool_forked(struct fe_pool *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        if (p->m[i].fd >= 0)
            close(p->m[i].fd);
    close(p->ep);
}

size_t fe_pool_fds(const struct fe_pool *p, int *out, size_t max)
{
    size_t n = 0;
    if (n < max)
        out[n++] = p->ep;
    for (size_t i = 0; i < p->n && n < max; i++)
        if (p->m[i].fd >= 0)
            out[n++] = p->m[i].fd;
    return n;
}

int fe_pool_fd(const struct fe_pool *p)
{
    return p->ep;
}

/* "a, b": the vhosts member m serves. True when one of them has a pool of
 * two or more: only then is it probed (a lone backend is tried whatever
 * its state, and is not sent connections it did not ask for). */
static bool name_vhosts(const struct bx_config *cfg, const struct bx_baddr *a, char *out,
                        size_t outlen)
{
    bool pooled = false;
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < cfg->nvhosts; i++)
        for (size_t k = 0; k < cfg->vhosts[i].npool; k++) {
            if (!bx_baddr_equal(&cfg->vhosts[i].pool[k], a))
                continue;
            pooled |= cfg->vhosts[i].npool > 1;
            int w = snprintf(out + len, outlen - len, "%s%s", len ? ", " : "", cfg->vhosts[i].name);
            if (w < 0 || (size_t)w >= outlen - len)
                len = outlen - 1; /* cut: the first names are enough for a log line */
            else
                len += (size_t)w;
        }
    return pooled;
}

void fe_pool_configure(struct fe_pool *p, struct bx_sb_pool *table, const struct bx_config *cfg,
                       unsigned gen)
{
    struct member old[BX_SB_POOL_MAX];
    struct bx_sb_member oldt[BX_SB_POOL_MAX];
    size_t nold = p->n;
    memcpy(old, p->m, sizeof old);
    memcpy(oldt, table->m, sizeof oldt);
    size_t n = 0;
    for (size_t i = 0; i < cfg->nvhosts; i++)
        for (size_t k = 0; k < cfg->vhosts[i].npool; k++) {
            int idx = fe_pool_index(cfg, &cfg->vhosts[i], k);
            if (idx < 0 || (size_t)idx != n)
                continue; /* named before, or beyond the table */
            struct member *m = &p->m[n];
            struct bx_sb_member *t = &table->m[n];
            memset(m, 0, sizeof *m);
            memset(t, 0, sizeof *t);
            m->addr = cfg->vhosts[i].pool[k];
            m->fd = -1;
            for (size_t j = 0; j < nold; j++)
                if (bx_baddr_equal(&old[j].addr, &m->addr)) {
                    /* the same backend: its state, counters and probe go on */
                    m->fd = old[j].fd;
                    m->probe_start = old[j].probe_start;
                    m->next_probe = old[j].next_probe;
                    m->down_until = old[j].down_until;
                    old[j].fd = -1;
                    *t = oldt[j];
                    if (m->fd >= 0) {
                        struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)n};
                        epoll_ctl(p->ep, EPOLL_CTL_MOD, m->fd, &ev);
                    }
                }
            if (!t->since_ms)
                t->since_ms = bx_now_ms(); /* new: up since now */
            m->probed = name_vhosts(cfg, &m->addr, m->vhosts, sizeof m->vhosts);
            snprintf(t->addr, sizeof t->addr, "%s", m->addr.text);
            n++;
        }
    for (size_t j = 0; j < nold; j++)
        probe_end(p, &old[j]); /* backends no longer named */
    p->n = n;
    p->cfg = cfg;
    p->gen = gen;
    p->table = table;
    table->nmembers = (uint32_t)n;
    __atomic_store_n(&table->generation, gen, __ATOMIC_RELEASE);
}

/* The end of a probe of member i: err NULL when it connected. Only these
 * change a member's state: a child's report only asks for a probe. */
static void probe_result(struct fe_pool *p, size_t i, const char *err, uint64_t now)
{
    struct member *m = &p->m[i];
    struct bx_sb_member *t = &p->table->m[i];
    const struct bx_frontend_conf *fe = &p->cfg->fe;
    probe_end(p, m);
    m->next_probe = now + (uint64_t)fe->backend_check_interval_ms;
    uint32_t state = __atomic_load_n(&t->state, __ATOMIC_RELAXED);
    if (!err) {
        if (state != BX_SB_MEMBER_UP && now >= m->down_until) {
            __atomic_store_n(&t->state, BX_SB_MEMBER_UP, __ATOMIC_RELEASE);
            t->since_ms = now;
            bx_log_notice("vhost %s: backend %s is up again (probe connected)", m->vhosts,
                          m->addr.text);
        }
        return;
    }
    t->failures++;
    if (state != BX_SB_MEMBER_UP)
        return;
    __atomic_store_n(&t->state, BX_SB_MEMBER_DOWN, __ATOMIC_RELEASE);
    t->since_ms = now;
    m->down_until = now + (uint64_t)fe->backend_down_ms;
    uint64_t more = 0;
    if (bx_ratelimit_pass(&p->rl, now, &more))
        bx_log_error("vhost %s: backend %s is down (%s); new clients go to the other members "
                     "for %d ms at least%s",
                     m->vhosts, m->addr.text, err, fe->backend_down_ms,
                     more ? " (more members went down, not logged)" : "");
}

/* A probe that connected: the PROXY v2 LOCAL command (a health check by
 * the protocol's definition) so that the backend does not log a client
 * without a header, then close. */
static void probe_connected(struct fe_pool *p, size_t i, uint64_t now)
{
    struct member *m = &p->m[i];
    int e = 0;
    socklen_t el = sizeof e;
    if (getsockopt(m->fd, SOL_SOCKET, SO_ERROR, &e, &el) == -1)
        e = errno;
    if (e) {
        char err[BX_ERRLEN];
        snprintf(err, sizeof err, "probe: cannot connect to %s: %s", m->addr.text, strerror(e));
        probe_result(p, i, err, now);
        return;
    }
    struct bx_proxy_info pi;
    memset(&pi, 0, sizeof pi);
    pi.version = 2;
    pi.local = true;
    unsigned char hdr[BX_PROXY_V2_MAX_OUT];
    size_t len = bx_proxy_encode_v2(hdr, sizeof hdr, &pi);
    if (len && send(m->fd, hdr, len, MSG_DONTWAIT | MSG_NOSIGNAL) == -1) {
        /* connected is what the probe asks; the header is a courtesy */
    }
    probe_result(p, i, NULL, now);
}

/* Starts a probe of m: a non-blocking connect. */
static void probe_start(struct fe_pool *p, size_t i, uint64_t now)
{
    struct member *m = &p->m[i];
    char err[BX_ERRLEN];
    m->hinted = false;
    m->probe_start = now;
    m->fd = m->addr.kind == BX_BADDR_TCP
                ? bx_connect_tcp((struct sockaddr *)&m->addr.ss, m->addr.sslen, m->addr.text, err,
                                 sizeof err)
                : bx_connect_unix(m->addr.path, err, sizeof err);
    if (m->fd == -1) {
        probe_result(p, i, err, now);
        return;
    }
    struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)i};
    if (epoll_ctl(p->ep, EPOLL_CTL_ADD, m->fd, &ev) == -1)
        probe_end(p, m); /* tried again at the next interval */
}

/* Children's failure reports: each asks for a probe of that member now. */
static void take_reports(struct fe_pool *p, struct fe_scoreboard *sb)
{
    size_t n = sb->nslots < p->nslots ? sb->nslots : p->nslots;
    for (size_t i = 0; i < n; i++) {
        const struct bx_sb_slot *s = fe_sb_slot(sb, i);
        uint32_t seq = __atomic_load_n(&s->fail_seq, __ATOMIC_ACQUIRE);
        if (seq == p->seen_seq[i])
            continue;
        p->seen_seq[i] = seq;
        uint32_t fm = __atomic_load_n(&s->fail_member, __ATOMIC_RELAXED);
        if (s->generation == p->gen && fm >= 1 && fm <= p->n)
            p->m[fm - 1].hinted = true;
    }
}

static void count_conns(struct fe_pool *p, const struct fe_scoreboard *sb)
{
    uint32_t cnt[BX_SB_POOL_MAX] = {0};
    fe_pool_count(sb, p->gen, cnt);
    for (size_t i = 0; i < p->n; i++)
        __atomic_store_n(&p->table->m[i].conns, cnt[i], __ATOMIC_RELAXED);
}

void fe_pool_tick(struct fe_pool *p, struct fe_scoreboard *sb, uint64_t now)
{
    if (!p->table || !p->cfg)
        return;
    struct epoll_event evs[BX_SB_POOL_MAX];
    int ne = epoll_wait(p->ep, evs, BX_SB_POOL_MAX, 0);
    for (int e = 0; e < ne; e++)
        if (evs[e].data.u32 < p->n && p->m[evs[e].data.u32].fd >= 0)
            probe_connected(p, evs[e].data.u32, now);
    take_reports(p, sb);
    const struct bx_frontend_conf *fe = &p->cfg->fe;
    for (size_t i = 0; i < p->n; i++) {
        struct member *m = &p->m[i];
        if (m->fd >= 0 && now - m->probe_start >= (uint64_t)fe->backend_connect_timeout_ms) {
            char err[BX_ERRLEN];
            snprintf(err, sizeof err, "probe: cannot connect to %s: timed out after %d ms",
                     m->addr.text, fe->backend_connect_timeout_ms);
            probe_result(p, i, err, now);
        }
        bool up = __atomic_load_n(&p->table->m[i].state, __ATOMIC_RELAXED) == BX_SB_MEMBER_UP;
        if (m->fd < 0 && m->probed && ((m->hinted && up) || now >= m->next_probe))
            probe_start(p, i, now);
        m->hinted = false;
    }
    count_conns(p, sb);
}
