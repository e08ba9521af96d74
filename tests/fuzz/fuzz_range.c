/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target: a Range header value for a file of fuzzed size through
 * be_range_parse (backend/modules/range.c). Oracle: a result in [-1, BE_RANGE_MAX];
 * ranges inside the file, ascending, never overlapping or touching (so their sum
 * is at most the size); and rendering the ranges back as a header parses to the
 * same ranges. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/modules/range.h"

static void check(const struct be_range *r, int n, off_t size)
{
    if (n < -1 || n > BE_RANGE_MAX)
        __builtin_trap();
    off_t sum = 0;
    for (int i = 0; i < n; i++) {
        if (r[i].first < 0 || r[i].first > r[i].last || r[i].last >= size)
            __builtin_trap();
        if (i && r[i].first <= r[i - 1].last + 1)
            __builtin_trap(); /* not sorted, overlapping or adjacent */
        sum += r[i].last - r[i].first + 1;
    }
    if (sum > size)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    /* The first byte picks a file size: small ones, or huge ones near the top. */
    off_t fsize = data[0] < 200 ? (off_t)data[0] : (off_t)(INT64_MAX >> (data[0] - 200));
    char *h = malloc(size);
    memcpy(h, data + 1, size - 1);
    h[size - 1] = 0;
    struct be_range r[BE_RANGE_MAX];
    int n = be_range_parse(h, fsize, r);
    check(r, n, fsize);
    free(h);
    if (n <= 0)
        return 0;
    char again[BE_RANGE_MAX * 44 + 8] = "bytes=";
    size_t o = 6;
    for (int i = 0; i < n; i++) {
        int k = snprintf(again + o, sizeof again - o, "%s%lld-%lld", i ? "," : "",
                         (long long)r[i].first, (long long)r[i].last);
        if (k < 0 || (size_t)k >= sizeof again - o)
            __builtin_trap();
        o += (size_t)k;
    }
    struct be_range r2[BE_RANGE_MAX];
    if (be_range_parse(again, fsize, r2) != n || memcmp(r, r2, (size_t)n * sizeof *r) != 0)
        __builtin_trap();
    return 0;
}
