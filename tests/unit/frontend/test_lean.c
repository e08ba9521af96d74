/* SPDX-License-Identifier: BSD-2-Clause */
/* The hand-off of idle connections (frontend/lean.c), master side: what a
 * possibly compromised child sends must not make the master block, leak
 * descriptors or log unterminated text. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frontend/lean.h"

/* Sends h with the given descriptors, as a child would (or as it should not). */
static void offer(int sock, const void *h, size_t len, const int *fds, size_t nfds)
{
    union {
        char buf[CMSG_SPACE(8 * sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct iovec iov = {.iov_base = (void *)h, .iov_len = len};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (nfds) {
        msg.msg_control = u.buf;
        msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
        memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
    }
    ck_assert_int_eq(sendmsg(sock, &msg, 0), (ssize_t)len);
}

static void master_socket(int sv[2])
{
    int on = 1;
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof on), 0);
}

static int open_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 1024; fd++)
        if (fcntl(fd, F_GETFD) != -1)
            n++;
    return n;
}

static void on_alarm(int sig)
{
    (void)sig;
    _exit(3); /* the master would be stuck here */
}

/* The answer goes to a descriptor the child chose: a full pipe in blocking
 * mode must not stall the master (it would stop forking, reaping, stopping). */
START_TEST(ack_never_blocks)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    char junk[4096];
    memset(junk, 'x', sizeof junk);
    while (write(p[1], junk, sizeof junk) > 0)
        ;
    ck_assert_int_eq(errno, EAGAIN);
    fcntl(p[1], F_SETFL, 0);
    signal(SIGALRM, on_alarm);
    alarm(2);
    fe_handoff_ack(p[1], 1234);
    alarm(0);
    ck_assert_int_eq(fcntl(p[1], F_GETFD), -1); /* closed all the same */
    close(p[0]);

    /* The real answer still arrives on a socket. */
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    fe_handoff_ack(sv[1], 4321);
    int32_t v = 0;
    ck_assert_int_eq(read(sv[0], &v, sizeof v), (ssize_t)sizeof v);
    ck_assert_int_eq(v, 4321);
    close(sv[0]);
}
END_TEST

START_TEST(malformed_offers_are_refused_without_leaks)
{
    int sv[2];
    master_socket(sv);
    struct fe_handoff h, got;
    memset(&h, 0, sizeof h);
    h.magic = FE_HANDOFF_MAGIC;
    int fds[8];
    for (int i = 0; i < 8; i++)
        fds[i] = dup(0);
    int base = open_fds();
    int cfd, bfd, ack;
    pid_t sender;

    offer(sv[1], &h, sizeof h, fds, 2);                 /* too few descriptors */
    ck_assert_int_eq(fe_handoff_recv(sv[0], &got, &cfd, &bfd, &ack, &sender), -1);
    offer(sv[1], &h, sizeof h - 1, fds, 3);             /* short */
    ck_assert_int_eq(fe_handoff_recv(sv[0], &got, &cfd, &bfd, &ack, &sender), -1);
    offer(sv[1], &h, sizeof h, fds, 4);                 /* too many: the rest closed */
    if (fe_handoff_recv(sv[0], &got, &cfd, &bfd, &ack, &sender) == 1) {
        close(cfd);
        close(bfd);
        close(ack);
    }
    ck_assert_int_eq(open_fds(), base);
    offer(sv[1], &h, sizeof h, fds, 8);                 /* far too many */
    if (fe_handoff_recv(sv[0], &got, &cfd, &bfd, &ack, &sender) == 1) {
        close(cfd);
        close(bfd);
        close(ack);
    }
    ck_assert_int_eq(open_fds(), base);
    char big[sizeof h + 64];
    memset(big, 0, sizeof big);
    memcpy(big, &h, sizeof h);
    offer(sv[1], big, sizeof big, fds, 3);              /* long: truncated */
    ck_assert_int_eq(fe_handoff_recv(sv[0], &got, &cfd, &bfd, &ack, &sender), -1);
    h.magic = 0;
    offer(sv[1], &h, sizeof h, fds, 3);                 /* no magic */
    ck_assert_int_eq(fe_handoff_recv(sv[0], &got, &cfd, &bfd, &ack, &sender), -1);
    ck_assert_int_eq(fe_handoff_recv(sv[0], &got, &cfd, &bfd, &ack, &sender), 0);
    ck_assert_int_eq(open_fds(), base);

    /* A good one, with texts that fill their fields to the last byte. */
    h.magic = FE_HANDOFF_MAGIC;
    memset(h.who, 'w', sizeof h.who);
    memset(h.id, 'i', sizeof h.id);
    memset(h.vhost, 'v', sizeof h.vhost);
    memset(h.version, 'x', sizeof h.version);
    offer(sv[1], &h, sizeof h, fds, 3);
    ck_assert_int_eq(fe_handoff_recv(sv[0], &got, &cfd, &bfd, &ack, &sender), 1);
    ck_assert_int_eq(sender, getpid());
    ck_assert_uint_eq(strlen(got.who), sizeof got.who - 1);
    ck_assert_uint_eq(strlen(got.id), sizeof got.id - 1);
    ck_assert_uint_eq(strlen(got.vhost), sizeof got.vhost - 1);
    ck_assert_uint_eq(strlen(got.version), sizeof got.version - 1);
    close(cfd);
    close(bfd);
    close(ack);
    ck_assert_int_eq(open_fds(), base);
    for (int i = 0; i < 8; i++)
        close(fds[i]);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

Suite *suite_fe_lean(void);
Suite *suite_fe_lean(void)
{
    Suite *s = suite_create("fe_lean");
    TCase *tc = tcase_create("handoff");
    tcase_add_test(tc, ack_never_blocks);
    tcase_add_test(tc, malformed_offers_are_refused_without_leaks);
    suite_add_tcase(s, tc);
    return s;
}
