/* SPDX-License-Identifier: BSD-2-Clause */
/* What the new image of a backend upgrade takes over (backend/upgrade.c and
 * the adopt functions it calls): the worker table only as a memfd of exactly
 * its size, the pub/sub directory only as a directory of ours with mode 0700,
 * no record without BACTRIAN_UPGRADE_FD and none from a descriptor that is
 * not open. Each test runs in its own process (check's fork mode): the
 * tables and the directory are process-wide. */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/pubsub.h"
#include "backend/upgrade.h"
#include "backend/worker.h"
#include "bactrian/module.h"

static int table_fd(size_t rows, size_t extra)
{
    int fd = memfd_create("test-stats", MFD_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, (off_t)(rows * sizeof(struct bm_worker_stats) + extra)), 0);
    return fd;
}

START_TEST(stats_table_is_shared_through_its_memfd)
{
    int fd = table_fd(8, 0);
    struct bm_worker_stats *t = mmap(NULL, 8 * sizeof *t, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                                     0);
    ck_assert_ptr_ne(t, MAP_FAILED);
    t[3].pid = 4242;
    t[3].generation = 7;
    ck_assert_int_eq(be_stats_adopt(fd, 8), 0);
    size_t n;
    struct bm_worker_stats *mine = be_stats_table(&n);
    ck_assert_uint_eq(n, 8);
    ck_assert_int_eq(mine[3].pid, 4242);  /* the same pages: old workers' rows */
    ck_assert_uint_eq(mine[3].generation, 7);
    ck_assert_int_eq(be_stats_fd(), fd);
    ck_assert_int_eq(be_stats_adopt(fd, 8), -1); /* once */
}
END_TEST

START_TEST(stats_table_of_another_size_or_kind_is_refused)
{
    int fd = table_fd(8, 1);
    ck_assert_int_eq(be_stats_adopt(fd, 8), -1);
    ck_assert_int_eq(be_stats_adopt(fd, 9), -1);
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(be_stats_adopt(p[0], 8), -1);
    ck_assert_int_eq(be_stats_adopt(-1, 8), -1);
    size_t n;
    ck_assert_ptr_null(be_stats_table(&n));
    be_stats_init(4); /* and a table is still made */
    ck_assert_ptr_nonnull(be_stats_table(&n));
    ck_assert_int_ge(be_stats_fd(), 0);
}
END_TEST

static void adopt_dir(int mode, int want)
{
    char base[PATH_MAX], err[256] = "";
    snprintf(base, sizeof base, "%s/bx-up-test-XXXXXX", P_tmpdir);
    ck_assert_ptr_nonnull(mkdtemp(base));
    ck_assert_int_eq(chmod(base, (mode_t)mode), 0);
    int fd = open(base, O_PATH | O_DIRECTORY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(be_ps_dir_adopt(fd, err, sizeof err), want);
    if (want == 0) {
        ck_assert_str_eq(be_ps_dir_path(), base);
    } else {
        ck_assert_ptr_nonnull(strstr(err, "not ours"));
        ck_assert_ptr_null(be_ps_dir_path());
    }
    close(fd);
    rmdir(base);
}

START_TEST(psdir_must_be_private)
{
    adopt_dir(0700, 0);
}
END_TEST

START_TEST(psdir_open_to_others_is_refused)
{
    adopt_dir(0755, -1);
}
END_TEST

START_TEST(no_record_without_the_variable)
{
    struct be_upgrade_got got;
    unsetenv(BX_UPGRADE_ENV);
    ck_assert_int_eq(be_upgrade_take(&got), 0);
    ck_assert_int_eq(got.life_r, -1);
    be_upgrade_free(&got);
    setenv(BX_UPGRADE_ENV, "987", 1); /* not an open descriptor */
    ck_assert_int_eq(be_upgrade_take(&got), -1);
    ck_assert_ptr_null(getenv(BX_UPGRADE_ENV));
    be_upgrade_free(&got);
}
END_TEST

Suite *suite_upgrade(void);
Suite *suite_upgrade(void)
{
    Suite *s = suite_create("upgrade");
    TCase *tc = tcase_create("take");
    tcase_add_test(tc, stats_table_is_shared_through_its_memfd);
    tcase_add_test(tc, stats_table_of_another_size_or_kind_is_refused);
    tcase_add_test(tc, psdir_must_be_private);
    tcase_add_test(tc, psdir_open_to_others_is_refused);
    tcase_add_test(tc, no_record_without_the_variable);
    suite_add_tcase(s, tc);
    return s;
}
