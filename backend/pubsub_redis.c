/* SPDX-License-Identifier: BSD-2-Clause */
/* Pub/sub across hosts through Redis; see pubsub_redis.h.
 *
 * A message in Redis is PUBLISH <prefix><channel> <payload>, the payload
 * being 'D', the WebSocket opcode, the publishing worker's 8-byte origin id,
 * its 8-byte sequence number (big-endian), then the data ('B' without the
 * sequence number, from older versions, is still taken: never skipped). What comes from Redis is trusted with nothing a client would
 * see: the channel must carry our prefix, the header must be well formed,
 * text must be UTF-8; anything else is refused, counted, logged once a second.
 *
 * Exactly once: the publishing worker delivers to its own subscribers at
 * once (even while Redis is down) and skips its own origin when Redis echoes
 * the message back; the datagrams between workers are not used at all with
 * Redis on, so no message takes two paths. Written but unacknowledged
 * PUBLISHes when a link breaks are not resent (Redis may have delivered
 * them): they are counted and logged as "in doubt", never duplicated.
 *
 * Sessions moving between workers (ws_handoff.c, pubsub_replay.h): a new
 * worker that may get sessions subscribes, for its history window, to every
 * channel of our prefix (PSUBSCRIBE), and says hello to the old workers only
 * once Redis has confirmed it. An old worker, before its next snapshot after
 * a hello, sends PING on its subscribe link and reads up to the PONG: Redis
 * answers in order, so every message it processed before the new worker's
 * PSUBSCRIBE reached the old worker (and is in the session's seen vector),
 * and every later one reaches the new worker (its history, or later). A
 * message that arrives both by channel and by pattern is taken once: per
 * origin, sequence numbers only grow on one connection (be_psx_dup). */
#include "config.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "backend/pubsub.h"
#include "backend/pubsub_redis.h"
#include "backend/pubsub_replay.h"
#include "backend/redis_link.h"
#include "backend/worker.h"
#include "backend/ws_handoff.h"
#include "backend/ws_utf8.h"
#include "bactrian/module.h"
#include "common/byteorder.h"
#include "common/log.h"
#include "common/sandbox.h"

#define HDR_OLD 10 /* 'B', opcode, origin */
#define HDR_LEN 18 /* 'D', opcode, origin, sequence */
#define HEALTH_MS 500
#define BARRIER_MS 1000
/* A worker whose retry was due just before Redis came back connects within
 * one retry step and subscribes within a round trip or two more. */
#define FLUSH_MARGIN_MS 250

static const struct bx_pubsub_conf *conf;
static size_t prefix_len;
static struct be_rl pub, sub;
static struct bx_buf lens;            /* u32 length of each command in pub.out */
static uint8_t origin[8];
static struct bx_ev_timer health, hold_timer, pattern_timer;
/* New worker: the all-channels pattern is asked for / confirmed. */
static bool pattern_asked, pattern_on;
/* Old worker: a newer one said hello since the last barrier; PONGs read. */
static bool barrier_due;
static uint64_t pongs, pongs_wanted;
/* This outage (reset when the held publishes go out) and all time. */
static uint64_t held, dropped, held_total, dropped_total, in_doubt, refused;
static uint64_t held_logged_at, refused_logged_at;

/* ---- the shared table for the status module ---------------------------------------------- */

struct row {
    pid_t pid; /* the slot's worker that wrote it (a slot is reused) */
    int on;    /* it uses Redis */
    struct bm_redis_stats s;
};
static struct row *rows;
static size_t nrows;

void be_psr_stats_init(size_t slots)
{
    if (rows)
        return;
    void *p = mmap(NULL, slots * sizeof *rows, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                   -1, 0);
    if (p == MAP_FAILED)
        return; /* no Redis state in the status JSON, nothing else lost */
    rows = p;
    nrows = slots;
}

