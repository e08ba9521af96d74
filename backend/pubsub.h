/* SPDX-License-Identifier: BSD-2-Clause */
/* The master's side of pub/sub between workers (the module API is in
 * bactrian/module.h, the session side in ws_session.h).
 *
 * Workers' sockets live in a directory the master makes with mkdtemp after
 * the privilege drop (mode 0700, owned by the backend's uid, under $TMPDIR or
 * /tmp): no other uid can reach a worker's socket or bind a name a worker
 * would send to. Workers inherit its name across fork. */
#ifndef BACTRIAN_BACKEND_PUBSUB_H
#define BACTRIAN_BACKEND_PUBSUB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Makes the directory. 0, or -1 with err set (no cross-worker pub/sub then). */
int be_ps_dir_create(char *err, size_t errlen);
/* The new image of a binary upgrade (upgrade.h): the directory of the image
 * before, open as dirfd, instead of a new one (the old workers' sockets are
 * there). 0, or -1 (err) when it is not a directory of ours, mode 0700. */
int be_ps_dir_adopt(int dirfd, char *err, size_t errlen);
/* In a worker, before it is confined (common/sandbox.h): makes and binds
 * its socket in the directory, which a confined worker could not (it may
 * create no file). */
void be_ps_worker_init(void);
/* Removes a worker's socket once it has exited (it may have crashed). */
void be_ps_forget(pid_t worker);
/* The directory, NULL when there is none (the hand-off's sockets live there too). */
const char *be_ps_dir_path(void);
/* Removes what is left and the directory (the master stops). */
void be_ps_dir_remove(void);

/* ---- for pubsub_redis.c (the transport across hosts) ---- */
#define BE_PS_NAME_MAX 200
/* A message from another worker (its origin id and sequence number, 0 0 when
 * it carries none): delivered to this worker's subscribers. */
void be_ps_deliver_remote(const char *channel, int opcode, const void *data, size_t len,
                          uint64_t origin, uint64_t seq);
/* Calls fn for every channel with a local subscriber (to restore them). */
void be_ps_each_subscribed(void (*fn)(const char *channel, void *arg), void *arg);
/* A message that will not reach the other workers (counted as lost_between_workers). */
void be_ps_count_lost(const char *channel);

#endif
