/* SPDX-License-Identifier: BSD-2-Clause */
/* One TCP connection from a worker to Redis, driven by the worker's own event
 * loop (never a blocking call): non-blocking connect to the address the
 * master resolved (cfg.h: bx_pubsub_conf), AUTH, replies parsed by hiredis's
 * reader, reply and connect timeouts, reconnection with jittered exponential
 * back-off. pubsub_redis.c runs two: one to PUBLISH, one to SUBSCRIBE (a
 * subscribed connection may send nothing else).
 *
 * Why hiredis's reader and not its redisAsyncContext: in hiredis 0.14
 * (Debian 12) the async context resolves the host with getaddrinfo on every
 * connect (blocking, and NSS reads files a confined worker may not open), has
 * no connect or reply timeout, and routes pub/sub messages through a per-channel
 * table that a late UNSUBSCRIBE reply clears after a new SUBSCRIBE of the same
 * channel was sent, losing that channel's messages for good. Our own
 * connection is a hundred lines; the protocol parsing stays hiredis's. */
#ifndef BACTRIAN_BACKEND_REDIS_LINK_H
#define BACTRIAN_BACKEND_REDIS_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/cfg.h"
#include "common/ev.h"

struct be_rl;
struct redisReply;

/* For its first 2 s an outage is retried every redis_retry_min (jittered):
 * a restart of Redis is over in a second or two, and every worker of every
 * host must be subscribed again by the time the publishes held meanwhile go
 * out (pubsub_redis.c's flush delay). Longer outages back off exponentially
 * from there, to redis_retry_max. */
#define BE_RL_FAST_RETRY_MS 2000

struct be_rl_ops {
    /* Connected and authenticated: the link writes out from now on. */
    void (*ready)(struct be_rl *l);
    /* Every reply after the set-up, in order (freed after). Returns 1 when it
     * answers a command, 0 for what Redis pushes unasked (a pub/sub message). */
    unsigned (*reply)(struct be_rl *l, struct redisReply *r);
    /* The connection is gone; out still holds what was queued, written says
     * how much of it went to the kernel (then reset to 0). */
    void (*down)(struct be_rl *l);
};

enum be_rl_state { BE_RL_DOWN, BE_RL_CONNECTING, BE_RL_SETUP, BE_RL_READY };

struct be_rl {
    const char *role;              /* "publish" or "subscribe", for the log */
    const struct bx_pubsub_conf *conf;
    const struct be_rl_ops *ops;
    bool keep;                     /* out is consumed by the owner on replies, not on write */
    bool hold;                     /* the owner pauses writing out (set-up still goes) */
    int fd;
    enum be_rl_state st;
    struct bx_ev_io io;
    struct bx_ev_timer timer;      /* connect timeout, then the retry back-off */
    struct redisReader *rd;
    struct bx_buf setup;           /* AUTH: written first, consumed as written */
    unsigned setup_due;            /* replies to it still due */
    struct bx_buf out;             /* commands, in order */
    size_t written;                /* keep: bytes of out already written */
    uint64_t due;                  /* replies due after the set-up */
    uint64_t progress_at;          /* last reply, or when one became due */
    uint64_t retry_ms, down_since, logged_at;
    uint64_t failures;             /* connection attempts failed since the last success */
    uint64_t outage_ms;            /* set when it becomes ready: how long it was down */
};

/* Prepares l and starts connecting (from the loop, after confinement). */
void be_rl_start(struct be_rl *l, const char *role, const struct bx_pubsub_conf *conf,
                 const struct be_rl_ops *ops, bool keep);
/* The owner appended commands to l->out that will get nreplies replies: writes. */
void be_rl_sent(struct be_rl *l, unsigned nreplies);
/* Writes what can be written now (after hold is cleared, say). */
void be_rl_flush(struct be_rl *l);
/* Closes the connection (why is logged, rate-limited) and retries later. */
void be_rl_fail(struct be_rl *l, const char *why);
/* Runs l's I/O outside the loop (blocking, timeout_ms at most) until done()
 * is true: the hand-off's barrier, which must finish before it goes on.
 * False when the link is not ready, fails meanwhile, or time ran out. */
bool be_rl_wait(struct be_rl *l, bool (*done)(void), int timeout_ms);
/* Called now and then: a reply overdue by redis_reply_timeout fails the link. */
void be_rl_check(struct be_rl *l, uint64_t now);

/* RESP: an array header, and a bulk string made of two pieces (b may be empty). */
void be_resp_array(struct bx_buf *o, unsigned n);
void be_resp_bulk(struct bx_buf *o, const void *a, size_t alen, const void *b, size_t blen);

#endif
