/* SPDX-License-Identifier: BSD-2-Clause */
/* Helpers shared by the Check unit tests. */
#ifndef BACTRIAN_TESTS_TESTUTIL_H
#define BACTRIAN_TESTS_TESTUTIL_H

#include <stddef.h>

/* Creates a fresh temporary directory; returns its path (static storage per call site not kept). */
char *tu_tmpdir(void);
/* Writes text to dir/name; returns the full path (malloc'ed). */
char *tu_write_file(const char *dir, const char *name, const char *text);
/* The whole file as a NUL-terminated string (malloc'ed). */
char *tu_slurp(const char *path);
/* How many times needle occurs in hay (not overlapping). */
size_t tu_count(const char *hay, const char *needle);
/* Sends this process's log (common/log.h) to a fresh file; returns its path
 * (malloc'ed) for tu_slurp. */
char *tu_log_to_tmp(void);
/* Removes a directory tree made by tu_tmpdir (best effort). */
void tu_rm_rf(const char *dir);

#endif
