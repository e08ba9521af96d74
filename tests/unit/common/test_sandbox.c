/* SPDX-License-Identifier: BSD-2-Clause */
/* Confinement profiles (common/sandbox.h): each test forks a child that
 * confines itself and tries calls; the parent checks how it ended and what
 * bx_sandbox_describe says, as a master's reap does. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/sandbox.h"

static char how[128];

static bool have_landlock(void)
{
    return syscall(SYS_landlock_create_ruleset, NULL, 0, 1UL) >= 1;
}

/* Runs fn confined by p in a child; returns its wait status (fn's return
 * value is the exit code) and leaves the reap's description in how. */
static int run_confined(enum bx_sandbox_profile p, const char *allow, int (*fn)(void))
{
    ck_assert_int_eq(bx_sandbox_init(), 0);
    pid_t pid = fork();
    ck_assert_int_ne(pid, -1);
    if (pid == 0) {
        char err[256];
        if ((allow && bx_sandbox_allow_read(allow) == -1) ||
            bx_sandbox_apply(p, err, sizeof err) == -1)
            _exit(100);
        _exit(fn());
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    how[0] = '\0';
    bx_sandbox_describe(pid, status, how, sizeof how);
    return status;
}

/* As run_confined, the child declaring connect_port first (the Redis link). */
static int connect_port;

static int run_confined_port(enum bx_sandbox_profile p, int (*fn)(void))
{
    ck_assert_int_eq(bx_sandbox_init(), 0);
    pid_t pid = fork();
    ck_assert_int_ne(pid, -1);
    if (pid == 0) {
        char err[256];
        if (bx_sandbox_allow_connect(connect_port) == -1 ||
            bx_sandbox_apply(p, err, sizeof err) == -1)
            _exit(100);
        _exit(fn());
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    how[0] = '\0';
    bx_sandbox_describe(pid, status, how, sizeof how);
    return status;
}

static void assert_exit(int status, int code)
{
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == code, "status %#x (%s)", status, how);
}

static int do_execve(void)
{
    char *const argv[] = {"true", NULL};
    execve("/bin/true", argv, NULL);
    return 1;
}

START_TEST(every_profile_traps_execve_and_the_master_names_it)
{
    static const enum bx_sandbox_profile all[] = {BX_SANDBOX_FE_HANDSHAKE, BX_SANDBOX_FE_LEAN,
                                                  BX_SANDBOX_BE_WORKER, BX_SANDBOX_KEYPROC};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        int st = run_confined(all[i], NULL, do_execve);
        ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "profile %zu: %#x", i, st);
        ck_assert_msg(strncmp(how, "killed by seccomp: system call execve (", 39) == 0, "%s", how);
    }
}
END_TEST

static int keyproc_work(void)
{
    /* What a key process does: read a file, allocate, random bytes, pipes. */
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    char b[64];
    if (fd == -1 || read(fd, b, sizeof b) <= 0)
        return 2;
    close(fd);
    void *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED || getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
        return 3;
    munmap(p, 1 << 20);
    return 0;
}

START_TEST(keyproc_reads_allocates_and_draws_randomness)
{
    assert_exit(run_confined(BX_SANDBOX_KEYPROC, NULL, keyproc_work), 0);
}
END_TEST

static int keyproc_socket(void)
{
    return socket(AF_UNIX, SOCK_STREAM, 0) == -1 ? 0 : 1;
}

START_TEST(keyproc_makes_no_socket)
{
    int st = run_confined(BX_SANDBOX_KEYPROC, NULL, keyproc_socket);
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "%#x", st);
    ck_assert_msg(strncmp(how, "killed by seccomp: system call socket (", 39) == 0, "%s", how);
}
END_TEST

