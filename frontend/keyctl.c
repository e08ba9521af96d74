/* SPDX-License-Identifier: BSD-2-Clause */
/* The master's side of the key process (keyctl.h). */
#include "config.h"

#include <errno.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cfg.h"
#include "common/net.h"
#include "common/proc.h"
#include "frontend/keyctl.h"
#include "frontend/keyproc.h"
#include "frontend/keystub.h"
#include "frontend/waitroom.h"

#define CTL_TIMEOUT_MS 10000

static int start_args(struct kp_start *st, const struct bx_config *cfg, char *err, size_t errlen)
{
    st->master = getpid();
    st->drop = 0;
    if (geteuid() != 0 || !cfg->fe.user || !*cfg->fe.user)
        return 0;
    if (bx_lookup_user(cfg->fe.user, cfg->fe.group, &st->uid, &st->gid, err, errlen) == -1)
        return -1;
    st->drop = st->uid != 0;
    return 0;
}

int fe_keyctl_start(struct fe_keyctl *k, const struct bx_config *cfg, const int *close_fds,
                    size_t nclose, char *err, size_t errlen)
{
    struct kp_start st;
    int sv[2], on = 1;
    k->pid = 0;
    k->ctl = k->own = -1;
    k->npool = 0; /* any earlier pool was closed by fe_keyctl_gone */
    if (start_args(&st, cfg, err, errlen) == -1)
        return -1;
    /* Credentials are on from the first message: set before the fork. */
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1 ||
        setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on) == -1) {
        snprintf(err, errlen, "key process: socketpair: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        /* Nothing of the master's waiting clients. (It outlives no master:
         * only the master holds the control socket's other end, and the key
         * process exits when that closes.) */
        fe_waitroom_forked();
        close(sv[0]);
        for (size_t i = 0; i < nclose; i++)
            if (close_fds[i] >= 0)
                close(close_fds[i]);
        st.ctl = sv[1];
        kp_main(&st);
    }
    close(sv[1]);
    if (pid == -1) {
        close(sv[0]);
        snprintf(err, errlen, "key process: fork: %s", strerror(errno));
        return -1;
    }
    /* A stuck key process must not hang the master in a fork. */
    struct timeval tv = {.tv_sec = 1};
    setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    k->pid = pid;
    k->ctl = sv[0];
    k->own = fe_keyctl_channel(k);
    fe_keystub_set_channel(k->own);
    return 0;
}

/* One request, one answer; an answer to an earlier request that timed out
 * is skipped by its sequence number. */
static int exchange(struct fe_keyctl *k, struct kp_ctl_msg *m, struct kp_ctl_rep *r)
{
    static uint32_t seq;
    m->seq = ++seq;
    if (k->ctl < 0 || send(k->ctl, m, sizeof *m, MSG_NOSIGNAL) == -1)
        goto gone;
    uint64_t deadline = bx_now_ms() + CTL_TIMEOUT_MS;
    do {
        struct pollfd p = {.fd = k->ctl, .events = POLLIN};
        uint64_t now = bx_now_ms();
        if (now >= deadline || poll(&p, 1, (int)(deadline - now)) != 1 ||
            recv(k->ctl, r, sizeof *r, 0) != (ssize_t)sizeof *r)
            goto gone;
    } while (r->seq != m->seq);
    r->err[sizeof r->err - 1] = '\0';
    return r->status == 0 ? 0 : -1;
gone:
    memset(r, 0, sizeof *r);
    r->status = -1;
    snprintf(r->err, sizeof r->err, "the key process does not answer");
    return -1;
}

int fe_keyctl_try(struct fe_keyctl *k, unsigned gen, size_t vhost, size_t nvhosts, const char *name,
                  const char *path, EVP_PKEY **pub, char *err, size_t errlen)
{
    struct kp_ctl_msg m = {.type = KP_CTL_LOAD,
                           .gen = gen,
                           .vhost = (uint32_t)vhost,
                           .nvhosts = (uint32_t)nvhosts};
    struct kp_ctl_rep r;
    *pub = NULL;
    if (!path || strlen(path) >= sizeof m.path || nvhosts > KP_MAX_VHOSTS) {
        snprintf(err, errlen, "vhost '%s': key file name missing or too long", name);
        return -1;
    }
    snprintf(m.name, sizeof m.name, "%s", name);
    snprintf(m.path, sizeof m.path, "%s", path);
    if (exchange(k, &m, &r) == -1) {
        snprintf(err, errlen, "%s", r.err);
        return -1;
    }
    const unsigned char *p = r.spki;
    *pub = r.len <= sizeof r.spki ? d2i_PUBKEY(NULL, &p, (long)r.len) : NULL;
    if (!*pub) {
        snprintf(err, errlen, "vhost '%s': key %s: bad public key from the key process", name,
                 path);
        return -1;
    }
    return 0;
}

