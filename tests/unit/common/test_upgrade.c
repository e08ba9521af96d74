/* SPDX-License-Identifier: BSD-2-Clause */
/* common/upgrade.c: the record a master passes to its new image (round
 * trip, what is refused), what the new image keeps of it (only listening
 * sockets, only its own children), and that a failed check or execve
 * leaves the running process as it was. */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/net.h"
#include "common/upgrade.h"

static struct bx_upgrade sample(void)
{
    struct bx_upgrade u;
    bx_upgrade_init(&u);
    u.pidfd = 5;
    ck_assert_int_eq(bx_upgrade_add_listener(&u, 7,
                                             &(struct bx_lplace){.addr = "::1", .port = 8443}),
                     0);
    ck_assert_int_eq(bx_upgrade_add_listener(&u, 8, &(struct bx_lplace){.path = "/run/b.sock"}), 0);
    ck_assert_int_eq(bx_upgrade_add_child(&u, 4242, 3), 0);
    ck_assert_int_eq(bx_upgrade_add_child(&u, 4243, -1), 0);
    ck_assert_int_eq(bx_upgrade_set(&u, "gen", 17), 0);
    ck_assert_int_eq(bx_upgrade_set_fd(&u, "kp.ctl", 9), 0);
    return u;
}

START_TEST(record_round_trip)
{
    struct bx_upgrade u = sample(), v;
    size_t len;
    char *text = bx_upgrade_format(&u, &len);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(strlen(text), len);
    ck_assert_ptr_nonnull(strstr(text, "bactrian-upgrade 1\n"));
    bx_upgrade_init(&v);
    char err[BX_ERRLEN];
    ck_assert_msg(bx_upgrade_parse(&v, text, len, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(v.pidfd, 5);
    ck_assert_uint_eq(v.nls, 2);
    ck_assert_int_eq(v.ls[0].fd, 7);
    ck_assert_str_eq(v.ls[0].addr, "::1");
    ck_assert_int_eq(v.ls[0].port, 8443);
    ck_assert(v.ls[1].unix_socket);
    ck_assert_str_eq(v.ls[1].path, "/run/b.sock");
    ck_assert_uint_eq(v.kids.n, 2);
    ck_assert_int_eq(v.kids.v[1].pid, 4243);
    ck_assert_int_eq(v.kids.v[1].tag, -1);
    ck_assert_int_eq(bx_upgrade_get(&v, "gen", 0), 17);
    ck_assert_int_eq(bx_upgrade_get_fd(&v, "kp.ctl"), 9);
    ck_assert_int_eq(bx_upgrade_get_fd(&v, "kp.own"), -1);
    ck_assert_int_eq(bx_upgrade_get(&v, "kp.ctl", -1), -1); /* a descriptor is no number */
    ck_assert_int_eq(bx_upgrade_get_fd(&v, "gen"), -1);     /* nor a number a descriptor */
    free(text);
    bx_upgrade_free(&u);
    bx_upgrade_free(&v);
}
END_TEST

/* A "set" line of a descriptor's name (a record made by hand, or by a
 * binary that wrote the wrong kind) gives no descriptor: only "fd" entries
 * are checked open when the record is taken. */
START_TEST(set_line_is_no_descriptor)
{
    static const char text[] = "bactrian-upgrade 1\nset log.error 2\nfd life.r 0\nend\n";
    struct bx_upgrade u;
    char err[BX_ERRLEN];
    bx_upgrade_init(&u);
    ck_assert_msg(bx_upgrade_parse(&u, text, strlen(text), err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(bx_upgrade_get_fd(&u, "log.error"), -1);
    ck_assert_int_eq(bx_upgrade_get_fd(&u, "life.r"), 0);
    bx_upgrade_free(&u);
}
END_TEST

static int parse(const char *text)
{
    struct bx_upgrade u;
    char err[BX_ERRLEN];
    bx_upgrade_init(&u);
    int rc = bx_upgrade_parse(&u, text, strlen(text), err, sizeof err);
    bx_upgrade_free(&u);
    return rc;
}

START_TEST(record_refusals)
{
    ck_assert_int_eq(parse("bactrian-upgrade 1\nend\n"), 0);
    ck_assert_int_eq(parse("bactrian-upgrade 2\nend\n"), -1);          /* another version */
    ck_assert_int_eq(parse("bactrian-upgrade 1\n"), -1);               /* truncated */
    ck_assert_int_eq(parse("bactrian-upgrade 1\nend"), -1);            /* unterminated */
    ck_assert_int_eq(parse("bactrian-upgrade 1\nfrobnicate 1\nend\n"), -1);
    ck_assert_int_eq(parse("bactrian-upgrade 1\nlisten 3 tcp 0 ::1\nend\n"), -1);
    ck_assert_int_eq(parse("bactrian-upgrade 1\nlisten 3 tcp 65536 ::1\nend\n"), -1);
    ck_assert_int_eq(parse("bactrian-upgrade 1\nlisten -3 unix /x\nend\n"), -1);
    ck_assert_int_eq(parse("bactrian-upgrade 1\nchild 0 1\nend\n"), -1);
    ck_assert_int_eq(parse("bactrian-upgrade 1\nfd x -1\nend\n"), -1);
    ck_assert_int_eq(parse("bactrian-upgrade 1\npidfile 99999999999\nend\n"), -1);
    char big[600];
    memset(big, 'a', sizeof big);
    memcpy(big, "bactrian-upgrade 1\nset ", 23);
    big[sizeof big - 1] = '\0';
    ck_assert_int_eq(parse(big), -1);                                  /* line too long */
    /* What the builder refuses to write: spaces, names too long. */
    struct bx_upgrade u;
    bx_upgrade_init(&u);
    ck_assert_int_eq(bx_upgrade_set(&u, "a b", 1), -1);
    ck_assert_int_eq(bx_upgrade_set(&u, "a-name-longer-than-the-limit", 1), -1);
    ck_assert_int_eq(bx_upgrade_add_listener(&u, 3, &(struct bx_lplace){.path = "/a b"}), -1);
    ck_assert_int_eq(bx_upgrade_add_child(&u, 0, 1), -1);
    bx_upgrade_free(&u);
}
END_TEST

static int parse_n(const char *text, size_t len)
{
    struct bx_upgrade u;
    char err[BX_ERRLEN];
    bx_upgrade_init(&u);
    int rc = bx_upgrade_parse(&u, text, len, err, sizeof err);
    bx_upgrade_free(&u);
    return rc;
}

/* What fuzz_upgrade_record found scanf let through: each line, written
 * again, would not be what the input said. */
START_TEST(record_words_are_whole)
{
    /* Text after the last field, here a line run into the next. */
    ck_assert_int_eq(parse("bactrian-upgrade 1\nlisten 5 unix /run/b.sock\341child 2468 0\n"
                           "end\n"),
                     -1);
    ck_assert_int_eq(parse("bactrian-upgrade 1\npidfile 3 4\nend\n"), -1);
    ck_assert_int_eq(parse("bactrian-upgrade 1\nend now\n"), -1);
    ck_assert_int_eq(parse("bactrian-upgrade 1x\nend\n"), -1);
    /* A space in scanf's format matches none: "tcp80" read as "tcp 80". */
    ck_assert_int_eq(parse("bactrian-upgrade 1\nlisten 3 tcp80 ::1\nend\n"), -1);
    /* A width cuts a word: a 24-byte name ending in 5 read as the 23-byte
     * name and the value 5. */
    ck_assert_int_eq(parse("bactrian-upgrade 1\nset aaaaaaaaaaaaaaaaaaaaaaa5 7\nend\n"), -1);
    /* A number that does not fit is clamped by strtoll, scanf's %lld. */
    ck_assert_int_eq(parse("bactrian-upgrade 1\nset x 99999999999999999999\nend\n"), -1);
    /* (refused before too, clamped out of range: a guard) */
    ck_assert_int_eq(parse("bactrian-upgrade 1\nchild 12 99999999999\nend\n"), -1);
    /* A NUL ends the line for scanf, not for the record. */
    const char nul[] = "bactrian-upgrade 1\npidfile 3\0 junk\nend\n";
    ck_assert_int_eq(parse_n(nul, sizeof nul - 1), -1);
    /* What the writer writes still parses. */
    ck_assert_int_eq(parse("bactrian-upgrade 1\nset x -9223372036854775808\nchild 1 -1\n"
                           "listen 3 tcp 65535 ::1\nfd keyctl 0\nend\n"),
                     0);
}
END_TEST

static bool cloexec(int fd)
{
    return fcntl(fd, F_GETFD) & FD_CLOEXEC;
}

/* The new image's side: a record in a memfd named by the environment. */
START_TEST(take_keeps_only_what_checks_out)
{
    char err[BX_ERRLEN];
    struct bx_upgrade u;
    unsetenv(BX_UPGRADE_ENV);
    ck_assert_int_eq(bx_upgrade_take(&u, err, sizeof err), 0);
    int ls = bx_listen_tcp("127.0.0.1", 0, 4, err, sizeof err);
    ck_assert_int_ge(ls, 0);
    fcntl(ls, F_SETFD, 0);
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t kid = fork();
    if (kid == 0)
        _exit(0);
    struct bx_upgrade w;
    bx_upgrade_init(&w);
    bx_upgrade_add_listener(&w, ls, &(struct bx_lplace){.addr = "127.0.0.1", .port = 1});
    bx_upgrade_add_listener(&w, p[0], &(struct bx_lplace){.addr = "127.0.0.1", .port = 2});
    bx_upgrade_add_child(&w, kid, 1);
    bx_upgrade_add_child(&w, 1, 1); /* init: not ours */
    size_t len;
    char *text = bx_upgrade_format(&w, &len);
    int rec = memfd_create("t", 0);
    ck_assert_int_eq(write(rec, text, len), (ssize_t)len);
    lseek(rec, 0, SEEK_SET);
    char num[16];
    snprintf(num, sizeof num, "%d", rec);
    setenv(BX_UPGRADE_ENV, num, 1);
    ck_assert_msg(bx_upgrade_take(&u, err, sizeof err) == 1, "%s", err);
    ck_assert_ptr_null(getenv(BX_UPGRADE_ENV)); /* not passed on */
    ck_assert_int_eq(fcntl(rec, F_GETFD), -1);  /* read and closed */
    ck_assert_uint_eq(u.nls, 1);                /* the pipe is no listener */
    ck_assert_int_eq(u.ls[0].fd, ls);
    ck_assert(cloexec(ls));
    ck_assert_uint_eq(u.kids.n, 1);
    ck_assert_int_eq(u.kids.v[0].pid, kid);
    struct bx_lheld *h = bx_upgrade_held(&u);
    ck_assert_int_eq(bx_lheld_find(h, u.nls, &(struct bx_lplace){.addr = "127.0.0.1", .port = 1}),
                     ls);
    free(h);
    bx_upgrade_close_listeners(&u);
    ck_assert_int_eq(fcntl(ls, F_GETFD), -1);
    bx_upgrade_free(&u);
    /* A record that is not one. */
    rec = memfd_create("t", 0);
    ck_assert_int_eq(write(rec, "bactrian-upgrade 9\nend\n", 23), 23);
    lseek(rec, 0, SEEK_SET);
    snprintf(num, sizeof num, "%d", rec);
    setenv(BX_UPGRADE_ENV, num, 1);
    ck_assert_int_eq(bx_upgrade_take(&u, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "not version 1"));
    setenv(BX_UPGRADE_ENV, "12x", 1);
    ck_assert_int_eq(bx_upgrade_take(&u, err, sizeof err), -1);
    waitpid(kid, NULL, 0);
    free(text);
    bx_upgrade_free(&w);
    bx_upgrade_free(&u);
}
END_TEST

START_TEST(failed_exec_changes_nothing)
{
    struct bx_upgrade u;
    bx_upgrade_init(&u);
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    u.pidfd = p[0];
    bx_upgrade_set_fd(&u, "x", p[1]);
    char *argv[] = {"/nonexistent/bactrian", NULL};
    char err[BX_ERRLEN];
    unsetenv(BX_UPGRADE_ENV);
    ck_assert_int_eq(bx_upgrade_exec(&u, argv, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "cannot execute /nonexistent/bactrian"));
    ck_assert(cloexec(p[0]) && cloexec(p[1]));
    ck_assert_ptr_null(getenv(BX_UPGRADE_ENV));
    close(p[0]);
    close(p[1]);
    bx_upgrade_free(&u);
}
END_TEST

START_TEST(check_runs_the_new_binary)
{
    char out[256];
    char *ok[] = {"/bin/sh", "-c", "echo fine; exit 0", NULL};
    ck_assert_int_eq(bx_upgrade_check(ok, NULL, NULL, 5000, out, sizeof out), 0);
    ck_assert_str_eq(out, "fine");
    char *bad[] = {"/bin/sh", "-c", "echo one >&2; echo two; exit 3", NULL};
    ck_assert_int_eq(bx_upgrade_check(bad, NULL, NULL, 5000, out, sizeof out), -1);
    ck_assert_str_eq(out, "one;two");
    char *quiet[] = {"/bin/sh", "-c", "exit 4", NULL};
    ck_assert_int_eq(bx_upgrade_check(quiet, NULL, NULL, 5000, out, sizeof out), -1);
    ck_assert_str_eq(out, "exited with status 4");
    char *slow[] = {"/bin/sh", "-c", "exec sleep 5", NULL};
    uint64_t t0 = bx_now_ms();
    ck_assert_int_eq(bx_upgrade_check(slow, NULL, NULL, 200, out, sizeof out), -1);
    ck_assert_uint_lt(bx_now_ms() - t0, 3000);
    ck_assert_ptr_nonnull(strstr(out, "no answer within 200 ms"));
    char *none[] = {"/nonexistent/bactrian", "-t", NULL};
    ck_assert_int_eq(bx_upgrade_check(none, NULL, NULL, 5000, out, sizeof out), -1);
    ck_assert_ptr_nonnull(strstr(out, "cannot execute /nonexistent/bactrian"));
}
END_TEST

Suite *suite_upgrade(void);
Suite *suite_upgrade(void)
{
    Suite *s = suite_create("upgrade");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, record_round_trip);
    tcase_add_test(tc, record_refusals);
    tcase_add_test(tc, set_line_is_no_descriptor);
    tcase_add_test(tc, record_words_are_whole);
    tcase_add_test(tc, take_keeps_only_what_checks_out);
    tcase_add_test(tc, failed_exec_changes_nothing);
    tcase_add_test(tc, check_runs_the_new_binary);
    suite_add_tcase(s, tc);
    return s;
}
