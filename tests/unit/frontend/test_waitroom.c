/* SPDX-License-Identifier: BSD-2-Clause */
/* The waiting room (frontend/waitroom.c). Child side: how many queued bytes
 * make a client worth serving (plaintext head, TLS record header), and the
 * descriptor hand-over, which must drop malformed or truncated messages
 * without leaking the descriptor. Master side: a parked client comes back
 * when enough is queued, is closed with a 408 at its deadline, is dropped
 * on hang-up, per_ip_max holds in the room, and a reload moves or closes it. */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cfg.h"
#include "common/proc.h"
#include "frontend/child.h"
#include "frontend/waitroom.h"

/* ---- child side: fe_waitroom_need ---- */

static int pair[2];

static void pair_up(void)
{
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
}

static void pair_down(void)
{
    close(pair[0]);
    close(pair[1]);
}

static void put(const void *p, size_t n)
{
    ck_assert_int_eq(write(pair[1], p, n), (ssize_t)n);
}

START_TEST(plain_head_complete_or_not)
{
    ck_assert_uint_eq(fe_waitroom_need(pair[0], false), 1); /* nothing yet: one byte more */
    put("GET / HTTP/1.1\r\nHost: a\r\n", 25);
    ck_assert_uint_eq(fe_waitroom_need(pair[0], false), 26);
    ck_assert_uint_eq(fe_waitroom_need(pair[0], false), 26); /* a peek consumes nothing */
    put("\r\n", 2);
    ck_assert_uint_eq(fe_waitroom_need(pair[0], false), 0);
}
END_TEST

START_TEST(plain_bare_lf_and_eof)
{
    put("GET / HTTP/1.0\n\n", 16);
    ck_assert_uint_eq(fe_waitroom_need(pair[0], false), 0);
    char b[16];
    ck_assert_int_eq(read(pair[0], b, sizeof b), 16);
    close(pair[1]);
    pair[1] = -1;
    ck_assert_uint_eq(fe_waitroom_need(pair[0], false), 0); /* gone: the child finds out */
}
END_TEST

/* A head that fills the peek buffer without an end is served as it is
 * (the backend answers 431), not parked for ever. */
START_TEST(plain_oversized_head_served)
{
    static char big[16384];
    memset(big, 'a', sizeof big);
    put(big, sizeof big - 1);
    ck_assert_uint_eq(fe_waitroom_need(pair[0], false), sizeof big);
    put("a", 1);
    ck_assert_uint_eq(fe_waitroom_need(pair[0], false), 0);
}
END_TEST

START_TEST(tls_record_header)
{
    ck_assert_uint_eq(fe_waitroom_need(pair[0], true), 5);
    put("\x16\x03\x01", 3);
    ck_assert_uint_eq(fe_waitroom_need(pair[0], true), 5);
    put("\x02\x00", 2); /* a 512-byte ClientHello record */
    ck_assert_uint_eq(fe_waitroom_need(pair[0], true), 517);
    static unsigned char body[512];
    put(body, 511);
    ck_assert_uint_eq(fe_waitroom_need(pair[0], true), 517);
    put(body, 1);
    ck_assert_uint_eq(fe_waitroom_need(pair[0], true), 0);
}
END_TEST

/* Not a handshake record, or longer than a record may be: not ours to
 * judge, served at once (the TLS library refuses it). */
START_TEST(tls_bad_record_served)
{
    put("\x17\x03\x03\x00\x10", 5);
    ck_assert_uint_eq(fe_waitroom_need(pair[0], true), 0);
    char b[5];
    ck_assert_int_eq(read(pair[0], b, 5), 5);
    put("\x16\x03\x01\xff\xff", 5);
    ck_assert_uint_eq(fe_waitroom_need(pair[0], true), 0);
    ck_assert_int_eq(read(pair[0], b, 5), 5);
    put("\x16\x03\x01\x41\x01", 5); /* one byte over the largest record */
    ck_assert_uint_eq(fe_waitroom_need(pair[0], true), 0);
    ck_assert_int_eq(read(pair[0], b, 5), 5);
    put("\x16\x03\x01\x41\x00", 5); /* 16640 + 5: the largest allowed */
    ck_assert_uint_eq(fe_waitroom_need(pair[0], true), 16645);
}
END_TEST

