/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/net.h"
#include "common/proc.h"

START_TEST(backoff_grows_on_crash_loop_and_resets)
{
    struct bx_backoff b = {0};
    uint64_t t = 1000;
    bx_backoff_started(&b, t);
    /* The first two quick deaths restart at once; then the delay doubles to the cap. */
    ck_assert_uint_eq(bx_backoff_exited(&b, t + 10, 2000, 1000), 0);
    ck_assert_uint_eq(bx_backoff_exited(&b, t + 20, 2000, 1000), 0);
    ck_assert_uint_eq(bx_backoff_exited(&b, t + 30, 2000, 1000), 100);
    ck_assert_uint_eq(bx_backoff_exited(&b, t + 40, 2000, 1000), 200);
    ck_assert_uint_eq(bx_backoff_exited(&b, t + 50, 2000, 1000), 400);
    ck_assert_uint_eq(bx_backoff_exited(&b, t + 60, 2000, 1000), 800);
    ck_assert_uint_eq(bx_backoff_exited(&b, t + 70, 2000, 1000), 1000);
    ck_assert_uint_eq(bx_backoff_exited(&b, t + 80, 2000, 1000), 1000);
    /* A child that lived long enough resets the back-off. */
    bx_backoff_started(&b, t + 100);
    ck_assert_uint_eq(bx_backoff_exited(&b, t + 5000, 2000, 1000), 0);
    ck_assert_uint_eq(b.quick_deaths, 0);
}
END_TEST

START_TEST(privilege_drop_sticks)
{
    char err[BX_ERRLEN];
    if (geteuid() != 0) {
        /* Not root: configuring another user must be refused, not ignored. */
        ck_assert_int_eq(bx_drop_privileges("nobody", NULL, err, sizeof err), -1);
        ck_assert_str_eq(err, "cannot switch to user 'nobody': not started as root");
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        if (bx_drop_privileges("nobody", "nogroup", err, sizeof err) != 0)
            _exit(10);
        if (geteuid() == 0 || getegid() == 0 || setuid(0) == 0)
            _exit(11);
        gid_t groups[8];
        int n = getgroups(8, groups);
        if (n != 1)
            _exit(12);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

START_TEST(unknown_user_named)
{
    char err[BX_ERRLEN];
    ck_assert_int_eq(bx_drop_privileges("no-such-user-xyz", NULL, err, sizeof err), -1);
    ck_assert_str_eq(err, "unknown user 'no-such-user-xyz'");
}
END_TEST

START_TEST(signalfd_delivers)
{
    char err[BX_ERRLEN];
    int fd = bx_signalfd_open(err, sizeof err);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bx_signalfd_read(fd), 0);
    kill(getpid(), SIGUSR1);
    ck_assert_int_eq(bx_signalfd_read(fd), SIGUSR1);
    close(fd);
    bx_signals_reset();
}
END_TEST

START_TEST(exit_strings)
{
    char s[96];
    ck_assert_str_eq(bx_exit_str(3 << 8, s, sizeof s), "exited with status 3");
    ck_assert_str_eq(bx_exit_str(SIGSEGV, s, sizeof s), "killed by signal 11 (Segmentation fault)");
}
END_TEST

Suite *suite_proc(void);
Suite *suite_proc(void)
{
    Suite *s = suite_create("proc");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, backoff_grows_on_crash_loop_and_resets);
    tcase_add_test(tc, privilege_drop_sticks);
    tcase_add_test(tc, unknown_user_named);
    tcase_add_test(tc, signalfd_delivers);
    tcase_add_test(tc, exit_strings);
    suite_add_tcase(s, tc);
    return s;
}
