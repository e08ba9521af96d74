/* SPDX-License-Identifier: BSD-2-Clause */
/* A log rate limit: at most one line per second, each line telling how many
 * events went unlogged since the one before. The state is two words updated
 * with atomics only, so it may live in memory shared by many processes (the
 * frontend's children, one per client, share one for refused connections). */
#ifndef BACTRIAN_COMMON_RATELIMIT_H
#define BACTRIAN_COMMON_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct bx_ratelimit {
    uint64_t sec;             /* the second of the last logged event, + 1 (0: never) */
    uint64_t suppressed;      /* events not logged since */
};

/* Counts one event at now_ms. True: log it now, and *suppressed is how many
 * were not logged since the previous line. False: do not log (counted). */
bool bx_ratelimit_pass(struct bx_ratelimit *rl, uint64_t now_ms, uint64_t *suppressed);

#endif
