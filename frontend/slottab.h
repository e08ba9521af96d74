/* SPDX-License-Identifier: BSD-2-Clause */
/* The master's private table of slot owners: which pid holds which
 * scoreboard slot, of which generation. Plain heap memory of the master,
 * never shared: the scoreboard pages are written by children, so the master
 * takes from them only the state a child reports about itself, and never a
 * pid, index, size or generation to act on. Every loop over slots is bounded
 * by n here, every kill() gets a pid from here, and a hand-off is accepted
 * only from the pid this table says owns the slot it names. */
#ifndef BACTRIAN_FRONTEND_SLOTTAB_H
#define BACTRIAN_FRONTEND_SLOTTAB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct fe_scoreboard;

struct fe_owner {
    pid_t pid;                  /* 0: free */
    unsigned generation;
    uint64_t end_asked_ms;      /* when asked to end its client (reload limits), 0: never */
    int end_killed;             /* killed after that request went unheeded */
};

struct fe_slottab {
    size_t n;                   /* = the scoreboard's nslots, as mapped */
    struct fe_owner *o;
    size_t hint;                /* where the next search for a free slot starts */
};

int fe_slottab_init(struct fe_slottab *t, size_t n);
void fe_slottab_free(struct fe_slottab *t);
/* A free slot index, or -1 when all are owned. */
long fe_slottab_claim(struct fe_slottab *t);
/* The slot pid owns, or -1. */
long fe_slottab_find(const struct fe_slottab *t, pid_t pid);
/* Owned slots whose child says it is idle or starting: what the pool has spare. */
size_t fe_slottab_idle(const struct fe_slottab *t, const struct fe_scoreboard *sb);

/* The hand-off check: the slot the kernel-vouched sender owns, when it is
 * the slot the offer names and its child says it is relaying; else -1 and
 * why (for the log line). */
long fe_slottab_check_handoff(const struct fe_slottab *t, const struct fe_scoreboard *sb,
                              uint32_t claimed, pid_t sender, char *why, size_t whylen);

#endif
