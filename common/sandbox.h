/* SPDX-License-Identifier: BSD-2-Clause */
/* Confinement of the processes that parse client bytes (issue 10, part 2).
 *
 * A confined process has PR_SET_NO_NEW_PRIVS and PR_SET_DUMPABLE 0 (no
 * ptrace, no /proc/PID/mem by siblings of the same uid), a Landlock domain
 * where the kernel has one (no file reads or writes but the ones declared,
 * and no signals or abstract Unix sockets outside the process) and a
 * seccomp-BPF allow-list of the system calls the profile needs after
 * set-up, some with argument filters. Any other call raises
 * SIGSYS: the handler records the call number in a table shared with the
 * master (bx_sandbox_init) and the process dies by SIGSYS; the master's reap
 * names the call (bx_sandbox_describe). The set-up must be finished before:
 * a confined process cannot fork, exec, ptrace, open a file for reading
 * (frontend) or create a socket other than its profile's.
 *
 * BACTRIAN_UNCONFINED=1 in the environment skips confinement (a loud
 * warning at start): for measuring the filter's cost only. */
#ifndef BACTRIAN_COMMON_SANDBOX_H
#define BACTRIAN_COMMON_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum bx_sandbox_profile {
    /* Frontend child from accept to the end of the relay: TCP accept, the
     * TLS handshake, socket(AF_UNIX, SOCK_STREAM) + connect to the backend
     * (also AF_INET/AF_INET6 stream sockets when it declared the ports of
     * TCP backends, bx_sandbox_allow_connect), the hand-off to the master
     * (sendmsg, socketpair). */
    BX_SANDBOX_FE_HANDSHAKE,
    /* Lean relay child: relays two descriptors it was given; no accept, no
     * socket, no connect. */
    BX_SANDBOX_FE_LEAN,
    /* Backend worker: accept on inherited listeners, AF_UNIX datagrams for
     * pub/sub, read-only opens beneath what modules declared
     * (bx_sandbox_allow_read), sendfile; TCP stream sockets and connect to
     * one port only when it declared one (bx_sandbox_allow_connect: Redis). */
    BX_SANDBOX_BE_WORKER,
    /* The key process (signs for handshake children): read/write, recvmsg/
     * sendmsg on descriptors it has, epoll, poll, close, openat read-only
     * (re-reading keys on reload), fstat/lseek, memory (mmap without exec,
     * munmap, mremap, brk, madvise), getrandom, clocks, signals on itself,
     * exit. No socket, connect, accept, fork or exec. Landlock: it may read
     * any file (new key paths on reload) and write none but the logs. Call
     * it after the channels to the children exist. */
    BX_SANDBOX_KEYPROC,
};

/* In a master, before forking confined children: maps the table where a
 * dying child records the call that killed it. 0, or -1 (errno set; the
 * children are still confined, the log line then lacks the call's name). */
int bx_sandbox_init(void);

/* In a worker before bx_sandbox_apply (e.g. from a module's worker_init):
 * the worker may then open files for reading beneath path (a directory or
 * one file). 0, or -1 with errno (path cannot be opened). */
int bx_sandbox_allow_read(const char *path);
/* In a worker or a frontend handshake child before bx_sandbox_apply: it
 * may then create TCP sockets (AF_INET, AF_INET6, stream) and connect them,
 * to the declared ports only where Landlock has network rules (ABI 4, Linux
 * 6.7). For the pub/sub link to Redis (backend/pubsub_redis.c) and the
 * frontend's TCP backends (frontend/child.c); without it the process has
 * no TCP socket at all. Up to 32 ports. 0, or -1 (EINVAL, ENOSPC). */
int bx_sandbox_allow_connect(int port);
/* The first port declared above, 0 when none (sandbox_rules.c). */
int bx_sandbox_connect_port(void);
/* Write access (append to an existing or new file) beneath the directory of
 * path: the error and access logs, reopened after rotation. NULL or a
 * target that is not a file ("stderr", "syslog") is ignored. */
int bx_sandbox_allow_log(const char *path);

/* Confines the calling process for good. 0, or -1 with err filled (the
 * caller must exit: a process that asked for confinement never runs
 * without it). Does nothing and returns 0 under BACTRIAN_UNCONFINED=1. */
int bx_sandbox_apply(enum bx_sandbox_profile p, char *err, size_t errlen);

/* True unless BACTRIAN_UNCONFINED=1 is set. */
bool bx_sandbox_enabled(void);

/* In the master after waitpid: when status says SIGSYS, writes "killed by
 * seccomp: system call NAME (NR)" into out and returns it (and forgets the
 * record); otherwise returns NULL. */
const char *bx_sandbox_describe(pid_t pid, int status, char *out, size_t outlen);

/* Warns (log, warning level; stderr under -t) when running as root with no
 * user to switch to. setting names it ("frontend.user"). */
void bx_sandbox_warn_root(const char *user, const char *setting);

#endif
