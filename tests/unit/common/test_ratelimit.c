/* SPDX-License-Identifier: BSD-2-Clause */
/* The shared log rate limit (common/ratelimit.c): one line per second, each
 * telling how many events went unlogged before it. */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <string.h>

#include "common/ratelimit.h"

START_TEST(ratelimit_one_line_per_second)
{
    struct bx_ratelimit rl;
    memset(&rl, 0, sizeof rl);
    uint64_t n = 99;
    ck_assert(bx_ratelimit_pass(&rl, 5000, &n));
    ck_assert_int_eq(n, 0);
    for (int i = 0; i < 7; i++) {
        ck_assert(!bx_ratelimit_pass(&rl, 5100 + (uint64_t)i * 100, &n));
        ck_assert_int_eq(n, 0);
    }
    ck_assert(bx_ratelimit_pass(&rl, 6000, &n));
    ck_assert_int_eq(n, 7);
    ck_assert(!bx_ratelimit_pass(&rl, 6999, &n));
    ck_assert(bx_ratelimit_pass(&rl, 60000, &n));
    ck_assert_int_eq(n, 1);
    /* time 0 is a second like the others */
    memset(&rl, 0, sizeof rl);
    ck_assert(bx_ratelimit_pass(&rl, 0, &n));
    ck_assert(!bx_ratelimit_pass(&rl, 10, &n));
}
END_TEST

Suite *suite_ratelimit(void);
Suite *suite_ratelimit(void)
{
    Suite *s = suite_create("ratelimit");
    TCase *tc = tcase_create("ratelimit");
    tcase_add_test(tc, ratelimit_one_line_per_second);
    suite_add_tcase(s, tc);
    return s;
}
