/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target: the report of an upgrade's -t check, which the running
 * master reads from what the new binary wrote: its common part
 * (common/upgrade_report.c) and the frontend's TLS vhost lines in it
 * (frontend/upvhost.c). What either accepts, its writer can write again
 * (bx_upgrade_report_listener / _usock, fe_upvhost_write), word for word a
 * line of the input (uptok.h: nothing cut short, clamped or skipped), and
 * what is written parses to the same report and vhosts. Bounds: counts,
 * indices below their maximum, no line over its limit, every key and
 * certificate path inside a line of the report. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/upgrade_report.h"
#include "frontend/upvhost.h"
#include "tests/fuzz/uptok.h"

static void same_str(const char *a, const char *b)
{
    if ((a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0))
        abort();
}

static void same_report(const struct bx_upgrade_report *a, const struct bx_upgrade_report *b)
{
    if (a->nls != b->nls || a->nus != b->nus || a->nlines != b->nlines || !b->present)
        abort();
    for (size_t i = 0; i < a->nls; i++) {
        same_str(a->ls[i].addr, b->ls[i].addr);
        same_str(a->ls[i].path, b->ls[i].path);
        if (a->ls[i].port != b->ls[i].port)
            abort();
    }
    for (size_t i = 0; i < a->nus; i++) {
        same_str(a->us[i].path, b->us[i].path);
        same_str(a->us[i].owner, b->us[i].owner);
        same_str(a->us[i].group, b->us[i].group);
        if (a->us[i].mode != b->us[i].mode)
            abort();
    }
    for (size_t i = 0; i < a->nlines; i++)
        same_str(a->lines[i], b->lines[i]);
}

/* The report written again from r (the body in the order the parser keeps
 * it: listeners, unix sockets, the daemon's lines); each line a line of in. */
static void rewrite(const struct bx_upgrade_report *r, struct bx_buf *b, const char *in,
                    size_t inlen)
{
    bx_buf_printf(b, "bactrian-upgrade-check %d\n", BX_UPGRADE_REPORT_VERSION);
    for (size_t i = 0; i < r->nls; i++) {
        const struct bx_lplace *at = &r->ls[i];
        if (!!at->addr == !!at->path || (at->addr && (at->port < 1 || at->port > 65535)) ||
            bx_upgrade_report_listener(b, at) != 0)
            abort();
    }
    for (size_t i = 0; i < r->nus; i++)
        if (r->us[i].mode < 0 || r->us[i].mode > 07777 ||
            bx_upgrade_report_usock(b, &r->us[i]) != 0)
            abort();
    for (size_t i = 0; i < r->nlines; i++) {
        size_t n = strlen(r->lines[i]);
        if (n >= BX_UPGRADE_REPORT_LINE - 1 || strchr(r->lines[i], '\n'))
            abort();
        bx_buf_printf(b, "%s\n", r->lines[i]);
    }
    bx_buf_append_str(b, "end\n");
    if (!uptok_lines_in_input(in, inlen, bx_buf_rpos(b), bx_buf_unread(b)))
        abort();
}

static bool in_a_line(const struct bx_upgrade_report *r, const char *s)
{
    for (size_t i = 0; i < r->nlines; i++) {
        size_t n = strlen(r->lines[i]);
        if (s >= r->lines[i] && s <= r->lines[i] + n && s + strlen(s) == r->lines[i] + n)
            return true;
    }
    return false;
}

static bool hex64(const char *h)
{
    for (size_t i = 0; i < FE_UPVHOST_HEXLEN - 1; i++)
        if (!strchr("0123456789abcdef", h[i]) || !h[i])
            return false;
    return h[FE_UPVHOST_HEXLEN - 1] == '\0';
}

/* The vhost lines: bounds, then written again, parsed again the same. */
static void vhosts(const struct bx_upgrade_report *r, const char *in, size_t inlen)
{
    struct fe_upvhost *w = NULL, *w2 = NULL;
    long n = fe_upvhost_parse(r, &w);
    if (n <= 0)
        return;
    if (n > KP_MAX_VHOSTS || !w)
        abort();
    struct bx_buf b = BX_BUF_INIT;
    for (long i = 0; i < n; i++) {
        const struct fe_upvhost *v = &w[i];
        if (!hex64(v->hex) || !in_a_line(r, v->key) || !in_a_line(r, v->cert) ||
            fe_upvhost_write(&b, (size_t)i, (size_t)n, v->hex, v->name, v->key, v->cert) != 0)
            abort();
    }
    if (!uptok_lines_in_input(in, inlen, bx_buf_rpos(&b), bx_buf_unread(&b)))
        abort();
    struct bx_upgrade_report r2 = {0};
    char err[256];
    struct bx_buf t = BX_BUF_INIT;
    bx_buf_printf(&t, "bactrian-upgrade-check 1\n");
    bx_buf_append(&t, bx_buf_rpos(&b), bx_buf_unread(&b));
    bx_buf_append_str(&t, "end\n");
    if (bx_upgrade_report_parse(&r2, bx_buf_rpos(&t), bx_buf_unread(&t), err, sizeof err) != 0 ||
        fe_upvhost_parse(&r2, &w2) != n)
        abort();
    for (long i = 0; i < n; i++)
        if (strcmp(w[i].hex, w2[i].hex) || strcmp(w[i].name, w2[i].name) ||
            strcmp(w[i].key, w2[i].key) || strcmp(w[i].cert, w2[i].cert))
            abort();
    free(w);
    free(w2);
    bx_upgrade_report_free(&r2);
    bx_buf_free(&b);
    bx_buf_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct bx_upgrade_report r = {0}, r2 = {0};
    char err[256] = "";
    if (bx_upgrade_report_parse(&r, text, size, err, sizeof err) != 0) {
        if (!err[0] || r.present)
            abort();
        bx_upgrade_report_free(&r);
        return 0;
    }
    if (!r.present || r.nls + r.nus + r.nlines > 4096)
        abort();
    struct bx_buf b = BX_BUF_INIT;
    rewrite(&r, &b, text, size);
    if (bx_upgrade_report_parse(&r2, bx_buf_rpos(&b), bx_buf_unread(&b), err, sizeof err) != 0)
        abort();
    same_report(&r, &r2);
    vhosts(&r, text, size);
    bx_buf_free(&b);
    bx_upgrade_report_free(&r);
    bx_upgrade_report_free(&r2);
    return 0;
}
