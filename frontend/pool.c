/* SPDX-License-Identifier: BSD-2-Clause */
/* Choosing a pool member (see pool.h); the master's probes are in probe.c. */
#include "config.h"

#include "frontend/pool.h"
#include "frontend/scoreboard.h"

int fe_pool_index(const struct bx_config *cfg, const struct bx_vhost *v, size_t k)
{
    if (k >= v->npool)
        return -1;
    const struct bx_baddr *want = &v->pool[k];
    int idx = 0;
    for (size_t i = 0; i < cfg->nvhosts; i++) {
        const struct bx_vhost *w = &cfg->vhosts[i];
        for (size_t j = 0; j < w->npool; j++) {
            if (bx_baddr_equal(&w->pool[j], want))
                return idx < BX_SB_POOL_MAX ? idx : -1;
            /* counted once: only where it first appears */
            bool seen = false;
            for (size_t a = 0; a <= i && !seen; a++)
                for (size_t b = 0; b < (a == i ? j : cfg->vhosts[a].npool) && !seen; b++)
                    seen = bx_baddr_equal(&cfg->vhosts[a].pool[b], &w->pool[j]);
            idx += !seen;
        }
    }
    return -1;
}

void fe_pool_count(const struct fe_scoreboard *sb, unsigned gen, uint32_t cnt[BX_SB_POOL_MAX])
{
    for (size_t i = 0; i < sb->nslots; i++) {
        const struct bx_sb_slot *s = fe_sb_slot(sb, i);
        int st = fe_slot_get(s);
        uint32_t m = __atomic_load_n(&s->member, __ATOMIC_RELAXED);
        if ((st == FE_SLOT_RELAY || st == FE_SLOT_HANDSHAKE) && s->generation == gen && m >= 1 &&
            m <= BX_SB_POOL_MAX)
            cnt[m - 1]++;
    }
}

int fe_pool_pick(const struct fe_scoreboard *sb, const struct bx_config *cfg, unsigned gen,
                 const struct bx_vhost *v, uint32_t tried, uint32_t avoid, size_t self)
{
    size_t n = v->npool;
    if (n == 0)
        return -1;
    if (n == 1)
        return tried & 1u ? -1 : 0;
    const struct bx_sb_pool *t = &sb->hdr->pool;
    bool table = __atomic_load_n(&t->generation, __ATOMIC_ACQUIRE) == gen;
    uint32_t cnt[BX_SB_POOL_MAX] = {0};
    fe_pool_count(sb, gen, cnt);
    int best = -1;
    unsigned best_key = 0;
    for (size_t r = 0; r < n; r++) {
        size_t k = (self + r) % n; /* ties: the first from our own offset */
        int idx = fe_pool_index(cfg, v, k);
        if (tried & (1u << k) || idx < 0)
            continue;
        bool down = (avoid & (1u << k)) ||
                    (table &&
                     __atomic_load_n(&t->m[idx].state, __ATOMIC_RELAXED) != BX_SB_MEMBER_UP);
        /* down members rank after every up one, by their count too */
        unsigned key = (down ? 1u << 30 : 0) + (cnt[idx] > (1u << 29) ? 1u << 29 : cnt[idx]);
        if (best < 0 || key < best_key) {
            best = (int)k;
            best_key = key;
        }
    }
    return best;
}

_Static_assert(BX_SB_POOL_MAX == BX_POOL_MAX, "the table holds every backend the config allows");
