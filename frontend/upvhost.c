/* SPDX-License-Identifier: BSD-2-Clause */
/* The TLS vhost lines of an upgrade check's report (upvhost.h). */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/upgrade_report.h"
#include "common/words.h"
#include "frontend/upvhost.h"

static bool carried(const char *s, size_t max, bool spaces)
{
    return s && *s && strlen(s) < max && !strchr(s, '\n') && (spaces || !strchr(s, ' '));
}

int fe_upvhost_write(struct bx_buf *b, size_t i, size_t n, const char *hex, const char *name,
                     const char *key, const char *cert)
{
    if (!carried(name, KP_MAX_NAME, false) || !carried(key, KP_MAX_PATH, true) ||
        !carried(cert, KP_MAX_PATH, true))
        return -1;
    bx_buf_printf(b, "vhost %zu %zu %s %s\n", i, n, hex, name);
    bx_buf_printf(b, "vhost.key %zu %s\n", i, key);
    bx_buf_printf(b, "vhost.cert %zu %s\n", i, cert);
    return 0;
}

/* "WORD IDX REST": IDX and REST (not empty, shorter than KP_MAX_PATH), or
 * -1. IDX is a whole number (common/words.h), followed by one space. */
static long indexed(const char *line, const char *word, const char **rest)
{
    size_t wl = strlen(word);
    char num[8];
    long long i;
    if (strncmp(line, word, wl) != 0 || line[wl] != ' ')
        return -1;
    const char *p = line + wl + 1, *sp = strchr(p, ' ');
    if (!sp || (size_t)(sp - p) >= sizeof num)
        return -1;
    memcpy(num, p, (size_t)(sp - p));
    num[sp - p] = '\0';
    if (!bx_word_ll(num, 0, KP_MAX_VHOSTS - 1, &i) || !sp[1] || strlen(sp + 1) >= KP_MAX_PATH)
        return -1;
    *rest = sp + 1;
    return (long)i;
}

static bool hex_digest(const char *h)
{
    return strlen(h) == FE_UPVHOST_HEXLEN - 1 && strspn(h, "0123456789abcdef") == strlen(h);
}

/* "vhost IDX NVHOSTS HEX NAME" into w (allocated at the first, of NVHOSTS;
 * every later one must say the same): 0, or -1. */
static int vhost_line(const char *line, struct fe_upvhost **w, long *n)
{
    char copy[BX_UPGRADE_REPORT_LINE], *v[5];
    long long i, total;
    snprintf(copy, sizeof copy, "%s", line);
    if (bx_words(copy, v, 5) != 5 || strcmp(v[0], "vhost") != 0 ||
        !bx_word_ll(v[2], 1, KP_MAX_VHOSTS, &total) || !bx_word_ll(v[1], 0, total - 1, &i) ||
        (*n && total != *n) || !hex_digest(v[3]) || strlen(v[4]) >= KP_MAX_NAME)
        return -1;
    if (!*w && !(*w = calloc((size_t)total, sizeof **w)))
        return -1;
    *n = (long)total;
    struct fe_upvhost *x = &(*w)[i];
    if (x->hex[0])
        return -1; /* twice: not what the writer makes */
    memcpy(x->hex, v[3], FE_UPVHOST_HEXLEN);
    memcpy(x->name, v[4], strlen(v[4]) + 1);
    return 0;
}

/* A vhost.key or vhost.cert line into its slot (once): 0, or -1. */
static int path_line(const char *line, const char *word, struct fe_upvhost *w, long n, bool cert)
{
    const char *rest;
    long i = indexed(line, word, &rest);
    if (i < 0 || i >= n)
        return -1;
    const char **slot = cert ? &w[i].cert : &w[i].key;
    if (*slot)
        return -1;
    *slot = rest;
    return 0;
}

long fe_upvhost_parse(const struct bx_upgrade_report *rep, struct fe_upvhost **out)
{
    struct fe_upvhost *w = NULL;
    long n = 0;
    for (size_t l = 0; l < rep->nlines; l++) {
        const char *line = rep->lines[l];
        int rc = strncmp(line, "vhost ", 6) == 0         ? vhost_line(line, &w, &n)
                 : strncmp(line, "vhost.key ", 10) == 0  ? path_line(line, "vhost.key", w, n, false)
                 : strncmp(line, "vhost.cert ", 11) == 0 ? path_line(line, "vhost.cert", w, n, true)
                                                         : -1;
        if (rc == -1)
            goto bad;
    }
    for (long i = 0; i < n; i++)
        if (!w[i].hex[0] || !w[i].key || !w[i].cert)
            goto bad;
    *out = w;
    return n;
bad:
    free(w);
    return -1;
}
