/* SPDX-License-Identifier: BSD-2-Clause */
/* HTTP/1.1 connections (see http.h): request loop, routing, responses. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend/conn.h"
#include "backend/crashrec.h"
#include "backend/http.h"
#include "backend/http1.h"
#include "backend/modset.h"
#include "backend/router.h"
#include "backend/worker.h"
#include "backend/ws_session.h"
#include "bactrian/module.h"
#include "common/log.h"
#include "common/proc.h"
#include "common/xalloc.h"

/* Stop reading pipelined requests while this much output waits for the client. */
#define MAX_PENDING_OUT (256 * 1024)

/* S_DONE: the response is queued; the next request starts from http_process,
 * so late calls on the finished request change nothing. */
enum state { S_HEAD, S_BODY, S_HANDLER, S_DONE, S_CLOSING };

struct pend {
    int fd;                   /* -1: len bytes at off in rb */
    off_t off;
    uint64_t len;
};

struct bm_request {
    struct be_conn *c;
    enum state state;
    bool in_process;          /* inside http_process: flush once at the end */
    bool head_started;        /* bytes of this request's head have arrived */
    struct be_http_scan scan;
    struct be_http_req req;
    struct bx_buf head;       /* a copy of the head: c->in may move */
    struct bx_buf body;
    struct be_chunked ch;
    int64_t body_left;        /* Content-Length bodies */
    const struct be_instance *inst;
    size_t mount_len;
    unsigned nrequests;
    /* response */
    int status;
    bool started, streaming, chunked_out, finished, head_only, keep_alive;
    struct bx_buf rh;         /* header lines added by the module */
    struct bx_buf rb;         /* body bytes added before bm_finish */
    struct pend *pend;
    size_t npend, cappend;
    uint64_t body_bytes;
    uint64_t stall_mark;      /* c->bytes_out when the handler timer was armed */
    void *data;
    void (*abort_cb)(struct bm_request *r, void *data);
};

static void http_read(struct be_conn *c);
static void http_write(struct be_conn *c);
static void http_timer(struct be_conn *c);
static void http_close(struct be_conn *c);
static void http_free(struct be_conn *c);
static void http_drain(struct be_conn *c);
static void http_process(struct bm_request *r);

static const struct be_conn_ops http_ops = {
    .on_read = http_read,
    .on_write = http_write,
    .on_timer = http_timer,
    .on_close = http_close,
    .on_free = http_free,
    .on_drain = http_drain,
};

/* ---- request lifecycle -------------------------------------------------------------- */

static void reset_response(struct bm_request *r)
{
    r->status = 200;
    r->started = r->streaming = r->chunked_out = r->finished = r->head_only = false;
    bx_buf_reset(&r->rh);
    bx_buf_reset(&r->rb);
    for (size_t i = 0; i < r->npend; i++)
        if (r->pend[i].fd != -1)
            close(r->pend[i].fd);
    r->npend = 0;
    r->body_bytes = 0;
    r->data = NULL;
    r->abort_cb = NULL;
}

static void start_request(struct bm_request *r)
{
    r->state = S_HEAD;
    r->head_started = false;
    r->scan = (struct be_http_scan)BE_HTTP_SCAN_INIT;
    r->ch = (struct be_chunked)BE_CHUNKED_INIT;
    r->inst = NULL;
    r->mount_len = 0;
    r->req.method = NULL;
    bx_buf_reset(&r->head);
    bx_buf_reset(&r->body);
    reset_response(r);
    be_conn_timer(r->c, r->nrequests ? be_worker->idle_timeout_ms : be_worker->header_timeout_ms);
}

void be_http_start(struct be_conn *c)
{
    struct bm_request *r = bx_xcalloc(1, sizeof *r);
    r->c = c;
    be_http_req_init(&r->req);
    c->ops = &http_ops;
    c->proto = r;
    start_request(r);
}

static void free_request(struct bm_request *r)
{
    reset_response(r);
    be_http_req_free(&r->req);
    bx_buf_free(&r->head);
    bx_buf_free(&r->body);
    bx_buf_free(&r->rh);
    bx_buf_free(&r->rb);
    free(r->pend);
    free(r);
}

