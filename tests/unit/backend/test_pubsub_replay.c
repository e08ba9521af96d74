/* SPDX-License-Identifier: BSD-2-Clause */
/* pubsub_replay.c's seen vector: 64-bit origins (the random ids of workers
 * on other hosts, through Redis) survive the record's encoding, a message
 * already processed is a duplicate, and a full table forgets the origin heard
 * from longest ago, never one still publishing. */
#include "config.h"

#include <check.h>
#include <string.h>

#include "backend/pubsub_replay.h"
#include "backend/ws_session.h"
#include "common/buf.h"

#define BIG 0xfedcba9876543210ull

START_TEST(origins_are_64_bit_and_survive_the_record)
{
    be_psx_note(BIG, 0x100000002ull, "room", BM_WS_TEXT, "x", 1);
    ck_assert(be_psx_dup(BIG, 0x100000002ull));
    ck_assert(!be_psx_dup(BIG, 0x100000003ull));
    ck_assert(!be_psx_dup(BIG & 0xffffffffu, 1)); /* another origin, not a truncation */
    struct bx_buf b = BX_BUF_INIT;
    uint32_t n = be_psx_seen_encode(&b);
    ck_assert_uint_ge(n, 1);
    ck_assert_uint_eq(bx_buf_unread(&b), n * 16u);
    struct bm_ws ws;
    memset(&ws, 0, sizeof ws);
    be_psx_restore(&ws, (const uint8_t *)bx_buf_rpos(&b), n);
    ck_assert(be_psx_skip(&ws, BIG, 0x100000002ull));
    ck_assert(!be_psx_skip(&ws, BIG, 0x100000003ull));
    ck_assert(!be_psx_skip(&ws, 0, 1)); /* no origin (an older peer): never skipped */
    be_psx_forget(&ws);
    bx_buf_free(&b);
}
END_TEST

START_TEST(a_full_table_forgets_the_longest_silent)
{
    for (uint64_t o = 1; o <= BE_PSX_ORIGINS_MAX; o++)
        be_psx_note(o << 40, 1, "room", BM_WS_TEXT, "x", 1);
    be_psx_note(1ull << 40, 2, "room", BM_WS_TEXT, "x", 1); /* origin 1 publishes again */
    be_psx_note(999ull << 40, 1, "room", BM_WS_TEXT, "x", 1);
    ck_assert(be_psx_dup(999ull << 40, 1));
    ck_assert(be_psx_dup(1ull << 40, 2));    /* kept: heard from lately */
    ck_assert(!be_psx_dup(2ull << 40, 1));   /* forgotten: silent the longest */
    ck_assert(be_psx_dup(3ull << 40, 1));
}
END_TEST

Suite *suite_pubsub_replay(void);
Suite *suite_pubsub_replay(void)
{
    Suite *s = suite_create("pubsub_replay");
    TCase *tc = tcase_create("seen");
    tcase_add_test(tc, origins_are_64_bit_and_survive_the_record);
    tcase_add_test(tc, a_full_table_forgets_the_longest_silent);
    suite_add_tcase(s, tc);
    return s;
}
