/* SPDX-License-Identifier: BSD-2-Clause */
/* The seccomp allow-lists; see sandbox_rules.h and sandbox.h.
 *
 * Calls are named, not numbered, so one list serves every architecture
 * libseccomp knows (a name the architecture lacks is skipped). What is not
 * here traps: no fork/clone, execve/execveat, ptrace, process_vm_*, no
 * kill of another process (not even signal 0), no socket but the profile's
 * kind, no mmap or mprotect with PROT_EXEC, no sigaction on SIGSYS. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "common/sandbox_rules.h"

/* Every profile: memory, time, signals on itself, waiting, exit. */
/* clang-format off */
static const char *const base_calls[] = {
    "read", "write", "readv", "writev", "close", "fstat", "newfstatat", "lseek", "brk",
    "munmap", "mremap", "madvise", "futex", "rt_sigreturn", "rt_sigprocmask", "clock_gettime",
    "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday", "time", "getpid", "gettid",
    "getppid", "getuid", "geteuid", "getgid", "getegid", "getrandom", "exit", "exit_group",
    "restart_syscall", "sched_yield", "epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl",
    "epoll_create1", "poll", "ppoll", "fcntl", "dup3", "sysinfo", "uname", NULL,
};

/* Descriptors a child was given or made: relay, accept, hand-off. */
static const char *const net_calls[] = {
    "recvfrom", "recvmsg", "sendmsg", "shutdown", "getsockname", "getpeername", "setsockopt",
    "getsockopt", "pipe2", "splice", NULL,
};

#ifdef BX_ASAN
/* AddressSanitizer's runtime at report time (stack unwinding, reading the
 * maps and the binary for symbols, an alternate signal stack). Only in
 * --enable-asan builds: the shipped daemon never allows these. */
static const char *const asan_calls[] = {
    "readlink", "readlinkat", "sigaltstack", "prctl", "sched_getaffinity", "getrlimit",
    "prlimit64", "pread64", "mprotect", "ioctl", NULL,
};
/* clang-format on */
#endif

static int allow_list(scmp_filter_ctx ctx, const char *const *names)
{
    for (size_t i = 0; names[i]; i++) {
        int nr = seccomp_syscall_resolve_name(names[i]);
        if (nr == __NR_SCMP_ERROR)
            continue;
        int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* One named call with up to two argument comparisons (all must hold). */
static int allow_if(scmp_filter_ctx ctx, const char *name, unsigned n, struct scmp_arg_cmp a,
                    struct scmp_arg_cmp b)
{
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR)
        return 0;
    return n == 2 ? seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 2, a, b)
                  : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, a);
}

#define NONE SCMP_A0(SCMP_CMP_EQ, 0)
#define TRY(x)                                                                                     \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_ < 0)                                                                               \
            return rc_;                                                                            \
    } while (0)

/* No executable memory: a taken-over process cannot map shellcode it wrote. */
static int memory_rules(scmp_filter_ctx ctx)
{
    TRY(allow_if(ctx, "mmap", 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0), NONE));
#ifndef BX_ASAN
    TRY(allow_if(ctx, "mprotect", 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0), NONE));
#endif
    return 0;
}

/* Signals only to itself (abort, raise). No handler for SIGSYS but ours: a
 * violation always ends the process. */
static int signal_rules(scmp_filter_ctx ctx, pid_t self)
{
    TRY(allow_if(ctx, "kill", 1, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)self), NONE));
    TRY(allow_if(ctx, "tgkill", 1, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)self), NONE));
    TRY(allow_if(ctx, "rt_sigaction", 1, SCMP_A0(SCMP_CMP_NE, SIGSYS), NONE));
    return 0;
}

/* The flags bx_log_reopen and bx_access_log_reopen use (common/log.c): a
 * process following a rotated log opens it again, append only. Landlock
 * limits where (the log's directory). */
#define LOG_FLAGS (O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC)
/* Bits that must be clear for a read-only open (O_PATH opens pass too). */
#define WRITE_BITS (O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND)

static int open_rules(scmp_filter_ctx ctx, int read_ok)
{
    TRY(allow_if(ctx, "openat", 1,
                 SCMP_A2(SCMP_CMP_MASKED_EQ, ~(scmp_datum_t)O_LARGEFILE, LOG_FLAGS), NONE));
    if (read_ok)
        TRY(allow_if(ctx, "openat", 1, SCMP_A2(SCMP_CMP_MASKED_EQ, WRITE_BITS, O_RDONLY), NONE));
    return 0;
}

/* socket(domain, kind): only the profile's kind; any other is refused with
 * EACCES rather than trapped, so a library that probes (syslog() after its
 * daemon restarted) fails instead of killing the process. */
static int socket_rules(scmp_filter_ctx ctx, int type)
{
    int nr = seccomp_syscall_resolve_name("socket");
    TRY(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 2, SCMP_A0(SCMP_CMP_EQ, AF_UNIX),
                         SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, (scmp_datum_t)type)));
    TRY(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), nr, 2, SCMP_A0(SCMP_CMP_EQ, AF_UNIX),
                         SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf,
                                 (scmp_datum_t)(type == SOCK_STREAM ? SOCK_DGRAM : SOCK_STREAM))));
    return 0;
}

