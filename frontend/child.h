/* SPDX-License-Identifier: BSD-2-Clause */
/* A frontend child: waits in accept with the other idle children, serves
 * one client (PROXY header in, limits, TLS handshake, first request byte,
 * backend connect with retry, PROXY v2 header out, relay) and exits after
 * clients_per_child clients. */
#ifndef BACTRIAN_FRONTEND_CHILD_H
#define BACTRIAN_FRONTEND_CHILD_H

#include <stddef.h>
#include <sys/types.h>

#include "common/net.h"
#include "frontend/tls.h"

struct bx_config;
struct fe_scoreboard;
struct bx_sb_slot;

struct fe_listener {
    int fd;
    size_t service;             /* index into cfg->fe.services */
    char addr[BX_ADDRSTRLEN];   /* bind address as configured */
    int port;
};

/* One configuration generation: what children forked after a (re)load see. */
struct fe_gen {
    unsigned id;
    struct bx_config *cfg;
    struct fe_tls tls;
    struct fe_listener *ls;
    size_t nls;
    int accept_ep;              /* epoll of every listener, shared by idle children */
    int debug_ok;               /* 1 when debug_ip parsed into debug_net */
    struct bx_cidr debug_net;
    int host_sniff;             /* plaintext needs the Host header to pick a backend */
    int cfg_heap;               /* cfg was allocated by a reload (freed with the generation) */
};

struct fe_child_env {
    const struct fe_gen *gen;
    struct fe_scoreboard *sb;
    struct bx_sb_slot *slot;    /* ours: the only slot we can write */
    size_t slot_index;          /* its index, for hand-offs */
    int notify_fd;              /* eventfd: "I took a client" */
    pid_t master_pid;           /* for the death signal's race check (lifeline.h) */
    int handoff_fd;             /* to the master: idle connections for lean children (lean.h) */
    int keyfd;                  /* this child's own sign channel to the key process, or -1 */
    int waitroom_fd;            /* to and from the waiting room (waitroom.h), -1: none */
    const int *close_fds;       /* the master's own descriptors */
    size_t nclose;
};

_Noreturn void fe_child_main(const struct fe_child_env *env);

/* The hostile-child test's entry into a real confined child: called with
 * the child's environment (its scoreboard, slot, hand-off socket) and a
 * plaintext client's first bytes; returns 1 when it answered the client
 * itself. The daemon's definition (frontend/testhook.c) is a weak no-op
 * that returns 0; only the test build (tests/hostile/fe_hook.c) links a
 * strong one. */
int fe_test_hook(const struct fe_child_env *env, int fd, const unsigned char *first, size_t len);

#endif
