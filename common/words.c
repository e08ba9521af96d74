/* SPDX-License-Identifier: BSD-2-Clause */
/* The words of a line (words.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/words.h"

int bx_words(char *line, char **w, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        char *sp = strchr(p, ' ');
        if (sp == p || !*p || n == max)
            return -1;
        w[n++] = p;
        if (!sp)
            return n;
        *sp = '\0';
        p = sp + 1;
    }
}

bool bx_word_ll(const char *w, long long lo, long long hi, long long *v)
{
    const char *d = w[0] == '-' ? w + 1 : w;
    if (!*d || strspn(d, "0123456789") != strlen(d))
        return false;
    errno = 0;
    long long x = strtoll(w, NULL, 10);
    if (errno || x < lo || x > hi)
        return false;
    *v = x;
    return true;
}

bool bx_word_octal(const char *w, unsigned max, unsigned *v)
{
    unsigned long x = 0;
    if (!*w || strspn(w, "01234567") != strlen(w))
        return false;
    for (const char *c = w; *c; c++)
        if ((x = x * 8 + (unsigned)(*c - '0')) > max)
            return false;
    *v = (unsigned)x;
    return true;
}
