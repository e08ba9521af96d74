/* SPDX-License-Identifier: BSD-2-Clause */
/* Shared regions (frontend/shm.c): the read-only view shows the master's
 * writes and can never be made writable, a child keeps only its part of
 * the writable mapping, bounds are checked, and the file variant is
 * replaced atomically with mode 0440. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frontend/shm.h"
#include "tests/unit/testutil.h"

START_TEST(view_follows_writes_and_stays_read_only)
{
    struct fe_shm m;
    ck_assert_int_eq(fe_shm_create(&m, "unit", 8192, false), 0);
    ck_assert_uint_eq(m.len, 8192);
    const unsigned char *ro = m.ro;
    ck_assert_uint_eq(ro[100], 0); /* zeroed */
    ((unsigned char *)m.p)[100] = 42;
    ck_assert_uint_eq(ro[100], 42);
    errno = 0;
    ck_assert_int_eq(mprotect((void *)m.ro, m.len, PROT_READ | PROT_WRITE), -1);
    ck_assert_int_eq(errno, EACCES);
    fe_shm_destroy(&m);
    ck_assert_ptr_eq(m.p, MAP_FAILED);
    fe_shm_destroy(&m); /* twice: harmless */
}
END_TEST

/* Without children_write the writable mapping is not inherited at all. */
START_TEST(writable_mapping_not_inherited)
{
    struct fe_shm m;
    ck_assert_int_eq(fe_shm_create(&m, "unit", 4096, false), 0);
    pid_t p = fork();
    ck_assert_int_ne(p, -1);
    if (p == 0) {
        signal(SIGSEGV, SIG_DFL); /* the kernel's verdict, not a sanitizer's handler */
        ((volatile unsigned char *)m.p)[0] = 1; /* must fault */
        _exit(0);
    }
    int st;
    ck_assert_int_eq(waitpid(p, &st, 0), p);
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "status %d", st);
    ck_assert_uint_eq(((const unsigned char *)m.ro)[0], 0);
    fe_shm_destroy(&m);
}
END_TEST

/* A child keeps [off, off+len) of the writable mapping: its writes there
 * reach the master, any other part faults. */
static int child_writes(struct fe_shm *m, size_t off, size_t len, size_t at)
{
    pid_t p = fork();
    ck_assert_int_ne(p, -1);
    if (p == 0) {
        if (fe_shm_child(m, off, len) != 0)
            _exit(3);
        signal(SIGSEGV, SIG_DFL);
        ((volatile unsigned char *)m->p)[at] = 7;
        _exit(0);
    }
    int st;
    ck_assert_int_eq(waitpid(p, &st, 0), p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
}

START_TEST(child_keeps_only_its_part)
{
    long pg = sysconf(_SC_PAGESIZE);
    struct fe_shm m;
    ck_assert_int_eq(fe_shm_create(&m, "unit", (size_t)pg * 4, true), 0);
    ck_assert_int_eq(child_writes(&m, (size_t)pg, (size_t)pg, (size_t)pg + 5), 0);
    ck_assert_uint_eq(((const unsigned char *)m.ro)[pg + 5], 7);
    ck_assert_int_eq(child_writes(&m, (size_t)pg, (size_t)pg, 0), -SIGSEGV);
    ck_assert_int_eq(child_writes(&m, (size_t)pg, (size_t)pg, (size_t)pg * 2), -SIGSEGV);
    ck_assert_int_eq(child_writes(&m, 0, (size_t)pg * 4, (size_t)pg * 3), 0); /* all of it */
    fe_shm_destroy(&m);
}
END_TEST

START_TEST(child_bounds_checked)
{
    long pg = sysconf(_SC_PAGESIZE);
    struct fe_shm m;
    ck_assert_int_eq(fe_shm_create(&m, "unit", (size_t)pg * 2, true), 0);
    errno = 0;
    ck_assert_int_eq(fe_shm_child(&m, (size_t)pg * 3, 0), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(fe_shm_child(&m, (size_t)pg, (size_t)pg * 2), -1);
    ck_assert_int_eq(fe_shm_child(&m, (size_t)pg, SIZE_MAX), -1); /* off + len wraps */
    fe_shm_destroy(&m);
}
END_TEST

START_TEST(file_replaced_with_mode_0440)
{
    char *dir = tu_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/scoreboard", dir);
    free(tu_write_file(dir, "scoreboard", "old"));
    struct fe_shm m;
    ck_assert_int_eq(fe_shm_create_file(&m, path, 4096, (uid_t)-1, (gid_t)-1), 0);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0440);
    ck_assert_int_eq(st.st_size, 4096);
    memcpy(m.p, "new", 3);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char b[4] = {0};
    ck_assert_uint_eq(fread(b, 1, 3, f), 3);
    fclose(f);
    ck_assert_str_eq(b, "new"); /* the same memory, seen by a reader of the file */
    ck_assert_mem_eq(m.ro, "new", 3);
    ck_assert_int_eq(mprotect((void *)m.ro, m.len, PROT_READ | PROT_WRITE), -1);
    fe_shm_destroy(&m);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", dir);
    f = popen(cmd, "r");
    int n = -1;
    ck_assert_int_eq(fscanf(f, "%d", &n), 1);
    pclose(f);
    ck_assert_int_eq(n, 1); /* no temporary file left behind */
    tu_rm_rf(dir);
    free(dir);
}
END_TEST

START_TEST(file_in_missing_directory_fails_cleanly)
{
    struct fe_shm m;
    ck_assert_int_eq(fe_shm_create_file(&m, "/nonexistent/dir/sb", 4096, (uid_t)-1, (gid_t)-1), -1);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_ptr_eq(m.p, MAP_FAILED);
    fe_shm_destroy(&m);
}
END_TEST

Suite *suite_fe_shm(void);
Suite *suite_fe_shm(void)
{
    Suite *s = suite_create("fe_shm");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, view_follows_writes_and_stays_read_only);
    tcase_add_test(tc, writable_mapping_not_inherited);
    tcase_add_test(tc, child_keeps_only_its_part);
    tcase_add_test(tc, child_bounds_checked);
    tcase_add_test(tc, file_replaced_with_mode_0440);
    tcase_add_test(tc, file_in_missing_directory_fails_cleanly);
    suite_add_tcase(s, tc);
    return s;
}
