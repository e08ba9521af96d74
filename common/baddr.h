/* SPDX-License-Identifier: BSD-2-Clause */
/* Backend addresses as the config names them (vhosts.[].backend and
 * vhosts.[].backends): "/path" or "unix:/path" for a Unix socket,
 * "tcp:HOST:PORT" or "tcp:[v6addr]:PORT" for TCP. HOST is an IPv4 or IPv6
 * literal or a name, resolved once when the config is loaded (start and
 * reload): a confined frontend child cannot resolve names, and a lookup per
 * client would put DNS on every request's path. */
#ifndef BACTRIAN_COMMON_BADDR_H
#define BACTRIAN_COMMON_BADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* "tcp:" + "[" + host (a DNS name is at most 253) + "]:65535" */
#define BX_BADDR_TEXTLEN 300
/* Backends in one vhost, and distinct backends in one config. */
#define BX_POOL_MAX 32

enum bx_baddr_kind { BX_BADDR_UNIX, BX_BADDR_TCP };

struct bx_baddr {
    enum bx_baddr_kind kind;
    char *path;                 /* BX_BADDR_UNIX: the socket path */
    struct sockaddr_storage ss; /* BX_BADDR_TCP: the resolved address */
    socklen_t sslen;
    int port;
    char text[BX_BADDR_TEXTLEN]; /* "unix:/path" or "tcp:host:port", for logs and status */
};

/* Splits s into its parts without resolving anything: *kind, and either the
 * path (unix; a copy into path, pathlen bytes) or the host (brackets of an
 * IPv6 literal removed) and port (tcp). 0, or -1 with why in err. */
int bx_baddr_split(const char *s, enum bx_baddr_kind *kind, char *path, size_t pathlen, char *host,
                   size_t hostlen, int *port, char *err, size_t errlen);

/* Resolves a TCP host (literal, or a name through getaddrinfo, first
 * address) and port into out->ss. 0, or -1 with why in err. */
int bx_baddr_resolve(const char *host, int port, struct bx_baddr *out, char *err, size_t errlen);

/* Whether a and b are the same backend (kind and address). */
bool bx_baddr_equal(const struct bx_baddr *a, const struct bx_baddr *b);

#endif
