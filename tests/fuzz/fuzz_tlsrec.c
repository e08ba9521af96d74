/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target: TLS 1.3 records from a client through fe_tlsrec_open.
 *
 * Two modes, picked by the first byte (which also picks the suite):
 *  - raw: the rest of the input is the byte stream, fed in slices of sizes
 *    taken from the input into out buffers of varied sizes. Mostly checks
 *    header handling and the invariants; almost nothing passes the tag.
 *  - sealed: the input describes a list of records that a peer (a second
 *    tlsrec with the secrets swapped) seals: application data through
 *    fe_tlsrec_seal, or any inner plaintext (content, type byte, zero padding)
 *    sealed here directly with EVP, optionally with one byte flipped. A
 *    small model of RFC 8446 5.2/5.4/4.6.3, written independently of
 *    tlsrec.c (its own HKDF-Expand-Label for KeyUpdate), says what the
 *    opener must output and where it must fail; the stream is then opened
 *    in slices and compared. Afterwards a due KeyUpdate is sealed by the
 *    opener and must open at the peer, and an export/import in the middle
 *    (what the lean hand-off does) must not change anything.
 *
 * Invariants everywhere: consumed <= inlen, outlen <= outcap, nothing is
 * called after -1, and t->err is set on -1. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "frontend/tlsrec.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            __builtin_trap();                                                                      \
    } while (0)

/* Input reader: running out yields zeros. */
struct rd {
    const uint8_t *p;
    size_t n;
};

static unsigned take8(struct rd *r)
{
    if (r->n == 0)
        return 0;
    r->n--;
    return *r->p++;
}

static size_t take16(struct rd *r)
{
    size_t hi = take8(r);
    return hi << 8 | take8(r);
}

static const uint16_t suites[3] = {0x1301, 0x1302, 0x1303};
static unsigned char csecret[FE_TLSREC_MAX_SECRET], ssecret[FE_TLSREC_MAX_SECRET];

/* ---- An independent sealer (the peer's write side) ---- */

static int my_expand(const EVP_MD *md, const unsigned char *secret, size_t slen, const char *label,
                     unsigned char *out, size_t outlen)
{
    unsigned char info[64], block[EVP_MAX_MD_SIZE];
    size_t n = 0, llen = strlen(label);
    unsigned blen = 0;
    info[n++] = 0;
    info[n++] = (unsigned char)outlen;
    info[n++] = (unsigned char)(6 + llen);
    memcpy(info + n, "tls13 ", 6);
    memcpy(info + n + 6, label, llen);
    n += 6 + llen;
    info[n++] = 0;
    info[n++] = 1;
    if (!HMAC(md, secret, (int)slen, info, n, block, &blen) || blen < outlen)
        return -1;
    memcpy(out, block, outlen);
    return 0;
}

/* Moves the peer's write direction to the next traffic secret by exporting,
 * deriving with my_expand and importing again (tlsrec's own update is static). */
static void peer_update(struct fe_tlsrec *p)
{
    struct fe_tlsrec_keys k;
    CHECK(fe_tlsrec_export(p, &k) == 0);
    unsigned char next[FE_TLSREC_MAX_SECRET];
    CHECK(my_expand(p->md, k.wsecret, k.secretlen, "traffic upd", next, k.secretlen) == 0);
    memcpy(k.wsecret, next, k.secretlen);
    CHECK(my_expand(p->md, next, k.secretlen, "key", k.wkey, p->keylen) == 0);
    CHECK(my_expand(p->md, next, k.secretlen, "iv", k.wiv, 12) == 0);
    k.wseq = 0;
    fe_tlsrec_free(p);
    CHECK(fe_tlsrec_import(p, &k) == 0);
}

/* Seals the inner plaintext inner[0..n) as one record with the peer's write
 * key, whatever it contains. Returns the record length. */
