/* SPDX-License-Identifier: BSD-2-Clause */
/* The hand-off record (backend/ws_handoff_rec.c): a full record round-trips,
 * every truncation and every out-of-bound length is refused, and a deflate
 * window primed into fresh zlib streams decodes what the old stream's peer
 * encodes next (the window is the whole state between messages). */
#include "config.h"

#include <check.h>
#include <netinet/in.h>
#include <string.h>
#include <zlib.h>

#include "backend/ws_deflate.h"
#include "backend/ws_handoff_rec.h"

#define B(s) ((struct be_ho_bytes){(const uint8_t *)(s), sizeof(s) - 1})

static void sample(struct be_ho_rec *r, struct bx_buf *subs)
{
    memset(r, 0, sizeof *r);
    r->seq = 7;
    r->module = B("echo"), r->vhost = B("*"), r->path = B("/echo");
    struct sockaddr_in *in = (struct sockaddr_in *)&r->client;
    in->sin_family = AF_INET;
    in->sin_port = htons(4242);
    r->clientlen = sizeof *in;
    r->client_str = B("192.0.2.1");
    r->has_proto = 1, r->proto = B("chat.v1");
    r->pmd = 1, r->server_wbits = 15, r->client_wbits = 13, r->mem_level = 8, r->level = 6;
    r->inf_window = B("inflate window"), r->def_window = B("deflate window");
    r->ping_seq = 0x0102030405060708ull, r->ping_outstanding = 1, r->missed_pongs = 1;
    r->next_ping_in_ms = 1234, r->idle_in_ms = 0;
    r->msg_opcode = 1, r->msg = B("half a mess");
    r->input = B("\x81\x85"), r->output = B("\x81\x02hi");
    static const uint8_t one[] = {0, 0, 0, 5, 'c', 'h', 'a', 't', ':'};
    bx_buf_append(subs, one, sizeof one);
    r->nsubs = 1;
    r->subs = (struct be_ho_bytes){(const uint8_t *)bx_buf_rpos(subs), bx_buf_unread(subs)};
    static const uint8_t seen[] = {0, 0, 0, 0, 0, 0, 0x30, 0x39, 0, 0, 0, 0, 0, 0, 0, 42};
    r->nseen = 1, r->seen = (struct be_ho_bytes){seen, sizeof seen};
    r->mstate = B("\x01state");
}

START_TEST(test_round_trip)
{
    struct be_ho_rec r, back;
    struct bx_buf subs = BX_BUF_INIT, b = BX_BUF_INIT;
    sample(&r, &subs);
    be_ho_rec_encode(&b, &r);
    const char *why = NULL;
    ck_assert_int_eq(be_ho_rec_parse((const uint8_t *)bx_buf_rpos(&b), bx_buf_unread(&b), &back,
                                     &why),
                     0);
    ck_assert_uint_eq(back.seq, 7);
    ck_assert_uint_eq(back.path.n, 5);
    ck_assert(!memcmp(back.path.p, "/echo", 5));
    ck_assert_uint_eq(back.clientlen, sizeof(struct sockaddr_in));
    ck_assert(back.ping_seq == r.ping_seq);
    ck_assert_uint_eq(back.nsubs, 1);
    struct be_ho_bytes c = be_ho_rec_sub(&back, 0);
    ck_assert(c.n == 5 && !memcmp(c.p, "chat:", 5));
    ck_assert(back.nseen == 1 && back.seen.n == 16 && back.seen.p[15] == 42);
    ck_assert(back.msg_opcode == 1 && back.msg.n == 11 && !memcmp(back.msg.p, "half a mess", 11));
    ck_assert(back.mstate.n == 6 && !memcmp(back.mstate.p, "\x01state", 6));
    /* every prefix, and one byte more, is refused */
    for (size_t cut = 0; cut < bx_buf_unread(&b); cut++)
        ck_assert_int_eq(be_ho_rec_parse((const uint8_t *)bx_buf_rpos(&b), cut, &back, &why), -1);
    bx_buf_append(&b, "", 1);
    ck_assert_int_eq(be_ho_rec_parse((const uint8_t *)bx_buf_rpos(&b), bx_buf_unread(&b), &back,
                                     &why),
                     -1);
    bx_buf_free(&b);
    bx_buf_free(&subs);
}
END_TEST

