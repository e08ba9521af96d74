/* SPDX-License-Identifier: BSD-2-Clause */
/* The key process (keyproc.h): loads the private keys, signs on request,
 * nothing else. It parses no client bytes; its only peers are the master (on
 * the control socket, checked by credentials on every message) and the sign
 * channels the master handed it. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"
#include "common/sandbox.h"
#include "frontend/keyproc.h"

/* A loaded key with its signing contexts, made once: fetching the algorithm
 * for every request would cost more than the round trip. */
struct kkey {
    EVP_PKEY *k;
    EVP_PKEY_CTX *sign;         /* ECDSA, or RSA with PKCS#1 v1.5 padding */
    EVP_PKEY_CTX *raw;          /* RSA without padding (PSS blocks, checked first) */
};

struct kgen {
    bool used;
    uint32_t id;
    size_t n;
    struct kkey *keys;          /* one per vhost */
};

static struct kgen gens[KP_GENS];
static struct kgen pending;

static void kkey_clear(struct kkey *k)
{
    EVP_PKEY_CTX_free(k->sign);
    EVP_PKEY_CTX_free(k->raw);
    EVP_PKEY_free(k->k);
    memset(k, 0, sizeof *k);
}

static int kkey_set(struct kkey *kk, EVP_PKEY *k)
{
    bool rsa = EVP_PKEY_is_a(k, "RSA");
    kk->k = k;
    kk->sign = EVP_PKEY_CTX_new(k, NULL);
    kk->raw = rsa ? EVP_PKEY_CTX_new(k, NULL) : NULL;
    if (!kk->sign || EVP_PKEY_sign_init(kk->sign) != 1 ||
        (rsa && (!kk->raw || EVP_PKEY_sign_init(kk->raw) != 1 ||
                 EVP_PKEY_CTX_set_rsa_padding(kk->sign, RSA_PKCS1_PADDING) != 1 ||
                 EVP_PKEY_CTX_set_rsa_padding(kk->raw, RSA_NO_PADDING) != 1))) {
        kkey_clear(kk);
        ERR_clear_error();
        return -1;
    }
    return 0;
}

static void kgen_clear(struct kgen *g)
{
    for (size_t i = 0; i < g->n; i++)
        kkey_clear(&g->keys[i]);
    free(g->keys);
    memset(g, 0, sizeof *g);
}

static struct kkey *find_key(uint32_t gen, uint32_t vhost)
{
    for (size_t i = 0; i < KP_GENS; i++)
        if (gens[i].used && gens[i].id == gen)
            return vhost < gens[i].n && gens[i].keys[vhost].k ? &gens[i].keys[vhost] : NULL;
    return NULL;
}

/* ---- loading ------------------------------------------------------------- */

static int no_passphrase(char *buf, int size, int rw, void *u)
{
    (void)buf, (void)size, (void)rw, (void)u;
    return -1; /* never prompt: a daemon has no one to ask */
}

static bool supported(EVP_PKEY *k, char *what, size_t len)
{
    char group[64] = "";
    if (EVP_PKEY_is_a(k, "RSA"))
        return EVP_PKEY_get_bits(k) >= 2048 && EVP_PKEY_get_size(k) <= KP_MAX_DATA;
    if (EVP_PKEY_is_a(k, "EC")) {
        size_t gl = 0;
        EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &gl);
        if (strcmp(group, "prime256v1") == 0 || strcmp(group, "secp384r1") == 0 ||
            strcmp(group, "secp521r1") == 0)
            return true;
    }
    snprintf(what, len, "%s%s%s", EVP_PKEY_get0_type_name(k) ? EVP_PKEY_get0_type_name(k) : "?",
             group[0] ? " " : "", group);
    return false;
}

