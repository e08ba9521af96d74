/* bactrian-backend: entry point. Parses the command line, loads and checks
 * the configuration, then hands over to the master (backend/master.c). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "backend/master.h"
#include "common/cli.h"
#include "common/cfg.h"

int main(int argc, char **argv)
{
    struct bx_cli cli;
    struct bx_config cfg;
    bx_cli_parse(&cli, argc, argv, "bactrian-backend",
                 "The backend of the Bactrian web server: HTTP routing, page modules, WebSocket.");
    if (bx_cli_load_config(&cli, &cfg, BX_CONF_BACKEND) == -1)
        return 1;
    if (cli.test_only) {
        int rc = be_master_check(&cfg);
        if (rc == 0)
            printf("configuration OK\n");
        else
            fprintf(stderr, "%s: configuration test failed\n", cli.prog);
        bx_config_free(&cfg);
        return rc == 0 ? 0 : 1;
    }
    int status = be_master_run(&cli, &cfg);
    bx_config_free(&cfg);
    return status;
}
