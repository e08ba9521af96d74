/* SPDX-License-Identifier: BSD-2-Clause */
/* HTTP/1.1 on a backend connection (backend/http.c, backend/conn.c), driven
 * through an in-process worker (beloop.h) with the mirror module: keep-alive
 * and pipelining answered in order, a head that arrives a byte at a time,
 * HEAD without a body, each limit with its status, chunked and
 * Content-Length bodies, routing and method errors, the timeouts, and the
 * PROXY header on a listener that requires one. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/backend/beloop.h"

#define MODS                                                                                       \
    "  max_request_line = 256; max_header_size = 1024; max_headers = 4;\n"                         \
    "  max_body_size = 64; header_timeout = 0.3; body_timeout = 0.3; idle_timeout = 0.5;\n"        \
    "  keepalive_requests = 3;\n"                                                                  \
    "  modules = ( { module = \"mirror\"; path = \"/m/\"; } );"

static char resp[65536];

static void up(void)
{
    bl_start(MODS, false);
}

static void down(void)
{
    bl_stop();
}

static void expect_status(int fd, const char *req, int status, bool closes)
{
    bl_send(fd, req, strlen(req));
    bool eof = false;
    bl_response(fd, resp, sizeof resp, 3000, &eof);
    ck_assert_msg(bl_status(resp) == status, "want %d for %.40s...: %.200s", status, req, resp);
    if (closes)
        ck_assert_msg(eof || bl_closed(fd, 1000), "not closed after %d", status);
}

START_TEST(get_keepalive)
{
    int fd = bl_connect();
    char v[64];
    for (int i = 0; i < 2; i++) {
        bl_get(fd, "/m/", resp, sizeof resp);
        ck_assert_int_eq(bl_status(resp), 200);
        ck_assert_str_eq(bl_body(resp), "Hello, world!\n");
        ck_assert_str_eq(bl_header(resp, "Content-Length", v, sizeof v), "14");
        ck_assert_ptr_nonnull(bl_header(resp, "Date", v, sizeof v));
        ck_assert_uint_eq(strlen(v), 29); /* IMF-fixdate */
    }
    close(fd);
}
END_TEST

/* Three requests in one write: the answers come in request order. */
START_TEST(pipelined_in_order)
{
    int fd = bl_connect();
    const char *req = "GET /m/ HTTP/1.1\r\nHost: t\r\n\r\n"
                      "POST /m/ HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\nsecond"
                      "GET /m/?stream=2 HTTP/1.1\r\nHost: t\r\n\r\n";
    bl_send(fd, req, strlen(req));
    bl_response(fd, resp, sizeof resp, 3000, NULL);
    ck_assert_str_eq(bl_body(resp), "Hello, world!\n");
    bl_response(fd, resp, sizeof resp, 3000, NULL);
    ck_assert_str_eq(bl_body(resp), "second");
    bl_response(fd, resp, sizeof resp, 3000, NULL);
    char v[32];
    ck_assert_str_eq(bl_header(resp, "Transfer-Encoding", v, sizeof v), "chunked");
    ck_assert_str_eq(bl_body(resp), "e\r\nHello, world!\n\r\ne\r\nHello, world!\n\r\n0\r\n\r\n");
    close(fd);
}
END_TEST

START_TEST(head_one_byte_at_a_time)
{
    int fd = bl_connect();
    const char *req = "GET /m/ HTTP/1.1\r\nHost: t\r\nX-A: b\r\n\r\n";
    for (size_t i = 0; req[i]; i++) {
        bl_send(fd, req + i, 1); /* and a loop turn: each byte read apart */
    }
    bl_response(fd, resp, sizeof resp, 3000, NULL);
    ck_assert_int_eq(bl_status(resp), 200);
    close(fd);
}
END_TEST

/* HEAD: the GET's Content-Length and no body, so the next answer follows
 * the head directly. */
START_TEST(head_has_no_body)
{
    int fd = bl_connect();
    const char *req = "HEAD /m/ HTTP/1.1\r\nHost: t\r\n\r\nGET /m/ HTTP/1.1\r\nHost: t\r\n\r\n";
    bl_send(fd, req, strlen(req));
    char all[4096];
    size_t n = 0;
    for (int i = 0; i < 300 && !strstr(all, "Hello, world!\n"); i++) {
        n += bl_response(fd, all + n, sizeof all - n, 10, NULL);
        all[n] = '\0';
    }
    char v[32];
    ck_assert_str_eq(bl_header(all, "Content-Length", v, sizeof v), "14");
    const char *second = strstr(all + 1, "HTTP/1.1 200");
    ck_assert_ptr_nonnull(second);
    ck_assert_ptr_eq(second, bl_body(all)); /* right after the HEAD's blank line */
    close(fd);
}
END_TEST

START_TEST(garbage_gets_400_and_close)
{
    int fd = bl_connect();
    expect_status(fd, "GARBAGE\r\n\r\n", 400, true);
    close(fd);
}
END_TEST

START_TEST(limits_each_with_its_status)
{
    char req[2048];
    int fd = bl_connect();
    snprintf(req, sizeof req, "GET /m/%0300d HTTP/1.1\r\nHost: t\r\n\r\n", 0);
    expect_status(fd, req, 414, true);
    close(fd);
    fd = bl_connect();
    expect_status(fd, "GET /m/ HTTP/1.1\r\nHost: t\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\n\r\n", 431,
                  true);
    close(fd);
    fd = bl_connect();
    snprintf(req, sizeof req, "GET /m/ HTTP/1.1\r\nHost: t\r\nX: %01100d\r\n\r\n", 0);
    expect_status(fd, req, 431, true);
    close(fd);
    fd = bl_connect();
    expect_status(fd, "POST /m/ HTTP/1.1\r\nHost: t\r\nContent-Length: 65\r\n\r\n", 413, true);
    close(fd);
    fd = bl_connect();
    const char *at_limit = "POST /m/ HTTP/1.1\r\nHost: t\r\nContent-Length: 64\r\n\r\n";
    bl_send(fd, at_limit, strlen(at_limit));
    ck_assert_uint_eq(bl_response(fd, resp, sizeof resp, 100, NULL), 0); /* its body waited for */
    close(fd);
}
END_TEST

