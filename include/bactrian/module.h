/* SPDX-License-Identifier: BSD-2-Clause */
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
 *   init(conf, &inst)   in the master, before the workers fork and after the
 *                       privilege drop (as backend.user); reads settings,
 *                       may reject them (bm_conf_error) and fail startup or -t.
 *   worker_init(inst)   in each worker after fork.
 *   connect(addr, inst) in the worker, for each new client connection, before
 *                       a byte of HTTP is parsed; may refuse it (closed).
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

/* Bumped on every change of this header. The loader takes modules built for
 * BACTRIAN_MODULE_API_MIN_VERSION up to this one (a newer field of
 * struct bm_module is read only from a module that declares a version that
 * has it) and refuses any other. 3 added bm_module.ws_handoff. */
#define BACTRIAN_MODULE_API_VERSION 3
#define BACTRIAN_MODULE_API_MIN_VERSION 2

struct bm_conf;            /* settings handle, valid during init() only */
struct bm_request;         /* one HTTP request and its response */
struct bm_ws_handlers;     /* WebSocket callbacks: see the WebSocket part of this API */
struct bm_ws_handoff;      /* WebSocket session hand-off on reload (API version 3) */

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

    /* Optional connect-time hook (IP bans, per-address limits). Called for
     * every new connection of every vhost and path (no request exists yet),
     * with the client address: from the frontend's PROXY v2 header, or the
     * TCP peer of a client without one; AF_UNIX for a local peer that sent
     * none. Every instance that sets it is asked, in config order, before
     * any HTTP byte is parsed. 0 lets the connection go on; -1 refuses it:
     * it is closed without an answer. Runs in the event loop: never block. */
    int (*connect)(const struct sockaddr *client, socklen_t len, void *inst);

    /* API version 3. Non-NULL: the WebSocket sessions of this module's
     * mounts move to the new workers on a reload instead of draining (see
     * struct bm_ws_handoff). */
    const struct bm_ws_handoff *ws_handoff;
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

/* ---- typed settings (init only): the core's durations and sizes ----
 * Values read as the core's own settings do (bactrian.conf(5), "Values"):
 * a duration is seconds, 30 or 0.5, or a string with a unit, "500ms", "30s",
 * "5m", "1h", "1d"; a size is bytes, 65536, or "64K", "16M", "1G". *out gets
 * the value (milliseconds / bytes) when it is within [min, max], def when the
 * key is absent; 0 then. A value of another form or out of range is reported
 * like bm_conf_error, naming the module and its mount, *out gets def and -1
 * is returned. (As nginx's ngx_conf_set_msec_slot and size_slot.) */
int bm_conf_duration_ms(struct bm_conf *c, const char *name, uint64_t def, uint64_t min,
                        uint64_t max, uint64_t *out);
int bm_conf_size(struct bm_conf *c, const char *name, uint64_t def, uint64_t min, uint64_t max,
                 uint64_t *out);

/* Confinement (doc/modules.md): a worker runs confined after every
 * worker_init, and may then open files for reading only beneath the paths
 * that modules declared. Call from worker_init with a directory or a file;
 * 0, or -1 with errno when the path cannot be opened now. */
int bm_sandbox_allow_read(const char *path);
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

/* A worker's links to Redis (backend.pubsub.redis), kept in a table shared
 * like the one above. The struct only grows at its end: callers pass its size. */
struct bm_redis_stats {
    int up;                   /* 1: both links (publish, subscribe) connected */
    uint64_t since_ms;        /* wall clock, ms since the epoch: when up last changed */
    uint64_t held;            /* publishes waiting for Redis now (this outage) */
    uint64_t held_total;      /* publishes that had to wait, since the worker started */
    uint64_t dropped;         /* publishes dropped: the outage buffer was full */
    uint64_t in_doubt;        /* written when a link broke, not acknowledged, not resent */
    uint64_t refused;         /* messages or PUBLISHes Redis or a peer got wrong */
};
/* The Redis links of the worker in slot index (bm_worker_stats' index),
 * outlen bytes of out at most; false when that worker does not use Redis. */
