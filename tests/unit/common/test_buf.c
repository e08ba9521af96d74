/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include <check.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"

START_TEST(append_consume_reuse)
{
    struct bx_buf b = BX_BUF_INIT;
    bx_buf_append_str(&b, "hello ");
    bx_buf_printf(&b, "%s %d", "world", 42);
    ck_assert_uint_eq(bx_buf_unread(&b), 14);
    ck_assert_mem_eq(bx_buf_rpos(&b), "hello world 42", 14);
    bx_buf_consume(&b, 6);
    ck_assert_mem_eq(bx_buf_rpos(&b), "world 42", 8);
    bx_buf_consume(&b, 100);
    ck_assert_uint_eq(bx_buf_unread(&b), 0);
    ck_assert_uint_eq(b.off, 0);
    bx_buf_free(&b);
    ck_assert_ptr_null(b.data);
}
END_TEST

START_TEST(grows_and_compacts)
{
    struct bx_buf b = BX_BUF_INIT;
    char chunk[1000];
    memset(chunk, 'x', sizeof chunk);
    for (int i = 0; i < 100; i++)
        bx_buf_append(&b, chunk, sizeof chunk);
    ck_assert_uint_eq(bx_buf_unread(&b), 100000);
    size_t cap = b.cap;
    bx_buf_consume(&b, 99000);
    /* Room is reclaimed by moving the unread tail, not by growing. */
    bx_buf_reserve(&b, cap - 2000);
    ck_assert_uint_eq(b.cap, cap);
    ck_assert_uint_eq(b.off, 0);
    ck_assert_uint_eq(bx_buf_unread(&b), 1000);
    bx_buf_free(&b);
}
END_TEST

START_TEST(long_printf)
{
    struct bx_buf b = BX_BUF_INIT;
    char big[5000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    bx_buf_printf(&b, "<%s>", big);
    ck_assert_uint_eq(bx_buf_unread(&b), sizeof big + 1);
    ck_assert_int_eq(bx_buf_rpos(&b)[0], '<');
    ck_assert_int_eq(bx_buf_rpos(&b)[sizeof big], '>');
    bx_buf_free(&b);
}
END_TEST

START_TEST(fd_round_trip)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    struct bx_buf out = BX_BUF_INIT, in = BX_BUF_INIT;
    bx_buf_append_str(&out, "through a pipe");
    ck_assert_int_eq(bx_buf_write_fd(&out, p[1]), 14);
    ck_assert_uint_eq(bx_buf_unread(&out), 0);
    ck_assert_int_eq(bx_buf_read_fd(&in, p[0], 4), 4);
    ck_assert_int_eq(bx_buf_read_fd(&in, p[0], 100), 10);
    ck_assert_mem_eq(bx_buf_rpos(&in), "through a pipe", 14);
    close(p[0]);
    close(p[1]);
    bx_buf_free(&out);
    bx_buf_free(&in);
}
END_TEST

Suite *suite_buf(void);
Suite *suite_buf(void)
{
    Suite *s = suite_create("buf");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, append_consume_reuse);
    tcase_add_test(tc, grows_and_compacts);
    tcase_add_test(tc, long_printf);
    tcase_add_test(tc, fd_round_trip);
    suite_add_tcase(s, tc);
    return s;
}
