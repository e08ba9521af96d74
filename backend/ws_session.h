/* SPDX-License-Identifier: BSD-2-Clause */
/* A WebSocket session on a backend connection (after the 101).
 *
 * ws_session.c: upgrade, the read side (frames, messages, control frames,
 *               close handshake), heartbeat and timers.
 * ws_send.c:    the write side (the module's send API, fragmentation,
 *               compression, watermarks and drain, the producer API).
 * pubsub.c:     channels within and across the workers of one backend. */
#ifndef BACTRIAN_BACKEND_WS_SESSION_H
#define BACTRIAN_BACKEND_WS_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "bactrian/module.h"
#include "backend/ws_deflate.h"
#include "backend/ws_frame.h"
#include "backend/ws_utf8.h"
#include "common/buf.h"

struct be_conn;
struct be_instance;
struct be_ps_sub;
struct be_psx_floor;

enum be_ws_state {
    BE_WS_OPEN = 0,
    BE_WS_CLOSING, /* we sent a close frame and wait for the peer's */
    BE_WS_CLOSED,  /* both done (or failed): waiting for the socket to go */
};

struct bm_ws {
    struct be_conn *c;
    const struct be_instance *inst;
    const struct bm_ws_handlers *h;
    void *minst; /* the module's instance */
    const struct bm_ws_options *opt;
    uint64_t id;
    void *user;
    char *subprotocol;
    enum be_ws_state state;
    bool close_cb_done;
    bool in_callback_close; /* bm_ws_close called during a callback */

    /* read side */
    struct be_ws_parser p;
    struct be_utf8 utf8;
    struct bx_buf msg;  /* the data message being assembled */
    uint64_t msg_size;  /* its (inflated) size so far */
    uint64_t msg_wire;  /* compressed payload bytes of it so far, as they came */
    bool msg_started, frame_started; /* streaming: first chunk of message / frame sent */
    uint8_t ctl[125];
    uint8_t ctl_len;

    /* permessage-deflate */
    bool pmd;
    struct be_ws_pmd_params pmdp;
    struct be_ws_inflater inf;
    struct be_ws_deflater *def; /* per connection, lazily; NULL with no context takeover */

    /* write side (ws_send.c) */
    struct bx_buf backlog;    /* whole frames waiting behind the connection queue */
    bool above_high;
    bool in_writable, writable_again;
    bool read_paused;
    bool shut_wr_pending;   /* send FIN once the queue is empty (after a framing error) */
    bool streaming_out;       /* between bm_ws_send_begin and bm_ws_send_end */
    bool stream_first, stream_deflate;
    uint8_t stream_opcode;
    bm_ws_producer *producer;
    void *producer_arg;

    /* timers (the connection has one: armed to the earliest of these) */
    uint64_t next_ping_at, idle_at, close_at, drain_close_at;
    uint64_t ping_seq;        /* payload of the last heartbeat ping */
    bool ping_outstanding;
    unsigned missed_pongs;

    /* pub/sub subscriptions */
    struct be_ps_sub *subs;
    struct be_psx_floor *ps_floor; /* moved here: origins' messages it already got */
    uint32_t ps_nfloor;

    /* hand-off on reload (ws_handoff.c) */
    bool handed_off;          /* the socket belongs to another worker now: close silently */
    bool ho_refused;          /* the new generation would not take it: it drains here */

    struct bm_ws *prev, *next; /* the worker's sessions */
};

/* ws_session.c */
/* Called by backend/http.c instead of the module's handle() for an upgrade
 * request on a WebSocket mount: answers an HTTP error, or queues the 101 and
 * takes the connection over (the seam is described in conn.h). */
void be_ws_upgrade(struct be_conn *c, struct bm_request *r, const struct be_instance *inst);
void be_ws_fail(struct bm_ws *ws, unsigned code, const char *reason);
void be_ws_arm_timer(struct bm_ws *ws);
void be_ws_half_close(struct bm_ws *ws);
/* Reads again after back-pressure paused it (the send queue drained). */
void be_ws_resume_read(struct bm_ws *ws);

/* Hand-off (ws_handoff_session.c): the new worker's side. Makes a session
 * on c for inst with what the handshake had agreed (pmdp NULL: no
 * compression), without open(): nothing is read or written until
 * be_ws_adopted_start, so a refused session can still be dropped silently. */
struct bm_ws *be_ws_adopt(struct be_conn *c, const struct be_instance *inst,
                          const struct be_ws_pmd_params *pmdp, const char *subprotocol);
const struct bm_ws_options *be_ws_options_of(const struct be_instance *inst);
void be_ws_adopted_start(struct bm_ws *ws);

/* ws_send.c */
/* Queues a control frame ahead of any backlog (never dropped). */
void be_ws_queue_control(struct bm_ws *ws, int opcode, const void *data, size_t len);
/* Moves backlog into the connection queue when it has room; runs drain and
 * the producer. Called when the connection queue empties. */
void be_ws_on_writable(struct bm_ws *ws);
void be_ws_send_free(struct bm_ws *ws);
/* Forgets the frames waiting behind the connection queue (and any producer):
 * a close frame was queued, no data frame may follow it. */
void be_ws_drop_backlog(struct bm_ws *ws);
/* Bytes queued in the connection and the backlog. */
size_t be_ws_pending_bytes(const struct bm_ws *ws);

/* pubsub.c */
void be_ps_unsubscribe_all(struct bm_ws *ws);
/* Appends up to max of ws's channel names (u32 big-endian length + name
 * each) to b; returns how many (the hand-off record's subscriptions). */
uint32_t be_ps_subs_encode(const struct bm_ws *ws, struct bx_buf *b, uint32_t max);
/* Delivers the datagrams from other workers waiting now (the hand-off:
 * what was published before a session moves reaches it on this side). */
void be_ps_poll(void);

#endif
