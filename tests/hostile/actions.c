/* SPDX-License-Identifier: BSD-2-Clause */
/* Attacker actions; see actions.h. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/hostile/actions.h"

static pid_t arg_pid(const char *arg)
{
    long v = strtol(arg, NULL, 10);
    return v > 0 ? (pid_t)v : (pid_t)-1;
}

/* Another client's plaintext: a sibling's memory through /proc. */
static int act_mem(const char *arg, char *out, size_t outlen)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", (int)arg_pid(arg));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return errno;
    char b[16];
    /* Any mapped address will do: the sibling's stack is near ours after fork. */
    ssize_t n = pread(fd, b, sizeof b, (off_t)(uintptr_t)&b);
    int e = n == -1 ? errno : 0;
    close(fd);
    snprintf(out, outlen, "read %zd bytes", n);
    return e;
}

static int act_vmread(const char *arg, char *out, size_t outlen)
{
    char b[16];
    struct iovec local = {b, sizeof b}, remote = {&b, sizeof b};
    ssize_t n = process_vm_readv(arg_pid(arg), &local, 1, &remote, 1, 0);
    snprintf(out, outlen, "read %zd bytes", n);
    return n == -1 ? errno : 0;
}

static int act_ptrace(const char *arg, char *out, size_t outlen)
{
    pid_t pid = arg_pid(arg);
    if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) == -1)
        return errno;
    waitpid(pid, NULL, __WALL);
    ptrace(PTRACE_DETACH, pid, NULL, NULL);
    snprintf(out, outlen, "attached to %d", (int)pid);
    return 0;
}

static int act_kill(const char *arg, char *out, size_t outlen)
{
    (void)out;
    (void)outlen;
    return kill(arg_pid(arg), SIGKILL) == -1 ? errno : 0;
}

static int act_open(const char *arg, char *out, size_t outlen)
{
    int fd = open(*arg ? arg : "/etc/passwd", O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return errno;
    char b[32];
    ssize_t n = read(fd, b, sizeof b);
    close(fd);
    snprintf(out, outlen, "read %zd bytes", n);
    return 0;
}

/* A file opened for writing: "rw" (O_RDWR) or "append" (the log's flags,
 * which the frontend's filter lets through), then the path. */
static int act_openw(const char *arg, char *out, size_t outlen)
{
    bool rw = strncmp(arg, "rw:", 3) == 0;
    const char *path = strchr(arg, ':') ? strchr(arg, ':') + 1 : arg;
    int fd = open(path, rw ? O_RDWR | O_CLOEXEC : O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd == -1)
        return errno;
    close(fd);
    snprintf(out, outlen, "opened %s for writing", path);
    return 0;
}

/* The Unix address arg: a path, or "@name" for an abstract name. */
static socklen_t unix_addr(const char *arg, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    bool abstract = arg[0] == '@';
    size_t n = strlen(arg);
    if (n >= sizeof sa->sun_path)
        n = sizeof sa->sun_path - 1;
    memcpy(sa->sun_path + (abstract ? 1 : 0), arg + (abstract ? 1 : 0), n - (abstract ? 1 : 0));
    return abstract ? (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)
                    : (socklen_t)sizeof *sa;
}

/* A Unix stream connection to arg (a daemon's socket). */
static int act_unixconnect(const char *arg, char *out, size_t outlen)
{
    (void)out;
    (void)outlen;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return errno;
    struct sockaddr_un sa;
    socklen_t len = unix_addr(arg, &sa);
    int e = connect(fd, (struct sockaddr *)&sa, len) == -1 ? errno : 0;
    close(fd);
    return e;
}

/* A datagram to the Unix socket arg (a daemon's, or the test's). */
static int act_unixsend(const char *arg, char *out, size_t outlen)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return errno;
    struct sockaddr_un sa;
    socklen_t len = unix_addr(arg, &sa);
    ssize_t n = sendto(fd, "hostile", 7, 0, (struct sockaddr *)&sa, len);
    int e = n == -1 ? errno : 0;
    close(fd);
    snprintf(out, outlen, "sent %zd bytes", n);
    return e;
}

/* A new TCP connection to 127.0.0.1:arg (the test's own listener). */
static int act_connect(const char *arg, char *out, size_t outlen)
{
    (void)out;
    (void)outlen;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return errno;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(arg))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int e = connect(fd, (struct sockaddr *)&sa, sizeof sa) == -1 ? errno : 0;
    close(fd);
    return e;
}

static int act_exec(const char *arg, char *out, size_t outlen)
{
    (void)arg;
    (void)out;
    (void)outlen;
    char *const argv[] = {"sh", "-c", "exit 0", NULL};
    execve("/bin/sh", argv, NULL);
    return errno;
}

static int act_fork(const char *arg, char *out, size_t outlen)
{
    (void)arg;
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    if (pid == -1)
        return errno;
    waitpid(pid, NULL, 0);
    snprintf(out, outlen, "forked %d", (int)pid);
    return 0;
}

/* A heap overflow by one byte: under ASan the report must still come out of
 * a confined process (and the test checks it); elsewhere it reads slack. */
static int act_asan(const char *arg, char *out, size_t outlen)
{
    (void)arg;
    char *volatile p = malloc(16);
    if (!p)
        return ENOMEM;
    memset(p, 'x', 16);
    snprintf(out, outlen, "read %d", p[16]);
    free(p);
    return 0;
}

static const struct {
    const char *name;
    int (*fn)(const char *arg, char *out, size_t outlen);
} actions[] = {
    {"mem", act_mem},
    {"vmread", act_vmread},
    {"ptrace", act_ptrace},
    {"kill", act_kill},
    {"open", act_open},
    {"connect", act_connect},
    {"exec", act_exec},
    {"fork", act_fork},
    {"asan", act_asan},
    {"openw", act_openw},
    {"unixconnect", act_unixconnect},
    {"unixsend", act_unixsend},
};

size_t hostile_run(const char *action, const char *arg, char *out, size_t outlen)
{
    char detail[128] = "";
    int e = -1;
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
        if (strcmp(actions[i].name, action) == 0)
            e = actions[i].fn(arg, detail, sizeof detail);
    int n;
    if (e == -1)
        n = snprintf(out, outlen, "RESULT %s unknown\n", action);
    else if (e == 0)
        n = snprintf(out, outlen, "RESULT %s ok %s\n", action, detail);
    else
        n = snprintf(out, outlen, "RESULT %s denied %d %s\n", action, e, strerror(e));
    return n < 0 ? 0 : (size_t)n >= outlen ? outlen - 1 : (size_t)n;
}