/* One field set out of bounds at a time: each is refused with a reason. */
START_TEST(test_bounds)
{
    struct bx_buf subs = BX_BUF_INIT;
    for (int k = 0; k < 12; k++) {
        struct be_ho_rec r, back;
        sample(&r, &subs);
        static uint8_t big[BE_HO_STATE_MAX + 1];
        switch (k) {
        case 0: r.client_wbits = 16; break;
        case 1: r.mem_level = 0; break;
        case 2: r.mstate = (struct be_ho_bytes){big, sizeof big}; break;
        case 3: r.client_str = B("bad\ntext"); break;
        case 4: r.module = B(""); break;
        case 5: r.clientlen = 3; break;
        case 6: r.pmd = 0; break; /* windows without deflate */
        case 7: r.inf_window = (struct be_ho_bytes){big, (1u << 13) + 1}; break;
        case 8: r.ping_outstanding = 2; break;
        case 9: r.msg_opcode = 3; break;
        case 10: r.msg_opcode = 0; break; /* bytes of no message */
        case 11: r.nseen = 65, r.seen = (struct be_ho_bytes){big, 65 * 16}; break;
        }
        struct bx_buf b = BX_BUF_INIT;
        be_ho_rec_encode(&b, &r);
        const char *why = NULL;
        ck_assert_msg(be_ho_rec_parse((const uint8_t *)bx_buf_rpos(&b), bx_buf_unread(&b), &back,
                                      &why) == -1,
                      "case %d accepted", k);
        ck_assert_ptr_nonnull(why);
        bx_buf_free(&b);
        bx_buf_reset(&subs);
    }
    bx_buf_free(&subs);
}
END_TEST

static int collect(void *ctx, const uint8_t *p, size_t n)
{
    bx_buf_append(ctx, p, n);
    return 0;
}

/* Two messages through one compressor; the second, after the windows moved
 * to fresh streams, must inflate there and compress back-referencing. */
START_TEST(test_windows_prime_fresh_streams)
{
    static const char m1[] = "the quick brown fox jumps over the lazy dog, again and again";
    struct be_ws_deflater d, d2;
    struct be_ws_inflater f, f2;
    struct bx_buf z = BX_BUF_INIT, out = BX_BUF_INIT;
    ck_assert_int_eq(be_ws_deflater_init(&d, 15, 8, 6, 0), 0);
    be_ws_inflater_init(&f, 15, 0);
    ck_assert_int_eq(be_ws_deflate(&d, (const uint8_t *)m1, sizeof m1 - 1, 1, collect, &z), 0);
    ck_assert_int_eq(be_ws_inflate(&f, (const uint8_t *)bx_buf_rpos(&z), bx_buf_unread(&z), 1, 0,
                                   collect, &out),
                     0);
    uint8_t dw[BE_HO_WINDOW_MAX], iw[BE_HO_WINDOW_MAX];
    size_t dn = be_ws_deflater_window(&d, dw, sizeof dw);
    size_t in = be_ws_inflater_window(&f, iw, sizeof iw);
    ck_assert_uint_eq(dn, sizeof m1 - 1);
    ck_assert_uint_eq(in, sizeof m1 - 1);
    ck_assert_int_eq(be_ws_deflater_init(&d2, 15, 8, 6, 0), 0);
    ck_assert_int_eq(be_ws_deflater_prime(&d2, dw, dn), 0);
    be_ws_inflater_init(&f2, 15, 0);
    ck_assert_int_eq(be_ws_inflater_prime(&f2, iw, in), 0);
    /* the old inflater's peer (d) encodes the next message: f2 reads it */
    bx_buf_reset(&z);
    bx_buf_reset(&out);
    ck_assert_int_eq(be_ws_deflate(&d, (const uint8_t *)m1, sizeof m1 - 1, 1, collect, &z), 0);
    ck_assert_uint_lt(bx_buf_unread(&z), 16); /* a back-reference, not the text again */
    ck_assert_int_eq(be_ws_inflate(&f2, (const uint8_t *)bx_buf_rpos(&z), bx_buf_unread(&z), 1, 0,
                                   collect, &out),
                     0);
    ck_assert_uint_eq(bx_buf_unread(&out), sizeof m1 - 1);
    ck_assert(!memcmp(bx_buf_rpos(&out), m1, sizeof m1 - 1));
    /* the primed compressor back-references too, and f (the peer) reads it */
    bx_buf_reset(&z);
    bx_buf_reset(&out);
    ck_assert_int_eq(be_ws_deflate(&d2, (const uint8_t *)m1, sizeof m1 - 1, 1, collect, &z), 0);
    ck_assert_uint_lt(bx_buf_unread(&z), 16);
    ck_assert_int_eq(be_ws_inflate(&f, (const uint8_t *)bx_buf_rpos(&z), bx_buf_unread(&z), 1, 0,
                                   collect, &out),
                     0);
    ck_assert(bx_buf_unread(&out) == sizeof m1 - 1 &&
              !memcmp(bx_buf_rpos(&out), m1, sizeof m1 - 1));
    be_ws_deflater_free(&d);
    be_ws_deflater_free(&d2);
    be_ws_inflater_free(&f);
    be_ws_inflater_free(&f2);
    bx_buf_free(&z);
    bx_buf_free(&out);
}
END_TEST

Suite *suite_ws_handoff_rec(void);
Suite *suite_ws_handoff_rec(void)
{
    Suite *s = suite_create("ws_handoff_rec");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_bounds);
    tcase_add_test(tc, test_windows_prime_fresh_streams);
    suite_add_tcase(s, tc);
    return s;
}
