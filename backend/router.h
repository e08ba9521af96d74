/* SPDX-License-Identifier: BSD-2-Clause */
/* Request routing: the Host header picks a vhost (name or alias, else the
 * default vhost), then the longest mount path that prefixes the request path
 * picks the target. Mounts with vhost "*" belong to every vhost; on equal
 * length a mount on the named vhost wins over a "*" one. A mount "/a"
 * matches "/a" and "/a/..." but not "/ab". */
#ifndef BACTRIAN_BACKEND_ROUTER_H
#define BACTRIAN_BACKEND_ROUTER_H

#include <stddef.h>

struct bx_config;
struct be_router;

struct be_mount {
    const char *vhost;        /* vhost name or alias as configured, or "*" */
    const char *path;         /* starts with '/' */
    void *target;
};

/* Builds the table; vhost names are resolved against cfg's vhost list.
 * A mount naming an unknown vhost is ignored (the config check refuses it). */
struct be_router *be_router_build(const struct bx_config *cfg, const struct be_mount *m, size_t n);
void be_router_free(struct be_router *rt);

/* Returns the target for host (lower case, no port; may be "") and path, or
 * NULL; *mount_len is the length of the matched mount path. */
void *be_router_match(const struct be_router *rt, const char *host, const char *path,
                      size_t *mount_len);

#endif
