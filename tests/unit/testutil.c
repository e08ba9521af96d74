/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "tests/unit/testutil.h"

char *tu_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *tmpl;
    if (asprintf(&tmpl, "%s/bactrian-test-XXXXXX", base ? base : "/tmp") < 0)
        abort();
    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    return tmpl;
}

char *tu_write_file(const char *dir, const char *name, const char *text)
{
    char *path;
    if (asprintf(&path, "%s/%s", dir, name) < 0)
        abort();
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

char *tu_slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) {
            cap *= 2;
            buf = realloc(buf, cap);
            ck_assert_ptr_nonnull(buf);
        }
    }
    buf[n] = '\0';
    fclose(f);
    return buf;
}

size_t tu_count(const char *hay, const char *needle)
{
    size_t n = 0, len = strlen(needle);
    for (const char *p = hay; len && (p = strstr(p, needle)) != NULL; p += len)
        n++;
    return n;
}

char *tu_log_to_tmp(void)
{
    char *dir = tu_tmpdir();
    char *path;
    if (asprintf(&path, "%s/error.log", dir) < 0)
        abort();
    free(dir);
    char err[256];
    ck_assert_msg(bx_log_open(path, err, sizeof err) == 0, "%s", err);
    return path;
}

void tu_rm_rf(const char *dir)
{
    char *cmd;
    if (asprintf(&cmd, "rm -rf '%s'", dir) >= 0 && system(cmd) != 0) {
        /* best effort */
    }
    free(cmd);
}