/* A chunked body in pieces that split the size line and the data. */
START_TEST(chunked_body_reassembled)
{
    int fd = bl_connect();
    const char *parts[] = {"POST /m/ HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n",
                           "5",
                           "\r\nhel",
                           "lo\r\n6;ext=1\r\n wor",
                           "ld\r\n0\r\n",
                           "\r\n"};
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
        bl_send(fd, parts[i], strlen(parts[i]));
        bl_pump(5);
    }
    bl_response(fd, resp, sizeof resp, 3000, NULL);
    ck_assert_int_eq(bl_status(resp), 200);
    ck_assert_str_eq(bl_body(resp), "hello world");
    close(fd);
}
END_TEST

START_TEST(chunked_body_over_limit)
{
    int fd = bl_connect();
    expect_status(fd,
                  "POST /m/ HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "41\r\n",
                  413, true);
    close(fd);
}
END_TEST

START_TEST(routing_and_methods)
{
    int fd = bl_connect();
    expect_status(fd, "GET /elsewhere HTTP/1.1\r\nHost: t\r\n\r\n", 404, false);
    expect_status(fd, "PUT /m/ HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", 405, false);
    char v[64];
    ck_assert_str_eq(bl_header(resp, "Allow", v, sizeof v), "GET, HEAD, POST");
    expect_status(fd, "GET /m/ HTTP/1.1\r\nHost: t\r\n\r\n", 200, false); /* still open */
    close(fd);
}
END_TEST

/* keepalive_requests = 3: the third answer says close and the connection ends. */
START_TEST(keepalive_request_limit)
{
    int fd = bl_connect();
    char v[32];
    for (int i = 0; i < 2; i++) {
        expect_status(fd, "GET /m/ HTTP/1.1\r\nHost: t\r\n\r\n", 200, false);
        ck_assert_ptr_null(bl_header(resp, "Connection", v, sizeof v));
    }
    expect_status(fd, "GET /m/ HTTP/1.1\r\nHost: t\r\n\r\n", 200, true);
    ck_assert_str_eq(bl_header(resp, "Connection", v, sizeof v), "close");
    close(fd);
}
END_TEST

START_TEST(http10_closes)
{
    int fd = bl_connect();
    expect_status(fd, "GET /m/ HTTP/1.0\r\n\r\n", 200, true);
    fd = bl_connect();
    expect_status(fd, "GET /m/ HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 200, true);
    close(fd);
}
END_TEST

/* A head that stops coming is answered 408 at header_timeout; an idle
 * keep-alive connection is closed at idle_timeout, without an answer. */
START_TEST(timeouts)
{
    int fd = bl_connect();
    bl_send(fd, "GET /m/ HTTP/1.1\r\nHo", 20);
    bool eof = false;
    bl_response(fd, resp, sizeof resp, 2000, &eof);
    ck_assert_msg(bl_status(resp) == 408, "%s", resp);
    close(fd);
    fd = bl_connect();
    expect_status(fd, "GET /m/ HTTP/1.1\r\nHost: t\r\n\r\n", 200, false);
    ck_assert(bl_closed(fd, 2000));
    close(fd);
}
END_TEST

START_TEST(body_timeout)
{
    int fd = bl_connect();
    bl_send(fd, "POST /m/ HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc", 54);
    bool eof = false;
    bl_response(fd, resp, sizeof resp, 2000, &eof);
    ck_assert_msg(bl_status(resp) == 408 || (eof && !resp[0]), "%s", resp);
    ck_assert(eof || bl_closed(fd, 1000));
    close(fd);
}
END_TEST

/* The client leaves in the middle of a long streamed answer. */
START_TEST(client_gone_mid_stream)
{
    int fd = bl_connect();
    const char *req = "GET /m/?stream=1000 HTTP/1.1\r\nHost: t\r\n\r\n";
    bl_send(fd, req, strlen(req));
    bl_pump(5);
    close(fd);
    bl_pump(50);
    fd = bl_connect(); /* the worker goes on */
    expect_status(fd, "GET /m/ HTTP/1.1\r\nHost: t\r\n\r\n", 200, false);
    close(fd);
}
END_TEST

Suite *suite_http(void);
Suite *suite_http(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, up, down);
    tcase_add_test(tc, get_keepalive);
    tcase_add_test(tc, pipelined_in_order);
    tcase_add_test(tc, head_one_byte_at_a_time);
    tcase_add_test(tc, head_has_no_body);
    tcase_add_test(tc, garbage_gets_400_and_close);
    tcase_add_test(tc, limits_each_with_its_status);
    tcase_add_test(tc, chunked_body_reassembled);
    tcase_add_test(tc, chunked_body_over_limit);
    tcase_add_test(tc, routing_and_methods);
    tcase_add_test(tc, keepalive_request_limit);
    tcase_add_test(tc, http10_closes);
    tcase_add_test(tc, timeouts);
    tcase_add_test(tc, body_timeout);
    tcase_add_test(tc, client_gone_mid_stream);
    suite_add_tcase(s, tc);
    return s;
}
