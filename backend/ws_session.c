/* SPDX-License-Identifier: BSD-2-Clause */
/* WebSocket sessions: the upgrade, the read side, control frames, the close
 * handshake, heartbeat and timers (see ws_session.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "backend/conn.h"
#include "backend/crashrec.h"
#include "backend/http.h"
#include "backend/modset.h"
#include "backend/worker.h"
#include "backend/ws_handshake.h"
#include "backend/ws_session.h"
#include "common/log.h"
#include "common/xalloc.h"

/* A message buffer keeps at most this much capacity between messages. */
#define KEEP_MSG_CAP (64 * 1024)

static struct bm_ws *sessions; /* this worker's sessions */
static size_t nsessions;
static uint64_t next_id = 1;

static void ws_on_read(struct be_conn *c);
static void ws_on_write(struct be_conn *c);
static void ws_on_timer(struct be_conn *c);
static void ws_on_close(struct be_conn *c);
static void ws_on_free(struct be_conn *c);
static void ws_on_drain(struct be_conn *c);

static const struct be_conn_ops ws_ops = {
    .on_read = ws_on_read,
    .on_write = ws_on_write,
    .on_timer = ws_on_timer,
    .on_close = ws_on_close,
    .on_free = ws_on_free,
    .on_drain = ws_on_drain,
};

/* ---- options ------------------------------------------------------------------------ */

void bm_ws_options_default(struct bm_ws_options *o)
{
    memset(o, 0, sizeof(*o));
    o->max_message_size = 16u << 20;
    o->ping_interval_ms = 30000;
    o->max_missed_pongs = 2;
    o->close_timeout_ms = 5000;
    o->send_high_watermark = 1u << 20;
    o->send_low_watermark = 256u << 10;
    o->fragment_size = 64u << 10;
    snprintf(o->deflate_preset, sizeof(o->deflate_preset), "balanced");
    o->deflate_threshold = 128;
}

/* The options' ranges are the accessors' (bm_conf_duration_ms, bm_conf_size):
 * one message names file, line, module, mount and key for any of them. */
#define TB (UINT64_C(1) << 40)

static void read_sizes(struct bm_conf *c, struct bm_ws_options *o)
{
    uint64_t v, lo;
    bm_conf_size(c, "max_message_size", o->max_message_size, 1, TB, &o->max_message_size);
    bm_conf_size(c, "max_frame_size", 0, 0, TB, &o->max_frame_size);
    bm_conf_size(c, "fragment_size", o->fragment_size, 125, UINT64_C(1) << 30, &v);
    o->fragment_size = (size_t)v;
    bm_conf_size(c, "deflate_threshold", o->deflate_threshold, 0, TB, &v);
    o->deflate_threshold = (size_t)v;
    int bad = bm_conf_size(c, "send_high_watermark", o->send_high_watermark, 1, TB, &v);
    bad |= bm_conf_size(c, "send_low_watermark", o->send_low_watermark, 0, TB, &lo);
    if (!bad && lo > v)
        bm_conf_error(c, "send_low_watermark", "must not be above send_high_watermark");
    else if (!bad) {
        o->send_high_watermark = (size_t)v;
        o->send_low_watermark = (size_t)lo;
    }
}

static void read_timers(struct bm_conf *c, struct bm_ws_options *o)
{
    uint64_t v;
    bm_conf_duration_ms(c, "ping_interval", o->ping_interval_ms, 0, 86400000, &v);
    o->ping_interval_ms = (unsigned)v;
    bm_conf_duration_ms(c, "idle_timeout", 0, 0, 86400000, &v);
    o->idle_timeout_ms = (unsigned)v;
    bm_conf_duration_ms(c, "close_timeout", o->close_timeout_ms, 100, 3600000, &v);
    o->close_timeout_ms = (unsigned)v;
    long long n = bm_conf_int(c, "max_missed_pongs", o->max_missed_pongs);
    if (n < 1 || n > 100)
        bm_conf_error(c, "max_missed_pongs", "must be 1 to 100");
    else
        o->max_missed_pongs = (unsigned)n;
}

void bm_ws_options_read(struct bm_conf *c, struct bm_ws_options *o)
{
    bm_ws_options_default(o);
    read_sizes(c, o);
    read_timers(c, o);
    o->streaming = bm_conf_bool(c, "streaming", false);
    o->deflate = bm_conf_bool(c, "deflate", false);
    const char *preset = bm_conf_string(c, "deflate_preset", o->deflate_preset);
    struct be_ws_pmd_policy pol;
    if (be_ws_pmd_preset(preset, &pol) < 0)
        bm_conf_error(c, "deflate_preset", "must be \"max\", \"balanced\" or \"low\"");
    else
        snprintf(o->deflate_preset, sizeof(o->deflate_preset), "%s", preset);
    const char *g = bm_conf_string(c, "greeting", "");
    if (strlen(g) >= sizeof(o->greeting))
        bm_conf_error(c, "greeting", "at most %zu bytes", sizeof(o->greeting) - 1);
    else
        snprintf(o->greeting, sizeof(o->greeting), "%s", g);
}

