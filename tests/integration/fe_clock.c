/* SPDX-License-Identifier: BSD-2-Clause */
/* The clock test's frontend (fe_ticket_secret.py): the daemon with a strong
 * fe_ticket_clock_ms (ticketkey.h) that runs BACTRIAN_TEST_CLOCK_OFFSET_MS
 * (signed) ahead of the wall clock, so a test puts frontends in different
 * ticket periods at once instead of waiting minutes for a boundary. */
#include "config.h"

#include <stdlib.h>
#include <time.h>

#include "frontend/ticketkey.h"

uint64_t fe_ticket_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    const char *off = getenv("BACTRIAN_TEST_CLOCK_OFFSET_MS");
    long long o = off ? strtoll(off, NULL, 10) : 0;
    return (uint64_t)((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + o);
}
