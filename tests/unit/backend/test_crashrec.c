/* SPDX-License-Identifier: BSD-2-Clause */
/* Crash records and mount gates (backend/crashrec.h): what a worker writes is
 * read by the master as untrusted: bounded, printable, checked against the
 * master's own mount count and generation. */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend/crashrec.h"
#include "backend/worker.h" /* be_generation: libbackend's, starting at 1 */

START_TEST(records_gates_untrusted)
{
    char err[128], what[BE_ACT_TEXT + 1];
    size_t mount = 99;
    ck_assert_int_eq(be_crashrec_init(4, err, sizeof err), 0);
    /* gates: the master's side (before this process plays a worker) */
    ck_assert_uint_eq(be_mount_backoff_left(1, 5000), 0);
    be_mount_gate_set(1, 1, 6000);
    ck_assert_uint_eq(be_mount_backoff_left(1, 5000), 1000);
    ck_assert_uint_eq(be_mount_backoff_left(1, 6000), 0);
    ck_assert_uint_eq(be_mount_backoff_left(BE_MAX_MOUNTS + 5, 5000), 0);
    be_generation = 2; /* a gate of another generation does not apply */
    ck_assert_uint_eq(be_mount_backoff_left(1, 5000), 0);
    be_generation = 1;
    be_mount_gates_clear();
    ck_assert_uint_eq(be_mount_backoff_left(1, 5000), 0);

    /* a record, with control bytes in the client's path */
    be_crashrec_attach(2);
    be_activity_enter(2, "GET", "/x\n\x01y");
    ck_assert(be_activity_take(2, 1, 3, &mount, what, sizeof what));
    ck_assert_uint_eq(mount, 2);
    ck_assert_str_eq(what, "GET /x??y");
    ck_assert(!be_activity_take(2, 1, 3, &mount, what, sizeof what)); /* cleared */
    /* left: nothing to blame */
    be_activity_enter(0, "GET", "/");
    be_activity_leave();
    ck_assert(!be_activity_take(2, 1, 3, &mount, what, sizeof what));
    /* a mount the master does not have, another generation */
    be_activity_enter(7, "GET", "/");
    ck_assert(!be_activity_take(2, 1, 3, &mount, what, sizeof what));
    be_activity_enter(0, "GET", "/");
    ck_assert(!be_activity_take(2, 2, 3, &mount, what, sizeof what));
    /* a long path is cut; a short buffer holds what fits */
    char path[400];
    memset(path, 'a', sizeof path - 1);
    path[0] = '/';
    path[sizeof path - 1] = 0;
    be_activity_enter(0, "GET", path);
    char small[8];
    ck_assert(be_activity_take(2, 1, 3, &mount, small, sizeof small));
    ck_assert_str_eq(small, "GET /aa");
    be_activity_enter(0, "GET", path);
    ck_assert(be_activity_take(2, 1, 3, &mount, what, sizeof what));
    ck_assert_uint_lt(strlen(what), BE_ACT_TEXT);
    /* slots beyond the table */
    ck_assert(!be_activity_take(4, 1, 3, &mount, what, sizeof what));
}
END_TEST

Suite *suite_crashrec(void);
Suite *suite_crashrec(void)
{
    Suite *s = suite_create("crashrec");
    TCase *tc = tcase_create("crashrec");
    tcase_add_test(tc, records_gates_untrusted);
    suite_add_tcase(s, tc);
    return s;
}
