/* SPDX-License-Identifier: BSD-2-Clause */
/* The static module (backend/modules/static.c) through the module API in an
 * in-process worker (beloop.h), on a tree made per test: index, types,
 * validators and 304, ranges and 416, the redirect of a directory without
 * its slash, dotfiles, symlinks that lead out of root, files that are not
 * regular, and the listing with its names escaped. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/backend/beloop.h"
#include "tests/unit/testutil.h"

#define MODS                                                                                       \
    "  modules = ( { module = \"static\"; path = \"/s/\"; root = \"@DIR@/www\"; },\n"              \
    "              { module = \"static\"; path = \"/l/\"; root = \"@DIR@/www\"; listing = true;"   \
    " cache_control = \"max-age=60\"; } );"

static char resp[65536];
static int fd;

static void file(const char *name, const char *text)
{
    char *dir;
    ck_assert_int_ge(asprintf(&dir, "%s/www", bl_dir()), 0);
    free(tu_write_file(dir, name, text));
    free(dir);
}

static char *www(const char *name)
{
    char *p;
    ck_assert_int_ge(asprintf(&p, "%s/www/%s", bl_dir(), name), 0);
    return p;
}

static void up(void)
{
    bl_start(MODS, false);
    char *p = www("");
    ck_assert_int_eq(mkdir(p, 0755), 0);
    free(p);
    p = www("sub");
    ck_assert_int_eq(mkdir(p, 0755), 0);
    free(p);
    p = www(".git");
    ck_assert_int_eq(mkdir(p, 0755), 0);
    free(p);
    file("index.html", "<h1>home</h1>\n");
    file("style.css", "body{}\n");
    file("data.unknownext", "0123456789");
    file("sub/a<b>&\"c.txt", "x");
    file(".env", "SECRET=1\n");
    file(".git/config", "[core]\n");
    char *out = www("out"), *in = www("in");
    ck_assert_int_eq(symlink("/etc/hostname", out), 0);
    ck_assert_int_eq(symlink("index.html", in), 0);
    free(out);
    free(in);
    p = www("fifo");
    ck_assert_int_eq(mkfifo(p, 0644), 0);
    free(p);
    fd = bl_connect();
}

static void down(void)
{
    close(fd);
    bl_stop();
}

static int get(const char *target, const char *extra)
{
    char req[1024];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\n%s\r\n", target, extra);
    bl_send(fd, req, (size_t)n);
    bool eof = false;
    bl_response(fd, resp, sizeof resp, 3000, &eof);
    int st = bl_status(resp);
    if (eof) { /* an error answer may end the connection: go on with a new one */
        close(fd);
        fd = bl_connect();
    }
    return st;
}

START_TEST(index_and_types)
{
    char v[128];
    ck_assert_int_eq(get("/s/", ""), 200);
    ck_assert_str_eq(bl_body(resp), "<h1>home</h1>\n");
    ck_assert_str_eq(bl_header(resp, "Content-Type", v, sizeof v), "text/html; charset=utf-8");
    ck_assert_ptr_nonnull(bl_header(resp, "ETag", v, sizeof v));
    ck_assert_ptr_nonnull(bl_header(resp, "Last-Modified", v, sizeof v));
    ck_assert_int_eq(get("/s/style.css", ""), 200);
    ck_assert_str_eq(bl_header(resp, "Content-Type", v, sizeof v), "text/css; charset=utf-8");
    ck_assert_int_eq(get("/s/data.unknownext", ""), 200);
    ck_assert_str_eq(bl_header(resp, "Content-Type", v, sizeof v), "application/octet-stream");
    ck_assert_int_eq(get("/s/nothing-here", ""), 404);
    ck_assert_int_eq(get("/l/style.css", ""), 200);
    ck_assert_str_eq(bl_header(resp, "Cache-Control", v, sizeof v), "max-age=60");
}
END_TEST

START_TEST(validators_give_304)
{
    char etag[128], lm[128], h[300];
    ck_assert_int_eq(get("/s/style.css", ""), 200);
    bl_header(resp, "ETag", etag, sizeof etag);
    bl_header(resp, "Last-Modified", lm, sizeof lm);
    snprintf(h, sizeof h, "If-None-Match: %s\r\n", etag);
    ck_assert_int_eq(get("/s/style.css", h), 304);
    ck_assert_str_eq(bl_body(resp), "");
    snprintf(h, sizeof h, "If-Modified-Since: %s\r\n", lm);
    ck_assert_int_eq(get("/s/style.css", h), 304);
    ck_assert_int_eq(get("/s/style.css", "If-None-Match: \"other\"\r\n"), 200);
    ck_assert_int_eq(get("/s/style.css", "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n"),
                     200);
}
END_TEST

