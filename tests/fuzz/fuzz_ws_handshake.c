/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target: the opening handshake and the 101, as be_ws_upgrade does
 * them, with the real wspick test module (tests/modules/mod_wspick.c, which
 * picks the first subprotocol the client offers, of any length) deciding.
 * The input holds newline-separated header values: Connection, Upgrade,
 * Sec-WebSocket-Version, Sec-WebSocket-Key, Sec-WebSocket-Protocol,
 * Sec-WebSocket-Extensions. Oracle: the verdict is 0, 400 or 426; an accepted
 * handshake gives exactly one well-formed head (status line, "Name: value"
 * lines without CR or LF inside, one empty line at the end) carrying the right
 * Sec-WebSocket-Accept, and a subprotocol only if the client offered it. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend/ws_deflate.h"
#include "backend/ws_handshake.h"
#include "common/buf.h"

/* The module's includes and API calls it makes outside accept(): stubs. */
#include "tests/modules/mod_wspick.c"

void bm_ws_options_read(struct bm_conf *c, struct bm_ws_options *o)
{
    (void)c, (void)o;
}
void bm_respond(struct bm_request *r, int status, const char *type, const void *b, size_t n)
{
    (void)r, (void)status, (void)type, (void)b, (void)n;
}
int bm_ws_send(struct bm_ws *ws, int opcode, const void *data, size_t len)
{
    (void)ws, (void)opcode, (void)data, (void)len;
    return 0;
}

static void check_head(const char *p, size_t n, const char *accept, const char *proto)
{
    if (n < 4 || strncmp(p, "HTTP/1.1 101 Switching Protocols\r\n", 34) != 0 ||
        memcmp(p + n - 4, "\r\n\r\n", 4) != 0)
        __builtin_trap();
    const char *end = p + n - 2, *line = p + 34;
    while (line < end) {
        const char *eol = memchr(line, '\r', (size_t)(end - line));
        if (!eol || eol[1] != '\n' || memchr(line, '\n', (size_t)(eol - line)) ||
            !memchr(line, ':', (size_t)(eol - line)))
            __builtin_trap();
        line = eol + 2;
    }
    const char *a = strstr(p, "Sec-WebSocket-Accept: ");
    if (!a || strncmp(a + 22, accept, BE_WS_ACCEPT_LEN - 1) != 0)
        __builtin_trap();
    const char *sp = strstr(p, "Sec-WebSocket-Protocol: ");
    if ((sp != NULL) != (proto != NULL) ||
        (sp && (strncmp(sp + 24, proto, strlen(proto)) != 0 || sp[24 + strlen(proto)] != '\r')))
        __builtin_trap();
}

static void answer(char *protocols, const char *key, const char *ext)
{
    const char *protos[33];
    be_ws_split_protocols(protocols, protos, sizeof protos / sizeof *protos);
    struct bm_ws_handshake hs = {NULL, NULL, protos};
    const char *chosen = NULL;
    if (bactrian_module.ws->accept(NULL, &hs, &chosen) != 0)
        return; /* refused by the module: no 101 */
    chosen = be_ws_chosen_protocol(chosen, protos);
    struct be_ws_pmd_policy pol;
    be_ws_pmd_preset("balanced", &pol);
    struct be_ws_pmd_params par;
    char ext_resp[200] = "";
    int pmd = ext ? be_ws_pmd_negotiate(ext, strlen(ext), &pol, &par, ext_resp, sizeof ext_resp)
                  : 0;
    char accept[BE_WS_ACCEPT_LEN];
    be_ws_accept_key(key, accept);
    struct bx_buf b = BX_BUF_INIT;
    be_ws_response_101(&b, accept, chosen, pmd ? ext_resp : NULL);
    bx_buf_append(&b, "", 1);
    check_head(bx_buf_rpos(&b), bx_buf_unread(&b) - 1, accept, chosen);
    bx_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = 0;
    char *f[6] = {NULL};
    char *p = s;
    for (int i = 0; i < 6 && p; i++) {
        f[i] = p;
        p = strchr(p, '\n');
        if (p)
            *p++ = 0;
    }
    struct be_ws_hs_request r = {.method = "GET",
                                 .http_major = 1,
                                 .http_minor = 1,
                                 .has_host = 1,
                                 .connection = f[0],
                                 .upgrade = f[1],
                                 .version = f[2],
                                 .key = f[3]};
    const char *why = NULL;
    int st = be_ws_hs_check(&r, &why);
    if (st != 0 && st != 400 && st != 426)
        __builtin_trap();
    if (st == 0) {
        if (!why && !be_ws_key_valid(r.key))
            __builtin_trap();
        answer(f[4], r.key, f[5]);
    }
    free(s);
    return 0;
}