static size_t seal_inner(struct fe_tlsrec *p, const unsigned char *inner, size_t n,
                         unsigned char *out)
{
    struct fe_tlsrec_dir *d = &p->wr;
    size_t ctlen = n + 16;
    out[0] = 23;
    out[1] = 3;
    out[2] = 3;
    out[3] = (unsigned char)(ctlen >> 8);
    out[4] = (unsigned char)ctlen;
    unsigned char nonce[12];
    memcpy(nonce, d->iv, 12);
    for (int i = 0; i < 8; i++)
        nonce[11 - i] ^= (unsigned char)(d->seq >> (8 * i));
    int len = 0;
    CHECK(EVP_CipherInit_ex(d->ctx, NULL, NULL, NULL, nonce, 1));
    CHECK(EVP_CipherUpdate(d->ctx, NULL, &len, out, 5));
    CHECK(n == 0 || EVP_CipherUpdate(d->ctx, out + 5, &len, inner, (int)n));
    CHECK(EVP_CipherFinal_ex(d->ctx, out + 5 + n, &len));
    CHECK(EVP_CIPHER_CTX_ctrl(d->ctx, EVP_CTRL_AEAD_GET_TAG, 16, out + 5 + n));
    d->seq++;
    return 5 + ctlen;
}

/* ---- The model: what the opener must make of one inner plaintext ---- */

enum verdict { V_DATA, V_CLOSE, V_FAIL };

struct model {
    unsigned char *data;      /* expected application bytes, in order */
    size_t datalen;
    uint64_t rseq;
    bool update_due;
    bool done;                /* a close or a failure was reached */
    bool closed;
};

/* Returns the verdict and, for a valid KeyUpdate record, *updates. */
static enum verdict judge(struct model *m, const unsigned char *inner, size_t n, unsigned *updates)
{
    *updates = 0;
    if (n > FE_TLSREC_MAX_PLAIN + 1 || m->rseq == UINT64_MAX)
        return V_FAIL;
    while (n > 0 && inner[n - 1] == 0)
        n--;
    if (n == 0)
        return V_FAIL;
    unsigned type = inner[--n];
    if (type == 23) {
        memcpy(m->data + m->datalen, inner, n);
        m->datalen += n;
        return V_DATA;
    }
    if (type == 21) {
        if (n != 2 || (inner[1] != 0 && inner[1] != 90))
            return V_FAIL;
        return inner[1] == 0 ? V_CLOSE : V_DATA;
    }
    /* One KeyUpdate per record: it changes the key, so it ends the record
     * (RFC 8446 5.1). */
    if (type != 22 || n != 5)
        return V_FAIL;
    bool due = false;
    for (size_t i = 0; i < n; i += 5) {
        const unsigned char *h = inner + i;
        if (h[0] != 24 || h[1] || h[2] || h[3] != 1 || h[4] > 1)
            return V_FAIL;
        due |= h[4] == 1;
    }
    m->update_due |= due;
    *updates = (unsigned)(n / 5);
    return V_DATA;
}

/* ---- Feeding a stream to fe_tlsrec_open as a relay would ---- */

struct feed {
    struct fe_tlsrec *t;
    unsigned char *pend;      /* received, not yet opened (room: whole stream) */
    size_t pendlen;
    unsigned char *got;       /* all plaintext produced */
    size_t gotlen;
    bool failed;
    struct rd *ctl;           /* slice sizes and out sizes come from here */
    bool inplace;
};

/* One fe_tlsrec_open call; returns the bytes consumed. */
static size_t open_once(struct feed *f, size_t outcap)
{
    static unsigned char outbuf[FE_TLSREC_MAX_PLAIN + 64];
    size_t used = (size_t)-1, plain = (size_t)-1;
    unsigned char *out = outbuf;
    if (f->inplace) {
        out = f->pend;
        if (outcap > f->pendlen)
            outcap = f->pendlen;
    }
    int rc = fe_tlsrec_open(f->t, f->pend, f->pendlen, &used, out, outcap, &plain);
    CHECK(rc == 0 || rc == -1);
    CHECK(used <= f->pendlen && plain <= outcap && plain <= used);
    memcpy(f->got + f->gotlen, out, plain);
    f->gotlen += plain;
    if (rc == -1) {
        CHECK(f->t->err[0] != 0);
        f->failed = true;
    }
    memmove(f->pend, f->pend + used, f->pendlen - used);
    f->pendlen -= used;
    return used;
}