static void access_log(struct bm_request *r)
{
    if (!bx_access_log_enabled())
        return;
    struct bx_access_entry e = {
        .client = r->c->client_str,
        .when = time(NULL),
        .method = r->req.method,
        .target = r->req.target,
        .version = r->req.method ? (r->req.minor ? "HTTP/1.1" : "HTTP/1.0") : NULL,
        .status = r->status,
        .bytes = r->head_only ? 0 : r->body_bytes,
        .referer = r->req.method ? be_http_header(&r->req, "referer") : NULL,
        .user_agent = r->req.method ? be_http_header(&r->req, "user-agent") : NULL,
    };
    /* The frontend's connection id (PROXY v2 unique id TLV), logged by both. */
    char id[sizeof r->c->proxy->unique_id + 1];
    const struct bx_proxy_info *pi = r->c->proxy;
    if (pi && pi->unique_id_len && pi->unique_id_len < sizeof id) {
        size_t n = 0;
        for (; n < pi->unique_id_len && pi->unique_id[n] > 0x20 && pi->unique_id[n] < 0x7f; n++)
            id[n] = (char)pi->unique_id[n];
        id[n] = '\0';
        if (n == pi->unique_id_len)
            e.conn_id = id;
    }
    bx_access_log_write(&e);
}

/* The response is complete: log it, then go on with the next request or close. */
static void end_response(struct bm_request *r)
{
    struct be_conn *c = r->c;
    r->finished = true;
    be_worker->stats->requests++;
    if (r->status >= 500 || r->status == 400)
        be_worker->stats->errors++;
    access_log(r);
    r->nrequests++;
    /* a client that half-closed still gets answers to what it pipelined */
    bool again = r->keep_alive && !be_worker->draining &&
                 r->nrequests < be_worker->keepalive_requests &&
                 (!c->eof || bx_buf_unread(&c->in) > 0);
    if (!again) {
        r->state = S_CLOSING;
        be_conn_close_after_flush(c);
        return;
    }
    r->state = S_DONE;
    if (!r->in_process)
        http_process(r);
}

/* ---- response writing ---------------------------------------------------------------- */

/* "HTTP/1.1 200 OK\r\nServer: ...\r\nDate: ...\r\n"; the 200 one is kept per
 * second, since nearly every response starts with it. */
static size_t status_line(int status, char *out, size_t outlen)
{
    static char ok[128];
    static size_t oklen;
    static int64_t oksec = -1;
    const char *date = be_worker_date();
    if (status == 200 && oksec == be_worker->date_sec) {
        memcpy(out, ok, oklen);
        return oklen;
    }
    int n = snprintf(out, outlen, "HTTP/1.1 %d %s\r\nServer: bactrian\r\nDate: %s\r\n", status,
                     be_http_reason(status), date);
    if (status == 200) {
        memcpy(ok, out, (size_t)n);
        oklen = (size_t)n;
        oksec = be_worker->date_sec;
    }
    return (size_t)n;
}

static void put_head(struct bm_request *r, int64_t content_length)
{
    struct be_conn *c = r->c;
    char line[160];
    size_t n = status_line(r->status, line, sizeof line);
    be_conn_queue(c, line, n);
    be_conn_queue(c, bx_buf_rpos(&r->rh), bx_buf_unread(&r->rh));
    bool no_body = r->status == 204 || r->status == 304 || r->status < 200;
    if (r->streaming) {
        if (r->chunked_out)
            be_conn_queue(c, "Transfer-Encoding: chunked\r\n", 28);
    } else if (!no_body) {
        /* by hand: this runs for every response */
        char num[24], *p = num + sizeof num;
        uint64_t v = (uint64_t)content_length;
        do
            *--p = (char)('0' + v % 10);
        while ((v /= 10) != 0);
        be_conn_queue(c, "Content-Length: ", 16);
        be_conn_queue(c, p, (size_t)(num + sizeof num - p));
        be_conn_queue(c, "\r\n", 2);
    }
    if (!r->keep_alive || be_worker->draining ||
        r->nrequests + 1 >= be_worker->keepalive_requests) {
        r->keep_alive = false;
        be_conn_queue(c, "Connection: close\r\n", 19);
    } else if (r->req.minor == 0) {
        be_conn_queue(c, "Connection: keep-alive\r\n", 24);
    }
    be_conn_queue(c, "\r\n", 2);
    r->started = true;
}

