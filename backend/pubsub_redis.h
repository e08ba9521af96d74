/* SPDX-License-Identifier: BSD-2-Clause */
/* Pub/sub across hosts through Redis (backend.pubsub.redis); pubsub.c calls
 * these instead of its worker-to-worker datagrams when Redis is configured.
 *
 * A worker keeps two links (redis_link.h): it PUBLISHes on one and
 * SUBSCRIBEs on the other to the channels it has local subscribers for
 * (SUBSCRIBE on the first, UNSUBSCRIBE on the last). A publish reaches the
 * publishing worker's own subscribers directly, as without Redis, and every
 * other worker, of this host or another, through Redis only: each message
 * carries its worker's random origin id and a worker skips its own, so every
 * subscriber gets it once, and in publish order per publisher (one
 * connection to Redis, which keeps order). While Redis is unreachable,
 * publishes wait in order in a bounded buffer (outage_buffer; beyond it they
 * are dropped and counted) and go out outage_flush_delay after the link is
 * back; subscriptions are restored on every reconnect. */
#ifndef BACTRIAN_BACKEND_PUBSUB_REDIS_H
#define BACTRIAN_BACKEND_PUBSUB_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cfg.h"

/* In the master, before any worker starts: the shared table of every
 * worker's link state (bm_worker_redis_stats), one row per stats slot. */
void be_psr_stats_init(size_t slots);
/* In a worker before confinement: declares the Redis port to the sandbox and
 * starts the links (they connect from the loop). Nothing when redis is unset. */
void be_psr_init(const struct bx_pubsub_conf *conf);
bool be_psr_enabled(void);
/* Queues a PUBLISH (channel: up to BE_PS_NAME_MAX bytes). 0, or -1 when the
 * outage buffer is full (dropped, counted and logged). */
int be_psr_publish(const char *channel, int opcode, uint64_t seq, const void *data, size_t len);
/* This worker's origin id (never 0), the random id its messages carry. */
uint64_t be_psr_origin(void);
/* Old worker: a newer one said hello (it is subscribed to every channel). */
void be_psr_peer_ready(void);
/* Before a session's snapshot: after a hello, reads up to a PONG (see pubsub_redis.c). */
void be_psr_poll(void);
/* The first local subscriber came, the last one left. */
void be_psr_subscribe(const char *channel);
void be_psr_unsubscribe(const char *channel);

#endif