/* ---- the hand-over ---- */

static int seq[2];

static void seq_up(void)
{
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, seq), 0);
    pair_up();
}

static void seq_down(void)
{
    close(seq[0]);
    close(seq[1]);
    pair_down();
}

/* True when fd is open. */
static bool is_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1;
}

/* The peer of pair[0] sees EOF: no copy of pair[0] is open anywhere. */
static bool peer_sees_eof(void)
{
    char c;
    struct timeval tv = {.tv_sec = 1};
    setsockopt(pair[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return read(pair[1], &c, 1) == 0;
}

START_TEST(park_and_take)
{
    struct fe_park p = {.li = 3, .gen = 7, .need = 99, .since_ms = 12345};
    int fd = pair[0];
    ck_assert_int_eq(fe_waitroom_park(seq[0], fd, &p), 0);
    ck_assert(!is_open(fd)); /* ours is closed once passed */
    struct fe_park got;
    int nfd = fe_waitroom_take(seq[1], &got);
    ck_assert_int_ge(nfd, 0);
    ck_assert_uint_eq(got.li, 3);
    ck_assert_uint_eq(got.gen, 7);
    ck_assert_uint_eq(got.need, 99);
    ck_assert_uint_eq(got.since_ms, 12345);
    ck_assert(fcntl(nfd, F_GETFD) & FD_CLOEXEC);
    ck_assert_int_eq(write(nfd, "x", 1), 1); /* the same connection */
    char c;
    ck_assert_int_eq(read(pair[1], &c, 1), 1);
    pair[0] = nfd;
    ck_assert_int_eq(fe_waitroom_take(seq[1], &got), -1); /* nothing more queued */
}
END_TEST

START_TEST(park_without_socket_keeps_fd)
{
    struct fe_park p = {0};
    ck_assert_int_eq(fe_waitroom_park(-1, pair[0], &p), -1);
    ck_assert(is_open(pair[0])); /* the caller serves it */
}
END_TEST

/* Sends fd with the bytes msg[len] (not through fe_waitroom_park). */
static void send_raw(int sock, int fd, const void *msg, size_t len)
{
    struct iovec iov = {.iov_base = (void *)msg, .iov_len = len};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct msghdr m = {.msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = u.buf,
                       .msg_controllen = sizeof u.buf};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof fd);
    ck_assert_int_eq(sendmsg(sock, &m, 0), (ssize_t)len);
}

START_TEST(take_drops_bad_magic_without_leak)
{
    struct fe_park p = {.magic = 0x12345678, .need = 1};
    send_raw(seq[0], pair[0], &p, sizeof p);
    close(pair[0]);
    pair[0] = -1;
    struct fe_park got;
    ck_assert_int_eq(fe_waitroom_take(seq[1], &got), -1);
    ck_assert(peer_sees_eof());
}
END_TEST

START_TEST(take_drops_short_message_without_leak)
{
    struct fe_park p = {.magic = 0x5041524bu};
    send_raw(seq[0], pair[0], &p, sizeof p - 4);
    close(pair[0]);
    pair[0] = -1;
    struct fe_park got;
    ck_assert_int_eq(fe_waitroom_take(seq[1], &got), -1);
    ck_assert(peer_sees_eof());
}
END_TEST

START_TEST(take_refuses_message_without_fd)
{
    struct fe_park p = {.magic = 0x5041524bu};
    ck_assert_int_eq(send(seq[0], &p, sizeof p, 0), (ssize_t)sizeof p);
    struct fe_park got;
    ck_assert_int_eq(fe_waitroom_take(seq[1], &got), -1);
}
END_TEST

/* ---- master side ---- */

static struct bx_service svc[2];
static struct bx_config cfg;
static struct fe_listener lst[2];
static struct fe_gen gen;
static struct fe_waitroom *room;
static int child_end, ep, lfd;

/* A loopback TCP listener, so that the room sees real peer addresses. */
static int tcp_listener(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(fd, 16), 0);
    return fd;
}