static const struct bm_ws_options *options_of(const struct bm_ws_handlers *h, void *minst)
{
    static struct bm_ws_options defaults;
    static bool have_defaults;
    const struct bm_ws_options *o = h->options ? h->options(minst) : NULL;
    if (o)
        return o;
    if (!have_defaults) {
        bm_ws_options_default(&defaults);
        have_defaults = true;
    }
    return &defaults;
}

/* ---- the upgrade -------------------------------------------------------------------- */

/* Joins every header line called name with ", " (lists may span lines). */
static const char *joined_header(const struct bm_request *r, const char *name, struct bx_buf *b)
{
    size_t n = bm_header_count(r);
    bool found = false;
    bx_buf_reset(b);
    for (size_t i = 0; i < n; i++) {
        const char *hn, *hv;
        if (!bm_header_at(r, i, &hn, &hv) || strcasecmp(hn, name) != 0)
            continue;
        if (found)
            bx_buf_append(b, ", ", 2);
        bx_buf_append_str(b, hv);
        found = true;
    }
    if (!found)
        return NULL;
    bx_buf_append(b, "", 1);
    return bx_buf_rpos(b);
}

static void refuse(struct bm_request *r, int status, const char *why, const char *client)
{
    bx_log_info("%s: WebSocket upgrade refused (%d): %s", client, status, why);
    if (status == 426) {
        bm_set_status(r, 426);
        bm_add_header(r, "Sec-WebSocket-Version", "13");
        bm_add_header(r, "Content-Type", "text/plain; charset=utf-8");
        bm_body_add(r, "Upgrade Required: WebSocket version 13\n", 39);
        bm_finish(r);
        return;
    }
    bm_respond_error(r, status);
}

static struct bm_ws *session_new(struct be_conn *c, const struct be_instance *inst,
                                 const struct bm_ws_options *opt)
{
    struct bm_ws *ws = bx_xcalloc(1, sizeof(*ws));
    ws->c = c;
    ws->inst = inst;
    ws->h = inst->mod->ws;
    ws->minst = inst->inst;
    ws->opt = opt;
    ws->id = next_id++;
    bx_buf_init(&ws->msg);
    bx_buf_init(&ws->backlog);
    ws->next = sessions;
    if (sessions)
        sessions->prev = ws;
    sessions = ws;
    nsessions++;
    return ws;
}

/* What a compressed message of at most cap inflated bytes may take on the wire:
 * deflate's stored blocks add 5 bytes per 64 KiB to data that does not shrink,
 * the rest is headroom. Bytes after the stream's final block count too, so no
 * message is endless however it is compressed. */
static uint64_t wire_cap(uint64_t cap)
{
    return cap + (cap >> 10) + 64;
}

/* Header values joined for the handshake; they live until the upgrade is
 * done (the offered subprotocols, and so the chosen one, point into proto). */
struct hs_headers {
    struct bx_buf conn, up, ver, proto, ext;
};

static size_t count_headers(const struct bm_request *r, const char *name)
{
    size_t n = 0;
    for (size_t i = 0, count = bm_header_count(r); i < count; i++) {
        const char *hn, *hv;
        if (bm_header_at(r, i, &hn, &hv) && !strcasecmp(hn, name))
            n++;
    }
    return n;
}

/* RFC 6455 4.2.1: 0 and the client's key, or the status to refuse with. */
static int check_request(struct bm_request *r, struct hs_headers *hh, const char **key,
                         const char **why)
{
    const char *host = bm_header(r, "Host");
    struct be_ws_hs_request hr = {
        .method = bm_method(r),
        .http_major = 1,
        .http_minor = bm_http_minor(r),
        .has_host = host != NULL && *host != 0,
        .connection = joined_header(r, "Connection", &hh->conn),
        .upgrade = joined_header(r, "Upgrade", &hh->up),
        .version = joined_header(r, "Sec-WebSocket-Version", &hh->ver),
        .key = bm_header(r, "Sec-WebSocket-Key"),
    };
    int status = be_ws_hs_check(&hr, why);
    /* Two Sec-WebSocket-Key lines are as bad as a malformed one. */
    if (!status && count_headers(r, "Sec-WebSocket-Key") != 1) {
        status = 400;
        *why = "several Sec-WebSocket-Key headers";
    }
    *key = hr.key;
    return status;
}

/* The module's accept(): 0 and the subprotocol it chose (only one the
 * client offered is kept), or the status to refuse with. */
static int module_accept(struct bm_request *r, const struct be_instance *inst,
                         struct hs_headers *hh, const char **chosen)
{
    const struct bm_ws_handlers *h = inst->mod->ws;
    const char *protos[33];
    char *plist = (char *)joined_header(r, "Sec-WebSocket-Protocol", &hh->proto);
    be_ws_split_protocols(plist, protos, sizeof(protos) / sizeof(*protos));
    *chosen = NULL;
    if (!h->accept)
        return 0;
    struct bm_ws_handshake hs = {r, bm_header(r, "Origin"), protos};
    int status = h->accept(inst->inst, &hs, chosen);
    if (status)
        return status < 400 ? 403 : status;
    *chosen = be_ws_chosen_protocol(*chosen, protos);
    return 0;
}

