/* SPDX-License-Identifier: BSD-2-Clause */
/* The frontend's part of an upgrade's check (frontend/upcheck.c), the
 * running master's side: the keys the -t run reported are checked through a
 * real key process (kpfix) without a generation left pending or committed. */
#include "config.h"

#include <check.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#include "common/upgrade_report.h"
#include "frontend/keyctl.h"
#include "frontend/keyproc.h"
#include "frontend/upcheck.h"
#include "tests/unit/frontend/kpfix.h"

static struct kpfix kp;

static void setup(void)
{
    kpfix_start(&kp);
}

static void teardown(void)
{
    kpfix_stop(&kp);
}

static void digest(EVP_PKEY *k, char hex[65])
{
    unsigned char *der = NULL, md[32];
    unsigned n = 0;
    int len = i2d_PUBKEY(k, &der);
    ck_assert_int_gt(len, 0);
    ck_assert_int_eq(EVP_Digest(der, (size_t)len, md, &n, EVP_sha256(), NULL), 1);
    OPENSSL_free(der);
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* A report of two vhosts: vhost 0's key file key0, its certificate's key c0. */
static int check(const char *key0, EVP_PKEY *c0, char *err, size_t errlen)
{
    char h0[65], h1[65], text[2048];
    digest(c0, h0);
    digest(kp.rsakey, h1);
    snprintf(text, sizeof text,
             "bactrian-upgrade-check 1\nlisten tcp 443 127.0.0.1\n"
             "vhost 0 2 %s one.example\nvhost.key 0 %s\nvhost.cert 0 /c/one.crt\n"
             "vhost 1 2 %s two.example\nvhost.key 1 %s\nvhost.cert 1 /c/two.crt\nend\n",
             h0, key0, h1, kp.rsapath);
    struct bx_upgrade_report r = {0};
    ck_assert_int_eq(bx_upgrade_report_parse(&r, text, strlen(text), err, errlen), 0);
    int rc = fe_upcheck_keys(&kp.kc, &r, 2, err, errlen);
    bx_upgrade_report_free(&r);
    return rc;
}

/* Nothing stays pending: a commit of generation 2 finds it incomplete. */
static void nothing_pending(void)
{
    ck_assert_int_eq(kpfix_ctl(&kp, KP_CTL_COMMIT, 2, 0, NULL), -1);
    ck_assert_ptr_nonnull(strstr(kp.err, "not complete"));
}

START_TEST(matching_keys_pass)
{
    char err[512];
    ck_assert_int_eq(check(kp.ecpath, kp.eckey, err, sizeof err), 0);
    nothing_pending();
}
END_TEST

START_TEST(mismatch_and_missing_are_named)
{
    char err[512];
    ck_assert_int_eq(check(kp.ecpath, kp.rsakey, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "vhost 'one.example': key "));
    ck_assert_ptr_nonnull(strstr(err, "does not match certificate /c/one.crt"));
    nothing_pending();
    ck_assert_int_eq(check("/nonexistent/k.pem", kp.eckey, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "vhost 'one.example'"));
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/k.pem"));
    nothing_pending();
}
END_TEST

START_TEST(odd_reports_refused)
{
    char err[512];
    struct bx_upgrade_report r = {0};
    const char *text = "bactrian-upgrade-check 1\nvhost 0 2 abc one\nend\n";
    ck_assert_int_eq(bx_upgrade_report_parse(&r, text, strlen(text), err, sizeof err), 0);
    ck_assert_int_eq(fe_upcheck_keys(&kp.kc, &r, 2, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "not understood"));
    bx_upgrade_report_free(&r);
    /* No vhost: nothing to check. */
    text = "bactrian-upgrade-check 1\nlisten tcp 80 ::\nend\n";
    ck_assert_int_eq(bx_upgrade_report_parse(&r, text, strlen(text), err, sizeof err), 0);
    ck_assert_int_eq(fe_upcheck_keys(&kp.kc, &r, 2, err, sizeof err), 0);
    bx_upgrade_report_free(&r);
    /* Keys but no key process to check them with. */
    struct fe_keyctl none = {.ctl = -1, .own = -1};
    char h[65];
    digest(kp.eckey, h);
    char t2[512];
    snprintf(t2, sizeof t2,
             "bactrian-upgrade-check 1\nvhost 0 1 %s one\nvhost.key 0 /k\nvhost.cert 0 /c\nend\n",
             h);
    ck_assert_int_eq(bx_upgrade_report_parse(&r, t2, strlen(t2), err, sizeof err), 0);
    ck_assert_int_eq(fe_upcheck_keys(&none, &r, 2, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "no key process"));
    bx_upgrade_report_free(&r);
}
END_TEST

Suite *suite_fe_upcheck(void);
Suite *suite_fe_upcheck(void)
{
    Suite *s = suite_create("fe_upcheck");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, matching_keys_pass);
    tcase_add_test(tc, mismatch_and_missing_are_named);
    tcase_add_test(tc, odd_reports_refused);
    suite_add_tcase(s, tc);
    return s;
}
