/* SPDX-License-Identifier: BSD-2-Clause */
/* Socket helpers (see net.h): TCP and Unix listeners, the non-blocking Unix
 * connect, and address parsing and formatting. None of them logs. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/net.h"

int bx_sockaddr_parse(const char *addr, int port, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    if (port < 0 || port > 65535)
        return -1;
    if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        *len = sizeof *sin;
        return 0;
    }
    /* Accept "[::1]" as well as "::1". */
    char tmp[INET6_ADDRSTRLEN + 2];
    size_t n = strlen(addr);
    if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']' && n - 2 < sizeof tmp) {
        memcpy(tmp, addr + 1, n - 2);
        tmp[n - 2] = '\0';
        addr = tmp;
    }
    if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        *len = sizeof *sin6;
        return 0;
    }
    return -1;
}

static const char *fmt_host(const char *addr, char *out, size_t len)
{
    snprintf(out, len, strchr(addr, ':') && addr[0] != '[' ? "[%s]" : "%s", addr);
    return out;
}

int bx_listen_tcp(const char *addr, int port, int backlog, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    char host[BX_ADDRSTRLEN];
    fmt_host(addr, host, sizeof host);
    if (bx_sockaddr_parse(addr, port, &ss, &sslen) == -1) {
        snprintf(err, errlen, "%s:%d: not an IPv4 or IPv6 address", host, port);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        snprintf(err, errlen, "socket for %s:%d: %s", host, port, strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ss.ss_family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) == -1) {
        snprintf(err, errlen, "IPV6_V6ONLY on %s:%d: %s", host, port, strerror(errno));
        goto fail;
    }
    if (bind(fd, (struct sockaddr *)&ss, sslen) == -1) {
        snprintf(err, errlen, "cannot bind %s:%d: %s", host, port, strerror(errno));
        goto fail;
    }
    if (listen(fd, backlog) == -1) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", host, port, strerror(errno));
        goto fail;
    }
    return fd;
fail: {
    int e = errno; /* the caller may act on it (EADDRINUSE) */
    close(fd);
    errno = e;
    return -1;
}
}

static int fill_sun(const char *path, struct sockaddr_un *sun, char *err, size_t errlen)
{
    memset(sun, 0, sizeof *sun);
    sun->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sun->sun_path) {
        snprintf(err, errlen, "unix socket path %s: longer than %zu bytes", path,
                 sizeof sun->sun_path - 1);
        return -1;
    }
    strcpy(sun->sun_path, path);
    return 0;
}

/* The pid of the process that listens on the socket file (SO_PEERCRED of a
 * connection is the listener's credentials at listen()), 0 when nothing
 * accepts, -1 when something does but we cannot tell who (a full backlog). */
static pid_t unix_socket_owner(const struct sockaddr_un *sun)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return 0;
    pid_t pid = 0;
    if (connect(fd, (const struct sockaddr *)sun, sizeof *sun) == 0) {
        struct ucred uc;
        socklen_t len = sizeof uc;
        pid = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0 && uc.pid > 0 ? uc.pid : -1;
    } else if (errno == EAGAIN) {
        pid = -1;
    }
    close(fd);
    return pid;
}

/* A live socket may be taken over only by a caller that holds the pid file
 * lock (replace), and only when the process that made it is gone: then what
 * answers are orphans of a dead master, letting go. A live owner (another
 * master with another pid file, say) keeps its socket. */
static bool may_replace(pid_t owner, bool replace)
{
    if (owner == 0)
        return true;
    if (!replace)
        return false;
    return owner < 0 || (kill(owner, 0) == -1 && errno == ESRCH);
}

int bx_listen_unix(const char *path, int mode, uid_t uid, gid_t gid, int backlog, bool replace,
                   char *err, size_t errlen)
{
    struct sockaddr_un sun;
    struct stat st;
    if (fill_sun(path, &sun, err, errlen) == -1)
        return -1;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "unix socket %s: exists and is not a socket", path);
            return -1;
        }
        pid_t owner = unix_socket_owner(&sun);
        if (!may_replace(owner, replace)) {
            snprintf(err, errlen, "unix socket %s: another process (pid %ld) is listening on it",
                     path, (long)owner);
            return -1;
        }
        unlink(path);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        snprintf(err, errlen, "socket for unix:%s: %s", path, strerror(errno));
        return -1;
    }
    /* Bind under a tight umask so the socket is never briefly wider than mode. */
    mode_t old = umask(0177);
    int rc = bind(fd, (struct sockaddr *)&sun, sizeof sun);
    umask(old);
    if (rc == -1) {
        snprintf(err, errlen, "cannot bind unix:%s: %s", path, strerror(errno));
        goto fail;
    }
    if (chmod(path, (mode_t)mode) == -1) {
        snprintf(err, errlen, "chmod %04o unix:%s: %s", mode, path, strerror(errno));
        goto fail_unlink;
    }
    if ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(path, uid, gid) == -1) {
        snprintf(err, errlen, "chown unix:%s to uid %ld gid %ld: %s%s", path,
                 uid == (uid_t)-1 ? -1L : (long)uid, gid == (gid_t)-1 ? -1L : (long)gid,
                 strerror(errno), errno == EPERM ? " (needs root)" : "");
        goto fail_unlink;
    }
    if (listen(fd, backlog) == -1) {
        snprintf(err, errlen, "cannot listen on unix:%s: %s", path, strerror(errno));
        goto fail_unlink;
    }
    return fd;
