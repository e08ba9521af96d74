/* SPDX-License-Identifier: BSD-2-Clause */
/* One WebSocket session's hand-off: what the old worker writes down and how
 * the new worker rebuilds it (see ws_handoff.h).
 *
 * A session moves between two messages in each direction, or inside a
 * message it receives that is not compressed: what was read and not parsed
 * yet is raw bytes for the new parser, after what stands for the parser's
 * position (a partial header, or the rest of a frame; be_ho_carry), and the
 * message's bytes so far travel with its opcode; the output queue (connection queue and
 * backlog, whole frames but for a partly written first one) is bytes the new
 * worker writes first. With permessage-deflate and context takeover, the
 * windows are read out of the zlib streams and prime fresh ones. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/conn.h"
#include "backend/crashrec.h"
#include "backend/modset.h"
#include "backend/pubsub_replay.h"
#include "backend/worker.h"
#include "backend/ws_handoff.h"
#include "backend/ws_handoff_rec.h"
#include "backend/ws_session.h"
#include "common/log.h"
#include "common/xalloc.h"

static uint8_t inf_win[BE_HO_WINDOW_MAX], def_win[BE_HO_WINDOW_MAX];
static uint8_t mstate[BE_HO_STATE_MAX];

static struct be_ho_bytes str_bytes(const char *s)
{
    return (struct be_ho_bytes){(const uint8_t *)(s ? s : ""), s ? strlen(s) : 0};
}

static bool out_is_memory(const struct be_conn *c)
{
    for (size_t i = c->seg_head; i < c->nsegs; i++)
        if (c->segs[i].fd != -1)
            return false;
    return true;
}

/* The data message the parser is in (0: none). Inside a message's last
 * frame the parser has closed the message already; its header has not. */
static uint8_t open_message(const struct be_ws_parser *p)
{
    if (p->state == BE_WS_PARSE_PAYLOAD && !(p->hdr.opcode & 0x8))
        return p->hdr.msg_opcode;
    return p->msg_opcode;
}

/* Where the parser stands can be said as bytes for a fresh parser: between
 * frames; inside a header (its bytes so far); inside the payload of a data
 * frame that is not compressed (the rest of it becomes a frame of its own,
 * be_ho_carry). Not inside a control frame or after a frame's last byte. */
static bool parser_carried(const struct be_ws_parser *p)
{
    if (p->state == BE_WS_PARSE_HDR)
        return true;
    return p->state == BE_WS_PARSE_PAYLOAD && !(p->hdr.opcode & 0x8) && !p->hdr.msg_rsv1;
}

/* Between messages, or in a message that is neither compressed (zlib's
 * state cannot travel) nor streamed to the module (it has seen part of
 * it): then the bytes so far travel. */
static bool read_side_movable(const struct bm_ws *ws)
{
    if (!parser_carried(&ws->p))
        return false;
    if (open_message(&ws->p) == 0)
        return !bx_buf_unread(&ws->msg);
    return !ws->p.msg_rsv1 && !ws->p.hdr.msg_rsv1 && !(ws->opt->streaming && ws->h->chunk) &&
           bx_buf_unread(&ws->msg) <= BE_HO_MSG_MAX;
}

/* The parser's position as input bytes that go before the unread ones: a
 * partial header as read; the rest of a data frame's payload as a
 * continuation frame (the same FIN, the mask turned to the next byte's
 * position: the client's bytes that follow are the payload as they are).
 * Returns the number of bytes written to out (BE_HO_CARRY_MAX at most). */
size_t be_ho_carry(const struct be_ws_parser *p, uint8_t *out)
{
    if (p->state == BE_WS_PARSE_HDR) {
        memcpy(out, p->hbuf, p->hlen);
        return p->hlen;
    }
    if (p->state != BE_WS_PARSE_PAYLOAD)
        return 0;
    uint8_t mask[4];
    for (unsigned i = 0; i < 4; i++)
        mask[i] = p->hdr.mask[(p->mask_off + i) & 3];
    return be_ws_frame_hdr_encode(out, p->hdr.fin, 0, BE_WS_OP_CONT, p->left,
                                  p->hdr.masked ? mask : NULL);
}

