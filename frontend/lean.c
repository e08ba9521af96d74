/* SPDX-License-Identifier: BSD-2-Clause */
/* Hand-off of idle connections to lean relay children; see lean.h. */
#include "config.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/net.h"
#include "common/proc.h"
#include "common/sandbox.h"
#include "frontend/arena.h"
#include "frontend/lean.h"
#include "frontend/lifeline.h"
#include "frontend/relay.h"
#include "frontend/scoreboard.h"

/* Room for the cipher contexts and the odd KeyUpdate; untouched pages cost nothing. */
#define LEAN_ARENA (64 * 1024)

pid_t fe_handoff_send(int sock, const struct fe_handoff *h, int cfd, int bfd, int wait_ms)
{
    int ack[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ack) == -1)
        return -1;
    int fds[3] = {cfd, bfd, ack[1]};
    pid_t lean = -1;
    ssize_t n = bx_send_fds(sock, h, sizeof *h, fds, 3, MSG_DONTWAIT | MSG_NOSIGNAL);
    close(ack[1]);
    if (n == (ssize_t)sizeof *h) {
        struct pollfd p = {.fd = ack[0], .events = POLLIN};
        int32_t v = 0;
        int pr;
        /* Retried on EINTR: giving up while the master forks would leave two
         * processes relaying one connection. */
        do
            pr = poll(&p, 1, wait_ms);
        while (pr == -1 && errno == EINTR);
        if (pr == 1 && read(ack[0], &v, sizeof v) == sizeof v && v > 0)
            lean = (pid_t)v;
    }
    close(ack[0]);
    return lean;
}

int fe_handoff_recv(int sock, struct fe_handoff *h, int *cfd, int *bfd, int *ackfd, pid_t *sender)
{
    union {
        char buf[CMSG_SPACE(3 * sizeof(int)) + CMSG_SPACE(sizeof(struct ucred))];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = h, .iov_len = sizeof *h};
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = u.buf,
                         .msg_controllen = sizeof u.buf};
    ssize_t n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n == -1)
        return 0;
    int fds[3] = {-1, -1, -1};
    size_t nfds = 0;
    pid_t pid = 0;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level != SOL_SOCKET)
            continue;
        if (cm->cmsg_type == SCM_RIGHTS) {
            size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < k; i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof fd);
                if (nfds < 3)
                    fds[nfds++] = fd;
                else
                    close(fd);
            }
        } else if (cm->cmsg_type == SCM_CREDENTIALS &&
                   cm->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
            struct ucred uc;
            memcpy(&uc, CMSG_DATA(cm), sizeof uc);
            pid = uc.pid;
        }
    }
    if (n != (ssize_t)sizeof *h || nfds != 3 || h->magic != FE_HANDOFF_MAGIC || pid <= 0 ||
        (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
        for (size_t i = 0; i < nfds; i++)
            close(fds[i]);
        OPENSSL_cleanse(h, sizeof *h);
        return -1;
    }
    /* The texts go into log lines: never trust their terminators. */
    h->who[sizeof h->who - 1] = h->id[sizeof h->id - 1] = '\0';
    h->vhost[sizeof h->vhost - 1] = h->version[sizeof h->version - 1] = '\0';
    *cfd = fds[0];
    *bfd = fds[1];
    *ackfd = fds[2];
    *sender = pid;
    return 1;
}

void fe_handoff_ack(int ackfd, pid_t lean)
{
    int32_t v = (int32_t)lean;
    /* The descriptor is the child's choice: never block on it (a full pipe
     * would stall the master); anything but a socket gets no answer. */
    if (send(ackfd, &v, sizeof v, MSG_DONTWAIT | MSG_NOSIGNAL) == -1) {
        /* the child gave up waiting; it keeps the connection and the lean
         * child finds the sockets shared: see fe_lean_main */
    }
    close(ackfd);
}

_Noreturn void fe_lean_main(struct fe_handoff *h, int cfd, int bfd, struct fe_scoreboard *sb)
{
    /* The master checked h->slot against its own table of slot owners. */
    struct bx_sb_slot *slot = fe_sb_slot(sb, h->slot);
    bx_log_follow(&sb->hdr->log_seq);
    char err[BX_ERRLEN];
    if (bx_sandbox_apply(BX_SANDBOX_FE_LEAN, err, sizeof err) == -1) {
        bx_log_error("client %s id %s: lean relay cannot confine: %s", h->who, h->id, err);
        _exit(1);
    }
    fe_arena_use(LEAN_ARENA);
    struct fe_tlsrec rec;
    memset(&rec, 0, sizeof rec);
    if (h->tls && fe_tlsrec_import(&rec, &h->keys) == -1) {
        bx_log_error("client %s id %s: lean relay cannot set up TLS state", h->who, h->id);
        _exit(1);
    }
    OPENSSL_cleanse(&h->keys, sizeof h->keys);
    struct fe_relay r = {
        .cfd = cfd,
        .bfd = bfd,
        .rec = h->tls ? &rec : NULL,
        .idle_ms = h->idle_ms,
        .stall_ms = h->stall_ms,
        .slot = slot,
        .in = h->in,
        .out = h->out,
        .last_io = h->last_io_ms,
    };
    fe_lifeline_lean();
    fe_lifeline_relay_fd(bfd);
    fe_relay_run(&r);
    bx_log_info("client %s id %s vhost %s%s%s: relay %s (lean), %llu bytes in, %llu out, "
                "%llums, %s",
                h->who, h->id, h->vhost, h->version[0] ? " " : "", h->version, r.path,
                (unsigned long long)r.in, (unsigned long long)r.out,
                (unsigned long long)(bx_now_ms() - h->start_ms),
                fe_lifeline_end_asked() ? "ended by the master (reload limits)" : r.end);
    _exit(0);
}