static size_t pick_outcap(struct feed *f)
{
    unsigned c = take8(f->ctl);
    switch (c & 3) {
    case 0: return FE_TLSREC_MAX_PLAIN;
    case 1: return FE_TLSREC_MAX_PLAIN + 1 + (c >> 2);
    case 2: return c >> 2;                      /* tiny: only small records fit */
    default: return FE_TLSREC_MAX_PLAIN - (c >> 2);
    }
}

/* Feeds s[0..n) in slices; opens after each slice, then drains with a full
 * buffer so every complete record is opened by the end. */
static void feed_stream(struct feed *f, const unsigned char *s, size_t n)
{
    size_t off = 0;
    while (off < n && !f->failed) {
        size_t step = take16(f->ctl) % 20000 + 1;
        if (step > n - off)
            step = n - off;
        memcpy(f->pend + f->pendlen, s + off, step);
        f->pendlen += step;
        off += step;
        open_once(f, pick_outcap(f));
    }
    for (int guard = 0; !f->failed && guard < 100000; guard++) {
        f->inplace = false;
        if (open_once(f, FE_TLSREC_MAX_PLAIN) == 0)
            break;
    }
    if (!f->failed) {
        /* What is left is less than one record, or follows a close_notify. */
        size_t used, plain;
        unsigned char tmp[FE_TLSREC_MAX_PLAIN];
        CHECK(fe_tlsrec_open(f->t, f->pend, f->pendlen, &used, tmp, sizeof tmp, &plain) == 0);
        CHECK(used == 0 && plain == 0);
    }
}

static void raw_mode(struct fe_tlsrec *t, struct rd *in, bool inplace)
{
    /* The control bytes come from the end, the stream from the front. */
    size_t half = in->n / 2;
    struct rd ctl = {in->p + half, in->n - half};
    struct feed f = {.t = t, .ctl = &ctl, .inplace = inplace};
    f.pend = malloc(half + 1);
    f.got = malloc(half + 1);
    feed_stream(&f, in->p, half);
    free(f.pend);
    free(f.got);
}

enum { MAXSTREAM = 1 << 20 };

/* One application-data item through fe_tlsrec_seal, a record per 2^14 bytes;
 * at the end of the sequence space fe_tlsrec_seal refuses and the record is
 * forced out here (the opener must refuse it too). Returns the bytes added
 * to stream. */
static size_t item_appdata(struct fe_tlsrec *peer, struct rd *in, size_t len, struct model *m,
                           unsigned char *stream, unsigned char *inner)
{
    size_t slen = 0;
    size_t n = len < in->n ? len : in->n;
    for (size_t off = 0; off < n;) {
        size_t c = n - off < FE_TLSREC_MAX_PLAIN ? n - off : FE_TLSREC_MAX_PLAIN;
        size_t taken = 0;
        bool exhausted = peer->wr.seq == UINT64_MAX;
        ssize_t w = fe_tlsrec_seal(peer, in->p + off, c, &taken, stream + slen, MAXSTREAM / 2);
        if (exhausted) {
            CHECK(w == -1);
            memcpy(inner, in->p + off, c);
            inner[c] = 23;
            w = (ssize_t)seal_inner(peer, inner, c + 1, stream + slen);
        } else {
            CHECK((size_t)w == c + FE_TLSREC_OVERHEAD && taken == c);
        }
        if (!m->done && m->rseq == UINT64_MAX) {
            m->done = true;
        } else if (!m->done) {
            memcpy(m->data + m->datalen, in->p + off, c);
            m->datalen += c;
            m->rseq++;
        }
        slen += (size_t)w;
        off += c;
    }
    in->p += n;
    in->n -= n;
    return slen;
}

