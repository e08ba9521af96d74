/* SPDX-License-Identifier: BSD-2-Clause */
/* The report of an upgrade's -t check: what the new binary, reading the new
 * configuration, tells the running master it will need, so that the master
 * can make sure of it before the execve, while a failure can still leave it
 * running. The master does not parse the configuration itself: its own
 * parser may not know settings the new binary adds.
 *
 * The running master makes a memfd and names it in BACTRIAN_UPGRADE_REPORT_FD
 * (set only there, in the check's child); the -t run that finds it writes the
 * report there when the configuration is good, and leaves the private keys
 * to the key process (frontend). The memfd rather than stdout: stdout and
 * stderr share the pipe whose text becomes the log line, and a memfd is read
 * after the exit, whole, with no pipe capacity to mind. The text:
 *   bactrian-upgrade-check 1
 *   listen tcp PORT ADDR | listen unix PATH   (every listener of the config)
 *   unix-socket 1 PATH MODE OWNER GROUP       (how a Unix listener is made)
 *   <a daemon's own lines>                    (the frontend's: its TLS keys)
 *   end
 * Our lines are words one space apart, each field whole (common/words.h);
 * what the parser takes, the writer functions below could have written.
 * A unix-socket line carries its own version (1): mode in octal, owner and
 * group as configured, "-" when not set. A master that predates the line
 * keeps it among the daemon's lines and ignores it; one that finds another
 * version of it keeps it there too (and knows that socket's path only).
 * A binary that predates the report writes none: the master then does what
 * it did before (report.present false). */
#ifndef BACTRIAN_COMMON_UPGRADE_REPORT_H
#define BACTRIAN_COMMON_UPGRADE_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/listeners.h"

#define BX_UPGRADE_REPORT_ENV "BACTRIAN_UPGRADE_REPORT_FD"
#define BX_UPGRADE_REPORT_VERSION 1
#define BX_UPGRADE_REPORT_LINE 4096 /* longest line, newline included */

#define BX_UPGRADE_USOCK_VERSION 1
#define BX_UPGRADE_NAME_MAX 256 /* an owner or group name, NUL included */

/* How a Unix listener is made, as the new configuration says. */
struct bx_upgrade_usock {
    const char *path;
    int mode;                 /* 0..07777 */
    const char *owner, *group; /* NULL: not set */
};

struct bx_upgrade_report {
    bool present;             /* the check wrote a report */
    struct bx_lplace *ls;     /* every listener of the new configuration */
    size_t nls;
    struct bx_upgrade_usock *us; /* the unix-socket lines (strings owned) */
    size_t nus;
    char **lines;             /* the daemon's own lines, without the newline */
    size_t nlines;
};

/* ---- in the -t run ---- */
/* The descriptor to write the report to, or -1 (not an upgrade's check).
 * The variable is removed from the environment. */
int bx_upgrade_report_fd(void);
/* A listener line into b (the text of at must hold no space or newline:
 * -1 then, nothing added). */
int bx_upgrade_report_listener(struct bx_buf *b, const struct bx_lplace *at);
/* A unix-socket line into b: -1 (nothing added) when a name or the path
 * holds a space or newline, is "-" or empty, or is too long. */
int bx_upgrade_report_usock(struct bx_buf *b, const struct bx_upgrade_usock *s);
/* Writes the version line, body (the lines above) and the end line to fd
 * and closes it. 0, or -1 (errno). */
int bx_upgrade_report_write(int fd, const struct bx_buf *body);

/* ---- in the running master ---- */
/* Parses text (len bytes) into r (zeroed by the caller). 0, or -1 with err. */
int bx_upgrade_report_parse(struct bx_upgrade_report *r, const char *text, size_t len, char *err,
                            size_t errlen);
/* Reads the report from the memfd (from its start, bounded) into r: 0 (r
 * not present when it is empty), or -1 with err. */
int bx_upgrade_report_read(struct bx_upgrade_report *r, int fd, char *err, size_t errlen);
/* The unix-socket line for path, or NULL (none, or of another version). */
const struct bx_upgrade_usock *bx_upgrade_report_usock_find(const struct bx_upgrade_report *r,
                                                            const char *path);
void bx_upgrade_report_free(struct bx_upgrade_report *r);

#endif
