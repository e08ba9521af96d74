/* SPDX-License-Identifier: BSD-2-Clause */
/* The Landlock layer of confinement (sandbox.h): file access only where
 * declared (bx_sandbox_allow_read, bx_sandbox_allow_log), no TCP bind or
 * connect, no signals and no abstract Unix sockets outside the process. On
 * a kernel without Landlock it does nothing: seccomp's argument filters then carry
 * the confinement alone (doc/design.md says what that leaves open). */
#ifndef BACTRIAN_COMMON_LANDLOCK_H
#define BACTRIAN_COMMON_LANDLOCK_H

#include <stddef.h>

#include "common/sandbox.h"

/* Restricts the calling process (no_new_privs must be set). Returns the
 * Landlock ABI applied (0: none available), or -1 with err filled. */
int bx_landlock_apply(enum bx_sandbox_profile p, char *err, size_t errlen);

#endif
