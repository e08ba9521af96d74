/* SPDX-License-Identifier: BSD-2-Clause */
/* RFC 6455 opening handshake checks (see ws_handshake.h). */
#include "config.h"

#include <openssl/evp.h>
#include <string.h>
#include <strings.h>

#include "backend/ws_handshake.h"
#include "common/buf.h"

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

int be_ws_token_list_has(const char *value, const char *token)
{
    if (!value)
        return 0;
    size_t tl = strlen(token);
    const char *p = value;
    while (*p) {
        while (*p == ',' || is_ows(*p))
            p++;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        while (end > start && is_ows(end[-1]))
            end--;
        if ((size_t)(end - start) == tl && !strncasecmp(start, token, tl))
            return 1;
    }
    return 0;
}

static int is_b64(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

int be_ws_key_valid(const char *key)
{
    if (!key || strlen(key) != 24 || key[22] != '=' || key[23] != '=')
        return 0;
    for (int i = 0; i < 22; i++)
        if (!is_b64(key[i]))
            return 0;
    /* The last character's low 4 bits are padding: canonical base64 of 16
     * bytes leaves them zero. */
    return strchr("AQgw", key[21]) != NULL;
}

void be_ws_accept_key(const char *key, char out[BE_WS_ACCEPT_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char in[128];
    size_t kl = strnlen(key, sizeof(in) - sizeof(ws_guid));
    memcpy(in, key, kl);
    memcpy(in + kl, ws_guid, sizeof(ws_guid) - 1);
    EVP_Digest(in, kl + sizeof(ws_guid) - 1, md, &mdlen, EVP_sha1(), NULL);
    EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
}

int be_ws_hs_check(const struct be_ws_hs_request *r, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    if (!r->method || strcmp(r->method, "GET") != 0) {
        *why = "WebSocket upgrade with a method other than GET";
        return 400;
    }
    if (r->http_major < 1 || (r->http_major == 1 && r->http_minor < 1)) {
        *why = "WebSocket upgrade over HTTP/1.0";
        return 400;
    }
    if (!r->has_host) {
        *why = "WebSocket upgrade without Host";
        return 400;
    }
    if (!be_ws_token_list_has(r->connection, "upgrade")) {
        *why = "Connection header lacks the upgrade token";
        return 400;
    }
    if (!be_ws_token_list_has(r->upgrade, "websocket")) {
        *why = "Upgrade header lacks websocket";
        return 400;
    }
    if (!r->version) {
        *why = "missing Sec-WebSocket-Version";
        return 400;
    }
    if (strcmp(r->version, "13") != 0) {
        *why = "unsupported Sec-WebSocket-Version";
        return 426;
    }
    if (!be_ws_key_valid(r->key)) {
        *why = "missing or malformed Sec-WebSocket-Key";
        return 400;
    }
    return 0;
}

const char *be_ws_pick_subprotocol(const char *offered, const char *const *supported)
{
    if (!offered || !supported)
        return NULL;
    for (; *supported; supported++)
        if (be_ws_token_list_has(offered, *supported))
            return *supported;
    return NULL;
}

void be_ws_split_protocols(char *list, const char **out, size_t max)
{
    size_t n = 0;
    char *save = NULL;
    for (char *t = list ? strtok_r(list, ", \t", &save) : NULL; t && n + 1 < max;
         t = strtok_r(NULL, ", \t", &save))
        out[n++] = t;
    out[n] = NULL;
}

int be_ws_token_valid(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", c))
            return 0;
    }
    return 1;
}

const char *be_ws_chosen_protocol(const char *chosen, const char *const *offered)
{
    if (!chosen || !offered || !be_ws_token_valid(chosen))
        return NULL;
    for (; *offered; offered++)
        if (!strcmp(*offered, chosen))
            return chosen;
    return NULL;
}

void be_ws_response_101(struct bx_buf *b, const char accept[BE_WS_ACCEPT_LEN],
                        const char *subprotocol, const char *extensions)
{
    bx_buf_printf(b,
                  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n",
                  accept);
    if (subprotocol)
        bx_buf_printf(b, "Sec-WebSocket-Protocol: %s\r\n", subprotocol);
    if (extensions && *extensions)
        bx_buf_printf(b, "Sec-WebSocket-Extensions: %s\r\n", extensions);
    bx_buf_append(b, "\r\n", 2);
}
