/* SPDX-License-Identifier: BSD-2-Clause */
/* Shared memory the master writes and its children may only read, or read
 * but for one part of it: the scoreboard (each child writes its own slot)
 * and the session ticket keys (no child writes them).
 *
 * Each region has two mappings made at start: the master's writable one
 * and a read-only view of the same memory. The view comes from a
 * descriptor that can only ever give read-only mappings (a memfd sealed
 * with F_SEAL_FUTURE_WRITE, which also clears VM_MAYWRITE of every later
 * shared mapping; or the scoreboard file opened O_RDONLY, mode 0440), and
 * that descriptor is closed at once: a child that runs an attacker's code
 * cannot mprotect the view writable (mprotect alone would be reversible),
 * and holds no descriptor to map the memory again. After fork a child
 * unmaps the writable mapping but for its own part, and seals what it
 * keeps with mseal(2) (Linux >= 6.10): without that, mremap could grow the
 * kept part over the rest of the region. */
#ifndef BACTRIAN_FRONTEND_SHM_H
#define BACTRIAN_FRONTEND_SHM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct fe_shm {
    void *p;        /* writable mapping, len bytes: the master's */
    const void *ro; /* read-only view of the same memory */
    size_t len;
};

/* A zeroed anonymous region (a memfd named name). children_write: children
 * keep part of the writable mapping (fe_shm_child); else it is not even
 * inherited (MADV_DONTFORK). 0, or -1 with errno. */
int fe_shm_create(struct fe_shm *m, const char *name, size_t len, bool children_write);
/* The same in a file others can map read-only: made under a temporary name
 * with mode 0440, owned by uid:gid when not -1, then renamed over path, so a
 * reader sees the old file or the complete new one. */
int fe_shm_create_file(struct fe_shm *m, const char *path, size_t len, uid_t uid, gid_t gid);
void fe_shm_destroy(struct fe_shm *m);

/* In a child after fork: unmaps the writable mapping except [off, off+len)
 * (page aligned) and seals that part. 0, or -1 with errno. */
int fe_shm_child(const struct fe_shm *m, size_t off, size_t len);

/* Whether this kernel has mseal(2); without it a child can mremap its own
 * part of the writable mapping larger (the master says so at start). */
bool fe_shm_can_seal(void);

#endif
