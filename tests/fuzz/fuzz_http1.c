/* libFuzzer target for the HTTP/1.1 request parser and the chunked decoder.
 * The first byte picks a split point; the head is scanned in two steps the
 * way a connection sees it, parsed, and what follows is fed to the chunked
 * decoder. Build and run (not part of make check):
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -Iinclude -Ibuild \
 *     tests/fuzz/fuzz_http1.c backend/http1.c common/buf.c common/xalloc.c -o fuzz_http1
 *   ./fuzz_http1 -max_total_time=60 -dict=tests/fuzz/http1.dict CORPUS_DIR */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend/http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct be_http_limits lim = {
        .max_request_line = 512, .max_header_size = 2048, .max_headers = 32, .max_body = 4096};
    if (size < 1)
        return 0;
    size_t split = data[0] % (size);
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;
    struct be_http_scan s = BE_HTTP_SCAN_INIT;
    long n = 0;
    if (split > 0 && split < len)
        n = be_http_scan(&s, buf, split, &lim);
    if (n == 0)
        n = be_http_scan(&s, buf, len, &lim);
    if (n <= 0)
        return 0;
    char *head = malloc((size_t)n);
    memcpy(head, buf, (size_t)n);
    struct be_http_req r;
    be_http_req_init(&r);
    if (be_http_parse(&r, head, (size_t)n, &lim) == 0 && r.chunked) {
        struct be_chunked c = BE_CHUNKED_INIT;
        struct bx_buf body = BX_BUF_INIT;
        size_t off = (size_t)n, used;
        while (off < len) {
            size_t step = (len - off) > 7 ? 7 : len - off;
            int rc = be_chunked_decode(&c, buf + off, step, &used, &body, &lim);
            off += used;
            if (rc != 0 || used == 0)
                break;
        }
        bx_buf_free(&body);
    }
    be_http_req_free(&r);
    free(head);
    return 0;
}
