/* SPDX-License-Identifier: BSD-2-Clause */
/* A bump arena for OpenSSL's allocations in a lean relay child.
 *
 * Why: a lean child (lean.h) is forked from the master and must write to as
 * few pages as possible, because every page it writes becomes its own copy
 * for as long as its client stays. glibc's malloc would place OpenSSL's
 * cipher contexts among the master's heap chunks, writing several of the
 * master's pages; the arena puts them on fresh pages of the child's own.
 * Frees of arena memory are no-ops: a lean child allocates only at setup
 * and on the rare KeyUpdate, and exits when its connection ends. */
#ifndef BACTRIAN_FRONTEND_ARENA_H
#define BACTRIAN_FRONTEND_ARENA_H

#include <stdbool.h>
#include <stddef.h>

/* Routes OpenSSL's allocations through us (to malloc until fe_arena_use).
 * Must run before OpenSSL allocates anything; false when it was too late. */
bool fe_arena_install(void);

/* From now on OpenSSL allocates from a fresh mapping of size bytes (and from
 * malloc once it is full). Returns false when the mapping failed. */
bool fe_arena_use(size_t size);

#endif
