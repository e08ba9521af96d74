/* SPDX-License-Identifier: BSD-2-Clause */
/* The Allow header's method list (backend/modset.c): names in a fixed order,
 * comma-separated, and never past the buffer. */
#include "config.h"

#include <check.h>
#include <string.h>

#include "backend/modset.h"
#include "bactrian/module.h"

START_TEST(methods_in_fixed_order)
{
    char out[128];
    be_methods_str(BM_POST | BM_GET | BM_HEAD, out, sizeof out);
    ck_assert_str_eq(out, "GET, HEAD, POST");
    be_methods_str(BM_CONNECT | BM_DELETE, out, sizeof out);
    ck_assert_str_eq(out, "DELETE, CONNECT");
}
END_TEST

START_TEST(every_named_method)
{
    char out[128];
    be_methods_str(BM_ANY_METHOD, out, sizeof out);
    /* BM_OTHER has no name to announce. */
    ck_assert_str_eq(out, "GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH, TRACE, CONNECT");
}
END_TEST

START_TEST(none_is_empty)
{
    char out[8] = "junk";
    be_methods_str(0, out, sizeof out);
    ck_assert_str_eq(out, "");
    be_methods_str(BM_OTHER, out, sizeof out);
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(small_buffer_stays_terminated)
{
    char out[12];
    memset(out, 'x', sizeof out);
    be_methods_str(BM_GET | BM_HEAD | BM_POST, out, 10);
    ck_assert_int_eq(out[10], 'x'); /* nothing written past outlen */
    ck_assert_uint_lt(strlen(out), 10);
    ck_assert(strncmp(out, "GET", 3) == 0);
}
END_TEST

Suite *suite_modset(void);
Suite *suite_modset(void)
{
    Suite *s = suite_create("modset");
    TCase *tc = tcase_create("methods");
    tcase_add_test(tc, methods_in_fixed_order);
    tcase_add_test(tc, every_named_method);
    tcase_add_test(tc, none_is_empty);
    tcase_add_test(tc, small_buffer_stays_terminated);
    suite_add_tcase(s, tc);
    return s;
}