EVP_PKEY *kp_load_key(const char *path, char *err, size_t errlen)
{
    BIO *b = BIO_new_file(path, "r");
    if (!b) {
        snprintf(err, errlen, "cannot read key %s: %s", path, strerror(errno ? errno : EIO));
        ERR_clear_error();
        return NULL;
    }
    EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
    BIO_free(b);
    if (!k) {
        char e[256];
        ERR_error_string_n(ERR_get_error(), e, sizeof e);
        ERR_clear_error();
        snprintf(err, errlen, "key %s is not a usable PEM private key: %s", path, e);
        return NULL;
    }
    char what[96];
    if (!supported(k, what, sizeof what)) {
        snprintf(err, errlen,
                 "key %s: type %s not supported (RSA of 2048 to 8192 bits, "
                 "EC P-256, P-384, P-521)",
                 path, what);
        EVP_PKEY_free(k);
        return NULL;
    }
    return k;
}

static void ctl_load(const struct kp_ctl_msg *m, struct kp_ctl_rep *r)
{
    char e[KP_MAX_PATH + 256];
    if (m->nvhosts == 0 || m->nvhosts > KP_MAX_VHOSTS || m->vhost >= m->nvhosts) {
        snprintf(r->err, sizeof r->err, "key process: bad vhost %u of %u", m->vhost, m->nvhosts);
        return;
    }
    if (!pending.used || pending.id != m->gen || pending.n != m->nvhosts) {
        kgen_clear(&pending);
        pending.keys = calloc(m->nvhosts, sizeof *pending.keys);
        if (!pending.keys) {
            snprintf(r->err, sizeof r->err, "key process: out of memory");
            return;
        }
        pending.used = true;
        pending.id = m->gen;
        pending.n = m->nvhosts;
    }
    EVP_PKEY *k = kp_load_key(m->path, e, sizeof e);
    unsigned char *p = r->spki;
    int len = k ? i2d_PUBKEY(k, NULL) : -1;
    if (!k || len <= 0 || len > KP_MAX_SPKI || i2d_PUBKEY(k, &p) != len) {
        snprintf(r->err, sizeof r->err, "vhost '%s': %s", m->name, k ? "public key too large" : e);
        EVP_PKEY_free(k);
        return;
    }
    kkey_clear(&pending.keys[m->vhost]);
    if (kkey_set(&pending.keys[m->vhost], k) == -1) {
        snprintf(r->err, sizeof r->err, "vhost '%s': key %s: cannot set up signing", m->name,
                 m->path);
        return;
    }
    r->len = (uint32_t)len;
    r->status = 0;
}

/* The pending generation goes live; generations older than the oldest one a
 * child still runs are dropped, and the oldest kept one when the table is full. */
static void ctl_commit(const struct kp_ctl_msg *m, struct kp_ctl_rep *r)
{
    bool complete = pending.used && pending.id == m->gen;
    for (size_t i = 0; complete && i < pending.n; i++)
        complete = pending.keys[i].k != NULL;
    if (!complete) {
        snprintf(r->err, sizeof r->err, "key process: generation %u is not complete", m->gen);
        return;
    }
    struct kgen *slot = NULL;
    for (size_t i = 0; i < KP_GENS; i++) {
        if (gens[i].used && (gens[i].id < m->oldest || gens[i].id == m->gen))
            kgen_clear(&gens[i]);
        if (!gens[i].used && !slot)
            slot = &gens[i];
    }
    if (!slot) { /* full: the oldest goes */
        slot = &gens[0];
        for (size_t i = 1; i < KP_GENS; i++)
            if (gens[i].id < slot->id)
                slot = &gens[i];
    }
    kgen_clear(slot);
    *slot = pending;
    memset(&pending, 0, sizeof pending);
    r->status = 0;
}

/* ---- signing ------------------------------------------------------------- */

/* MGF1 (RFC 8017 B.2.1) of seed into mask. */
static int mgf1(unsigned char *mask, size_t len, const unsigned char *seed, size_t slen,
                const EVP_MD *md)
{
    unsigned char in[64 + 4], out[EVP_MAX_MD_SIZE];
    unsigned hl = (unsigned)EVP_MD_get_size(md);
    if (slen > 64)
        return -1;
    memcpy(in, seed, slen);
    for (uint32_t c = 0, done = 0; done < len; c++) {
        in[slen] = (unsigned char)(c >> 24), in[slen + 1] = (unsigned char)(c >> 16);
        in[slen + 2] = (unsigned char)(c >> 8), in[slen + 3] = (unsigned char)c;
        if (EVP_Digest(in, slen + 4, out, NULL, md, NULL) != 1)
            return -1;
        for (unsigned i = 0; i < hl && done < len; i++)
            mask[done++] = out[i];
    }
    return 0;
}