bool bm_worker_redis_stats(int index, struct bm_redis_stats *out, size_t outlen);


/* ==== WebSocket ========================================================================
 * A module that sets bm_module.ws accepts WebSocket upgrades on its mount
 * (RFC 6455, with RFC 7692 permessage-deflate when its options enable it).
 * The engine does the handshake, framing, UTF-8 validation, ping/pong,
 * heartbeat, limits, compression and the close handshake; the module sees
 * whole messages (or, in streaming mode, chunks as they arrive) and events.
 *
 * Lifecycle of one connection, all in the worker that accepted it:
 *   accept(inst, hs, &subprotocol)  before the 101: 0 accepts, an HTTP status
 *                                   (403 for a foreign Origin ...) refuses.
 *   open(ws, inst)                  after the 101 was queued.
 *   text / binary / frame_chunk / ping / pong / drain   as they happen.
 *   close(ws, code, reason, len, inst)  exactly once, however the session
 *                                   ends (1006 when the TCP connection just
 *                                   went away); ws is invalid afterwards.
 * Sending is possible from open() until close(). */
struct bm_ws;              /* one WebSocket session (opaque) */

enum bm_ws_opcode { BM_WS_TEXT = 1, BM_WS_BINARY = 2 };

/* Settings of a WebSocket mount. Fill them with bm_ws_options_read() in
 * init() (it reads the keys named in brackets from the module's block) and
 * return them from bm_ws_handlers.options. */
struct bm_ws_options {
    uint64_t max_message_size;    /* [max_message_size] bigger messages: close 1009. 16 MiB */
    uint64_t max_frame_size;      /* [max_frame_size] 0 = max_message_size */
    unsigned ping_interval_ms;    /* [ping_interval] seconds in the config; 0 = off. 30 s */
    unsigned max_missed_pongs;    /* [max_missed_pongs] unanswered pings before close. 2 */
    unsigned idle_timeout_ms;     /* [idle_timeout] seconds without a frame; 0 = off. 0 */
    unsigned close_timeout_ms;    /* [close_timeout] seconds to wait for the peer's close. 5 */
    size_t send_high_watermark;   /* [send_high_watermark] queued bytes: not writable. 1 MiB */
    size_t send_low_watermark;    /* [send_low_watermark] below it again: drain(). 256 KiB */
    size_t fragment_size;         /* [fragment_size] bigger messages go out fragmented. 64 KiB */
    bool streaming;               /* [streaming] deliver frame_chunk() instead of text/binary */
    bool deflate;                 /* [deflate] offer permessage-deflate. false */
    char deflate_preset[16];      /* [deflate_preset] "max", "balanced" (default), "low" */
    size_t deflate_threshold;     /* [deflate_threshold] compress messages from this size. 128 */
    char greeting[128];           /* [greeting] sent on open by echo-like modules; "" = none */
};

/* Reads the keys above from the module's settings block (defaults where
 * absent; errors through bm_conf_error). Call from init(). */
void bm_ws_options_read(struct bm_conf *c, struct bm_ws_options *o);
/* The defaults, for modules that take no settings. */
void bm_ws_options_default(struct bm_ws_options *o);

/* What accept() sees of the upgrade request. */
struct bm_ws_handshake {
    const struct bm_request *req;     /* headers, path, client address */
    const char *origin;               /* Origin header, NULL when absent */
    const char *const *subprotocols;  /* offered, in the client's order, NULL-terminated */
};

/* bm_ws_chunk flags (streaming mode). */
enum {
    BM_WS_MSG_FIRST = 1,    /* the chunk starts a message */
    BM_WS_MSG_LAST = 2,     /* the chunk ends it (may be empty) */
    BM_WS_FRAME_START = 4,  /* the chunk starts a frame */
    BM_WS_FRAME_END = 8,    /* the chunk ends a frame */
};

