/* SPDX-License-Identifier: BSD-2-Clause */
/* Backend pools: a vhost names one backend or several (vhosts.[].backends,
 * common/baddr.h), and each client is relayed to one of them.
 *
 * Choice: least connections. Children count, for each member of their
 * vhost, the busy slots of the scoreboard that say they relay to it, and
 * take the least busy member that is up; ties are broken by a hash of the
 * connection id, so clients in a row, or picking at the same moment, spread. Least connections
 * rather than round robin because clients differ in length (a WebSocket
 * stays for hours, a GET for milliseconds: round robin balances
 * connections made, not connections open) and a slow member gathers
 * connections and so gets fewer new ones; and because it needs no counter
 * that every child writes: each count is a sum over slots each written by
 * one child, so a lying child skews a count by its own slot, one
 * connection, nothing more.
 *
 * State: each distinct backend of the config has an entry in the
 * scoreboard header's pool table (common/sbfile.h), written by the master
 * only: up or down, connections, failures. A member whose connect fails
 * (refused, timed out) is skipped by that client at once (it tries the next
 * member) and reported in the child's own slot; the master takes a report
 * as a hint only and probes the member itself at once, and marks it down
 * when its own probe fails, for backend_down_time at least. A hostile child
 * can thus make the master probe, not take a member out. The master also
 * probes every member of a pool of two or more (a lone backend is tried
 * whatever its state, so it gets no probes) every backend_check_interval (a TCP or Unix connect
 * and a PROXY v2 LOCAL header, the protocol's health-check command): down
 * members come back when a probe succeeds after backend_down_time, up
 * members that stop answering go down without waiting for a client to
 * fail. Children skip down members unless every member is down (then they
 * try them all, as a single backend is tried during its restart). */
#ifndef BACTRIAN_FRONTEND_POOL_H
#define BACTRIAN_FRONTEND_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cfg.h"
#include "common/sbfile.h"

struct fe_scoreboard;

/* The index in the pool table of member k of vhost v: distinct backends
 * are numbered in config order (vhosts, then members), so every process
 * computes the same numbers from the config alone, never from shared
 * memory. -1 when out of range. */
int fe_pool_index(const struct bx_config *cfg, const struct bx_vhost *v, size_t k);

/* Adds to cnt[i] the busy slots of generation gen that say they relay to
 * table entry i (what their children wrote: each skews its own entry). */
void fe_pool_count(const struct fe_scoreboard *sb, unsigned gen, uint32_t cnt[BX_SB_POOL_MAX]);

/* Member k of vhost v to try next, among those whose bit is clear in
 * tried: up ones first (as the table says when it describes generation
 * gen; the bits of avoid are down in this child's own experience), the
 * least busy of them, ties broken by self (any number that differs from
 * one client to the next). -1 when every member was tried. */
int fe_pool_pick(const struct fe_scoreboard *sb, const struct bx_config *cfg, unsigned gen,
                 const struct bx_vhost *v, uint32_t tried, uint32_t avoid, size_t self);

/* ---- the master's side: the table and the probes ------------------------ */
struct fe_pool;

/* The probes of up to nslots children's reports. NULL when out of memory. */
struct fe_pool *fe_pool_create(size_t nslots);
void fe_pool_destroy(struct fe_pool *p);
/* The table for generation gen's cfg: members named again keep their state
 * (and probes), new ones start up. */
void fe_pool_configure(struct fe_pool *p, struct bx_sb_pool *table, const struct bx_config *cfg,
                       unsigned gen);
/* In a child just forked: closes the probes' descriptors (not ours). */
void fe_pool_forked(struct fe_pool *p);
/* The probes' descriptors into out (at most max): for a process that
 * closes the master's. Returns how many. */
size_t fe_pool_fds(const struct fe_pool *p, int *out, size_t max);
/* A descriptor readable when a probe has finished (for the master's epoll). */
int fe_pool_fd(const struct fe_pool *p);
/* On every pass of the master's loop: children's failure reports, finished
 * and overdue probes, new probes when due, the connection counts. */
void fe_pool_tick(struct fe_pool *p, struct fe_scoreboard *sb, uint64_t now);

#endif
