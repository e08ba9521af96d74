/* SPDX-License-Identifier: BSD-2-Clause */
/* Vhost and path-prefix routing (see router.h). */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "backend/router.h"
#include "common/cfg.h"
#include "common/xalloc.h"

struct route {
    const char *path;
    size_t len;
    bool any_vhost;
    void *target;
};

struct route_list {
    struct route *v;
    size_t n;
};

struct be_router {
    const struct bx_config *cfg;
    struct route_list *vh;    /* one per cfg vhost, plus one last for "no vhosts" */
    size_t nvh;
    size_t def;               /* index of the default vhost */
};

static int route_cmp(const void *a, const void *b)
{
    const struct route *x = a, *y = b;
    if (x->len != y->len)
        return x->len < y->len ? 1 : -1;
    return (int)x->any_vhost - (int)y->any_vhost;
}

static void add_route(struct route_list *l, const struct be_mount *m, bool any)
{
    size_t len = strlen(m->path);
    l->v = bx_xrealloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] =
        (struct route){.path = m->path, .len = len, .any_vhost = any, .target = m->target};
}

struct be_router *be_router_build(const struct bx_config *cfg, const struct be_mount *m, size_t n)
{
    struct be_router *rt = bx_xcalloc(1, sizeof *rt);
    rt->cfg = cfg;
    rt->nvh = cfg->nvhosts + 1;
    rt->vh = bx_xcalloc(rt->nvh, sizeof *rt->vh);
    const struct bx_vhost *dv = bx_config_default_vhost(cfg);
    rt->def = dv ? (size_t)(dv - cfg->vhosts) : cfg->nvhosts;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(m[i].vhost, "*") == 0) {
            for (size_t v = 0; v < rt->nvh; v++)
                add_route(&rt->vh[v], &m[i], true);
            continue;
        }
        const struct bx_vhost *vh = bx_config_find_vhost(cfg, m[i].vhost, strlen(m[i].vhost));
        if (vh)
            add_route(&rt->vh[vh - cfg->vhosts], &m[i], false);
    }
    for (size_t v = 0; v < rt->nvh; v++)
        if (rt->vh[v].n > 1)
            qsort(rt->vh[v].v, rt->vh[v].n, sizeof *rt->vh[v].v, route_cmp);
    return rt;
}

void be_router_free(struct be_router *rt)
{
    if (!rt)
        return;
    for (size_t v = 0; v < rt->nvh; v++)
        free(rt->vh[v].v);
    free(rt->vh);
    free(rt);
}

static bool prefix_match(const struct route *r, const char *path)
{
    if (strncmp(path, r->path, r->len) != 0)
        return false;
    return r->path[r->len - 1] == '/' || path[r->len] == '\0' || path[r->len] == '/';
}

void *be_router_match(const struct be_router *rt, const char *host, const char *path,
                      size_t *mount_len)
{
    size_t v = rt->def;
    if (host && *host) {
        const struct bx_vhost *vh = bx_config_find_vhost(rt->cfg, host, strlen(host));
        if (vh)
            v = (size_t)(vh - rt->cfg->vhosts);
    }
    const struct route_list *l = &rt->vh[v];
    for (size_t i = 0; i < l->n; i++) {
        if (prefix_match(&l->v[i], path)) {
            *mount_len = l->v[i].len;
            return l->v[i].target;
        }
    }
    return NULL;
}
