/* SPDX-License-Identifier: BSD-2-Clause */
/* Confinement: the shared violation table, the SIGSYS handler, apply; see
 * sandbox.h. The seccomp rules are in sandbox_rules.c, Landlock in
 * landlock.c. */
#include "config.h"

#include <errno.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/landlock.h"
#include "common/log.h"
#include "common/sandbox.h"
#include "common/sandbox_rules.h"

/* One record per pid % NREC: a collision only loses a call's name in a log
 * line. The table is shared with every child, so a child can write any
 * record: the master uses a record only to name a call in the log of a
 * child that really died by SIGSYS, and bounds every access by NREC, its
 * own constant. */
#define NREC 256

struct rec {
    int32_t pid;
    int32_t nr;
};

static struct rec *recs;
static pid_t self;

bool bx_sandbox_enabled(void)
{
    const char *v = getenv("BACTRIAN_UNCONFINED");
    return !(v && strcmp(v, "1") == 0);
}

int bx_sandbox_init(void)
{
    if (!bx_sandbox_enabled())
        bx_log_warn("BACTRIAN_UNCONFINED=1: the processes that parse client bytes run "
                    "WITHOUT confinement (for benchmarks only)");
    if (recs)
        return 0;
    void *p = mmap(NULL, NREC * sizeof *recs, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                   -1, 0);
    if (p == MAP_FAILED)
        return -1;
    recs = p;
    return 0;
}

/* Records the call for the master, then dies by SIGSYS: the handler was
 * installed with SA_RESETHAND | SA_NODEFER, so the signal sent here takes
 * the default action. Only async-signal-safe work. */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    if (recs) {
        struct rec *r = &recs[(uint32_t)self % NREC];
        __atomic_store_n(&r->nr, (int32_t)si->si_syscall, __ATOMIC_RELAXED);
        __atomic_store_n(&r->pid, (int32_t)self, __ATOMIC_RELEASE);
    }
    syscall(SYS_tgkill, self, self, SIGSYS);
    _exit(128 + SIGSYS); /* not reached */
}

static int install_handler(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSYS, &sa, NULL) == -1)
        return -1;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGSYS);
    return sigprocmask(SIG_UNBLOCK, &set, NULL);
}

int bx_sandbox_apply(enum bx_sandbox_profile p, char *err, size_t errlen)
{
    if (!bx_sandbox_enabled())
        return 0;
    self = getpid();
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
        snprintf(err, errlen, "prctl: %s", strerror(errno));
        return -1;
    }
    /* The logs are reopened after rotation (SIGUSR1, frontend log_seq). */
    if (bx_sandbox_allow_log(bx_log_file()) == -1 ||
        bx_sandbox_allow_log(bx_access_log_file()) == -1)
        bx_log_warn("confinement: the log's directory cannot be opened (%s): a rotated log "
                    "will not be reopened",
                    strerror(errno));
    if (bx_landlock_apply(p, err, errlen) == -1)
        return -1;
    if (install_handler() == -1) {
        snprintf(err, errlen, "sigaction(SIGSYS): %s", strerror(errno));
        return -1;
    }
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
    if (!ctx) {
        snprintf(err, errlen, "seccomp_init failed");
        return -1;
    }
    /* A binary tree of the calls instead of a list: a filtered call costs
     * log(n) jumps (calls without argument checks are answered by the
     * kernel's action cache and never run the filter). */
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    if (rc == 0)
        rc = bx_sandbox_rules(ctx, p, self);
    if (rc == 0)
        rc = seccomp_load(ctx);
    seccomp_release(ctx);
    if (rc < 0) {
        snprintf(err, errlen, "seccomp filter: %s", strerror(-rc));
        return -1;
    }
    return 0;
}

const char *bx_sandbox_describe(pid_t pid, int status, char *out, size_t outlen)
{
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS)
        return NULL;
    int nr = -1;
    if (recs) {
        struct rec *r = &recs[(uint32_t)pid % NREC];
        if (__atomic_load_n(&r->pid, __ATOMIC_ACQUIRE) == (int32_t)pid) {
            nr = __atomic_load_n(&r->nr, __ATOMIC_RELAXED);
            __atomic_store_n(&r->pid, 0, __ATOMIC_RELAXED);
        }
    }
    char *name = nr >= 0 ? seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr) : NULL;
    if (nr >= 0)
        snprintf(out, outlen, "killed by seccomp: system call %s (%d)", name ? name : "?", nr);
    else
        snprintf(out, outlen, "killed by seccomp: system call unknown (signal %d)", SIGSYS);
    free(name);
    return out;
}

void bx_sandbox_warn_root(const char *user, const char *setting)
{
    if (geteuid() != 0 || (user && *user))
        return;
    bx_log_warn("running as root: %s is not set, so every process that parses client bytes "
                "keeps root's rights; set %s to an unprivileged user",
                setting, setting);
}
