/* SPDX-License-Identifier: BSD-2-Clause */
/* A frontend child's private state and the interface its files share (not
 * for anything outside frontend/child*.c):
 *
 *   child.c          fe_child_main (child.h): confinement, the loop over
 *                    clients; serve(), one client from admission (PROXY
 *                    header from a balancer, allow/deny, debug_ip,
 *                    per_ip_max) to the end of its relay
 *   child_accept.c   waiting with the other idle children for a client:
 *                    accept, the waiting room, refusal at the fd limit
 *   child_client.c   the client side before the relay: waits, error pages,
 *                    the PROXY header in, the TLS handshake, the first
 *                    request bytes (vhost by Host)
 *   child_backend.c  the backend side: picking and connecting a pool
 *                    member, the PROXY v2 header out, the relay and the
 *                    replay of a request a backend dropped, the hand-off
 *                    to a lean child
 *
 * One struct conn per client, passed to every function. */
#ifndef BACTRIAN_FRONTEND_CHILD_INT_H
#define BACTRIAN_FRONTEND_CHILD_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "common/net.h"
#include "frontend/child.h"
#include "frontend/refuse.h"
#include "frontend/relay.h"
#include "frontend/tls.h"
#include "frontend/tlsrec.h"

struct bx_config;
struct bx_vhost;

/* The first request bytes are kept (Host sniffing, replay) up to this. */
#define FIRST_READ 16384

struct conn {
    const struct fe_child_env *env;
    const struct bx_config *cfg;
    const struct fe_listener *l;
    int fd;
    struct sockaddr_storage client, local;
    socklen_t clientlen, locallen;
    char who[BX_ADDRSTRLEN];    /* client address for the log */
    SSL *ssl;
    struct fe_tls_conn tc;
    /* TLS 1.3 after the handshake: our own record layer (ssl stays for its
     * facts: version, ALPN, cipher), and the client bytes read but not yet
     * opened (at most one record when first_bytes stops). */
    bool use_rec, first_full;
    bool handed;                /* a lean child took the connection and our slot */
    struct fe_tlsrec rec;
    unsigned char cin[FE_TLSREC_MAX_RECORD];
    size_t cinlen;
    int vhost;
    uint64_t start_ms;
    char id[24];
    unsigned char first[FIRST_READ];
    size_t firstlen;
};

/* child_client.c */
/* Waits for fd to become ready for events until deadline; false on timeout. */
bool fe_child_wait_fd(int fd, short events, uint64_t deadline);
/* Reads and drops what the client still sends, briefly, before a close. */
void fe_child_drain(int fd);
/* Answers a small error page (http.h) and lets the client read it. */
void fe_child_send_page(struct conn *c, int status, const char *reason, const char *text);
/* Reads a PROXY v1/v2 header from a trusted load balancer. Returns 1 when
 * one was read (addresses replaced), 0 when there is none, -1 to close. */
int fe_child_read_proxy_header(struct conn *c, bool required, uint64_t deadline);
/* The TLS handshake, until deadline: 0 (c->vhost by SNI), or -1 logged. */
int fe_child_tls_handshake(struct conn *c, uint64_t deadline);
/* Waits for the first request bytes into c->first and picks the vhost of a
 * plaintext client by Host. 0, -1 (client gone) or -2 (timeout before any
 * byte). */
int fe_child_first_bytes(struct conn *c, uint64_t deadline);

/* child_backend.c */
/* Connects to v's backend and relays until the end, replaying a dropped
 * GET or HEAD. False when the client got an error page instead. */
bool fe_child_relay_to_backend(struct conn *c, const struct bx_vhost *v, struct fe_relay *rl);
/* The relay's line in the log at info. */
void fe_child_log_relay_end(const struct conn *c, const struct bx_vhost *v,
                            const struct fe_relay *rl);

/* child_accept.c */
/* Before the first accept: the reserve descriptor for the fd limit. */
void fe_child_accept_init(const struct fe_child_env *env);
/* Waits with the other idle children for a client: its fd, listener and
 * peer address. */
int fe_child_wait_accept(const struct fe_child_env *env, const struct fe_listener **l,
                         struct sockaddr_storage *peer, socklen_t *plen);

/* child.c */
/* One refusal line, rate-limited per class (refuse.h). */
void fe_child_log_refused(enum fe_refusal k, const struct conn *c, const char *why);

#endif