START_TEST(ranges)
{
    char v[128];
    ck_assert_int_eq(get("/s/data.unknownext", "Range: bytes=2-4\r\n"), 206);
    ck_assert_str_eq(bl_body(resp), "234");
    ck_assert_str_eq(bl_header(resp, "Content-Range", v, sizeof v), "bytes 2-4/10");
    ck_assert_int_eq(get("/s/data.unknownext", "Range: bytes=-3\r\n"), 206);
    ck_assert_str_eq(bl_body(resp), "789");
    ck_assert_int_eq(get("/s/data.unknownext", "Range: bytes=8-100\r\n"), 206);
    ck_assert_str_eq(bl_body(resp), "89"); /* clipped to the file */
    ck_assert_int_eq(get("/s/data.unknownext", "Range: bytes=10-20\r\n"), 416);
    ck_assert_str_eq(bl_header(resp, "Content-Range", v, sizeof v), "bytes */10");
    ck_assert_int_eq(get("/s/data.unknownext", "Range: bytes=0-1,5-6\r\n"), 206);
    ck_assert_msg(strncmp(bl_header(resp, "Content-Type", v, sizeof v),
                          "multipart/byteranges; boundary=", 31) == 0,
                  "%s", v);
    ck_assert_int_eq(get("/s/data.unknownext", "Range: junk\r\n"), 200); /* ignored */
}
END_TEST

START_TEST(directory_without_slash_redirects)
{
    char v[128];
    ck_assert_int_eq(get("/s/sub?x=1", ""), 301);
    ck_assert_str_eq(bl_header(resp, "Location", v, sizeof v), "/s/sub/?x=1");
    ck_assert_int_eq(get("/s/sub/", ""), 403); /* no index, no listing */
}
END_TEST

START_TEST(nothing_outside_root_or_hidden)
{
    ck_assert_int_eq(get("/s/.env", ""), 404);
    ck_assert_int_eq(get("/s/.git/config", ""), 404);
    ck_assert_int_eq(get("/s/sub/../.env", ""), 404);  /* dot segments go first */
    ck_assert_int_eq(get("/s/%2e%2e/%2e%2e/etc/hostname", ""), 400); /* above /: refused */
    ck_assert_int_eq(get("/s/sub%2F..%2F.env", ""), 404); /* an encoded slash */
    ck_assert_int_eq(get("/s/out", ""), 403);           /* a symlink leading out */
    ck_assert_int_eq(get("/s/in", ""), 200);            /* one that stays inside */
    ck_assert_str_eq(bl_body(resp), "<h1>home</h1>\n");
    ck_assert_int_eq(get("/s/fifo", ""), 403);          /* not a regular file */
}
END_TEST

START_TEST(listing_escapes_names)
{
    ck_assert_int_eq(get("/l/sub/", ""), 200);
    const char *b = bl_body(resp);
    ck_assert_msg(strstr(b, "<a href=\"a%3Cb%3E%26%22c.txt\">a&lt;b&gt;&amp;&quot;c.txt</a>"), "%s",
                  b);
    ck_assert_int_eq(get("/l/", ""), 200); /* the index wins over the listing */
    ck_assert_str_eq(bl_body(resp), "<h1>home</h1>\n");
}
END_TEST

START_TEST(listing_hides_dotfiles_and_sorts)
{
    char *idx = www("index.html");
    ck_assert_int_eq(unlink(idx), 0);
    free(idx);
    ck_assert_int_eq(get("/l/", ""), 200);
    const char *b = bl_body(resp);
    ck_assert_ptr_null(strstr(b, ".env"));
    ck_assert_ptr_null(strstr(b, ".git"));
    const char *d = strstr(b, ">data.unknownext<"), *s = strstr(b, ">style.css<"),
               *sub = strstr(b, ">sub/<");
    ck_assert(d && s && sub && d < s && s < sub);
}
END_TEST

Suite *suite_static(void);
Suite *suite_static(void)
{
    Suite *s = suite_create("static");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, up, down);
    tcase_add_test(tc, index_and_types);
    tcase_add_test(tc, validators_give_304);
    tcase_add_test(tc, ranges);
    tcase_add_test(tc, directory_without_slash_redirects);
    tcase_add_test(tc, nothing_outside_root_or_hidden);
    tcase_add_test(tc, listing_escapes_names);
    tcase_add_test(tc, listing_hides_dotfiles_and_sorts);
    suite_add_tcase(s, tc);
    return s;
}
