/* Shared memory the master writes and its children may only read, or read
 * but for a part of it: the scoreboard (each child writes its own slot)
 * and the session ticket keys (no child writes them).
 *
 * Why not mprotect: a child that runs an attacker's code can mprotect a
 * page writable again as long as the mapping came from a writable file
 * description. So the read-only views come from a descriptor that can only
 * ever give read-only mappings: a memfd sealed with F_SEAL_FUTURE_WRITE
 * (Linux >= 5.1; it also clears VM_MAYWRITE of every later shared
 * mapping), or the scoreboard file opened O_RDONLY (mode 0440, so no
 * process of the frontend's user can open it for writing either). The
 * master's own writable mapping was made before the seal and keeps
 * working. */
#ifndef BACTRIAN_FRONTEND_SHM_H
#define BACTRIAN_FRONTEND_SHM_H

#include <stddef.h>
#include <sys/types.h>

struct fe_shm {
    void *p;        /* the master's writable mapping, len bytes */
    size_t len;
    int ro_fd;      /* gives read-only mappings only; -1 once closed */
};

/* A zeroed anonymous region (a sealed memfd named name). 0, or -1 with errno. */
int fe_shm_create(struct fe_shm *m, const char *name, size_t len);
/* The same in a file others can map read-only: made under a temporary name
 * with mode 0440, owned by uid:gid when not -1, then renamed over path, so a
 * reader sees the old file or the complete new one. */
int fe_shm_create_file(struct fe_shm *m, const char *path, size_t len, uid_t uid, gid_t gid);
void fe_shm_destroy(struct fe_shm *m);

/* In a child after fork: [off, off+len) of m->p (page aligned) becomes a
 * read-only view of the same memory, at the same address. 0 or -1. */
int fe_shm_readonly(const struct fe_shm *m, size_t off, size_t len);
/* In a child once its views are made: no more views (closes ro_fd). */
void fe_shm_close_fd(struct fe_shm *m);

#endif
