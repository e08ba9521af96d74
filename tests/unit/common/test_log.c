/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/net.h"
#include "tests/unit/testutil.h"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

START_TEST(combined_log_format)
{
    setenv("TZ", "UTC", 1);
    tzset();
    struct bx_access_entry e = {
        .client = "192.0.2.7",
        .when = 1700000000,
        .method = "GET",
        .target = "/a b\"c",
        .version = "HTTP/1.1",
        .status = 200,
        .bytes = 1234,
        .referer = NULL,
        .user_agent = "curl/7.88\n",
        .conn_id = "c0ffee",
    };
    char line[512];
    bx_access_log_format(&e, line, sizeof line);
    ck_assert_str_eq(line, "192.0.2.7 - - [14/Nov/2023:22:13:20 +0000] \"GET /a b\\\"c HTTP/1.1\" "
                           "200 1234 \"-\" \"curl/7.88\\x0a\" c0ffee");
}
END_TEST

START_TEST(level_filter_and_reopen)
{
    char err[BX_ERRLEN];
    char *dir = tu_tmpdir();
    char path[256], moved[256];
    snprintf(path, sizeof path, "%s/error.log", dir);
    snprintf(moved, sizeof moved, "%s/error.log.1", dir);
    ck_assert_int_eq(bx_log_open(path, err, sizeof err), 0);
    bx_log_set_ident("unit");
    bx_log_threshold = BX_LOG_INFO;
    bx_log_info("first %d", 1);
    bx_log_debug("not shown");
    ck_assert_int_eq(rename(path, moved), 0);
    ck_assert_int_eq(bx_log_reopen(), 0);
    bx_log_error("second\nline");
    bx_log_close();
    char *old = slurp(moved);
    ck_assert_ptr_nonnull(strstr(old, "[info] unit["));
    ck_assert_ptr_nonnull(strstr(old, "]: first 1\n"));
    ck_assert_ptr_null(strstr(old, "not shown"));
    char *cur = slurp(path);
    ck_assert_ptr_nonnull(strstr(cur, "[error] unit["));
    ck_assert_ptr_nonnull(strstr(cur, "]: second line\n"));
    unlink(path);
    unlink(moved);
    rmdir(dir);
    free(dir);
}
END_TEST

/* A binary upgrade's take of the logs: only the very file the path names. */
START_TEST(adopt_only_the_same_file)
{
    char *dir = tu_tmpdir();
    char path[256], other[256];
    snprintf(path, sizeof path, "%s/access.log", dir);
    snprintf(other, sizeof other, "%s/other.log", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    int ofd = open(other, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_ge(ofd, 0);
    ck_assert_int_eq(bx_access_log_adopt(path, ofd), -1);
    ck_assert_int_eq(bx_access_log_adopt(path, -1), -1);
    ck_assert_int_eq(bx_access_log_fd(), -1);
    ck_assert_int_eq(bx_access_log_adopt(path, fd), 0);
    ck_assert_int_eq(bx_access_log_fd(), fd);
    ck_assert_str_eq(bx_access_log_file(), path);
    bx_access_log_close();
    ck_assert_int_eq(bx_log_adopt("stderr", ofd), -1);
    ck_assert_int_eq(bx_log_file_fd(), -1);
    ck_assert_int_eq(bx_log_adopt(other, ofd), 0);
    ck_assert_int_eq(bx_log_file_fd(), ofd);
    bx_log_close();
    ck_assert_int_eq(fcntl(ofd, F_GETFD), -1); /* the log owned it */
    unlink(path);
    unlink(other);
    rmdir(dir);
    free(dir);
}
END_TEST

/* The upgrade's fallback when the log moved and its name cannot be opened:
 * the old file goes on, and the name is kept for the next reopen. */
START_TEST(keep_the_moved_log)
{
    char *dir = tu_tmpdir();
    char path[256], moved[256];
    snprintf(path, sizeof path, "%s/error.log", dir);
    snprintf(moved, sizeof moved, "%s/error.log.1", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(rename(path, moved), 0);
    ck_assert_int_eq(bx_log_adopt(path, fd), -1); /* not the file at path now */
    ck_assert_int_eq(bx_log_keep("syslog", fd), -1);
    ck_assert_int_eq(bx_log_keep(path, -1), -1);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ck_assert_int_eq(bx_log_keep(path, dfd), -1); /* not a regular file */
    close(dfd);
    ck_assert_int_eq(bx_log_keep(path, fd), 0);
    ck_assert_int_eq(bx_log_file_fd(), fd);
    ck_assert_int_eq(bx_log_reopen(), 0); /* by the name kept: a new file */
    ck_assert_int_eq(access(path, F_OK), 0);
    bx_log_close();
    unlink(path);
    unlink(moved);
    rmdir(dir);
    free(dir);
}
END_TEST

START_TEST(level_names)
{
    ck_assert_int_eq(bx_log_level_parse("debug"), BX_LOG_DEBUG);
    ck_assert_int_eq(bx_log_level_parse("WARN"), BX_LOG_WARN);
    ck_assert_int_eq(bx_log_level_parse("warning"), BX_LOG_WARN);
    ck_assert_int_eq(bx_log_level_parse("loud"), -1);
}
END_TEST

Suite *suite_log(void);
Suite *suite_log(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, combined_log_format);
    tcase_add_test(tc, level_filter_and_reopen);
    tcase_add_test(tc, level_names);
    tcase_add_test(tc, adopt_only_the_same_file);
    tcase_add_test(tc, keep_the_moved_log);
    suite_add_tcase(s, tc);
    return s;
}
