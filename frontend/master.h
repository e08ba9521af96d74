/* SPDX-License-Identifier: BSD-2-Clause */
/* The frontend master: binds services, builds TLS contexts, keeps the pool. */
#ifndef BACTRIAN_FRONTEND_MASTER_H
#define BACTRIAN_FRONTEND_MASTER_H

struct bx_cli;
struct bx_config;

/* Checks what -t can check beyond the file itself (certificates load and
 * match their keys). Prints errors to stderr; returns 0 or -1. */
int fe_master_check(struct bx_config *cfg);
/* Runs the daemon until it is stopped; returns the exit status. */
int fe_master_run(const struct bx_cli *cli, struct bx_config *cfg);

#endif
