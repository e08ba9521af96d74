/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

#include "common/net.h"
#include "common/proxy.h"

static char err[256];

static struct bx_proxy_info sample(const char *src, int sport, const char *dst, int dport)
{
    struct bx_proxy_info in;
    memset(&in, 0, sizeof in);
    ck_assert_int_eq(bx_sockaddr_parse(src, sport, &in.src, &in.srclen), 0);
    ck_assert_int_eq(bx_sockaddr_parse(dst, dport, &in.dst, &in.dstlen), 0);
    strcpy(in.authority, "alt.localhost");
    strcpy(in.alpn, "http/1.1");
    memcpy(in.unique_id, "\x01\x02\x03\xff", 4);
    in.unique_id_len = 4;
    in.ssl = true;
    strcpy(in.ssl_version, "TLSv1.3");
    strcpy(in.ssl_cipher, "TLS_AES_128_GCM_SHA256");
    return in;
}

static void check_addr(const struct sockaddr_storage *ss, socklen_t len, const char *want)
{
    char s[BX_ADDRSTRLEN];
    ck_assert_str_eq(bx_sockaddr_str((const struct sockaddr *)ss, len, true, s, sizeof s), want);
}

START_TEST(v2_round_trip_ipv4_ipv6)
{
    const char *cases[][3] = {{"192.0.2.10", "127.0.0.1", "192.0.2.10:51000"},
                              {"2001:db8::7", "::1", "[2001:db8::7]:51000"}};
    for (int c = 0; c < 2; c++) {
        struct bx_proxy_info in = sample(cases[c][0], 51000, cases[c][1], 8443), out;
        unsigned char buf[BX_PROXY_V2_MAX_OUT];
        size_t n = bx_proxy_encode_v2(buf, sizeof buf, &in);
        ck_assert_uint_gt(n, 16);
        /* Every prefix is "need more": the parser is incremental. */
        for (size_t k = 0; k < n; k++)
            ck_assert_int_eq(bx_proxy_parse(buf, k, &out, err, sizeof err), BX_PROXY_NEED_MORE);
        ck_assert_int_eq(bx_proxy_parse(buf, n, &out, err, sizeof err), (ssize_t)n);
        ck_assert_int_eq(out.version, 2);
        ck_assert(!out.local);
        check_addr(&out.src, out.srclen, cases[c][2]);
        ck_assert_str_eq(out.authority, "alt.localhost");
        ck_assert_str_eq(out.alpn, "http/1.1");
        ck_assert_uint_eq(out.unique_id_len, 4);
        ck_assert_mem_eq(out.unique_id, "\x01\x02\x03\xff", 4);
        ck_assert(out.ssl);
        ck_assert_str_eq(out.ssl_version, "TLSv1.3");
        ck_assert_str_eq(out.ssl_cipher, "TLS_AES_128_GCM_SHA256");
    }
}
END_TEST

START_TEST(v2_unix_and_local)
{
    struct bx_proxy_info in, out;
    memset(&in, 0, sizeof in);
    struct sockaddr_un *s = (struct sockaddr_un *)&in.src, *d = (struct sockaddr_un *)&in.dst;
    s->sun_family = d->sun_family = AF_UNIX;
    strcpy(s->sun_path, "/run/client.sock");
    strcpy(d->sun_path, "/run/backend.sock");
    unsigned char buf[BX_PROXY_V2_MAX_OUT];
    size_t n = bx_proxy_encode_v2(buf, sizeof buf, &in);
    ck_assert_uint_eq(n, 16 + 216);
    ck_assert_int_eq(bx_proxy_parse(buf, n, &out, err, sizeof err), (ssize_t)n);
    ck_assert_int_eq(out.src.ss_family, AF_UNIX);
    ck_assert_str_eq(((struct sockaddr_un *)&out.dst)->sun_path, "/run/backend.sock");

    /* Bytes after the path's NUL are padding, never part of the address. */
    buf[16 + 20] = 'x';
    ck_assert_int_eq(bx_proxy_parse(buf, n, &out, err, sizeof err), (ssize_t)n);
    struct sockaddr_un clean = {.sun_family = AF_UNIX, .sun_path = "/run/client.sock"};
    ck_assert_mem_eq(&out.src, &clean, sizeof clean);

    memset(&in, 0, sizeof in);
    in.local = true;
    n = bx_proxy_encode_v2(buf, sizeof buf, &in);
    ck_assert_uint_eq(n, 16);
    ck_assert_int_eq(bx_proxy_parse(buf, n, &out, err, sizeof err), 16);
    ck_assert(out.local);
    ck_assert_int_eq(out.src.ss_family, AF_UNSPEC);
}
END_TEST

