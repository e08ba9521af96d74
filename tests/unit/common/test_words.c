/* SPDX-License-Identifier: BSD-2-Clause */
/* The words of a line (common/words.h). */
#include "config.h"

#include <check.h>
#include <limits.h>
#include <string.h>

#include "common/words.h"

static int words(const char *text, char **w, int max)
{
    static char line[256];
    strcpy(line, text);
    return bx_words(line, w, max);
}

START_TEST(split_at_single_spaces)
{
    char *w[4];
    ck_assert_int_eq(words("listen tcp 80 ::1", w, 4), 4);
    ck_assert_str_eq(w[0], "listen");
    ck_assert_str_eq(w[3], "::1");
    ck_assert_int_eq(words("end", w, 4), 1);
    ck_assert_int_eq(words("a\tb", w, 4), 1); /* only a space separates */
    ck_assert_int_eq(words("", w, 4), -1);
    ck_assert_int_eq(words(" a", w, 4), -1);
    ck_assert_int_eq(words("a ", w, 4), -1);
    ck_assert_int_eq(words("a  b", w, 4), -1);
    ck_assert_int_eq(words("a b c d e", w, 4), -1);
}
END_TEST

START_TEST(numbers_are_whole)
{
    long long v;
    unsigned o;
    ck_assert(bx_word_ll("65535", 1, 65535, &v) && v == 65535);
    ck_assert(bx_word_ll("-9223372036854775808", LLONG_MIN, LLONG_MAX, &v) && v == LLONG_MIN);
    ck_assert(!bx_word_ll("65536", 1, 65535, &v));
    ck_assert(!bx_word_ll("9223372036854775808", LLONG_MIN, LLONG_MAX, &v));
    ck_assert(!bx_word_ll("80x", 0, 100, &v));
    ck_assert(!bx_word_ll("+80", 0, 100, &v));
    ck_assert(!bx_word_ll(" 80", 0, 100, &v));
    ck_assert(!bx_word_ll("-", -10, 10, &v));
    ck_assert(!bx_word_ll("", 0, 10, &v));
    ck_assert(bx_word_octal("0660", 07777, &o) && o == 0660);
    ck_assert(!bx_word_octal("10000", 07777, &o));
    ck_assert(!bx_word_octal("0x1", 07777, &o));
    ck_assert(!bx_word_octal("8", 07777, &o));
    ck_assert(!bx_word_octal("00000000000000000000000000000000000001777777777777", 07777, &o));
}
END_TEST

Suite *suite_words(void);
Suite *suite_words(void)
{
    Suite *s = suite_create("words");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, split_at_single_spaces);
    tcase_add_test(tc, numbers_are_whole);
    suite_add_tcase(s, tc);
    return s;
}
