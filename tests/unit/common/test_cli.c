/* SPDX-License-Identifier: BSD-2-Clause */
/* The shared command line (common/cli.c): options land in struct bx_cli,
 * the default config is under sysconfdir, -V and -h exit 0, usage errors
 * exit 2. */
#include "config.h"

#include <check.h>
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "common/cli.h"

/* Parses a NULL-terminated argument list after the program name. */
static void parse(struct bx_cli *cli, char **args)
{
    char *argv[8] = {"prog"};
    int argc = 1;
    for (; *args && argc < 7; args++)
        argv[argc++] = *args;
    argv[argc] = NULL;
    optind = 0; /* glibc: start over, whatever an earlier parse left */
    bx_cli_parse(cli, argc, argv, "bactrian-test", "A test.");
}

START_TEST(defaults_without_options)
{
    struct bx_cli cli;
    parse(&cli, (char *[]){NULL});
    ck_assert_str_eq(cli.prog, "bactrian-test");
    ck_assert_str_eq(cli.config, SYSCONFDIR "/bactrian/bactrian.conf");
    ck_assert(!cli.foreground);
    ck_assert(!cli.test_only);
}
END_TEST

START_TEST(options_set_their_fields)
{
    struct bx_cli cli;
    parse(&cli, (char *[]){"-c", "/tmp/x.conf", "-f", "-t", NULL});
    ck_assert_str_eq(cli.config, "/tmp/x.conf");
    ck_assert(cli.foreground);
    ck_assert(cli.test_only);
}
END_TEST

START_TEST(grouped_flags)
{
    struct bx_cli cli;
    parse(&cli, (char *[]){"-ft", "-c/etc/y.conf", NULL});
    ck_assert_str_eq(cli.config, "/etc/y.conf");
    ck_assert(cli.foreground && cli.test_only);
}
END_TEST

/* These exit; Check runs each in its own process and checks the status. */
static void quiet(void)
{
    ck_assert_ptr_nonnull(freopen("/dev/null", "w", stdout));
    ck_assert_ptr_nonnull(freopen("/dev/null", "w", stderr));
}

START_TEST(version_exits_0)
{
    struct bx_cli cli;
    quiet();
    parse(&cli, (char *[]){"-V", NULL});
}
END_TEST

START_TEST(help_exits_0)
{
    struct bx_cli cli;
    quiet();
    parse(&cli, (char *[]){"-h", NULL});
}
END_TEST

START_TEST(unknown_option_exits_2)
{
    struct bx_cli cli;
    quiet();
    parse(&cli, (char *[]){"-x", NULL});
}
END_TEST

START_TEST(missing_argument_exits_2)
{
    struct bx_cli cli;
    quiet();
    parse(&cli, (char *[]){"-c", NULL});
}
END_TEST

START_TEST(stray_argument_exits_2)
{
    struct bx_cli cli;
    quiet();
    parse(&cli, (char *[]){"-f", "extra", NULL});
}
END_TEST

Suite *suite_cli(void);
Suite *suite_cli(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, defaults_without_options);
    tcase_add_test(tc, options_set_their_fields);
    tcase_add_test(tc, grouped_flags);
    tcase_add_exit_test(tc, version_exits_0, 0);
    tcase_add_exit_test(tc, help_exits_0, 0);
    tcase_add_exit_test(tc, unknown_option_exits_2, 2);
    tcase_add_exit_test(tc, missing_argument_exits_2, 2);
    tcase_add_exit_test(tc, stray_argument_exits_2, 2);
    suite_add_tcase(s, tc);
    return s;
}
