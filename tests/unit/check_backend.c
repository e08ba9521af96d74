/* SPDX-License-Identifier: BSD-2-Clause */
/* Runner for the backend/ unit tests (tests/unit/backend/ mirrors backend/):
 * one Suite per source file. */
#include "config.h"

#include <check.h>
#include <stdlib.h>

Suite *suite_http1(void);
Suite *suite_router(void);
Suite *suite_range(void);
Suite *suite_json(void);
Suite *suite_crashrec(void);
Suite *suite_ws_frame(void);
Suite *suite_ws_utf8(void);
Suite *suite_ws_deflate(void);
Suite *suite_ws_handshake(void);
Suite *suite_modset(void);
Suite *suite_pubsub(void);
Suite *suite_pubsub_replay(void);
Suite *suite_ws_handoff_rec(void);
Suite *suite_ws_handoff_session(void);
Suite *suite_http(void);
Suite *suite_conn(void);
Suite *suite_ws_session(void);
Suite *suite_static(void);
Suite *suite_status(void);
Suite *suite_chat(void);
Suite *suite_upgrade(void);
Suite *suite_usock(void);

int main(void)
{
    SRunner *sr = srunner_create(suite_http1());
    srunner_add_suite(sr, suite_router());
    srunner_add_suite(sr, suite_range());
    srunner_add_suite(sr, suite_json());
    srunner_add_suite(sr, suite_crashrec());
    srunner_add_suite(sr, suite_ws_frame());
    srunner_add_suite(sr, suite_ws_utf8());
    srunner_add_suite(sr, suite_ws_deflate());
    srunner_add_suite(sr, suite_ws_handshake());
    srunner_add_suite(sr, suite_modset());
    srunner_add_suite(sr, suite_pubsub());
    srunner_add_suite(sr, suite_pubsub_replay());
    srunner_add_suite(sr, suite_ws_handoff_rec());
    srunner_add_suite(sr, suite_ws_handoff_session());
    srunner_add_suite(sr, suite_http());
    srunner_add_suite(sr, suite_conn());
    srunner_add_suite(sr, suite_ws_session());
    srunner_add_suite(sr, suite_static());
    srunner_add_suite(sr, suite_status());
    srunner_add_suite(sr, suite_chat());
    srunner_add_suite(sr, suite_upgrade());
    srunner_add_suite(sr, suite_usock());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