static struct row *own_row(void)
{
    size_t n;
    struct bm_worker_stats *t = be_stats_table(&n);
    if (!rows || !be_worker || !be_worker->stats || !t)
        return NULL;
    size_t i = (size_t)(be_worker->stats - t);
    return i < nrows && i < n ? &rows[i] : NULL;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* On every change of a link and every HEALTH_MS: another worker's status
 * page reads it (a torn read of a counter is harmless). */
static void publish_stats(void)
{
    struct row *r = own_row();
    if (!r)
        return;
    int up = pub.st == BE_RL_READY && sub.st == BE_RL_READY;
    if (!r->on || r->pid != getpid() || r->s.up != up)
        r->s.since_ms = wall_ms();
    r->s.up = up;
    r->s.held = held;
    r->s.held_total = held_total;
    r->s.dropped = dropped_total;
    r->s.in_doubt = in_doubt;
    r->s.refused = refused;
    r->pid = getpid();
    r->on = 1;
}

bool bm_worker_redis_stats(int index, struct bm_redis_stats *out, size_t outlen)
{
    size_t n;
    const struct bm_worker_stats *t = be_stats_table(&n);
    if (!rows || !t || index < 0 || (size_t)index >= nrows || (size_t)index >= n ||
        !rows[index].on || rows[index].pid != t[index].pid)
        return false;
    struct bm_redis_stats c = rows[index].s;
    memcpy(out, &c, outlen < sizeof c ? outlen : sizeof c);
    return true;
}

bool be_psr_enabled(void)
{
    return conf != NULL;
}

uint64_t be_psr_origin(void)
{
    uint64_t v = bx_get_be64(origin);
    return v ? v : 1; /* 0 means "no origin" */
}

/* ---- publishing -------------------------------------------------------------------------- */

static size_t queued_commands(void)
{
    return bx_buf_unread(&lens) / 4;
}

static uint32_t head_len(void)
{
    uint32_t n;
    memcpy(&n, bx_buf_rpos(&lens), 4);
    return n;
}

/* Once a second at most, and at once when the first publish is dropped. */
static void log_held(void)
{
    uint64_t now = bx_ev_now(be_worker->ev);
    if (held_logged_at && now - held_logged_at < 1000 && dropped != 1)
        return;
    held_logged_at = now;
    bx_log_warn("pubsub: Redis %s unreachable: %llu publishes held (%zu bytes, outage_buffer "
                "%lld), %llu dropped; this worker's own subscribers got them",
                conf->redis, (unsigned long long)held, bx_buf_unread(&pub.out),
                (long long)conf->outage_buffer, (unsigned long long)dropped);
}

int be_psr_publish(const char *channel, int opcode, uint64_t seq, const void *data, size_t len)
{
    size_t nl = strlen(channel), before = bx_buf_unread(&pub.out);
    bool waiting = pub.st != BE_RL_READY || pub.hold;
    if (before + len + nl + prefix_len + HDR_LEN + 64 > (uint64_t)conf->outage_buffer) {
        dropped++;
        dropped_total++;
        be_ps_count_lost(channel);
        log_held();
        return -1;
    }
    uint8_t hdr[HDR_LEN] = {'D', (uint8_t)opcode};
    memcpy(hdr + 2, origin, sizeof origin);
    bx_put_be64(hdr + 10, seq);
    be_resp_array(&pub.out, 3);
    be_resp_bulk(&pub.out, "PUBLISH", 7, "", 0);
    be_resp_bulk(&pub.out, conf->channel_prefix, prefix_len, channel, nl);
    be_resp_bulk(&pub.out, hdr, HDR_LEN, data, len);
    uint32_t cl = (uint32_t)(bx_buf_unread(&pub.out) - before);
    bx_buf_append(&lens, &cl, 4);
    if (waiting) {
        held++;
        held_total++;
        log_held();
    }
    be_rl_sent(&pub, 1);
    return 0;
}

static void release_held(void)
{
    pub.hold = false;
    pub.due = queued_commands();
    pub.progress_at = bx_ev_now(be_worker->ev);
    if (held || dropped)
        bx_log_notice("pubsub: Redis %s back: %llu publishes held during the outage sent, "
                      "%llu dropped (outage_buffer full)",
                      conf->redis, (unsigned long long)held, (unsigned long long)dropped);
    held = dropped = 0;
    held_logged_at = 0;
    be_rl_flush(&pub);
    publish_stats();
}

static void on_hold_timer(struct bx_ev *ev, struct bx_ev_timer *t)
{
    (void)ev;
    (void)t;
    if (pub.st == BE_RL_READY)
        release_held();
}

/* The publishes held while Redis was away wait until every other worker,
 * here and on other hosts, must have subscribed again: at least
 * outage_flush_delay, and longer after an outage that outlasted the fast
 * retries (redis_link.h). The others lost Redis when we did and retry on the
 * same schedule: after back-off time E, the step one of them may be in is at
 * most 2E + redis_retry_min (each jittered wait is at least half its step),
 * and at most redis_retry_max; then a connect and a SUBSCRIBE (the margin). */
static uint64_t flush_delay(void)
{
    uint64_t min = (uint64_t)conf->redis_retry_min_ms, max = (uint64_t)conf->redis_retry_max_ms;
    uint64_t out = pub.outage_ms, step = min;
    if (out > BE_RL_FAST_RETRY_MS)
        step = 2 * (out - BE_RL_FAST_RETRY_MS) + min;
    step = (step > max ? max : step) + FLUSH_MARGIN_MS;
    return (uint64_t)conf->outage_flush_delay_ms > step ? (uint64_t)conf->outage_flush_delay_ms
                                                        : step;
}

static void pub_ready(struct be_rl *l)
{
    (void)l;
    publish_stats();
    if (queued_commands() && conf->outage_flush_delay_ms) {
        pub.hold = true;
        bx_ev_timer_start(be_worker->ev, &hold_timer, flush_delay());
        return;
    }
    release_held();
}

static unsigned pub_reply(struct be_rl *l, redisReply *r)
{
    (void)l;
    if (!queued_commands())
        return 1; /* nothing asked: ignored */
    uint32_t n = head_len();
    bx_buf_consume(&lens, 4);
    bx_buf_consume(&pub.out, n);
    pub.written = pub.written > n ? pub.written - n : 0;
    if (r->type == REDIS_REPLY_ERROR) {
        refused++;
        uint64_t now = bx_ev_now(be_worker->ev);
        if (!refused_logged_at || now - refused_logged_at >= 1000) {
            refused_logged_at = now;
            bx_log_warn("pubsub: Redis %s refused PUBLISH: %.150s (%llu refused so far)",
                        conf->redis, r->str, (unsigned long long)refused);
        }
    }
    return 1;
}

/* Whole commands already written are in doubt: dropped, not resent. */
static void pub_down(struct be_rl *l)
{
    (void)l;
    uint64_t doubt = 0;
    bx_ev_timer_stop(be_worker->ev, &hold_timer);
    pub.hold = false;
    while (queued_commands() && head_len() <= pub.written) {
        uint32_t n = head_len();
        bx_buf_consume(&lens, 4);
        bx_buf_consume(&pub.out, n);
        pub.written -= n;
        doubt++;
    }
    publish_stats();
    if (doubt) {
        in_doubt += doubt;
        bx_log_warn("pubsub: Redis %s: link lost with %llu publishes sent but not acknowledged; "
                    "not resent (Redis may have delivered them), %llu in doubt so far",
                    conf->redis, (unsigned long long)doubt, (unsigned long long)in_doubt);
    }
}

static const struct be_rl_ops pub_ops = {pub_ready, pub_reply, pub_down};

/* ---- subscribing ------------------------------------------------------------------------- */

static void sub_cmd(const char *cmd, const char *channel)
{
    be_resp_array(&sub.out, 2);
    be_resp_bulk(&sub.out, cmd, strlen(cmd), "", 0);
    be_resp_bulk(&sub.out, conf->channel_prefix, prefix_len, channel, strlen(channel));
}

static void restore_one(const char *channel, void *arg)
{
    sub_cmd("SUBSCRIBE", channel);
    (*(unsigned *)arg)++;
}

/* <prefix>* with the prefix's glob characters escaped. */
static void pattern_cmd(const char *cmd)
{
    char pat[2 * 64 + 2];
    size_t n = 0;
    for (const char *p = conf->channel_prefix; *p && n + 3 < sizeof pat; p++) {
        if (strchr("*?[]\\", *p))
            pat[n++] = '\\';
        pat[n++] = *p;
    }
    pat[n++] = '*';
    be_resp_array(&sub.out, 2);
    be_resp_bulk(&sub.out, cmd, strlen(cmd), "", 0);
    be_resp_bulk(&sub.out, pat, n, "", 0);
}

/* The history window is over: messages of channels nobody here wants stop. */
static void on_pattern_timer(struct bx_ev *ev, struct bx_ev_timer *t)
{
    (void)ev, (void)t;
    if (sub.st == BE_RL_READY && pattern_asked) {
        pattern_cmd("PUNSUBSCRIBE");
        be_rl_sent(&sub, 1);
    }
    pattern_asked = false;
}

/* A new worker that may get sessions: every channel, for its history. */
static unsigned ask_pattern(void)
{
    uint64_t until = be_psx_keep_until(), now = bm_now_ms();
    if (until <= now)
        return 0;
    pattern_cmd("PSUBSCRIBE");
    pattern_asked = true;
    pattern_on = false;
    bx_ev_timer_start(be_worker->ev, &pattern_timer, until - now);
    return 1;
}

static void sub_ready(struct be_rl *l)
{
    unsigned n = 0;
    be_ps_each_subscribed(restore_one, &n);
    l->due += n + ask_pattern();
    l->progress_at = bx_ev_now(be_worker->ev);
    publish_stats();
    if (n)
        bx_log_info("pubsub: Redis %s: subscribed to %u channels", conf->redis, n);
}

static void sub_down(struct be_rl *l)
{
    (void)l;
    publish_stats();
}

void be_psr_subscribe(const char *channel)
{
    if (!conf || sub.st != BE_RL_READY)
        return; /* restored when the link is ready */
    sub_cmd("SUBSCRIBE", channel);
    be_rl_sent(&sub, 1);
}

void be_psr_unsubscribe(const char *channel)
{
    if (!conf || sub.st != BE_RL_READY)
        return;
    sub_cmd("UNSUBSCRIBE", channel);
    be_rl_sent(&sub, 1);
}

static void note_refused(const char *why)
{
    refused++;
    uint64_t now = bx_ev_now(be_worker->ev);
    if (refused_logged_at && now - refused_logged_at < 1000)
        return;
    refused_logged_at = now;
    bx_log_warn("pubsub: message from Redis %s refused: %s (%llu refused so far)", conf->redis, why,
                (unsigned long long)refused);
}

static const char *take_message(const redisReply *ch, const redisReply *pl)
{
    if (ch->type != REDIS_REPLY_STRING || pl->type != REDIS_REPLY_STRING)
        return "not a string";
    size_t nl = ch->len - prefix_len;
    if (ch->len <= prefix_len || memcmp(ch->str, conf->channel_prefix, prefix_len) ||
        nl > BE_PS_NAME_MAX || memchr(ch->str + prefix_len, 0, nl))
        return "channel without our prefix, or too long";
    const uint8_t *p = (const uint8_t *)pl->str;
    size_t hl = pl->len && p[0] == 'D' ? HDR_LEN : HDR_OLD;
    if (pl->len < hl || (p[0] != 'D' && p[0] != 'B') ||
        (p[1] != BM_WS_TEXT && p[1] != BM_WS_BINARY) || pl->len - hl > BM_PUBLISH_MAX)
        return "malformed message";
    if (!memcmp(p + 2, origin, sizeof origin))
        return NULL; /* our own: its local subscribers had it already */
    uint64_t from = hl == HDR_LEN ? bx_get_be64(p + 2) : 0,
             seq = hl == HDR_LEN ? bx_get_be64(p + 10) : 0;
    if (from && be_psx_dup(from, seq))
        return NULL; /* by channel and by pattern: taken the first time */
    if (p[1] == BM_WS_TEXT && !be_utf8_valid(p + hl, pl->len - hl))
        return "text that is not UTF-8";
    char name[BE_PS_NAME_MAX + 1];
    memcpy(name, ch->str + prefix_len, nl);
    name[nl] = 0;
    if (from)
        be_psx_note(from, seq, name, p[1], p + hl, pl->len - hl);
    be_ps_deliver_remote(name, p[1], p + hl, pl->len - hl, from, seq);
    return NULL;
}

static unsigned sub_reply(struct be_rl *l, redisReply *r)
{
    if (r->type == REDIS_REPLY_ERROR) {
        char why[200];
        snprintf(why, sizeof why, "Redis error: %.150s", r->str);
        be_rl_fail(l, why);
        return 1;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
        r->element[0]->type != REDIS_REPLY_STRING)
        return 1;
    const char *kind = r->element[0]->str;
    const char *why = NULL;
    if (!strcasecmp(kind, "message") && r->elements == 3)
        why = take_message(r->element[1], r->element[2]);
    else if (!strcasecmp(kind, "pmessage") && r->elements == 4)
        why = take_message(r->element[2], r->element[3]);
    else {
        /* the confirmation of a (P)SUBSCRIBE, (P)UNSUBSCRIBE or PING */
        if (!strcasecmp(kind, "psubscribe") && pattern_asked && !pattern_on) {
            pattern_on = true;
            be_ho_greet(); /* the old workers may hand us sessions now */
        }
        pongs += !strcasecmp(kind, "pong");
        return 1;
    }
    if (why)
        note_refused(why);
    return 0;
}

/* ---- the hand-off's barrier (see the top) ------------------------------------------------ */

void be_psr_peer_ready(void)
{
    barrier_due = true;
}

static bool pong_read(void)
{
    return pongs >= pongs_wanted;
}

void be_psr_poll(void)
{
    if (!conf || !barrier_due)
        return;
    barrier_due = false;
    if (sub.st != BE_RL_READY)
        return; /* nothing reaches us meanwhile: nothing to read first */
    be_resp_array(&sub.out, 1);
    be_resp_bulk(&sub.out, "PING", 4, "", 0);
    pongs_wanted = pongs + 1;
    be_rl_sent(&sub, 1);
    if (!be_rl_wait(&sub, pong_read, BARRIER_MS))
        bx_log_warn("pubsub: Redis %s: no PONG within %d ms before a hand-off; a moving "
                    "session may miss messages in flight",
                    conf->redis, BARRIER_MS);
}

static const struct be_rl_ops sub_ops = {sub_ready, sub_reply, sub_down};

/* ---- set-up ------------------------------------------------------------------------------ */

static void on_health(struct bx_ev *ev, struct bx_ev_timer *t)
{
    be_rl_check(&pub, bx_ev_now(ev));
    be_rl_check(&sub, bx_ev_now(ev));
    publish_stats();
    bx_ev_timer_start(ev, t, HEALTH_MS);
}

void be_psr_init(const struct bx_pubsub_conf *c)
{
    if (!c->redis || conf)
        return;
    if (bx_sandbox_allow_connect(c->redis_port) == -1) {
        bx_log_error("pubsub: Redis port %d refused by the sandbox", c->redis_port);
        return;
    }
    conf = c;
    prefix_len = strlen(c->channel_prefix);
    if (getrandom(origin, sizeof origin, 0) != (ssize_t)sizeof origin) {
        uint64_t v = (uint64_t)getpid() << 32 ^ bx_ev_now(be_worker->ev);
        memcpy(origin, &v, sizeof origin);
    }
    unsigned seed;
    memcpy(&seed, origin, sizeof seed);
    srand(seed);
    bx_buf_init(&lens);
    bx_ev_timer_init(&hold_timer, on_hold_timer, NULL);
    bx_ev_timer_init(&pattern_timer, on_pattern_timer, NULL);
    be_rl_start(&pub, "publish", c, &pub_ops, true);
    be_rl_start(&sub, "subscribe", c, &sub_ops, false);
    bx_ev_timer_init(&health, on_health, NULL);
    bx_ev_timer_start(be_worker->ev, &health, HEALTH_MS);
    publish_stats();
}
