/* SPDX-License-Identifier: BSD-2-Clause */
/* The frontend master's generations: one per configuration loaded, each
 * with its listeners (kept across a reload where a service stays), its TLS
 * contexts (keys loaded by the key process), and whether Host must be read.
 * A reload makes the next generation and retires the idle children of the
 * old ones; the reload limits end the clients of children too far behind. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/cfg.h"
#include "common/cli.h"
#include "common/listeners.h"
#include "common/log.h"
#include "common/net.h"
#include "frontend/child.h"
#include "frontend/keyctl.h"
#include "frontend/lifeline.h"
#include "frontend/master_int.h"
#include "frontend/pool.h"
#include "frontend/scoreboard.h"
#include "frontend/ticketkey.h"
#include "frontend/tls.h"
#include "frontend/waitroom.h"

void fe_master_gen_free(struct fe_gen *g, bool free_cfg)
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
    struct bx_lbind how = {.backlog = LISTEN_BACKLOG,
                           .wait_ms = old ? 0 : BIND_WAIT_MS,
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

struct fe_gen *fe_master_gen_build(struct master *m, struct bx_config *cfg,
                                   const struct fe_gen *old, unsigned id, char *err, size_t errlen)
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
    fe_master_gen_free(g, false);
    return NULL;
}

void fe_master_gen_attach_waitroom(const struct master *m, struct fe_gen *g, bool on)
{
    if (m->wr_child < 0)
        return;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = FE_WAITROOM_TAG};
    epoll_ctl(g->accept_ep, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, m->wr_child, &ev);
}

/* ---- reload, limits on old generations ---------------------------------- */

void fe_master_reload(struct master *m)
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
    if (fe_master_tickets_load(cfg, &secret, "reload: keeping the running configuration: ") == -1) {
        bx_config_free(cfg);
        free(cfg);
        return;
    }
    struct fe_gen *g = fe_master_gen_build(m, cfg, m->gen, m->next_gen, err, sizeof err);
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
    if ((secret || m->secret) && fe_master_tickets_apply(m, secret, cfg) == -1) {
        bx_log_error("reload: cannot make session ticket keys: the running ones stay");
        fe_ticket_secret_free(secret);
    }
    if ((size_t)cfg->fe.max_children > m->slots.n)
        bx_log_warn("reload: max_children %d above the %zu slots made at start; a restart "
                    "applies it",
                    cfg->fe.max_children, m->slots.n);
    fe_master_watch_listeners(m, false);
    struct fe_gen *old = m->gen;
    g->id = m->next_gen++;
    m->superseded_ms[old->id % MAX_GENS] = bx_now_ms();
    m->gen = g;
    fe_pool_configure(m->pool, &m->sb->hdr->pool, cfg, g->id);
    fe_master_gen_attach_waitroom(m, g, true);
    fe_master_gen_attach_waitroom(m, old, false);
    if (m->wr)
        fe_waitroom_regen(m->wr, old, g);
    /* Idle children of the old generation go; busy ones finish their client. */
    for (size_t i = 0; i < m->slots.n; i++)
        if (m->slots.o[i].generation != g->id)
            fe_master_retire(m, i);
    /* The children carry their own copy of the old generation. */
    fe_master_gen_free(old, true);
    bx_log_notice("reloaded: generation %u, %zu listeners, %zu vhosts", g->id, g->nls,
                  cfg->nvhosts);
    fe_master_maintain(m);
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
void fe_master_enforce_old(struct master *m)
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
                        "killed",
                        (int)o->pid, o->generation, END_GRACE_MS);
            kill(o->pid, SIGKILL);
            o->end_killed = 1;
        }
    }
}
