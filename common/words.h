/* SPDX-License-Identifier: BSD-2-Clause */
/* The words of a line of the binary upgrade's text formats (upgrade.h,
 * upgrade_report.h): separated by exactly one space, as their writers put
 * them, and numbers that are whole words. scanf reads such lines wrongly
 * in four ways the fuzzers found: a space in its format matches no space
 * at all ("tcp80" is "tcp 80"), a width cuts a long word in two and reads
 * the rest as the next field, a number that does not fit is undefined
 * (glibc wraps a %d), and what follows the last field is ignored unless
 * each caller checks. */
#ifndef BACTRIAN_COMMON_WORDS_H
#define BACTRIAN_COMMON_WORDS_H

#include <stdbool.h>
#include <stddef.h>

/* Splits line (NUL-terminated; each space becomes a NUL) into w: the
 * number of words, or -1 when there are more than max or one is empty
 * (an empty line, two spaces together, a space first or last). */
int bx_words(char *line, char **w, int max);
/* w is a whole decimal number ('-' allowed first, nothing else) in [lo, hi]:
 * true and *v. */
bool bx_word_ll(const char *w, long long lo, long long hi, long long *v);
/* w is a whole octal number in [0, max]: true and *v. */
bool bx_word_octal(const char *w, unsigned max, unsigned *v);

#endif
