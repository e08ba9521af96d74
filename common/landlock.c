/* SPDX-License-Identifier: BSD-2-Clause */
/* Landlock rules; see landlock.h. The constants of newer ABIs are defined
 * here so the build does not depend on how new the installed kernel
 * headers are; the ABI the running kernel reports decides what is used. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/landlock.h"

#define FS_ALL_V1 ((1ull << 13) - 1) /* EXECUTE .. MAKE_SYM */
#define FS_REFER (1ull << 13)        /* ABI 2 */
#define FS_TRUNCATE (1ull << 14)     /* ABI 3 */
#define FS_IOCTL_DEV (1ull << 15)    /* ABI 5 */
#define NET_BIND_TCP (1ull << 0)     /* ABI 4 */
#define NET_CONNECT_TCP (1ull << 1)
#define SCOPE_ABSTRACT_UNIX (1ull << 0) /* ABI 6 */
#define SCOPE_SIGNAL (1ull << 1)
#define FS_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define FS_LOG (LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG)
/* Rights a rule on a file (not a directory) may carry. */
#define FS_FILE_RIGHTS                                                                             \
    (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |   \
     FS_TRUNCATE | FS_IOCTL_DEV)

struct ruleset_attr {
    uint64_t fs, net, scoped;
};

#define MAX_PATHS 32

static int path_fd[MAX_PATHS];
static uint64_t path_access[MAX_PATHS];
static size_t npaths;
/* The TCP ports this process may connect to (bx_sandbox_allow_connect):
 * Redis in a worker, the TCP backends' ports in a frontend child. */
#define MAX_PORTS 32
static int connect_port[MAX_PORTS];
static size_t nports;

int bx_sandbox_allow_connect(int port)
{
    if (port < 1 || port > 65535) {
        errno = EINVAL;
        return -1;
    }
    for (size_t i = 0; i < nports; i++)
        if (connect_port[i] == port)
            return 0;
    if (nports == MAX_PORTS) {
        errno = ENOSPC;
        return -1;
    }
    connect_port[nports++] = port;
    return 0;
}

int bx_sandbox_connect_port(void)
{
    return nports ? connect_port[0] : 0;
}

static int add_path(const char *path, uint64_t access)
{
    if (npaths == MAX_PATHS) {
        errno = ENOSPC;
        return -1;
    }
    int fd = open(path, O_PATH | O_CLOEXEC);
    struct stat st;
    if (fd == -1)
        return -1;
    if (fstat(fd, &st) == -1) {
        close(fd);
        return -1;
    }
    path_fd[npaths] = fd;
    path_access[npaths] = S_ISDIR(st.st_mode) ? access : access & FS_FILE_RIGHTS;
    npaths++;
    return 0;
}

int bx_sandbox_allow_read(const char *path)
{
    return add_path(path, FS_READ);
}

int bx_sandbox_allow_log(const char *path)
{
    if (!path || !*path || strcmp(path, "stderr") == 0 || strcmp(path, "syslog") == 0)
        return 0;
    char dir[4096];
    const char *slash = strrchr(path, '/');
    size_t n = !slash ? 1 : slash == path ? 1 : (size_t)(slash - path);
    if (n >= sizeof dir) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(dir, !slash ? "." : path, n); /* "/x" keeps its "/" */
    dir[n] = '\0';
    return add_path(dir, FS_LOG);
}

static void forget_paths(void)
{
    for (size_t i = 0; i < npaths; i++)
        close(path_fd[i]);
    npaths = 0;
}

/* What this kernel's ABI handles; *size is how much of the attribute it knows. */
static struct ruleset_attr handled(int abi, enum bx_sandbox_profile p, size_t *size)
{
    struct ruleset_attr a = {.fs = FS_ALL_V1};
    *size = sizeof a.fs;
    if (abi >= 2)
        a.fs |= FS_REFER;
    if (abi >= 3)
        a.fs |= FS_TRUNCATE;
    if (abi >= 5)
        a.fs |= FS_IOCTL_DEV;
    /* The key process re-reads keys on reload from wherever the new config
     * says (and through certbot's symlinks): it may read any file, write none. */
    if (p == BX_SANDBOX_KEYPROC)
        a.fs &= ~(uint64_t)FS_READ;
    if (abi >= 4) {
        a.net = NET_BIND_TCP | NET_CONNECT_TCP;
        *size = offsetof(struct ruleset_attr, scoped);
    }
    if (abi >= 6) {
        /* Every profile: pub/sub sockets are files in a 0700 directory now
         * (backend/pubsub.c), so workers need no abstract name either, and
         * an exempt worker could reach any abstract socket on the host. */
        a.scoped = SCOPE_SIGNAL | SCOPE_ABSTRACT_UNIX;
        *size = sizeof a;
    }
    return a;
}

static int add_rules(int rfd, uint64_t fs, char *err, size_t errlen)
{
    for (size_t i = 0; i < npaths; i++) {
        struct landlock_path_beneath_attr pb = {.allowed_access = path_access[i] & fs,
                                                .parent_fd = path_fd[i]};
        if (!pb.allowed_access)
            continue; /* nothing this ruleset handles (reads in the key process) */
        if (syscall(SYS_landlock_add_rule, rfd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) == -1) {
            snprintf(err, errlen, "landlock_add_rule: %s", strerror(errno));
            return -1;
        }
    }
    return 0;
}

#ifdef BX_ASAN
/* What AddressSanitizer reads to report: its own maps, the binary and the
 * libraries (for symbols). Test builds only. */
static void asan_paths(void)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash && slash != exe)
            *slash = '\0';
        add_path(exe, FS_READ);
    }
    add_path("/proc/self", FS_READ);
    add_path("/usr/lib", FS_READ);
}
#endif

/* TCP connect to the declared ports only (ABI 4 and later; before that,
 * seccomp allows the connect and cannot see the address). */
static int add_net_rule(int rfd, uint64_t net, char *err, size_t errlen)
{
    if (!(net & NET_CONNECT_TCP))
        return 0;
    for (size_t i = 0; i < nports; i++) {
        struct {
            uint64_t allowed_access;
            uint64_t port;
        } __attribute__((packed)) np = {NET_CONNECT_TCP, (uint64_t)connect_port[i]};
        if (syscall(SYS_landlock_add_rule, rfd, 2 /* LANDLOCK_RULE_NET_PORT */, &np, 0) == -1) {
            snprintf(err, errlen, "landlock_add_rule (TCP port %d): %s", connect_port[i],
                     strerror(errno));
            return -1;
        }
    }
    return 0;
}

int bx_landlock_apply(enum bx_sandbox_profile p, char *err, size_t errlen)
{
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    if (abi < 1) {
        forget_paths();
        return 0;
    }
#ifdef BX_ASAN
    asan_paths();
#endif
    size_t size;
    struct ruleset_attr a = handled((int)abi, p, &size);
    int rfd = (int)syscall(SYS_landlock_create_ruleset, &a, size, 0);
    if (rfd == -1) {
        snprintf(err, errlen, "landlock_create_ruleset: %s", strerror(errno));
        forget_paths();
        return -1;
    }
    int rc = add_rules(rfd, a.fs, err, errlen);
    if (rc == 0)
        rc = add_net_rule(rfd, a.net, err, errlen);
    forget_paths();
    if (rc == 0 && syscall(SYS_landlock_restrict_self, rfd, 0) == -1) {
        snprintf(err, errlen, "landlock_restrict_self: %s", strerror(errno));
        rc = -1;
    }
    close(rfd);
    return rc == 0 ? (int)abi : -1;
}
