/* SPDX-License-Identifier: BSD-2-Clause */
/* Checks across settings (cfg_int.h), run once every value is parsed: the
 * relations between settings, names and files that must exist, backend
 * addresses and vhost pools, pub/sub. Each adds its errors to the load's. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cfg.h"
#include "common/cfg_int.h"
#include "common/log.h"
#include "common/net.h"

static bool file_readable(const char *p)
{
    return access(p, R_OK) == 0;
}

static bool valid_host_name(const char *s)
{
    if (!*s || strlen(s) > 253)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '.' && *s != '_')
            return false;
    return true;
}

static const config_setting_t *find_setting(struct ctx *x, const char *path)
{
    return config_lookup(&x->c->lc, path);
}

static int setting_line(struct ctx *x, const char *path)
{
    const config_setting_t *s = find_setting(x, path);
    return s ? (int)config_setting_source_line(s) : 0;
}

void bx_cfg_check_frontend(struct ctx *x, int need)
{
    struct bx_frontend_conf *fe = &x->c->fe;
    const char *p = "frontend";
    int line = setting_line(x, p);
    if (fe->min_spare > fe->max_spare)
        bx_cfg_err_line(x, setting_line(x, "frontend.min_spare"), "frontend.min_spare",
                        "must not be larger than max_spare (%d)", fe->max_spare);
    if (fe->max_spare > fe->max_children)
        bx_cfg_err_line(x, setting_line(x, "frontend.max_spare"), "frontend.max_spare",
                        "must not be larger than max_children (%d)", fe->max_children);
    if (fe->nservices == 0 && find_setting(x, "frontend.services"))
        bx_cfg_err_line(x, setting_line(x, "frontend.services"), "frontend.services",
                        "must list at least one service");
    bool any_tls = false;
    for (size_t i = 0; i < fe->nservices; i++) {
        struct bx_service *sv = &fe->services[i];
        char sp[64];
        snprintf(sp, sizeof sp, "frontend.services.[%zu]", i);
        sv->line = setting_line(x, sp);
        any_tls |= sv->tls;
        if (sv->bind.n == 0) {
            sv->bind.v = bx_cfg_alloc(x->c, 3 * sizeof(char *));
            sv->bind.v[0] = bx_config_strdup(x->c, "0.0.0.0");
            sv->bind.v[1] = bx_config_strdup(x->c, "::");
            sv->bind.n = 2;
        }
        for (size_t b = 0; b < sv->bind.n; b++) {
            struct sockaddr_storage ss;
            socklen_t len;
            if (bx_sockaddr_parse(sv->bind.v[b], sv->port, &ss, &len) == -1)
                bx_cfg_err_line(x, sv->line, sp, "bind address '%s' is not an IPv4 or IPv6 address",
                                sv->bind.v[b]);
            for (size_t j = 0; j < i; j++)
                for (size_t k = 0; k < fe->services[j].bind.n; k++)
                    if (fe->services[j].port == sv->port &&
                        strcmp(fe->services[j].bind.v[k], sv->bind.v[b]) == 0)
                        bx_cfg_err_line(x, sv->line, sp,
                                        "%s port %d is already used by service [%zu]",
                                        sv->bind.v[b], sv->port, j);
        }
        if (sv->proxy_protocol != BX_PROXY_OFF && sv->proxy_from.n == 0)
            bx_cfg_err_line(x, sv->line, sp,
                            "proxy_protocol needs proxy_from: the addresses allowed to send it");
    }
    struct bx_tls_conf *tls = &fe->tls;
    if (tls->default_vhost &&
        !bx_config_find_vhost(x->c, tls->default_vhost, strlen(tls->default_vhost)))
        bx_cfg_err_line(x, setting_line(x, "frontend.tls.default_vhost"),
                        "frontend.tls.default_vhost", "no vhost is named '%s'", tls->default_vhost);
    if (!(need & BX_CONF_FRONTEND))
        return;
    if (x->c->nvhosts == 0)
        bx_cfg_err_line(x, line, "vhosts", "the frontend needs at least one vhost");
    for (size_t i = 0; i < x->c->nvhosts; i++) {
        struct bx_vhost *v = &x->c->vhosts[i];
        char vp[64];
        snprintf(vp, sizeof vp, "vhosts.[%zu]", i);
        if (any_tls) {
            if (!v->cert)
                bx_cfg_err_line(x, v->line, vp, "cert is required: a service has tls = true");
            else if (!file_readable(v->cert))
                bx_cfg_err_line(x, v->line, vp, "cert file %s: %s", v->cert, strerror(errno));
            /* Whether the key can be read is the key process's to say (it may
             * read keys this process cannot: frontend/keyproc.h); it names
             * the file when it cannot. */
            if (!v->key)
                bx_cfg_err_line(x, v->line, vp, "key is required: a service has tls = true");
        }
        if (!v->npool && !v->backend && !v->backends.n)
            bx_cfg_err_line(x, v->line, vp, "backend is required: no backend.socket to default to");
    }
}

