/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target: PROXY v1/v2 headers from an untrusted load balancer. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bx_proxy_info info;
    char err[256];
    /* Every prefix must give "need more", "none", "invalid" or a length within it. */
    for (size_t n = size > 64 ? size - 64 : 0; n <= size; n++) {
        ssize_t r = bx_proxy_parse(data, n, &info, err, sizeof err);
        if (r > (ssize_t)n)
            __builtin_trap();
    }
    ssize_t r = bx_proxy_parse(data, size, &info, err, sizeof err);
    if (r > 0) {
        /* What we parsed must encode again and parse to the same addresses. */
        unsigned char out[BX_PROXY_V2_MAX_OUT];
        struct bx_proxy_info again;
        size_t n = bx_proxy_encode_v2(out, sizeof out, &info);
        if (n == 0 || bx_proxy_parse(out, n, &again, err, sizeof err) != (ssize_t)n)
            __builtin_trap();
        if (!info.local && memcmp(&info.src, &again.src, sizeof info.src) != 0)
            __builtin_trap();
    }
    return 0;
}
