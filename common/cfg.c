/* SPDX-License-Identifier: BSD-2-Clause */
/* Loading the configuration file: the schema tables (one row per setting,
 * with its type, range, default and place in struct bx_config), the arena
 * everything loaded lives in, and the entry points both daemons use (see
 * cfg.h). The walk that validates a file against the tables is in
 * cfg_parse.c and cfg_value.c, the checks across settings in cfg_check.c;
 * they share the types of cfg_int.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/cfg.h"
#include "common/cfg_int.h"
#include "common/log.h"
#include "common/xalloc.h"

/* ---- arena: everything the config owns is freed in one call ---------------- */

struct arena_blk {
    struct arena_blk *next;
    max_align_t data[];
};

void *bx_cfg_alloc(struct bx_config *c, size_t n)
{
    struct arena_blk *b = bx_xcalloc(1, sizeof *b + n);
    b->next = c->arena;
    c->arena = b;
    return b->data;
}

char *bx_config_strdup(struct bx_config *c, const char *s)
{
    size_t n = strlen(s);
    char *p = bx_cfg_alloc(c, n + 1);
    memcpy(p, s, n + 1);
    return p;
}

char *bx_config_path(struct bx_config *c, const char *p)
{
    if (!p || !*p)
        return NULL;
    if (p[0] == '/' || !c->dir)
        return bx_config_strdup(c, p);
    size_t n = strlen(c->dir) + strlen(p) + 2;
    char *r = bx_cfg_alloc(c, n);
    snprintf(r, n, "%s/%s", c->dir, p);
    return r;
}

/* ---- schema ---------------------------------------------------------------- */

/* clang-format off */
#define F(...) { __VA_ARGS__ }
#define END { NULL, 0, 0, 0, 0, 0, NULL, false, NULL, 0 }
#define SEC(x) ((int64_t)(x) * 1000)

#define FE(m) offsetof(struct bx_frontend_conf, m)
#define SV(m) offsetof(struct bx_service, m)
#define TL(m) offsetof(struct bx_tls_conf, m)
#define VH(m) offsetof(struct bx_vhost, m)
#define BE(m) offsetof(struct bx_backend_conf, m)
#define BL(m) offsetof(struct bx_backend_listen, m)
#define MO(m) offsetof(struct bx_module_conf, m)
#define PS(m) offsetof(struct bx_pubsub_conf, m)

static const struct field service_fields[] = {
    F(.name = "port", .type = T_INT, .off = SV(port), .min = 1, .max = 65535, .required = true),
    F(.name = "bind", .type = T_STRV, .off = SV(bind)),
    F(.name = "tls", .type = T_BOOL, .off = SV(tls)),
    F(.name = "proxy_protocol", .type = T_PROXY, .off = SV(proxy_protocol), .def_str = "off"),
    F(.name = "proxy_from", .type = T_CIDRV, .off = SV(proxy_from)),
    F(.name = "allow", .type = T_CIDRV, .off = SV(allow)),
    F(.name = "deny", .type = T_CIDRV, .off = SV(deny)),
    END,
};
static const struct schema service_schema = {service_fields, sizeof(struct bx_service), false};