/* permessage-deflate, when the mount enables it and the client offers it:
 * 1 with the parameters and the response's extension header, or 0. */
static int negotiate_deflate(struct bm_request *r, const struct bm_ws_options *opt,
                             struct hs_headers *hh, struct be_ws_pmd_params *pmdp, char *ext_resp,
                             size_t cap)
{
    if (!opt->deflate)
        return 0;
    struct be_ws_pmd_policy pol;
    be_ws_pmd_preset(opt->deflate_preset, &pol);
    const char *ext = joined_header(r, "Sec-WebSocket-Extensions", &hh->ext);
    if (!ext)
        return 0;
    return be_ws_pmd_negotiate(ext, strlen(ext), &pol, pmdp, ext_resp, cap);
}

/* The session on c, as the handshake agreed: no I/O yet. */
static struct bm_ws *session_make(struct be_conn *c, const struct be_instance *inst,
                                  const struct bm_ws_options *opt, const char *chosen,
                                  const struct be_ws_pmd_params *pmdp)
{
    struct bm_ws *ws = session_new(c, inst, opt);
    if (chosen)
        ws->subprotocol = bx_xstrdup(chosen);
    ws->pmd = pmdp != NULL;
    if (pmdp) {
        ws->pmdp = *pmdp;
        be_ws_inflater_init(&ws->inf, pmdp->client_wbits, pmdp->client_no_context);
    }
    /* The frame limit holds with compression too: it is a limit on wire bytes. */
    uint64_t maxf = opt->max_frame_size ? opt->max_frame_size
                    : pmdp              ? wire_cap(opt->max_message_size)
                                        : opt->max_message_size;
    be_ws_parser_init(&ws->p, 1, pmdp ? BE_WS_RSV1 : 0, maxf);
    be_utf8_init(&ws->utf8);
    c->ops = &ws_ops;
    c->proto = ws;
    return ws;
}

const struct bm_ws_options *be_ws_options_of(const struct be_instance *inst)
{
    return options_of(inst->mod->ws, inst->inst);
}

struct bm_ws *be_ws_adopt(struct be_conn *c, const struct be_instance *inst,
                          const struct be_ws_pmd_params *pmdp, const char *subprotocol)
{
    return session_make(c, inst, be_ws_options_of(inst), subprotocol, pmdp);
}

/* A session handed over by an old worker starts reading where that one
 * stopped: what it had read but not parsed is in c->in already. */
void be_ws_adopted_start(struct bm_ws *ws)
{
    struct be_conn *c = ws->c;
    ws->read_paused = ws->above_high;
    be_conn_want_read(c, !ws->read_paused);
    be_ws_arm_timer(ws);
    if (!c->closed && bx_buf_unread(&c->in) && !ws->read_paused)
        ws_on_read(c);
    if (!c->closed)
        be_conn_flush(c);
}

/* After the 101 is queued and HTTP let go: the session takes the connection
 * over, the module's open() runs, and frames already buffered are read. */
static void session_start(struct be_conn *c, const struct be_instance *inst,
                          const struct bm_ws_options *opt, const char *chosen,
                          const struct be_ws_pmd_params *pmdp, const char *ext_resp)
{
    struct bm_ws *ws = session_make(c, inst, opt, chosen, pmdp);
    be_conn_want_read(c, true);
    uint64_t now = bm_now_ms();
    if (opt->ping_interval_ms)
        ws->next_ping_at = now + opt->ping_interval_ms;
    if (opt->idle_timeout_ms)
        ws->idle_at = now + opt->idle_timeout_ms;
    be_ws_arm_timer(ws);
    bx_log_debug("%s: WebSocket session %llu open on %s%s%s", c->client_str,
                 (unsigned long long)ws->id, inst->path, pmdp ? " with " : "",
                 pmdp ? ext_resp : "");
    if (ws->h->open)
        ws->h->open(ws, ws->minst);
    if (!c->closed && bx_buf_unread(&c->in))
        ws_on_read(c);
    if (!c->closed)
        be_conn_flush(c);
}

