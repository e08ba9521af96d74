/* SPDX-License-Identifier: BSD-2-Clause */
/* UTF-8 validator: valid and invalid sequences, overlong forms, surrogates,
 * code points above U+10FFFF, and the same at every split point. */
#include "config.h"

#include <check.h>
#include <string.h>

#include "backend/ws_utf8.h"

struct sample {
    const char *s;
    size_t len;
    int valid;
    int fail_at; /* index of the first byte that must be refused, -1 = incomplete only */
};

#define S(lit, v, at) {lit, sizeof(lit) - 1, v, at}
static const struct sample samples[] = {
    S("", 1, 0),
    S("Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!", 1, 0),
    S("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", 1, 0),
    S("\x7f", 1, 0),
    S("\xc2\x80", 1, 0),                 /* U+0080 */
    S("\xdf\xbf", 1, 0),                 /* U+07FF */
    S("\xe0\xa0\x80", 1, 0),             /* U+0800 */
    S("\xed\x9f\xbf", 1, 0),             /* U+D7FF */
    S("\xee\x80\x80", 1, 0),             /* U+E000 */
    S("\xef\xbf\xbf", 1, 0),             /* U+FFFF */
    S("\xf0\x90\x80\x80", 1, 0),         /* U+10000 */
    S("\xf4\x8f\xbf\xbf", 1, 0),         /* U+10FFFF */
    S("abcdefghijklmnopqrstuvwxyz0123456789\xe2\x82\xac", 1, 0),
    S("\x80", 0, 0),                     /* lone continuation */
    S("\xbf", 0, 0),
    S("a\xc0\x80", 0, 1),                /* overlong NUL */
    S("\xc1\xbf", 0, 0),                 /* overlong */
    S("\xe0\x80\xaf", 0, 1),             /* overlong '/' */
    S("\xe0\x9f\xbf", 0, 1),             /* overlong U+07FF */
    S("\xf0\x80\x80\xaf", 0, 1),
    S("\xf0\x8f\xbf\xbf", 0, 1),         /* overlong U+FFFF */
    S("\xf8\x88\x80\x80\x80", 0, 0),     /* 5-byte form */
    S("\xfc\x84\x80\x80\x80\x80", 0, 0),
    S("\xfe", 0, 0),
    S("\xff", 0, 0),
    S("\xed\xa0\x80", 0, 1),             /* U+D800 */
    S("\xed\xbf\xbf", 0, 1),             /* U+DFFF */
    S("\xed\xa0\x80\xed\xb0\x80", 0, 1), /* surrogate pair */
    S("\xf4\x90\x80\x80", 0, 1),         /* U+110000 */
    S("\xf5\x80\x80\x80", 0, 0),
    S("\xf7\xbf\xbf\xbf", 0, 0),
    S("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
      "edited",
      0, 12),
    S("\xc2\x41", 0, 1),                 /* truncated then ASCII */
    S("\xe2\x82", 0, -1),                /* incomplete at the end */
    S("\xf0\x9f\x98", 0, -1),
    S("\xc2", 0, -1),
    S("0123456789abcdef\xc3", 0, -1),
};

START_TEST(test_whole)
{
    for (size_t i = 0; i < sizeof(samples) / sizeof(*samples); i++) {
        const struct sample *t = &samples[i];
        ck_assert_msg(be_utf8_valid((const uint8_t *)t->s, t->len) == t->valid, "sample %zu", i);
    }
}
END_TEST

START_TEST(test_fail_fast_position)
{
    /* Fed one byte at a time, the validator refuses exactly at fail_at. */
    for (size_t i = 0; i < sizeof(samples) / sizeof(*samples); i++) {
        const struct sample *t = &samples[i];
        struct be_utf8 u;
        be_utf8_init(&u);
        int failed_at = -1;
        for (size_t k = 0; k < t->len; k++)
            if (be_utf8_feed(&u, (const uint8_t *)t->s + k, 1) < 0) {
                failed_at = (int)k;
                break;
            }
        if (t->valid) {
            ck_assert_int_eq(failed_at, -1);
            ck_assert(be_utf8_complete(&u));
        } else if (t->fail_at < 0) {
            ck_assert_int_eq(failed_at, -1);
            ck_assert(!be_utf8_complete(&u));
        } else {
            ck_assert_msg(failed_at == t->fail_at, "sample %zu failed at %d", i, failed_at);
        }
    }
}
END_TEST

START_TEST(test_splits)
{
    /* Every valid sample split at every point (as across frames). */
    for (size_t i = 0; i < sizeof(samples) / sizeof(*samples); i++) {
        const struct sample *t = &samples[i];
        for (size_t cut = 0; cut <= t->len; cut++) {
            struct be_utf8 u;
            be_utf8_init(&u);
            int a = be_utf8_feed(&u, (const uint8_t *)t->s, cut);
            int b = a < 0 ? -1 : be_utf8_feed(&u, (const uint8_t *)t->s + cut, t->len - cut);
            int ok = a == 0 && b == 0 && be_utf8_complete(&u);
            ck_assert_msg(ok == t->valid, "sample %zu cut %zu", i, cut);
        }
    }
}
END_TEST

START_TEST(test_all_code_points)
{
    /* Encode every scalar value and check acceptance; surrogates must fail. */
    for (unsigned cp = 0; cp <= 0x10ffff; cp += (cp < 0x10000 ? 1 : 17)) {
        uint8_t b[4];
        size_t n;
        if (cp < 0x80) {
            b[0] = (uint8_t)cp;
            n = 1;
        } else if (cp < 0x800) {
            b[0] = (uint8_t)(0xc0 | cp >> 6);
            b[1] = (uint8_t)(0x80 | (cp & 0x3f));
            n = 2;
        } else if (cp < 0x10000) {
            b[0] = (uint8_t)(0xe0 | cp >> 12);
            b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
            b[2] = (uint8_t)(0x80 | (cp & 0x3f));
            n = 3;
        } else {
            b[0] = (uint8_t)(0xf0 | cp >> 18);
            b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
            b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
            b[3] = (uint8_t)(0x80 | (cp & 0x3f));
            n = 4;
        }
        int want = !(cp >= 0xd800 && cp <= 0xdfff);
        ck_assert_msg(be_utf8_valid(b, n) == want, "U+%04X", cp);
    }
}
END_TEST

START_TEST(test_long_ascii_then_bad)
{
    uint8_t buf[1000];
    memset(buf, 'a', sizeof(buf));
    ck_assert(be_utf8_valid(buf, sizeof(buf)));
    for (size_t pos = 0; pos < 40; pos++) {
        memset(buf, 'a', sizeof(buf));
        buf[pos] = 0x80;
        ck_assert(!be_utf8_valid(buf, sizeof(buf)));
    }
}
END_TEST

Suite *suite_ws_utf8(void);
Suite *suite_ws_utf8(void)
{
    Suite *s = suite_create("ws_utf8");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_whole);
    tcase_add_test(tc, test_fail_fast_position);
    tcase_add_test(tc, test_splits);
    tcase_add_test(tc, test_all_code_points);
    tcase_add_test(tc, test_long_ascii_then_bad);
    suite_add_tcase(s, tc);
    return s;
}