START_TEST(v2_malformed)
{
    struct bx_proxy_info in = sample("192.0.2.1", 1, "192.0.2.2", 2), out;
    unsigned char buf[BX_PROXY_V2_MAX_OUT], bad[BX_PROXY_V2_MAX_OUT];
    size_t n = bx_proxy_encode_v2(buf, sizeof buf, &in);

    memcpy(bad, buf, n);
    bad[12] = 0x31; /* version 3 */
    ck_assert_int_eq(bx_proxy_parse(bad, n, &out, err, sizeof err), BX_PROXY_INVALID);
    ck_assert_str_eq(err, "PROXY v2 header with version 3");

    memcpy(bad, buf, n);
    bad[12] = 0x2f; /* command 15 */
    ck_assert_int_eq(bx_proxy_parse(bad, n, &out, err, sizeof err), BX_PROXY_INVALID);

    memcpy(bad, buf, n);
    bad[28 + 1] = 0xff; /* first TLV claims 65k bytes */
    ck_assert_int_eq(bx_proxy_parse(bad, n, &out, err, sizeof err), BX_PROXY_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "overruns the header"));

    memcpy(bad, buf, n);
    bad[14] = 0;
    bad[15] = 4; /* IPv4 needs 12 address bytes */
    ck_assert_int_eq(bx_proxy_parse(bad, 20, &out, err, sizeof err), BX_PROXY_INVALID);
    ck_assert_str_eq(err, "PROXY v2 IPv4 header too short (4 bytes)");

    memcpy(bad, buf, 16);
    bad[14] = 0x40; /* 16 KiB body: more than we accept */
    bad[15] = 0;
    ck_assert_int_eq(bx_proxy_parse(bad, 16, &out, err, sizeof err), BX_PROXY_INVALID);

    memcpy(bad, buf, n);
    bad[13] = 0x12; /* IPv4 over datagram */
    ck_assert_int_eq(bx_proxy_parse(bad, n, &out, err, sizeof err), BX_PROXY_INVALID);
}
END_TEST

/* Independent table-free CRC-32C for building the test vector. */
static uint32_t ref_crc32c(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    }
    return c ^ 0xffffffffu;
}

START_TEST(v2_crc32c)
{
    struct bx_proxy_info out;
    unsigned char h[16 + 12 + 7] = {0x0D,
                                    0x0A,
                                    0x0D,
                                    0x0A,
                                    0x00,
                                    0x0D,
                                    0x0A,
                                    0x51,
                                    0x55,
                                    0x49,
                                    0x54,
                                    0x0A,
                                    0x21,
                                    0x11,
                                    0x00,
                                    19,
                                    10,
                                    0,
                                    0,
                                    1,
                                    10,
                                    0,
                                    0,
                                    2,
                                    0x30,
                                    0x39,
                                    0x01,
                                    0xbb,
                                    BX_PP2_TYPE_CRC32C,
                                    0,
                                    4};
    uint32_t c = ref_crc32c(h, sizeof h);
    h[31] = (unsigned char)(c >> 24);
    h[32] = (unsigned char)(c >> 16);
    h[33] = (unsigned char)(c >> 8);
    h[34] = (unsigned char)c;
    ck_assert_int_eq(bx_proxy_parse(h, sizeof h, &out, err, sizeof err), (ssize_t)sizeof h);
    check_addr(&out.src, out.srclen, "10.0.0.1:12345");
    h[19] ^= 1;
    ck_assert_int_eq(bx_proxy_parse(h, sizeof h, &out, err, sizeof err), BX_PROXY_INVALID);
    ck_assert_str_eq(err, "PROXY v2 CRC32C mismatch");
}
END_TEST