/* Every family but AF_UNIX refused with EACCES (see above). */
static int other_families_refused(scmp_filter_ctx ctx)
{
    int nr = seccomp_syscall_resolve_name("socket");
    return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), nr, 1, SCMP_A0(SCMP_CMP_NE, AF_UNIX));
}

/* A worker that declared a port (bx_sandbox_allow_connect: Redis for
 * pub/sub across hosts): TCP stream sockets and connect. Landlock limits the
 * connect to that port. Other families, and datagram or raw sockets of the
 * IP families, stay refused (libseccomp takes no two actions for one
 * argument value, hence the families one by one). */
static int tcp_socket_rules(scmp_filter_ctx ctx)
{
    int nr = seccomp_syscall_resolve_name("socket");
    for (int i = 0; i < 2; i++) {
        scmp_datum_t af = i ? AF_INET6 : AF_INET;
        TRY(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 2, SCMP_A0(SCMP_CMP_EQ, af),
                             SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_STREAM)));
        TRY(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), nr, 2, SCMP_A0(SCMP_CMP_EQ, af),
                             SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_DGRAM)));
        TRY(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), nr, 2, SCMP_A0(SCMP_CMP_EQ, af),
                             SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_RAW)));
    }
    TRY(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), nr, 1, SCMP_A0(SCMP_CMP_EQ, 0)));
    for (scmp_datum_t af = AF_INET + 1; af < AF_INET6; af++)
        TRY(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), nr, 1, SCMP_A0(SCMP_CMP_EQ, af)));
    TRY(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), nr, 1, SCMP_A0(SCMP_CMP_GT, AF_INET6)));
    return 0;
}

static int tcp_client_rules(scmp_filter_ctx ctx)
{
    static const char *const calls[] = {"connect", NULL};
    TRY(tcp_socket_rules(ctx));
    return allow_list(ctx, calls);
}

/* Handshake child: accept, connect a fresh AF_UNIX stream socket to the
 * backend, or a TCP one when the config has TCP backends (seccomp cannot
 * see the address: see doc/design.md; Landlock limits the ports), the
 * hand-off's socketpair, and send only on connected sockets. */
static int fe_handshake(scmp_filter_ctx ctx)
{
    static const char *const calls[] = {"accept4", "connect", NULL};
    TRY(allow_list(ctx, net_calls));
    TRY(allow_list(ctx, calls));
    TRY(socket_rules(ctx, SOCK_STREAM));
    /* TCP backends: their ports were declared (connect is allowed anyway) */
    TRY(bx_sandbox_connect_port() ? tcp_socket_rules(ctx) : other_families_refused(ctx));
    TRY(allow_if(ctx, "socketpair", 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX), NONE));
    TRY(allow_if(ctx, "sendto", 1, SCMP_A4(SCMP_CMP_EQ, 0), NONE));
    return open_rules(ctx, 0);
}

/* Lean child: two descriptors it was given, nothing else. */
static int fe_lean(scmp_filter_ctx ctx)
{
    TRY(allow_list(ctx, net_calls));
    TRY(allow_if(ctx, "sendto", 1, SCMP_A4(SCMP_CMP_EQ, 0), NONE));
    return open_rules(ctx, 0);
}

/* Worker: accept, pub/sub datagrams between workers (socket, bind, sendto
 * with an address), TCP to Redis when a port was declared (tcp_client_rules), read-only opens (Landlock: only beneath what modules
 * declared), openat2 for static's RESOLVE_BENEATH (its flags are in a
 * struct seccomp cannot read: Landlock is what limits it), sendfile. */
static int be_worker(scmp_filter_ctx ctx)
{
    static const char *const calls[] = {"accept4", "sendto", "bind",       "sendfile",
                                        "openat2", "dup",    "getdents64", NULL};
    TRY(allow_list(ctx, net_calls));
    TRY(allow_list(ctx, calls));
    TRY(socket_rules(ctx, SOCK_DGRAM));
    TRY(bx_sandbox_connect_port() ? tcp_client_rules(ctx) : other_families_refused(ctx));
    return open_rules(ctx, 1);
}

static int keyproc(scmp_filter_ctx ctx)
{
    static const char *const calls[] = {"recvmsg", "sendmsg", "pread64", NULL};
    TRY(allow_list(ctx, calls));
    return open_rules(ctx, 1);
}

int bx_sandbox_rules(scmp_filter_ctx ctx, enum bx_sandbox_profile p, pid_t self)
{
    TRY(allow_list(ctx, base_calls));
    TRY(memory_rules(ctx));
    TRY(signal_rules(ctx, self));
#ifdef BX_ASAN
    /* The runtime reads /proc/self/maps and the binary with open and openat;
     * Landlock lets it read only those (landlock.c). */
    TRY(allow_list(ctx, asan_calls));
    TRY(open_rules(ctx, 1));
    TRY(allow_if(ctx, "open", 1, SCMP_A1(SCMP_CMP_MASKED_EQ, WRITE_BITS, O_RDONLY), NONE));
#endif
    switch (p) {
    case BX_SANDBOX_FE_HANDSHAKE: return fe_handshake(ctx);
    case BX_SANDBOX_FE_LEAN: return fe_lean(ctx);
    case BX_SANDBOX_BE_WORKER: return be_worker(ctx);
    case BX_SANDBOX_KEYPROC: return keyproc(ctx);
    }
    return -EINVAL;
}
