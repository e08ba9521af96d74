/* SPDX-License-Identifier: BSD-2-Clause */
/* A WebSocket echo module as one built against module API version 2 would
 * be: its descriptor is the version 2 layout, which ends at the connect
 * hook (no ws_handoff field). ws_handoff.py checks that such a module still
 * loads and serves, and that its sessions drain on a reload. */
#include <stddef.h>
#include <string.h>

#include <bactrian/module.h>

/* struct bm_module as it was in version 2. */
struct bm_module_v2 {
    int api_version;
    const char *name;
    unsigned methods;
    unsigned tick_ms;
    int (*init)(struct bm_conf *conf, void **inst);
    int (*worker_init)(void *inst);
    int (*handle)(struct bm_request *r, void *inst);
    void (*tick)(void *inst);
    void (*worker_exit)(void *inst);
    void (*fini)(void *inst);
    const struct bm_ws_handlers *ws;
    int (*connect)(const struct sockaddr *client, socklen_t len, void *inst);
};

/* The layout really is a prefix of today's. */
_Static_assert(offsetof(struct bm_module_v2, connect) == offsetof(struct bm_module, connect),
               "version 2 layout");

static int v2_handle(struct bm_request *r, void *inst)
{
    (void)inst;
    bm_respond(r, 400, "text/plain", "WebSocket only\n", 15);
    return BM_DONE;
}

static void v2_text(struct bm_ws *ws, const char *data, size_t len, void *inst)
{
    (void)inst;
    bm_ws_send(ws, BM_WS_TEXT, data, len);
}

static const struct bm_ws_handlers v2_ws = {
    .text = v2_text,
};

const struct bm_module_v2 bactrian_module = {
    .api_version = 2,
    .name = "wsv2",
    .handle = v2_handle,
    .ws = &v2_ws,
};
