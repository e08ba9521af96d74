/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/net.h"
#include "common/pidfile.h"
#include "tests/unit/testutil.h"

START_TEST(create_refuses_live_holder)
{
    char err[BX_ERRLEN];
    char *dir = tu_tmpdir();
    char path[256];
    snprintf(path, sizeof path, "%s/x.pid", dir);
    int sync[2];
    ck_assert_int_eq(pipe(sync), 0);
    pid_t child = fork();
    if (child == 0) {
        int fd = bx_pidfile_create(path, err, sizeof err);
        char c = fd >= 0 ? 'y' : 'n';
        if (write(sync[1], &c, 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    char c;
    ck_assert_int_eq(read(sync[0], &c, 1), 1);
    ck_assert_int_eq(c, 'y');
    ck_assert_int_eq(bx_pidfile_holder(path), child);
    ck_assert_int_eq(bx_pidfile_create(path, err, sizeof err), -1);
    char want[300];
    snprintf(want, sizeof want, "pid file %s is held by running process %ld", path, (long)child);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "got: %s", err);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    /* The holder died without cleaning up: the stale file is taken over. */
    ck_assert_int_eq(bx_pidfile_holder(path), 0);
    int fd = bx_pidfile_create(path, err, sizeof err);
    ck_assert_msg(fd >= 0, "%s", err);
    FILE *f = fopen(path, "r");
    long pid = 0;
    ck_assert_int_eq(fscanf(f, "%ld", &pid), 1);
    fclose(f);
    ck_assert_int_eq(pid, getpid());
    bx_pidfile_remove(path, fd);
    ck_assert_int_ne(access(path, F_OK), 0);
    rmdir(dir);
    free(dir);
}
END_TEST

START_TEST(create_reports_bad_directory)
{
    char err[BX_ERRLEN];
    ck_assert_int_eq(bx_pidfile_create("/nonexistent-dir/x.pid", err, sizeof err), -1);
    ck_assert_str_eq(err, "cannot open pid file /nonexistent-dir/x.pid: No such file or directory");
}
END_TEST

Suite *suite_pidfile(void);
Suite *suite_pidfile(void)
{
    Suite *s = suite_create("pidfile");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, create_refuses_live_holder);
    tcase_add_test(tc, create_reports_bad_directory);
    suite_add_tcase(s, tc);
    return s;
}
