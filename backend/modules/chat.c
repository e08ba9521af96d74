/* SPDX-License-Identifier: BSD-2-Clause */
/* chat: rooms over pub/sub, JSON messages, nicknames, join and leave notices.
 *
 * Client to server (one JSON object per text message):
 *   {"type":"join","room":"lobby","nick":"alice"}   joins (leaving any other room)
 *   {"type":"say","text":"hello"}                   to everyone in the room
 *   {"type":"nick","nick":"bob"}                    renames
 *   {"type":"leave"}
 * Server to clients:
 *   {"type":"joined","room":..,"nick":..}  {"type":"left","room":..,"nick":..}
 *   {"type":"message","room":..,"nick":..,"text":..}
 *   {"type":"renamed","room":..,"nick":..,"old":..}  {"type":"error","error":..}
 * Rooms reach every worker of the backend (bm_publish). Settings: the
 * WebSocket options, plus slow_policy = "skip" (default) or "drop", origins
 * (see chat_accept: same-origin by default) and json_ping (answer the
 * PageCamel keep-alive {"type":"PING"} with {"type":"PING"}; off by default). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <bactrian/module.h>

#include "backend/modules/json.h"

#define NICK_MAX 32
#define ROOM_MAX 64
#define TEXT_MAX 4096

struct chat {
    struct bm_ws_options o;
    enum bm_slow_policy policy;
    const char *const *origins;      /* NULL = same-origin */
    bool json_ping;                  /* answer {"type":"PING"} */
};

struct member {
    char nick[NICK_MAX + 1];
    char room[ROOM_MAX + 1];
};

/* Appends s as it is. Like json_str, counts on past olen, so one check at the end
 * tells whether it all fit. */
static size_t put_raw(char *o, size_t olen, size_t n, const char *s)
{
    for (; *s; s++, n++)
        if (n < olen)
            o[n] = *s;
    return n;
}

/* Appends s as a JSON string (quoted, escaped). */
static size_t json_str(char *o, size_t olen, size_t n, const char *s)
{
    if (n < olen)
        o[n] = '"';
    n++;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        size_t k;
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            k = 2;
        } else if (c < 0x20) {
            k = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", c);
        } else {
            esc[0] = (char)c;
            k = 1;
        }
        for (size_t i = 0; i < k; i++, n++)
            if (n < olen)
                o[n] = esc[i];
    }
    if (n < olen)
        o[n] = '"';
    return n + 1;
}

/* ---- the chat -------------------------------------------------------------------------- */

static void channel_of(const char *room, char *out, size_t outlen)
{
    snprintf(out, outlen, "chat:%s", room);
}

/* Publishes {"type":T,"room":R,"nick":N[,K:V]} to the room. */
static void notice(const char *type, const char *room, const char *nick, const char *k,
                   const char *v)
{
    char buf[TEXT_MAX * 6 + 512];
    size_t n = (size_t)snprintf(buf, sizeof(buf), "{\"type\":\"%s\",\"room\":", type);
    n = json_str(buf, sizeof(buf), n, room);
    n = put_raw(buf, sizeof(buf), n, ",\"nick\":");
    n = json_str(buf, sizeof(buf), n, nick);
    if (k) {
        n = put_raw(buf, sizeof(buf), n, ",\"");
        n = put_raw(buf, sizeof(buf), n, k);
        n = put_raw(buf, sizeof(buf), n, "\":");
        n = json_str(buf, sizeof(buf), n, v);
    }
    if (n + 2 > sizeof(buf))
        return;
    buf[n++] = '}';
    char ch[ROOM_MAX + 8];
    channel_of(room, ch, sizeof(ch));
    bm_publish(ch, BM_WS_TEXT, buf, n, NULL);
}

static void error_to(struct bm_ws *ws, const char *msg)
{
    char buf[256];
    size_t n = (size_t)snprintf(buf, sizeof(buf), "{\"type\":\"error\",\"error\":");
    n = json_str(buf, sizeof(buf), n, msg);
    if (n + 1 < sizeof(buf)) {
        buf[n++] = '}';
        bm_ws_send(ws, BM_WS_TEXT, buf, n);
    }
}

static bool valid_room(const char *r)
{
    if (!*r)
        return false;
    for (; *r; r++)
        if (!((*r >= 'a' && *r <= 'z') || (*r >= 'A' && *r <= 'Z') || (*r >= '0' && *r <= '9') ||
              *r == '-' || *r == '_' || *r == '.'))
            return false;
    return true;
}

