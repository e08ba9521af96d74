/* SPDX-License-Identifier: BSD-2-Clause */
/* The seccomp allow-lists of the confinement profiles (sandbox.h). */
#ifndef BACTRIAN_COMMON_SANDBOX_RULES_H
#define BACTRIAN_COMMON_SANDBOX_RULES_H

#include <seccomp.h>
#include <sys/types.h>

#include "common/sandbox.h"

/* Adds profile p's rules to ctx (default action: trap); self is the
 * process's own pid, the only target of its signals. 0 or -errno. */
int bx_sandbox_rules(scmp_filter_ctx ctx, enum bx_sandbox_profile p, pid_t self);

#endif
