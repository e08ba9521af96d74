/* SPDX-License-Identifier: BSD-2-Clause */
/* The hostile-child test's hook (child.h): a weak no-op in the daemon. The
 * test build of the frontend (tests/hostile) links a strong definition that
 * runs attacker actions inside a real confined child. */
#include "config.h"

#include "frontend/child.h"

__attribute__((weak)) int fe_test_hook(const struct fe_child_env *env, int fd,
                                       const unsigned char *first, size_t len)
{
    (void)env;
    (void)fd;
    (void)first;
    (void)len;
    return 0;
}
