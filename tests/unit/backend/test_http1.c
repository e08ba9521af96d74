/* SPDX-License-Identifier: BSD-2-Clause */
/* The HTTP/1.1 parser: a corpus of requests fed whole and at every split
 * point must give the same verdict; malformed and oversized requests get
 * their status; chunked bodies decode the same however they are cut. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "backend/http1.h"
#include "bactrian/module.h"

static const struct be_http_limits lim = {.max_request_line = 64,
                                          .max_header_size = 256,
                                          .max_headers = 8,
                                          .max_body = 100};

struct tcase_req {
    const char *raw;
    int status;               /* 0 = valid */
    const char *method, *path, *query, *host;
    int64_t content_length;
    bool chunked, keep_alive;
};

static const struct tcase_req corpus[] = {
    {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0, "GET", "/", NULL, "a", -1, false, true},
    {"\r\nGET /x?y=1 HTTP/1.1\r\nHost: Example.COM:8080\r\nUser-Agent: t\r\n\r\n", 0, "GET", "/x",
     "y=1", "example.com", -1, false, true},
    {"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nConnection: close\r\n\r\n", 0, "POST",
     "/p", NULL, "h", 5, false, false},
    {"PUT /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", 0, "PUT", "/u", NULL, "h",
     -1, true, true},
    {"GET /a/./b/../c/%41 HTTP/1.0\r\n\r\n", 0, "GET", "/a/c/A", NULL, "", -1, false, false},
    {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 0, "GET", "/", NULL, "", -1, false, true},
    {"GET http://Abs.Host/z?q HTTP/1.1\r\nHost: other\r\n\r\n", 0, "GET", "/z", "q", "abs.host", -1,
     false, true},
    {"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", 0, "OPTIONS", "/", NULL, "h", -1, false, true},
    {"BREW /pot HTTP/1.1\r\nHost: h\r\nX-Empty:\r\n\r\n", 0, "BREW", "/pot", NULL, "h", -1, false,
     true},
    {"GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", 0, "GET", "/", NULL, "[::1]", -1, false, true},
    /* smuggling and syntax */
    {.raw = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
     .status = 400},
    {.raw = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
     .status = 400},
    {.raw = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
     .status = 400},
    {.raw = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n", .status = 400},
    {.raw = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n", .status = 400},
    {.raw = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", .status = 501},
    {.raw = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
            "chunked\r\n\r\n",
     .status = 400},
    {.raw = "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", .status = 400},
    {.raw = "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n  folded\r\n\r\n", .status = 400},
    {.raw = "GET / HTTP/1.1\r\nHost: h\r\nX: a\x01"
            "b\r\n\r\n",
     .status = 400},
    {.raw = "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", .status = 400},
    {.raw = "GET / HTTP/1.1\nHost: h\n\n", .status = 400},
    {.raw = "GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n", .status = 400},
    {.raw = "GET / HTTP/1.1\r\nHost : h\r\n\r\n", .status = 400},
    {.raw = "GET / HTTP/1.1\r\n\r\n", .status = 400},
    {.raw = "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", .status = 400},
    {.raw = "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", .status = 400},
    {.raw = "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", .status = 400},
    {.raw = "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", .status = 400},
    {.raw = "GET /\x7f HTTP/1.1\r\nHost: h\r\n\r\n", .status = 400},
    {.raw = "GET / HTTP/2.0\r\nHost: h\r\n\r\n", .status = 505},
    {.raw = "GET / HTTP/1.1x\r\nHost: h\r\n\r\n", .status = 400},
    {.raw = "GET x HTTP/1.1\r\nHost: h\r\n\r\n", .status = 400},
    {.raw = "GET * HTTP/1.1\r\nHost: h\r\n\r\n", .status = 400},
    {.raw = "GET /%2e%2e/etc HTTP/1.1\r\nHost: h\r\n\r\n", .status = 400},
    {.raw = "GET /%00 HTTP/1.1\r\nHost: h\r\n\r\n", .status = 400},
    {.raw = "GET /%zz HTTP/1.1\r\nHost: h\r\n\r\n", .status = 400},
    {.raw = "GET /a%2 HTTP/1.1\r\nHost: h\r\n\r\n", .status = 400},
    {.raw = "GET / HTTP/1.1\r\nHost: h\r\nExpect: teapot\r\n\r\n", .status = 417},
    {.raw = "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", .status = 400},
    /* limits */
    {.raw =
         "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa "
         "HTTP/1.1\r\nHost: h\r\n\r\n",
     .status = 414},
    {.raw = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\nF: 1\r\nG: "
            "1\r\nH: 1\r\n\r\n",
     .status = 431},
    {.raw = "GET / HTTP/1.1\r\nHost: h\r\nX: "
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            "aaaaaaaa"
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            "aaaaaaaa"
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            "aaaaaaaa"
            "\r\n\r\n",
     .status = 431},
    {.raw = "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", .status = 400},
};

/* Feeds raw with the buffer growing to k bytes, then to all of it, the way
 * the connection does. Returns 0 for a valid request (r filled) or the status. */
static int feed(const char *raw, size_t len, size_t k, struct be_http_req *r, char **headcopy)
{
    struct be_http_scan s = BE_HTTP_SCAN_INIT;
    long n = 0;
    if (k > 0 && k < len) {
        n = be_http_scan(&s, raw, k, &lim);
        if (n < 0)
            return (int)-n;
        ck_assert_msg(n == 0, "head complete after %zu of %zu bytes", k, len);
    }
    n = be_http_scan(&s, raw, len, &lim);
    if (n < 0)
        return (int)-n;
    ck_assert_msg(n == (long)len, "scan: %ld of %zu for %s", n, len, raw);
    *headcopy = malloc(len + 1);
    memcpy(*headcopy, raw, len);
    return be_http_parse(r, *headcopy, len, &lim);
}

START_TEST(corpus_every_split)
{
    const struct tcase_req *t = &corpus[_i];
    size_t len = strlen(t->raw);
    for (size_t k = 0; k <= len; k++) {
        struct be_http_req r;
        char *head = NULL;
        be_http_req_init(&r);
        int st = feed(t->raw, len, k, &r, &head);
        ck_assert_msg(st == t->status, "case %d split %zu: status %d, wanted %d", _i, k, st,
                      t->status);
        if (st == 0) {
            ck_assert_str_eq(r.method, t->method);
            ck_assert_str_eq(r.path, t->path);
            if (t->query)
                ck_assert_str_eq(r.query, t->query);
            else
                ck_assert_ptr_null(r.query);
            ck_assert_str_eq(r.host, t->host);
            ck_assert_int_eq(r.content_length, t->content_length);
            ck_assert_int_eq(r.chunked, t->chunked);
            ck_assert_int_eq(r.keep_alive, t->keep_alive);
        }
        be_http_req_free(&r);
        free(head);
    }
}
END_TEST

START_TEST(pipelined_heads)
{
    const char *two = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n";
    struct be_http_scan s = BE_HTTP_SCAN_INIT;
    long n = be_http_scan(&s, two, strlen(two), &lim);
    ck_assert_int_eq(n, 28);
    struct be_http_scan s2 = BE_HTTP_SCAN_INIT;
    ck_assert_int_eq(be_http_scan(&s2, two + n, strlen(two) - (size_t)n, &lim), 28);
}
END_TEST

START_TEST(headers_and_flags)
{
    char raw[] = "GET / HTTP/1.1\r\nHost: h\r\nX-A:  spaced value \t\r\nConnection: Upgrade, "
                 "keep-alive\r\nUpgrade: WebSocket\r\nExpect: 100-continue\r\n\r\n";
    struct be_http_req r;
    be_http_req_init(&r);
    ck_assert_int_eq(be_http_parse(&r, raw, strlen(raw), &lim), 0);
    ck_assert_str_eq(be_http_header(&r, "x-a"), "spaced value");
    ck_assert(r.upgrade_websocket);
    ck_assert(!r.expect_continue); /* no body: nothing to continue */
    ck_assert_uint_eq(r.method_bit, BM_GET);
    be_http_req_free(&r);
}
END_TEST

static const struct {
    const char *in, *out;
    bool slash;
} paths[] = {
    {"/", "/", false},        {"/a/b/", "/a/b/", false}, {"/a/./b", "/a/b", false},
    {"/a/../b", "/b", false}, {"/a/b/..", "/a/", false}, {"/a/.", "/a/", false},
    {"/a%2fb", "/a/b", true}, {"/%41%42", "/AB", false}, {"/a/%2e%2e/b", "/b", false},
    {"/./", "/", false},
};

START_TEST(normalize)
{
    char out[64];
    bool slash;
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        long n = be_http_normalize_path(paths[i].in, strlen(paths[i].in), out, &slash);
        ck_assert_msg(n >= 0, "%s refused", paths[i].in);
        ck_assert_str_eq(out, paths[i].out);
        ck_assert_int_eq(slash, paths[i].slash);
    }
    const char *bad[] = {"/..", "/../a", "/a/../..", "/%2e%2e", "x", "/%0", "/%00"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(be_http_normalize_path(bad[i], strlen(bad[i]), out, &slash) == -1,
                      "%s accepted", bad[i]);
}
END_TEST

static int decode_split(const char *in, size_t k, struct bx_buf *body)
{
    struct be_chunked c = BE_CHUNKED_INIT;
    size_t len = strlen(in), used = 0, off = 0;
    int rc = 0;
    size_t stops[2] = {k, len};
    for (int p = 0; p < 2 && rc == 0; p++) {
        while (off < stops[p] && rc == 0) {
            rc = be_chunked_decode(&c, in + off, stops[p] - off, &used, body, &lim);
            off += used;
            if (used == 0)
                break;
        }
    }
    if (rc == 1)
        ck_assert_uint_eq(off, len);
    return rc;
}

START_TEST(chunked_every_split)
{
    const char *in = "5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n";
    for (size_t k = 0; k <= strlen(in); k++) {
        struct bx_buf body = BX_BUF_INIT;
        ck_assert_int_eq(decode_split(in, k, &body), 1);
        ck_assert_uint_eq(bx_buf_unread(&body), 16);
        ck_assert_mem_eq(bx_buf_rpos(&body), "hello 0123456789", 16);
        bx_buf_free(&body);
    }
}
END_TEST

START_TEST(chunked_errors)
{
    static const struct {
        const char *in;
        int rc;
    } bad[] = {
        {"x\r\n", -400},
        {"5\nhello\r\n0\r\n\r\n", -400},
        {"5\r\nhelloX\r\n", -400},
        {"65\r\n", -413},
        {"fffffffffffffffff\r\n", -413},
        {"0\r\nbad header\r\n\r\n", -400},
        {"0\r\n\r\r", -400},
        {"-1\r\n", -400},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct bx_buf body = BX_BUF_INIT;
        struct be_chunked c = BE_CHUNKED_INIT;
        size_t used;
        int rc = be_chunked_decode(&c, bad[i].in, strlen(bad[i].in), &used, &body, &lim);
        ck_assert_msg(rc == bad[i].rc, "case %zu: %d, wanted %d", i, rc, bad[i].rc);
        bx_buf_free(&body);
    }
}
END_TEST

START_TEST(dates)
{
    char d[30];
    be_http_date(784111777, d);
    ck_assert_str_eq(d, "Sun, 06 Nov 1994 08:49:37 GMT");
    ck_assert_int_eq(be_http_parse_date("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
    ck_assert_int_eq(be_http_parse_date("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
    ck_assert_int_eq(be_http_parse_date("Sun Nov  6 08:49:37 1994"), 784111777);
    ck_assert_int_eq(be_http_parse_date("yesterday"), -1);
}
END_TEST

/* Mutated corpus entries: whatever the bytes, the verdict is the same whole
 * and split, and nothing reads out of bounds (run under ASan). */
START_TEST(mutations_agree_at_every_split)
{
    unsigned seed = 12345;
    size_t ncorpus = sizeof corpus / sizeof corpus[0];
    static const char alphabet[] = "\r\n :\t/%?.aZ0\x00\x7f\xff,;";
    for (int iter = 0; iter < 400; iter++) {
        const char *base = corpus[(size_t)iter % ncorpus].raw;
        size_t len = strlen(base);
        char *m = malloc(len + 1);
        memcpy(m, base, len + 1);
        for (int k = 0; k < 3; k++) {
            seed = seed * 1103515245u + 12345u;
            size_t pos = (seed >> 8) % len;
            seed = seed * 1103515245u + 12345u;
            m[pos] = alphabet[(seed >> 8) % (sizeof alphabet - 1)];
        }
        int whole = -1;
        for (size_t k = 0; k <= len; k++) {
            struct be_http_scan sc = BE_HTTP_SCAN_INIT;
            long n = 0;
            if (k > 0 && k < len)
                n = be_http_scan(&sc, m, k, &lim);
            if (n == 0)
                n = be_http_scan(&sc, m, len, &lim);
            int verdict = n < 0 ? (int)-n : 0;
            if (n > 0) {
                struct be_http_req r;
                be_http_req_init(&r);
                char *head = malloc((size_t)n);
                memcpy(head, m, (size_t)n);
                verdict = 1000 + be_http_parse(&r, head, (size_t)n, &lim);
                free(head);
                be_http_req_free(&r);
            }
            if (k == 0)
                whole = verdict;
            /* an error seen early may differ in kind only if the whole input
             * is an error too (an earlier line can fail before a later one) */
            ck_assert_msg((verdict == 0) == (whole == 0) && (verdict >= 1000) == (whole >= 1000),
                          "iteration %d split %zu: %d vs %d", iter, k, verdict, whole);
        }
        free(m);
    }
}
END_TEST

Suite *suite_http1(void);
Suite *suite_http1(void)
{
    Suite *s = suite_create("http1");
    TCase *tc = tcase_create("parse");
    tcase_add_loop_test(tc, corpus_every_split, 0, (int)(sizeof corpus / sizeof corpus[0]));
    tcase_add_test(tc, pipelined_heads);
    tcase_add_test(tc, headers_and_flags);
    tcase_add_test(tc, normalize);
    tcase_add_test(tc, mutations_agree_at_every_split);
    suite_add_tcase(s, tc);
    tc = tcase_create("chunked");
    tcase_add_test(tc, chunked_every_split);
    tcase_add_test(tc, chunked_errors);
    tcase_add_test(tc, dates);
    suite_add_tcase(s, tc);
    return s;
}
