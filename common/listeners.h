/* SPDX-License-Identifier: BSD-2-Clause */
/* Listener reuse across reloads, for both masters. A reload builds the new
 * generation's listeners from its configuration: a listener bound at the same
 * place as one of the running generation gets a duplicate of that socket (its
 * queued clients stay queued, no bind race, no port briefly closed); a new
 * place is bound; a place that is gone is closed when the running generation
 * is freed, since only it held that socket. Duplicates rather than moving the
 * descriptor: a reload that fails half way just closes what it opened and
 * the running generation is untouched (no give-back bookkeeping). */
#ifndef BACTRIAN_COMMON_LISTENERS_H
#define BACTRIAN_COMMON_LISTENERS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Where a listener is bound, as configured: a Unix socket path (path set),
 * or a TCP address literal and port. The strings are the caller's. */
struct bx_lplace {
    const char *path;
    const char *addr;
    int port;
};

/* A listening socket a running generation holds, and its place. */
struct bx_lheld {
    int fd;
    struct bx_lplace at;
};

/* How a listener missing from the running generation is bound. */
struct bx_lbind {
    int backlog;
    /* TCP: EADDRINUSE is retried for this long, every step_ms (the children
     * of a master that was just killed let go of the port a few ms after its
     * death); 0: fail at once. */
    unsigned wait_ms, step_ms;
    /* Unix: file mode, owner and group (-1: unchanged), and whether a path
     * an orphan still answers on may be taken over (see bx_listen_unix). */
    int mode;
    uid_t uid;
    gid_t gid;
    bool replace;
};

/* True when a and b are the same place (same kind, same text, same port). */
bool bx_lplace_same(const struct bx_lplace *a, const struct bx_lplace *b);

/* The descriptor held for want among held[0..n), or -1. */
int bx_lheld_find(const struct bx_lheld *held, size_t n, const struct bx_lplace *want);

/* The listener for want: a close-on-exec duplicate of the running
 * generation's socket at that place (*reused true), else a new socket bound
 * as how says. -1 with err set on failure (errno kept for the caller). */
int bx_listener_open(const struct bx_lheld *held, size_t n, const struct bx_lplace *want,
                     const struct bx_lbind *how, bool *reused, char *err, size_t errlen);

/* bx_listen_tcp, retrying EADDRINUSE for wait_ms every step_ms. */
int bx_listen_tcp_wait(const char *addr, int port, int backlog, unsigned wait_ms, unsigned step_ms,
                       char *err, size_t errlen);

#endif
