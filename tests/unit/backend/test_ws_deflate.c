/* SPDX-License-Identifier: BSD-2-Clause */
/* permessage-deflate: negotiation of every legal offer form, declined offers,
 * several offers, and compression round trips (context takeover or not,
 * every window, split input, zip bomb cap, RFC 7692 examples). */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "backend/ws_deflate.h"

static struct be_ws_pmd_policy pol(const char *name)
{
    struct be_ws_pmd_policy p;
    ck_assert_int_eq(be_ws_pmd_preset(name, &p), 0);
    return p;
}

static int nego(const char *preset, const char *offer, struct be_ws_pmd_params *out, char *resp)
{
    struct be_ws_pmd_policy p = pol(preset);
    return be_ws_pmd_negotiate(offer, strlen(offer), &p, out, resp, 256);
}

struct nego_case {
    const char *preset, *offer, *resp;
    int sw, cw, snc, cnc;
};

/* clang-format off */
static const struct nego_case accepted[] = {
    { "max", "permessage-deflate", "permessage-deflate", 15, 15, 0, 0 },
    { "max", "PerMessage-Deflate", "permessage-deflate", 15, 15, 0, 0 },
    { "max", "permessage-deflate; client_max_window_bits", "permessage-deflate", 15, 15, 0, 0 },
    { "max", "permessage-deflate;client_max_window_bits=10",
      "permessage-deflate; client_max_window_bits=10", 15, 10, 0, 0 },
    { "max", "permessage-deflate; server_max_window_bits=10",
      "permessage-deflate; server_max_window_bits=10", 10, 15, 0, 0 },
    { "max", "permessage-deflate; server_max_window_bits=\"12\"",
      "permessage-deflate; server_max_window_bits=12", 12, 15, 0, 0 },
    { "max", "permessage-deflate; server_max_window_bits=8",
      "permessage-deflate; server_max_window_bits=8", 8, 15, 0, 0 },
    { "max", "permessage-deflate; server_max_window_bits=15",
      "permessage-deflate; server_max_window_bits=15", 15, 15, 0, 0 },
    { "max", "permessage-deflate; client_max_window_bits=8",
      "permessage-deflate; client_max_window_bits=8", 15, 8, 0, 0 },
    { "max", "permessage-deflate; server_no_context_takeover",
      "permessage-deflate; server_no_context_takeover", 15, 15, 1, 0 },
    { "max", "permessage-deflate; client_no_context_takeover",
      "permessage-deflate; client_no_context_takeover", 15, 15, 0, 1 },
    { "max",
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
      "server_max_window_bits=9; client_max_window_bits=11",
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
      "server_max_window_bits=9; client_max_window_bits=11",
      9, 11, 1, 1 },
    { "balanced", "permessage-deflate", "permessage-deflate; server_max_window_bits=13", 13, 15,
      0, 0 },
    { "balanced", "permessage-deflate; client_max_window_bits",
      "permessage-deflate; server_max_window_bits=13; client_max_window_bits=13", 13, 13, 0, 0 },
    { "balanced", "permessage-deflate; client_max_window_bits=10",
      "permessage-deflate; server_max_window_bits=13; client_max_window_bits=10", 13, 10, 0, 0 },
    { "balanced", "permessage-deflate; server_max_window_bits=15",
      "permessage-deflate; server_max_window_bits=13", 13, 15, 0, 0 },
    { "low", "permessage-deflate",
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover", 15, 15, 1,
      1 },
    /* several offers: the first acceptable one wins */
    { "max", "permessage-deflate; server_max_window_bits=7, permessage-deflate",
      "permessage-deflate", 15, 15, 0, 0 },
    { "max", "permessage-deflate; foo=1, permessage-deflate; client_max_window_bits=9",
      "permessage-deflate; client_max_window_bits=9", 15, 9, 0, 0 },
    { "max", "x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=11",
      "permessage-deflate; server_max_window_bits=11", 11, 15, 0, 0 },
    { "max", "foo; bar=\"a,b\", permessage-deflate", "permessage-deflate", 15, 15, 0, 0 },
    { "max", "permessage-deflate; server_no_context_takeover, permessage-deflate",
      "permessage-deflate; server_no_context_takeover", 15, 15, 1, 0 },
};
/* clang-format on */

