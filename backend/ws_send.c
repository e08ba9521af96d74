/* SPDX-License-Identifier: BSD-2-Clause */
/* The write side of a WebSocket session: the module's send API,
 * fragmentation, compression, watermarks and drain, streaming and producer
 * sends (see ws_session.h).
 *
 * Frames go straight into the connection's output queue while it holds less
 * than FEED bytes; past that, whole frames wait in the session's backlog and
 * are moved over as the queue empties. Control frames always go straight to
 * the queue, so a ping, pong or close never waits behind megabytes of data
 * (and the queue always ends on a frame boundary, so they never split one). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "backend/conn.h"
#include "backend/ws_session.h"
#include "common/xalloc.h"

#define FEED (256 * 1024)

/* Compressors shared by the worker for sessions without server context
 * takeover: nothing of them survives a message, so one per parameter set. */
struct shared_def {
    uint8_t wbits, mem_level, level, used;
    struct be_ws_deflater d;
};
static struct shared_def shared_defs[4];
static struct bx_buf zbuf; /* compressed message scratch */

size_t be_ws_pending_bytes(const struct bm_ws *ws)
{
    return (size_t)be_conn_pending(ws->c) + bx_buf_unread(&ws->backlog);
}

static void put_frame(struct bm_ws *ws, bool fin, int rsv, int opcode, const void *data, size_t len,
                      bool control)
{
    uint8_t h[14];
    size_t hl = be_ws_frame_hdr_encode(h, fin, rsv, opcode, len, NULL);
    struct be_conn *c = ws->c;
    if (control || (!bx_buf_unread(&ws->backlog) && be_conn_pending(c) < FEED)) {
        be_conn_queue(c, h, hl);
        be_conn_queue(c, data, len);
    } else {
        bx_buf_append(&ws->backlog, h, hl);
        bx_buf_append(&ws->backlog, data, len);
    }
}

static void check_high(struct bm_ws *ws)
{
    if (!ws->above_high && be_ws_pending_bytes(ws) > ws->opt->send_high_watermark)
        ws->above_high = true;
}

void be_ws_queue_control(struct bm_ws *ws, int opcode, const void *data, size_t len)
{
    put_frame(ws, true, 0, opcode, data, len, true);
}

/* Size of the whole frame at p (our own frames: unmasked, well-formed). */
static size_t frame_size(const uint8_t *p)
{
    uint64_t len = p[1] & 0x7f;
    size_t hl = 2;
    if (len == 126) {
        len = (uint64_t)p[2] << 8 | p[3];
        hl = 4;
    } else if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | p[2 + i];
        hl = 10;
    }
    return hl + (size_t)len;
}

static void feed_backlog(struct bm_ws *ws)
{
    struct be_conn *c = ws->c;
    while (bx_buf_unread(&ws->backlog) && be_conn_pending(c) < FEED) {
        const uint8_t *p = (const uint8_t *)bx_buf_rpos(&ws->backlog);
        size_t n = frame_size(p);
        be_conn_queue(c, p, n);
        bx_buf_consume(&ws->backlog, n);
    }
    if (!bx_buf_unread(&ws->backlog) && ws->backlog.cap > FEED)
        bx_buf_free(&ws->backlog);
}

static int zsink(void *ctx, const uint8_t *p, size_t n)
{
    (void)ctx;
    bx_buf_append(&zbuf, p, n);
    return 0;
}

static struct be_ws_deflater *deflater_for(struct bm_ws *ws)
{
    const struct be_ws_pmd_params *pp = &ws->pmdp;
    if (!pp->server_no_context) {
        if (!ws->def) {
            ws->def = bx_xmalloc(sizeof(*ws->def));
            if (be_ws_deflater_init(ws->def, pp->server_wbits, pp->mem_level, pp->level, 0) < 0) {
                free(ws->def);
                ws->def = NULL;
            }
        }
        return ws->def;
    }
    struct shared_def *free_slot = NULL;
    for (size_t i = 0; i < sizeof(shared_defs) / sizeof(*shared_defs); i++) {
        struct shared_def *s = &shared_defs[i];
        if (s->used && s->wbits == pp->server_wbits && s->mem_level == pp->mem_level &&
            s->level == pp->level)
            return &s->d;
        if (!s->used && !free_slot)
            free_slot = s;
    }
    if (!free_slot)
        free_slot = &shared_defs[0], be_ws_deflater_free(&free_slot->d), free_slot->used = 0;
    if (be_ws_deflater_init(&free_slot->d, pp->server_wbits, pp->mem_level, pp->level, 1) < 0)
        return NULL;
    free_slot->used = 1;
    free_slot->wbits = pp->server_wbits;
    free_slot->mem_level = pp->mem_level;
    free_slot->level = pp->level;
    return &free_slot->d;
}

static void put_fragmented(struct bm_ws *ws, int opcode, int rsv, const uint8_t *p, size_t len,
                           bool first, bool last)
{
    size_t frag = ws->opt->fragment_size;
    size_t off = 0;
    do {
        size_t n = len - off < frag ? len - off : frag;
        bool fin = last && off + n == len;
        put_frame(ws, fin, first && off == 0 ? rsv : 0, first && off == 0 ? opcode : BE_WS_OP_CONT,
                  p + off, n, false);
        off += n;
    } while (off < len);
}

