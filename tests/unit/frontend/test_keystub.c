/* SPDX-License-Identifier: BSD-2-Clause */
/* Key stubs (frontend/keystub.c) against a real key process (keyproc.c,
 * forked as test_keyproc does): signatures made through a stub verify with
 * the certificate's public key (ECDSA, RSA PKCS#1 v1.5 and PSS, as libssl
 * asks for them), a raw RSA decryption is refused, a generation the key
 * process does not hold fails cleanly, and a channel whose key process is
 * gone fails at once and says so (fe_keystub_lost). */
#include "config.h"

#include <check.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frontend/keyctl.h"
#include "frontend/keyproc.h"
#include "frontend/keystub.h"
#include "tests/unit/frontend/kpfix.h"

static struct kpfix kp;

static void setup(void)
{
    kpfix_start(&kp);
    fe_keystub_set_channel(fe_keyctl_channel(&kp.kc));
}

static void teardown(void)
{
    kpfix_stop(&kp);
}

/* The public half only, as the master has it from the certificate. */
static EVP_PKEY *public_of(EVP_PKEY *k)
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(k, &der);
    ck_assert_int_gt(n, 0);
    const unsigned char *p = der;
    EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, n);
    OPENSSL_free(der);
    ck_assert_ptr_nonnull(pub);
    return pub;
}

static EVP_PKEY *stub(EVP_PKEY *k, unsigned gen, unsigned vhost)
{
    char err[256] = "";
    EVP_PKEY *pub = public_of(k);
    EVP_PKEY *s = fe_keystub_new(pub, gen, vhost, err, sizeof err);
    EVP_PKEY_free(pub);
    ck_assert_msg(s != NULL, "%s", err);
    return s;
}

/* An RSA padding as TLS uses it: PSS with a salt as long as the digest. */
static void set_padding(EVP_PKEY_CTX *pc, int pad)
{
    if (pad)
        ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_padding(pc, pad), 1);
    if (pad == RSA_PKCS1_PSS_PADDING)
        ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST), 1);
}

/* Signs msg with key (pad: 0 for EC, else an RSA padding); 1 when a
 * signature came out and verified with the real key, 0 when signing failed. */
static int sign_verify(EVP_PKEY *key, EVP_PKEY *real, int pad)
{
    static const unsigned char msg[] = "the handshake transcript";
    unsigned char sig[512];
    size_t siglen = sizeof sig;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    ck_assert_int_eq(EVP_DigestSignInit(m, &pc, EVP_sha256(), NULL, key), 1);
    set_padding(pc, pad);
    int ok = EVP_DigestSign(m, sig, &siglen, msg, sizeof msg) == 1;
    EVP_MD_CTX_free(m);
    if (!ok)
        return 0;
    m = EVP_MD_CTX_new();
    pc = NULL;
    ck_assert_int_eq(EVP_DigestVerifyInit(m, &pc, EVP_sha256(), NULL, real), 1);
    set_padding(pc, pad);
    ck_assert_int_eq(EVP_DigestVerify(m, sig, siglen, msg, sizeof msg), 1);
    EVP_MD_CTX_free(m);
    return 1;
}

START_TEST(ec_and_rsa_signatures_verify)
{
    EVP_PKEY *e = stub(kp.eckey, 1, 0), *r = stub(kp.rsakey, 1, 1);
    ck_assert_int_eq(sign_verify(e, kp.eckey, 0), 1);
    ck_assert_int_eq(sign_verify(r, kp.rsakey, RSA_PKCS1_PADDING), 1);
    ck_assert_int_eq(sign_verify(r, kp.rsakey, RSA_PKCS1_PSS_PADDING), 1);
    ck_assert(!fe_keystub_lost());
    EVP_PKEY_free(e);
    EVP_PKEY_free(r);
}
END_TEST

/* A stub for a key the key process does not hold as this generation or
 * vhost, or of the other type: no signature, and the channel goes on. */
START_TEST(wrong_generation_or_vhost_fails_cleanly)
{
    EVP_PKEY *g = stub(kp.eckey, 2, 0), *v = stub(kp.eckey, 1, 1), *ok = stub(kp.eckey, 1, 0);
    ck_assert_int_eq(sign_verify(g, kp.eckey, 0), 0);
    ck_assert_int_eq(sign_verify(v, kp.eckey, 0), 0); /* vhost 1 holds the RSA key */
    ck_assert(!fe_keystub_lost());
    ck_assert_int_eq(sign_verify(ok, kp.eckey, 0), 1);
    EVP_PKEY_free(g);
    EVP_PKEY_free(v);
    EVP_PKEY_free(ok);
}
END_TEST

/* No raw private decryption through a stub (RSA key exchange is not offered). */
START_TEST(rsa_decrypt_refused)
{
    EVP_PKEY *r = stub(kp.rsakey, 1, 1);
    unsigned char in[256] = {1}, out[256];
    size_t outlen = sizeof out;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(r, NULL);
    ck_assert_int_eq(EVP_PKEY_decrypt_init(c), 1);
    EVP_PKEY_CTX_set_rsa_padding(c, RSA_NO_PADDING);
    ck_assert_int_ne(EVP_PKEY_decrypt(c, out, &outlen, in, sizeof in), 1);
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(r);
}
END_TEST

START_TEST(no_channel_fails)
{
    EVP_PKEY *e = stub(kp.eckey, 1, 0);
    fe_keystub_set_channel(-1);
    ck_assert_int_eq(sign_verify(e, kp.eckey, 0), 0);
    EVP_PKEY_free(e);
}
END_TEST

START_TEST(key_process_gone_is_lost)
{
    EVP_PKEY *e = stub(kp.eckey, 1, 0);
    kill(kp.kc.pid, SIGKILL);
    waitpid(kp.kc.pid, NULL, 0);
    ck_assert_int_eq(sign_verify(e, kp.eckey, 0), 0);
    ck_assert(fe_keystub_lost());
    ck_assert_int_eq(sign_verify(e, kp.eckey, 0), 0); /* at once from now on */
    fe_keystub_set_channel(-1);
    ck_assert(!fe_keystub_lost()); /* a new channel starts afresh */
    EVP_PKEY_free(e);
}
END_TEST

START_TEST(bad_public_key_refused)
{
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    ck_assert_ptr_nonnull(ed);
    char err[256] = "";
    ck_assert_ptr_null(fe_keystub_new(ed, 1, 0, err, sizeof err));
    ck_assert_msg(err[0], "no reason given");
    EVP_PKEY_free(ed);
}
END_TEST

Suite *suite_fe_keystub(void);
Suite *suite_fe_keystub(void)
{
    Suite *s = suite_create("fe_keystub");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, ec_and_rsa_signatures_verify);
    tcase_add_test(tc, wrong_generation_or_vhost_fails_cleanly);
    tcase_add_test(tc, rsa_decrypt_refused);
    tcase_add_test(tc, no_channel_fails);
    tcase_add_test(tc, key_process_gone_is_lost);
    tcase_add_test(tc, bad_public_key_refused);
    suite_add_tcase(s, tc);
    return s;
}
