/* Runner for the WebSocket unit tests: one Suite per unit. */
#include "config.h"

#include <check.h>
#include <stdlib.h>

Suite *suite_ws_frame(void);
Suite *suite_ws_utf8(void);
Suite *suite_ws_deflate(void);
Suite *suite_ws_handshake(void);

int main(void)
{
    SRunner *sr = srunner_create(suite_ws_frame());
    srunner_add_suite(sr, suite_ws_utf8());
    srunner_add_suite(sr, suite_ws_deflate());
    srunner_add_suite(sr, suite_ws_handshake());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