/* Is em (k bytes) an EMSA-PSS encoding as TLS makes them (RFC 8446 4.2.3:
 * MGF1 with the same hash, salt as long as the hash) for SHA-256/384/512?
 * Then the private operation yields a signature and never decrypts. */
static bool is_pss_block(const unsigned char *em, size_t k, int bits)
{
    size_t embits = (size_t)bits - 1, emlen = (embits + 7) / 8;
    if (emlen < k) {
        if (em[0] != 0)
            return false;
        em++;
    }
    unsigned char top = (unsigned char)(0xff >> (8 * emlen - embits));
    if (em[emlen - 1] != 0xbc || (em[0] & ~top))
        return false;
    const EVP_MD *mds[] = {EVP_sha256(), EVP_sha384(), EVP_sha512()};
    unsigned char db[KP_MAX_DATA] = {0};
    for (size_t m = 0; m < 3; m++) {
        size_t hl = (size_t)EVP_MD_get_size(mds[m]), dblen = emlen - hl - 1;
        if (emlen < 2 * hl + 2 || mgf1(db, dblen, em + dblen, hl, mds[m]) == -1)
            continue;
        for (size_t i = 0; i < dblen; i++)
            db[i] ^= em[i];
        db[0] &= top;
        size_t ps = dblen - hl - 1, i = 0;
        while (i < ps && db[i] == 0)
            i++;
        if (i == ps && db[ps] == 0x01)
            return true;
    }
    return false;
}

static int do_sign(const struct kkey *kk, const struct kp_sign_req *q, struct kp_sign_rep *r)
{
    size_t siglen = sizeof r->sig, ks = (size_t)EVP_PKEY_get_size(kk->k);
    bool rsa = kk->raw != NULL;
    if (q->op == KP_ECDSA       ? rsa || q->len == 0 || q->len > 64
        : q->op == KP_RSA_PKCS1 ? !rsa || q->len == 0 || q->len + 11 > ks
        : q->op == KP_RSA_PSS
            ? !rsa || q->len != ks || !is_pss_block(q->data, ks, EVP_PKEY_get_bits(kk->k))
            : true)
        return -1;
    EVP_PKEY_CTX *c = q->op == KP_RSA_PSS ? kk->raw : kk->sign;
    int ok = EVP_PKEY_sign(c, r->sig, &siglen, q->data, q->len) == 1;
    ERR_clear_error();
    if (!ok || siglen > sizeof r->sig)
        return -1;
    r->len = (uint32_t)siglen;
    return 0;
}

/* recv and send as recvmsg and sendmsg: the two calls of the key process's
 * seccomp profile (common/sandbox.h), which has no recvfrom or sendto. */
static ssize_t msg_recv(int fd, void *buf, size_t len, int flags)
{
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    struct msghdr h = {.msg_iov = &iov, .msg_iovlen = 1};
    return recvmsg(fd, &h, flags);
}

static ssize_t msg_send(int fd, const void *buf, size_t len, int flags)
{
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    struct msghdr h = {.msg_iov = &iov, .msg_iovlen = 1};
    return sendmsg(fd, &h, flags);
}