bool be_ho_movable(const struct bm_ws *ws)
{
    const struct be_conn *c = ws->c;
    return ws->inst->handoff && !ws->ho_refused && !ws->handed_off && !c->closed &&
           ws->state == BE_WS_OPEN && !c->eof && !c->close_after_flush && !ws->shut_wr_pending &&
           read_side_movable(ws) && !ws->streaming_out && !ws->producer && out_is_memory(c) &&
           bx_buf_unread(&c->in) <= BE_HO_IN_MAX - BE_HO_CARRY_MAX &&
           be_ws_pending_bytes(ws) <= BE_HO_OUT_MAX;
}

/* ms from now to a deadline (0: none; 1 at least when it is due). */
static uint32_t ms_until(uint64_t at, uint64_t now)
{
    if (!at)
        return 0;
    uint64_t d = at > now ? at - now : 1;
    return d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

static void fill_pmd(struct bm_ws *ws, struct be_ho_rec *r)
{
    r->pmd = ws->pmd;
    if (!ws->pmd)
        return;
    const struct be_ws_pmd_params *pp = &ws->pmdp;
    r->server_wbits = pp->server_wbits, r->client_wbits = pp->client_wbits;
    r->server_no_context = pp->server_no_context, r->client_no_context = pp->client_no_context;
    r->mem_level = pp->mem_level, r->level = pp->level;
    r->inf_window.p = inf_win;
    r->inf_window.n = be_ws_inflater_window(&ws->inf, inf_win, sizeof inf_win);
    r->def_window.p = def_win;
    r->def_window.n = ws->def ? be_ws_deflater_window(ws->def, def_win, sizeof def_win) : 0;
}

/* The unread input, after what stands for the parser's position. */
static void take_input(struct bm_ws *ws, struct bx_buf *in)
{
    uint8_t carry[BE_HO_CARRY_MAX];
    bx_buf_append(in, carry, be_ho_carry(&ws->p, carry));
    bx_buf_append(in, bx_buf_rpos(&ws->c->in), bx_buf_unread(&ws->c->in));
}

/* The output queue as one run of bytes: the connection's, then the backlog. */
static void take_output(struct bm_ws *ws, struct bx_buf *out)
{
    struct be_conn *c = ws->c;
    bx_buf_append(out, bx_buf_rpos(&c->out), bx_buf_unread(&c->out));
    bx_buf_append(out, bx_buf_rpos(&ws->backlog), bx_buf_unread(&ws->backlog));
}

int be_ho_snapshot(struct bm_ws *ws, uint32_t seq, struct bx_buf *b)
{
    struct be_conn *c = ws->c;
    const struct be_instance *in = ws->inst;
    be_activity_enter(in->index, "WebSocket", "hand-off save");
    long ms = in->handoff->save(ws, mstate, sizeof mstate, ws->minst);
    be_activity_leave();
    if (ms < 0 || (size_t)ms > sizeof mstate || c->closed)
        return -1;
    be_conn_suspend(c);
    uint64_t now = bm_now_ms();
    struct bx_buf out = BX_BUF_INIT, subs = BX_BUF_INIT, seen = BX_BUF_INIT, input = BX_BUF_INIT;
    struct be_ho_rec r = {
        .seq = seq,
        .module = str_bytes(in->mod->name),
        .vhost = str_bytes(in->vhost),
        .path = str_bytes(in->path),
        .client = c->client,
        .clientlen = c->clientlen,
        .client_str = str_bytes(c->client_str),
        .has_proto = ws->subprotocol != NULL,
        .proto = str_bytes(ws->subprotocol),
        .ping_seq = ws->ping_seq,
        .ping_outstanding = ws->ping_outstanding,
        .missed_pongs = ws->missed_pongs,
        .next_ping_in_ms = ms_until(ws->next_ping_at, now),
        .idle_in_ms = ms_until(ws->idle_at, now),
        .msg_opcode = open_message(&ws->p),
        .msg = {(const uint8_t *)bx_buf_rpos(&ws->msg), bx_buf_unread(&ws->msg)},
        .mstate = {mstate, (size_t)ms},
    };
    fill_pmd(ws, &r);
    take_input(ws, &input);
    r.input = (struct be_ho_bytes){(const uint8_t *)bx_buf_rpos(&input), bx_buf_unread(&input)};
    take_output(ws, &out);
    r.output = (struct be_ho_bytes){(const uint8_t *)bx_buf_rpos(&out), bx_buf_unread(&out)};
    r.nsubs = be_ps_subs_encode(ws, &subs, BE_HO_SUBS_MAX);
    r.subs = (struct be_ho_bytes){(const uint8_t *)bx_buf_rpos(&subs), bx_buf_unread(&subs)};
    r.nseen = be_psx_seen_encode(&seen);
    r.seen = (struct be_ho_bytes){(const uint8_t *)bx_buf_rpos(&seen), bx_buf_unread(&seen)};
    size_t start = b->len;
    be_ho_frame_begin(b, 'O');
    be_ho_rec_encode(b, &r);
    be_ho_frame_end(b, start);
    bx_buf_free(&input);
    bx_buf_free(&out);
    bx_buf_free(&subs);
    bx_buf_free(&seen);
    return 0;
}

void be_ho_moved(struct bm_ws *ws)
{
    const struct be_instance *in = ws->inst;
    if (in->handoff->left)
        in->handoff->left(ws, ws->minst);
    ws->handed_off = true;
    be_conn_close(ws->c);
}

void be_ho_resume(struct bm_ws *ws)
{
    if (ws->c->closed)
        return;
    be_conn_want_read(ws->c, ws->c->reading);
    be_ws_arm_timer(ws);
}

/* ---- the new worker ---------------------------------------------------------------- */

static bool same(struct be_ho_bytes b, const char *s)
{
    s = s ? s : "";
    return strlen(s) == b.n && memcmp(s, b.p, b.n) == 0;
}

/* The mount of this generation with the same module, vhost and path. */
static const struct be_instance *find_mount(const struct be_ho_rec *r)
{
    const struct be_modset *set = be_worker->mods;
    for (size_t i = 0; set && i < set->n; i++) {
        const struct be_instance *in = &set->v[i];
        if (in->handoff && same(r->module, in->mod->name) && same(r->vhost, in->vhost) &&
            same(r->path, in->path))
            return in;
    }
    return NULL;
}

/* A connected stream socket (not a listener), made non-blocking (the flag is
 * the open file's: the old worker had it so already). */
static bool fd_ok(int fd)
{
    struct stat st;
    int type = 0, listening = 1;
    socklen_t len = sizeof type, llen = sizeof listening;
    if (fstat(fd, &st) == -1 || !S_ISSOCK(st.st_mode) ||
        getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1 || type != SOCK_STREAM ||
        getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &llen) == -1 || listening)
        return false;
    int fl = fcntl(fd, F_GETFL);
    return fl != -1 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) != -1;
}

