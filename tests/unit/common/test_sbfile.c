/* SPDX-License-Identifier: BSD-2-Clause */
/* The scoreboard file reader (common/sbfile.c): a file of another layout,
 * too short, or whose header claims more slots than it holds is refused
 * before any slot is read, and sizes cannot overflow the check. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sbfile.h"

enum { HS = 4096, SS = 4096 };

static unsigned char *good(size_t nslots, size_t *size)
{
    *size = HS + nslots * SS;
    unsigned char *p = calloc(1, *size);
    struct bx_sb_header h = {.magic = BX_SB_MAGIC,
                             .version = BX_SB_VERSION,
                             .header_size = HS,
                             .slot_size = SS,
                             .nslots = nslots,
                             .master_pid = 7};
    memcpy(p, &h, sizeof h);
    return p;
}

static const char *check_with(size_t nslots, void (*edit)(struct bx_sb_header *), size_t cut)
{
    static char why[128];
    size_t size;
    unsigned char *p = good(nslots, &size);
    struct bx_sb_header h, out;
    memcpy(&h, p, sizeof h);
    if (edit)
        edit(&h);
    memcpy(p, &h, sizeof h);
    const char *r = bx_sbfile_check(p, size - cut, &out);
    snprintf(why, sizeof why, "%s", r ? r : "ok");
    if (r)
        ck_assert_uint_eq(out.nslots, 0); /* nothing to walk on failure */
    free(p);
    return why;
}

static void bad_magic(struct bx_sb_header *h)
{
    h->magic ^= 1;
}
static void old_version(struct bx_sb_header *h)
{
    h->version = 1;
}
static void small_header(struct bx_sb_header *h)
{
    h->header_size = 8;
}
static void huge_header(struct bx_sb_header *h)
{
    h->header_size = 0xffffffffu;
}
static void small_slot(struct bx_sb_header *h)
{
    h->slot_size = 4;
}
static void zero_slot(struct bx_sb_header *h)
{
    h->slot_size = 0;
}
static void many_slots(struct bx_sb_header *h)
{
    h->nslots = (uint64_t)1 << 62;
}
static void one_more(struct bx_sb_header *h)
{
    h->nslots++;
}

START_TEST(reader_validates_header)
{
    ck_assert_str_eq(check_with(3, NULL, 0), "ok");
    ck_assert_str_eq(check_with(0, NULL, 0), "ok");
    ck_assert(strstr(check_with(3, bad_magic, 0), "magic"));
    ck_assert(strstr(check_with(3, old_version, 0), "another version"));
    ck_assert(strstr(check_with(3, small_header, 0), "out of range"));
    ck_assert(strstr(check_with(3, huge_header, 0), "out of range"));
    ck_assert(strstr(check_with(3, small_slot, 0), "out of range"));
    ck_assert(strstr(check_with(3, zero_slot, 0), "out of range"));
    ck_assert(strstr(check_with(3, many_slots, 0), "exceeds the file size"));
    ck_assert(strstr(check_with(3, one_more, 0), "exceeds the file size"));
    ck_assert(strstr(check_with(3, NULL, 1), "exceeds the file size")); /* truncated */
    struct bx_sb_header out;
    ck_assert(strstr(bx_sbfile_check("BXSB", 4, &out), "too short"));
    ck_assert(strstr(bx_sbfile_check(NULL, 0, &out), "too short"));
}
END_TEST

START_TEST(slots_at_the_checked_stride)
{
    size_t size;
    unsigned char *p = good(3, &size);
    struct bx_sb_header h;
    ck_assert_ptr_null(bx_sbfile_check(p, size, &h));
    ck_assert_ptr_eq(bx_sbfile_slot(p, &h, 0), (void *)(p + HS));
    ck_assert_ptr_eq(bx_sbfile_slot(p, &h, 2), (void *)(p + HS + 2 * SS));
    /* The header changing after the check does not move the slots. */
    ((struct bx_sb_header *)p)->slot_size = 1 << 30;
    ck_assert_ptr_eq(bx_sbfile_slot(p, &h, 2), (void *)(p + HS + 2 * SS));
    ck_assert_str_eq(bx_sb_state_name(BX_SB_RELAY), "relay");
    ck_assert_str_eq(bx_sb_state_name(BX_SB_NSTATES), "?");
    free(p);
}
END_TEST

Suite *suite_sbfile(void);
Suite *suite_sbfile(void)
{
    Suite *s = suite_create("sbfile");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, reader_validates_header);
    tcase_add_test(tc, slots_at_the_checked_stride);
    suite_add_tcase(s, tc);
    return s;
}
