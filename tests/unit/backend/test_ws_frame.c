/* SPDX-License-Identifier: BSD-2-Clause */
/* Frame parser: every split point, every header rule, the encoder. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/ws_frame.h"

static const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};

/* Appends one masked client frame to buf. */
static size_t put_frame(uint8_t *buf, int fin, int rsv, int op, const void *payload, size_t len)
{
    size_t n = be_ws_frame_hdr_encode(buf, fin, rsv, op, len, mask);
    memcpy(buf + n, payload, len);
    be_ws_mask(buf + n, len, mask, 0);
    return n + len;
}

/* Runs the parser over data cut into pieces at the given split points and
 * writes a log of events: "S<op>/<len>/<fin>" per frame start, payload bytes
 * as they come (hex is overkill: payloads are text), "E" per end, "X<code>"
 * on error. */
static void run(uint8_t *data, size_t len, const size_t *cuts, size_t ncuts, char *log,
                size_t loglen, uint64_t max_frame, uint8_t rsv)
{
    struct be_ws_parser p;
    be_ws_parser_init(&p, 1, rsv, max_frame);
    size_t lp = 0, start = 0;
    log[0] = 0;
    for (size_t c = 0; c <= ncuts; c++) {
        size_t end = c < ncuts ? cuts[c] : len;
        size_t off = start;
        for (;;) {
            struct be_ws_event ev;
            size_t used = be_ws_parse(&p, data + off, end - off, &ev);
            off += used;
            if (ev.type == BE_WS_EV_NONE)
                break;
            if (ev.type == BE_WS_EV_FRAME_START)
                lp += (size_t)snprintf(log + lp, loglen - lp, "S%d/%llu/%d%s%s", ev.hdr->opcode,
                                       (unsigned long long)ev.hdr->len, ev.hdr->fin,
                                       ev.hdr->msg_first ? "f" : "", ev.hdr->msg_last ? "l" : "");
            else if (ev.type == BE_WS_EV_PAYLOAD) {
                ck_assert_uint_lt(lp + ev.len, loglen);
                memcpy(log + lp, ev.data, ev.len);
                lp += ev.len;
                log[lp] = 0;
            } else if (ev.type == BE_WS_EV_FRAME_END)
                lp += (size_t)snprintf(log + lp, loglen - lp, "E");
            else {
                snprintf(log + lp, loglen - lp, "X%d", ev.close_code);
                return;
            }
            ck_assert_uint_lt(lp, loglen); /* the log fit: the next append is bounded */
        }
        ck_assert_uint_eq(off, end);
        start = end;
    }
}

static size_t sample_stream(uint8_t *buf)
{
    size_t n = 0;
    char big[300];
    memset(big, 'b', sizeof(big));
    n += put_frame(buf + n, 0, 0, BE_WS_OP_TEXT, "Hel", 3);
    n += put_frame(buf + n, 1, 0, BE_WS_OP_PING, "pi", 2);
    n += put_frame(buf + n, 0, 0, BE_WS_OP_CONT, "", 0);
    n += put_frame(buf + n, 1, 0, BE_WS_OP_CONT, "lo", 2);
    n += put_frame(buf + n, 1, 0, BE_WS_OP_BINARY, big, sizeof(big));
    n += put_frame(buf + n, 1, 0, BE_WS_OP_CLOSE, "\x03\xe8", 2);
    return n;
}

START_TEST(test_every_split_point)
{
    uint8_t orig[1024], data[1024];
    size_t len = sample_stream(orig);
    static char want[4096], got[4096];
    memcpy(data, orig, len);
    run(data, len, NULL, 0, want, sizeof(want), 0, 0);
    ck_assert_ptr_nonnull(strstr(want, "S1/3/0fHelES9/2/1piES0/0/0ES0/2/1llo"));
    ck_assert_ptr_nonnull(strstr(want, "S2/300/1fl"));
    /* Two pieces, cut at every byte. */
    for (size_t cut = 0; cut <= len; cut++) {
        memcpy(data, orig, len);
        run(data, len, &cut, 1, got, sizeof(got), 0, 0);
        ck_assert_msg(strcmp(got, want) == 0, "split at %zu: %s", cut, got);
    }
    /* One byte at a time, and three pieces at every pair of points (sampled). */
    size_t cuts[1024];
    for (size_t i = 0; i < len; i++)
        cuts[i] = i + 1;
    memcpy(data, orig, len);
    run(data, len, cuts, len - 1, got, sizeof(got), 0, 0);
    ck_assert_str_eq(got, want);
    for (size_t a = 0; a < 40; a++)
        for (size_t b = a; b <= len; b += 7) {
            size_t c2[2] = {a, b};
            memcpy(data, orig, len);
            run(data, len, c2, 2, got, sizeof(got), 0, 0);
            ck_assert_msg(strcmp(got, want) == 0, "split at %zu,%zu", a, b);
        }
}
END_TEST