void be_ws_upgrade(struct be_conn *c, struct bm_request *r, const struct be_instance *inst)
{
    const struct bm_ws_options *opt = options_of(inst->mod->ws, inst->inst);
    struct hs_headers hh = {BX_BUF_INIT, BX_BUF_INIT, BX_BUF_INIT, BX_BUF_INIT, BX_BUF_INIT};
    const char *key = NULL, *why = NULL, *chosen = NULL;
    int status = check_request(r, &hh, &key, &why);
    if (status) {
        refuse(r, status, why, bm_client_str(r));
        goto out;
    }
    if ((status = module_accept(r, inst, &hh, &chosen)) != 0) {
        refuse(r, status, "refused by the module", bm_client_str(r));
        goto out;
    }
    struct be_ws_pmd_params pmdp;
    char ext_resp[200] = "";
    int pmd = negotiate_deflate(r, opt, &hh, &pmdp, ext_resp, sizeof(ext_resp));
    char accept[BE_WS_ACCEPT_LEN];
    be_ws_accept_key(key, accept);
    struct bx_buf resp = BX_BUF_INIT;
    be_ws_response_101(&resp, accept, chosen, pmd ? ext_resp : NULL);
    be_conn_queue(c, bx_buf_rpos(&resp), bx_buf_unread(&resp));
    bx_buf_free(&resp);
    be_http_detach(r);
    session_start(c, inst, opt, chosen, pmd ? &pmdp : NULL, ext_resp);
out:
    bx_buf_free(&hh.conn);
    bx_buf_free(&hh.up);
    bx_buf_free(&hh.ver);
    bx_buf_free(&hh.proto);
    bx_buf_free(&hh.ext);
}

/* ---- closing ------------------------------------------------------------------------ */

static void report_close(struct bm_ws *ws, unsigned code, const char *reason, size_t len)
{
    if (ws->close_cb_done)
        return;
    ws->close_cb_done = true;
    if (ws->h->close)
        ws->h->close(ws, code, reason ? reason : "", reason ? len : 0, ws->minst);
}

static void send_close_frame(struct bm_ws *ws, unsigned code, const char *reason)
{
    uint8_t pl[125];
    size_t n = 0;
    if (code) {
        pl[0] = (uint8_t)(code >> 8);
        pl[1] = (uint8_t)code;
        n = 2;
        if (reason) {
            size_t rl = strlen(reason);
            if (rl > 123)
                rl = 123;
            while (rl && !be_utf8_valid((const uint8_t *)reason, rl))
                rl--; /* never cut a character in half */
            memcpy(pl + 2, reason, rl);
            n += rl;
        }
    }
    be_ws_queue_control(ws, BE_WS_OP_CLOSE, pl, n);
}

/* Starts our side of the close handshake: the session ends when the peer
 * answers or close_timeout passes. The close frame goes right after what is
 * already in the connection queue; frames still in the backlog are dropped,
 * since no data frame may follow a close (RFC 6455 5.5.1). */
static void start_close(struct bm_ws *ws, unsigned code, const char *reason)
{
    if (ws->state != BE_WS_OPEN)
        return;
    send_close_frame(ws, code, reason);
    be_ws_drop_backlog(ws);
    ws->state = BE_WS_CLOSING;
    ws->close_at = bm_now_ms() + ws->opt->close_timeout_ms;
    be_ws_arm_timer(ws);
    be_conn_flush(ws->c);
}

/* Once our last frame is out: FIN, so the peer sees our close and then EOF
 * (RFC 6455 7.1.1: the server closes the TCP connection first). The socket
 * itself stays open, discarding input, until the peer hangs up or
 * close_timeout passes: closing it with unread bytes would reset the
 * connection and could destroy our close frame in flight. */
void be_ws_half_close(struct bm_ws *ws)
{
    if (!ws->shut_wr_pending || ws->c->closed || be_conn_pending(ws->c))
        return;
    ws->shut_wr_pending = false;
    shutdown(ws->c->fd, SHUT_WR);
}

/* Failing the connection (RFC 6455 7.1.7): our close frame, then at once
 * the TCP close above. The peer's answer is not awaited, it may never come:
 * its close frame may be the very one that failed (an invalid code or
 * reason), or after a framing error it can no longer be found. */
void be_ws_fail(struct bm_ws *ws, unsigned code, const char *reason)
{
    if (ws->state != BE_WS_OPEN)
        return;
    bx_log_info("%s: WebSocket session %llu failed: %u %s", ws->c->client_str,
                (unsigned long long)ws->id, code, reason ? reason : "");
    ws->shut_wr_pending = true;
    start_close(ws, code, reason);
    if (ws->c->closed)
        return;
    ws->state = BE_WS_CLOSED;
    report_close(ws, code, reason, reason ? strlen(reason) : 0);
    if (ws->c->closed)
        return;
    if (ws->read_paused) {
        ws->read_paused = false; /* read on, to see the peer hang up */
        be_conn_want_read(ws->c, true);
    }
    be_ws_half_close(ws);
}

void bm_ws_close(struct bm_ws *ws, unsigned code, const char *reason)
{
    if (!be_ws_close_code_valid(code))
        code = BE_WS_CLOSE_NORMAL;
    start_close(ws, code, reason);
}

/* ---- control frames ----------------------------------------------------------------- */

