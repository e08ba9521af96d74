/* SPDX-License-Identifier: BSD-2-Clause */
/* Pub/sub across a session's hand-off: every publish carries its origin
 * worker's sequence number, so a moving subscriber gets each message once.
 *
 * Each worker knows, per origin worker, the last sequence number it has
 * processed ("seen"); the old worker puts that vector in the session's
 * record right after delivering what waited on its socket. Everything up to
 * it reached the session there. The new worker, which has been keeping a
 * short history of the publishes it processed since it started, replays to
 * the session those of its channels that come after the vector, and skips
 * for it any later-arriving message at or below it.
 *
 * An origin is a 64-bit id: the worker's pid between the workers of one
 * host (datagrams), the worker's random 8-byte id through Redis (pids of
 * different hosts collide; random ids, never reused, do not). */
#ifndef BACTRIAN_BACKEND_PUBSUB_REPLAY_H
#define BACTRIAN_BACKEND_PUBSUB_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buf.h"

struct bm_ws;

/* The most origins a vector holds (workers of all running generations). */
#define BE_PSX_ORIGINS_MAX 64

/* A new worker keeps history for this long after it starts (ms, 0: never). */
void be_psx_init(uint64_t keep_ms);
/* A publish processed here (from another worker, or our own). */
void be_psx_note(uint64_t origin, uint64_t seq, const char *channel, int opcode, const void *data,
                 size_t len);
/* True when ws already got this message in its old worker. */
bool be_psx_skip(const struct bm_ws *ws, uint64_t origin, uint64_t seq);
/* Through Redis: true when this origin's message was processed here already
 * (it came twice: by channel and by pattern subscription). */
bool be_psx_dup(uint64_t origin, uint64_t seq);
/* When the history ends (ms on bm_now_ms's clock), 0 when none is kept. */
uint64_t be_psx_keep_until(void);
/* Appends the seen vector (u64 origin, u64 seq each, big-endian); returns the count. */
uint32_t be_psx_seen_encode(struct bx_buf *b);
/* New worker, the session subscribed: replays what it missed and keeps the
 * vector for skipping (n entries as encoded above, already bounds-checked). */
void be_psx_restore(struct bm_ws *ws, const uint8_t *pairs, uint32_t n);
void be_psx_forget(struct bm_ws *ws);

/* pubsub.c: true when ws is subscribed to channel. */
bool be_ps_subscribed(const struct bm_ws *ws, const char *channel);

#endif