/* Any inner plaintext: content (or well-formed KeyUpdates, or an alert), a
 * type byte, zero padding. Returns its length in inner. */
static size_t inner_plaintext(struct rd *in, unsigned kind, size_t len, unsigned char *inner)
{
    size_t n = len < in->n ? len : in->n;
    memcpy(inner, in->p, n);
    in->p += n;
    in->n -= n;
    static const unsigned char types[8] = {23, 21, 22, 22, 20, 0, 24, 23};
    unsigned ty = types[(kind >> 2) & 7];
    if ((kind >> 2 & 7) == 3) {
        /* Well-formed KeyUpdates, 1-3 in one record, some requesting ours. */
        n = 0;
        for (unsigned i = 0; i <= (kind >> 5 & 1) + (kind >> 6 & 1); i++) {
            static const unsigned char ku[4] = {24, 0, 0, 1};
            memcpy(inner + n, ku, 4);
            inner[n + 4] = (unsigned char)(take8(in) & 1);
            n += 5;
        }
    } else if ((kind >> 2 & 7) == 1 && (kind & 0x20)) {
        n = 2;                          /* a well-formed alert */
        inner[0] = 1;
        inner[1] = (kind & 0x40) ? 0 : (kind & 0x80) ? 90 : (unsigned char)take8(in);
    }
    if (n > FE_TLSREC_MAX_PLAIN + 100)
        n = FE_TLSREC_MAX_PLAIN + 100;
    inner[n++] = (unsigned char)ty;
    size_t pad = (kind & 3) == 2 ? take8(in) : (kind & 3) == 3 ? take16(in) % 300 : 0;
    if (n + pad > FE_TLSREC_MAX_PLAIN + 256 - 16)
        pad = FE_TLSREC_MAX_PLAIN + 256 - 16 - n;
    memset(inner + n, 0, pad);
    return n + pad;
}

/* One record of any inner plaintext, sealed by hand and judged by the
 * model; now and then with one flipped byte (not the length): must fail.
 * Returns the bytes added to stream. */
static size_t item_sealed(struct fe_tlsrec *peer, struct rd *in, unsigned kind, size_t len,
                          struct model *m, unsigned char *stream, unsigned char *inner)
{
    size_t n = inner_plaintext(in, kind, len, inner);
    unsigned flip = take8(in);
    unsigned updates = 0;
    enum verdict v = m->done || flip >= 0xf0 ? V_FAIL : judge(m, inner, n, &updates);
    size_t slen = seal_inner(peer, inner, n, stream);
    if (flip >= 0xf0) {
        size_t at = take16(in) % slen;
        if (at == 3 || at == 4)
            at = 5;
        stream[at] ^= (unsigned char)(1u << (flip & 7));
    }
    if (!m->done) {
        m->rseq = updates ? 0 : m->rseq + 1;
        m->closed = v == V_CLOSE;
        m->done = v != V_DATA;
    }
    /* The peer follows its own KeyUpdates whatever the opener thought. */
    for (unsigned i = 0; i < updates; i++)
        peer_update(peer);
    return slen;
}

/* Opens the stream (half of it, then the rest in a tlsrec imported from an
 * export, for the lean hand-off) and compares with the model. */
