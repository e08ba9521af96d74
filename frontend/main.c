/* SPDX-License-Identifier: BSD-2-Clause */
/* bactrian-frontend: entry point. The shared main() in common/cli.c parses the
 * command line and loads the configuration, then hands over to the master
 * (frontend/master.c). */
#include "config.h"

#include "common/cfg.h"
#include "common/cli.h"
#include "frontend/arena.h"
#include "frontend/master.h"

int main(int argc, char **argv)
{
    /* Before anything allocates through OpenSSL; lean children need it. */
    fe_arena_install();
    static const struct bx_daemon_desc desc = {
        .prog = "bactrian-frontend",
        .what = "The frontend of the Bactrian web server: listeners, TLS, one process per client.",
        .need = BX_CONF_FRONTEND,
        .check = fe_master_check,
        .run = fe_master_run,
    };
    return bx_cli_main(argc, argv, &desc);
}