START_TEST(test_length_encodings)
{
    static uint8_t buf[70000 + 14], copy[70000 + 14];
    static char log[140000];
    size_t sizes[] = {0, 1, 125, 126, 127, 65535, 65536, 70000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char *pl = malloc(sizes[i] + 1);
        memset(pl, 'x', sizes[i]);
        size_t n = put_frame(buf, 1, 0, BE_WS_OP_BINARY, pl, sizes[i]);
        size_t hl = n - sizes[i];
        ck_assert_uint_eq(hl, sizes[i] < 126 ? 6 : sizes[i] < 65536 ? 8 : 14);
        for (size_t cut = 0; cut <= hl + 1 && cut <= n; cut++) {
            memcpy(copy, buf, n);
            run(copy, n, &cut, 1, log, sizeof(log), 0, 0);
            char head[64];
            snprintf(head, sizeof(head), "S2/%zu/1fl", sizes[i]);
            ck_assert_int_eq(strncmp(log, head, strlen(head)), 0);
            ck_assert_uint_eq(strlen(log), strlen(head) + sizes[i] + 1);
        }
        free(pl);
    }
}
END_TEST

/* Expects the stream to fail with code, whatever the split. */
static void expect_fail(const uint8_t *frame, size_t len, int code, uint8_t rsv, uint64_t max)
{
    uint8_t data[256];
    char log[1024];
    for (size_t cut = 0; cut <= len; cut++) {
        memcpy(data, frame, len);
        run(data, len, &cut, 1, log, sizeof(log), max, rsv);
        char want[16];
        snprintf(want, sizeof(want), "X%d", code);
        ck_assert_msg(strstr(log, want) != NULL, "cut %zu: %s", cut, log);
    }
}

START_TEST(test_violations)
{
    uint8_t f[256];
    size_t n;
    /* reserved opcodes 3-7 and B-F */
    for (int op = 3; op <= 15; op++) {
        if (op >= 8 && op <= 10)
            continue;
        n = put_frame(f, 1, 0, op, "ab", 2);
        expect_fail(f, n, 1002, 0, 0);
    }
    /* RSV bits without an extension */
    for (int rsv = 1; rsv <= 7; rsv++) {
        n = put_frame(f, 1, rsv, BE_WS_OP_TEXT, "ab", 2);
        expect_fail(f, n, 1002, 0, 0);
    }
    /* RSV1 allowed with deflate, but not RSV2 or on control/continuation */
    n = put_frame(f, 1, 2, BE_WS_OP_TEXT, "ab", 2);
    expect_fail(f, n, 1002, BE_WS_RSV1, 0);
    n = put_frame(f, 1, 4, BE_WS_OP_PING, "ab", 2);
    expect_fail(f, n, 1002, BE_WS_RSV1, 0);
    n = put_frame(f, 0, 4, BE_WS_OP_TEXT, "ab", 2);
    n += put_frame(f + n, 1, 4, BE_WS_OP_CONT, "ab", 2);
    expect_fail(f, n, 1002, BE_WS_RSV1, 0);
    /* unmasked */
    n = be_ws_frame_hdr_encode(f, 1, 0, BE_WS_OP_TEXT, 2, NULL);
    memcpy(f + n, "ab", 2);
    expect_fail(f, n + 2, 1002, 0, 0);
    /* control frame too long, fragmented control frame */
    char big[126];
    memset(big, 'p', sizeof(big));
    n = put_frame(f, 1, 0, BE_WS_OP_PING, big, 126);
    expect_fail(f, n, 1002, 0, 0);
    n = put_frame(f, 0, 0, BE_WS_OP_PING, "x", 1);
    expect_fail(f, n, 1002, 0, 0);
    n = put_frame(f, 0, 0, BE_WS_OP_CLOSE, "", 0);
    expect_fail(f, n, 1002, 0, 0);
    /* continuation with nothing to continue (also after a finished message) */
    n = put_frame(f, 1, 0, BE_WS_OP_CONT, "x", 1);
    expect_fail(f, n, 1002, 0, 0);
    n = put_frame(f, 1, 0, BE_WS_OP_TEXT, "x", 1);
    n += put_frame(f + n, 1, 0, BE_WS_OP_CONT, "x", 1);
    expect_fail(f, n, 1002, 0, 0);
    /* a new data frame inside a fragmented message */
    n = put_frame(f, 0, 0, BE_WS_OP_TEXT, "x", 1);
    n += put_frame(f + n, 1, 0, BE_WS_OP_BINARY, "x", 1);
    expect_fail(f, n, 1002, 0, 0);
    /* 64-bit length with the top bit set */
    n = be_ws_frame_hdr_encode(f, 1, 0, BE_WS_OP_BINARY, 0x8000000000000000ull, mask);
    expect_fail(f, n, 1002, 0, 0);
    /* non-minimal length encodings (RFC 6455 5.2) */
    f[0] = 0x82, f[1] = 0x80 | 126, f[2] = 0, f[3] = 125;
    memcpy(f + 4, mask, 4);
    expect_fail(f, 8, 1002, 0, 0);
    f[0] = 0x82, f[1] = 0x80 | 127;
    memset(f + 2, 0, 8);
    f[8] = 0xff, f[9] = 0xff; /* 65535 in 8 bytes */
    memcpy(f + 10, mask, 4);
    expect_fail(f, 14, 1002, 0, 0);
    /* over max_frame */
    n = put_frame(f, 1, 0, BE_WS_OP_BINARY, big, 100);
    expect_fail(f, n, 1009, 0, 99);
}
END_TEST

