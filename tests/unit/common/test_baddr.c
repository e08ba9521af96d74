/* SPDX-License-Identifier: BSD-2-Clause */
/* common/baddr.c: backend addresses ("/path", "unix:", "tcp:"). */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <string.h>

#include "common/baddr.h"

static char path[128], host[128], err[256];
static int port;
static enum bx_baddr_kind kind;

static int split(const char *s)
{
    path[0] = host[0] = err[0] = '\0';
    port = 0;
    return bx_baddr_split(s, &kind, path, sizeof path, host, sizeof host, &port, err, sizeof err);
}

START_TEST(unix_forms)
{
    ck_assert_int_eq(split("/run/b.sock"), 0);
    ck_assert_int_eq(kind, BX_BADDR_UNIX);
    ck_assert_str_eq(path, "/run/b.sock");
    ck_assert_int_eq(split("unix:/run/b.sock"), 0);
    ck_assert_int_eq(kind, BX_BADDR_UNIX);
    ck_assert_str_eq(path, "/run/b.sock");
    ck_assert_int_eq(split("be.sock"), 0); /* relative: the config's directory */
    ck_assert_str_eq(path, "be.sock");
    ck_assert_int_eq(split("unix:"), -1);
    ck_assert_str_eq(err, "no socket path");
    char longp[200];
    memset(longp, 'a', sizeof longp - 1);
    longp[0] = '/';
    longp[sizeof longp - 1] = '\0';
    ck_assert_int_eq(split(longp), -1);
    ck_assert_ptr_nonnull(strstr(err, "socket path longer than"));
}
END_TEST

START_TEST(tcp_forms)
{
    ck_assert_int_eq(split("tcp:10.0.0.2:8080"), 0);
    ck_assert_int_eq(kind, BX_BADDR_TCP);
    ck_assert_str_eq(host, "10.0.0.2");
    ck_assert_int_eq(port, 8080);
    ck_assert_int_eq(split("tcp:[2001:db8::1]:443"), 0);
    ck_assert_str_eq(host, "2001:db8::1");
    ck_assert_int_eq(port, 443);
    ck_assert_int_eq(split("tcp:backend1.example:81"), 0);
    ck_assert_str_eq(host, "backend1.example");
}
END_TEST

START_TEST(tcp_errors)
{
    ck_assert_int_eq(split("tcp:10.0.0.2"), -1);
    ck_assert_str_eq(err, "no port: tcp:HOST:PORT");
    ck_assert_int_eq(split("tcp:10.0.0.2:0"), -1);
    ck_assert_str_eq(err, "port '0' is not a number 1-65535");
    ck_assert_int_eq(split("tcp:10.0.0.2:65536"), -1);
    ck_assert_int_eq(split("tcp:10.0.0.2:80x"), -1);
    ck_assert_int_eq(split("tcp:10.0.0.2:-1"), -1);
    ck_assert_int_eq(split("tcp:10.0.0.2:"), -1);
    ck_assert_int_eq(split("tcp::80"), -1);
    ck_assert_str_eq(err, "no host");
    ck_assert_int_eq(split("tcp:::1:80"), -1);
    ck_assert_ptr_nonnull(strstr(err, "brackets"));
    ck_assert_int_eq(split("tcp:[::1:80"), -1);
    ck_assert_ptr_nonnull(strstr(err, "brackets"));
    ck_assert_int_eq(split("tcp:[::1]80"), -1);
    ck_assert_int_eq(split("udp:10.0.0.1:80"), -1);
    ck_assert_ptr_nonnull(strstr(err, "not a backend address"));
    ck_assert_int_eq(split("10.0.0.1:80"), -1);
}
END_TEST

START_TEST(resolve_literals)
{
    struct bx_baddr a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    ck_assert_int_eq(bx_baddr_resolve("127.0.0.1", 8080, &a, err, sizeof err), 0);
    ck_assert_int_eq(a.ss.ss_family, AF_INET);
    ck_assert_int_eq(ntohs(((struct sockaddr_in *)&a.ss)->sin_port), 8080);
    ck_assert_str_eq(a.text, "tcp:127.0.0.1:8080");
    ck_assert_int_eq(bx_baddr_resolve("::1", 81, &b, err, sizeof err), 0);
    ck_assert_int_eq(b.ss.ss_family, AF_INET6);
    ck_assert_str_eq(b.text, "tcp:[::1]:81");
    ck_assert(!bx_baddr_equal(&a, &b));
    struct bx_baddr c = a;
    ck_assert(bx_baddr_equal(&a, &c));
    ck_assert_int_eq(bx_baddr_resolve("no-such-host.invalid", 80, &c, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "cannot resolve 'no-such-host.invalid'"));
}
END_TEST

Suite *suite_baddr(void);
Suite *suite_baddr(void)
{
    Suite *s = suite_create("baddr");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, unix_forms);
    tcase_add_test(tc, tcp_forms);
    tcase_add_test(tc, tcp_errors);
    tcase_add_test(tc, resolve_literals);
    suite_add_tcase(s, tc);
    return s;
}
