/* SPDX-License-Identifier: BSD-2-Clause */
/* Page modules: loading the shared objects, running their init with their
 * settings block, and the instances and routes that result. */
#ifndef BACTRIAN_BACKEND_MODSET_H
#define BACTRIAN_BACKEND_MODSET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "common/buf.h"
#include "common/ev.h"

struct bm_module;
struct bx_config;
struct be_router;

/* One configured mount of a module. */
struct be_instance {
    const struct bm_module *mod;
    void *inst;               /* what the module's init() returned */
    const char *path;         /* mount path */
    const char *vhost;
    const char *setting_path; /* "backend.modules.[2]" */
    unsigned methods;         /* effective method set */
    size_t index;
    struct bx_ev_timer tick;  /* worker only */
    bool inited;
    /* The module's hand-off hooks (API version 3 and a WebSocket mount), or
     * NULL: its sessions drain in the old worker on a reload. */
    const struct bm_ws_handoff *handoff;
};

struct be_modset {
    struct be_instance *v;
    size_t n;
    void **libs;              /* dlopen handles */
    size_t nlibs;
    void **allocs;            /* vectors handed to modules by bm_conf_strings */
    size_t nallocs;
    struct be_router *router;
};

/* Loads every module named in cfg->be.modules from module_dir and runs each
 * instance's init. Errors (one per line, "FILE:LINE: setting '...': message"
 * where known) are appended to errs. Returns 0, or -1 and a set to free. */
int be_modset_load(struct bx_config *cfg, struct be_modset *set, struct bx_buf *errs);
/* Runs fini() of every instance, then unloads the libraries. */
void be_modset_free(struct be_modset *set);

/* In a worker: worker_init of every instance and their tick timers. */
int be_modset_worker_init(struct be_modset *set, struct bx_ev *ev);
void be_modset_worker_exit(struct be_modset *set, struct bx_ev *ev);

/* The connect hooks of every instance, in config order: false as soon as
 * one refuses the client (its instance in *who when who is not NULL). */
bool be_modset_connect(const struct be_modset *set, const struct sockaddr *client, socklen_t len,
                       const struct be_instance **who);

/* Says (to stderr for -t, else the log) which WebSocket mounts lose their
 * sessions on a reload: their modules have no hand-off hooks. */
void be_modset_report_handoff(const struct be_modset *set, bool to_stderr);

/* "GET, HEAD, POST" for an Allow header. */
void be_methods_str(unsigned methods, char *out, size_t outlen);

#endif
