/* SPDX-License-Identifier: BSD-2-Clause */
/* The command line both daemons share (-c, -f, -t, -V, -h) and bx_cli_main,
 * their common main(): parse, load the config, then test it (-t) or run. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/cli.h"
#include "common/cfg.h"

static void usage(FILE *out, const char *prog, const char *what)
{
    fprintf(out,
            "Usage: %s [-c FILE] [-f] [-t] [-V] [-h]\n"
            "%s\n\n"
            "  -c FILE  configuration file (default %s/bactrian/bactrian.conf)\n"
            "  -f       stay in the foreground and log to stderr\n"
            "  -t       test the configuration and exit\n"
            "  -V       print the version and exit\n"
            "  -h       print this help and exit\n"
            "\n"
            "Signals: HUP reload, TERM/INT graceful stop, QUIT immediate stop, USR1 reopen logs.\n",
            prog, what, SYSCONFDIR);
}

void bx_cli_parse(struct bx_cli *cli, int argc, char **argv, const char *prog, const char *what)
{
    cli->prog = prog;
    cli->config = SYSCONFDIR "/bactrian/bactrian.conf";
    cli->foreground = false;
    cli->test_only = false;
    int opt;
    while ((opt = getopt(argc, argv, "c:ftVh")) != -1) {
        switch (opt) {
        case 'c': cli->config = optarg; break;
        case 'f': cli->foreground = true; break;
        case 't': cli->test_only = true; break;
        case 'V': printf("%s %s\n", prog, PACKAGE_VERSION); exit(0);
        case 'h': usage(stdout, prog, what); exit(0);
        default: usage(stderr, prog, what); exit(2);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
        usage(stderr, prog, what);
        exit(2);
    }
}

int bx_cli_load_config(const struct bx_cli *cli, struct bx_config *c, int need)
{
    char *errors = NULL;
    if (bx_config_load(c, cli->config, need, &errors) == -1) {
        fputs(errors, stderr);
        free(errors);
        if (cli->test_only) {
            fprintf(stderr, "%s: configuration test failed\n", cli->prog);
            exit(1);
        }
        return -1;
    }
    return 0;
}

int bx_cli_main(int argc, char **argv, const struct bx_daemon_desc *d)
{
    struct bx_cli cli;
    struct bx_config cfg;
    bx_cli_parse(&cli, argc, argv, d->prog, d->what);
    if (bx_cli_load_config(&cli, &cfg, d->need) == -1)
        return 1;
    if (cli.test_only) {
        int rc = d->check(&cfg);
        if (rc == 0)
            printf("configuration OK\n");
        else
            fprintf(stderr, "%s: configuration test failed\n", cli.prog);
        bx_config_free(&cfg);
        return rc == 0 ? 0 : 1;
    }
    int status = d->run(&cli, &cfg);
    bx_config_free(&cfg);
    return status;
}
