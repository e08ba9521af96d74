/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target: the binary upgrade's record (common/upgrade.c,
 * bx_upgrade_parse), which the new image reads from the memfd the old one
 * left it. What it accepts must hold within its bounds (ports, descriptors,
 * pids, names and paths that the writer can write back); written again by
 * bx_upgrade_format, it parses to the same record; and every line written
 * is, word for word, a line of the input (uptok.h), so nothing was cut
 * short, clamped or skipped. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/upgrade.h"
#include "tests/fuzz/uptok.h"

static bool word_ok(const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    if (n == 0 || n >= max)
        return false;
    return !memchr(s, ' ', n) && !memchr(s, '\n', n); /* the writer's rule */
}

static void check_bounds(const struct bx_upgrade *u, size_t lines)
{
    if (u->pidfd < -1 || u->nls + u->kids.n + u->nvals > lines || u->nvals > BX_UPGRADE_MAXVALS)
        abort();
    for (size_t i = 0; i < u->nls; i++) {
        const struct bx_upgrade_listener *l = &u->ls[i];
        if (l->fd < 0 || l->opened)
            abort();
        if (l->unix_socket ? !word_ok(l->path, sizeof l->path)
                           : !word_ok(l->addr, sizeof l->addr) || l->port < 1 || l->port > 65535)
            abort();
    }
    for (size_t i = 0; i < u->kids.n; i++)
        if (u->kids.v[i].pid <= 0)
            abort();
    for (size_t i = 0; i < u->nvals; i++) {
        const struct bx_upgrade_val *v = &u->vals[i];
        if (!word_ok(v->name, sizeof v->name) || (v->is_fd && (v->v < 0 || v->v >= INT32_MAX)))
            abort();
        for (size_t j = 0; j < i; j++)
            if (strcmp(u->vals[j].name, v->name) == 0)
                abort();
    }
}

static size_t count_lines(const uint8_t *p, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += p[i] == '\n';
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct bx_upgrade u, v;
    char err[256] = "";
    bx_upgrade_init(&u);
    bx_upgrade_init(&v);
    if (bx_upgrade_parse(&u, text, size, err, sizeof err) != 0) {
        if (!err[0])
            abort();
        bx_upgrade_free(&u);
        return 0;
    }
    check_bounds(&u, count_lines(data, size));
    size_t len, len2;
    char *out = bx_upgrade_format(&u, &len);
    if (!out)
        abort();
    if (!uptok_lines_in_input(text, size, out, len))
        abort();
    if (bx_upgrade_parse(&v, out, len, err, sizeof err) != 0)
        abort();
    char *out2 = bx_upgrade_format(&v, &len2);
    if (!out2 || len2 != len || memcmp(out, out2, len) != 0)
        abort();
    free(out);
    free(out2);
    bx_upgrade_free(&u);
    bx_upgrade_free(&v);
    return 0;
}