/* A connected pair: *client our client end, returns the accepted end. */
static int tcp_client(int *client)
{
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&a, &al), 0);
    *client = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_eq(connect(*client, (struct sockaddr *)&a, al), 0);
    int s = accept(lfd, NULL, NULL);
    ck_assert_int_ge(s, 0);
    return s;
}

static void room_up(void)
{
    memset(&cfg, 0, sizeof cfg);
    svc[0] = (struct bx_service){.port = 80};
    svc[1] = (struct bx_service){.port = 443, .tls = true};
    cfg.fe.services = svc;
    cfg.fe.nservices = 2;
    cfg.fe.request_timeout_ms = 5000;
    cfg.fe.handshake_timeout_ms = 5000;
    lst[0] = (struct fe_listener){.fd = -1, .service = 0, .addr = "127.0.0.1", .port = 80};
    lst[1] = (struct fe_listener){.fd = -1, .service = 1, .addr = "127.0.0.1", .port = 443};
    gen = (struct fe_gen){.id = 1, .cfg = &cfg, .ls = lst, .nls = 2, .accept_ep = -1};
    room = fe_waitroom_create(&child_end);
    ck_assert_ptr_nonnull(room);
    ep = epoll_create1(EPOLL_CLOEXEC);
    lfd = tcp_listener();
}

static void room_down(void)
{
    fe_waitroom_destroy(room);
    close(ep);
    close(lfd);
}

/* A child parks server end s of listener li with need; the master takes it. */
static void park(int s, uint32_t li, uint32_t need, uint64_t since)
{
    struct fe_park p = {.li = li, .gen = gen.id, .need = need, .since_ms = since};
    ck_assert_int_eq(fe_waitroom_park(child_end, s, &p), 0);
    fe_waitroom_receive(room, ep, &gen);
}

/* Runs the master's epoll once (up to ms); returns the events handled. */
static int master_turn(int ms)
{
    struct epoll_event evs[8];
    int n = epoll_wait(ep, evs, 8, ms);
    for (int i = 0; i < n; i++)
        fe_waitroom_event(room, ep, evs[i].data.u32, evs[i].events);
    return n;
}

START_TEST(parked_client_returns_when_ready)
{
    int cl, s = tcp_client(&cl);
    park(s, 0, 30, bx_now_ms());
    ck_assert_uint_eq(fe_waitroom_count(room), 1);
    struct fe_park got;
    ck_assert_int_eq(fe_waitroom_take(child_end, &got), -1); /* not passed back yet */
    ck_assert_int_eq(write(cl, "GET / HTTP/1.1\r\n", 16), 16); /* 16 of 30 */
    master_turn(200);
    ck_assert_uint_eq(fe_waitroom_count(room), 1);
    ck_assert_int_eq(write(cl, "Host: a\r\n\r\n", 11), 11);   /* 27: still short */
    master_turn(200);
    ck_assert_uint_eq(fe_waitroom_count(room), 1);
    ck_assert_int_eq(write(cl, "xyz", 3), 3);
    ck_assert_int_ge(master_turn(1000), 1);
    ck_assert_uint_eq(fe_waitroom_count(room), 0);
    int fd = fe_waitroom_take(child_end, &got);
    ck_assert_int_ge(fd, 0);
    ck_assert_uint_eq(got.need, 0);
    ck_assert_uint_eq(got.li, 0);
    char buf[64];
    ck_assert_int_eq(recv(fd, buf, sizeof buf, 0), 30); /* the master read no byte */
    close(fd);
    close(cl);
}
END_TEST

