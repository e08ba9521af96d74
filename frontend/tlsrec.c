/* SPDX-License-Identifier: BSD-2-Clause */
/* TLS 1.3 record protection for the relay phase (RFC 8446 section 5, 7.1-7.3).
 * See tlsrec.h for why this exists. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include "frontend/tlsrec.h"

#define TAGLEN 16
#define CT_ALERT 21
#define CT_HANDSHAKE 22
#define CT_APPDATA 23
#define HS_KEY_UPDATE 24

/* HKDF-Expand-Label (RFC 8446 7.1) with an empty context. Every output we
 * need is at most one hash block long, so HKDF-Expand is a single HMAC over
 * HkdfLabel || 0x01. */
static int expand_label(const EVP_MD *md, const unsigned char *secret, size_t secretlen,
                        const char *label, unsigned char *out, size_t outlen)
{
    unsigned char info[2 + 1 + 6 + 32 + 1 + 1];
    size_t llen = strlen(label);
    size_t hashlen = (size_t)EVP_MD_get_size(md);
    if (llen > 32 || outlen > hashlen || outlen > 255)
        return -1;
    size_t n = 0;
    info[n++] = 0;
    info[n++] = (unsigned char)outlen;
    info[n++] = (unsigned char)(6 + llen);
    memcpy(info + n, "tls13 ", 6);
    n += 6;
    memcpy(info + n, label, llen);
    n += llen;
    info[n++] = 0;  /* empty context */
    info[n++] = 1;  /* HKDF-Expand counter of the first (only) block */
    unsigned char block[EVP_MAX_MD_SIZE];
    unsigned int blen = 0;
    if (!HMAC(md, secret, (int)secretlen, info, n, block, &blen) || blen < outlen) {
        OPENSSL_cleanse(block, sizeof block);
        return -1;
    }
    memcpy(out, block, outlen);
    OPENSSL_cleanse(block, sizeof block);
    return 0;
}

/* Keys d->ctx with key (d->iv already set). */
static int dir_key(const struct fe_tlsrec *t, struct fe_tlsrec_dir *d, const unsigned char *key,
                   int enc)
{
    return EVP_CipherInit_ex(d->ctx, t->cipher, NULL, NULL, NULL, enc) &&
                   EVP_CIPHER_CTX_ctrl(d->ctx, EVP_CTRL_AEAD_SET_IVLEN, (int)sizeof d->iv, NULL) &&
                   EVP_CipherInit_ex(d->ctx, NULL, NULL, key, NULL, enc)
               ? 0
               : -1;
}

/* Derives key and iv from d->secret and keys d->ctx; the record counter
 * starts again at zero under new keys (RFC 8446 5.3). */
static int dir_rekey(const struct fe_tlsrec *t, struct fe_tlsrec_dir *d, int enc)
{
    unsigned char key[32];
    int rc = -1;
    if (expand_label(t->md, d->secret, t->hashlen, "key", key, t->keylen) < 0 ||
        expand_label(t->md, d->secret, t->hashlen, "iv", d->iv, sizeof d->iv) < 0)
        goto out;
    rc = dir_key(t, d, key, enc);
out:
    OPENSSL_cleanse(key, sizeof key);
    return rc;
}

/* secret' = HKDF-Expand-Label(secret, "traffic upd", "", hashlen) (RFC 8446 7.2). */
static int dir_update(const struct fe_tlsrec *t, struct fe_tlsrec_dir *d, int enc)
{
    unsigned char next[FE_TLSREC_MAX_SECRET];
    if (expand_label(t->md, d->secret, t->hashlen, "traffic upd", next, t->hashlen) < 0)
        return -1;
    memcpy(d->secret, next, t->hashlen);
    OPENSSL_cleanse(next, sizeof next);
    d->seq = 0;
    return dir_rekey(t, d, enc);
}

static int dir_init(const struct fe_tlsrec *t, struct fe_tlsrec_dir *d, const unsigned char *secret,
                    uint64_t seq, int enc)
{
    d->ctx = EVP_CIPHER_CTX_new();
    if (!d->ctx)
        return -1;
    memcpy(d->secret, secret, t->hashlen);
    if (dir_rekey(t, d, enc) < 0)
        return -1;
    d->seq = seq;
    return 0;
}