static bool name_taken(struct ctx *x, size_t upto, const char *name)
{
    for (size_t i = 0; i < upto; i++) {
        struct bx_vhost *v = &x->c->vhosts[i];
        if (strcasecmp(v->name, name) == 0)
            return true;
        for (size_t a = 0; a < v->aliases.n; a++)
            if (strcasecmp(v->aliases.v[a], name) == 0)
                return true;
    }
    return false;
}

/* One backend address of vhost v into *out (a path is taken from the
 * config's directory, a TCP host resolved now). False after an error that
 * names the vhost and the value. */
static bool parse_member(struct ctx *x, const struct bx_vhost *v, const char *vp, const char *s,
                         struct bx_baddr *out)
{
    char path[BX_BADDR_TEXTLEN], host[BX_BADDR_TEXTLEN], err[BX_ERRLEN];
    int port = 0;
    enum bx_baddr_kind kind;
    memset(out, 0, sizeof *out);
    if (bx_baddr_split(s, &kind, path, sizeof path, host, sizeof host, &port, err, sizeof err) ==
            -1 ||
        (kind == BX_BADDR_TCP && bx_baddr_resolve(host, port, out, err, sizeof err) == -1)) {
        bx_cfg_err_line(x, v->line, vp, "vhost '%s': backend '%s': %s", v->name ? v->name : "?", s,
                        err);
        return false;
    }
    if (kind == BX_BADDR_UNIX) {
        out->kind = BX_BADDR_UNIX;
        out->path = bx_config_path(x->c, path);
        snprintf(out->text, sizeof out->text, "unix:%s", out->path);
    }
    return true;
}

/* vhosts.[i].backend and .backends into v->pool: one or the other. */
static void parse_pool(struct ctx *x, struct bx_vhost *v, const char *vp)
{
    if (v->backend && v->backends.n) {
        bx_cfg_err_line(x, v->line, vp, "vhost '%s': backend and backends: set one of them",
                        v->name ? v->name : "?");
        return;
    }
    size_t n = v->backends.n ? v->backends.n : v->backend ? 1 : 0;
    if (n > BX_POOL_MAX) {
        bx_cfg_err_line(x, v->line, vp, "vhost '%s': %zu backends, at most %d",
                        v->name ? v->name : "?", n, BX_POOL_MAX);
        return;
    }
    v->pool = bx_cfg_alloc(x->c, sizeof *v->pool * (n + 1));
    v->npool = 0;
    for (size_t i = 0; i < n; i++) {
        const char *s = v->backends.n ? v->backends.v[i] : v->backend;
        if (!parse_member(x, v, vp, s, &v->pool[v->npool]))
            continue;
        for (size_t j = 0; j < v->npool; j++)
            if (bx_baddr_equal(&v->pool[j], &v->pool[v->npool]))
                bx_cfg_err_line(x, v->line, vp, "vhost '%s': backend '%s' is listed twice",
                                v->name ? v->name : "?", s);
        v->npool++;
    }
    /* The first member, as before pools: a Unix path stays a plain path. */
    if (v->npool)
        v->backend = v->pool[0].kind == BX_BADDR_UNIX ? v->pool[0].path : v->pool[0].text;
}

/* The frontend keeps one state per distinct backend (frontend/pool.h), in
 * a table of BX_POOL_MAX. */
static void count_members(struct ctx *x)
{
    size_t distinct = 0;
    for (size_t i = 0; i < x->c->nvhosts; i++)
        for (size_t k = 0; k < x->c->vhosts[i].npool; k++) {
            bool seen = false;
            for (size_t j = 0; j <= i && !seen; j++)
                for (size_t l = 0; l < (j == i ? k : x->c->vhosts[j].npool) && !seen; l++)
                    seen = bx_baddr_equal(&x->c->vhosts[j].pool[l], &x->c->vhosts[i].pool[k]);
            distinct += !seen;
        }
    if (distinct > BX_POOL_MAX)
        bx_cfg_err_line(x, setting_line(x, "vhosts"), "vhosts",
                        "%zu distinct backends in all vhosts, at most %d", distinct, BX_POOL_MAX);
}

void bx_cfg_check_vhosts(struct ctx *x)
{
    for (size_t i = 0; i < x->c->nvhosts; i++) {
        struct bx_vhost *v = &x->c->vhosts[i];
        char vp[64];
        snprintf(vp, sizeof vp, "vhosts.[%zu]", i);
        v->line = setting_line(x, vp);
        if (!v->name)
            continue;
        if (!valid_host_name(v->name))
            bx_cfg_err_line(x, v->line, vp, "name '%s' is not a valid host name", v->name);
        if (name_taken(x, i, v->name))
            bx_cfg_err_line(x, v->line, vp, "name '%s' is already used by another vhost", v->name);
        for (size_t a = 0; a < v->aliases.n; a++) {
            if (!valid_host_name(v->aliases.v[a]))
                bx_cfg_err_line(x, v->line, vp, "alias '%s' is not a valid host name",
                                v->aliases.v[a]);
            if (name_taken(x, i, v->aliases.v[a]) || strcasecmp(v->aliases.v[a], v->name) == 0)
                bx_cfg_err_line(x, v->line, vp, "alias '%s' is already used by another vhost",
                                v->aliases.v[a]);
        }
        if ((v->cert == NULL) != (v->key == NULL))
            bx_cfg_err_line(x, v->line, vp, "cert and key go together: set both or neither");
        if (!v->backend && !v->backends.n && x->c->has_backend && x->c->be.socket)
            v->backend = x->c->be.socket;
        parse_pool(x, v, vp);
    }
    count_members(x);
}

