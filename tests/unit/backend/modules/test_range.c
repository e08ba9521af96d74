/* SPDX-License-Identifier: BSD-2-Clause */
/* Range parsing (backend/modules/range.c): syntax, clamping, suffixes, the
 * 416 case, ignored headers, and merging of overlapping and adjacent ranges
 * (16 copies of "0-" are one range, not 16 parts). */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "backend/modules/range.h"

/* Parses h for size and renders the result as "a-b,c-d" (or the count). */
static const char *parse(const char *h, off_t size)
{
    static char out[512];
    struct be_range r[BE_RANGE_MAX];
    int n = be_range_parse(h, size, r);
    if (n <= 0) {
        snprintf(out, sizeof out, "%d", n);
        return out;
    }
    size_t o = 0;
    out[0] = 0;
    for (int i = 0; i < n && o < sizeof out; i++) {
        int k = snprintf(out + o, sizeof out - o, "%s%lld-%lld", i ? "," : "",
                         (long long)r[i].first, (long long)r[i].last);
        if (k < 0 || (size_t)k >= sizeof out - o)
            break;
        o += (size_t)k;
    }
    return out;
}

START_TEST(single_ranges)
{
    ck_assert_str_eq(parse("bytes=0-9", 100), "0-9");
    ck_assert_str_eq(parse("bytes=90-", 100), "90-99");
    ck_assert_str_eq(parse("bytes=90-200", 100), "90-99");
    ck_assert_str_eq(parse("bytes=-10", 100), "90-99");
    ck_assert_str_eq(parse("bytes=-1000", 100), "0-99");
    ck_assert_str_eq(parse("BYTES=1-1", 100), "1-1");
    ck_assert_str_eq(parse("bytes= 1-2 , ", 100), "1-2");
}
END_TEST

START_TEST(unsatisfiable_and_ignored)
{
    ck_assert_str_eq(parse("bytes=100-", 100), "0");
    ck_assert_str_eq(parse("bytes=-0", 100), "0");
    ck_assert_str_eq(parse("bytes=0-", 0), "0");
    ck_assert_str_eq(parse("bytes=5-1", 100), "-1");
    ck_assert_str_eq(parse("bytes=", 100), "-1");
    ck_assert_str_eq(parse("bytes=,", 100), "-1");
    ck_assert_str_eq(parse("items=0-1", 100), "-1");
    ck_assert_str_eq(parse("bytes=a-1", 100), "-1");
    ck_assert_str_eq(parse("bytes=- 5", 100), "-1");
    ck_assert_str_eq(parse("bytes=-+5", 100), "-1");
    ck_assert_str_eq(parse("bytes=1-2x", 100), "-1");
    ck_assert_str_eq(parse("bytes=99999999999999999999-", 100), "-1");
}
END_TEST

START_TEST(merged)
{
    ck_assert_str_eq(parse("bytes=0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-", 100), "0-99");
    ck_assert_str_eq(parse("bytes=50-59,0-9,5-20", 100), "0-20,50-59");
    ck_assert_str_eq(parse("bytes=0-9,10-19", 100), "0-19");   /* adjacent */
    ck_assert_str_eq(parse("bytes=0-9,11-19", 100), "0-9,11-19");
    ck_assert_str_eq(parse("bytes=-10,0-95", 100), "0-99");
    ck_assert_str_eq(parse("bytes=0-0,200-,2-2", 100), "0-0,2-2"); /* unsatisfiable dropped */
}
END_TEST

START_TEST(too_many)
{
    char h[512] = "bytes=0-0";
    for (int i = 1; i < BE_RANGE_MAX; i++)
        snprintf(h + strlen(h), sizeof h - strlen(h), ",%d-%d", 2 * i, 2 * i);
    struct be_range r[BE_RANGE_MAX];
    ck_assert_int_eq(be_range_parse(h, 100, r), BE_RANGE_MAX);
    snprintf(h + strlen(h), sizeof h - strlen(h), ",90-91");
    ck_assert_int_eq(be_range_parse(h, 100, r), -1); /* the whole file with 200 */
    ck_assert_str_eq(parse("bytes=0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-", 100), "-1");
}
END_TEST

Suite *suite_range(void);
Suite *suite_range(void)
{
    Suite *s = suite_create("range");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, single_ranges);
    tcase_add_test(tc, unsatisfiable_and_ignored);
    tcase_add_test(tc, merged);
    tcase_add_test(tc, too_many);
    suite_add_tcase(s, tc);
    return s;
}
