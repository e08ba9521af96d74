/* SPDX-License-Identifier: BSD-2-Clause */
/* The master's private slot owners; see slottab.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "frontend/scoreboard.h"
#include "frontend/slottab.h"

int fe_slottab_init(struct fe_slottab *t, size_t n)
{
    t->n = n;
    t->hint = 0;
    t->o = calloc(n ? n : 1, sizeof *t->o);
    return t->o ? 0 : -1;
}

void fe_slottab_free(struct fe_slottab *t)
{
    free(t->o);
    t->o = NULL;
    t->n = 0;
}

long fe_slottab_claim(struct fe_slottab *t)
{
    for (size_t k = 0; k < t->n; k++) {
        size_t i = (t->hint + k) % t->n;
        if (t->o[i].pid == 0) {
            t->hint = i + 1;
            return (long)i;
        }
    }
    return -1;
}

long fe_slottab_find(const struct fe_slottab *t, pid_t pid)
{
    if (pid <= 0)
        return -1;
    for (size_t i = 0; i < t->n; i++)
        if (t->o[i].pid == pid)
            return (long)i;
    return -1;
}

size_t fe_slottab_idle(const struct fe_slottab *t, const struct fe_scoreboard *sb)
{
    size_t idle = 0;
    for (size_t i = 0; i < t->n; i++) {
        const struct bx_sb_slot *s = fe_sb_slot(sb, i);
        if (t->o[i].pid == 0 || !s)
            continue;
        int st = fe_slot_get(s);
        idle += st == FE_SLOT_IDLE || st == FE_SLOT_STARTING;
    }
    return idle;
}

long fe_slottab_check_handoff(const struct fe_slottab *t, const struct fe_scoreboard *sb,
                              uint32_t claimed, pid_t sender, char *why, size_t whylen)
{
    long own = fe_slottab_find(t, sender);
    if (own < 0) {
        snprintf(why, whylen, "pid %d owns no slot", (int)sender);
        return -1;
    }
    if ((uint64_t)claimed != (uint64_t)own) {
        snprintf(why, whylen, "pid %d owns slot %ld but claims slot %u", (int)sender, own,
                 (unsigned)claimed);
        return -1;
    }
    const struct bx_sb_slot *s = fe_sb_slot(sb, (size_t)own);
    int st = s ? fe_slot_get(s) : -1;
    if (st != FE_SLOT_RELAY) {
        snprintf(why, whylen, "slot %ld is %s, not relaying", own, fe_slot_state_name(st));
        return -1;
    }
    return own;
}
