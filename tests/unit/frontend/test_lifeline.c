/* SPDX-License-Identifier: BSD-2-Clause */
/* What a frontend child does on its master's death or an end request
 * (frontend/lifeline.c): an idle child exits, a busy one gives up its
 * listeners but keeps their numbers, an end request shuts the relay's
 * backend socket (or, before the relay, the client's). Each case runs in a
 * process of its own, as the signals and the state are per process. */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frontend/child.h"
#include "frontend/lifeline.h"

static struct fe_listener ls[2];
static struct fe_gen gen;

/* A generation with two listening sockets and an accept epoll. */
static void make_gen(void)
{
    for (int i = 0; i < 2; i++) {
        ls[i] = (struct fe_listener){.fd = socket(AF_UNIX, SOCK_STREAM, 0)};
        ck_assert_int_ge(ls[i].fd, 0);
    }
    gen = (struct fe_gen){.id = 1, .ls = ls, .nls = 2, .accept_ep = epoll_create1(0)};
}

static bool is_socket(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* Runs fn in a child; returns its exit status, or 128 + the signal. */
static int in_child(void (*fn)(void))
{
    pid_t p = fork();
    ck_assert_int_ne(p, -1);
    if (p == 0) {
        alarm(5);
        fn();
        _exit(0);
    }
    int st;
    ck_assert_int_eq(waitpid(p, &st, 0), p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void orphan_while_idle(void)
{
    make_gen();
    int spare = open("/dev/null", O_RDONLY);
    fe_lifeline_child(&gen, getppid(), spare);
    fe_lifeline_idle(true);
    raise(fe_sig_orphan());
    _exit(9); /* not reached: an idle child exits at once */
}

START_TEST(idle_child_exits_on_orphan)
{
    ck_assert_int_eq(in_child(orphan_while_idle), 0);
}
END_TEST

static void orphan_while_busy(void)
{
    make_gen();
    int spare = open("/dev/null", O_RDONLY);
    fe_lifeline_child(&gen, getppid(), spare);
    fe_lifeline_idle(false);
    raise(fe_sig_orphan());
    if (!fe_lifeline_orphaned())
        _exit(10);
    for (int i = 0; i < 2; i++)
        if (is_socket(ls[i].fd) || fcntl(ls[i].fd, F_GETFD) == -1)
            _exit(11); /* still the listener, or a number set free */
    if (fcntl(gen.accept_ep, F_GETFD) == -1)
        _exit(12);
    fe_lifeline_idle(true); /* the client done: going idle now exits */
    _exit(13);
}

START_TEST(busy_child_drops_listeners_then_exits_when_idle)
{
    ck_assert_int_eq(in_child(orphan_while_busy), 0);
}
END_TEST

/* A master that died between fork and the death signal's set-up. */
static void master_already_gone(void)
{
    make_gen();
    fe_lifeline_child(&gen, getppid() + 100000, -1);
    _exit(14);
}

START_TEST(exits_when_master_died_before)
{
    ck_assert_int_eq(in_child(master_already_gone), 0);
}
END_TEST

static bool sees_eof(int fd)
{
    char c;
    struct timeval tv = {.tv_sec = 1};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return read(fd, &c, 1) == 0;
}

static void end_request_relay(void)
{
    int be[2], cl[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, be) || socketpair(AF_UNIX, SOCK_STREAM, 0, cl))
        _exit(20);
    fe_lifeline_lean();
    fe_lifeline_client_fd(cl[0]);
    fe_lifeline_relay_fd(be[0]);
    raise(FE_SIG_END);
    if (!fe_lifeline_end_asked())
        _exit(21);
    if (!sees_eof(be[1]))
        _exit(22); /* the backend side was not shut down */
    if (write(cl[1], "x", 1) != 1 || sees_eof(cl[0]))
        _exit(23); /* the client was cut, not the backend */
    _exit(0);
}

START_TEST(end_request_shuts_relay_backend)
{
    ck_assert_int_eq(in_child(end_request_relay), 0);
}
END_TEST

static void end_request_before_relay(void)
{
    int cl[2], be[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, cl) || socketpair(AF_UNIX, SOCK_STREAM, 0, be))
        _exit(30);
    fe_lifeline_lean();
    fe_lifeline_client_fd(cl[0]);
    raise(FE_SIG_END);
    if (!sees_eof(cl[1]))
        _exit(31);
    /* a relay that starts after the request is ended at once */
    fe_lifeline_relay_fd(be[0]);
    if (!sees_eof(be[1]))
        _exit(32);
    _exit(0);
}

START_TEST(end_request_before_relay_cuts_client_then_relay)
{
    ck_assert_int_eq(in_child(end_request_before_relay), 0);
}
END_TEST

static void drop_closes_listeners(void)
{
    make_gen();
    int spare = open("/dev/null", O_RDONLY);
    fe_lifeline_child(&gen, getppid(), spare);
    fe_lifeline_drop_listeners();
    for (int i = 0; i < 2; i++)
        if (fcntl(ls[i].fd, F_GETFD) != -1)
            _exit(40);
    if (fcntl(gen.accept_ep, F_GETFD) != -1)
        _exit(41);
    /* orphaned afterwards: nothing left to dup over, it just goes on */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0); /* may take a freed number */
    raise(fe_sig_orphan());
    if (!fe_lifeline_orphaned() || !is_socket(fd))
        _exit(42);
    _exit(0);
}

START_TEST(dropped_listeners_stay_dropped)
{
    ck_assert_int_eq(in_child(drop_closes_listeners), 0);
}
END_TEST

Suite *suite_fe_lifeline(void);
Suite *suite_fe_lifeline(void)
{
    Suite *s = suite_create("fe_lifeline");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, idle_child_exits_on_orphan);
    tcase_add_test(tc, busy_child_drops_listeners_then_exits_when_idle);
    tcase_add_test(tc, exits_when_master_died_before);
    tcase_add_test(tc, end_request_shuts_relay_backend);
    tcase_add_test(tc, end_request_before_relay_cuts_client_then_relay);
    tcase_add_test(tc, dropped_listeners_stay_dropped);
    suite_add_tcase(s, tc);
    return s;
}
