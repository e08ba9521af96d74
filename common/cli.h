/* SPDX-License-Identifier: BSD-2-Clause */
/* The command line both daemons share: -c FILE, -f, -t, -V, -h. */
#ifndef BACTRIAN_COMMON_CLI_H
#define BACTRIAN_COMMON_CLI_H

#include <stdbool.h>

struct bx_cli {
    const char *prog;        /* "bactrian-backend" */
    const char *config;      /* -c, or the default under sysconfdir */
    bool foreground;         /* -f: no daemon, log to stderr */
    bool test_only;          /* -t */
};

/* Parses argv; prints and exits for -V, -h and usage errors. */
void bx_cli_parse(struct bx_cli *cli, int argc, char **argv, const char *prog, const char *what);

/* Loads the config for -t or a start. With -t prints "configuration OK" and
 * exits 0, or prints every error and exits 1. Otherwise returns 0 or prints
 * the errors and returns -1. need is BX_CONF_FRONTEND or BX_CONF_BACKEND. */
struct bx_config;
int bx_cli_load_config(const struct bx_cli *cli, struct bx_config *c, int need);

/* What a daemon plugs into the shared main(): its name, one line about it,
 * the config section it needs, the checks -t runs beyond the file itself
 * (0 or -1, errors printed), and the master that runs until stopped. */
struct bx_daemon_desc {
    const char *prog;
    const char *what;
    int need;
    int (*check)(struct bx_config *cfg);
    int (*run)(const struct bx_cli *cli, struct bx_config *cfg);
};

/* The whole main() of both daemons: parse, load, -t or run. */
int bx_cli_main(int argc, char **argv, const struct bx_daemon_desc *d);

#endif