START_TEST(test_accepted)
{
    for (size_t i = 0; i < sizeof(accepted) / sizeof(*accepted); i++) {
        const struct nego_case *c = &accepted[i];
        struct be_ws_pmd_params p;
        char resp[256];
        ck_assert_msg(nego(c->preset, c->offer, &p, resp) == 1, "case %zu: %s", i, c->offer);
        ck_assert_msg(strcmp(resp, c->resp) == 0, "case %zu: got '%s'", i, resp);
        ck_assert_int_eq(p.server_wbits, c->sw);
        ck_assert_int_eq(p.client_wbits, c->cw);
        ck_assert_int_eq(p.server_no_context, c->snc);
        ck_assert_int_eq(p.client_no_context, c->cnc);
    }
}
END_TEST

START_TEST(test_declined)
{
    const char *bad[] = {
        "",
        "x-webkit-deflate-frame",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=08",
        "permessage-deflate; server_max_window_bits=abc",
        "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; client_max_window_bits=\"\"",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; client_no_context_takeover=x",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
        "permessage-deflate; unknown",
        "permessage-deflate; =",
        "permessage-deflate;; server_no_context_takeover",
        "permessage-deflate; foo, permessage-deflate; server_max_window_bits=1000000000000000000",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        struct be_ws_pmd_params p;
        char resp[256];
        ck_assert_msg(nego("max", bad[i], &p, resp) == 0, "accepted: %s", bad[i]);
    }
}
END_TEST

struct acc {
    uint8_t *p;
    size_t len, cap;
};

static int acc_sink(void *ctx, const uint8_t *p, size_t n)
{
    struct acc *a = ctx;
    if (a->len + n > a->cap) {
        a->cap = (a->len + n) * 2;
        a->p = realloc(a->p, a->cap);
    }
    memcpy(a->p + a->len, p, n);
    a->len += n;
    return 0;
}

static void make_text(uint8_t *buf, size_t n, unsigned seed)
{
    static const char *words[] = {"camel ", "bactrian ", "hump ",   "desert ",
                                  "frame ", "socket ",   "deflate "};
    size_t i = 0;
    while (i < n) {
        seed = seed * 1103515245u + 12345u;
        const char *w = words[(seed >> 16) % 7];
        for (size_t k = 0; w[k] && i < n; k++)
            buf[i++] = (uint8_t)w[k];
    }
}

