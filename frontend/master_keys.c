/* SPDX-License-Identifier: BSD-2-Clause */
/* The frontend master's keys: it supervises the key process (the only one
 * that loads private keys, keyproc.h), starting a new one when it dies, and
 * makes the session ticket keys, random and rotated or derived from
 * ticket_secret_file (ticketkey.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/cfg.h"
#include "common/log.h"
#include "common/proc.h"
#include "common/sandbox.h"
#include "frontend/child.h"
#include "frontend/keyctl.h"
#include "frontend/master_int.h"
#include "frontend/pool.h"
#include "frontend/scoreboard.h"
#include "frontend/ticketkey.h"
#include "frontend/tls.h"
#include "frontend/waitroom.h"

size_t fe_master_fds(const struct master *m, int *out, size_t max)
{
    size_t n = 0;
    int mine[] = {m->sv.sigfd,
                  m->ep,
                  m->pidfd,
                  m->notify_fd,
                  m->hofd[0],
                  m->hofd[1],
                  m->gen ? m->gen->accept_ep : -1,
                  m->sb ? m->sb->lock_fd : -1, /* a restarted key process takes no lock */
                  m->wr_child,
                  m->wr ? fe_waitroom_fd(m->wr) : -1,
                  m->reserve_fd};
    for (size_t i = 0; i < sizeof mine / sizeof mine[0] && n < max; i++)
        out[n++] = mine[i];
    for (size_t i = 0; m->gen && i < m->gen->nls && n < max; i++)
        out[n++] = m->gen->ls[i].fd;
    if (m->pool)
        n += fe_pool_fds(m->pool, out + n, max - n);
    return n;
}

void fe_master_key_process_died(struct master *m, int status)
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
void fe_master_key_process_restart(struct master *m)
{
    char err[BX_ERRLEN * 2];
    int fds[64];
    size_t n = fe_master_fds(m, fds, 64);
    m->kp_restart_ms = 0;
    EVP_PKEY **pubs = calloc(m->gen->cfg->nvhosts, sizeof *pubs);
    if (!pubs || fe_keyctl_start(&m->kc, m->gen->cfg, fds, n, err, sizeof err) == -1 ||
        fe_keyctl_load(&m->kc, m->gen->cfg, m->gen->id, m->gen->id, pubs, err, sizeof err) == -1 ||
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
        fe_master_retire(m, i);
    bx_log_notice("key process %d started again (generation %u)", (int)m->kc.pid, m->gen->id);
}

/* ---- session ticket keys -------------------------------------------------
 * Without a secret file: random keys, a new one every ticket_rotate. With
 * one: the keys of the current and the previous period (ticketkey.h),
 * published when the period changes, checked on every pass of the loop. */

/* A reload runs as frontend.user: say at start when it could not read the
 * file again (reload would then fail, keeping the running configuration). */
void fe_master_warn_secret_owner(const struct bx_config *cfg, const struct fe_ticket_secret *s)
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
int fe_master_tickets_apply(struct master *m, struct fe_ticket_secret *secret,
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

/* At start and on reload. */
int fe_master_tickets_load(const struct bx_config *cfg, struct fe_ticket_secret **out,
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

void fe_master_tickets_timer(struct master *m, uint64_t now)
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
