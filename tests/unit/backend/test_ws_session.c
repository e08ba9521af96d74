/* SPDX-License-Identifier: BSD-2-Clause */
/* A WebSocket session on a backend connection (backend/ws_session.c, the
 * read side and close handshake; backend/ws_send.c, the write side), with
 * the echo module in an in-process worker (beloop.h): the 101, messages in
 * one frame or fragmented with a ping between, each protocol error with
 * its close code, the close handshake, max_message_size, server-side
 * fragmentation, a message larger than the socket buffers, the greeting,
 * and permessage-deflate both ways. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "tests/unit/backend/beloop.h"

#define MODS                                                                                       \
    "  modules = ( { module = \"echo\"; path = \"/ws\"; max_message_size = 1000; },\n"             \
    "              { module = \"echo\"; path = \"/big\"; fragment_size = 4096; },\n"               \
    "              { module = \"echo\"; path = \"/hi\"; greeting = \"welcome\"; },\n"              \
    "              { module = \"echo\"; path = \"/z\"; deflate = true; deflate_threshold = 0; } "  \
    ");"

static char resp[8192];

static void up(void)
{
    bl_start(MODS, false);
}

static void down(void)
{
    bl_stop();
}

/* Expects a close frame with code, then the end of the connection. */
static void expect_close(int fd, unsigned code)
{
    unsigned b0;
    unsigned char p[128];
    size_t n = bl_ws_read(fd, &b0, p, sizeof p);
    ck_assert_uint_eq(b0, 0x88);
    ck_assert_uint_ge(n, 2);
    ck_assert_uint_eq(((unsigned)p[0] << 8) | p[1], code);
    bl_ws_send(fd, 0x88, p, 2, true); /* our reply to the close */
    ck_assert(bl_closed(fd, 3000));
}

START_TEST(echo_text_and_binary)
{
    int fd = bl_ws_open("/ws", "", resp, sizeof resp);
    bl_ws_send(fd, 0x81, "hello", 5, true);
    unsigned b0;
    unsigned char p[2048];
    ck_assert_uint_eq(bl_ws_read(fd, &b0, p, sizeof p), 5);
    ck_assert_uint_eq(b0, 0x81);
    ck_assert_mem_eq(p, "hello", 5);
    unsigned char bin[300];
    for (size_t i = 0; i < sizeof bin; i++)
        bin[i] = (unsigned char)i;
    bl_ws_send(fd, 0x82, bin, sizeof bin, true); /* 16-bit length */
    ck_assert_uint_eq(bl_ws_read(fd, &b0, p, sizeof p), sizeof bin);
    ck_assert_uint_eq(b0, 0x82);
    ck_assert_mem_eq(p, bin, sizeof bin);
    bl_ws_send(fd, 0x81, "", 0, true);
    ck_assert_uint_eq(bl_ws_read(fd, &b0, p, sizeof p), 0);
    close(fd);
}
END_TEST

/* Fragments with a ping between them: the pong comes at once, the message
 * once whole. */
START_TEST(fragments_and_interleaved_ping)
{
    int fd = bl_ws_open("/ws", "", resp, sizeof resp);
    bl_ws_send(fd, 0x01, "Hel", 3, true);
    bl_ws_send(fd, 0x89, "p1", 2, true);
    unsigned b0;
    unsigned char p[64];
    ck_assert_uint_eq(bl_ws_read(fd, &b0, p, sizeof p), 2);
    ck_assert_uint_eq(b0, 0x8a);
    ck_assert_mem_eq(p, "p1", 2);
    bl_ws_send(fd, 0x00, "l", 1, true);
    bl_ws_send(fd, 0x80, "o", 1, true);
    ck_assert_uint_eq(bl_ws_read(fd, &b0, p, sizeof p), 5);
    ck_assert_uint_eq(b0, 0x81);
    ck_assert_mem_eq(p, "Hello", 5);
    close(fd);
}
END_TEST

