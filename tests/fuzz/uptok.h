/* SPDX-License-Identifier: BSD-2-Clause */
/* For the upgrade fuzzers: a line of text compared with another word by
 * word, as an independent reading of what a parser took from it. Words are
 * runs of bytes that are not white space (as scanf's); two words are the
 * same when their bytes are, or when both are whole decimal numbers of the
 * same value (a writer prints 7 for an input's +7 or 007). A parser that
 * cut a word short, took a number that does not fit, or skipped what
 * followed, gives a line that is no line of its input. */
#ifndef BACTRIAN_TESTS_FUZZ_UPTOK_H
#define BACTRIAN_TESTS_FUZZ_UPTOK_H

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool uptok_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* The next word of [*p, end): its start and length, *p past it; false at the end. */
static bool uptok_next(const char **p, const char *end, const char **w, size_t *n)
{
    while (*p < end && uptok_space((unsigned char)**p))
        (*p)++;
    if (*p == end)
        return false;
    *w = *p;
    while (*p < end && !uptok_space((unsigned char)**p))
        (*p)++;
    *n = (size_t)(*p - *w);
    return true;
}

static bool uptok_num(const char *w, size_t n, long long *v)
{
    char tmp[32], *e;
    size_t t = 0, i = 0;
    if (n && (w[0] == '-' || w[0] == '+'))
        tmp[t++] = w[i++];
    while (i + 1 < n && w[i] == '0') /* leading zeros change nothing */
        i++;
    if (i == n || n - i >= sizeof tmp - t || w[i] < '0' || w[i] > '9')
        return false;
    memcpy(tmp + t, w + i, n - i);
    tmp[t + n - i] = '\0';
    errno = 0;
    *v = strtoll(tmp, &e, 10);
    return *e == '\0' && errno == 0;
}

static bool uptok_same_word(const char *a, size_t an, const char *b, size_t bn)
{
    long long x, y;
    if (an == bn && memcmp(a, b, an) == 0)
        return true;
    return uptok_num(a, an, &x) && uptok_num(b, bn, &y) && x == y;
}

/* Lines [a, a+an) and [b, b+bn) hold the same words. */
static bool uptok_same_line(const char *a, size_t an, const char *b, size_t bn)
{
    const char *pa = a, *pb = b, *wa, *wb;
    size_t na, nb;
    for (;;) {
        bool more_a = uptok_next(&pa, a + an, &wa, &na);
        bool more_b = uptok_next(&pb, b + bn, &wb, &nb);
        if (more_a != more_b)
            return false;
        if (!more_a)
            return true;
        if (!uptok_same_word(wa, na, wb, nb))
            return false;
    }
}

/* Some line of text[0, len) holds the words of line (no newline in it). */
static bool uptok_in_input(const char *text, size_t len, const char *line, size_t n)
{
    for (size_t at = 0; at < len;) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t ln = nl ? (size_t)(nl - (text + at)) : len - at;
        if (uptok_same_line(text + at, ln, line, n))
            return true;
        at += ln + 1;
    }
    return false;
}

/* Every line of out[0, outlen) but those skipped is a line of the input. */
static bool uptok_lines_in_input(const char *text, size_t len, const char *out, size_t outlen)
{
    for (size_t at = 0; at < outlen;) {
        const char *nl = memchr(out + at, '\n', outlen - at);
        size_t ln = nl ? (size_t)(nl - (out + at)) : outlen - at;
        if (!uptok_in_input(text, len, out + at, ln))
            return false;
        at += ln + 1;
    }
    return true;
}

#endif
