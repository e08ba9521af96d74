/* SPDX-License-Identifier: BSD-2-Clause */
/* common/cfg_value.c: durations, sizes and TLS versions read directly from
 * libconfig settings, as the bm_conf_* accessors read a module's values
 * (test_cfg.c covers the same parsers through whole files). */
#include "config.h"

#include <check.h>
#include <libconfig.h>
#include <openssl/ssl.h>

#include "common/cfg.h"
#include "common/cfg_int.h"

static config_t lc;

/* The setting v of a one-line file "v = TEXT;". */
static const config_setting_t *value(const char *text)
{
    char file[128];
    snprintf(file, sizeof file, "v = %s;\n", text);
    config_destroy(&lc);
    config_init(&lc);
    ck_assert_msg(config_read_string(&lc, file) == CONFIG_TRUE, "%s", file);
    return config_lookup(&lc, "v");
}

START_TEST(durations)
{
    double ms = -1;
    ck_assert_int_eq(bx_cfg_duration_ms(value("3"), &ms), 0);
    ck_assert(ms == 3000.0);
    ck_assert_int_eq(bx_cfg_duration_ms(value("0.25"), &ms), 0);
    ck_assert(ms == 250.0);
    ck_assert_int_eq(bx_cfg_duration_ms(value("\"2d\""), &ms), 0);
    ck_assert(ms == 2.0 * 86400000);
    ck_assert_int_eq(bx_cfg_duration_ms(value("\"10ms\""), &ms), 0);
    ck_assert(ms == 10.0);
    ck_assert_int_eq(bx_cfg_duration_ms(value("\"10\""), &ms), -1);   /* a unit is needed */
    ck_assert_int_eq(bx_cfg_duration_ms(value("\"1w\""), &ms), -1);   /* no such unit */
    ck_assert_int_eq(bx_cfg_duration_ms(value("\"nan s\""), &ms), -1);
    ck_assert_int_eq(bx_cfg_duration_ms(value("false"), &ms), -1);
}
END_TEST

START_TEST(sizes)
{
    int64_t n = -1;
    ck_assert_int_eq(bx_cfg_size(value("4096"), &n), 0);
    ck_assert_int_eq(n, 4096);
    ck_assert_int_eq(bx_cfg_size(value("\"3k\""), &n), 0);
    ck_assert_int_eq(n, 3072);
    ck_assert_int_eq(bx_cfg_size(value("\"1GB\""), &n), 0);
    ck_assert_int_eq(n, INT64_C(1) << 30);
    ck_assert_int_eq(bx_cfg_size(value("\"7\""), &n), 0);
    ck_assert_int_eq(n, 7);
    ck_assert_int_eq(bx_cfg_size(value("\"7B\""), &n), -1); /* B only after a unit */
    ck_assert_int_eq(bx_cfg_size(value("\"-1K\""), &n), -1);
    ck_assert_int_eq(bx_cfg_size(value("\"9999999999999G\""), &n), -1); /* overflow */
    ck_assert_int_eq(bx_cfg_size(value("1.5"), &n), -1);
}
END_TEST

START_TEST(tls_versions)
{
    ck_assert_int_eq(bx_cfg_tls_version("TLSv1.2"), TLS1_2_VERSION);
    ck_assert_int_eq(bx_cfg_tls_version("TLSv1.3"), TLS1_3_VERSION);
    ck_assert_int_eq(bx_cfg_tls_version("TLSv1.1"), 0);
    ck_assert_int_eq(bx_cfg_tls_version("tlsv1.3"), 0);
}
END_TEST

static void setup(void)
{
    config_init(&lc);
}

static void teardown(void)
{
    config_destroy(&lc);
}

Suite *suite_cfg_value(void);
Suite *suite_cfg_value(void)
{
    Suite *s = suite_create("cfg_value");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, durations);
    tcase_add_test(tc, sizes);
    tcase_add_test(tc, tls_versions);
    suite_add_tcase(s, tc);
    return s;
}