/* Ciphers fetched once (fe_tlsrec_prefetch): using them skips OpenSSL's
 * method store, whose locks and counters live on pages shared with the
 * master (see lean.h). */
static EVP_CIPHER *fetched[3];

void fe_tlsrec_prefetch(void)
{
    static const char *names[3] = {"AES-128-GCM", "AES-256-GCM", "ChaCha20-Poly1305"};
    for (int i = 0; i < 3; i++)
        if (!fetched[i])
            fetched[i] = EVP_CIPHER_fetch(NULL, names[i], NULL);
}

static int set_suite(struct fe_tlsrec *t, uint16_t suite, size_t secretlen)
{
    memset(t, 0, sizeof *t);
    t->suite = suite;
    switch (suite) {
    case 0x1301:
        t->md = EVP_sha256();
        t->cipher = fetched[0] ? fetched[0] : EVP_aes_128_gcm();
        t->keylen = 16;
        break;
    case 0x1302:
        t->md = EVP_sha384();
        t->cipher = fetched[1] ? fetched[1] : EVP_aes_256_gcm();
        t->keylen = 32;
        break;
    case 0x1303:
        t->md = EVP_sha256();
        t->cipher = fetched[2] ? fetched[2] : EVP_chacha20_poly1305();
        t->keylen = 32;
        break;
    default: snprintf(t->err, sizeof t->err, "unsupported cipher suite 0x%04x", suite); return -1;
    }
    t->hashlen = (size_t)EVP_MD_get_size(t->md);
    if (secretlen != t->hashlen || t->hashlen > FE_TLSREC_MAX_SECRET) {
        snprintf(t->err, sizeof t->err, "secret length %zu, suite needs %zu", secretlen,
                 t->hashlen);
        return -1;
    }
    return 0;
}

int fe_tlsrec_init(struct fe_tlsrec *t, uint16_t suite, const unsigned char *client_secret,
                   const unsigned char *server_secret, size_t secretlen, uint64_t rseq,
                   uint64_t wseq)
{
    if (set_suite(t, suite, secretlen) < 0)
        return -1;
    if (dir_init(t, &t->rd, client_secret, rseq, 0) < 0 ||
        dir_init(t, &t->wr, server_secret, wseq, 1) < 0) {
        snprintf(t->err, sizeof t->err, "cipher setup failed");
        fe_tlsrec_free(t);
        return -1;
    }
    return 0;
}

int fe_tlsrec_export(const struct fe_tlsrec *t, struct fe_tlsrec_keys *k)
{
    memset(k, 0, sizeof *k);
    k->suite = t->suite;
    k->secretlen = (uint16_t)t->hashlen;
    k->rseq = t->rd.seq;
    k->wseq = t->wr.seq;
    k->update_due = t->update_due;
    memcpy(k->rsecret, t->rd.secret, t->hashlen);
    memcpy(k->wsecret, t->wr.secret, t->hashlen);
    memcpy(k->riv, t->rd.iv, sizeof k->riv);
    memcpy(k->wiv, t->wr.iv, sizeof k->wiv);
    if (expand_label(t->md, t->rd.secret, t->hashlen, "key", k->rkey, t->keylen) < 0 ||
        expand_label(t->md, t->wr.secret, t->hashlen, "key", k->wkey, t->keylen) < 0) {
        OPENSSL_cleanse(k, sizeof *k);
        return -1;
    }
    return 0;
}

static int dir_import(const struct fe_tlsrec *t, struct fe_tlsrec_dir *d,
                      const unsigned char *secret, const unsigned char *key,
                      const unsigned char *iv, uint64_t seq, int enc)
{
    d->ctx = EVP_CIPHER_CTX_new();
    if (!d->ctx)
        return -1;
    memcpy(d->secret, secret, t->hashlen);
    memcpy(d->iv, iv, sizeof d->iv);
    d->seq = seq;
    return dir_key(t, d, key, enc);
}

