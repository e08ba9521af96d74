/* SPDX-License-Identifier: BSD-2-Clause */
/* Listener reuse across reloads (listeners.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/listeners.h"
#include "common/net.h"
#include "common/proc.h"

static bool str_same(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

bool bx_lplace_same(const struct bx_lplace *a, const struct bx_lplace *b)
{
    if (a->path || b->path)
        return str_same(a->path, b->path);
    return a->port == b->port && str_same(a->addr, b->addr);
}

int bx_lheld_find(const struct bx_lheld *held, size_t n, const struct bx_lplace *want)
{
    for (size_t i = 0; held && i < n; i++)
        if (held[i].fd >= 0 && bx_lplace_same(&held[i].at, want))
            return held[i].fd;
    return -1;
}

int bx_listen_tcp_wait(const char *addr, int port, int backlog, unsigned wait_ms, unsigned step_ms,
                       char *err, size_t errlen)
{
    uint64_t until = bx_now_ms() + wait_ms;
    long step_ns = (long)(step_ms ? step_ms : 10) * 1000000L;
    for (;;) {
        int fd = bx_listen_tcp(addr, port, backlog, err, errlen);
        if (fd != -1 || errno != EADDRINUSE || bx_now_ms() >= until)
            return fd;
        struct timespec ts = {step_ns / 1000000000L, step_ns % 1000000000L};
        nanosleep(&ts, NULL);
    }
}

int bx_listener_open(const struct bx_lheld *held, size_t n, const struct bx_lplace *want,
                     const struct bx_lbind *how, bool *reused, char *err, size_t errlen)
{
    int old = bx_lheld_find(held, n, want);
    *reused = old >= 0;
    if (old >= 0) {
        int fd = fcntl(old, F_DUPFD_CLOEXEC, 0);
        if (fd == -1)
            snprintf(err, errlen, "cannot keep the listener of %s%s: %s",
                     want->path ? "unix socket " : "", want->path ? want->path : want->addr,
                     strerror(errno));
        return fd;
    }
    if (want->path)
        return bx_listen_unix(want->path, how->mode, how->uid, how->gid, how->backlog, how->replace,
                              err, errlen);
    return bx_listen_tcp_wait(want->addr, want->port, how->backlog, how->wait_ms, how->step_ms, err,
                              errlen);
}
