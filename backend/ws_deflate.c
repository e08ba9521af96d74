/* SPDX-License-Identifier: BSD-2-Clause */
/* RFC 7692 permessage-deflate (see ws_deflate.h). */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend/ws_deflate.h"

/* ---- presets ---------------------------------------------------------- */

int be_ws_pmd_preset(const char *name, struct be_ws_pmd_policy *pol)
{
    memset(pol, 0, sizeof(*pol));
    pol->level = 6;
    if (!strcmp(name, "max")) {
        pol->server_max_wbits = 15;
        pol->client_max_wbits = 15;
        pol->mem_level = 8;
    } else if (!strcmp(name, "balanced")) {
        pol->server_max_wbits = 13;
        pol->client_max_wbits = 13;
        pol->mem_level = 6;
    } else if (!strcmp(name, "low")) {
        pol->server_max_wbits = 15;
        pol->client_max_wbits = 15;
        pol->mem_level = 8;
        pol->server_no_context = 1;
        pol->client_no_context = 1;
    } else {
        return -1;
    }
    return 0;
}

/* ---- offer parsing ---------------------------------------------------- */

struct cursor {
    const char *p, *end;
};

static int is_tchar(int c)
{
    if (c >= '0' && c <= '9')
        return 1;
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
        return 1;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static void skip_ws(struct cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

/* Reads a token into out (NUL-terminated, truncated tokens fail). */
static int read_token(struct cursor *c, char *out, size_t outlen)
{
    size_t n = 0;
    while (c->p < c->end && is_tchar((unsigned char)*c->p)) {
        if (n + 1 >= outlen)
            return -1;
        out[n++] = *c->p++;
    }
    out[n] = 0;
    return n ? 0 : -1;
}

/* A token or a quoted-string (RFC 7692 allows either for values). */
static int read_value(struct cursor *c, char *out, size_t outlen)
{
    if (c->p < c->end && *c->p == '"') {
        size_t n = 0;
        c->p++;
        while (c->p < c->end && *c->p != '"') {
            if (*c->p == '\\' && c->p + 1 < c->end)
                c->p++;
            if (n + 1 >= outlen)
                return -1;
            out[n++] = *c->p++;
        }
        if (c->p >= c->end)
            return -1;
        c->p++;
        out[n] = 0;
        return n ? 0 : -1;
    }
    return read_token(c, out, outlen);
}

/* "8".."15" exactly: RFC 7692 forbids leading zeros and other forms. */
static int parse_wbits(const char *v)
{
    if (!v)
        return -1;
    if (v[0] >= '8' && v[0] <= '9' && !v[1])
        return v[0] - '0';
    if (v[0] == '1' && v[1] >= '0' && v[1] <= '5' && !v[2])
        return 10 + v[1] - '0';
    return -1;
}

struct offer {
    int valid;
    int server_no_context, client_no_context;
    int server_wbits;   /* 0 = absent */
    int client_wbits;   /* 0 = absent, -1 = present without a value */
    int seen_mask;
};

enum { P_SNC = 1, P_CNC = 2, P_SMW = 4, P_CMW = 8 };

static void offer_param(struct offer *o, const char *name, const char *val)
{
    int bit;
    if (!strcasecmp(name, "server_no_context_takeover"))
        bit = P_SNC;
    else if (!strcasecmp(name, "client_no_context_takeover"))
        bit = P_CNC;
    else if (!strcasecmp(name, "server_max_window_bits"))
        bit = P_SMW;
    else if (!strcasecmp(name, "client_max_window_bits"))
        bit = P_CMW;
    else {
        o->valid = 0; /* unknown parameter: decline this offer */
        return;
    }
    if (o->seen_mask & bit) {
        o->valid = 0; /* duplicated parameter */
        return;
    }
    o->seen_mask |= bit;
    switch (bit) {
    case P_SNC:
        o->server_no_context = 1;
        if (val)
            o->valid = 0;
        break;
    case P_CNC:
        o->client_no_context = 1;
        if (val)
            o->valid = 0;
        break;
    case P_SMW:
        o->server_wbits = parse_wbits(val);
        if (o->server_wbits < 0)
            o->valid = 0;
        break;
    case P_CMW:
        if (!val)
            o->client_wbits = -1;
        else if ((o->client_wbits = parse_wbits(val)) < 0)
            o->valid = 0;
        break;
    }
}

/* Parses one extension element "name *( ; param[=value] )". Returns 0 with
 * is_pmd/offer filled, -1 when the header is malformed. Leaves the cursor at
 * the ',' or the end. */
static int parse_element(struct cursor *c, int *is_pmd, struct offer *o)
{
    char name[64], pname[64], val[16];
    memset(o, 0, sizeof(*o));
    o->valid = 1;
    skip_ws(c);
    if (read_token(c, name, sizeof(name)) < 0)
        return -1;
    *is_pmd = !strcasecmp(name, "permessage-deflate");
    for (;;) {
        skip_ws(c);
        if (c->p >= c->end || *c->p == ',')
            return 0;
        if (*c->p != ';')
            return -1;
        c->p++;
        skip_ws(c);
        if (read_token(c, pname, sizeof(pname)) < 0)
            return -1;
        skip_ws(c);
        const char *v = NULL;
        if (c->p < c->end && *c->p == '=') {
            c->p++;
            skip_ws(c);
            if (read_value(c, val, sizeof(val)) < 0) {
                /* A long or empty value: syntactically skip it, decline the offer. */
                o->valid = 0;
                while (c->p < c->end && *c->p != ';' && *c->p != ',')
                    c->p++;
                continue;
            }
            v = val;
        }
        if (*is_pmd)
            offer_param(o, pname, v);
    }
}

static int clamp_wbits(int want, int limit)
{
    return want < limit ? want : limit;
}

/* Appends to a bounded string; returns the new length, or resplen when it did not fit. */
__attribute__((format(printf, 4, 5))) static size_t addf(char *resp, size_t resplen, size_t n,
                                                         const char *fmt, ...)
{
    if (n >= resplen)
        return resplen;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(resp + n, resplen - n, fmt, ap);
    va_end(ap);
    return k < 0 || (size_t)k >= resplen - n ? resplen : n + (size_t)k;
}

/* Decides the parameters for an acceptable offer and writes the response.
 * Returns 0, or -1 when the response does not fit in resplen. */
static int accept_offer(const struct offer *o, const struct be_ws_pmd_policy *pol,
                        struct be_ws_pmd_params *out, char *resp, size_t resplen)
{
    size_t n = addf(resp, resplen, 0, "permessage-deflate");
    out->server_no_context = o->server_no_context || pol->server_no_context;
    out->client_no_context = o->client_no_context || pol->client_no_context;
    out->mem_level = pol->mem_level;
    out->level = pol->level;
    /* Our compressor's window: at most what the client allows, at most policy.
     * Announced whenever it is smaller than the default, or when asked. */
    int sw = pol->server_max_wbits;
    if (o->server_wbits)
        sw = clamp_wbits(o->server_wbits, sw);
    out->server_wbits = (uint8_t)sw;
    /* The client's window: we may only limit it if it said it can be limited.
     * Never ask for 8: zlib silently compresses with 9 instead. */
    int cw = 15;
    if (o->client_wbits) {
        cw = pol->client_max_wbits < 9 ? 9 : pol->client_max_wbits;
        if (o->client_wbits > 0)
            cw = clamp_wbits(o->client_wbits, cw);
    }
    out->client_wbits = (uint8_t)cw;
    if (out->server_no_context)
        n = addf(resp, resplen, n, "; server_no_context_takeover");
    if (out->client_no_context)
        n = addf(resp, resplen, n, "; client_no_context_takeover");
    if (o->server_wbits || sw < 15)
        n = addf(resp, resplen, n, "; server_max_window_bits=%d", sw);
    if (o->client_wbits && (o->client_wbits > 0 || cw < 15))
        n = addf(resp, resplen, n, "; client_max_window_bits=%d", cw);
    return n < resplen ? 0 : -1;
}

int be_ws_pmd_negotiate(const char *hdr, size_t len, const struct be_ws_pmd_policy *pol,
                        struct be_ws_pmd_params *out, char *resp, size_t resplen)
{
    struct cursor c = {hdr, hdr + len};
    memset(out, 0, sizeof(*out));
    if (resplen)
        resp[0] = 0;
    while (c.p < c.end) {
        skip_ws(&c);
        if (c.p < c.end && *c.p == ',') { /* empty list elements are allowed */
            c.p++;
            continue;
        }
        if (c.p >= c.end)
            break;
        int is_pmd;
        struct offer o;
        if (parse_element(&c, &is_pmd, &o) < 0)
            return 0;
        if (is_pmd && o.valid) {
            if (accept_offer(&o, pol, out, resp, resplen) == 0)
                return 1;
            /* no room for the answer: decline rather than send half of it */
            memset(out, 0, sizeof(*out));
            if (resplen)
                resp[0] = 0;
            return 0;
        }
        if (c.p < c.end)
            c.p++; /* the ',' */
    }
    return 0;
}

/* ---- compression ------------------------------------------------------ */

static const uint8_t sync_tail[4] = {0x00, 0x00, 0xff, 0xff};

/* Whether one sample shrinks by less than 1/32 at zlib's fastest level. */
static bool sample_incompressible(const uint8_t *p, size_t n)
{
    uint8_t out[BE_WS_PROBE_SAMPLE + 64];
    uLongf outlen = sizeof(out);
    if (compress2(out, &outlen, p, (uLong)n, 1) != Z_OK)
        return false;
    return outlen >= n - n / 32;
}

bool be_ws_incompressible(const uint8_t *p, size_t n)
{
    if (n < BE_WS_PROBE_MIN)
        return false;
    size_t k = BE_WS_PROBE_SAMPLE;
    return sample_incompressible(p, k) && sample_incompressible(p + n / 2 - k / 2, k) &&
           sample_incompressible(p + n - k, k);
}

int be_ws_deflater_init(struct be_ws_deflater *d, int wbits, int mem_level, int level,
                        int no_context)
{
    memset(d, 0, sizeof(*d));
    int strategy = Z_DEFAULT_STRATEGY;
    if (wbits <= 8) {
        wbits = 9;
        strategy = Z_HUFFMAN_ONLY;
    }
    if (deflateInit2(&d->z, level, Z_DEFLATED, -wbits, mem_level, strategy) != Z_OK)
        return -1;
    d->ready = 1;
    d->no_context = no_context ? 1 : 0;
    return 0;
}

void be_ws_deflater_free(struct be_ws_deflater *d)
{
    if (d->ready)
        deflateEnd(&d->z);
    d->ready = 0;
}

int be_ws_deflate(struct be_ws_deflater *d, const uint8_t *in, size_t n, int final,
                  be_ws_sink_fn sink, void *ctx)
{
    uint8_t out[16384];
    /* Hold back the last 4 bytes of each call's output: on the final flush
     * they are the sync tail that must not be sent. */
    uint8_t held[4];
    size_t nheld = 0;
    int emitted_any = 0;
    d->z.next_in = (Bytef *)(uintptr_t)in;
    d->z.avail_in = (uInt)n;
    int flush = final ? Z_SYNC_FLUSH : Z_NO_FLUSH;
    for (;;) {
        d->z.next_out = out;
        d->z.avail_out = sizeof(out);
        int rc = deflate(&d->z, flush);
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            return -1;
        size_t got = sizeof(out) - d->z.avail_out;
        if (final) {
            /* Emit held + out except the last 4 bytes overall. */
            uint8_t tmp[4 + sizeof(out)];
            memcpy(tmp, held, nheld);
            memcpy(tmp + nheld, out, got);
            size_t tot = nheld + got;
            size_t emit = tot > 4 ? tot - 4 : 0;
            if (emit && sink(ctx, tmp, emit) < 0)
                return -1;
            emitted_any |= emit > 0;
            nheld = tot - emit;
            memcpy(held, tmp + emit, nheld);
        } else if (got && sink(ctx, out, got) < 0) {
            return -1;
        }
        if (d->z.avail_out != 0 && d->z.avail_in == 0)
            break;
    }
    if (final) {
        /* zlib emits nothing for a second flush in a row (an empty message
         * after another one): send an empty stored block, "00" (RFC 7692
         * 7.2.3.6), which is valid in any context. */
        if (nheld == 0 && !emitted_any) {
            if (sink(ctx, sync_tail, 1) < 0)
                return -1;
        } else if (nheld != 4 || memcmp(held, sync_tail, 4) != 0) {
            return -1;
        }
        if (d->no_context)
            deflateReset(&d->z);
    }
    return 0;
}

void be_ws_inflater_init(struct be_ws_inflater *f, int wbits, int no_context)
{
    memset(f, 0, sizeof(*f));
    f->wbits = (uint8_t)(wbits < 8 ? 15 : wbits);
    f->no_context = no_context ? 1 : 0;
}

void be_ws_inflater_free(struct be_ws_inflater *f)
{
    if (f->ready)
        inflateEnd(&f->z);
    f->ready = 0;
}

static int inflate_some(struct be_ws_inflater *f, const uint8_t *in, size_t n, uint64_t cap,
                        be_ws_sink_fn sink, void *ctx)
{
    uint8_t out[16384];
    f->z.next_in = (Bytef *)(uintptr_t)in;
    f->z.avail_in = (uInt)n;
    while (!f->ended) {
        f->z.next_out = out;
        f->z.avail_out = sizeof(out);
        int rc = inflate(&f->z, Z_SYNC_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
            return BE_WS_INFLATE_BAD;
        size_t got = sizeof(out) - f->z.avail_out;
        f->msg_out += got;
        if (cap && f->msg_out > cap)
            return BE_WS_INFLATE_TOO_BIG;
        if (got && sink(ctx, out, got) < 0)
            return BE_WS_INFLATE_SINK;
        if (rc == Z_STREAM_END)
            f->ended = 1; /* BFINAL: what follows in this message is ignored */
        else if (f->z.avail_out != 0)
            break; /* all input used and all output out */
    }
    return BE_WS_INFLATE_OK;
}

int be_ws_inflate(struct be_ws_inflater *f, const uint8_t *in, size_t n, int final, uint64_t cap,
                  be_ws_sink_fn sink, void *ctx)
{
    if (!f->ready) {
        memset(&f->z, 0, sizeof(f->z));
        if (inflateInit2(&f->z, -(int)f->wbits) != Z_OK)
            return BE_WS_INFLATE_BAD;
        f->ready = 1;
    }
    int rc = BE_WS_INFLATE_OK;
    if (n)
        rc = inflate_some(f, in, n, cap, sink, ctx);
    if (rc == BE_WS_INFLATE_OK && final)
        rc = inflate_some(f, sync_tail, sizeof(sync_tail), cap, sink, ctx);
    if (final || rc != BE_WS_INFLATE_OK) {
        f->msg_out = 0;
        if (f->ended) {
            /* After BFINAL the peer starts a fresh stream next message. */
            inflateReset(&f->z);
            f->ended = 0;
        }
        if (f->no_context)
            be_ws_inflater_free(f);
    }
    return rc;
}

/* ---- windows for the hand-off ----------------------------------------- */

size_t be_ws_deflater_window(struct be_ws_deflater *d, uint8_t *out, size_t cap)
{
    uInt n = 0;
    if (!d->ready || d->no_context || deflateGetDictionary(&d->z, NULL, &n) != Z_OK || n > cap)
        return 0;
    if (deflateGetDictionary(&d->z, out, &n) != Z_OK)
        return 0;
    return n;
}

int be_ws_deflater_prime(struct be_ws_deflater *d, const uint8_t *dict, size_t n)
{
    if (!d->ready || n == 0)
        return 0;
    return deflateSetDictionary(&d->z, dict, (uInt)n) == Z_OK ? 0 : -1;
}

size_t be_ws_inflater_window(struct be_ws_inflater *f, uint8_t *out, size_t cap)
{
    uInt n = 0;
    if (!f->ready || f->no_context || inflateGetDictionary(&f->z, NULL, &n) != Z_OK || n > cap)
        return 0;
    if (inflateGetDictionary(&f->z, out, &n) != Z_OK)
        return 0;
    return n;
}

/* The inflater is made at its first message: it is made now, so the
 * dictionary can be set on a stream that has seen no data. */
int be_ws_inflater_prime(struct be_ws_inflater *f, const uint8_t *dict, size_t n)
{
    if (n == 0 || f->no_context)
        return 0;
    if (!f->ready) {
        memset(&f->z, 0, sizeof(f->z));
        if (inflateInit2(&f->z, -(int)f->wbits) != Z_OK)
            return -1;
        f->ready = 1;
    }
    return inflateSetDictionary(&f->z, dict, (uInt)n) == Z_OK ? 0 : -1;
}

size_t be_ws_deflate_mem(int wbits, int mem_level)
{
    if (wbits < 9)
        wbits = 9;
    /* zlib.h: (1 << (windowBits+2)) + (1 << (memLevel+9)), plus ~5.8 KiB of state. */
    return ((size_t)1 << (wbits + 2)) + ((size_t)1 << (mem_level + 9)) + 5952;
}

size_t be_ws_inflate_mem(int wbits)
{
    /* zlib.h: 1 << windowBits, plus ~7 KiB of state. */
    return ((size_t)1 << wbits) + 7160;
}