/* One request from one channel. -1: the channel is closed or misbehaved. */
static int serve_one(int fd)
{
    struct kp_sign_req q;
    struct kp_sign_rep r = {.status = -1};
    ssize_t n = msg_recv(fd, &q, sizeof q, MSG_DONTWAIT | MSG_TRUNC);
    if (n == -1)
        return errno == EAGAIN || errno == EINTR ? 0 : -1;
    if (n == 0 || (size_t)n < KP_SIGN_REQ_HDR || (size_t)n > sizeof q || q.len > KP_MAX_DATA ||
        (size_t)n != KP_SIGN_REQ_HDR + q.len)
        return -1;
    r.seq = q.seq;
    const struct kkey *k = find_key(q.gen, q.vhost);
    if (k && do_sign(k, &q, &r) == 0)
        r.status = 0;
    else
        r.len = 0;
    OPENSSL_cleanse(&q, sizeof q);
    /* A child that does not read its answers loses its channel, nobody waits. */
    if (msg_send(fd, &r, KP_SIGN_REP_HDR + r.len, MSG_DONTWAIT | MSG_NOSIGNAL) == -1)
        return -1;
    return 0;
}

/* ---- the control socket -------------------------------------------------- */

/* Every recv and send on a channel is MSG_DONTWAIT, whatever the
 * descriptor's own flags. */
static void add_channel(int ep, int fd)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1)
        close(fd);
}

/* The descriptors a control message carried (SCM_RIGHTS). */
struct kp_fds {
    size_t n;
    int fd[KP_CHAN_BATCH];
};

static void fds_close(struct kp_fds *f)
{
    for (size_t i = 0; i < f->n; i++)
        close(f->fd[i]);
    f->n = 0;
}

/* Takes the descriptors of one SCM_RIGHTS header into f; false when they do
 * not fit (those are closed: none may stay open unaccounted for). */
static bool fds_take(struct kp_fds *f, const struct cmsghdr *c)
{
    size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    bool fits = f->n + n <= KP_CHAN_BATCH;
    for (size_t i = 0; i < n; i++) {
        int fd;
        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
        if (fits)
            f->fd[f->n++] = fd;
        else
            close(fd);
    }
    return fits;
}

/* Receives one control message with the descriptors it carried. Returns 1,
 * 0 (nothing now), -1 (the master is gone: exit). Messages not sent by the
 * master (SCM_CREDENTIALS) are dropped with their descriptors. */
static int ctl_recv(const struct kp_start *st, struct kp_ctl_msg *m, struct kp_fds *f)
{
    union {
        char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(KP_CHAN_BATCH * sizeof(int))];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = m, .iov_len = sizeof *m};
    struct msghdr h = {.msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = u.buf,
                       .msg_controllen = sizeof u.buf};
    f->n = 0;
    ssize_t n = recvmsg(st->ctl, &h, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n == -1)
        return errno == EAGAIN || errno == EINTR ? 0 : -1;
    if (n == 0)
        return -1;
    bool from_master = false, fit = true;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
        if (c->cmsg_level != SOL_SOCKET)
            continue;
        if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
            struct ucred cr;
            memcpy(&cr, CMSG_DATA(c), sizeof cr);
            from_master = cr.pid == st->master;
        } else if (c->cmsg_type == SCM_RIGHTS) {
            fit = fds_take(f, c) && fit;
        }
    }
    bool ok = from_master && fit && (size_t)n == sizeof *m &&
              !(h.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) && memchr(m->path, 0, sizeof m->path) &&
              memchr(m->name, 0, sizeof m->name) && (f->n == 0) == (m->type != KP_CTL_CHANNEL);
    if (!ok) {
        fds_close(f);
        bx_log_warn("key process: control message refused (%s)",
                    from_master ? "malformed" : "not from the master");
        return 0;
    }
    return 1;
}

/* One control message per turn: in the steady state (a batch of channels
 * every KP_CHAN_BATCH forks) that is one wake-up and one recvmsg per batch,
 * none that only says EAGAIN; epoll is level-triggered, so a burst is read
 * over the next turns. */
