/* SPDX-License-Identifier: BSD-2-Clause */
/* The per-client process (child.h): fe_child_main confines the child and
 * loops over clients; serve() takes one client through admission, the
 * handshake and its first request to the relay. Accepting is in
 * child_accept.c, the client side in child_client.c, the backend side in
 * child_backend.c; they share struct conn through child_int.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cfg.h"
#include "common/log.h"
#include "common/net.h"
#include "common/proc.h"
#include "common/proxy.h"
#include "common/sandbox.h"
#include "frontend/access.h"
#include "frontend/child.h"
#include "frontend/child_int.h"
#include "frontend/keystub.h"
#include "frontend/lifeline.h"
#include "frontend/refuse.h"
#include "frontend/scoreboard.h"

/* Refusals before the handshake: a page on plaintext, an alert on TLS
 * (refuse.h says why not a 503 after a handshake). */
static void refuse(struct conn *c, int status, const char *reason, const char *text)
{
    if (!c->env->gen->cfg->fe.services[c->l->service].tls) {
        fe_child_send_page(c, status, reason, text);
        return;
    }
    fe_refuse_write(c->fd, true);
    fe_child_drain(c->fd);
}

void fe_child_log_refused(enum fe_refusal k, const struct conn *c, const char *why)
{
    char line[256];
    snprintf(line, sizeof line, "client %s: refused, %s", c->who, why);
    fe_refuse_log(k, line);
}

/* The PROXY header from a trusted load balancer, and allow/deny for the
 * client it names: the peer itself was judged at accept (wait_accept), a
 * proxied client is judged right after its header (access.h). */
static bool admit_proxied(struct conn *c, const struct bx_service *sv, uint64_t deadline)
{
    if (sv->proxy_protocol == BX_PROXY_OFF)
        return true;
    bool trusted = bx_cidr_list_match(sv->proxy_from.v, sv->proxy_from.n,
                                      (struct sockaddr *)&c->client);
    if (!trusted && sv->proxy_protocol == BX_PROXY_REQUIRED) {
        bx_log_warn("client %s: not allowed to send a PROXY header (proxy_from)", c->who);
        return false;
    }
    if (!trusted)
        return true;
    if (fe_child_read_proxy_header(c, sv->proxy_protocol == BX_PROXY_REQUIRED, deadline) < 0)
        return false;
    bx_sockaddr_str((struct sockaddr *)&c->client, c->clientlen, true, c->who, sizeof c->who);
    return fe_access_client(sv, (struct sockaddr *)&c->client, c->clientlen);
}

/* debug_ip and per_ip_max: false (the client refused) when either says no. */
static bool admit_ip(struct conn *c)
{
    const struct bx_frontend_conf *fe = &c->cfg->fe;
    const struct fe_gen *g = c->env->gen;
    if (g->debug_ok && !bx_cidr_match(&g->debug_net, (struct sockaddr *)&c->client)) {
        bx_log_debug("client %s: closed, debug_ip serves only %s", c->who, fe->debug_ip);
        return false;
    }
    int holder = 0;
    enum fe_admit adm = fe_scoreboard_admit_ip(c->env->sb, c->env->slot,
                                               (struct sockaddr *)&c->client, fe->per_ip_max,
                                               &holder);
    if (adm == FE_ADMIT_LOCK_TIMEOUT) {
        char why[128];
        snprintf(why, sizeof why, "the per_ip_max lock is held by pid %d for over %d ms", holder,
                 FE_IP_LOCK_WAIT_MS);
        fe_child_log_refused(FE_REFUSE_PER_IP, c, why);
        refuse(c, 503, "Service Unavailable", "The server is busy, please try again.");
        return false;
    }
    if (adm != FE_ADMIT_OK) {
        char why[64];
        snprintf(why, sizeof why, "per_ip_max %d reached", fe->per_ip_max);
        fe_child_log_refused(FE_REFUSE_PER_IP, c, why);
        refuse(c, 503, "Service Unavailable", "Too many connections from your address.");
        return false;
    }
    return true;
}

/* One client from accept to close: admission, handshake, first request,
 * then the relay to its backend. */
