/* SPDX-License-Identifier: BSD-2-Clause */
/* A WebSocket module for the integration tests only (ws_module_api.py):
 * drives the parts of the API that echo and chat do not use. Text commands:
 *   "produce N"  one binary message of N bytes from a producer (bm_ws_send_from)
 *   "flood N"    N binary messages of 16 KiB, sent while writable and resumed
 *                from drain(); then "flood done D" with D = drains seen
 *   "list"       "sessions N" (bm_ws_list for this instance)
 *   "ping"       a ping with payload "hi"; the pong callback answers "pong hi"
 *   "close"      bm_ws_close(4001, "asked")
 *   "info"       "queued" (8 bytes on the wire), then "info client=C sub=S
 *                deflate=D pending=P": bm_ws_client_str, bm_ws_subprotocol
 *                ("-" when none), bm_ws_compressed, and bm_ws_pending with
 *                "queued" still in the queue (P = 8)
 *   "defaults"   bm_ws_options_default's message, frame, ping, fragment and
 *                watermark values
 *   "sub CH", "pub CH TEXT", "stats CH"  subscribe, publish (to itself too),
 *                and "stats S P D" (subscribers, published, delivered of
 *                bm_channel_stats) or "stats none"
 * accept() picks the subprotocol "t.v1" when the client offers it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bactrian/module.h>

struct inst {
    struct bm_ws_options o;
};

struct sess {
    size_t produce_left, produced;
    unsigned flood_left, drains;
    unsigned char block[16384];
};

static int t_init(struct bm_conf *c, void **inst)
{
    struct inst *i = calloc(1, sizeof(*i));
    if (!i)
        return -1;
    bm_ws_options_read(c, &i->o);
    *inst = i;
    return 0;
}

static void t_fini(void *inst)
{
    free(inst);
}

static const struct bm_ws_options *t_options(void *inst)
{
    return &((struct inst *)inst)->o;
}

static int t_accept(void *inst, const struct bm_ws_handshake *hs, const char **subprotocol)
{
    (void)inst;
    for (const char *const *p = hs->subprotocols; p && *p; p++)
        if (!strcmp(*p, "t.v1"))
            *subprotocol = *p;
    return 0;
}

static void send_text(struct bm_ws *ws, const char *s)
{
    bm_ws_send(ws, BM_WS_TEXT, s, strlen(s));
}

static void t_info(struct bm_ws *ws)
{
    char out[256];
    send_text(ws, "queued");
    const char *sub = bm_ws_subprotocol(ws);
    snprintf(out, sizeof(out), "info client=%s sub=%s deflate=%d pending=%zu", bm_ws_client_str(ws),
             sub ? sub : "-", bm_ws_compressed(ws), bm_ws_pending(ws));
    send_text(ws, out);
}

static void t_defaults(struct bm_ws *ws)
{
    struct bm_ws_options d;
    char out[256];
    bm_ws_options_default(&d);
    snprintf(out, sizeof(out), "defaults %llu %llu %u %zu %zu %zu %d",
             (unsigned long long)d.max_message_size, (unsigned long long)d.max_frame_size,
             d.ping_interval_ms, d.fragment_size, d.send_high_watermark, d.send_low_watermark,
             d.deflate);
    send_text(ws, out);
}

static void t_pubsub(struct bm_ws *ws, const char *cmd)
{
    char ch[64], out[128];
    int off = 0;
    const char *arg = strchr(cmd, ' ') + 1; /* the caller matched "WORD " */
    if (sscanf(arg, "%63s %n", ch, &off) < 1)
        return;
    if (!strncmp(cmd, "sub ", 4)) {
        bm_ws_subscribe(ws, ch);
    } else if (!strncmp(cmd, "pub ", 4)) {
        const char *text = arg + off;
        bm_publish(ch, BM_WS_TEXT, text, strlen(text), NULL);
    } else {
        struct bm_channel_stats st;
        if (!bm_channel_stats(ch, &st))
            snprintf(out, sizeof(out), "stats none");
        else
            snprintf(out, sizeof(out), "stats %llu %llu %llu", (unsigned long long)st.subscribers,
                     (unsigned long long)st.published, (unsigned long long)st.delivered);
        send_text(ws, out);
    }
}

