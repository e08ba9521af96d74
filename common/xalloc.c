/* SPDX-License-Identifier: BSD-2-Clause */
/* Allocation that aborts on out of memory instead of returning NULL (see
 * xalloc.h for why that is safe here). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/xalloc.h"

static void oom(size_t n)
{
    char msg[96];
    int len = snprintf(msg, sizeof msg, "bactrian: out of memory allocating %zu bytes\n", n);
    if (len > 0 && write(2, msg, (size_t)len) < 0) {
        /* nothing more we can do */
    }
    abort();
}

void *bx_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *bx_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *bx_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *bx_xstrdup(const char *s)
{
    return bx_xstrndup(s, strlen(s));
}

char *bx_xstrndup(const char *s, size_t n)
{
    char *p = bx_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}
