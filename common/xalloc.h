/* SPDX-License-Identifier: BSD-2-Clause */
/* Allocation that never returns NULL: out of memory aborts the process.
 * Every client-controlled size is bounded before it reaches these, so OOM here
 * means the machine is out of memory, not that a client asked for too much. */
#ifndef BACTRIAN_COMMON_XALLOC_H
#define BACTRIAN_COMMON_XALLOC_H

#include <stddef.h>

void *bx_xmalloc(size_t n);
void *bx_xcalloc(size_t n, size_t size);
void *bx_xrealloc(void *p, size_t n);
char *bx_xstrdup(const char *s);
char *bx_xstrndup(const char *s, size_t n);

#endif
