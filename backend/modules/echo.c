/* SPDX-License-Identifier: BSD-2-Clause */
/* echo: every WebSocket text and binary message comes back unchanged, with
 * the same opcode; the WebSocket conformance target. Settings besides the
 * WebSocket options: "greeting" (sent on open, off by default), "origins"
 * (allowed Origin values; absent = any, a browser from elsewhere gets 403),
 * "subprotocols" (the server's choices, in its order of preference) and
 * "json_ping" (the PageCamel keep-alive: a JSON {"type":"PING"} is answered
 * with {"type":"PING"}, not echoed as sent; off by default).
 * Plain HTTP requests to the mount get 400: it is a WebSocket endpoint only. */
#include <stdlib.h>
#include <string.h>

#include <bactrian/module.h>

#include "backend/modules/json.h"

struct echo {
    struct bm_ws_options o;
    const char *const *origins;      /* NULL = any */
    const char *const *subprotocols; /* NULL = none */
    bool json_ping;                  /* answer {"type":"PING"} */
};

static int echo_init(struct bm_conf *c, void **inst)
{
    struct echo *e = calloc(1, sizeof(*e));
    if (!e)
        return -1;
    bm_ws_options_read(c, &e->o);
    if (!bm_conf_strings(c, "origins", NULL, &e->origins))
        e->origins = NULL;
    if (!bm_conf_strings(c, "subprotocols", NULL, &e->subprotocols))
        e->subprotocols = NULL;
    e->json_ping = bm_conf_bool(c, "json_ping", false);
    *inst = e;
    return 0;
}

static void echo_fini(void *inst)
{
    free(inst);
}

static int echo_handle(struct bm_request *r, void *inst)
{
    (void)inst;
    static const char msg[] = "This is a WebSocket endpoint: connect with a WebSocket client.\n";
    bm_respond(r, 400, "text/plain; charset=utf-8", msg, sizeof(msg) - 1);
    return BM_DONE;
}

static const struct bm_ws_options *echo_options(void *inst)
{
    return &((struct echo *)inst)->o;
}

static int echo_accept(void *inst, const struct bm_ws_handshake *hs, const char **subprotocol)
{
    const struct echo *e = inst;
    if (e->origins) {
        bool ok = false;
        for (size_t i = 0; hs->origin && e->origins[i]; i++)
            ok |= strcmp(e->origins[i], hs->origin) == 0;
        if (!ok) {
            bm_log(BM_LOG_INFO, "echo: origin %s refused", hs->origin ? hs->origin : "(none)");
            return 403;
        }
    }
    for (size_t i = 0; e->subprotocols && e->subprotocols[i] && !*subprotocol; i++)
        for (size_t k = 0; hs->subprotocols[k]; k++)
            if (!strcmp(e->subprotocols[i], hs->subprotocols[k])) {
                *subprotocol = e->subprotocols[i];
                break;
            }
    return 0;
}

static void echo_open(struct bm_ws *ws, void *inst)
{
    const struct echo *e = inst;
    if (e->o.greeting[0])
        bm_ws_send(ws, BM_WS_TEXT, e->o.greeting, strlen(e->o.greeting));
}

static void echo_text(struct bm_ws *ws, const char *data, size_t len, void *inst)
{
    const struct echo *e = inst;
    if (e->json_ping && json_is_ping(data, len))
        bm_ws_send(ws, BM_WS_TEXT, JSON_PING, sizeof(JSON_PING) - 1);
    else
        bm_ws_send(ws, BM_WS_TEXT, data, len);
}

static void echo_binary(struct bm_ws *ws, const void *data, size_t len, void *inst)
{
    (void)inst;
    bm_ws_send(ws, BM_WS_BINARY, data, len);
}

/* streaming = true: each piece goes back as it arrives, never buffered whole
 * (exercises the chunk callback and the streaming send API). */
static void echo_chunk(struct bm_ws *ws, int opcode, const void *data, size_t len, unsigned flags,
                       void *inst)
{
    (void)inst;
    if (flags & BM_WS_MSG_FIRST)
        bm_ws_send_begin(ws, opcode);
    if (len)
        bm_ws_send_chunk(ws, data, len);
    if (flags & BM_WS_MSG_LAST)
        bm_ws_send_end(ws);
}

static const struct bm_ws_handlers echo_ws = {
    .options = echo_options,
    .accept = echo_accept,
    .open = echo_open,
    .text = echo_text,
    .binary = echo_binary,
    .chunk = echo_chunk,
};

/* Hand-off on reload: an echo session has no state of its own beyond the
 * engine's, so its record is one version byte. */
static long echo_save(struct bm_ws *ws, void *buf, size_t max, void *inst)
{
    (void)ws, (void)inst;
    if (max < 1)
        return -1;
    ((unsigned char *)buf)[0] = 1;
    return 1;
}

static int echo_restore(struct bm_ws *ws, const void *data, size_t len, void *inst)
{
    (void)ws, (void)inst;
    return len == 1 && ((const unsigned char *)data)[0] == 1 ? 0 : -1;
}

static const struct bm_ws_handoff echo_handoff = {
    .save = echo_save,
    .restore = echo_restore,
};

const struct bm_module bactrian_module = {
    .api_version = BACTRIAN_MODULE_API_VERSION,
    .name = "echo",
    .methods = BM_ANY_METHOD,
    .init = echo_init,
    .handle = echo_handle,
    .fini = echo_fini,
    .ws = &echo_ws,
    .ws_handoff = &echo_handoff,
};