static void copy_str(char *out, size_t cap, struct be_ho_bytes b)
{
    size_t n = b.n < cap - 1 ? b.n : cap - 1;
    memcpy(out, b.p, n);
    out[n] = 0;
}

/* Heartbeat and idle deadlines carry over, within this mount's settings. */
static void set_timers(struct bm_ws *ws, const struct be_ho_rec *r)
{
    uint64_t now = bm_now_ms();
    const struct bm_ws_options *o = ws->opt;
    ws->ping_seq = r->ping_seq;
    ws->ping_outstanding = r->ping_outstanding;
    ws->missed_pongs = r->missed_pongs;
    if (o->ping_interval_ms) {
        uint32_t in = r->next_ping_in_ms;
        ws->next_ping_at = now + (in && in < o->ping_interval_ms ? in : o->ping_interval_ms);
    }
    if (o->idle_timeout_ms) {
        uint32_t in = r->idle_in_ms;
        ws->idle_at = now + (in && in < o->idle_timeout_ms ? in : o->idle_timeout_ms);
    }
}

static int set_windows(struct bm_ws *ws, const struct be_ho_rec *r)
{
    if (!ws->pmd)
        return 0;
    if (be_ws_inflater_prime(&ws->inf, r->inf_window.p, r->inf_window.n) < 0)
        return -1;
    if (ws->pmdp.server_no_context)
        return 0;
    ws->def = bx_xmalloc(sizeof *ws->def);
    if (be_ws_deflater_init(ws->def, ws->pmdp.server_wbits, ws->pmdp.mem_level, ws->pmdp.level, 0) <
        0) {
        free(ws->def);
        ws->def = NULL;
        return -1;
    }
    return be_ws_deflater_prime(ws->def, r->def_window.p, r->def_window.n);
}