START_TEST(v1_forms)
{
    struct bx_proxy_info out;
    const char *v4 = "PROXY TCP4 192.0.2.7 127.0.0.1 40000 80\r\nGET /";
    size_t hl = strlen("PROXY TCP4 192.0.2.7 127.0.0.1 40000 80\r\n");
    for (size_t k = 0; k < hl; k++)
        ck_assert_int_eq(bx_proxy_parse(v4, k, &out, err, sizeof err), BX_PROXY_NEED_MORE);
    ck_assert_int_eq(bx_proxy_parse(v4, strlen(v4), &out, err, sizeof err), (ssize_t)hl);
    ck_assert_int_eq(out.version, 1);
    check_addr(&out.src, out.srclen, "192.0.2.7:40000");
    const char *v6 = "PROXY TCP6 2001:db8::1 ::1 1 443\r\n";
    ck_assert_int_eq(bx_proxy_parse(v6, strlen(v6), &out, err, sizeof err), (ssize_t)strlen(v6));
    check_addr(&out.src, out.srclen, "[2001:db8::1]:1");
    const char *unk = "PROXY UNKNOWN\r\n";
    ck_assert_int_eq(bx_proxy_parse(unk, strlen(unk), &out, err, sizeof err), 15);
    ck_assert(out.local);
    const char *bad[] = {"PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n",
                         "PROXY TCP4 ::1 ::1 1 2\r\n",
                         "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
                         "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
                         "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
                         "PROXY TCP4 1.2.3.4\r\r"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(bx_proxy_parse(bad[i], strlen(bad[i]), &out, err, sizeof err) ==
                          BX_PROXY_INVALID,
                      "accepted %s", bad[i]);
    char longline[200];
    memset(longline, 'x', sizeof longline);
    memcpy(longline, "PROXY ", 6);
    ck_assert_int_eq(bx_proxy_parse(longline, sizeof longline, &out, err, sizeof err),
                     BX_PROXY_INVALID);
}
END_TEST

START_TEST(no_header)
{
    struct bx_proxy_info out;
    ck_assert_int_eq(bx_proxy_parse("GET / HTTP/1.1\r\n", 16, &out, err, sizeof err),
                     BX_PROXY_NONE);
    /* One byte that cannot start either signature is enough to decide. */
    ck_assert_int_eq(bx_proxy_parse("G", 1, &out, err, sizeof err), BX_PROXY_NONE);
    ck_assert_int_eq(bx_proxy_parse("\x16\x03\x01", 3, &out, err, sizeof err), BX_PROXY_NONE);
    ck_assert_int_eq(bx_proxy_parse("PRO", 3, &out, err, sizeof err), BX_PROXY_NEED_MORE);
    ck_assert_int_eq(bx_proxy_parse("PRI * HTTP/2.0", 14, &out, err, sizeof err), BX_PROXY_NONE);
}
END_TEST

Suite *suite_proxy(void);
Suite *suite_proxy(void)
{
    Suite *s = suite_create("proxy");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, v2_round_trip_ipv4_ipv6);
    tcase_add_test(tc, v2_unix_and_local);
    tcase_add_test(tc, v2_malformed);
    tcase_add_test(tc, v2_crc32c);
    tcase_add_test(tc, v1_forms);
    tcase_add_test(tc, no_header);
    suite_add_tcase(s, tc);
    return s;
}
