/* SPDX-License-Identifier: BSD-2-Clause */
/* Moving bytes between a client and its backend connection until either
 * side is done. One loop (on one edge-triggered epoll) runs two directions,
 * each from its source side through a middle buffer to its destination side;
 * how the client side reads and writes is a transport, picked per relay:
 *   - plaintext and kernel TLS: splice(2) through two pipes (path "splice",
 *     "ktls+splice"), the bytes never enter user space;
 *   - TLS 1.2, or TLS 1.3 with records OpenSSL already buffered:
 *     SSL_read/SSL_write ("openssl");
 *   - TLS 1.3 otherwise: our own record layer (tlsrec.h), many records per
 *     read(2) and write(2) ("tlsrec").
 * Half-close is passed on, back-pressure stops reading the other side, and a
 * write that makes no progress for stall_ms or a connection without traffic
 * for idle_ms ends it. An idle splice or tlsrec relay can be handed to
 * another process (handoff). */
#ifndef BACTRIAN_FRONTEND_RELAY_H
#define BACTRIAN_FRONTEND_RELAY_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frontend/tlsrec.h"

struct bx_sb_slot;
struct fe_relay;

/* Called once a relay has been idle for FE_RELAY_HANDOFF_MS with nothing
 * buffered: 0 when another process took the connection over (the relay
 * then ends without touching either socket again), -1 to carry on. */
typedef int (*fe_relay_handoff_fn)(struct fe_relay *r, void *arg);
#define FE_RELAY_HANDOFF_MS 1000

struct fe_relay {
    int cfd, bfd;             /* client, backend (both non-blocking) */
    SSL *ssl;                 /* OpenSSL carries the records (TLS 1.2, or no tlsrec) */
    struct fe_tlsrec *rec;       /* or our own TLS 1.3 record layer; both NULL: plaintext */
    const unsigned char *cpre; /* client ciphertext already read (a partial record) */
    size_t cprelen;
    fe_relay_handoff_fn handoff; /* may be NULL */
    void *handoff_arg;
    int idle_ms, stall_ms;
    struct bx_sb_slot *slot;  /* byte counters, may be NULL */
    const unsigned char *pre; /* client bytes already read, sent first */
    size_t prelen;
    /* results */
    const char *path;         /* "splice", "ktls+splice", "openssl", "tlsrec" */
    const char *end;          /* why it ended: "closed", "idle", "stall", "reset" ... */
    uint64_t last_io;         /* monotonic ms of the last traffic, 0: now (the splice
                               * and tlsrec paths start their idle clock from it) */
    uint64_t in, out;         /* bytes client->backend, backend->client; counted
                               * on from their values at the start */
    bool no_fds;              /* ended before relaying anything: no descriptor to spare */
    bool unanswered;          /* the backend closed having sent nothing, and the
                               * client sent nothing beyond pre: safe to replay */
};

/* Runs the relay to its end (or its hand-off: end is then "handed off"). Returns 0 on a clean end, -1 on error/timeout. */
int fe_relay_run(struct fe_relay *r);

/* True when OpenSSL switched both directions of ssl to kernel TLS. */
int fe_relay_ktls_active(SSL *ssl);

#endif
