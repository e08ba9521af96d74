/* echo: every WebSocket text and binary message comes back unchanged, with
 * the same opcode; the WebSocket conformance target. An optional greeting is
 * sent on open ("greeting" setting, off by default). Plain HTTP requests to
 * the mount get 400: it is a WebSocket endpoint only. */
#include <stdlib.h>
#include <string.h>

#include <bactrian/module.h>

struct echo {
    struct bm_ws_options o;
};

static int echo_init(struct bm_conf *c, void **inst)
{
    struct echo *e = calloc(1, sizeof(*e));
    if (!e)
        return -1;
    bm_ws_options_read(c, &e->o);
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

static void echo_open(struct bm_ws *ws, void *inst)
{
    const struct echo *e = inst;
    if (e->o.greeting[0])
        bm_ws_send(ws, BM_WS_TEXT, e->o.greeting, strlen(e->o.greeting));
}

static void echo_text(struct bm_ws *ws, const char *data, size_t len, void *inst)
{
    (void)inst;
    bm_ws_send(ws, BM_WS_TEXT, data, len);
}

static void echo_binary(struct bm_ws *ws, const void *data, size_t len, void *inst)
{
    (void)inst;
    bm_ws_send(ws, BM_WS_BINARY, data, len);
}

static const struct bm_ws_handlers echo_ws = {
    .options = echo_options,
    .open = echo_open,
    .text = echo_text,
    .binary = echo_binary,
};

const struct bm_module bactrian_module = {
    .api_version = BACTRIAN_MODULE_API_VERSION,
    .name = "echo",
    .methods = BM_ANY_METHOD,
    .init = echo_init,
    .handle = echo_handle,
    .fini = echo_fini,
    .ws = &echo_ws,
};
