/* SPDX-License-Identifier: BSD-2-Clause */
/* The key stub: what the master and the children hold instead of a private
 * key. It is the certificate's public key with an OpenSSL method whose
 * private operations ask the key process (keyproc.h) over this process's sign
 * channel. Only the certificate's public half is ever in these processes. */
#ifndef BACTRIAN_FRONTEND_KEYSTUB_H
#define BACTRIAN_FRONTEND_KEYSTUB_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>

/* A stub for the key of vhost `vhost` of generation `gen` whose public half
 * is pub (RSA or EC). NULL with err filled. */
EVP_PKEY *fe_keystub_new(EVP_PKEY *pub, unsigned gen, unsigned vhost, char *err, size_t errlen);

/* This process's sign channel (-1: none; signatures then fail cleanly). */
void fe_keystub_set_channel(int fd);
/* True once the key process was found gone on this channel: the process
 * should take no new client (a new one gets a channel to the new key process). */
bool fe_keystub_lost(void);

#endif