START_TEST(test_fail_fast)
{
    /* A bad second byte fails without waiting for the extended length. */
    uint8_t f[2] = {0x81, 0x7f}; /* unmasked, 64-bit length */
    struct be_ws_parser p;
    struct be_ws_event ev;
    be_ws_parser_init(&p, 1, 0, 0);
    be_ws_parse(&p, f, 2, &ev);
    ck_assert_int_eq(ev.type, BE_WS_EV_ERROR);
    /* Dead parser stays dead. */
    be_ws_parse(&p, f, 2, &ev);
    ck_assert_int_eq(ev.type, BE_WS_EV_ERROR);
}
END_TEST

START_TEST(test_encoder_and_mask)
{
    uint8_t h[14];
    ck_assert_uint_eq(be_ws_frame_hdr_encode(h, 1, 0, 1, 5, NULL), 2);
    ck_assert_uint_eq(h[0], 0x81);
    ck_assert_uint_eq(h[1], 5);
    ck_assert_uint_eq(be_ws_frame_hdr_encode(h, 0, 4, 2, 300, NULL), 4);
    ck_assert_uint_eq(h[0], 0x42);
    ck_assert_uint_eq(h[1], 126);
    ck_assert_uint_eq(h[2] << 8 | h[3], 300);
    ck_assert_uint_eq(be_ws_frame_hdr_encode(h, 1, 0, 2, 1ull << 32, mask), 14);
    ck_assert_uint_eq(h[1], 0xff);
    ck_assert_uint_eq(h[5], 1);
    /* RFC 6455 5.7 example: masked "Hello". */
    uint8_t hello[] = {0x7f, 0x9f, 0x4d, 0x51, 0x58};
    uint8_t m[4] = {0x37, 0xfa, 0x21, 0x3d};
    be_ws_mask(hello, 5, m, 0);
    ck_assert_int_eq(memcmp(hello, "Hello", 5), 0);
    /* Word-at-a-time path equals the bytewise one at every phase. */
    uint8_t a[100], b[100];
    for (size_t off = 0; off < 4; off++) {
        for (int i = 0; i < 100; i++)
            a[i] = b[i] = (uint8_t)(i * 7);
        be_ws_mask(a, 100, m, off);
        for (int i = 0; i < 100; i++)
            b[i] ^= m[(off + (size_t)i) & 3];
        ck_assert_int_eq(memcmp(a, b, 100), 0);
    }
}
END_TEST

START_TEST(test_close_codes)
{
    int valid[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999};
    int invalid[] = {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535};
    for (size_t i = 0; i < sizeof(valid) / sizeof(*valid); i++)
        ck_assert_msg(be_ws_close_code_valid((unsigned)valid[i]), "%d", valid[i]);
    for (size_t i = 0; i < sizeof(invalid) / sizeof(*invalid); i++)
        ck_assert_msg(!be_ws_close_code_valid((unsigned)invalid[i]), "%d", invalid[i]);
}
END_TEST

Suite *suite_ws_frame(void);
Suite *suite_ws_frame(void)
{
    Suite *s = suite_create("ws_frame");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_every_split_point);
    tcase_add_test(tc, test_length_encodings);
    tcase_add_test(tc, test_violations);
    tcase_add_test(tc, test_fail_fast);
    tcase_add_test(tc, test_encoder_and_mask);
    tcase_add_test(tc, test_close_codes);
    suite_add_tcase(s, tc);
    return s;
}