START_TEST(test_rfc_examples)
{
    /* RFC 7692 7.2.3.1 and 7.2.3.2: "Hello" twice with context takeover. */
    struct be_ws_deflater d;
    ck_assert_int_eq(be_ws_deflater_init(&d, 15, 8, 6, 0), 0);
    struct acc a = {0};
    ck_assert_int_eq(be_ws_deflate(&d, (const uint8_t *)"Hello", 5, 1, acc_sink, &a), 0);
    const uint8_t first[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    ck_assert_uint_eq(a.len, sizeof(first));
    ck_assert_int_eq(memcmp(a.p, first, sizeof(first)), 0);
    a.len = 0;
    ck_assert_int_eq(be_ws_deflate(&d, (const uint8_t *)"Hello", 5, 1, acc_sink, &a), 0);
    const uint8_t second[] = {0xf2, 0x00, 0x11, 0x00, 0x00};
    ck_assert_uint_eq(a.len, sizeof(second));
    ck_assert_int_eq(memcmp(a.p, second, sizeof(second)), 0);
    be_ws_deflater_free(&d);

    struct be_ws_inflater f;
    be_ws_inflater_init(&f, 15, 0);
    a.len = 0;
    ck_assert_int_eq(be_ws_inflate(&f, first, sizeof(first), 1, 0, acc_sink, &a), 0);
    ck_assert_int_eq(be_ws_inflate(&f, second, sizeof(second), 1, 0, acc_sink, &a), 0);
    ck_assert_uint_eq(a.len, 10);
    ck_assert_int_eq(memcmp(a.p, "HelloHello", 10), 0);
    /* 7.2.3.3: a stored (uncompressed) block; 7.2.3.4: BFINAL set. */
    const uint8_t stored[] = {0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00};
    a.len = 0;
    ck_assert_int_eq(be_ws_inflate(&f, stored, sizeof(stored), 1, 0, acc_sink, &a), 0);
    ck_assert_uint_eq(a.len, 5);
    const uint8_t bfinal[] = {0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00};
    be_ws_inflater_free(&f);
    be_ws_inflater_init(&f, 15, 0);
    a.len = 0;
    ck_assert_int_eq(be_ws_inflate(&f, bfinal, sizeof(bfinal), 1, 0, acc_sink, &a), 0);
    ck_assert_uint_eq(a.len, 5);
    a.len = 0;
    ck_assert_int_eq(be_ws_inflate(&f, first, sizeof(first), 1, 0, acc_sink, &a), 0);
    ck_assert_uint_eq(a.len, 5);
    be_ws_inflater_free(&f);
    free(a.p);
}
END_TEST

/* Compresses several messages in parts and inflates them in other parts. */
static void round_trip(int sw, int cw_unused, int mem, int no_ctx, size_t msglen, size_t part,
                       size_t inpart)
{
    (void)cw_unused;
    struct be_ws_deflater d;
    struct be_ws_inflater f;
    ck_assert_int_eq(be_ws_deflater_init(&d, sw, mem, 6, no_ctx), 0);
    be_ws_inflater_init(&f, sw < 9 ? 9 : sw, no_ctx);
    uint8_t *msg = malloc(msglen + 1);
    struct acc z = {0}, out = {0};
    for (unsigned m = 0; m < 3; m++) {
        make_text(msg, msglen, m + (unsigned)msglen);
        z.len = 0;
        for (size_t off = 0; off < msglen || off == 0; off += part) {
            size_t n = msglen - off < part ? msglen - off : part;
            int final = off + n >= msglen;
            ck_assert_int_eq(be_ws_deflate(&d, msg + off, n, final, acc_sink, &z), 0);
            if (final)
                break;
        }
        if (msglen > 1000 && sw > 8)
            ck_assert_uint_lt(z.len, msglen / 2);
        out.len = 0;
        for (size_t off = 0; off < z.len || off == 0; off += inpart) {
            size_t n = z.len - off < inpart ? z.len - off : inpart;
            int final = off + n >= z.len;
            ck_assert_int_eq(be_ws_inflate(&f, z.p + off, n, final, 0, acc_sink, &out), 0);
            if (final)
                break;
        }
        ck_assert_uint_eq(out.len, msglen);
        if (msglen)
            ck_assert_int_eq(memcmp(out.p, msg, msglen), 0);
    }
    be_ws_deflater_free(&d);
    be_ws_inflater_free(&f);
    free(msg);
    free(z.p);
    free(out.p);
}

START_TEST(test_round_trips)
{
    for (int sw = 8; sw <= 15; sw++)
        for (int no_ctx = 0; no_ctx <= 1; no_ctx++) {
            round_trip(sw, 15, 8, no_ctx, 0, 1, 1);
            round_trip(sw, 15, 8, no_ctx, 1, 1, 1);
            round_trip(sw, 15, sw > 9 ? 4 : 1, no_ctx, 5000, 5000, 7);
            round_trip(sw, 15, 8, no_ctx, 100000, 333, 4096);
        }
    round_trip(15, 15, 9, 0, 1 << 20, 1 << 20, 1 << 20);
}
END_TEST

START_TEST(test_zip_bomb_and_garbage)
{
    size_t n = 8u << 20;
    uint8_t *zeros = calloc(1, n);
    struct be_ws_deflater d;
    ck_assert_int_eq(be_ws_deflater_init(&d, 15, 8, 9, 0), 0);
    struct acc z = {0}, out = {0};
    ck_assert_int_eq(be_ws_deflate(&d, zeros, n, 1, acc_sink, &z), 0);
    ck_assert_uint_lt(z.len, 20000);
    struct be_ws_inflater f;
    be_ws_inflater_init(&f, 15, 0);
    ck_assert_int_eq(be_ws_inflate(&f, z.p, z.len, 1, 1 << 20, acc_sink, &out),
                     BE_WS_INFLATE_TOO_BIG);
    ck_assert_uint_le(out.len, (1 << 20) + 16384);
    be_ws_inflater_free(&f);
    /* With the cap above the size it inflates fine. */
    out.len = 0;
    be_ws_inflater_init(&f, 15, 0);
    ck_assert_int_eq(be_ws_inflate(&f, z.p, z.len, 1, n, acc_sink, &out), 0);
    ck_assert_uint_eq(out.len, n);
    be_ws_inflater_free(&f);
    /* Garbage: an invalid block type. */
    const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x00};
    be_ws_inflater_init(&f, 15, 0);
    ck_assert_int_eq(be_ws_inflate(&f, junk, sizeof(junk), 1, 0, acc_sink, &out),
                     BE_WS_INFLATE_BAD);
    be_ws_inflater_free(&f);
    be_ws_deflater_free(&d);
    free(zeros);
    free(z.p);
    free(out.p);
}
END_TEST

