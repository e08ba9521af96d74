/* SPDX-License-Identifier: BSD-2-Clause */
/* Error log and access log.
 *
 * The error log goes to stderr, a file or syslog. Each line is written with a
 * single write(2) on an O_APPEND descriptor so lines from many processes never
 * interleave. The level is checked before arguments are formatted. */
#ifndef BACTRIAN_COMMON_LOG_H
#define BACTRIAN_COMMON_LOG_H

#include <stddef.h>
#include <time.h>

enum bx_log_level {
    BX_LOG_EMERG = 0,
    BX_LOG_ERROR = 3,
    BX_LOG_WARN = 4,
    BX_LOG_NOTICE = 5,
    BX_LOG_INFO = 6,
    BX_LOG_DEBUG = 7,
};

extern int bx_log_threshold;

#define bx_log(level, ...)                                                                         \
    do {                                                                                           \
        if ((level) <= bx_log_threshold)                                                           \
            bx_log_write((level), __VA_ARGS__);                                                    \
    } while (0)
#define bx_log_error(...) bx_log(BX_LOG_ERROR, __VA_ARGS__)
#define bx_log_warn(...) bx_log(BX_LOG_WARN, __VA_ARGS__)
#define bx_log_notice(...) bx_log(BX_LOG_NOTICE, __VA_ARGS__)
#define bx_log_info(...) bx_log(BX_LOG_INFO, __VA_ARGS__)
#define bx_log_debug(...) bx_log(BX_LOG_DEBUG, __VA_ARGS__)

/* Sets the program name used in every line ("bactrian-backend"). */
void bx_log_set_ident(const char *ident);
/* target: "stderr", "syslog" or a file path. Returns 0, or -1 with err filled. */
int bx_log_open(const char *target, char *err, size_t errlen);
/* Reopens a file target (after rotation). Returns 0 or -1 (the old fd stays). */
int bx_log_reopen(void);
void bx_log_close(void);
/* A binary upgrade (upgrade.h): the error log's descriptor when it is a
 * file (else -1), for the image before to pass on; and the new image's take
 * of it, when fd is the file at target still (0; else -1, fd untouched): a
 * master that dropped root may no longer open its log by name. */
int bx_log_file_fd(void);
int bx_log_adopt(const char *target, int fd);
/* As bx_log_adopt without the check that fd still is the file at target
 * (only that it is a regular file): when target moved and cannot be opened
 * again, the log goes on in the file it was, as after a failed reopen. */
int bx_log_keep(const char *target, int fd);
/* Processes that cannot take USR1 themselves (frontend children) follow a
 * counter in shared memory instead: when it has changed since the last line,
 * the file is reopened before writing, so a rotated log is let go. */
void bx_log_follow(const unsigned *reopen_seq);
/* The error log's file, NULL when it goes to stderr or syslog (confinement
 * lets a process reopen it there, common/sandbox.h). */
const char *bx_log_file(void);
void bx_log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Maps "error", "warn", "notice", "info", "debug" to a level; -1 if unknown. */
int bx_log_level_parse(const char *name);
const char *bx_log_level_name(int level);

/* Access log in Combined Log Format, one per process, reopened on demand. */
struct bx_access_entry {
    const char *client;       /* address as text, never NULL */
    const char *user;         /* NULL = "-" */
    time_t when;
    const char *method;       /* request line parts; NULL if unparsed */
    const char *target;
    const char *version;
    int status;
    unsigned long long bytes; /* body bytes sent */
    const char *referer;      /* NULL = "-" */
    const char *user_agent;   /* NULL = "-" */
    const char *conn_id;      /* appended as a last field when not NULL */
};

int bx_access_log_open(const char *path, char *err, size_t errlen);
int bx_access_log_reopen(void);
void bx_access_log_close(void);
/* As bx_log_file_fd and bx_log_adopt, for the access log. */
int bx_access_log_fd(void);
int bx_access_log_adopt(const char *path, int fd);
int bx_access_log_enabled(void);
const char *bx_access_log_file(void); /* NULL when there is none */
/* Formats one CLF line into out (always NUL-terminated); returns its length. */
size_t bx_access_log_format(const struct bx_access_entry *e, char *out, size_t outlen);
void bx_access_log_write(const struct bx_access_entry *e);

#endif