int fe_tlsrec_import(struct fe_tlsrec *t, const struct fe_tlsrec_keys *k)
{
    if (set_suite(t, k->suite, k->secretlen) < 0)
        return -1;
    if (dir_import(t, &t->rd, k->rsecret, k->rkey, k->riv, k->rseq, 0) < 0 ||
        dir_import(t, &t->wr, k->wsecret, k->wkey, k->wiv, k->wseq, 1) < 0) {
        snprintf(t->err, sizeof t->err, "cipher setup failed");
        fe_tlsrec_free(t);
        return -1;
    }
    t->update_due = k->update_due != 0;
    return 0;
}

static void dir_free(struct fe_tlsrec_dir *d)
{
    OPENSSL_cleanse(d->secret, sizeof d->secret);
    OPENSSL_cleanse(d->iv, sizeof d->iv);
    EVP_CIPHER_CTX_free(d->ctx);
    d->ctx = NULL;
}

void fe_tlsrec_free(struct fe_tlsrec *t)
{
    dir_free(&t->rd);
    dir_free(&t->wr);
}

/* Per-record nonce (RFC 8446 5.3): iv XOR the 64-bit sequence number,
 * big-endian, left-padded to the iv length. */
static void make_nonce(const struct fe_tlsrec_dir *d, unsigned char nonce[12])
{
    memcpy(nonce, d->iv, 12);
    for (int i = 0; i < 8; i++)
        nonce[11 - i] ^= (unsigned char)(d->seq >> (8 * i));
}

/* ---- Reading ---- */

static int fail(struct fe_tlsrec *t, const char *why)
{
    snprintf(t->err, sizeof t->err, "%s", why);
    return -1;
}

/* Decrypts one record. The inner plaintext goes to buf except its last
 * byte, which goes to *last: that way a buffer of FE_TLSREC_MAX_PLAIN bytes
 * always holds the data of a full record (2^14 content + the type byte).
 * buf may be exactly ct (in-place decryption is supported by OpenSSL,
 * partial overlap is not). Returns 0 or -1. */
static int open_record(struct fe_tlsrec *t, const unsigned char hdr[5], const unsigned char *ct,
                       size_t bodylen, unsigned char *buf, unsigned char *last)
{
    struct fe_tlsrec_dir *d = &t->rd;
    if (d->seq == UINT64_MAX)
        return fail(t, "read sequence number exhausted");
    unsigned char nonce[12], tag[TAGLEN], fbuf[32];
    make_nonce(d, nonce);
    memcpy(tag, ct + bodylen, TAGLEN);
    int len = 0, fin = 0;
    if (!EVP_CipherInit_ex(d->ctx, NULL, NULL, NULL, nonce, -1) ||
        !EVP_CIPHER_CTX_ctrl(d->ctx, EVP_CTRL_AEAD_SET_TAG, TAGLEN, tag) ||
        !EVP_CipherUpdate(d->ctx, NULL, &len, hdr, 5) ||
        (bodylen > 1 && !EVP_CipherUpdate(d->ctx, buf, &len, ct, (int)bodylen - 1)) ||
        !EVP_CipherUpdate(d->ctx, last, &len, ct + bodylen - 1, 1) ||
        EVP_CipherFinal_ex(d->ctx, fbuf, &fin) <= 0)
        return fail(t, "record authentication failed (bad_record_mac)");
    d->seq++;
    return 0;
}

static int handle_alert(struct fe_tlsrec *t, const unsigned char *p, size_t n)
{
    if (n != 2)
        return fail(t, "malformed alert");
    if (p[1] == 0) {        /* close_notify, whatever level the peer gave */
        t->peer_closed = true;
        return 0;
    }
    if (p[1] == 90)         /* user_canceled: a warning, close_notify follows */
        return 0;
    snprintf(t->err, sizeof t->err, "alert %u", p[1]);
    return -1;
}

/* Only KeyUpdate is accepted after the handshake. A handshake message that
 * spans records (legal in TLS but never done for a 5-byte KeyUpdate by any
 * stack we know) is refused instead of buffered, so state stays bounded. */
