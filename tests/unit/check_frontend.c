/* SPDX-License-Identifier: BSD-2-Clause */
/* Runner for the frontend/ unit tests. */
#include "config.h"

#include <check.h>
#include <stdlib.h>

Suite *suite_fe_http(void);
Suite *suite_fe_scoreboard(void);
Suite *suite_fe_tlsrec(void);
Suite *suite_fe_lean(void);
Suite *suite_fe_slottab(void);
Suite *suite_fe_ktls(void);
Suite *suite_fe_keyproc(void);
Suite *suite_fe_refuse(void);
Suite *suite_fe_access(void);
Suite *suite_fe_waitroom(void);
Suite *suite_fe_shm(void);
Suite *suite_fe_lifeline(void);
Suite *suite_fe_arena(void);
Suite *suite_fe_relay(void);
Suite *suite_fe_keystub(void);
Suite *suite_fe_ticketkey(void);
Suite *suite_fe_upcheck(void);
Suite *suite_fe_upvhost(void);

int main(void)
{
    SRunner *sr = srunner_create(suite_fe_http());
    srunner_add_suite(sr, suite_fe_scoreboard());
    srunner_add_suite(sr, suite_fe_tlsrec());
    srunner_add_suite(sr, suite_fe_lean());
    srunner_add_suite(sr, suite_fe_slottab());
    srunner_add_suite(sr, suite_fe_ktls());
    srunner_add_suite(sr, suite_fe_keyproc());
    srunner_add_suite(sr, suite_fe_refuse());
    srunner_add_suite(sr, suite_fe_access());
    srunner_add_suite(sr, suite_fe_waitroom());
    srunner_add_suite(sr, suite_fe_shm());
    srunner_add_suite(sr, suite_fe_lifeline());
    srunner_add_suite(sr, suite_fe_arena());
    srunner_add_suite(sr, suite_fe_relay());
    srunner_add_suite(sr, suite_fe_keystub());
    srunner_add_suite(sr, suite_fe_ticketkey());
    srunner_add_suite(sr, suite_fe_upcheck());
    srunner_add_suite(sr, suite_fe_upvhost());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