START_TEST(close_handshake)
{
    int fd = bl_ws_open("/ws", "", resp, sizeof resp);
    unsigned char c[] = {0x03, 0xe8, 'b', 'y', 'e'};
    bl_ws_send(fd, 0x88, c, sizeof c, true);
    unsigned b0;
    unsigned char p[64];
    size_t n = bl_ws_read(fd, &b0, p, sizeof p);
    ck_assert_uint_eq(b0, 0x88);
    ck_assert_uint_ge(n, 2);
    ck_assert_uint_eq(((unsigned)p[0] << 8) | p[1], 1000);
    ck_assert(bl_closed(fd, 3000));
    close(fd);
}
END_TEST

/* Each violation, on a fresh session, and the code it is closed with. */
START_TEST(protocol_errors_and_their_codes)
{
    static const unsigned char bad_utf8[] = {'a', 0xc3, 0x28};
    static const unsigned char bad_code[] = {0x03, 0xed}; /* 1005 may not be sent */
    unsigned char ping126[126] = {0};
    struct {
        unsigned b0;
        const void *p;
        size_t n;
        bool masked;
        unsigned code;
    } cases[] = {
        {0x81, "x", 1, false, 1002},       /* unmasked */
        {0x83, "x", 1, true, 1002},        /* reserved opcode */
        {0xc1, "x", 1, true, 1002},        /* RSV1 without deflate */
        {0x80, "x", 1, true, 1002},        /* continuation with nothing to continue */
        {0x09, "x", 1, true, 1002},        /* fragmented ping */
        {0x89, ping126, 126, true, 1002},  /* control payload over 125 */
        {0x81, bad_utf8, 3, true, 1007},   /* text that is not UTF-8 */
        {0x88, bad_code, 2, true, 1002},   /* a close code not for the wire */
        {0x88, "x", 1, true, 1002},        /* a close payload of one byte */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int fd = bl_ws_open("/ws", "", resp, sizeof resp);
        bl_ws_send(fd, cases[i].b0, cases[i].p, cases[i].n, cases[i].masked);
        expect_close(fd, cases[i].code);
        close(fd);
    }
}
END_TEST

START_TEST(text_split_inside_a_character)
{
    int fd = bl_ws_open("/ws", "", resp, sizeof resp);
    bl_ws_send(fd, 0x01, "\xc3", 1, true); /* the first byte of é */
    bl_ws_send(fd, 0x80, "\xa9", 1, true);
    unsigned b0;
    unsigned char p[8];
    ck_assert_uint_eq(bl_ws_read(fd, &b0, p, sizeof p), 2);
    ck_assert_mem_eq(p, "\xc3\xa9", 2);
    /* but a message that ends inside one is refused */
    bl_ws_send(fd, 0x81, "\xe2\x82", 2, true);
    expect_close(fd, 1007);
    close(fd);
}
END_TEST

/* max_message_size = 1000: 1000 passes, 1001 (even in fragments) closes 1009. */
START_TEST(message_size_limit)
{
    static char m[1001];
    memset(m, 'a', sizeof m);
    int fd = bl_ws_open("/ws", "", resp, sizeof resp);
    bl_ws_send(fd, 0x81, m, 1000, true);
    unsigned b0;
    static unsigned char p[2048];
    ck_assert_uint_eq(bl_ws_read(fd, &b0, p, sizeof p), 1000);
    bl_ws_send(fd, 0x01, m, 600, true);
    bl_ws_send(fd, 0x80, m, 401, true);
    expect_close(fd, 1009);
    close(fd);
}
END_TEST

/* 1 MiB through /big (fragment_size 4096): more than the socket buffers
 * hold, sent while we are not reading, then read back whole, in order, in
 * fragments of at most 4096. */
