/* SPDX-License-Identifier: BSD-2-Clause */
/* The frontend's part of an upgrade's -t check (upcheck.h). */
#include "config.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfg.h"
#include "common/upgrade_report.h"
#include "frontend/keyctl.h"
#include "frontend/keyproc.h"
#include "frontend/tls.h"
#include "frontend/upcheck.h"
#include "frontend/upvhost.h"

#define HEXLEN FE_UPVHOST_HEXLEN

/* SHA-256 of the DER SubjectPublicKeyInfo, in hex: 0 or -1. */
static int spki_digest(EVP_PKEY *k, char hex[HEXLEN])
{
    unsigned char *der = NULL, md[32];
    unsigned mdlen = 0;
    int len = i2d_PUBKEY(k, &der);
    int ok = len > 0 && EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL) == 1 &&
             mdlen == sizeof md;
    OPENSSL_free(der);
    for (unsigned i = 0; ok && i < sizeof md; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return ok ? 0 : -1;
}

/* ---- the -t run ---- */

static EVP_PKEY *cert_key(const struct bx_vhost *v, char *err, size_t errlen)
{
    BIO *b = v->cert ? BIO_new_file(v->cert, "r") : NULL;
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    EVP_PKEY *k = x ? X509_get_pubkey(x) : NULL;
    if (!k) {
        unsigned long e = ERR_get_error();
        snprintf(err, errlen, "vhost '%s': cannot load certificate %s: %s", v->name,
                 v->cert ? v->cert : "(none)", e ? ERR_reason_error_string(e) : "no certificate");
        ERR_clear_error();
    }
    X509_free(x);
    BIO_free(b);
    return k;
}

EVP_PKEY **fe_upcheck_cert_keys(const struct bx_config *cfg, char *err, size_t errlen)
{
    EVP_PKEY **pubs = calloc(cfg->nvhosts ? cfg->nvhosts : 1, sizeof *pubs);
    if (!pubs) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < cfg->nvhosts; i++)
        if (!(pubs[i] = cert_key(&cfg->vhosts[i], err, errlen))) {
            fe_upcheck_free_keys(pubs, cfg->nvhosts);
            return NULL;
        }
    return pubs;
}

void fe_upcheck_free_keys(EVP_PKEY **pubs, size_t n)
{
    for (size_t i = 0; pubs && i < n; i++)
        EVP_PKEY_free(pubs[i]);
    free(pubs);
}

static int vhost_lines(const struct bx_config *cfg, EVP_PKEY **pubs, struct bx_buf *b, char *err,
                       size_t errlen)
{
    for (size_t i = 0; i < cfg->nvhosts; i++) {
        const struct bx_vhost *v = &cfg->vhosts[i];
        char hex[HEXLEN];
        if (spki_digest(pubs[i], hex) == -1 ||
            fe_upvhost_write(b, i, cfg->nvhosts, hex, v->name, v->key, v->cert) == -1) {
            snprintf(err, errlen,
                     "vhost '%s': its name, key or certificate path cannot be "
                     "reported to the running master",
                     v->name);
            return -1;
        }
    }
    return 0;
}

int fe_upcheck_lines(const struct bx_config *cfg, EVP_PKEY **pubs, struct bx_buf *b, char *err,
                     size_t errlen)
{
    const struct bx_frontend_conf *fe = &cfg->fe;
    for (size_t i = 0; i < fe->nservices; i++)
        for (size_t k = 0; k < fe->services[i].bind.n; k++) {
            struct bx_lplace at = {.addr = fe->services[i].bind.v[k], .port = fe->services[i].port};
            if (bx_upgrade_report_listener(b, &at) == -1) {
                snprintf(err, errlen, "frontend.services.[%zu]: address '%s' cannot be reported", i,
                         at.addr);
                return -1;
            }
        }
    return pubs ? vhost_lines(cfg, pubs, b, err, errlen) : 0;
}

/* ---- the running master ---- */

static int check_one(struct fe_keyctl *kc, const struct fe_upvhost *w, size_t i, size_t n,
                     unsigned gen, char *err, size_t errlen)
{
    EVP_PKEY *pub;
    char hex[HEXLEN];
    if (fe_keyctl_try(kc, gen, i, n, w->name, w->key, &pub, err, errlen) == -1)
        return -1;
    int same = spki_digest(pub, hex) == 0 && strcmp(hex, w->hex) == 0;
    EVP_PKEY_free(pub);
    if (!same)
        snprintf(err, errlen, "vhost '%s': key %s does not match certificate %s", w->name, w->key,
                 w->cert);
    return same ? 0 : -1;
}

int fe_upcheck_keys(struct fe_keyctl *kc, const struct bx_upgrade_report *rep, unsigned gen,
                    char *err, size_t errlen)
{
    struct fe_upvhost *w = NULL;
    long n = fe_upvhost_parse(rep, &w);
    if (n <= 0) {
        if (n == -1)
            snprintf(err, errlen, "the check's report of the TLS vhosts is not understood");
        return (int)(n == -1 ? -1 : 0);
    }
    int rc = 0;
    if (kc->pid <= 0 || kc->ctl < 0) {
        snprintf(err, errlen,
                 "no key process runs to check the new configuration's keys with "
                 "(it is restarting, or TLS is new: restart the frontend instead)");
        rc = -1;
    }
    for (long i = 0; i < n && rc == 0; i++)
        rc = check_one(kc, &w[i], (size_t)i, (size_t)n, gen, err, errlen);
    if (kc->pid > 0)
        fe_keyctl_abort(kc); /* the pending generation: the new image loads its own */
    free(w);
    return rc;
}
