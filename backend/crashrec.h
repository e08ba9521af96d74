/* SPDX-License-Identifier: BSD-2-Clause */
/* What a worker was doing when it died, and which mounts are backed off.
 *
 * Two tables in shared memory, made by the master before it forks:
 *  - one activity record per worker slot, written by that worker just before
 *    it runs a module callback for a request (mount index, method, path) and
 *    cleared after; the master reads it after a crash. A worker can write
 *    anything there, so the master checks the mount index against its own
 *    table, takes the module's name from its own memory, and copies the
 *    request text bounded and printable only.
 *  - one gate per mount, written by the master only (workers map it
 *    read-only): a mount that crashed its worker too often is answered with
 *    503 until the gate's time has passed. */
#ifndef BACTRIAN_BACKEND_CRASHREC_H
#define BACTRIAN_BACKEND_CRASHREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BE_MAX_MOUNTS 1024
#define BE_ACT_TEXT 120

struct be_activity {
    uint32_t busy;            /* 1 while a module callback runs */
    uint32_t mount;           /* index in the worker's module set */
    uint32_t generation;
    char what[BE_ACT_TEXT];   /* "GET /path" (not NUL-terminated if full) */
};

/* Master, before forking: both tables (slots worker rows, one gate per mount). */
int be_crashrec_init(size_t slots, char *err, size_t errlen);
/* Worker, after fork: its own row, and the gates made read-only. */
void be_crashrec_attach(size_t slot);
/* Worker: around a module callback serving a request. */
void be_activity_enter(size_t mount, const char *method, const char *path);
void be_activity_leave(void);
/* Worker: ms until the mount is served again (0: served now). */
uint64_t be_mount_backoff_left(size_t mount, uint64_t now_ms);

/* Master: reads a dead worker's row. True when it was in a callback of a
 * mount of generation gen below nmounts; *mount and what (printable, NUL
 * terminated, at most whatlen - 1 bytes) are filled. The row is cleared. */
bool be_activity_take(size_t slot, unsigned gen, size_t nmounts, size_t *mount, char *what,
                      size_t whatlen);
/* Master: the mount answers 503 until until_ms (0 lifts it). */
void be_mount_gate_set(size_t mount, unsigned gen, uint64_t until_ms);
/* Master: lifts every gate (a new generation numbers its mounts anew). */
void be_mount_gates_clear(void);

#endif
