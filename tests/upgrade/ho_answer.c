/* SPDX-License-Identifier: BSD-2-Clause */
/* The backend of ws_handoff.py's answer tests: the same objects as
 * bactrian-backend, but worker 0 of every reloaded generation answers the
 * offers of the old workers as BACTRIAN_TEST_HO_ANSWER says:
 *   R     "I am draining too": the old worker must try another new worker;
 *   none  no answer at all (the descriptor is closed unread): the old worker
 *         must give the session up after its answer timeout, not resume it.
 * So the old worker's paths for those answers run for real. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "backend/ws_handoff.h"
#include "bactrian/module.h"

int be_ho_forced_answer(void)
{
    const char *a = getenv("BACTRIAN_TEST_HO_ANSWER");
    if (!a || bm_config_generation() < 2 || bm_worker_index() != 0)
        return 0;
    if (strcmp(a, "R") == 0)
        return 'R';
    return strcmp(a, "none") == 0 ? BE_HO_NO_ANSWER : 0;
}