static bool valid_module_name(const char *s)
{
    if (!*s || strlen(s) > 64)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
            return false;
    return true;
}

/* backend.pubsub.redis: "HOST:PORT" or "[v6]:PORT", resolved now (at start and
 * on reload, in the master): the workers that connect are confined and may
 * read no resolver file, so they get an address, never a name. */
static void check_pubsub(struct ctx *x)
{
    struct bx_pubsub_conf *ps = &x->c->be.pubsub;
    const char *sp = "backend.pubsub.redis";
    if (ps->redis_retry_min_ms > ps->redis_retry_max_ms)
        bx_cfg_err_line(x, setting_line(x, "backend.pubsub.redis_retry_min"),
                        "backend.pubsub.redis_retry_min",
                        "must not be larger than redis_retry_max");
    if (strlen(ps->channel_prefix) > 64)
        bx_cfg_err_line(x, setting_line(x, "backend.pubsub.channel_prefix"),
                        "backend.pubsub.channel_prefix", "at most 64 bytes");
    if (!ps->redis)
        return;
    char host[256];
    const char *colon = strrchr(ps->redis, ':');
    const char *h = ps->redis;
    size_t hl = colon ? (size_t)(colon - h) : 0;
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    if (!colon || hl == 0 || hl >= sizeof host || !end || *end || end == colon + 1 || port < 1 ||
        port > 65535) {
        bx_cfg_err_line(x, setting_line(x, sp), sp, "'%s' is not HOST:PORT or [IPv6]:PORT",
                        ps->redis);
        return;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(host, colon + 1, &hints, &ai);
    if (rc != 0 || !ai || ai->ai_addrlen > sizeof ps->redis_addr) {
        bx_cfg_err_line(x, setting_line(x, sp), sp, "cannot resolve '%s': %s", host,
                        rc ? gai_strerror(rc) : "no address");
    } else {
        memcpy(&ps->redis_addr, ai->ai_addr, ai->ai_addrlen);
        ps->redis_addrlen = (socklen_t)ai->ai_addrlen;
        ps->redis_port = (int)port;
    }
    if (ai)
        freeaddrinfo(ai);
}

void bx_cfg_check_backend(struct ctx *x, int need)
{
    struct bx_backend_conf *be = &x->c->be;
    int line = setting_line(x, "backend");
    if (!be->socket && be->nlisten == 0)
        bx_cfg_err_line(x, line, "backend.socket",
                        "required unless backend.listen lists a TCP listener");
    for (size_t i = 0; i < be->nlisten; i++) {
        struct bx_backend_listen *l = &be->listen[i];
        char lp[64];
        snprintf(lp, sizeof lp, "backend.listen.[%zu]", i);
        l->line = setting_line(x, lp);
        if (l->proxy_protocol != BX_PROXY_OFF && l->proxy_from.n == 0)
            bx_cfg_err_line(x, l->line, lp,
                            "proxy_protocol needs proxy_from: the addresses allowed to send it");
    }
    check_pubsub(x);
    if (be->workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        be->workers = n > 0 ? (int)n : 1;
    }
    if (need & BX_CONF_BACKEND) {
        struct stat st;
        if (stat(be->module_dir, &st) == -1 || !S_ISDIR(st.st_mode))
            bx_cfg_err_line(x, setting_line(x, "backend.module_dir") ?: line, "backend.module_dir",
                            "%s is not a directory", be->module_dir);
    }
    for (size_t i = 0; i < be->nmodules; i++) {
        struct bx_module_conf *m = &be->modules[i];
        if (!m->module)
            continue;
        if (!valid_module_name(m->module))
            bx_cfg_err_line(x, m->line, m->setting_path,
                            "module name '%s' may hold only letters, digits, '_' and '-'",
                            m->module);
        if (m->path[0] != '/')
            bx_cfg_err_line(x, m->line, m->setting_path, "path '%s' must start with '/'", m->path);
        if (strcmp(m->vhost, "*") != 0 && !bx_config_find_vhost(x->c, m->vhost, strlen(m->vhost)))
            bx_cfg_err_line(x, m->line, m->setting_path, "vhost '%s' is not a vhost name or alias",
                            m->vhost);
        for (size_t j = 0; j < i; j++)
            if (be->modules[j].module && strcasecmp(be->modules[j].vhost, m->vhost) == 0 &&
                strcmp(be->modules[j].path, m->path) == 0)
                bx_cfg_err_line(x, m->line, m->setting_path,
                                "vhost '%s' path '%s' is already mounted by %s", m->vhost, m->path,
                                be->modules[j].setting_path);
    }
}
