/* Bactrian page module API.
 *
 * A module is a shared object that exports one constant descriptor named
 * `bactrian_module`:
 *
 *     #include <bactrian/module.h>
 *     static int hello(struct bm_request *r, void *inst)
 *     {
 *         bm_respond(r, 200, "text/plain", "hello\n", 6);
 *         return BM_DONE;
 *     }
 *     const struct bm_module bactrian_module = {
 *         .api_version = BACTRIAN_MODULE_API_VERSION,
 *         .name = "hello",
 *         .handle = hello,
 *     };
 *
 * The backend loads module_dir/NAME.so once per name and calls init() once
 * per configured instance (the same module may be mounted several times, each
 * with its own settings block). Lifecycle:
 *
 *   init(conf, &inst)   in the master, before the workers fork; reads settings,
 *                       may reject them (bm_conf_error) and fail startup or -t.
 *   worker_init(inst)   in each worker after fork.
 *   handle(req, inst)   for each HTTP request routed to this instance.
 *   tick(inst)          in each worker, every tick_ms (default 1000).
 *   worker_exit(inst)   in each worker before it exits (graceful stop).
 *   fini(inst)          in the master when the instance is dropped (reload, exit).
 *
 * Every callback runs in a single-threaded event loop: never block. The
 * functions declared below are provided by bactrian-backend itself (it is
 * linked with -export-dynamic); modules do not link against a library.
 *
 * Build a module out of tree with:
 *     cc -shared -fPIC $(pkg-config --cflags bactrian-module) -o NAME.so NAME.c
 * and see doc/modules.md. */
#ifndef BACTRIAN_MODULE_H
#define BACTRIAN_MODULE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on every incompatible change of this header; the loader refuses a
 * module built against another version. */
#define BACTRIAN_MODULE_API_VERSION 1

struct bm_conf;            /* settings handle, valid during init() only */
struct bm_request;         /* one HTTP request and its response */
struct bm_ws_handlers;     /* WebSocket callbacks: see the WebSocket part of this API */

/* What handle() returns. */
enum bm_result {
    BM_DONE = 0,       /* a response was sent (or started and ended) */
    BM_ASYNC = 1,      /* the module will answer later, from a tick or a watcher;
                          the request stays valid until the response ends or
                          the client goes away (see bm_on_abort) */
    BM_DECLINED = -1,  /* not mine: the core answers 404 */
    BM_ERROR = -2,     /* failure: the core answers 500 unless a response started */
};

/* Methods, as a bit set for bm_module.methods. */
enum {
    BM_GET = 1 << 0,
    BM_HEAD = 1 << 1,
    BM_POST = 1 << 2,
    BM_PUT = 1 << 3,
    BM_DELETE = 1 << 4,
    BM_OPTIONS = 1 << 5,
    BM_PATCH = 1 << 6,
    BM_TRACE = 1 << 7,
    BM_CONNECT = 1 << 8,
    BM_OTHER = 1 << 9,          /* any other method token */
    BM_ANY_METHOD = (1 << 10) - 1,
};

struct bm_module {
    int api_version;            /* BACTRIAN_MODULE_API_VERSION, checked first */
    const char *name;           /* must match the file name: NAME.so */
    unsigned methods;           /* methods handle() takes; 0 = GET | HEAD.
                                   Others get 405 with an Allow header. */
    unsigned tick_ms;           /* tick() period; 0 = 1000 */

    int (*init)(struct bm_conf *conf, void **inst);  /* 0 ok, -1 reject */
    int (*worker_init)(void *inst);                  /* 0 ok, -1: worker exits */
    int (*handle)(struct bm_request *r, void *inst); /* enum bm_result */
    void (*tick)(void *inst);
    void (*worker_exit)(void *inst);
    void (*fini)(void *inst);

    /* Non-NULL: the module accepts WebSocket upgrades on its mount. */
    const struct bm_ws_handlers *ws;
};

/* ---- settings (init only) ---------------------------------------------------------
 * Each accessor reads one key of the instance's config block and records it as
 * known: after init() the core reports every key nobody read as an unknown
 * setting, with file and line. A value of the wrong type is reported the same
 * way and the default is returned. Strings stay valid for the life of the
 * instance. */
const char *bm_conf_string(struct bm_conf *c, const char *name, const char *def);
/* A path: relative values are resolved against the config file's directory. */
const char *bm_conf_path(struct bm_conf *c, const char *name, const char *def);
long long bm_conf_int(struct bm_conf *c, const char *name, long long def);
bool bm_conf_bool(struct bm_conf *c, const char *name, bool def);
/* An array of strings (a single string is taken as an array of one). Returns
 * the count and sets *out to a NULL-terminated vector, or def when absent. */
size_t bm_conf_strings(struct bm_conf *c, const char *name, const char *const *def,
                       const char *const **out);
bool bm_conf_has(struct bm_conf *c, const char *name);
/* Reports "FILE:LINE: setting 'backend.modules.[i].NAME': message" (the
 * block's line when name is NULL or absent) and makes startup fail. */
