/* SPDX-License-Identifier: BSD-2-Clause */
/* The TLS vhost lines of an upgrade check's report (upvhost.h). */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/upgrade_report.h"
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

/* "WORD IDX REST": IDX and REST, or -1. */
static long indexed(const char *line, const char *word, const char **rest)
{
    size_t wl = strlen(word);
    char *end;
    if (strncmp(line, word, wl) != 0 || line[wl] != ' ')
        return -1;
    long i = strtol(line + wl + 1, &end, 10);
    if (end == line + wl + 1 || *end != ' ' || i < 0 || i >= KP_MAX_VHOSTS)
        return -1;
    *rest = end + 1;
    return i;
}

long fe_upvhost_parse(const struct bx_upgrade_report *rep, struct fe_upvhost **out)
{
    struct fe_upvhost *w = NULL;
    long n = 0;
    for (size_t l = 0; l < rep->nlines; l++) {
        const char *line = rep->lines[l], *rest;
        long i, total;
        char hex[FE_UPVHOST_HEXLEN], name[KP_MAX_NAME];
        if ((i = indexed(line, "vhost", &rest)) >= 0) {
            if (sscanf(rest, "%ld %64s %255s", &total, hex, name) != 3 || total <= i ||
                total > KP_MAX_VHOSTS || (n && total != n) ||
                strlen(hex) != FE_UPVHOST_HEXLEN - 1)
                goto bad;
            if (!w && !(w = calloc((size_t)total, sizeof *w)))
                goto bad;
            n = total;
            memcpy(w[i].hex, hex, FE_UPVHOST_HEXLEN);
            snprintf(w[i].name, sizeof w[i].name, "%s", name);
        } else if ((i = indexed(line, "vhost.key", &rest)) >= 0 && i < n) {
            w[i].key = rest;
        } else if ((i = indexed(line, "vhost.cert", &rest)) >= 0 && i < n) {
            w[i].cert = rest;
        } else {
            goto bad;
        }
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
