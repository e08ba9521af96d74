/* SPDX-License-Identifier: BSD-2-Clause */
/* The report of an upgrade's -t check (upgrade_report.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/upgrade_report.h"
#include "common/words.h"

/* More than any configuration has: bounds what a report may make us hold. */
#define MAX_REPORT (1u << 20)
#define MAX_ITEMS 4096
/* The longest address or path a line carries, the writer's bound and the
 * parser's, so that what one accepts the other does. */
#define LISTEN_TEXT_MAX (BX_UPGRADE_REPORT_LINE - 32)
#define USOCK_PATH_MAX (BX_UPGRADE_REPORT_LINE - 2 * BX_UPGRADE_NAME_MAX - 64)

int bx_upgrade_report_fd(void)
{
    const char *v = getenv(BX_UPGRADE_REPORT_ENV);
    if (!v)
        return -1;
    char *end;
    long fd = strtol(v, &end, 10);
    unsetenv(BX_UPGRADE_REPORT_ENV);
    if (*end || end == v || fd < 0 || fd > INT_MAX || fcntl((int)fd, F_GETFD) == -1)
        return -1;
    fcntl((int)fd, F_SETFD, FD_CLOEXEC);
    return (int)fd;
}

int bx_upgrade_report_listener(struct bx_buf *b, const struct bx_lplace *at)
{
    const char *text = at->path ? at->path : at->addr;
    if (!text || !*text || strpbrk(text, " \n") || strlen(text) >= LISTEN_TEXT_MAX)
        return -1;
    if (at->path)
        bx_buf_printf(b, "listen unix %s\n", at->path);
    else
        bx_buf_printf(b, "listen tcp %d %s\n", at->port, at->addr);
    return 0;
}

/* A name the line can carry: not empty, not "-", no space or newline. */
static bool word_ok(const char *w, size_t max)
{
    return w && *w && strcmp(w, "-") != 0 && !strpbrk(w, " \n") && strlen(w) < max;
}

