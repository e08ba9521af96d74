/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target: WebSocket frames from a client, with and without RSV1
 * allowed, through the incremental parser and the UTF-8 validator. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend/ws_frame.h"
#include "backend/ws_utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    uint8_t *buf = malloc(size);
    memcpy(buf, data + 1, size - 1);
    size_t len = size - 1;
    struct be_ws_parser p;
    be_ws_parser_init(&p, 1, (flags & 1) ? BE_WS_RSV1 : 0, 1 << 16);
    /* Feed in slices of a size the first byte picks, as a network would. */
    size_t step = (size_t)(flags >> 1) + 1, off = 0;
    int guard = 0;
    while (off < len && guard++ < 100000) {
        size_t n = len - off < step ? len - off : step;
        struct be_ws_event ev;
        size_t used = be_ws_parse(&p, buf + off, n, &ev);
        if (used > n)
            __builtin_trap();
        off += used;
        if (ev.type == BE_WS_EV_ERROR) {
            if (!be_ws_parser_failed(&p) || ev.close_code < 1000 || ev.close_code > 1011)
                __builtin_trap();
            break;
        }
        if (ev.type == BE_WS_EV_PAYLOAD && ev.hdr && ev.hdr->msg_opcode == BE_WS_OP_TEXT) {
            if (ev.data < buf || ev.data + ev.len > buf + len)
                __builtin_trap();
        }
        if (used == 0 && ev.type == BE_WS_EV_NONE)
            break;
    }
    free(buf);
    return 0;
}
