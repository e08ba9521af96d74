/* SPDX-License-Identifier: BSD-2-Clause */
/* The configuration loader's private types and the interface its files
 * share (not for anything outside common/cfg*.c):
 *
 *   cfg.c         the schema tables (one row per setting: type, range,
 *                 default, place in struct bx_config), the arena, and the
 *                 entry points of cfg.h: load, free, vhost lookups
 *   cfg_parse.c   the walk of a file against a schema: error collection,
 *                 defaults, one parser per field type
 *   cfg_value.c   libconfig values to numbers: durations, sizes, TLS
 *                 protocol versions
 *   cfg_check.c   checks across settings, once every value is parsed
 *                 (relations, names, files, backend addresses and pools)
 *
 * One struct ctx per load, passed to every function. */
#ifndef BACTRIAN_COMMON_CFG_INT_H
#define BACTRIAN_COMMON_CFG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libconfig.h>

#include "common/buf.h"
#include "common/cfg.h"

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


/* The errors of one load: at most MAX_ERRORS are kept, all are counted. */
#define MAX_ERRORS 100

struct ctx {
    struct bx_config *c;
    struct bx_buf errors;
    int nerrors;
};

/* cfg.c */
/* Memory that lives as long as c (freed by bx_config_free). */
void *bx_cfg_alloc(struct bx_config *c, size_t n);
/* The schema of a backend.modules entry: its elements keep their setting
 * for the module's own keys (bm_conf_*). */
extern const struct schema bx_cfg_module_schema;

/* cfg_parse.c */
/* One error, "FILE:LINE: setting 'path': message", at a line or where s is. */
void __attribute__((format(printf, 4, 5))) bx_cfg_err_line(struct ctx *x, int line,
                                                           const char *path, const char *fmt, ...);
void __attribute__((format(printf, 4, 5))) bx_cfg_err_at(struct ctx *x, const config_setting_t *s,
                                                         const char *path, const char *fmt, ...);
/* Every field of sc at its default, into base. */
void bx_cfg_apply_defaults(struct ctx *x, const struct schema *sc, void *base);
/* Defaults, then the settings of group g (at path) into base by sc:
 * unknown and missing required settings are errors. */
void bx_cfg_parse_group(struct ctx *x, const config_setting_t *g, const char *path,
                        const struct schema *sc, void *base);

/* cfg_value.c */
/* Whether s is an integer (of either libconfig width). */
bool bx_cfg_is_int(const config_setting_t *s);
/* "TLSv1.2" or "TLSv1.3" as OpenSSL's version number, else 0. */
int bx_cfg_tls_version(const char *name);

/* cfg_check.c: run after parsing, in this order; each adds errors to x. */
void bx_cfg_check_vhosts(struct ctx *x);
void bx_cfg_check_frontend(struct ctx *x, int need);
void bx_cfg_check_backend(struct ctx *x, int need);

#endif