int bx_upgrade_report_usock(struct bx_buf *b, const struct bx_upgrade_usock *s)
{
    if (!word_ok(s->path, USOCK_PATH_MAX) ||
        (s->owner && !word_ok(s->owner, BX_UPGRADE_NAME_MAX)) ||
        (s->group && !word_ok(s->group, BX_UPGRADE_NAME_MAX)) || s->mode < 0 || s->mode > 07777)
        return -1;
    bx_buf_printf(b, "unix-socket %d %s %04o %s %s\n", BX_UPGRADE_USOCK_VERSION, s->path, s->mode,
                  s->owner ? s->owner : "-", s->group ? s->group : "-");
    return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w == -1 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int bx_upgrade_report_write(int fd, const struct bx_buf *body)
{
    char head[64];
    int n = snprintf(head, sizeof head, "bactrian-upgrade-check %d\n", BX_UPGRADE_REPORT_VERSION);
    int rc = write_all(fd, head, (size_t)n);
    if (rc == 0 && body)
        rc = write_all(fd, bx_buf_rpos(body), bx_buf_unread(body));
    if (rc == 0)
        rc = write_all(fd, "end\n", 4);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

/* ---- the running master ---- */

/* A "listen" line's words into r->ls: 0, or -1. */
static int add_listener(struct bx_upgrade_report *r, char **w, int n)
{
    struct bx_lplace at = {0};
    long long port;
    if (n == 4 && strcmp(w[1], "tcp") == 0 && bx_word_ll(w[2], 1, 65535, &port) &&
        strlen(w[3]) < LISTEN_TEXT_MAX) {
        at.port = (int)port;
        at.addr = strdup(w[3]);
    } else if (n == 3 && strcmp(w[1], "unix") == 0 && strlen(w[2]) < LISTEN_TEXT_MAX) {
        at.path = strdup(w[2]);
    } else {
        return -1;
    }
    struct bx_lplace *v = realloc(r->ls, (r->nls + 1) * sizeof *v);
    if (v)
        r->ls = v; /* moved, even when the strdup failed */
    if (!v || (!at.addr && !at.path)) {
        free((char *)(at.addr ? at.addr : at.path));
        return -1;
    }
    v[r->nls++] = at;
    return 0;
}

/* An owner or group word: "-" (NULL: not set) or a name the writer takes. */
static bool name_word(const char *w, const char **out)
{
    *out = NULL;
    if (strcmp(w, "-") == 0)
        return true;
    return word_ok(w, BX_UPGRADE_NAME_MAX) && (*out = strdup(w)) != NULL;
}

/* The version of a unix-socket line (its second word), or -1. */
static long long usock_version(const char *line)
{
    char v[24];
    long long version;
    size_t n = strcspn(line + 12, " ");
    if (n >= sizeof v)
        return -1;
    memcpy(v, line + 12, n);
    v[n] = '\0';
    return bx_word_ll(v, 0, INT_MAX, &version) ? version : -1;
}

/* A unix-socket line of our version into r->us: 0; 1 when of another
 * version (kept as a daemon's line, whatever its words); -1 when malformed. */
static int add_usock(struct bx_upgrade_report *r, const char *line)
{
    char copy[BX_UPGRADE_REPORT_LINE], *w[6];
    long long version = usock_version(line);
    unsigned mode;
    if (version < 0)
        return -1;
    if (version != BX_UPGRADE_USOCK_VERSION)
        return 1;
    snprintf(copy, sizeof copy, "%s", line); /* split into words */
    struct bx_upgrade_usock s = {0};
    bool ok = bx_words(copy, w, 6) == 6 && word_ok(w[2], USOCK_PATH_MAX) &&
              bx_word_octal(w[3], 07777, &mode) && (s.path = strdup(w[2])) != NULL &&
              name_word(w[4], &s.owner) && name_word(w[5], &s.group);
    struct bx_upgrade_usock *v = ok ? realloc(r->us, (r->nus + 1) * sizeof *v) : NULL;
    if (!v) {
        free((char *)s.path);
        free((char *)s.owner);
        free((char *)s.group);
        return -1;
    }
    s.mode = (int)mode;
    r->us = v;
    v[r->nus++] = s;
    return 0;
}

static int add_line(struct bx_upgrade_report *r, const char *line)
{
    char **v = realloc(r->lines, (r->nlines + 1) * sizeof *v);
    if (!v)
        return -1;
    r->lines = v;
    if (!(v[r->nlines] = strdup(line)))
        return -1;
    r->nlines++;
    return 0;
}

/* One line but the first: 1 at the end line, 0, or -1. A line of ours is
 * read as words, each field a whole one (common/words.h); a daemon's line
 * is kept as it is. */
static int parse_line(struct bx_upgrade_report *r, const char *line)
{
    char copy[BX_UPGRADE_REPORT_LINE], *w[4];
    if (strcmp(line, "end") == 0)
        return 1;
    if (r->nls + r->nus + r->nlines >= MAX_ITEMS)
        return -1;
    if (strncmp(line, "listen ", 7) == 0) {
        snprintf(copy, sizeof copy, "%s", line); /* split into words */
        return add_listener(r, w, bx_words(copy, w, 4));
    }
    int rc = strncmp(line, "unix-socket ", 12) == 0 ? add_usock(r, line) : 1;
    return rc == 1 ? add_line(r, line) : rc;
}

/* The first line: this version's, as a whole. */
static bool version_line(const char *line)
{
    char copy[BX_UPGRADE_REPORT_LINE], *w[2];
    long long v;
    snprintf(copy, sizeof copy, "%s", line);
    return bx_words(copy, w, 2) == 2 && strcmp(w[0], "bactrian-upgrade-check") == 0 &&
           bx_word_ll(w[1], BX_UPGRADE_REPORT_VERSION, BX_UPGRADE_REPORT_VERSION, &v);
}

int bx_upgrade_report_parse(struct bx_upgrade_report *r, const char *text, size_t len, char *err,
                            size_t errlen)
{
    char line[BX_UPGRADE_REPORT_LINE];
    size_t at = 0;
    int end = 0;
    for (unsigned no = 1; at < len && !end; no++) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
        if (!nl || n >= sizeof line || memchr(text + at, '\0', n)) {
            snprintf(err, errlen, "upgrade check report: line %u unterminated or too long", no);
            return -1;
        }
        memcpy(line, text + at, n);
        line[n] = '\0';
        at += n + 1;
        if (no == 1)
            end = version_line(line) ? 0 : -2;
        else
            end = parse_line(r, line);
        if (end < 0) {
            snprintf(err, errlen, "upgrade check report: line %u %s: '%.64s'", no,
                     end == -2 ? "not of version 1" : "not understood", line);
            return -1;
        }
    }
    if (!end) {
        snprintf(err, errlen, "upgrade check report: truncated (no end line)");
        return -1;
    }
    r->present = true;
    return 0;
}

int bx_upgrade_report_read(struct bx_upgrade_report *r, int fd, char *err, size_t errlen)
{
    struct bx_buf b = BX_BUF_INIT;
    ssize_t n = 0;
    if (lseek(fd, 0, SEEK_SET) != 0)
        n = -1;
    while (n != -1 && (n = bx_buf_read_fd(&b, fd, 65536)) > 0)
        if (bx_buf_unread(&b) > MAX_REPORT) {
            snprintf(err, errlen, "upgrade check report: over %u bytes", MAX_REPORT);
            bx_buf_free(&b);
            return -1;
        }
    if (n == -1) {
        snprintf(err, errlen, "upgrade check report: read: %s", strerror(errno));
        bx_buf_free(&b);
        return -1;
    }
    int rc = bx_buf_unread(&b)
                 ? bx_upgrade_report_parse(r, bx_buf_rpos(&b), bx_buf_unread(&b), err, errlen)
                 : 0;
    bx_buf_free(&b);
    return rc;
}

const struct bx_upgrade_usock *bx_upgrade_report_usock_find(const struct bx_upgrade_report *r,
                                                            const char *path)
{
    for (size_t i = 0; path && i < r->nus; i++)
        if (strcmp(r->us[i].path, path) == 0)
            return &r->us[i];
    return NULL;
}

void bx_upgrade_report_free(struct bx_upgrade_report *r)
{
    for (size_t i = 0; i < r->nus; i++) {
        free((char *)r->us[i].path);
        free((char *)r->us[i].owner);
        free((char *)r->us[i].group);
    }
    free(r->us);
    for (size_t i = 0; i < r->nls; i++)
        free((char *)(r->ls[i].path ? r->ls[i].path : r->ls[i].addr));
    for (size_t i = 0; i < r->nlines; i++)
        free(r->lines[i]);
    free(r->ls);
    free(r->lines);
    memset(r, 0, sizeof *r);
}
