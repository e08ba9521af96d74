/* SPDX-License-Identifier: BSD-2-Clause */
/* Pid files that refuse a second instance. The file stays locked (fcntl
 * write lock, which children do not inherit) for the life of the process that
 * created it, so a live holder is detected reliably and a stale file left by a
 * crash is simply taken over. */
#ifndef BACTRIAN_COMMON_PIDFILE_H
#define BACTRIAN_COMMON_PIDFILE_H

#include <stddef.h>
#include <sys/types.h>

/* Creates and locks path, writes our pid. Returns the open fd (keep it open),
 * or -1 with err naming the file and, if so, the pid of the live holder. */
int bx_pidfile_create(const char *path, char *err, size_t errlen);
/* Removes the file if it still holds our pid, and closes fd. */
void bx_pidfile_remove(const char *path, int fd);
/* The pid of the process holding the lock on path, 0 if none, -1 on error. */
pid_t bx_pidfile_holder(const char *path);

#endif