static bool valid_nick(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

static void leave(struct bm_ws *ws, struct member *m)
{
    if (!m->room[0])
        return;
    char ch[ROOM_MAX + 8];
    channel_of(m->room, ch, sizeof(ch));
    bm_ws_unsubscribe(ws, ch);
    notice("left", m->room, m->nick, NULL, NULL);
    m->room[0] = 0;
}

static void chat_text(struct bm_ws *ws, const char *data, size_t len, void *inst)
{
    struct chat *chat = inst;
    struct member *m = bm_ws_get_data(ws);
    char type[16] = "", room[ROOM_MAX + 1] = "", nick[NICK_MAX + 1] = "", text[TEXT_MAX + 1] = "";
    struct json_field f[] = {
        {"type", type, sizeof(type), false},
        {"room", room, sizeof(room), false},
        {"nick", nick, sizeof(nick), false},
        {"text", text, sizeof(text), false},
    };
    if (!m)
        return;
    if (chat->json_ping && json_is_ping(data, len)) {
        bm_ws_send(ws, BM_WS_TEXT, JSON_PING, sizeof(JSON_PING) - 1);
        return;
    }
    if (json_parse_object(data, len, f, 4) < 0) {
        error_to(ws, "expected a JSON object with string fields (text up to 4096 bytes)");
        return;
    }
    if (!strcmp(type, "join")) {
        if (!valid_room(room) || !valid_nick(nick)) {
            error_to(ws, "join needs a room ([A-Za-z0-9._-], up to 64) and a nick (up to 32)");
            return;
        }
        leave(ws, m);
        char ch[ROOM_MAX + 8];
        channel_of(room, ch, sizeof(ch));
        bm_channel_policy(ch, chat->policy, 1008);
        snprintf(m->room, sizeof(m->room), "%s", room);
        snprintf(m->nick, sizeof(m->nick), "%s", nick);
        bm_ws_subscribe(ws, ch);
        notice("joined", m->room, m->nick, NULL, NULL);
    } else if (!strcmp(type, "say")) {
        if (!m->room[0]) {
            error_to(ws, "join a room first");
            return;
        }
        notice("message", m->room, m->nick, "text", text);
    } else if (!strcmp(type, "nick")) {
        if (!valid_nick(nick)) {
            error_to(ws, "a nick is 1 to 32 bytes without control characters");
            return;
        }
        char old[NICK_MAX + 1];
        snprintf(old, sizeof(old), "%s", m->nick);
        snprintf(m->nick, sizeof(m->nick), "%s", nick);
        if (m->room[0])
            notice("renamed", m->room, m->nick, "old", old);
    } else if (!strcmp(type, "leave")) {
        leave(ws, m);
    } else {
        error_to(ws, "unknown type (join, say, nick, leave)");
    }
}

static void chat_open(struct bm_ws *ws, void *inst)
{
    (void)inst;
    struct member *m = calloc(1, sizeof(*m));
    if (!m) {
        bm_ws_close(ws, 1011, "out of memory");
        return;
    }
    snprintf(m->nick, sizeof(m->nick), "guest%llu", (unsigned long long)bm_ws_id(ws));
    bm_ws_set_data(ws, m);
}

static void chat_close(struct bm_ws *ws, unsigned code, const char *reason, size_t len, void *inst)
{
    (void)code, (void)reason, (void)len, (void)inst;
    struct member *m = bm_ws_get_data(ws);
    if (!m)
        return;
    leave(ws, m);
    free(m);
    bm_ws_set_data(ws, NULL);
}

static void chat_binary(struct bm_ws *ws, const void *data, size_t len, void *inst)
{
    (void)data, (void)len, (void)inst;
    bm_ws_close(ws, 1003, "chat speaks JSON text");
}

static int chat_init(struct bm_conf *c, void **inst)
{
    struct chat *chat = calloc(1, sizeof(*chat));
    if (!chat)
        return -1;
    bm_ws_options_read(c, &chat->o);
    const char *p = bm_conf_string(c, "slow_policy", "skip");
    if (!strcmp(p, "drop"))
        chat->policy = BM_SLOW_DROP;
    else if (strcmp(p, "skip") != 0)
        bm_conf_error(c, "slow_policy", "must be \"skip\" or \"drop\"");
    if (!bm_conf_strings(c, "origins", NULL, &chat->origins))
        chat->origins = NULL;
    chat->json_ping = bm_conf_bool(c, "json_ping", false);
    *inst = chat;
    return 0;
}

static void chat_fini(void *inst)
{
    free(inst);
}

static int chat_handle(struct bm_request *r, void *inst)
{
    (void)inst;
    static const char msg[] = "This is the chat WebSocket endpoint.\n";
    bm_respond(r, 400, "text/plain; charset=utf-8", msg, sizeof(msg) - 1);
    return BM_DONE;
}

static const struct bm_ws_options *chat_options(void *inst)
{
    return &((struct chat *)inst)->o;
}

/* True when origin ("https://host:port", as browsers send it) names host
 * (the request's Host without its port, lower case, [v6] in brackets). */
static bool origin_is_host(const char *origin, const char *host)
{
    const char *h = strstr(origin, "://");
    if (!h || !*host)
        return false;
    h += 3;
    size_t n = strlen(h);
    if (*h == '[') {
        const char *rb = strchr(h, ']');
        n = rb ? (size_t)(rb - h) + 1 : 0;
    } else if (strchr(h, ':')) {
        n = (size_t)(strchr(h, ':') - h);
    }
    return n && n == strlen(host) && strncasecmp(h, host, n) == 0 && !strchr(h, '/');
}

/* Cross-site WebSocket hijacking: a page from anywhere can open a WebSocket
 * to us with the visitor's cookies, so a browser's Origin must be ours. With
 * "origins" set, it must be one of them exactly ("*" = any); by default its
 * host must be the Host the request was sent to (scheme and port are not
 * compared). No Origin at all is a client that is not a browser, which has
 * no visitor's credentials to abuse: accepted. */
static int chat_accept(void *inst, const struct bm_ws_handshake *hs, const char **subprotocol)
{
    (void)subprotocol;
    const struct chat *chat = inst;
    if (!hs->origin)
        return 0;
    bool ok = false;
    if (!chat->origins)
        ok = origin_is_host(hs->origin, bm_host(hs->req));
    for (size_t i = 0; chat->origins && chat->origins[i] && !ok; i++)
        ok = !strcmp(chat->origins[i], "*") || !strcasecmp(chat->origins[i], hs->origin);
    if (!ok)
        bm_log(BM_LOG_INFO, "chat: %s: origin %s refused (host %s)", bm_client_str(hs->req),
               hs->origin, bm_host(hs->req));
    return ok ? 0 : 403;
}

/* Hand-off on reload: version 1, nick, NUL, room, NUL. The room's
 * subscription moves with the engine's state; nobody is told anything (the
 * user neither left nor joined). */
static long chat_save(struct bm_ws *ws, void *buf, size_t max, void *inst)
{
    (void)inst;
    const struct member *m = bm_ws_get_data(ws);
    if (!m)
        return -1;
    size_t nl = strlen(m->nick), rl = strlen(m->room);
    if (1 + nl + 1 + rl + 1 > max)
        return -1;
    char *o = buf;
    o[0] = 1;
    memcpy(o + 1, m->nick, nl + 1);
    memcpy(o + 2 + nl, m->room, rl + 1);
    return (long)(nl + rl + 3);
}

static int chat_restore(struct bm_ws *ws, const void *data, size_t len, void *inst)
{
    const struct chat *chat = inst;
    const char *p = data, *end = p + len;
    if (len < 3 || p[0] != 1 || end[-1] != 0)
        return -1;
    const char *nick = p + 1, *z = memchr(nick, 0, (size_t)(end - nick));
    if (!z || z + 1 >= end)
        return -1;
    const char *room = z + 1;
    if (strlen(nick) > NICK_MAX || strlen(room) > ROOM_MAX || !valid_nick(nick) ||
        (room[0] && !valid_room(room)) || room + strlen(room) + 1 != end)
        return -1;
    struct member *m = calloc(1, sizeof(*m));
    if (!m)
        return -1;
    snprintf(m->nick, sizeof(m->nick), "%s", nick);
    snprintf(m->room, sizeof(m->room), "%s", room);
    if (m->room[0]) {
        char ch[ROOM_MAX + 8];
        channel_of(m->room, ch, sizeof(ch));
        bm_channel_policy(ch, chat->policy, 1008);
    }
    bm_ws_set_data(ws, m);
    return 0;
}

static void chat_left(struct bm_ws *ws, void *inst)
{
    (void)inst;
    free(bm_ws_get_data(ws));
    bm_ws_set_data(ws, NULL);
}

static const struct bm_ws_handoff chat_handoff = {
    .save = chat_save,
    .restore = chat_restore,
    .left = chat_left,
};

static const struct bm_ws_handlers chat_ws = {
    .options = chat_options,
    .accept = chat_accept,
    .open = chat_open,
    .text = chat_text,
    .binary = chat_binary,
    .close = chat_close,
};

const struct bm_module bactrian_module = {
    .api_version = BACTRIAN_MODULE_API_VERSION,
    .name = "chat",
    .methods = BM_ANY_METHOD,
    .init = chat_init,
    .handle = chat_handle,
    .fini = chat_fini,
    .ws = &chat_ws,
    .ws_handoff = &chat_handoff,
};
