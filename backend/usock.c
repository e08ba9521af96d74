/* SPDX-License-Identifier: BSD-2-Clause */
/* The backend's Unix socket (usock.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/usock.h"
#include "common/net.h"
#include "common/proc.h"

/* "'name'" or "unset", for the messages. */
static const char *quoted(const char *name, char *out, size_t outlen)
{
    if (!name || !*name)
        return "unset";
    snprintf(out, outlen, "'%.64s'", name);
    return out;
}

/* err for a failed bind of s (what: bx_listen_unix's words, why: errno). */
static void explain(const struct be_usock *s, int why, const char *what, char *err, size_t errlen)
{
    char o[72], g[72];
    if (why == EPERM && (s->owner || s->group) && geteuid() != 0)
        snprintf(err, errlen,
                 "backend.socket_owner %s, socket_group %s: the chown of unix socket %s to them "
                 "needs root (this master runs as uid %ld)",
                 quoted(s->owner, o, sizeof o), quoted(s->group, g, sizeof g), s->path,
                 (long)geteuid());
    else
        snprintf(err, errlen, "backend.socket %s: %s", s->path, what);
}

int be_usock_open(const struct be_usock *s, const struct bx_lheld *held, size_t nheld, bool replace,
                  bool *reused, char *err, size_t errlen)
{
    char e[BX_ERRLEN];
    struct bx_lbind how = {.backlog = 1024, .mode = s->mode, .replace = replace};
    *reused = false;
    if (bx_lookup_user(s->owner, s->group, &how.uid, &how.gid, e, sizeof e) == -1) {
        snprintf(err, errlen, "backend.socket_owner/socket_group: %s", e);
        return -1;
    }
    struct bx_lplace at = {.path = s->path};
    int fd = bx_listener_open(held, nheld, &at, &how, reused, e, sizeof e);
    if (fd == -1) {
        explain(s, errno, e, err, errlen);
        return -1;
    }
    if (*reused)
        chmod(s->path, (mode_t)s->mode);
    return fd;
}
