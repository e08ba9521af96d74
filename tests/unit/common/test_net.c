/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/net.h"
#include "tests/unit/testutil.h"

static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
    return bx_sockaddr_port((struct sockaddr *)&ss);
}

START_TEST(tcp_v4_and_v6_same_port)
{
    char err[BX_ERRLEN];
    int a = bx_listen_tcp("127.0.0.1", 0, 16, err, sizeof err);
    ck_assert_msg(a >= 0, "%s", err);
    int port = bound_port(a);
    /* IPV6_V6ONLY lets "::" share the port that "0.0.0.0" family holds. */
    int b = bx_listen_tcp("::1", port, 16, err, sizeof err);
    ck_assert_msg(b >= 0, "%s", err);
    ck_assert(fcntl(a, F_GETFL) & O_NONBLOCK);
    ck_assert(fcntl(a, F_GETFD) & FD_CLOEXEC);
    close(a);
    close(b);
}
END_TEST

START_TEST(tcp_bind_error_names_address)
{
    char err[BX_ERRLEN];
    int a = bx_listen_tcp("127.0.0.1", 0, 16, err, sizeof err);
    ck_assert_int_ge(a, 0);
    int port = bound_port(a);
    int b = bx_listen_tcp("127.0.0.1", port, 16, err, sizeof err);
    ck_assert_int_eq(b, -1);
    char want[64];
    snprintf(want, sizeof want, "cannot bind 127.0.0.1:%d: Address already in use", port);
    ck_assert_str_eq(err, want);
    ck_assert_int_eq(bx_listen_tcp("::1", 70000, 16, err, sizeof err), -1);
    ck_assert_int_eq(bx_listen_tcp("not-an-ip", 80, 16, err, sizeof err), -1);
    ck_assert_str_eq(err, "not-an-ip:80: not an IPv4 or IPv6 address");
    close(a);
}
END_TEST

/* A master that died leaves its listener to an orphan worker: with replace
 * (we hold the pid file lock) the path is taken over, though it answers. */
START_TEST(unix_socket_orphan_taken_over)
{
    char err[BX_ERRLEN];
    char *dir = tu_tmpdir();
    char path[256];
    snprintf(path, sizeof path, "%s/o.sock", dir);
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t master = fork();
    if (master == 0) {
        int fd = bx_listen_unix(path, 0600, (uid_t)-1, (gid_t)-1, 16, false, err, sizeof err);
        pid_t orphan = fd == -1 ? -1 : fork();
        if (orphan == 0) {
            sleep(10); /* holds the inherited listener */
            _exit(0);
        }
        if (write(p[1], &orphan, sizeof orphan) != sizeof orphan)
            _exit(1);
        _exit(0);
    }
    pid_t orphan = -1;
    ck_assert_int_eq(read(p[0], &orphan, sizeof orphan), (ssize_t)sizeof orphan);
    ck_assert_int_gt(orphan, 0);
    waitpid(master, NULL, 0);
    int c = bx_connect_unix(path, err, sizeof err);
    ck_assert_int_ge(c, 0); /* the orphan's socket still answers */
    close(c);
    ck_assert_int_eq(bx_listen_unix(path, 0600, (uid_t)-1, (gid_t)-1, 16, false, err, sizeof err),
                     -1);
    int fd = bx_listen_unix(path, 0600, (uid_t)-1, (gid_t)-1, 16, true, err, sizeof err);
    ck_assert_msg(fd >= 0, "%s", err);
    close(fd);
    kill(orphan, SIGKILL);
    close(p[0]);
    close(p[1]);
    unlink(path);
    rmdir(dir);
    free(dir);
}
END_TEST

