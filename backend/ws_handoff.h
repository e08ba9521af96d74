/* SPDX-License-Identifier: BSD-2-Clause */
/* WebSocket sessions survive a reload: an old worker hands each session
 * (socket and state) to a worker of the new generation.
 *
 * ws_handoff.c:         the channels between workers and the moving loop.
 * ws_handoff_session.c: one session's snapshot (old worker) and restore
 *                       (new worker).
 * ws_handoff_rec.c:     the record on the wire, and its parser.
 * doc/design.md ("Sessions survive a reload") has the whole story. */
#ifndef BACTRIAN_BACKEND_WS_HANDOFF_H
#define BACTRIAN_BACKEND_WS_HANDOFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

struct bm_ws;

/* In every worker before it is confined: binds its hand-off socket (it may
 * be an old worker one day) and connects to the workers of earlier
 * generations that still run (it is their new worker). */
void be_ho_worker_init(void);
/* The worker starts draining: its sessions move to a newer worker, for
 * backend.handoff_timeout at most. */
void be_ho_drain(void);
/* New worker: says hello to the old workers not greeted yet (pubsub_redis.c). */
void be_ho_greet(void);

/* The hand-off wire version this binary speaks (BE_HO_WIRE_VERSION). */
unsigned be_ho_wire_version(void);
/* 0: a new worker answers each offer on its merits (the daemon). A test
 * build (tests/upgrade/ho_answer.c) returns 'R' (answer "I drain too") or
 * BE_HO_NO_ANSWER (close the descriptor unread and say nothing). */
#define BE_HO_NO_ANSWER (-1)
int be_ho_forced_answer(void);

/* ---- between ws_handoff.c and ws_handoff_session.c ---- */

/* True when ws can move now: open, between messages it sends and not inside
 * a compressed or streamed message it receives, its mount has hooks,
 * nothing in its queues that cannot be carried. */
bool be_ho_movable(const struct bm_ws *ws);
/* The bytes that put a fresh parser where p stands (a partial header, or
 * the rest of a data frame as a frame of its own), BE_HO_CARRY_MAX at most;
 * only meaningful where be_ho_movable says the session can move. */
#define BE_HO_CARRY_MAX 14
struct be_ws_parser;
size_t be_ho_carry(const struct be_ws_parser *p, uint8_t *out);
/* Appends the 'O' frame for ws to b, having stopped its I/O: 0, or -1 (the
 * module would not save it now; nothing changed). */
int be_ho_snapshot(struct bm_ws *ws, uint32_t seq, struct bx_buf *b);
/* The new worker has it: the module forgets it, the socket is let go silently. */
void be_ho_moved(struct bm_ws *ws);
/* The move failed: the session goes on here. */
void be_ho_resume(struct bm_ws *ws);
/* New worker: takes the session of an offer with its descriptor. 0: taken
 * (*out: start it with be_ws_adopted_start once the old worker knows); -1:
 * refused, fd closed, nothing was read or written. */
int be_ho_restore(const uint8_t *body, size_t n, int fd, uint32_t *seq, const char **why,
                  struct bm_ws **out);

#endif