int bm_ws_send(struct bm_ws *ws, int opcode, const void *data, size_t len)
{
    if (ws->state != BE_WS_OPEN || ws->c->closed || ws->streaming_out || ws->producer)
        return -1;
    if (opcode != BM_WS_TEXT && opcode != BM_WS_BINARY)
        return -1;
    const uint8_t *p = data;
    int rsv = 0;
    if (ws->pmd && len >= ws->opt->deflate_threshold && !be_ws_incompressible(p, len)) {
        struct be_ws_deflater *d = deflater_for(ws);
        bx_buf_reset(&zbuf);
        if (d && be_ws_deflate(d, p, len, 1, zsink, NULL) == 0) {
            p = (const uint8_t *)bx_buf_rpos(&zbuf);
            len = bx_buf_unread(&zbuf);
            rsv = BE_WS_RSV1;
        } else if (d) {
            /* The stream state is unknown now: start over without context. */
            if (d == ws->def) {
                be_ws_deflater_free(ws->def);
                free(ws->def);
                ws->def = NULL;
            }
            be_ws_fail(ws, BE_WS_CLOSE_INTERNAL, "compression failed");
            return -1;
        }
    }
    put_fragmented(ws, opcode, rsv, p, len, true, true);
    if (zbuf.cap > (1u << 20))
        bx_buf_free(&zbuf);
    check_high(ws);
    return 0;
}

int bm_ws_send_begin(struct bm_ws *ws, int opcode)
{
    if (ws->state != BE_WS_OPEN || ws->streaming_out || ws->producer)
        return -1;
    if (opcode != BM_WS_TEXT && opcode != BM_WS_BINARY)
        return -1;
    ws->streaming_out = true;
    ws->stream_first = true;
    ws->stream_opcode = (uint8_t)opcode;
    return 0;
}

/* Streamed messages go out uncompressed (RSV1 clear is always allowed):
 * compressing them would pin a compressor per connection across calls. */
int bm_ws_send_chunk(struct bm_ws *ws, const void *data, size_t len)
{
    if (ws->state != BE_WS_OPEN || !ws->streaming_out)
        return -1;
    if (len == 0)
        return 0;
    put_fragmented(ws, ws->stream_opcode, 0, data, len, ws->stream_first, false);
    ws->stream_first = false;
    check_high(ws);
    return 0;
}

int bm_ws_send_end(struct bm_ws *ws)
{
    if (!ws->streaming_out)
        return -1;
    ws->streaming_out = false;
    if (ws->state != BE_WS_OPEN)
        return -1;
    put_frame(ws, true, 0, ws->stream_first ? ws->stream_opcode : BE_WS_OP_CONT, "", 0, false);
    check_high(ws);
    return 0;
}

int bm_ws_ping(struct bm_ws *ws, const void *data, size_t len)
{
    if (ws->state != BE_WS_OPEN || len > 125)
        return -1;
    be_ws_queue_control(ws, BE_WS_OP_PING, data, len);
    return 0;
}

size_t bm_ws_pending(const struct bm_ws *ws)
{
    return be_ws_pending_bytes(ws);
}

bool bm_ws_writable(const struct bm_ws *ws)
{
    return ws->state == BE_WS_OPEN && be_ws_pending_bytes(ws) <= ws->opt->send_high_watermark;
}

static void run_producer(struct bm_ws *ws)
{
    size_t max = ws->opt->fragment_size;
    uint8_t *buf = bx_xmalloc(max);
    while (ws->producer && ws->state == BE_WS_OPEN && !ws->c->closed &&
           be_ws_pending_bytes(ws) < ws->opt->send_low_watermark + 1) {
        bool last = false;
        size_t n = ws->producer(ws, buf, max, &last, ws->producer_arg);
        if (n > max)
            n = max;
        if (!n && !last)
            break; /* nothing now: the producer calls again on the next drain */
        put_frame(ws, last, 0, ws->stream_first ? ws->stream_opcode : BE_WS_OP_CONT, buf, n, false);
        ws->stream_first = false;
        if (last) {
            ws->producer = NULL;
            ws->streaming_out = false;
        }
    }
    free(buf);
}

int bm_ws_send_from(struct bm_ws *ws, int opcode, bm_ws_producer *produce, void *arg)
{
    if (bm_ws_send_begin(ws, opcode) < 0)
        return -1;
    ws->producer = produce;
    ws->producer_arg = arg;
    run_producer(ws);
    if (!ws->c->closed)
        be_conn_flush(ws->c);
    return 0;
}

void be_ws_on_writable(struct bm_ws *ws)
{
    /* be_conn_flush() below calls back here when it empties the queue again:
     * loop instead of recursing. */
    if (ws->in_writable) {
        ws->writable_again = true;
        return;
    }
    ws->in_writable = true;
    do {
        ws->writable_again = false;
        feed_backlog(ws);
        if (ws->producer)
            run_producer(ws);
        if (ws->above_high && be_ws_pending_bytes(ws) <= ws->opt->send_low_watermark &&
            !ws->c->closed) {
            ws->above_high = false;
            if (ws->state == BE_WS_OPEN && ws->h->drain)
                ws->h->drain(ws, ws->minst);
            if (!ws->c->closed)
                be_ws_resume_read(ws);
        }
        if (!ws->c->closed && be_conn_pending(ws->c))
            be_conn_flush(ws->c);
    } while (ws->writable_again && !ws->c->closed);
    ws->in_writable = false;
}

void be_ws_drop_backlog(struct bm_ws *ws)
{
    bx_buf_free(&ws->backlog);
    ws->producer = NULL;
    ws->streaming_out = false;
}

void be_ws_send_free(struct bm_ws *ws)
{
    bx_buf_free(&ws->backlog);
    if (ws->def) {
        be_ws_deflater_free(ws->def);
        free(ws->def);
        ws->def = NULL;
    }
}
