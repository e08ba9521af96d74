/* SPDX-License-Identifier: BSD-2-Clause */
/* A backend worker: an event loop serving connections from the listeners. */
#ifndef BACTRIAN_BACKEND_WORKER_H
#define BACTRIAN_BACKEND_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "backend/http1.h"
#include "common/cfg.h"

struct be_conn;
struct be_modset;
struct bm_worker_stats;

struct be_listener {
    int fd;
    bool unix_socket;
    enum bx_proxy_mode proxy_protocol;
    const struct bx_cidr *proxy_from; /* TCP only: who may send a PROXY header */
    size_t nproxy_from;
};

struct be_listeners {
    struct be_listener *v;
    size_t n;
};

/* The state of this worker process (there is one loop per process). */
struct be_worker {
    struct bx_ev *ev;
    struct bx_config *cfg;
    const struct be_listeners *ls;
    struct be_modset *mods;
    int index;
    struct bm_worker_stats *stats;    /* this worker's slot in the shared table */
    struct be_http_limits lim;
    uint64_t header_timeout_ms, body_timeout_ms, idle_timeout_ms, shutdown_timeout_ms;
    unsigned keepalive_requests;
    bool draining;
    struct be_conn *conns, *zombies;
    size_t nconns;
    uint64_t next_conn_id;
    int64_t date_sec;
    char date[30];                    /* the Date header, refreshed once a second */
};

extern struct be_worker *be_worker;

/* Shared-memory table of worker counters, made by the master before forking. */
struct bm_worker_stats *be_stats_table(size_t *n);
/* Master, around the fork of worker index into slot: pid 0 before it (the
 * row cleared, this generation's), then its pid, so that the table lists a
 * worker before it runs (old workers wait for every new one: ws_handoff.c). */
void be_stats_claim(int slot, int index, pid_t pid);
void be_stats_init(size_t slots);
/* The table's memfd (-1: it has none), for a binary upgrade to pass on. */
int be_stats_fd(void);
/* The new image of an upgrade: maps the table of the image before (fd, of
 * slots rows) instead of making one. 0, or -1 (size or type is not ours). */
int be_stats_adopt(int fd, size_t slots);
extern unsigned be_generation;

/* Runs in the forked worker until told to stop; returns the exit status.
 * slot is the worker's row in the stats table; life_fd the read end of the
 * master's life pipe (EOF: the master died, drain and exit), or -1. */
int be_worker_run(struct bx_config *cfg, const struct be_listeners *ls, struct be_modset *mods,
                  int index, int slot, int life_fd);

/* The most connections one accept turn takes. */
#define ACCEPT_BATCH_MAX 64

/* Stops watching the listeners for ms (out of descriptors, or stepping back
 * from more than a fair share). */
void be_worker_pause_accept(unsigned ms);

/* The cached Date header value (IMF-fixdate). */
const char *be_worker_date(void);

#endif
