/* SPDX-License-Identifier: BSD-2-Clause */
/* The report of an upgrade's -t check (common/upgrade_report.h), and its
 * way from the check's child to the master (bx_upgrade_check_report). */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
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

/* The unix-socket line: written, read back, found by path; a later
 * version of it is kept as a daemon's line; a malformed one refused. */
START_TEST(usock_lines)
{
    struct bx_buf b = BX_BUF_INIT;
    struct bx_upgrade_usock s = {.path = "/run/b.sock", .mode = 0660, .owner = "www-data"};
    ck_assert_int_eq(bx_upgrade_report_usock(&b, &s), 0);
    s.owner = "a b";
    ck_assert_int_eq(bx_upgrade_report_usock(&b, &s), -1);
    s.owner = "-";
    ck_assert_int_eq(bx_upgrade_report_usock(&b, &s), -1);
    s.owner = NULL;
    s.mode = 010000;
    ck_assert_int_eq(bx_upgrade_report_usock(&b, &s), -1);
    bx_buf_append(&b, "", 1);
    char text[512];
    snprintf(text, sizeof text,
             "bactrian-upgrade-check 1\nlisten unix /run/b.sock\n%sunix-socket 2 /x y z\nend\n",
             bx_buf_rpos(&b));
    struct bx_upgrade_report r;
    char err[256];
    ck_assert_int_eq(parse(&r, text, err, sizeof err), 0);
    ck_assert_uint_eq(r.nus, 1);
    const struct bx_upgrade_usock *got = bx_upgrade_report_usock_find(&r, "/run/b.sock");
    ck_assert_ptr_nonnull(got);
    ck_assert_int_eq(got->mode, 0660);
    ck_assert_str_eq(got->owner, "www-data");
    ck_assert_ptr_null(got->group);
    ck_assert_ptr_null(bx_upgrade_report_usock_find(&r, "/x"));
    ck_assert_uint_eq(r.nlines, 1); /* version 2: not ours to read */
    bx_upgrade_report_free(&r);
    ck_assert_int_eq(parse(&r, "bactrian-upgrade-check 1\nunix-socket 1 /x 0660 -\nend\n", err,
                           sizeof err),
                     -1);
    ck_assert_ptr_nonnull(strstr(err, "not understood"));
    bx_upgrade_report_free(&r);
    ck_assert_int_eq(parse(&r, "bactrian-upgrade-check 1\nunix-socket 1 /x 17777 - -\nend\n", err,
                           sizeof err),
                     -1);
    bx_upgrade_report_free(&r);
    bx_buf_free(&b);
}
END_TEST

static int parse_rc(const char *text)
{
    struct bx_upgrade_report r;
    char err[256];
    int rc = parse(&r, text, err, sizeof err);
    bx_upgrade_report_free(&r);
    return rc;
}

/* What fuzz_upgrade_report found scanf let through. */
START_TEST(report_words_are_whole)
{
    char text[4500], name[301];
    /* A space in scanf's format matches none: "unix`/x" read as "unix `/x". */
    ck_assert_int_eq(parse_rc("bactrian-upgrade-check 1\nlisten unix`/run/b.sock\nend\n"), -1);
    ck_assert_int_eq(parse_rc("bactrian-upgrade-check 1\nlisten tcp443 ::\nend\n"), -1);
    /* %o stops at the x: mode 0, owner "x1", group "-". */
    ck_assert_int_eq(parse_rc("bactrian-upgrade-check 1\nunix-socket 1 /p 0x1 -\nend\n"), -1);
    /* A width cuts a 300-byte owner in two: owner and group. */
    memset(name, 'o', 300);
    name[300] = '\0';
    snprintf(text, sizeof text, "bactrian-upgrade-check 1\nunix-socket 1 /p 0660 %s\nend\n", name);
    ck_assert_int_eq(parse_rc(text), -1);
    /* A port that does not fit an int: glibc wraps 4294967376 to 80. */
    ck_assert_int_eq(parse_rc("bactrian-upgrade-check 1\nlisten tcp 4294967376 ::\nend\n"), -1);
    ck_assert_int_eq(parse_rc("bactrian-upgrade-check 1x\nend\n"), -1);
    /* (refused before too, by luck of the fields after it: a guard) */
    ck_assert_int_eq(parse_rc("bactrian-upgrade-check 1\nunix-socket 1x /p 0660 - -\nend\n"), -1);
    /* What the writer refuses to write, the parser refuses to read. */
    ck_assert_int_eq(parse_rc("bactrian-upgrade-check 1\nunix-socket 1 - 0660 - -\nend\n"), -1);
    char path[4071]; /* the line fits, the path is over the writer's bound */
    memset(path, 'p', 4070);
    path[0] = '/';
    path[4070] = '\0';
    snprintf(text, sizeof text, "bactrian-upgrade-check 1\nlisten unix %s\nend\n", path);
    ck_assert_int_eq(parse_rc(text), -1);
    struct bx_buf b = BX_BUF_INIT;
    ck_assert_int_eq(bx_upgrade_report_listener(&b, &(struct bx_lplace){.path = path}), -1);
    bx_buf_free(&b);
    /* Another version's line is kept whatever its words. */
    ck_assert_int_eq(parse_rc("bactrian-upgrade-check 1\nunix-socket 2 a  b c d e f g\nend\n"), 0);
}
END_TEST

/* A Unix socket made for a refused upgrade is closed and its path unlinked. */
START_TEST(opened_unix_socket_is_removed)
{
    char dir[] = "/tmp/bactrian-upr-XXXXXX", path[64], err[256];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/s", dir);
    int fd = bx_listen_unix(path, 0600, (uid_t)-1, (gid_t)-1, 4, false, err, sizeof err);
    ck_assert_int_ge(fd, 0);
    struct bx_upgrade u;
    bx_upgrade_init(&u);
    ck_assert_int_eq(bx_upgrade_add_opened(&u, fd, &(struct bx_lplace){.path = path}), 0);
    ck_assert_uint_eq(u.nls, 1);
    /* bx_upgrade_add_new_listeners takes it as held: no directory check. */
    struct bx_upgrade_report r;
    char text[256];
    snprintf(text, sizeof text, "bactrian-upgrade-check 1\nlisten unix %s\nend\n", path);
    ck_assert_int_eq(parse(&r, text, err, sizeof err), 0);
    struct bx_lbind how = {.backlog = 4};
    ck_assert_int_eq(bx_upgrade_add_new_listeners(&u, &r, &how, err, sizeof err), 0);
    bx_upgrade_report_free(&r);
    bx_upgrade_close_opened(&u);
    ck_assert_uint_eq(u.nls, 0);
    ck_assert_int_eq(access(path, F_OK), -1);
    ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
    bx_upgrade_free(&u);
    rmdir(dir);
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
    tcase_add_test(tc, usock_lines);
    tcase_add_test(tc, report_words_are_whole);
    tcase_add_test(tc, opened_unix_socket_is_removed);
    suite_add_tcase(s, tc);
    return s;
}