static void kick(struct bm_request *r)
{
    if (!r->in_process)
        be_conn_flush(r->c);
}

void bm_set_status(struct bm_request *r, int status)
{
    if (!r->started && status >= 100 && status <= 999)
        r->status = status;
}

void bm_add_header(struct bm_request *r, const char *name, const char *value)
{
    if (r->started)
        return;
    /* a module must not be able to split the response with CR/LF */
    bx_buf_append_str(&r->rh, name);
    bx_buf_append(&r->rh, ": ", 2);
    for (const char *p = value; *p;) {
        size_t n = strcspn(p, "\r\n");
        bx_buf_append(&r->rh, p, n);
        p += n;
        if (*p)
            p++;
    }
    bx_buf_append(&r->rh, "\r\n", 2);
}

void bm_add_headerf(struct bm_request *r, const char *name, const char *fmt, ...)
{
    char v[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, sizeof v, fmt, ap);
    va_end(ap);
    bm_add_header(r, name, v);
}

static struct pend *push_pend(struct bm_request *r)
{
    if (r->npend == r->cappend) {
        r->cappend = r->cappend ? r->cappend * 2 : 4;
        r->pend = bx_xrealloc(r->pend, r->cappend * sizeof *r->pend);
    }
    return &r->pend[r->npend++];
}

void bm_body_add(struct bm_request *r, const void *data, size_t len)
{
    if (r->started || len == 0)
        return;
    r->body_bytes += len;
    if (r->head_only)
        return;
    if (r->npend && r->pend[r->npend - 1].fd == -1) {
        r->pend[r->npend - 1].len += len;
    } else {
        *push_pend(r) = (struct pend){.fd = -1, .off = (off_t)bx_buf_unread(&r->rb), .len = len};
    }
    bx_buf_append(&r->rb, data, len);
}

int bm_body_add_file(struct bm_request *r, int fd, off_t off, off_t len, bool take_fd)
{
    if (r->started || len < 0 || off < 0) {
        if (take_fd)
            close(fd);
        return -1;
    }
    r->body_bytes += (uint64_t)len;
    if (r->head_only || len == 0) {
        if (take_fd)
            close(fd);
        return 0;
    }
    if (!take_fd && (fd = dup(fd)) == -1)
        return -1;
    *push_pend(r) = (struct pend){.fd = fd, .off = off, .len = (uint64_t)len};
    return 0;
}

void bm_finish(struct bm_request *r)
{
    if (r->started)
        return;
    if (r->status == 204 || r->status == 304 || r->status < 200) {
        for (size_t i = 0; i < r->npend; i++)
            if (r->pend[i].fd != -1)
                close(r->pend[i].fd);
        r->npend = 0;
        r->body_bytes = 0;
    }
    put_head(r, (int64_t)r->body_bytes);
    for (size_t i = 0; i < r->npend; i++) {
        struct pend *p = &r->pend[i];
        if (p->fd == -1)
            be_conn_queue(r->c, bx_buf_rpos(&r->rb) + p->off, p->len);
        else
            be_conn_queue_file(r->c, p->fd, p->off, p->len);
        p->fd = -1;
    }
    r->npend = 0;
    bx_buf_reset(&r->rb);
    end_response(r);
    kick(r);
}

void bm_respond(struct bm_request *r, int status, const char *content_type, const void *body,
                size_t len)
{
    if (r->started)
        return;
    bm_set_status(r, status);
    if (content_type)
        bm_add_header(r, "Content-Type", content_type);
    if (r->npend == 0) {
        /* the fast path: head and body straight into the output buffer */
        r->body_bytes = len;
        put_head(r, (int64_t)len);
        if (!r->head_only)
            be_conn_queue(r->c, body, len);
        end_response(r);
        kick(r);
        return;
    }
    bm_body_add(r, body, len);
    bm_finish(r);
}