static int t_handle(struct bm_request *r, void *inst)
{
    (void)inst;
    bm_respond(r, 400, "text/plain", "ws only\n", 8);
    return BM_DONE;
}

static size_t produce(struct bm_ws *ws, void *buf, size_t max, bool *last, void *arg)
{
    (void)ws;
    struct sess *s = arg;
    size_t n = s->produce_left < max ? s->produce_left : max;
    for (size_t i = 0; i < n; i++)
        ((unsigned char *)buf)[i] = (unsigned char)((s->produced + i) % 251);
    s->produced += n;
    s->produce_left -= n;
    *last = s->produce_left == 0;
    return n;
}

static void flood_more(struct bm_ws *ws, struct sess *s)
{
    while (s->flood_left && bm_ws_writable(ws)) {
        bm_ws_send(ws, BM_WS_BINARY, s->block, sizeof(s->block));
        s->flood_left--;
    }
    if (!s->flood_left) {
        char msg[64];
        int n = snprintf(msg, sizeof(msg), "flood done %u", s->drains);
        bm_ws_send(ws, BM_WS_TEXT, msg, (size_t)n);
    }
}

static void t_open(struct bm_ws *ws, void *inst)
{
    (void)inst;
    bm_ws_set_data(ws, calloc(1, sizeof(struct sess)));
}

static void t_text(struct bm_ws *ws, const char *data, size_t len, void *inst)
{
    struct sess *s = bm_ws_get_data(ws);
    char out[64];
    (void)len;
    if (!strncmp(data, "produce ", 8)) {
        s->produce_left = strtoul(data + 8, NULL, 10);
        s->produced = 0;
        bm_ws_send_from(ws, BM_WS_BINARY, produce, s);
    } else if (!strncmp(data, "flood ", 6)) {
        s->flood_left = (unsigned)strtoul(data + 6, NULL, 10);
        s->drains = 0;
        flood_more(ws, s);
    } else if (!strcmp(data, "list")) {
        struct bm_ws *v[8];
        int n = snprintf(out, sizeof(out), "sessions %zu", bm_ws_list(inst, v, 8));
        bm_ws_send(ws, BM_WS_TEXT, out, (size_t)n);
    } else if (!strcmp(data, "ping")) {
        bm_ws_ping(ws, "hi", 2);
    } else if (!strcmp(data, "close")) {
        bm_ws_close(ws, 4001, "asked");
    } else if (!strcmp(data, "info")) {
        t_info(ws);
    } else if (!strcmp(data, "defaults")) {
        t_defaults(ws);
    } else if (!strncmp(data, "sub ", 4) || !strncmp(data, "pub ", 4) ||
               !strncmp(data, "stats ", 6)) {
        t_pubsub(ws, data);
    }
}

static void t_pong(struct bm_ws *ws, const void *data, size_t len, void *inst)
{
    (void)inst;
    char out[160];
    int n = snprintf(out, sizeof(out), "pong %.*s", (int)len, (const char *)data);
    bm_ws_send(ws, BM_WS_TEXT, out, (size_t)n);
}

static void t_drain(struct bm_ws *ws, void *inst)
{
    (void)inst;
    struct sess *s = bm_ws_get_data(ws);
    s->drains++;
    if (s->flood_left)
        flood_more(ws, s);
}

static void t_close(struct bm_ws *ws, unsigned code, const char *reason, size_t len, void *inst)
{
    (void)code, (void)reason, (void)len, (void)inst;
    free(bm_ws_get_data(ws));
    bm_ws_set_data(ws, NULL);
}

static const struct bm_ws_handlers t_ws = {
    .options = t_options,
    .accept = t_accept,
    .open = t_open,
    .text = t_text,
    .pong = t_pong,
    .drain = t_drain,
    .close = t_close,
};

const struct bm_module bactrian_module = {
    .api_version = BACTRIAN_MODULE_API_VERSION,
    .name = "wstest",
    .init = t_init,
    .handle = t_handle,
    .fini = t_fini,
    .ws = &t_ws,
};
