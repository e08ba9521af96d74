/* SPDX-License-Identifier: BSD-2-Clause */
/* Exactly-once pub/sub for sessions that move between workers (see
 * pubsub_replay.h). The history is a ring of the last HIST_MAX publishes
 * (HIST_BYTES of payload at most), kept only during a new worker's first
 * keep_ms: the time old workers may still hand sessions over. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "backend/pubsub_replay.h"
#include "backend/ws_session.h"
#include "common/byteorder.h"
#include "common/log.h"
#include "common/xalloc.h"

#define HIST_MAX 4096
#define HIST_BYTES (8u << 20)

struct be_psx_floor {
    uint64_t pid; /* the origin id (pubsub_replay.h) */
    uint64_t seq;
};

struct hist {
    uint64_t pid;
    uint64_t seq;
    int opcode;
    char *channel;
    uint8_t *data;
    size_t len;
};

static struct be_psx_floor seen[BE_PSX_ORIGINS_MAX];
static uint64_t seen_at[BE_PSX_ORIGINS_MAX]; /* when each origin was last heard from (tick) */
static uint64_t tick;
static uint32_t nseen;
static struct hist ring[HIST_MAX];
static size_t head, count, bytes;
static uint64_t keep_until;
static bool evicted; /* the history lost entries while it was kept */

void be_psx_init(uint64_t keep_ms)
{
    keep_until = keep_ms ? bm_now_ms() + keep_ms : 0;
}

uint64_t be_psx_keep_until(void)
{
    return keep_until;
}

/* A full table forgets the origin heard from longest ago (a worker of a
 * generation long gone): an origin still publishing is never forgotten. */
static void note_seen(uint64_t pid, uint64_t seq)
{
    uint32_t old = 0;
    for (uint32_t i = 0; i < nseen; i++) {
        if (seen[i].pid == pid) {
            seen[i].seq = seq;
            seen_at[i] = ++tick;
            return;
        }
        if (seen_at[i] < seen_at[old])
            old = i;
    }
    uint32_t i = nseen < BE_PSX_ORIGINS_MAX ? nseen++ : old;
    seen[i] = (struct be_psx_floor){pid, seq};
    seen_at[i] = ++tick;
}

bool be_psx_dup(uint64_t origin, uint64_t seq)
{
    for (uint32_t i = 0; i < nseen; i++)
        if (seen[i].pid == origin)
            return seq <= seen[i].seq;
    return false;
}

static void drop_oldest(void)
{
    struct hist *h = &ring[(head + HIST_MAX - count) % HIST_MAX];
    bytes -= h->len;
    free(h->channel);
    free(h->data);
    count--;
}

static void history_clear(void)
{
    while (count)
        drop_oldest();
}

void be_psx_note(uint64_t origin, uint64_t seq, const char *channel, int opcode, const void *data,
                 size_t len)
{
    note_seen(origin, seq);
    if (!keep_until)
        return;
    if (bm_now_ms() > keep_until) {
        history_clear();
        keep_until = 0;
        return;
    }
    while (count && (count == HIST_MAX || bytes + len > HIST_BYTES)) {
        drop_oldest();
        evicted = true;
    }
    struct hist *h = &ring[head];
    *h = (struct hist){origin, seq, opcode, bx_xstrdup(channel), bx_xmalloc(len + 1), len};
    memcpy(h->data, data, len);
    head = (head + 1) % HIST_MAX;
    count++;
    bytes += len;
}

static uint64_t floor_of(const struct be_psx_floor *f, uint32_t n, uint64_t pid)
{
    for (uint32_t i = 0; i < n; i++)
        if (f[i].pid == pid)
            return f[i].seq;
    return 0;
}

bool be_psx_skip(const struct bm_ws *ws, uint64_t origin, uint64_t seq)
{
    if (!origin)
        return false; /* no origin sequence (an older peer through Redis): never skipped */
    for (uint32_t i = 0; i < ws->ps_nfloor; i++)
        if (ws->ps_floor[i].pid == origin)
            return seq <= ws->ps_floor[i].seq;
    return false;
}

uint32_t be_psx_seen_encode(struct bx_buf *b)
{
    for (uint32_t i = 0; i < nseen; i++) {
        uint8_t x[16];
        bx_put_be64(x, seen[i].pid);
        bx_put_be64(x + 8, seen[i].seq);
        bx_buf_append(b, x, sizeof x);
    }
    return nseen;
}

void be_psx_restore(struct bm_ws *ws, const uint8_t *pairs, uint32_t n)
{
    if (n > BE_PSX_ORIGINS_MAX)
        n = BE_PSX_ORIGINS_MAX;
    ws->ps_floor = bx_xcalloc(n + 1, sizeof *ws->ps_floor);
    for (uint32_t i = 0; i < n; i++, pairs += 16)
        ws->ps_floor[i] = (struct be_psx_floor){bx_get_be64(pairs), bx_get_be64(pairs + 8)};
    ws->ps_nfloor = n;
    if (evicted)
        bx_log_warn("pubsub: history cut short: a moved session may miss messages");
    for (size_t k = count; k > 0; k--) {
        const struct hist *h = &ring[(head + HIST_MAX - k) % HIST_MAX];
        if (h->seq > floor_of(ws->ps_floor, n, h->pid) && be_ps_subscribed(ws, h->channel))
            bm_ws_send(ws, h->opcode, h->data, h->len);
    }
}

void be_psx_forget(struct bm_ws *ws)
{
    free(ws->ps_floor);
    ws->ps_floor = NULL;
    ws->ps_nfloor = 0;
}
