/* SPDX-License-Identifier: BSD-2-Clause */
/* The report's TLS vhost lines (frontend/upvhost.c) as bytes: written and
 * read back, and what fuzz_upgrade_report found the parser let through. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/upgrade_report.h"
#include "frontend/upvhost.h"

#define HEX "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* The vhosts of a report whose body is body: n or -1. */
static long vhosts(const char *body, struct fe_upvhost **w)
{
    char text[8192], err[256];
    struct bx_upgrade_report r = {0};
    snprintf(text, sizeof text, "bactrian-upgrade-check 1\n%send\n", body);
    ck_assert_int_eq(bx_upgrade_report_parse(&r, text, strlen(text), err, sizeof err), 0);
    *w = NULL;
    long n = fe_upvhost_parse(&r, w);
    free(*w);
    *w = NULL;
    bx_upgrade_report_free(&r);
    return n;
}

START_TEST(written_lines_read_back)
{
    struct bx_buf b = BX_BUF_INIT;
    ck_assert_int_eq(fe_upvhost_write(&b, 0, 2, HEX, "one.example", "/k/with space.key", "/c/1"),
                     0);
    ck_assert_int_eq(fe_upvhost_write(&b, 1, 2, HEX, "two.example", "/k/2", "/c/2"), 0);
    ck_assert_int_eq(fe_upvhost_write(&b, 1, 2, HEX, "a b", "/k/2", "/c/2"), -1);
    bx_buf_append(&b, "", 1);
    char text[2048], err[256];
    snprintf(text, sizeof text, "bactrian-upgrade-check 1\n%send\n", bx_buf_rpos(&b));
    struct bx_upgrade_report r = {0};
    ck_assert_int_eq(bx_upgrade_report_parse(&r, text, strlen(text), err, sizeof err), 0);
    struct fe_upvhost *w = NULL;
    ck_assert_int_eq(fe_upvhost_parse(&r, &w), 2);
    ck_assert_str_eq(w[0].name, "one.example");
    ck_assert_str_eq(w[0].key, "/k/with space.key");
    ck_assert_str_eq(w[1].cert, "/c/2");
    ck_assert_str_eq(w[1].hex, HEX);
    free(w);
    bx_upgrade_report_free(&r);
    bx_buf_free(&b);
}
END_TEST

START_TEST(words_are_whole)
{
    struct fe_upvhost *w;
    const char *paths = "vhost.key 0 /k\nvhost.cert 0 /c\n";
    char body[4096];
    snprintf(body, sizeof body, "vhost 0 1 %s one\n%s", HEX, paths);
    ck_assert_int_eq(vhosts(body, &w), 1);
    /* A 65-byte digest: %64s took 64, the name was its last byte, and the
     * real name was skipped. */
    snprintf(body, sizeof body, "vhost 0 1 %sa one\n%s", HEX, paths);
    ck_assert_int_eq(vhosts(body, &w), -1);
    /* Text after the name. */
    snprintf(body, sizeof body, "vhost 0 1 %s one two\n%s", HEX, paths);
    ck_assert_int_eq(vhosts(body, &w), -1);
    /* Not a digest the master's own would ever equal. */
    snprintf(body, sizeof body, "vhost 0 1 %.63sX one\n%s", HEX, paths);
    ck_assert_int_eq(vhosts(body, &w), -1);
    /* An empty key path, and one longer than the key process takes. */
    snprintf(body, sizeof body, "vhost 0 1 %s one\nvhost.key 0 \nvhost.cert 0 /c\n", HEX);
    ck_assert_int_eq(vhosts(body, &w), -1);
    char longpath[KP_MAX_PATH + 1];
    memset(longpath, 'k', KP_MAX_PATH);
    longpath[KP_MAX_PATH] = '\0';
    snprintf(body, sizeof body, "vhost 0 1 %s one\nvhost.key 0 %s\nvhost.cert 0 /c\n", HEX,
             longpath);
    ck_assert_int_eq(vhosts(body, &w), -1);
    /* An index strtol read past its spaces and sign. */
    snprintf(body, sizeof body, "vhost 0 1 %s one\nvhost.key  +0 /k\nvhost.cert 0 /c\n", HEX);
    ck_assert_int_eq(vhosts(body, &w), -1);
    /* A vhost or a path named twice. */
    snprintf(body, sizeof body, "vhost 0 1 %s one\nvhost 0 1 %s two\n%s", HEX, HEX, paths);
    ck_assert_int_eq(vhosts(body, &w), -1);
    snprintf(body, sizeof body, "vhost 0 1 %s one\n%svhost.key 0 /k2\n", HEX, paths);
    ck_assert_int_eq(vhosts(body, &w), -1);
    /* A count that does not fit a long (refused before too, clamped over
     * the maximum: a guard). */
    snprintf(body, sizeof body, "vhost 0 99999999999999999999 %s one\n%s", HEX, paths);
    ck_assert_int_eq(vhosts(body, &w), -1);
}
END_TEST

Suite *suite_fe_upvhost(void);
Suite *suite_fe_upvhost(void)
{
    Suite *s = suite_create("fe_upvhost");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, written_lines_read_back);
    tcase_add_test(tc, words_are_whole);
    suite_add_tcase(s, tc);
    return s;
}
