/* SPDX-License-Identifier: BSD-2-Clause */
/* Loading the configuration file: the schema tables (one row per setting,
 * with its type, range, default and place in struct bx_config), the walk that
 * validates a file against them, and the lookups both daemons use (see cfg.h). */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cfg.h"
#include "common/log.h"
#include "common/xalloc.h"

/* ---- arena: everything the config owns is freed in one call ---------------- */

struct arena_blk {
    struct arena_blk *next;
    max_align_t data[];
};

static void *arena_alloc(struct bx_config *c, size_t n)
{
    struct arena_blk *b = bx_xcalloc(1, sizeof *b + n);
    b->next = c->arena;
    c->arena = b;
    return b->data;
}

char *bx_config_strdup(struct bx_config *c, const char *s)
{
    size_t n = strlen(s);
    char *p = arena_alloc(c, n + 1);
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
    char *r = arena_alloc(c, n);
    snprintf(r, n, "%s/%s", c->dir, p);
    return r;
}

/* ---- schema ---------------------------------------------------------------- */

enum ftype {
    T_INT,      /* int, min..max */
    T_BOOL,
    T_STR,      /* string, NULL when absent */
    T_PATH,     /* string resolved against the config's directory; "" = none */
    T_STRV,     /* array of strings */
    T_DURATION, /* seconds (int or float) stored as milliseconds, min..max in ms */
    T_SIZE,     /* bytes: integer or "64K", "16M", "1G"; stored as int64_t */
    T_LEVEL,    /* log level name */
    T_PROXY,    /* "off" | "optional" | "required" */
    T_CIDRV,    /* array of network prefixes */
    T_MODE,     /* octal file mode as a string: "0660" */
    T_TLSPROTO, /* "TLSv1.2:TLSv1.3": fills two ints, min then max */
    T_IPADDR,   /* an IPv4 or IPv6 literal */
    T_GROUP,    /* nested group, sub schema */
    T_LIST,     /* list of groups, sub schema; array at off, count at off2 */
};

struct schema;

struct field {
    const char *name;
    enum ftype type;
    size_t off;
    int64_t min, max;
    int64_t def;          /* default for numbers and booleans */
    const char *def_str;  /* default for strings, paths, enums */
    bool required;
    const struct schema *sub;
    size_t off2;          /* T_LIST: where the count goes */
};

struct schema {
    const struct field *fields;
    size_t elem_size;     /* for T_LIST elements */
    bool open;            /* unknown names are allowed (module blocks) */
};

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
static const struct schema module_schema = {module_fields, sizeof(struct bx_module_conf), true};

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
      .sub = &module_schema),
    F(.name = "pubsub", .type = T_GROUP, .off = BE(pubsub), .sub = &pubsub_schema),
    END,
};
static const struct schema backend_schema = {backend_fields, 0, false};
/* clang-format on */

/* ---- error collection -------------------------------------------------------- */

#define MAX_ERRORS 100

struct ctx {
    struct bx_config *c;
    struct bx_buf errors;
    int nerrors;
};

static void verr(struct ctx *x, int line, const char *path, const char *fmt, va_list ap)
{
    if (++x->nerrors > MAX_ERRORS)
        return;
    bx_buf_printf(&x->errors, "%s:%d: setting '%s': ", x->c->path, line, path);
    bx_buf_vprintf(&x->errors, fmt, ap);
    bx_buf_append(&x->errors, "\n", 1);
}

static void __attribute__((format(printf, 4, 5)))
err_line(struct ctx *x, int line, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verr(x, line, path, fmt, ap);
    va_end(ap);
}

static void __attribute__((format(printf, 4, 5)))
err_at(struct ctx *x, const config_setting_t *s, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verr(x, s ? (int)config_setting_source_line(s) : 0, path, fmt, ap);
    va_end(ap);
}

/* ---- value parsers ------------------------------------------------------------ */

static bool is_int(const config_setting_t *s)
{
    int t = config_setting_type(s);
    return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
}

static void range_error(struct ctx *x, const config_setting_t *s, const char *path,
                        const struct field *f, const char *unit, int64_t div)
{
    if (f->max == INT64_MAX || f->max == 0)
        err_at(x, s, path, "must be at least %lld%s", (long long)(f->min / div), unit);
    else
        err_at(x, s, path, "must be %lld-%lld%s", (long long)(f->min / div),
               (long long)(f->max / div), unit);
}