static const struct field tls_fields[] = {
    F(.name = "protocols", .type = T_TLSPROTO, .off = TL(min_version), .def_str = "TLSv1.2:TLSv1.3"),
    F(.name = "ciphers", .type = T_STR, .off = TL(ciphers),
      .def_str = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!SHA1"),
    F(.name = "ciphersuites", .type = T_STR, .off = TL(ciphersuites),
      .def_str = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"),
    F(.name = "default_vhost", .type = T_STR, .off = TL(default_vhost)),
    F(.name = "strict_sni", .type = T_BOOL, .off = TL(strict_sni)),
    F(.name = "ticket_rotate", .type = T_DURATION, .off = TL(ticket_rotate_ms), .min = SEC(60),
      .max = SEC(86400), .def = SEC(3600)),
    F(.name = "ticket_secret_file", .type = T_PATH, .off = TL(ticket_secret_file)),
    END,
};
static const struct schema tls_schema = {tls_fields, 0, false};

static const struct field frontend_fields[] = {
    F(.name = "user", .type = T_STR, .off = FE(user)),
    F(.name = "group", .type = T_STR, .off = FE(group)),
    F(.name = "pid_file", .type = T_PATH, .off = FE(pid_file),
      .def_str = RUNSTATEDIR "/bactrian-frontend.pid"),
    F(.name = "scoreboard_file", .type = T_PATH, .off = FE(scoreboard_file)),
    F(.name = "error_log", .type = T_STR, .off = FE(error_log), .def_str = "syslog"),
    F(.name = "log_level", .type = T_LEVEL, .off = FE(log_level), .def_str = "info"),
    F(.name = "max_children", .type = T_INT, .off = FE(max_children), .min = 1, .max = 1000000,
      .def = 1024),
    F(.name = "min_spare", .type = T_INT, .off = FE(min_spare), .min = 0, .max = 100000, .def = 8),
    F(.name = "max_spare", .type = T_INT, .off = FE(max_spare), .min = 1, .max = 100000, .def = 32),
    F(.name = "per_ip_max", .type = T_INT, .off = FE(per_ip_max), .min = 0, .max = 1000000,
      .def = 64),
    F(.name = "clients_per_child", .type = T_INT, .off = FE(clients_per_child), .min = 1,
      .max = 1000000, .def = 1),
    F(.name = "debug_ip", .type = T_IPADDR, .off = FE(debug_ip)),
    F(.name = "handshake_timeout", .type = T_DURATION, .off = FE(handshake_timeout_ms),
      .min = 100, .max = SEC(3600), .def = SEC(10)),
    F(.name = "request_timeout", .type = T_DURATION, .off = FE(request_timeout_ms), .min = 100,
      .max = SEC(3600), .def = SEC(30)),
    F(.name = "idle_timeout", .type = T_DURATION, .off = FE(idle_timeout_ms), .min = 100,
      .max = SEC(86400), .def = SEC(300)),
    F(.name = "stall_timeout", .type = T_DURATION, .off = FE(stall_timeout_ms), .min = 100,
      .max = SEC(3600), .def = SEC(60)),
    F(.name = "backend_retry", .type = T_DURATION, .off = FE(backend_retry_ms), .min = 0,
      .max = SEC(60), .def = SEC(3)),
    F(.name = "backend_connect_timeout", .type = T_DURATION,
      .off = FE(backend_connect_timeout_ms), .min = 10, .max = SEC(60), .def = SEC(1)),
    F(.name = "backend_down_time", .type = T_DURATION, .off = FE(backend_down_ms), .min = 100,
      .max = SEC(3600), .def = SEC(5)),
    F(.name = "backend_check_interval", .type = T_DURATION,
      .off = FE(backend_check_interval_ms), .min = 100, .max = SEC(3600), .def = SEC(2)),
    F(.name = "reload_max_generations", .type = T_INT, .off = FE(reload_max_generations),
      .min = 0, .max = 64, .def = 0),
    F(.name = "reload_max_age", .type = T_DURATION, .off = FE(reload_max_age_ms), .min = 0,
      .max = SEC(7 * 86400), .def = 0),
    F(.name = "services", .type = T_LIST, .off = FE(services), .off2 = FE(nservices),
      .sub = &service_schema, .required = true),
    F(.name = "tls", .type = T_GROUP, .off = FE(tls), .sub = &tls_schema),
    END,
};
static const struct schema frontend_schema = {frontend_fields, 0, false};

static const struct field vhost_fields[] = {
    F(.name = "name", .type = T_STR, .off = VH(name), .required = true),
    F(.name = "aliases", .type = T_STRV, .off = VH(aliases)),
    F(.name = "cert", .type = T_PATH, .off = VH(cert)),
    F(.name = "key", .type = T_PATH, .off = VH(key)),
    F(.name = "backend", .type = T_STR, .off = VH(backend)),
    F(.name = "backends", .type = T_STRV, .off = VH(backends)),
    END,
};
static const struct schema vhost_schema = {vhost_fields, sizeof(struct bx_vhost), false};

static const struct field listen_fields[] = {
    F(.name = "address", .type = T_IPADDR, .off = BL(address), .required = true),
    F(.name = "port", .type = T_INT, .off = BL(port), .min = 1, .max = 65535, .required = true),
    F(.name = "proxy_protocol", .type = T_PROXY, .off = BL(proxy_protocol), .def_str = "off"),
    F(.name = "proxy_from", .type = T_CIDRV, .off = BL(proxy_from)),
    END,
};
static const struct schema listen_schema = {listen_fields, sizeof(struct bx_backend_listen), false};

static const struct field module_fields[] = {
    F(.name = "module", .type = T_STR, .off = MO(module), .required = true),
    F(.name = "vhost", .type = T_STR, .off = MO(vhost), .def_str = "*"),
    F(.name = "path", .type = T_STR, .off = MO(path), .def_str = "/"),
    END,
};
const struct schema bx_cfg_module_schema = {module_fields, sizeof(struct bx_module_conf), true};

static const struct field pubsub_fields[] = {
    F(.name = "redis", .type = T_STR, .off = PS(redis)),
    F(.name = "redis_user", .type = T_STR, .off = PS(redis_user)),
    F(.name = "redis_password", .type = T_STR, .off = PS(redis_password)),
    F(.name = "channel_prefix", .type = T_STR, .off = PS(channel_prefix), .def_str = "bactrian:"),
    F(.name = "redis_connect_timeout", .type = T_DURATION, .off = PS(redis_connect_timeout_ms),
      .min = 100, .max = SEC(600), .def = SEC(3)),
    F(.name = "redis_reply_timeout", .type = T_DURATION, .off = PS(redis_reply_timeout_ms),
      .min = 100, .max = SEC(600), .def = SEC(5)),
    F(.name = "redis_retry_min", .type = T_DURATION, .off = PS(redis_retry_min_ms), .min = 10,
      .max = SEC(600), .def = 100),
    F(.name = "redis_retry_max", .type = T_DURATION, .off = PS(redis_retry_max_ms), .min = 10,
      .max = SEC(3600), .def = SEC(5)),
    F(.name = "outage_buffer", .type = T_SIZE, .off = PS(outage_buffer), .min = 0,
      .max = INT64_C(1) << 32, .def = 1 << 20),
    F(.name = "outage_flush_delay", .type = T_DURATION, .off = PS(outage_flush_delay_ms),
      .min = 0, .max = SEC(600), .def = SEC(1)),
    END,
};
static const struct schema pubsub_schema = {pubsub_fields, 0, false};

static const struct field backend_fields[] = {
    F(.name = "user", .type = T_STR, .off = BE(user)),
    F(.name = "group", .type = T_STR, .off = BE(group)),
    F(.name = "pid_file", .type = T_PATH, .off = BE(pid_file),
      .def_str = RUNSTATEDIR "/bactrian-backend.pid"),
    F(.name = "error_log", .type = T_STR, .off = BE(error_log), .def_str = "syslog"),
    F(.name = "access_log", .type = T_PATH, .off = BE(access_log)),
    F(.name = "log_level", .type = T_LEVEL, .off = BE(log_level), .def_str = "info"),
    F(.name = "socket", .type = T_PATH, .off = BE(socket)),
    F(.name = "socket_mode", .type = T_MODE, .off = BE(socket_mode), .def_str = "0660"),
    F(.name = "socket_owner", .type = T_STR, .off = BE(socket_owner)),
    F(.name = "socket_group", .type = T_STR, .off = BE(socket_group)),
    F(.name = "socket_proxy_protocol", .type = T_PROXY, .off = BE(socket_proxy_protocol),
      .def_str = "optional"),
    F(.name = "listen", .type = T_LIST, .off = BE(listen), .off2 = BE(nlisten),
      .sub = &listen_schema),
    F(.name = "workers", .type = T_INT, .off = BE(workers), .min = 0, .max = 1024, .def = 0),
    F(.name = "module_dir", .type = T_PATH, .off = BE(module_dir), .def_str = MODULEDIR),
    F(.name = "max_request_line", .type = T_INT, .off = BE(max_request_line), .min = 256,
      .max = 1 << 20, .def = 8192),
    F(.name = "max_header_size", .type = T_INT, .off = BE(max_header_size), .min = 1024,
      .max = 1 << 22, .def = 32768),
    F(.name = "max_headers", .type = T_INT, .off = BE(max_headers), .min = 1, .max = 10000,
      .def = 100),
    F(.name = "max_body_size", .type = T_SIZE, .off = BE(max_body_size), .min = 0,
      .max = INT64_C(1) << 40, .def = 16 << 20),
    F(.name = "header_timeout", .type = T_DURATION, .off = BE(header_timeout_ms), .min = 100,
      .max = SEC(3600), .def = SEC(10)),
    F(.name = "body_timeout", .type = T_DURATION, .off = BE(body_timeout_ms), .min = 100,
      .max = SEC(3600), .def = SEC(30)),
    F(.name = "idle_timeout", .type = T_DURATION, .off = BE(idle_timeout_ms), .min = 100,
      .max = SEC(86400), .def = SEC(60)),
    F(.name = "shutdown_timeout", .type = T_DURATION, .off = BE(shutdown_timeout_ms), .min = 0,
      .max = SEC(86400), .def = SEC(30)),
    F(.name = "handoff_timeout", .type = T_DURATION, .off = BE(handoff_timeout_ms), .min = 0,
      .max = SEC(3600), .def = SEC(10)),
    F(.name = "keepalive_requests", .type = T_INT, .off = BE(keepalive_requests), .min = 1,
      .max = 100000000, .def = 10000),
    F(.name = "module_crash_limit", .type = T_INT, .off = BE(module_crash_limit), .min = 0,
      .max = 1000000, .def = 3),
    F(.name = "module_crash_window", .type = T_DURATION, .off = BE(module_crash_window_ms),
      .min = 1000, .max = SEC(86400), .def = SEC(60)),
    F(.name = "module_crash_backoff", .type = T_DURATION, .off = BE(module_crash_backoff_ms),
      .min = 100, .max = SEC(86400), .def = SEC(30)),
    F(.name = "modules", .type = T_LIST, .off = BE(modules), .off2 = BE(nmodules),
      .sub = &bx_cfg_module_schema),
    F(.name = "pubsub", .type = T_GROUP, .off = BE(pubsub), .sub = &pubsub_schema),
    END,
};
static const struct schema backend_schema = {backend_fields, 0, false};
/* clang-format on */

/* ---- top level ----------------------------------------------------------------- */

static const struct field top_fields[] = {
    F(.name = "frontend", .type = T_GROUP, .off = offsetof(struct bx_config, fe),
      .sub = &frontend_schema),
    F(.name = "backend", .type = T_GROUP, .off = offsetof(struct bx_config, be),
      .sub = &backend_schema),
    F(.name = "vhosts", .type = T_LIST, .off = offsetof(struct bx_config, vhosts),
      .off2 = offsetof(struct bx_config, nvhosts), .sub = &vhost_schema),
    END,
};
static const struct schema top_schema = {top_fields, 0, false};

int bx_config_load(struct bx_config *c, const char *path, int need, char **errors)
{
    struct ctx x = {.c = c};
    memset(c, 0, sizeof *c);
    bx_buf_init(&x.errors);
    c->path = bx_config_strdup(c, path);
    const char *slash = strrchr(path, '/');
    c->dir = slash ? bx_config_strdup(c, path) : NULL;
    if (slash)
        c->dir[slash - path == 0 ? 1 : slash - path] = '\0';
    config_init(&c->lc);
    if (c->dir)
        config_set_include_dir(&c->lc, c->dir);

    if (!config_read_file(&c->lc, path)) {
        if (config_error_type(&c->lc) == CONFIG_ERR_FILE_IO)
            bx_buf_printf(&x.errors, "%s: cannot read: %s\n", path, strerror(errno));
        else
            bx_buf_printf(&x.errors, "%s:%d: %s\n",
                          config_error_file(&c->lc) ? config_error_file(&c->lc) : path,
                          config_error_line(&c->lc), config_error_text(&c->lc));
        x.nerrors++;
        goto out;
    }
    const config_setting_t *root = config_root_setting(&c->lc);
    c->has_frontend = config_setting_get_member(root, "frontend") != NULL;
    c->has_backend = config_setting_get_member(root, "backend") != NULL;
    /* Defaults first so a missing section still leaves sane values behind. */
    bx_cfg_apply_defaults(&x, &frontend_schema, &c->fe);
    bx_cfg_apply_defaults(&x, &backend_schema, &c->be);
    bx_cfg_parse_group(&x, root, "", &top_schema, c);
    if ((need & BX_CONF_FRONTEND) && !c->has_frontend)
        bx_cfg_err_line(&x, 1, "frontend", "required: bactrian-frontend reads this section");
    if ((need & BX_CONF_BACKEND) && !c->has_backend)
        bx_cfg_err_line(&x, 1, "backend", "required: bactrian-backend reads this section");
    bx_cfg_check_vhosts(&x);
    if (c->has_frontend && x.nerrors == 0)
        bx_cfg_check_frontend(&x, need);
    if (c->has_backend && x.nerrors == 0)
        bx_cfg_check_backend(&x, need);
out:
    if (x.nerrors > MAX_ERRORS)
        bx_buf_printf(&x.errors, "%s: %d more errors not shown\n", path, x.nerrors - MAX_ERRORS);
    if (x.nerrors == 0) {
        bx_buf_free(&x.errors);
        if (errors)
            *errors = NULL;
        return 0;
    }
    bx_buf_append(&x.errors, "", 1);
    if (errors)
        *errors = x.errors.data;
    else
        bx_buf_free(&x.errors);
    bx_config_free(c);
    return -1;
}

void bx_config_free(struct bx_config *c)
{
    if (!c->path && !c->arena)
        return;
    config_destroy(&c->lc);
    struct arena_blk *b = c->arena;
    while (b) {
        struct arena_blk *next = b->next;
        free(b);
        b = next;
    }
    memset(c, 0, sizeof *c);
}

const struct bx_vhost *bx_config_find_vhost(const struct bx_config *c, const char *host, size_t len)
{
    for (size_t i = 0; i < c->nvhosts; i++) {
        const struct bx_vhost *v = &c->vhosts[i];
        if (v->name && strlen(v->name) == len && strncasecmp(v->name, host, len) == 0)
            return v;
        for (size_t a = 0; a < v->aliases.n; a++)
            if (strlen(v->aliases.v[a]) == len && strncasecmp(v->aliases.v[a], host, len) == 0)
                return v;
    }
    return NULL;
}

const struct bx_vhost *bx_config_default_vhost(const struct bx_config *c)
{
    if (c->fe.tls.default_vhost) {
        const struct bx_vhost *v = bx_config_find_vhost(c, c->fe.tls.default_vhost,
                                                        strlen(c->fe.tls.default_vhost));
        if (v)
            return v;
    }
    return c->nvhosts ? &c->vhosts[0] : NULL;
}
