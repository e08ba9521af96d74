/* SPDX-License-Identifier: BSD-2-Clause */
/* Allocation that aborts instead of returning NULL (common/xalloc.c): zero
 * sizes still give a pointer, calloc zeroes, strndup copies exactly n bytes
 * and terminates, and a failed allocation ends the process with SIGABRT. */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

/* ASan reports a huge allocation itself instead of returning NULL. */
#if defined(__SANITIZE_ADDRESS__)
#define BX_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BX_TEST_ASAN 1
#endif
#endif

START_TEST(zero_sizes_give_a_pointer)
{
    void *a = bx_xmalloc(0), *b = bx_xcalloc(0, 0), *c = bx_xrealloc(NULL, 0);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_nonnull(c);
    free(a);
    free(b);
    free(c);
}
END_TEST

START_TEST(calloc_zeroes_and_realloc_keeps)
{
    unsigned char *p = bx_xcalloc(64, 4);
    for (size_t i = 0; i < 256; i++)
        ck_assert_uint_eq(p[i], 0);
    memset(p, 7, 256);
    p = bx_xrealloc(p, 4096);
    for (size_t i = 0; i < 256; i++)
        ck_assert_uint_eq(p[i], 7);
    free(p);
}
END_TEST

START_TEST(strndup_copies_n_and_terminates)
{
    char *s = bx_xstrndup("hello world", 5);
    ck_assert_str_eq(s, "hello");
    free(s);
    s = bx_xstrndup("ab\0cd", 5); /* n bytes, whatever they are */
    ck_assert_int_eq(memcmp(s, "ab\0cd", 6), 0);
    free(s);
    s = bx_xstrdup("");
    ck_assert_str_eq(s, "");
    free(s);
    s = bx_xstrdup("bactrian");
    ck_assert_str_eq(s, "bactrian");
    free(s);
}
END_TEST

START_TEST(out_of_memory_aborts)
{
    /* Allocation failure must not return: the caller never checks. */
    volatile size_t huge = SIZE_MAX - 4096;
    void *p = bx_xmalloc(huge);
    free(p);
}
END_TEST

Suite *suite_xalloc(void);
Suite *suite_xalloc(void)
{
    Suite *s = suite_create("xalloc");
    TCase *tc = tcase_create("xalloc");
    tcase_add_test(tc, zero_sizes_give_a_pointer);
    tcase_add_test(tc, calloc_zeroes_and_realloc_keeps);
    tcase_add_test(tc, strndup_copies_n_and_terminates);
#ifndef BX_TEST_ASAN
    tcase_add_test_raise_signal(tc, out_of_memory_aborts, SIGABRT);
#else
    (void)out_of_memory_aborts;
#endif
    suite_add_tcase(s, tc);
    return s;
}
