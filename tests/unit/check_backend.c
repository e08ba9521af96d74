/* Runner for the backend unit tests: one Suite per module. */
#include "config.h"

#include <check.h>
#include <stdlib.h>

Suite *suite_http1(void);
Suite *suite_router(void);
Suite *suite_ev(void);
Suite *suite_range(void);
Suite *suite_crashrec(void);

int main(void)
{
    SRunner *sr = srunner_create(suite_http1());
    srunner_add_suite(sr, suite_router());
    srunner_add_suite(sr, suite_ev());
    srunner_add_suite(sr, suite_range());
    srunner_add_suite(sr, suite_crashrec());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
