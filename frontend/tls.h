/* SPDX-License-Identifier: BSD-2-Clause */
/* TLS for the frontend: one SSL_CTX per vhost, built in the master before
 * forking, holding the certificate and a key stub (keystub.h) whose
 * signatures the key process makes; SNI picks the context; session tickets
 * use keys in memory shared by the master's children so every child can
 * resume every other child's sessions. */
#ifndef BACTRIAN_FRONTEND_TLS_H
#define BACTRIAN_FRONTEND_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

#include "frontend/tlsrec.h"

struct bx_config;
struct fe_tickets;

struct fe_tls {
    SSL_CTX **ctx;          /* one per vhost, same index as cfg->vhosts; NULL when no TLS */
    size_t n;
    size_t def;             /* index of the default vhost */
    unsigned gen;           /* the key generation the contexts' key stubs name */
    bool strict_sni;
    const struct bx_config *cfg;
};

/* What the SNI callback found, kept by the connection (SSL app data). */
struct fe_tls_conn {
    int vhost;              /* index into cfg->vhosts */
    char sni[256];          /* "" when the client sent none */
};

/* Does any service of cfg use TLS? */
bool fe_tls_wanted(const struct bx_config *cfg);
/* Builds every context (certificates are read now). pubs: the public halves of
 * key generation gen as the key process loaded them (keyctl.h), one per vhost;
 * each context gets a key stub. pubs NULL (-t): the key files are read here.
 * Returns 0, or -1 with err naming the vhost and file. */
int fe_tls_build(struct fe_tls *t, const struct bx_config *cfg, unsigned gen, EVP_PKEY **pubs,
                 char *err, size_t errlen);
void fe_tls_free(struct fe_tls *t);
/* Are pubs (one per vhost) the public keys of t's certificates? 0, or -1 with
 * err naming the first vhost whose key no longer matches. */
int fe_tls_keys_match(const struct fe_tls *t, EVP_PKEY **pubs, char *err, size_t errlen);
/* Where ticket keys are read from (the master's shared keys). */
void fe_tls_set_ticket_source(struct fe_tickets *t);
/* The same, for the hostile-child test's attacks on the keys (in a child,
 * only the read-only view of them is mapped). */
const struct fe_tickets *fe_tls_ticket_source(void);
/* The session ticket callback (SSL_CTX_set_tlsext_ticket_key_evp_cb), here
 * for the unit tests: 0 (no ticket, full handshake) whenever the shared keys
 * cannot be read consistently. */
int fe_tls_ticket_cb(SSL *ssl, unsigned char name[16], unsigned char *iv, EVP_CIPHER_CTX *cctx,
                     EVP_MAC_CTX *hctx, int enc);

/* A new server SSL on fd using the default vhost context, with conn as app data. */
SSL *fe_tls_new(const struct fe_tls *t, int fd, struct fe_tls_conn *conn);

/* After a finished handshake: sets rec up to carry on with the connection's
 * TLS 1.3 application traffic (secrets and sequence numbers taken from the
 * handshake) and wipes the captured secrets. -1 (secrets wiped too) when the
 * connection is not TLS 1.3 with a suite tlsrec knows, or OpenSSL holds
 * bytes already read: then OpenSSL carries on. */
int fe_tls_take_keys(SSL *ssl, struct fe_tlsrec *rec);
/* The rule fe_tls_take_keys applies: our record layer carries a connection
 * only when it is TLS 1.3 with secrets captured, OpenSSL holds no bytes it
 * read, and kernel TLS is on in neither direction (with kTLS the kernel
 * already seals or opens the records: never both on one connection). */
bool fe_tls_records_ours(int version, bool ktls_send, bool ktls_recv, bool keys_known,
                         bool buffered);
/* Installs the callbacks that capture the secrets fe_tls_take_keys needs
 * (done for every vhost context; tests use it on their own). */
void fe_tls_capture_keys(SSL_CTX *ctx);
/* Tests only: FE_KTLS_* bits taken as switched on for every connection, so a
 * machine without the kernel's tls module can check the rule. 0 in the daemon. */
enum { FE_KTLS_SEND = 1, FE_KTLS_RECV = 2 };
extern int fe_tls_ktls_force;
/* Wipes captured secrets (a handshake that failed, the master's warm-up). */
void fe_tls_forget_keys(void);

/* Last OpenSSL error as text ("" if none), clearing the queue. */
const char *fe_tls_error(char *buf, size_t len);

#endif
