/* SPDX-License-Identifier: BSD-2-Clause */
/* kTLS and our TLS 1.3 record layer are never both active on a connection
 * (frontend/tls.c): the rule as a pure function, and fe_tls_take_keys on a
 * real TLS 1.3 handshake with the kernel's kTLS switched on by the test-only
 * override, since the machines running this have no tls module. */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "frontend/tls.h"
#include "frontend/tlsrec.h"

START_TEST(rule_never_stacks_records_on_ktls)
{
    /* every combination: ours only for TLS 1.3, keys known, nothing buffered, no kTLS */
    for (int m = 0; m < 32; m++) {
        bool v13 = m & 1, send = m & 2, recv = m & 4, keys = m & 8, buf = m & 16;
        bool ours = fe_tls_records_ours(v13 ? TLS1_3_VERSION : TLS1_2_VERSION, send, recv, keys,
                                        buf);
        ck_assert_msg(ours == (v13 && !send && !recv && keys && !buf), "case %d", m);
    }
}
END_TEST

static void add_cert(SSL_CTX *ctx)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    ck_assert_ptr_nonnull(key);
    ck_assert_ptr_nonnull(x);
    X509_set_version(x, 2);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, key);
    ck_assert_int_gt(X509_sign(x, key, EVP_sha256()), 0);
    ck_assert_int_eq(SSL_CTX_use_certificate(ctx, x), 1);
    ck_assert_int_eq(SSL_CTX_use_PrivateKey(ctx, key), 1);
    X509_free(x);
    EVP_PKEY_free(key);
}

/* A TLS 1.3 handshake over a socketpair with the frontend's key capture on
 * the server; returns fe_tls_take_keys' answer for it. */
static int handshake_and_take(int force)
{
    SSL_CTX *sctx = SSL_CTX_new(TLS_server_method()), *cctx = SSL_CTX_new(TLS_client_method());
    ck_assert_ptr_nonnull(sctx);
    ck_assert_ptr_nonnull(cctx);
    SSL_CTX_set_min_proto_version(sctx, TLS1_3_VERSION);
    SSL_CTX_set_read_ahead(sctx, 0);
    fe_tls_capture_keys(sctx);
    add_cert(sctx);
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    for (int i = 0; i < 2; i++)
        fcntl(sv[i], F_SETFL, fcntl(sv[i], F_GETFL) | O_NONBLOCK);
    SSL *s = SSL_new(sctx), *c = SSL_new(cctx);
    SSL_set_fd(s, sv[0]);
    SSL_set_fd(c, sv[1]);
    SSL_set_accept_state(s);
    SSL_set_connect_state(c);
    int sdone = 0, cdone = 0;
    for (int i = 0; i < 1000 && !(sdone && cdone); i++) {
        if (!cdone)
            cdone = SSL_do_handshake(c) == 1;
        if (!sdone)
            sdone = SSL_do_handshake(s) == 1;
    }
    ck_assert(sdone && cdone);
    fe_tls_ktls_force = force;
    struct fe_tlsrec rec;
    memset(&rec, 0, sizeof rec);
    int rc = fe_tls_take_keys(s, &rec);
    fe_tls_ktls_force = 0;
    fe_tlsrec_free(&rec);
    SSL_free(s);
    SSL_free(c);
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
    close(sv[0]);
    close(sv[1]);
    return rc;
}

START_TEST(take_keys_refuses_a_ktls_connection)
{
    /* Without kTLS the connection is ours (so the test can tell) ... */
    ck_assert_int_eq(handshake_and_take(0), 0);
    /* ... with kTLS on either way, or both, OpenSSL keeps it. */
    ck_assert_int_eq(handshake_and_take(FE_KTLS_SEND), -1);
    ck_assert_int_eq(handshake_and_take(FE_KTLS_RECV), -1);
    ck_assert_int_eq(handshake_and_take(FE_KTLS_SEND | FE_KTLS_RECV), -1);
}
END_TEST

Suite *suite_fe_ktls(void);
Suite *suite_fe_ktls(void)
{
    Suite *s = suite_create("fe_ktls");
    TCase *tc = tcase_create("rule");
    tcase_add_test(tc, rule_never_stacks_records_on_ktls);
    tcase_add_test(tc, take_keys_refuses_a_ktls_connection);
    suite_add_tcase(s, tc);
    return s;
}