START_TEST(big_message_fragmented_and_backlogged)
{
    const size_t total = 1u << 20;
    unsigned char *m = malloc(total), *back = malloc(total);
    for (size_t i = 0; i < total; i++)
        m[i] = (unsigned char)(i * 7 + (i >> 12));
    int fd = bl_ws_open("/big", "", resp, sizeof resp);
    bl_ws_send(fd, 0x82, m, total, true);
    bl_pump(50);
    size_t got = 0;
    unsigned b0;
    bool first = true;
    do {
        size_t n = bl_ws_read(fd, &b0, back + got, total - got);
        ck_assert_uint_le(n, 4096);
        ck_assert_uint_eq(b0 & 0x0f, first ? 0x2 : 0x0);
        first = false;
        got += n;
    } while (!(b0 & 0x80));
    ck_assert_uint_eq(got, total);
    ck_assert(memcmp(m, back, total) == 0);
    bl_ws_send(fd, 0x81, "after", 5, true); /* the session goes on */
    unsigned char p[8];
    ck_assert_uint_eq(bl_ws_read(fd, &b0, p, sizeof p), 5);
    free(m);
    free(back);
    close(fd);
}
END_TEST

START_TEST(greeting_on_open)
{
    int fd = bl_ws_open("/hi", "", resp, sizeof resp);
    unsigned b0;
    unsigned char p[16];
    ck_assert_uint_eq(bl_ws_read(fd, &b0, p, sizeof p), 7);
    ck_assert_uint_eq(b0, 0x81);
    ck_assert_mem_eq(p, "welcome", 7);
    close(fd);
}
END_TEST

/* Frames right behind the handshake, in the same write, are not lost. */
START_TEST(frame_in_the_handshake_packet)
{
    int fd = bl_connect();
    const char *req = "GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n"
                      "\x81\x82\x00\x00\x00\x00hi"; /* masked with a zero key */
    bl_send(fd, req, strlen(req) + 6);
    bl_response(fd, resp, sizeof resp, 3000, NULL);
    ck_assert_int_eq(bl_status(resp), 101);
    unsigned b0;
    unsigned char p[8];
    ck_assert_uint_eq(bl_ws_read(fd, &b0, p, sizeof p), 2);
    ck_assert_mem_eq(p, "hi", 2);
    close(fd);
}
END_TEST

START_TEST(bad_handshakes)
{
    int fd = bl_connect();
    bl_get(fd, "/ws", resp, sizeof resp); /* not an upgrade: the module's 400 */
    ck_assert_int_eq(bl_status(resp), 400);
    const char *v12 = "GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Version: 12\r\n\r\n";
    close(fd);
    fd = bl_connect(); /* each refused handshake may end its connection */
    bl_send(fd, v12, strlen(v12));
    bl_response(fd, resp, sizeof resp, 3000, NULL);
    ck_assert_int_eq(bl_status(resp), 426);
    char v[16];
    ck_assert_str_eq(bl_header(resp, "Sec-WebSocket-Version", v, sizeof v), "13");
    const char *nokey =
        "GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n";
    close(fd);
    fd = bl_connect();
    bl_send(fd, nokey, strlen(nokey));
    bl_response(fd, resp, sizeof resp, 3000, NULL);
    ck_assert_int_eq(bl_status(resp), 400);
    close(fd);
}
END_TEST

