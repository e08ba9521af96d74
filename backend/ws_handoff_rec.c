/* SPDX-License-Identifier: BSD-2-Clause */
/* The hand-off record: encoder and a parser that bounds every length (see
 * ws_handoff_rec.h). */
#include "config.h"

#include <string.h>
#include <sys/un.h>
#include <netinet/in.h>

#include "backend/ws_handoff_rec.h"
#include "common/byteorder.h"

/* ---- writing ------------------------------------------------------------------------ */

void be_ho_put_u32(struct bx_buf *b, uint32_t v)
{
    uint8_t x[4];
    bx_put_be32(x, v);
    bx_buf_append(b, x, 4);
}

uint32_t be_ho_get_u32(const uint8_t *p)
{
    return bx_get_be32(p);
}

static void put_u8(struct bx_buf *b, uint8_t v)
{
    bx_buf_append(b, &v, 1);
}

static void put_u64(struct bx_buf *b, uint64_t v)
{
    be_ho_put_u32(b, (uint32_t)(v >> 32));
    be_ho_put_u32(b, (uint32_t)v);
}

static void put_bytes(struct bx_buf *b, const void *p, size_t n)
{
    be_ho_put_u32(b, (uint32_t)n);
    bx_buf_append(b, p, n);
}

static void put_b(struct bx_buf *b, struct be_ho_bytes x)
{
    put_bytes(b, x.p, x.n);
}

void be_ho_frame_begin(struct bx_buf *b, uint8_t type)
{
    be_ho_put_u32(b, 0);
    put_u8(b, type);
}

void be_ho_frame_end(struct bx_buf *b, size_t start)
{
    bx_put_be32((uint8_t *)b->data + start, (uint32_t)(b->len - start - 4));
}

void be_ho_rec_encode(struct bx_buf *b, const struct be_ho_rec *r)
{
    be_ho_put_u32(b, BE_HO_REC_VERSION);
    be_ho_put_u32(b, r->seq);
    put_b(b, r->module);
    put_b(b, r->vhost);
    put_b(b, r->path);
    put_bytes(b, &r->client, r->clientlen);
    put_b(b, r->client_str);
    put_u8(b, r->has_proto);
    put_b(b, r->proto);
    uint8_t pm[7] =
        {r->pmd,       r->server_wbits, r->client_wbits, r->server_no_context, r->client_no_context,
         r->mem_level, r->level};
    bx_buf_append(b, pm, sizeof pm);
    put_b(b, r->inf_window);
    put_b(b, r->def_window);
    put_u64(b, r->ping_seq);
    put_u8(b, r->ping_outstanding);
    be_ho_put_u32(b, r->missed_pongs);
    be_ho_put_u32(b, r->next_ping_in_ms);
    be_ho_put_u32(b, r->idle_in_ms);
    put_u8(b, r->msg_opcode);
    put_b(b, r->msg);
    put_b(b, r->input);
    put_b(b, r->output);
    be_ho_put_u32(b, r->nsubs);
    bx_buf_append(b, r->subs.p, r->subs.n);
    be_ho_put_u32(b, r->nseen);
    bx_buf_append(b, r->seen.p, r->seen.n);
    put_b(b, r->mstate);
}

/* ---- reading ------------------------------------------------------------------------ */

struct rd {
    const uint8_t *p, *end;
    const char *why; /* first failure */
};

static int fail(struct rd *d, const char *why)
{
    if (!d->why)
        d->why = why;
    d->p = d->end;
    return -1;
}

static uint32_t get_u32(struct rd *d)
{
    if (d->end - d->p < 4) {
        fail(d, "truncated record");
        return 0;
    }
    uint32_t v = be_ho_get_u32(d->p);
    d->p += 4;
    return v;
}

static uint8_t get_u8(struct rd *d)
{
    if (d->p >= d->end) {
        fail(d, "truncated record");
        return 0;
    }
    return *d->p++;
}

static struct be_ho_bytes get_bytes(struct rd *d, size_t max, const char *what)
{
    struct be_ho_bytes x = {NULL, 0};
    uint32_t n = get_u32(d);
    if (d->why)
        return x;
    if (n > max || (size_t)(d->end - d->p) < n) {
        fail(d, what);
        return x;
    }
    x.p = d->p;
    x.n = n;
    d->p += n;
    return x;
}

/* Printable ASCII or UTF-8 bytes without NUL and control characters. */
static int clean_text(struct be_ho_bytes x)
{
    for (size_t i = 0; i < x.n; i++)
        if (x.p[i] < 0x20 || x.p[i] == 0x7f)
            return 0;
    return 1;
}

static int client_ok(const struct be_ho_rec *r)
{
    sa_family_t fam = r->client.ss_family;
    if (fam == AF_INET)
        return r->clientlen == sizeof(struct sockaddr_in);
    if (fam == AF_INET6)
        return r->clientlen == sizeof(struct sockaddr_in6);
    if (fam == AF_UNIX || fam == AF_UNSPEC)
        return r->clientlen >= sizeof(sa_family_t) && r->clientlen <= sizeof(struct sockaddr_un);
    return 0;
}

static void get_client(struct rd *d, struct be_ho_rec *r)
{
    struct be_ho_bytes a = get_bytes(d, sizeof(r->client), "client address too long");
    memset(&r->client, 0, sizeof(r->client));
    memcpy(&r->client, a.p ? a.p : (const uint8_t *)"", a.n);
    r->clientlen = (socklen_t)a.n;
    if (!d->why && !client_ok(r))
        fail(d, "bad client address");
    r->client_str = get_bytes(d, BE_HO_CLIENT_STR_MAX, "client text too long");
    if (!d->why && (!r->client_str.n || !clean_text(r->client_str)))
        fail(d, "bad client text");
}

