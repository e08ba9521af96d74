/* Moving bytes between a client and its backend connection until either
 * side is done: splice(2) through pipes for plaintext (and for kernel TLS),
 * SSL_read/SSL_write with bounded buffers otherwise. Half-close is passed
 * on, back-pressure stops reading the other side, and a write that makes no
 * progress for stall_ms or a connection without traffic for idle_ms ends it. */
#ifndef BACTRIAN_FRONTEND_RELAY_H
#define BACTRIAN_FRONTEND_RELAY_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fe_slot;

struct fe_relay {
    int cfd, bfd;             /* client, backend (both non-blocking) */
    SSL *ssl;                 /* NULL for plaintext */
    int idle_ms, stall_ms;
    struct fe_slot *slot;     /* byte counters, may be NULL */
    const unsigned char *pre; /* client bytes already read, sent first */
    size_t prelen;
    /* results */
    const char *path;         /* "splice", "ktls+splice", "openssl" */
    const char *end;          /* why it ended: "closed", "idle", "stall", "reset" ... */
    uint64_t in, out;         /* bytes client->backend, backend->client */
    bool unanswered;          /* the backend closed having sent nothing, and the
                               * client sent nothing beyond pre: safe to replay */
};

/* Runs the relay to its end. Returns 0 on a clean end, -1 on error/timeout. */
int fe_relay_run(struct fe_relay *r);

/* True when OpenSSL switched both directions of ssl to kernel TLS. */
int fe_relay_ktls_active(SSL *ssl);

#endif
