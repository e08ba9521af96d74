/* SPDX-License-Identifier: BSD-2-Clause */
/* The backend's Unix socket (backend.socket with socket_mode, socket_owner
 * and socket_group), made the one way the master makes it: at start, on a
 * reload, and, for a binary upgrade, by the running master before the
 * execve (upgrade.c), so that an upgrade succeeds exactly where a reload
 * with the same configuration would, and fails while the running image can
 * still carry on. */
#ifndef BACTRIAN_BACKEND_USOCK_H
#define BACTRIAN_BACKEND_USOCK_H

#include <stdbool.h>
#include <stddef.h>

#include "common/listeners.h"

/* The socket as configured (the strings are the caller's). */
struct be_usock {
    const char *path;
    int mode;
    const char *owner, *group; /* NULL: the socket stays ours */
};

/* The listener at s->path: a duplicate of the one held there (*reused
 * true; the mode is applied again, the owner is not changed, as on a
 * reload), else a socket bound with s's mode and owner; replace as
 * bx_listen_unix's. The fd, or -1 with err naming the setting, the path
 * and why (an owner this process may not give the socket: "needs root"). */
int be_usock_open(const struct be_usock *s, const struct bx_lheld *held, size_t nheld, bool replace,
                  bool *reused, char *err, size_t errlen);

#endif
