/* Attacker actions; see actions.h. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
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
    {"mem", act_mem},         {"vmread", act_vmread}, {"ptrace", act_ptrace},
    {"kill", act_kill},       {"open", act_open},     {"connect", act_connect},
    {"exec", act_exec},       {"fork", act_fork},     {"asan", act_asan},
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