/* A fragmented message under way: its bytes so far, checked against this
 * mount's limit and, for text, as UTF-8 (the validator's state is rebuilt
 * from them, not taken from the sender). */
static int set_partial(struct bm_ws *ws, const struct be_ho_rec *r)
{
    if (!r->msg_opcode)
        return 0;
    if (r->msg.n > ws->opt->max_message_size || (ws->opt->streaming && ws->h->chunk))
        return -1;
    if (r->msg_opcode == BE_WS_OP_TEXT && be_utf8_feed(&ws->utf8, r->msg.p, r->msg.n) < 0)
        return -1;
    bx_buf_append(&ws->msg, r->msg.p, r->msg.n);
    ws->msg_size = r->msg.n;
    ws->p.msg_opcode = r->msg_opcode;
    ws->p.msg_rsv1 = 0;
    return 0;
}

/* Everything of the record but the module's state, onto a fresh session. */
static int fill_session(struct bm_ws *ws, const struct be_ho_rec *r)
{
    struct be_conn *c = ws->c;
    set_timers(ws, r);
    if (set_windows(ws, r) < 0 || set_partial(ws, r) < 0)
        return -1;
    be_conn_queue(c, r->output.p, r->output.n);
    ws->above_high = r->output.n > ws->opt->send_high_watermark;
    bx_buf_append(&c->in, r->input.p, r->input.n);
    for (uint32_t i = 0; i < r->nsubs; i++) {
        char ch[BE_HO_CHAN_MAX + 1];
        copy_str(ch, sizeof ch, be_ho_rec_sub(r, i));
        if (bm_ws_subscribe(ws, ch) < 0)
            return -1;
    }
    /* What was published meanwhile and did not reach it there, once. */
    be_psx_restore(ws, r->seen.p, r->nseen);
    return 0;
}

static struct bm_ws *make_session(const struct be_ho_rec *r, const struct be_instance *in, int fd)
{
    char proto[BE_HO_PROTO_MAX + 1], cstr[BE_HO_CLIENT_STR_MAX + 1];
    copy_str(proto, sizeof proto, r->proto);
    copy_str(cstr, sizeof cstr, r->client_str);
    struct be_ws_pmd_params pp = {r->server_wbits,      r->client_wbits, r->server_no_context,
                                  r->client_no_context, r->mem_level,    r->level};
    struct be_conn *c = be_conn_adopt(fd, &r->client, r->clientlen, cstr);
    return be_ws_adopt(c, in, r->pmd ? &pp : NULL, r->has_proto ? proto : NULL);
}

int be_ho_restore(const uint8_t *body, size_t n, int fd, uint32_t *seq, const char **why,
                  struct bm_ws **out)
{
    struct be_ho_rec r;
    *seq = 0;
    if (be_ho_rec_parse(body, n, &r, why) < 0) {
        close(fd);
        return -1;
    }
    *seq = r.seq;
    const struct be_instance *in = find_mount(&r);
    if (!in || !fd_ok(fd)) {
        *why = in ? "not a stream socket" : "no such mount with hand-off hooks here";
        close(fd);
        return -1;
    }
    struct bm_ws *ws = make_session(&r, in, fd);
    int rc = fill_session(ws, &r);
    if (rc == 0) {
        be_activity_enter(in->index, "WebSocket", "hand-off restore");
        rc = in->handoff->restore(ws, r.mstate.p, r.mstate.n, ws->minst);
        be_activity_leave();
    }
    if (rc != 0 || ws->c->closed) {
        /* Nothing was read or written: the old worker keeps the session. */
        *why = rc ? "refused by the module or the engine" : "closed while restoring";
        ws->handed_off = true;
        be_conn_close(ws->c);
        return -1;
    }
    *out = ws;
    return 0;
}