struct bm_ws_handlers {
    /* The mount's settings; NULL or returning NULL = bm_ws_options_default(). */
    const struct bm_ws_options *(*options)(void *inst);
    /* 0 = accept (and *subprotocol may be set to one of hs->subprotocols), or
     * an HTTP status to refuse with. NULL = accept everything, no subprotocol. */
    int (*accept)(void *inst, const struct bm_ws_handshake *hs, const char **subprotocol);
    void (*open)(struct bm_ws *ws, void *inst);
    /* A complete text message (valid UTF-8, NUL-terminated for convenience)
     * or binary message. The data is valid during the call only. */
    void (*text)(struct bm_ws *ws, const char *data, size_t len, void *inst);
    void (*binary)(struct bm_ws *ws, const void *data, size_t len, void *inst);
    /* Streaming mode: each piece of a data message as it arrives (already
     * inflated and, for text, UTF-8 checked up to here). */
    void (*chunk)(struct bm_ws *ws, int opcode, const void *data, size_t len, unsigned flags,
                  void *inst);
    /* A ping was received (the pong is sent by the engine) / a pong. */
    void (*ping)(struct bm_ws *ws, const void *data, size_t len, void *inst);
    void (*pong)(struct bm_ws *ws, const void *data, size_t len, void *inst);
    /* The send queue went from above the high watermark to below the low one. */
    void (*drain)(struct bm_ws *ws, void *inst);
    void (*close)(struct bm_ws *ws, unsigned code, const char *reason, size_t len, void *inst);
};

/* ---- hand-off on reload (API version 3) ---------------------------------------------
 * On a reload (HUP) the old workers hand their WebSocket sessions to the new
 * ones: the socket, the protocol state (queued output, unread input,
 * heartbeat, subprotocol, permessage-deflate windows, pub/sub subscriptions)
 * and the module's own per-session state, which only the module can write
 * and read back. A session moves while it is open (not closing), between
 * two messages it sends and two frames it receives (an uncompressed
 * fragmented message goes along; a compressed one is waited for). The new
 * worker finds the session's mount by module name, vhost and path in its
 * configuration; a mount that is gone, or
 * whose module has no hooks, keeps today's behaviour: its sessions stay in
 * the old worker, which drains them (1001 shortly before shutdown_timeout).
 *
 *   save(ws, buf, max, inst)     old worker: writes at most max bytes of the
 *                                module's state for ws (its own format: put
 *                                a version byte first) and returns how many,
 *                                or -1: do not move this session (now; it is
 *                                asked again later).
 *   restore(ws, data, len, inst) new worker, before the session reads or
 *                                writes anything: rebuilds the state (data
 *                                comes from another process: check every
 *                                length). 0, or -1: refused, the session
 *                                stays in the old worker. Must not send.
 *   left(ws, inst)               old worker, once the new worker has the
 *                                session: release what save() described,
 *                                without telling anyone (close() is not
 *                                called; the session did not end).
 * The subscriptions made with bm_ws_subscribe move by themselves. */
#define BM_WS_STATE_MAX (64 * 1024)
struct bm_ws_handoff {
    long (*save)(struct bm_ws *ws, void *buf, size_t max, void *inst);
    int (*restore)(struct bm_ws *ws, const void *data, size_t len, void *inst);
    void (*left)(struct bm_ws *ws, void *inst);
};

/* Queues a whole message (fragmented above fragment_size, compressed when
 * negotiated and above the threshold). 0, or -1 when the session is closing
 * or a streamed message is being sent. Never blocks: check bm_ws_writable()
 * or wait for drain() when sending a lot. */
