/* SPDX-License-Identifier: BSD-2-Clause */
/* Helpers shared by the Check unit tests. */
#ifndef BACTRIAN_TESTS_TESTUTIL_H
#define BACTRIAN_TESTS_TESTUTIL_H

#include <stddef.h>

/* Creates a fresh temporary directory; returns its path (static storage per call site not kept). */
char *tu_tmpdir(void);
/* Writes text to dir/name; returns the full path (malloc'ed). */
char *tu_write_file(const char *dir, const char *name, const char *text);

#endif
