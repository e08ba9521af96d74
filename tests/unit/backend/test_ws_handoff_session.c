/* SPDX-License-Identifier: BSD-2-Clause */
/* The parser's position carried across a hand-off (be_ho_carry in
 * backend/ws_handoff_session.c): a client's frame cut anywhere in its
 * header or its payload is parsed by two parsers in turn, the old one up to
 * the cut and a fresh one from the carried bytes and the rest, and the
 * fresh one sees exactly the rest of the payload, unmasked, and the end of
 * the message where the frame had it. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "backend/ws_frame.h"
#include "backend/ws_handoff.h"
#include "common/buf.h"

/* A masked client frame of len payload bytes: byte i is (i * 7 + 3). */
static size_t client_frame(uint8_t *out, int fin, int op, size_t len)
{
    static const uint8_t mask[4] = {0x11, 0x5a, 0xc3, 0x7e};
    size_t h = be_ws_frame_hdr_encode(out, fin, 0, op, len, mask);
    for (size_t i = 0; i < len; i++)
        out[h + i] = (uint8_t)((i * 7 + 3) ^ mask[i & 3]);
    return h + len;
}

/* Feeds data to p: the payload goes to pay, the number of message ends
 * (FRAME_END of a msg_last frame) is returned. */
static int feed(struct be_ws_parser *p, uint8_t *data, size_t len, struct bx_buf *pay)
{
    int ends = 0;
    size_t off = 0;
    for (;;) {
        struct be_ws_event ev;
        size_t used = be_ws_parse(p, data + off, len - off, &ev);
        off += used;
        ck_assert_int_ne(ev.type, BE_WS_EV_ERROR);
        if (ev.type == BE_WS_EV_PAYLOAD)
            bx_buf_append(pay, ev.data, ev.len);
        else if (ev.type == BE_WS_EV_FRAME_END && ev.hdr->msg_last)
            ends++;
        else if (ev.type == BE_WS_EV_NONE)
            return ends;
    }
}

/* One frame cut at `cut`: what the two parsers see together is the frame. */
static void check_cut(int fin, int op, size_t len, size_t cut)
{
    uint8_t *f = malloc(len + 14), carry[BE_HO_CARRY_MAX];
    size_t n = client_frame(f, fin, op, len);
    ck_assert_uint_le(cut, n);
    struct be_ws_parser a, b;
    be_ws_parser_init(&a, 1, 0, 0);
    be_ws_parser_init(&b, 1, 0, 0);
    if (op == BE_WS_OP_CONT)
        a.msg_opcode = BE_WS_OP_BINARY; /* a fragmented message under way */
    struct bx_buf pay = BX_BUF_INIT, in = BX_BUF_INIT;
    int ends = feed(&a, f, cut, &pay);
    ck_assert(a.state != BE_WS_PARSE_END); /* the session's loop never leaves it there */
    /* What the restore sets: the message the old parser was in. */
    b.msg_opcode = a.state == BE_WS_PARSE_PAYLOAD ? a.hdr.msg_opcode : a.msg_opcode;
    size_t k = be_ho_carry(&a, carry);
    ck_assert_uint_le(k, BE_HO_CARRY_MAX);
    bx_buf_append(&in, carry, k);
    bx_buf_append(&in, f + cut, n - cut);
    ends += feed(&b, (uint8_t *)bx_buf_rpos(&in), bx_buf_unread(&in), &pay);
    ck_assert_uint_eq(bx_buf_unread(&pay), len);
    for (size_t i = 0; i < len; i++)
        ck_assert_uint_eq((uint8_t)bx_buf_rpos(&pay)[i], (uint8_t)(i * 7 + 3));
    ck_assert_int_eq(ends, fin ? 1 : 0);
    ck_assert_int_eq(b.msg_opcode, fin ? 0 : (op == BE_WS_OP_CONT ? BE_WS_OP_BINARY : op));
    ck_assert(be_ws_parser_idle(&b));
    bx_buf_free(&pay);
    bx_buf_free(&in);
    free(f);
}

START_TEST(test_carry_every_cut)
{
    /* Lengths of each header form: 7-bit, 16-bit and 64-bit. */
    static const size_t lens[] = {1, 5, 125, 126, 300, 65535, 65536, 70001};
    for (size_t l = 0; l < sizeof lens / sizeof *lens; l++) {
        size_t len = lens[l], hdr = len < 126 ? 6 : len <= 0xffff ? 8 : 14;
        /* Every cut in the header and the first bytes of the payload, then
         * a few further in (each mask phase) and one byte before the end. */
        for (size_t cut = 0; cut < hdr + 9 && cut < hdr + len; cut++) {
            check_cut(1, BE_WS_OP_TEXT, len, cut);
            check_cut(0, BE_WS_OP_BINARY, len, cut);
            check_cut(1, BE_WS_OP_CONT, len, cut);
        }
        for (size_t cut = hdr + len / 2; cut < hdr + len / 2 + 4 && cut < hdr + len; cut++)
            check_cut(1, BE_WS_OP_BINARY, len, cut);
        check_cut(0, BE_WS_OP_TEXT, len, hdr + len - 1);
    }
}
END_TEST

/* Between frames there is nothing to carry. */
START_TEST(test_carry_idle)
{
    struct be_ws_parser p;
    uint8_t carry[BE_HO_CARRY_MAX];
    be_ws_parser_init(&p, 1, 0, 0);
    ck_assert_uint_eq(be_ho_carry(&p, carry), 0);
}
END_TEST

Suite *suite_ws_handoff_session(void);
Suite *suite_ws_handoff_session(void)
{
    Suite *s = suite_create("ws_handoff_session");
    TCase *tc = tcase_create("carry");
    tcase_add_test(tc, test_carry_every_cut);
    tcase_add_test(tc, test_carry_idle);
    suite_add_tcase(s, tc);
    return s;
}
