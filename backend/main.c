/* SPDX-License-Identifier: BSD-2-Clause */
/* bactrian-backend: entry point. The shared main() in common/cli.c parses the
 * command line and loads the configuration, then hands over to the master
 * (backend/master.c). */
#include "config.h"

#include "backend/master.h"
#include "common/cfg.h"
#include "common/cli.h"

int main(int argc, char **argv)
{
    static const struct bx_daemon_desc desc = {
        .prog = "bactrian-backend",
        .what = "The backend of the Bactrian web server: HTTP routing, page modules, WebSocket.",
        .need = BX_CONF_BACKEND,
        .check = be_master_check,
        .run = be_master_run,
    };
    return bx_cli_main(argc, argv, &desc);
}
