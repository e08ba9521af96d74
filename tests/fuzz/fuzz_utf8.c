/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target: the incremental UTF-8 validator against a plain
 * reference written from the RFC 3629 table, fed whole and in slices. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "backend/ws_utf8.h"

/* Returns 1 for valid UTF-8 (RFC 3629 section 4 byte ranges). */
static int reference_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t need;
        uint8_t lo = 0x80, hi = 0xBF;
        if (c <= 0x7F) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF)
            need = 1;
        else if (c == 0xE0) {
            need = 2;
            lo = 0xA0;
        } else if (c >= 0xE1 && c <= 0xEC)
            need = 2;
        else if (c == 0xED) {
            need = 2;
            hi = 0x9F;
        } else if (c >= 0xEE && c <= 0xEF)
            need = 2;
        else if (c == 0xF0) {
            need = 3;
            lo = 0x90;
        } else if (c >= 0xF1 && c <= 0xF3)
            need = 3;
        else if (c == 0xF4) {
            need = 3;
            hi = 0x8F;
        } else
            return 0;
        if (n - i - 1 < need)
            return 0;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return 0;
        for (size_t k = 2; k <= need; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF)
                return 0;
        i += need + 1;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = data[0] % 7 + 1;
    const uint8_t *s = data + 1;
    size_t n = size - 1;
    int want = reference_valid(s, n);
    if ((be_utf8_valid(s, n) != 0) != (want != 0))
        __builtin_trap();
    struct be_utf8 u;
    be_utf8_init(&u);
    int failed = 0;
    for (size_t off = 0; off < n && !failed; off += step)
        failed = be_utf8_feed(&u, s + off, n - off < step ? n - off : step) != 0;
    int ok = !failed && be_utf8_complete(&u);
    if (ok != want)
        __builtin_trap();
    return 0;
}
