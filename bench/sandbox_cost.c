/* SPDX-License-Identifier: BSD-2-Clause */
/* What the seccomp filter costs per system call (common/sandbox.h): times
 * two calls before and after a child confines itself with each profile:
 *   read on an empty non-blocking eventfd: allowed with no argument check,
 *     the kind every relay and echo call is (read, write, splice,
 *     epoll_wait); the kernel's seccomp action cache answers it without
 *     running the filter;
 *   kill(self, 0): allowed by an argument check, so the BPF program runs.
 * Each figure is the fastest of REPS batches of iterations calls.
 * Usage: bench/sandbox_cost [iterations] */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/sandbox.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* The fastest of REPS batches: the machine's other load only adds time. */
#define REPS 10

static void time_calls(const char *label, long n, int efd)
{
    uint64_t v;
    pid_t self = getpid();
    double best_read = 1e18, best_kill = 1e18;
    for (int r = 0; r < REPS; r++) {
        double t0 = now_ns();
        for (long i = 0; i < n; i++)
            if (read(efd, &v, sizeof v) != -1 || errno != EAGAIN)
                abort();
        double t1 = now_ns();
        for (long i = 0; i < n; i++)
            kill(self, 0);
        double t2 = now_ns();
        if ((t1 - t0) / n < best_read)
            best_read = (t1 - t0) / n;
        if ((t2 - t1) / n < best_kill)
            best_kill = (t2 - t1) / n;
    }
    printf("%-22s read %6.1f ns   kill(self,0) %6.1f ns\n", label, best_read, best_kill);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    static const struct {
        enum bx_sandbox_profile p;
        const char *name;
    } profiles[] = {{BX_SANDBOX_FE_HANDSHAKE, "frontend handshake"},
                    {BX_SANDBOX_FE_LEAN, "frontend lean"},
                    {BX_SANDBOX_BE_WORKER, "backend worker"}};
    int efd = eventfd(0, EFD_NONBLOCK);
    time_calls("unconfined", n, efd);
    for (size_t i = 0; i < sizeof profiles / sizeof profiles[0]; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            char err[256];
            if (bx_sandbox_apply(profiles[i].p, err, sizeof err) == -1) {
                fprintf(stderr, "%s\n", err);
                _exit(1);
            }
            time_calls(profiles[i].name, n, efd);
            _exit(0);
        }
        waitpid(pid, NULL, 0);
    }
    time_calls("unconfined", n, efd);
    return 0;
}