START_TEST(deadline_closes_with_408)
{
    cfg.fe.request_timeout_ms = 100;
    int cl, s = tcp_client(&cl);
    park(s, 0, 10, bx_now_ms() - 1000); /* accepted a second ago: due at once */
    ck_assert_uint_eq(fe_waitroom_count(room), 1);
    fe_waitroom_tick(room, ep);
    ck_assert_uint_eq(fe_waitroom_count(room), 0);
    char buf[512];
    struct timeval tv = {.tv_sec = 2};
    setsockopt(cl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t n = read(cl, buf, sizeof buf - 1);
    ck_assert_int_gt(n, 12);
    buf[n] = '\0';
    ck_assert_msg(strncmp(buf, "HTTP/1.1 408 ", 13) == 0, "%s", buf);
    close(cl);
}
END_TEST

/* A TLS client gets no HTTP page at its deadline; one not yet due stays,
 * and a since from the child's future counts from now. */
START_TEST(tls_deadline_silent_close)
{
    cfg.fe.handshake_timeout_ms = 150;
    int cl, s = tcp_client(&cl);
    park(s, 1, 5, bx_now_ms() + 3600000);
    fe_waitroom_tick(room, ep);
    ck_assert_uint_eq(fe_waitroom_count(room), 1);
    usleep(200000);
    fe_waitroom_tick(room, ep);
    ck_assert_uint_eq(fe_waitroom_count(room), 0);
    char buf[16];
    struct timeval tv = {.tv_sec = 2};
    setsockopt(cl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ck_assert_int_eq(read(cl, buf, sizeof buf), 0);
    close(cl);
}
END_TEST

START_TEST(hangup_drops)
{
    int cl, s = tcp_client(&cl);
    park(s, 0, 100, bx_now_ms());
    ck_assert_int_eq(write(cl, "GET", 3), 3);
    close(cl);
    for (int i = 0; i < 5 && fe_waitroom_count(room); i++)
        master_turn(200);
    ck_assert_uint_eq(fe_waitroom_count(room), 0);
    struct fe_park got;
    ck_assert_int_eq(fe_waitroom_take(child_end, &got), -1); /* no child is bothered */
}
END_TEST

/* From another generation, or naming no listener: passed back to be served
 * as it is, not kept. */
START_TEST(stale_generation_served_as_is)
{
    int cl, s = tcp_client(&cl);
    struct fe_park p = {.li = 0, .gen = 99, .need = 10, .since_ms = bx_now_ms()};
    ck_assert_int_eq(fe_waitroom_park(child_end, s, &p), 0);
    int cl2, s2 = tcp_client(&cl2);
    p = (struct fe_park){.li = 2, .gen = gen.id, .need = 10, .since_ms = bx_now_ms()};
    ck_assert_int_eq(fe_waitroom_park(child_end, s2, &p), 0);
    fe_waitroom_receive(room, ep, &gen);
    ck_assert_uint_eq(fe_waitroom_count(room), 0);
    struct fe_park got;
    for (int i = 0; i < 2; i++) {
        int fd = fe_waitroom_take(child_end, &got);
        ck_assert_int_ge(fd, 0);
        ck_assert_uint_eq(got.need, FE_WAITROOM_SERVE);
        close(fd);
    }
    close(cl);
    close(cl2);
}
END_TEST

START_TEST(per_ip_max_in_the_room)
{
    cfg.fe.per_ip_max = 2;
    int cl[3];
    for (int i = 0; i < 3; i++)
        park(tcp_client(&cl[i]), 0, 100, bx_now_ms());
    ck_assert_uint_eq(fe_waitroom_count(room), 2);
    char buf[512];
    struct timeval tv = {.tv_sec = 2};
    setsockopt(cl[2], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t n = read(cl[2], buf, sizeof buf - 1);
    ck_assert_int_gt(n, 12);
    buf[n] = '\0';
    ck_assert_msg(strncmp(buf, "HTTP/1.1 503 ", 13) == 0, "%s", buf);
    for (int i = 0; i < 3; i++)
        close(cl[i]);
}
END_TEST

/* Waiting clients are held at high descriptor numbers that a fork drops
 * with one close_range. */
START_TEST(clients_held_above_fd_base)
{
    int cl, s = tcp_client(&cl);
    park(s, 0, 100, bx_now_ms());
    int found = -1;
    for (int fd = FE_WAITROOM_FD_BASE; fd < FE_WAITROOM_FD_BASE + 64 && found < 0; fd++)
        if (fcntl(fd, F_GETFD) != -1)
            found = fd;
    ck_assert_int_ge(found, FE_WAITROOM_FD_BASE);
    fe_waitroom_forked();
    ck_assert_int_eq(fcntl(found, F_GETFD), -1);
    close(cl);
}
END_TEST

START_TEST(reload_moves_or_closes)
{
    int cl[2];
    park(tcp_client(&cl[0]), 0, 100, bx_now_ms());
    park(tcp_client(&cl[1]), 1, 100, bx_now_ms());
    ck_assert_uint_eq(fe_waitroom_count(room), 2);
    /* the new generation keeps port 80 (now its listener 0 is 443's place) */
    static struct fe_listener nl[1];
    nl[0] = (struct fe_listener){.fd = -1, .service = 0, .addr = "127.0.0.1", .port = 80};
    struct fe_gen ng = {.id = 2, .cfg = &cfg, .ls = nl, .nls = 1, .accept_ep = -1};
    fe_waitroom_regen(room, &gen, &ng);
    ck_assert_uint_eq(fe_waitroom_count(room), 1);
    char c;
    struct timeval tv = {.tv_sec = 2};
    setsockopt(cl[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ck_assert_int_eq(read(cl[1], &c, 1), 0); /* port 443 went away: closed */
    ck_assert_int_eq(write(cl[0], "GET / HTTP/1.1\r\n\r\n", 18), 18);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(write(cl[0], "x", 1), 1);
    for (int i = 0; i < 5 && fe_waitroom_count(room); i++)
        master_turn(200);
    struct fe_park got;
    int fd = fe_waitroom_take(child_end, &got);
    ck_assert_int_ge(fd, 0);
    ck_assert_uint_eq(got.gen, 2);
    ck_assert_uint_eq(got.li, 0);
    close(fd);
    close(cl[0]);
    close(cl[1]);
}
END_TEST

Suite *suite_fe_waitroom(void);
Suite *suite_fe_waitroom(void)
{
    Suite *s = suite_create("fe_waitroom");
    TCase *tc = tcase_create("need");
    tcase_add_checked_fixture(tc, pair_up, pair_down);
    tcase_add_test(tc, plain_head_complete_or_not);
    tcase_add_test(tc, plain_bare_lf_and_eof);
    tcase_add_test(tc, plain_oversized_head_served);
    tcase_add_test(tc, tls_record_header);
    tcase_add_test(tc, tls_bad_record_served);
    suite_add_tcase(s, tc);
    tc = tcase_create("handover");
    tcase_add_checked_fixture(tc, seq_up, seq_down);
    tcase_add_test(tc, park_and_take);
    tcase_add_test(tc, park_without_socket_keeps_fd);
    tcase_add_test(tc, take_drops_bad_magic_without_leak);
    tcase_add_test(tc, take_drops_short_message_without_leak);
    tcase_add_test(tc, take_refuses_message_without_fd);
    suite_add_tcase(s, tc);
    tc = tcase_create("master");
    tcase_add_checked_fixture(tc, room_up, room_down);
    tcase_add_test(tc, parked_client_returns_when_ready);
    tcase_add_test(tc, deadline_closes_with_408);
    tcase_add_test(tc, tls_deadline_silent_close);
    tcase_add_test(tc, hangup_drops);
    tcase_add_test(tc, stale_generation_served_as_is);
    tcase_add_test(tc, per_ip_max_in_the_room);
    tcase_add_test(tc, clients_held_above_fd_base);
    tcase_add_test(tc, reload_moves_or_closes);
    suite_add_tcase(s, tc);
    return s;
}