static int parse_size(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || v < 0)
        return -1;
    int64_t mul = 1;
    switch (toupper((unsigned char)*end)) {
    case '\0': break;
    case 'K': mul = 1024; end++; break;
    case 'M': mul = 1024 * 1024; end++; break;
    case 'G': mul = INT64_C(1024) * 1024 * 1024; end++; break;
    default: return -1;
    }
    if ((*end == 'B' || *end == 'b') && mul > 1)
        end++;
    if (*end || v > INT64_MAX / mul)
        return -1;
    *out = v * mul;
    return 0;
}

/* Multiplier to milliseconds of a duration's unit: "ms", "s", "m", "h", "d". */
static double duration_unit(const char *u)
{
    static const struct { const char *name; double ms; } units[] = {
        {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
    };
    for (size_t i = 0; i < sizeof units / sizeof *units; i++)
        if (strcmp(u, units[i].name) == 0)
            return units[i].ms;
    return 0;
}

int bx_cfg_duration_ms(const config_setting_t *s, double *ms)
{
    int t = config_setting_type(s);
    if (is_int(s)) {
        *ms = (double)config_setting_get_int64(s) * 1000.0;
        return 0;
    }
    if (t == CONFIG_TYPE_FLOAT) {
        *ms = config_setting_get_float(s) * 1000.0;
        return 0;
    }
    if (t != CONFIG_TYPE_STRING)
        return -1;
    const char *str = config_setting_get_string(s);
    char *end;
    errno = 0;
    double n = strtod(str, &end);
    /* digits first: no "inf", "nan", hex or leading blanks */
    if (errno || end == str || !isdigit((unsigned char)*str) || n < 0)
        return -1;
    double mul = duration_unit(end);
    if (mul == 0)
        return -1;
    *ms = n * mul;
    return 0;
}

int bx_cfg_size(const config_setting_t *s, int64_t *bytes)
{
    if (is_int(s)) {
        *bytes = config_setting_get_int64(s);
        return 0;
    }
    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return -1;
    return parse_size(config_setting_get_string(s), bytes);
}

static int tls_version(const char *name)
{
    if (strcmp(name, "TLSv1.2") == 0)
        return TLS1_2_VERSION;
    if (strcmp(name, "TLSv1.3") == 0)
        return TLS1_3_VERSION;
    return 0;
}

static bool read_strv(struct ctx *x, const config_setting_t *s, const char *path,
                      struct bx_strv *out)
{
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) {
        err_at(x, s, path, "must be an array of strings, like [ \"a\", \"b\" ]");
        return false;
    }
    int n = config_setting_length(s);
    out->n = 0;
    out->v = arena_alloc(x->c, sizeof(char *) * (size_t)(n + 1));
    for (int i = 0; i < n; i++) {
        const char *v = config_setting_get_string_elem(s, i);
        if (!v) {
            err_at(x, s, path, "element %d must be a string", i);
            return false;
        }
        out->v[out->n++] = bx_config_strdup(x->c, v);
    }
    return true;
}

static void parse_group(struct ctx *x, const config_setting_t *g, const char *path,
                        const struct schema *sc, void *base);

/* One value being parsed: where it is in the file, what the schema says of
 * it, where it goes (p = base + f->off), and its text for string types. */
struct val {
    struct ctx *x;
    const config_setting_t *s;
    const char *path;
    const struct field *f;
    void *base;
    char *p;
    const char *str;
};

static void __attribute__((format(printf, 2, 3))) bad(const struct val *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verr(v->x, v->s ? (int)config_setting_source_line(v->s) : 0, v->path, fmt, ap);
    va_end(ap);
}

static void parse_int(const struct val *v)
{
    if (!is_int(v->s)) {
        bad(v, "must be an integer");
        return;
    }
    long long n = config_setting_get_int64(v->s);
    if (n < v->f->min || n > v->f->max) {
        range_error(v->x, v->s, v->path, v->f, "", 1);
        return;
    }
    *(int *)v->p = (int)n;
}

