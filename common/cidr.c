/* SPDX-License-Identifier: BSD-2-Clause */
/* CIDR parsing and matching; see cidr.h. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "common/cidr.h"

int bx_cidr_parse(const char *s, struct bx_cidr *out)
{
    char tmp[INET6_ADDRSTRLEN + 8];
    if (strlen(s) >= sizeof tmp)
        return -1;
    strcpy(tmp, s);
    char *slash = strchr(tmp, '/');
    int prefix = -1;
    if (slash) {
        *slash = '\0';
        char *end;
        long p = strtol(slash + 1, &end, 10);
        if (*end || end == slash + 1 || p < 0 || p > 128)
            return -1;
        prefix = (int)p;
    }
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, tmp, out->addr) == 1) {
        out->family = AF_INET;
        if (prefix > 32)
            return -1;
        out->prefix = prefix < 0 ? 32 : prefix;
    } else if (inet_pton(AF_INET6, tmp, out->addr) == 1) {
        out->family = AF_INET6;
        out->prefix = prefix < 0 ? 128 : prefix;
    } else {
        return -1;
    }
    return 0;
}

static bool prefix_equal(const unsigned char *a, const unsigned char *b, int bits)
{
    int bytes = bits / 8, rest = bits % 8;
    if (memcmp(a, b, (size_t)bytes) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a[bytes] & mask) == (b[bytes] & mask);
}

bool bx_cidr_match(const struct bx_cidr *c, const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)sa;
        if (c->family != AF_INET)
            return false;
        return prefix_equal(c->addr, (const unsigned char *)&s->sin_addr, c->prefix);
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)sa;
        const unsigned char *a = s->sin6_addr.s6_addr;
        if (c->family == AF_INET6)
            return prefix_equal(c->addr, a, c->prefix);
        /* An IPv4 client seen on a dual-stack socket as ::ffff:a.b.c.d. */
        if (IN6_IS_ADDR_V4MAPPED(&s->sin6_addr))
            return prefix_equal(c->addr, a + 12, c->prefix);
    }
    return false;
}

bool bx_cidr_list_match(const struct bx_cidr *list, size_t n, const struct sockaddr *sa)
{
    for (size_t i = 0; i < n; i++)
        if (bx_cidr_match(&list[i], sa))
            return true;
    return false;
}

int bx_cidr_list_longest(const struct bx_cidr *list, size_t n, const struct sockaddr *sa)
{
    int best = -1;
    for (size_t i = 0; i < n; i++) {
        int len = list[i].family == AF_INET ? 96 + list[i].prefix : list[i].prefix;
        if (len > best && bx_cidr_match(&list[i], sa))
            best = len;
    }
    return best;
}

bool bx_access_allowed(const struct bx_cidr_list *allow, const struct bx_cidr_list *deny,
                       const struct sockaddr *sa)
{
    int a = bx_cidr_list_longest(allow->v, allow->n, sa);
    int d = bx_cidr_list_longest(deny->v, deny->n, sa);
    if (a < 0 && d < 0)
        return allow->n == 0;
    return a > d;
}