void fe_keyctl_abort(struct fe_keyctl *k)
{
    struct kp_ctl_msg m = {.type = KP_CTL_ABORT};
    struct kp_ctl_rep r;
    exchange(k, &m, &r);
}

static int load_one(struct fe_keyctl *k, const struct bx_config *cfg, size_t i, unsigned gen,
                    EVP_PKEY **pub, char *err, size_t errlen)
{
    const struct bx_vhost *v = &cfg->vhosts[i];
    return fe_keyctl_try(k, gen, i, cfg->nvhosts, v->name, v->key, pub, err, errlen);
}

int fe_keyctl_load(struct fe_keyctl *k, const struct bx_config *cfg, unsigned gen, unsigned oldest,
                   EVP_PKEY **pubs, char *err, size_t errlen)
{
    struct kp_ctl_msg m = {.type = KP_CTL_COMMIT, .gen = gen, .oldest = oldest};
    struct kp_ctl_rep r;
    if (cfg->nvhosts > KP_MAX_VHOSTS) {
        snprintf(err, errlen, "more than %d vhosts with TLS", KP_MAX_VHOSTS);
        return -1;
    }
    for (size_t i = 0; i < cfg->nvhosts; i++)
        pubs[i] = NULL;
    for (size_t i = 0; i < cfg->nvhosts; i++)
        if (load_one(k, cfg, i, gen, &pubs[i], err, errlen) == -1)
            goto fail;
    if (exchange(k, &m, &r) == 0)
        return 0;
    snprintf(err, errlen, "%s", r.err);
fail:
    fe_keyctl_abort(k);
    for (size_t i = 0; i < cfg->nvhosts; i++) {
        EVP_PKEY_free(pubs[i]);
        pubs[i] = NULL;
    }
    return -1;
}

void fe_keyctl_close_pool(struct fe_keyctl *k)
{
    while (k->npool > 0)
        close(k->pool[--k->npool]);
}

_Static_assert(KP_CHAN_BATCH <= BX_SEND_FDS_MAX, "a batch of channels fits one message");

/* One CHANNEL message carrying theirs[n] (SCM_RIGHTS). */
static int send_channels(struct fe_keyctl *k, const int *theirs, size_t n)
{
    struct kp_ctl_msg m = {.type = KP_CTL_CHANNEL};
    return bx_send_fds(k->ctl, &m, sizeof m, theirs, n, MSG_NOSIGNAL) == -1 ? -1 : 0;
}

/* A batch of channels: one message, so one wake-up of the key process for
 * KP_CHAN_BATCH children instead of one each. */
static int refill(struct fe_keyctl *k)
{
    int theirs[KP_CHAN_BATCH], sv[2];
    size_t n = 0;
    while (n < KP_CHAN_BATCH &&
           socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) == 0) {
        k->pool[n] = sv[0];
        theirs[n++] = sv[1];
    }
    int rc = n > 0 ? send_channels(k, theirs, n) : -1;
    for (size_t i = 0; i < n; i++)
        close(theirs[i]);
    k->npool = n;
    if (rc == -1)
        fe_keyctl_close_pool(k);
    return rc;
}

int fe_keyctl_channel(struct fe_keyctl *k)
{
    if (k->ctl < 0 || (k->npool == 0 && refill(k) == -1))
        return -1;
    return k->pool[--k->npool]; /* out of the pool: never given again */
}

void fe_keyctl_gone(struct fe_keyctl *k)
{
    if (k->ctl >= 0)
        close(k->ctl);
    if (k->own >= 0)
        close(k->own);
    fe_keyctl_close_pool(k); /* their other ends died with the key process */
    fe_keystub_set_channel(-1);
    k->pid = 0;
    k->ctl = k->own = -1;
}

void fe_keyctl_stop(struct fe_keyctl *k)
{
    pid_t pid = k->pid;
    fe_keyctl_gone(k);
    for (int i = 0; pid > 0 && i < 100; i++) {
        if (waitpid(pid, NULL, WNOHANG) != 0)
            return;
        usleep(10000);
    }
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
}