static void parse_bool(const struct val *v)
{
    if (config_setting_type(v->s) != CONFIG_TYPE_BOOL) {
        bad(v, "must be true or false");
        return;
    }
    *(bool *)v->p = config_setting_get_bool(v->s) != 0;
}

static void parse_str(const struct val *v)
{
    *(char **)v->p = bx_config_strdup(v->x->c, v->str);
}

static void parse_path(const struct val *v)
{
    *(char **)v->p = bx_config_path(v->x->c, v->str);
}

static void parse_strv(const struct val *v)
{
    read_strv(v->x, v->s, v->path, (struct bx_strv *)v->p);
}

static void parse_duration(const struct val *v)
{
    double ms;
    if (bx_cfg_duration_ms(v->s, &ms) == -1) {
        bad(v, "%s", BX_CFG_DURATION_HINT);
        return;
    }
    if (ms < (double)v->f->min || ms > (double)v->f->max) {
        bad(v, "must be %g-%g seconds", (double)v->f->min / 1000.0, (double)v->f->max / 1000.0);
        return;
    }
    *(int *)v->p = (int)ms;
}

static void parse_size_field(const struct val *v)
{
    int64_t n;
    if (bx_cfg_size(v->s, &n) == -1) {
        bad(v, "%s", BX_CFG_SIZE_HINT);
        return;
    }
    if (n < v->f->min || n > v->f->max) {
        range_error(v->x, v->s, v->path, v->f, " bytes", 1);
        return;
    }
    *(int64_t *)v->p = n;
}

static void parse_level(const struct val *v)
{
    int lv = bx_log_level_parse(v->str);
    if (lv < 0) {
        bad(v, "must be one of error, warn, notice, info, debug");
        return;
    }
    *(int *)v->p = lv;
}

static void parse_proxy(const struct val *v)
{
    enum bx_proxy_mode *m = (enum bx_proxy_mode *)v->p;
    if (strcmp(v->str, "off") == 0)
        *m = BX_PROXY_OFF;
    else if (strcmp(v->str, "optional") == 0)
        *m = BX_PROXY_OPTIONAL;
    else if (strcmp(v->str, "required") == 0)
        *m = BX_PROXY_REQUIRED;
    else
        bad(v, "must be \"off\", \"optional\" or \"required\"");
}

static void parse_cidrv(const struct val *v)
{
    struct bx_strv sv = {0};
    if (!read_strv(v->x, v->s, v->path, &sv))
        return;
    struct bx_cidr_list *l = (struct bx_cidr_list *)v->p;
    l->v = arena_alloc(v->x->c, sizeof(struct bx_cidr) * (sv.n + 1));
    l->n = 0;
    for (size_t i = 0; i < sv.n; i++) {
        if (bx_cidr_parse(sv.v[i], &l->v[l->n]) == -1)
            bad(v, "'%s' is not an address or network like 10.0.0.0/8 or ::1", sv.v[i]);
        else
            l->n++;
    }
}

static void parse_mode(const struct val *v)
{
    char *end;
    long m = strtol(v->str, &end, 8);
    if (!*v->str || *end || m < 0 || m > 07777) {
        bad(v, "must be an octal file mode in quotes, like \"0660\"");
        return;
    }
    *(int *)v->p = (int)m;
}

/* "LO:HI" or one version: fills two ints, min then max. */
static void parse_tlsproto(const struct val *v)
{
    const char *str = v->str;
    char a[16] = "", b[16] = "";
    const char *colon = strchr(str, ':');
    size_t la = colon ? (size_t)(colon - str) : strlen(str);
    if (la < sizeof a)
        memcpy(a, str, la);
    if (colon && strlen(colon + 1) < sizeof b)
        strcpy(b, colon + 1);
    int lo = tls_version(a), hi = colon ? tls_version(b) : lo;
    if (!lo || !hi || lo > hi) {
        bad(v, "must be \"TLSv1.2:TLSv1.3\", \"TLSv1.2\" or \"TLSv1.3\" (older versions are "
               "not supported)");
        return;
    }
    ((int *)v->p)[0] = lo;
    ((int *)v->p)[1] = hi;
}

