/* SPDX-License-Identifier: BSD-2-Clause */
/* The backend master: binds, loads modules, supervises workers. */
#ifndef BACTRIAN_BACKEND_MASTER_H
#define BACTRIAN_BACKEND_MASTER_H

struct bx_cli;
struct bx_config;

/* Checks what -t can check beyond the file itself (modules and their
 * settings). Prints errors to stderr; returns 0 or -1. */
int be_master_check(struct bx_config *cfg);
/* Runs the daemon until it is stopped; returns the exit status. */
int be_master_run(const struct bx_cli *cli, struct bx_config *cfg);

#endif
