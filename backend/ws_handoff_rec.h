/* SPDX-License-Identifier: BSD-2-Clause */
/* The hand-off wire format: what an old worker sends a new one about each
 * WebSocket session it hands over (ws_handoff.c moves it, with the socket,
 * over SCM_RIGHTS). Pure code: no socket, no session, so the parser can be
 * fuzzed (tests/fuzz/fuzz_ws_handoff.c).
 *
 * On the channel every message is a frame: u32 length (big-endian, of what
 * follows), u8 type, body. Types:
 *   'H' hello, new -> old: u32 wire version, u32 the sender's generation.
 *   'O' offer, old -> new: one session (below); one descriptor rides with
 *       the frame's first byte.
 *   'A' / 'N' reply, new -> old: u32 sequence number of the offer taken /
 *       refused (refused: the new worker closed its copy unread).
 * A session record (version BE_HO_REC_VERSION) is a fixed order of fields:
 * u32 seq; strings (u32 length + bytes) module, vhost, path; the client
 * address (u32 length + sockaddr bytes) and its text; the subprotocol
 * (u8 present + string); permessage-deflate (u8 on, six parameter bytes,
 * inflate window, deflate window); heartbeat (u64 ping_seq, u8 outstanding,
 * u32 missed pongs, u32 ms to the next ping, u32 ms to the idle timeout);
 * the message being received (u8 opcode, 0 = none, and its bytes so far);
 * unread input bytes, unsent output bytes; u32 subscription count + names;
 * u32 origin count + (u32 pid, u64 sequence) each (pubsub_replay.h);
 * the module's state bytes. Every length is bounded below; the receiver
 * trusts nothing: the sender may be a compromised worker. */
#ifndef BACTRIAN_BACKEND_WS_HANDOFF_REC_H
#define BACTRIAN_BACKEND_WS_HANDOFF_REC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/buf.h"

#define BE_HO_WIRE_VERSION 2u /* 2: records of version 2 (64-bit pub/sub origins) */
#define BE_HO_REC_VERSION 2u /* 2: 64-bit pub/sub origins */

#define BE_HO_NAME_MAX 4096            /* module, vhost, path */
#define BE_HO_CLIENT_STR_MAX 63
#define BE_HO_PROTO_MAX 255
#define BE_HO_WINDOW_MAX 32768         /* 2^15: the largest deflate window */
#define BE_HO_IN_MAX (4u << 20)        /* unread input a session may carry */
#define BE_HO_OUT_MAX (32u << 20)      /* unsent output a session may carry */
#define BE_HO_MSG_MAX (16u << 20)      /* a partly received message */
#define BE_HO_SUBS_MAX 1024
#define BE_HO_CHAN_MAX 200
#define BE_HO_ORIGINS_MAX 64           /* = BE_PSX_ORIGINS_MAX */
#define BE_HO_SEEN_SIZE 16             /* one seen entry: u64 origin, u64 seq */
#define BE_HO_STATE_MAX (64 * 1024)    /* = BM_WS_STATE_MAX */
/* The largest frame a receiver accepts: every field at its bound. */
#define BE_HO_FRAME_MAX                                                                            \
    (BE_HO_IN_MAX + BE_HO_OUT_MAX + BE_HO_MSG_MAX + 2 * BE_HO_WINDOW_MAX + BE_HO_STATE_MAX +       \
     BE_HO_SUBS_MAX * (BE_HO_CHAN_MAX + 4) + BE_HO_ORIGINS_MAX * BE_HO_SEEN_SIZE +                 \
     3 * BE_HO_NAME_MAX + 1024)

struct be_ho_bytes {
    const uint8_t *p;
    size_t n;
};

struct be_ho_rec {
    uint32_t seq;
    struct be_ho_bytes module, vhost, path;
    struct sockaddr_storage client;
    socklen_t clientlen;
    struct be_ho_bytes client_str;
    uint8_t has_proto;
    struct be_ho_bytes proto;
    uint8_t pmd;
    uint8_t server_wbits, client_wbits, server_no_context, client_no_context, mem_level, level;
    struct be_ho_bytes inf_window, def_window;
    uint64_t ping_seq;
    uint8_t ping_outstanding;
    uint32_t missed_pongs, next_ping_in_ms, idle_in_ms;
    uint8_t msg_opcode;        /* 1 text, 2 binary: a fragmented message is under way */
    struct be_ho_bytes msg;    /* its bytes so far (never compressed ones) */
    struct be_ho_bytes input, output;
    uint32_t nsubs;
    struct be_ho_bytes subs;   /* nsubs strings, each u32 length + bytes, checked */
    uint32_t nseen;            /* pub/sub: last sequence number seen per origin worker */
    struct be_ho_bytes seen;   /* nseen x (u64 origin, u64 seq) */
    struct be_ho_bytes mstate;
};

/* Appends the record body (without frame header) to b. */
void be_ho_rec_encode(struct bx_buf *b, const struct be_ho_rec *r);
/* Parses and checks a record body; pointers in r point into p. 0, or -1
 * with *why set (a static string). */
int be_ho_rec_parse(const uint8_t *p, size_t n, struct be_ho_rec *r, const char **why);
/* The i-th subscription of a parsed record (i < r->nsubs). */
struct be_ho_bytes be_ho_rec_sub(const struct be_ho_rec *r, uint32_t i);

/* Frame helpers: a header of 5 bytes (u32 length, u8 type). */
#define BE_HO_HDR 5
void be_ho_frame_begin(struct bx_buf *b, uint8_t type);
/* Writes the length of the frame begun at offset start. */
void be_ho_frame_end(struct bx_buf *b, size_t start);
void be_ho_put_u32(struct bx_buf *b, uint32_t v);
uint32_t be_ho_get_u32(const uint8_t *p);

#endif