void bm_conf_error(struct bm_conf *c, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *bm_conf_mount_path(const struct bm_conf *c);  /* "path" of the block */
const char *bm_conf_vhost(const struct bm_conf *c);       /* "vhost", "*" = all */

/* ---- the request ------------------------------------------------------------------ */
const char *bm_method(const struct bm_request *r);  /* "GET" */
unsigned bm_method_bit(const struct bm_request *r); /* BM_GET ... */
const char *bm_target(const struct bm_request *r);  /* as sent: "/a%20b?x=1" */
/* Decoded path with dot segments removed: "/a b". Never contains "/../". */
const char *bm_path(const struct bm_request *r);
/* The part of bm_path below the instance's mount point: "/x" for "/mount/x",
 * "" for "/mount" itself (mounted as "/mount"). */
const char *bm_path_info(const struct bm_request *r);
/* True when the target encoded a '/' as %2F (decoded into bm_path). */
bool bm_path_had_encoded_slash(const struct bm_request *r);
const char *bm_query(const struct bm_request *r);   /* after '?', NULL when none */
int bm_http_minor(const struct bm_request *r);      /* 0 or 1 (HTTP/1.x) */
const char *bm_host(const struct bm_request *r);    /* Host without port, lower case */
/* First header of that name (case-insensitive), NULL when absent. */
const char *bm_header(const struct bm_request *r, const char *name);
size_t bm_header_count(const struct bm_request *r);
/* The i-th header as received; returns false past the end. */
bool bm_header_at(const struct bm_request *r, size_t i, const char **name, const char **value);
/* The request body (dechunked), fully received before handle() runs. */
const void *bm_body(const struct bm_request *r, size_t *len);

/* The client: from the PROXY header when there is one, else the socket peer. */
const struct sockaddr *bm_client_addr(const struct bm_request *r, socklen_t *len);
const char *bm_client_str(const struct bm_request *r); /* "192.0.2.1", "unix" */
struct bm_tls_info {
    bool tls;                 /* the client connected with TLS (frontend said so) */
    const char *version;      /* "TLSv1.3", "" if unknown */
    const char *cipher;
    const char *alpn;         /* "" if none */
    const char *sni;          /* authority, "" if none */
    const unsigned char *unique_id;
    size_t unique_id_len;
};
void bm_tls(const struct bm_request *r, struct bm_tls_info *out);

/* Per-request slot for the module's own state (async requests). */
void bm_set_data(struct bm_request *r, void *data);
void *bm_get_data(const struct bm_request *r);
/* Called once if the client goes away before an async response ended; the
 * request is invalid after the callback returns. */
void bm_on_abort(struct bm_request *r, void (*cb)(struct bm_request *r, void *data));

/* ---- the response ------------------------------------------------------------------
 * Either: bm_set_status + bm_add_header + bm_body_add / bm_body_add_file,
 * then bm_finish (Content-Length is computed); or the shortcut bm_respond; or
 * streaming: bm_stream_begin, bm_stream_write..., bm_stream_end (chunked for
 * HTTP/1.1 clients, close-delimited for HTTP/1.0). For HEAD requests the
 * core sends the headers only, with the length the body would have had. */
void bm_set_status(struct bm_request *r, int status);
/* Adds a response header (copied). Date, Server, Content-Length,
 * Transfer-Encoding and Connection are managed by the core. */
void bm_add_header(struct bm_request *r, const char *name, const char *value);
void bm_add_headerf(struct bm_request *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void bm_body_add(struct bm_request *r, const void *data, size_t len);       /* copied */
/* Sends len bytes of fd from off with sendfile(2). The core takes ownership
 * of fd when take_fd is true (and closes it), otherwise dups it. 0 or -1. */
int bm_body_add_file(struct bm_request *r, int fd, off_t off, off_t len, bool take_fd);
void bm_finish(struct bm_request *r);
/* Complete response in one call (content_type may be NULL). */
void bm_respond(struct bm_request *r, int status, const char *content_type, const void *body,
                size_t len);
/* A short HTML error page for status. */
void bm_respond_error(struct bm_request *r, int status);
bool bm_response_started(const struct bm_request *r);

void bm_stream_begin(struct bm_request *r);
void bm_stream_write(struct bm_request *r, const void *data, size_t len);
void bm_stream_end(struct bm_request *r);
/* Bytes queued for this connection but not yet written (back-pressure). */
size_t bm_pending(const struct bm_request *r);

/* ---- the worker --------------------------------------------------------------------- */
int bm_worker_index(void);                 /* 0 .. workers-1; -1 in the master */
uint64_t bm_now_ms(void);                  /* monotonic, cached per loop turn */
unsigned bm_config_generation(void);       /* 1, then +1 per successful reload */
enum { BM_LOG_ERROR = 3, BM_LOG_WARN = 4, BM_LOG_NOTICE = 5, BM_LOG_INFO = 6, BM_LOG_DEBUG = 7 };
void bm_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Watch an extra descriptor (worker only). events: BM_READ | BM_WRITE.
 * The callback gets the events that are ready (plus BM_HUP on error/hang-up).
 * Returns a handle, or NULL on failure. */
enum { BM_READ = 1, BM_WRITE = 2, BM_HUP = 4 };
struct bm_watch;
struct bm_watch *bm_watch_fd(int fd, unsigned events,
                             void (*cb)(int fd, unsigned events, void *arg), void *arg);
int bm_watch_update(struct bm_watch *w, unsigned events);
void bm_watch_remove(struct bm_watch *w); /* before closing fd */

/* Counters of every worker, for status pages. */
struct bm_worker_stats {
    int index;
    pid_t pid;                /* 0: slot not running */
    unsigned generation;
    uint64_t started_ms;      /* wall clock, ms since the epoch */
    uint64_t connections_open, connections_total;
    uint64_t requests, bytes_in, bytes_out, errors;
};
/* Returns the number of worker slots; fills out[0..n) up to max. */
size_t bm_worker_stats(struct bm_worker_stats *out, size_t max);

#ifdef __cplusplus
}
#endif
#endif
