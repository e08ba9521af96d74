/* SPDX-License-Identifier: BSD-2-Clause */
/* The backend's Unix socket (backend/usock.h): bound with its mode, reused
 * by path, and refusals that name the setting and the path. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend/usock.h"
#include "common/net.h"

START_TEST(bound_with_its_mode_then_reused)
{
    char dir[] = "/tmp/bactrian-usock-XXXXXX", path[64], err[512];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/b.sock", dir);
    struct be_usock s = {.path = path, .mode = 0640};
    bool reused = true;
    int fd = be_usock_open(&s, NULL, 0, false, &reused, err, sizeof err);
    ck_assert_msg(fd >= 0, "%s", err);
    ck_assert(!reused);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0640);
    /* Held at that path: a duplicate, the mode applied again. */
    struct bx_lheld held = {.fd = fd, .at = {.path = path}};
    s.mode = 0600;
    int again = be_usock_open(&s, &held, 1, false, &reused, err, sizeof err);
    ck_assert_int_ge(again, 0);
    ck_assert(reused);
    ck_assert_int_ne(again, fd);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0600);
    close(again);
    close(fd);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(refusals_name_the_setting_and_path)
{
    char err[512];
    bool reused;
    struct be_usock s = {.path = "/nonexistent-dir/b.sock", .mode = 0660};
    ck_assert_int_eq(be_usock_open(&s, NULL, 0, false, &reused, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "backend.socket /nonexistent-dir/b.sock: cannot bind"));
    s.owner = "no-such-user-here";
    ck_assert_int_eq(be_usock_open(&s, NULL, 0, false, &reused, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "backend.socket_owner/socket_group: unknown user"));
}
END_TEST

/* In a process that is not root (root's test drops to uid 65534 first):
 * 0 when the chown to root is refused as needing root, and nothing left. */
static int refused_as_user(const char *path)
{
    char err[512];
    struct be_usock s = {.path = path, .mode = 0660, .owner = "root"};
    bool reused;
    if (be_usock_open(&s, NULL, 0, false, &reused, err, sizeof err) != -1)
        return 1;
    if (!strstr(err, "backend.socket_owner 'root', socket_group unset: the chown of unix "
                     "socket") ||
        !strstr(err, "needs root")) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    return access(path, F_OK) == 0 ? 3 : 0;
}

START_TEST(chown_to_another_user_needs_root)
{
    char dir[] = "/tmp/bactrian-usock-XXXXXX", path[64];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/b.sock", dir);
    int rc;
    if (geteuid() != 0) {
        rc = refused_as_user(path);
    } else {
        ck_assert_int_eq(chown(dir, 65534, 65534), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
            _exit(setgid(65534) == 0 && setuid(65534) == 0 ? refused_as_user(path) : 4);
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        rc = WIFEXITED(status) ? WEXITSTATUS(status) : 5;
    }
    ck_assert_int_eq(rc, 0);
    rmdir(dir);
}
END_TEST

Suite *suite_usock(void);
Suite *suite_usock(void)
{
    Suite *s = suite_create("usock");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, bound_with_its_mode_then_reused);
    tcase_add_test(tc, refusals_name_the_setting_and_path);
    tcase_add_test(tc, chown_to_another_user_needs_root);
    suite_add_tcase(s, tc);
    return s;
}