fail_unlink:
    rc = errno; /* the caller's to read (listeners.h) */
    unlink(path);
    close(fd);
    errno = rc;
    return -1;
fail:
    rc = errno;
    close(fd);
    errno = rc;
    return -1;
}

int bx_connect_unix(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sun;
    if (fill_sun(path, &sun, err, errlen) == -1)
        return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        snprintf(err, errlen, "socket for unix:%s: %s", path, strerror(errno));
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1 && errno != EINPROGRESS &&
        errno != EAGAIN) {
        snprintf(err, errlen, "cannot connect to unix:%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int bx_connect_tcp(const struct sockaddr *sa, socklen_t len, const char *name, char *err,
                   size_t errlen)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        snprintf(err, errlen, "socket for %s: %s", name, strerror(errno));
        return -1;
    }
    int on = 1, idle = 60, intvl = 10, cnt = 3;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
    if (connect(fd, sa, len) == -1 && errno != EINPROGRESS) {
        snprintf(err, errlen, "cannot connect to %s: %s", name, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int bx_connect_wait(int fd, int timeout_ms, const char *name, char *err, size_t errlen)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        long spent = (t.tv_sec - t0.tv_sec) * 1000L + (t.tv_nsec - t0.tv_nsec) / 1000000L;
        if (spent >= timeout_ms) {
            snprintf(err, errlen, "cannot connect to %s: timed out after %d ms", name, timeout_ms);
            return -1;
        }
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int n = poll(&p, 1, (int)(timeout_ms - spent));
        if (n == -1 && errno != EINTR) {
            snprintf(err, errlen, "poll on %s: %s", name, strerror(errno));
            return -1;
        }
        if (n <= 0)
            continue;
        int e = 0;
        socklen_t el = sizeof e;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) == -1)
            e = errno;
        if (e) {
            snprintf(err, errlen, "cannot connect to %s: %s", name, strerror(e));
            return -1;
        }
        return 0;
    }
}

char *bx_sockaddr_str(const struct sockaddr *sa, socklen_t len, bool with_port, char *out,
                      size_t outlen)
{
    char ip[INET6_ADDRSTRLEN];
    switch (sa->sa_family) {
    case AF_INET: {
        const struct sockaddr_in *s = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &s->sin_addr, ip, sizeof ip);
        if (with_port)
            snprintf(out, outlen, "%s:%u", ip, ntohs(s->sin_port));
        else
            snprintf(out, outlen, "%s", ip);
        break;
    }
    case AF_INET6: {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof ip);
        if (with_port)
            snprintf(out, outlen, "[%s]:%u", ip, ntohs(s->sin6_port));
        else
            snprintf(out, outlen, "%s", ip);
        break;
    }
    case AF_UNIX: {
        const struct sockaddr_un *s = (const struct sockaddr_un *)sa;
        size_t plen = len > offsetof(struct sockaddr_un, sun_path)
                          ? len - offsetof(struct sockaddr_un, sun_path)
                          : 0;
        if (plen > 0 && s->sun_path[0])
            snprintf(out, outlen, "unix:%.*s", (int)strnlen(s->sun_path, plen), s->sun_path);
        else
            snprintf(out, outlen, "unix:");
        break;
    }
    default: snprintf(out, outlen, "unknown");
    }
    return out;
}

int bx_sockaddr_port(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)sa)->sin_port);
    if (sa->sa_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    return 0;
}

ssize_t bx_send_fds(int sock, const void *data, size_t len, const int *fds, size_t nfds, int flags)
{
    union {
        char buf[CMSG_SPACE(BX_SEND_FDS_MAX * sizeof(int))];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
    struct msghdr h = {.msg_iov = &iov, .msg_iovlen = 1};
    if (nfds > BX_SEND_FDS_MAX) {
        errno = EINVAL;
        return -1;
    }
    if (nfds > 0) {
        memset(&u, 0, CMSG_SPACE(nfds * sizeof(int)));
        h.msg_control = u.buf;
        h.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&h);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
        memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
    }
    return sendmsg(sock, &h, flags);
}