int bm_ws_send(struct bm_ws *ws, int opcode, const void *data, size_t len);
/* Streaming send of one message: begin, any number of chunks (each becomes
 * a frame), end. Other data messages wait until end (bm_ws_send fails). */
int bm_ws_send_begin(struct bm_ws *ws, int opcode);
int bm_ws_send_chunk(struct bm_ws *ws, const void *data, size_t len);
int bm_ws_send_end(struct bm_ws *ws);
/* Fragmented send from a producer: produce() is called whenever the send
 * queue is below the low watermark, fills at most max bytes into buf and
 * returns how many, setting *last on the final piece. 0 or -1. */
typedef size_t bm_ws_producer(struct bm_ws *ws, void *buf, size_t max, bool *last, void *arg);
int bm_ws_send_from(struct bm_ws *ws, int opcode, bm_ws_producer *produce, void *arg);
/* A ping with up to 125 bytes of payload. */
int bm_ws_ping(struct bm_ws *ws, const void *data, size_t len);
/* Starts the close handshake (code 1000-4999 except the reserved ones,
 * reason up to 123 bytes of UTF-8). The peer's answer or the close timeout
 * ends the session; close() runs then. */
void bm_ws_close(struct bm_ws *ws, unsigned code, const char *reason);

size_t bm_ws_pending(const struct bm_ws *ws);   /* queued bytes not yet written */
bool bm_ws_writable(const struct bm_ws *ws);    /* below the high watermark */
void bm_ws_set_data(struct bm_ws *ws, void *data);
void *bm_ws_get_data(const struct bm_ws *ws);
uint64_t bm_ws_id(const struct bm_ws *ws);      /* unique in the worker */
const char *bm_ws_client_str(const struct bm_ws *ws);
const char *bm_ws_subprotocol(const struct bm_ws *ws); /* NULL when none */
bool bm_ws_compressed(const struct bm_ws *ws);  /* permessage-deflate in use */
/* The sessions of this worker on the instance inst (NULL: all of them):
 * fills out up to max, returns the total count. */
size_t bm_ws_list(void *inst, struct bm_ws **out, size_t max);

/* ---- pub/sub ----------------------------------------------------------------------------
 * A channel is a name (up to 200 bytes). bm_publish() reaches every session
 * subscribed to it in every worker of this backend, and with
 * backend.pubsub.redis in every worker of every backend sharing that Redis
 * (doc/scaling.md), once, in publish order per publisher. A subscriber whose send
 * queue is above its high watermark when a message arrives is handled by the
 * channel's policy, counted and logged: BM_SLOW_SKIP (the default) skips the
 * message for it, BM_SLOW_DROP closes it with close_code (1008 if 0).
 * Control frames are never dropped. Payloads above BM_PUBLISH_MAX reach only
 * this worker's subscribers (-1 is returned, after local delivery). */
#define BM_PUBLISH_MAX (60 * 1024)
enum bm_slow_policy { BM_SLOW_SKIP = 0, BM_SLOW_DROP = 1 };
int bm_ws_subscribe(struct bm_ws *ws, const char *channel);
int bm_ws_unsubscribe(struct bm_ws *ws, const char *channel);
/* Sets a channel's policy in this worker (call from worker_init or open). */
void bm_channel_policy(const char *channel, enum bm_slow_policy policy, unsigned close_code);
/* Sends to every subscriber in every worker; except_ws (may be NULL) is
 * skipped. Returns the number of local subscribers reached, or -1 (also when
 * Redis is unreachable and its outage buffer is full: local ones got it). */
int bm_publish(const char *channel, int opcode, const void *data, size_t len,
               const struct bm_ws *except_ws);
struct bm_channel_stats {
    uint64_t subscribers, published, delivered, skipped_slow, dropped_slow, lost_between_workers;
};
/* This worker's counters for a channel; false if it has none. */
bool bm_channel_stats(const char *channel, struct bm_channel_stats *out);

#ifdef __cplusplus
}
#endif
#endif
