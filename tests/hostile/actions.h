/* SPDX-License-Identifier: BSD-2-Clause */
/* Attacker actions for the hostile-child test (tests/integration/
 * sandbox_hostile.py), run inside a real confined process: a frontend child
 * of the test build of bactrian-frontend (fe_hook.c) or a backend worker
 * serving the test module hostile.so (mod_hostile.c). Test code only: never
 * linked into the shipped daemons.
 *
 * Each action tries one thing a taken-over process must not be able to do
 * and answers "RESULT <action> ok ..." when it got through (the isolation
 * failed) or "RESULT <action> denied <errno> <text>" when the kernel refused.
 * An action the seccomp filter traps never answers: the process dies by
 * SIGSYS and its master logs "killed by seccomp: system call NAME".
 *
 * To add an action: write a function `static int act_NAME(const char *arg,
 * char *out, size_t outlen)` that returns 0 when the attempt succeeded and
 * an errno value when it was refused, and add {"NAME", act_NAME} to the
 * table in actions.c; then a line in the test's ACTIONS table. */
#ifndef BACTRIAN_TESTS_HOSTILE_ACTIONS_H
#define BACTRIAN_TESTS_HOSTILE_ACTIONS_H

#include <stddef.h>

/* Runs action with arg (may be "") and writes one result line (with '\n')
 * into out. Returns its length. */
size_t hostile_run(const char *action, const char *arg, char *out, size_t outlen);

#endif