static void on_close_frame(struct bm_ws *ws)
{
    unsigned code = BE_WS_CLOSE_NO_STATUS;
    const char *reason = "";
    size_t rlen = 0;
    if (ws->ctl_len == 1) {
        be_ws_fail(ws, BE_WS_CLOSE_PROTOCOL, "close frame with a 1-byte payload");
        return;
    }
    if (ws->ctl_len >= 2) {
        code = (unsigned)ws->ctl[0] << 8 | ws->ctl[1];
        reason = (const char *)ws->ctl + 2;
        rlen = ws->ctl_len - 2u;
        if (!be_ws_close_code_valid(code)) {
            be_ws_fail(ws, BE_WS_CLOSE_PROTOCOL, "invalid close code");
            return;
        }
        if (!be_utf8_valid((const uint8_t *)reason, rlen)) {
            be_ws_fail(ws, BE_WS_CLOSE_BAD_DATA, "close reason is not UTF-8");
            return;
        }
    }
    if (ws->state == BE_WS_OPEN) {
        /* Echo the status code, then the server closes TCP first (RFC 6455 7.1.1). */
        uint8_t pl[2] = {(uint8_t)(code >> 8), (uint8_t)code};
        be_ws_queue_control(ws, BE_WS_OP_CLOSE, pl, code == BE_WS_CLOSE_NO_STATUS ? 0 : 2);
    }
    ws->state = BE_WS_CLOSED;
    char rb[124];
    memcpy(rb, reason, rlen);
    rb[rlen] = 0;
    report_close(ws, code, rb, rlen);
    be_conn_close_after_flush(ws->c);
}

static void on_pong(struct bm_ws *ws)
{
    /* The answer to our heartbeat carries its sequence number; anything else
     * is an unsolicited pong, which RFC 6455 5.5.3 says to ignore. */
    if (ws->ping_outstanding && ws->ctl_len == 8) {
        uint64_t seq;
        memcpy(&seq, ws->ctl, 8);
        if (seq == ws->ping_seq) {
            ws->ping_outstanding = false;
            ws->missed_pongs = 0;
        }
    }
    if (ws->h->pong)
        ws->h->pong(ws, ws->ctl, ws->ctl_len, ws->minst);
}

static void control_frame_end(struct bm_ws *ws, int opcode)
{
    switch (opcode) {
    case BE_WS_OP_PING:
        if (ws->state == BE_WS_OPEN) {
            be_ws_queue_control(ws, BE_WS_OP_PONG, ws->ctl, ws->ctl_len);
            if (ws->h->ping)
                ws->h->ping(ws, ws->ctl, ws->ctl_len, ws->minst);
        }
        break;
    case BE_WS_OP_PONG:
        if (ws->state == BE_WS_OPEN)
            on_pong(ws);
        break;
    case BE_WS_OP_CLOSE: on_close_frame(ws); break;
    }
}

/* ---- data messages ------------------------------------------------------------------ */

/* Takes inflated (or plain) message bytes: limit, UTF-8, then buffer or stream. */
static int take_data(struct bm_ws *ws, const uint8_t *p, size_t n, unsigned flags)
{
    const struct be_ws_frame_hdr *f = &ws->p.hdr;
    ws->msg_size += n;
    if (ws->msg_size > ws->opt->max_message_size) {
        char why[80];
        snprintf(why, sizeof(why), "message over %llu bytes",
                 (unsigned long long)ws->opt->max_message_size);
        be_ws_fail(ws, BE_WS_CLOSE_TOO_BIG, why);
        return -1;
    }
    if (f->msg_opcode == BE_WS_OP_TEXT && be_utf8_feed(&ws->utf8, p, n) < 0) {
        be_ws_fail(ws, BE_WS_CLOSE_BAD_DATA, "invalid UTF-8 in a text message");
        return -1;
    }
    if (ws->opt->streaming && ws->h->chunk) {
        if (!ws->msg_started)
            flags |= BM_WS_MSG_FIRST;
        if (!ws->frame_started)
            flags |= BM_WS_FRAME_START;
        ws->msg_started = ws->frame_started = true;
        if (n || flags)
            ws->h->chunk(ws, f->msg_opcode, p, n, flags, ws->minst);
        return ws->c->closed || ws->state != BE_WS_OPEN ? -1 : 0;
    }
    bx_buf_append(&ws->msg, p, n);
    return 0;
}

static int inflate_sink(void *ctx, const uint8_t *p, size_t n)
{
    return take_data(ctx, p, n, 0);
}

static void deliver(struct bm_ws *ws, int opcode, const uint8_t *p, size_t len)
{
    /* a module that dies on a message is backed off like one that dies on a request */
    be_activity_enter(ws->inst->index, "WebSocket", "message");
    if (opcode == BE_WS_OP_TEXT) {
        if (ws->h->text)
            ws->h->text(ws, (const char *)p, len, ws->minst);
    } else if (ws->h->binary) {
        ws->h->binary(ws, p, len, ws->minst);
    }
    be_activity_leave();
}

