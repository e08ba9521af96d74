/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target: HTTP/1.1 request heads and chunked bodies from clients.
 * Built with --enable-fuzz; run with -dict=tests/fuzz/http1.dict. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend/http1.h"
#include "common/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct be_http_limits lim = {.max_request_line = 1024,
                                              .max_header_size = 4096,
                                              .max_headers = 32,
                                              .max_body = 65536};
    char *buf = malloc(size + 1);
    memcpy(buf, data, size);
    /* Feed the scanner in two pieces, split where the first byte says, to
     * exercise resumption; the verdict must not depend on the split. */
    size_t split = size ? data[0] % (size + 1) : 0;
    struct be_http_scan s1 = BE_HTTP_SCAN_INIT, s2 = BE_HTTP_SCAN_INIT;
    long whole = be_http_scan(&s1, buf, size, &lim);
    long part = be_http_scan(&s2, buf, split, &lim);
    if (part == 0)
        part = be_http_scan(&s2, buf, size, &lim);
    if (part != whole)
        __builtin_trap();
    if (whole > 0) {
        if ((size_t)whole > size)
            __builtin_trap();
        struct be_http_req req;
        be_http_req_init(&req);
        int rc = be_http_parse(&req, buf, (size_t)whole, &lim);
        if (rc == 0 && req.chunked) {
            struct be_chunked c = BE_CHUNKED_INIT;
            struct bx_buf body = BX_BUF_INIT;
            size_t off = (size_t)whole, used = 0;
            while (off < size) {
                int r = be_chunked_decode(&c, buf + off, size - off, &used, &body, &lim);
                if (used > size - off)
                    __builtin_trap();
                off += used;
                if (r != 0 || used == 0)
                    break;
            }
            if ((int64_t)bx_buf_unread(&body) > lim.max_body)
                __builtin_trap();
            bx_buf_free(&body);
        }
        be_http_req_free(&req);
    }
    free(buf);
    return 0;
}