/* The log's append flags pass seccomp; Landlock keeps them to the log's directory. */
static int append_outside_logs(void)
{
    int fd = open("/tmp/bactrian-sandbox-test", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    return fd == -1 && errno == EACCES ? 0 : 1;
}

START_TEST(no_writes_outside_the_logs)
{
    if (!have_landlock())
        return;
    assert_exit(run_confined(BX_SANDBOX_FE_HANDSHAKE, NULL, append_outside_logs), 0);
    assert_exit(run_confined(BX_SANDBOX_BE_WORKER, NULL, append_outside_logs), 0);
    assert_exit(run_confined(BX_SANDBOX_KEYPROC, NULL, append_outside_logs), 0);
}
END_TEST

static int open_passwd(void)
{
    int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
    if (fd >= 0)
        close(fd);
    return fd >= 0 ? 0 : errno == EACCES ? 13 : 1;
}

START_TEST(worker_reads_only_what_was_declared)
{
    if (!have_landlock())
        return;
    assert_exit(run_confined(BX_SANDBOX_BE_WORKER, NULL, open_passwd), 13);
    assert_exit(run_confined(BX_SANDBOX_BE_WORKER, "/etc", open_passwd), 0);
    assert_exit(run_confined(BX_SANDBOX_BE_WORKER, "/etc/passwd", open_passwd), 0);
}
END_TEST

static int sockets(void)
{
    int u = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int d = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    return u >= 0 && t == -1 && errno == EACCES && d == -1 ? 0 : 1;
}

START_TEST(handshake_child_gets_only_unix_stream_sockets)
{
    assert_exit(run_confined(BX_SANDBOX_FE_HANDSHAKE, NULL, sockets), 0);
}
END_TEST

/* 0 when a TCP socket can be made: only an unconfined process can. */
static int tcp_socket(void)
{
    return socket(AF_INET, SOCK_STREAM, 0) >= 0 ? 0 : 1;
}

START_TEST(unconfined_switch_skips_everything)
{
    setenv("BACTRIAN_UNCONFINED", "1", 1);
    assert_exit(run_confined(BX_SANDBOX_FE_HANDSHAKE, NULL, tcp_socket), 0);
    unsetenv("BACTRIAN_UNCONFINED");
    assert_exit(run_confined(BX_SANDBOX_FE_HANDSHAKE, NULL, tcp_socket), 1);
}
END_TEST

/* A worker that declared a port (the Redis link) gets TCP stream sockets,
 * connects to that port only (Landlock ABI 4), never UDP or raw ones. */

static int tcp_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return errno;
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int e = connect(fd, (struct sockaddr *)&sa, sizeof sa) == -1 ? errno : 0;
    close(fd);
    return e;
}

static long landlock_abi;

static int worker_tcp(void)
{
    int other = connect_port == 65000 ? 65001 : 65000;
    int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int udp_errno = errno;
    int raw6 = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, 0);
    int raw_errno = errno;
    int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int nl_errno = errno;
    if (udp != -1 || udp_errno != EACCES || raw6 != -1 || raw_errno != EACCES || nl != -1 ||
        nl_errno != EACCES)
        return 2;
    if (tcp_to(connect_port) != 0)
        return 3;
    /* Landlock ABI 4 refuses another port (EACCES, nobody listens there:
     * without the rule it would be ECONNREFUSED); older kernels let it through. */
    int e = tcp_to(other);
    return e == (landlock_abi >= 4 ? EACCES : ECONNREFUSED) ? 0 : 4;
}

START_TEST(worker_with_a_declared_port_connects_there_only)
{
    landlock_abi = syscall(SYS_landlock_create_ruleset, NULL, 0, 1UL);
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    ck_assert_int_eq(bind(l, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(l, 8), 0);
    ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sa, &len), 0);
    connect_port = ntohs(sa.sin_port);
    assert_exit(run_confined_port(BX_SANDBOX_BE_WORKER, worker_tcp), 0);
    /* Without the declaration: no TCP socket at all. */
    assert_exit(run_confined(BX_SANDBOX_BE_WORKER, NULL, tcp_socket), 1);
    close(l);
}
END_TEST

Suite *suite_sandbox(void);
Suite *suite_sandbox(void)
{
    Suite *s = suite_create("sandbox");
    TCase *tc = tcase_create("profiles");
    tcase_add_test(tc, every_profile_traps_execve_and_the_master_names_it);
    tcase_add_test(tc, keyproc_reads_allocates_and_draws_randomness);
    tcase_add_test(tc, keyproc_makes_no_socket);
    tcase_add_test(tc, no_writes_outside_the_logs);
    tcase_add_test(tc, worker_reads_only_what_was_declared);
    tcase_add_test(tc, handshake_child_gets_only_unix_stream_sockets);
    tcase_add_test(tc, unconfined_switch_skips_everything);
    tcase_add_test(tc, worker_with_a_declared_port_connects_there_only);
    suite_add_tcase(s, tc);
    return s;
}