START_TEST(unix_socket_mode_and_stale)
{
    char err[BX_ERRLEN];
    char *dir = tu_tmpdir();
    char path[256];
    snprintf(path, sizeof path, "%s/s.sock", dir);
    int fd = bx_listen_unix(path, 0640, (uid_t)-1, (gid_t)-1, 16, false, err, sizeof err);
    ck_assert_msg(fd >= 0, "%s", err);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert(S_ISSOCK(st.st_mode));
    ck_assert_int_eq(st.st_mode & 07777, 0640);
    /* A live listener is never stolen. */
    ck_assert_int_eq(bx_listen_unix(path, 0640, (uid_t)-1, (gid_t)-1, 16, false, err, sizeof err),
                     -1);
    ck_assert_ptr_nonnull(strstr(err, "is listening on it"));
    int c = bx_connect_unix(path, err, sizeof err);
    ck_assert_int_ge(c, 0);
    close(c);
    /* Not even with replace while the process that listens is alive. */
    ck_assert_int_eq(bx_listen_unix(path, 0640, (uid_t)-1, (gid_t)-1, 16, true, err, sizeof err),
                     -1);
    close(fd);
    /* A stale socket file is replaced. */
    fd = bx_listen_unix(path, 0600, (uid_t)-1, (gid_t)-1, 16, false, err, sizeof err);
    ck_assert_msg(fd >= 0, "%s", err);
    close(fd);
    unlink(path);
    /* A regular file in the way is an error, not deleted. */
    close(open(path, O_CREAT | O_WRONLY, 0600));
    ck_assert_int_eq(bx_listen_unix(path, 0600, (uid_t)-1, (gid_t)-1, 16, false, err, sizeof err),
                     -1);
    ck_assert_ptr_nonnull(strstr(err, "is not a socket"));
    unlink(path);
    rmdir(dir);
    free(dir);
}
END_TEST

START_TEST(cidr_matching)
{
    struct bx_cidr c;
    struct sockaddr_storage ss;
    socklen_t len;
    ck_assert_int_eq(bx_cidr_parse("10.0.0.0/8", &c), 0);
    ck_assert_int_eq(bx_sockaddr_parse("10.200.3.4", 1, &ss, &len), 0);
    ck_assert(bx_cidr_match(&c, (struct sockaddr *)&ss));
    ck_assert_int_eq(bx_sockaddr_parse("11.0.0.1", 1, &ss, &len), 0);
    ck_assert(!bx_cidr_match(&c, (struct sockaddr *)&ss));
    /* IPv4 clients on a dual-stack socket appear v4-mapped. */
    ck_assert_int_eq(bx_sockaddr_parse("::ffff:10.1.2.3", 1, &ss, &len), 0);
    ck_assert(bx_cidr_match(&c, (struct sockaddr *)&ss));
    ck_assert_int_eq(bx_cidr_parse("2001:db8::/33", &c), 0);
    ck_assert_int_eq(bx_sockaddr_parse("2001:db8:7fff::1", 1, &ss, &len), 0);
    ck_assert(bx_cidr_match(&c, (struct sockaddr *)&ss));
    ck_assert_int_eq(bx_sockaddr_parse("2001:db8:8000::1", 1, &ss, &len), 0);
    ck_assert(!bx_cidr_match(&c, (struct sockaddr *)&ss));
    ck_assert_int_eq(bx_cidr_parse("127.0.0.1", &c), 0);
    ck_assert_int_eq(c.prefix, 32);
    ck_assert_int_eq(bx_cidr_parse("10.0.0.0/33", &c), -1);
    ck_assert_int_eq(bx_cidr_parse("10.0.0.0/", &c), -1);
    ck_assert_int_eq(bx_cidr_parse("example.com", &c), -1);
}
END_TEST

START_TEST(address_strings)
{
    struct sockaddr_storage ss;
    socklen_t len;
    char out[BX_ADDRSTRLEN];
    ck_assert_int_eq(bx_sockaddr_parse("192.0.2.1", 443, &ss, &len), 0);
    ck_assert_str_eq(bx_sockaddr_str((struct sockaddr *)&ss, len, true, out, sizeof out),
                     "192.0.2.1:443");
    ck_assert_int_eq(bx_sockaddr_parse("[2001:db8::1]", 80, &ss, &len), 0);
    ck_assert_str_eq(bx_sockaddr_str((struct sockaddr *)&ss, len, true, out, sizeof out),
                     "[2001:db8::1]:80");
    ck_assert_str_eq(bx_sockaddr_str((struct sockaddr *)&ss, len, false, out, sizeof out),
                     "2001:db8::1");
}
END_TEST

Suite *suite_net(void);
Suite *suite_net(void)
{
    Suite *s = suite_create("net");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, tcp_v4_and_v6_same_port);
    tcase_add_test(tc, tcp_bind_error_names_address);
    tcase_add_test(tc, unix_socket_mode_and_stale);
    tcase_add_test(tc, unix_socket_orphan_taken_over);
    tcase_add_test(tc, cidr_matching);
    tcase_add_test(tc, address_strings);
    suite_add_tcase(s, tc);
    return s;
}
