/* SPDX-License-Identifier: BSD-2-Clause */
/* The frontend's part of an upgrade's -t check (common/upgrade_report.h).
 *
 * The new image never reads a private key: it keeps the key process, which
 * kept CAP_DAC_READ_SEARCH when the master dropped root. So the -t run of
 * the check (as frontend.user) does not read them either: it reads each TLS
 * vhost's certificate, builds the contexts with the certificate's public key
 * standing in for the key, and reports per vhost the key file and the
 * SHA-256 of the certificate's SubjectPublicKeyInfo:
 *   vhost IDX NVHOSTS SPKI-SHA256-HEX NAME
 *   vhost.key IDX PATH
 *   vhost.cert IDX PATH
 * The running master then has the kept key process load each key into its
 * pending generation (never committed: the generations the children run
 * stay as they are) and compares the public halves with those digests, as
 * a reload compares them with the certificates. A key missing, unreadable
 * or not matching refuses the upgrade, the log line naming vhost and file. */
#ifndef BACTRIAN_FRONTEND_UPCHECK_H
#define BACTRIAN_FRONTEND_UPCHECK_H

#include <openssl/evp.h>
#include <stddef.h>

#include "common/buf.h"

struct bx_config;
struct bx_upgrade_report;
struct fe_keyctl;

/* ---- the -t run ---- */
/* The public key of each vhost's certificate (cfg->nvhosts of them), or
 * NULL with err (which names vhost and file). */
EVP_PKEY **fe_upcheck_cert_keys(const struct bx_config *cfg, char *err, size_t errlen);
void fe_upcheck_free_keys(EVP_PKEY **pubs, size_t n);
/* The report's lines for cfg (listeners, and vhosts when pubs) into b: 0,
 * or -1 with err (a name or path the report cannot carry). */
int fe_upcheck_lines(const struct bx_config *cfg, EVP_PKEY **pubs, struct bx_buf *b, char *err,
                     size_t errlen);

/* ---- the running master ---- */
/* Checks the report's keys through the key process as generation gen (left
 * pending, then dropped). 0 (also when the report names no key), or -1 with
 * err. */
int fe_upcheck_keys(struct fe_keyctl *kc, const struct bx_upgrade_report *rep, unsigned gen,
                    char *err, size_t errlen);

#endif