static void parse_ipaddr(const struct val *v)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (bx_sockaddr_parse(v->str, 0, &ss, &len) == -1) {
        bad(v, "'%s' is not an IPv4 or IPv6 address", v->str);
        return;
    }
    *(char **)v->p = bx_config_strdup(v->x->c, v->str);
}

static void parse_subgroup(const struct val *v)
{
    if (!config_setting_is_group(v->s)) {
        bad(v, "must be a group: { ... }");
        return;
    }
    parse_group(v->x, v->s, v->path, v->f->sub, v->p);
}

/* A list of groups: an arena array of sub->elem_size elements at off, the
 * count at off2. Module blocks also keep their setting, for the module's
 * own keys (read later through the bm_conf accessors). */
static void parse_list(const struct val *v)
{
    const struct field *f = v->f;
    if (!config_setting_is_list(v->s) && !config_setting_is_array(v->s)) {
        bad(v, "must be a list of groups: ( { ... }, { ... } )");
        return;
    }
    int n = config_setting_length(v->s);
    char *arr = arena_alloc(v->x->c, f->sub->elem_size * (size_t)(n + 1));
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(v->s, (unsigned)i);
        char epath[300];
        snprintf(epath, sizeof epath, "%s.[%d]", v->path, i);
        if (!config_setting_is_group(e)) {
            err_at(v->x, e, epath, "must be a group: { ... }");
            continue;
        }
        void *eb = arr + f->sub->elem_size * (size_t)i;
        parse_group(v->x, e, epath, f->sub, eb);
        if (f->sub == &module_schema) {
            struct bx_module_conf *m = eb;
            m->setting = e;
            m->setting_path = bx_config_strdup(v->x->c, epath);
            m->line = (int)config_setting_source_line(e);
        }
    }
    *(void **)v->p = arr;
    *(size_t *)((char *)v->base + f->off2) = (size_t)n;
}

/* Per type: its parser, and whether the value must be a string (checked
 * once here, so the parsers get it as v->str). */
/* clang-format off */
static const struct {
    void (*parse)(const struct val *v);
    bool string;
} ftypes[] = {
    [T_INT] = {parse_int, false},
    [T_BOOL] = {parse_bool, false},
    [T_STR] = {parse_str, true},
    [T_PATH] = {parse_path, true},
    [T_STRV] = {parse_strv, false},
    [T_DURATION] = {parse_duration, false},
    [T_SIZE] = {parse_size_field, false},
    [T_LEVEL] = {parse_level, true},
    [T_PROXY] = {parse_proxy, true},
    [T_CIDRV] = {parse_cidrv, false},
    [T_MODE] = {parse_mode, true},
    [T_TLSPROTO] = {parse_tlsproto, true},
    [T_IPADDR] = {parse_ipaddr, true},
    [T_GROUP] = {parse_subgroup, false},
    [T_LIST] = {parse_list, false},
};
/* clang-format on */

static void parse_field(struct ctx *x, const config_setting_t *s, const char *path,
                        const struct field *f, void *base)
{
    struct val v = {x, s, path, f, base, (char *)base + f->off, NULL};
    if (ftypes[f->type].string) {
        v.str = config_setting_get_string(s);
        if (!v.str) {
            bad(&v, "must be a string in double quotes");
            return;
        }
    }
    ftypes[f->type].parse(&v);
}

static void apply_defaults(struct ctx *x, const struct schema *sc, void *base)
{
    for (const struct field *f = sc->fields; f->name; f++) {
        char *p = (char *)base + f->off;
        switch (f->type) {
        case T_INT:
        case T_DURATION:
            *(int *)p = (int)f->def;
            break;
        case T_BOOL:
            *(bool *)p = f->def != 0;
            break;
        case T_SIZE:
            *(int64_t *)p = f->def;
            break;
        case T_STR:
            *(char **)p = f->def_str ? bx_config_strdup(x->c, f->def_str) : NULL;
            break;
        case T_PATH:
            *(char **)p = f->def_str ? bx_config_path(x->c, f->def_str) : NULL;
            break;
        case T_LEVEL:
            *(int *)p = bx_log_level_parse(f->def_str);
            break;
        case T_PROXY:
            *(enum bx_proxy_mode *)p = strcmp(f->def_str, "required") == 0   ? BX_PROXY_REQUIRED
                                       : strcmp(f->def_str, "optional") == 0 ? BX_PROXY_OPTIONAL
                                                                             : BX_PROXY_OFF;
            break;
        case T_MODE:
            *(int *)p = (int)strtol(f->def_str, NULL, 8);
            break;
        case T_TLSPROTO:
            ((int *)p)[0] = TLS1_2_VERSION;
            ((int *)p)[1] = TLS1_3_VERSION;
            break;
        case T_GROUP:
            apply_defaults(x, f->sub, p);
            break;
        default:
            break; /* arrays and lists start empty (zeroed) */
        }
    }
}

