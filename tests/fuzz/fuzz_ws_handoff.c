/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target: the hand-off record parser (backend/ws_handoff_rec.c),
 * which reads what another worker (possibly a compromised one) sent. Every
 * field it returns must lie inside the input and within its bound; a record
 * that parses, encoded again, gives the same bytes (so nothing was skipped
 * or invented), and every prefix of it fails. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend/ws_handoff_rec.h"

static void inside(struct be_ho_bytes b, const uint8_t *p, size_t n, size_t max)
{
    if (b.n > max || (b.n && (b.p < p || b.p + b.n > p + n)))
        abort();
}

static void check(const struct be_ho_rec *r, const uint8_t *p, size_t n)
{
    inside(r->module, p, n, BE_HO_NAME_MAX);
    inside(r->vhost, p, n, BE_HO_NAME_MAX);
    inside(r->path, p, n, BE_HO_NAME_MAX);
    inside(r->client_str, p, n, BE_HO_CLIENT_STR_MAX);
    inside(r->proto, p, n, BE_HO_PROTO_MAX);
    inside(r->inf_window, p, n, BE_HO_WINDOW_MAX);
    inside(r->def_window, p, n, BE_HO_WINDOW_MAX);
    inside(r->msg, p, n, BE_HO_MSG_MAX);
    if (r->msg_opcode > 2 || (!r->msg_opcode && r->msg.n))
        abort();
    inside(r->input, p, n, BE_HO_IN_MAX);
    inside(r->output, p, n, BE_HO_OUT_MAX);
    inside(r->mstate, p, n, BE_HO_STATE_MAX);
    inside(r->seen, p, n, BE_HO_ORIGINS_MAX * BE_HO_SEEN_SIZE);
    if (r->seen.n != r->nseen * BE_HO_SEEN_SIZE)
        abort();
    if (r->nsubs > BE_HO_SUBS_MAX || r->clientlen > sizeof(r->client))
        abort();
    for (uint32_t i = 0; i < r->nsubs; i++) {
        struct be_ho_bytes c = be_ho_rec_sub(r, i);
        inside(c, p, n, BE_HO_CHAN_MAX);
        if (!c.n || memchr(c.p, 0, c.n))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct be_ho_rec r;
    const char *why = NULL;
    if (be_ho_rec_parse(data, size, &r, &why) < 0) {
        if (!why)
            abort();
        return 0;
    }
    check(&r, data, size);
    struct bx_buf b = BX_BUF_INIT;
    be_ho_rec_encode(&b, &r);
    if (bx_buf_unread(&b) != size || memcmp(bx_buf_rpos(&b), data, size) != 0)
        abort();
    bx_buf_free(&b);
    struct be_ho_rec r2;
    for (size_t cut = 0; cut < size; cut += 1 + cut / 8)
        if (be_ho_rec_parse(data, cut, &r2, &why) == 0)
            abort();
    return 0;
}