void bm_respond_error(struct bm_request *r, int status)
{
    if (r->started)
        return;
    char page[256];
    const char *reason = be_http_reason(status);
    int n = snprintf(page, sizeof page,
                     "<!DOCTYPE html>\n<html><head><title>%d %s</title></head>"
                     "<body><h1>%d %s</h1></body></html>\n",
                     status, reason, status, reason);
    /* keep the headers the module set (Content-Range on 416, Allow ...), drop any body */
    for (size_t i = 0; i < r->npend; i++)
        if (r->pend[i].fd != -1)
            close(r->pend[i].fd);
    r->npend = 0;
    r->body_bytes = 0;
    bx_buf_reset(&r->rb);
    bm_respond(r, status, "text/html; charset=utf-8", page, (size_t)n);
}

bool bm_response_started(const struct bm_request *r)
{
    return r->started;
}

void bm_stream_begin(struct bm_request *r)
{
    if (r->started)
        return;
    r->streaming = true;
    if (r->req.minor == 1)
        r->chunked_out = true;
    else
        r->keep_alive = false; /* HTTP/1.0: the end of the body is the end of the connection */
    put_head(r, -1);
    kick(r);
}

void bm_stream_write(struct bm_request *r, const void *data, size_t len)
{
    if (!r->streaming || r->finished || len == 0 || r->c->closed)
        return;
    r->body_bytes += len;
    if (r->head_only)
        return;
    if (r->chunked_out) {
        char sz[24];
        int n = snprintf(sz, sizeof sz, "%zx\r\n", len);
        be_conn_queue(r->c, sz, (size_t)n);
    }
    be_conn_queue(r->c, data, len);
    if (r->chunked_out)
        be_conn_queue(r->c, "\r\n", 2);
    kick(r);
}

void bm_stream_end(struct bm_request *r)
{
    if (!r->streaming || r->finished)
        return;
    if (r->chunked_out && !r->head_only)
        be_conn_queue(r->c, "0\r\n\r\n", 5);
    end_response(r);
    kick(r);
}

size_t bm_pending(const struct bm_request *r)
{
    return (size_t)be_conn_pending(r->c);
}

/* ---- the request side of the module API ----------------------------------------------- */

/* clang-format off */
const char *bm_method(const struct bm_request *r) { return r->req.method; }
unsigned bm_method_bit(const struct bm_request *r) { return r->req.method_bit; }
const char *bm_target(const struct bm_request *r) { return r->req.target; }
const char *bm_path(const struct bm_request *r) { return r->req.path; }
const char *bm_query(const struct bm_request *r) { return r->req.query; }
int bm_http_minor(const struct bm_request *r) { return r->req.minor; }
const char *bm_host(const struct bm_request *r) { return r->req.host; }
bool bm_path_had_encoded_slash(const struct bm_request *r) { return r->req.encoded_slash; }
void bm_set_data(struct bm_request *r, void *data) { r->data = data; }
void *bm_get_data(const struct bm_request *r) { return r->data; }
/* clang-format on */

const char *bm_path_info(const struct bm_request *r)
{
    const char *p = r->req.path + r->mount_len;
    if (r->mount_len > 0 && r->req.path[r->mount_len - 1] == '/')
        p--; /* mount "/a/" keeps the slash in the path info */
    return p;
}

const char *bm_header(const struct bm_request *r, const char *name)
{
    return be_http_header(&r->req, name);
}

size_t bm_header_count(const struct bm_request *r)
{
    return r->req.nheaders;
}

bool bm_header_at(const struct bm_request *r, size_t i, const char **name, const char **value)
{
    if (i >= r->req.nheaders)
        return false;
    *name = r->req.headers[i].name;
    *value = r->req.headers[i].value;
    return true;
}

