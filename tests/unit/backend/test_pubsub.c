/* SPDX-License-Identifier: BSD-2-Clause */
/* The master's side of pub/sub (backend/pubsub.c): the workers' socket
 * directory is made under $TMPDIR with mode 0700 and a fresh name, a dead
 * worker's socket goes alone, and the master's stop leaves nothing behind. */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/pubsub.h"

static char base[PATH_MAX];

static void setup(void)
{
    snprintf(base, sizeof base, "%s/bx-ps-test-XXXXXX", P_tmpdir);
    ck_assert_ptr_nonnull(mkdtemp(base));
    ck_assert_int_eq(setenv("TMPDIR", base, 1), 0);
}

static void teardown(void)
{
    rmdir(base);
}

/* The one entry in base (the directory be_ps_dir_create made), or "" . */
static int only_entry(char *out, size_t outlen)
{
    DIR *d = opendir(base);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    out[0] = '\0';
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(out, outlen, "%s/%s", base, e->d_name);
        n++;
    }
    closedir(d);
    return n;
}

static void touch(const char *dir, const char *name)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    int fd = open(p, O_CREAT | O_WRONLY, 0600);
    ck_assert_int_ge(fd, 0);
    close(fd);
}

START_TEST(dir_is_private_and_removed_whole)
{
    char err[128] = "", dir[PATH_MAX], p[PATH_MAX];
    ck_assert_int_eq(be_ps_dir_create(err, sizeof err), 0);
    ck_assert_int_eq(only_entry(dir, sizeof dir), 1);
    ck_assert_ptr_nonnull(strstr(dir, "/bactrian-ps-"));
    struct stat st;
    ck_assert_int_eq(stat(dir, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    ck_assert_uint_eq(st.st_mode & 07777, 0700);
    ck_assert_uint_eq(st.st_uid, getuid());

    /* Stand-ins for two workers' sockets: the dead one's goes alone. */
    touch(dir, "123");
    touch(dir, "456");
    be_ps_forget(123);
    snprintf(p, sizeof p, "%s/123", dir);
    ck_assert_int_ne(access(p, F_OK), 0);
    snprintf(p, sizeof p, "%s/456", dir);
    ck_assert_int_eq(access(p, F_OK), 0);

    be_ps_dir_remove();
    ck_assert_int_eq(only_entry(dir, sizeof dir), 0);
    be_ps_dir_remove(); /* a second stop is harmless */
    be_ps_forget(456);
}
END_TEST

START_TEST(each_master_gets_a_fresh_name)
{
    char err[128], a[PATH_MAX], b[PATH_MAX];
    ck_assert_int_eq(be_ps_dir_create(err, sizeof err), 0);
    ck_assert_int_eq(only_entry(a, sizeof a), 1);
    /* A stale directory of the same prefix does not stop the next one. */
    ck_assert_int_eq(be_ps_dir_create(err, sizeof err), 0);
    ck_assert_int_eq(only_entry(b, sizeof b), 2);
    be_ps_dir_remove();
    ck_assert_int_eq(rmdir(a), 0);
    ck_assert_int_eq(only_entry(b, sizeof b), 0);
}
END_TEST

START_TEST(too_long_tmpdir_is_refused)
{
    char err[128] = "", longdir[200];
    memset(longdir, 'x', sizeof longdir - 1);
    longdir[0] = '/';
    longdir[sizeof longdir - 1] = '\0';
    ck_assert_int_eq(setenv("TMPDIR", longdir, 1), 0);
    ck_assert_int_eq(be_ps_dir_create(err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "too long"));
    be_ps_dir_remove(); /* nothing to remove: no crash, no rmdir of "" */
}
END_TEST

START_TEST(missing_tmpdir_is_an_error)
{
    char err[128] = "", gone[PATH_MAX];
    snprintf(gone, sizeof gone, "%s/absent", base);
    ck_assert_int_eq(setenv("TMPDIR", gone, 1), 0);
    ck_assert_int_eq(be_ps_dir_create(err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "mkdtemp"));
}
END_TEST

Suite *suite_pubsub(void);
Suite *suite_pubsub(void)
{
    Suite *s = suite_create("pubsub");
    TCase *tc = tcase_create("dir");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, dir_is_private_and_removed_whole);
    tcase_add_test(tc, each_master_gets_a_fresh_name);
    tcase_add_test(tc, too_long_tmpdir_is_refused);
    tcase_add_test(tc, missing_tmpdir_is_an_error);
    suite_add_tcase(s, tc);
    return s;
}