/* Raw DEFLATE (RFC 7692: the stream's trailing 00 00 ff ff left off). */
static size_t deflate_raw(const void *in, size_t n, unsigned char *out, size_t cap)
{
    z_stream z = {0};
    ck_assert_int_eq(deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (unsigned char *)in;
    z.avail_in = (unsigned)n;
    z.next_out = out;
    z.avail_out = (unsigned)cap;
    ck_assert_int_eq(deflate(&z, Z_SYNC_FLUSH), Z_OK);
    size_t len = cap - z.avail_out;
    deflateEnd(&z);
    ck_assert_uint_ge(len, 4);
    return len - 4;
}

static size_t inflate_raw(const unsigned char *in, size_t n, unsigned char *out, size_t cap)
{
    unsigned char *buf = malloc(n + 4);
    memcpy(buf, in, n);
    memcpy(buf + n, "\x00\x00\xff\xff", 4);
    z_stream z = {0};
    ck_assert_int_eq(inflateInit2(&z, -15), Z_OK);
    z.next_in = buf;
    z.avail_in = (unsigned)(n + 4);
    z.next_out = out;
    z.avail_out = (unsigned)cap;
    int rc = inflate(&z, Z_SYNC_FLUSH);
    ck_assert(rc == Z_OK || rc == Z_STREAM_END);
    size_t len = cap - z.avail_out;
    inflateEnd(&z);
    free(buf);
    return len;
}

START_TEST(permessage_deflate_both_ways)
{
    int fd = bl_ws_open("/z",
                        "Sec-WebSocket-Extensions: permessage-deflate; "
                        "client_no_context_takeover; server_no_context_takeover\r\n",
                        resp, sizeof resp);
    char v[256];
    ck_assert_ptr_nonnull(bl_header(resp, "Sec-WebSocket-Extensions", v, sizeof v));
    ck_assert_msg(strncmp(v, "permessage-deflate", 18) == 0, "%s", v);
    static char text[4000];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = "compress me please "[i % 19];
    static unsigned char z[8192], p[8192], plain[8192];
    size_t zn = deflate_raw(text, sizeof text, z, sizeof z);
    ck_assert_uint_lt(zn, sizeof text / 4);
    bl_ws_send(fd, 0xc1, z, zn, true); /* RSV1: compressed */
    unsigned b0;
    size_t n = bl_ws_read(fd, &b0, p, sizeof p);
    ck_assert_uint_eq(b0, 0xc1); /* compressed back */
    ck_assert_uint_eq(inflate_raw(p, n, plain, sizeof plain), sizeof text);
    ck_assert(memcmp(plain, text, sizeof text) == 0);
    /* an uncompressed message is fine too; a compressed control frame is not */
    bl_ws_send(fd, 0x81, "plain", 5, true);
    n = bl_ws_read(fd, &b0, p, sizeof p);
    ck_assert_uint_eq(inflate_raw(p, n, plain, sizeof plain), 5);
    bl_ws_send(fd, 0xc9, "x", 1, true);
    expect_close(fd, 1002);
    close(fd);
}
END_TEST

START_TEST(corrupt_deflate_closes)
{
    int fd = bl_ws_open("/z", "Sec-WebSocket-Extensions: permessage-deflate\r\n", resp,
                        sizeof resp);
    static const unsigned char junk[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    bl_ws_send(fd, 0xc1, junk, sizeof junk, true);
    unsigned b0;
    unsigned char p[128];
    size_t n = bl_ws_read(fd, &b0, p, sizeof p);
    ck_assert_uint_eq(b0, 0x88);
    ck_assert_uint_ge(n, 2);
    unsigned code = ((unsigned)p[0] << 8) | p[1];
    ck_assert_msg(code == 1007 || code == 1002, "code %u", code);
    close(fd);
}
END_TEST

Suite *suite_ws_session(void);
Suite *suite_ws_session(void)
{
    Suite *s = suite_create("ws_session");
    TCase *tc = tcase_create("echo");
    tcase_add_checked_fixture(tc, up, down);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, echo_text_and_binary);
    tcase_add_test(tc, fragments_and_interleaved_ping);
    tcase_add_test(tc, close_handshake);
    tcase_add_test(tc, protocol_errors_and_their_codes);
    tcase_add_test(tc, text_split_inside_a_character);
    tcase_add_test(tc, message_size_limit);
    tcase_add_test(tc, big_message_fragmented_and_backlogged);
    tcase_add_test(tc, greeting_on_open);
    tcase_add_test(tc, frame_in_the_handshake_packet);
    tcase_add_test(tc, bad_handshakes);
    tcase_add_test(tc, permessage_deflate_both_ways);
    tcase_add_test(tc, corrupt_deflate_closes);
    suite_add_tcase(s, tc);
    return s;
}