static void open_and_compare(struct fe_tlsrec *t, struct fe_tlsrec *peer, struct rd *in,
                             bool inplace, bool handover, const unsigned char *stream, size_t slen,
                             const struct model *m)
{
    bool expect_fail = m->done && !m->closed;
    struct feed f = {.t = t, .ctl = in, .inplace = inplace};
    f.pend = malloc(slen + 1);
    f.got = malloc(slen + 1);
    size_t cut = handover ? slen / 2 : slen;
    feed_stream(&f, stream, cut);
    if (handover && !f.failed) {
        struct fe_tlsrec_keys k;
        CHECK(fe_tlsrec_export(t, &k) == 0);
        bool closed = t->peer_closed;
        fe_tlsrec_free(t);
        CHECK(fe_tlsrec_import(t, &k) == 0);
        t->peer_closed = closed;
        feed_stream(&f, stream + cut, slen - cut);
    }
    CHECK(f.failed == expect_fail);
    CHECK(t->peer_closed == m->closed);
    CHECK(f.gotlen == m->datalen && memcmp(f.got, m->data, m->datalen) == 0);
    if (!f.failed) {
        CHECK(t->update_due == m->update_due);
        /* Our answer to a requested KeyUpdate, then data, must open at the peer. */
        unsigned char rec[FE_TLSREC_MAX_PLAIN + 128], back[FE_TLSREC_MAX_PLAIN];
        static const unsigned char hello[5] = "hello";
        size_t taken = 0, used = 0, plain = 0;
        ssize_t w = fe_tlsrec_seal(t, hello, sizeof hello, &taken, rec, sizeof rec);
        CHECK(w > 0 && taken == sizeof hello && !t->update_due);
        CHECK(fe_tlsrec_open(peer, rec, (size_t)w, &used, back, sizeof back, &plain) == 0);
        CHECK(used == (size_t)w && plain == sizeof hello && memcmp(back, hello, plain) == 0);
    }
    free(f.pend);
    free(f.got);
}

/* Builds the stream from the item list, then feeds it and compares. */
static void sealed_mode(struct fe_tlsrec *t, struct fe_tlsrec *peer, struct rd *in, bool inplace,
                        uint64_t rseq, bool handover)
{
    unsigned char *stream = malloc(MAXSTREAM);
    unsigned char *inner = malloc(FE_TLSREC_MAX_PLAIN + 300);
    struct model m = {.rseq = rseq};
    m.data = malloc(MAXSTREAM);
    size_t slen = 0;
    int items = 0;
    while (in->n > 0 && items++ < 64 && slen + FE_TLSREC_MAX_RECORD + 64 < MAXSTREAM / 2) {
        unsigned kind = take8(in);
        size_t len = take16(in) % (FE_TLSREC_MAX_PLAIN + 64);
        if ((kind & 3) == 0)
            slen += item_appdata(peer, in, len, &m, stream + slen, inner);
        else
            slen += item_sealed(peer, in, kind, len, &m, stream + slen, inner);
    }
    open_and_compare(t, peer, in, inplace, handover, stream, slen, &m);
    free(m.data);
    free(inner);
    free(stream);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    if (!csecret[0]) {
        for (int i = 0; i < FE_TLSREC_MAX_SECRET; i++) {
            csecret[i] = (unsigned char)(0x11 + i);
            ssecret[i] = (unsigned char)(0xa0 + i);
        }
    }
    struct rd in = {data + 1, size - 1};
    unsigned flags = data[0];
    uint16_t suite = suites[(flags & 3) % 3];
    bool sealed = flags & 4, inplace = flags & 8, handover = flags & 16;
    /* Sequence numbers near the end of their range now and then. */
    uint64_t rseq = (flags & 0x60) == 0x60 ? UINT64_MAX - (take8(&in) & 7) : take8(&in);
    size_t hl = suite == 0x1302 ? 48 : 32;
    struct fe_tlsrec t, peer;
    CHECK(fe_tlsrec_init(&t, suite, csecret, ssecret, hl, rseq, 1) == 0);
    CHECK(fe_tlsrec_init(&peer, suite, ssecret, csecret, hl, 1, rseq) == 0);
    if (sealed)
        sealed_mode(&t, &peer, &in, inplace, rseq, handover);
    else
        raw_mode(&t, &in, inplace);
    fe_tlsrec_free(&t);
    fe_tlsrec_free(&peer);
    return 0;
}