static int wbits_ok(uint8_t w)
{
    return w >= 8 && w <= 15;
}

static void get_pmd(struct rd *d, struct be_ho_rec *r)
{
    r->pmd = get_u8(d);
    r->server_wbits = get_u8(d);
    r->client_wbits = get_u8(d);
    r->server_no_context = get_u8(d);
    r->client_no_context = get_u8(d);
    r->mem_level = get_u8(d);
    r->level = get_u8(d);
    r->inf_window = get_bytes(d, BE_HO_WINDOW_MAX, "inflate window too big");
    r->def_window = get_bytes(d, BE_HO_WINDOW_MAX, "deflate window too big");
    if (d->why)
        return;
    if (r->pmd > 1 || r->server_no_context > 1 || r->client_no_context > 1)
        fail(d, "bad flag");
    else if (!r->pmd &&
             (r->server_wbits || r->client_wbits || r->server_no_context || r->client_no_context ||
              r->mem_level || r->level || r->inf_window.n || r->def_window.n))
        fail(d, "permessage-deflate state without permessage-deflate");
    else if (r->pmd && (!wbits_ok(r->server_wbits) || !wbits_ok(r->client_wbits) ||
                        r->mem_level < 1 || r->mem_level > 9 || r->level > 9))
        fail(d, "bad permessage-deflate parameters");
    else if (r->pmd &&
             (r->inf_window.n > ((size_t)1 << r->client_wbits) ||
              r->def_window.n > ((size_t)1 << (r->server_wbits < 9 ? 9 : r->server_wbits))))
        fail(d, "window bigger than its stream's");
}

/* Subscriptions: each a channel name of 1..BE_HO_CHAN_MAX bytes without NUL. */
static void get_subs(struct rd *d, struct be_ho_rec *r)
{
    r->nsubs = get_u32(d);
    if (!d->why && r->nsubs > BE_HO_SUBS_MAX)
        fail(d, "too many subscriptions");
    r->subs.p = d->p;
    for (uint32_t i = 0; i < r->nsubs && !d->why; i++) {
        struct be_ho_bytes c = get_bytes(d, BE_HO_CHAN_MAX, "channel name too long");
        if (!d->why && (!c.n || memchr(c.p, 0, c.n)))
            fail(d, "bad channel name");
    }
    r->subs.n = (size_t)(d->p - r->subs.p);
}

struct be_ho_bytes be_ho_rec_sub(const struct be_ho_rec *r, uint32_t i)
{
    const uint8_t *p = r->subs.p;
    for (;; i--) {
        uint32_t n = be_ho_get_u32(p);
        if (!i)
            return (struct be_ho_bytes){p + 4, n};
        p += 4 + n;
    }
}

static void get_names(struct rd *d, struct be_ho_rec *r)
{
    r->module = get_bytes(d, BE_HO_NAME_MAX, "module name too long");
    r->vhost = get_bytes(d, BE_HO_NAME_MAX, "vhost too long");
    r->path = get_bytes(d, BE_HO_NAME_MAX, "path too long");
    if (!d->why && (!r->module.n || !r->path.n || !clean_text(r->module) || !clean_text(r->vhost) ||
                    !clean_text(r->path)))
        fail(d, "bad mount name");
}

int be_ho_rec_parse(const uint8_t *p, size_t n, struct be_ho_rec *r, const char **why)
{
    struct rd d = {p, p + n, NULL};
    memset(r, 0, sizeof(*r));
    if (get_u32(&d) != BE_HO_REC_VERSION && !d.why)
        fail(&d, "unknown record version");
    r->seq = get_u32(&d);
    get_names(&d, r);
    get_client(&d, r);
    r->has_proto = get_u8(&d);
    r->proto = get_bytes(&d, BE_HO_PROTO_MAX, "subprotocol too long");
    if (!d.why && (r->has_proto > 1 || (r->has_proto && !r->proto.n) || !clean_text(r->proto)))
        fail(&d, "bad subprotocol");
    get_pmd(&d, r);
    r->ping_seq = (uint64_t)get_u32(&d) << 32;
    r->ping_seq |= get_u32(&d);
    r->ping_outstanding = get_u8(&d);
    r->missed_pongs = get_u32(&d);
    r->next_ping_in_ms = get_u32(&d);
    r->idle_in_ms = get_u32(&d);
    if (!d.why && (r->ping_outstanding > 1 || r->missed_pongs > 1000))
        fail(&d, "bad heartbeat state");
    r->msg_opcode = get_u8(&d);
    r->msg = get_bytes(&d, BE_HO_MSG_MAX, "partial message too big");
    if (!d.why && (r->msg_opcode > 2 || (!r->msg_opcode && r->msg.n)))
        fail(&d, "bad partial message");
    r->input = get_bytes(&d, BE_HO_IN_MAX, "too much unread input");
    r->output = get_bytes(&d, BE_HO_OUT_MAX, "too much unsent output");
    get_subs(&d, r);
    r->nseen = get_u32(&d);
    if (!d.why &&
        (r->nseen > BE_HO_ORIGINS_MAX || (size_t)(d.end - d.p) < r->nseen * BE_HO_SEEN_SIZE))
        fail(&d, "bad origin vector");
    if (!d.why) {
        r->seen = (struct be_ho_bytes){d.p, r->nseen * BE_HO_SEEN_SIZE};
        d.p += r->seen.n;
    }
    r->mstate = get_bytes(&d, BE_HO_STATE_MAX, "module state too big");
    if (!d.why && d.p != d.end)
        fail(&d, "bytes after the record");
    *why = d.why;
    return d.why ? -1 : 0;
}
