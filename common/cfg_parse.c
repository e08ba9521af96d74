/* SPDX-License-Identifier: BSD-2-Clause */
/* The walk of a configuration file against a schema (cfg_int.h): errors
 * collected with their file and line, defaults applied, and each setting
 * parsed by the handler of its field type (the ftypes table), so that
 * adding a type is one function and one row. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "common/buf.h"
#include "common/cfg.h"
#include "common/cfg_int.h"
#include "common/log.h"
#include "common/net.h"

/* ---- error collection -------------------------------------------------------- */

static void verr(struct ctx *x, int line, const char *path, const char *fmt, va_list ap)
{
    if (++x->nerrors > MAX_ERRORS)
        return;
    bx_buf_printf(&x->errors, "%s:%d: setting '%s': ", x->c->path, line, path);
    bx_buf_vprintf(&x->errors, fmt, ap);
    bx_buf_append(&x->errors, "\n", 1);
}

void __attribute__((format(printf, 4, 5))) bx_cfg_err_line(struct ctx *x, int line,
                                                           const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verr(x, line, path, fmt, ap);
    va_end(ap);
}

void __attribute__((format(printf, 4, 5))) bx_cfg_err_at(struct ctx *x, const config_setting_t *s,
                                                         const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verr(x, s ? (int)config_setting_source_line(s) : 0, path, fmt, ap);
    va_end(ap);
}

/* ---- value parsers ------------------------------------------------------------ */

static void range_error(struct ctx *x, const config_setting_t *s, const char *path,
                        const struct field *f, const char *unit, int64_t div)
{
    if (f->max == INT64_MAX || f->max == 0)
        bx_cfg_err_at(x, s, path, "must be at least %lld%s", (long long)(f->min / div), unit);
    else
        bx_cfg_err_at(x, s, path, "must be %lld-%lld%s", (long long)(f->min / div),
                      (long long)(f->max / div), unit);
}

static bool read_strv(struct ctx *x, const config_setting_t *s, const char *path,
                      struct bx_strv *out)
{
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) {
        bx_cfg_err_at(x, s, path, "must be an array of strings, like [ \"a\", \"b\" ]");
        return false;
    }
    int n = config_setting_length(s);
    out->n = 0;
    out->v = bx_cfg_alloc(x->c, sizeof(char *) * (size_t)(n + 1));
    for (int i = 0; i < n; i++) {
        const char *v = config_setting_get_string_elem(s, i);
        if (!v) {
            bx_cfg_err_at(x, s, path, "element %d must be a string", i);
            return false;
        }
        out->v[out->n++] = bx_config_strdup(x->c, v);
    }
    return true;
}

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
    if (!bx_cfg_is_int(v->s)) {
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
    l->v = bx_cfg_alloc(v->x->c, sizeof(struct bx_cidr) * (sv.n + 1));
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
    int lo = bx_cfg_tls_version(a), hi = colon ? bx_cfg_tls_version(b) : lo;
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
    bx_cfg_parse_group(v->x, v->s, v->path, v->f->sub, v->p);
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
    char *arr = bx_cfg_alloc(v->x->c, f->sub->elem_size * (size_t)(n + 1));
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(v->s, (unsigned)i);
        char epath[300];
        snprintf(epath, sizeof epath, "%s.[%d]", v->path, i);
        if (!config_setting_is_group(e)) {
            bx_cfg_err_at(v->x, e, epath, "must be a group: { ... }");
            continue;
        }
        void *eb = arr + f->sub->elem_size * (size_t)i;
        bx_cfg_parse_group(v->x, e, epath, f->sub, eb);
        if (f->sub == &bx_cfg_module_schema) {
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

void bx_cfg_apply_defaults(struct ctx *x, const struct schema *sc, void *base)
{
    for (const struct field *f = sc->fields; f->name; f++) {
        char *p = (char *)base + f->off;
        switch (f->type) {
        case T_INT:
        case T_DURATION: *(int *)p = (int)f->def; break;
        case T_BOOL: *(bool *)p = f->def != 0; break;
        case T_SIZE: *(int64_t *)p = f->def; break;
        case T_STR: *(char **)p = f->def_str ? bx_config_strdup(x->c, f->def_str) : NULL; break;
        case T_PATH: *(char **)p = f->def_str ? bx_config_path(x->c, f->def_str) : NULL; break;
        case T_LEVEL: *(int *)p = bx_log_level_parse(f->def_str); break;
        case T_PROXY:
            *(enum bx_proxy_mode *)p = strcmp(f->def_str, "required") == 0   ? BX_PROXY_REQUIRED
                                       : strcmp(f->def_str, "optional") == 0 ? BX_PROXY_OPTIONAL
                                                                             : BX_PROXY_OFF;
            break;
        case T_MODE: *(int *)p = (int)strtol(f->def_str, NULL, 8); break;
        case T_TLSPROTO:
            ((int *)p)[0] = TLS1_2_VERSION;
            ((int *)p)[1] = TLS1_3_VERSION;
            break;
        case T_GROUP: bx_cfg_apply_defaults(x, f->sub, p); break;
        default: break; /* arrays and lists start empty (zeroed) */
        }
    }
}

void bx_cfg_parse_group(struct ctx *x, const config_setting_t *g, const char *path,
                        const struct schema *sc, void *base)
{
    uint64_t seen = 0;
    bx_cfg_apply_defaults(x, sc, base);
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
                bx_cfg_err_at(x, s, spath, "unknown setting");
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
            bx_cfg_err_at(x, g, spath, "required");
        }
}