const void *bm_body(const struct bm_request *r, size_t *len)
{
    *len = bx_buf_unread(&r->body);
    return *len ? bx_buf_rpos(&r->body) : "";
}

const struct sockaddr *bm_client_addr(const struct bm_request *r, socklen_t *len)
{
    *len = r->c->clientlen;
    return (const struct sockaddr *)&r->c->client;
}

const char *bm_client_str(const struct bm_request *r)
{
    return r->c->client_str;
}

void bm_tls(const struct bm_request *r, struct bm_tls_info *out)
{
    const struct bx_proxy_info *p = r->c->proxy;
    memset(out, 0, sizeof *out);
    out->version = out->cipher = out->alpn = out->sni = "";
    if (!p)
        return;
    out->tls = p->ssl;
    out->version = p->ssl_version;
    out->cipher = p->ssl_cipher;
    out->alpn = p->alpn;
    out->sni = p->authority;
    out->unique_id = p->unique_id;
    out->unique_id_len = p->unique_id_len;
}

void bm_on_abort(struct bm_request *r, void (*cb)(struct bm_request *r, void *data))
{
    r->abort_cb = cb;
}

/* ---- reading requests ------------------------------------------------------------------ */

/* A request that cannot be parsed: answer and close. */
static void fail(struct bm_request *r, int status)
{
    r->keep_alive = false;
    if (status == 400 || status == 414 || status == 431 || status == 413 || status == 501 ||
        status == 505)
        bx_log_info("%s: request refused with %d %s", r->c->client_str, status,
                    be_http_reason(status));
    r->state = S_HANDLER;
    bm_respond_error(r, status);
}

static void dispatch(struct bm_request *r)
{
    const struct be_instance *in = r->inst;
    r->state = S_HANDLER;
    r->stall_mark = r->c->bytes_out;
    be_conn_timer(r->c, be_worker->idle_timeout_ms);
    unsigned seq = r->nrequests;
    /* if the module kills the worker here, the master learns where */
    be_activity_enter(in->index, r->req.method, r->req.path);
    int rc = in->mod->handle(r, in->inst);
    be_activity_leave();
    if (r->nrequests != seq || r->state == S_CLOSING || r->c->closed || rc == BM_ASYNC)
        return; /* answered (the next request may already be under way), or gone */
    if (r->streaming && rc == BM_DONE) {
        bm_stream_end(r);
        return;
    }
    if (r->started) {
        /* a response that started and cannot be finished: the client must see a cut */
        r->keep_alive = false;
        be_conn_close_after_flush(r->c);
        return;
    }
    if (rc == BM_DECLINED)
        bm_respond_error(r, 404);
    else
        bm_respond_error(r, 500);
}

/* A mount whose module crashed its worker too often (the master set its gate):
 * 503 with Retry-After until the back-off ends. True when answered. */
static bool mount_backed_off(struct bm_request *r, bool has_body)
{
    uint64_t left = be_mount_backoff_left(r->inst->index, bx_now_ms());
    if (left == 0)
        return false;
    char secs[24];
    snprintf(secs, sizeof secs, "%llu", (unsigned long long)(left + 999) / 1000);
    if (has_body)
        r->keep_alive = false;
    r->state = S_HANDLER;
    bm_add_header(r, "Retry-After", secs);
    bm_respond(r, 503, "text/plain; charset=utf-8", "Service Unavailable\n", 20);
    return true;
}