static void message_end(struct bm_ws *ws)
{
    const struct be_ws_frame_hdr *f = &ws->p.hdr;
    if (f->msg_opcode == BE_WS_OP_TEXT && !be_utf8_complete(&ws->utf8)) {
        be_ws_fail(ws, BE_WS_CLOSE_BAD_DATA, "text message ends inside a UTF-8 sequence");
        return;
    }
    if (ws->opt->streaming && ws->h->chunk) {
        take_data(ws, NULL, 0, BM_WS_MSG_LAST | BM_WS_FRAME_END);
    } else {
        bx_buf_append(&ws->msg, "", 1); /* NUL for text convenience, not counted */
        deliver(ws, f->msg_opcode, (const uint8_t *)bx_buf_rpos(&ws->msg),
                bx_buf_unread(&ws->msg) - 1);
        if (ws->msg.cap > KEEP_MSG_CAP)
            bx_buf_free(&ws->msg);
        else
            bx_buf_reset(&ws->msg);
    }
    ws->msg_size = 0;
    ws->msg_wire = 0;
    ws->msg_started = false;
    be_utf8_init(&ws->utf8);
}

/* Payload bytes of a data frame. */
static void data_payload(struct bm_ws *ws, uint8_t *p, size_t n)
{
    const struct be_ws_frame_hdr *f = &ws->p.hdr;
    if (ws->state != BE_WS_OPEN)
        return; /* after our close: discard */
    if (f->msg_rsv1) {
        uint64_t cap = ws->opt->max_message_size;
        ws->msg_wire += n;
        if (ws->msg_wire > wire_cap(cap)) {
            be_ws_fail(ws, BE_WS_CLOSE_TOO_BIG, "compressed message too big");
            return;
        }
        int rc = be_ws_inflate(&ws->inf, p, n, 0, cap, inflate_sink, ws);
        if (rc == BE_WS_INFLATE_TOO_BIG)
            be_ws_fail(ws, BE_WS_CLOSE_TOO_BIG, "inflated message too big");
        else if (rc == BE_WS_INFLATE_BAD)
            be_ws_fail(ws, BE_WS_CLOSE_BAD_DATA, "invalid deflate data");
        return;
    }
    /* A whole unfragmented frame in the buffer goes straight to the module. */
    if (f->msg_first && f->msg_last && n == f->len && !bx_buf_unread(&ws->msg) &&
        !(ws->opt->streaming && ws->h->chunk)) {
        if (n > ws->opt->max_message_size) {
            be_ws_fail(ws, BE_WS_CLOSE_TOO_BIG, "message too big");
            return;
        }
        if (f->msg_opcode == BE_WS_OP_TEXT) {
            if (!be_utf8_valid(p, n)) {
                be_ws_fail(ws, BE_WS_CLOSE_BAD_DATA, "invalid UTF-8 in a text message");
                return;
            }
        }
        ws->msg_size = (uint64_t)-1; /* marks "delivered directly" for frame_end */
        /* The NUL promised to text handlers: the byte after the payload is
         * either the next frame (restored below) or spare buffer space. */
        uint8_t saved = p[n];
        p[n] = 0;
        deliver(ws, f->msg_opcode, p, n);
        p[n] = saved;
        return;
    }
    take_data(ws, p, n, 0);
}

static void data_frame_end(struct bm_ws *ws)
{
    const struct be_ws_frame_hdr *f = &ws->p.hdr;
    if (ws->state != BE_WS_OPEN)
        return;
    if (ws->msg_size == (uint64_t)-1) {
        ws->msg_size = 0;
        return;
    }
    if (f->msg_rsv1 && f->msg_last) {
        uint64_t cap = ws->opt->max_message_size;
        int rc = be_ws_inflate(&ws->inf, NULL, 0, 1, cap, inflate_sink, ws);
        if (rc == BE_WS_INFLATE_TOO_BIG)
            be_ws_fail(ws, BE_WS_CLOSE_TOO_BIG, "inflated message too big");
        else if (rc == BE_WS_INFLATE_BAD)
            be_ws_fail(ws, BE_WS_CLOSE_BAD_DATA, "invalid deflate data");
        if (rc != BE_WS_INFLATE_OK)
            return;
    }
    if (f->msg_last)
        message_end(ws);
    else if (ws->opt->streaming && ws->h->chunk)
        take_data(ws, NULL, 0, BM_WS_FRAME_END);
}

/* ---- the read loop ------------------------------------------------------------------ */

