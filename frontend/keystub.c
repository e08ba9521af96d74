/* SPDX-License-Identifier: BSD-2-Clause */
/* Key stubs (keystub.h). The delegation uses OpenSSL's legacy RSA_METHOD and
 * EC_KEY_METHOD (deprecated in OpenSSL 3, hence the define below, in this one
 * file): a key with a non-default method is "foreign" to OpenSSL 3 and stays on
 * the legacy code path, so libssl's signatures (ECDSA, RSA PKCS#1 v1.5 and
 * PSS) all end in the two callbacks here. A provider would do the same in
 * several hundred lines (key management plus signature for each type); see
 * doc/design.md. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "config.h"

#include <errno.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/proc.h"
#include "frontend/keyproc.h"
#include "frontend/keystub.h"

#define SIGN_TIMEOUT_MS 2000

struct stub_ref {
    uint32_t gen, vhost;
};

static int chan = -1;
static bool lost;
static uint32_t seq;
static RSA_METHOD *rsa_meth;
static EC_KEY_METHOD *ec_meth;
static int rsa_idx = -1, ec_idx = -1;

void fe_keystub_set_channel(int fd)
{
    chan = fd;
    lost = false;
}

bool fe_keystub_lost(void)
{
    return lost;
}

/* Waits for the answer to request s: poll, then the answer (two calls on
 * the way of every full handshake). -1 on timeout or a dead channel. */
static int wait_answer(uint32_t s, struct kp_sign_rep *r)
{
    uint64_t deadline = bx_now_ms() + SIGN_TIMEOUT_MS;
    for (;;) {
        uint64_t now = bx_now_ms();
        struct pollfd p = {.fd = chan, .events = POLLIN};
        int pr = now < deadline ? poll(&p, 1, (int)(deadline - now)) : 0;
        if (pr == 0 || (pr == -1 && errno != EINTR))
            return -1;
        ssize_t n = pr > 0 ? recv(chan, r, sizeof *r, MSG_DONTWAIT) : -1;
        if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
            lost = true;
            return -1;
        }
        if (n > 0 && (size_t)n >= KP_SIGN_REP_HDR && r->len <= KP_MAX_DATA &&
            (size_t)n == KP_SIGN_REP_HDR + r->len && r->seq == s)
            return r->status == 0 ? 0 : -1;
        /* else: a late answer to an earlier request, or nothing yet */
    }
}

/* One signature from the key process into out (at most max bytes). */
static int ask(const struct stub_ref *ref, uint32_t op, const unsigned char *in, size_t inlen,
               unsigned char *out, size_t max, size_t *outlen)
{
    struct kp_sign_req q;
    struct kp_sign_rep r;
    if (chan < 0 || lost || !ref || inlen > KP_MAX_DATA)
        return -1;
    q.seq = ++seq;
    q.gen = ref->gen;
    q.vhost = ref->vhost;
    q.op = op;
    q.len = (uint32_t)inlen;
    memcpy(q.data, in, inlen);
    if (send(chan, &q, KP_SIGN_REQ_HDR + inlen, MSG_NOSIGNAL) == -1) {
        lost = errno != EAGAIN && errno != EINTR;
        return -1;
    }
    if (wait_answer(q.seq, &r) == -1 || r.len > max)
        return -1;
    memcpy(out, r.sig, r.len);
    *outlen = r.len;
    return 0;
}

/* PKCS#1 v1.5 arrives as a DigestInfo with PKCS#1 padding asked for, PSS as a
 * block OpenSSL already encoded, with no padding. */
static int rsa_priv_enc(int flen, const unsigned char *from, unsigned char *to, RSA *rsa,
                        int padding)
{
    uint32_t op = padding == RSA_PKCS1_PADDING ? KP_RSA_PKCS1
                  : padding == RSA_NO_PADDING  ? KP_RSA_PSS
                                               : 0;
    size_t n;
    if (!op || flen < 0 ||
        ask(RSA_get_ex_data(rsa, rsa_idx), op, from, (size_t)flen, to, (size_t)RSA_size(rsa), &n) ==
            -1)
        return -1;
    return (int)n;
}

/* RSA key exchange (a decryption) is never done: such handshakes fail. */
static int rsa_priv_dec(int flen, const unsigned char *from, unsigned char *to, RSA *rsa,
                        int padding)
{
    (void)flen, (void)from, (void)to, (void)rsa, (void)padding;
    return -1;
}

