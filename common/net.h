/* SPDX-License-Identifier: BSD-2-Clause */
/* Socket helpers. Each returns a descriptor or 0 on success, or -1 with a
 * message naming the address in the caller's buffer; none of them logs. */
#ifndef BACTRIAN_COMMON_NET_H
#define BACTRIAN_COMMON_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "common/cidr.h"

#define BX_ERRLEN 256
/* "[ffff:...:ffff]:65535" fits with room. */
#define BX_ADDRSTRLEN 64

/* Binds and listens on addr:port (IPv4 or IPv6 literal, or "*" for both
 * families' any address is not accepted: list "0.0.0.0" and "::"). IPv6
 * sockets set IPV6_V6ONLY so "0.0.0.0" and "::" can both be bound.
 * Non-blocking and close-on-exec. */
int bx_listen_tcp(const char *addr, int port, int backlog, char *err, size_t errlen);

/* Binds a Unix stream socket at path with the given mode, and owner/group when
 * they are not -1. A stale socket file nobody listens on is replaced; a live
 * one is an error, unless replace is set (the caller holds the pid file lock)
 * and the process that listened on it is gone: whoever still answers is an
 * orphan of a dead master, and the path is taken over. */
int bx_listen_unix(const char *path, int mode, uid_t uid, gid_t gid, int backlog, bool replace,
                   char *err, size_t errlen);

/* Non-blocking connect to a Unix socket. Returns the fd (connected or with the
 * connect in progress) or -1. */
int bx_connect_unix(const char *path, char *err, size_t errlen);
/* Most descriptors bx_send_fds passes in one message. */
#define BX_SEND_FDS_MAX 32
/* One sendmsg of len bytes from data with nfds descriptors riding along
 * (SCM_RIGHTS; none when nfds is 0; more than BX_SEND_FDS_MAX is EINVAL).
 * Returns what sendmsg returns. */
ssize_t bx_send_fds(int sock, const void *data, size_t len, const int *fds, size_t nfds, int flags);

/* Non-blocking connect to a TCP address (a backend), with TCP_NODELAY
 * (requests and answers are small writes that must not wait for ACKs) and
 * keepalive probes (a backend host that vanished is noticed in about a
 * minute and a half, not after hours). Returns the fd (connected or in
 * progress) or -1; name is the address as the caller names it in err. */
int bx_connect_tcp(const struct sockaddr *sa, socklen_t len, const char *name, char *err,
                   size_t errlen);
/* Waits at most timeout_ms for the connect in progress on fd: 0 when it is
 * connected, -1 with the cause ("connection refused", "timed out after N
 * ms") in err. */
int bx_connect_wait(int fd, int timeout_ms, const char *name, char *err, size_t errlen);

/* Formats an address as "1.2.3.4:80", "[::1]:80" or "unix:/path" (port omitted
 * when with_port is false). Returns out. */
char *bx_sockaddr_str(const struct sockaddr *sa, socklen_t len, bool with_port, char *out,
                      size_t outlen);
/* The port of an AF_INET/AF_INET6 address, or 0. */
int bx_sockaddr_port(const struct sockaddr *sa);

/* Parses an IPv4 or IPv6 literal and port into ss. 0 or -1. */
int bx_sockaddr_parse(const char *addr, int port, struct sockaddr_storage *ss, socklen_t *len);

#endif
