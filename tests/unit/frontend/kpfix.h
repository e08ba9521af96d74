/* SPDX-License-Identifier: BSD-2-Clause */
/* A real key process for the key tests (test_keyproc, test_keystub): forked
 * from the test as the master forks it, with an ECDSA P-256 key for vhost 0
 * and an RSA 2048 key for vhost 1 loaded and committed as generation 1. */
#ifndef BACTRIAN_TESTS_UNIT_FRONTEND_KPFIX_H
#define BACTRIAN_TESTS_UNIT_FRONTEND_KPFIX_H

#include <openssl/evp.h>
#include <stdint.h>

#include "frontend/keyctl.h"

struct kpfix {
    EVP_PKEY *eckey, *rsakey;
    char ecpath[64], rsapath[64]; /* the keys' PEM files */
    struct fe_keyctl kc;          /* the master's side */
    uint32_t seq;                 /* of the last request, control or sign */
    char err[512];                /* of the last control answer */
};

void kpfix_start(struct kpfix *f);
void kpfix_stop(struct kpfix *f);
/* One control message (nvhosts 2) and its answer: the answer's status. */
int kpfix_ctl(struct kpfix *f, uint32_t type, uint32_t gen, uint32_t vhost, const char *path);

#endif
