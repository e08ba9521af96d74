/* SPDX-License-Identifier: BSD-2-Clause */
/* Backend address parsing; see baddr.h. */
#include "config.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "common/baddr.h"
#include "common/net.h"

static int copy_part(const char *from, size_t n, char *out, size_t outlen)
{
    if (n >= outlen)
        return -1;
    memcpy(out, from, n);
    out[n] = '\0';
    return 0;
}

static int split_unix(const char *p, char *path, size_t pathlen, char *err, size_t errlen)
{
    struct sockaddr_un sun;
    size_t n = strlen(p);
    if (n == 0) {
        snprintf(err, errlen, "no socket path");
        return -1;
    }
    if (n >= sizeof sun.sun_path || copy_part(p, n, path, pathlen) == -1) {
        snprintf(err, errlen, "socket path longer than %zu bytes", sizeof sun.sun_path - 1);
        return -1;
    }
    return 0;
}

/* "HOST:PORT" or "[v6]:PORT". */
static int split_tcp(const char *p, char *host, size_t hostlen, int *port, char *err, size_t errlen)
{
    const char *colon, *hs = p, *he;
    if (*p == '[') {
        he = strchr(p, ']');
        if (!he || he[1] != ':') {
            snprintf(err, errlen, "an IPv6 address goes in brackets: tcp:[::1]:PORT");
            return -1;
        }
        hs = p + 1;
        colon = he + 1;
    } else {
        colon = strrchr(p, ':');
        if (!colon) {
            snprintf(err, errlen, "no port: tcp:HOST:PORT");
            return -1;
        }
        he = colon;
        if (memchr(p, ':', (size_t)(colon - p))) {
            snprintf(err, errlen, "an IPv6 address goes in brackets: tcp:[::1]:PORT");
            return -1;
        }
    }
    if (he == hs || copy_part(hs, (size_t)(he - hs), host, hostlen) == -1) {
        snprintf(err, errlen, he == hs ? "no host" : "host name too long");
        return -1;
    }
    char *end;
    const char *ps = colon + 1;
    long v = strtol(ps, &end, 10);
    if (*ps < '0' || *ps > '9' || *end || v < 1 || v > 65535) {
        snprintf(err, errlen, "port '%s' is not a number 1-65535", ps);
        return -1;
    }
    *port = (int)v;
    return 0;
}

int bx_baddr_split(const char *s, enum bx_baddr_kind *kind, char *path, size_t pathlen, char *host,
                   size_t hostlen, int *port, char *err, size_t errlen)
{
    if (strncmp(s, "tcp:", 4) == 0) {
        *kind = BX_BADDR_TCP;
        return split_tcp(s + 4, host, hostlen, port, err, errlen);
    }
    *kind = BX_BADDR_UNIX;
    if (strncmp(s, "unix:", 5) == 0)
        s += 5;
    else if (strchr(s, ':') && s[0] != '/' && s[0] != '.') {
        /* "udp:...", "http://..." or "host:port": a typo, not a file name */
        snprintf(err, errlen,
                 "not a backend address: use a path, unix:/path, tcp:HOST:PORT "
                 "or tcp:[v6addr]:PORT");
        return -1;
    }
    return split_unix(s, path, pathlen, err, errlen);
}

int bx_baddr_resolve(const char *host, int port, struct bx_baddr *out, char *err, size_t errlen)
{
    out->kind = BX_BADDR_TCP;
    out->port = port;
    if (bx_sockaddr_parse(host, port, &out->ss, &out->sslen) == -1) {
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG};
        struct addrinfo *res = NULL;
        int rc = getaddrinfo(host, NULL, &hints, &res);
        if (rc != 0 || !res || res->ai_addrlen > sizeof out->ss) {
            snprintf(err, errlen, "cannot resolve '%s': %s", host,
                     rc ? gai_strerror(rc) : "no address");
            if (res)
                freeaddrinfo(res);
            return -1;
        }
        memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
        out->sslen = (socklen_t)res->ai_addrlen;
        freeaddrinfo(res);
        if (out->ss.ss_family == AF_INET)
            ((struct sockaddr_in *)&out->ss)->sin_port = htons((uint16_t)port);
        else
            ((struct sockaddr_in6 *)&out->ss)->sin6_port = htons((uint16_t)port);
    }
    bool v6 = strchr(host, ':') != NULL;
    snprintf(out->text, sizeof out->text, "tcp:%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "",
             port);
    return 0;
}

bool bx_baddr_equal(const struct bx_baddr *a, const struct bx_baddr *b)
{
    if (a->kind != b->kind)
        return false;
    if (a->kind == BX_BADDR_UNIX)
        return strcmp(a->path, b->path) == 0;
    return a->sslen == b->sslen && memcmp(&a->ss, &b->ss, a->sslen) == 0;
}