static int ec_sign(int type, const unsigned char *dgst, int dlen, unsigned char *sig,
                   unsigned int *siglen, const BIGNUM *kinv, const BIGNUM *r, EC_KEY *ec)
{
    (void)type;
    size_t n;
    *siglen = 0;
    if (kinv || r || dlen < 0 ||
        ask(EC_KEY_get_ex_data(ec, ec_idx), KP_ECDSA, dgst, (size_t)dlen, sig,
            (size_t)ECDSA_size(ec), &n) == -1)
        return 0;
    *siglen = (unsigned)n;
    return 1;
}

static ECDSA_SIG *ec_sign_sig(const unsigned char *dgst, int dlen, const BIGNUM *kinv,
                              const BIGNUM *r, EC_KEY *ec)
{
    unsigned char der[256];
    unsigned n;
    const unsigned char *p = der;
    if ((size_t)ECDSA_size(ec) > sizeof der || ec_sign(0, dgst, dlen, der, &n, kinv, r, ec) != 1)
        return NULL;
    return d2i_ECDSA_SIG(NULL, &p, (long)n);
}

static void free_ref(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    free(ptr);
}

static int init_methods(void)
{
    if (rsa_meth)
        return 0;
    rsa_meth = RSA_meth_dup(RSA_PKCS1_OpenSSL());
    ec_meth = EC_KEY_METHOD_new(EC_KEY_OpenSSL());
    rsa_idx = RSA_get_ex_new_index(0, NULL, NULL, NULL, free_ref);
    ec_idx = EC_KEY_get_ex_new_index(0, NULL, NULL, NULL, free_ref);
    if (!rsa_meth || !ec_meth || rsa_idx < 0 || ec_idx < 0 ||
        RSA_meth_set1_name(rsa_meth, "bactrian key stub") != 1 ||
        RSA_meth_set_priv_enc(rsa_meth, rsa_priv_enc) != 1 ||
        RSA_meth_set_priv_dec(rsa_meth, rsa_priv_dec) != 1)
        return -1;
    EC_KEY_METHOD_set_sign(ec_meth, ec_sign, NULL, ec_sign_sig);
    return 0;
}

static EVP_PKEY *rsa_stub(EVP_PKEY *pub, struct stub_ref *ref)
{
    RSA *rsa = RSAPublicKey_dup(EVP_PKEY_get0_RSA(pub));
    EVP_PKEY *k = EVP_PKEY_new();
    if (!rsa || !k || RSA_set_method(rsa, rsa_meth) != 1 ||
        RSA_set_ex_data(rsa, rsa_idx, ref) != 1) {
        RSA_free(rsa);
        EVP_PKEY_free(k);
        free(ref);
        return NULL;
    }
    if (EVP_PKEY_assign_RSA(k, rsa) != 1) {
        RSA_free(rsa); /* frees ref */
        EVP_PKEY_free(k);
        return NULL;
    }
    return k;
}

static EVP_PKEY *ec_stub(EVP_PKEY *pub, struct stub_ref *ref)
{
    const EC_KEY *src = EVP_PKEY_get0_EC_KEY(pub);
    EC_KEY *ec = src ? EC_KEY_dup(src) : NULL;
    EVP_PKEY *k = EVP_PKEY_new();
    if (!ec || !k || EC_KEY_set_method(ec, ec_meth) != 1 ||
        EC_KEY_set_ex_data(ec, ec_idx, ref) != 1) {
        EC_KEY_free(ec);
        EVP_PKEY_free(k);
        free(ref);
        return NULL;
    }
    if (EVP_PKEY_assign_EC_KEY(k, ec) != 1) {
        EC_KEY_free(ec);
        EVP_PKEY_free(k);
        return NULL;
    }
    return k;
}

EVP_PKEY *fe_keystub_new(EVP_PKEY *pub, unsigned gen, unsigned vhost, char *err, size_t errlen)
{
    struct stub_ref *ref = malloc(sizeof *ref);
    bool rsa = EVP_PKEY_is_a(pub, "RSA"), ec = EVP_PKEY_is_a(pub, "EC");
    if (!ref || init_methods() == -1 || (!rsa && !ec)) {
        free(ref);
        snprintf(err, errlen, "%s",
                 !rsa && !ec ? "certificate key type not supported "
                               "(RSA or EC)"
                             : "out of memory");
        return NULL;
    }
    ref->gen = gen;
    ref->vhost = vhost;
    EVP_PKEY *k = rsa ? rsa_stub(pub, ref) : ec_stub(pub, ref);
    if (!k)
        snprintf(err, errlen, "cannot make the key stub");
    return k;
}