START_TEST(test_mem_figures)
{
    ck_assert_uint_gt(be_ws_deflate_mem(15, 8) + be_ws_inflate_mem(15), 290000);
    ck_assert_uint_lt(be_ws_deflate_mem(13, 6) + be_ws_inflate_mem(13), 90000);
    struct be_ws_pmd_policy p;
    ck_assert_int_eq(be_ws_pmd_preset("nope", &p), -1);
}
END_TEST

/* An answer that does not fit the caller's buffer declines the offer (the
 * answer used to be built with unbounded n += snprintf). */
START_TEST(test_answer_too_long_declined)
{
    struct be_ws_pmd_policy p = pol("low");
    struct be_ws_pmd_params out;
    const char *offer = "permessage-deflate; client_max_window_bits=9; server_max_window_bits=9";
    char resp[256];
    ck_assert_int_eq(be_ws_pmd_negotiate(offer, strlen(offer), &p, &out, resp, sizeof resp), 1);
    size_t need = strlen(resp) + 1;
    char small[256];
    memset(small, 'X', sizeof small);
    ck_assert_int_eq(be_ws_pmd_negotiate(offer, strlen(offer), &p, &out, small, need - 1), 0);
    ck_assert_int_eq(small[0], 0);
    ck_assert_int_eq(small[need], 'X');
    ck_assert_int_eq(be_ws_pmd_negotiate(offer, strlen(offer), &p, &out, small, need), 1);
    ck_assert_str_eq(small, resp);
}
END_TEST

/* Big messages that do not shrink are sent uncompressed (the probe), the
 * others are compressed: random bytes, text, and random bytes with a
 * compressible middle (one sample that shrinks is enough to compress). */
START_TEST(test_incompressible_probe)
{
    size_t n = 256 * 1024;
    uint8_t *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        p[i] = (uint8_t)x;
    }
    ck_assert(be_ws_incompressible(p, n));
    ck_assert(!be_ws_incompressible(p, BE_WS_PROBE_MIN - 1)); /* too small to probe */
    memset(p + n / 2 - 4096, 'a', 8192);
    ck_assert(!be_ws_incompressible(p, n));
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)("hello world "[i % 12]);
    ck_assert(!be_ws_incompressible(p, n));
    free(p);
}
END_TEST

Suite *suite_ws_deflate(void);
Suite *suite_ws_deflate(void)
{
    Suite *s = suite_create("ws_deflate");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_accepted);
    tcase_add_test(tc, test_answer_too_long_declined);
    tcase_add_test(tc, test_declined);
    tcase_add_test(tc, test_rfc_examples);
    tcase_add_test(tc, test_round_trips);
    tcase_add_test(tc, test_zip_bomb_and_garbage);
    tcase_add_test(tc, test_mem_figures);
    tcase_add_test(tc, test_incompressible_probe);
    suite_add_tcase(s, tc);
    return s;
}
