/* SPDX-License-Identifier: BSD-2-Clause */
/* A WebSocket module for ws_security.py and the fuzz target of the 101 path:
 * accept() picks the first subprotocol the client offers, whatever its length
 * (module.h allows that), and refuses with 403 when that subprotocol is
 * "refuse". Messages are echoed. */
#include <stdlib.h>
#include <string.h>

#include <bactrian/module.h>

struct inst {
    struct bm_ws_options o;
};

static int p_init(struct bm_conf *c, void **inst)
{
    struct inst *i = calloc(1, sizeof(*i));
    if (!i)
        return -1;
    bm_ws_options_read(c, &i->o);
    *inst = i;
    return 0;
}

static void p_fini(void *inst)
{
    free(inst);
}

static const struct bm_ws_options *p_options(void *inst)
{
    return &((struct inst *)inst)->o;
}

static int p_handle(struct bm_request *r, void *inst)
{
    (void)inst;
    bm_respond(r, 400, "text/plain", "ws only\n", 8);
    return BM_DONE;
}

static int p_accept(void *inst, const struct bm_ws_handshake *hs, const char **subprotocol)
{
    (void)inst;
    if (hs->subprotocols && hs->subprotocols[0]) {
        if (!strcmp(hs->subprotocols[0], "refuse"))
            return 403;
        *subprotocol = hs->subprotocols[0];
    }
    return 0;
}

static void p_text(struct bm_ws *ws, const char *data, size_t len, void *inst)
{
    (void)inst;
    bm_ws_send(ws, BM_WS_TEXT, data, len);
}

static const struct bm_ws_handlers p_ws = {
    .options = p_options,
    .accept = p_accept,
    .text = p_text,
};

const struct bm_module bactrian_module = {
    .api_version = BACTRIAN_MODULE_API_VERSION,
    .name = "wspick",
    .init = p_init,
    .handle = p_handle,
    .fini = p_fini,
    .ws = &p_ws,
};
