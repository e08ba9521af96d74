/* bactrian-frontend: entry point. Parses the command line, loads and checks
 * the configuration, then hands over to the master (frontend/master.c). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/cli.h"
#include "common/cfg.h"
#include "frontend/master.h"

int main(int argc, char **argv)
{
    struct bx_cli cli;
    struct bx_config cfg;
    bx_cli_parse(&cli, argc, argv, "bactrian-frontend",
                 "The frontend of the Bactrian web server: listeners, TLS, one process per client.");
    if (bx_cli_load_config(&cli, &cfg, BX_CONF_FRONTEND) == -1)
        return 1;
    if (cli.test_only) {
        int rc = fe_master_check(&cfg);
        if (rc == 0)
            printf("configuration OK\n");
        else
            fprintf(stderr, "%s: configuration test failed\n", cli.prog);
        bx_config_free(&cfg);
        return rc == 0 ? 0 : 1;
    }
    int status = fe_master_run(&cli, &cfg);
    bx_config_free(&cfg);
    return status;
}