static void ws_on_read(struct be_conn *c)
{
    struct bm_ws *ws = c->proto;
    if (ws->opt->idle_timeout_ms && bx_buf_unread(&c->in)) {
        ws->idle_at = bm_now_ms() + ws->opt->idle_timeout_ms;
    }
    /* A frame whose payload ended with the buffer still owes its FRAME_END. */
    while (!c->closed && (bx_buf_unread(&c->in) || ws->p.state == BE_WS_PARSE_END)) {
        if (ws->state == BE_WS_CLOSED || be_ws_parser_failed(&ws->p)) {
            bx_buf_consume(&c->in, bx_buf_unread(&c->in));
            break;
        }
        /* Back-pressure stops at a frame boundary: the rest waits unparsed
         * in c->in (it travels with a hand-off), so a session paused by a
         * slow reader can still move on a reload (mid-frame it could not
         * until the reader caught up, and was cut at shutdown_timeout). */
        if (ws->above_high && !c->eof && be_ws_parser_idle(&ws->p))
            break;
        uint8_t *data = (uint8_t *)bx_buf_rpos(&c->in);
        size_t len = bx_buf_unread(&c->in);
        struct be_ws_event ev;
        size_t used = be_ws_parse(&ws->p, data, len, &ev);
        /* The NUL trick in data_payload needs the payload to stay put: consume after. */
        switch (ev.type) {
        case BE_WS_EV_NONE: bx_buf_consume(&c->in, used); break;
        case BE_WS_EV_FRAME_START:
            bx_buf_consume(&c->in, used);
            if (ev.hdr->opcode & 0x8)
                ws->ctl_len = 0;
            else
                ws->frame_started = false;
            break;
        case BE_WS_EV_PAYLOAD:
            if (ev.hdr->opcode & 0x8) {
                memcpy(ws->ctl + ws->ctl_len, ev.data, ev.len);
                ws->ctl_len = (uint8_t)(ws->ctl_len + ev.len);
            } else {
                /* Ensure the byte after the payload is writable for the NUL. */
                if (ev.len == len)
                    bx_buf_reserve(&c->in, 1), ev.data = (uint8_t *)bx_buf_rpos(&c->in);
                data_payload(ws, ev.data, ev.len);
            }
            if (!c->closed)
                bx_buf_consume(&c->in, used);
            break;
        case BE_WS_EV_FRAME_END:
            if (ev.hdr->opcode & 0x8)
                control_frame_end(ws, ev.hdr->opcode);
            else
                data_frame_end(ws);
            break;
        case BE_WS_EV_ERROR:
            if (ws->state == BE_WS_OPEN) {
                be_ws_fail(ws, ev.close_code, ev.reason);
            } else {
                /* Garbage while we wait for the peer's close: its close can no
                 * longer be found, so tell it we are done with FIN. */
                ws->shut_wr_pending = true;
                be_ws_half_close(ws);
            }
            break;
        }
        if (ev.type == BE_WS_EV_NONE)
            break;
    }
    if (!c->closed && ws->state == BE_WS_OPEN && be_ws_parser_idle(&ws->p) &&
        !bx_buf_unread(&c->in)) {
        /* Nothing pending: a 16 MiB receive buffer is not kept while idle. */
        if (c->in.cap > KEEP_MSG_CAP)
            bx_buf_free(&c->in);
    }
    /* Back-pressure: a peer that sends faster than it reads (an echo client
     * that never reads) stops being read until its queue drains; in the
     * middle of a frame it is read on to the frame's end first (at most the
     * rest of that frame, and one read more that waits unparsed). */
    if (!c->closed && !ws->read_paused && ws->above_high && !c->eof && be_ws_parser_idle(&ws->p)) {
        ws->read_paused = true;
        be_conn_want_read(c, false);
    }
    if (!c->closed && c->eof) {
        /* TCP closed by the peer: without a close frame that is 1006. */
        report_close(ws, BE_WS_CLOSE_ABNORMAL, "", 0);
        be_conn_close(c);
        return;
    }
    if (!c->closed)
        be_conn_flush(c);
}

void be_ws_resume_read(struct bm_ws *ws)
{
    if (!ws->read_paused || ws->c->closed)
        return;
    ws->read_paused = false;
    be_conn_want_read(ws->c, true);
    if (bx_buf_unread(&ws->c->in))
        ws_on_read(ws->c);
}

/* ---- timers ------------------------------------------------------------------------- */

void be_ws_arm_timer(struct bm_ws *ws)
{
    uint64_t t = 0;
    uint64_t cand[4] = {ws->state == BE_WS_OPEN ? ws->next_ping_at : 0,
                        ws->state == BE_WS_OPEN ? ws->idle_at : 0, ws->close_at,
                        ws->state == BE_WS_OPEN ? ws->drain_close_at : 0};
    for (int i = 0; i < 4; i++)
        if (cand[i] && (!t || cand[i] < t))
            t = cand[i];
    if (!t) {
        be_conn_timer(ws->c, 0);
        return;
    }
    uint64_t now = bm_now_ms();
    be_conn_timer(ws->c, t > now ? t - now : 1);
}