/* The head is parsed: route, check, then read a body or dispatch. */
static void head_done(struct bm_request *r)
{
    struct be_conn *c = r->c;
    const struct be_http_req *q = &r->req;
    r->keep_alive = q->keep_alive;
    r->head_only = q->method_bit == BM_HEAD;
    bool has_body = q->chunked || q->content_length > 0;
    if (q->content_length > be_worker->lim.max_body) {
        fail(r, 413);
        return;
    }
    r->inst = be_router_match(be_worker->mods->router, q->host, q->path, &r->mount_len);
    if (!r->inst) {
        if (has_body)
            r->keep_alive = false; /* the body will not be read */
        r->state = S_HANDLER;
        bm_respond_error(r, 404);
        return;
    }
    if (!(r->inst->methods & q->method_bit)) {
        char allow[128];
        be_methods_str(r->inst->methods, allow, sizeof allow);
        if (has_body)
            r->keep_alive = false;
        r->state = S_HANDLER;
        bm_add_header(r, "Allow", allow);
        bm_respond(r, 405, "text/plain; charset=utf-8", "Method Not Allowed\n", 19);
        return;
    }
    if (mount_backed_off(r, has_body))
        return;
    if (q->upgrade_websocket && r->inst->mod->ws) {
        /* Whatever follows a refused upgrade (a body, or bytes meant for the
         * WebSocket) must never be read as the next request: a refusal ends the
         * connection, and an upgrade with a body is refused outright. */
        r->keep_alive = false;
        r->state = S_HANDLER;
        be_conn_timer(c, 0);
        if (has_body) {
            bx_log_info("%s: WebSocket upgrade refused (400): the request has a body",
                        c->client_str);
            bm_respond_error(r, 400);
            return;
        }
        if (be_conn_peer_gone(c)) {
            /* queued while we could not accept, and abandoned since: a 101
             * now would open a session nobody is on the other end of */
            be_conn_close(c);
            return;
        }
        be_activity_enter(r->inst->index, q->method, q->path);
        be_ws_upgrade(c, r, r->inst);
        be_activity_leave();
        return;
    }
    if (!has_body) {
        dispatch(r);
        return;
    }
    r->state = S_BODY;
    r->body_left = q->chunked ? -1 : q->content_length;
    if (q->expect_continue && bx_buf_unread(&c->in) == 0)
        be_conn_queue(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    be_conn_timer(c, be_worker->body_timeout_ms);
}

static void read_head(struct bm_request *r)
{
    struct be_conn *c = r->c;
    const char *buf = bx_buf_rpos(&c->in);
    size_t len = bx_buf_unread(&c->in);
    if (len == 0)
        return;
    if (!r->head_started) {
        r->head_started = true;
        be_conn_timer(c, be_worker->header_timeout_ms);
    }
    long n = be_http_scan(&r->scan, buf, len, &be_worker->lim);
    if (n == 0)
        return;
    if (n < 0) {
        fail(r, (int)-n);
        return;
    }
    bx_buf_reset(&r->head);
    bx_buf_append(&r->head, buf, (size_t)n);
    bx_buf_consume(&c->in, (size_t)n);
    int rc = be_http_parse(&r->req, bx_buf_rpos(&r->head), (size_t)n, &be_worker->lim);
    if (rc) {
        fail(r, rc);
        return;
    }
    head_done(r);
}

static void read_body(struct bm_request *r)
{
    struct be_conn *c = r->c;
    size_t len = bx_buf_unread(&c->in);
    if (len == 0)
        return;
    if (r->body_left >= 0) {
        size_t n = len < (uint64_t)r->body_left ? len : (size_t)r->body_left;
        bx_buf_append(&r->body, bx_buf_rpos(&c->in), n);
        bx_buf_consume(&c->in, n);
        r->body_left -= (int64_t)n;
        if (r->body_left == 0)
            dispatch(r);
        else
            be_conn_timer(c, be_worker->body_timeout_ms);
        return;
    }
    size_t used = 0;
    int rc = be_chunked_decode(&r->ch, bx_buf_rpos(&c->in), len, &used, &r->body, &be_worker->lim);
    bx_buf_consume(&c->in, used);
    if (rc < 0)
        fail(r, -rc);
    else if (rc == 1)
        dispatch(r);
    else
        be_conn_timer(c, be_worker->body_timeout_ms);
}

static void http_process(struct bm_request *r)
{
    struct be_conn *c = r->c;
    r->in_process = true;
    for (;;) {
        enum state before = r->state;
        size_t avail = bx_buf_unread(&c->in);
        if (r->state == S_DONE)
            start_request(r);
        if (r->state == S_HEAD) {
            if (be_conn_pending(c) > MAX_PENDING_OUT)
                break; /* resumed by http_write */
            read_head(r);
        } else if (r->state == S_BODY) {
            read_body(r);
        }
        /* Closed, or taken over (WebSocket): r is freed then, and the session
         * may sit at r's very address (malloc reuses the chunk), so "c->proto
         * != r" alone cannot tell; the ops can. */
        if (c->closed || c->ops != &http_ops || c->proto != r)
            return;
        if (r->state == before && bx_buf_unread(&c->in) == avail)
            break; /* no progress: wait for bytes */
    }
    r->in_process = false;
    if ((r->state == S_HEAD || r->state == S_BODY) && c->eof) {
        be_conn_close_after_flush(c); /* the client half-closed mid-request */
        return;
    }
    if (r->state == S_HANDLER && c->eof) {
        /* the client left while a module works on its answer: tell the module
         * (bm_on_abort) instead of keeping the connection for nobody */
        be_conn_close(c);
        return;
    }
    /* flow control: do not buffer unbounded pipelined input */
    bool want = r->state != S_CLOSING &&
                bx_buf_unread(&c->in) <
                    be_worker->lim.max_request_line + be_worker->lim.max_header_size + 65536 &&
                be_conn_pending(c) <= MAX_PENDING_OUT;
    if (want != c->reading)
        be_conn_want_read(c, want);
    be_conn_flush(c);
}

static void http_read(struct be_conn *c)
{
    http_process(c->proto);
}

static void http_write(struct be_conn *c)
{
    struct bm_request *r = c->proto;
    if (r->state == S_HEAD && !r->in_process)
        http_process(r);
}

static void http_timer(struct be_conn *c)
{
    struct bm_request *r = c->proto;
    switch (r->state) {
    case S_HEAD:
        if (r->head_started) {
            bx_log_info("%s: request head not received within %llu ms", c->client_str,
                        (unsigned long long)be_worker->header_timeout_ms);
            r->in_process = true;
            fail(r, 408);
            r->in_process = false;
            be_conn_flush(c);
        } else {
            be_conn_close(c); /* idle keep-alive connection */
        }
        break;
    case S_BODY:
        r->in_process = true;
        fail(r, 408);
        r->in_process = false;
        be_conn_flush(c);
        break;
    case S_HANDLER:
        if (be_conn_pending(c) > 0 && c->bytes_out == r->stall_mark) {
            /* output that did not move for a whole idle period: a stalled reader */
            bx_log_info("%s: client stopped reading; closing", c->client_str);
            be_conn_close(c);
            break;
        }
        r->stall_mark = c->bytes_out;
        be_conn_timer(c, be_worker->idle_timeout_ms);
        break;
    case S_DONE:
    case S_CLOSING: be_conn_close(c); break;
    }
}

static void http_close(struct be_conn *c)
{
    struct bm_request *r = c->proto;
    if (r->state == S_HANDLER && !r->finished && r->abort_cb)
        r->abort_cb(r, r->data);
    r->abort_cb = NULL;
    r->state = S_CLOSING;
}

/* Memory goes only when the loop turn ends: code up the stack may still hold r. */
static void http_free(struct be_conn *c)
{
    free_request(c->proto);
    c->proto = NULL;
}

/* An idle keep-alive connection is not cut at once on a drain: its client may
 * have sent the next request already (a busy one always has), and that request
 * would fail. A request arriving within the grace is answered with
 * "Connection: close"; a connection still idle after it is closed. */
#define DRAIN_IDLE_GRACE_MS 1000

static void http_drain(struct be_conn *c)
{
    struct bm_request *r = c->proto;
    if (r->state == S_HEAD && !r->head_started)
        be_conn_timer(c, DRAIN_IDLE_GRACE_MS);
    /* otherwise the response in flight says "Connection: close" and ends it */
}

void be_http_detach(struct bm_request *r)
{
    struct be_conn *c = r->c;
    r->status = 101;
    r->finished = true;
    be_worker->stats->requests++;
    access_log(r);
    be_conn_timer(c, 0);
    c->proto = NULL;
    c->ops = NULL;
    free_request(r);
}
