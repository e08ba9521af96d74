/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target: permessage-deflate. The input is an extension offer (up
 * to the first NUL) and then bytes. Oracle:
 * - negotiation: the answer fits the given buffer (also tiny ones), is NUL
 *   terminated, starts with "permessage-deflate" and agrees on windows 8..15;
 *   the answer offered back to the same policy is accepted with the same result;
 * - inflate: the rest as a compressed message, fed in slices with a cap: never
 *   more than cap bytes come out, whatever follows the final block;
 * - round trip: the rest compressed with the agreed parameters inflates back. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend/ws_deflate.h"

struct out {
    uint8_t *p;
    size_t n, cap;
};

static int sink(void *ctx, const uint8_t *p, size_t n)
{
    struct out *o = ctx;
    if (o->n + n > o->cap)
        return -1;
    memcpy(o->p + o->n, p, n);
    o->n += n;
    return 0;
}

static void negotiate(const char *offer, size_t len, const char *preset, size_t resplen,
                      struct be_ws_pmd_params *par, int *ok)
{
    struct be_ws_pmd_policy pol;
    be_ws_pmd_preset(preset, &pol);
    char resp[256];
    memset(resp, 'X', sizeof resp);
    *ok = be_ws_pmd_negotiate(offer, len, &pol, par, resp, resplen);
    if (!*ok)
        return;
    if (memchr(resp, 0, resplen) == NULL || strncmp(resp, "permessage-deflate", 18) != 0)
        __builtin_trap();
    if (par->server_wbits < 8 || par->server_wbits > 15 || par->client_wbits < 8 ||
        par->client_wbits > 15)
        __builtin_trap();
    struct be_ws_pmd_params again;
    char resp2[256];
    if (!be_ws_pmd_negotiate(resp, strlen(resp), &pol, &again, resp2, sizeof resp2) ||
        again.server_wbits != par->server_wbits ||
        again.server_no_context != par->server_no_context ||
        again.client_no_context != par->client_no_context)
        __builtin_trap();
}

static void inflate_capped(const uint8_t *p, size_t n, int wbits, uint64_t cap, size_t step)
{
    struct be_ws_inflater f;
    be_ws_inflater_init(&f, wbits, 0);
    struct out o = {malloc(cap + 1), 0, cap + 1};
    int rc = BE_WS_INFLATE_OK;
    for (size_t off = 0; off < n && rc == BE_WS_INFLATE_OK; off += step) {
        size_t k = n - off < step ? n - off : step;
        rc = be_ws_inflate(&f, p + off, k, off + k == n, cap, sink, &o);
    }
    if (o.n > cap || rc == BE_WS_INFLATE_SINK)
        __builtin_trap();
    be_ws_inflater_free(&f);
    free(o.p);
}

static void round_trip(const uint8_t *p, size_t n, const struct be_ws_pmd_params *par)
{
    struct be_ws_deflater d;
    if (be_ws_deflater_init(&d, par->server_wbits, par->mem_level ? par->mem_level : 8,
                            par->level ? par->level : 6, par->server_no_context) != 0)
        __builtin_trap();
    struct out z = {malloc(n + n / 8 + 64), 0, n + n / 8 + 64};
    if (be_ws_deflate(&d, p, n, 1, sink, &z) != 0)
        __builtin_trap();
    struct be_ws_inflater f;
    be_ws_inflater_init(&f, par->server_wbits, 0);
    struct out o = {malloc(n + 1), 0, n + 1};
    if (be_ws_inflate(&f, z.p, z.n, 1, n + 1, sink, &o) != BE_WS_INFLATE_OK || o.n != n ||
        (n && memcmp(o.p, p, n) != 0))
        __builtin_trap();
    be_ws_inflater_free(&f);
    be_ws_deflater_free(&d);
    free(z.p);
    free(o.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    static const char *const presets[] = {"max", "balanced", "low"};
    uint8_t flags = data[0];
    data++, size--;
    const uint8_t *nul = memchr(data, 0, size);
    size_t olen = nul ? (size_t)(nul - data) : size;
    char *offer = malloc(olen + 1);
    memcpy(offer, data, olen);
    offer[olen] = 0;
    size_t resplen = flags & 1 ? 256 : (size_t)(flags >> 1) + 1; /* tiny buffers too */
    struct be_ws_pmd_params par;
    int ok;
    negotiate(offer, olen, presets[(flags >> 1) % 3], resplen, &par, &ok);
    free(offer);
    const uint8_t *rest = nul ? nul + 1 : data + size;
    size_t rlen = (size_t)(data + size - rest);
    inflate_capped(rest, rlen, ok ? par.client_wbits : 15, 1u << ((flags >> 4) + 4),
                   (size_t)(flags >> 3) + 1);
    if (ok)
        round_trip(rest, rlen, &par);
    return 0;
}
