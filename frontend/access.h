/* SPDX-License-Identifier: BSD-2-Clause */
/* Connect-time access control of a service (frontend.services.[i].allow and
 * deny, decided by bx_access_allowed in common/cidr.h).
 *
 * Which address is judged: the client's. For a peer that may not send a
 * PROXY header (not in proxy_from, or proxy_protocol off) that is the TCP
 * peer, judged right after accept, before a single byte is read. For a
 * trusted load balancer it is the address its PROXY header names, judged
 * right after the header and still before the TLS handshake; the balancer's
 * own address is vouched for by proxy_from and not judged (a LOCAL header or
 * none on an "optional" service leaves the balancer as the client, so then it
 * is). A refused connection is closed without an answer, on plaintext and
 * TLS alike: nothing of it is read or parsed. The peer check runs in the idle
 * child that accepted, which then stays idle: nothing of the client touched
 * it, so a flood of banned connections costs an accept and a close each, not
 * a fork. Refusals are logged at most once
 * a second across all children, each line with the count of those not logged. */
#ifndef BACTRIAN_FRONTEND_ACCESS_H
#define BACTRIAN_FRONTEND_ACCESS_H

#include <stdbool.h>
#include <sys/socket.h>

struct bx_service;

/* In the master before the first fork: the log rate limit goes into memory
 * every child shares. Without it each process limits on its own. */
void fe_access_init(void);

/* Just accepted, nothing read: false when the service refuses the TCP peer.
 * Always true for a peer in proxy_from on a PROXY service (its client is
 * judged by fe_access_client once the header is read). */
bool fe_access_peer(const struct bx_service *sv, const struct sockaddr *peer, socklen_t len);
/* After the PROXY header of a trusted peer: false when the client is refused. */
bool fe_access_client(const struct bx_service *sv, const struct sockaddr *client, socklen_t len);

#endif
