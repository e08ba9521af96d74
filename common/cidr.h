/* SPDX-License-Identifier: BSD-2-Clause */
/* Network prefixes (CIDR) and the allow/deny decision built on them: who may
 * send a PROXY header (proxy_from), who may connect to a service at all
 * (frontend.services.[i].allow / deny). Pure functions, no allocation. */
#ifndef BACTRIAN_COMMON_CIDR_H
#define BACTRIAN_COMMON_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct bx_cidr {
    int family;               /* AF_INET or AF_INET6 */
    unsigned char addr[16];   /* network byte order */
    int prefix;               /* 0-32 or 0-128 */
};

struct bx_cidr_list {
    struct bx_cidr *v;
    size_t n;
};

/* Parses "10.0.0.0/8", "::1", "192.168.1.7" (a host = full prefix). 0 or -1. */
int bx_cidr_parse(const char *s, struct bx_cidr *out);
/* True when sa (AF_INET, AF_INET6 incl. v4-mapped, or AF_UNIX which always
 * matches nothing) is inside the prefix. */
bool bx_cidr_match(const struct bx_cidr *c, const struct sockaddr *sa);
bool bx_cidr_list_match(const struct bx_cidr *list, size_t n, const struct sockaddr *sa);

/* The length of the most specific prefix of the list that contains sa, or
 * -1 when none does. IPv4 prefixes count as their IPv6 equivalent
 * (::ffff:0:0/96 + p), so that IPv4 and IPv6 entries compare when the
 * address is an IPv4 client seen as v4-mapped on a dual-stack socket. */
int bx_cidr_list_longest(const struct bx_cidr *list, size_t n, const struct sockaddr *sa);

/* The connect-time access decision: the most specific matching entry of
 * either list decides (deny wins a tie at the same length); an address that
 * no entry matches is refused when allow is non-empty and accepted when it is
 * empty. So "deny = [x]" bans x only, "allow = [net]" admits net only, and a
 * host or subnet inside a larger network of the other list is an exception to
 * it, whatever the order the entries are written in. */
bool bx_access_allowed(const struct bx_cidr_list *allow, const struct bx_cidr_list *deny,
                       const struct sockaddr *sa);

#endif