static int handle_handshake(struct fe_tlsrec *t, const unsigned char *p, size_t n)
{
    if (n == 0)
        return fail(t, "empty handshake record");
    while (n > 0) {
        if (n < 5)
            return fail(t, "handshake message split across records (refused)");
        size_t mlen = ((size_t)p[1] << 16) | ((size_t)p[2] << 8) | p[3];
        if (p[0] != HS_KEY_UPDATE) {
            snprintf(t->err, sizeof t->err, "post-handshake message type %u refused", p[0]);
            return -1;
        }
        if (mlen != 1 || p[4] > 1)
            return fail(t, "malformed KeyUpdate");
        if (p[4] == 1)
            t->update_due = true;
        p += 5;
        n -= 5;
        /* It changes the read key: RFC 8446 5.1 wants it to end its record. */
        if (n > 0)
            return fail(t, "KeyUpdate not at the end of its record (unexpected_message)");
    }
    return 0;
}

/* Classifies one decrypted inner plaintext (RFC 8446 5.2): buf[0..n) plus
 * the final byte `last`. Strips the zero padding and acts on the content
 * type; *datalen gets the application bytes at the front of buf. */
static int inner(struct fe_tlsrec *t, const unsigned char *buf, size_t n, unsigned char last,
                 size_t *datalen)
{
    *datalen = 0;
    unsigned char type = last;
    if (type == 0) {
        while (n > 0 && buf[n - 1] == 0)
            n--;
        if (n == 0)
            return fail(t, "record without content type (unexpected_message)");
        type = buf[--n];
    }
    switch (type) {
    case CT_APPDATA: *datalen = n; return 0;
    case CT_ALERT: return handle_alert(t, buf, n);
    case CT_HANDSHAKE:
        if (handle_handshake(t, buf, n) < 0)
            return -1;
        /* One KeyUpdate, ending the record: the read secret advances once. */
        if (dir_update(t, &t->rd, 0) < 0)
            return fail(t, "read key update failed");
        return 0;
    case 20: return fail(t, "change_cipher_spec after the handshake");
    default: snprintf(t->err, sizeof t->err, "unexpected content type %u", type); return -1;
    }
}

/* Checks a record header; returns the ciphertext length or -1. */
static int check_header(struct fe_tlsrec *t, const unsigned char *hdr)
{
    size_t ctlen = ((size_t)hdr[3] << 8) | hdr[4];
    if (hdr[0] != CT_APPDATA)
        return fail(t, hdr[0] == 20 ? "change_cipher_spec record after the handshake"
                                    : "outer record type is not application_data");
    if (hdr[1] != 3 || hdr[2] != 3)
        return fail(t, "bad record version");
    if (ctlen > FE_TLSREC_MAX_PLAIN + 256)
        return fail(t, "record too long (record_overflow)");
    /* With a 16-byte tag the inner plaintext is ctlen - 16; it may not
     * exceed 2^14 + 1 (RFC 8446 5.4), which we can refuse before decrypting. */
    if (ctlen > FE_TLSREC_MAX_PLAIN + 1 + TAGLEN)
        return fail(t, "inner plaintext too long (record_overflow)");
    if (ctlen < TAGLEN + 1)
        return fail(t, "record too short");
    return (int)ctlen;
}

int fe_tlsrec_open(struct fe_tlsrec *t, const unsigned char *in, size_t inlen, size_t *consumed,
                   unsigned char *out, size_t outcap, size_t *outlen)
{
    size_t used = 0, produced = 0;
    *consumed = 0;
    *outlen = 0;
    while (!t->peer_closed && inlen - used >= 5) {
        unsigned char hdr[5];
        memcpy(hdr, in + used, 5);   /* out may overwrite it when out == in */
        int r = check_header(t, hdr);
        if (r < 0)
            return -1;
        size_t ctlen = (size_t)r, bodylen = ctlen - TAGLEN;
        if (inlen - used - 5 < ctlen)
            break;
        /* The data is at most bodylen - 1 bytes; wait for room for that so
         * a decrypted record is never dropped. */
        if (outcap - produced < bodylen - 1)
            break;
        const unsigned char *ct = in + used + 5;
        unsigned char *dst = out + produced;
        /* Same buffer (out <= in): decrypt exactly in place, then move the
         * data down; OpenSSL does not promise partial overlap works. */
        bool overlap = dst < ct + ctlen && ct < dst + bodylen;
        unsigned char *buf = overlap ? (unsigned char *)ct : dst;
        unsigned char last;
        if (open_record(t, hdr, ct, bodylen, buf, &last) < 0)
            return -1;
        size_t datalen;
        if (inner(t, buf, bodylen - 1, last, &datalen) < 0)
            return -1;
        if (buf != dst && datalen > 0)
            memmove(dst, buf, datalen);
        produced += datalen;
        used += 5 + ctlen;
        *consumed = used;
        *outlen = produced;
    }
    return 0;
}

