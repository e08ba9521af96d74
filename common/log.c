/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

int bx_log_threshold = BX_LOG_INFO;

static const char *log_ident = "bactrian";
static enum { LOG_TO_STDERR, LOG_TO_FILE, LOG_TO_SYSLOG } log_kind = LOG_TO_STDERR;
static int log_fd = 2;
static char *log_path;

static const unsigned *follow_seq;
static unsigned follow_seen;

static int access_fd = -1;
static char *access_path;

static const char *const level_names[] = {
    [BX_LOG_EMERG] = "emerg",
    [1] = "alert",
    [2] = "crit",
    [BX_LOG_ERROR] = "error",
    [BX_LOG_WARN] = "warn",
    [BX_LOG_NOTICE] = "notice",
    [BX_LOG_INFO] = "info",
    [BX_LOG_DEBUG] = "debug",
};

void bx_log_set_ident(const char *ident)
{
    log_ident = ident;
}

static int open_append(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

int bx_log_open(const char *target, char *err, size_t errlen)
{
    bx_log_close();
    if (!target || strcmp(target, "stderr") == 0) {
        log_kind = LOG_TO_STDERR;
        log_fd = 2;
        return 0;
    }
    if (strcmp(target, "syslog") == 0) {
        log_kind = LOG_TO_SYSLOG;
        openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
        return 0;
    }
    int fd = open_append(target);
    if (fd == -1) {
        snprintf(err, errlen, "cannot open error log %s: %s", target, strerror(errno));
        return -1;
    }
    log_kind = LOG_TO_FILE;
    log_fd = fd;
    log_path = strdup(target);
    return 0;
}

/* fd is the file at path (same device and inode): what a binary upgrade's
 * image before held open, and may still hold after it dropped root. */
static bool same_file(int fd, const char *path)
{
    struct stat a, b;
    return fd >= 0 && path && fstat(fd, &a) == 0 && stat(path, &b) == 0 && S_ISREG(a.st_mode) &&
           a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* fd becomes the error log, target its name for the next reopen. */
static int take_log(const char *target, int fd)
{
    bx_log_close();
    log_kind = LOG_TO_FILE;
    log_fd = fd;
    log_path = strdup(target);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    return 0;
}

static bool file_target(const char *target)
{
    return target && strcmp(target, "stderr") != 0 && strcmp(target, "syslog") != 0;
}

int bx_log_adopt(const char *target, int fd)
{
    if (!file_target(target) || !same_file(fd, target))
        return -1;
    return take_log(target, fd);
}

int bx_log_keep(const char *target, int fd)
{
    struct stat st;
    if (!file_target(target) || fd < 0 || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
        return -1;
    return take_log(target, fd);
}

int bx_log_file_fd(void)
{
    return log_kind == LOG_TO_FILE ? log_fd : -1;
}

int bx_log_reopen(void)
{
    if (log_kind != LOG_TO_FILE || !log_path)
        return 0;
    int fd = open_append(log_path);
    if (fd == -1) {
        bx_log_error("cannot reopen error log %s: %s", log_path, strerror(errno));
        return -1;
    }
    dup3(fd, log_fd, O_CLOEXEC);
    close(fd);
    return 0;
}

void bx_log_close(void)
{
    if (log_kind == LOG_TO_FILE && log_fd > 2)
        close(log_fd);
    if (log_kind == LOG_TO_SYSLOG)
        closelog();
    free(log_path);
    log_path = NULL;
    log_kind = LOG_TO_STDERR;
    log_fd = 2;
}

const char *bx_log_file(void)
{
    return log_kind == LOG_TO_FILE ? log_path : NULL;
}

const char *bx_access_log_file(void)
{
    return access_fd == -1 ? NULL : access_path;
}

void bx_log_follow(const unsigned *reopen_seq)
{
    follow_seq = reopen_seq;
    follow_seen = reopen_seq ? __atomic_load_n(reopen_seq, __ATOMIC_ACQUIRE) : 0;
}

int bx_log_level_parse(const char *name)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++)
        if (level_names[i] && strcasecmp(name, level_names[i]) == 0)
            return (int)i;
    if (strcasecmp(name, "warning") == 0)
        return BX_LOG_WARN;
    return -1;
}

const char *bx_log_level_name(int level)
{
    if (level < 0 || level > BX_LOG_DEBUG)
        return "?";
    return level_names[level];
}

static size_t format_time(char *out, size_t len, const char *fmt, time_t t, int local)
{
    struct tm tm;
    if (local)
        localtime_r(&t, &tm);
    else
        gmtime_r(&t, &tm);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    return strftime(out, len, fmt, &tm); /* fmt is always one of our literals */
#pragma GCC diagnostic pop
}

/* Lines that could not be written (a full disk: ENOSPC; a non-blocking pipe:
 * EAGAIN; a short write). A daemon never blocks or dies over its log: the line
 * is dropped and counted, and the first line that fits again is preceded by
 * one saying how many were lost. Counts are per process. */
struct drops {
    unsigned long long lines;
    int err;
    bool cut;                 /* a short write left a line without its newline */
};
static struct drops err_drops, access_drops;

static bool drop_line(struct drops *d, ssize_t w)
{
    d->lines++;
    if (w < 0)
        d->err = errno;
    else
        d->cut = d->cut || w > 0;
    return false;
}

/* Writes one whole line with a single write(2); false when it was dropped. */
static bool put_whole(int fd, struct drops *d, const char *p, size_t n)
{
    ssize_t w = write(fd, p, n);
    if (w == (ssize_t)n)
        return true;
    return drop_line(d, w);
}

static size_t line_head(char *out, size_t len, int level)
{
    size_t n = format_time(out, len, "%Y-%m-%dT%H:%M:%S%z ", time(NULL), 1);
    int k = snprintf(out + n, len - n, "[%s] %s[%d]: ", bx_log_level_name(level), log_ident,
                     (int)getpid());
    if (k > 0)
        n = n + (size_t)k < len ? n + (size_t)k : len - 1;
    return n;
}

/* The note about lost lines, then the line, in one write so they stay together. */
static void put_error_line(const char *line, size_t n)
{
    if (err_drops.lines == 0) {
        put_whole(log_fd, &err_drops, line, n);
        return;
    }
    char buf[2048 + 256];
    size_t m = 0;
    if (err_drops.cut)
        buf[m++] = '\n';
    m += line_head(buf + m, sizeof buf - m, BX_LOG_WARN);
    int k = snprintf(buf + m, sizeof buf - m, "%llu log lines dropped (%s)\n", err_drops.lines,
                     err_drops.err ? strerror(err_drops.err) : "short write");
    if (k > 0)
        m = m + (size_t)k < sizeof buf ? m + (size_t)k : sizeof buf - 1;
    if (m + n > sizeof buf)
        n = sizeof buf - m;
    memcpy(buf + m, line, n);
    unsigned long long had = err_drops.lines;
    if (put_whole(log_fd, &err_drops, buf, m + n))
        err_drops = (struct drops){0};
    else
        err_drops.lines = had + 1;
}

void bx_log_write(int level, const char *fmt, ...)
{
    int saved_errno = errno;
    char line[2048];
    size_t n = 0;
    va_list ap;

    if (follow_seq) {
        unsigned seq = __atomic_load_n(follow_seq, __ATOMIC_ACQUIRE);
        if (seq != follow_seen) {
            follow_seen = seq;
            bx_log_reopen();
        }
    }
    if (log_kind == LOG_TO_SYSLOG) {
        va_start(ap, fmt);
        vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        syslog(level, "%s", line);
        errno = saved_errno;
        return;
    }
    n = line_head(line, sizeof line, level);
    int k;
    va_start(ap, fmt);
    k = vsnprintf(line + n, sizeof line - n, fmt, ap);
    va_end(ap);
    if (k > 0)
        n = n + (size_t)k >= sizeof line - 1 ? sizeof line - 2 : n + (size_t)k;
    /* A line from a client must stay one line in the log. */
    for (size_t i = 0; i < n; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[n++] = '\n';
    put_error_line(line, n);
    errno = saved_errno;
}

int bx_access_log_open(const char *path, char *err, size_t errlen)
{
    bx_access_log_close();
    if (!path || !*path)
        return 0;
    int fd = open_append(path);
    if (fd == -1) {
        snprintf(err, errlen, "cannot open access log %s: %s", path, strerror(errno));
        return -1;
    }
    access_fd = fd;
    access_path = strdup(path);
    return 0;
}

int bx_access_log_adopt(const char *path, int fd)
{
    if (!path || !*path || !same_file(fd, path))
        return -1;
    bx_access_log_close();
    access_fd = fd;
    access_path = strdup(path);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    return 0;
}

int bx_access_log_fd(void)
{
    return access_fd;
}

int bx_access_log_reopen(void)
{
    if (access_fd == -1 || !access_path)
        return 0;
    int fd = open_append(access_path);
    if (fd == -1) {
        bx_log_error("cannot reopen access log %s: %s", access_path, strerror(errno));
        return -1;
    }
    dup3(fd, access_fd, O_CLOEXEC);
    close(fd);
    return 0;
}

void bx_access_log_close(void)
{
    if (access_fd != -1)
        close(access_fd);
    access_fd = -1;
    free(access_path);
    access_path = NULL;
}

int bx_access_log_enabled(void)
{
    return access_fd != -1;
}

/* Copies a client-supplied field, escaping quotes, backslashes and control bytes
 * so a request cannot forge log lines or fields. */
static size_t put_escaped(char *out, size_t room, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    if (!s)
        s = "-";
    for (; *s && n + 4 < room; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            out[n++] = '\\';
            out[n++] = 'x';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        } else {
            out[n++] = (char)c;
        }
    }
    return n;
}

size_t bx_access_log_format(const struct bx_access_entry *e, char *out, size_t outlen)
{
    size_t n = 0;
    char when[64];
    format_time(when, sizeof when, "%d/%b/%Y:%H:%M:%S %z", e->when, 1);

#define ROOM (n < outlen ? outlen - n : 0)
#define PUT(...)                                                                                   \
    do {                                                                                           \
        int k_ = snprintf(out + n, ROOM, __VA_ARGS__);                                             \
        if (k_ > 0)                                                                                \
            n = n + (size_t)k_ < outlen ? n + (size_t)k_ : outlen - 1;                             \
    } while (0)

    PUT("%s - ", e->client);
    n += put_escaped(out + n, ROOM, e->user);
    PUT(" [%s] \"", when);
    if (e->method) {
        n += put_escaped(out + n, ROOM, e->method);
        PUT(" ");
        n += put_escaped(out + n, ROOM, e->target);
        if (e->version) {
            PUT(" ");
            n += put_escaped(out + n, ROOM, e->version);
        }
    } else {
        PUT("-");
    }
    PUT("\" %d %llu \"", e->status, e->bytes);
    n += put_escaped(out + n, ROOM, e->referer);
    PUT("\" \"");
    n += put_escaped(out + n, ROOM, e->user_agent);
    PUT("\"");
    if (e->conn_id)
        PUT(" %s", e->conn_id);
#undef PUT
#undef ROOM
    if (n >= outlen)
        n = outlen - 1;
    out[n] = '\0';
    return n;
}

void bx_access_log_write(const struct bx_access_entry *e)
{
    if (access_fd == -1)
        return;
    char line[4096];
    size_t n = bx_access_log_format(e, line, sizeof line - 1);
    line[n++] = '\n';
    /* dropping an access line beats blocking a worker; the error log tells */
    if (access_drops.cut && access_drops.lines) {
        if (!put_whole(access_fd, &access_drops, "\n", 1))
            return;
        access_drops.cut = false;
    }
    if (!put_whole(access_fd, &access_drops, line, n) || access_drops.lines == 0)
        return;
    unsigned long long lost = access_drops.lines;
    int why = access_drops.err;
    access_drops = (struct drops){0};
    bx_log_warn("%llu access log lines dropped (%s)", lost, why ? strerror(why) : "short write");
}