static int ctl_turn(const struct kp_start *st, int ep)
{
    struct kp_ctl_msg m;
    struct kp_ctl_rep r = {.status = -1};
    struct kp_fds f;
    int rc = ctl_recv(st, &m, &f);
    if (rc <= 0)
        return rc;
    r.seq = m.seq;
    switch (m.type) {
    case KP_CTL_CHANNEL:
        for (size_t i = 0; i < f.n; i++)
            add_channel(ep, f.fd[i]);
        return 0; /* no answer: the master does not wait for one */
    case KP_CTL_LOAD: ctl_load(&m, &r); break;
    case KP_CTL_COMMIT: ctl_commit(&m, &r); break;
    case KP_CTL_ABORT:
        kgen_clear(&pending);
        r.status = 0;
        break;
    default: snprintf(r.err, sizeof r.err, "key process: unknown request %u", m.type); break;
    }
    return msg_send(st->ctl, &r, sizeof r, MSG_NOSIGNAL) == -1 ? -1 : 0;
}

/* ---- privileges and confinement ------------------------------------------ */

/* From root to the configured user, keeping only CAP_DAC_READ_SEARCH so that
 * keys only root can read stay readable here (at start and on reload). */
static int drop_keep_read(uid_t uid, gid_t gid, char *err, size_t errlen)
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
    memset(d, 0, sizeof d);
    d[CAP_TO_INDEX(CAP_DAC_READ_SEARCH)].permitted = CAP_TO_MASK(CAP_DAC_READ_SEARCH);
    d[CAP_TO_INDEX(CAP_DAC_READ_SEARCH)].effective = CAP_TO_MASK(CAP_DAC_READ_SEARCH);
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == -1 || setgroups(1, &gid) == -1 || setgid(gid) == -1 ||
        setuid(uid) == -1 || syscall(SYS_capset, &h, d) == -1 ||
        prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) == -1) {
        snprintf(err, errlen, "key process: privilege drop: %s", strerror(errno));
        return -1;
    }
    if (uid != 0 && setuid(0) != -1) {
        snprintf(err, errlen, "key process: privilege drop did not stick");
        return -1;
    }
    return 0;
}

/* After setup (privileges, the control socket): no_new_privs, not dumpable,
 * and the key process's seccomp and Landlock profile (common/sandbox.h; the
 * calls it needs are listed in doc/design.md). Sign channels arrive later
 * by SCM_RIGHTS, which the profile allows. */
int keyproc_confine(char *err, size_t errlen)
{
    char e[256];
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
        snprintf(err, errlen, "key process: prctl: %s", strerror(errno));
        return -1;
    }
    if (bx_sandbox_apply(BX_SANDBOX_KEYPROC, e, sizeof e) == -1) {
        snprintf(err, errlen, "key process: %s", e);
        return -1;
    }
    return 0;
}

_Noreturn void kp_main(const struct kp_start *st)
{
    char err[256];
    /* The master's signals are not ours; it stops us by closing the socket. */
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGUSR1, SIG_IGN);
    signal(SIGUSR2, SIG_IGN);
    signal(SIGTERM, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int on = 1, ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = st->ctl};
    struct ucred peer;
    socklen_t pl = sizeof peer;
    /* The control socket's peer is the master (and every message says so too). */
    if (getsockopt(st->ctl, SOL_SOCKET, SO_PEERCRED, &peer, &pl) == -1 || peer.pid != st->master) {
        bx_log_error("key process: control socket peer is not the master");
        _exit(1);
    }
    if (ep == -1 || setsockopt(st->ctl, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) == -1 ||
        epoll_ctl(ep, EPOLL_CTL_ADD, st->ctl, &ev) == -1) {
        bx_log_error("key process: setup: %s", strerror(errno));
        _exit(1);
    }
    if ((st->drop && drop_keep_read(st->uid, st->gid, err, sizeof err) == -1) ||
        keyproc_confine(err, sizeof err) == -1) {
        bx_log_error("%s", err);
        _exit(1);
    }
    for (;;) {
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, -1);
        if (n == -1 && errno != EINTR)
            _exit(1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == st->ctl) {
                if (ctl_turn(st, ep) == -1)
                    _exit(0); /* the master is gone */
            } else if ((evs[i].events & (EPOLLHUP | EPOLLERR)) || serve_one(fd) == -1) {
                /* Hung up: the child and the master closed theirs, no one
                 * could read an answer, so no recvmsg for its last request
                 * or its end. The only reference: close takes it out of epoll. */
                close(fd);
            }
        }
    }
}
