/* A backend worker: an event loop serving connections from the listeners. */
#ifndef BACTRIAN_BACKEND_WORKER_H
#define BACTRIAN_BACKEND_WORKER_H

#include <stdbool.h>
#include <stddef.h>

#include "common/cfg.h"

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

/* Runs in the forked worker until told to stop; returns the exit status. */
int be_worker_run(struct bx_config *cfg, struct be_listeners *ls, int index);

#endif
