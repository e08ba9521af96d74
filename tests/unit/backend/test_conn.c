/* SPDX-License-Identifier: BSD-2-Clause */
/* The PROXY header on a backend connection (backend/conn.c): a listener
 * that requires one takes the client address from it (v1 and v2, in one
 * piece or split), and closes without an answer when it is missing or
 * malformed. Driven through an in-process worker (beloop.h). */
#include "config.h"

#include <check.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/backend/beloop.h"

static char resp[8192];

static void up(void)
{
    bl_start("  modules = ( { module = \"mirror\"; path = \"/\"; } );", true);
}

static void down(void)
{
    bl_stop();
}

static void whoami_after(int fd, const void *hdr, size_t len)
{
    bl_send(fd, hdr, len);
    const char *req = "GET /?whoami HTTP/1.1\r\nHost: t\r\n\r\n";
    bl_send(fd, req, strlen(req));
    bl_response(fd, resp, sizeof resp, 3000, NULL);
}

START_TEST(v1_gives_the_client)
{
    int fd = bl_connect();
    const char *h = "PROXY TCP4 192.0.2.1 127.0.0.1 40000 80\r\n";
    whoami_after(fd, h, strlen(h));
    ck_assert_int_eq(bl_status(resp), 200);
    ck_assert_msg(strstr(bl_body(resp), "client=192.0.2.1 "), "%s", resp);
    close(fd);
}
END_TEST

START_TEST(v1_split_across_writes)
{
    int fd = bl_connect();
    bl_send(fd, "PROXY TCP6 2001:db8::7 ", 23);
    bl_pump(20);
    const char *rest = "::1 40000 80\r\n";
    whoami_after(fd, rest, strlen(rest));
    ck_assert_msg(strstr(bl_body(resp), "client=2001:db8::7 "), "%s", resp);
    close(fd);
}
END_TEST

START_TEST(v2_gives_the_client)
{
    static const unsigned char h[] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                      0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, /* signature */
                                      0x21, 0x11, 0x00, 0x0c, /* PROXY TCP4 12 */
                                      198,  51,   100,  9,    127,  0,
                                      0,    1,    0x9c, 0x40, 0x00, 0x50};
    int fd = bl_connect();
    whoami_after(fd, h, sizeof h);
    ck_assert_msg(strstr(bl_body(resp), "client=198.51.100.9 "), "%s", resp);
    close(fd);
}
END_TEST

START_TEST(missing_header_closes_silently)
{
    int fd = bl_connect();
    const char *req = "GET /?whoami HTTP/1.1\r\nHost: t\r\n\r\n";
    bl_send(fd, req, strlen(req));
    bool eof = false;
    size_t n = bl_response(fd, resp, sizeof resp, 2000, &eof);
    ck_assert_uint_eq(n, 0);
    ck_assert(eof);
    close(fd);
}
END_TEST

START_TEST(malformed_header_closes_silently)
{
    int fd = bl_connect();
    const char *h = "PROXY TCP4 300.0.2.1 127.0.0.1 40000 80\r\nGET / HTTP/1.1\r\n\r\n";
    bl_send(fd, h, strlen(h));
    bool eof = false;
    ck_assert_uint_eq(bl_response(fd, resp, sizeof resp, 2000, &eof), 0);
    ck_assert(eof);
    close(fd);
}
END_TEST

Suite *suite_conn(void);
Suite *suite_conn(void)
{
    Suite *s = suite_create("conn");
    TCase *tc = tcase_create("proxy");
    tcase_add_checked_fixture(tc, up, down);
    tcase_add_test(tc, v1_gives_the_client);
    tcase_add_test(tc, v1_split_across_writes);
    tcase_add_test(tc, v2_gives_the_client);
    tcase_add_test(tc, missing_header_closes_silently);
    tcase_add_test(tc, malformed_header_closes_silently);
    suite_add_tcase(s, tc);
    return s;
}
