/* SPDX-License-Identifier: BSD-2-Clause */
/* HTTP Range parsing (see range.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <strings.h>

#include "backend/modules/range.h"

static const char *skip_ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* One byte-range-spec at *pp. Returns 1 with r set when satisfiable, 0 when
 * valid but not satisfiable, -1 on bad syntax; *pp moves past it. */
static int one_spec(const char **pp, off_t size, struct be_range *r)
{
    const char *p = *pp;
    char *end;
    errno = 0;
    if (*p == '-') {
        if (p[1] < '0' || p[1] > '9') /* strtoll would take a sign or blanks */
            return -1;
        long long suffix = strtoll(p + 1, &end, 10);
        if (errno)
            return -1;
        *pp = end;
        if (suffix == 0 || size == 0)
            return 0;
        r->first = suffix >= size ? 0 : size - suffix;
        r->last = size - 1;
        return 1;
    }
    if (*p < '0' || *p > '9')
        return -1;
    long long first = strtoll(p, &end, 10);
    if (errno || *end != '-')
        return -1;
    p = end + 1;
    long long last = -1;
    if (*p >= '0' && *p <= '9') {
        last = strtoll(p, &end, 10);
        if (errno || last < first)
            return -1;
        p = end;
    }
    *pp = p;
    if (first >= size)
        return 0;
    r->first = first;
    r->last = last < 0 || last >= size ? size - 1 : last;
    return 1;
}

/* Sorts by first (insertion sort: n <= BE_RANGE_MAX) and merges ranges that
 * overlap or touch. Returns the new count. */
static int coalesce(struct be_range *v, int n)
{
    for (int i = 1; i < n; i++) {
        struct be_range x = v[i];
        int j = i;
        for (; j > 0 && v[j - 1].first > x.first; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (m && v[i].first <= v[m - 1].last + 1) {
            if (v[i].last > v[m - 1].last)
                v[m - 1].last = v[i].last;
        } else {
            v[m++] = v[i];
        }
    }
    return m;
}

int be_range_parse(const char *h, off_t size, struct be_range *out)
{
    if (strncasecmp(h, "bytes=", 6) != 0)
        return -1;
    int n = 0, seen = 0;
    const char *p = h + 6;
    for (;;) {
        p = skip_ows(p);
        if (*p == ',') { /* empty list elements are allowed (RFC 9110 5.6.1) */
            p++;
            continue;
        }
        if (!*p)
            break;
        if (++seen > BE_RANGE_MAX)
            return -1;
        struct be_range r;
        int rc = one_spec(&p, size, &r);
        if (rc < 0)
            return -1;
        if (rc > 0)
            out[n++] = r;
        p = skip_ows(p);
        if (*p && *p != ',')
            return -1;
    }
    return seen ? coalesce(out, n) : -1;
}
