/* SPDX-License-Identifier: BSD-2-Clause */
/* See ratelimit.h. */
#include "config.h"

#include "common/ratelimit.h"

bool bx_ratelimit_pass(struct bx_ratelimit *rl, uint64_t now_ms, uint64_t *suppressed)
{
    uint64_t sec = now_ms / 1000 + 1;
    uint64_t last = __atomic_load_n(&rl->sec, __ATOMIC_ACQUIRE);
    /* Only the one process that moves the second forward logs; everyone
     * else in the same second only counts. */
    if (last != sec && __atomic_compare_exchange_n(&rl->sec, &last, sec, false, __ATOMIC_ACQ_REL,
                                                   __ATOMIC_ACQUIRE)) {
        *suppressed = __atomic_exchange_n(&rl->suppressed, 0, __ATOMIC_ACQ_REL);
        return true;
    }
    __atomic_add_fetch(&rl->suppressed, 1, __ATOMIC_ACQ_REL);
    *suppressed = 0;
    return false;
}
