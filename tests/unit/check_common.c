/* SPDX-License-Identifier: BSD-2-Clause */
/* Runner for the common/ unit tests (tests/unit/common/ mirrors common/):
 * one Suite per source file. */
#include "config.h"

#include <check.h>
#include <stdlib.h>

Suite *suite_config(void);
Suite *suite_cfg_value(void);
Suite *suite_buf(void);
Suite *suite_net(void);
Suite *suite_pidfile(void);
Suite *suite_log(void);
Suite *suite_proxy(void);
Suite *suite_proc(void);
Suite *suite_sbfile(void);
Suite *suite_cidr(void);
Suite *suite_sandbox(void);
Suite *suite_ev(void);
Suite *suite_cli(void);
Suite *suite_xalloc(void);
Suite *suite_ratelimit(void);
Suite *suite_baddr(void);
Suite *suite_supervise(void);
Suite *suite_listeners(void);
Suite *suite_upgrade(void);
Suite *suite_upgrade_report(void);
Suite *suite_words(void);

int main(void)
{
    SRunner *sr = srunner_create(suite_config());
    srunner_add_suite(sr, suite_cfg_value());
    srunner_add_suite(sr, suite_buf());
    srunner_add_suite(sr, suite_net());
    srunner_add_suite(sr, suite_pidfile());
    srunner_add_suite(sr, suite_log());
    srunner_add_suite(sr, suite_proxy());
    srunner_add_suite(sr, suite_proc());
    srunner_add_suite(sr, suite_sbfile());
    srunner_add_suite(sr, suite_cidr());
    srunner_add_suite(sr, suite_sandbox());
    srunner_add_suite(sr, suite_ev());
    srunner_add_suite(sr, suite_cli());
    srunner_add_suite(sr, suite_xalloc());
    srunner_add_suite(sr, suite_ratelimit());
    srunner_add_suite(sr, suite_baddr());
    srunner_add_suite(sr, suite_supervise());
    srunner_add_suite(sr, suite_listeners());
    srunner_add_suite(sr, suite_upgrade());
    srunner_add_suite(sr, suite_upgrade_report());
    srunner_add_suite(sr, suite_words());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