/* ---- Writing ---- */

/* Seals one record with inner type `type` from p[0..n) at out; out has room
 * for 5 + n + 1 + TAGLEN bytes. Returns the record length or -1. */
static ssize_t seal_record(struct fe_tlsrec *t, unsigned char type, const unsigned char *p,
                           size_t n, unsigned char *out)
{
    struct fe_tlsrec_dir *d = &t->wr;
    if (d->seq == UINT64_MAX)
        return fail(t, "write sequence number exhausted");
    size_t ctlen = n + 1 + TAGLEN;
    out[0] = CT_APPDATA;
    out[1] = 3;
    out[2] = 3;
    out[3] = (unsigned char)(ctlen >> 8);
    out[4] = (unsigned char)ctlen;
    unsigned char nonce[12];
    make_nonce(d, nonce);
    int len = 0, len2 = 0, fin = 0;
    if (!EVP_CipherInit_ex(d->ctx, NULL, NULL, NULL, nonce, -1) ||
        !EVP_CipherUpdate(d->ctx, NULL, &len, out, 5) ||
        (n > 0 && !EVP_CipherUpdate(d->ctx, out + 5, &len, p, (int)n)) ||
        !EVP_CipherUpdate(d->ctx, out + 5 + n, &len2, &type, 1) ||
        !EVP_CipherFinal_ex(d->ctx, out + 5 + n + 1, &fin) ||
        !EVP_CIPHER_CTX_ctrl(d->ctx, EVP_CTRL_AEAD_GET_TAG, TAGLEN, out + 5 + n + 1))
        return fail(t, "record encryption failed");
    d->seq++;
    return (ssize_t)(5 + ctlen);
}

/* Answers the peer's KeyUpdate(update_requested): our KeyUpdate goes out
 * under the current write key, then the write key moves on (RFC 8446 4.6.3). */
static ssize_t seal_key_update(struct fe_tlsrec *t, unsigned char *out, size_t outcap)
{
    static const unsigned char msg[5] = {HS_KEY_UPDATE, 0, 0, 1, 0};
    if (outcap < 5 + sizeof msg + 1 + TAGLEN)
        return 0;
    ssize_t r = seal_record(t, CT_HANDSHAKE, msg, sizeof msg, out);
    if (r < 0)
        return -1;
    if (dir_update(t, &t->wr, 1) < 0)
        return fail(t, "write key update failed");
    t->update_due = false;
    return r;
}

ssize_t fe_tlsrec_seal(struct fe_tlsrec *t, const unsigned char *in, size_t inlen, size_t *taken,
                       unsigned char *out, size_t outcap)
{
    size_t w = 0, took = 0;
    *taken = 0;
    if (t->update_due) {
        ssize_t r = seal_key_update(t, out, outcap);
        if (r < 0)
            return -1;
        if (r == 0)
            return 0;       /* no room yet: nothing else may precede it */
        w = (size_t)r;
    }
    while (took < inlen) {
        size_t room = outcap - w;
        if (room <= FE_TLSREC_OVERHEAD)
            break;
        size_t n = inlen - took;
        if (n > FE_TLSREC_MAX_PLAIN)
            n = FE_TLSREC_MAX_PLAIN;
        if (n > room - FE_TLSREC_OVERHEAD)
            n = room - FE_TLSREC_OVERHEAD;
        ssize_t r = seal_record(t, CT_APPDATA, in + took, n, out + w);
        if (r < 0)
            return -1;
        w += (size_t)r;
        took += n;
    }
    *taken = took;
    return (ssize_t)w;
}

ssize_t fe_tlsrec_seal_close(struct fe_tlsrec *t, unsigned char *out, size_t outcap)
{
    static const unsigned char alert[2] = {1, 0};  /* warning, close_notify */
    if (outcap < 5 + sizeof alert + 1 + TAGLEN)
        return fail(t, "no room for close_notify");
    return seal_record(t, CT_ALERT, alert, sizeof alert, out);
}