static void serve(struct conn *c)
{
    const struct bx_frontend_conf *fe = &c->cfg->fe;
    const struct bx_service *sv = &fe->services[c->l->service];
    c->start_ms = bx_now_ms();
    uint64_t hs_deadline = c->start_ms + (uint64_t)fe->handshake_timeout_ms;
    bx_sockaddr_str((struct sockaddr *)&c->client, c->clientlen, true, c->who, sizeof c->who);
    if (!admit_proxied(c, sv, hs_deadline))
        return;
    fe_scoreboard_conn_id(c->env->sb, c->id, sizeof c->id);
    memcpy(c->env->slot->conn_id, c->id, sizeof c->env->slot->conn_id);
    if (!admit_ip(c))
        return;
    if (sv->tls && fe_child_tls_handshake(c, hs_deadline) == -1)
        return;
    int r = fe_child_first_bytes(c, bx_now_ms() + (uint64_t)fe->request_timeout_ms);
    if (r == -2) {
        bx_log_info("client %s: no request within request_timeout", c->who);
        fe_child_send_page(c, 408, "Request Timeout", "No request arrived in time.");
        return;
    }
    if (r < 0 || (!c->ssl && fe_test_hook(c->env, c->fd, c->first, c->firstlen)))
        return;
    const struct bx_vhost *v = &c->cfg->vhosts[c->vhost];
    snprintf(c->env->slot->vhost, sizeof c->env->slot->vhost, "%s", v->name);
    struct fe_relay rl;
    if (!fe_child_relay_to_backend(c, v, &rl))
        return;
    fe_child_log_relay_end(c, v, &rl);
    if (c->ssl && !c->use_rec && strcmp(rl.end, "closed") == 0) {
        SSL_shutdown(c->ssl);
        ERR_clear_error();
    }
}

/* TCP sockets and connects for the ports of the config's TCP backends,
 * none when it has none (sandbox.h). */
static void allow_tcp_backends(const struct bx_config *cfg)
{
    for (size_t i = 0; i < cfg->nvhosts; i++)
        for (size_t k = 0; k < cfg->vhosts[i].npool; k++) {
            const struct bx_baddr *a = &cfg->vhosts[i].pool[k];
            if (a->kind == BX_BADDR_TCP && bx_sandbox_allow_connect(a->port) == -1)
                bx_log_warn("child: TCP port %d of backend %s not allowed: %s", a->port, a->text,
                            strerror(errno));
        }
}

_Noreturn void fe_child_main(const struct fe_child_env *env)
{
    for (size_t i = 0; i < env->nclose; i++)
        if (env->close_fds[i] >= 0)
            close(env->close_fds[i]);
    fe_lifeline_child(env->gen, env->master_pid, env->notify_fd);
    fe_child_accept_init(env);
    /* The master's signals stay blocked; TERM kills an idle child (see
     * wait_accept), the others are not for children. */
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_IGN);
    signal(SIGUSR1, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    fe_keystub_set_channel(env->keyfd);
    const struct bx_config *cfg = env->gen->cfg;
    struct bx_sb_slot *slot = env->slot;
    bx_log_follow(&env->sb->hdr->log_seq);
    /* Confined before the first client byte (common/sandbox.h). */
    char err[BX_ERRLEN];
    allow_tcp_backends(cfg);
    if (bx_sandbox_apply(BX_SANDBOX_FE_HANDSHAKE, err, sizeof err) == -1) {
        bx_log_error("child: cannot confine: %s", err);
        _exit(1);
    }
    fe_slot_cas(slot, FE_SLOT_STARTING, FE_SLOT_IDLE);
    for (int served = 0; served < cfg->fe.clients_per_child; served++) {
        struct conn c;
        const struct fe_listener *l;
        c.fd = fe_child_wait_accept(env, &l, &c.client, &c.clientlen);
        /* Leaving idle, whether or not the master is retiring us at this
         * very moment (TERM is blocked now: the client is served). */
        fe_slot_set(slot, FE_SLOT_HANDSHAKE);
        uint64_t one = 1;
        if (write(env->notify_fd, &one, sizeof one) == -1) {
            /* the master refills on its timer anyway */
        }
        slot->client_ms = bx_now_ms();
        slot->bytes_in = slot->bytes_out = 0;
        slot->vhost[0] = '\0';
        if (served + 1 == cfg->fe.clients_per_child) {
            /* Last client: let go of the listeners so a stop or reload frees them. */
            fe_lifeline_drop_listeners();
        }
        c.env = env;
        c.cfg = cfg;
        c.l = l;
        c.ssl = NULL;
        c.use_rec = c.first_full = c.handed = false;
        c.cinlen = 0;
        memset(&c.rec, 0, sizeof c.rec);
        c.firstlen = 0;
        c.locallen = sizeof c.local;
        if (getsockname(c.fd, (struct sockaddr *)&c.local, &c.locallen) == -1)
            c.locallen = 0;
        int one_i = 1;
        setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one_i, sizeof one_i);
        fe_lifeline_client_fd(c.fd);
        serve(&c);
        fe_lifeline_client_fd(-1);
        fe_tlsrec_free(&c.rec);
        fe_tls_forget_keys(); /* a handshake that failed half way */
        if (c.ssl)
            SSL_free(c.ssl);
        close(c.fd);
        if (c.handed || fe_lifeline_orphaned())
            break; /* the slot is the lean child's now, or the master is gone */
        if (fe_keystub_lost())
            break; /* the key process restarted: a new child gets a channel to it */
        __atomic_store_n(&slot->member, 0, __ATOMIC_RELAXED);
        if (served + 1 < cfg->fe.clients_per_child) {
            memset(slot->vhost, 0, sizeof slot->vhost);
            slot->family = 0;
            fe_slot_set(slot, FE_SLOT_IDLE);
        }
    }
    _exit(0);
}