static void parse_group(struct ctx *x, const config_setting_t *g, const char *path,
                        const struct schema *sc, void *base)
{
    uint64_t seen = 0;
    apply_defaults(x, sc, base);
    int n = config_setting_length(g);
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        const char *name = config_setting_name(s);
        char spath[300];
        snprintf(spath, sizeof spath, "%s%s%s", path, *path ? "." : "", name ? name : "?");
        const struct field *f = sc->fields;
        size_t idx = 0;
        for (; f->name; f++, idx++)
            if (name && strcmp(f->name, name) == 0)
                break;
        if (!f->name) {
            if (!sc->open)
                err_at(x, s, spath, "unknown setting");
            continue;
        }
        seen |= UINT64_C(1) << idx;
        parse_field(x, s, spath, f, base);
    }
    size_t idx = 0;
    for (const struct field *f = sc->fields; f->name; f++, idx++)
        if (f->required && !(seen & (UINT64_C(1) << idx))) {
            char spath[300];
            snprintf(spath, sizeof spath, "%s%s%s", path, *path ? "." : "", f->name);
            err_at(x, g, spath, "required");
        }
}

/* ---- checks across settings --------------------------------------------------- */

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

static void check_frontend(struct ctx *x, int need)
{
    struct bx_frontend_conf *fe = &x->c->fe;
    const char *p = "frontend";
    int line = setting_line(x, p);
    if (fe->min_spare > fe->max_spare)
        err_line(x, setting_line(x, "frontend.min_spare"), "frontend.min_spare",
                 "must not be larger than max_spare (%d)", fe->max_spare);
    if (fe->max_spare > fe->max_children)
        err_line(x, setting_line(x, "frontend.max_spare"), "frontend.max_spare",
                 "must not be larger than max_children (%d)", fe->max_children);
    if (fe->nservices == 0 && find_setting(x, "frontend.services"))
        err_line(x, setting_line(x, "frontend.services"), "frontend.services",
                 "must list at least one service");
    bool any_tls = false;
    for (size_t i = 0; i < fe->nservices; i++) {
        struct bx_service *sv = &fe->services[i];
        char sp[64];
        snprintf(sp, sizeof sp, "frontend.services.[%zu]", i);
        sv->line = setting_line(x, sp);
        any_tls |= sv->tls;
        if (sv->bind.n == 0) {
            sv->bind.v = arena_alloc(x->c, 3 * sizeof(char *));
            sv->bind.v[0] = bx_config_strdup(x->c, "0.0.0.0");
            sv->bind.v[1] = bx_config_strdup(x->c, "::");
            sv->bind.n = 2;
        }
        for (size_t b = 0; b < sv->bind.n; b++) {
            struct sockaddr_storage ss;
            socklen_t len;
            if (bx_sockaddr_parse(sv->bind.v[b], sv->port, &ss, &len) == -1)
                err_line(x, sv->line, sp, "bind address '%s' is not an IPv4 or IPv6 address",
                         sv->bind.v[b]);
            for (size_t j = 0; j < i; j++)
                for (size_t k = 0; k < fe->services[j].bind.n; k++)
                    if (fe->services[j].port == sv->port &&
                        strcmp(fe->services[j].bind.v[k], sv->bind.v[b]) == 0)
                        err_line(x, sv->line, sp, "%s port %d is already used by service [%zu]",
                                 sv->bind.v[b], sv->port, j);
        }
        if (sv->proxy_protocol != BX_PROXY_OFF && sv->proxy_from.n == 0)
            err_line(x, sv->line, sp,
                     "proxy_protocol needs proxy_from: the addresses allowed to send it");
    }
    struct bx_tls_conf *tls = &fe->tls;
    if (tls->default_vhost && !bx_config_find_vhost(x->c, tls->default_vhost,
                                                    strlen(tls->default_vhost)))
        err_line(x, setting_line(x, "frontend.tls.default_vhost"), "frontend.tls.default_vhost",
                 "no vhost is named '%s'", tls->default_vhost);
    if (!(need & BX_CONF_FRONTEND))
        return;
    if (x->c->nvhosts == 0)
        err_line(x, line, "vhosts", "the frontend needs at least one vhost");
    for (size_t i = 0; i < x->c->nvhosts; i++) {
        struct bx_vhost *v = &x->c->vhosts[i];
        char vp[64];
        snprintf(vp, sizeof vp, "vhosts.[%zu]", i);
        if (any_tls) {
            if (!v->cert)
                err_line(x, v->line, vp, "cert is required: a service has tls = true");
            else if (!file_readable(v->cert))
                err_line(x, v->line, vp, "cert file %s: %s", v->cert, strerror(errno));
            /* Whether the key can be read is the key process's to say (it may
             * read keys this process cannot: frontend/keyproc.h); it names
             * the file when it cannot. */
            if (!v->key)
                err_line(x, v->line, vp, "key is required: a service has tls = true");
        }
        if (!v->npool && !v->backend && !v->backends.n)
            err_line(x, v->line, vp,
                     "backend is required: no backend.socket to default to");
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
    if (bx_baddr_split(s, &kind, path, sizeof path, host, sizeof host, &port, err,
                       sizeof err) == -1 ||
        (kind == BX_BADDR_TCP && bx_baddr_resolve(host, port, out, err, sizeof err) == -1)) {
        err_line(x, v->line, vp, "vhost '%s': backend '%s': %s", v->name ? v->name : "?", s,
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
        err_line(x, v->line, vp, "vhost '%s': backend and backends: set one of them",
                 v->name ? v->name : "?");
        return;
    }
    size_t n = v->backends.n ? v->backends.n : v->backend ? 1 : 0;
    if (n > BX_POOL_MAX) {
        err_line(x, v->line, vp, "vhost '%s': %zu backends, at most %d", v->name ? v->name : "?",
                 n, BX_POOL_MAX);
        return;
    }
    v->pool = arena_alloc(x->c, sizeof *v->pool * (n + 1));
    v->npool = 0;
    for (size_t i = 0; i < n; i++) {
        const char *s = v->backends.n ? v->backends.v[i] : v->backend;
        if (!parse_member(x, v, vp, s, &v->pool[v->npool]))
            continue;
        for (size_t j = 0; j < v->npool; j++)
            if (bx_baddr_equal(&v->pool[j], &v->pool[v->npool]))
                err_line(x, v->line, vp, "vhost '%s': backend '%s' is listed twice",
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
        err_line(x, setting_line(x, "vhosts"), "vhosts",
                 "%zu distinct backends in all vhosts, at most %d", distinct, BX_POOL_MAX);
}

static void check_vhosts(struct ctx *x)
{
    for (size_t i = 0; i < x->c->nvhosts; i++) {
        struct bx_vhost *v = &x->c->vhosts[i];
        char vp[64];
        snprintf(vp, sizeof vp, "vhosts.[%zu]", i);
        v->line = setting_line(x, vp);
        if (!v->name)
            continue;
        if (!valid_host_name(v->name))
            err_line(x, v->line, vp, "name '%s' is not a valid host name", v->name);
        if (name_taken(x, i, v->name))
            err_line(x, v->line, vp, "name '%s' is already used by another vhost", v->name);
        for (size_t a = 0; a < v->aliases.n; a++) {
            if (!valid_host_name(v->aliases.v[a]))
                err_line(x, v->line, vp, "alias '%s' is not a valid host name", v->aliases.v[a]);
            if (name_taken(x, i, v->aliases.v[a]) || strcasecmp(v->aliases.v[a], v->name) == 0)
                err_line(x, v->line, vp, "alias '%s' is already used by another vhost",
                         v->aliases.v[a]);
        }
        if ((v->cert == NULL) != (v->key == NULL))
            err_line(x, v->line, vp, "cert and key go together: set both or neither");
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
        err_line(x, setting_line(x, "backend.pubsub.redis_retry_min"),
                 "backend.pubsub.redis_retry_min", "must not be larger than redis_retry_max");
    if (strlen(ps->channel_prefix) > 64)
        err_line(x, setting_line(x, "backend.pubsub.channel_prefix"),
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
    if (!colon || hl == 0 || hl >= sizeof host || !end || *end || end == colon + 1 ||
        port < 1 || port > 65535) {
        err_line(x, setting_line(x, sp), sp, "'%s' is not HOST:PORT or [IPv6]:PORT", ps->redis);
        return;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(host, colon + 1, &hints, &ai);
    if (rc != 0 || !ai || ai->ai_addrlen > sizeof ps->redis_addr) {
        err_line(x, setting_line(x, sp), sp, "cannot resolve '%s': %s", host,
                 rc ? gai_strerror(rc) : "no address");
    } else {
        memcpy(&ps->redis_addr, ai->ai_addr, ai->ai_addrlen);
        ps->redis_addrlen = (socklen_t)ai->ai_addrlen;
        ps->redis_port = (int)port;
    }
    if (ai)
        freeaddrinfo(ai);
}

static void check_backend(struct ctx *x, int need)
{
    struct bx_backend_conf *be = &x->c->be;
    int line = setting_line(x, "backend");
    if (!be->socket && be->nlisten == 0)
        err_line(x, line, "backend.socket", "required unless backend.listen lists a TCP listener");
    for (size_t i = 0; i < be->nlisten; i++) {
        struct bx_backend_listen *l = &be->listen[i];
        char lp[64];
        snprintf(lp, sizeof lp, "backend.listen.[%zu]", i);
        l->line = setting_line(x, lp);
        if (l->proxy_protocol != BX_PROXY_OFF && l->proxy_from.n == 0)
            err_line(x, l->line, lp,
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
            err_line(x, setting_line(x, "backend.module_dir") ?: line, "backend.module_dir",
                     "%s is not a directory", be->module_dir);
    }
    for (size_t i = 0; i < be->nmodules; i++) {
        struct bx_module_conf *m = &be->modules[i];
        if (!m->module)
            continue;
        if (!valid_module_name(m->module))
            err_line(x, m->line, m->setting_path,
                     "module name '%s' may hold only letters, digits, '_' and '-'", m->module);
        if (m->path[0] != '/')
            err_line(x, m->line, m->setting_path, "path '%s' must start with '/'", m->path);
        if (strcmp(m->vhost, "*") != 0 &&
            !bx_config_find_vhost(x->c, m->vhost, strlen(m->vhost)))
            err_line(x, m->line, m->setting_path, "vhost '%s' is not a vhost name or alias",
                     m->vhost);
        for (size_t j = 0; j < i; j++)
            if (be->modules[j].module && strcasecmp(be->modules[j].vhost, m->vhost) == 0 &&
                strcmp(be->modules[j].path, m->path) == 0)
                err_line(x, m->line, m->setting_path,
                         "vhost '%s' path '%s' is already mounted by %s", m->vhost, m->path,
                         be->modules[j].setting_path);
    }
}

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
    apply_defaults(&x, &frontend_schema, &c->fe);
    apply_defaults(&x, &backend_schema, &c->be);
    parse_group(&x, root, "", &top_schema, c);
    if ((need & BX_CONF_FRONTEND) && !c->has_frontend)
        err_line(&x, 1, "frontend", "required: bactrian-frontend reads this section");
    if ((need & BX_CONF_BACKEND) && !c->has_backend)
        err_line(&x, 1, "backend", "required: bactrian-backend reads this section");
    check_vhosts(&x);
    if (c->has_frontend && x.nerrors == 0)
        check_frontend(&x, need);
    if (c->has_backend && x.nerrors == 0)
        check_backend(&x, need);
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

const struct bx_vhost *bx_config_find_vhost(const struct bx_config *c, const char *host,
                                            size_t len)
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
        const struct bx_vhost *v =
            bx_config_find_vhost(c, c->fe.tls.default_vhost, strlen(c->fe.tls.default_vhost));
        if (v)
            return v;
    }
    return c->nvhosts ? &c->vhosts[0] : NULL;
}
