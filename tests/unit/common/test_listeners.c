/* SPDX-License-Identifier: BSD-2-Clause */
/* common/listeners.c: what a reload keeps (the same socket at the same
 * place), what it binds, that a failed reload leaves the running sockets
 * alone, and the EADDRINUSE wait a restart after a kill -9 relies on. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/listeners.h"
#include "common/net.h"
#include "common/proc.h"
#include "tests/unit/testutil.h"

static int bound_port(int fd)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    return ntohs(sin.sin_port);
}

/* A listener on a free loopback port; *port set. */
static int listen_any(int *port)
{
    char err[BX_ERRLEN];
    int fd = bx_listen_tcp("127.0.0.1", 0, 16, err, sizeof err);
    ck_assert_msg(fd >= 0, "%s", err);
    *port = bound_port(fd);
    return fd;
}

/* Same open socket (a duplicate), not merely the same port. */
static bool same_socket(int a, int b)
{
    struct stat sa, sb;
    ck_assert_int_eq(fstat(a, &sa), 0);
    ck_assert_int_eq(fstat(b, &sb), 0);
    return sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev;
}

START_TEST(places_compare_by_kind_text_and_port)
{
    struct bx_lplace a = {.addr = "127.0.0.1", .port = 80};
    struct bx_lplace b = {.addr = "127.0.0.1", .port = 81};
    struct bx_lplace c = {.addr = "::1", .port = 80};
    struct bx_lplace u = {.path = "/run/b.sock"};
    struct bx_lplace u2 = {.path = "/run/c.sock"};
    struct bx_lplace none = {.port = 80};
    ck_assert(bx_lplace_same(&a, &a));
    ck_assert(!bx_lplace_same(&a, &b));
    ck_assert(!bx_lplace_same(&a, &c));
    ck_assert(bx_lplace_same(&u, &u));
    ck_assert(!bx_lplace_same(&u, &u2));
    ck_assert(!bx_lplace_same(&u, &a));
    ck_assert(!bx_lplace_same(&a, &u));
    ck_assert(!bx_lplace_same(&none, &none)); /* no address is no place */
}
END_TEST

START_TEST(reload_keeps_the_same_socket_and_binds_new_places)
{
    int p1, p2;
    int fd1 = listen_any(&p1), fd2 = listen_any(&p2);
    struct bx_lheld held[] = {{.fd = fd1, .at = {.addr = "127.0.0.1", .port = p1}},
                              {.fd = fd2, .at = {.addr = "127.0.0.1", .port = p2}}};
    struct bx_lbind how = {.backlog = 16};
    char err[BX_ERRLEN];
    bool reused;
    /* The order of the new configuration does not matter: by place. */
    struct bx_lplace want2 = {.addr = "127.0.0.1", .port = p2};
    int n2 = bx_listener_open(held, 2, &want2, &how, &reused, err, sizeof err);
    ck_assert_int_ge(n2, 0);
    ck_assert(reused);
    ck_assert_int_ne(n2, fd2);
    ck_assert(same_socket(n2, fd2));
    ck_assert(!same_socket(n2, fd1));
    ck_assert_int_eq(bx_lheld_find(held, 2, &want2), fd2);
    /* A place the running generation does not have is bound. */
    close(fd1);
    held[0].fd = -1; /* a closed entry is never reused */
    struct bx_lplace want1 = {.addr = "127.0.0.1", .port = p1};
    ck_assert_int_eq(bx_lheld_find(held, 2, &want1), -1);
    int n1 = bx_listener_open(held, 2, &want1, &how, &reused, err, sizeof err);
    ck_assert_msg(n1 >= 0, "%s", err);
    ck_assert(!reused);
    ck_assert_int_eq(bound_port(n1), p1);
    /* A failed reload closes what it opened: the running socket still listens. */
    close(n2);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET,
                              .sin_port = htons((uint16_t)p2),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(connect(c, (struct sockaddr *)&sin, sizeof sin), 0);
    close(c);
    close(n1);
    close(fd2);
}
END_TEST

START_TEST(unix_reused_by_path)
{
    char *dir = tu_tmpdir();
    char path[256];
    snprintf(path, sizeof path, "%s/b.sock", dir);
    struct bx_lbind how = {.backlog = 16, .mode = 0600, .uid = (uid_t)-1, .gid = (gid_t)-1};
    struct bx_lplace at = {.path = path};
    char err[BX_ERRLEN];
    bool reused;
    int fd = bx_listener_open(NULL, 0, &at, &how, &reused, err, sizeof err);
    ck_assert_msg(fd >= 0, "%s", err);
    ck_assert(!reused);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0600);
    struct bx_lheld held = {.fd = fd, .at = at};
    int again = bx_listener_open(&held, 1, &at, &how, &reused, err, sizeof err);
    ck_assert(reused);
    ck_assert(same_socket(again, fd));
    /* Without the running one, a live path is refused (no takeover asked). */
    int third = bx_listener_open(NULL, 0, &at, &how, &reused, err, sizeof err);
    ck_assert_int_eq(third, -1);
    ck_assert_ptr_nonnull(strstr(err, "listening on it"));
    close(again);
    close(fd);
    unlink(path);
    rmdir(dir);
    free(dir);
}
END_TEST

START_TEST(bind_waits_for_a_port_being_let_go)
{
    int port;
    int fd = listen_any(&port);
    char err[BX_ERRLEN];
    /* No wait: in use is an error at once, errno kept for the caller. */
    uint64_t t0 = bx_now_ms();
    ck_assert_int_eq(bx_listen_tcp_wait("127.0.0.1", port, 16, 0, 10, err, sizeof err), -1);
    ck_assert_int_eq(errno, EADDRINUSE);
    ck_assert_uint_lt(bx_now_ms() - t0, 200);
    /* A bounded wait that runs out. */
    t0 = bx_now_ms();
    ck_assert_int_eq(bx_listen_tcp_wait("127.0.0.1", port, 16, 150, 10, err, sizeof err), -1);
    ck_assert_int_eq(errno, EADDRINUSE);
    ck_assert_uint_ge(bx_now_ms() - t0, 150);
    /* An orphan that lets go 200 ms later: the wait gets the port. */
    pid_t pid = fork();
    if (pid == 0) {
        usleep(200 * 1000);
        _exit(0);
    }
    close(fd);
    t0 = bx_now_ms();
    int got = bx_listen_tcp_wait("127.0.0.1", port, 16, 3000, 10, err, sizeof err);
    ck_assert_msg(got >= 0, "%s", err);
    ck_assert_uint_ge(bx_now_ms() - t0, 100);
    ck_assert_uint_lt(bx_now_ms() - t0, 2500);
    int status;
    waitpid(pid, &status, 0);
    close(got);
}
END_TEST

Suite *suite_listeners(void);
Suite *suite_listeners(void)
{
    Suite *s = suite_create("listeners");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, places_compare_by_kind_text_and_port);
    tcase_add_test(tc, reload_keeps_the_same_socket_and_binds_new_places);
    tcase_add_test(tc, unix_reused_by_path);
    tcase_add_test(tc, bind_waits_for_a_port_being_let_go);
    suite_add_tcase(s, tc);
    return s;
}
