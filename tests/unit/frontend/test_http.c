/* SPDX-License-Identifier: BSD-2-Clause */
/* The frontend's own tiny HTTP bits: Host sniffing for plaintext vhost
 * choice and its error pages. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "frontend/http.h"

static int host(const char *req, char *out, size_t outlen)
{
    return fe_http_find_host(req, strlen(req), out, outlen);
}

START_TEST(finds_host_and_strips_port)
{
    char h[64];
    ck_assert_int_eq(host("GET / HTTP/1.1\r\nHost: alt.localhost:8080\r\n\r\n", h, sizeof h), 13);
    ck_assert_str_eq(h, "alt.localhost");
    ck_assert_int_eq(host("GET / HTTP/1.1\r\nX: y\r\nhOsT:\t example.com \r\n\r\n", h, sizeof h),
                     11);
    ck_assert_str_eq(h, "example.com");
    ck_assert_int_eq(host("GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", h, sizeof h), 5);
    ck_assert_str_eq(h, "[::1]");
    ck_assert_int_eq(host("GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n", h, sizeof h), 5);
}
END_TEST

START_TEST(incomplete_absent_and_oversized)
{
    char h[8];
    ck_assert_int_eq(host("GET / HTTP/1.1\r\nHost: a", h, sizeof h), -1);
    ck_assert_int_eq(host("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", h, sizeof h), 0);
    ck_assert_int_eq(host("GET / HTTP/1.1\r\nHost: much-too-long.example\r\n\r\n", h, sizeof h), 0);
    ck_assert_int_eq(host("GET / HTTP/1.1\r\nHost:\r\n\r\n", h, sizeof h), 0);
    /* A Host in the body does not count. */
    ck_assert_int_eq(host("POST / HTTP/1.1\r\nA: b\r\n\r\nHost: x\r\n\r\n", h, sizeof h), 0);
    ck_assert_int_eq(host("\r\n\r\n", h, sizeof h), 0);
}
END_TEST

START_TEST(pages_are_complete_responses)
{
    char p[1024];
    size_t n = fe_http_page(p, sizeof p, 502, "Bad Gateway", "x");
    ck_assert_uint_eq(n, strlen(p));
    ck_assert(strncmp(p, "HTTP/1.1 502 Bad Gateway\r\n", 26) == 0);
    const char *body = strstr(p, "\r\n\r\n") + 4;
    char cl[64];
    snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", strlen(body));
    ck_assert_ptr_nonnull(strstr(p, cl));
    ck_assert_ptr_nonnull(strstr(p, "Connection: close\r\n"));
    /* Truncation keeps the buffer terminated. */
    char small[40];
    n = fe_http_page(small, sizeof small, 503, "Service Unavailable", "busy");
    ck_assert_uint_eq(n, strlen(small));
}
END_TEST

Suite *suite_fe_http(void);
Suite *suite_fe_http(void)
{
    Suite *s = suite_create("fe_http");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, finds_host_and_strips_port);
    tcase_add_test(tc, incomplete_absent_and_oversized);
    tcase_add_test(tc, pages_are_complete_responses);
    suite_add_tcase(s, tc);
    return s;
}
