/* SPDX-License-Identifier: BSD-2-Clause */
/* The TLS vhost lines of an upgrade check's report (upcheck.h says why
 * they are there), as bytes: written by the -t run, parsed by the running
 * master. No key, file or process here, so that a fuzzer reads the parser
 * as the master runs it (tests/fuzz/fuzz_upgrade_report.c).
 *   vhost IDX NVHOSTS SPKI-SHA256-HEX NAME
 *   vhost.key IDX PATH        (the rest of the line: a path may hold spaces)
 *   vhost.cert IDX PATH */
#ifndef BACTRIAN_FRONTEND_UPVHOST_H
#define BACTRIAN_FRONTEND_UPVHOST_H

#include <stddef.h>

#include "common/buf.h"
#include "frontend/keyproc.h"

#define FE_UPVHOST_HEXLEN 65 /* SHA-256 in hex, NUL */

struct bx_upgrade_report;

struct fe_upvhost {
    char hex[FE_UPVHOST_HEXLEN];
    char name[KP_MAX_NAME];
    const char *key, *cert; /* into the report's lines */
};

/* The three lines of vhost i of n into b: 0, or -1 (nothing added) when
 * the name, key or certificate path cannot be carried. */
int fe_upvhost_write(struct bx_buf *b, size_t i, size_t n, const char *hex, const char *name,
                     const char *key, const char *cert);
/* The vhosts of the report's daemon lines into *out (malloc'ed, the
 * caller frees it): n, 0 (no vhost, *out NULL), or -1. Each field a whole
 * word (common/words.h), each path a line's rest, each line once. */
long fe_upvhost_parse(const struct bx_upgrade_report *rep, struct fe_upvhost **out);

#endif