static void ws_on_timer(struct be_conn *c)
{
    struct bm_ws *ws = c->proto;
    uint64_t now = bm_now_ms();
    if (ws->close_at && now >= ws->close_at) {
        bx_log_info("%s: WebSocket session %llu: no close reply in time, dropped", c->client_str,
                    (unsigned long long)ws->id);
        report_close(ws, BE_WS_CLOSE_ABNORMAL, "close timeout", 13);
        be_conn_close(c);
        return;
    }
    if (ws->state == BE_WS_OPEN && ws->drain_close_at && now >= ws->drain_close_at) {
        bm_ws_close(ws, BE_WS_CLOSE_GOING_AWAY, "server shutting down");
        if (!c->closed)
            be_ws_arm_timer(ws);
        return;
    }
    if (ws->state == BE_WS_OPEN && ws->idle_at && now >= ws->idle_at) {
        bm_ws_close(ws, BE_WS_CLOSE_GOING_AWAY, "idle timeout");
        if (!c->closed)
            be_ws_arm_timer(ws);
        return;
    }
    if (ws->state == BE_WS_OPEN && ws->next_ping_at && now >= ws->next_ping_at) {
        if (ws->ping_outstanding && ++ws->missed_pongs >= ws->opt->max_missed_pongs) {
            bx_log_info("%s: WebSocket session %llu: %u pings unanswered", c->client_str,
                        (unsigned long long)ws->id, ws->missed_pongs);
            be_ws_fail(ws, BE_WS_CLOSE_PROTOCOL, "pings unanswered");
            if (!c->closed)
                be_ws_arm_timer(ws);
            return;
        }
        ws->ping_seq++;
        ws->ping_outstanding = true;
        be_ws_queue_control(ws, BE_WS_OP_PING, &ws->ping_seq, sizeof(ws->ping_seq));
        ws->next_ping_at = now + ws->opt->ping_interval_ms;
        be_conn_flush(c);
    }
    if (!c->closed)
        be_ws_arm_timer(ws);
}

/* ---- connection callbacks ----------------------------------------------------------- */

static void ws_on_write(struct be_conn *c)
{
    be_ws_on_writable(c->proto);
    if (c->closed)
        return;
    be_ws_half_close(c->proto);
    /* An idle session does not keep the buffer of its biggest message. */
    if (!be_conn_pending(c) && c->out.cap > KEEP_MSG_CAP)
        bx_buf_free(&c->out);
}

static void ws_on_close(struct be_conn *c)
{
    struct bm_ws *ws = c->proto;
    /* Handed to another worker: the session goes on there, nothing ends. */
    if (ws->handed_off)
        ws->close_cb_done = true;
    else if (ws->state == BE_WS_OPEN && be_worker->draining && !be_conn_pending(c) && c->fd != -1) {
        /* Closed by the end of a drain: a last-chance 1001, best effort. */
        static const uint8_t bye[] = {0x88, 0x02, 0x03, 0xe9};
        ssize_t n = send(c->fd, bye, sizeof(bye), MSG_DONTWAIT | MSG_NOSIGNAL);
        (void)n;
    }
    report_close(ws, BE_WS_CLOSE_ABNORMAL, "", 0);
    ws->state = BE_WS_CLOSED;
    be_ps_unsubscribe_all(ws);
    if (ws->prev)
        ws->prev->next = ws->next;
    else
        sessions = ws->next;
    if (ws->next)
        ws->next->prev = ws->prev;
    ws->prev = ws->next = NULL;
    nsessions--;
}

static void ws_on_free(struct be_conn *c)
{
    struct bm_ws *ws = c->proto;
    bx_buf_free(&ws->msg);
    be_ws_inflater_free(&ws->inf);
    be_ws_send_free(ws);
    free(ws->subprotocol);
    free(ws);
    c->proto = NULL;
}

static void ws_on_drain(struct be_conn *c)
{
    /* The worker stops (TERM, or a reload replaced it): sessions are not cut,
     * they go on until shortly before shutdown_timeout, then every client
     * hears 1001 (RFC 6455 7.4.1) with time left for the close handshake. */
    struct bm_ws *ws = c->proto;
    uint64_t total = be_worker->shutdown_timeout_ms;
    uint64_t margin = ws->opt->close_timeout_ms < total / 2 ? ws->opt->close_timeout_ms : total / 2;
    ws->drain_close_at = bm_now_ms() + (total - margin ? total - margin : 1);
    be_ws_arm_timer(ws);
}

/* ---- small API ---------------------------------------------------------------------- */

/* clang-format off */
void bm_ws_set_data(struct bm_ws *ws, void *data) { ws->user = data; }
void *bm_ws_get_data(const struct bm_ws *ws) { return ws->user; }
uint64_t bm_ws_id(const struct bm_ws *ws) { return ws->id; }
const char *bm_ws_client_str(const struct bm_ws *ws) { return ws->c->client_str; }
const char *bm_ws_subprotocol(const struct bm_ws *ws) { return ws->subprotocol; }
bool bm_ws_compressed(const struct bm_ws *ws) { return ws->pmd; }
/* clang-format on */

size_t bm_ws_list(void *inst, struct bm_ws **out, size_t max)
{
    size_t n = 0;
    for (struct bm_ws *ws = sessions; ws; ws = ws->next) {
        if (inst && ws->minst != inst)
            continue;
        if (n < max)
            out[n] = ws;
        n++;
    }
    return n;
}
