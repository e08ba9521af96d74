/* SPDX-License-Identifier: BSD-2-Clause */
/* The report of an upgrade's -t check (common/upgrade_report.h), and its
 * way from the check's child to the master (bx_upgrade_check_report). */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/net.h"
#include "common/upgrade.h"
#include "common/upgrade_report.h"

static int parse(struct bx_upgrade_report *r, const char *text, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    return bx_upgrade_report_parse(r, text, strlen(text), err, errlen);
}

START_TEST(report_round_trip)
{
    struct bx_buf b = BX_BUF_INIT;
    ck_assert_int_eq(bx_upgrade_report_listener(&b, &(struct bx_lplace){.path = "/run/b.sock"}), 0);
    ck_assert_int_eq(bx_upgrade_report_listener(&b,
                                                &(struct bx_lplace){.addr = "::1", .port = 443}),
                     0);
    ck_assert_int_eq(bx_upgrade_report_listener(&b, &(struct bx_lplace){.path = "/a b"}), -1);
    bx_buf_append_str(&b, "vhost.key 0 /etc/keys/with space.key\n");
    int fd = memfd_create("t", MFD_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    ck_assert_int_eq(bx_upgrade_report_write(dup, &b), 0); /* closes dup */
    struct bx_upgrade_report r = {0};
    char err[256];
    ck_assert_int_eq(bx_upgrade_report_read(&r, fd, err, sizeof err), 0);
    ck_assert(r.present);
    ck_assert_uint_eq(r.nls, 2);
    ck_assert_str_eq(r.ls[0].path, "/run/b.sock");
    ck_assert_str_eq(r.ls[1].addr, "::1");
    ck_assert_int_eq(r.ls[1].port, 443);
    ck_assert_uint_eq(r.nlines, 1);
    ck_assert_str_eq(r.lines[0], "vhost.key 0 /etc/keys/with space.key");
    bx_upgrade_report_free(&r);
    close(fd);
    bx_buf_free(&b);
}
END_TEST

START_TEST(report_refusals)
{
    struct bx_upgrade_report r;
    char err[256];
    ck_assert_int_eq(parse(&r, "bactrian-upgrade-check 2\nend\n", err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "not of version 1"));
    bx_upgrade_report_free(&r);
    ck_assert_int_eq(parse(&r, "bactrian-upgrade-check 1\nlisten tcp 80 ::\n", err, sizeof err),
                     -1);
    ck_assert_ptr_nonnull(strstr(err, "truncated"));
    bx_upgrade_report_free(&r);
    ck_assert_int_eq(parse(&r, "bactrian-upgrade-check 1\nlisten tcp 0 ::\nend\n", err, sizeof err),
                     -1);
    bx_upgrade_report_free(&r);
    ck_assert_int_eq(parse(&r, "bactrian-upgrade-check 1\nlisten tcp 80 :: x\nend\n", err,
                           sizeof err),
                     -1);
    bx_upgrade_report_free(&r);
    ck_assert_int_eq(parse(&r, "bactrian-upgrade-check 1\nend", err, sizeof err), -1);
    bx_upgrade_report_free(&r);
    /* Empty: a binary that predates the report. */
    int fd = memfd_create("t", MFD_CLOEXEC);
    memset(&r, 0, sizeof r);
    ck_assert_int_eq(bx_upgrade_report_read(&r, fd, err, sizeof err), 0);
    ck_assert(!r.present);
    close(fd);
}
END_TEST

/* The check's child finds the descriptor in its environment, no other. */
START_TEST(check_passes_the_report)
{
    char out[256];
    struct bx_upgrade_report r;
    char *writes[] = {"/bin/sh", "-c",
                      "printf 'bactrian-upgrade-check 1\\nlisten tcp 8080 127.0.0.1\\nend\\n' "
                      ">&$" BX_UPGRADE_REPORT_ENV "; echo OK",
                      NULL};
    ck_assert_ptr_null(getenv(BX_UPGRADE_REPORT_ENV));
    ck_assert_int_eq(bx_upgrade_check_report(writes, NULL, NULL, 5000, out, sizeof out, &r), 0);
    ck_assert_str_eq(out, "OK");
    ck_assert(r.present);
    ck_assert_uint_eq(r.nls, 1);
    ck_assert_int_eq(r.ls[0].port, 8080);
    bx_upgrade_report_free(&r);
    ck_assert_ptr_null(getenv(BX_UPGRADE_REPORT_ENV));
    char *old[] = {"/bin/sh", "-c", "echo configuration OK", NULL};
    ck_assert_int_eq(bx_upgrade_check_report(old, NULL, NULL, 5000, out, sizeof out, &r), 0);
    ck_assert(!r.present);
    bx_upgrade_report_free(&r);
    char *garbage[] = {"/bin/sh", "-c", "echo nonsense >&$" BX_UPGRADE_REPORT_ENV, NULL};
    ck_assert_int_eq(bx_upgrade_check_report(garbage, NULL, NULL, 5000, out, sizeof out, &r), -1);
    ck_assert_ptr_nonnull(strstr(out, "not of version 1"));
    bx_upgrade_report_free(&r);
}
END_TEST

/* Held places stay as they are; a new one is bound, or the refusal names it. */
START_TEST(new_listeners_are_bound_or_named)
{
    struct bx_upgrade u;
    struct bx_upgrade_report r;
    struct bx_lbind how = {.backlog = 16};
    char err[512];
    bx_upgrade_init(&u);
    int held = bx_listen_tcp("127.0.0.1", 0, 16, err, sizeof err);
    ck_assert_int_ge(held, 0);
    ck_assert_int_eq(bx_upgrade_add_listener(&u, held,
                                             &(struct bx_lplace){.addr = "127.0.0.1", .port = 1}),
                     0);
    ck_assert_int_eq(parse(&r,
                           "bactrian-upgrade-check 1\nlisten tcp 1 127.0.0.1\n"
                           "listen tcp 2 192.0.2.1\nend\n",
                           err, sizeof err),
                     0);
    ck_assert_int_eq(bx_upgrade_add_new_listeners(&u, &r, &how, err, sizeof err), -1);
    ck_assert_ptr_nonnull(
        strstr(err, "listens on 192.0.2.1 port 2, which this master cannot bind"));
    ck_assert_uint_eq(u.nls, 1); /* nothing opened kept */
    bx_upgrade_report_free(&r);
    ck_assert_int_eq(parse(&r,
                           "bactrian-upgrade-check 1\nlisten tcp 1 127.0.0.1\n"
                           "listen tcp 0 127.0.0.1\nend\n",
                           err, sizeof err),
                     -1);
    bx_upgrade_report_free(&r);
    ck_assert_int_eq(parse(&r, "bactrian-upgrade-check 1\nlisten unix /nonexistent/dir/s\nend\n",
                           err, sizeof err),
                     0);
    ck_assert_int_eq(bx_upgrade_add_new_listeners(&u, &r, &how, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/dir"));
    bx_upgrade_report_free(&r);
    close(held);
    bx_upgrade_free(&u);
}
END_TEST

Suite *suite_upgrade_report(void);
Suite *suite_upgrade_report(void)
{
    Suite *s = suite_create("upgrade_report");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, report_round_trip);
    tcase_add_test(tc, report_refusals);
    tcase_add_test(tc, check_passes_the_report);
    tcase_add_test(tc, new_listeners_are_bound_or_named);
    suite_add_tcase(s, tc);
    return s;
}
