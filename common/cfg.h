/* SPDX-License-Identifier: BSD-2-Clause */
/* The one configuration file, read by both daemons (see doc/design.md).
 *
 * Every setting is described once in a schema table in cfg.c, which gives
 * its type, range, default and where it is stored. Loading validates the
 * whole file and collects every error as "FILE:LINE: setting 'a.b.[0].c':
 * message". Unknown settings are errors. Relative paths are taken relative to
 * the directory of the config file. Indices in setting paths count from 0, as
 * in libconfig's own path syntax. */
#ifndef BACTRIAN_COMMON_CFG_H
#define BACTRIAN_COMMON_CFG_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/baddr.h"
#include "common/net.h"

enum bx_proxy_mode { BX_PROXY_OFF = 0, BX_PROXY_OPTIONAL, BX_PROXY_REQUIRED };

struct bx_strv {
    char **v;
    size_t n;
};

struct bx_service {
    int port;
    struct bx_strv bind;      /* default "0.0.0.0" and "::" */
    bool tls;
    enum bx_proxy_mode proxy_protocol;
    struct bx_cidr_list proxy_from;
    struct bx_cidr_list allow, deny; /* connect-time access control (bx_access_allowed) */
    int line;
};

struct bx_vhost {
    char *name;
    struct bx_strv aliases;
    char *cert;               /* NULL when no TLS service needs it */
    char *key;
    char *backend;            /* as written, "unix:" or "tcp:" (the first member); defaults
                               * to backend.socket */
    struct bx_strv backends;  /* a pool: several addresses in that syntax */
    struct bx_baddr *pool;    /* parsed and resolved: backend or backends (baddr.h) */
    size_t npool;             /* >= 1 for a frontend config */
    int line;
};

struct bx_tls_conf {
    int min_version;          /* TLS1_2_VERSION ... (OpenSSL constants) */
    int max_version;
    char *ciphers;            /* TLS 1.2 and lower */
    char *ciphersuites;       /* TLS 1.3 */
    char *default_vhost;      /* NULL = the first vhost */
    bool strict_sni;
    int ticket_rotate_ms;
    char *ticket_secret_file; /* NULL = random keys of this host only */
};

struct bx_frontend_conf {
    char *user, *group, *pid_file, *error_log;
    char *scoreboard_file;    /* NULL = anonymous mapping */
    int log_level;
    int max_children, min_spare, max_spare, per_ip_max, clients_per_child;
    char *debug_ip;           /* NULL = serve everyone */
    int handshake_timeout_ms, request_timeout_ms, idle_timeout_ms, stall_timeout_ms;
    int backend_retry_ms;
    int backend_connect_timeout_ms, backend_down_ms, backend_check_interval_ms;
    int reload_max_generations, reload_max_age_ms;
    struct bx_service *services;
    size_t nservices;
    struct bx_tls_conf tls;
};

struct bx_backend_listen {
    char *address;
    int port;
    enum bx_proxy_mode proxy_protocol;
    struct bx_cidr_list proxy_from;
    int line;
};

struct bx_module_conf {
    char *module;             /* name: loads module_dir/<name>.so */
    char *vhost;              /* "*" = every vhost */
    char *path;               /* mount point, a path prefix */
    const config_setting_t *setting; /* the whole block, for the module's own settings */
    char *setting_path;       /* "backend.modules.[2]" for error messages */
    int line;
};

/* backend.pubsub: without redis, pub/sub stays within one backend (backend/pubsub.c). */
struct bx_pubsub_conf {
    char *redis;              /* "HOST:PORT" or "[v6]:PORT"; NULL = no Redis */
    char *redis_user, *redis_password; /* AUTH (user: Redis 6 ACL); never logged */
    char *channel_prefix;     /* prepended to every channel name in Redis */
    int redis_connect_timeout_ms, redis_reply_timeout_ms;
    int redis_retry_min_ms, redis_retry_max_ms; /* reconnect back-off */
    int64_t outage_buffer;    /* bytes of publishes held while Redis is unreachable */
    int outage_flush_delay_ms; /* held publishes wait this long after reconnecting */
    /* Resolved once when the file is loaded (a confined worker resolves nothing). */
    struct sockaddr_storage redis_addr;
    socklen_t redis_addrlen;
    int redis_port;
};

struct bx_backend_conf {
    char *user, *group, *pid_file, *error_log, *access_log;
    int log_level;
    char *socket;             /* NULL = no Unix socket */
    int socket_mode;
    char *socket_owner, *socket_group;
    enum bx_proxy_mode socket_proxy_protocol;
    struct bx_backend_listen *listen;
    size_t nlisten;
    int workers;              /* resolved: 0 in the file becomes the core count */
    char *module_dir;
    int max_request_line, max_header_size, max_headers;
    int64_t max_body_size;
    int header_timeout_ms, body_timeout_ms, idle_timeout_ms, shutdown_timeout_ms;
    int handoff_timeout_ms; /* reload: how long old workers try to move WebSocket sessions */
    int keepalive_requests;
    int module_crash_limit; /* crashes in module_crash_window that back a mount off; 0 = never */
    int module_crash_window_ms, module_crash_backoff_ms;
    struct bx_module_conf *modules;
    size_t nmodules;
    struct bx_pubsub_conf pubsub;
};

enum {
    BX_CONF_FRONTEND = 1, /* the frontend section must be present and its files exist */
    BX_CONF_BACKEND = 2,
};

struct bx_config {
    char *path;
    char *dir; /* directory of path, for relative paths */
    config_t lc; /* kept: module blocks point into it */
    bool has_frontend, has_backend;
    struct bx_frontend_conf fe;
    struct bx_backend_conf be;
    struct bx_vhost *vhosts;
    size_t nvhosts;
    void *arena; /* every string and array above */
};

/* Loads and validates path. On failure returns -1 and sets *errors to a
 * malloc'ed text of one error per line (caller frees). */
int bx_config_load(struct bx_config *c, const char *path, int need, char **errors);
void bx_config_free(struct bx_config *c);

/* Resolves a path from the config against its directory; result lives in the
 * config's arena. */
char *bx_config_path(struct bx_config *c, const char *p);
/* Duplicates into the arena (modules use it to keep strings for the config's life). */
char *bx_config_strdup(struct bx_config *c, const char *s);

/* The value types of the schema, for settings outside it (the modules'
 * blocks, backend/modset.c), so a module's durations and sizes read as the
 * core's do.
 * A duration: seconds as an integer or a decimal number (30, 0.5), or a
 * string with a unit: "500ms", "30s", "5m", "1h", "1d". A size: bytes as an
 * integer, or a string with a suffix of powers of 1024: "64K", "16M", "1G"
 * (a "B" may follow). 0, or -1 when the value has another type or form (the
 * hints below say what is expected); ranges are the caller's. */
int bx_cfg_duration_ms(const config_setting_t *s, double *ms);
int bx_cfg_size(const config_setting_t *s, int64_t *bytes);
#define BX_CFG_DURATION_HINT                                                                       \
    "must be a duration: seconds like 30 or 0.5, or a string like \"500ms\", \"30s\", \"5m\""
#define BX_CFG_SIZE_HINT "must be a size in bytes, like 65536 or \"64K\", \"16M\", \"1G\""

/* Looks up a vhost by name or alias, case-insensitively; NULL if none. */
const struct bx_vhost *bx_config_find_vhost(const struct bx_config *c, const char *host,
                                            size_t len);
const struct bx_vhost *bx_config_default_vhost(const struct bx_config *c);

#endif
